/* Capabilities and seccomp. */
#include "core.h"

#include <errno.h>
#include <linux/capability.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int last_cap(void)
{
	int last = 63;
	while (last > 0 && prctl(PR_CAPBSET_READ, last, 0, 0, 0) < 0)
		last--;
	return last;
}

/* caps BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT (64-bit masks).
 * drop_bounding runs while we are still root (it needs CAP_SETPCAP);
 * apply_caps after the user switch (the caller sets PR_SET_KEEPCAPS). */
void drop_bounding(const struct op *o)
{
	if (o->argc != 5)
		die("plan: caps needs 5 arguments");
	uint64_t bnd = num(o->argv[0]);
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(bnd & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die_errno("process.capabilities.bounding: dropping capability %d", c);
}

void apply_caps(const struct op *o)
{
	uint64_t eff = num(o->argv[1]), prm = num(o->argv[2]);
	uint64_t inh = num(o->argv[3]), amb = num(o->argv[4]);
	int last = last_cap();
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)prm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(prm >> 32), .inheritable = (uint32_t)(inh >> 32) },
	};
	if (syscall(SYS_capset, &h, d) < 0)
		die_errno("process.capabilities: setting them");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (int c = 0; c <= last; c++)
		if ((amb & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			die_errno("process.capabilities.ambient: raising capability %d", c);
}

/* seccomp DEFAULT_ACTION FLAGS ARCH...       (actions are SCMP_ACT_* values)
 * seccomp-rule ACTION NAME [INDEX OP VALUE VALUE2]...
 * seccomp-flag FLAG                          (log, spec_allow, tsync)
 * The filter is compiled by libseccomp from these rules (seccomp_prepare,
 * before the core says "ready", so that a bad rule fails create) and loaded
 * later (seccomp_load_prepared). A syscall name this libseccomp or kernel
 * does not know is skipped, as a profile written for other kernels expects.
 * libseccomp's own no_new_privs attribute is off: the plan's no-new-privs op
 * alone decides (runtime-spec: process.noNewPrivileges); without it the
 * filter is loaded while the process still has CAP_SYS_ADMIN. */
static scmp_filter_ctx prepared;

void seccomp_prepare(const struct plan *p)
{
	const struct op *def = plan_find(p, "seccomp");
	if (!def || prepared)
		return;
	if (def->argc < 1)
		die("plan: seccomp needs a default action");
	uint32_t defact = (uint32_t)num(def->argv[0]);
	scmp_filter_ctx ctx = seccomp_init(defact);
	if (!ctx)
		die("linux.seccomp.defaultAction: bad action 0x%x", defact);
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		die("linux.seccomp: turning libseccomp's no_new_privs off: %s", strerror(-r));
	if (def->argc > 1) {
		seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
		int native_listed = 0;
		for (int i = 1; i < def->argc; i++) {
			uint32_t arch = seccomp_arch_resolve_name(def->argv[i]);
			if (!arch)
				die("linux.seccomp.architectures: unknown architecture %s", def->argv[i]);
			if (arch == seccomp_arch_native())
				native_listed = 1;
			r = seccomp_arch_add(ctx, arch);
			if (r < 0 && r != -EEXIST)
				die("linux.seccomp.architectures: adding %s: %s", def->argv[i], strerror(-r));
		}
		if (!native_listed)
			seccomp_arch_add(ctx, SCMP_ARCH_NATIVE);
	}
	for (int i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		if (strcmp(o->name, "seccomp-flag") == 0) {
			r = 0;
			if (strcmp(o->argv[0], "log") == 0)
				r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
			else if (strcmp(o->argv[0], "spec_allow") == 0)
				r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
			else if (strcmp(o->argv[0], "tsync") == 0)
				r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
			else
				die("linux.seccomp.flags: unknown flag %s", o->argv[0]);
			if (r < 0)
				die("linux.seccomp.flags: %s: %s", o->argv[0], strerror(-r));
			continue;
		}
		if (strcmp(o->name, "seccomp-rule") != 0)
			continue;
		if (o->argc < 2 || (o->argc - 2) % 4 != 0)
			die("plan: seccomp-rule arguments");
		uint32_t act = (uint32_t)num(o->argv[0]);
		int nr = seccomp_syscall_resolve_name(o->argv[1]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (act == defact)
			continue;
		unsigned nargs = (unsigned)(o->argc - 2) / 4;
		struct scmp_arg_cmp cmp[6];
		if (nargs > 6)
			die("linux.seccomp: %s: more than 6 argument conditions", o->argv[1]);
		for (unsigned a = 0; a < nargs; a++) {
			cmp[a].arg = (unsigned)num(o->argv[2 + a * 4]);
			cmp[a].op = (enum scmp_compare)num(o->argv[3 + a * 4]);
			cmp[a].datum_a = num(o->argv[4 + a * 4]);
			cmp[a].datum_b = num(o->argv[5 + a * 4]);
		}
		r = seccomp_rule_add_array(ctx, act, nr, nargs, cmp);
		if (r < 0)
			die("linux.seccomp: rule for %s: %s", o->argv[1], strerror(-r));
	}
	prepared = ctx;
}

/* Loads the prepared filter; with SCMP_ACT_NOTIFY rules, returns the
 * listener's descriptor (else -1). */
int seccomp_load_prepared(const struct plan *p)
{
	seccomp_prepare(p);
	if (!prepared)
		return -1;
	int r = seccomp_load(prepared);
	if (r < 0)
		die("linux.seccomp: loading the filter: %s", strerror(-r));
	/* with SCMP_ACT_NOTIFY rules: the listener's descriptor */
	int nfd = plan_find(p, "seccomp-listener") ? seccomp_notify_fd(prepared) : -1;
	if (nfd >= 0)
		nfd = fcntl(nfd, F_DUPFD_CLOEXEC, 3); /* ours, whatever libseccomp does with its copy */
	if (plan_find(p, "seccomp-listener") && nfd < 0)
		die("linux.seccomp: no notification descriptor (does this kernel support SECCOMP_RET_USER_NOTIF?)");
	seccomp_release(prepared);
	prepared = NULL;
	return nfd;
}
