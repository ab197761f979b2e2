/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Risky sign-ins across the fleet (rr_fleet_signins.h): this host's
 * published by reference, any host's read back for riskctl.
 */
#include "rr_fleet_signins.h"
#include "rr_fleet_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1024
#define DAY_S 86400

bool rr_fleet_signin_risky(const rr_store_signin *s)
{
	return s->action != RR_ACTION_ALLOW || s->detections[0] ||
	       strcmp(s->outcome, "success") != 0;
}

int rr_fleet_signins_lease(rr_fleet_signins_pub *p, rr_etcd *e, int64_t day,
			   int64_t now, int64_t *id)
{
	int64_t ttl = (day + 1) * DAY_S + p->retention_s - now;
	int r;

	if (!p->lease || p->lease_day != day) {
		r = rr_etcd_lease_grant(e, ttl < 60 ? 60 : ttl, &p->lease,
					NULL);
		if (r < 0) {
			p->lease = 0;
			return r;
		}
		p->lease_day = day;
	}
	*id = p->lease;
	return 0;
}

typedef struct {
	char key[KEY_MAX];
	char *text;
	size_t len;
	int64_t lease;
} put;

/* The round's put for `ref`: a sign-in changed twice in one round is
 * sent once, as it is now (a transaction may not name a key twice). */
static put *put_for(put *puts, size_t *n, const char *key)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(puts[i].key, key)) {
			rr_fleet_text_free(puts[i].text);
			puts[i].text = NULL;
			return &puts[i];
		}
	return *n < RR_FLEET_SIGNINS_PUTS ? &puts[(*n)++] : NULL;
}

int rr_fleet_signins_publish(rr_fleet_signins_pub *p, rr_etcd *e,
			     rr_store *s, int64_t now)
{
	rr_etcd_op ops[RR_FLEET_SIGNINS_PUTS];
	rr_store_signin *rows = NULL;
	rr_fleet_signin *v = NULL;
	rr_store_signin_change *ch = NULL;
	int64_t mark = 0, upto;
	size_t n = 0, n_puts = 0, i;
	put *puts = NULL;
	bool ok = false;
	int r;

	if (!p || !e || !s || p->retention_s <= 0)
		return -EINVAL;
	rows = calloc(RR_FLEET_SIGNINS_READ, sizeof(*rows));
	ch = calloc(RR_FLEET_SIGNINS_READ, sizeof(*ch));
	puts = calloc(RR_FLEET_SIGNINS_PUTS, sizeof(*puts));
	v = calloc(1, sizeof(*v));
	r = rows && ch && puts && v ? 0 : -ENOMEM;
	if (!r)
		r = rr_store_mark_get(s, RR_STORE_MARK_SIGNINS, &mark);
	if (!r)
		r = rr_store_signins_changed(s, mark, RR_FLEET_SIGNINS_READ,
					     rows, ch, &n);
	upto = mark;
	snprintf(v->host, sizeof(v->host), "%s", p->host);
	for (i = 0; !r && i < n; upto = ch[i++].seq) {
		char key[KEY_MAX];
		put *u;

		/* clean, or past its retention: nothing to send */
		if (!rr_fleet_signin_risky(&rows[i]) ||
		    rows[i].time + p->retention_s <= now)
			continue;
		r = rr_fleet_key_signin(p->prefix, rows[i].ref, key,
					sizeof(key));
		if (r)
			break;
		u = put_for(puts, &n_puts, key);
		if (!u)
			break; /* the transaction is full: the rest next round */
		memcpy(u->key, key, sizeof(key));
		v->s = rows[i];
		v->state = ch[i].state;
		v->detail = ch[i].detail;
		r = rr_fleet_signin_encode(v, &u->text, &u->len);
		if (!r)
			r = rr_fleet_signins_lease(p, e, rows[i].time / DAY_S,
						   now, &u->lease);
	}
	for (i = 0; i < n_puts; i++)
		ops[i] = (rr_etcd_op){RR_ETCD_OP_PUT, puts[i].key,
				      strlen(puts[i].key), puts[i].text,
				      puts[i].len, puts[i].lease};
	if (!r && n_puts)
		r = rr_etcd_txn(e, NULL, 0, ops, n_puts, &ok, NULL);
	if (r == -ENOENT)
		p->lease = 0; /* it ended early: a new one next round */
	/* sent (or nothing worth sending): past them (below the mark when the
	 * sequence began again) */
	if (!r && upto != mark)
		r = rr_store_mark_set(s, RR_STORE_MARK_SIGNINS, upto);
	for (i = 0; puts && i < RR_FLEET_SIGNINS_PUTS; i++)
		rr_fleet_text_free(puts[i].text);
	free(rows);
	free(ch);
	free(puts);
	free(v);
	return r;
}

