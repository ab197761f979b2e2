/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal to risk_store/etcd: strict jansson helpers (rr_fleet_json.c),
 * of the fleet model and of the etcd client's answers (rr_etcd_json.c). */
#ifndef RR_FLEET_INT_H
#define RR_FLEET_INT_H

#include "rr_fleet_model.h"

#include <jansson.h>

/* A JSON object of 1..cap bytes, duplicate keys refused: 0 or -EPROTO. */
int rr_fj_load(const char *text, size_t len, size_t cap, json_t **out);
/* Every member of o is one of `fields` (NULL-terminated). */
int rr_fj_fields(const json_t *o, const char *const *fields);
int rr_fj_version(const json_t *o);
int rr_fj_int(const json_t *o, const char *name, int64_t lo, int64_t hi,
	      int64_t *out);
int rr_fj_time(const json_t *o, const char *name, int64_t *out);
int rr_fj_bool(const json_t *o, const char *name, bool *out);
/* len bytes (no NUL among them, at most max), none a control character;
 * ascii: and none over 0x7f. */
bool rr_fj_printable(const char *s, size_t len, size_t max);
bool rr_fj_ascii(const char *s, size_t len, size_t max);
/* A string of min..max printable bytes into dst (max + 1 bytes). */
int rr_fj_str(const json_t *o, const char *name, size_t min, size_t max,
	      char *dst);
int rr_fj_enum(const json_t *o, const char *name,
	       int (*parse)(const char *s, int *out), int *out);
/* Strict base64 of 1..max bytes into dst (max bytes). */
int rr_fj_b64(const json_t *o, const char *name, size_t max, uint8_t *dst,
	      size_t *out_len);
void rr_fj_wipe(json_t *o, const char *name);
int rr_fj_set(json_t *o, const char *name, json_t *v);
int rr_fj_set_b64(json_t *o, const char *name, const uint8_t *bin,
		  size_t len);
/* Compact text of at most cap bytes (else -EINVAL). */
int rr_fj_dump(json_t *o, size_t cap, char **out, size_t *len);

#endif
