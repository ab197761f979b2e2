/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LIST.idx: compiled lookups give the same answers as the parsed text
 * (property test, fixed seed), a changed text makes the index stale, a
 * damaged or untrusted index is ignored (fail-safe: the text decides).
 * Runs as root or skips: lists must be root-owned.
 */
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_iplist.h"

#define SEED 20261125u
#define HEADER 128

static char g_dir[64];
static char g_list[PATH_MAX];
static char g_idx[PATH_MAX];

static uint32_t g_rng;

static uint32_t rnd(void)
{
	/* xorshift32: fixed sequence for a fixed seed on every libc */
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 17;
	g_rng ^= g_rng << 5;
	return g_rng;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(close(fd), 0);
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(g_dir, sizeof(g_dir), "/tmp/rr-iplist-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_list, sizeof(g_list), "%s/bad.list", g_dir);
	return rr_iplist_index_path(g_list, g_idx, sizeof(g_idx));
}

static int rm_entry(const char *p, const struct stat *st, int f,
		    struct FTW *w)
{
	(void)st;
	(void)f;
	(void)w;
	return remove(p);
}

static int teardown(void **state)
{
	(void)state;
	if (g_dir[0])
		nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void need_root(void)
{
	if (geteuid() != 0)
		skip();
}

static rr_addr addr(const char *s)
{
	rr_addr a;

	assert_int_equal(rr_addr_parse(s, &a), 0);
	return a;
}

static bool lookup(const char *ip, unsigned *flags)
{
	rr_addr a = addr(ip);
	bool hit = false;

	*flags = 0;
	assert_int_equal(rr_iplist_lookup(g_list, &a, &hit, flags), 0);
	return hit;
}

/* A random CIDR line; the base is aligned to its prefix. */
static void random_cidr(char *buf, size_t len)
{
	if (rnd() % 4) {
		unsigned p = 8 + rnd() % 25;
		uint32_t v = rnd() & (p == 32 ? 0xffffffffu
					      : ~(0xffffffffu >> p));

		snprintf(buf, len, "%u.%u.%u.%u/%u", v >> 24, (v >> 16) & 255,
			 (v >> 8) & 255, v & 255, p);
	} else {
		unsigned p = 16 + rnd() % 49; /* within the first 64 bits */
		uint64_t v = ((uint64_t)rnd() << 32 | rnd()) &
			     (p == 64 ? ~0ull : ~(~0ull >> p));

		snprintf(buf, len, "%x:%x:%x:%x::/%u",
			 (unsigned)(v >> 48), (unsigned)(v >> 32) & 0xffff,
			 (unsigned)(v >> 16) & 0xffff, (unsigned)v & 0xffff,
			 p);
	}
}

/* A random probe: near an earlier line's base, or anywhere. */
static void random_probe(char lines[][64], size_t n, rr_addr *a)
{
	char base[64], *slash;
	size_t i;

	if (rnd() % 2 == 0) {
		snprintf(base, sizeof(base), "%s", lines[rnd() % n]);
		slash = strchr(base, '/');
		if (slash)
			*slash = '\0';
		*a = addr(base);
		/* step just below, at, or just above the base */
		i = a->family == 4 ? 3 : 7;
		a->bytes[i] = (uint8_t)(a->bytes[i] + (int)(rnd() % 3) - 1);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->family = rnd() % 4 ? 4 : 6;
	for (i = 0; i < (a->family == 4 ? 4u : 8u); i++)
		a->bytes[i] = (uint8_t)rnd();
}

static void property_round(size_t n_lines, size_t n_probes)
{
	static char lines[2000][64];
	rr_iplist *parsed = NULL;
	rr_iplist_index *x = NULL;
	char *text = calloc(n_lines, 64);
	size_t i, used = 0, n = 0, hits = 0;
	unsigned bad = 0;

	assert_non_null(text);
	for (i = 0; i < n_lines; i++) {
		random_cidr(lines[i], sizeof(lines[i]));
		used += (size_t)snprintf(text + used, n_lines * 64 - used,
					 "%s%s\n", lines[i],
					 i % 7 == 0 ? "  # note" : "");
	}
	write_text(g_list, text);
	assert_int_equal(rr_iplist_parse(text, used, &parsed, &bad), 0);
	assert_int_equal(rr_iplist_compile(g_list, &n, &bad), 0);
	assert_int_equal(n, rr_iplist_size(parsed));
	assert_int_equal(rr_iplist_index_verify(g_list), 0);
	assert_int_equal(rr_iplist_index_open(g_list, &x), 0);
	for (i = 0; i < n_probes; i++) {
		rr_addr a;
		bool want, got, via_lookup = false;
		unsigned flags = 0;

		random_probe(lines, n_lines, &a);
		want = rr_iplist_contains(parsed, &a);
		got = rr_iplist_index_contains(x, &a);
		assert_int_equal(rr_iplist_lookup(g_list, &a, &via_lookup,
						  &flags), 0);
		if (want != got || want != via_lookup || flags) {
			char s[64];

			rr_addr_format(&a, s, sizeof(s));
			fail_msg("%s: text %d index %d lookup %d flags %u", s,
				 want, got, via_lookup, flags);
		}
		hits += want;
	}
	/* the probes exercise both answers */
	assert_true(hits > n_probes / 20 && hits < n_probes - n_probes / 20);
	rr_iplist_index_close(x);
	rr_iplist_free(parsed);
	free(text);
}

static void test_index_matches_text(void **state)
{
	static const size_t sizes[] = { 1, 2, 17, 300, 2000 };
	size_t i;

	(void)state;
	need_root();
	g_rng = SEED;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		property_round(sizes[i], 4000);
}

/* Without an index the text answers, and the caller is told. */
static void test_missing_index_falls_back(void **state)
{
	unsigned flags;

	(void)state;
	need_root();
	write_text(g_list, "192.0.2.0/24\n2001:db8::/32\n");
	unlink(g_idx);
	assert_true(lookup("192.0.2.7", &flags));
	assert_int_equal(flags, RR_IPLIST_IDX_MISSING);
	assert_false(lookup("192.0.3.1", &flags));
	assert_true(lookup("2001:db8::1", &flags));
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), 0);
	assert_true(lookup("192.0.2.7", &flags));
	assert_int_equal(flags, 0);
	assert_false(lookup("192.0.3.1", &flags));
	assert_int_equal(flags, 0);
}

static void test_changed_text_is_stale(void **state)
{
	struct timespec times[2];
	struct stat st;
	rr_iplist_index *x = NULL;
	unsigned flags;

	(void)state;
	need_root();
	write_text(g_list, "192.0.2.0/24\n");
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), 0);
	assert_int_equal(stat(g_list, &st), 0);
	/* same size, mtime put back: only ctime (and content) differ */
	write_text(g_list, "192.0.9.0/24\n");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, g_list, times, 0), 0);
	assert_int_equal(rr_iplist_index_open(g_list, &x), -ESTALE);
	assert_null(x);
	assert_false(lookup("192.0.2.7", &flags));
	assert_int_equal(flags, RR_IPLIST_IDX_STALE);
	assert_true(lookup("192.0.9.9", &flags));
	/* replaced by rename: new inode */
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), 0);
	assert_true(lookup("192.0.9.9", &flags));
	assert_int_equal(flags, 0);
}

