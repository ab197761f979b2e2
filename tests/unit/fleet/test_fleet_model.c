/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the fleet model (risk_store/etcd/rr_fleet_model.h): key
 * layout, user-name encoding, and the strict JSON codecs of each value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rr_fleet_model.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define P "/riskremediate/"
#define T0 ((int64_t)1700000000)

/* ---- user names ---------------------------------------------------------- */

static const struct {
	const char *user, *enc;
} names[] = {
	{ "alice", "alice" },
	{ "a.b_c-D9", "a.b_c-D9" },
	{ "50%", "50%25" },
	{ "%41", "%2541" },
	{ "a/b", "a%2Fb" },
	{ "..", ".." },
	{ "../risk", "..%2Frisk" },
	{ "a b", "a%20b" },
	{ "EXAMPLE\\bob", "EXAMPLE%5Cbob" },
	{ "bob@example.org", "bob%40example.org" },
	{ "j\xc3\xbcrgen", "j%C3%BCrgen" },
	{ "\x7f\xff", "%7F%FF" },
	{ "tab\there", "tab%09here" },
};

static void test_user_encode(void **state)
{
	char enc[RR_FLEET_USER_ENC_MAX + 1], user[RR_USER_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(rr_fleet_user_encode(names[i].user, enc,
						      sizeof(enc)), 0);
		assert_string_equal(enc, names[i].enc);
		assert_int_equal(rr_fleet_user_decode(enc, strlen(enc), user),
				 0);
		assert_string_equal(user, names[i].user);
	}
}

static void test_user_max(void **state)
{
	char name[RR_USER_MAX + 2], enc[RR_FLEET_USER_ENC_MAX + 1];
	char user[RR_USER_MAX + 1];

	(void)state;
	memset(name, 'a', RR_USER_MAX);
	name[RR_USER_MAX] = '\0';
	assert_int_equal(rr_fleet_user_encode(name, enc, sizeof(enc)), 0);
	assert_int_equal(strlen(enc), RR_USER_MAX);
	/* every byte encoded: the longest U there is */
	memset(name, '/', RR_USER_MAX);
	assert_int_equal(rr_fleet_user_encode(name, enc, sizeof(enc)), 0);
	assert_int_equal(strlen(enc), RR_FLEET_USER_ENC_MAX);
	assert_int_equal(rr_fleet_user_decode(enc, strlen(enc), user), 0);
	assert_string_equal(user, name);
	assert_int_equal(rr_fleet_user_encode(name, enc, sizeof(enc) - 1),
			 -ENAMETOOLONG);
	name[RR_USER_MAX] = 'a';
	name[RR_USER_MAX + 1] = '\0';
	assert_int_equal(rr_fleet_user_encode(name, enc, sizeof(enc)),
			 -EINVAL);
	assert_int_equal(rr_fleet_user_encode("", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(rr_fleet_user_encode(NULL, enc, sizeof(enc)),
			 -EINVAL);
	assert_int_equal(rr_fleet_user_encode("ab", enc, 2), -ENAMETOOLONG);
	assert_int_equal(rr_fleet_user_encode("a/", enc, 3), -ENAMETOOLONG);
	assert_int_equal(rr_fleet_user_encode("a/", enc, 5), 0);
	/* a decoded name over RR_USER_MAX */
	memset(enc, 'a', RR_USER_MAX + 1);
	assert_int_equal(rr_fleet_user_decode(enc, RR_USER_MAX + 1, user),
			 -EINVAL);
}

static void test_user_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"",      "%",     "%2",   "a%",    "%2f",  "%c3%bc", "%G0",
		"%0G",   "%41",   "%2E",  "%5F",   "%2D",  "%30",    "%00",
		"a/b",   "a b",   "a%2",  "\xc3\xbc", "%%41", "a\x01",
	};
	char user[RR_USER_MAX + 1] = "untouched";
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rr_fleet_user_decode(bad[i], strlen(bad[i]),
						      user), -EINVAL);
		assert_string_equal(user, "untouched");
	}
	/* exactly len bytes: a NUL inside is not the end */
	assert_int_equal(rr_fleet_user_decode("ab\0c", 4, user), -EINVAL);
	assert_int_equal(rr_fleet_user_decode("abc", 2, user), 0);
	assert_string_equal(user, "ab");
}

/* ---- keys ---------------------------------------------------------------- */

typedef int (*user_key_fn)(const char *, const char *, char *, size_t);

