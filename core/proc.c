/* Writes under /proc, through descriptors of a procfs that is known to be one.
 *
 * A path under /proc is only as good as the mounts along it: a container's
 * config can bind a directory of its own over /proc/sys/net/ipv4, an image can
 * make /proc a symlink, and a process sharing the mount namespace can swap
 * what is there (CVE-2025-52881, CVE-2019-19921). So every write the runtime
 * makes under /proc (sysctls, oom_score_adj, setgroups and id maps, security
 * labels, time namespace offsets) starts from a procfs root descriptor — a
 * fresh, detached procfs instance where the kernel allows one, else the
 * mounted /proc checked to be the root of a procfs — and is opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV): no
 * symlink, no mount crossed, and the file found is checked to be on procfs. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROC_ROOT_INO 1
#define STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)

static int on_procfs(int fd)
{
	struct statfs sf;
	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

int proc_mounted_root(const char *path)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (!on_procfs(fd) || fstat(fd, &st) < 0 || st.st_ino != PROC_ROOT_INO) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

int proc_root(void)
{
	int fs = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
	if (fs >= 0) {
		int mnt = -1;
		if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
			mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
		close(fs);
		if (mnt >= 0 && on_procfs(mnt))
			return mnt;
		if (mnt >= 0)
			close(mnt);
	}
	/* not allowed a procfs of our own (e.g. a user namespace that does not
	 * own the PID namespace): the mounted one, if it is the root of a procfs */
	int fd = proc_mounted_root("/proc");
	if (fd < 0)
		die_errno("/proc is not a proc file system's root");
	return fd;
}

/* PATH with a leading "self/" or "thread-self/" (symlinks in procfs) put as
 * the caller's pid in that procfs's PID namespace. */
static int proc_path(int procfd, const char *path, char *out, size_t size)
{
	const char *rest = NULL;
	int thread = 0;
	if (strncmp(path, "self/", 5) == 0)
		rest = path + 5;
	else if (strncmp(path, "thread-self/", 12) == 0)
		rest = path + 12, thread = 1;
	if (!rest) {
		if ((size_t)snprintf(out, size, "%s", path) >= size)
			goto long_;
		return 0;
	}
	char pid[32];
	ssize_t n = readlinkat(procfd, "self", pid, sizeof pid - 1);
	if (n <= 0)
		return -1;
	pid[n] = 0;
	/* single-threaded: the thread is the process */
	if ((size_t)(thread ? snprintf(out, size, "%s/task/%s/%s", pid, pid, rest) : snprintf(out, size, "%s/%s", pid, rest)) >= size)
		goto long_;
	return 0;
long_:
	errno = ENAMETOOLONG;
	return -1;
}

int proc_open(int procfd, const char *path, int flags)
{
	char full[512];
	while (*path == '/')
		path++;
	if (proc_path(procfd, path, full, sizeof full) < 0)
		return -1;
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = STRICT };
	int fd = (int)syscall(SYS_openat2, procfd, full, &how, sizeof how);
	if (fd < 0)
		return -1;
	if (!on_procfs(fd)) {
		close(fd);
		errno = EXDEV;
		return -1;
	}
	return fd;
}

int proc_write(int procfd, const char *path, const char *data)
{
	int fd = proc_open(procfd, path, O_WRONLY);
	if (fd < 0)
		return -1;
	size_t len = strlen(data);
	ssize_t n = write(fd, data, len);
	int err = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? err : EIO;
		return -1;
	}
	return 0;
}

/* A path the plan gives as "/proc/..." relative to a procfs root; NULL for
 * any other path. */
const char *proc_relative(const char *path)
{
	if (strncmp(path, "/proc/", 6) != 0)
		return NULL;
	return path + 6;
}
