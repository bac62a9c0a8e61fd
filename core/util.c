/* Reporting, numbers, files. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

/* The step the core is at, named in its error line (see main.c). */
const char *core_step = "plan";

/* A line to berth. An error (ERR >= 0) goes as "error ERRNO STEP MESSAGE":
 * the errno the step got (0: none) and the step, for berth to decide on,
 * and the message for people; STRERR appends the errno's text to the
 * message. Without the control socket, the message alone goes to stderr. */
static void vreport(int err, int strerr, const char *fmt, va_list ap)
{
	char msg[4096];
	int n = 0;
	if (err >= 0)
		n = ctl_fd >= 0 ? snprintf(msg, sizeof msg, "error %d %s ", err, core_step) : snprintf(msg, sizeof msg, "error ");
	n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
	if (n > (int)sizeof msg - 64)
		n = (int)sizeof msg - 64;
	if (err > 0 && strerr)
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
	vreport(0, 0, fmt, ap);
	va_end(ap);
	fail_exit();
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vreport(err, 1, fmt, ap);
	va_end(ap);
	fail_exit();
}

void die_with(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(err, 0, fmt, ap);
	va_end(ap);
	fail_exit();
}

void send_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(-1, 0, fmt, ap);
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
