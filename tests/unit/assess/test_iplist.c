/* SPDX-License-Identifier: BSD-3-Clause */
/* rr_iplist: parsing, merging of overlapping ranges, O(log n) lookups. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rr_iplist.h"

static rr_iplist *parse(const char *text)
{
	rr_iplist *l = NULL;
	unsigned bad = 0;

	assert_int_equal(rr_iplist_parse(text, strlen(text), &l, &bad), 0);
	return l;
}

static bool has(const rr_iplist *l, const char *ip)
{
	rr_addr a;

	assert_int_equal(rr_addr_parse(ip, &a), 0);
	return rr_iplist_contains(l, &a);
}

static void test_lookup_edges(void **state)
{
	static const struct {
		const char *ip;
		bool in;
	} rows[] = {
		{ "192.0.2.255", false }, { "192.0.3.0", true },
		{ "192.0.3.255", true },  { "192.0.4.0", false },
		{ "203.0.113.9", true },  { "203.0.113.8", false },
		{ "203.0.113.10", false },{ "10.255.255.255", true },
		{ "11.0.0.0", false },    { "9.255.255.255", false },
		{ "2001:db8::", true },   { "2001:db8:ffff:ffff::1", true },
		{ "2001:db9::", false },  { "::ffff:203.0.113.9", true },
		{ "::1", false },
	};
	rr_iplist *l = parse("# comment line\n"
			     "\n"
			     "192.0.3.0/24   # trailing comment\n"
			     "  203.0.113.9\n"
			     "10.0.0.0/8\r\n"
			     "10.1.0.0/16\n" /* inside 10/8: merged */
			     "2001:db8::/32\n");
	size_t i;

	(void)state;
	assert_int_equal(rr_iplist_size(l), 4);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (has(l, rows[i].ip) != rows[i].in)
			fail_msg("%s: expected %s", rows[i].ip,
				 rows[i].in ? "in" : "out");
	rr_iplist_free(l);
}

static void test_adjacent_and_overlapping_merge(void **state)
{
	rr_iplist *l = parse("10.0.0.0/25\n10.0.0.128/25\n10.0.0.5\n"
			     "10.0.1.0/24\n0.0.0.0/1\n");

	(void)state;
	/* all of 0.0.0.0/1 swallows 10.x: one range */
	assert_int_equal(rr_iplist_size(l), 1);
	assert_true(has(l, "127.255.255.255"));
	assert_false(has(l, "128.0.0.0"));
	rr_iplist_free(l);
	l = parse("::/0\n0.0.0.0/0\n");
	assert_true(has(l, "255.255.255.255"));
	assert_true(has(l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	rr_iplist_free(l);
}

static void test_bad_lines(void **state)
{
	static const char *bad[] = {
		"10.0.0.1\nnot-an-ip\n", "10.0.0.1\n\n10.0.0.1/33\n",
		"10.0.0.1/8\n", "1.2.3.4 5.6.7.8\n",
	};
	static const unsigned line[] = { 2, 3, 1, 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rr_iplist *l = NULL;
		unsigned at = 0;

		assert_int_equal(rr_iplist_parse(bad[i], strlen(bad[i]), &l,
						 &at), -EINVAL);
		assert_null(l);
		assert_int_equal(at, line[i]);
	}
}

static void test_empty_list(void **state)
{
	rr_iplist *l = parse("# nothing\n");

	(void)state;
	assert_int_equal(rr_iplist_size(l), 0);
	assert_false(has(l, "10.0.0.1"));
	rr_iplist_free(l);
	rr_iplist_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_edges),
		cmocka_unit_test(test_adjacent_and_overlapping_merge),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_empty_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
