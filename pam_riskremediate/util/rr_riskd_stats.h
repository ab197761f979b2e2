/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd's counters, asked by `riskctl metrics` on riskd's socket (root
 * only, like the calls).  The client's first and only message is
 *
 *   STATS [RR_RISKD_STATS_PROTO]
 *
 * and riskd answers with RR_RISKD_STATS_TYPES frames, one per call type in
 * rr_type order (auth, account, password, session), then closes:
 *
 *   STATS_REPLY [proto, started, type, count, sum_us, b_0 .. b_12]
 *
 * started: riskd's start, seconds since the epoch; count: the calls of
 * that type riskd ran since (those committed to it: riskd_proto.h);
 * sum_us: their durations added, microseconds; b_i: the calls whose
 * duration was at most rr_riskd_stats_bounds_us[i] and more than the
 * bound before (not cumulative; the rest, count - sum(b), took longer than
 * the last bound).  A duration is riskd's own work on the call, from
 * COMMIT to END sent, less the time spent waiting for the module's
 * answers (a person typing at a prompt, the application answering an
 * item): what the policy, the store and the detections cost.
 * Every number a canonical decimal (rr_wire_int).  A riskd that does not
 * know STATS, or another proto, answers FALLBACK [reason].  libc only.
 */
#ifndef RR_RISKD_STATS_H
#define RR_RISKD_STATS_H

#include <stddef.h>
#include <stdint.h>

/* riskd's socket, the module's default riskd= (riskd_proto.h) */
#define RR_RISKD_SOCKET "/run/riskremediate/riskd.sock"

#define RR_RISKD_STATS_PROTO "riskd-stats/1"
#define RR_RISKD_STATS_TYPES 4
#define RR_RISKD_STATS_BUCKETS 13
/* STATS_REPLY's fields */
enum {
	RR_RS_PROTO = 0,
	RR_RS_STARTED,
	RR_RS_TYPE,
	RR_RS_COUNT,
	RR_RS_SUM_US,
	RR_RS_BUCKET0,
	RR_RS_FIELDS = RR_RS_BUCKET0 + RR_RISKD_STATS_BUCKETS
};

/* The buckets' upper bounds, microseconds: 1 ms .. 10 s. */
extern const uint64_t rr_riskd_stats_bounds_us[RR_RISKD_STATS_BUCKETS];

typedef struct {
	uint64_t count;
	uint64_t sum_us;
	uint64_t bucket[RR_RISKD_STATS_BUCKETS]; /* not cumulative */
} rr_riskd_hist;

typedef struct {
	int64_t started;
	rr_riskd_hist type[RR_RISKD_STATS_TYPES];
} rr_riskd_stats;

/* "auth", "account", "password", "session"; NULL out of range. */
const char *rr_riskd_stats_type_name(size_t type);
/* One call of us microseconds into h (counts saturate). */
void rr_riskd_hist_add(rr_riskd_hist *h, uint64_t us);

/* riskd: the answer to a STATS request.  0 or a negative errno as
 * rr_wire_send. */
int rr_riskd_stats_send(int fd, const rr_riskd_stats *st, int timeout_ms);
/*
 * riskctl: connect to the socket at path, ask, read and check the answer,
 * all within timeout_ms.  0 with *out filled; the negative errno of the
 * connection (-ENOENT, -ECONNREFUSED: no riskd; -EAGAIN: its backlog is
 * full); -EPERM when the socket's server is not root (not asked);
 * -ETIMEDOUT; -EPROTO when riskd sent FALLBACK (another version);
 * -EBADMSG for a malformed or inconsistent answer.  *out is written only
 * on success.
 */
int rr_riskd_stats_query(const char *path, int timeout_ms, rr_riskd_stats *out);
/* Its two halves on a connected socket: send STATS; read and check the
 * answer (errors as rr_riskd_stats_query).  Each within timeout_ms. */
int rr_riskd_stats_ask(int fd, int timeout_ms);
int rr_riskd_stats_recv(int fd, rr_riskd_stats *out, int timeout_ms);

#endif
