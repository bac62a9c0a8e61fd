/* berth-core main: clone (create) or join (exec) a container, then run the
 * plan's steps in the child and exec the container's process.
 *
 *   berth-core CTLFD
 *
 * CTLFD is a socket to the berth process: the plan arrives on it (see
 * read_plan), and the core answers with lines:
 *   "pid N"      the container process (host pid)
 *   "hooks"      the runtime environment is ready: run createRuntime hooks,
 *                then answer "continue LEN\n" + LEN bytes of state JSON
 *   "ready"      create: the init waits on the exec fifo for `start`
 *   "error ERRNO STEP MSG"
 *                a step failed; nothing more follows. ERRNO: the errno it
 *                got (0: none), STEP: the step (core_step, see core.h),
 *                MSG: the message for people
 * End of file without "error" means success (exec: the process was
 * executed; the socket is close-on-exec).
 */
#include "core.h"

/* clone3's arguments up to the cgroup field (kernel 5.7), declared here so
 * that the build does not depend on the installed kernel headers' version. */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static struct plan plan;
static volatile pid_t child_pid;
/* the child's end of the socket pair it shares with the core's parent half */
static int sync_child = -1;
/* seccomp was loaded early (SCMP_ACT_NOTIFY: its descriptor went to the parent) */
static int seccomp_loaded;

/* seccomp-listener PATH STATE: with SCMP_ACT_NOTIFY rules the filter is
 * loaded while the parent half still runs, and the notification descriptor
 * goes to it over the socket pair; the parent, in the host's mount
 * namespace, passes it on to the listener (see forward_seccomp). The filter
 * then also covers the rest of the set-up, as it does in runc. */
static void seccomp_early(void)
{
	if (seccomp_loaded || !plan.one[OP_SECCOMP_LISTENER])
		return;
	int nfd = seccomp_load_prepared(&plan);
	seccomp_loaded = 1;
	if (send_fd(sync_child, nfd, "s", 1) < 0)
		die_errno("passing the seccomp descriptor on");
	close(nfd);
	close(sync_child);
	sync_child = -1;
}

/* The parent half: receives the child's seccomp descriptor and sends the
 * listener the container process state with it (runtime-spec: one state per
 * connection, the descriptor named "seccompFd"). STATE holds \x01 where the
 * pid goes. LISTENER was connected before any namespace was joined: an exec'd
 * process's core is in the container's mount namespace by now. */
static void forward_seccomp(int sock, pid_t pid, int listener)
{
	const struct op *o = plan.one[OP_SECCOMP_LISTENER];
	if (!o)
		return;
	char c;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		kill(pid, SIGKILL);
		die("the container process ended before it passed on its seccomp descriptor");
	}
	int nfd;
	memcpy(&nfd, CMSG_DATA(cm), sizeof nfd);
	/* the state, with the pid put in */
	const char *t = FSTR(o, FLD_SECCOMP_LISTENER_STATE);
	char pidtext[24];
	int pl = snprintf(pidtext, sizeof pidtext, "%d", pid);
	size_t cap = strlen(t) + 1, len = 0;
	for (const char *q = t; *q; q++)
		if (*q == '\x01')
			cap += (size_t)pl;
	char *state = malloc(cap);
	if (!state)
		die("out of memory");
	for (const char *q = t; *q; q++) {
		if (*q == '\x01') {
			memcpy(state + len, pidtext, (size_t)pl);
			len += (size_t)pl;
		} else
			state[len++] = *q;
	}
	if (send_fd(listener, nfd, state, len) < 0) {
		int err = errno;
		kill(pid, SIGKILL);
		errno = err;
		die_errno("linux.seccomp.listenerPath %s", FSTR(o, FLD_SECCOMP_LISTENER_PATH));
	}
	close(listener);
	close(nfd);
	free(state);
}

/* Whether our executable lies on a read-only mount that is attached in no
 * mount namespace we can see: the private read-only mount of the core's
 * directory berth starts it through (readonlyTree in src/linux/sys.ts).
 * Nobody can write the file through it, nor make that mount writable. */
static int exe_on_private_readonly_mount(int fd)
{
	struct statvfs sv;
	struct statx sx;
	if (fstatvfs(fd, &sv) < 0 || !(sv.f_flag & ST_RDONLY))
		return 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char line[4096];
	int attached = 0;
	while (!attached && fgets(line, sizeof line, f))
		attached = strtoull(line, NULL, 10) == sx.stx_mnt_id;
	fclose(f);
	return !attached;
}

/* Runs from a sealed in-memory copy of ourselves, so that a container
 * process that gets hold of /proc/PID/exe cannot overwrite the host binary
 * (unless berth started us through a private read-only mount: the same
 * protection without the copy and a second exec). */
static void ensure_sealed(char **argv, char **envp)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("opening /proc/self/exe");
	int seals = fcntl(fd, F_GET_SEALS);
	if ((seals >= 0 && (seals & F_SEAL_WRITE)) || exe_on_private_readonly_mount(fd)) {
		close(fd);
		return;
	}
	int mfd = memfd_create("berth-core", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die_errno("memfd_create");
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_errno("stat /proc/self/exe");
	off_t left = st.st_size;
	while (left > 0) {
		ssize_t n = sendfile(mfd, fd, NULL, (size_t)left);
		if (n <= 0)
			die_errno("copying the core into memory");
		left -= n;
	}
	close(fd);
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		die_errno("sealing the core's copy");
	fexecve(mfd, argv, envp);
	die_errno("re-executing the sealed core");
}

static int ns_flag(const char *name)
{
	static const struct {
		const char *n;
		int f;
	} t[] = {
		{ "pid", CLONE_NEWPID },
		{ "network", CLONE_NEWNET },
		{ "mount", CLONE_NEWNS },
		{ "ipc", CLONE_NEWIPC },
		{ "uts", CLONE_NEWUTS },
		{ "user", CLONE_NEWUSER },
		{ "cgroup", CLONE_NEWCGROUP },
		{ "time", CLONE_NEWTIME },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].f;
	die("plan: unknown namespace %s", name);
}

