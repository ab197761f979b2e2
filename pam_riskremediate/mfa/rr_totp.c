/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 6238 time-based one-time passwords through liboath.  Codes are
 * compared in constant time and every buffer that held one is zeroed.
 */
#include "rr_errno.h"
#include "rr_mfa.h"
#include "rr_mfa_int.h"
#include "rr_lazylib.h"

#include <errno.h>
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define RR_TOTP_WINDOW_MAX 10u
#define RR_TOTP_PERIOD_MIN 15u
#define RR_TOTP_PERIOD_MAX 300u

const char *rr_totp_alg_name(rr_totp_alg a)
{
	switch (a) {
	case RR_TOTP_SHA1:
		return "SHA1";
	case RR_TOTP_SHA256:
		return "SHA256";
	case RR_TOTP_SHA512:
		return "SHA512";
	}
	return NULL;
}

int rr_totp_alg_parse(const char *s, rr_totp_alg *out)
{
	static const rr_totp_alg algs[] = {RR_TOTP_SHA1, RR_TOTP_SHA256,
					   RR_TOTP_SHA512};
	size_t i;

	if (!s || !out)
		return -EINVAL;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const char *name = rr_totp_alg_name(algs[i]);

		if (name && strcasecmp(s, name) == 0) {
			*out = algs[i];
			return 0;
		}
	}
	return -EINVAL;
}

void rr_totp_params_default(rr_totp_params *p)
{
	if (!p)
		return;
	p->alg = RR_TOTP_SHA1;
	p->digits = 6;
	p->period = 30;
	p->window = 1;
}

int rr_totp_params_check(const rr_totp_params *p)
{
	if (!p || !rr_totp_alg_name(p->alg))
		return -EINVAL;
	if (p->digits != 6 && p->digits != 8)
		return -EINVAL;
	if (p->period < RR_TOTP_PERIOD_MIN || p->period > RR_TOTP_PERIOD_MAX)
		return -EINVAL;
	if (p->window > RR_TOTP_WINDOW_MAX)
		return -EINVAL;
	return 0;
}

static int input_check(const uint8_t *secret, size_t len,
		       const rr_totp_params *p)
{
	if (!secret || len == 0 || len > RR_TOTP_SECRET_MAX)
		return -EINVAL;
	return rr_totp_params_check(p);
}

static int oath_flags(rr_totp_alg a)
{
	switch (a) {
	case RR_TOTP_SHA1:
		return 0;
	case RR_TOTP_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case RR_TOTP_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	}
	return 0;
}

/* liboath, loaded at the first code (rr_lazylib.h) */
static const char *const oath_names[] = {"oath_init", "oath_totp_generate2",
					 "oath_done"};
static rr_fn oath_fns[3];
static rr_lazylib oath_lib = RR_LAZYLIB("liboath.so.0", oath_names, oath_fns);
/* typed from the library's own prototypes (not evaluated: no reference) */
#define OATH_INIT ((__typeof__(&oath_init))oath_fns[0])
#define OATH_TOTP_GENERATE2 ((__typeof__(&oath_totp_generate2))oath_fns[1])
#define OATH_DONE ((__typeof__(&oath_done))oath_fns[2])

/* oath_init() may initialise liboath's crypto backend, which is not safe
 * from two threads at once (riskd serves calls in several): one code at a
 * time; computing one takes microseconds. */
static pthread_mutex_t oath_lock = PTHREAD_MUTEX_INITIALIZER;

/* The code for one step; inputs already checked, step >= 0. */
static int code_at(const uint8_t *secret, size_t len, const rr_totp_params *p,
		   int64_t step, char out[RR_TOTP_CODE_MAX + 1])
{
	int r;

	if (step > INT64_MAX / (int64_t)p->period)
		return -ERANGE;
	r = rr_lazylib_ready(&oath_lib);
	if (r < 0)
		return r;
	pthread_mutex_lock(&oath_lock);
	r = OATH_INIT();
	if (r == OATH_OK) {
		r = OATH_TOTP_GENERATE2((const char *)secret, len,
					(time_t)(step * (int64_t)p->period),
					p->period, OATH_TOTP_DEFAULT_START_TIME,
					p->digits, oath_flags(p->alg), out);
		OATH_DONE();
	}
	pthread_mutex_unlock(&oath_lock);
	return r == OATH_OK ? 0 : -EIO;
}

