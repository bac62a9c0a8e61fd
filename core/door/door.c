/* berth's front door: the program callers run as `berth`.
 *
 * When a warm berth (`berth agent`) listens for the state directory this
 * command line names (on /run/berth-agent/HASH.sock for root, see
 * agent_socket), the call goes to it: the door sends
 * argv, its working directory, its environment and its descriptors 0, 1 and 2
 * (SCM_RIGHTS), with one end of a fresh socket pair that the agent may use as
 * a core's control socket. It then does what the agent asks, line by line:
 *
 *   core NFDS PATH            start PATH (berth-core) as this process's child,
 *                             with fds 0..2 and 3..3+NFDS-1 as they are here
 *                             and the pair's other end at 3+NFDS; answer
 *                             "pid PID", and "exited STATUS" once it ends
 *   forward                   pass SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
 *                             SIGUSR2 and SIGWINCH on to that child
 *   fallback                  run the call on Bun after all (see below)
 *   exit CODE                 exit with CODE
 *   refused                   (to a caller of another user) say so, exit 1
 *
 * The agent writes the command's output to the descriptors it was given. The
 * container's processes stay descendants of the caller: the core is this
 * process's child, as it is the Bun berth's.
 *
 * When no agent listens (no socket, refused connection; or BERTH_NO_AGENT is
 * set, or this process was started by socket activation), the door executes berth-bun beside it with the same arguments: the
 * agent only accelerates, it is never required. The door decides nothing
 * about the command: it finds the state directory as berth does (to know
 * where the agent would listen), and the agent answers "fallback" for any
 * call it does not serve or whose directory is not its own. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char **args;
static pid_t core = -1;

static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	dprintf(2, "berth: %s\n", msg);
	if (core > 0)
		kill(core, SIGKILL);
	exit(1);
}

/* No agent: the Bun berth beside this program, with the same arguments. */
static void bun_path(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
	if (n < 0)
		fail("cannot find this executable: %s", strerror(errno));
	self[n] = 0;
	char *slash = strrchr(self, '/');
	strcpy(slash ? slash + 1 : self, "berth-bun");
	execv(self, args);
	fail("cannot run %s: %s", self, strerror(errno));
}

/* The state directory this command line names, as berth finds it:
 * --root, else /run/berth for root, else the user's runtime directory. */
static void state_dir(int argc, char **argv, char *out, size_t size)
{
	const char *root = NULL, *rootless = "auto";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || strcmp(a, "--") == 0)
			break;
		const char *eq = strchr(a, '=');
		size_t len = eq ? (size_t)(eq - a) : strlen(a);
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : "");
		int takes = (len == 6 && strncmp(a, "--root", 6) == 0) || (len == 5 && strncmp(a, "--log", 5) == 0) ||
			(len == 12 && strncmp(a, "--log-format", 12) == 0) || (len == 6 && strncmp(a, "--criu", 6) == 0) ||
			(len == 10 && strncmp(a, "--rootless", 10) == 0);
		if (len == 6 && strncmp(a, "--root", 6) == 0)
			root = value;
		if (len == 10 && strncmp(a, "--rootless", 10) == 0)
			rootless = value;
		if (takes && !eq)
			i++;
	}
	if (root) {
		snprintf(out, size, "%s", root);
		return;
	}
	int unprivileged = strcmp(rootless, "true") == 0 || (strcmp(rootless, "auto") == 0 && geteuid() != 0);
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	char run_user[64];
	snprintf(run_user, sizeof run_user, "/run/user/%u", (unsigned)geteuid());
	if (!unprivileged)
		snprintf(out, size, "/run/berth");
	else if (xdg && *xdg)
		snprintf(out, size, "%s/berth", xdg);
	else if (stat(run_user, &st) == 0)
		snprintf(out, size, "%s/berth", run_user);
	else
		snprintf(out, size, "/tmp/berth-%u", (unsigned)geteuid());
}

