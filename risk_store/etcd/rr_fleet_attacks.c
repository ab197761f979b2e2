/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Attacks raised once for the fleet (rr_fleet_attacks.h): the subjects of
 * this host's failures, counted in its store against the policy's
 * thresholds, and the one transaction that raises each.
 */
#include "rr_fleet_attacks.h"
#include "rr_fleet_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1024
#define DAY_S 86400

static const rr_detection_cfg *cfg_of(const rr_fleet_attacks *a, rr_event t)
{
	return t == RR_EVENT_BRUTE_FORCE ? &a->brute : &a->spray;
}

static void note_one(rr_fleet_attacks *a, rr_event type, const char *user,
		     const char *source, int64_t time)
{
	rr_fleet_attack_subject *s, *slot = NULL;
	size_t i;

	if (!cfg_of(a, type)->enabled || !source[0])
		return;
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS; i++) {
		s = &a->subj[i];
		if (s->used && s->type == type && !strcmp(s->user, user) &&
		    !strcmp(s->source, source)) {
			if (time > s->seen)
				s->seen = time;
			return;
		}
		/* a free slot, else the least recently seen subject */
		if (!slot || (slot->used && (!s->used || s->seen < slot->seen)))
			slot = s;
	}
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->type = type;
	snprintf(slot->user, sizeof(slot->user), "%s", user);
	snprintf(slot->source, sizeof(slot->source), "%s", source);
	slot->seen = time;
}

void rr_fleet_attacks_note(rr_fleet_attacks *a, const rr_fleet_failure *f)
{
	if (!a || !f)
		return;
	/* bruteForce counts a user's failures (a name that is no user has
	 * no sign-in to protect); passwordSpray every name's */
	if (f->user[0])
		note_one(a, RR_EVENT_BRUTE_FORCE, f->user, f->netkey, f->time);
	note_one(a, RR_EVENT_PASSWORD_SPRAY, "", f->rhost, f->time);
}

/* The subject's count now, in the store (which holds the other hosts'
 * failures too), and whether it is over the policy's threshold. */
static int over(const rr_fleet_attacks *a, rr_store *s,
		const rr_fleet_attack_subject *sub, int64_t now,
		int64_t *count, bool *crossed)
{
	const rr_detection_cfg *c = cfg_of(a, sub->type);
	rr_history h;
	int r;

	memset(&h, 0, sizeof(h));
	if (sub->type == RR_EVENT_BRUTE_FORCE) {
		r = rr_store_history(s, sub->user, sub->source, now,
				     c->window_s, &h);
		*count = (int64_t)h.recent_failures;
		*crossed = r == 0 && rr_detect_brute_force(c, &h);
	} else {
		r = rr_store_spray_count(s, sub->source, now, c->window_s,
					 &h.spray_users);
		*count = (int64_t)h.spray_users;
		*crossed = r == 0 && rr_detect_password_spray(c, &h);
	}
	return r;
}

/* The transaction: the record and the mark, only while the mark (and a
 * record of that reference) is absent.  *won whether it was written. */
static int raise_one(rr_fleet_attacks *a, rr_etcd *e,
		     const rr_fleet_attack *v, int64_t now, bool *won)
{
	char key[KEY_MAX], mkey[KEY_MAX], mark[RR_FLEET_ATTACK_MARK_LEN];
	char *text = NULL;
	int64_t day_lease = 0, mark_lease = 0;
	size_t len = 0;
	int r;

	r = rr_fleet_attack_mark(v, mark, sizeof(mark));
	if (!r)
		r = rr_fleet_key_attack_mark(a->prefix, mark, mkey,
					     sizeof(mkey));
	if (!r)
		r = rr_fleet_key_attack(a->prefix, v->ref, key, sizeof(key));
	if (!r)
		r = rr_fleet_attack_encode(v, &text, &len);
	if (!r)
		r = rr_fleet_signins_lease(a->days, e, v->time / DAY_S, now,
					   &day_lease);
	if (!r)
		r = rr_etcd_lease_grant(e, v->window_s, &mark_lease, NULL);
	if (!r) {
		rr_etcd_cmp cmp[2] = {{mkey, strlen(mkey), 0},
				      {key, strlen(key), 0}};
		rr_etcd_op ops[2] = {
		    {RR_ETCD_OP_PUT, mkey, strlen(mkey), v->ref,
		     strlen(v->ref), mark_lease},
		    {RR_ETCD_OP_PUT, key, strlen(key), text, len, day_lease}};

		r = rr_etcd_txn(e, cmp, 2, ops, 2, won, NULL);
	}
	if (r == -ENOENT)
		a->days->lease = 0; /* it ended early: a new one next time */
	rr_fleet_text_free(text);
	return r;
}

