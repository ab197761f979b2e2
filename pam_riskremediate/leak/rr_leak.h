/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials: is a password in a breach corpus?  By k-anonymity
 * (only the first 5 hex characters of its SHA-1 leave the host, over
 * HTTPS, Pwned Passwords range format) and/or against a local sorted hash
 * file searched in place (binary search by lines, O(log n) reads).
 *
 * The password is never stored, sent or returned; its hash lives on the
 * stack and is zeroed before returning.  The range cache holds only the
 * public range responses.  This layer does not log: it returns 0 or a
 * negative errno, and rr_leak_strerror() puts that in admin words.
 */
#ifndef RR_LEAK_H
#define RR_LEAK_H

#include "rr_engine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_LEAK_HASH_LEN 40    /* SHA-1, uppercase hex */
#define RR_LEAK_PREFIX_LEN 5   /* what leaves the host */
#define RR_LEAK_SUFFIX_LEN (RR_LEAK_HASH_LEN - RR_LEAK_PREFIX_LEN)
#define RR_LEAK_LINE_MAX 128   /* longest hash-file or range line */
#define RR_LEAK_BODY_MAX (4u << 20) /* largest range response accepted */
#define RR_LEAK_CACHE_DIR "leak-cache" /* next to the store */

/*
 * Counters for tests and benchmarks (the only way to see that a lookup is
 * logarithmic without timing it).  Every function taking a
 * `rr_leak_stats *` adds to it when it is not NULL, on success and on
 * failure alike; zero it before a call to count that call alone.
 */
typedef struct {
	uint64_t file_reads;     /* pread() calls on the hash file */
	uint64_t file_compares;  /* hash-file lines compared with the hash */
	uint64_t range_requests; /* HTTP requests sent */
	uint64_t cache_hits;     /* range answered from the cache */
	uint64_t cache_writes;   /* range responses written to the cache */
	uint64_t cache_errors;   /* cache unusable or not writable (ignored) */
} rr_leak_stats;

/* Which check found the password (rr_leak_check). */
typedef enum {
	RR_LEAK_SRC_NONE = 0,
	RR_LEAK_SRC_HASH_FILE,
	RR_LEAK_SRC_RANGE_API
} rr_leak_source;

/* rr_leak_check flags */
#define RR_LEAK_NO_NETWORK (1u << 0) /* the hash file only, no range API */

/*
 * Check `password` with what `cfg` names: the hash file first (offline,
 * cheap), then the range API when the file did not list it, unless
 * `flags` has RR_LEAK_NO_NETWORK (the caller's process must not open a
 * connection: then neither libcurl nor the range cache is used).  *source is
 * RR_LEAK_SRC_NONE when the password was not found.  `cache_dir` (NULL: no
 * cache) holds range responses for cfg->cache_s seconds, judged at `now`.
 * When one source fails and no other found the password, returns that
 * error: -ETIMEDOUT, -EPROTO (malformed file or response), -EKEYREJECTED
 * (TLS), -ECONNREFUSED, -EREMOTEIO (HTTP status), -EFBIG, -EINVAL (no
 * source, bad URL), an rr_secfile_open() error for the file, ...
 */
int rr_leak_check(const rr_detection_cfg *cfg, const char *cache_dir,
		  const char *password, int64_t now, unsigned flags,
		  rr_leak_stats *stats, rr_leak_source *source);

/* SHA-1 of `len` bytes as 40 uppercase hex characters and a NUL. */
int rr_leak_sha1_hex(const void *data, size_t len,
		     char hex[RR_LEAK_HASH_LEN + 1]);

/*
 * Look `hash` (40 uppercase hex) up in a sorted file of lines
 * "HASH[:COUNT]" (LF or CRLF), opened by rr_secfile_open() rules, without
 * reading it whole: one pread() of at most 2 * RR_LEAK_LINE_MAX bytes per
 * probe, at most ceil(log2(size)) + 1 probes.  A line with count 0 is
 * padding and does not count as found.  -EPROTO when a probed line is
 * malformed (not 40 uppercase hex, bad count, too long).
 */
int rr_leak_file_lookup(const char *path, const char *hash,
			rr_leak_stats *stats, bool *found);

/*
 * Look `hash` up through the range API: GET cfg->range_url + the 5-char
 * prefix (https only; http only to a loopback host), no redirects, at most
 * cfg->timeout_ms, body at most RR_LEAK_BODY_MAX, CA bundle cfg->ca_file
 * when set, answered from `cache_dir` when a fresh copy is there.
 */
int rr_leak_range_lookup(const rr_detection_cfg *cfg, const char *cache_dir,
			 const char *hash, int64_t now, rr_leak_stats *stats,
			 bool *found);

/*
 * Parse a range body ("SUFFIX:COUNT" lines, 35 hex, CRLF or LF) and tell
 * whether `suffix` (35 uppercase hex) is in it with a count above 0.
 * Every line is checked and compared (no early exit).  -EPROTO when any
 * line is malformed or the body is empty.
 */
int rr_leak_range_parse(const char *body, size_t len, const char *suffix,
			bool *found);

/* 0 when `url` may be used as range_url: https://HOST.../ (or http:// to
 * 127.0.0.1, ::1 or localhost), ending in '/', no credentials, printable
 * ASCII; -EINVAL otherwise. */
int rr_leak_url_check(const char *url);

/* "timed out", "malformed data", "TLS certificate not trusted or TLS
 * handshake failed", ... or strerror() for other errnos. */
const char *rr_leak_strerror(int err);

#endif
