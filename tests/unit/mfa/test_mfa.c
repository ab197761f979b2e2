/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of rr_mfa: RFC 6238 vectors, verification windows and replay,
 * base32, otpauth URIs, sealing, the key file and temporary access passes,
 * plus independent cross-checks with oathtool(1) and zbarimg(1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rr_mfa.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

static const char seed1[] = "12345678901234567890";
static const char seed256[] = "12345678901234567890123456789012";
static const char seed512[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

/* ---- helpers ------------------------------------------------------------ */

static rr_totp_params params(rr_totp_alg alg, unsigned digits)
{
	rr_totp_params p;

	rr_totp_params_default(&p);
	p.alg = alg;
	p.digits = digits;
	return p;
}

static const uint8_t *seed_for(rr_totp_alg alg, size_t *len)
{
	const char *s = alg == RR_TOTP_SHA1     ? seed1
			: alg == RR_TOTP_SHA256 ? seed256
						: seed512;

	*len = strlen(s);
	return (const uint8_t *)s;
}

/* Run argv, capture stdout into out[max]; returns the exit status or -1. */
static int run_capture(const char *const argv[], char *out, size_t max)
{
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1, r;
	size_t n = 0;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			 environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		fail_msg("cannot run %s: %s", argv[0], strerror(r));
	}
	for (;;) {
		ssize_t k = read(fds[0], out + n, max - 1 - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *make_tmpdir(void)
{
	char *d = strdup("/tmp/rr-mfa-test.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_tmpdir(char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

/* ---- RFC 6238 Appendix B ------------------------------------------------ */

static const struct {
	int64_t t;
	const char *sha1, *sha256, *sha512;
} rfc6238[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {INT64_C(20000000000), "65353130", "77737706", "47863826"},
};

static void test_rfc6238_vectors(void **state)
{
	static const rr_totp_alg algs[] = {RR_TOTP_SHA1, RR_TOTP_SHA256,
					   RR_TOTP_SHA512};
	size_t i, a;

	(void)state;
	for (a = 0; a < ARRAY_SIZE(algs); a++) {
		rr_totp_params p = params(algs[a], 8);
		size_t len;
		const uint8_t *seed = seed_for(algs[a], &len);

		for (i = 0; i < ARRAY_SIZE(rfc6238); i++) {
			const char *want = a == 0   ? rfc6238[i].sha1
					   : a == 1 ? rfc6238[i].sha256
						    : rfc6238[i].sha512;
			char code[RR_TOTP_CODE_MAX + 1];

			assert_int_equal(rr_totp_code(seed, len, &p,
						      rfc6238[i].t / 30, code),
					 0);
			assert_string_equal(code, want);
		}
	}
}

static void test_six_digits(void **state)
{
	rr_totp_params p = params(RR_TOTP_SHA1, 6);
	char code[RR_TOTP_CODE_MAX + 1];

	(void)state;
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, 1, code),
			 0);
	assert_string_equal(code, "287082");
}

static void test_alg_names_and_params(void **state)
{
	rr_totp_params p;
	rr_totp_alg a;
	char code[RR_TOTP_CODE_MAX + 1];

	(void)state;
	rr_totp_params_default(&p);
	assert_int_equal(p.alg, RR_TOTP_SHA1);
	assert_int_equal(p.digits, 6);
	assert_int_equal(p.period, 30);
	assert_int_equal(p.window, 1);
	assert_string_equal(rr_totp_alg_name(RR_TOTP_SHA256), "SHA256");
	assert_int_equal(rr_totp_alg_parse("sha512", &a), 0);
	assert_int_equal(a, RR_TOTP_SHA512);
	assert_int_equal(rr_totp_alg_parse("MD5", &a), -EINVAL);

	p.digits = 7;
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, 1, code),
			 -EINVAL);
	rr_totp_params_default(&p);
	p.period = 14;
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, 1, code),
			 -EINVAL);
	p.period = 301;
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, 1, code),
			 -EINVAL);
	rr_totp_params_default(&p);
	p.window = 11;
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, 1, code),
			 -EINVAL);
	rr_totp_params_default(&p);
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 0, &p, 1, code),
			 -EINVAL);
	assert_int_equal(rr_totp_code((const uint8_t *)seed1, 20, &p, -1, code),
			 -EINVAL);
}

