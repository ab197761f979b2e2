/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials: the SHA-1 of the password, the order of the checks,
 * URL rules and error words.  The file and range lookups live in
 * rr_leak_file.c and rr_leak_range.c.
 */
#include "rr_leak.h"
#include "rr_leak_int.h"
#include "rr_lazylib.h"

#include <errno.h>
#include <string.h>

#include <nettle/sha1.h>

#define URL_MAX 512

/* nettle, loaded at the first leak check (rr_lazylib.h) */
static const char *const sha1_names[] = {"nettle_sha1_init",
					 "nettle_sha1_update",
					 "nettle_sha1_digest"};
static rr_fn sha1_fns[3];
static rr_lazylib nettle_lib = RR_LAZYLIB("libnettle.so.8", sha1_names,
					  sha1_fns);
/* typed from the library's own prototypes (not evaluated: no reference) */
#define SHA1_INIT ((__typeof__(&nettle_sha1_init))sha1_fns[0])
#define SHA1_UPDATE ((__typeof__(&nettle_sha1_update))sha1_fns[1])
#define SHA1_DIGEST ((__typeof__(&nettle_sha1_digest))sha1_fns[2])

int rr_leak_sha1_hex(const void *data, size_t len,
		     char hex[RR_LEAK_HASH_LEN + 1])
{
	static const char digits[] = "0123456789ABCDEF";
	uint8_t digest[SHA1_DIGEST_SIZE];
	struct sha1_ctx ctx;
	size_t i;
	int r;

	if (!data && len)
		return -EINVAL;
	r = rr_lazylib_ready(&nettle_lib);
	if (r < 0)
		return r;
	SHA1_INIT(&ctx);
	SHA1_UPDATE(&ctx, len, data);
	SHA1_DIGEST(&ctx, sizeof(digest), digest);
	for (i = 0; i < sizeof(digest); i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[RR_LEAK_HASH_LEN] = '\0';
	explicit_bzero(&ctx, sizeof(ctx));
	explicit_bzero(digest, sizeof(digest));
	return 0;
}

bool rr_leak_is_hex(const char *s, size_t n, bool lower_ok)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F') ||
		      (lower_ok && ch >= 'a' && ch <= 'f')))
			return false;
	}
	return true;
}

int rr_leak_parse_count(const char *p, size_t len, bool *zero)
{
	bool all_zero = true;
	size_t i;

	if (len < 2 || len > 21 || p[0] != ':')
		return -EPROTO;
	for (i = 1; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EPROTO;
		if (p[i] != '0')
			all_zero = false;
	}
	*zero = all_zero;
	return 0;
}

static bool is_loopback(const char *host, size_t len)
{
	static const char *const names[] = { "127.0.0.1", "[::1]",
					     "localhost" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && !strncmp(host, names[i], len))
			return true;
	return false;
}

int rr_leak_url_check(const char *url)
{
	const char *auth, *end;
	size_t len, hostlen, i;
	bool https;

	if (!url)
		return -EINVAL;
	len = strnlen(url, URL_MAX + 1);
	if (len == 0 || len > URL_MAX || url[len - 1] != '/')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (url[i] <= ' ' || url[i] > '~' || url[i] == '?' ||
		    url[i] == '#')
			return -EINVAL;
	https = !strncmp(url, "https://", 8);
	if (!https && strncmp(url, "http://", 7))
		return -EINVAL;
	auth = url + (https ? 8 : 7);
	end = strchr(auth, '/');
	if (end == auth || memchr(auth, '@', (size_t)(end - auth)))
		return -EINVAL;
	if (*auth == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		if (!rb)
			return -EINVAL;
		hostlen = (size_t)(rb - auth) + 1;
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));

		hostlen = (size_t)((colon ? colon : end) - auth);
	}
	if (hostlen == 0)
		return -EINVAL;
	if (!https && !is_loopback(auth, hostlen))
		return -EINVAL;
	return 0;
}

int rr_leak_check(const rr_detection_cfg *cfg, const char *cache_dir,
		  const char *password, int64_t now, unsigned flags,
		  rr_leak_stats *stats, rr_leak_source *source)
{
	char hash[RR_LEAK_HASH_LEN + 1];
	rr_leak_source src = RR_LEAK_SRC_NONE;
	bool found = false, range;
	int r, err = 0;

	if (!cfg || !password || !source)
		return -EINVAL;
	range = cfg->range_url && !(flags & RR_LEAK_NO_NETWORK);
	if (!cfg->hash_file && !range)
		return -EINVAL;
	r = rr_leak_sha1_hex(password, strlen(password), hash);
	if (r < 0)
		return r;
	if (cfg->hash_file) {
		r = rr_leak_file_lookup(cfg->hash_file, hash, stats, &found);
		if (r < 0)
			err = r;
		else if (found)
			src = RR_LEAK_SRC_HASH_FILE;
	}
	if (!found && range) {
		r = rr_leak_range_lookup(cfg, cache_dir, hash, now, stats,
					 &found);
		if (r < 0)
			err = r;
		else if (found)
			src = RR_LEAK_SRC_RANGE_API;
	}
	explicit_bzero(hash, sizeof(hash));
	if (!found && err < 0)
		return err;
	*source = src;
	return 0;
}

const char *rr_leak_strerror(int err)
{
	switch (-err) {
	case ETIMEDOUT:
		return "timed out";
	case EPROTO:
		return "malformed data";
	case EKEYREJECTED:
		return "TLS certificate not trusted or TLS handshake failed";
	case ECONNREFUSED:
		return "connection refused";
	case EHOSTUNREACH:
		return "host not found or unreachable";
	case EREMOTEIO:
		return "the server did not answer 200 OK";
	case EFBIG:
		return "response too large";
	case EINVAL:
		return "invalid range_url or no source configured";
	case ELOOP:
	case EPERM:
		return "the hash file is a symlink, not owned by root or "
		       "group/other-writable";
	default:
		return strerror(-err);
	}
}
