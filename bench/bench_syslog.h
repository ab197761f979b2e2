/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A syslog sink for the benchmarks.  With no syslog daemon (no /dev/log)
 * glibc writes every log line to /dev/console, which on a VM's serial
 * console costs milliseconds and ranks modules by the length of their log
 * lines.  bench_syslog_begin() then gives the process a private /dev/log
 * (in its own mount namespace) whose lines are counted and discarded; with
 * a real /dev/log, or RR_BENCH_CONSOLE=1, it does nothing.
 */
#ifndef BENCH_SYSLOG_H
#define BENCH_SYSLOG_H

void bench_syslog_begin(const char *prog);
void bench_syslog_end(void);

#endif
