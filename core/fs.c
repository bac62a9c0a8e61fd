/* Mounts, devices and links, every path resolved inside the container's root.
 *
 * Paths from the plan are looked up with openat2(RESOLVE_IN_ROOT): a symlink
 * in the image (even an absolute one, or one full of "..") is resolved as if
 * the rootfs were "/", so it can never lead a mount outside the rootfs.
 * Mounts are made with the file-descriptor mount API (open_tree, fsopen,
 * fsmount, move_mount): the target is the fd we resolved, never a path that
 * could be swapped between check and use. */
#include "core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <signal.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static int sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0, .resolve = resolve };
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static int sys_open_tree(int dirfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static int sys_move_mount(int from, int to)
{
	return (int)syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int sys_mount_setattr(int fd, unsigned flags, uint64_t set, uint64_t clr, uint64_t prop)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr, .propagation = prop, .userns_fd = 0 };
	return (int)syscall(SYS_mount_setattr, fd, "", flags | AT_EMPTY_PATH, &a, sizeof a);
}

#define IN_ROOT (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

/* Resolves `path` (relative to rootfd, which acts as "/") and opens it with
 * `flags`. mkkind: 0 = must exist, 1 = create missing directories, 2 = create
 * missing parents and the last component as an empty file. */
static int resolve_depth(int rootfd, const char *path, int flags, int mkkind, mode_t mode, int depth);

int resolve_in_root(int rootfd, const char *path, int flags, int mkkind, mode_t mode)
{
	return resolve_depth(rootfd, path, flags, mkkind, mode, 0);
}

/* A component that exists but does not resolve is a dangling symlink: its
 * target (taken as if the root were "/") is created instead, followed by the
 * rest of the path. */
static int follow_dangling(int rootfd, int parent, const char *prefix, const char *base, const char *rest, int flags, int mkkind, mode_t mode, int depth)
{
	char target[4096];
	ssize_t n = readlinkat(parent, base, target, sizeof target - 1);
	if (n <= 0) {
		errno = ENOENT;
		return -1;
	}
	target[n] = 0;
	size_t dirlen = (size_t)(base - prefix);
	size_t len = dirlen + (size_t)n + (rest ? strlen(rest) : 0) + 3;
	char *next = malloc(len);
	if (!next)
		die("out of memory");
	if (target[0] == '/')
		snprintf(next, len, "%s%s%s", target, rest ? "/" : "", rest ? rest : "");
	else
		snprintf(next, len, "%.*s%s%s%s", (int)dirlen, prefix, target, rest ? "/" : "", rest ? rest : "");
	int fd = resolve_depth(rootfd, next, flags, mkkind, mode, depth + 1);
	int err = errno;
	free(next);
	errno = err;
	return fd;
}

static int resolve_depth(int rootfd, const char *path, int flags, int mkkind, mode_t mode, int depth)
{
	if (depth > 40) {
		errno = ELOOP;
		return -1;
	}
	int fd = sys_openat2(rootfd, path, flags | O_CLOEXEC, IN_ROOT);
	if (fd >= 0 || errno != ENOENT || mkkind == 0)
		return fd;
	/* Create what is missing one component at a time, each component looked
	 * up again inside the root. */
	char *copy = strdup(path);
	if (!copy)
		die("out of memory");
	size_t len = strlen(copy);
	int parent = sys_openat2(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, IN_ROOT);
	if (parent < 0) {
		free(copy);
		return -1;
	}
	char *p = copy;
	while (*p == '/')
		p++;
	while (*p) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = 0;
		int last = 1;
		if (slash) {
			char *q = slash + 1;
			while (*q == '/')
				q++;
			last = *q == 0;
		}
		int cur = sys_openat2(rootfd, copy, O_PATH | O_CLOEXEC, IN_ROOT);
		if (cur < 0 && errno == ENOENT) {
			const char *base = strrchr(copy, '/');
			base = base ? base + 1 : copy;
			if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
				errno = EINVAL;
				goto fail;
			}
			if (last && mkkind == 2) {
				int f = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode ? mode : 0644);
				if (f < 0 && errno != EEXIST)
					goto fail;
				if (f >= 0)
					close(f);
			} else if (mkdirat(parent, base, mode && last ? mode : 0755) < 0 && errno != EEXIST) {
				goto fail;
			}
			cur = sys_openat2(rootfd, copy, O_PATH | O_CLOEXEC, IN_ROOT);
			if (cur < 0 && errno == ENOENT) {
				const char *rest = NULL;
				if (slash && !last) {
					rest = slash + 1;
					while (*rest == '/')
						rest++;
				}
				int fd = follow_dangling(rootfd, parent, copy, base, rest, flags, mkkind, mode, depth);
				int err = errno;
				close(parent);
				free(copy);
				errno = err;
				return fd;
			}
		}
		if (cur < 0)
			goto fail;
		close(parent);
		parent = cur;
		if (!slash)
			break;
		*slash = '/';
		p = slash + 1;
		while (*p == '/')
			p++;
	}
	close(parent);
	(void)len;
	free(copy);
	return sys_openat2(rootfd, path, flags | O_CLOEXEC, IN_ROOT);
