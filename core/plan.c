/* The plan: read once from the control socket, checked against the plan
 * contract (plan.gen.h, generated from src/linux/planops.ts), and indexed.
 * A malformed plan is refused with one line naming the op and the field;
 * past this file every op has its fields, and every number field its value. */
#define PLAN_DEFS
#include "core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static void *alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		die("out of memory");
	return p;
}

/* A decimal number, as the contract writes them: digits only (a leading
 * '-' for a signed field), within 64 bits. */
static int decimal(const char *s, int is_signed, uint64_t *out)
{
	const char *d = is_signed && *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -1;
	char *end;
	errno = 0;
	if (is_signed) {
		long long v = strtoll(s, &end, 10);
		*out = (uint64_t)v;
	} else {
		*out = strtoull(s, &end, 10);
	}
	return errno || *end ? -1 : 0;
}

/* Whether V is one of VALUES ("a|b|c|"). */
static int one_of(const char *v, const char *values)
{
	size_t n = strlen(v);
	for (const char *p = values; *p;) {
		const char *bar = strchr(p, '|');
		if ((size_t)(bar - p) == n && strncmp(p, v, n) == 0)
			return 1;
		p = bar + 1;
	}
	return 0;
}

static int op_code(const char *name)
{
	for (int c = 1; c < OP_CODES; c++)
		if (plan_op_defs[c].name && strcmp(plan_op_defs[c].name, name) == 0)
			return c;
	return OP_NONE;
}

/* Checks the strings of op O against its definition; fills code, at[],
 * count[] and n[]. */
static void check_op(struct op *o)
{
	o->code = op_code(o->name);
	if (o->code == OP_NONE)
		die("plan: unknown op \"%s\"", o->name);
	const struct plan_op_def *d = &plan_op_defs[o->code];
	o->n = alloc((size_t)o->argc, sizeof *o->n);
	int i = 0;
	for (int f = 0; f < d->nfields; f++) {
		const struct plan_field_def *fd = &d->fields[f];
		enum plan_field_kind k = fd->kind;
		int list = k == PK_STRS || k == PK_U64S;
		if (!list && i >= o->argc)
			die("plan: %s.%s: missing", o->name, fd->name);
		if (k == PK_NSTRS) {
			uint64_t count;
			if (decimal(o->argv[i], 0, &count) < 0 || count > (uint64_t)(o->argc - i - 1))
				die("plan: %s.%s: bad count \"%s\"", o->name, fd->name, o->argv[i]);
			o->at[f] = i + 1;
			o->count[f] = (int)count;
			i += 1 + (int)count;
			continue;
		}
		o->at[f] = i;
		o->count[f] = list ? o->argc - i : 1;
		for (int end = i + o->count[f]; i < end; i++) {
			if (k == PK_ENUM && !one_of(o->argv[i], fd->values))
				die("plan: %s.%s: unknown value \"%s\"", o->name, fd->name, o->argv[i]);
			if ((k == PK_INT || k == PK_U64 || k == PK_U64S) && decimal(o->argv[i], k == PK_INT, &o->n[i]) < 0)
				die("plan: %s.%s: bad number \"%s\"", o->name, fd->name, o->argv[i]);
		}
	}
	if (i != o->argc)
		die("plan: %s: %d fields, %d expected", o->name, o->argc, i);
}

/* The ordered lists the core walks: the rootfs steps, the paths masked or
 * made read-only after pivot_root, the process's attributes. */
static struct oplist *group_of(struct plan *p, int code)
{
	switch (code) {
	case OP_MOUNT:
	case OP_MKDEV:
	case OP_BIND_DEV:
	case OP_SYMLINK:
	case OP_MKDIR:
	case OP_MOUNT_READONLY: return &p->rootfs;
	case OP_MASK:
	case OP_READONLY: return &p->paths;
	case OP_PERSONALITY:
	case OP_IOPRIO:
	case OP_SCHED:
	case OP_LSM_EXEC: return &p->attrs;
	}
	return NULL;
}

/* Appends O to L, whose n counted its ops on the first pass: the array is
 * made at the first append, and n counts again. */
static void add(struct oplist *l, const struct op *o)
{
	if (!l->v) {
		l->v = alloc((size_t)l->n, sizeof *l->v);
		l->n = 0;
	}
	l->v[l->n++] = o;
}

/* Splits BUF (TOTAL bytes of records) into ops, checks each, and indexes
 * them: one[] (the first of each code), of[] (all of each code) and the
 * ordered groups, every list in plan order. */
void parse_plan(char *buf, uint32_t total, struct plan *p)
{
	memset(p, 0, sizeof *p);
	int cap = 64;
	p->ops = alloc((size_t)cap, sizeof *p->ops);
	size_t off = 0;
	while (off < total) {
		/* offsets count from the first record */
		size_t start = off;
		uint32_t len;
		if (off + 4 > total)
			die("plan: truncated record at byte %zu", start);
		memcpy(&len, buf + off, 4);
		off += 4;
		if (len == 0 || len > total - off)
			die("plan: truncated record at byte %zu", start);
		if (buf[off + len - 1] != 0)
			die("plan: record at byte %zu does not end with a NUL byte", start);
		char *rec = buf + off;
		int fields = 0;
		for (uint32_t i = 0; i < len; i++)
			if (rec[i] == 0)
				fields++;
		if (p->n == cap) {
			cap *= 2;
			p->ops = realloc(p->ops, (size_t)cap * sizeof *p->ops);
			if (!p->ops)
				die("out of memory");
		}
		struct op *o = &p->ops[p->n++];
		memset(o, 0, sizeof *o);
		o->name = rec;
		o->argc = fields - 1;
		o->argv = alloc((size_t)fields, sizeof(char *));
		char *s = rec + strlen(rec) + 1;
		for (int i = 0; i < o->argc; i++) {
			o->argv[i] = s;
			s += strlen(s) + 1;
		}
		off += len;
		check_op(o);
	}
	/* sizes first, then the lists */
	for (int i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		if (p->of[o->code].n > 0 && plan_op_defs[o->code].once)
			die("plan: %s: given more than once", o->name);
		p->of[o->code].n++;
		struct oplist *g = group_of(p, o->code);
		if (g)
			g->n++;
	}
	for (int i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		add(&p->of[o->code], o);
		struct oplist *g = group_of(p, o->code);
		if (g)
			add(g, o);
	}
	for (int c = 0; c < OP_CODES; c++)
		p->one[c] = p->of[c].n ? p->of[c].v[0] : NULL;
	/* what every plan has */
	const struct op *mode = p->one[OP_MODE];
	if (!mode)
		die("plan: no mode");
	p->create = strcmp(FSTR(mode, FLD_MODE_MODE), "create") == 0;
	if (p->create && !p->one[OP_ROOTFS])
		die("plan: no rootfs");
	if (!p->one[OP_ARGS] || FCOUNT(p->one[OP_ARGS], FLD_ARGS_ARGV) == 0)
		die("plan: no args");
}

/* Plan wire format: u32 total length (little endian), then records, each a
 * u32 length and that many bytes of NUL-terminated strings: the op's name
 * followed by its fields (src/linux/planops.ts). */
void read_plan(int fd, struct plan *p)
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
	char *buf = malloc((size_t)total + 1);
	if (!buf || read_full(fd, buf, total) < 0)
		die("plan: truncated (%u bytes announced)", total);
	parse_plan(buf, total, p);
}
