/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rr_lazylib: a library loaded on first use gives callable symbols; a
 * missing library or symbol fails closed with -ELIBACC, every time, and
 * leaves no half-filled table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rr_lazylib.h"

static void test_loads_and_calls(void **state)
{
	static const char *const names[] = {"strlen", "strcmp"};
	static rr_fn fns[2];
	static rr_lazylib lib = RR_LAZYLIB("libc.so.6", names, fns);

	(void)state;
	assert_int_equal(lib.n, 2);
	assert_null(fns[0]);
	assert_int_equal(rr_lazylib_ready(&lib), 0);
	assert_non_null(fns[0]);
	assert_int_equal(((size_t (*)(const char *))fns[0])("four"), 4);
	assert_int_equal(((int (*)(const char *, const char *))fns[1])("a", "a"),
			 0);
	/* once loaded, ready again at no cost */
	assert_int_equal(rr_lazylib_ready(&lib), 0);
}

static void test_missing_library(void **state)
{
	static const char *const names[] = {"anything"};
	static rr_fn fns[1];
	static rr_lazylib lib =
	    RR_LAZYLIB("librr-no-such-library.so.9", names, fns);

	(void)state;
	assert_int_equal(rr_lazylib_ready(&lib), -ELIBACC);
	assert_int_equal(rr_lazylib_ready(&lib), -ELIBACC); /* remembered */
	assert_null(fns[0]);
}

static void test_missing_symbol(void **state)
{
	static const char *const names[] = {"strlen", "rr_no_such_symbol"};
	static rr_fn fns[2];
	static rr_lazylib lib = RR_LAZYLIB("libc.so.6", names, fns);

	(void)state;
	assert_int_equal(rr_lazylib_ready(&lib), -ELIBACC);
	/* no half-filled table: nothing callable */
	assert_null(fns[0]);
	assert_null(fns[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads_and_calls),
	    cmocka_unit_test(test_missing_library),
	    cmocka_unit_test(test_missing_symbol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
