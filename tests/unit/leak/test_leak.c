/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials without a network: SHA-1, the local hash file (binary
 * search counted through rr_leak_stats), range bodies, URLs and the range
 * cache (a fresh cached copy answers without any request).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_leak.h"

static char g_dir[64];

static void path_in(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", g_dir, name);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[128];
	int fd;

	path_in(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int lookup(const char *name, const char *hash, rr_leak_stats *st,
		  bool *found)
{
	char path[128];

	path_in(path, sizeof(path), name);
	*found = false;
	return rr_leak_file_lookup(path, hash, st, found);
}

/* ---- SHA-1 ------------------------------------------------------------- */

static void test_sha1_known(void **state)
{
	static const struct {
		const char *in;
		const char *hex;
	} t[] = {
		{ "password", "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" },
		{ "", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709" },
		{ "abc", "A9993E364706816ABA3E25717850C26C9CD0D89D" },
		{ "P@ssw0rd", "21BD12DC183F740EE76F27B78EB39C8AD972A757" },
	};
	char hex[RR_LEAK_HASH_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(hex, 'x', sizeof(hex));
		assert_int_equal(rr_leak_sha1_hex(t[i].in, strlen(t[i].in),
						  hex), 0);
		assert_string_equal(hex, t[i].hex);
	}
}

/* ---- local hash file --------------------------------------------------- */

#define H_FIRST "0000000000000000000000000000000000000001"
#define H_A1 "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD7"
#define H_PW "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" /* "password" */
#define H_A3 "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD9"
#define H_MID "7000000000000000000000000000000000000000"
#define H_PAD "8000000000000000000000000000000000000000"
#define H_LAST "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"

static void test_file_lookups(void **state)
{
	static const struct {
		const char *file;
		const char *text;
	} files[] = {
		{ "counts", H_FIRST ":3\n" H_A1 ":1\n" H_PW ":3861493\n"
			    H_A3 ":2\n" H_MID ":9\n" H_PAD ":0\n"
			    H_LAST ":1\n" },
		{ "plain", H_FIRST "\n" H_A1 "\n" H_PW "\n" H_A3 "\n" H_MID
			   "\n" H_LAST "\n" },
		{ "crlf", H_FIRST ":3\r\n" H_A1 "\r\n" H_PW ":2\r\n" H_A3
			  "\r\n" H_MID ":1\r\n" H_LAST ":1\r\n" },
		{ "no-final-newline", H_FIRST "\n" H_A1 "\n" H_PW "\n" H_A3
				      "\n" H_MID "\n" H_LAST },
	};
	static const struct {
		const char *hash;
		bool found;
	} t[] = {
		{ H_FIRST, true },
		{ H_LAST, true },
		{ H_PW, true },
		{ H_A1, true },  /* neighbours sharing 39 characters */
		{ H_A3, true },
		{ H_MID, true },
		{ "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD6", false },
		{ "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FDA", false },
		{ "0000000000000000000000000000000000000000", false },
		{ "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE", false },
		{ "6000000000000000000000000000000000000000", false },
	};
	size_t i, j;
	bool found;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		write_file(files[i].file, files[i].text, 0644);
		for (j = 0; j < sizeof(t) / sizeof(t[0]); j++) {
			assert_int_equal(lookup(files[i].file, t[j].hash, NULL,
						&found), 0);
			if (found != t[j].found)
				fail_msg("%s: %s found=%d", files[i].file,
					 t[j].hash, found);
		}
	}
	/* count 0 is padding: listed, but not a leak */
	assert_int_equal(lookup("counts", H_PAD, NULL, &found), 0);
	assert_false(found);
	/* single-line and empty files */
	write_file("one", H_PW "\n", 0644);
	assert_int_equal(lookup("one", H_PW, NULL, &found), 0);
	assert_true(found);
	assert_int_equal(lookup("one", H_A1, NULL, &found), 0);
	assert_false(found);
	write_file("empty", "", 0644);
	assert_int_equal(lookup("empty", H_PW, NULL, &found), 0);
	assert_false(found);
}

static void test_file_malformed(void **state)
{
	static const char *const bad[] = {
		"hello world\n",
		H_FIRST ":1\n" H_PW ":x\n" H_LAST ":1\n",
		"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8\n",  /* lowercase */
		"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD\n",   /* 39 chars */
		H_PW " 12\n",
		H_PW ":123456789012345678901\n",               /* 21 digits */
		"\n\n\n\n",
		H_FIRST ":1\n\n" H_LAST ":1\n",
	};
	char longline[400];
	bool found;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("bad", bad[i], 0644);
		found = true;
		if (lookup("bad", H_PW, NULL, &found) != -EPROTO)
			fail_msg("malformed file %zu accepted", i);
	}
	/* a line longer than RR_LEAK_LINE_MAX */
	memset(longline, '7', sizeof(longline) - 2);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	write_file("bad", longline, 0644);
	assert_int_equal(lookup("bad", H_PW, NULL, &found), -EPROTO);
	/* not a hash */
	write_file("ok", H_PW "\n", 0644);
	assert_int_equal(lookup("ok",
				"5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8",
				NULL, &found), -EINVAL);
	assert_int_equal(lookup("ok", "5BAA", NULL, &found), -EINVAL);
}

static void test_file_trust(void **state)
{
	char path[128], link[128];
	bool found;

	(void)state;
	write_file("gw", H_PW "\n", 0664);
	assert_int_equal(lookup("gw", H_PW, NULL, &found), -EPERM);
	write_file("ok", H_PW "\n", 0644);
	path_in(path, sizeof(path), "ok");
	path_in(link, sizeof(link), "link");
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(lookup("link", H_PW, NULL, &found), -ELOOP);
	assert_int_equal(lookup("missing", H_PW, NULL, &found), -ENOENT);
}

/* 1,000,000 sorted lines, some with ":count": every lookup takes at most
 * ceil(log2(size)) + 1 probes of one pread() each. */
#define BIG_N 1000000u
#define BIG_STEP (UINT64_MAX / BIG_N)

static void big_hash(uint64_t i, uint64_t delta, char *out)
{
	snprintf(out, RR_LEAK_HASH_LEN + 1, "%016" PRIX64 "%024" PRIX64,
		 i * BIG_STEP + delta, i % 7);
}

static void test_file_million(void **state)
{
	static const uint64_t probes[] = { 0, 1, 2, 499999, 500000, 777777,
					   BIG_N - 2, BIG_N - 1 };
	char path[128], hash[RR_LEAK_HASH_LEN + 1];
	rr_leak_stats st;
	struct stat sb;
	unsigned bound;
	bool found;
	uint64_t i;
	FILE *f;

	(void)state;
	path_in(path, sizeof(path), "million");
	f = fopen(path, "we");
	assert_non_null(f);
	for (i = 0; i < BIG_N; i++) {
		big_hash(i, 0, hash);
		if (i % 3)
			fprintf(f, "%s:%" PRIu64 "\n", hash, i % 1000 + 1);
		else
			fprintf(f, "%s\n", hash);
	}
	assert_int_equal(fclose(f), 0);
	assert_int_equal(stat(path, &sb), 0);
	bound = (unsigned)ceil(log2((double)sb.st_size)) + 1;
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		memset(&st, 0, sizeof(st));
		big_hash(probes[i], 0, hash);
		assert_int_equal(lookup("million", hash, &st, &found), 0);
		assert_true(found);
		assert_true(st.file_compares >= 1);
		if (st.file_compares > bound || st.file_reads > bound)
			fail_msg("%" PRIu64 " compares, %" PRIu64
				 " reads (bound %u)", st.file_compares,
				 st.file_reads, bound);
		/* absent, between two neighbours */
		memset(&st, 0, sizeof(st));
		big_hash(probes[i], 1, hash);
		assert_int_equal(lookup("million", hash, &st, &found), 0);
		assert_false(found);
		assert_true(st.file_compares <= bound &&
			    st.file_reads <= bound);
	}
	unlink(path);
}

