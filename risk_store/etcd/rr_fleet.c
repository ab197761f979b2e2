/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet backend (rr_fleet.h): records between etcd and a host's store,
 * writes published as one compare-and-swap transaction each, the replica's
 * load, watch and queue.
 */
#include "rr_errno.h"
#include "rr_fleet.h"
#include "rr_fleet_fails.h"
#include "rr_fleet_hosts.h"
#include "rr_fleet_signins.h"
#include "rr_fleet_dir.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX 1024
#define DRAIN_BATCH 256
#define FOLLOWERS 2
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 2000
#define PUBLISH_EVERY_MS 500
/* An echo's revision, not written with it, is saved within this long (or
 * with the next write or progress notification). */
#define UNSAVED_MAX_MS 250

/* A thread that follows one directory of the other hosts' records into
 * the store (rr_fleet_follow.h). */
typedef struct {
	rr_fleet *f;
	const rr_fleet_follow *d;
	const char *what; /* for the log */
	bool on;
	pthread_t thread;
	char key[KEY_MAX];
	unsigned char end[KEY_MAX];
	size_t key_len, end_len;
} rr_follower;

struct rr_fleet {
	char *endpoints[RR_ETCD_MAX_ENDPOINTS];
	size_t n_endpoints;
	char *ca, *cert, *key, *user, *password_file;
	char *prefix;
	char host[RR_FLEET_SEGMENT_MAX + 1];
	char *store_path;
	bool mfa_local;
	unsigned max_staleness_s;
	rr_fleet_log_fn log;
	char users_key[KEY_MAX];
	unsigned char users_end[KEY_MAX];
	size_t users_len, users_end_len;

	pthread_mutex_t e_lock; /* e: load, drain, audit, members */
	rr_etcd *e;

	/* one drain at a time: the replicator's (reconnected) and the
	 * publisher's (deferred writes, leftovers) */
	pthread_mutex_t drain_lock;

	pthread_mutex_t lock; /* the state below */
	pthread_cond_t wake;  /* stop */
	pthread_t thread, publisher;
	bool started, stop;
	int64_t heard_ns; /* monotonic; 0: never */
	int64_t revision;
	uint64_t queued;
	bool watching;
	char last_error[160];

	/* this host's record (the publisher thread's) */
	char version[RR_FLEET_VERSION_MAX + 1];
	rr_fleet_beat beat;

	/* failed sign-ins across the fleet (rr_fleet_fails.h): published by
	 * the publisher, followed by a thread of their own */
	bool count_fails;
	rr_fleet_fails_pub fails;
	/* risky sign-ins by reference (rr_fleet_signins.h): the publisher's;
	 * the other hosts' followed for the aggregation */
	rr_fleet_signins_pub signins;
	rr_fleet_attacks attacks;
	rr_follower followers[FOLLOWERS]; /* fails, then signins */
};

struct rr_fleet_conn {
	rr_fleet *f;
	rr_etcd *e;      /* its own, or the fleet's (shared) */
	rr_store *s;
	bool shared;     /* e is f->e: used under f->e_lock, not freed */
};

/* ---- small helpers ---------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void flog(rr_fleet *f, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!f->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->log(prio, msg);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_error(rr_fleet *f, const char *what, const char *why)
{
	pthread_mutex_lock(&f->lock);
	snprintf(f->last_error, sizeof(f->last_error), "%s: %s", what, why);
	pthread_mutex_unlock(&f->lock);
}

static void heard(rr_fleet *f, int64_t revision)
{
	pthread_mutex_lock(&f->lock);
	f->heard_ns = mono_ns();
	if (revision > f->revision)
		f->revision = revision;
	pthread_mutex_unlock(&f->lock);
}

/* Unreachable, no leader: -ENOTCONN (the store may queue). */
static int net_errno(int r)
{
	return r == -ECONNREFUSED || r == -EAGAIN || r == -ECONNRESET ? -ENOTCONN
									  : r;
}

