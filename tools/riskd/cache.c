/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd's loader.  A policy is parsed once per version of its file: the
 * identity checked at every call is the inode, size, mtime and ctime
 * taken before the parse (a chmod or chown changes ctime, so the owner
 * and mode checks of rr_policy_load run again; owner and mode are
 * compared too).  A policy in use stays valid until its last call ends,
 * even when a newer one replaced it.
 * A policy rewritten in place is not parsed half-written: while a cached
 * version of it exists, a file that changed less than a second ago or
 * changes while it is read is not waited for (rr_policy_load_stable with
 * no wait): the cached version keeps serving, with a notice, and the next
 * call tries again.  Without one, the load waits for the file to settle
 * like the module's, then fails (the call is denied).
 * Store connections are kept idle between calls and reused only when
 * rr_store_still() says the file is still the one opened; rr_store_park()
 * readies them to wait.
 * A fleet policy (store.backend etcd) has one rr_fleet per store: it keeps
 * the store a replica of the tenant (a thread of its own) and each
 * connection to that store is linked to it (its writes are published to
 * etcd).  A policy whose fleet section changed gets a new one; the old
 * one stops and is freed with the cache.
 */
#include "riskd.h"
#include "rr_fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#define IDLE_STORES_MAX 16

typedef struct pol {
	struct pol *next;
	char *path;
	rr_policy *p;
	struct stat id;
	unsigned refs;
	bool stale; /* replaced: freed when its last call ends */
} pol;

typedef struct fleet {
	struct fleet *next;
	rr_fleet *f;
	bool retired; /* replaced by a changed policy */
} fleet;

typedef struct sconn {
	struct sconn *next;
	rr_store *s;
	char *path;
	rr_fleet *fleet;     /* linked to it, or NULL */
	rr_fleet_conn *link;
} sconn;

typedef struct {
	rr_loader l; /* first: the loader is the cache */
	pthread_mutex_t lock;
	pol *pols;
	sconn *idle, *busy;
	size_t n_idle;
	fleet *fleets;
} cache;