/* ---- range bodies and URLs -------------------------------------------- */

#define SUF "1E4C9B93F3F0682250B6CF8331B7EE68FD8" /* "password" after 5BAA6 */

static void test_range_parse(void **state)
{
	static const struct {
		const char *body;
		int r;
		bool found;
	} t[] = {
		{ "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n" SUF ":3861493\r\n"
		  "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:2", 0, true },
		{ SUF ":1", 0, true },
		{ SUF ":1\n", 0, true },
		{ "1e4c9b93f3f0682250b6cf8331b7ee68fd8:5\r\n", 0, true },
		{ SUF ":0\r\n", 0, false },          /* padding */
		{ "1E4C9B93F3F0682250B6CF8331B7EE68FD9:4\r\n"
		  "1E4C9B93F3F0682250B6CF8331B7EE68FD7:4\r\n", 0, false },
		{ "", -EPROTO, false },
		{ "<html>oops</html>", -EPROTO, false },
		{ SUF "\r\n", -EPROTO, false },       /* no count */
		{ SUF ":\r\n", -EPROTO, false },
		{ SUF ":12a\r\n", -EPROTO, false },
		{ SUF ":1\r\n\r\n" SUF ":1", -EPROTO, false },
		{ "1E4C9B93F3F0682250B6CF8331B7EE68FD:1\r\n", -EPROTO, false },
		{ SUF ":1\r\nGARBAGE\r\n", -EPROTO, false },
	};
	bool found;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		found = !t[i].found;
		r = rr_leak_range_parse(t[i].body, strlen(t[i].body), SUF,
					&found);
		if (r != t[i].r || (r == 0 && found != t[i].found))
			fail_msg("body %zu: r=%d found=%d", i, r, found);
	}
}