static void corrupt(off_t at, const void *bytes, size_t len)
{
	int fd = open(g_idx, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, at), (ssize_t)len);
	close(fd);
}

static void check_fallback(unsigned want_flags)
{
	unsigned flags;

	assert_true(lookup("203.0.113.5", &flags));
	assert_int_equal(flags, want_flags);
	assert_false(lookup("203.0.114.5", &flags));
	assert_int_equal(flags, want_flags);
}

static void recompile(void)
{
	unlink(g_idx);
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), 0);
}

static void test_damaged_index_falls_back(void **state)
{
	char real[PATH_MAX];
	struct stat st;
	uint64_t huge = UINT64_MAX;

	(void)state;
	need_root();
	write_text(g_list, "203.0.113.0/24\n10.0.0.0/8\n");
	recompile();
	check_fallback(0);
	corrupt(0, "XXXX", 4); /* magic */
	assert_int_equal(rr_iplist_index_open(g_list, &(rr_iplist_index *){
						   NULL}), -EBADMSG);
	check_fallback(RR_IPLIST_IDX_BAD);
	recompile();
	assert_int_equal(stat(g_idx, &st), 0);
	assert_int_equal(truncate(g_idx, st.st_size - 1), 0);
	check_fallback(RR_IPLIST_IDX_BAD);
	assert_int_equal(truncate(g_idx, 10), 0);
	check_fallback(RR_IPLIST_IDX_BAD);
	recompile();
	corrupt(56, &huge, sizeof(huge)); /* count */
	check_fallback(RR_IPLIST_IDX_BAD);
	/* untrusted: group-writable, or a symlink */
	recompile();
	assert_int_equal(chmod(g_idx, 0664), 0);
	check_fallback(RR_IPLIST_IDX_BAD);
	recompile();
	snprintf(real, sizeof(real), "%s/real.idx", g_dir);
	assert_int_equal(rename(g_idx, real), 0);
	assert_int_equal(symlink(real, g_idx), 0);
	check_fallback(RR_IPLIST_IDX_BAD);
	unlink(real);
	recompile();
	check_fallback(0);
}

