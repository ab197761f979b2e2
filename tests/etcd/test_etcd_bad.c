/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rr_etcd against a broken etcd (bad_server.py, RR_ETCD_BAD_URL): every
 * malformed, oversized or wrongly typed answer is -EPROTO (an error etcd
 * really sends maps to its errno), nothing crashes, and the error text
 * says what was wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rr_etcd.h"

typedef enum { GET, PREFIX, PUT, DEL, TXN, LEASE, WATCH } verb;

static const struct {
	const char *mode;
	verb v;
	int expect;
} cases[] = {
	{ "good", GET, 0 },
	{ "garbage", GET, -EPROTO },
	{ "truncated", GET, -EPROTO },
	{ "empty", GET, -EPROTO },
	{ "array", GET, -EPROTO },
	{ "revnum", GET, -EPROTO },
	{ "noheader", GET, -EPROTO },
	{ "kvsobj", GET, -EPROTO },
	{ "notb64", GET, -EPROTO },
	{ "bigvalue", GET, -EPROTO },
	{ "toomany", PREFIX, -EPROTO },
	{ "otherkey", GET, -EPROTO },
	{ "negrev", GET, -EPROTO },
	{ "overflow", GET, -EPROTO },
	{ "nomod", GET, -EPROTO },
	{ "countlow", GET, -EPROTO },
	{ "dup", GET, -EPROTO },
	{ "html500", GET, -EPROTO },
	{ "denied", GET, -EACCES },
	{ "errortype", GET, -EPROTO },
	{ "deep", GET, -EPROTO },
	{ "nul", GET, -EPROTO },
	{ "huge", GET, -EPROTO },
	{ "garbage", PUT, -EPROTO },
	{ "revnum", PUT, -EPROTO },
	{ "garbage", DEL, -EPROTO },
	{ "succstr", TXN, -EPROTO },
	{ "garbage", TXN, -EPROTO },
	{ "nokey", LEASE, -EPROTO }, /* no key in a grant: a 404 "{}" */
	{ "wgarbage", WATCH, -EPROTO },
	{ "worder", WATCH, -EPROTO },
	{ "wback", WATCH, -EPROTO },
	{ "wtype", WATCH, -EPROTO },
	{ "wfrag", WATCH, -EPROTO },
	{ "wnoresult", WATCH, -EPROTO },
	{ "wlong", WATCH, -EPROTO },
	{ "wclose", WATCH, -ECONNRESET },
	{ "werror", WATCH, -EAGAIN }, /* no leader, on every endpoint */
};

static int go_on(const rr_etcd_watch_msg *m, void *ud)
{
	(void)m;
	(void)ud;
	return 0;
}

static int run(rr_etcd *e, const char *key, verb v)
{
	rr_etcd_range *rg = NULL;
	rr_etcd_watch_req req = { .key = key, .key_len = strlen(key),
				  .idle_timeout_ms = 5000 };
	int64_t a, b;
	bool ok;
	int r = -EINVAL;

	switch (v) {
	case GET:
		r = rr_etcd_get(e, key, strlen(key), &rg);
		break;
	case PREFIX:
		r = rr_etcd_get_prefix(e, key, strlen(key), 0, &rg);
		break;
	case PUT:
		r = rr_etcd_put(e, key, strlen(key), "v", 1, 0, &a);
		break;
	case DEL:
		r = rr_etcd_delete(e, key, strlen(key), &a, &b);
		break;
	case TXN:
		r = rr_etcd_cas(e, key, strlen(key), 0, "v", 1, &ok, &a);
		break;
	case LEASE:
		r = rr_etcd_lease_grant(e, 10, &a, &b);
		if (r == 0)
			r = rr_etcd_lease_keepalive(e, 42, &b);
		break;
	case WATCH:
		r = rr_etcd_watch(e, &req, go_on, NULL, NULL);
		break;
	}
	rr_etcd_range_free(r == 0 ? rg : NULL);
	return r;
}

static void test_bad_answers(void **state)
{
	const char *url = getenv("RR_ETCD_BAD_URL");
	rr_etcd_cfg cfg = { .endpoints = &url, .n_endpoints = 1,
			    .timeout_ms = 10000, .max_items = 10 };
	rr_etcd *e = NULL;
	char key[64];
	size_t i;
	int r;

	(void)state;
	assert_non_null(url);
	assert_int_equal(rr_etcd_open(&cfg, &e), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(key, sizeof(key), "/bad/%s", cases[i].mode);
		r = run(e, key, cases[i].v);
		if (r != cases[i].expect)
			fail_msg("%s (verb %d): %d, expected %d (%s)",
				 cases[i].mode, (int)cases[i].v, r,
				 cases[i].expect, rr_etcd_last_error(e));
		if (r < 0)
			assert_true(strlen(rr_etcd_last_error(e)) > 0);
	}
	rr_etcd_free(e);
}

/* What rr_etcd_open refuses. */
static void test_bad_config(void **state)
{
	static const char *bad[] = {
		"http://10.0.0.1:2379",     /* plain http off loopback */
		"https://127.0.0.1:2379/v3", /* a path */
		"ftp://127.0.0.1:2379",
		"https://user@127.0.0.1:2379",
		"https://",
		"127.0.0.1:2379",
	};
	const char *mixed[2] = { "http://127.0.0.1:1", "https://example.org:2379" };
	const char *loop[2] = { "http://127.0.0.1:1", "http://[::1]:2/" };
	rr_etcd_cfg cfg = { .n_endpoints = 1 };
	rr_etcd *e = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg.endpoints = &bad[i];
		if (rr_etcd_open(&cfg, &e) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
	}
	cfg.endpoints = NULL;
	assert_int_equal(rr_etcd_open(&cfg, &e), -EINVAL);
	cfg.endpoints = mixed;
	cfg.n_endpoints = 2;
	assert_int_equal(rr_etcd_open(&cfg, &e), -EINVAL);
	cfg.endpoints = loop;
	assert_int_equal(rr_etcd_open(&cfg, &e), 0);
	rr_etcd_free(e);
	cfg.user = "u"; /* a user without a password file */
	assert_int_equal(rr_etcd_open(&cfg, &e), -EINVAL);
	cfg.password_file = "/nonexistent/password";
	assert_int_equal(rr_etcd_open(&cfg, &e), -ENOENT);
	cfg.user = NULL;
	cfg.cert = "/etc/cert.pem"; /* a certificate without its key */
	assert_int_equal(rr_etcd_open(&cfg, &e), -EINVAL);
	rr_etcd_free(NULL);
}

static void test_prefix_end(void **state)
{
	unsigned char end[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(rr_etcd_prefix_end("/a/", 3, end, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(end, "/a0", 3);
	assert_int_equal(rr_etcd_prefix_end("a\xff\xff", 3, end, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(end, "b", 1);
	assert_int_equal(rr_etcd_prefix_end("\xff", 1, end, &n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_prefix_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
