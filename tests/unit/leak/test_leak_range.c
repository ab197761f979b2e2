/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The range API over real TLS, against range_server.py (a local HTTPS
 * server with a test CA that logs every request).  Run by that script,
 * which passes the server and the passwords in RR_LEAK_* variables.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_leak.h"

#define NOW 1700000000

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v)
		fail_msg("%s is not set: run this through range_server.py",
			 name);
	return v;
}

static char g_url[256];

/* cfg for base + kind + "/" */
static rr_detection_cfg cfg_for(const char *kind, const char *ca)
{
	rr_detection_cfg c = {
		.enabled = true,
		.level = RR_LEVEL_HIGH,
		.timeout_ms = 3000,
	};

	snprintf(g_url, sizeof(g_url), "%s%s/", env("RR_LEAK_BASE"), kind);
	c.range_url = g_url;
	c.ca_file = (char *)(ca ? ca : env("RR_LEAK_CA"));
	return c;
}

/* The server log from byte `from` on (malloc'd). */
static char *log_since(long from)
{
	FILE *f = fopen(env("RR_LEAK_LOG"), "re");
	char *buf;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= from);
	buf = calloc(1, (size_t)(size - from) + 1);
	assert_non_null(buf);
	assert_int_equal(fseek(f, from, SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, (size_t)(size - from), f),
			 (size_t)(size - from));
	fclose(f);
	return buf;
}

static long log_size(void)
{
	struct stat st;

	assert_int_equal(stat(env("RR_LEAK_LOG"), &st), 0);
	return (long)st.st_size;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void hash_of(const char *pw, char hex[RR_LEAK_HASH_LEN + 1])
{
	assert_int_equal(rr_leak_sha1_hex(pw, strlen(pw), hex), 0);
}

/* Check `pw` with no cache; returns rr_leak_check's result. */
static int check(const rr_detection_cfg *c, const char *pw,
		 rr_leak_source *src)
{
	*src = RR_LEAK_SRC_HASH_FILE; /* must be overwritten on success */
	return rr_leak_check(c, NULL, pw, NOW, 0, NULL, src);
}

/* ---- tests -------------------------------------------------------------- */

static void test_leaked_and_clean(void **state)
{
	rr_detection_cfg c = cfg_for("range", NULL);
	rr_leak_source src;

	(void)state;
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_RANGE_API);
	assert_int_equal(check(&c, env("RR_LEAK_PW_CLEAN"), &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_NONE);
	/* listed with count 0: padding, not a leak */
	assert_int_equal(check(&c, env("RR_LEAK_PW_PADDED"), &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_NONE);
	/* no range file: HTTP 404 */
	assert_int_equal(check(&c, env("RR_LEAK_PW_MISSING"), &src),
			 -EREMOTEIO);
}

/* Each request is exactly GET /range/<first 5 of the SHA-1>; neither the
 * rest of the hash nor the password reach the server. */
static void test_only_prefix_sent(void **state)
{
	static const char *const pws[] = { "RR_LEAK_PW_LEAKED",
					   "RR_LEAK_PW_CLEAN" };
	rr_detection_cfg c = cfg_for("range", NULL);
	char hash[RR_LEAK_HASH_LEN + 1], want[64];
	rr_leak_source src;
	regex_t re;
	size_t i;

	(void)state;
	assert_int_equal(regcomp(&re, "^REQ GET /range/[0-9A-F]{5} HTTP/1.1$",
				 REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
	for (i = 0; i < 2; i++) {
		const char *pw = env(pws[i]);
		long from = log_size();
		char *log, *line;

		assert_int_equal(check(&c, pw, &src), 0);
		log = log_since(from);
		hash_of(pw, hash);
		snprintf(want, sizeof(want), "REQ GET /range/%.5s HTTP/1.1\n",
			 hash);
		assert_int_equal(count(log, "REQ "), 1);
		assert_non_null(strstr(log, want));
		line = strstr(log, "REQ ");
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(regexec(&re, line, 0, NULL, 0), 0);
		line[strlen(line)] = '\n';
		assert_null(strstr(log, hash));
		assert_null(strstr(log, hash + RR_LEAK_PREFIX_LEN));
		assert_null(strstr(log, pw));
		assert_non_null(strstr(log, "HDR Add-Padding: true"));
		free(log);
	}
	regfree(&re);
}

static double elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	       (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* The server sleeps 3 s; the client gives up after timeout_ms. */
static void test_timeout(void **state)
{
	rr_detection_cfg c = cfg_for("slow", NULL);
	rr_leak_source src;
	struct timespec t0;
	double ms;

	(void)state;
	c.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src),
			 -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	if (ms > 2000)
		fail_msg("the check took %.0f ms (timeout 300 ms)", ms);
}

static void test_malformed_and_limits(void **state)
{
	rr_detection_cfg c = cfg_for("bad", NULL);
	rr_leak_source src;
	long from;
	char *log;

	(void)state;
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src), -EPROTO);
	c = cfg_for("big", NULL);
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src), -EFBIG);
	/* redirects are not followed: one request, and an error */
	c = cfg_for("redirect", NULL);
	from = log_size();
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src),
			 -EREMOTEIO);
	log = log_since(from);
	assert_int_equal(count(log, "REQ "), 1);
	assert_non_null(strstr(log, "REQ GET /redirect/"));
	free(log);
}

