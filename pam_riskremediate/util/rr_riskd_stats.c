/* SPDX-License-Identifier: BSD-3-Clause */
/* riskd's counters on the wire (rr_riskd_stats.h).  libc only. */
#include "rr_riskd_stats.h"
#include "rr_wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const uint64_t rr_riskd_stats_bounds_us[RR_RISKD_STATS_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static const char *const type_names[RR_RISKD_STATS_TYPES] = {
    "auth", "account", "password", "session"};

const char *rr_riskd_stats_type_name(size_t type)
{
	return type < RR_RISKD_STATS_TYPES ? type_names[type] : NULL;
}

static void sat_add(uint64_t *v, uint64_t d)
{
	*v = *v > UINT64_MAX - d ? UINT64_MAX : *v + d;
}

void rr_riskd_hist_add(rr_riskd_hist *h, uint64_t us)
{
	size_t i;

	sat_add(&h->count, 1);
	sat_add(&h->sum_us, us);
	for (i = 0; i < RR_RISKD_STATS_BUCKETS; i++)
		if (us <= rr_riskd_stats_bounds_us[i]) {
			sat_add(&h->bucket[i], 1);
			return;
		}
}

/* Numbers go as canonical decimals of at most INT64_MAX (rr_wire_int). */
static void num(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%llu",
		 (unsigned long long)(v > INT64_MAX ? INT64_MAX : v));
}

int rr_riskd_stats_send(int fd, const rr_riskd_stats *st, int timeout_ms)
{
	char nums[RR_RS_FIELDS][24];
	const char *f[RR_RS_FIELDS];
	size_t t, i;
	int r = 0;

	for (t = 0; t < RR_RISKD_STATS_TYPES && r == 0; t++) {
		const rr_riskd_hist *h = &st->type[t];

		f[RR_RS_PROTO] = RR_RISKD_STATS_PROTO;
		num(nums[RR_RS_STARTED], sizeof(nums[0]),
		    st->started > 0 ? (uint64_t)st->started : 0);
		f[RR_RS_STARTED] = nums[RR_RS_STARTED];
		f[RR_RS_TYPE] = type_names[t];
		num(nums[RR_RS_COUNT], sizeof(nums[0]), h->count);
		f[RR_RS_COUNT] = nums[RR_RS_COUNT];
		num(nums[RR_RS_SUM_US], sizeof(nums[0]), h->sum_us);
		f[RR_RS_SUM_US] = nums[RR_RS_SUM_US];
		for (i = 0; i < RR_RISKD_STATS_BUCKETS; i++) {
			num(nums[RR_RS_BUCKET0 + i], sizeof(nums[0]),
			    h->bucket[i]);
			f[RR_RS_BUCKET0 + i] = nums[RR_RS_BUCKET0 + i];
		}
		r = rr_wire_send(fd, RR_W_STATS_REPLY, f, RR_RS_FIELDS,
				 timeout_ms);
	}
	return r;
}

int rr_riskd_stats_ask(int fd, int timeout_ms)
{
	const char *f[1] = {RR_RISKD_STATS_PROTO};

	return rr_wire_send(fd, RR_W_STATS, f, 1, timeout_ms);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frame t of an answer, checked, into *h; *started must agree across
 * frames (-1: not seen yet). */
static int one_frame(const rr_wire_msg *m, size_t t, int64_t *started,
		     rr_riskd_hist *h)
{
	long long v, total = 0;
	size_t i;

	if (m->type == RR_W_FALLBACK)
		return -EPROTO;
	if (m->type != RR_W_STATS_REPLY || m->n != RR_RS_FIELDS ||
	    !m->f[RR_RS_PROTO].s ||
	    strcmp(m->f[RR_RS_PROTO].s, RR_RISKD_STATS_PROTO) ||
	    !m->f[RR_RS_TYPE].s || strcmp(m->f[RR_RS_TYPE].s, type_names[t]))
		return -EBADMSG;
	if (rr_wire_int(m, RR_RS_STARTED, 0, INT64_MAX, &v) ||
	    (*started >= 0 && v != *started))
		return -EBADMSG;
	*started = v;
	if (rr_wire_int(m, RR_RS_COUNT, 0, INT64_MAX, &v))
		return -EBADMSG;
	h->count = (uint64_t)v;
	if (rr_wire_int(m, RR_RS_SUM_US, 0, INT64_MAX, &v))
		return -EBADMSG;
	h->sum_us = (uint64_t)v;
	for (i = 0; i < RR_RISKD_STATS_BUCKETS; i++) {
		if (rr_wire_int(m, RR_RS_BUCKET0 + i, 0, INT64_MAX, &v) ||
		    v > (long long)h->count - total)
			return -EBADMSG; /* more in the buckets than calls */
		h->bucket[i] = (uint64_t)v;
		total += v;
	}
	return 0;
}

int rr_riskd_stats_recv(int fd, rr_riskd_stats *out, int timeout_ms)
{
	rr_riskd_stats st = {.started = -1};
	int64_t end = now_ms() + timeout_ms, left;
	rr_wire_msg m = {0};
	size_t t;
	int r = 0;

	for (t = 0; t < RR_RISKD_STATS_TYPES && r == 0; t++) {
		left = end - now_ms();
		r = left <= 0 ? -ETIMEDOUT : rr_wire_recv(fd, &m, (int)left);
		if (r == 0)
			r = one_frame(&m, t, &st.started, &st.type[t]);
		else if (r == -ECONNRESET || r == -EMSGSIZE)
			r = -EBADMSG; /* riskd answered, but not this */
		rr_wire_msg_clear(&m);
	}
	if (r == 0)
		*out = st;
	return r;
}

int rr_riskd_stats_query(const char *path, int timeout_ms, rr_riskd_stats *out)
{
	/* the module trusts only a root riskd, and so does riskctl */
	int fd = rr_wire_connect_root(path), r;

	if (fd < 0)
		return fd;
	r = rr_riskd_stats_ask(fd, timeout_ms);
	if (r == -EPIPE || r == -ECONNRESET)
		r = -EBADMSG;
	if (r == 0)
		r = rr_riskd_stats_recv(fd, out, timeout_ms);
	close(fd);
	return r;
}