int rr_fleet_attacks_raise(rr_fleet_attacks *a, rr_etcd *e, rr_store *s,
			   int64_t now, rr_fleet_attack *raised, size_t *n,
			   size_t *lost)
{
	size_t i, checks = 0, k = 0;
	int r = 0;

	if (!a || !e || !s || !raised || !n || !lost || !a->days)
		return -EINVAL;
	*n = 0;
	*lost = 0;
	for (i = 0; i < RR_FLEET_ATTACK_SUBJECTS && !r &&
		    checks < RR_FLEET_ATTACK_CHECKS &&
		    k < RR_FLEET_ATTACK_RAISES;
	     i++) {
		size_t at = (a->next + i) % RR_FLEET_ATTACK_SUBJECTS;
		rr_fleet_attack_subject *sub = &a->subj[at];
		const rr_detection_cfg *c = cfg_of(a, sub->type);
		rr_fleet_attack *v = &raised[k];
		bool crossed = false, won = false;
		int64_t count = 0;

		if (!sub->used)
			continue;
		if (sub->seen + (int64_t)c->window_s < now) {
			sub->used = false; /* out of its window */
			continue;
		}
		if (sub->done_until > now)
			continue;
		checks++;
		r = over(a, s, sub, now, &count, &crossed);
		if (r || !crossed)
			continue;
		memset(v, 0, sizeof(*v));
		snprintf(v->host, sizeof(v->host), "%s", a->host);
		r = rr_store_ref_new(v->ref);
		v->type = sub->type;
		v->level = c->level;
		v->time = now;
		memcpy(v->user, sub->user, sizeof(v->user));
		memcpy(v->source, sub->source, sizeof(v->source));
		v->count = count;
		v->window_s = (int64_t)c->window_s;
		if (!r)
			r = raise_one(a, e, v, now, &won);
		if (r)
			break;
		sub->done_until = now + (int64_t)c->window_s;
		if (won)
			k++;
		else
			++*lost;
	}
	a->next = (a->next + i) % RR_FLEET_ATTACK_SUBJECTS;
	*n = k;
	return r;
}

static int newest_first(const void *a, const void *b)
{
	const rr_fleet_attack *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return strcmp(x->ref, y->ref);
}

static const char *attack_name(const void *v)
{
	return ((const rr_fleet_attack *)v)->ref;
}

static int attack_decode(const char *text, size_t len, void *v)
{
	return rr_fleet_attack_decode(text, len, v);
}

static const rr_fleet_dir attacks_dir = {
	RR_FLEET_KEY_ATTACK, sizeof(rr_fleet_attack), attack_decode,
	attack_name, newest_first};

int rr_fleet_attacks_read(rr_etcd *e, const char *prefix,
			  rr_fleet_attack **rows, size_t *n,
			  size_t *malformed)
{
	void *out = NULL;
	int r;

	if (!e || !prefix || !rows || !n)
		return -EINVAL;
	r = rr_fleet_dir_read(e, prefix, &attacks_dir, &out, n, malformed);
	if (r == 0)
		*rows = out;
	return r;
}