/* ---- verification -------------------------------------------------------- */

#define NOW INT64_C(1111111109) /* step 37037036, 29 s into it */

static void code_at(const rr_totp_params *p, int64_t step, char *code)
{
	assert_int_equal(
	    rr_totp_code((const uint8_t *)seed1, 20, p, step, code), 0);
}

static int verify(const rr_totp_params *p, int64_t last, const char *answer,
		  int64_t *step)
{
	return rr_totp_verify((const uint8_t *)seed1, 20, p, NOW, last, answer,
			      step);
}

static void test_verify_window(void **state)
{
	rr_totp_params p = params(RR_TOTP_SHA1, 6);
	int64_t base = NOW / 30, d, step;
	char code[RR_TOTP_CODE_MAX + 1];

	(void)state;
	for (d = -3; d <= 3; d++) {
		int want = d >= -1 && d <= 1 ? 0 : -EACCES;

		code_at(&p, base + d, code);
		step = -42;
		assert_int_equal(verify(&p, -1, code, &step), want);
		assert_int_equal(step, want == 0 ? base + d : -42);
	}
	/* window 0: only the current step */
	p.window = 0;
	code_at(&p, base - 1, code);
	assert_int_equal(verify(&p, -1, code, &step), -EACCES);
	code_at(&p, base, code);
	assert_int_equal(verify(&p, -1, code, &step), 0);
	assert_int_equal(step, base);
}

static void test_verify_replay(void **state)
{
	rr_totp_params p = params(RR_TOTP_SHA1, 6);
	int64_t base = NOW / 30, step = -42;
	char code[RR_TOTP_CODE_MAX + 1];

	(void)state;
	code_at(&p, base, code);
	assert_int_equal(verify(&p, base, code, &step), -EALREADY);
	assert_int_equal(verify(&p, base + 1, code, &step), -EALREADY);
	assert_int_equal(step, -42);
	assert_int_equal(verify(&p, base - 1, code, &step), 0);
	assert_int_equal(step, base);
	code_at(&p, base - 1, code);
	assert_int_equal(verify(&p, base - 1, code, &step), -EALREADY);
	code_at(&p, base + 1, code);
	assert_int_equal(verify(&p, base, code, &step), 0);
	assert_int_equal(step, base + 1);
}

static void test_verify_answers(void **state)
{
	rr_totp_params p = params(RR_TOTP_SHA1, 6);
	int64_t base = NOW / 30, step;
	char code[RR_TOTP_CODE_MAX + 1], buf[64];
	char long_answer[RR_TOTP_ANSWER_MAX + 8];

	(void)state;
	code_at(&p, base, code);
	snprintf(buf, sizeof(buf), "  \t%s \n", code);
	assert_int_equal(verify(&p, -1, buf, &step), 0);
	snprintf(buf, sizeof(buf), "%.3s %s", code, code + 3);
	assert_int_equal(verify(&p, -1, buf, &step), -EACCES);
	snprintf(buf, sizeof(buf), "%sx", code);
	assert_int_equal(verify(&p, -1, buf, &step), -EACCES);
	snprintf(buf, sizeof(buf), "%.5s", code);
	assert_int_equal(verify(&p, -1, buf, &step), -EACCES);
	snprintf(buf, sizeof(buf), "%s0", code);
	assert_int_equal(verify(&p, -1, buf, &step), -EACCES);
	assert_int_equal(verify(&p, -1, "", &step), -EACCES);
	assert_int_equal(verify(&p, -1, "abcdef", &step), -EACCES);
	assert_int_equal(verify(&p, -1, "+12345", &step), -EACCES);
	memset(long_answer, ' ', sizeof(long_answer) - 1);
	long_answer[sizeof(long_answer) - 1] = '\0';
	memcpy(long_answer + 20, code, 6);
	assert_int_equal(verify(&p, -1, long_answer, &step), -EACCES);
	assert_int_equal(verify(&p, -1, NULL, &step), -EINVAL);

	/* 8-digit parameters want exactly 8 digits */
	p.digits = 8;
	code_at(&p, base, code);
	assert_int_equal(strlen(code), 8);
	assert_int_equal(verify(&p, -1, code, &step), 0);
	assert_int_equal(step, base);
	assert_int_equal(verify(&p, -1, code + 2, &step), -EACCES);
}

