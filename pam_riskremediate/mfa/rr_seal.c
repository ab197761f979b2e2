/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Secrets sealed at rest: XChaCha20-Poly1305 (libsodium AEAD) under a key
 * kept in a root-only file, with the user name as associated data.
 * A sealed blob is nonce || ciphertext || tag.
 */
#include "rr_errno.h"
#include "rr_mfa.h"
#include "rr_mfa_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEAL_AD_MAX 256

/* ---- the key file ------------------------------------------------------ */

static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t k = read(fd, buf + n, len - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return rr_negerrno();
		if (k == 0)
			return -EINVAL;
		n += (size_t)k;
	}
	return 0;
}

static int write_exact(int fd, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t k = write(fd, buf + n, len - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return rr_negerrno();
		n += (size_t)k;
	}
	return 0;
}

static int key_check_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return rr_negerrno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return -EPERM;
	if (st.st_size != RR_MFA_KEY_LEN)
		return -EINVAL;
	return 0;
}

static int key_read(const char *path, uint8_t key[RR_MFA_KEY_LEN])
{
	uint8_t buf[RR_MFA_KEY_LEN];
	int fd, r;

	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == EMLINK ? -ELOOP : rr_negerrno();
	r = key_check_fd(fd);
	if (r == 0)
		r = read_exact(fd, buf, sizeof(buf));
	if (r == 0)
		memcpy(key, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Make the new directory entry durable. */
static int sync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = rr_negerrno();
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

/* Fill an open temporary file with a fresh key. */
static int key_fill(int fd)
{
	uint8_t buf[RR_MFA_KEY_LEN];
	int r;

	randombytes_buf(buf, sizeof(buf));
	r = write_exact(fd, buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	if (r == 0 && fchmod(fd, 0600) < 0)
		r = rr_negerrno();
	if (r == 0 && fsync(fd) < 0)
		r = rr_negerrno();
	return r;
}

/*
 * Write the key to a temporary file next to `path` and link it into place:
 * readers never see a partial key and link() refuses to replace a key that
 * another process created first (-EEXIST).
 */
static int key_create(const char *path)
{
	static const char suffix[] = ".XXXXXX";
	size_t len = strlen(path);
	char *tmp;
	int fd, r;

	tmp = malloc(len + sizeof(suffix));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, len);
	memcpy(tmp + len, suffix, sizeof(suffix));
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = rr_negerrno();
		goto out;
	}
	r = key_fill(fd);
	close(fd);
	if (r == 0 && link(tmp, path) < 0)
		r = rr_negerrno();
	unlink(tmp);
	if (r == 0)
		r = sync_parent(path);
out:
	free(tmp);
	return r;
}

int rr_mfa_key_load(const char *path, bool create, uint8_t key[RR_MFA_KEY_LEN])
{
	int r;

	if (!path || !*path || !key)
		return -EINVAL;
	r = rr_mfa_sodium_ready();
	if (r < 0)
		return r;
	r = key_read(path, key);
	if (r != -ENOENT || !create)
		return r;
	r = key_create(path);
	if (r < 0 && r != -EEXIST)
		return r;
	return key_read(path, key);
}

/* ---- sealing ----------------------------------------------------------- */

static int ad_len(const char *ad, size_t *len)
{
	if (!ad)
		return -EINVAL;
	*len = strnlen(ad, SEAL_AD_MAX + 1);
	return *len > SEAL_AD_MAX ? -EINVAL : 0;
}

int rr_mfa_seal(const uint8_t key[RR_MFA_KEY_LEN], const char *ad,
		const uint8_t *plain, size_t len, uint8_t *out, size_t *out_len)
{
	uint8_t blob[RR_SEALED_MAX];
	unsigned long long clen = 0;
	size_t alen;
	int r;

	if (!key || !plain || len == 0 || !out || !out_len)
		return -EINVAL;
	r = ad_len(ad, &alen);
	if (r < 0)
		return r;
	if (len > RR_SEALED_MAX - SEAL_NONCE - SEAL_TAG)
		return -EMSGSIZE;
	r = rr_mfa_sodium_ready();
	if (r < 0)
		return r;
	randombytes_buf(blob, SEAL_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    blob + SEAL_NONCE, &clen, plain, len, (const uint8_t *)ad, alen,
	    NULL, blob, key);
	memcpy(out, blob, SEAL_NONCE + (size_t)clen);
	*out_len = SEAL_NONCE + (size_t)clen;
	return 0;
}

int rr_mfa_unseal(const uint8_t key[RR_MFA_KEY_LEN], const char *ad,
		  const uint8_t *blob, size_t blob_len, uint8_t *plain,
		  size_t plain_max, size_t *plain_len)
{
	uint8_t buf[RR_SEALED_MAX];
	unsigned long long mlen = 0;
	size_t alen;
	int r;

	if (!key || !blob || !plain || !plain_len)
		return -EINVAL;
	r = ad_len(ad, &alen);
	if (r < 0)
		return r;
	if (blob_len <= SEAL_NONCE + SEAL_TAG || blob_len > RR_SEALED_MAX)
		return -EBADMSG;
	if (plain_max < blob_len - SEAL_NONCE - SEAL_TAG)
		return -ENOBUFS;
	r = rr_mfa_sodium_ready();
	if (r < 0)
		return r;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		buf, &mlen, NULL, blob + SEAL_NONCE, blob_len - SEAL_NONCE,
		(const uint8_t *)ad, alen, blob, key) != 0) {
		r = -EBADMSG;
	} else {
		memcpy(plain, buf, (size_t)mlen);
		*plain_len = (size_t)mlen;
	}
	sodium_memzero(buf, sizeof(buf));
	return r;
}
