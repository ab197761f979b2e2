/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small streaming JSON writer: objects, arrays, strings (escaped; valid
 * UTF-8 passes through, invalid bytes become U+FFFD), integers, booleans,
 * null.  Pretty-printed with two-space indentation, or compact (one line:
 * JSON Lines, --format graph).
 */
#ifndef RISKCTL_JSON_H
#define RISKCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	unsigned depth;
	bool first[JSON_MAX_DEPTH]; /* no member written yet at this depth */
	bool after_key;             /* the next value follows "key": */
	bool error;                 /* nesting misuse */
	bool compact;               /* no newlines or indentation */
};

void json_init(struct json *j, FILE *f);
/* The same, writing the document on one line (json_finish ends it). */
void json_init_compact(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s); /* NULL writes null */
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);

/* "key": value shorthands. */
void json_kstr(struct json *j, const char *key, const char *s);
void json_kint(struct json *j, const char *key, int64_t v);
void json_kbool(struct json *j, const char *key, bool v);
/* ISO 8601 UTC time, or null for 0. */
void json_ktime(struct json *j, const char *key, int64_t t);

/* Terminate the document; 0, or -EIO on misuse or a write error. */
int json_finish(struct json *j);

/* Escape `s` (len bytes) as a JSON string body to f.  Exposed for tests. */
void json_escape(FILE *f, const char *s, size_t len);

#endif
