/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the etcd client: the handle, and what rr_etcd.c (requests,
 * authentication, failover) shares with rr_etcd_watch.c (the stream).
 */
#ifndef RR_ETCD_HTTP_H
#define RR_ETCD_HTTP_H

#include "rr_etcd_int.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>

#define RR_ETCD_MAX_BODY ((size_t)64 << 20)

struct rr_etcd {
	char urls[RR_ETCD_MAX_ENDPOINTS][RR_ETCD_MAX_URL + 1];
	size_t n_urls, cur;
	char *ca, *cert, *key, *user;
	char *password; /* zeroed on free */
	size_t password_len;
	char token[RR_ETCD_MAX_TOKEN]; /* "" when none; zeroed on free */
	long connect_ms, timeout_ms;
	rr_etcd_limits lim;
	CURL *curl; /* requests; a watch has its own */
	char err[256];
};

/* Internal results: the request was not sent (try another endpoint), the
 * token is not (or no longer) valid (authenticate again). */
#define RR_ETCD_E_NEXT (-ENOTCONN)
#define RR_ETCD_E_TOKEN (-EKEYEXPIRED)

/* Records the message for rr_etcd_last_error(). */
__attribute__((format(printf, 2, 3)))
void rr_etcd_set_error(rr_etcd *e, const char *fmt, ...);
/* rr_etcd_set_error(), then r: a macro, so that the static analyzers
 * (scan-build does not follow a variadic call) see that an error path
 * returns r, never 0.  r is evaluated after the message is recorded. */
#define rr_etcd_fail(e, r, ...) (rr_etcd_set_error((e), __VA_ARGS__), (r))

/* A CURL handle with the handle's TLS, proxy and protocol settings. */
int rr_etcd_setup_curl(rr_etcd *e, CURL *c);
/* The request headers (Content-Type, Authorization when there is a token,
 * with Grpc-Metadata-Hasleader when `hasleader`); free with
 * rr_etcd_headers_free (zeroes the token's copy). */
struct curl_slist *rr_etcd_headers(const rr_etcd *e, bool hasleader);
void rr_etcd_headers_free(struct curl_slist *h);
/* The errno of an etcd error (RR_ETCD_E_TOKEN for a bad token). */
int rr_etcd_rpc_errno(const rr_etcd_rpc_error *err, bool idempotent);
/* Every endpoint failed with RR_ETCD_E_NEXT: -EAGAIN when one of them
 * had no leader, else -ECONNREFUSED. */
int rr_etcd_all_failed(rr_etcd *e, bool no_leader);
/* Authenticate (again): a new token. */
int rr_etcd_authenticate(rr_etcd *e);
/* Whether a failed transfer sent nothing (safe to try another endpoint). */
bool rr_etcd_nothing_sent(CURL *c, CURLcode cc);

/* A response body (zeroed when wiped: it may hold a token or values). */
typedef struct {
	char *data;
	size_t len, cap;
} rr_buf;

void rr_etcd_buf_wipe(rr_buf *b);
/* POST `req` to `path` with authentication (a token fetched when there
 * is none, and once more when etcd refuses it) and failover; 0 with the
 * answer in *b, or a negative errno with the last error set.  A request
 * that is not `idempotent` is not sent again once it may have been
 * applied. */
int rr_etcd_post(rr_etcd *e, const char *path, const char *req,
		 bool idempotent, rr_buf *b);
/* rr_etcd_post of a jansson object (consumed; NULL: -ENOMEM). */
int rr_etcd_post_json(rr_etcd *e, const char *path, json_t *req,
		      bool idempotent, rr_buf *b);
/* JSON strings: base64 of bytes (NULL when over `max`), an int64. */
json_t *rr_etcd_json_b64(const void *p, size_t n, size_t max);
json_t *rr_etcd_json_i64(int64_t v);

#endif