static void test_keys(void **state)
{
	static const struct {
		user_key_fn fn;
		const char *key;
	} kinds[] = {
		{ rr_fleet_key_risk, P "users/a%2Fb/risk" },
		{ rr_fleet_key_mfa, P "users/a%2Fb/mfa" },
		{ rr_fleet_key_tap, P "users/a%2Fb/tap" },
		{ rr_fleet_key_pwchange, P "users/a%2Fb/pwchange" },
		{ rr_fleet_key_familiar, P "users/a%2Fb/familiar" },
	};
	char buf[1024];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		assert_int_equal(kinds[i].fn(P, "a/b", buf, sizeof(buf)), 0);
		assert_string_equal(buf, kinds[i].key);
		n = strlen(kinds[i].key);
		assert_int_equal(kinds[i].fn(P, "a/b", buf, n), -ENAMETOOLONG);
		assert_int_equal(kinds[i].fn(P, "a/b", buf, n + 1), 0);
		assert_int_equal(kinds[i].fn("", "a", buf, sizeof(buf)),
				 -EINVAL);
		assert_int_equal(kinds[i].fn("/rr", "a", buf, sizeof(buf)),
				 -EINVAL);
		assert_int_equal(kinds[i].fn(NULL, "a", buf, sizeof(buf)),
				 -EINVAL);
		assert_int_equal(kinds[i].fn(P, "", buf, sizeof(buf)),
				 -EINVAL);
		assert_int_equal(kinds[i].fn(P, "a", NULL, 0), -EINVAL);
	}
	assert_int_equal(rr_fleet_key_audit(P, "1700000000-42", buf,
					    sizeof(buf)), 0);
	assert_string_equal(buf, P "audit/1700000000-42");
	assert_int_equal(rr_fleet_key_signin(P, "7F3A-91C2", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, P "signins/7F3A-91C2");
	assert_int_equal(rr_fleet_key_host(P, "web01.example.org", buf,
					   sizeof(buf)), 0);
	assert_string_equal(buf, P "hosts/web01.example.org");
	assert_int_equal(rr_fleet_key_dir(P, RR_FLEET_KEY_HOST, buf,
					  sizeof(buf)), 0);
	assert_string_equal(buf, P "hosts/");
	assert_int_equal(rr_fleet_key_dir(P, RR_FLEET_KEY_FAILS, buf,
					  sizeof(buf)), 0);
	assert_string_equal(buf, P "fails/");
	assert_int_equal(rr_fleet_key_dir(P, RR_FLEET_KEY_AUDIT, buf,
					  sizeof(buf)), 0);
	assert_string_equal(buf, P "audit/");
	assert_int_equal(rr_fleet_key_dir(P, RR_FLEET_KEY_RISK, buf,
					  sizeof(buf)), -EINVAL);
	assert_int_equal(rr_fleet_key_users(P, buf, sizeof(buf)), 0);
	assert_string_equal(buf, P "users/");
	assert_int_equal(rr_fleet_key_users(P, buf, strlen(P "users/")),
			 -ENAMETOOLONG);
	assert_int_equal(rr_fleet_key_users("x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(rr_fleet_key_host(P, "web01", buf, 5), -ENAMETOOLONG);
}

static void test_key_segments(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "a b",
					   "a%2F", "\xc3\xbc", "x\n" };
	char buf[512], seg[RR_FLEET_SEGMENT_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(rr_fleet_key_audit(P, bad[i], buf,
						    sizeof(buf)), -EINVAL);
		assert_int_equal(rr_fleet_key_signin(P, bad[i], buf,
						     sizeof(buf)), -EINVAL);
		assert_int_equal(rr_fleet_key_host(P, bad[i], buf,
						   sizeof(buf)), -EINVAL);
	}
	assert_int_equal(rr_fleet_key_host(P, NULL, buf, sizeof(buf)),
			 -EINVAL);
	memset(seg, 'h', RR_FLEET_SEGMENT_MAX);
	seg[RR_FLEET_SEGMENT_MAX] = '\0';
	assert_int_equal(rr_fleet_key_host(P, seg, buf, sizeof(buf)), 0);
	seg[RR_FLEET_SEGMENT_MAX] = 'h';
	seg[RR_FLEET_SEGMENT_MAX + 1] = '\0';
	assert_int_equal(rr_fleet_key_host(P, seg, buf, sizeof(buf)), -EINVAL);
}

/* ---- values: full records ----------------------------------------------- */

static void fill_risk(rr_fleet_risk *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->level = RR_LEVEL_HIGH;
	v->state = RR_STATE_CONFIRMED_COMPROMISED;
	v->detail = RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED;
	v->updated = T0;
	v->n_detections = RR_FLEET_MAX_DETECTIONS;
	for (i = 0; i < v->n_detections; i++) {
		rr_fleet_detection *d = &v->detections[i];

		d->type = (rr_event)(i % RR_EVENT__COUNT);
		d->level = (rr_level)(i % RR_LEVEL__COUNT);
		d->state = (rr_state)(i % RR_STATE__COUNT);
		d->detail = (rr_detail)(i % RR_DETAIL__COUNT);
		if (i % 2)
			snprintf(d->source, sizeof(d->source), "203.0.113.%zu",
				 i);
		d->detected = T0 + (int64_t)i;
		d->updated = i == 1 ? RR_FLEET_TIME_MAX : T0 + 2 * (int64_t)i;
	}
	memset(v->detections[0].source, 'h', RR_RHOST_MAX);
	v->n_safe = RR_FLEET_MAX_SAFE_REFS;
	for (i = 0; i < v->n_safe; i++) {
		snprintf(v->safe[i].ref, sizeof(v->safe[i].ref), "%04X-91C2",
			 (unsigned)i & 0xffffu);
		v->safe[i].time = T0 - (int64_t)i;
	}
}

static void fill_mfa(rr_fleet_mfa *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < RR_STORE_SEALED_MAX; i++)
		v->sealed[i] = (uint8_t)(i * 7 + 1);
	v->sealed_len = RR_STORE_SEALED_MAX;
	v->alg = 2;
	v->digits = 8;
	v->period = 60;
	v->registered_at = T0;
	v->last_step = T0 / 30;
	v->grace_start = T0 - 86400;
	v->n_failures = RR_FLEET_MAX_FAILURES;
	for (i = 0; i < v->n_failures; i++)
		v->failures[i] = T0 + (int64_t)(i / 2);
}

static void fill_tap(rr_fleet_tap *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < sizeof(v->hash); i++)
		v->hash[i] = (uint8_t)(0xff - i);
	v->created = T0;
	v->expires = T0 + 3600;
	v->used = true;
}

static void fill_familiar(rr_fleet_familiar *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->n_networks = RR_FLEET_MAX_FAMILIAR;
	v->n_devices = RR_FLEET_MAX_FAMILIAR;
	for (i = 0; i < RR_FLEET_MAX_FAMILIAR; i++) {
		snprintf(v->networks[i].key, sizeof(v->networks[i].key),
			 "10.%zu.%zu.0/24", i / 256, i % 256);
		snprintf(v->devices[i].key, sizeof(v->devices[i].key),
			 "SHA256:%043zu", i);
		v->networks[i].first_seen = v->devices[i].first_seen = T0;
		v->networks[i].last_seen = v->devices[i].last_seen =
			T0 + (int64_t)i;
		v->networks[i].count = (int64_t)i;
		v->devices[i].count = RR_FLEET_TIME_MAX;
	}
}

/* encode, decode into a struct filled with garbage, compare whole. */
#define ROUNDTRIP(kind, v)                                                   \
	do {                                                                 \
		char *text = NULL;                                           \
		size_t len = 0;                                              \
		__typeof__(v) *back = malloc(sizeof(v));                     \
		assert_non_null(back);                                       \
		memset(back, 0xa5, sizeof(v));                               \
		assert_int_equal(rr_fleet_##kind##_encode(&(v), &text, &len),\
				 0);                                         \
		assert_int_equal(strlen(text), len);                         \
		assert_true(len <= RR_FLEET_MAX_JSON_FAMILIAR);              \
		assert_int_equal(text[0], '{');                              \
		assert_non_null(strstr(text, "\"v\":1"));                    \
		assert_int_equal(rr_fleet_##kind##_decode(text, len, back),  \
				 0);                                         \
		assert_memory_equal(back, &(v), sizeof(v));                  \
		rr_fleet_text_free(text);                                    \
		free(back);                                                  \
	} while (0)

/* Every key a builder makes parses back to its kind and name; nothing
 * else under the prefix does. */
