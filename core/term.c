/* Terminals: a pty made inside the container, its master sent away. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int send_fd(int sock, int fd, const char *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n = sendmsg(sock, &msg, 0);
	if (n < 0)
		return -1;
	/* the rest of a long message (the descriptor went with the first part) */
	for (size_t off = (size_t)n; off < len; off += (size_t)n) {
		n = write(sock, data + off, len - off);
		if (n <= 0)
			return -1;
	}
	return 0;
}

/* Opens a pty through the container's /dev/ptmx, makes its slave our
 * controlling terminal and stdio, owned by the process's uid, and sends the
 * master over console_sock. */
int setup_terminal(int console_sock, int rows, int cols, long uid)
{
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die_errno("opening /dev/ptmx in the container");
	int unlock = 0;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		die_errno("unlocking the pty");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		die_errno("opening the pty's slave");
	int n = 0;
	char name[64] = "/dev/pts/?";
	if (ioctl(master, TIOCGPTN, &n) == 0)
		snprintf(name, sizeof name, "/dev/pts/%d", n);
	/* the group stays devpts's (gid=5, tty, in the usual mount options); a
	 * uid not mapped in the container's user namespace leaves it as it is */
	if (fchown(slave, (uid_t)uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM)
		die_errno("giving the pty to uid %ld", uid);
	if (rows > 0 || cols > 0) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		ioctl(slave, TIOCSWINSZ, &ws);
	}
	if (send_fd(console_sock, master, name, strlen(name)) < 0)
		die_errno("sending the terminal to the console socket");
	close(master);
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		die_errno("making the pty the controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			die_errno("pty as stdio");
	if (slave > 2)
		close(slave);
	return 0;
}