/* Where the agent for the state directory ROOT listens (src/agent/socket.ts):
 * a directory per user, a socket per state directory named by the FNV-1a
 * hash (64 bits) of the directory's real path. -1: no such directory. */
static int agent_socket(const char *root, char *out, size_t size)
{
	char real[PATH_MAX];
	if (!realpath(root, real))
		return -1;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)real; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	uid_t uid = geteuid();
	int n;
	if (uid == 0)
		n = snprintf(out, size, "/run/berth-agent/%016llx.sock", (unsigned long long)h);
	else if (xdg && *xdg)
		n = snprintf(out, size, "%s/berth-agent/%016llx.sock", xdg, (unsigned long long)h);
	else
		n = snprintf(out, size, "/tmp/berth-agent-%u/%016llx.sock", (unsigned)uid, (unsigned long long)h);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int connect_agent(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path) >= (int)sizeof sa.sun_path)
		return -1;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* The request: u32 length, then NUL-terminated fields: "1", the working
 * directory, the umask (octal), argc, the arguments, then the environment
 * to the end. */
static char *request(int argc, char **argv, size_t *len)
{
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	char count[16], mask[16];
	snprintf(count, sizeof count, "%d", argc - 1);
	mode_t m = umask(0);
	umask(m);
	snprintf(mask, sizeof mask, "%o", (unsigned)m);
	size_t total = 4 + 2 + strlen(cwd) + 1 + strlen(mask) + 1 + strlen(count) + 1;
	for (int i = 1; i < argc; i++)
		total += strlen(argv[i]) + 1;
	for (char **e = environ; *e; e++)
		total += strlen(*e) + 1;
	char *buf = malloc(total), *p = buf + 4;
	if (!buf)
		return NULL;
	uint32_t body = (uint32_t)(total - 4);
	memcpy(buf, &body, 4);
#define PUT(s) \
	do { \
		size_t l_ = strlen(s) + 1; \
		memcpy(p, s, l_); \
		p += l_; \
	} while (0)
	PUT("1");
	PUT(cwd);
	PUT(mask);
	PUT(count);
	for (int i = 1; i < argc; i++)
		PUT(argv[i]);
	for (char **e = environ; *e; e++)
		PUT(*e);
#undef PUT
	*len = total;
	return buf;
}

static int send_request(int s, const char *buf, size_t len, int ctl)
{
	int fds[4] = { 0, 1, 2, ctl };
	char cbuf[CMSG_SPACE(sizeof fds)];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	ssize_t n = sendmsg(s, &m, MSG_NOSIGNAL);
	if (n < 0)
		return -1;
	/* the descriptors went with the first bytes; the rest is plain data */
	while ((size_t)n < len) {
		ssize_t k = send(s, buf + n, len - (size_t)n, MSG_NOSIGNAL);
		if (k < 0 && errno != EINTR)
			return -1;
		if (k > 0)
			n += k;
	}
	return 0;
}

static void say(int s, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* an agent gone away is noticed when its answer is read */
	if (send(s, line, (size_t)n, MSG_NOSIGNAL) < 0)
		return;
}

static void forward(int sig)
{
	if (core > 0)
		kill(core, sig);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

/* fork(2); the child starts with no signal blocked and none handled. */
static pid_t fork_child(void)
{
	pid_t pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
			signal(forwarded[i], SIG_DFL);
	}
	return pid;
}

