/* Reporting, numbers and plan decoding. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

int ctl_fd = -1;
const char *die_detach;

/* A container sharing the runtime's mount namespace: its mounts, all under
 * one bind of the rootfs, go when the set-up fails. */
static void __attribute__((noreturn)) fail_exit(void)
{
	if (die_detach)
		umount2(die_detach, MNT_DETACH);
	_exit(1);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

static void vreport(const char *prefix, const char *fmt, va_list ap, int err)
{
	char msg[4096];
	int n = snprintf(msg, sizeof msg, "%s", prefix);
	n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	if (n > (int)sizeof msg - 64)
		n = (int)sizeof msg - 64;
	if (err)
		n += snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(err));
	/* a message is one line */
	for (int i = 0; i < n; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	msg[n++] = '\n';
	if (ctl_fd >= 0)
		write_all(ctl_fd, msg, (size_t)n);
	else
		write_all(2, msg, (size_t)n);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("error ", fmt, ap, 0);
	va_end(ap);
	fail_exit();
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport("error ", fmt, ap, err);
	va_end(ap);
	fail_exit();
}

void send_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport("", fmt, ap, 0);
	va_end(ap);
}

/* Reads one '\n'-terminated line (byte by byte: the socket is shared). */
char *recv_line(int fd)
{
	size_t cap = 256, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		die("out of memory");
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		if (c == '\n')
			break;
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
		buf[len++] = c;
	}
	buf[len] = 0;
	return buf;
}

uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || end == s)
		die("plan: bad number \"%s\"", s);
	return v;
}

int64_t snum(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		die("plan: bad number \"%s\"", s);
	return v;
}

int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, data, len);
	int err = errno;
	close(fd);
	if (w != (ssize_t)len) {
		errno = w < 0 ? err : EIO;
		return -1;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Plan wire format: u32 total length (little endian), then records, each a
 * u32 length and that many bytes of NUL-terminated strings: the operation's
 * name followed by its arguments. */
int read_plan(int fd, struct plan *p)
{
	uint32_t total;
	/* berth may start the core before it knows the plan, and give up (a bad
	 * config): the socket then closes before a byte arrives; nothing to say */
	char first;
	ssize_t r;
	do
		r = recv(fd, &first, 1, MSG_PEEK);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		_exit(0);
	if (read_full(fd, &total, 4) < 0)
		die("plan: cannot read its length");
	if (total > 64u << 20)
		die("plan: too large (%u bytes)", total);
	char *buf = malloc(total + 1);
	if (!buf || read_full(fd, buf, total) < 0)
		die("plan: truncated");
	buf[total] = 0;
	int cap = 64;
	p->ops = calloc((size_t)cap, sizeof *p->ops);
	p->n = 0;
	size_t off = 0;
	while (off + 4 <= total) {
		uint32_t len;
		memcpy(&len, buf + off, 4);
		off += 4;
		if (len == 0 || off + len > total || buf[off + len - 1] != 0)
			die("plan: malformed record at byte %zu", off);
		char *rec = buf + off;
		int fields = 0;
		for (uint32_t i = 0; i < len; i++)
			if (rec[i] == 0)
				fields++;
		if (p->n == cap) {
			cap *= 2;
			p->ops = realloc(p->ops, (size_t)cap * sizeof *p->ops);
		}
		struct op *o = &p->ops[p->n++];
		o->name = rec;
		o->argc = fields - 1;
		o->argv = calloc((size_t)fields, sizeof(char *));
		char *s = rec + strlen(rec) + 1;
		for (int i = 0; i < o->argc; i++) {
			o->argv[i] = s;
			s += strlen(s) + 1;
		}
		off += len;
	}
	if (off != total)
		die("plan: trailing bytes");
	return 0;
}

const struct op *plan_find(const struct plan *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->ops[i].name, name) == 0)
			return &p->ops[i];
	return NULL;
}