static void test_verify_sha512_8(void **state)
{
	rr_totp_params p = params(RR_TOTP_SHA512, 8);
	int64_t step;

	(void)state;
	assert_int_equal(rr_totp_verify((const uint8_t *)seed512, 64, &p,
					1234567890, -1, "93441116", &step),
			 0);
	assert_int_equal(step, 1234567890 / 30);
	assert_int_equal(rr_totp_verify((const uint8_t *)seed512, 64, &p, 59,
					-1, "90693936", &step),
			 0);
	assert_int_equal(step, 1);
}

static void test_secret_new(void **state)
{
	uint8_t a[RR_TOTP_SECRET_LEN], b[RR_TOTP_SECRET_LEN];

	(void)state;
	assert_int_equal(rr_totp_secret_new(a), 0);
	assert_int_equal(rr_totp_secret_new(b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* ---- base32 and URI --------------------------------------------------------
 */

static void test_base32(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"", ""},
	    {"f", "MY"},
	    {"fo", "MZXQ"},
	    {"foo", "MZXW6"},
	    {"foob", "MZXW6YQ"},
	    {"fooba", "MZXW6YTB"},
	    {"foobar", "MZXW6YTBOI"},
	    {"12345678901234567890", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
	};
	size_t i;
	char *s;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(rr_base32_encode((const uint8_t *)v[i].in,
						  strlen(v[i].in), &s),
				 0);
		assert_string_equal(s, v[i].out);
		rr_mfa_free_secret_string(s);
	}
	rr_mfa_free_secret_string(NULL);
}

static void test_base32_grouped(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"JBSWY3DPEHPK3PXP", "JBSW Y3DP EHPK 3PXP"},
	    {"MZXW6YTBOI", "MZXW 6YTB OI"},
	    {"MZXQ", "MZXQ"},
	    {"MY", "MY"},
	};
	size_t i;
	char *s = NULL;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		assert_int_equal(rr_base32_grouped(v[i].in, &s), 0);
		assert_string_equal(s, v[i].out);
		rr_mfa_free_secret_string(s);
	}
	assert_int_equal(rr_base32_grouped("", &s), -EINVAL);
	assert_int_equal(rr_base32_grouped("abcd", &s), -EINVAL);
	assert_int_equal(rr_base32_grouped("AB1D", &s), -EINVAL);
	assert_int_equal(rr_base32_grouped("AB=", &s), -EINVAL);
}

static void test_uri(void **state)
{
	rr_totp_params p;
	char *uri, *long_issuer;

	(void)state;
	rr_totp_params_default(&p);
	assert_int_equal(rr_otpauth_uri("Example Corp", "alice@example.com",
					"JBSWY3DPEHPK3PXP", &p, &uri),
			 0);
	assert_string_equal(uri,
			    "otpauth://totp/Example%20Corp:alice%40example.com"
			    "?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Corp"
			    "&algorithm=SHA1&digits=6&period=30");
	rr_mfa_free_secret_string(uri);

	p.alg = RR_TOTP_SHA256;
	p.digits = 8;
	p.period = 60;
	assert_int_equal(
	    rr_otpauth_uri("A&B:C", "j.doe-1_x~", "MZXW6", &p, &uri), 0);
	assert_string_equal(uri, "otpauth://totp/A%26B%3AC:j.doe-1_x~"
				 "?secret=MZXW6&issuer=A%26B%3AC"
				 "&algorithm=SHA256&digits=8&period=60");
	rr_mfa_free_secret_string(uri);

	rr_totp_params_default(&p);
	assert_int_equal(rr_otpauth_uri("", "a", "MZXW6", &p, &uri), -EINVAL);
	assert_int_equal(rr_otpauth_uri("X", "", "MZXW6", &p, &uri), -EINVAL);
	assert_int_equal(rr_otpauth_uri("X", "a\nb", "MZXW6", &p, &uri),
			 -EINVAL);
	assert_int_equal(rr_otpauth_uri("X\x7f", "a", "MZXW6", &p, &uri),
			 -EINVAL);
	assert_int_equal(rr_otpauth_uri("X", "a", "MZ W6", &p, &uri), -EINVAL);
	long_issuer = malloc(66);
	assert_non_null(long_issuer);
	memset(long_issuer, 'i', 65);
	long_issuer[65] = '\0';
	assert_int_equal(rr_otpauth_uri(long_issuer, "a", "MZXW6", &p, &uri),
			 -EINVAL);
	long_issuer[64] = '\0';
	assert_int_equal(rr_otpauth_uri(long_issuer, "a", "MZXW6", &p, &uri),
			 0);
	rr_mfa_free_secret_string(uri);
	free(long_issuer);
}

