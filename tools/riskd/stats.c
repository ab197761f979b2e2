/* SPDX-License-Identifier: BSD-3-Clause */
/* riskd's counters (stats.h), answered to STATS (rr_riskd_stats.h). */
#include "stats.h"
#include "riskd_proto.h"

#include <pthread.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

_Static_assert(TYPE_SESSION + 1 == RR_RISKD_STATS_TYPES && TYPE_AUTH == 0,
	       "the call types of the stats");

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static rr_riskd_stats stats;

int64_t rd_stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rd_stats_start(void)
{
	pthread_mutex_lock(&lock);
	stats.started = (int64_t)time(NULL);
	pthread_mutex_unlock(&lock);
}

void rd_stats_call(rr_type type, int64_t ns)
{
	/* rounded up: a call of 1.0001 ms is not in the 1 ms bucket */
	uint64_t us = ns > 0 ? ((uint64_t)ns + 999) / 1000 : 0;

	if ((unsigned)type >= RR_RISKD_STATS_TYPES)
		return;
	pthread_mutex_lock(&lock);
	rr_riskd_hist_add(&stats.type[type], us);
	pthread_mutex_unlock(&lock);
}

void rd_stats_answer(int fd, const rr_wire_msg *m)
{
	const char *f[1] = {"riskd answers " RR_RISKD_STATS_PROTO};
	rr_riskd_stats copy;
	int r;

	if (m->n != 1 || !m->f[0].s ||
	    strcmp(m->f[0].s, RR_RISKD_STATS_PROTO) != 0) {
		rr_wire_send(fd, RR_W_FALLBACK, f, 1, RR_RISKD_HELLO_MS);
		syslog(LOG_WARNING, "a stats request of another version; "
				    "refused");
		return;
	}
	pthread_mutex_lock(&lock);
	copy = stats;
	pthread_mutex_unlock(&lock);
	r = rr_riskd_stats_send(fd, &copy, RR_RISKD_HELLO_MS);
	if (r < 0)
		syslog(LOG_NOTICE, "stats request: cannot answer: %s",
		       strerror(-r));
}