static void test_key_parse(void **state)
{
	typedef int (*build_fn)(const char *, const char *, char *, size_t);
	static const struct {
		build_fn build;
		const char *name;
		rr_fleet_key_kind kind;
	} ok[] = {
	    {rr_fleet_key_risk, "alice", RR_FLEET_KEY_RISK},
	    {rr_fleet_key_mfa, "a/b%c", RR_FLEET_KEY_MFA},
	    {rr_fleet_key_tap, "j\xc3\xb6rg", RR_FLEET_KEY_TAP},
	    {rr_fleet_key_pwchange, "..", RR_FLEET_KEY_PWCHANGE},
	    {rr_fleet_key_familiar, "bob.smith", RR_FLEET_KEY_FAMILIAR},
	    {rr_fleet_key_audit, "000000000042", RR_FLEET_KEY_AUDIT},
	    {rr_fleet_key_signin, "7F3A-91C2", RR_FLEET_KEY_SIGNIN},
	    {rr_fleet_key_host, "web01", RR_FLEET_KEY_HOST},
	    {rr_fleet_key_fails, "1234-0.web01", RR_FLEET_KEY_FAILS},
	    {rr_fleet_key_attack, "7F3A-91C2", RR_FLEET_KEY_ATTACK},
	    {rr_fleet_key_attack_mark,
	     "bruteForce.00112233445566778899aabbccddeeff",
	     RR_FLEET_KEY_ATTACK_MARK},
	};
	static const char *const bad[] = {
	    P "users/alice",          P "users/alice/",
	    P "users/alice/riskx",    P "users//risk",
	    P "users/a%2fb/risk",     P "users/%41/risk",
	    P "users/a/b/risk",       P "users/alice/risk/x",
	    P "audit/",               P "audit/a/b",
	    P "audit/..",             P "signins/a b",
	    P "other/x",              P "",
	    P "hosts",
	};
	char key[1024];
	rr_fleet_key k, untouched;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		print_message("parse: %s\n", ok[i].name);
		assert_int_equal(ok[i].build(P, ok[i].name, key, sizeof(key)),
				 0);
		memset(&k, 0, sizeof(k));
		assert_int_equal(rr_fleet_key_parse(P, key, strlen(key), &k),
				 0);
		assert_int_equal(k.kind, ok[i].kind);
		assert_string_equal(k.name, ok[i].name);
		/* a user's key cut short names nothing (a segment cut short
		 * is another segment) */
		if (ok[i].kind <= RR_FLEET_KEY_FAMILIAR)
			assert_int_equal(rr_fleet_key_parse(P, key,
							    strlen(key) - 1,
							    &k), -EPROTO);
	}
	memset(&untouched, 0x5a, sizeof(untouched));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("refused: %s\n", bad[i]);
		k = untouched;
		assert_int_equal(rr_fleet_key_parse(P, bad[i], strlen(bad[i]),
						    &k), -EPROTO);
		assert_memory_equal(&k, &untouched, sizeof(k));
	}
	/* outside the prefix, a NUL inside, bad arguments */
	assert_int_equal(rr_fleet_key_parse(P, "/other/users/a/risk", 19, &k),
			 -EINVAL);
	assert_int_equal(rr_fleet_key_parse(P, P "hosts/a\0b",
					    sizeof(P "hosts/a\0b") - 1, &k),
			 -EPROTO);
	assert_int_equal(rr_fleet_key_parse("x", "x", 1, &k), -EINVAL);
	assert_int_equal(rr_fleet_key_parse(P, NULL, 0, &k), -EINVAL);
}

static void test_roundtrip_risk(void **state)
{
	static rr_fleet_risk v;

	(void)state;
	fill_risk(&v);
	ROUNDTRIP(risk, v);
	memset(&v, 0, sizeof(v)); /* none, no detections */
	ROUNDTRIP(risk, v);
}

static void test_roundtrip_mfa(void **state)
{
	rr_fleet_mfa v;

	(void)state;
	fill_mfa(&v);
	ROUNDTRIP(mfa, v);
	v.sealed_len = 1;
	memset(v.sealed + 1, 0, sizeof(v.sealed) - 1);
	v.n_failures = 0;
	memset(v.failures, 0, sizeof(v.failures));
	ROUNDTRIP(mfa, v);
	/* not registered: only the grace clock */
	memset(&v, 0, sizeof(v));
	v.grace_start = T0;
	ROUNDTRIP(mfa, v);
	rr_fleet_mfa_clear(&v);
	assert_int_equal(v.grace_start, 0);
	rr_fleet_mfa_clear(NULL);
}

static void test_roundtrip_tap(void **state)
{
	rr_fleet_tap v;
	static const uint8_t zero[RR_STORE_TAP_HASH_LEN];

	(void)state;
	fill_tap(&v);
	ROUNDTRIP(tap, v);
	v.used = false;
	ROUNDTRIP(tap, v);
	rr_fleet_tap_clear(&v);
	assert_memory_equal(v.hash, zero, sizeof(zero));
	rr_fleet_tap_clear(NULL);
}

static void test_roundtrip_pwchange(void **state)
{
	rr_fleet_pwchange v;

	(void)state;
	memset(&v, 0, sizeof(v));
	v.since = T0;
	strcpy(v.actor, "root");
	ROUNDTRIP(pwchange, v);
	strcpy(v.actor, "j\xc3\xbcrgen \"quoted\" \\");
	ROUNDTRIP(pwchange, v);
	memset(v.actor, 'r', RR_USER_MAX);
	ROUNDTRIP(pwchange, v);
}

/* The host record (P "hosts/" H): as written, and a replica that never
 * heard from etcd (staleness -1). */
static void test_roundtrip_host(void **state)
{
	rr_fleet_host_rec v;
	char *out = NULL;
	size_t n = 0;

	(void)state;
	memset(&v, 0, sizeof(v));
	strcpy(v.host, "web-01.example.org");
	strcpy(v.version, "0.1.0");
	v.started = T0;
	v.seen = T0 + 60;
	v.every_ms = 1667;
	v.revision = 4242;
	v.staleness_ms = 120;
	v.max_staleness_ms = 5000;
	v.queued = 3;
	ROUNDTRIP(host, v);
	v.staleness_ms = -1;
	v.revision = 0;
	ROUNDTRIP(host, v);
	/* what the encoder refuses: a host that is no key segment, no
	 * version, a staleness below -1, no interval */
	strcpy(v.host, "a/b");
	assert_int_equal(rr_fleet_host_encode(&v, &out, &n), -EINVAL);
	strcpy(v.host, "a");
	v.version[0] = '\0';
	assert_int_equal(rr_fleet_host_encode(&v, &out, &n), -EINVAL);
	strcpy(v.version, "1");
	v.staleness_ms = -2;
	assert_int_equal(rr_fleet_host_encode(&v, &out, &n), -EINVAL);
	v.staleness_ms = 0;
	v.every_ms = 0;
	assert_int_equal(rr_fleet_host_encode(&v, &out, &n), -EINVAL);
	assert_null(out);
}

/* A batch of failed sign-ins: users and names that are no user (a tag),
 * empty, and full. */
static void test_roundtrip_fails(void **state)
{
	static rr_fleet_fails v;
	char *out = NULL;
	size_t n = 0, i;

	(void)state;
	memset(&v, 0, sizeof(v));
	strcpy(v.host, "web-01");
	ROUNDTRIP(fails, v);
	v.n = 2;
	strcpy(v.failures[0].user, "j\xc3\xbcrgen");
	strcpy(v.failures[0].netkey, "192.0.2.0/24");
	strcpy(v.failures[0].rhost, "192.0.2.7");
	v.failures[0].time = T0;
	strcpy(v.failures[1].tag, "0123456789abcdef");
	strcpy(v.failures[1].netkey, "2001:db8:1:2::/64");
	strcpy(v.failures[1].rhost, "2001:db8:1:2::99");
	v.failures[1].time = T0 + 1;
	ROUNDTRIP(fails, v);
	for (i = 2; i < RR_FLEET_MAX_FAIL_BATCH; i++)
		v.failures[i] = v.failures[i % 2];
	v.n = RR_FLEET_MAX_FAIL_BATCH;
	ROUNDTRIP(fails, v);
	/* refused: one too many, a user and a tag, neither, no source */
	v.n = RR_FLEET_MAX_FAIL_BATCH + 1;
	assert_int_equal(rr_fleet_fails_encode(&v, &out, &n), -EINVAL);
	v.n = 1;
	strcpy(v.failures[0].tag, "0123456789abcdef");
	assert_int_equal(rr_fleet_fails_encode(&v, &out, &n), -EINVAL);
	v.failures[0].user[0] = '\0';
	v.failures[0].tag[0] = '\0';
	assert_int_equal(rr_fleet_fails_encode(&v, &out, &n), -EINVAL);
	strcpy(v.failures[0].user, "bob");
	v.failures[0].netkey[0] = '\0';
	assert_int_equal(rr_fleet_fails_encode(&v, &out, &n), -EINVAL);
	assert_null(out);
}

