/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Failed sign-ins across the fleet (rr_fleet_fails.h): this host's
 * published in aggregated batches, the other hosts' followed into the
 * store.
 */
#include "rr_fleet_fails.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1024

_Static_assert(RR_FLEET_FAILS_READ <=
		   RR_FLEET_FAILS_KEYS * RR_FLEET_MAX_FAIL_BATCH,
	       "a round's failures fit its batches");

/* "who": the user, or the unknown name's tag (never both). */
static bool same_who(const rr_fleet_failure *a, const rr_fleet_failure *b)
{
	return !strcmp(a->user, b->user) && !strcmp(a->tag, b->tag);
}

/*
 * rows[0..n) oldest first; kept[i] set for those worth sending: newest
 * first, a row is kept while its user and network have fewer than `keep`
 * kept (bruteForce), or when it is the first of its user from its address
 * (passwordSpray).  The number kept.
 */
static size_t aggregate(const rr_fleet_failure *rows, size_t n, unsigned keep,
			bool *kept)
{
	size_t i, j, total = 0;

	for (i = n; i-- > 0;) {
		unsigned same_net = 0;
		bool same_addr = false;

		for (j = i + 1; j < n; j++) {
			if (!kept[j] || !same_who(&rows[i], &rows[j]))
				continue;
			if (!strcmp(rows[i].netkey, rows[j].netkey))
				same_net++;
			if (!strcmp(rows[i].rhost, rows[j].rhost))
				same_addr = true;
		}
		kept[i] = same_net < keep || !same_addr;
		total += kept[i];
	}
	return total;
}

/* The lease the batches go under: one per window, lasting two. */
static int lease(rr_fleet_fails_pub *p, rr_etcd *e, int64_t now)
{
	int64_t id = 0;
	int r;

	if (p->lease && now < p->lease_until)
		return 0;
	r = rr_etcd_lease_grant(e, 2 * p->window_s, &id, NULL);
	if (r < 0)
		return r;
	p->lease = id;
	p->lease_until = now + p->window_s;
	return 0;
}

int rr_fleet_fails_publish(rr_fleet_fails_pub *p, rr_etcd *e, rr_store *s,
			   int64_t now)
{
	char keys[RR_FLEET_FAILS_KEYS][KEY_MAX], seg[RR_FLEET_SEGMENT_MAX + 1];
	char *texts[RR_FLEET_FAILS_KEYS] = {0};
	rr_etcd_op ops[RR_FLEET_FAILS_KEYS];
	rr_fleet_failure *rows = NULL;
	rr_fleet_fails *batch = NULL;
	bool *kept = NULL, ok = false;
	size_t n = 0, i, n_ops = 0, len;
	int64_t mark = 0, last = 0;
	int r;

	if (!p || !e || !s || !p->keep || p->window_s <= 0)
		return -EINVAL;
	rows = calloc(RR_FLEET_FAILS_READ, sizeof(*rows));
	kept = calloc(RR_FLEET_FAILS_READ, sizeof(*kept));
	batch = calloc(1, sizeof(*batch));
	r = rows && kept && batch ? 0 : -ENOMEM;
	if (!r)
		r = rr_store_mark_get(s, RR_STORE_MARK_FAILS, &mark);
	if (!r)
		r = rr_store_failures_since(s, mark, RR_FLEET_FAILS_READ, rows,
					    &n, &last);
	if (r || !n)
		goto out;
	aggregate(rows, n, p->keep, kept);
	snprintf(batch->host, sizeof(batch->host), "%s", p->host);
	for (i = 0; !r && i <= n; i++) {
		if (i < n && !kept[i])
			continue;
		if (i < n)
			batch->failures[batch->n++] = rows[i];
		if (batch->n == 0 ||
		    (i < n && batch->n < RR_FLEET_MAX_FAIL_BATCH))
			continue;
		/* a batch full, or the last one: "MARK-K.HOST" */
		if (n_ops == RR_FLEET_FAILS_KEYS) {
			r = -E2BIG; /* cannot be: READ / MAX_FAIL_BATCH */
			break;
		}
		snprintf(seg, sizeof(seg), "%lld-%zu.%s",
			 (long long)mark + 1, n_ops, p->host);
		r = rr_fleet_key_fails(p->prefix, seg, keys[n_ops], KEY_MAX);
		if (!r)
			r = rr_fleet_fails_encode(batch, &texts[n_ops], &len);
		if (!r)
			ops[n_ops] = (rr_etcd_op){RR_ETCD_OP_PUT, keys[n_ops],
						  strlen(keys[n_ops]),
						  texts[n_ops], len, 0};
		batch->n = 0;
		n_ops++;
	}
	if (!r)
		r = lease(p, e, now);
	for (i = 0; !r && i < n_ops; i++)
		ops[i].lease = p->lease;
	if (!r)
		r = rr_etcd_txn(e, NULL, 0, ops, n_ops, &ok, NULL);
	if (r == -ENOENT)
		p->lease = 0; /* it ended early: a new one next round */
	for (i = 0; !r && p->attacks && i < n; i++)
		rr_fleet_attacks_note(p->attacks, &rows[i]);
out:
	/* sent (or nothing worth sending): past them */
	if (!r && last > mark)
		r = rr_store_mark_set(s, RR_STORE_MARK_FAILS, last);
	for (i = 0; i < RR_FLEET_FAILS_KEYS; i++)
		rr_fleet_text_free(texts[i]);
	free(rows);
	free(kept);
	free(batch);
	return r;
}

static int fails_drop(rr_store *s, const char *batch)
{
	return rr_store_fleet_fails_drop(s, batch);
}

static int fails_decode(const char *batch, const char *text, size_t len,
			void *v)
{
	(void)batch; /* any segment: its host is in the record */
	return rr_fleet_fails_decode(text, len, v);
}

static const char *fails_host(const void *v)
{
	return ((const rr_fleet_fails *)v)->host;
}

static int fails_put(rr_store *s, const char *batch, const void *v)
{
	return rr_store_fleet_fails_put(s, batch, v);
}

const rr_fleet_follow rr_fleet_fails_follow = {
	RR_FLEET_KEY_FAILS, sizeof(rr_fleet_fails), rr_store_fleet_fails_clear,
	fails_drop, fails_decode, fails_host, fails_put};
