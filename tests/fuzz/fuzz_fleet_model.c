/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a value under the fleet's etcd prefix as whoever can
 * write to that etcd tenant (or a newer version of this code) could have
 * stored it.  Every decoder either refuses it (-EPROTO, output untouched)
 * or returns a record that encodes again and decodes to the same record.
 * The input is also tried as an encoded user name (strict decoding: what
 * decodes encodes back to exactly the input).
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rr_fleet_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*decode_fn)(const char *, size_t, void *);
typedef int (*encode_fn)(const void *, char **, size_t *);

static void one(const char *s, size_t n, size_t size, decode_fn dec,
		encode_fn enc)
{
	unsigned char *a = malloc(size), *b = malloc(size), *was = malloc(size);
	char *text = NULL;
	size_t len = 0;
	int r;

	assert(a && b && was);
	memset(a, 0x5a, size);
	memcpy(was, a, size);
	r = dec(s, n, a);
	assert(r == 0 || r == -EPROTO);
	if (r < 0) {
		assert(!memcmp(a, was, size));
		goto out;
	}
	r = enc(a, &text, &len);
	assert(r == 0 && len <= RR_FLEET_MAX_JSON_FAMILIAR);
	assert(strlen(text) == len);
	memset(b, 0xa5, size);
	r = dec(text, len, b);
	assert(r == 0 && !memcmp(a, b, size));
	rr_fleet_text_free(text);
out:
	free(a);
	free(b);
	free(was);
}

#define ONE(kind, type)                                                      \
	one(s, size, sizeof(type),                                           \
	    (decode_fn)(void (*)(void))rr_fleet_##kind##_decode,             \
	    (encode_fn)(void (*)(void))rr_fleet_##kind##_encode)

static void user(const char *s, size_t n)
{
	char name[RR_USER_MAX + 1], enc[RR_FLEET_USER_ENC_MAX + 1];

	if (rr_fleet_user_decode(s, n, name) < 0)
		return;
	assert(strlen(name) > 0 && strlen(name) <= RR_USER_MAX);
	assert(rr_fleet_user_encode(name, enc, sizeof(enc)) == 0);
	assert(strlen(enc) == n && !memcmp(enc, s, n));
}

/* A key under the prefix parses only if its builder makes exactly it. */
static void key(const char *s, size_t n)
{
	typedef int (*build_fn)(const char *, const char *, char *, size_t);
	static const build_fn build[] = {
	    rr_fleet_key_risk,     rr_fleet_key_mfa,   rr_fleet_key_tap,
	    rr_fleet_key_pwchange, rr_fleet_key_familiar,
	    rr_fleet_key_audit,    rr_fleet_key_signin, rr_fleet_key_host,
	    rr_fleet_key_fails,    rr_fleet_key_attack,
	    rr_fleet_key_attack_mark,
	};
	static const char prefix[] = "/p/";
	char buf[4096], again[4096];
	rr_fleet_key k;
	int r;

	if (n + sizeof(prefix) > sizeof(buf))
		return;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	memcpy(buf + sizeof(prefix) - 1, s, n);
	r = rr_fleet_key_parse(prefix, buf, n + sizeof(prefix) - 1, &k);
	assert(r == 0 || r == -EPROTO);
	if (r < 0)
		return;
	assert((size_t)k.kind < sizeof(build) / sizeof(build[0]));
	assert(build[k.kind](prefix, k.name, again, sizeof(again)) == 0);
	assert(strlen(again) == n + sizeof(prefix) - 1 &&
	       !memcmp(again, buf, n + sizeof(prefix) - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	ONE(risk, rr_fleet_risk);
	ONE(mfa, rr_fleet_mfa);
	ONE(tap, rr_fleet_tap);
	ONE(pwchange, rr_fleet_pwchange);
	ONE(familiar, rr_fleet_familiar);
	ONE(audit, rr_fleet_audit);
	ONE(host, rr_fleet_host_rec);
	ONE(fails, rr_fleet_fails);
	ONE(signin, rr_fleet_signin);
	ONE(attack, rr_fleet_attack);
	user(s, size);
	key(s, size);
	return 0;
}