/* The host's procfs, opened before any namespace is joined (see proc.c);
 * the child closes it at once. */
int host_proc = -1;

static void write_proc(pid_t pid, const char *file, const char *data)
{
	char path[64];
	snprintf(path, sizeof path, "%d/%s", pid, file);
	if (proc_write(host_proc, path, data) < 0)
		die_errno("writing /proc/%s", path);
}

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* Waits for the container process; exits with its status (128+signal). */
static void __attribute__((noreturn)) wait_foreground(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGPIPE, SIGALRM };
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	int status;
	for (;;) {
		pid_t r = waitpid(child_pid, &status, 0);
		if (r == child_pid)
			break;
		if (r < 0 && errno != EINTR)
			_exit(255);
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}

static int connect_unix(const char *path, const char *what)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		die("%s path too long: %s", what, path);
	strcpy(a.sun_path, path);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		die_errno("connecting to the %s %s", what, path);
	return s;
}

/* The process's arguments (args), NULL-terminated. */
static char **process_args(void)
{
	const struct op *o = plan.one[OP_ARGS];
	int n = FCOUNT(o, FLD_ARGS_ARGV);
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		die("out of memory");
	for (int i = 0; i < n; i++)
		v[i] = (char *)FSTRS(o, FLD_ARGS_ARGV)[i];
	return v;
}

/* Whether the process, with its effective ids and capabilities, may execute
 * PATH: AT_EACCESS, because access(2) checks the real ids and ignores
 * CAP_DAC_OVERRIDE for a uid other than 0 (execve honours it). */
static int executable(const char *path)
{
	return faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* Finds args[0] in the container (after pivot_root) along PATH from env. */
static char *find_executable(const char *arg0, char **env)
{
	core_step = "exec";
	if (strchr(arg0, '/')) {
		if (!executable(arg0))
			die_errno("exec %s", arg0);
		return strdup(arg0);
	}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = env; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	char *copy = strdup(path), *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", *dir ? dir : ".", arg0);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && executable(full)) {
			free(copy);
			return strdup(full);
		}
	}
	die_with(ENOENT, "exec %s: executable file not found in $PATH", arg0);
}

/* rlimit RESOURCE SOFT HARD [LABEL]: applied at create (before "ready", so
 * that a limit the host refuses fails create) or before exec. */
static int rlimits_done;
static void apply_rlimits(void)
{
	if (rlimits_done)
		return;
	for (int i = 0; i < plan.of[OP_RLIMIT].n; i++) {
		const struct op *o = plan.of[OP_RLIMIT].v[i];
		struct rlimit rl = { .rlim_cur = FNUM(o, FLD_RLIMIT_SOFT), .rlim_max = FNUM(o, FLD_RLIMIT_HARD) };
		if (setrlimit((int)FNUM(o, FLD_RLIMIT_RESOURCE), &rl) < 0)
			die_errno("%s: setting %s/%s", FSTR(o, FLD_RLIMIT_LABEL), FSTR(o, FLD_RLIMIT_SOFT), FSTR(o, FLD_RLIMIT_HARD));
	}
	rlimits_done = 1;
}

/* linux.memoryPolicy: mempolicy MODE|FLAGS MAXNODE WORD..., set_mempolicy(2)
 * with the node mask as 64-bit words; inherited across exec. */
static int mempolicy_done;
static void apply_mempolicy(void)
{
	const struct op *o = plan.one[OP_MEMPOLICY];
	if (mempolicy_done || !o)
		return;
	unsigned long mask[16] = { 0 };
	int words = FCOUNT(o, FLD_MEMPOLICY_WORDS);
	if (words > 16)
		die("plan: mempolicy.words: more than 16");
	for (int w = 0; w < words; w++)
		mask[w] = (unsigned long)FNUMS(o, FLD_MEMPOLICY_WORDS)[w];
	if (syscall(SYS_set_mempolicy, (int)FNUM(o, FLD_MEMPOLICY_MODE), words ? mask : NULL, words ? (unsigned long)FNUM(o, FLD_MEMPOLICY_MAXNODE) : 0UL) < 0)
		die_errno("linux.memoryPolicy: set_mempolicy");
	mempolicy_done = 1;
}

/* cpu-affinity initial|final CPU...: process.execCPUAffinity of an exec'd
 * process (sched_setaffinity on the calling thread, inherited by children). */
static void apply_affinity(const char *which)
{
	for (int i = 0; i < plan.of[OP_CPU_AFFINITY].n; i++) {
		const struct op *o = plan.of[OP_CPU_AFFINITY].v[i];
		int n = FCOUNT(o, FLD_CPU_AFFINITY_CPUS);
		const uint64_t *cpus = FNUMS(o, FLD_CPU_AFFINITY_CPUS);
		if (strcmp(FSTR(o, FLD_CPU_AFFINITY_WHICH), which) != 0 || n == 0)
			continue;
		uint64_t max = 0;
		for (int k = 0; k < n; k++)
			if (cpus[k] > max)
				max = cpus[k];
		if (max >= 1u << 20)
			die("plan: cpu-affinity.cpus: %llu out of range", (unsigned long long)max);
		cpu_set_t *set = CPU_ALLOC((size_t)max + 1);
		size_t size = CPU_ALLOC_SIZE((size_t)max + 1);
		if (!set)
			die("out of memory");
		CPU_ZERO_S(size, set);
		for (int k = 0; k < n; k++)
			CPU_SET_S((size_t)cpus[k], size, set);
		if (sched_setaffinity(0, size, set) < 0)
			die_errno("process.execCPUAffinity.%s", which);
		CPU_FREE(set);
	}
}