/* ---- cross-check with oathtool ------------------------------------------- */

/* The value of `key` in the URI query into out. */
static void uri_param(const char *uri, const char *key, char *out, size_t max)
{
	char pat[32];
	const char *v, *end;

	snprintf(pat, sizeof(pat), "%s=", key);
	v = strstr(strchr(uri, '?'), pat);
	assert_non_null(v);
	v += strlen(pat);
	end = strchrnul(v, '&');
	assert_true((size_t)(end - v) < max);
	memcpy(out, v, (size_t)(end - v));
	out[end - v] = '\0';
}

static void oathtool_check(rr_totp_alg alg, unsigned digits,
			   const uint8_t *secret, size_t len, int64_t t,
			   const char *when)
{
	rr_totp_params p = params(alg, digits);
	char *b32, *uri, mode[32], dig[4], out[64], b32u[128];
	char code[RR_TOTP_CODE_MAX + 1];
	int64_t step;

	assert_int_equal(rr_base32_encode(secret, len, &b32), 0);
	assert_int_equal(rr_otpauth_uri("Example Corp", "bob", b32, &p, &uri),
			 0);
	uri_param(uri, "secret", b32u, sizeof(b32u));
	snprintf(mode, sizeof(mode), "--totp=%s", rr_totp_alg_name(alg));
	snprintf(dig, sizeof(dig), "%u", digits);
	{
		const char *argv[] = {"oathtool", mode,    "-d", dig, "-b",
				      b32u,       "--now", when, NULL};

		assert_int_equal(run_capture(argv, out, sizeof(out)), 0);
	}
	assert_int_equal(strlen(out), digits + 1);
	assert_int_equal(rr_totp_code(secret, len, &p, t / 30, code), 0);
	out[digits] = '\0';
	assert_string_equal(out, code);
	assert_int_equal(rr_totp_verify(secret, len, &p, t, -1, out, &step), 0);
	assert_int_equal(step, t / 30);
	rr_mfa_free_secret_string(uri);
	rr_mfa_free_secret_string(b32);
}

static void test_oathtool(void **state)
{
	static const struct {
		int64_t t;
		const char *when;
	} times[] = {
	    {59, "1970-01-01 00:00:59 UTC"},
	    {1234567890, "2009-02-13 23:31:30 UTC"},
	    {2000000000, "2033-05-18 03:33:20 UTC"},
	};
	uint8_t secret[RR_TOTP_SECRET_LEN];
	size_t i;

	(void)state;
	assert_int_equal(rr_totp_secret_new(secret), 0);
	for (i = 0; i < ARRAY_SIZE(times); i++) {
		oathtool_check(RR_TOTP_SHA1, 6, secret, sizeof(secret),
			       times[i].t, times[i].when);
		oathtool_check(RR_TOTP_SHA1, 8, (const uint8_t *)seed1, 20,
			       times[i].t, times[i].when);
		oathtool_check(RR_TOTP_SHA256, 8, (const uint8_t *)seed256, 32,
			       times[i].t, times[i].when);
		oathtool_check(RR_TOTP_SHA512, 8, (const uint8_t *)seed512, 64,
			       times[i].t, times[i].when);
	}
}

/* ---- QR code: rasterise, decode with zbarimg -------------------------------
 */

#define QR_SCALE 4
#define QR_MARGIN 8 /* modules of dark terminal background around the text */

struct grid {
	int w, h;
	unsigned char *lit; /* 1 = block ink (light on a dark terminal) */
};