static bool valid_host(const char *h)
{
	size_t n = strlen(h), i;

	if (!n || n > RR_FLEET_SEGMENT_MAX || !strcmp(h, ".") ||
	    !strcmp(h, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* ---- records ---------------------------------------------------------- */

typedef int (*key_fn)(const char *prefix, const char *user, char *buf,
		      size_t cap);

static const key_fn key_builders[RR_SHARED__COUNT] = {
	[RR_SHARED_RISK] = rr_fleet_key_risk,
	[RR_SHARED_MFA] = rr_fleet_key_mfa,
	[RR_SHARED_TAP] = rr_fleet_key_tap,
	[RR_SHARED_PWCHANGE] = rr_fleet_key_pwchange,
	[RR_SHARED_FAMILIAR] = rr_fleet_key_familiar,
};

static int kind_of(rr_fleet_key_kind k, rr_shared_kind *out)
{
	switch (k) {
	case RR_FLEET_KEY_RISK: *out = RR_SHARED_RISK; return 0;
	case RR_FLEET_KEY_MFA: *out = RR_SHARED_MFA; return 0;
	case RR_FLEET_KEY_TAP: *out = RR_SHARED_TAP; return 0;
	case RR_FLEET_KEY_PWCHANGE: *out = RR_SHARED_PWCHANGE; return 0;
	case RR_FLEET_KEY_FAMILIAR: *out = RR_SHARED_FAMILIAR; return 0;
	case RR_FLEET_KEY_AUDIT:
	case RR_FLEET_KEY_SIGNIN:
	case RR_FLEET_KEY_HOST:
	case RR_FLEET_KEY_FAILS:
	case RR_FLEET_KEY_ATTACK:
	case RR_FLEET_KEY_ATTACK_MARK:
		break;
	}
	return -ENOENT;
}

static int encode(rr_shared_kind k, const rr_fleet_user *u, char **text,
		  size_t *len)
{
	switch (k) {
	case RR_SHARED_RISK: return rr_fleet_risk_encode(&u->risk, text, len);
	case RR_SHARED_MFA: return rr_fleet_mfa_encode(&u->mfa, text, len);
	case RR_SHARED_TAP: return rr_fleet_tap_encode(&u->tap, text, len);
	case RR_SHARED_PWCHANGE:
		return rr_fleet_pwchange_encode(&u->pwchange, text, len);
	case RR_SHARED_FAMILIAR:
		return rr_fleet_familiar_encode(&u->familiar, text, len);
	case RR_SHARED__COUNT:
		break;
	}
	return -EINVAL;
}

static int decode(rr_shared_kind k, const char *text, size_t len,
		  rr_fleet_user *u)
{
	switch (k) {
	case RR_SHARED_RISK: return rr_fleet_risk_decode(text, len, &u->risk);
	case RR_SHARED_MFA: return rr_fleet_mfa_decode(text, len, &u->mfa);
	case RR_SHARED_TAP: return rr_fleet_tap_decode(text, len, &u->tap);
	case RR_SHARED_PWCHANGE:
		return rr_fleet_pwchange_decode(text, len, &u->pwchange);
	case RR_SHARED_FAMILIAR:
		return rr_fleet_familiar_decode(text, len, &u->familiar);
	case RR_SHARED__COUNT:
		break;
	}
	return -EINVAL;
}

/*
 * Record (user, kind) as etcd has it (v->has[kind]) at mod_revision.  A
 * record changed here while offline (queued) is merged, not replaced: the
 * queue publishes the merge.
 */
static int put_record(rr_fleet *f, rr_store *s, const char *user,
		      rr_shared_kind kind, const rr_fleet_user *v,
		      int64_t mod_revision)
{
	rr_fleet_user *mine;
	bool pending = false;
	int r;

	r = rr_store_queue_pending(s, user, kind, &pending);
	if (r || !pending)
		return r ? r : rr_store_replica_put(s, user, kind, v,
						    mod_revision);
	mine = calloc(1, sizeof(*mine));
	if (!mine)
		return -ENOMEM;
	r = rr_store_replica_export(s, user, RR_SHARED_BIT(kind), mine, NULL);
	if (!r) {
		rr_fleet_merge(kind, mine, v);
		r = rr_store_replica_put(s, user, kind, mine, mod_revision);
	}
	rr_fleet_user_free(mine);
	(void)f;
	return r;
}

/*
 * One key read from etcd (a range item or a watch event; value NULL for a
 * delete): filed under its user and kind.  Keys of other kinds are not the
 * replica's; a key or value that is not valid is logged and, when its user
 * is known, remembered as malformed (that user's sign-ins are refused).
 * *user_out / *kind_out (may be NULL) name what it was.  Store errors are
 * returned; etcd's own mistakes are not errors here.
 */
static int apply_kv(rr_fleet *f, rr_store *s, const unsigned char *key,
		    size_t key_len, const unsigned char *value,
		    size_t value_len, int64_t mod_revision,
		    char user_out[RR_USER_MAX + 1], int *kind_out)
{
	rr_fleet_user *v;
	rr_shared_kind kind;
	rr_fleet_key k;
	int r;

	if (kind_out)
		*kind_out = -1;
	r = rr_fleet_key_parse(f->prefix, (const char *)key, key_len, &k);
	if (r < 0) {
		flog(f, LOG_WARNING, "fleet: ignoring a key under %s that is "
		     "not one of ours (%zu bytes)", f->prefix, key_len);
		return 0;
	}
	if (kind_of(k.kind, &kind) < 0)
		return 0;
	if (user_out)
		snprintf(user_out, RR_USER_MAX + 1, "%s", k.name);
	if (kind_out)
		*kind_out = (int)kind;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (value) {
		r = decode(kind, (const char *)value, value_len, v);
		if (r == -EPROTO) {
			flog(f, LOG_ERR, "fleet: the %s record of user %s "
			     "(revision %lld) is malformed; that user's "
			     "sign-ins are refused until it is fixed",
			     rr_shared_kind_name(kind), k.name,
			     (long long)mod_revision);
			r = rr_store_replica_bad(s, k.name, kind,
						 "not a valid record",
						 mod_revision);
			goto out;
		}
		if (r < 0)
			goto out;
		v->has[kind] = true;
	}
	r = put_record(f, s, k.name, kind, v, mod_revision);
out:
	rr_fleet_user_free(v);
	return r;
}

/* A user's records, fresh from etcd (after a write found them changed). */
static int refresh_user(rr_fleet *f, rr_etcd *e, rr_store *s,
			const char *user)
{
	char key[KEY_MAX], name[RR_USER_MAX + 1];
	rr_etcd_range *rg = NULL;
	rr_fleet_user *absent;
	unsigned seen = 0, k;
	size_t i, n;
	int r, kind;

	r = rr_fleet_key_risk(f->prefix, user, key, sizeof(key));
	if (r < 0)
		return r;
	n = strlen(key) - strlen("risk"); /* P users/U/ */
	r = net_errno(rr_etcd_get_prefix(e, key, n, 0, &rg));
	if (r < 0) {
		set_error(f, "refresh", rr_etcd_last_error(e));
		return r;
	}
	absent = calloc(1, sizeof(*absent));
	r = absent ? rr_store_replica_begin(s) : -ENOMEM;
	for (i = 0; !r && i < rg->n; i++) {
		r = apply_kv(f, s, rg->kvs[i].key, rg->kvs[i].key_len,
			     rg->kvs[i].value, rg->kvs[i].value_len,
			     rg->kvs[i].mod_revision, name, &kind);
		if (!r && kind >= 0 && !strcmp(name, user))
			seen |= RR_SHARED_BIT(kind);
	}
	for (k = 0; !r && k < RR_SHARED__COUNT; k++)
		if (!(seen & RR_SHARED_BIT(k)))
			r = put_record(f, s, user, k, absent, rg->revision);
	if (absent)
		r = rr_store_replica_end(s, r, 0);
	rr_fleet_user_free(absent);
	rr_etcd_range_free(rg);
	return r;
}

/* ---- publishing --------------------------------------------------------- */

static int audit_value(rr_fleet *f, const rr_store_audit_rec *a, char *id,
		       size_t id_cap, char **text, size_t *len)
{
	rr_fleet_audit v = {.time = a->time};

	snprintf(v.actor, sizeof(v.actor), "%s", a->actor);
	snprintf(v.action, sizeof(v.action), "%s", a->action);
	snprintf(v.target, sizeof(v.target), "%s", a->target);
	snprintf(v.detail, sizeof(v.detail), "%s", a->detail);
	snprintf(v.host, sizeof(v.host), "%s", f->host);
	/* time first: the keys sort by time (the host is in the value) */
	snprintf(id, id_cap, "%020lld-%08x%08x", (long long)a->time,
		 (unsigned)randombytes_random(),
		 (unsigned)randombytes_random());
	return rr_fleet_audit_encode(&v, text, len);
}

/* One transaction: every record of p compared on its base revision and
 * written (deleted when absent), with the audit row. */
static int publish(rr_fleet *f, rr_etcd *e, const rr_store_publish *p,
		   int64_t revs[RR_SHARED__COUNT])
{
	char keys[RR_SHARED__COUNT + 1][KEY_MAX], id[RR_FLEET_SEGMENT_MAX + 1];
	char *texts[RR_SHARED__COUNT + 1] = {0};
	size_t lens[RR_SHARED__COUNT + 1] = {0};
	rr_etcd_cmp cmp[RR_SHARED__COUNT];
	rr_etcd_op ops[RR_SHARED__COUNT + 1];
	size_t n_cmp = 0, n_ops = 0, i;
	int64_t rev = 0;
	bool ok = false;
	unsigned k;
	int r = 0;

	for (k = 0; !r && k < RR_SHARED__COUNT; k++) {
		if (!(p->kinds & RR_SHARED_BIT(k)))
			continue;
		r = key_builders[k](f->prefix, p->user, keys[k], KEY_MAX);
		if (r < 0)
			break;
		cmp[n_cmp++] = (rr_etcd_cmp){keys[k], strlen(keys[k]),
					     p->base[k]};
		if (p->now->has[k]) {
			r = encode(k, p->now, &texts[k], &lens[k]);
			ops[n_ops++] = (rr_etcd_op){RR_ETCD_OP_PUT, keys[k],
						    strlen(keys[k]), texts[k],
						    lens[k], 0};
		} else if (p->base[k]) {
			ops[n_ops++] = (rr_etcd_op){RR_ETCD_OP_DELETE, keys[k],
						    strlen(keys[k]), NULL, 0,
						    0};
		}
	}
	if (!r && p->audit) {
		k = RR_SHARED__COUNT;
		r = audit_value(f, p->audit, id, sizeof(id), &texts[k],
				&lens[k]);
		if (!r)
			r = rr_fleet_key_audit(f->prefix, id, keys[k], KEY_MAX);
		if (!r)
			ops[n_ops++] = (rr_etcd_op){RR_ETCD_OP_PUT, keys[k],
						    strlen(keys[k]), texts[k],
						    lens[k], 0};
	}
	if (r < 0) {
		flog(f, LOG_ERR, "fleet: a record of user %s cannot be "
		     "written (%s)", p->user, strerror(-r));
		goto out;
	}
	r = net_errno(rr_etcd_txn(e, cmp, n_cmp, ops, n_ops, &ok, &rev));
	/* sent, and the connection broke (a member killed under it): the
	 * outcome is unknown, as after a timeout */
	if (r == -EIO)
		r = -ETIMEDOUT;
	if (r < 0) {
		set_error(f, "write", rr_etcd_last_error(e));
		goto out;
	}
	if (!ok) {
		r = -EXDEV;
		goto out;
	}
	for (k = 0; k < RR_SHARED__COUNT; k++)
		revs[k] = (p->kinds & RR_SHARED_BIT(k)) && p->now->has[k] ? rev
									  : 0;
	heard(f, 0);
out:
	for (i = 0; i <= RR_SHARED__COUNT; i++)
		rr_fleet_text_free(texts[i]);
	return r;
}

static int conn_publish(void *ctx, const rr_store_publish *p,
			int64_t revs[RR_SHARED__COUNT])
{
	rr_fleet_conn *c = ctx;
	int r;

	if (c->shared)
		pthread_mutex_lock(&c->f->e_lock);
	r = publish(c->f, c->e, p, revs);
	if (c->shared)
		pthread_mutex_unlock(&c->f->e_lock);
	return r;
}

static int conn_refresh(void *ctx, rr_store *s, const char *user)
{
	rr_fleet_conn *c = ctx;
	int r;

	if (c->shared)
		pthread_mutex_lock(&c->f->e_lock);
	r = refresh_user(c->f, c->e, s, user);
	if (c->shared)
		pthread_mutex_unlock(&c->f->e_lock);
	return r;
}

static int64_t fleet_staleness(rr_fleet *f)
{
	int64_t ms = -1;

	pthread_mutex_lock(&f->lock);
	if (f->heard_ns)
		ms = (mono_ns() - f->heard_ns) / 1000000;
	pthread_mutex_unlock(&f->lock);
	return ms;
}

static int64_t conn_staleness(void *ctx)
{
	return fleet_staleness(((rr_fleet_conn *)ctx)->f);
}

static const rr_store_link link_ops = {
	.publish = conn_publish,
	.refresh = conn_refresh,
	.staleness_ms = conn_staleness,
};

/* ---- the handle ---------------------------------------------------------- */

static int open_etcd(rr_fleet *f, rr_etcd **out)
{
	rr_etcd_cfg cfg = {
	    .endpoints = (const char *const *)f->endpoints,
	    .n_endpoints = f->n_endpoints,
	    .ca = f->ca,
	    .cert = f->cert,
	    .key = f->key,
	    .user = f->user,
	    .password_file = f->password_file,
	    .connect_timeout_ms = 1000,
	    .timeout_ms = 3000,
	};

	return rr_etcd_open(&cfg, out);
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int follower_init(rr_fleet *f, rr_follower *w, const rr_fleet_follow *d,
			 const char *what);

/* What the fleet's counts use of a bruteForce or passwordSpray setting
 * (no pointers into the policy, which a reload frees). */
static void counts_cfg(const rr_detection_cfg *c, rr_detection_cfg *out)
{
	memset(out, 0, sizeof(*out));
	out->enabled = c->enabled;
	out->level = c->level;
	out->failures = c->failures;
	out->window_s = c->window_s;
	out->spray_users = c->spray_users;
}

/* Whether the policy's counts are the ones f was made with. */
static bool counts_same(const rr_fleet *f, const rr_policy *p)
{
	rr_detection_cfg bf, ps;

	counts_cfg(&p->detections[RR_EVENT_BRUTE_FORCE], &bf);
	counts_cfg(&p->detections[RR_EVENT_PASSWORD_SPRAY], &ps);
	return !memcmp(&bf, &f->attacks.brute, sizeof(bf)) &&
	       !memcmp(&ps, &f->attacks.spray, sizeof(ps)) &&
	       p->aggregation.enabled == f->followers[1].on &&
	       (int64_t)p->signin_retention_days * 86400 ==
		   f->signins.retention_s;
}

int rr_fleet_new(const rr_policy *p, const char *store_path,
		 rr_fleet_log_fn log, rr_fleet **out)
{
	const rr_policy_etcd *c;
	rr_fleet *f;
	size_t i;
	int r = 0;

	if (!p || !out || p->backend != RR_BACKEND_ETCD ||
	    !p->etcd.n_endpoints || p->etcd.n_endpoints > RR_ETCD_MAX_ENDPOINTS)
		return -EINVAL;
	c = &p->etcd;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->e_lock, NULL);
	pthread_mutex_init(&f->drain_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	f->log = log;
	f->mfa_local = p->offline.mfa == RR_OFFLINE_MFA_LOCAL;
	f->max_staleness_s = p->offline.max_staleness_s;
	for (i = 0; !r && i < c->n_endpoints; i++) {
		r = dup_opt(c->endpoints[i], &f->endpoints[i]);
		f->n_endpoints = i + 1;
	}
	if (!r)
		r = dup_opt(c->ca, &f->ca);
	if (!r)
		r = dup_opt(c->cert, &f->cert);
	if (!r)
		r = dup_opt(c->key, &f->key);
	if (!r)
		r = dup_opt(c->user, &f->user);
	if (!r)
		r = dup_opt(c->password_file, &f->password_file);
	if (!r)
		r = dup_opt(c->prefix ? c->prefix : RR_ETCD_DEFAULT_PREFIX,
			    &f->prefix);
	if (!r)
		r = dup_opt(store_path, &f->store_path);
	if (!r && c->host)
		snprintf(f->host, sizeof(f->host), "%s", c->host);
	else if (!r && gethostname(f->host, sizeof(f->host) - 1) < 0)
		r = rr_negerrno();
	if (!r && !valid_host(f->host))
		r = -EINVAL; /* the policy checks its own; the machine's */
	if (!r) {
		const rr_detection_cfg *bf =
		    &p->detections[RR_EVENT_BRUTE_FORCE];
		const rr_detection_cfg *ps =
		    &p->detections[RR_EVENT_PASSWORD_SPRAY];

		f->count_fails = bf->enabled || ps->enabled;
		f->fails.prefix = f->prefix;
		f->fails.host = f->host;
		f->fails.keep = bf->enabled && bf->failures ? bf->failures : 1;
		if (f->fails.keep > RR_FLEET_MAX_FAIL_BATCH)
			f->fails.keep = RR_FLEET_MAX_FAIL_BATCH;
		f->fails.window_s = (int64_t)(bf->enabled ? bf->window_s : 0);
		f->signins.prefix = f->prefix;
		f->signins.host = f->host;
		f->attacks.prefix = f->prefix;
		f->attacks.host = f->host;
		counts_cfg(bf, &f->attacks.brute);
		counts_cfg(ps, &f->attacks.spray);
		f->attacks.days = &f->signins;
		f->fails.attacks = &f->attacks;
		/* 1 or more: the policy's default is 30 */
		f->signins.retention_s =
		    (int64_t)p->signin_retention_days * 86400;
		if (ps->enabled && (int64_t)ps->window_s > f->fails.window_s)
			f->fails.window_s = (int64_t)ps->window_s;
		if (f->fails.window_s < 60)
			f->fails.window_s = 60;
		if (f->count_fails)
			r = follower_init(f, &f->followers[0],
					  &rr_fleet_fails_follow,
					  "failed sign-in batches");
		if (!r && p->aggregation.enabled)
			r = follower_init(f, &f->followers[1],
					  &rr_fleet_signins_follow,
					  "risky sign-ins");
	}
	if (!r) {
		f->beat.prefix = f->prefix;
		f->beat.host = f->host;
		f->beat.version = f->version;
		f->beat.started = (int64_t)time(NULL);
		f->beat.max_staleness_ms =
		    (int64_t)(f->max_staleness_s ? f->max_staleness_s : 30) *
		    1000;
	}
	if (!r)
		r = rr_fleet_key_users(f->prefix, f->users_key,
				       sizeof(f->users_key));
	if (!r) {
		f->users_len = strlen(f->users_key);
		r = rr_etcd_prefix_end(f->users_key, f->users_len,
				       f->users_end, &f->users_end_len);
	}
	if (!r)
		r = open_etcd(f, &f->e);
	if (r) {
		rr_fleet_free(f);
		return r;
	}
	*out = f;
	return 0;
}

void rr_fleet_free(rr_fleet *f)
{
	size_t i;

	if (!f)
		return;
	rr_fleet_stop(f);
	if (f->started) {
		pthread_join(f->thread, NULL);
		pthread_join(f->publisher, NULL);
		for (i = 0; i < FOLLOWERS; i++)
			if (f->followers[i].on)
				pthread_join(f->followers[i].thread, NULL);
	}
	rr_etcd_free(f->e);
	for (i = 0; i < f->n_endpoints; i++)
		free(f->endpoints[i]);
	free(f->ca);
	free(f->cert);
	free(f->key);
	free(f->user);
	free(f->password_file);
	free(f->prefix);
	free(f->store_path);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->e_lock);
	pthread_mutex_destroy(&f->drain_lock);
	pthread_cond_destroy(&f->wake);
	free(f);
}

void rr_fleet_stop(rr_fleet *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->wake);
	pthread_mutex_unlock(&f->lock);
}

const char *rr_fleet_store(const rr_fleet *f)
{
	return f && f->store_path ? f->store_path : "";
}

const char *rr_fleet_prefix(const rr_fleet *f)
{
	return f ? f->prefix : NULL;
}

const char *rr_fleet_host(const rr_fleet *f)
{
	return f ? f->host : NULL;
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool rr_fleet_same(const rr_fleet *f, const rr_policy *p,
		   const char *store_path)
{
	const rr_policy_etcd *c = &p->etcd;
	size_t i;

	if (!f || !p || p->backend != RR_BACKEND_ETCD ||
	    c->n_endpoints != f->n_endpoints ||
	    !str_same(c->prefix ? c->prefix : RR_ETCD_DEFAULT_PREFIX,
		      f->prefix) ||
	    !str_same(store_path, f->store_path) || !str_same(c->ca, f->ca) ||
	    !str_same(c->cert, f->cert) || !str_same(c->key, f->key) ||
	    !str_same(c->user, f->user) ||
	    !str_same(c->password_file, f->password_file) ||
	    (c->host && strcmp(c->host, f->host)) ||
	    (p->offline.mfa == RR_OFFLINE_MFA_LOCAL) != f->mfa_local ||
	    !counts_same(f, p))
		return false;
	for (i = 0; i < c->n_endpoints; i++)
		if (strcmp(c->endpoints[i], f->endpoints[i]))
			return false;
	return true;
}

static int link_with(rr_fleet *f, rr_store *s, bool shared,
		     rr_fleet_conn **out)
{
	rr_fleet_conn *c;
	int r;

	if (!f || !s || !out)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->shared = shared;
	if (shared) {
		c->e = f->e;
	} else {
		r = open_etcd(f, &c->e);
		if (r) {
			free(c);
			return r;
		}
	}
	c->f = f;
	c->s = s;
	rr_store_link_set(s, &link_ops, c, f->mfa_local);
	*out = c;
	return 0;
}

int rr_fleet_link(rr_fleet *f, rr_store *s, rr_fleet_conn **out)
{
	return link_with(f, s, false, out);
}

int rr_fleet_link_shared(rr_fleet *f, rr_store *s, rr_fleet_conn **out)
{
	return link_with(f, s, true, out);
}

void rr_fleet_unlink(rr_fleet_conn *c)
{
	if (!c)
		return;
	rr_store_link_set(c->s, NULL, NULL, false);
	if (!c->shared)
		rr_etcd_free(c->e);
	free(c);
}

/* ---- the full load ------------------------------------------------------- */

typedef struct {
	char name[RR_USER_MAX + 1];
	unsigned seen;
} user_seen;

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const user_seen *)a)->name,
		      ((const user_seen *)b)->name);
}

