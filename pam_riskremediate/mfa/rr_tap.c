/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Temporary access passes: 16 characters from an alphabet without look-alike
 * letters (no I, O, 0, 1), shown as "ABCD-EFGH-JKLM-NPQR" and stored only as
 * a domain-separated BLAKE2b-256 hash of the canonical form.
 */
#include "rr_mfa.h"
#include "rr_mfa_int.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define TAP_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#define TAP_CHARS 16
#define TAP_GROUP 4
#define TAP_TYPED_MAX 64
#define TAP_DOMAIN "rr-tap-v1"

/* BLAKE2b-256 of "rr-tap-v1\0" || canonical pass. */
static int tap_digest(const char canon[TAP_CHARS],
		      uint8_t hash[RR_TAP_HASH_LEN])
{
	uint8_t msg[sizeof(TAP_DOMAIN) + TAP_CHARS];
	int r;

	r = rr_mfa_sodium_ready();
	if (r < 0)
		return r;
	memcpy(msg, TAP_DOMAIN, sizeof(TAP_DOMAIN));
	memcpy(msg + sizeof(TAP_DOMAIN), canon, TAP_CHARS);
	if (crypto_generichash(hash, RR_TAP_HASH_LEN, msg, sizeof(msg), NULL,
			       0) != 0)
		r = -EIO;
	sodium_memzero(msg, sizeof(msg));
	return r;
}

int rr_tap_new(char *out, uint8_t hash[RR_TAP_HASH_LEN])
{
	char canon[TAP_CHARS], text[RR_TAP_LEN + 1];
	uint8_t h[RR_TAP_HASH_LEN];
	size_t i, n = 0;
	int r;

	if (!out || !hash)
		return -EINVAL;
	r = rr_mfa_sodium_ready();
	if (r < 0)
		return r;
	for (i = 0; i < TAP_CHARS; i++) {
		canon[i] =
		    TAP_ALPHABET[randombytes_uniform(sizeof(TAP_ALPHABET) - 1)];
		if (i > 0 && i % TAP_GROUP == 0)
			text[n++] = '-';
		text[n++] = canon[i];
	}
	text[n] = '\0';
	r = tap_digest(canon, h);
	if (r == 0) {
		memcpy(out, text, sizeof(text));
		memcpy(hash, h, sizeof(h));
	}
	sodium_memzero(canon, sizeof(canon));
	sodium_memzero(text, sizeof(text));
	return r;
}

/* Uppercase, blanks and dashes dropped; -EINVAL unless 16 alphabet chars. */
static int tap_canon(const char *typed, char canon[TAP_CHARS])
{
	size_t len = strnlen(typed, TAP_TYPED_MAX + 1), i, n = 0;

	if (len > TAP_TYPED_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = typed[i];

		if (c == ' ' || c == '\t' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (n == TAP_CHARS || !strchr(TAP_ALPHABET, c))
			return -EINVAL;
		canon[n++] = c;
	}
	return n == TAP_CHARS ? 0 : -EINVAL;
}

int rr_tap_hash(const char *typed, uint8_t hash[RR_TAP_HASH_LEN])
{
	char canon[TAP_CHARS];
	uint8_t h[RR_TAP_HASH_LEN];
	int r;

	if (!typed || !hash)
		return -EINVAL;
	r = tap_canon(typed, canon);
	if (r == 0)
		r = tap_digest(canon, h);
	if (r == 0)
		memcpy(hash, h, sizeof(h));
	sodium_memzero(canon, sizeof(canon));
	return r;
}