/* The process's attributes: limits, memory policy, personality, I/O
 * priority, scheduler, security label, umask. Applied before create says
 * "ready" (and before exec), so that a value the kernel refuses fails the
 * command with the field's name. */
static int attrs_done;
static void apply_process_attrs(void)
{
	if (attrs_done)
		return;
	apply_rlimits();
	apply_mempolicy();
	const struct op *o;
	for (int i = 0; i < plan.attrs.n; i++) {
		o = plan.attrs.v[i];
		if (o->code == OP_PERSONALITY) {
			if (personality((unsigned long)FNUM(o, FLD_PERSONALITY_DOMAIN)) < 0)
				die_errno("linux.personality");
		} else if (o->code == OP_IOPRIO) {
			if (syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)FNUM(o, FLD_IOPRIO_VALUE)) < 0)
				die_errno("process.ioPriority");
		} else if (o->code == OP_SCHED) {
			struct {
				uint32_t size, policy;
				uint64_t flags;
				int32_t nice;
				uint32_t prio;
				uint64_t rt, dl, per;
			} a = { .size = 48,
				.policy = (uint32_t)FNUM(o, FLD_SCHED_POLICY),
				.prio = (uint32_t)FNUM(o, FLD_SCHED_PRIORITY),
				.nice = (int32_t)(int64_t)FNUM(o, FLD_SCHED_NICE),
				.flags = FNUM(o, FLD_SCHED_FLAGS),
				.rt = FNUM(o, FLD_SCHED_RUNTIME),
				.dl = FNUM(o, FLD_SCHED_DEADLINE),
				.per = FNUM(o, FLD_SCHED_PERIOD) };
			if (syscall(SYS_sched_setattr, 0, &a, 0) < 0)
				die_errno("process.scheduler");
		} else if (o->code == OP_LSM_EXEC) {
			/* e.g. AppArmor's "exec PROFILE"; a /proc file is written
			 * through a verified procfs */
			const char *file = FSTR(o, FLD_LSM_EXEC_FILE), *content = FSTR(o, FLD_LSM_EXEC_CONTENT);
			const char *rel = proc_relative(file);
			int pfd = rel ? proc_root() : -1;
			if ((rel ? proc_write(pfd, rel, content) : write_file(file, content, strlen(content))) < 0)
				die_errno("setting the security label through %s", file);
			if (pfd >= 0)
				close(pfd);
		}
	}
	if ((o = plan.one[OP_UMASK]))
		umask((mode_t)FNUM(o, FLD_UMASK_MASK));
	attrs_done = 1;
}

/* The user switch and the capability sets. The working directory is entered
 * first, while the process may still enter any directory (as runc does: an
 * `exec --user 0` without CAP_DAC_OVERRIDE into a directory only the
 * container's user may enter); if that is refused (a root-squashed network
 * file system), it is tried again as the user. */
static void become_user(void)
{
	const struct op *cwdop = plan.one[OP_CWD];
	const char *cwd = cwdop ? FSTR(cwdop, FLD_CWD_PATH) : NULL;
	int cwd_later = 0;
	if (cwd && chdir(cwd) < 0) {
		if (errno != EACCES && errno != EPERM)
			die_errno("process.cwd %s", cwd);
		cwd_later = 1;
	}
	const struct op *caps = plan.one[OP_CAPS];
	if (caps)
		drop_bounding(caps);
	const struct op *user = plan.one[OP_USER];
	if (user) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			die_errno("keepcaps");
		const struct op *g = plan.one[OP_GROUPS];
		if (g) {
			int n = FCOUNT(g, FLD_GROUPS_GIDS);
			gid_t *gids = calloc((size_t)n + 1, sizeof(gid_t));
			if (!gids)
				die("out of memory");
			for (int i = 0; i < n; i++)
				gids[i] = (gid_t)FNUMS(g, FLD_GROUPS_GIDS)[i];
			/* a user namespace with setgroups denied: none to clear */
			if (setgroups((size_t)n, gids) < 0 && !(errno == EPERM && n == 0))
				die_errno("process.user.additionalGids: setting additional groups");
			free(gids);
		}
		gid_t gid = (gid_t)FNUM(user, FLD_USER_GID);
		uid_t uid = (uid_t)FNUM(user, FLD_USER_UID);
		if (setresgid(gid, gid, gid) < 0)
			die_errno("process.user.gid: setting gid %u", gid);
		if (setresuid(uid, uid, uid) < 0)
			die_errno("process.user.uid: setting uid %u", uid);
	}
	if (caps)
		apply_caps(caps);
	if (cwd_later && chdir(cwd) < 0)
		die_errno("process.cwd %s", cwd);
}

/* home UID FALLBACK: the process's environment lacks HOME; it gets UID's
 * home directory from the container's /etc/passwd, or FALLBACK. Read as
 * root, before the user switch; a passwd that is not a regular file (a FIFO
 * would block) or that names no home counts as none. */
static char *home_env;
static void find_home(void)
{
	const struct op *o = plan.one[OP_HOME];
	if (!o || home_env)
		return;
	const char *home = FSTR(o, FLD_HOME_FALLBACK);
	char *found = NULL;
	int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "re") : NULL;
	if (!f && fd >= 0)
		close(fd);
	char line[4096];
	uint64_t uid = FNUM(o, FLD_HOME_UID);
	while (f && !found && fgets(line, sizeof line, f)) {
		/* name:password:uid:gid:gecos:home:shell (empty fields allowed) */
		char *field[7], *p = line;
		int n = 0;
		while (n < 7) {
			field[n++] = p;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = 0;
			p = c + 1;
		}
		if (n < 6)
			continue;
		char *end;
		unsigned long u = strtoul(field[2], &end, 10);
		field[5][strcspn(field[5], "\n")] = 0;
		if (end != field[2] && *end == 0 && u == uid && field[5][0])
			found = strdup(field[5]);
	}
	if (f)
		fclose(f);
	size_t len = strlen(found ? found : home) + 6;
	home_env = malloc(len);
	snprintf(home_env, len, "HOME=%s", found ? found : home);
	free(found);
}

