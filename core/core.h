/* berth-core: executes a container plan computed by the TypeScript runtime.
 *
 * The core decides nothing. It reads a plan (a list of operations with their
 * arguments) from a control socket, and carries it out: clone into namespaces,
 * id maps, mounts resolved inside the rootfs, pivot_root, devices, masked
 * paths, sysctls, rlimits, capabilities, seccomp (through libseccomp), user,
 * exec. It reports progress and errors back on the same socket as text lines.
 */
#ifndef BERTH_CORE_H
#define BERTH_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.gen.h"

/* One plan operation, checked against its definition (plan.c): its strings
 * in wire order, the number fields' values, and where each field is. */
struct op {
	int code; /* OP_... */
	const char *name;
	int argc;
	const char **argv;
	uint64_t *n; /* n[i]: argv[i]'s value where its field is a number (int: as int64_t) */
	int at[PLAN_MAX_FIELDS]; /* field f begins at argv[at[f]] */
	int count[PLAN_MAX_FIELDS]; /* list fields: how many items */
};

/* Field F (FLD_OP_FIELD) of op O: a string, a number, a list's items. */
#define FSTR(o, f) ((o)->argv[(o)->at[f]])
#define FNUM(o, f) ((o)->n[(o)->at[f]])
#define FSTRS(o, f) (&(o)->argv[(o)->at[f]])
#define FNUMS(o, f) (&(o)->n[(o)->at[f]])
#define FCOUNT(o, f) ((o)->count[f])

/* Ops in plan order. */
struct oplist {
	const struct op **v;
	int n;
};

struct plan {
	struct op *ops; /* every op, in plan order */
	int n;
	int create; /* mode create (else exec) */
	const struct op *one[OP_CODES]; /* the first op of each code, or NULL */
	struct oplist of[OP_CODES]; /* every op of each code */
	struct oplist rootfs; /* mount, mkdev, bind-dev, symlink, mkdir, mount-readonly */
	struct oplist paths; /* mask, readonly */
	struct oplist attrs; /* personality, ioprio, sched, lsm-exec */
};

/* plan.c */
void read_plan(int fd, struct plan *p);
void parse_plan(char *buf, uint32_t total, struct plan *p);

/* util.c */
extern int ctl_fd;
/* a mount to detach when the core fails (see fail_exit) */
extern const char *die_detach;
/* the step now running, as the core goes: plan, setup, cgroup, sockets,
 * idmap, namespaces, clone, seccomp (the parent half); rootfs, hooks, pivot,
 * paths, terminal, start (create's init); process, cwd, exec */
extern const char *core_step;
/* an error line, and exit: without an errno; with errno (its text appended
 * to the message); with ERR given (the message says what it means) */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_errno(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_with(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void send_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *recv_line(int fd);
uint64_t num(const char *s);
int write_file(const char *path, const char *data, size_t len);

/* fs.c: path resolution confined to a root */
int resolve_in_root(int rootfd, const char *path, int flags, int mkkind, mode_t mode);
void prepare_idmap_trees(const struct plan *p);
int do_mount_op(int rootfd, const struct op *o);
int do_mkdev(int rootfd, const struct op *o);
int do_symlink(int rootfd, const struct op *o);
int do_mask(const struct op *o);
int do_readonly(const struct op *o);
void release_held_mounts(void);
int do_mkdir(int rootfd, const struct op *o);

/* proc.c: writes under /proc through a verified procfs (see there) */
extern int host_proc; /* main.c: the host's, in the core's parent half */
int proc_root(void);
int proc_mounted_root(const char *path);
int proc_open(int procfd, const char *path, int flags);
int proc_write(int procfd, const char *path, const char *data);
const char *proc_relative(const char *path);

/* security.c */
void drop_bounding(const struct op *o);
void apply_caps(const struct op *o);
void seccomp_prepare(const struct plan *p);
int seccomp_load_prepared(const struct plan *p);

/* term.c */
int setup_terminal(int console_sock, int rows, int cols, long uid);
int send_fd(int sock, int fd, const char *data, size_t len);

/* hooks.c */
void run_hooks(const struct plan *p, const char *phase, const char *state, size_t len);

#endif