/* One text cell -> its two half-cell modules; asserts it is a known cell. */
static size_t parse_cell(const char *s, int *top, int *bottom)
{
	static const struct {
		const char *utf8;
		int top, bottom;
	} cells[] = {
	    {" ", 0, 0},
	    {"\xe2\x96\x80", 1, 0},
	    {"\xe2\x96\x84", 0, 1},
	    {"\xe2\x96\x88", 1, 1},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cells); i++) {
		size_t n = strlen(cells[i].utf8);

		if (strncmp(s, cells[i].utf8, n) == 0) {
			*top = cells[i].top;
			*bottom = cells[i].bottom;
			return n;
		}
	}
	fail_msg("unexpected byte 0x%02x in QR text", (unsigned char)*s);
	return 0;
}

static void grid_parse(const char *text, struct grid *g)
{
	const char *s = text;
	int lines = 0, x = 0, y;

	memset(g, 0, sizeof(*g));
	for (s = text; *s; s++)
		lines += *s == '\n';
	assert_true(lines > 10);
	assert_int_equal(text[strlen(text) - 1], '\n');
	g->h = 2 * lines;
	g->lit = calloc((size_t)g->h * 512, 1);
	assert_non_null(g->lit);
	for (s = text, y = 0; *s;) {
		int top = 0, bottom = 0;

		if (*s == '\n') {
			if (y == 0)
				g->w = x;
			assert_int_equal(x, g->w);
			x = 0;
			y += 2;
			s++;
			continue;
		}
		assert_true(x < 512);
		s += parse_cell(s, &top, &bottom);
		g->lit[y * 512 + x] = (unsigned char)top;
		g->lit[(y + 1) * 512 + x] = (unsigned char)bottom;
		x++;
	}
}

/* Black where the terminal shows dark, white where it shows block ink. */
static void write_pgm(const struct grid *g, const char *path)
{
	int W = (g->w + 2 * QR_MARGIN) * QR_SCALE;
	int H = (g->h + 2 * QR_MARGIN) * QR_SCALE, x, y;
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fprintf(f, "P5\n%d %d\n255\n", W, H);
	for (y = 0; y < H; y++) {
		for (x = 0; x < W; x++) {
			int mx = x / QR_SCALE - QR_MARGIN;
			int my = y / QR_SCALE - QR_MARGIN;
			int on = mx >= 0 && my >= 0 && mx < g->w && my < g->h &&
				 g->lit[my * 512 + mx];

			fputc(on ? 255 : 0, f);
		}
	}
	assert_int_equal(fclose(f), 0);
}

static void qr_check(const char *uri)
{
	char *dir = make_tmpdir(), path[256], out[1024], *qr;
	struct grid g;

	assert_int_equal(rr_qr_render(uri, &qr), 0);
	grid_parse(qr, &g);
	/* the outer ring (quiet zone) is all ink */
	assert_true(g.lit[0] && g.lit[g.w - 1]);
	snprintf(path, sizeof(path), "%s/qr.pgm", dir);
	write_pgm(&g, path);
	{
		const char *argv[] = {"zbarimg", "--raw", "-q", path, NULL};

		assert_int_equal(run_capture(argv, out, sizeof(out)), 0);
	}
	assert_int_equal(strlen(out), strlen(uri) + 1);
	assert_int_equal(out[strlen(uri)], '\n');
	out[strlen(uri)] = '\0';
	assert_string_equal(out, uri);
	free(g.lit);
	rr_mfa_free_secret_string(qr);
	remove_tmpdir(dir);
}

static void test_qr_zbarimg(void **state)
{
	uint8_t secret[RR_TOTP_SECRET_LEN];
	rr_totp_params p;
	char *b32, *uri;

	(void)state;
	rr_totp_params_default(&p);
	assert_int_equal(rr_totp_secret_new(secret), 0);
	assert_int_equal(rr_base32_encode(secret, sizeof(secret), &b32), 0);
	assert_int_equal(
	    rr_otpauth_uri("Example Corp", "alice@example.com", b32, &p, &uri),
	    0);
	qr_check(uri);
	rr_mfa_free_secret_string(uri);
	rr_mfa_free_secret_string(b32);
	qr_check("otpauth://totp/X:y?secret=MZXW6&issuer=X&algorithm=SHA1"
		 "&digits=6&period=30");
}