/* `core NFDS PATH`: berth-core as this process's child. */
static int start_core(char *spec, int ctl)
{
	char *end;
	long nfds = strtol(spec, &end, 10);
	if (end == spec || *end != ' ' || nfds < 0 || nfds > 1000)
		fail("the agent asked for a core with a bad descriptor count");
	const char *path = end + 1;
	if (core > 0 || ctl < 0)
		fail("the agent asked for a second core");
	int target = 3 + (int)nfds;
	char fdarg[16];
	snprintf(fdarg, sizeof fdarg, "%d", target);
	char *argv[] = { (char *)path, fdarg, NULL };
	char *envp[] = { NULL };
	pid_t pid = fork_child();
	if (pid == 0) {
		/* move the control socket above everything it must not clobber */
		int high = fcntl(ctl, F_DUPFD, target + 1);
		if (high < 0 || dup2(high, target) < 0)
			_exit(127);
		close(high);
		syscall(SYS_close_range, (unsigned)target + 1, ~0U, 0);
		execve(path, argv, envp);
		dprintf(2, "berth: cannot run the core %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(ctl);
	core = pid;
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The agent's lines (it sends no descriptors). */
static ssize_t receive(int s, char *buf, size_t size)
{
	return recv(s, buf, size, 0);
}

int main(int argc, char **argv)
{
	args = argv;
	const char *off = getenv("BERTH_NO_AGENT");
	if (off && *off)
		bun_path();
	/* started by socket activation (the agent itself): never a client */
	const char *listen_pid = getenv("LISTEN_PID");
	if (listen_pid && strtol(listen_pid, NULL, 10) == (long)getpid())
		bun_path();
	char root[PATH_MAX], sock[PATH_MAX];
	state_dir(argc, argv, root, sizeof root);
	if (agent_socket(root, sock, sizeof sock) < 0)
		bun_path();
	int s = connect_agent(sock);
	if (s < 0)
		bun_path();
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			/* a closed standard descriptor cannot be passed on */
			close(s);
			bun_path();
		}
	int pair[2];
	size_t len = 0;
	char *req = request(argc, argv, &len);
	if (!req || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0 || send_request(s, req, len, pair[0]) < 0) {
		/* an agent that refuses this caller says so and closes at once */
		char word[16] = "";
		if (recv(s, word, sizeof word - 1, MSG_DONTWAIT) > 0 && strncmp(word, "refused\n", 8) == 0)
			fail("the berth agent at %s serves only the user it runs as", sock);
		close(s);
		bun_path();
	}
	free(req);
	close(pair[0]);
	int ctl = pair[1];
	int pidfd = -1;
	char buf[PATH_MAX + 64];
	size_t have = 0;
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			*nl = 0;
			if (strncmp(buf, "exit ", 5) == 0)
				exit((int)strtol(buf + 5, NULL, 10) & 255);
			if (strcmp(buf, "refused") == 0)
				fail("the berth agent at %s serves only the user it runs as", sock);
			if (strcmp(buf, "fallback") == 0) {
				if (core > 0)
					fail("the agent asked for the Bun path after starting a core");
				close(s);
				close(ctl);
				bun_path();
			}
			if (strncmp(buf, "core ", 5) == 0) {
				pidfd = start_core(buf + 5, ctl);
				ctl = -1;
				say(s, "pid %d\n", (int)core);
			} else if (strcmp(buf, "forward") == 0) {
				struct sigaction sa = { .sa_handler = forward };
				sigemptyset(&sa.sa_mask);
				for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
					sigaction(forwarded[i], &sa, NULL);
			} else {
				fail("the agent said something this berth does not understand: %.80s", buf);
			}
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, have - used);
			have -= used;
		}
		if (have == sizeof buf)
			fail("the agent sent too long a line");
		struct pollfd p[2] = { { .fd = s, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		if (poll(p, pidfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll: %s", strerror(errno));
		}
		if (pidfd >= 0 && (p[1].revents & POLLIN)) {
			int st = 0;
			if (waitpid(core, &st, 0) == core) {
				int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				core = -1;
				close(pidfd);
				pidfd = -1;
				say(s, "exited %d\n", code);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = receive(s, buf + have, sizeof buf - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				fail("the berth agent (%s) stopped before it answered; nothing more was done (`berth delete --force ID` removes a container it "
				     "left half made)",
					sock);
			have += (size_t)n;
		}
	}
}
