/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A client of etcd v3's JSON gateway (etcd 3.4, /v3/...) over libcurl: the
 * foundation of the fleet backend (DESIGN.md 7.1).  Returns 0 or a negative
 * errno; does not log.  rr_etcd_last_error() says what went wrong, never
 * with a password or token in it.
 *
 * Errors: -EACCES permission denied or authentication refused; -ESTALE the
 * revision asked for was compacted; -ECONNREFUSED no endpoint could be
 * reached; -ETIMEDOUT a request timed out (for a txn its outcome is then
 * unknown: it may have been applied); -EPROTO a response that is not what
 * the gateway sends (malformed JSON, wrong types, over a size cap);
 * -EAGAIN the cluster has no leader; -EINVAL bad arguments or a request
 * etcd refused; -ENOMEM.
 *
 * Every value read from etcd is checked: keys at most cfg.max_key bytes,
 * values at most cfg.max_value, at most cfg.max_items items (and never
 * more than asked for), int64 fields decimal strings, revisions >= 0.
 *
 * One rr_etcd is used by one thread at a time.  The password (read from a
 * root-owned file, rr_secfile rules) and the auth token are zeroed when the
 * handle is freed.
 */
#ifndef RR_ETCD_H
#define RR_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_ETCD_MAX_ENDPOINTS 16
#define RR_ETCD_MAX_URL 256
#define RR_ETCD_MAX_PASSWORD 1024
#define RR_ETCD_MAX_TOKEN 1024
#define RR_ETCD_DEFAULT_MAX_KEY 4096
#define RR_ETCD_DEFAULT_MAX_VALUE ((size_t)1 << 20)
#define RR_ETCD_DEFAULT_MAX_ITEMS 100000
#define RR_ETCD_MAX_WATCH_LINE ((size_t)8 << 20)

typedef struct rr_etcd rr_etcd;

typedef struct {
	const char *const *endpoints; /* "https://host:port" (http only when
				       * every endpoint is a loopback address) */
	size_t n_endpoints;
	const char *ca;            /* CA file, NULL: the system's */
	const char *cert, *key;    /* client certificate and key, or NULL */
	const char *user;          /* etcd user, NULL: no authentication */
	const char *password_file; /* the user's password (root-owned file) */
	long connect_timeout_ms;   /* 0: 2000 */
	long timeout_ms;           /* a whole request; 0: 5000 */
	size_t max_key, max_value, max_items; /* 0: the defaults above */
} rr_etcd_cfg;

typedef struct {
	unsigned char *key;   /* NUL-terminated as well */
	size_t key_len;
	unsigned char *value; /* NUL-terminated as well */
	size_t value_len;
	int64_t create_revision, mod_revision, version, lease;
} rr_etcd_kv;

typedef struct {
	rr_etcd_kv *kvs;
	size_t n;
	int64_t revision; /* the store's revision the range was read at */
	bool more;        /* this page stopped at a limit */
} rr_etcd_range;

int rr_etcd_open(const rr_etcd_cfg *cfg, rr_etcd **out);
void rr_etcd_free(rr_etcd *e);
const char *rr_etcd_last_error(const rr_etcd *e);
/* The endpoint the last request went to (index into cfg.endpoints). */
size_t rr_etcd_endpoint(const rr_etcd *e);

void rr_etcd_range_free(rr_etcd_range *r);

/* One key: *out has n == 0 when it is absent. */
int rr_etcd_get(rr_etcd *e, const void *key, size_t key_len,
		rr_etcd_range **out);
/* Every key under `prefix`, read in pages of `page` items (0: 1000) at one
 * revision (the first page's), in key order.  More than max_items: -E2BIG. */
int rr_etcd_get_prefix(rr_etcd *e, const void *prefix, size_t prefix_len,
		       size_t page, rr_etcd_range **out);
/* *revision (may be NULL): the revision of the change. */
int rr_etcd_put(rr_etcd *e, const void *key, size_t key_len,
		const void *value, size_t value_len, int64_t lease,
		int64_t *revision);
int rr_etcd_delete(rr_etcd *e, const void *key, size_t key_len,
		   int64_t *deleted, int64_t *revision);

/* A transaction: if every compare holds (the key's mod_revision equals
 * mod_revision; 0 means the key is absent), apply every op. */
typedef struct {
	const void *key;
	size_t key_len;
	int64_t mod_revision;
} rr_etcd_cmp;

