/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TOTP multifactor: RFC 6238 codes (liboath), otpauth:// URIs, terminal QR
 * codes (libqrencode), secrets sealed at rest (libsodium), temporary access
 * passes.  No PAM, no SQLite, no logging.  Every buffer that held a secret
 * is zeroed (sodium_memzero / explicit_bzero) before it is freed.
 */
#ifndef RR_MFA_H
#define RR_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RR_TOTP_SECRET_LEN 20      /* bytes of a new secret (160 bits) */
#define RR_TOTP_SECRET_MAX 64      /* bytes accepted */
#define RR_TOTP_CODE_MAX 8         /* digits */
#define RR_TOTP_ANSWER_MAX 64      /* bytes of a prompt answer we look at */
#define RR_MFA_KEY_LEN 32          /* sealing key */
#define RR_SEALED_MAX 256          /* bytes of a sealed secret */
#define RR_TAP_LEN 19              /* "ABCD-EFGH-JKLM-NPQR" */
#define RR_TAP_HASH_LEN 32

typedef enum {
	RR_TOTP_SHA1 = 0,
	RR_TOTP_SHA256,
	RR_TOTP_SHA512
} rr_totp_alg;

const char *rr_totp_alg_name(rr_totp_alg a); /* SHA1 | SHA256 | SHA512 */
int rr_totp_alg_parse(const char *s, rr_totp_alg *out);

typedef struct {
	rr_totp_alg alg;
	unsigned digits;  /* 6 or 8 */
	unsigned period;  /* seconds, 15..300 */
	unsigned window;  /* steps accepted either side, 0..10 (default 1) */
} rr_totp_params;

void rr_totp_params_default(rr_totp_params *p); /* SHA1, 6, 30, 1 */

/* The code for time step `step` (= unix time / period) into
 * out[RR_TOTP_CODE_MAX + 1].  0 or negative errno. */
int rr_totp_code(const uint8_t *secret, size_t len, const rr_totp_params *p,
		 int64_t step, char *out);

/*
 * Check `answer` (digits only after trimming blanks; anything else is
 * -EACCES) against the steps now/period - window .. + window.  Every
 * candidate is computed and compared in constant time.  A matching step
 * <= last_step (already used, or older) is -EALREADY (replay).  On success
 * returns 0 and writes the matched step.
 */
int rr_totp_verify(const uint8_t *secret, size_t len, const rr_totp_params *p,
		   int64_t now, int64_t last_step, const char *answer,
		   int64_t *step);

/* A fresh random secret of RR_TOTP_SECRET_LEN bytes (getrandom). */
int rr_totp_secret_new(uint8_t secret[RR_TOTP_SECRET_LEN]);

/* RFC 4648 base32 without padding into a malloc'd string; *out freed by
 * the caller with rr_mfa_free_secret_string(). */
int rr_base32_encode(const uint8_t *data, size_t len, char **out);
/* "JBSW Y3DP EHPK 3PXP" (groups of 4) into a malloc'd string. */
int rr_base32_grouped(const char *b32, char **out);
/* Zero then free a string that held a secret. */
void rr_mfa_free_secret_string(char *s);

/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&
 * digits=6&period=30, percent-encoded, malloc'd. */
int rr_otpauth_uri(const char *issuer, const char *account, const char *b32,
		   const rr_totp_params *p, char **out);

/* The QR code of `text` as terminal lines (UTF-8 half blocks, quiet zone
 * included, dark on light), malloc'd, '\n'-separated. */
int rr_qr_render(const char *text, char **out);

/* ---- sealing secrets at rest ------------------------------------------ */

/*
 * Load the sealing key from `path` (root-owned, mode 0600, not a symlink,
 * exactly RR_MFA_KEY_LEN bytes), creating it with random bytes (0600,
 * O_EXCL|O_NOFOLLOW) when `create` and it does not exist.  -ENOENT when it
 * is absent and !create; -EPERM for owner/mode; -EINVAL for a bad length.
 */
int rr_mfa_key_load(const char *path, bool create,
		    uint8_t key[RR_MFA_KEY_LEN]);

/* XChaCha20-Poly1305 (libsodium secretbox); `ad` binds the blob to its user
 * so a row copied to another user does not open.  out holds
 * RR_SEALED_MAX bytes. */
int rr_mfa_seal(const uint8_t key[RR_MFA_KEY_LEN], const char *ad,
		const uint8_t *plain, size_t len, uint8_t *out,
		size_t *out_len);
/* -EBADMSG when the blob was altered or sealed for another user/key. */
int rr_mfa_unseal(const uint8_t key[RR_MFA_KEY_LEN], const char *ad,
		  const uint8_t *blob, size_t blob_len, uint8_t *plain,
		  size_t plain_max, size_t *plain_len);

/* ---- temporary access pass -------------------------------------------- */

/* A random pass "ABCD-EFGH-JKLM-NPQR" (unambiguous base32 letters) into
 * out[RR_TAP_LEN + 1], and its hash. */
int rr_tap_new(char *out, uint8_t hash[RR_TAP_HASH_LEN]);
/* The hash of a typed pass: case-insensitive, blanks and dashes ignored;
 * -EINVAL when it cannot be a pass. */
int rr_tap_hash(const char *typed, uint8_t hash[RR_TAP_HASH_LEN]);
/* Constant-time equality. */
bool rr_mfa_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