static void test_url_check(void **state)
{
	static const struct {
		const char *url;
		int r;
	} t[] = {
		{ "https://api.pwnedpasswords.com/range/", 0 },
		{ "https://127.0.0.1:8443/range/", 0 },
		{ "http://127.0.0.1:8080/range/", 0 },
		{ "http://[::1]:8080/r/", 0 },
		{ "http://localhost/range/", 0 },
		{ "http://api.pwnedpasswords.com/range/", -EINVAL },
		{ "http://127.0.0.1.evil.example/range/", -EINVAL },
		{ "http://localhost.evil.example/", -EINVAL },
		{ "https://api.pwnedpasswords.com/range", -EINVAL },
		{ "https://user:pw@example.com/range/", -EINVAL },
		{ "https://example.com/range/?x=/", -EINVAL },
		{ "https://example.com/ra nge/", -EINVAL },
		{ "ftp://example.com/range/", -EINVAL },
		{ "https:///range/", -EINVAL },
		{ "", -EINVAL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (rr_leak_url_check(t[i].url) != t[i].r)
			fail_msg("%s: expected %d", t[i].url, t[i].r);
	assert_int_equal(rr_leak_url_check(NULL), -EINVAL);
}

/* ---- cache (no server: the port is closed) ----------------------------- */

static void test_range_cache(void **state)
{
	char cache[128], path[160];
	rr_detection_cfg cfg = {
		.enabled = true,
		.range_url = (char *)"https://127.0.0.1:1/range/",
		.timeout_ms = 1000,
		.cache_s = 3600,
	};
	rr_leak_stats st = { 0 };
	bool found = false;
	struct stat sb;

	(void)state;
	path_in(cache, sizeof(cache), "leak-cache");
	/* nothing cached: a request, refused */
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 5000, &st,
					      &found), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	assert_int_equal(stat(cache, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	/* a fresh copy answers without a request */
	write_file("leak-cache/5BAA6", "RRLEAK1 4000\n" SUF ":7\r\n", 0600);
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 5000, &st,
					      &found), 0);
	assert_true(found);
	assert_int_equal(st.range_requests, 0);
	assert_int_equal(st.cache_hits, 1);
	/* rr_leak_check reports where it was found */
	{
		rr_leak_source src = RR_LEAK_SRC_NONE;

		assert_int_equal(rr_leak_check(&cfg, cache, "password", 5000,
					       0, NULL, &src), 0);
		assert_int_equal(src, RR_LEAK_SRC_RANGE_API);
	}
	/* stale (cache_s elapsed), from the future, or not trusted: fetched */
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 4000 + 3600,
					      &st, &found), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 3999, &st,
					      &found), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	write_file("leak-cache/5BAA6", "RRLEAK1 4000\n" SUF ":7\r\n", 0666);
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 5000, &st,
					      &found), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	/* malformed copy: fetched anew */
	write_file("leak-cache/5BAA6", "RRLEAK1 4000\nnot a range\n", 0600);
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 5000, &st,
					      &found), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	assert_int_equal(st.cache_errors, 1);
	/* cache_s 0: never read */
	write_file("leak-cache/5BAA6", "RRLEAK1 4000\n" SUF ":7\r\n", 0600);
	cfg.cache_s = 0;
	memset(&st, 0, sizeof(st));
	assert_int_equal(rr_leak_range_lookup(&cfg, cache, H_PW, 5000, &st,
					      &found), -ECONNREFUSED);
	assert_int_equal(st.cache_hits, 0);
	path_in(path, sizeof(path), "leak-cache/5BAA6");
	unlink(path);
	rmdir(cache);
}

