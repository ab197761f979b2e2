/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the etcd client: the response parsers (rr_etcd_json.c; no
 * network, so the fuzz target and the unit tests call them directly).
 * Each returns 0 or -EPROTO for anything the gateway would not send, or
 * -ENOMEM, and writes its outputs only on success.
 */
#ifndef RR_ETCD_INT_H
#define RR_ETCD_INT_H

#include "rr_etcd.h"

#define RR_ETCD_MAX_MESSAGE 200

typedef struct {
	size_t max_key, max_value, max_items;
} rr_etcd_limits;

/* An error the gateway answered instead of a result:
 * {"error":"...","message":"...","code":N}, or on a stream
 * {"error":{"grpc_code":N,"message":"..."}}.  message is printable ASCII. */
typedef struct {
	int code; /* gRPC status code */
	char message[RR_ETCD_MAX_MESSAGE + 1];
} rr_etcd_rpc_error;

/* 1 and *err when the body is an error object, 0 when it is not one. */
int rr_etcd_parse_error(const char *body, size_t len, rr_etcd_rpc_error *err);

/* A range response; `limit` (0: none) caps the number of items as well. */
int rr_etcd_parse_range(const char *body, size_t len,
			const rr_etcd_limits *lim, size_t limit,
			rr_etcd_range **out);
/* put: the header's revision. */
int rr_etcd_parse_put(const char *body, size_t len, int64_t *revision);
int rr_etcd_parse_delete(const char *body, size_t len, int64_t *deleted,
			 int64_t *revision);
int rr_etcd_parse_txn(const char *body, size_t len, bool *succeeded,
		      int64_t *revision);
int rr_etcd_parse_lease(const char *body, size_t len, int64_t *id,
			int64_t *ttl);
/* One lease keepalive answer for lease `id`: its TTL left (0: expired or
 * unknown). */
int rr_etcd_parse_keepalive(const char *body, size_t len, int64_t id,
			    int64_t *ttl);
/* authenticate: the token, printable ASCII without spaces, < cap bytes. */
int rr_etcd_parse_token(const char *body, size_t len, char *token,
			size_t cap);

/* One line of a watch stream. */
typedef struct {
	rr_etcd_watch_msg msg;
	rr_etcd_event *events; /* owned; msg.events points here */
	bool canceled;
	int64_t compact_revision;
	rr_etcd_rpc_error error; /* canceled: cancel_reason; or the stream's
				  * error object (then canceled too) */
} rr_etcd_watch_line;

int rr_etcd_parse_watch(const char *line, size_t len,
			const rr_etcd_limits *lim, rr_etcd_watch_line *out);
void rr_etcd_watch_line_clear(rr_etcd_watch_line *w);

/* base64 (standard alphabet, padded) of `n` bytes: a new string. */
char *rr_etcd_b64(const void *data, size_t n);

#endif