static void test_qr_invalid(void **state)
{
	char *qr, *big;

	(void)state;
	assert_int_equal(rr_qr_render("", &qr), -EINVAL);
	assert_int_equal(rr_qr_render(NULL, &qr), -EINVAL);
	big = malloc(4000);
	assert_non_null(big);
	memset(big, 'a', 3999);
	big[3999] = '\0';
	assert_int_equal(rr_qr_render(big, &qr), -EINVAL);
	free(big);
}

/* ---- sealing ----------------------------------------------------------------
 */

static void test_seal_roundtrip(void **state)
{
	uint8_t key[RR_MFA_KEY_LEN], key2[RR_MFA_KEY_LEN];
	uint8_t blob[RR_SEALED_MAX], blob2[RR_SEALED_MAX], plain[64];
	uint8_t secret[RR_TOTP_SECRET_LEN];
	size_t blen, blen2, plen = 0;

	(void)state;
	/* 20 random bytes, then a fixed tail: keys that differ early only */
	memset(key, 0x5a, sizeof(key));
	memset(key2, 0x5a, sizeof(key2));
	assert_int_equal(rr_totp_secret_new(key), 0);
	assert_int_equal(rr_totp_secret_new(key2), 0);
	assert_int_equal(rr_totp_secret_new(secret), 0);

	assert_int_equal(
	    rr_mfa_seal(key, "alice", secret, sizeof(secret), blob, &blen), 0);
	assert_int_equal(blen, 24 + sizeof(secret) + 16);
	assert_int_equal(rr_mfa_unseal(key, "alice", blob, blen, plain,
				       sizeof(plain), &plen),
			 0);
	assert_int_equal(plen, sizeof(secret));
	assert_memory_equal(plain, secret, sizeof(secret));

	/* fresh nonce every time */
	assert_int_equal(
	    rr_mfa_seal(key, "alice", secret, sizeof(secret), blob2, &blen2),
	    0);
	assert_memory_not_equal(blob, blob2, blen);

	plen = 999;
	assert_int_equal(
	    rr_mfa_unseal(key, "bob", blob, blen, plain, sizeof(plain), &plen),
	    -EBADMSG);
	assert_int_equal(rr_mfa_unseal(key2, "alice", blob, blen, plain,
				       sizeof(plain), &plen),
			 -EBADMSG);
	assert_int_equal(plen, 999);
	for (size_t i = 0; i < blen; i += 7) {
		blob[i] ^= 0x01;
		assert_int_equal(rr_mfa_unseal(key, "alice", blob, blen, plain,
					       sizeof(plain), &plen),
				 -EBADMSG);
		blob[i] ^= 0x01;
	}
	assert_int_equal(rr_mfa_unseal(key, "alice", blob, blen - 1, plain,
				       sizeof(plain), &plen),
			 -EBADMSG);
	assert_int_equal(
	    rr_mfa_unseal(key, "alice", blob, 30, plain, sizeof(plain), &plen),
	    -EBADMSG);
	assert_int_equal(
	    rr_mfa_unseal(key, "alice", blob, blen, plain, 4, &plen), -ENOBUFS);
	assert_int_equal(plen, 999);
	assert_int_equal(
	    rr_mfa_seal(key, "alice", secret, RR_SEALED_MAX, blob, &blen),
	    -EMSGSIZE);
}

/* ---- the key file
 * ------------------------------------------------------------- */

