/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sign-in's device: the SSH key sshd accepted, as it exposes it with
 * `ExposeAuthInfo yes` (SSH_AUTH_INFO_0, lines "publickey TYPE BASE64"),
 * named by its fingerprint the way `ssh-keygen -l` prints it:
 * "SHA256:" + unpadded base64 of the SHA-256 of the key blob.
 */
#include "rr_assess.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define AUTH_INFO_MAX 65536 /* longer exposed info is not looked at */
#define KEY_B64_MAX 16384   /* RSA 16384-bit keys fit with room */
#define KEY_BLOB_MAX (KEY_B64_MAX / 4 * 3)

/* The base64 key of the first "publickey TYPE BASE64" line, in place:
 * *b64 points into info, *len is its length; -ENOENT when none. */
static int find_publickey(const char *info, const char **b64, size_t *len)
{
	const char *line = info, *p;
	size_t n;

	while (line && *line) {
		n = strcspn(line, "\n");
		if (n > 10 && !strncmp(line, "publickey ", 10)) {
			p = memchr(line + 10, ' ', n - 10);
			if (!p)
				return -EINVAL;
			p++;
			*b64 = p;
			*len = strcspn(p, " \n");
			return *len ? 0 : -EINVAL;
		}
		line = line[n] ? line + n + 1 : NULL;
	}
	return -ENOENT;
}

static int fingerprint(const char *b64, size_t b64_len, char *out, size_t len)
{
	static const char prefix[] = "SHA256:";
	unsigned char blob[KEY_BLOB_MAX];
	unsigned char hash[crypto_hash_sha256_BYTES];
	char enc[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
		 sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
	size_t blob_len = 0;

	if (b64_len > KEY_B64_MAX)
		return -E2BIG;
	if (sodium_init() < 0)
		return -EIO;
	if (sodium_base642bin(blob, sizeof(blob), b64, b64_len, NULL,
			      &blob_len, NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    blob_len == 0)
		return -EINVAL;
	crypto_hash_sha256(hash, blob, blob_len);
	sodium_bin2base64(enc, sizeof(enc), hash, sizeof(hash),
			  sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	if (sizeof(prefix) - 1 + strlen(enc) + 1 > len)
		return -ENOSPC;
	snprintf(out, len, "%s%s", prefix, enc);
	return 0;
}

int rr_device_from_auth_info(const char *info, char *out, size_t len)
{
	const char *b64 = NULL;
	size_t n = 0;
	int r;

	if (!info || !out || len == 0)
		return -EINVAL;
	if (strnlen(info, AUTH_INFO_MAX + 1) > AUTH_INFO_MAX)
		return -E2BIG;
	r = find_publickey(info, &b64, &n);
	if (r == 0)
		r = fingerprint(b64, n, out, len);
	return r;
}
