/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd's counters (riskctl metrics): per call type, the calls run and a
 * histogram of their durations (util/rr_riskd_stats.h says what a
 * duration covers), kept in memory since riskd started.  Thread-safe.
 */
#ifndef RISKD_STATS_H
#define RISKD_STATS_H

#include "host.h"
#include "rr_wire.h"

#include <stdint.h>

/* At start: riskd's start time (wall clock). */
void rd_stats_start(void);
/* A committed call of `type` that took `ns` of riskd's own work. */
void rd_stats_call(rr_type type, int64_t ns);
/* The client's first message was STATS (`m`): answer it (its peer is
 * root, checked by the caller).  Nothing to free. */
void rd_stats_answer(int fd, const rr_wire_msg *m);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t rd_stats_now_ns(void);

#endif
