/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for rr_types: vocabulary names, addresses and CIDR ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "rr_types.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- vocabulary ---------------------------------------------------------- */

static const char *const levels[] = {"none", "low", "medium", "high"};
static const char *const states[] = {"none",          "atRisk",
				     "remediated",    "dismissed",
				     "confirmedSafe", "confirmedCompromised"};
static const char *const details[] = {
    "none",
    "userPassedMFADrivenByRiskBasedPolicy",
    "userPerformedSecuredPasswordChange",
    "adminGeneratedTemporaryPassword",
    "adminDismissedAllRiskForUser",
    "adminConfirmedUserCompromised",
    "adminConfirmedSigninSafe",
    "adminConfirmedSigninCompromised",
    "adminConfirmedAccountSafe",
};
static const char *const events[] = {
    "unfamiliarFeatures",
    "anonymizedIPAddress",
    "maliciousIPAddress",
    "passwordSpray",
    "bruteForce",
    "leakedCredentials",
    "adminConfirmedUserCompromised",
    "homeTenantUserRisk",
    "repeatedMFAFailures",
};

static void test_level_names(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(levels), RR_LEVEL__COUNT);
	for (unsigned i = 0; i < RR_LEVEL__COUNT; i++) {
		rr_level v = RR_LEVEL__COUNT;

		assert_string_equal(rr_level_name((rr_level)i), levels[i]);
		assert_int_equal(rr_level_parse(levels[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_null(rr_level_name(RR_LEVEL__COUNT));
	assert_null(rr_level_name((rr_level)-1));
}

static void test_state_names(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(states), RR_STATE__COUNT);
	for (unsigned i = 0; i < RR_STATE__COUNT; i++) {
		rr_state v = RR_STATE__COUNT;

		assert_string_equal(rr_state_name((rr_state)i), states[i]);
		assert_int_equal(rr_state_parse(states[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_null(rr_state_name(RR_STATE__COUNT));
}

static void test_detail_names(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(details), RR_DETAIL__COUNT);
	for (unsigned i = 0; i < RR_DETAIL__COUNT; i++) {
		rr_detail v = RR_DETAIL__COUNT;

		assert_string_equal(rr_detail_name((rr_detail)i), details[i]);
		assert_int_equal(rr_detail_parse(details[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_null(rr_detail_name(RR_DETAIL__COUNT));
}

static void test_event_names(void **state)
{
	(void)state;
	assert_int_equal(ARRAY_SIZE(events), RR_EVENT__COUNT);
	for (unsigned i = 0; i < RR_EVENT__COUNT; i++) {
		rr_event v = RR_EVENT__COUNT;

		assert_string_equal(rr_event_name((rr_event)i), events[i]);
		assert_int_equal(rr_event_parse(events[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_null(rr_event_name(RR_EVENT__COUNT));
}

/* Near misses must be rejected and leave *out untouched. */
static const char *const bad_names[] = {
    "",       "High",   "HIGH",       " high",  "high ", "hig",      "highx",
    "atrisk", "AtRisk", "bruteforce", "none\n", "0",     "medium\t",
};

static void test_parse_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		const char *s = bad_names[i];
		rr_level l = RR_LEVEL_MEDIUM;
		rr_state st = RR_STATE_DISMISSED;
		rr_detail d = RR_DETAIL_ADMIN_ACCOUNT_SAFE;
		rr_event e = RR_EVENT_PASSWORD_SPRAY;

		print_message("bad name '%s'\n", s);
		assert_int_equal(rr_level_parse(s, &l), -EINVAL);
		assert_int_equal(rr_state_parse(s, &st), -EINVAL);
		assert_int_equal(rr_detail_parse(s, &d), -EINVAL);
		assert_int_equal(rr_event_parse(s, &e), -EINVAL);
		assert_int_equal(l, RR_LEVEL_MEDIUM);
		assert_int_equal(st, RR_STATE_DISMISSED);
		assert_int_equal(d, RR_DETAIL_ADMIN_ACCOUNT_SAFE);
		assert_int_equal(e, RR_EVENT_PASSWORD_SPRAY);
	}
}

static void test_parse_null(void **state)
{
	rr_level l;
	rr_state st;
	rr_detail d;
	rr_event e;

	(void)state;
	assert_int_equal(rr_level_parse(NULL, &l), -EINVAL);
	assert_int_equal(rr_state_parse(NULL, &st), -EINVAL);
	assert_int_equal(rr_detail_parse(NULL, &d), -EINVAL);
	assert_int_equal(rr_event_parse(NULL, &e), -EINVAL);
	assert_int_equal(rr_level_parse("low", NULL), -EINVAL);
	assert_int_equal(rr_state_parse("none", NULL), -EINVAL);
	assert_int_equal(rr_detail_parse("none", NULL), -EINVAL);
	assert_int_equal(rr_event_parse("bruteForce", NULL), -EINVAL);
}

/* ---- addresses ----------------------------------------------------------- */

struct addr_row {
	const char *in;
	int rc;
	int family;
	const char *canon; /* rr_addr_format of the result */
};

static const struct addr_row addr_rows[] = {
    {"192.0.2.1", 0, 4, "192.0.2.1"},
    {"0.0.0.0", 0, 4, "0.0.0.0"},
    {"255.255.255.255", 0, 4, "255.255.255.255"},
    {"2001:db8::1", 0, 6, "2001:db8::1"},
    {"2001:0DB8:0:0:0:0:0:1", 0, 6, "2001:db8::1"},
    {"::", 0, 6, "::"},
    {"::1", 0, 6, "::1"},
    {"::ffff:10.0.0.1", 0, 4, "10.0.0.1"},
    {"::ffff:a00:1", 0, 4, "10.0.0.1"},
    {"::10.0.0.1", 0, 6, "::10.0.0.1"},
    {"", -EINVAL, 0, NULL},
    {"256.0.0.1", -EINVAL, 0, NULL},
    {"1.2.3", -EINVAL, 0, NULL},
    {"1.2.3.4.5", -EINVAL, 0, NULL},
    {" 1.2.3.4", -EINVAL, 0, NULL},
    {"1.2.3.4 ", -EINVAL, 0, NULL},
    {"1.2.3.4/32", -EINVAL, 0, NULL},
    {"host.example.com", -EINVAL, 0, NULL},
    {"fe80::1%eth0", -EINVAL, 0, NULL},
    {"2001:db8:::1", -EINVAL, 0, NULL},
};

static void test_addr_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(addr_rows); i++) {
		const struct addr_row *r = &addr_rows[i];
		rr_addr a = {.family = 99};
		char buf[64];

		print_message("addr '%s'\n", r->in);
		assert_int_equal(rr_addr_parse(r->in, &a), r->rc);
		if (r->rc != 0) {
			assert_int_equal(a.family, 99);
			continue;
		}
		assert_int_equal(a.family, r->family);
		rr_addr_format(&a, buf, sizeof(buf));
		assert_string_equal(buf, r->canon);
	}
}

static void test_addr_parse_null_and_long(void **state)
{
	char longs[200];
	rr_addr a;

	(void)state;
	assert_int_equal(rr_addr_parse(NULL, &a), -EINVAL);
	assert_int_equal(rr_addr_parse("1.2.3.4", NULL), -EINVAL);
	memset(longs, '0', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_int_equal(rr_addr_parse(longs, &a), -EINVAL);
}

static void test_addr_format_edges(void **state)
{
	rr_addr a;
	char buf[8] = "xxxxxxx";
	char big[64] = "junk";

	(void)state;
	assert_int_equal(rr_addr_parse("2001:db8::1", &a), 0);
	rr_addr_format(&a, buf, 4); /* too short: empty, not truncated */
	assert_string_equal(buf, "");
	a.family = 5;
	rr_addr_format(&a, big, sizeof(big));
	assert_string_equal(big, "");
	rr_addr_format(NULL, big, sizeof(big));
	assert_string_equal(big, "");
	rr_addr_format(&a, NULL, 0); /* must not crash */
}

/* ---- CIDR ---------------------------------------------------------------- */

struct cidr_row {
	const char *in;
	int rc;
	int family;
	int prefix;
	const char *base;
};

static const struct cidr_row cidr_rows[] = {
    {"10.0.0.0/8", 0, 4, 8, "10.0.0.0"},
    {"192.0.2.1", 0, 4, 32, "192.0.2.1"},
    {"192.0.2.1/32", 0, 4, 32, "192.0.2.1"},
    {"0.0.0.0/0", 0, 4, 0, "0.0.0.0"},
    {"10.128.0.0/9", 0, 4, 9, "10.128.0.0"},
    {"2001:db8::/32", 0, 6, 32, "2001:db8::"},
    {"2001:db8::1", 0, 6, 128, "2001:db8::1"},
    {"2001:db8::1/128", 0, 6, 128, "2001:db8::1"},
    {"::/0", 0, 6, 0, "::"},
    {"::ffff:10.0.0.1", 0, 4, 32, "10.0.0.1"},
    {"::ffff:10.0.0.0/104", 0, 4, 8, "10.0.0.0"},
    {"::ffff:10.0.0.0/96", -EINVAL, 0, 0, NULL}, /* host bits */
    {"::ffff:0.0.0.0/96", 0, 4, 0, "0.0.0.0"},
    {"::ffff:10.0.0.0/95", -EINVAL, 0, 0, NULL},
    {"10.0.0.1/8", -EINVAL, 0, 0, NULL},     /* host bits */
    {"10.128.0.0/8", -EINVAL, 0, 0, NULL},   /* host bits */
    {"2001:db8::1/64", -EINVAL, 0, 0, NULL}, /* host bits */
    {"1.2.3.4/33", -EINVAL, 0, 0, NULL},
    {"2001:db8::/129", -EINVAL, 0, 0, NULL},
    {"1.2.3.4/", -EINVAL, 0, 0, NULL},
    {"/8", -EINVAL, 0, 0, NULL},
    {"/", -EINVAL, 0, 0, NULL},
    {"", -EINVAL, 0, 0, NULL},
    {" 1.2.3.4", -EINVAL, 0, 0, NULL},
    {"1.2.3.4 ", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/ 24", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/24\n", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/+24", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/-24", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/24x", -EINVAL, 0, 0, NULL},
    {"10.0.0.0/0:", -EINVAL, 0, 0, NULL}, /* ':' is not a digit */
    {"::/1:", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/0x18", -EINVAL, 0, 0, NULL},
    {"1.2.3.0/24/24", -EINVAL, 0, 0, NULL},
    {"0.0.0.0/0024", -EINVAL, 0, 0, NULL},
    {"1.2.3.4/4294967328", -EINVAL, 0, 0, NULL}, /* 2^32 + 32 */
    {"office", -EINVAL, 0, 0, NULL},
    {"1.2.3.4/32 ", -EINVAL, 0, 0, NULL},
};

static void check_cidr_row(const struct cidr_row *r)
{
	rr_cidr c = {.prefix = 77};
	char buf[64];

	print_message("cidr '%s'\n", r->in);
	assert_int_equal(rr_cidr_parse(r->in, &c), r->rc);
	if (r->rc != 0) {
		assert_int_equal(c.prefix, 77);
		return;
	}
	assert_int_equal(c.base.family, r->family);
	assert_int_equal(c.prefix, r->prefix);
	rr_addr_format(&c.base, buf, sizeof(buf));
	assert_string_equal(buf, r->base);
}

static void test_cidr_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cidr_rows); i++)
		check_cidr_row(&cidr_rows[i]);
}

static void test_cidr_parse_limits(void **state)
{
	char s[100];
	rr_cidr c;

	(void)state;
	assert_int_equal(rr_cidr_parse(NULL, &c), -EINVAL);
	assert_int_equal(rr_cidr_parse("10.0.0.0/8", NULL), -EINVAL);
	/* 64 chars is the limit; build "0:0:...::/0" style long inputs */
	memset(s, 0, sizeof(s));
	strcpy(s, "0000:0000:0000:0000:0000:0000:0000:0000/0");
	assert_int_equal(rr_cidr_parse(s, &c), 0);
	memset(s, '0', 65);
	s[65] = '\0';
	memcpy(s, "0.0.0.0/", 8); /* "0.0.0.0/000...0", 65 chars */
	assert_int_equal(rr_cidr_parse(s, &c), -EINVAL);
}

struct contains_row {
	const char *cidr;
	const char *addr;
	bool in;
};

static const struct contains_row contains_rows[] = {
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"10.128.0.0/9", "10.128.0.1", true},
    {"10.128.0.0/9", "10.127.255.255", false},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "10.0.0.1", false},
    {"::/0", "::ffff:10.0.0.1", false}, /* mapped is IPv4 */
    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
    {"192.0.2.7/32", "192.0.2.7", true},
    {"192.0.2.7/32", "192.0.2.6", false},
    {"2001:db8::/32", "2001:db8:ffff::1", true},
    {"2001:db8::/32", "2001:db9::", false},
    {"2001:db8:1::1/128", "2001:db8:1::1", true},
    {"2001:db8:1::1/128", "2001:db8:1::", false},
    {"2001:db8::/31", "2001:db9::1", true},
    {"2001:db8::/33", "2001:db8:8000::", false},
};

static void test_cidr_contains(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(contains_rows); i++) {
		const struct contains_row *r = &contains_rows[i];
		rr_cidr c;
		rr_addr a;

		print_message("%s in %s\n", r->addr, r->cidr);
		assert_int_equal(rr_cidr_parse(r->cidr, &c), 0);
		assert_int_equal(rr_addr_parse(r->addr, &a), 0);
		assert_int_equal(rr_cidr_contains(&c, &a), r->in);
	}
}

static void test_cidr_contains_null(void **state)
{
	rr_cidr c;
	rr_addr a;

	(void)state;
	assert_int_equal(rr_cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(rr_addr_parse("1.2.3.4", &a), 0);
	assert_false(rr_cidr_contains(NULL, &a));
	assert_false(rr_cidr_contains(&c, NULL));
}

static int cmp_of(const char *x, const char *y)
{
	rr_cidr a, b;

	assert_int_equal(rr_cidr_parse(x, &a), 0);
	assert_int_equal(rr_cidr_parse(y, &b), 0);
	return rr_cidr_cmp(&a, &b);
}

static void test_cidr_cmp(void **state)
{
	(void)state;
	assert_int_equal(cmp_of("10.0.0.0/8", "10.0.0.0/8"), 0);
	assert_int_equal(cmp_of("10.0.0.0/8", "10.0.0.0/16"), -1);
	assert_int_equal(cmp_of("10.0.0.0/16", "10.0.0.0/8"), 1);
	assert_int_equal(cmp_of("9.0.0.0/8", "10.0.0.0/8"), -1);
	assert_int_equal(cmp_of("255.0.0.0/8", "::/0"), -1); /* family 4 < 6 */
	assert_int_equal(cmp_of("::/0", "0.0.0.0/0"), 1);
	assert_int_equal(cmp_of("2001:db8::/32", "2001:db9::/32"), -1);
	assert_int_equal(cmp_of("2001:db9::/32", "2001:db8::/32"), 1);
	assert_int_equal(cmp_of("::ffff:10.0.0.1", "10.0.0.1"), 0);
}

struct netkey_row {
	const char *addr;
	const char *key;
};

static const struct netkey_row netkey_rows[] = {
    {"203.0.113.77", "203.0.113.0/24"},
    {"203.0.113.0", "203.0.113.0/24"},
    {"10.1.2.255", "10.1.2.0/24"},
    {"::ffff:198.51.100.9", "198.51.100.0/24"},
    {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
    {"2001:db8:1:2::", "2001:db8:1:2::/64"},
    {"2001:db8::1", "2001:db8::/64"},
    {"::1", "::/64"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64"},
};

static void test_netkey(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(netkey_rows); i++) {
		char buf[RR_NETKEY_MAX];
		rr_addr a;

		print_message("netkey %s\n", netkey_rows[i].addr);
		assert_int_equal(rr_addr_parse(netkey_rows[i].addr, &a), 0);
		memset(buf, 'x', sizeof(buf));
		rr_addr_netkey(&a, buf, sizeof(buf));
		assert_string_equal(buf, netkey_rows[i].key);
	}
}

static void test_netkey_edges(void **state)
{
	char buf[RR_NETKEY_MAX] = "junk";
	char small[10] = "junk";
	rr_addr a;

	(void)state;
	assert_int_equal(rr_addr_parse("203.0.113.77", &a), 0);
	rr_addr_netkey(&a, small, sizeof(small)); /* would truncate */
	assert_string_equal(small, "");
	rr_addr_netkey(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	strcpy(buf, "junk");
	a.family = 0;
	rr_addr_netkey(&a, buf, sizeof(buf));
	assert_string_equal(buf, "");
	rr_addr_netkey(&a, NULL, 0); /* must not crash */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_names),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test(test_detail_names),
	    cmocka_unit_test(test_event_names),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_parse_null),
	    cmocka_unit_test(test_addr_parse),
	    cmocka_unit_test(test_addr_parse_null_and_long),
	    cmocka_unit_test(test_addr_format_edges),
	    cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_parse_limits),
	    cmocka_unit_test(test_cidr_contains),
	    cmocka_unit_test(test_cidr_contains_null),
	    cmocka_unit_test(test_cidr_cmp),
	    cmocka_unit_test(test_netkey),
	    cmocka_unit_test(test_netkey_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