typedef enum { RR_ETCD_OP_PUT, RR_ETCD_OP_DELETE } rr_etcd_op_type;

typedef struct {
	rr_etcd_op_type type;
	const void *key;
	size_t key_len;
	const void *value; /* PUT */
	size_t value_len;
	int64_t lease;     /* PUT, 0: none */
} rr_etcd_op;

#define RR_ETCD_MAX_TXN_OPS 128

/* 0 with *succeeded false when a compare failed.  Not retried on another
 * endpoint once sent: -ETIMEDOUT means the outcome is unknown. */
int rr_etcd_txn(rr_etcd *e, const rr_etcd_cmp *cmp, size_t n_cmp,
		const rr_etcd_op *ops, size_t n_ops, bool *succeeded,
		int64_t *revision);
/* Compare-and-swap of one key: put `value` if its mod_revision is still
 * `mod_revision` (0: create only if absent). */
int rr_etcd_cas(rr_etcd *e, const void *key, size_t key_len,
		int64_t mod_revision, const void *value, size_t value_len,
		bool *succeeded, int64_t *revision);

int rr_etcd_lease_grant(rr_etcd *e, int64_t ttl, int64_t *id,
			int64_t *granted_ttl);
/* Renew lease `id` once: *ttl its TTL again, or 0 when it expired or
 * never existed (grant another). */
int rr_etcd_lease_keepalive(rr_etcd *e, int64_t id, int64_t *ttl);

/* One member's status (POST /v3/maintenance/status to endpoint idx only,
 * no failover). */
typedef struct {
	int64_t revision;
	bool has_leader; /* it knows a leader */
	bool leader;     /* it is the leader */
	char version[32];
} rr_etcd_member;

int rr_etcd_member_status(rr_etcd *e, size_t idx, rr_etcd_member *out);

/* ---- watch ------------------------------------------------------------ */

typedef enum {
	RR_ETCD_WATCH_CREATED,  /* the watch is in place */
	RR_ETCD_WATCH_EVENTS,   /* events, in revision order */
	RR_ETCD_WATCH_PROGRESS, /* nothing new up to revision */
} rr_etcd_watch_kind;

typedef enum { RR_ETCD_EV_PUT, RR_ETCD_EV_DELETE } rr_etcd_ev_type;

typedef struct {
	rr_etcd_ev_type type;
	rr_etcd_kv kv; /* DELETE: key and mod_revision only */
} rr_etcd_event;

typedef struct {
	rr_etcd_watch_kind kind;
	int64_t revision; /* the header's */
	const rr_etcd_event *events;
	size_t n_events;
} rr_etcd_watch_msg;

/* Return 0 to go on, > 0 to stop the watch (rr_etcd_watch returns 0),
 * < 0 to stop it with that error. */
typedef int (*rr_etcd_watch_cb)(const rr_etcd_watch_msg *m, void *ud);

typedef struct {
	const void *key;
	size_t key_len;
	const void *range_end; /* NULL: the key alone; see rr_etcd_prefix_end */
	size_t range_end_len;
	int64_t start_revision; /* 0: from now */
	long idle_timeout_ms;   /* nothing at all for this long: -ETIMEDOUT;
				 * 0: none (progress notifications keep a
				 * healthy stream busy) */
	/* NULL, or asked about once a second while the stream waits: true
	 * ends the watch at once (rr_etcd_watch returns 0) */
	bool (*cancelled)(void *ud);
} rr_etcd_watch_req;

/* Follow changes (with progress notifications, and only from a member
 * with a leader) until the callback stops it.  A start_revision already
 * compacted: -ESTALE, *compact_revision (may be NULL) set to the oldest
 * revision still kept.  The stream ended or broke after it was set up:
 * -ECONNRESET (resume from the last revision seen + 1); no member with a
 * leader: -EAGAIN; silence for idle_timeout_ms: -ETIMEDOUT.  Blocks; uses
 * a connection of its own. */
int rr_etcd_watch(rr_etcd *e, const rr_etcd_watch_req *req,
		  rr_etcd_watch_cb cb, void *ud, int64_t *compact_revision);

/* The range_end of a prefix: the prefix with trailing 0xff bytes dropped
 * and its last byte incremented.  `end` has room for prefix_len bytes.
 * A prefix of only 0xff bytes (no such end) gives -EINVAL. */
int rr_etcd_prefix_end(const void *prefix, size_t prefix_len,
		       unsigned char *end, size_t *end_len);

#endif
