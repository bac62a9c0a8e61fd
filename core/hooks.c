/* Hooks that run inside the container's namespaces (createContainer,
 * startContainer): each gets the container's state on stdin and a timeout. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* hook PHASE TIMEOUT_SECONDS PATH NARGS ARG... ENV... */
void run_hooks(const struct plan *p, const char *phase, const char *state, size_t len)
{
	for (int i = 0; i < p->of[OP_HOOK].n; i++) {
		const struct op *o = p->of[OP_HOOK].v[i];
		if (strcmp(FSTR(o, FLD_HOOK_PHASE), phase) != 0)
			continue;
		uint64_t timeout = FNUM(o, FLD_HOOK_TIMEOUT);
		const char *path = FSTR(o, FLD_HOOK_PATH);
		int nargs = FCOUNT(o, FLD_HOOK_ARGS), nenv = FCOUNT(o, FLD_HOOK_ENV);
		char **argv = calloc((size_t)nargs + 2, sizeof(char *));
		char **envp = calloc((size_t)nenv + 1, sizeof(char *));
		if (!argv || !envp)
			die("out of memory");
		for (int a = 0; a < nargs; a++)
			argv[a] = (char *)FSTRS(o, FLD_HOOK_ARGS)[a];
		if (nargs == 0)
			argv[0] = (char *)path;
		for (int e = 0; e < nenv; e++)
			envp[e] = (char *)FSTRS(o, FLD_HOOK_ENV)[e];
		int in[2];
		if (pipe2(in, O_CLOEXEC) < 0)
			die_errno("%s hook %s: pipe", phase, path);
		pid_t pid = fork();
		if (pid < 0)
			die_errno("%s hook %s: fork", phase, path);
		if (pid == 0) {
			dup2(in[0], 0);
			execve(path, argv, envp);
			_exit(127);
		}
		close(in[0]);
		signal(SIGPIPE, SIG_IGN);
		if (write(in[1], state, len) < 0) {
			/* a hook that does not read its stdin is fine */
		}
		close(in[1]);
		struct timespec start, now;
		clock_gettime(CLOCK_MONOTONIC, &start);
		int status = 0;
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid)
				break;
			if (r < 0 && errno != EINTR)
				die_errno("%s hook %s: wait", phase, path);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (timeout > 0 && (uint64_t)(now.tv_sec - start.tv_sec) >= timeout) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				die("%s hook %s: timed out after %llu s", phase, path, (unsigned long long)timeout);
			}
			usleep(2000);
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			die("%s hook %s: cannot be executed", phase, path);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("%s hook %s: failed with %s %d", phase, path, WIFEXITED(status) ? "status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		free(argv);
		free(envp);
	}
}
