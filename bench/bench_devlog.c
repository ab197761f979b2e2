/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_devlog COMMAND [ARG...]: run COMMAND with the benchmarks' private
 * /dev/log (bench_syslog.h) when the machine has none, so that programs it
 * starts (bench_sshd.sh's sshd copies) log to a sink instead of the serial
 * console.  Waits for COMMAND and exits with its status; daemons it leaves
 * behind lose their sink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_syslog.h"

int main(int argc, char **argv)
{
	pid_t pid;
	int st;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_devlog COMMAND [ARG...]\n");
		return 2;
	}
	bench_syslog_begin("bench_devlog");
	pid = fork();
	if (pid < 0) {
		perror("bench_devlog: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		;
	bench_syslog_end();
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}
