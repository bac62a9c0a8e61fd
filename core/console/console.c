/* berth-console: the terminal side of a container started with a pty.
 *
 *   berth-console SOCKET
 *
 * Listens on the unix socket SOCKET, says "ready\n" on fd 3 (when open),
 * accepts one connection, receives the pty master sent with SCM_RIGHTS, and
 * copies stdin to the master and the master to stdout until the container's
 * side is closed. When stdin is a terminal it is put in raw mode (restored at
 * the end) and its window size follows onto the pty (SIGWINCH). End of file
 * on stdin leaves the pty open. SIGTERM ends it (the terminal restored).
 * It decides nothing else: berth runs it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t winch = 1;
static volatile sig_atomic_t quit = 0;
static struct termios saved;
static int raw = 0;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static void on_term(int sig)
{
	(void)sig;
	quit = 1;
}

static void restore(void)
{
	if (raw)
		tcsetattr(0, TCSAFLUSH, &saved);
	raw = 0;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int receive_master(int conn)
{
	char name[256] = { 0 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	if (recvmsg(conn, &msg, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
		errno = EBADMSG;
		return -1;
	}
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: berth-console SOCKET (this program is run by berth)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof a.sun_path) {
		fprintf(stderr, "berth-console: socket path too long: %s\n", argv[1]);
		return 1;
	}
	strcpy(a.sun_path, argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0) {
		fprintf(stderr, "berth-console: listening on %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (fcntl(3, F_GETFD) >= 0) {
		if (write_all(3, "ready\n", 6) < 0) {
			unlink(argv[1]);
			return 1;
		}
		close(3);
	}
	int conn;
	do
		conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR && !quit);
	unlink(argv[1]);
	if (conn < 0) {
		fprintf(stderr, "berth-console: accept: %s\n", strerror(errno));
		return 1;
	}
	int master = receive_master(conn);
	close(conn);
	close(s);
	if (master < 0) {
		fprintf(stderr, "berth-console: receiving the pty: %s\n", strerror(errno));
		return 1;
	}
	int tty = isatty(0);
	if (tty && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		if (tcsetattr(0, TCSANOW, &t) == 0)
			raw = 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	int in_open = 1;
	char buf[8192];
	while (!quit) {
		if (winch) {
			winch = 0;
			struct winsize ws;
			if (tty && ioctl(0, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
		struct pollfd p[2] = { { .fd = master, .events = POLLIN }, { .fd = in_open ? 0 : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof buf);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0)
				break; /* EIO: every slave fd is closed */
			if (write_all(1, buf, (size_t)n) < 0)
				break;
		}
		if (in_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				in_open = 0;
				continue;
			}
			if (write_all(master, buf, (size_t)n) < 0)
				in_open = 0;
		}
	}
	restore();
	return 0;
}
