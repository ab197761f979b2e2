/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Merging a record changed on this host while etcd was unreachable with
 * etcd's (rr_fleet_merge in rr_fleet.h).  Every merge is idempotent (a
 * record merged with itself, or merged twice, stays the same), so a write
 * whose outcome was unknown, or an entry published twice, changes nothing
 * more.
 */
#include "rr_fleet.h"

#include <stdlib.h>
#include <string.h>

static int64_t min_set(int64_t a, int64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

/* The union of two lists, by key: earliest first seen, latest last seen,
 * the larger count; the most recently seen kept when over the cap. */
static void seen_union(rr_fleet_seen *mine, size_t *n_mine,
		       const rr_fleet_seen *theirs, size_t n_theirs)
{
	size_t i, j;

	for (j = 0; j < n_theirs; j++) {
		const rr_fleet_seen *t = &theirs[j];

		for (i = 0; i < *n_mine; i++)
			if (!strcmp(mine[i].key, t->key))
				break;
		if (i < *n_mine) {
			mine[i].first_seen =
			    min_set(mine[i].first_seen, t->first_seen);
			if (t->last_seen > mine[i].last_seen)
				mine[i].last_seen = t->last_seen;
			if (t->count > mine[i].count)
				mine[i].count = t->count;
			continue;
		}
		if (*n_mine < RR_FLEET_MAX_FAMILIAR) {
			mine[(*n_mine)++] = *t;
			continue;
		}
		/* full: it replaces the least recently seen, if older */
		{
			size_t old = 0, k;

			for (k = 1; k < *n_mine; k++)
				if (mine[k].last_seen < mine[old].last_seen)
					old = k;
			if (t->last_seen > mine[old].last_seen)
				mine[old] = *t;
		}
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Wrong codes of both: each time as often as the side that has it more
 * often (so a merge with itself adds nothing); the newest kept. */
static void failures_union(rr_fleet_mfa *m, const rr_fleet_mfa *t)
{
	int64_t all[2 * RR_FLEET_MAX_FAILURES];
	size_t n = 0, i = 0, j = 0, start;
	int64_t a[RR_FLEET_MAX_FAILURES], b[RR_FLEET_MAX_FAILURES];

	memcpy(a, m->failures, m->n_failures * sizeof(a[0]));
	memcpy(b, t->failures, t->n_failures * sizeof(b[0]));
	qsort(a, m->n_failures, sizeof(a[0]), cmp_i64);
	qsort(b, t->n_failures, sizeof(b[0]), cmp_i64);
	while (i < m->n_failures || j < t->n_failures) {
		if (j == t->n_failures ||
		    (i < m->n_failures && a[i] < b[j])) {
			all[n++] = a[i++];
		} else if (i == m->n_failures || b[j] < a[i]) {
			all[n++] = b[j++];
		} else { /* the same time on both sides: once */
			all[n++] = a[i++];
			j++;
		}
	}
	start = n > RR_FLEET_MAX_FAILURES ? n - RR_FLEET_MAX_FAILURES : 0;
	m->n_failures = n - start;
	memcpy(m->failures, all + start, m->n_failures * sizeof(all[0]));
}

static void merge_mfa(rr_fleet_user *mine, const rr_fleet_user *theirs)
{
	rr_fleet_mfa *m = &mine->mfa;
	const rr_fleet_mfa *t = &theirs->mfa;
	bool same;

	if (!theirs->has[RR_SHARED_MFA])
		return; /* nothing there: ours goes up as it is */
	if (!mine->has[RR_SHARED_MFA]) {
		*m = *t;
		mine->has[RR_SHARED_MFA] = true;
		return;
	}
	same = m->sealed_len == t->sealed_len &&
	       m->registered_at == t->registered_at &&
	       !memcmp(m->sealed, t->sealed, t->sealed_len);
	if (!same) {
		/* registration and reset are never made offline: etcd's
		 * authenticator, with its own replay guard */
		memcpy(m->sealed, t->sealed, sizeof(m->sealed));
		m->sealed_len = t->sealed_len;
		m->alg = t->alg;
		m->digits = t->digits;
		m->period = t->period;
		m->registered_at = t->registered_at;
		m->last_step = t->last_step;
	} else if (t->last_step > m->last_step) {
		m->last_step = t->last_step;
	}
	m->grace_start = min_set(m->grace_start, t->grace_start);
	failures_union(m, t);
}

static int safe_newest_first(const void *a, const void *b)
{
	const rr_fleet_safe_ref *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return strcmp(x->ref, y->ref);
}

/* dst's sign-ins confirmed safe and other's, each once (its latest
 * confirmation), the newest RR_FLEET_MAX_SAFE_REFS. */
static void safe_union(rr_fleet_risk *dst, const rr_fleet_risk *other)
{
	rr_fleet_safe_ref all[2 * RR_FLEET_MAX_SAFE_REFS];
	size_t n = 0, i, j;

	for (i = 0; i < dst->n_safe && i < RR_FLEET_MAX_SAFE_REFS; i++)
		all[n++] = dst->safe[i];
	for (i = 0; i < other->n_safe && i < RR_FLEET_MAX_SAFE_REFS; i++) {
		for (j = 0; j < n && strcmp(all[j].ref, other->safe[i].ref);
		     j++)
			;
		if (j == n)
			all[n++] = other->safe[i];
		else if (other->safe[i].time > all[j].time)
			all[j].time = other->safe[i].time;
	}
	qsort(all, n, sizeof(all[0]), safe_newest_first);
	dst->n_safe = n < RR_FLEET_MAX_SAFE_REFS ? n : RR_FLEET_MAX_SAFE_REFS;
	memcpy(dst->safe, all, dst->n_safe * sizeof(all[0]));
}

void rr_fleet_merge(rr_shared_kind kind, rr_fleet_user *mine,
		    const rr_fleet_user *theirs)
{
	switch (kind) {
	case RR_SHARED_FAMILIAR:
		if (!theirs->has[kind])
			return;
		seen_union(mine->familiar.networks,
			   &mine->familiar.n_networks,
			   theirs->familiar.networks,
			   theirs->familiar.n_networks);
		seen_union(mine->familiar.devices, &mine->familiar.n_devices,
			   theirs->familiar.devices,
			   theirs->familiar.n_devices);
		mine->has[kind] = true;
		return;
	case RR_SHARED_MFA:
		merge_mfa(mine, theirs);
		return;
	case RR_SHARED_RISK:
		/* the record changed last wins; a tie is etcd's; the sign-ins
		 * confirmed safe are both sides' */
		if (theirs->has[kind] &&
		    (!mine->has[kind] ||
		     theirs->risk.updated >= mine->risk.updated)) {
			rr_fleet_risk was = mine->risk;

			mine->risk = theirs->risk;
			if (mine->has[kind])
				safe_union(&mine->risk, &was);
			mine->has[kind] = true;
		} else if (theirs->has[kind]) {
			safe_union(&mine->risk, &theirs->risk);
		}
		return;
	case RR_SHARED_TAP:
		mine->tap = theirs->tap;
		mine->has[kind] = theirs->has[kind];
		return;
	case RR_SHARED_PWCHANGE:
		mine->pwchange = theirs->pwchange;
		mine->has[kind] = theirs->has[kind];
		return;
	case RR_SHARED__COUNT:
		break;
	}
}
