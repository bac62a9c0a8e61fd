/* Test driver for the core's plan parser (core/plan.c): reads a plan on
 * stdin as berth-core reads it from its control socket, and prints each op
 * with its fields by name, then the ordered lists; a refused plan prints the
 * core's "error ..." line. Built and run by test/core/plan.test.ts. */
#define PLAN_DEFS
#include "../../core/core.h"

#include <inttypes.h>
#include <stdio.h>

static void list(const char *name, const struct oplist *l)
{
	printf("%s:", name);
	for (int i = 0; i < l->n; i++)
		printf(" %s", l->v[i]->name);
	printf("\n");
}

int main(void)
{
	struct plan p;
	ctl_fd = 1; /* errors as the core's protocol lines, on stdout */
	read_plan(0, &p);
	for (int i = 0; i < p.n; i++) {
		const struct op *o = &p.ops[i];
		const struct plan_op_def *d = &plan_op_defs[o->code];
		printf("%s", o->name);
		for (int f = 0; f < d->nfields; f++) {
			enum plan_field_kind k = d->fields[f].kind;
			printf(" %s=", d->fields[f].name);
			int n = k == PK_STRS || k == PK_U64S || k == PK_NSTRS ? FCOUNT(o, f) : 1;
			for (int j = 0; j < n; j++) {
				if (j)
					printf(",");
				if (k == PK_INT)
					printf("%" PRId64, (int64_t)o->n[o->at[f] + j]);
				else if (k == PK_U64 || k == PK_U64S)
					printf("%" PRIu64, o->n[o->at[f] + j]);
				else
					printf("%s", o->argv[o->at[f] + j]);
			}
		}
		printf("\n");
	}
	printf("create: %d\n", p.create);
	list("rootfs", &p.rootfs);
	list("paths", &p.paths);
	list("attrs", &p.attrs);
	return 0;
}