/* The process's environment: its env ops, and HOME where find_home made one. */
static char **process_env(void)
{
	const struct oplist *l = &plan.of[OP_ENV];
	char **env = calloc((size_t)l->n + 2, sizeof(char *));
	if (!env)
		die("out of memory");
	for (int i = 0; i < l->n; i++)
		env[i] = (char *)FSTR(l->v[i], FLD_ENV_ENTRY);
	env[l->n] = home_env;
	return env;
}

/* Everything before exec that can fail, shared by create (before "ready")
 * and exec: attributes, the seccomp filter's compilation, no_new_privs, the
 * user switch and capabilities, the program's lookup. Without no_new_privs
 * the filter is loaded now, while CAP_SYS_ADMIN is still held (loading it
 * needs that then); with it, just before exec (exec_process), so that as few
 * of the runtime's own calls as possible run under it. Returns the program. */
static char *prepare_process(void)
{
	core_step = "process";
	find_home(); /* before the seccomp filter and the user switch */
	apply_process_attrs();
	seccomp_prepare(&plan);
	seccomp_early();
	if (plan.one[OP_NO_NEW_PRIVS]) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die_errno("process.noNewPrivileges");
	} else if (!seccomp_loaded) {
		seccomp_load_prepared(&plan);
		seccomp_loaded = 1;
	}
	become_user();
	char **args = process_args(), **env = process_env();
	char *exe = find_executable(args[0], env);
	free(args);
	free(env);
	return exe;
}

static void __attribute__((noreturn)) exec_process(char *exe)
{
	const struct op *o;
	core_step = "exec";
	if (!seccomp_loaded) {
		seccomp_load_prepared(&plan);
		seccomp_loaded = 1;
	}
	char **args = process_args(), **env = process_env();
	unsigned keep = 3;
	if ((o = plan.one[OP_PRESERVE_FDS]))
		keep += (unsigned)FNUM(o, FLD_PRESERVE_FDS_COUNT);
	syscall(SYS_close_range, keep, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(exe, args, env);
	die_errno("exec %s", exe);
}

/* The process's working directory exists in the container, as a directory. */
static void check_cwd(void)
{
	core_step = "cwd";
	const struct op *o = plan.one[OP_CWD];
	struct stat st;
	if (o && (stat(FSTR(o, FLD_CWD_PATH), &st) < 0 || !S_ISDIR(st.st_mode)))
		die_with(ENOTDIR, "cwd %s: not a directory in the container", FSTR(o, FLD_CWD_PATH));
}

static void set_hostnames(void)
{
	const struct op *o;
	if ((o = plan.one[OP_HOSTNAME]) && sethostname(FSTR(o, FLD_HOSTNAME_NAME), strlen(FSTR(o, FLD_HOSTNAME_NAME))) < 0)
		die_errno("hostname");
	if ((o = plan.one[OP_DOMAINNAME]) && setdomainname(FSTR(o, FLD_DOMAINNAME_NAME), strlen(FSTR(o, FLD_DOMAINNAME_NAME))) < 0)
		die_errno("domainname");
}

/* Reads "continue LEN" and LEN bytes of state from berth. */
static char *await_continue(size_t *len)
{
	char *line = recv_line(ctl_fd);
	if (!line)
		_exit(1); /* berth went away: it reports the failure */
	if (strncmp(line, "continue ", 9) != 0)
		die("unexpected message from berth: %s", line);
	*len = (size_t)num(line + 9);
	free(line);
	char *state = malloc(*len + 1);
	size_t got = 0;
	while (got < *len) {
		ssize_t r = read(ctl_fd, state + got, *len - got);
		if (r <= 0)
			_exit(1);
		got += (size_t)r;
	}
	state[*len] = 0;
	return state;
}

/* loopback-up: the loopback interface of the container's (new) network
 * namespace is brought up, as a container of a "none" network expects. */
static void loopback_up(void)
{
	if (!plan.one[OP_LOOPBACK_UP])
		return;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die_errno("loopback interface");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die_errno("bringing the loopback interface up");
	close(s);
}

/* sysctl KEY VALUE, written through PROCFD (the container's own procfs
 * instance, see proc.c): neither a mount of the container's over /proc/sys
 * nor a symlink there can redirect the write (CVE-2025-52881). */
static void sysctls(int procfd)
{
	for (int i = 0; i < plan.of[OP_SYSCTL].n; i++) {
		const struct op *o = plan.of[OP_SYSCTL].v[i];
		const char *key = FSTR(o, FLD_SYSCTL_KEY), *value = FSTR(o, FLD_SYSCTL_VALUE);
		char path[512];
		snprintf(path, sizeof path, "sys/%s", key);
		for (char *c = path + 4; *c; c++)
			if (*c == '.')
				*c = '/';
		if (proc_write(procfd, path, value) < 0)
			die_errno("linux.sysctl %s=%s", key, value);
	}
}

/* --no-pivot: the host's proc and sysfs mounts (outside the rootfs) leave
 * this mount namespace before the rootfs is moved over "/", as runc does:
 * chroot leaves the old root's mounts in the namespace, and a full procfs
 * there lets a container with a user namespace mount a fresh, unmasked one
 * (the kernel allows that only where a fully visible one exists). Each is
 * made a slave first, so that nothing propagates to the host; one that
 * cannot be detached is covered with an empty tmpfs. */
static void unescape_mountinfo(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

static void hide_host_proc_sys(const char *rootfs)
{
	char *root = realpath(rootfs, NULL);
	if (!root)
		die_errno("rootfs %s", rootfs);
	size_t rlen = strlen(root);
	int pfd = proc_root();
	int fd = proc_open(pfd, "self/mountinfo", O_RDONLY);
	close(pfd);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f)
		die_errno("--no-pivot: reading the mount table");
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
		char *fields[6] = { 0 }, *save = NULL, *fstype = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
			if (n < 6)
				fields[n] = t;
			n++;
			if (strcmp(t, "-") == 0) {
				fstype = strtok_r(NULL, " \n", &save);
				break;
			}
		}
		if (n < 6 || !fstype || strcmp(fields[3], "/") != 0 || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0))
			continue;
		char *mp = fields[4];
		unescape_mountinfo(mp);
		if (strncmp(mp, root, rlen) == 0 && (mp[rlen] == '/' || mp[rlen] == 0))
			continue;
		if (mount(NULL, mp, NULL, MS_SLAVE | MS_REC, NULL) < 0) {
			if (errno == ENOENT || errno == EINVAL)
				continue; /* a parent of it went already */
			die_errno("--no-pivot: %s", mp);
		}
		if (umount2(mp, MNT_DETACH) < 0) {
			if (errno != EINVAL && errno != EPERM)
				die_errno("--no-pivot: detaching %s", mp);
			if (mount("tmpfs", mp, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
				die_errno("--no-pivot: covering %s", mp);
		}
	}
	free(line);
	fclose(f);
	free(root);
}