int rr_totp_code(const uint8_t *secret, size_t len, const rr_totp_params *p,
		 int64_t step, char *out)
{
	char code[RR_TOTP_CODE_MAX + 1];
	int r;

	r = input_check(secret, len, p);
	if (r < 0)
		return r;
	if (!out || step < 0)
		return -EINVAL;
	r = code_at(secret, len, p, step, code);
	if (r == 0)
		memcpy(out, code, sizeof(code));
	sodium_memzero(code, sizeof(code));
	return r;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Copy the answer without surrounding blanks into digits[]; -EACCES unless
 * it is exactly `want` decimal digits.
 */
static int answer_digits(const char *answer, unsigned want,
			 char digits[RR_TOTP_CODE_MAX + 1])
{
	size_t len = strnlen(answer, RR_TOTP_ANSWER_MAX + 1);
	size_t i;

	if (len > RR_TOTP_ANSWER_MAX)
		return -EACCES;
	while (len > 0 && is_blank(answer[len - 1]))
		len--;
	while (len > 0 && is_blank(*answer)) {
		answer++;
		len--;
	}
	if (len != want)
		return -EACCES;
	for (i = 0; i < len; i++) {
		if (answer[i] < '0' || answer[i] > '9')
			return -EACCES;
		digits[i] = answer[i];
	}
	digits[len] = '\0';
	return 0;
}

/*
 * Compare the answer with every step of the window; no early exit.  Writes
 * the highest matching step into *found, or -1.
 */
static int match_window(const uint8_t *secret, size_t len,
			const rr_totp_params *p, int64_t now,
			const char *digits, int64_t *found)
{
	char code[RR_TOTP_CODE_MAX + 1];
	int64_t base = now / (int64_t)p->period, best = -1, s;
	int r = 0;

	for (s = base - (int64_t)p->window; s <= base + (int64_t)p->window;
	     s++) {
		int64_t mask;

		if (s < 0)
			continue;
		r = code_at(secret, len, p, s, code);
		if (r < 0)
			break;
		mask = -(int64_t)(sodium_memcmp(code, digits, p->digits) == 0);
		best = (best & ~mask) | (s & mask);
	}
	sodium_memzero(code, sizeof(code));
	if (r == 0)
		*found = best;
	return r;
}

int rr_totp_verify(const uint8_t *secret, size_t len, const rr_totp_params *p,
		   int64_t now, int64_t last_step, const char *answer,
		   int64_t *step)
{
	char digits[RR_TOTP_CODE_MAX + 1];
	int64_t found = -1;
	int r;

	r = input_check(secret, len, p);
	if (r < 0)
		return r;
	if (!answer || !step || now < 0)
		return -EINVAL;
	if (now / (int64_t)p->period >
	    INT64_MAX / (int64_t)p->period - (int64_t)RR_TOTP_WINDOW_MAX)
		return -ERANGE;
	r = answer_digits(answer, p->digits, digits);
	if (r < 0)
		goto out;
	r = match_window(secret, len, p, now, digits, &found);
	if (r < 0)
		goto out;
	if (found < 0)
		r = -EACCES;
	else if (found <= last_step)
		r = -EALREADY;
	else
		*step = found;
out:
	sodium_memzero(digits, sizeof(digits));
	return r;
}

int rr_totp_secret_new(uint8_t secret[RR_TOTP_SECRET_LEN])
{
	uint8_t buf[RR_TOTP_SECRET_LEN];
	size_t n = 0;
	int r = 0;

	if (!secret)
		return -EINVAL;
	while (n < sizeof(buf)) {
		ssize_t k = getrandom(buf + n, sizeof(buf) - n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = rr_negerrno();
			break;
		}
		n += (size_t)k;
	}
	if (r == 0)
		memcpy(secret, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	return r;
}

int rr_mfa_sodium_ready(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

bool rr_mfa_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (len == 0)
		return true;
	if (!a || !b)
		return false;
	return sodium_memcmp(a, b, len) == 0;
}