/* A risky sign-in as its host logged it: every field, then the least. */
static void test_roundtrip_signin(void **state)
{
	static rr_fleet_signin v;
	char *out = NULL;
	size_t n = 0;

	(void)state;
	memset(&v, 0, sizeof(v));
	strcpy(v.host, "web-01");
	strcpy(v.s.ref, "7F3A-91C2");
	v.s.time = T0;
	strcpy(v.s.user, "j\xc3\xbcrgen");
	strcpy(v.s.service, "sshd");
	strcpy(v.s.rhost, "2001:db8:1:2::99");
	strcpy(v.s.tty, "ssh");
	v.s.action = RR_ACTION_BLOCK;
	strcpy(v.s.outcome, "blocked");
	v.s.signin_risk = RR_LEVEL_HIGH;
	v.s.user_risk = RR_LEVEL_MEDIUM;
	strcpy(v.s.detections, "unfamiliarFeatures:high,passwordSpray:medium");
	strcpy(v.s.applied, "block-high\nmfa-medium");
	strcpy(v.s.report_only, "try-out");
	strcpy(v.s.reason, "blocked by policy block-high");
	strcpy(v.s.mfa, "skipped");
	strcpy(v.s.device, "SHA256:abc");
	v.state = RR_STATE_CONFIRMED_SAFE;
	v.detail = RR_DETAIL_ADMIN_SIGNIN_SAFE;
	ROUNDTRIP(signin, v);
	memset(&v.s, 0, sizeof(v.s));
	strcpy(v.s.ref, "0000-0001");
	strcpy(v.s.user, "bob");
	strcpy(v.s.outcome, "denied");
	v.s.time = T0;
	v.state = RR_STATE_NONE;
	v.detail = RR_DETAIL_NONE;
	ROUNDTRIP(signin, v);
	/* refused: a host or reference that is no key segment, no user, a
	 * control character where only '\n' may be */
	strcpy(v.host, "a/b");
	assert_int_equal(rr_fleet_signin_encode(&v, &out, &n), -EINVAL);
	strcpy(v.host, "h");
	strcpy(v.s.ref, "..");
	assert_int_equal(rr_fleet_signin_encode(&v, &out, &n), -EINVAL);
	strcpy(v.s.ref, "0000-0001");
	v.s.user[0] = '\0';
	assert_int_equal(rr_fleet_signin_encode(&v, &out, &n), -EINVAL);
	strcpy(v.s.user, "bob");
	strcpy(v.s.applied, "a\tb");
	assert_int_equal(rr_fleet_signin_encode(&v, &out, &n), -EINVAL);
	v.s.applied[0] = '\0';
	v.s.action = (rr_action)7;
	assert_int_equal(rr_fleet_signin_encode(&v, &out, &n), -EINVAL);
	assert_null(out);
}

static void test_roundtrip_attack(void **state)
{
	static rr_fleet_attack v, w;
	char mark[RR_FLEET_ATTACK_MARK_LEN], other[RR_FLEET_ATTACK_MARK_LEN];
	char *out = NULL;
	size_t n = 0;

	(void)state;
	memset(&v, 0, sizeof(v));
	strcpy(v.host, "web-01");
	strcpy(v.ref, "7F3A-91C2");
	v.type = RR_EVENT_BRUTE_FORCE;
	v.level = RR_LEVEL_HIGH;
	v.time = T0;
	strcpy(v.user, "j\xc3\xbcrgen");
	strcpy(v.source, "2001:db8:1:2::/64");
	v.count = 12;
	v.window_s = 600;
	ROUNDTRIP(attack, v);
	/* the mark: a key segment of its type, the same for the same user
	 * and source whoever raises it, another for another user */
	assert_int_equal(rr_fleet_attack_mark(&v, mark, sizeof(mark)), 0);
	assert_true(rr_fleet_segment_ok(mark));
	assert_int_equal(strlen(mark), strlen("bruteForce.") + 32);
	assert_int_equal(strncmp(mark, "bruteForce.", 11), 0);
	w = v;
	strcpy(w.host, "web-02");
	strcpy(w.ref, "0000-0001");
	w.count = 3;
	w.time = T0 + 5;
	assert_int_equal(rr_fleet_attack_mark(&w, other, sizeof(other)), 0);
	assert_string_equal(mark, other);
	strcpy(w.user, "bob");
	assert_int_equal(rr_fleet_attack_mark(&w, other, sizeof(other)), 0);
	assert_string_not_equal(mark, other);
	/* "ab" + "c" is not "a" + "bc" */
	strcpy(w.user, "a");
	strcpy(w.source, "b/c");
	assert_int_equal(rr_fleet_attack_mark(&w, mark, sizeof(mark)), 0);
	strcpy(w.user, "a/b");
	strcpy(w.source, "c");
	assert_int_equal(rr_fleet_attack_mark(&w, other, sizeof(other)), 0);
	assert_string_not_equal(mark, other);
	assert_int_equal(rr_fleet_attack_mark(&w, mark, 20), -ENAMETOOLONG);
	/* a spray names no user */
	v.type = RR_EVENT_PASSWORD_SPRAY;
	memset(v.user, 0, sizeof(v.user));
	memset(v.source, 0, sizeof(v.source));
	strcpy(v.source, "203.0.113.9");
	ROUNDTRIP(attack, v);
	assert_int_equal(rr_fleet_attack_mark(&v, mark, sizeof(mark)), 0);
	assert_int_equal(strncmp(mark, "passwordSpray.", 14), 0);
	/* refused: a spray of a user, a bruteForce of none, another type,
	 * level none, no source, no count, no window, a bad reference */
	strcpy(v.user, "bob");
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	assert_int_equal(rr_fleet_attack_mark(&v, mark, sizeof(mark)),
			 -EINVAL);
	v.type = RR_EVENT_BRUTE_FORCE;
	v.user[0] = '\0';
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	strcpy(v.user, "bob");
	v.type = RR_EVENT_UNFAMILIAR_FEATURES;
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	v.type = RR_EVENT_BRUTE_FORCE;
	v.level = RR_LEVEL_NONE;
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	v.level = RR_LEVEL_LOW;
	v.source[0] = '\0';
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	strcpy(v.source, "192.0.2.0/24");
	v.count = 0;
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	v.count = 1;
	v.window_s = 0;
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	v.window_s = 60;
	strcpy(v.ref, "a/b");
	assert_int_equal(rr_fleet_attack_encode(&v, &out, &n), -EINVAL);
	strcpy(v.ref, "7F3A-91C2");
	ROUNDTRIP(attack, v);
	assert_null(out);
}

static void test_roundtrip_familiar(void **state)
{
	static rr_fleet_familiar v;

	(void)state;
	fill_familiar(&v);
	ROUNDTRIP(familiar, v);
	memset(&v, 0, sizeof(v));
	ROUNDTRIP(familiar, v);
}