bool rr_fleet_signin_counts(const rr_fleet_signin *v)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;
	bool counts = false;

	if (v->state != RR_STATE_AT_RISK || v->s.signin_risk == RR_LEVEL_NONE)
		return false;
	snprintf(buf, sizeof(buf), "%s", v->s.detections);
	for (tok = strtok_r(buf, ",", &save); tok && !counts;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');
		rr_event t;

		if (colon)
			*colon = '\0';
		/* a newer host's type counts: it is not one of those two */
		counts = rr_event_parse(tok, &t) < 0 ||
			 (t != RR_EVENT_BRUTE_FORCE &&
			  t != RR_EVENT_PASSWORD_SPRAY);
	}
	return counts;
}

static int signin_drop(rr_store *s, const char *ref)
{
	return rr_store_fleet_signin_drop(s, ref);
}

/* The record of the reference its key names. */
static int follow_decode(const char *ref, const char *text, size_t len,
			 void *v)
{
	int r = rr_fleet_signin_decode(text, len, v);

	return r < 0 || strcmp(((rr_fleet_signin *)v)->s.ref, ref) ? -EPROTO
								    : 0;
}

static const char *signin_host(const void *v)
{
	return ((const rr_fleet_signin *)v)->host;
}

static int signin_put(rr_store *s, const char *ref, const void *p)
{
	const rr_fleet_signin *v = p;

	if (!rr_fleet_signin_counts(v))
		return rr_store_fleet_signin_drop(s, ref);
	return rr_store_fleet_signin_put(s, ref, v->host, v->s.user,
					 v->s.time, v->s.signin_risk);
}

const rr_fleet_follow rr_fleet_signins_follow = {
	RR_FLEET_KEY_SIGNIN, sizeof(rr_fleet_signin),
	rr_store_fleet_signins_clear, signin_drop, follow_decode, signin_host,
	signin_put};

static int newest_first(const void *a, const void *b)
{
	const rr_fleet_signin *x = a, *y = b;

	if (x->s.time != y->s.time)
		return x->s.time < y->s.time ? 1 : -1;
	return strcmp(x->s.ref, y->s.ref);
}

static const char *signin_name(const void *v)
{
	return ((const rr_fleet_signin *)v)->s.ref;
}

static int signin_decode(const char *text, size_t len, void *v)
{
	return rr_fleet_signin_decode(text, len, v);
}

static const rr_fleet_dir signins_dir = {
	RR_FLEET_KEY_SIGNIN, sizeof(rr_fleet_signin), signin_decode,
	signin_name, newest_first};

int rr_fleet_signin_get(rr_etcd *e, const char *prefix, const char *ref,
			rr_fleet_signin *out)
{
	char key[KEY_MAX];
	int r;

	if (!e || !prefix || !ref || !out)
		return -EINVAL;
	r = rr_fleet_key_signin(prefix, ref, key, sizeof(key));
	return r < 0 ? r : rr_fleet_dir_get(e, prefix, &signins_dir, key, out);
}

int rr_fleet_signins_read(rr_etcd *e, const char *prefix,
			  rr_fleet_signin **rows, size_t *n,
			  size_t *malformed)
{
	void *out = NULL;
	int r = rr_fleet_dir_read(e, prefix, &signins_dir, &out, n, malformed);

	*rows = out;
	return r;
}
