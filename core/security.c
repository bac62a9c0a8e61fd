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
	uint64_t bnd = FNUM(o, FLD_CAPS_BOUNDING);
	int last = last_cap();
	for (int c = 0; c <= last; c++)
		if (!(bnd & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die_errno("process.capabilities.bounding: dropping capability %d", c);
}

void apply_caps(const struct op *o)
{
	uint64_t eff = FNUM(o, FLD_CAPS_EFFECTIVE), prm = FNUM(o, FLD_CAPS_PERMITTED);
	uint64_t inh = FNUM(o, FLD_CAPS_INHERITABLE), amb = FNUM(o, FLD_CAPS_AMBIENT);
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
	const struct op *def = p->one[OP_SECCOMP];
	if (!def || prepared)
		return;
	uint32_t defact = (uint32_t)FNUM(def, FLD_SECCOMP_DEFAULT_ACTION);
	scmp_filter_ctx ctx = seccomp_init(defact);
	if (!ctx)
		die("linux.seccomp.defaultAction: bad action 0x%x", defact);
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		die("linux.seccomp: turning libseccomp's no_new_privs off: %s", strerror(-r));
	int narch = FCOUNT(def, FLD_SECCOMP_ARCHITECTURES);
	const char **arches = FSTRS(def, FLD_SECCOMP_ARCHITECTURES);
	if (narch > 0) {
		seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
		int native_listed = 0;
		for (int i = 0; i < narch; i++) {
			uint32_t arch = seccomp_arch_resolve_name(arches[i]);
			if (!arch)
				die("linux.seccomp.architectures: unknown architecture %s", arches[i]);
			if (arch == seccomp_arch_native())
				native_listed = 1;
			r = seccomp_arch_add(ctx, arch);
			if (r < 0 && r != -EEXIST)
				die("linux.seccomp.architectures: adding %s: %s", arches[i], strerror(-r));
		}
		if (!native_listed)
			seccomp_arch_add(ctx, SCMP_ARCH_NATIVE);
	}
	for (int i = 0; i < p->of[OP_SECCOMP_FLAG].n; i++) {
		const char *flag = FSTR(p->of[OP_SECCOMP_FLAG].v[i], FLD_SECCOMP_FLAG_FLAG);
		r = 0;
		if (strcmp(flag, "log") == 0)
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
		else if (strcmp(flag, "spec_allow") == 0)
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
		else if (strcmp(flag, "tsync") == 0)
			r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
		if (r < 0)
			die("linux.seccomp.flags: %s: %s", flag, strerror(-r));
	}
	for (int i = 0; i < p->of[OP_SECCOMP_RULE].n; i++) {
		const struct op *o = p->of[OP_SECCOMP_RULE].v[i];
		const char *name = FSTR(o, FLD_SECCOMP_RULE_SYSCALL);
		int nconds = FCOUNT(o, FLD_SECCOMP_RULE_CONDITIONS);
		const uint64_t *c = FNUMS(o, FLD_SECCOMP_RULE_CONDITIONS);
		if (nconds % 4 != 0)
			die("plan: seccomp-rule.conditions: %d numbers, not groups of 4 (INDEX OP VALUE VALUE2)", nconds);
		uint32_t act = (uint32_t)FNUM(o, FLD_SECCOMP_RULE_ACTION);
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (act == defact)
			continue;
		unsigned nargs = (unsigned)nconds / 4;
		struct scmp_arg_cmp cmp[6];
		if (nargs > 6)
			die("linux.seccomp: %s: more than 6 argument conditions", name);
		for (unsigned a = 0; a < nargs; a++) {
			cmp[a].arg = (unsigned)c[a * 4];
			cmp[a].op = (enum scmp_compare)c[a * 4 + 1];
			cmp[a].datum_a = c[a * 4 + 2];
			cmp[a].datum_b = c[a * 4 + 3];
		}
		r = seccomp_rule_add_array(ctx, act, nr, nargs, cmp);
		if (r < 0)
			die("linux.seccomp: rule for %s: %s", name, strerror(-r));
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
	const struct op *listener = p->one[OP_SECCOMP_LISTENER];
	int nfd = listener ? seccomp_notify_fd(prepared) : -1;
	if (nfd >= 0)
		nfd = fcntl(nfd, F_DUPFD_CLOEXEC, 3); /* ours, whatever libseccomp does with its copy */
	if (listener && nfd < 0)
		die("linux.seccomp: no notification descriptor (does this kernel support SECCOMP_RET_USER_NOTIF?)");
	seccomp_release(prepared);
	prepared = NULL;
	return nfd;
}