static bool same_file(const struct stat *a, const struct stat *b)
{
	/* owner and mode too: ctime alone could miss a chmod within one
	 * timestamp tick on a coarse clock */
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mode == b->st_mode &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void pol_free(pol *e)
{
	rr_policy_free(e->p);
	free(e->path);
	free(e);
}

/* Unlink and free the entries nobody uses any more (lock held). */
static void pols_sweep(cache *c)
{
	pol **pp = &c->pols;

	while (*pp) {
		pol *e = *pp;

		if (e->stale && e->refs == 0) {
			*pp = e->next;
			pol_free(e);
		} else {
			pp = &e->next;
		}
	}
}

/* The current version of `path` (lock held); NULL when none. */
static pol *pol_current(cache *c, const char *path)
{
	pol *e;

	for (e = c->pols; e; e = e->next)
		if (!e->stale && !strcmp(e->path, path))
			return e;
	return NULL;
}

/* The cached version of `path` when it matches st (or any cached version
 * when st is NULL), referenced; NULL when none.  *cached: one exists. */
static rr_policy *pol_take(cache *c, const char *path, const struct stat *st,
			   bool *cached)
{
	rr_policy *p = NULL;
	pol *e;

	pthread_mutex_lock(&c->lock);
	e = pol_current(c, path);
	if (cached)
		*cached = e != NULL;
	if (e && (!st || same_file(&e->id, st))) {
		e->refs++;
		p = e->p;
	}
	pthread_mutex_unlock(&c->lock);
	return p;
}

/* The file is being rewritten: keep serving the version parsed before. */
static rr_policy *pol_keep(cache *c, const char *path)
{
	rr_policy *p = pol_take(c, path, NULL, NULL);

	if (p)
		syslog(LOG_NOTICE, "policy %s changed and is not stable yet "
		       "(being written?); still using the version read "
		       "before", path);
	return p;
}

static int pol_load(const char *path, bool cached, rr_policy **out,
		    rr_policy_errors *errs)
{
	rr_secfile_stable o;

	rr_secfile_stable_init(&o);
	if (cached)
		o.wait_ns = 0; /* the cached version serves meanwhile */
	return rr_policy_load_stable(path, &o, out, errs);
}

static int policy_get(rr_loader *l, const char *path, rr_policy **out,
		      rr_policy_errors *errs)
{
	cache *c = (cache *)l;
	struct stat st;
	bool cached;
	pol *e, *fresh;
	int r;

	*out = NULL;
	if (lstat(path, &st) < 0)
		/* the parse reports why, with its usual messages */
		return rr_policy_load(path, out, errs);
	*out = pol_take(c, path, &st, &cached);
	if (*out)
		return 0;

	fresh = calloc(1, sizeof(*fresh));
	if (!fresh || !(fresh->path = strdup(path))) {
		free(fresh);
		return -ENOMEM;
	}
	r = pol_load(path, cached, &fresh->p, errs);
	if (r == -EAGAIN && (*out = pol_keep(c, path)))
		rr_policy_errors_clear(errs);
	if (r < 0) {
		free(fresh->path);
		free(fresh);
		return *out ? 0 : r;
	}
	fresh->id = st;
	fresh->refs = 1;
	*out = fresh->p;
	pthread_mutex_lock(&c->lock);
	/* another call may have parsed the same version meanwhile: both
	 * stay valid, the older is retired */
	for (e = c->pols; e; e = e->next)
		if (!e->stale && !strcmp(e->path, path))
			e->stale = true;
	fresh->next = c->pols;
	c->pols = fresh;
	pols_sweep(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void policy_put(rr_loader *l, rr_policy *p)
{
	cache *c = (cache *)l;
	pol *e;

	pthread_mutex_lock(&c->lock);
	for (e = c->pols; e; e = e->next)
		if (e->p == p && e->refs > 0) {
			e->refs--;
			break;
		}
	pols_sweep(c);
	pthread_mutex_unlock(&c->lock);
}

static sconn *unlink_conn(sconn **list, const char *path, const rr_store *s)
{
	sconn **pp;

	for (pp = list; *pp; pp = &(*pp)->next) {
		sconn *e = *pp;

		if ((path && !strcmp(e->path, path)) || (s && e->s == s)) {
			*pp = e->next;
			e->next = NULL;
			return e;
		}
	}
	return NULL;
}

static void conn_free(sconn *e)
{
	rr_fleet_unlink(e->link);
	rr_store_close(e->s);
	free(e->path);
	free(e);
}

static void fleet_log(int priority, const char *msg)
{
	syslog(priority, "%s", msg);
}

/* The fleet of policy p and store path, started when new (lock held). */
static rr_fleet *fleet_for(cache *c, const rr_policy *p, const char *path,
			   int *err)
{
	fleet *e;
	rr_fleet *f = NULL;
	int r;

	*err = 0;
	for (e = c->fleets; e; e = e->next)
		if (!e->retired && rr_fleet_same(e->f, p, path))
			return e->f;
	e = calloc(1, sizeof(*e));
	r = e ? rr_fleet_new(p, path, fleet_log, &f) : -ENOMEM;
	if (!r)
		r = rr_fleet_replicate(f, RR_VERSION);
	if (r) {
		rr_fleet_free(f);
		free(e);
		*err = r;
		return NULL;
	}
	/* the store's previous fleet (its policy changed) stops */
	for (fleet *o = c->fleets; o; o = o->next)
		if (!o->retired && !strcmp(path, rr_fleet_store(o->f))) {
			o->retired = true;
			rr_fleet_stop(o->f);
		}
	e->f = f;
	e->next = c->fleets;
	c->fleets = e;
	syslog(LOG_INFO, "fleet %s (host %s): keeping %s a replica",
	       rr_fleet_prefix(f), rr_fleet_host(f), path);
	return f;
}

/* Link (or re-link) a connection to the fleet of p; unlink it for a
 * SQLite policy. */
static int conn_fleet(cache *c, sconn *e, const rr_policy *p)
{
	rr_fleet *f = NULL;
	int r = 0;

	if (p->backend == RR_BACKEND_ETCD) {
		pthread_mutex_lock(&c->lock);
		f = fleet_for(c, p, e->path, &r);
		pthread_mutex_unlock(&c->lock);
		if (!f)
			return r;
	}
	if (e->fleet == f)
		return 0;
	rr_fleet_unlink(e->link);
	e->link = NULL;
	e->fleet = NULL;
	if (!f)
		return 0;
	r = rr_fleet_link(f, e->s, &e->link);
	if (!r)
		e->fleet = f;
	return r;
}

int rd_cache_preload(rr_loader *l, const char *policy_path)
{
	cache *c = (cache *)l;
	rr_policy_errors errs = {0};
	rr_policy *p = NULL;
	const char *path;
	rr_fleet *f;
	int r;

	r = policy_get(l, policy_path, &p, &errs);
	rr_policy_errors_clear(&errs);
	if (r < 0)
		return r;
	if (p->backend == RR_BACKEND_ETCD) {
		path = p->store_path ? p->store_path : RR_STORE_DEFAULT_PATH;
		pthread_mutex_lock(&c->lock);
		f = fleet_for(c, p, path, &r);
		pthread_mutex_unlock(&c->lock);
		(void)f;
	}
	policy_put(l, p);
	return r;
}

static int store_get(rr_loader *l, const rr_policy *p, const char *path,
		     rr_store **out)
{
	cache *c = (cache *)l;
	sconn *e;
	int r;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	e = unlink_conn(&c->idle, path, NULL);
	if (e)
		c->n_idle--;
	pthread_mutex_unlock(&c->lock);
	if (e && !rr_store_still(e->s, path)) {
		conn_free(e);
		e = NULL;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->path = strdup(path))) {
			free(e);
			return -ENOMEM;
		}
		r = rr_store_open(path, &e->s);
		if (r < 0) {
			free(e->path);
			free(e);
			return r;
		}
		rr_store_keep_open(e->s);
	}
	r = conn_fleet(c, e, p);
	if (r < 0) {
		syslog(LOG_ERR, "fleet of %s: %s", path, strerror(-r));
		conn_free(e);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	e->next = c->busy;
	c->busy = e;
	pthread_mutex_unlock(&c->lock);
	*out = e->s;
	return 0;
}

static void store_put(rr_loader *l, rr_store *s)
{
	cache *c = (cache *)l;
	/* this call's own connection: readied before taking the lock */
	bool parked = rr_store_park(s);
	sconn *e;

	pthread_mutex_lock(&c->lock);
	e = unlink_conn(&c->busy, NULL, s);
	if (e && parked && c->n_idle < IDLE_STORES_MAX) {
		e->next = c->idle;
		c->idle = e;
		c->n_idle++;
		e = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (e)
		conn_free(e);
}

rr_loader *rd_cache_new(void)
{
	cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->l.policy_get = policy_get;
	c->l.policy_put = policy_put;
	c->l.store_get = store_get;
	c->l.store_put = store_put;
	pthread_mutex_init(&c->lock, NULL);
	return &c->l;
}

/* After every call ended. */
void rd_cache_free(rr_loader *l)
{
	cache *c = (cache *)l;
	sconn *e;
	pol *p;
	fleet *f;

	if (!c)
		return;
	while ((e = c->idle)) {
		c->idle = e->next;
		conn_free(e);
	}
	while ((e = c->busy)) {
		c->busy = e->next;
		conn_free(e);
	}
	while ((p = c->pols)) {
		c->pols = p->next;
		pol_free(p);
	}
	while ((f = c->fleets)) {
		c->fleets = f->next;
		rr_fleet_free(f->f);
		free(f);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}
