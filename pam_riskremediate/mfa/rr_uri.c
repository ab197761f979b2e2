/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RFC 4648 base32 and otpauth:// key URIs (the Key Uri Format understood by
 * authenticator apps).
 */
#include "rr_mfa.h"
#include "rr_mfa_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B32_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#define B32_INPUT_MAX 4096 /* bytes we encode */
#define B32_TEXT_MAX 8192  /* characters of base32 we accept */
#define ISSUER_MAX 64
#define ACCOUNT_MAX 256
#define URI_PREFIX "otpauth://totp/"
#define URI_SECRET "?secret="
#define URI_ISSUER "&issuer="

int rr_base32_encode(const uint8_t *data, size_t len, char **out)
{
	size_t n = 0, i, cap = (len * 8 + 4) / 5 + 1;
	unsigned bits = 0, acc = 0;
	char *s;

	if ((!data && len > 0) || !out || len > B32_INPUT_MAX)
		return -EINVAL;
	s = malloc(cap);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		acc = (acc << 8 | data[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			s[n++] = B32_ALPHABET[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		s[n++] = B32_ALPHABET[(acc << (5 - bits)) & 31];
	s[n] = '\0';
	*out = s;
	return 0;
}

bool rr_mfa_is_b32(const char *s, size_t max)
{
	size_t len;

	if (!s)
		return false;
	len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return false;
	return strspn(s, B32_ALPHABET) == len;
}

int rr_base32_grouped(const char *b32, char **out)
{
	size_t len, i, n = 0;
	char *s;

	if (!out || !rr_mfa_is_b32(b32, B32_TEXT_MAX))
		return -EINVAL;
	len = strlen(b32);
	s = malloc(len + len / 4 + 1);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (i > 0 && i % 4 == 0)
			s[n++] = ' ';
		s[n++] = b32[i];
	}
	s[n] = '\0';
	*out = s;
	return 0;
}

void rr_mfa_free_secret_string(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

/* A label or parameter: 1..max bytes, no control characters. */
static bool text_ok(const char *s, size_t max)
{
	size_t len, i;

	if (!s)
		return false;
	len = strnlen(s, max + 1);
	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/* Length of `s` percent-encoded. */
static size_t encoded_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

/* Percent-encode `s` at `d`; returns the end. */
static char *put_encoded(char *d, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (unreserved(c)) {
			*d++ = (char)c;
		} else {
			*d++ = '%';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		}
	}
	return d;
}

static int uri_check(const char *issuer, const char *account, const char *b32,
		     const rr_totp_params *p)
{
	if (!text_ok(issuer, ISSUER_MAX) || !text_ok(account, ACCOUNT_MAX))
		return -EINVAL;
	if (!rr_mfa_is_b32(b32, B32_TEXT_MAX))
		return -EINVAL;
	return rr_totp_params_check(p);
}

/*
 * The URI is built in one exactly sized buffer so no stray copy of the
 * secret is left behind by a reallocation.
 */
int rr_otpauth_uri(const char *issuer, const char *account, const char *b32,
		   const rr_totp_params *p, char **out)
{
	char tail[64], *buf, *d;
	size_t ilen, size;
	int r, n;

	r = uri_check(issuer, account, b32, p);
	if (r < 0)
		return r;
	if (!out)
		return -EINVAL;
	n = snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%u&period=%u",
		     rr_totp_alg_name(p->alg), p->digits, p->period);
	if (n < 0 || (size_t)n >= sizeof(tail))
		return -EINVAL;
	ilen = encoded_len(issuer);
	size = strlen(URI_PREFIX) + ilen + 1 + encoded_len(account) +
	       strlen(URI_SECRET) + strlen(b32) + strlen(URI_ISSUER) + ilen +
	       (size_t)n + 1;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	d = stpcpy(buf, URI_PREFIX);
	d = put_encoded(d, issuer);
	*d++ = ':';
	d = put_encoded(d, account);
	d = stpcpy(stpcpy(d, URI_SECRET), b32);
	d = put_encoded(stpcpy(d, URI_ISSUER), issuer);
	stpcpy(d, tail);
	*out = buf;
	return 0;
}