/* The longest familiar record there is: over 64 KiB, within its cap. */
static void test_familiar_longest(void **state)
{
	static rr_fleet_familiar v;
	char *out = NULL, *big;
	size_t i, olen = 0;

	(void)state;
	fill_familiar(&v);
	for (i = 0; i < RR_FLEET_MAX_FAMILIAR; i++) {
		snprintf(v.networks[i].key, sizeof(v.networks[i].key),
			 "%064zu", i);
		snprintf(v.devices[i].key, sizeof(v.devices[i].key),
			 "d%063zu", i);
		v.networks[i].first_seen = v.devices[i].first_seen =
			RR_FLEET_TIME_MAX;
		v.networks[i].last_seen = v.devices[i].last_seen =
			RR_FLEET_TIME_MAX;
		v.networks[i].count = v.devices[i].count = RR_FLEET_TIME_MAX;
	}
	ROUNDTRIP(familiar, v);
	assert_int_equal(rr_fleet_familiar_encode(&v, &out, &olen), 0);
	assert_true(olen > RR_FLEET_MAX_JSON);
	assert_true(olen <= RR_FLEET_MAX_JSON_FAMILIAR);
	big = malloc(RR_FLEET_MAX_JSON_FAMILIAR + 1);
	assert_non_null(big);
	memcpy(big, out, olen);
	memset(big + olen, ' ', RR_FLEET_MAX_JSON_FAMILIAR + 1 - olen);
	assert_int_equal(rr_fleet_familiar_decode(big,
			RR_FLEET_MAX_JSON_FAMILIAR + 1, &v), -EPROTO);
	free(big);
	rr_fleet_text_free(out);
}

/* ---- values: encode refuses what would not decode ------------------------ */

static void test_encode_rejects(void **state)
{
	static rr_fleet_risk risk;
	static rr_fleet_familiar fam;
	rr_fleet_mfa mfa;
	rr_fleet_tap tap;
	rr_fleet_pwchange pw;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	fill_risk(&risk);
	risk.level = RR_LEVEL__COUNT;
	assert_int_equal(rr_fleet_risk_encode(&risk, &text, &len), -EINVAL);
	fill_risk(&risk);
	risk.n_detections = RR_FLEET_MAX_DETECTIONS + 1;
	assert_int_equal(rr_fleet_risk_encode(&risk, &text, &len), -EINVAL);
	fill_risk(&risk);
	risk.detections[3].source[0] = '\n';
	assert_int_equal(rr_fleet_risk_encode(&risk, &text, &len), -EINVAL);
	fill_risk(&risk);
	risk.detections[3].detected = -1;
	assert_int_equal(rr_fleet_risk_encode(&risk, &text, &len), -EINVAL);

	fill_mfa(&mfa);
	mfa.digits = 9;
	assert_int_equal(rr_fleet_mfa_encode(&mfa, &text, &len), -EINVAL);
	fill_mfa(&mfa);
	mfa.alg = 3;
	assert_int_equal(rr_fleet_mfa_encode(&mfa, &text, &len), -EINVAL);
	fill_mfa(&mfa);
	mfa.failures[5] = mfa.failures[4] - 1;
	assert_int_equal(rr_fleet_mfa_encode(&mfa, &text, &len), -EINVAL);
	fill_mfa(&mfa);
	mfa.sealed_len = 0; /* not registered, yet digits set */
	assert_int_equal(rr_fleet_mfa_encode(&mfa, &text, &len), -EINVAL);

	fill_tap(&tap);
	tap.expires = RR_FLEET_TIME_MAX + 1;
	assert_int_equal(rr_fleet_tap_encode(&tap, &text, &len), -EINVAL);

	memset(&pw, 0, sizeof(pw));
	assert_int_equal(rr_fleet_pwchange_encode(&pw, &text, &len), -EINVAL);
	strcpy(pw.actor, "\xff\xfe"); /* not UTF-8 */
	assert_int_equal(rr_fleet_pwchange_encode(&pw, &text, &len), -EINVAL);

	fill_familiar(&fam);
	strcpy(fam.devices[7].key, fam.devices[3].key);
	assert_int_equal(rr_fleet_familiar_encode(&fam, &text, &len), -EINVAL);
	fill_familiar(&fam);
	fam.networks[2].first_seen = fam.networks[2].last_seen + 1;
	assert_int_equal(rr_fleet_familiar_encode(&fam, &text, &len), -EINVAL);
	assert_null(text);
	rr_fleet_text_free(NULL);
}

/* ---- values: strict decoding -------------------------------------------- */

#define DET "{\"riskEventType\":\"bruteForce\",\"riskLevel\":\"high\"," \
	    "\"riskState\":\"atRisk\",\"riskDetail\":\"none\","          \
	    "\"source\":\"203.0.113.7\",\"detected\":1,\"lastUpdated\":2}"
#define RISK_HEAD "\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\"," \
		  "\"riskDetail\":\"none\",\"riskLastUpdated\":5"
#define H32 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

#define DET_HEAD(type)                                                       \
	"{" RISK_HEAD ",\"detections\":[{\"riskEventType\":\"" type "\","     \
	"\"riskLevel\":\"high\",\"riskState\":\"atRisk\","                    \
	"\"riskDetail\":\"none\","

#define SAFE(ref) "{\"ref\":" ref ",\"time\":1}"