/* A server certificate from another CA: TLS fails, no HTTP request. */
static void test_wrong_ca(void **state)
{
	rr_detection_cfg c = cfg_for("range", env("RR_LEAK_WRONG_CA"));
	rr_leak_source src;
	long from = log_size();
	char *log;

	(void)state;
	assert_int_equal(check(&c, env("RR_LEAK_PW_LEAKED"), &src),
			 -EKEYREJECTED);
	log = log_since(from);
	assert_int_equal(count(log, "REQ "), 0);
	free(log);
}

/* The proxy variables of the environment are ignored: the request goes
 * straight to the host (127.0.0.2, where nothing listens: refused),
 * never to the proxy they name (which records every connection). */
static void test_proxy_env_ignored(void **state)
{
	static const char *const vars[] = {
		"http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY",
		"all_proxy",
	};
	rr_detection_cfg c = cfg_for("range", NULL);
	const char *port = strrchr(env("RR_LEAK_BASE"), ':');
	struct stat st;
	rr_leak_source src;
	size_t i;
	int r;

	(void)state;
	assert_non_null(port);
	snprintf(g_url, sizeof(g_url), "https://127.0.0.2%srange/", port);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		assert_int_equal(setenv(vars[i], env("RR_LEAK_PROXY"), 1), 0);
	unsetenv("NO_PROXY");
	unsetenv("no_proxy");
	r = check(&c, env("RR_LEAK_PW_LEAKED"), &src);
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	assert_int_equal(r, -ECONNREFUSED);
	assert_int_equal(stat(env("RR_LEAK_PROXY_LOG"), &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* Second check of a prefix within cache_s: no request.  The cache holds
 * the public range, never the hash of a password that is not in it. */
static void test_cache_hit(void **state)
{
	rr_detection_cfg c = cfg_for("range", NULL);
	char dir[256], path[300], hash[RR_LEAK_HASH_LEN + 1], *log;
	const char *clean = env("RR_LEAK_PW_CLEAN");
	rr_leak_source src = RR_LEAK_SRC_NONE;
	rr_leak_stats st = { 0 };
	struct stat sb;
	long from;
	FILE *f;
	char buf[4096];
	size_t n;

	(void)state;
	c.cache_s = 3600;
	snprintf(dir, sizeof(dir), "%s/leak-cache", env("RR_LEAK_DIR"));
	from = log_size();
	assert_int_equal(rr_leak_check(&c, dir, env("RR_LEAK_PW_LEAKED"), NOW,
				       0, &st, &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_RANGE_API);
	assert_int_equal(st.range_requests, 1);
	assert_int_equal(st.cache_writes, 1);
	assert_int_equal(rr_leak_check(&c, dir, env("RR_LEAK_PW_LEAKED"),
				       NOW + 3599, 0, &st, &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_RANGE_API);
	assert_int_equal(st.range_requests, 1);
	assert_int_equal(st.cache_hits, 1);
	log = log_since(from);
	assert_int_equal(count(log, "REQ "), 1);
	free(log);
	/* expired: asked again */
	assert_int_equal(rr_leak_check(&c, dir, env("RR_LEAK_PW_LEAKED"),
				       NOW + 3600, 0, &st, &src), 0);
	assert_int_equal(st.range_requests, 2);
	/* clean password: cached file and directory are root-only and do
	 * not contain its hash */
	assert_int_equal(rr_leak_check(&c, dir, clean, NOW, 0, &st, &src), 0);
	assert_int_equal(src, RR_LEAK_SRC_NONE);
	hash_of(clean, hash);
	snprintf(path, sizeof(path), "%s/%.5s", dir, hash);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	f = fopen(path, "re");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:1"));
	assert_null(strstr(buf, hash + RR_LEAK_PREFIX_LEN));
	assert_int_equal(rr_leak_check(&c, dir, clean, NOW + 1, 0, &st, &src),
			 0);
	assert_int_equal(st.range_requests, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaked_and_clean),
		cmocka_unit_test(test_only_prefix_sent),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_malformed_and_limits),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_proxy_env_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