/* pivot_root refuses a shared new root, a shared parent of it, or a shared
 * current root. With a shared rootfsPropagation, "/" and the mount holding
 * the rootfs are made private in our namespace (the host's are untouched);
 * the requested propagation is applied to the new root after pivot_root. */
static void unshare_for_pivot(const char *rootfs)
{
	if (mount(NULL, "/", NULL, MS_PRIVATE, NULL) < 0)
		die_errno("making / private for pivot_root");
	char *path = realpath(rootfs, NULL);
	if (!path)
		die_errno("rootfs %s", rootfs);
	struct statx sx;
	if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx) < 0)
		die_errno("rootfs %s", rootfs);
	uint64_t id = sx.stx_mnt_id;
	/* climb while the parent directory is on the same mount */
	for (;;) {
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = 0;
		if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &sx) < 0 || sx.stx_mnt_id != id) {
			*slash = '/';
			break;
		}
	}
	if (strcmp(path, "/") != 0 && statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &sx) == 0 && sx.stx_mnt_id == id)
		strcpy(path, "/");
	if (mount(NULL, path, NULL, MS_PRIVATE, NULL) < 0)
		die_errno("making %s private for pivot_root", path);
	free(path);
}

/* mount-readonly PATH: a mount made read-only once everything inside it
 * exists (a read-only tmpfs on /dev gets /dev/pts and the device nodes
 * first, as runc does); only that mount, not the ones beneath it. */