static const char *const bad_risk[] = {
	"",
	"[]",
	"null",
	"\"x\"",
	"{",
	"{" RISK_HEAD ",\"detections\":[" DET "]",
	"{" RISK_HEAD "}",
	"{" RISK_HEAD ",\"detections\":{}}",
	"{" RISK_HEAD ",\"detections\":[" DET "],\"x\":1}",
	/* sign-ins confirmed safe: an empty list (written as none), twice
	 * one reference, one that is no key segment, no time, an extra
	 * field, not a list */
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[" SAFE("\"A-1\"")
	"," SAFE("\"A-1\"") "]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[" SAFE("\"..\"")
	"]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[" SAFE("\"A/1\"")
	"]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[" SAFE("\"0123-4567-8\"")
	"]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[{\"ref\":\"A-1\"}]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":[{\"ref\":\"A-1\","
	"\"time\":1,\"x\":1}]}",
	"{" RISK_HEAD ",\"detections\":[],\"safeRefs\":{}}",
	"{\"v\":2,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":\"1\",\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"High\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":3,\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atrisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"nope\",\"riskLastUpdated\":5,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":-1,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":4611686018427387905,"
	"\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":5.0,\"detections\":[]}",
	"{\"v\":1,\"riskLevel\":\"high\",\"riskState\":\"atRisk\","
	"\"riskDetail\":\"none\",\"riskLastUpdated\":99999999999999999999,"
	"\"detections\":[]}",
	"{" RISK_HEAD ",\"riskLevel\":\"low\",\"detections\":[]}",
	"{" RISK_HEAD ",\"detections\":[1]}",
	"{" RISK_HEAD ",\"detections\":[{}]}",
	DET_HEAD("bruteforce")
	"\"source\":\"\",\"detected\":1,\"lastUpdated\":2}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"a\\nb\",\"detected\":1,\"lastUpdated\":2}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"a\\u0000b\",\"detected\":1,\"lastUpdated\":2}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"\\u00fc\",\"detected\":1,\"lastUpdated\":2}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"x\",\"detected\":1,\"lastUpdated\":2,\"ip\":\"x\"}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"x\",\"detected\":true,\"lastUpdated\":2}]}",
	DET_HEAD("bruteForce")
	"\"source\":\"x\",\"detected\":1}]}",
};

static const char *const bad_mfa[] = {
	"[]",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":0}",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":0,\"failures\":[],\"x\":0}",
	"{\"v\":0,\"lastStep\":0,\"graceStart\":0,\"failures\":[]}",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":0,\"failures\":[3,2]}",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":0,\"failures\":[-1]}",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":0,\"failures\":[\"1\"]}",
	"{\"v\":1,\"lastStep\":0,\"graceStart\":null,\"failures\":[]}",
	/* registration fields without a secret */
	"{\"v\":1,\"digits\":6,\"lastStep\":0,\"graceStart\":0,"
	"\"failures\":[]}",
	/* a secret without its fields */
	"{\"v\":1,\"sealed\":\"AAEC\",\"lastStep\":0,\"graceStart\":0,"
	"\"failures\":[]}",
#define MFA_REG(sealed, alg, digits, period)                               \
	"{\"v\":1,\"sealed\":" sealed ",\"alg\":" alg ",\"digits\":" digits   \
	",\"period\":" period ",\"registeredAt\":1,\"lastStep\":0,"          \
	"\"graceStart\":0,\"failures\":[]}"
	MFA_REG("\"AAEC\"", "\"SHA1\"", "5", "30"),
	MFA_REG("\"AAEC\"", "\"SHA1\"", "9", "30"),
	MFA_REG("\"AAEC\"", "\"SHA1\"", "6", "14"),
	MFA_REG("\"AAEC\"", "\"SHA1\"", "6", "121"),
	MFA_REG("\"AAEC\"", "\"sha1\"", "6", "30"),
	MFA_REG("\"AAEC\"", "\"MD5\"", "6", "30"),
	MFA_REG("\"AAEC\"", "0", "6", "30"),
	MFA_REG("\"AAEC\"", "\"SHA1\"", "\"6\"", "30"),
	MFA_REG("\"\"", "\"SHA1\"", "6", "30"),
	MFA_REG("\"AAE\"", "\"SHA1\"", "6", "30"),
	MFA_REG("\"AAF=\"", "\"SHA1\"", "6", "30"), /* bits left over */
	MFA_REG("\"AA==\"", "\"SHA1\"", "6", "30") "x",
	MFA_REG("\"AAEC \"", "\"SHA1\"", "6", "30"),
	MFA_REG("\"AA-_\"", "\"SHA1\"", "6", "30"),
	MFA_REG("\"A===\"", "\"SHA1\"", "6", "30"),
	MFA_REG("[]", "\"SHA1\"", "6", "30"),
};

static const char *const bad_tap[] = {
	"{\"v\":1,\"hash\":\"" H32 "\",\"created\":1,\"expires\":2}",
	"{\"v\":1,\"hash\":\"" H32 "\",\"created\":1,\"expires\":2,"
	"\"used\":0}",
	"{\"v\":1,\"hash\":\"" H32 "\",\"created\":1,\"expires\":2,"
	"\"used\":false,\"pass\":\"x\"}",
	"{\"v\":1,\"hash\":\"AAAA\",\"created\":1,\"expires\":2,"
	"\"used\":false}",
	"{\"v\":1,\"hash\":\"" H32 "AAAA\",\"created\":1,\"expires\":2,"
	"\"used\":false}",
	"{\"v\":1,\"hash\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\","
	"\"created\":1,\"expires\":2,\"used\":false}",
	"{\"v\":1,\"hash\":\"" H32 "\",\"created\":1,\"expires\":-2,"
	"\"used\":false}",
	"{\"v\":1,\"v\":1,\"hash\":\"" H32 "\",\"created\":1,\"expires\":2,"
	"\"used\":false}",
	"{\"v\":1.0,\"hash\":\"" H32 "\",\"created\":1,\"expires\":2,"
	"\"used\":false}",
};

static const char *const bad_pwchange[] = {
	"{\"v\":1,\"since\":1}",
	"{\"v\":1,\"since\":1,\"actor\":\"\"}",
	"{\"v\":1,\"since\":1,\"actor\":1}",
	"{\"v\":1,\"since\":1,\"actor\":\"a\\u001bb\"}",
	"{\"v\":1,\"since\":1,\"actor\":\"a\\u007fb\"}",
	"{\"v\":1,\"since\":1,\"actor\":\"root\",\"reason\":\"x\"}",
	"{\"v\":1,\"since\":\"1\",\"actor\":\"root\"}",
	"{\"v\":1,\"since\":1,\"actor\":\"root\"} {}",
	"{\"v\":1,\"since\":1,\"actor\":\"ro\xffot\"}",
};

#define HOST(h, stale) \
	"{\"v\":1,\"host\":" h ",\"version\":\"1\",\"started\":1," \
	"\"seen\":2,\"everyMs\":1000,\"revision\":3,\"stalenessMs\":" \
	stale ",\"maxStalenessMs\":5000,\"queued\":0}"

static const char *const bad_host[] = {
	HOST("\"a/b\"", "0"),
	HOST("\"..\"", "0"),
	HOST("\"\"", "0"),
	HOST("1", "0"),
	HOST("\"a\"", "-2"),
	HOST("\"a\"", "\"0\""),
	HOST("\"a\"", "0.5"),
	"{\"v\":1,\"host\":\"a\"}",
	"{\"v\":2,\"host\":\"a\",\"version\":\"1\",\"started\":1,"
	"\"seen\":2,\"everyMs\":1000,\"revision\":3,\"stalenessMs\":0,"
	"\"maxStalenessMs\":5000,\"queued\":0}",
	"{\"v\":1,\"host\":\"a\",\"version\":\"1\",\"started\":1,"
	"\"seen\":2,\"everyMs\":0,\"revision\":3,\"stalenessMs\":0,"
	"\"maxStalenessMs\":5000,\"queued\":0}",
	"{\"v\":1,\"host\":\"a\",\"version\":\"1\",\"started\":1,"
	"\"seen\":2,\"everyMs\":1000,\"revision\":3,\"stalenessMs\":0,"
	"\"maxStalenessMs\":5000,\"queued\":0,\"extra\":1}",
};

#define FAIL(u, t, k) \
	"{\"v\":1,\"host\":\"h\",\"failures\":[{\"user\":" u \
	",\"tag\":" t ",\"netkey\":" k ",\"rhost\":\"192.0.2.7\"," \
	"\"time\":1}]}"

static const char *const bad_fails[] = {
	FAIL("\"bob\"", "\"0123456789abcdef\"", "\"192.0.2.0/24\""),
	FAIL("\"\"", "\"\"", "\"192.0.2.0/24\""),
	FAIL("\"\"", "\"0123456789ABCDEF\"", "\"192.0.2.0/24\""),
	FAIL("\"\"", "\"0123456789abcde\"", "\"192.0.2.0/24\""),
	FAIL("\"bob\"", "\"\"", "\"\""),
	FAIL("\"b\\u0001ob\"", "\"\"", "\"192.0.2.0/24\""),
	FAIL("1", "\"\"", "\"192.0.2.0/24\""),
	"{\"v\":1,\"host\":\"a/b\",\"failures\":[]}",
	"{\"v\":1,\"host\":\"h\",\"failures\":{}}",
	"{\"v\":1,\"host\":\"h\"}",
	"{\"v\":1,\"host\":\"h\",\"failures\":[{\"user\":\"bob\","
	"\"tag\":\"\",\"netkey\":\"n\",\"rhost\":\"r\",\"time\":1,"
	"\"x\":1}]}",
};

#define SIGNIN(h, r, u, d, a) \
	"{\"v\":1,\"host\":" h ",\"ref\":" r ",\"time\":1,\"user\":" u \
	",\"service\":\"sshd\",\"rhost\":\"192.0.2.7\",\"tty\":\"ssh\"," \
	"\"decision\":" d ",\"outcome\":\"blocked\",\"signInRisk\":\"high\"," \
	"\"userRisk\":\"none\",\"detections\":\"\",\"applied\":" a "," \
	"\"reportOnly\":\"\",\"reason\":\"\",\"mfa\":\"\",\"device\":\"\"," \
	"\"riskState\":\"atRisk\",\"riskDetail\":\"none\"}"

#define ATTACK(t, u, src, c) \
	"{\"v\":1,\"host\":\"h\",\"ref\":\"7F3A-91C2\",\"type\":" t \
	",\"level\":\"high\",\"time\":1,\"user\":" u ",\"source\":" src \
	",\"count\":" c ",\"windowS\":600}"

static const char *const bad_attack[] = {
	ATTACK("\"passwordSpray\"", "\"bob\"", "\"192.0.2.7\"", "3"),
	ATTACK("\"bruteForce\"", "\"\"", "\"192.0.2.0/24\"", "3"),
	ATTACK("\"leakedCredentials\"", "\"bob\"", "\"192.0.2.0/24\"",
	       "3"),
	ATTACK("\"bruteForce\"", "\"bob\"", "\"\"", "3"),
	ATTACK("\"bruteForce\"", "\"bob\"", "\"192.0.2.0/24\"", "0"),
	ATTACK("\"bruteForce\"", "\"bob\"", "\"192.0.2.0/24\"", "\"3\""),
	ATTACK("\"bruteForce\"", "\"b\\u0007ob\"", "\"192.0.2.0/24\"",
	       "3"),
	"{\"v\":1}",
};

static const char *const bad_signin[] = {
	SIGNIN("\"a/b\"", "\"7F3A-91C2\"", "\"bob\"", "\"block\"", "\"\""),
	SIGNIN("\"h\"", "\"..\"", "\"bob\"", "\"block\"", "\"\""),
	SIGNIN("\"h\"", "\"7F3A-91C2-0000\"", "\"bob\"", "\"block\"",
	       "\"\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"\"", "\"block\"", "\"\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"b\\u001bob\"", "\"block\"",
	       "\"\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"bob\"", "\"mfa\"", "\"\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"bob\"", "\"block\"",
	       "\"a\\tb\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"bob\"", "\"block\"",
	       "\"a\\u0000b\""),
	SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"bob\"", "\"block\"", "1"),
	"{\"v\":1,\"host\":\"h\",\"ref\":\"7F3A-91C2\"}",
	/* a state that is no state */
	"{\"v\":1,\"host\":\"h\",\"ref\":\"7F3A-91C2\",\"time\":1,\"user\":"
	"\"bob\",\"service\":\"sshd\",\"rhost\":\"\",\"tty\":\"\","
	"\"decision\":\"block\",\"outcome\":\"blocked\",\"signInRisk\":"
	"\"high\",\"userRisk\":\"none\",\"detections\":\"\",\"applied\":"
	"\"\",\"reportOnly\":\"\",\"reason\":\"\",\"mfa\":\"\","
	"\"device\":\"\",\"riskState\":\"safe\",\"riskDetail\":\"none\"}",
};

#define SEEN(k, f, l, c) \
	"{\"key\":" k ",\"firstSeen\":" f ",\"lastSeen\":" l ",\"count\":" c "}"

static const char *const bad_familiar[] = {
	"{\"v\":1,\"networks\":[]}",
	"{\"v\":1,\"networks\":[],\"devices\":[],\"hosts\":[]}",
	"{\"v\":1,\"networks\":{},\"devices\":[]}",
	"{\"v\":1,\"networks\":[" SEEN("\"\"", "1", "2", "3") "],"
	"\"devices\":[]}",
	"{\"v\":1,\"networks\":[" SEEN("\"a\"", "3", "2", "3") "],"
	"\"devices\":[]}",
	"{\"v\":1,\"networks\":[" SEEN("\"a\"", "1", "2", "-3") "],"
	"\"devices\":[]}",
	"{\"v\":1,\"networks\":[" SEEN("\"a\"", "1", "2", "3") ","
	SEEN("\"a\"", "1", "2", "3") "],\"devices\":[]}",
	"{\"v\":1,\"networks\":[],\"devices\":[{\"key\":\"a\",\"firstSeen\":1,"
	"\"lastSeen\":2}]}",
	"{\"v\":1,\"networks\":[],\"devices\":[{\"key\":\"a\",\"firstSeen\":1,"
	"\"lastSeen\":2,\"count\":1,\"name\":\"x\"}]}",
	"{\"v\":1,\"networks\":[],\"devices\":[" SEEN("\"SHA256:"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
	"1", "2", "3") "]}",
	"{\"v\":1,\"networks\":[],\"devices\":[" SEEN("7", "1", "2", "3") "]}",
	"{\"v\":1,\"networks\":[],\"devices\":[[]]}",
};

typedef int (*decode_fn)(const char *, size_t, void *);

/* Each text refused with -EPROTO, *out untouched. */
static void expect_refused(const char *const *texts, size_t n,
			   decode_fn fn, size_t size)
{
	unsigned char *out = malloc(size), *was = malloc(size);
	size_t i;

	assert_non_null(out);
	assert_non_null(was);
	memset(was, 0x5a, size);
	for (i = 0; i < n; i++) {
		memcpy(out, was, size);
		if (fn(texts[i], strlen(texts[i]), out) != -EPROTO)
			fail_msg("accepted: %s", texts[i]);
		assert_memory_equal(out, was, size);
	}
	free(out);
	free(was);
}

#define REFUSED(list, kind, type)                                          \
	expect_refused(list, ARRAY_SIZE(list), (decode_fn)(void (*)(void))   \
		       rr_fleet_##kind##_decode, sizeof(type))

static void test_decode_rejects(void **state)
{
	(void)state;
	REFUSED(bad_risk, risk, rr_fleet_risk);
	REFUSED(bad_mfa, mfa, rr_fleet_mfa);
	REFUSED(bad_tap, tap, rr_fleet_tap);
	REFUSED(bad_pwchange, pwchange, rr_fleet_pwchange);
	REFUSED(bad_familiar, familiar, rr_fleet_familiar);
	REFUSED(bad_host, host, rr_fleet_host_rec);
	REFUSED(bad_fails, fails, rr_fleet_fails);
	REFUSED(bad_signin, signin, rr_fleet_signin);
	REFUSED(bad_attack, attack, rr_fleet_attack);
	{
		/* the template of bad_attack itself is good */
		static const char good[] =
		    ATTACK("\"bruteForce\"", "\"bob\"", "\"192.0.2.0/24\"",
			   "3");
		static rr_fleet_attack v;

		assert_int_equal(rr_fleet_attack_decode(good, strlen(good), &v),
				 0);
		assert_int_equal(v.count, 3);
		assert_int_equal(v.window_s, 600);
	}
	{
		/* the template of bad_signin itself is good */
		static const char good[] =
		    SIGNIN("\"h\"", "\"7F3A-91C2\"", "\"bob\"", "\"block\"",
			   "\"a\\nb\"");
		static rr_fleet_signin v;

		assert_int_equal(rr_fleet_signin_decode(good, strlen(good), &v),
				 0);
		assert_string_equal(v.s.applied, "a\nb");
		assert_int_equal(v.s.action, RR_ACTION_BLOCK);
	}
}

/* Over the caps: one element more than allowed, a text over 64 KiB. */
static void test_decode_caps(void **state)
{
	static rr_fleet_risk risk;
	static rr_fleet_familiar fam;
	rr_fleet_mfa mfa;
	size_t cap = 200000, len, i;
	char *t = malloc(cap);

	(void)state;
	assert_non_null(t);
	len = (size_t)snprintf(t, cap, "{" RISK_HEAD ",\"detections\":[");
	for (i = 0; i <= RR_FLEET_MAX_DETECTIONS; i++)
		len += (size_t)snprintf(t + len, cap - len, "%s" DET,
					i ? "," : "");
	len += (size_t)snprintf(t + len, cap - len, "]}");
	assert_int_equal(rr_fleet_risk_decode(t, len, &risk), -EPROTO);

	len = (size_t)snprintf(t, cap, "{\"v\":1,\"lastStep\":0,"
			       "\"graceStart\":0,\"failures\":[");
	for (i = 0; i <= RR_FLEET_MAX_FAILURES; i++)
		len += (size_t)snprintf(t + len, cap - len, "%s1",
					i ? "," : "");
	len += (size_t)snprintf(t + len, cap - len, "]}");
	assert_int_equal(rr_fleet_mfa_decode(t, len, &mfa), -EPROTO);

	len = (size_t)snprintf(t, cap, "{\"v\":1,\"devices\":[],"
			       "\"networks\":[");
	for (i = 0; i <= RR_FLEET_MAX_FAMILIAR; i++)
		len += (size_t)snprintf(t + len, cap - len,
					"%s" SEEN("\"n%zu\"", "1", "1", "1"),
					i ? "," : "", i);
	len += (size_t)snprintf(t + len, cap - len, "]}");
	assert_int_equal(rr_fleet_familiar_decode(t, len, &fam), -EPROTO);

	/* a valid record padded past 64 KiB */
	len = (size_t)snprintf(t, cap, "{\"v\":1,\"since\":1,"
			       "\"actor\":\"root\"}");
	assert_int_equal(rr_fleet_pwchange_decode(t, len,
						  &(rr_fleet_pwchange){ 0 }),
			 0);
	memset(t + len, ' ', RR_FLEET_MAX_JSON + 1 - len);
	assert_int_equal(rr_fleet_pwchange_decode(t, RR_FLEET_MAX_JSON + 1,
						  &(rr_fleet_pwchange){ 0 }),
			 -EPROTO);
	assert_int_equal(rr_fleet_pwchange_decode(t, RR_FLEET_MAX_JSON,
						  &(rr_fleet_pwchange){ 0 }),
			 0);
	assert_int_equal(rr_fleet_pwchange_decode(NULL, 0,
						  &(rr_fleet_pwchange){ 0 }),
			 -EPROTO);
	free(t);
}

/* ---- helpers ------------------------------------------------------------- */

static void test_failure_add(void **state)
{
	rr_fleet_mfa v;
	int64_t i;

	(void)state;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < RR_FLEET_MAX_FAILURES + 5; i++)
		assert_int_equal(rr_fleet_mfa_failure_add(&v, T0 + i), 0);
	assert_int_equal(v.n_failures, RR_FLEET_MAX_FAILURES);
	assert_int_equal(v.failures[0], T0 + 5);
	assert_int_equal(v.failures[RR_FLEET_MAX_FAILURES - 1],
			 T0 + RR_FLEET_MAX_FAILURES + 4);
	assert_int_equal(rr_fleet_mfa_failure_add(&v, T0), -EINVAL);
	assert_int_equal(rr_fleet_mfa_failure_add(&v, -1), -EINVAL);
	assert_int_equal(v.n_failures, RR_FLEET_MAX_FAILURES);
}

static void test_familiar_touch(void **state)
{
	static rr_fleet_familiar v;
	char key[32];
	size_t i;

	(void)state;
	memset(&v, 0, sizeof(v));
	for (i = 0; i < RR_FLEET_MAX_FAMILIAR; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		assert_int_equal(rr_fleet_familiar_touch(
			v.networks, &v.n_networks, key, T0 + (int64_t)i), 0);
	}
	/* k0 seen again: k1 is now the least recently seen */
	assert_int_equal(rr_fleet_familiar_touch(v.networks, &v.n_networks,
						 "k0", T0 + 1000), 0);
	assert_int_equal(v.networks[0].count, 2);
	assert_int_equal(v.networks[0].first_seen, T0);
	assert_int_equal(v.networks[0].last_seen, T0 + 1000);
	assert_int_equal(rr_fleet_familiar_touch(v.networks, &v.n_networks,
						 "new", T0 + 1001), 0);
	assert_int_equal(v.n_networks, RR_FLEET_MAX_FAMILIAR);
	assert_string_equal(v.networks[1].key, "new");
	assert_int_equal(v.networks[1].count, 1);
	assert_int_equal(rr_fleet_familiar_touch(v.networks, &v.n_networks,
						 "", T0), -EINVAL);
	assert_int_equal(rr_fleet_familiar_touch(v.networks, &v.n_networks,
						 "a\nb", T0), -EINVAL);
	assert_int_equal(rr_fleet_familiar_touch(v.networks, &v.n_networks,
						 "x", -1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_encode),
		cmocka_unit_test(test_user_max),
		cmocka_unit_test(test_user_decode_rejects),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_key_segments),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_roundtrip_risk),
		cmocka_unit_test(test_roundtrip_mfa),
		cmocka_unit_test(test_roundtrip_tap),
		cmocka_unit_test(test_roundtrip_pwchange),
		cmocka_unit_test(test_roundtrip_host),
		cmocka_unit_test(test_roundtrip_fails),
		cmocka_unit_test(test_roundtrip_signin),
		cmocka_unit_test(test_roundtrip_attack),
		cmocka_unit_test(test_roundtrip_familiar),
		cmocka_unit_test(test_familiar_longest),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_decode_caps),
		cmocka_unit_test(test_failure_add),
		cmocka_unit_test(test_familiar_touch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