static void write_file(const char *path, size_t len, mode_t mode)
{
	uint8_t buf[64] = {0};
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_key_file(void **state)
{
	uint8_t key[RR_MFA_KEY_LEN], again[RR_MFA_KEY_LEN],
	    zero[RR_MFA_KEY_LEN];
	char *dir = make_tmpdir(), path[256], other[256];
	struct stat st;

	(void)state;
	memset(zero, 0, sizeof(zero));
	memset(key, 0xaa, sizeof(key));
	snprintf(path, sizeof(path), "%s/mfa.key", dir);
	assert_int_equal(rr_mfa_key_load(path, false, key), -ENOENT);
	assert_int_equal(key[0], 0xaa);
	assert_int_equal(rr_mfa_key_load(path, true, key), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_size, RR_MFA_KEY_LEN);
	assert_memory_not_equal(key, zero, sizeof(key));
	assert_int_equal(rr_mfa_key_load(path, false, again), 0);
	assert_memory_equal(key, again, sizeof(key));
	assert_int_equal(rr_mfa_key_load(path, true, again), 0);
	assert_memory_equal(key, again, sizeof(key));

	/* mode */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(rr_mfa_key_load(path, true, again), -EPERM);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(rr_mfa_key_load(path, false, again), -EPERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(rr_mfa_key_load(path, false, again), 0);
	/* owner */
	assert_int_equal(chown(path, 1, 0), 0);
	assert_int_equal(rr_mfa_key_load(path, false, again), -EPERM);

	/* symlink, even when create is set; and a dangling one */
	snprintf(other, sizeof(other), "%s/link.key", dir);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(symlink(path, other), 0);
	assert_int_equal(rr_mfa_key_load(other, true, again), -ELOOP);
	snprintf(other, sizeof(other), "%s/dangling.key", dir);
	assert_int_equal(symlink("/nonexistent/rr.key", other), 0);
	assert_int_equal(rr_mfa_key_load(other, true, again), -ELOOP);

	/* size */
	snprintf(other, sizeof(other), "%s/short.key", dir);
	write_file(other, 31, 0600);
	assert_int_equal(rr_mfa_key_load(other, true, again), -EINVAL);
	write_file(other, 33, 0600);
	assert_int_equal(rr_mfa_key_load(other, false, again), -EINVAL);
	write_file(other, 0, 0600);
	assert_int_equal(rr_mfa_key_load(other, true, again), -EINVAL);

	/* not a regular file; missing parent */
	assert_int_equal(rr_mfa_key_load(dir, true, again), -EINVAL);
	snprintf(other, sizeof(other), "%s/nodir/mfa.key", dir);
	assert_int_equal(rr_mfa_key_load(other, true, again), -ENOENT);
	assert_int_equal(rr_mfa_key_load("", true, again), -EINVAL);
	remove_tmpdir(dir);
}

#define RACERS 8

static void test_key_create_race(void **state)
{
	uint8_t keys[RACERS][RR_MFA_KEY_LEN];
	char *dir = make_tmpdir(), path[256];
	int fds[RACERS][2], i;
	pid_t pids[RACERS];

	(void)state;
	snprintf(path, sizeof(path), "%s/race.key", dir);
	for (i = 0; i < RACERS; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			uint8_t k[RR_MFA_KEY_LEN];

			if (rr_mfa_key_load(path, true, k) != 0 ||
			    write(fds[i][1], k, sizeof(k)) != sizeof(k))
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (i = 0; i < RACERS; i++) {
		int status;

		assert_int_equal(read(fds[i][0], keys[i], RR_MFA_KEY_LEN),
				 RR_MFA_KEY_LEN);
		close(fds[i][0]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_memory_equal(keys[i], keys[0], RR_MFA_KEY_LEN);
	}
	/* no temporary files left behind */
	{
		char cmd[512], out[64];
		const char *argv[] = {"sh", "-c", cmd, NULL};

		snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
		assert_int_equal(run_capture(argv, out, sizeof(out)), 0);
		assert_int_equal(atoi(out), 1);
	}
	remove_tmpdir(dir);
}

/* ---- temporary access passes ------------------------------------------------
 */

static void test_tap_new(void **state)
{
	char tap[RR_TAP_LEN + 1], tap2[RR_TAP_LEN + 1];
	uint8_t h[RR_TAP_HASH_LEN], h2[RR_TAP_HASH_LEN];
	regex_t re;

	(void)state;
	assert_int_equal(regcomp(&re,
				 "^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$",
				 REG_EXTENDED | REG_NOSUB),
			 0);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(rr_tap_new(tap, h), 0);
		assert_int_equal(strlen(tap), RR_TAP_LEN);
		assert_int_equal(regexec(&re, tap, 0, NULL, 0), 0);
		assert_int_equal(rr_tap_hash(tap, h2), 0);
		assert_true(rr_mfa_equal(h, h2, sizeof(h)));
	}
	regfree(&re);
	assert_int_equal(rr_tap_new(tap2, h2), 0);
	assert_string_not_equal(tap, tap2);
	assert_false(rr_mfa_equal(h, h2, sizeof(h)));
}

static void test_tap_hash(void **state)
{
	static const char *const same[] = {
	    "ABCD-EFGH-JKLM-NPQR",  "abcd efgh-jkLm npqr",
	    "ABCDEFGHJKLMNPQR",     " abcd-efgh-jklm-npqr\t",
	    "A-B-C-D-EFGHJKLMNPQR",
	};
	static const char *const bad[] = {
	    "ABCD-EFGH-JKLM-NPQ",
	    "ABCD-EFGH-JKLM-NPQRS",
	    "ABCI-EFGH-JKLM-NPQR",
	    "ABCO-EFGH-JKLM-NPQR",
	    "ABC0-EFGH-JKLM-NPQR",
	    "ABC1-EFGH-JKLM-NPQR",
	    "ABC_-EFGH-JKLM-NPQR",
	    "ABCD.EFGH.JKLM.NPQR",
	    "",
	    "ABCD-EFGH-JKLM-NPQR\n",
	    "ABCD-EFGH-JKLM-NPQ\xc3\xa9",
	};
	uint8_t ref[RR_TAP_HASH_LEN], h[RR_TAP_HASH_LEN],
	    other[RR_TAP_HASH_LEN];
	size_t i;

	/* BLAKE2b-256("rr-tap-v1\0ABCDEFGHJKLMNPQR"), as hashlib computes it:
	 * pins the stored format */
	static const uint8_t kat[RR_TAP_HASH_LEN] = {
	    0xb3, 0xf7, 0xb1, 0xe0, 0x41, 0x59, 0xcc, 0x89, 0xbb, 0x19, 0x69,
	    0x12, 0xdc, 0x77, 0xa5, 0x7e, 0x06, 0x36, 0x29, 0xa7, 0xc4, 0x06,
	    0x39, 0x7c, 0x82, 0x1f, 0xe5, 0x79, 0x5a, 0x0b, 0x64, 0x09,
	};

	(void)state;
	assert_int_equal(rr_tap_hash(same[0], ref), 0);
	assert_memory_equal(ref, kat, sizeof(kat));
	for (i = 1; i < ARRAY_SIZE(same); i++) {
		assert_int_equal(rr_tap_hash(same[i], h), 0);
		assert_memory_equal(h, ref, sizeof(ref));
	}
	assert_int_equal(rr_tap_hash("ABCD-EFGH-JKLM-NPQS", other), 0);
	assert_memory_not_equal(other, ref, sizeof(ref));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(h, ref, sizeof(h));
		assert_int_equal(rr_tap_hash(bad[i], h), -EINVAL);
		assert_memory_equal(h, ref, sizeof(ref));
	}
}

static void test_equal(void **state)
{
	uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};

	(void)state;
	assert_true(rr_mfa_equal(a, a, sizeof(a)));
	assert_false(rr_mfa_equal(a, b, sizeof(a)));
	assert_true(rr_mfa_equal(a, b, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6238_vectors),
	    cmocka_unit_test(test_six_digits),
	    cmocka_unit_test(test_alg_names_and_params),
	    cmocka_unit_test(test_verify_window),
	    cmocka_unit_test(test_verify_replay),
	    cmocka_unit_test(test_verify_answers),
	    cmocka_unit_test(test_verify_sha512_8),
	    cmocka_unit_test(test_secret_new),
	    cmocka_unit_test(test_base32),
	    cmocka_unit_test(test_base32_grouped),
	    cmocka_unit_test(test_uri),
	    cmocka_unit_test(test_oathtool),
	    cmocka_unit_test(test_qr_zbarimg),
	    cmocka_unit_test(test_qr_invalid),
	    cmocka_unit_test(test_seal_roundtrip),
	    cmocka_unit_test(test_key_file),
	    cmocka_unit_test(test_key_create_race),
	    cmocka_unit_test(test_tap_new),
	    cmocka_unit_test(test_tap_hash),
	    cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