static void mount_readonly(int rootfd, const struct op *o)
{
	const char *path = FSTR(o, FLD_MOUNT_READONLY_PATH);
	int fd = resolve_in_root(rootfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, 0);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	if (fd < 0 || syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		die_errno("mount %s: read-only", path);
	close(fd);
}

static void __attribute__((noreturn)) child_create(int console, int fifo)
{
	const struct op *o;
	core_step = "rootfs";
	set_hostnames();
	/* a session keyring of the container's own (kernels without keys: skip) */
	if ((o = plan.one[OP_SESSION_KEYRING]) && syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, FSTR(o, FLD_SESSION_KEYRING_NAME), 0, 0, 0) < 0 &&
		errno != ENOSYS)
		die_errno("joining a new session keyring");
	/* the container's own procfs, for the writes under /proc; closed
	 * before the init waits for start */
	int procfd = proc_root();
	if ((o = plan.one[OP_OOM_SCORE_ADJ]) && proc_write(procfd, "self/oom_score_adj", FSTR(o, FLD_OOM_SCORE_ADJ_SCORE)) < 0)
		die_errno("process.oomScoreAdj %s", FSTR(o, FLD_OOM_SCORE_ADJ_SCORE));
	const char *rootfs = FSTR(plan.one[OP_ROOTFS], FLD_ROOTFS_PATH);
	/* the core's one default: without rootfs-propagation, the container's
	 * mounts are rslave (as runc's) */
	unsigned long prop = MS_REC | MS_SLAVE;
	if ((o = plan.one[OP_ROOTFS_PROPAGATION]))
		prop = FNUM(o, FLD_ROOTFS_PROPAGATION_FLAGS);
	/* shared-mount-ns: no mount namespace of its own, the runtime's is
	 * shared (runtime-spec: a namespace type not listed is inherited).
	 * The host's propagation stays as it is; every mount of the container
	 * lies under a private bind of the rootfs, which is its root (chroot)
	 * and which berth detaches at delete (the core, when it fails). */
	int shared_ns = plan.one[OP_SHARED_MOUNT_NS] != NULL, no_pivot = plan.one[OP_NO_PIVOT] != NULL;
	/* an unbindable tree cannot be bind-mounted (the rootfs, the mounts'
	 * sources): it is rslave until the new root is in place */
	if (!shared_ns && mount(NULL, "/", NULL, (prop & MS_UNBINDABLE) ? MS_REC | MS_SLAVE : prop, NULL) < 0)
		die_errno("linux.rootfsPropagation: setting the propagation of /");
	if ((prop & MS_SHARED) && !shared_ns && !no_pivot)
		unshare_for_pivot(rootfs);
	/* the rootfs becomes a mount point of its own */
	int tree = (int)syscall(SYS_open_tree, AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		die_errno("rootfs %s", rootfs);
	struct mount_attr private = { .propagation = MS_PRIVATE };
	if (shared_ns && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &private, sizeof private) < 0)
		die_errno("rootfs %s: private", rootfs);
	if (syscall(SYS_move_mount, tree, "", AT_FDCWD, rootfs, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		die_errno("rootfs %s: bind", rootfs);
	close(tree);
	if (shared_ns)
		die_detach = rootfs;
	int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno("rootfs %s", rootfs);
	for (int i = 0; i < plan.rootfs.n; i++) {
		o = plan.rootfs.v[i];
		if (o->code == OP_MOUNT)
			do_mount_op(rootfd, o);
		else if (o->code == OP_MKDEV || o->code == OP_BIND_DEV)
			do_mkdev(rootfd, o);
		else if (o->code == OP_SYMLINK)
			do_symlink(rootfd, o);
		else if (o->code == OP_MKDIR)
			do_mkdir(rootfd, o);
		else
			mount_readonly(rootfd, o);
	}
	/* createRuntime hooks run now in berth; createContainer ones here */
	core_step = "hooks";
	send_line("hooks");
	size_t slen;
	char *state = await_continue(&slen);
	run_hooks(&plan, "createContainer", state, slen);

	core_step = "pivot";
	if (fchdir(rootfd) < 0)
		die_errno("entering the rootfs");
	if (shared_ns) {
		if (chroot(".") < 0)
			die_errno("chroot");
		die_detach = "/";
	} else if (no_pivot) {
		hide_host_proc_sys(rootfs);
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			die_errno("moving the rootfs to /");
		if (chroot(".") < 0)
			die_errno("chroot");
	} else {
		if (syscall(SYS_pivot_root, ".", ".") < 0)
			die_errno("pivot_root");
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
			die_errno("old root: propagation");
		if (umount2(".", MNT_DETACH) < 0)
			die_errno("detaching the old root");
		if ((prop & MS_SHARED) && mount(NULL, "/", NULL, prop, NULL) < 0)
			die_errno("linux.rootfsPropagation: setting the propagation of the new root");
	}
	if (chdir("/") < 0)
		die_errno("chdir /");
	close(rootfd);
	core_step = "paths";
	/* sysctls first: readonly paths usually cover /proc/sys */
	sysctls(procfd);
	close(procfd);
	loopback_up();
	for (int i = 0; i < plan.paths.n; i++) {
		o = plan.paths.v[i];
		if (o->code == OP_MASK)
			do_mask(o);
		else
			do_readonly(o);
	}
	release_held_mounts();
	if (plan.one[OP_ROOT_READONLY]) {
		int r = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (syscall(SYS_mount_setattr, r, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
			die_errno("making the root read-only");
		close(r);
	}
	/* unbindable last: masks and read-only paths are bind mounts of paths
	 * inside the container (sharing the runtime's namespace: any, on the
	 * container's own tree) */
	if (((prop & MS_UNBINDABLE) || (shared_ns && plan.one[OP_ROOTFS_PROPAGATION])) && mount(NULL, "/", NULL, prop, NULL) < 0)
		die_errno("linux.rootfsPropagation: setting the propagation of the new root");
	if ((o = plan.one[OP_TERMINAL])) {
		core_step = "terminal";
		if (console < 0)
			die("a terminal needs a console socket");
		setup_terminal(console, (int)FNUM(o, FLD_TERMINAL_ROWS), (int)FNUM(o, FLD_TERMINAL_COLS), (long)FNUM(o, FLD_TERMINAL_UID));
		close(console);
	}
	check_cwd();
	/* The exec fifo: the parent half opened it (O_PATH, the fifo alone),
	 * so the waiting init holds no descriptor of a host directory
	 * (CVE-2024-21626: /proc/1/fd/N/.. or `exec --cwd /proc/1/fd/N`). It
	 * is opened for writing, once the process is the container's user (who
	 * may not be able to search the state directory), through the
	 * container's own /proc/PID/fd, a directory found now on a verified
	 * procfs, as runc does. */
	int fifo_fds = -1;
	core_step = "start";
	if (fifo >= 0) {
		int pfd = proc_mounted_root("/proc");
		if (pfd < 0)
			die("the exec fifo is reached through /proc/self/fd: the container needs a proc file system mounted at /proc (as with runc)");
		fifo_fds = proc_open(pfd, "self/fd", O_PATH | O_DIRECTORY);
		if (fifo_fds < 0)
			die_errno("the exec fifo: /proc/self/fd");
		close(pfd);
	}
	/* everything that can fail does so now, and create reports it */
	char *exe = prepare_process();
	send_line("ready");
	close(ctl_fd);
	ctl_fd = -1;
	if (fifo >= 0) {
		char name[24];
		snprintf(name, sizeof name, "%d", fifo);
		int f = openat(fifo_fds, name, O_WRONLY | O_CLOEXEC);
		if (f < 0 || write(f, "0", 1) != 1)
			die_errno("waiting for start");
		close(f);
		close(fifo);
		close(fifo_fds);
	}
	core_step = "hooks";
	run_hooks(&plan, "startContainer", state, slen);
	exec_process(exe);
}

static void __attribute__((noreturn)) child_exec(int console)
{
	const struct op *o;
	core_step = "rootfs";
	/* chroot ROOT: a container that shares the runtime's mount namespace */
	if ((o = plan.one[OP_CHROOT]) && (chroot(FSTR(o, FLD_CHROOT_PATH)) < 0 || chdir("/") < 0))
		die_errno("entering the container's root %s", FSTR(o, FLD_CHROOT_PATH));
	check_cwd();
	if ((o = plan.one[OP_TERMINAL])) {
		core_step = "terminal";
		if (console < 0)
			die("a terminal needs a console socket");
		setup_terminal(console, (int)FNUM(o, FLD_TERMINAL_ROWS), (int)FNUM(o, FLD_TERMINAL_COLS), (long)FNUM(o, FLD_TERMINAL_UID));
		close(console);
	}
	core_step = "process";
	apply_affinity("final");
	exec_process(prepare_process());
}

int main(int argc, char **argv, char **envp)
{
	if (argc != 2)
		die("usage: berth-core CTLFD (this program is run by berth)");
	/* Always, before anything else: a container process that executes
	 * /proc/self/exe (a "#!/proc/self/exe" script is enough) runs this
	 * image, and another one that can see it could reopen the file for
	 * writing once it exits (CVE-2019-5736). */
	ensure_sealed(argv, envp);
	ctl_fd = (int)num(argv[1]);
	if (fcntl(ctl_fd, F_SETFD, FD_CLOEXEC) < 0)
		die_errno("control socket");
	read_plan(ctl_fd, &plan);
	core_step = "setup";
	/* before any namespace is joined: the id maps and time offsets are
	 * written through it (a joined mount namespace's /proc could be anything) */
	host_proc = proc_mounted_root("/proc");
	if (host_proc < 0)
		die_errno("/proc is not a proc file system's root");
	/* Not dumpable: a container process cannot reach this one through
	 * /proc. An unprivileged berth (rootless) stays dumpable until it has
	 * written the child's id maps: the kernel makes a non-dumpable process's
	 * /proc files root's, and the child inherits the flag. */
	int unprivileged = plan.one[OP_UNPRIVILEGED] != NULL;
	if (!unprivileged)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	const struct op *o;
	int create = plan.create;
	int foreground = plan.one[OP_FOREGROUND] != NULL;

	/* exec: the affinity to run with until the process is in the container's cgroup */
	if (!create)
		apply_affinity("initial");
	/* Join the cgroup first: the child is born in it, and a new cgroup
	 * namespace is rooted there. */
	core_step = "cgroup";
	for (int i = 0; i < plan.of[OP_CGROUP_JOIN].n; i++) {
		const char *tasks = FSTR(plan.of[OP_CGROUP_JOIN].v[i], FLD_CGROUP_JOIN_TASKS);
		if (write_file(tasks, "0", 1) < 0)
			die_errno("joining the cgroup %s", tasks);
	}
	/* cgroup-into DIR required|optional: the child will be born in that
	 * cgroup2 directory; opened now, before any namespace is joined. */
	const struct op *into = plan.one[OP_CGROUP_INTO];
	const char *into_dir = into ? FSTR(into, FLD_CGROUP_INTO_DIR) : NULL;
	int into_required = into && strcmp(FSTR(into, FLD_CGROUP_INTO_NEED), "required") == 0;
	int cgfd = -1, late_cgns_fd = -1;
	if (into) {
		cgfd = open(into_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0 && into_required)
			die_errno("cgroup %s", into_dir);
	}
	int console = -1, fifo = -1, pidfd_sock = -1;
	core_step = "sockets";
	if ((o = plan.one[OP_CONSOLE_SOCKET]))
		console = connect_unix(FSTR(o, FLD_CONSOLE_SOCKET_PATH), "console socket");
	/* pidfd-socket PATH: where a pidfd of the container's process goes
	 * (connected now, from the runtime's mount namespace) */
	if ((o = plan.one[OP_PIDFD_SOCKET]))
		pidfd_sock = connect_unix(FSTR(o, FLD_PIDFD_SOCKET_PATH), "pidfd socket");
	int listener = -1;
	if ((o = plan.one[OP_SECCOMP_LISTENER]))
		listener = connect_unix(FSTR(o, FLD_SECCOMP_LISTENER_PATH), "linux.seccomp.listenerPath");
	/* exec-fifo DIR NAME: the fifo itself (O_PATH), never its directory */
	if ((o = plan.one[OP_EXEC_FIFO])) {
		const char *fdir = FSTR(o, FLD_EXEC_FIFO_DIR), *fname = FSTR(o, FLD_EXEC_FIFO_NAME);
		int dir = open(fdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct stat fst;
		fifo = dir < 0 ? -1 : openat(dir, fname, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fifo < 0 || fstat(fifo, &fst) < 0 || !S_ISFIFO(fst.st_mode))
			die_errno("the exec fifo %s/%s", fdir, fname);
		close(dir);
	}
	/* bind trees (idmapped or not): made here, in the initial user and
	 * mount namespaces, before any is joined; the child inherits them and
	 * attaches them among its mounts */
	core_step = "idmap";
	if (create)
		prepare_idmap_trees(&plan);
	/* every namespace file is opened first, in the runtime's own
	 * namespaces: once a mount namespace is joined, /proc/PID/ns/... would
	 * be looked up in the container's /proc */
	core_step = "namespaces";
	const struct oplist *joins = &plan.of[OP_NS_JOIN];
	int *nsfds = calloc((size_t)joins->n + 1, sizeof(int));
	if (!nsfds)
		die("out of memory");
	for (int i = 0; i < joins->n; i++) {
		o = joins->v[i];
		if ((nsfds[i] = open(FSTR(o, FLD_NS_JOIN_PATH), O_RDONLY | O_CLOEXEC)) < 0)
			die_errno("namespace %s: %s", FSTR(o, FLD_NS_JOIN_TYPE), FSTR(o, FLD_NS_JOIN_PATH));
	}
	int joined_user = 0;
	for (int i = 0; i < joins->n; i++) {
		o = joins->v[i];
		const char *type = FSTR(o, FLD_NS_JOIN_TYPE);
		int fd = nsfds[i];
		if (into && strcmp(type, "cgroup") == 0) {
			/* the kernel refuses to clone into a cgroup from a cgroup
			 * namespace that does not see the core's own: the child
			 * joins it once it is in place */
			late_cgns_fd = fd;
			continue;
		}
		if (setns(fd, ns_flag(type)) < 0)
			die_errno("joining the %s namespace %s", type, FSTR(o, FLD_NS_JOIN_PATH));
		close(fd);
		if (strcmp(type, "user") == 0)
			joined_user = 1;
	}
	int flags = 0;
	if ((o = plan.one[OP_NS_NEW]))
		for (int i = 0; i < FCOUNT(o, FLD_NS_NEW_TYPES); i++)
			flags |= ns_flag(FSTRS(o, FLD_NS_NEW_TYPES)[i]);
	if (flags & CLONE_NEWTIME) {
		if (unshare(CLONE_NEWTIME) < 0)
			die_errno("creating the time namespace");
		if ((o = plan.one[OP_TIMENS_OFFSETS]) && proc_write(host_proc, "self/timens_offsets", FSTR(o, FLD_TIMENS_OFFSETS_OFFSETS)) < 0)
			die_errno("linux.timeOffsets");
		flags &= ~CLONE_NEWTIME;
	}
	core_step = "clone";
	int sync[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0)
		die_errno("socketpair");
	/* A child born in another cgroup2 directory makes its new cgroup
	 * namespace once it is there (clone would root it at the core's). */
	int late_cgns = 0;
	if (into && (flags & CLONE_NEWCGROUP)) {
		flags &= ~CLONE_NEWCGROUP;
		late_cgns = 1;
	}
	pid_t pid = -1;
	int placed = 0;
	if (into) {
		if (cgfd >= 0) {
			struct clone_args_v2 ca;
			memset(&ca, 0, sizeof ca);
			ca.flags = (uint64_t)flags | CLONE_INTO_CGROUP_FLAG;
			ca.exit_signal = SIGCHLD;
			ca.cgroup = (uint64_t)cgfd;
			pid = (pid_t)syscall(SYS_clone3, &ca, sizeof ca);
			int err = errno;
			if (pid >= 0)
				placed = 1;
			else if (err != ENOSYS && err != E2BIG && into_required) {
				errno = err;
				die_errno("placing the container process in the cgroup %s", into_dir);
			}
		}
	}
	if (pid < 0)
		pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		die_errno("clone");
	if (pid == 0) {
		close(sync[0]);
		close(host_proc);
		host_proc = -1;
		if (cgfd >= 0)
			close(cgfd);
		if (pidfd_sock >= 0)
			close(pidfd_sock);
		if (listener >= 0)
			close(listener);
		char c;
		if (read(sync[1], &c, 1) != 1)
			_exit(1);
		if (unprivileged)
			prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		sync_child = sync[1];
		core_step = "namespaces";
		if ((flags & CLONE_NEWUSER) || joined_user) {
			/* become the namespace's root where the maps allow it (in a
			 * joined one too: the host's root is unmapped there, and files
			 * and mounts made as it fail with EOVERFLOW). The parent half
			 * stays the host's root: it places the child in its cgroup. */
			if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
				die_errno("setresgid in the user namespace");
			if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
				die_errno("setresuid in the user namespace");
		}
		if (late_cgns && unshare(CLONE_NEWCGROUP) < 0)
			die_errno("creating the cgroup namespace");
		if (late_cgns_fd >= 0) {
			if (setns(late_cgns_fd, CLONE_NEWCGROUP) < 0)
				die_errno("joining the cgroup namespace");
			close(late_cgns_fd);
		}
		if (setsid() < 0)
			die_errno("setsid");
		if (create)
			child_create(console, fifo);
		child_exec(console);
	}
	close(sync[1]);
	child_pid = pid;
	if (into && !placed) {
		/* no clone3 (or the optional hybrid side refused it): move the
		 * child before it runs */
		char num_s[24];
		int n = snprintf(num_s, sizeof num_s, "%d", pid);
		int pfd = cgfd < 0 ? -1 : openat(cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
		int ok = pfd >= 0 && write(pfd, num_s, (size_t)n) == n;
		int err = errno;
		if (pfd >= 0)
			close(pfd);
		if (!ok && into_required) {
			kill(pid, SIGKILL);
			errno = err;
			die_errno("placing the container process in the cgroup %s", into_dir);
		}
	}
	if (cgfd >= 0)
		close(cgfd);
	if (late_cgns_fd >= 0)
		close(late_cgns_fd);
	core_step = "namespaces";
	if (flags & CLONE_NEWUSER) {
		if ((o = plan.one[OP_SETGROUPS]))
			write_proc(pid, "setgroups", FSTR(o, FLD_SETGROUPS_VALUE));
		if ((o = plan.one[OP_UIDMAP]))
			write_proc(pid, "uid_map", FSTR(o, FLD_UIDMAP_MAP));
		if ((o = plan.one[OP_GIDMAP]))
			write_proc(pid, "gid_map", FSTR(o, FLD_GIDMAP_MAP));
	}
	if (unprivileged)
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	core_step = "sockets";
	if (pidfd_sock >= 0) {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pfd < 0 || send_fd(pidfd_sock, pfd, "pidfd", 5) < 0) {
			kill(pid, SIGKILL);
			die_errno("sending the container process's pidfd to the pidfd socket");
		}
		close(pfd);
		close(pidfd_sock);
	}
	/* berth hears the pid before the child can say anything */
	send_line("pid %d", pid);
	if (write(sync[0], "1", 1) != 1) {
		kill(pid, SIGKILL);
		die("the container process died before it started");
	}
	core_step = "seccomp";
	forward_seccomp(sync[0], pid, listener);
	close(sync[0]);
	close(ctl_fd);
	ctl_fd = -1;
	if (console >= 0)
		close(console);
	if (foreground) {
		/* the waiting parent leaves the container's cgroup (it is not part
		 * of the container, and must not count against its limits) */
		for (int i = 0; i < plan.of[OP_CGROUP_RETURN].n; i++)
			write_file(FSTR(plan.of[OP_CGROUP_RETURN].v[i], FLD_CGROUP_RETURN_TASKS), "0", 1);
		wait_foreground();
	}
	return 0;
}