static int load_into(rr_fleet *f, rr_etcd *e, rr_store *s)
{
	char (*local)[RR_USER_MAX + 1] = NULL;
	user_seen *seen = NULL, key, *hit;
	rr_etcd_range *rg = NULL;
	rr_fleet_user *absent = NULL;
	size_t i, n_seen = 0, n_local = 0;
	unsigned k;
	int r, kind;

	r = net_errno(rr_etcd_get_prefix(e, f->users_key, f->users_len, 0,
					 &rg));
	if (r < 0) {
		set_error(f, "load", rr_etcd_last_error(e));
		return r;
	}
	seen = calloc(rg->n ? rg->n : 1, sizeof(*seen));
	absent = calloc(1, sizeof(*absent));
	r = seen && absent ? rr_store_replica_users(s, &local, &n_local)
			   : -ENOMEM;
	if (!r)
		r = rr_store_replica_begin(s);
	if (r)
		goto out;
	for (i = 0; !r && i < rg->n; i++) {
		r = apply_kv(f, s, rg->kvs[i].key, rg->kvs[i].key_len,
			     rg->kvs[i].value, rg->kvs[i].value_len,
			     rg->kvs[i].mod_revision, key.name, &kind);
		if (r || kind < 0)
			continue;
		/* keys come in order: a user's records are adjacent */
		if (!n_seen || strcmp(seen[n_seen - 1].name, key.name))
			seen[n_seen++] = key;
		seen[n_seen - 1].seen |= RR_SHARED_BIT(kind);
	}
	/* what etcd does not have is absent: the users it has... */
	for (i = 0; !r && i < n_seen; i++)
		for (k = 0; !r && k < RR_SHARED__COUNT; k++)
			if (!(seen[i].seen & RR_SHARED_BIT(k)))
				r = put_record(f, s, seen[i].name, k, absent,
					       rg->revision);
	/* ...and the users it no longer has at all */
	if (n_seen)
		qsort(seen, n_seen, sizeof(*seen), seen_cmp);
	for (i = 0; !r && i < n_local; i++) {
		snprintf(key.name, sizeof(key.name), "%s", local[i]);
		hit = n_seen ? bsearch(&key, seen, n_seen, sizeof(*seen),
				       seen_cmp)
			     : NULL;
		for (k = 0; !r && !hit && k < RR_SHARED__COUNT; k++)
			r = put_record(f, s, local[i], k, absent,
				       rg->revision);
	}
	r = rr_store_replica_end(s, r, rg->revision);
	if (!r)
		heard(f, rg->revision);
out:
	free(local);
	free(seen);
	rr_fleet_user_free(absent);
	rr_etcd_range_free(rg);
	return r;
}