fail : {
	int err = errno;
	close(parent);
	free(copy);
	errno = err;
	return -1;
}
}

/* Splits the parent directory of `path` off and resolves it (creating it). */
static int resolve_parent(int rootfd, const char *path, const char **base)
{
	static char dir[4096];
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= sizeof dir)
		die("path too long: %s", path);
	memcpy(dir, path, n);
	dir[n] = 0;
	char *slash = strrchr(dir, '/');
	if (!slash || slash[1] == 0)
		die("bad path %s", path);
	*base = path + (slash - dir) + 1;
	if (strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		die("bad path %s", path);
	*slash = 0;
	return resolve_in_root(rootfd, dir[0] ? dir : "/", O_PATH | O_DIRECTORY, 1, 0);
}

/* Applies fsconfig options from a comma-separated "key=value,flag" list. */
static void fs_configure(int fsfd, const char *data, const char *what)
{
	if (!data || !*data)
		return;
	char *copy = strdup(data), *save = NULL;
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		int r;
		if (eq) {
			*eq = 0;
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, opt, eq + 1, 0);
			if (r < 0)
				die_errno("mount %s: option %s=%s", what, opt, eq + 1);
		} else {
			r = (int)syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, opt, NULL, 0);
			if (r < 0)
				die_errno("mount %s: option %s", what, opt);
		}
	}
	free(copy);
}

/* Copies a directory tree (files, directories, links, device nodes) with
 * owners and modes: used to fill a fresh tmpfs with what it covers. */
