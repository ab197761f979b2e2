/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the etcd client: the handle, and what rr_etcd.c (requests,
 * authentication, failover) shares with rr_etcd_watch.c (the stream).
 */
#ifndef RR_ETCD_HTTP_H
#define RR_ETCD_HTTP_H

#include "rr_etcd_int.h"

#include <curl/curl.h>
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

__attribute__((format(printf, 3, 4)))
int rr_etcd_fail(rr_etcd *e, int r, const char *fmt, ...);

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

#endif