/* rr_leak_check: file first, the range only when the file has no match;
 * an error is returned only when nothing found the password. */
static void test_check_order(void **state)
{
	char file[128];
	rr_detection_cfg cfg = {
		.enabled = true,
		.range_url = (char *)"https://127.0.0.1:1/range/",
		.hash_file = file,
		.timeout_ms = 1000,
	};
	rr_leak_source src = RR_LEAK_SRC_RANGE_API;
	rr_leak_stats st = { 0 };

	(void)state;
	path_in(file, sizeof(file), "order");
	write_file("order", H_FIRST "\n" H_PW ":5\n", 0644);
	assert_int_equal(rr_leak_check(&cfg, NULL, "password", 0, 0, &st,
				       &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_HASH_FILE);
	assert_int_equal(st.range_requests, 0);
	/* not in the file: the range is asked, and its failure returned */
	assert_int_equal(rr_leak_check(&cfg, NULL, "not leaked", 0, 0, &st,
				       &src), -ECONNREFUSED);
	assert_int_equal(st.range_requests, 1);
	cfg.range_url = NULL;
	assert_int_equal(rr_leak_check(&cfg, NULL, "not leaked", 0, 0, &st,
				       &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_NONE);
	cfg.hash_file = NULL;
	assert_int_equal(rr_leak_check(&cfg, NULL, "x", 0, 0, &st, &src),
			 -EINVAL);
	assert_string_equal(rr_leak_strerror(-ETIMEDOUT), "timed out");
	assert_string_equal(rr_leak_strerror(-EPROTO), "malformed data");
}

/* RR_LEAK_NO_NETWORK: the hash file alone; the range API (and its
 * cache) never touched, even when the file does not list the password. */
static void test_check_no_network(void **state)
{
	char file[128], cache[128];
	rr_detection_cfg cfg = {
		.enabled = true,
		.range_url = (char *)"https://127.0.0.1:1/range/",
		.hash_file = file,
		.timeout_ms = 1000,
		.cache_s = 3600,
	};
	rr_leak_source src = RR_LEAK_SRC_RANGE_API;
	rr_leak_stats st = { 0 };

	(void)state;
	path_in(file, sizeof(file), "nonet");
	path_in(cache, sizeof(cache), "leak-cache");
	write_file("nonet", H_FIRST "\n" H_PW ":5\n", 0644);
	assert_int_equal(rr_leak_check(&cfg, cache, "password", 0,
				       RR_LEAK_NO_NETWORK, &st, &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_HASH_FILE);
	/* not in the file: no request, no error, not found */
	src = RR_LEAK_SRC_RANGE_API;
	assert_int_equal(rr_leak_check(&cfg, cache, "not leaked", 0,
				       RR_LEAK_NO_NETWORK, &st, &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_NONE);
	assert_int_equal(st.range_requests, 0);
	assert_int_equal(st.cache_hits + st.cache_writes + st.cache_errors, 0);
	assert_int_equal(access(cache, F_OK), -1);
	/* the range API alone: nothing left to check */
	cfg.hash_file = NULL;
	assert_int_equal(rr_leak_check(&cfg, cache, "x", 0, RR_LEAK_NO_NETWORK,
				       &st, &src), -EINVAL);
	assert_int_equal(st.range_requests, 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(g_dir, sizeof(g_dir), "/tmp/rr-leak-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	return 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {
		"counts", "plain", "crlf", "no-final-newline", "one", "empty",
		"bad", "ok", "gw", "link", "million", "order", "nonet",
	};
	char path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_in(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(g_dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_sha1_known),
		T(test_file_lookups),
		T(test_file_malformed),
		T(test_file_trust),
		T(test_file_million),
		T(test_range_parse),
		T(test_url_check),
		T(test_range_cache),
		T(test_check_order),
		T(test_check_no_network),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