static void copy_tree(int src, int dst, const char *what)
{
	int dfd = dup(src);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d)
		die_errno("copying %s", what);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die_errno("copying %s/%s", what, e->d_name);
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
				die_errno("copying %s/%s", what, e->d_name);
			int s2 = openat(src, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = openat(dst, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				die_errno("copying %s/%s", what, e->d_name);
			copy_tree(s2, d2, what);
			close(s2);
			close(d2);
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(src, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			int out = openat(dst, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
			if (in < 0 || out < 0)
				die_errno("copying %s/%s", what, e->d_name);
			char buf[65536];
			ssize_t n;
			while ((n = read(in, buf, sizeof buf)) > 0)
				if (write(out, buf, (size_t)n) != n)
					die_errno("copying %s/%s", what, e->d_name);
			close(in);
			close(out);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(src, e->d_name, target, sizeof target - 1);
			if (n < 0)
				die_errno("copying %s/%s", what, e->d_name);
			target[n] = 0;
			if (symlinkat(target, dst, e->d_name) < 0)
				die_errno("copying %s/%s", what, e->d_name);
		} else if (mknodat(dst, e->d_name, st.st_mode, st.st_rdev) < 0) {
			die_errno("copying %s/%s", what, e->d_name);
		}
		if (fchownat(dst, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			die_errno("copying %s/%s: owner", what, e->d_name);
		if (!S_ISLNK(st.st_mode) && fchmodat(dst, e->d_name, st.st_mode & 07777, 0) < 0)
			die_errno("copying %s/%s: mode", what, e->d_name);
	}
	closedir(d);
}

/* mount KIND SOURCE DEST FSTYPE ATTR_SET ATTR_CLR ATTR_RECURSIVE PROPAGATION PROP_RECURSIVE DATA MKKIND
 *   KIND: "bind" (SOURCE is a host path), "rbind", "fs" (a new filesystem
 *   of FSTYPE), or "fs-copyup" (a new filesystem filled with a copy of what
 *   it covers, e.g. a tmpfs over an image directory). ATTR_*: MOUNT_ATTR_* bits. PROPAGATION: MS_SHARED... or 0.
 *   MKKIND: 0 none, 1 directory, 2 file, 3 a plain directory (the last
 *   component must not be a symlink: proc and sysfs, as runc requires) whose
 *   new mount is kept: masked and read-only paths below it are opened from
 *   that mount (see held_mount). */
/* Idmapped bind trees, made by the core's parent half before the clone (it
 * needs CAP_SYS_ADMIN in the initial user namespace) and inherited by the
 * child, which attaches them. Indexed by the plan's slot numbers. */
#define IDMAP_SLOTS 256
static int idmap_fds[IDMAP_SLOTS] = { [0 ... IDMAP_SLOTS - 1] = -1 };

/* A user namespace with the given uid_map and gid_map, as a file descriptor:
 * a helper child is cloned into a new user namespace, the parent writes its
 * maps, opens /proc/PID/ns/user, and lets it exit. */
static int userns_with_maps(const char *uidmap, const char *gidmap, const char *what)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		die_errno("%s: pipe", what);
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		die_errno("%s: a user namespace for the mapping", what);
	if (pid == 0) {
		char c;
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	char path[64];
	int fd = -1, ok = 1;
	const char *files[2] = { "uid_map", "gid_map" }, *maps[2] = { uidmap, gidmap };
	for (int i = 0; i < 2 && ok; i++) {
		snprintf(path, sizeof path, "%d/%s", pid, files[i]);
		ok = proc_write(host_proc, path, maps[i]) == 0;
	}
	int err = errno;
	if (ok) {
		/* the namespace file through the same verified procfs */
		snprintf(path, sizeof path, "%d/ns", pid);
		int ns = proc_open(host_proc, path, O_PATH | O_DIRECTORY);
		fd = ns < 0 ? -1 : openat(ns, "user", O_RDONLY | O_CLOEXEC);
		err = errno;
		if (ns >= 0)
			close(ns);
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	errno = err;
	if (!ok)
		die_errno("%s: writing the id mapping", what);
	if (fd < 0)
		die_errno("%s: opening the mapping's user namespace", what);
	return fd;
}

/* idmap-tree SLOT SRC RBIND ASET ACLR AREC IDMAP_RECURSIVE UIDMAP GIDMAP */
void prepare_idmap_trees(const struct plan *p)
{
	for (int i = 0; i < p->of[OP_IDMAP_TREE].n; i++) {
		const struct op *o = p->of[OP_IDMAP_TREE].v[i];
		uint64_t slot = FNUM(o, FLD_IDMAP_TREE_SLOT);
		const char *src = FSTR(o, FLD_IDMAP_TREE_SOURCE);
		const char *uidmap = FSTR(o, FLD_IDMAP_TREE_UID_MAP), *gidmap = FSTR(o, FLD_IDMAP_TREE_GID_MAP);
		if (slot >= IDMAP_SLOTS)
			die("plan: idmap-tree.slot: %llu out of range", (unsigned long long)slot);
		char what[4200];
		snprintf(what, sizeof what, "idmapped mount of %s", src);
		/* no maps: a plain bind tree, opened before any namespace is
		 * joined (a source only the host's root may read) */
		int plain = !*uidmap && !*gidmap;
		int userns = plain ? -1 : userns_with_maps(uidmap, gidmap, what);
		unsigned fl = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
		if (FNUM(o, FLD_IDMAP_TREE_RECURSIVE))
			fl |= AT_RECURSIVE;
		int mnt = sys_open_tree(AT_FDCWD, src, fl);
		if (mnt < 0)
			die_errno("%s: bind source", what);
		/* the flags too: a detached mount belongs to the initial user
		 * namespace, where the child (maybe in its own) has no rights */
		uint64_t aset = FNUM(o, FLD_IDMAP_TREE_ATTR_SET), aclr = FNUM(o, FLD_IDMAP_TREE_ATTR_CLR);
		if ((aset || aclr) && sys_mount_setattr(mnt, FNUM(o, FLD_IDMAP_TREE_ATTR_RECURSIVE) ? AT_RECURSIVE : 0, aset, aclr, 0) < 0)
			die_errno("%s: setting mount flags", what);
		if (plain) {
			idmap_fds[slot] = mnt;
			continue;
		}
		struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
		if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | (FNUM(o, FLD_IDMAP_TREE_IDMAP_RECURSIVE) ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
			die_errno("%s (the file system must support idmapped mounts)", what);
		close(userns);
		idmap_fds[slot] = mnt;
	}
}

/* Mounts made with MKKIND 3 (proc, sysfs), kept open: a masked or read-only
 * path below one is opened from the mount berth made, never by resolving the
 * path again after pivot_root (where a symlink or a swapped directory in the
 * rootfs could lead elsewhere). */
#define HELD_MAX 16
static struct {
	const char *dest;
	int fd;
} held[HELD_MAX];
static int nheld;

/* The destination's last component, made if missing, must be a directory
 * itself (O_NOFOLLOW): a symlink there is refused. */
static int plain_directory(int rootfd, const char *dest, const char *fstype)
{
	const char *base;
	int parent = resolve_parent(rootfd, dest, &base);
	if (parent < 0)
		die_errno("mount %s: parent directory inside the rootfs", dest);
	if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST)
		die_errno("mount %s", dest);
	int fd = openat(parent, base, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP))
		die("mount %s: %s in the rootfs is not a directory (a symlink?); a %s file system is mounted only on a plain directory", dest, dest,
			*fstype ? fstype : "sysfs");
	if (fd < 0)
		die_errno("mount %s", dest);
	close(parent);
	return fd;
}

/* The kept mount holding PATH (the deepest one) and PATH's rest below it. */
static int held_mount(const char *path, const char **rest)
{
	int best = -1;
	size_t bestlen = 0;
	for (int i = 0; i < nheld; i++) {
		size_t n = strlen(held[i].dest);
		while (n > 1 && held[i].dest[n - 1] == '/')
			n--;
		if (strncmp(path, held[i].dest, n) == 0 && (path[n] == '/' || path[n] == 0) && n >= bestlen) {
			best = i;
			bestlen = n;
		}
	}
	if (best < 0)
		return -1;
	*rest = path + bestlen;
	while (**rest == '/')
		(*rest)++;
	if (!**rest)
		*rest = ".";
	return held[best].fd;
}

int do_mount_op(int rootfd, const struct op *o)
{
	const char *kind = FSTR(o, FLD_MOUNT_KIND), *src = FSTR(o, FLD_MOUNT_SOURCE), *dest = FSTR(o, FLD_MOUNT_TARGET);
	const char *fstype = FSTR(o, FLD_MOUNT_FSTYPE), *data = FSTR(o, FLD_MOUNT_DATA);
	uint64_t aset = FNUM(o, FLD_MOUNT_ATTR_SET), aclr = FNUM(o, FLD_MOUNT_ATTR_CLR), prop = FNUM(o, FLD_MOUNT_PROPAGATION);
	int arec = FNUM(o, FLD_MOUNT_ATTR_RECURSIVE) != 0, prec = FNUM(o, FLD_MOUNT_PROP_RECURSIVE) != 0;
	uint64_t mkkind = FNUM(o, FLD_MOUNT_MKKIND);
	int mnt;

	if (strcmp(kind, "bind") == 0 || strcmp(kind, "rbind") == 0) {
		unsigned fl = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
		if (kind[0] == 'r')
			fl |= AT_RECURSIVE;
		mnt = sys_open_tree(AT_FDCWD, src, fl);
		if (mnt < 0)
			die_errno("mount %s: bind source %s", dest, src);
		if ((aset || aclr) && sys_mount_setattr(mnt, arec ? AT_RECURSIVE : 0, aset, aclr, 0) < 0)
			die_errno("mount %s: setting mount flags", dest);
	} else if (strcmp(kind, "idmapped") == 0) {
		/* src: the slot of a tree prepare_idmap_trees made */
		char *end;
		unsigned long slot = strtoul(src, &end, 10);
		if (!*src || *end || slot >= IDMAP_SLOTS || idmap_fds[slot] < 0)
			die("plan: mount %s: no idmapped tree in slot %s", dest, src);
		mnt = idmap_fds[slot];
		idmap_fds[slot] = -1;
	} else if (strcmp(kind, "fs") == 0 || strcmp(kind, "fs-copyup") == 0) {
		int fsfd = (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
		if (fsfd < 0)
			die_errno("mount %s: filesystem type %s", dest, fstype);
		if (*src && syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, "source", src, 0) < 0)
			die_errno("mount %s: source %s", dest, src);
		fs_configure(fsfd, data, dest);
		if (syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			die_errno("mount %s: creating %s filesystem", dest, fstype);
		mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, (unsigned)aset);
		if (mnt < 0)
			die_errno("mount %s: %s", dest, fstype);
		close(fsfd);
	} else {
		die("plan: mount.kind: unknown value \"%s\"", kind);
	}

	int target = mkkind == 3 ? plain_directory(rootfd, dest, fstype) : resolve_in_root(rootfd, dest, O_PATH, (int)mkkind, 0);
	if (target < 0)
		die_errno("mount %s: destination inside the rootfs", dest);
	if (strcmp(kind, "fs-copyup") == 0) {
		/* the new mount is still detached: fill it before it covers dest */
		int src = openat(target, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int dst = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat st;
		if (src < 0 || dst < 0 || fstat(src, &st) < 0)
			die_errno("mount %s: copy-up", dest);
		copy_tree(src, dst, dest);
		if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
			die_errno("mount %s: copy-up", dest);
		close(src);
		close(dst);
	}
	if (sys_move_mount(mnt, target) < 0)
		die_errno("mount %s", dest);
	if (mkkind == 3 && nheld < HELD_MAX) {
		held[nheld].dest = dest;
		held[nheld++].fd = mnt;
	} else {
		close(mnt);
	}
	close(target);
	if (prop) {
		/* the destination now resolves to the new mount's root */
		target = resolve_in_root(rootfd, dest, O_PATH, 0, 0);
		if (target < 0 || sys_mount_setattr(target, prec ? AT_RECURSIVE : 0, 0, 0, prop) < 0)
			die_errno("mount %s: propagation", dest);
		close(target);
	}
	return 0;
}

/* mkdev PATH TYPE(c|b|p) MAJOR MINOR MODE UID GID
 * bind-dev PATH HOSTPATH  (where mknod is not allowed: user namespaces) */
int do_mkdev(int rootfd, const struct op *o)
{
	const char *base;
	if (o->code == OP_BIND_DEV) {
		const char *path = FSTR(o, FLD_BIND_DEV_PATH), *source = FSTR(o, FLD_BIND_DEV_SOURCE);
		int target = resolve_in_root(rootfd, path, O_PATH, 2, 0644);
		if (target < 0)
			die_errno("device %s", path);
		int mnt = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (mnt < 0)
			die_errno("device %s: bind source %s", path, source);
		if (sys_move_mount(mnt, target) < 0)
			die_errno("device %s: bind", path);
		close(mnt);
		close(target);
		return 0;
	}
	const char *path = FSTR(o, FLD_MKDEV_PATH), *type = FSTR(o, FLD_MKDEV_TYPE);
	int dir = resolve_parent(rootfd, path, &base);
	if (dir < 0)
		die_errno("device %s: parent directory", path);
	mode_t mode = (mode_t)FNUM(o, FLD_MKDEV_MODE) & 07777;
	switch (type[0]) {
	case 'c':
	case 'u': mode |= S_IFCHR; break;
	case 'b': mode |= S_IFBLK; break;
	case 'p': mode |= S_IFIFO; break;
	default: die("device %s: type %s", path, type);
	}
	dev_t dev = makedev((unsigned)FNUM(o, FLD_MKDEV_MAJOR), (unsigned)FNUM(o, FLD_MKDEV_MINOR));
	if (unlinkat(dir, base, 0) < 0 && errno != ENOENT)
		die_errno("device %s: removing what is there", path);
	if (mknodat(dir, base, mode, dev) < 0)
		die_errno("device %s: mknod", path);
	if (fchownat(dir, base, (uid_t)FNUM(o, FLD_MKDEV_UID), (gid_t)FNUM(o, FLD_MKDEV_GID), AT_SYMLINK_NOFOLLOW) < 0)
		die_errno("device %s: chown", path);
	/* mknod applies the umask: set the mode exactly (nothing else runs in
	 * the container yet, so the node cannot have been swapped) */
	if (fchmodat(dir, base, mode & 07777, 0) < 0)
		die_errno("device %s: chmod", path);
	close(dir);
	return 0;
}

/* symlink TARGET LINKPATH */
int do_symlink(int rootfd, const struct op *o)
{
	const char *base, *link = FSTR(o, FLD_SYMLINK_LINK);
	int dir = resolve_parent(rootfd, link, &base);
	if (dir < 0)
		die_errno("symlink %s: parent directory", link);
	if (symlinkat(FSTR(o, FLD_SYMLINK_TARGET), dir, base) < 0 && errno != EEXIST)
		die_errno("symlink %s", link);
	close(dir);
	return 0;
}

/* mkdir PATH MODE */
int do_mkdir(int rootfd, const struct op *o)
{
	const char *path = FSTR(o, FLD_MKDIR_PATH);
	int fd = resolve_in_root(rootfd, path, O_PATH | O_DIRECTORY, 1, (mode_t)FNUM(o, FLD_MKDIR_MODE));
	if (fd < 0)
		die_errno("mkdir %s", path);
	close(fd);
	return 0;
}

/* mask PATH: hide a file behind /dev/null, a directory behind an empty
 * read-only tmpfs. Runs after pivot_root; a missing path is skipped. */
/* Opens PATH (O_PATH) inside the container's root after pivot_root; -1 if
 * it does not exist. */
static int open_in_container(const char *path, const char *what)
{
	const char *rest;
	int base = held_mount(path, &rest);
	if (base >= 0) {
		/* below a proc or sysfs mount berth made: from that mount, no
		 * symlink followed, nothing outside it */
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		int fd = (int)syscall(SYS_openat2, base, rest, &how, sizeof how);
		if (fd < 0 && errno != ENOENT)
			die_errno("%s %s", what, path);
		return fd;
	}
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int target = resolve_in_root(root, path, O_PATH, 0, 0);
	int err = errno;
	close(root);
	if (target < 0 && err != ENOENT) {
		errno = err;
		die_errno("%s %s", what, path);
	}
	return target;
}

int do_mask(const struct op *o)
{
	const char *path = FSTR(o, FLD_MASK_PATH);
	int target = open_in_container(path, "masked path");
	if (target < 0)
		return 0;
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	if (fstat(target, &st) < 0)
		die_errno("masked path %s", path);
	int mnt;
	if (S_ISDIR(st.st_mode)) {
		int fsfd = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
		if (fsfd < 0 || syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			die_errno("masked path %s: tmpfs", path);
		mnt = (int)syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
		close(fsfd);
	} else {
		int null = resolve_in_root(root, "/dev/null", O_PATH, 0, 0);
		struct stat ns;
		if (null < 0 || fstat(null, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
			die("masked path %s: the container's /dev/null is not the null device", path);
		mnt = sys_open_tree(null, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		close(null);
	}
	if (mnt < 0 || sys_move_mount(mnt, target) < 0)
		die_errno("masked path %s", path);
	close(mnt);
	close(target);
	close(root);
	return 0;
}

/* readonly PATH: bind the path onto itself, read-only. Missing: skipped. */
int do_readonly(const struct op *o)
{
	const char *path = FSTR(o, FLD_READONLY_PATH);
	int target = open_in_container(path, "readonly path");
	if (target < 0)
		return 0;
	int mnt = sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (mnt < 0)
		die_errno("readonly path %s", path);
	if (sys_mount_setattr(mnt, AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0) < 0)
		die_errno("readonly path %s: read-only", path);
	if (sys_move_mount(mnt, target) < 0)
		die_errno("readonly path %s", path);
	close(mnt);
	close(target);
	return 0;
}

/* The kept proc and sysfs mounts are closed once the masks and read-only
 * paths are in place: the waiting init holds none. */
void release_held_mounts(void)
{
	for (int i = 0; i < nheld; i++)
		close(held[i].fd);
	nheld = 0;
}