int rr_fleet_load(rr_fleet *f, rr_store *s)
{
	int r;

	if (!f || !s)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = load_into(f, f->e, s);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

/* ---- the queue ------------------------------------------------------------ */

/* Whether a and b hold the same record of kind k (compared encoded). */
static bool same_record(rr_shared_kind k, const rr_fleet_user *a,
			const rr_fleet_user *b)
{
	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	bool same;

	if (a->has[k] != b->has[k])
		return false;
	if (!a->has[k])
		return true;
	same = !encode(k, a, &ta, &la) && !encode(k, b, &tb, &lb) &&
	       la == lb && !memcmp(ta, tb, la);
	rr_fleet_text_free(ta);
	rr_fleet_text_free(tb);
	return same;
}

/*
 * After a queued entry's records were published as `now` (revs): recorded
 * at those revisions and the entry removed, in one batch.  A sign-in that
 * changed them meanwhile (rows no longer `now`) keeps its change: the rows
 * become the merge of both at the new revisions and the entry stays for
 * the next round.
 */
static int drain_record(rr_store *s, const rr_store_queued *q,
			const rr_fleet_user *now,
			const int64_t revs[RR_SHARED__COUNT])
{
	rr_fleet_user *cur;
	bool kept = false;
	unsigned k;
	int r;

	cur = calloc(1, sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	r = rr_store_replica_begin(s);
	if (!r)
		r = rr_store_replica_export(s, q->user, q->kinds, cur, NULL);
	for (k = 0; !r && k < RR_SHARED__COUNT; k++) {
		/* an absent record's revision only orders */
		int64_t rev = revs[k] ? revs[k] : INT64_MAX;

		if (!(q->kinds & RR_SHARED_BIT(k)))
			continue;
		if (same_record(k, cur, now)) {
			r = rr_store_replica_put(s, q->user, k, now, rev);
			continue;
		}
		rr_fleet_merge(k, cur, now);
		r = rr_store_replica_put(s, q->user, k, cur, rev);
		kept = true;
	}
	if (!r && !kept)
		r = rr_store_queue_done(s, q->id);
	r = rr_store_replica_end(s, r, 0);
	rr_fleet_user_free(cur);
	return r;
}

/* One queued entry: refreshed (merging), published on the merge's
 * revisions, recorded; again while another host writes meanwhile. */
static int drain_one(rr_fleet *f, rr_etcd *e, rr_store *s,
		     const rr_store_queued *q)
{
	int64_t base[RR_SHARED__COUNT], revs[RR_SHARED__COUNT];
	rr_store_publish p = {0};
	rr_fleet_user *now;
	unsigned tries;
	int r = -EBUSY;

	now = calloc(1, sizeof(*now));
	if (!now)
		return -ENOMEM;
	for (tries = 0; tries < RR_STORE_PUBLISH_TRIES; tries++) {
		r = refresh_user(f, e, s, q->user);
		if (!r)
			r = rr_store_replica_export(s, q->user, q->kinds, now,
						    base);
		if (r)
			break;
		p.user = q->user;
		p.kinds = q->kinds;
		p.now = now;
		p.base = base;
		r = publish(f, e, &p, revs);
		if (r == -EXDEV)
			continue;
		if (!r)
			r = drain_record(s, q, now, revs);
		break;
	}
	if (r == -EXDEV)
		r = -EBUSY;
	rr_fleet_user_free(now);
	return r;
}

static int drain_with(rr_fleet *f, rr_etcd *e, rr_store *s, uint64_t *left)
{
	rr_store_queued *rows = NULL;
	size_t n = 0, i;
	uint64_t count = 0;
	int r;

	pthread_mutex_lock(&f->drain_lock);
	r = rr_store_queue_list(s, DRAIN_BATCH, &rows, &n);
	for (i = 0; !r && i < n; i++) {
		r = drain_one(f, e, s, &rows[i]);
		if (!r && !rows[i].deferred)
			flog(f, LOG_NOTICE, "fleet: published the %s write of "
			     "user %s queued while etcd was unreachable",
			     rows[i].kinds & RR_SHARED_BIT(RR_SHARED_MFA)
				 ? "MFA"
				 : "offline",
			     rows[i].user);
	}
	free(rows);
	if (rr_store_queue_count(s, &count) == 0) {
		pthread_mutex_lock(&f->lock);
		f->queued = count;
		pthread_mutex_unlock(&f->lock);
	}
	pthread_mutex_unlock(&f->drain_lock);
	if (left)
		*left = count;
	return r;
}

int rr_fleet_drain(rr_fleet *f, rr_store *s, uint64_t *left)
{
	int r;

	if (!f || !s)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = drain_with(f, f->e, s, left);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

/* ---- the replica: watch ---------------------------------------------------- */

typedef struct {
	rr_fleet *f;
	rr_store *s;
	int err; /* a store error that stopped the watch */
	/* the newest revision of echoes not written (0: none), since when */
	int64_t unsaved, unsaved_ns;
} watch_ctx;

static bool stopping(rr_fleet *f)
{
	bool stop;

	pthread_mutex_lock(&f->lock);
	stop = f->stop;
	pthread_mutex_unlock(&f->lock);
	return stop;
}

/*
 * Whether the replica reflects every event of m already: the echo of this
 * host's own writes once they are committed here, or records a reload
 * read.  A write still in flight here is not waited for (that would hold
 * the other hosts' news of a busy user): its echo goes the ordinary way,
 * behind the write's lock.  Keys of kinds the replica does not keep need
 * nothing either; a key that is not ours goes the ordinary way (it is
 * logged there).
 */
static bool echo_only(watch_ctx *w, const rr_etcd_watch_msg *m)
{
	rr_shared_kind kind;
	rr_fleet_key k;
	size_t i;
	bool yes;

	for (i = 0; i < m->n_events; i++) {
		const rr_etcd_event *ev = &m->events[i];

		if (rr_fleet_key_parse(w->f->prefix, (const char *)ev->kv.key,
				       ev->kv.key_len, &k) < 0)
			return false;
		if (kind_of(k.kind, &kind) < 0)
			continue;
		if (rr_store_replica_reflects(w->s, k.name, kind,
					      ev->type == RR_ETCD_EV_PUT,
					      ev->kv.mod_revision, &yes) < 0 ||
		    !yes)
			return false;
	}
	return true;
}

/* The revision of echoes not written, saved now (0 or a store error). */
static int save_unsaved(watch_ctx *w)
{
	int r;

	if (!w->unsaved)
		return 0;
	r = rr_store_replica_begin(w->s);
	r = rr_store_replica_end(w->s, r, w->unsaved);
	if (!r)
		w->unsaved = w->unsaved_ns = 0;
	return r;
}

static int on_watch(const rr_etcd_watch_msg *m, void *ud)
{
	watch_ctx *w = ud;
	int64_t rev = 0;
	size_t i;
	int r = 0;

	if (stopping(w->f))
		return 1;
	switch (m->kind) {
	case RR_ETCD_WATCH_CREATED:
		pthread_mutex_lock(&w->f->lock);
		w->f->watching = true;
		w->f->last_error[0] = '\0';
		pthread_mutex_unlock(&w->f->lock);
		heard(w->f, 0);
		return 0;
	case RR_ETCD_WATCH_EVENTS:
		for (i = 0; i < m->n_events; i++)
			if (m->events[i].kv.mod_revision > rev)
				rev = m->events[i].kv.mod_revision;
		if (echo_only(w, m)) {
			/* nothing to write; the revision is saved a little
			 * later (a restart resumes before it: harmless) */
			if (rev > w->unsaved)
				w->unsaved = rev;
			if (!w->unsaved_ns)
				w->unsaved_ns = mono_ns();
			break;
		}
		if (w->unsaved > rev)
			rev = w->unsaved;
		r = rr_store_replica_begin(w->s);
		for (i = 0; !r && i < m->n_events; i++) {
			const rr_etcd_event *ev = &m->events[i];

			r = apply_kv(w->f, w->s, ev->kv.key, ev->kv.key_len,
				     ev->type == RR_ETCD_EV_PUT ? ev->kv.value
								: NULL,
				     ev->kv.value_len, ev->kv.mod_revision,
				     NULL, NULL);
		}
		r = rr_store_replica_end(w->s, r, rev);
		if (!r)
			w->unsaved = w->unsaved_ns = 0;
		break;
	case RR_ETCD_WATCH_PROGRESS:
		/* every event up to the header's revision was delivered */
		if (m->revision > w->unsaved)
			w->unsaved = m->revision;
		rev = w->unsaved;
		r = save_unsaved(w);
		break;
	}
	if (r < 0) {
		w->err = r;
		return r;
	}
	heard(w->f, rev);
	return r;
}

/* Asked by the watch every so often (at least once a second): stop?  And
 * the time to save an echo's revision. */
static bool watch_cancelled(void *ud)
{
	watch_ctx *w = ud;

	if (w->unsaved &&
	    mono_ns() - w->unsaved_ns >= (int64_t)UNSAVED_MAX_MS * 1000000)
		(void)save_unsaved(w); /* busy: the next call tries again */
	return stopping(w->f);
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* After a failed round of a follower thread: its store connection parked
 * (closed when the file changed), a nap, the next nap longer. */
static void back_off(rr_store **s, unsigned *backoff)
{
	if (*s && !rr_store_park(*s)) {
		rr_store_close(*s);
		*s = NULL;
	}
	nap_ms(*backoff);
	*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
						 : *backoff * 2;
}

static void *replicate_main(void *arg)
{
	rr_fleet *f = arg;
	rr_etcd *e = NULL;
	rr_store *s = NULL;
	unsigned backoff = BACKOFF_MIN_MS;
	int64_t rev = 0, compact = 0;
	bool load = false;
	int r;

	while (!stopping(f)) {
		if (!s) {
			r = rr_store_open(f->store_path, &s);
			if (r) {
				flog(f, LOG_ERR, "fleet: the store %s cannot "
				     "be opened (%s)", f->store_path,
				     strerror(-r));
				s = NULL;
				goto again;
			}
			rr_store_keep_open(s);
		}
		if (!e && (r = open_etcd(f, &e))) {
			flog(f, LOG_ERR, "fleet: etcd client: %s",
			     strerror(-r));
			e = NULL;
			goto again;
		}
		r = drain_with(f, e, s, NULL);
		if (r == -ENOTCONN || r == -ETIMEDOUT)
			goto again; /* still unreachable */
		if (r)
			flog(f, LOG_ERR, "fleet: publishing queued writes: "
			     "%s", strerror(-r));
		r = rr_store_replica_revision(s, &rev);
		if (!r && (load || rev == 0)) {
			r = load_into(f, e, s);
			if (!r) {
				flog(f, LOG_INFO, "fleet: replica loaded from "
				     "%s", f->prefix);
				load = false;
				r = rr_store_replica_revision(s, &rev);
			}
		}
		if (r)
			goto again;
		{
			rr_etcd_watch_req req = {
			    .key = f->users_key,
			    .key_len = f->users_len,
			    .range_end = f->users_end,
			    .range_end_len = f->users_end_len,
			    .start_revision = rev + 1,
			    .idle_timeout_ms =
				(long)(f->max_staleness_s ? f->max_staleness_s
							  : 30) * 1000,
			    .cancelled = watch_cancelled,
			};
			watch_ctx w = {.f = f, .s = s};

			/* heard only when etcd answers (on_watch): a watch
			 * that cannot start leaves the replica going stale */
			backoff = BACKOFF_MIN_MS;
			r = rr_etcd_watch(e, &req, on_watch, &w, &compact);
			(void)save_unsaved(&w);
			pthread_mutex_lock(&f->lock);
			f->watching = false;
			pthread_mutex_unlock(&f->lock);
			if (r == 0)
				continue; /* on_watch ended it: stopping */
			if (r == -ESTALE) {
				flog(f, LOG_NOTICE, "fleet: history compacted "
				     "past revision %lld (now %lld): reading "
				     "everything again", (long long)rev,
				     (long long)compact);
				load = true;
				continue;
			}
			set_error(f, "watch", w.err ? strerror(-w.err)
						    : rr_etcd_last_error(e));
			flog(f, LOG_WARNING, "fleet: watch ended: %s",
			     w.err ? strerror(-w.err) : rr_etcd_last_error(e));
		}
again:
		back_off(&s, &backoff);
	}
	rr_store_close(s);
	rr_etcd_free(e);
	return NULL;
}

/*
 * The publisher: while the replica follows etcd, every PUBLISH_EVERY_MS
 * it publishes what waits in the queue (deferred writes of sign-ins, and
 * offline writes a sign-in queued after the replicator reconnected),
 * with its own client and store connection.
 */
/* This host's record, when it is due (0, or the write's error). */
static int beat(rr_fleet *f, rr_etcd *e, int64_t *next_ns)
{
	int64_t now = mono_ns();
	rr_fleet_state st;

	if (now < *next_ns)
		return 0;
	*next_ns = now + rr_fleet_beat_every_ms(f->beat.max_staleness_ms) *
			     1000000;
	rr_fleet_state_get(f, &st);
	return rr_fleet_beat_send(&f->beat, e, st.revision, st.staleness_ms,
				  st.queued, (int64_t)time(NULL));
}

/* This host's round of raising attacks (rr_fleet_attacks.h): one
 * warning line for each it raised, the SOC's "one attack" line. */
static void raise_attacks(rr_fleet *f, rr_etcd *e, rr_store *s, bool *failed)
{
	rr_fleet_attack raised[RR_FLEET_ATTACK_RAISES];
	size_t n = 0, lost = 0, i;
	int r;

	r = rr_fleet_attacks_raise(&f->attacks, e, s, (int64_t)time(NULL),
				   raised, &n, &lost);
	for (i = 0; i < n; i++) {
		const rr_fleet_attack *v = &raised[i];

		if (v->type == RR_EVENT_BRUTE_FORCE)
			flog(f, LOG_WARNING, "fleet: raised bruteForce (%s) "
			     "for the fleet: %lld failed sign-ins of user %s "
			     "from %s within %llds across the hosts; "
			     "reference %s", rr_level_name(v->level),
			     (long long)v->count, v->user, v->source,
			     (long long)v->window_s, v->ref);
		else
			flog(f, LOG_WARNING, "fleet: raised passwordSpray (%s) "
			     "for the fleet: %lld names failed from %s within "
			     "%llds across the hosts; reference %s",
			     rr_level_name(v->level), (long long)v->count,
			     v->source, (long long)v->window_s, v->ref);
	}
	if (lost)
		flog(f, LOG_INFO, "fleet: %zu attack%s this host crossed had "
		     "been raised by another host", lost, lost == 1 ? "" : "s");
	if (r && !*failed)
		flog(f, LOG_WARNING, "fleet: attacks cannot be raised (%s): %s",
		     strerror(-r), rr_etcd_last_error(e));
	*failed = r != 0;
}

static void *publish_main(void *arg)
{
	rr_fleet *f = arg;
	rr_etcd *e = NULL;
	rr_store *s = NULL;
	int64_t next_beat = 0;
	bool beat_failed = false, fails_failed = false, signins_failed = false;
	bool attacks_failed = false;
	uint64_t n;
	int r;

	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		struct timespec ts;
		bool online;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += PUBLISH_EVERY_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&f->wake, &f->lock, &ts);
		online = f->watching && !f->stop;
		pthread_mutex_unlock(&f->lock);
		if (online && !s) {
			if (rr_store_open(f->store_path, &s))
				s = NULL;
			else
				rr_store_keep_open(s);
		}
		if (!e && open_etcd(f, &e))
			e = NULL;
		if (e) {
			r = beat(f, e, &next_beat);
			if (r && !beat_failed)
				flog(f, LOG_WARNING, "fleet: this host's record "
				     "(hosts/%s) cannot be written: %s",
				     f->host, rr_etcd_last_error(e));
			else if (!r && beat_failed)
				flog(f, LOG_INFO, "fleet: this host's record "
				     "(hosts/%s) is written again", f->host);
			beat_failed = r != 0;
		}
		if (online && s && e && f->count_fails) {
			r = rr_fleet_fails_publish(&f->fails, e, s,
						   mono_ns() / 1000000000);
			if (r && !fails_failed)
				flog(f, LOG_WARNING, "fleet: failed sign-ins "
				     "cannot be published (%s): %s",
				     strerror(-r), rr_etcd_last_error(e));
			fails_failed = r != 0;
		}
		if (online && s && e && f->count_fails)
			raise_attacks(f, e, s, &attacks_failed);
		if (online && s && e) {
			r = rr_fleet_signins_publish(&f->signins, e, s,
						     (int64_t)time(NULL));
			if (r && !signins_failed)
				flog(f, LOG_WARNING, "fleet: risky sign-ins "
				     "cannot be published (%s): %s",
				     strerror(-r), rr_etcd_last_error(e));
			signins_failed = r != 0;
		}
		if (online && s && e && rr_store_queue_count(s, &n) == 0 &&
		    n) {
			r = drain_with(f, e, s, NULL);
			if (r && r != -ENOTCONN && r != -ETIMEDOUT)
				flog(f, LOG_ERR, "fleet: publishing queued "
				     "writes: %s", strerror(-r));
		}
		if (s && !rr_store_park(s)) {
			rr_store_close(s);
			s = NULL;
		}
		pthread_mutex_lock(&f->lock);
	}
	pthread_mutex_unlock(&f->lock);
	rr_store_close(s);
	rr_etcd_free(e);
	return NULL;
}

/* ---- the other hosts' failed and risky sign-ins ------------------------------ */

typedef struct {
	rr_follower *w;
	rr_store *s;
	int err;
} follow_ctx;

static void follow_bad(rr_follower *w, size_t bad)
{
	if (bad)
		flog(w->f, LOG_WARNING, "fleet: %zu malformed %s under %s "
		     "left out", bad, w->what, w->key);
}

static int on_follow(const rr_etcd_watch_msg *m, void *ud)
{
	follow_ctx *c = ud;
	size_t bad = 0;

	if (stopping(c->w->f))
		return 1;
	c->err = rr_fleet_follow_apply(c->w->d, c->w->f->prefix,
				       c->w->f->host, c->s, m, &bad);
	follow_bad(c->w, bad);
	return c->err;
}

static bool follow_cancelled(void *ud)
{
	return stopping(((follow_ctx *)ud)->w->f);
}

/*
 * The other hosts' records of one directory into the store: read them all,
 * then follow the directory; after any break, read them all again.
 */
static void *follow_main(void *arg)
{
	rr_follower *w = arg;
	rr_fleet *f = w->f;
	rr_etcd *e = NULL;
	rr_store *s = NULL;
	unsigned backoff = BACKOFF_MIN_MS;
	int64_t rev = 0;
	size_t bad = 0;
	int r;

	while (!stopping(f)) {
		if (!s && rr_store_open(f->store_path, &s) == 0)
			rr_store_keep_open(s);
		else if (!s)
			s = NULL;
		if (s && !e && open_etcd(f, &e))
			e = NULL;
		if (!s || !e)
			goto again;
		r = rr_fleet_follow_load(w->d, f->prefix, f->host, e, s, &rev,
					 &bad);
		if (r == 0) {
			follow_ctx c = {.w = w, .s = s};
			rr_etcd_watch_req req = {
			    .key = w->key,
			    .key_len = w->key_len,
			    .range_end = w->end,
			    .range_end_len = w->end_len,
			    .start_revision = rev + 1,
			    .idle_timeout_ms =
				(long)(f->max_staleness_s ? f->max_staleness_s
							  : 30) * 1000,
			    .cancelled = follow_cancelled,
			};

			follow_bad(w, bad);
			backoff = BACKOFF_MIN_MS;
			r = rr_etcd_watch(e, &req, on_follow, &c, NULL);
			if (r == 0)
				continue;
		}
		if (!stopping(f))
			flog(f, LOG_DEBUG, "fleet: following %s: %s", w->what,
			     rr_etcd_last_error(e));
again:
		back_off(&s, &backoff);
	}
	rr_store_close(s);
	rr_etcd_free(e);
	return NULL;
}

/* Follower w of d's directory (its key range). */
static int follower_init(rr_fleet *f, rr_follower *w, const rr_fleet_follow *d,
			 const char *what)
{
	int r = rr_fleet_key_dir(f->prefix, d->kind, w->key, sizeof(w->key));

	w->f = f;
	w->d = d;
	w->what = what;
	w->on = true;
	if (!r) {
		w->key_len = strlen(w->key);
		r = rr_etcd_prefix_end(w->key, w->key_len, w->end,
				       &w->end_len);
	}
	return r;
}

int rr_fleet_replicate(rr_fleet *f, const char *version)
{
	size_t i, k;
	int r;

	if (!f || !f->store_path || f->started || !version ||
	    !*version || strlen(version) > RR_FLEET_VERSION_MAX)
		return -EINVAL;
	snprintf(f->version, sizeof(f->version), "%s", version);
	r = pthread_create(&f->thread, NULL, replicate_main, f);
	if (r)
		return -r;
	r = pthread_create(&f->publisher, NULL, publish_main, f);
	if (r) {
		rr_fleet_stop(f);
		pthread_join(f->thread, NULL);
		return -r;
	}
	for (i = 0; !r && i < FOLLOWERS; i++)
		if (f->followers[i].on)
			r = pthread_create(&f->followers[i].thread, NULL,
					   follow_main, &f->followers[i]);
	if (r) {
		rr_fleet_stop(f);
		pthread_join(f->thread, NULL);
		pthread_join(f->publisher, NULL);
		for (k = 0; k + 1 < i; k++)
			if (f->followers[k].on)
				pthread_join(f->followers[k].thread, NULL);
		for (k = 0; k < FOLLOWERS; k++)
			f->followers[k].on = false;
		return -r;
	}
	f->started = true;
	return 0;
}

void rr_fleet_state_get(rr_fleet *f, rr_fleet_state *st)
{
	memset(st, 0, sizeof(*st));
	st->staleness_ms = fleet_staleness(f);
	pthread_mutex_lock(&f->lock);
	st->revision = f->revision;
	st->queued = f->queued;
	st->watching = f->watching;
	snprintf(st->last_error, sizeof(st->last_error), "%s",
		 f->last_error);
	pthread_mutex_unlock(&f->lock);
}

/* ---- audit ---------------------------------------------------------------- */

static int audit_cmp(const void *a, const void *b)
{
	const rr_fleet_audit *x = a, *y = b;

	return x->time < y->time ? 1 : x->time > y->time ? -1 : 0;
}

static int audit_decode(const char *text, size_t len, void *v)
{
	return rr_fleet_audit_decode(text, len, v);
}

int rr_fleet_audit_list(rr_fleet *f, size_t limit, rr_fleet_audit **rows,
			size_t *n)
{
	static const rr_fleet_dir d = {RR_FLEET_KEY_AUDIT, sizeof(**rows),
				       audit_decode, NULL, audit_cmp};
	void *out = NULL;
	size_t bad = 0;
	int r;

	if (!f || !rows || !n)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = rr_fleet_dir_read(f->e, f->prefix, &d, &out, n, &bad);
	pthread_mutex_unlock(&f->e_lock);
	*rows = out;
	if (r < 0)
		return r;
	if (bad)
		flog(f, LOG_WARNING, "fleet: skipping %zu malformed audit "
		     "record(s)", bad);
	if (!limit || limit > RR_STORE_MAX_ROWS)
		limit = RR_STORE_MAX_ROWS;
	if (*n > limit)
		*n = limit;
	return 0;
}

/* ---- risky sign-ins --------------------------------------------------------- */

int rr_fleet_signin_find(rr_fleet *f, const char *ref, rr_fleet_signin *out)
{
	int r;

	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = rr_fleet_signin_get(f->e, f->prefix, ref, out);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

int rr_fleet_signins(rr_fleet *f, rr_fleet_signin **rows, size_t *n,
		     size_t *malformed)
{
	int r;

	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = rr_fleet_signins_read(f->e, f->prefix, rows, n, malformed);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

int rr_fleet_attacks_list(rr_fleet *f, rr_fleet_attack **rows, size_t *n,
			  size_t *malformed)
{
	int r;

	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = rr_fleet_attacks_read(f->e, f->prefix, rows, n, malformed);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

/* ---- hosts ------------------------------------------------------------------ */

int rr_fleet_hosts(rr_fleet *f, rr_fleet_host_rec **rows, size_t *n,
		   size_t *malformed)
{
	int r;

	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->e_lock);
	r = rr_fleet_hosts_read(f->e, f->prefix, rows, n, malformed);
	pthread_mutex_unlock(&f->e_lock);
	return r;
}

/* ---- members ---------------------------------------------------------------- */

int rr_fleet_members(rr_fleet *f, rr_fleet_member **rows, size_t *n)
{
	rr_fleet_member *out;
	rr_etcd_member m;
	size_t i;
	int r;

	if (!f || !rows || !n)
		return -EINVAL;
	out = calloc(f->n_endpoints, sizeof(*out));
	if (!out)
		return -ENOMEM;
	pthread_mutex_lock(&f->e_lock);
	for (i = 0; i < f->n_endpoints; i++) {
		snprintf(out[i].endpoint, sizeof(out[i].endpoint), "%s",
			 f->endpoints[i]);
		r = rr_etcd_member_status(f->e, i, &m);
		if (r < 0) {
			snprintf(out[i].error, sizeof(out[i].error), "%s",
				 rr_etcd_last_error(f->e));
			continue;
		}
		out[i].reachable = true;
		out[i].leader = m.leader;
		out[i].has_leader = m.has_leader;
		out[i].revision = m.revision;
		snprintf(out[i].version, sizeof(out[i].version), "%s",
			 m.version);
	}
	pthread_mutex_unlock(&f->e_lock);
	*rows = out;
	*n = f->n_endpoints;
	return 0;
}