/* A damaged range or a foreign text hash passes the O(1) open but not the
 * O(n) verification that riskctl runs. */
static void test_verify(void **state)
{
	uint8_t b = 9;

	(void)state;
	need_root();
	write_text(g_list, "203.0.113.0/24\n10.0.0.0/8\n");
	recompile();
	assert_int_equal(rr_iplist_index_verify(g_list), 0);
	corrupt(HEADER, &b, 1); /* family of the first range */
	assert_int_equal(rr_iplist_index_verify(g_list), -EBADMSG);
	recompile();
	corrupt(70, &b, 1); /* text hash */
	assert_int_equal(rr_iplist_index_verify(g_list), -ESTALE);
	unlink(g_idx);
	assert_int_equal(rr_iplist_index_verify(g_list), -ENOENT);
}

/* The text keeps its own errors; no index is written for a bad text. */
static void test_text_errors(void **state)
{
	rr_addr a = addr("10.0.0.1");
	unsigned bad = 0, flags = 0;
	bool hit = true;
	char longp[PATH_MAX + 8], out[PATH_MAX];

	(void)state;
	need_root();
	unlink(g_idx);
	write_text(g_list, "10.0.0.1\nnot-an-ip\n");
	assert_int_equal(rr_iplist_compile(g_list, NULL, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(access(g_idx, F_OK), -1);
	assert_int_equal(rr_iplist_lookup(g_list, &a, &hit, &flags), -EINVAL);
	unlink(g_list);
	assert_int_equal(rr_iplist_lookup(g_list, &a, &hit, &flags), -ENOENT);
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), -ENOENT);
	write_text(g_list, "10.0.0.1\n");
	assert_int_equal(chmod(g_list, 0666), 0);
	assert_int_equal(rr_iplist_lookup(g_list, &a, &hit, &flags), -EPERM);
	assert_int_equal(rr_iplist_compile(g_list, NULL, NULL), -EPERM);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(rr_iplist_index_path(longp, out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_string_equal(rr_iplist_index_problem(RR_IPLIST_IDX_STALE),
			    "index is stale (the list changed since it was "
			    "compiled)");
}

static void test_empty_list(void **state)
{
	unsigned flags;
	size_t n = 99;

	(void)state;
	need_root();
	write_text(g_list, "# nothing yet\n");
	assert_int_equal(rr_iplist_compile(g_list, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_false(lookup("10.0.0.1", &flags));
	assert_int_equal(flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_matches_text),
		cmocka_unit_test(test_missing_index_falls_back),
		cmocka_unit_test(test_changed_text_is_stale),
		cmocka_unit_test(test_damaged_index_falls_back),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_text_errors),
		cmocka_unit_test(test_empty_list),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
