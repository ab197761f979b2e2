/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The k-anonymity range API (Pwned Passwords format): GET range_url +
 * the first 5 hex characters of the SHA-1, answer "SUFFIX:COUNT" lines.
 * Only the prefix leaves the host.  Responses are cached per prefix in a
 * root-only directory: "RRLEAK1 <fetched unix time>\n" then the body,
 * written atomically (temp file + rename), read back by rr_secfile rules.
 */
#include "rr_errno.h"
#include "rr_leak.h"
#include "rr_leak_int.h"
#include "rr_secfile.h"
#include "rr_lazylib.h"
#include "rr_writefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#define CACHE_MAGIC "RRLEAK1 "
#define CACHE_HEAD_MAX 32
#define DEFAULT_TIMEOUT_MS 3000
#define PATH_MAX_LEN 4096

typedef struct {
	char *data;
	size_t len;
	size_t cap;
	bool too_big;
} body_buf;

static void body_free(body_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- parsing ---------------------------------------------------------- */

static char upper(char ch)
{
	return (ch >= 'a' && ch <= 'f') ? (char)(ch - 'a' + 'A') : ch;
}

int rr_leak_range_parse(const char *body, size_t len, const char *suffix,
			bool *found)
{
	unsigned match = 0;
	size_t pos = 0;

	if (!body || !suffix || !found || len == 0)
		return -EPROTO;
	while (pos < len) {
		const char *line = body + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		unsigned diff = 0;
		bool zero;
		size_t i;

		pos += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n <= RR_LEAK_SUFFIX_LEN || n > RR_LEAK_LINE_MAX ||
		    !rr_leak_is_hex(line, RR_LEAK_SUFFIX_LEN, true) ||
		    rr_leak_parse_count(line + RR_LEAK_SUFFIX_LEN,
					n - RR_LEAK_SUFFIX_LEN, &zero) < 0)
			return -EPROTO;
		for (i = 0; i < RR_LEAK_SUFFIX_LEN; i++)
			diff |= (unsigned)(upper(line[i]) ^ suffix[i]);
		match |= (unsigned)(diff == 0 && !zero);
	}
	*found = match != 0;
	return 0;
}

/* ---- cache ------------------------------------------------------------ */

static int cache_path(const char *dir, const char *name, char *out,
		      size_t size)
{
	int n = snprintf(out, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The cache directory exists (created 0700 if missing) and is trusted. */
static int cache_dir_ready(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return rr_negerrno();
	return rr_secfile_check_dir(dir);
}

static int read_all(int fd, size_t max, body_buf *b)
{
	struct stat st;
	ssize_t got;

	if (fstat(fd, &st) < 0)
		return rr_negerrno();
	if (st.st_size < 0 || (uint64_t)st.st_size > max)
		return -EFBIG;
	b->cap = (size_t)st.st_size + 1;
	b->data = malloc(b->cap);
	if (!b->data)
		return -ENOMEM;
	while (b->len < (size_t)st.st_size) {
		got = read(fd, b->data + b->len, (size_t)st.st_size - b->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? rr_negerrno() : -EIO;
		b->len += (size_t)got;
	}
	b->data[b->len] = '\0';
	return 0;
}

/* A fresh cached body for `prefix` into *out (header stripped), or
 * -ENOENT when there is none, it is stale or it is unreadable. */
static int cache_read(const char *dir, const char *prefix, int64_t now,
		      unsigned cache_s, body_buf *out)
{
	char path[PATH_MAX_LEN], *end;
	body_buf b = { 0 };
	long long fetched;
	size_t head;
	int fd, r;

	r = cache_path(dir, prefix, path, sizeof(path));
	if (r < 0)
		return r;
	fd = rr_secfile_open(path);
	if (fd < 0)
		return -ENOENT;
	r = read_all(fd, RR_LEAK_BODY_MAX + CACHE_HEAD_MAX, &b);
	close(fd);
	if (r < 0 || strncmp(b.data, CACHE_MAGIC, strlen(CACHE_MAGIC)))
		goto stale;
	errno = 0;
	fetched = strtoll(b.data + strlen(CACHE_MAGIC), &end, 10);
	if (errno || *end != '\n' || fetched > now ||
	    now - fetched >= (int64_t)cache_s)
		goto stale;
	head = (size_t)(end + 1 - b.data);
	memmove(b.data, b.data + head, b.len - head + 1);
	b.len -= head;
	*out = b;
	return 0;
stale:
	body_free(&b);
	return -ENOENT;
}

/* A cache: replaced whole, not synced (a crash loses an entry at most). */
static int cache_write(const char *dir, const char *prefix, int64_t now,
		       const body_buf *b)
{
	char path[PATH_MAX_LEN], head[CACHE_HEAD_MAX];
	struct iovec parts[2];
	int r;

	r = cache_path(dir, prefix, path, sizeof(path));
	if (r < 0)
		return r;
	snprintf(head, sizeof(head), CACHE_MAGIC "%" PRId64 "\n", now);
	parts[0] = (struct iovec){.iov_base = head, .iov_len = strlen(head)};
	parts[1] = (struct iovec){.iov_base = b->data, .iov_len = b->len};
	return rr_replace_file(path, parts, 2, 0600, 0);
}

/* ---- HTTP ------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *data)
{
	body_buf *b = data;
	size_t n = size * nmemb;
	char *p;

	if (n > RR_LEAK_BODY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * libcurl is loaded on first use, not linked (util/rr_lazylib.h): it and
 * its dependencies take milliseconds to map and relocate, and the module
 * is loaded at every sign-in while most sign-ins never reach the range
 * API (cache hit, detection off, hash file only).  Only the soname the
 * headers belong to is loaded, from the system library path.
 */
static const char *const curl_names[] = {
	"curl_easy_init",    "curl_easy_setopt",  "curl_easy_perform",
	"curl_easy_getinfo", "curl_easy_cleanup", "curl_slist_append",
	"curl_slist_free_all",
};
static rr_fn curl_fns[7];
static rr_lazylib curl_lib = RR_LAZYLIB("libcurl.so.4", curl_names, curl_fns);
/* the prototypes of curl.h (curl_easy_setopt and _getinfo are macros
 * there under GCC, so they are spelled out) */
#define CURL_EASY_INIT ((CURL * (*)(void)) curl_fns[0])
#define CURL_EASY_SETOPT ((CURLcode(*)(CURL *, CURLoption, ...))curl_fns[1])
#define CURL_EASY_PERFORM ((CURLcode(*)(CURL *))curl_fns[2])
#define CURL_EASY_GETINFO ((CURLcode(*)(CURL *, CURLINFO, ...))curl_fns[3])
#define CURL_EASY_CLEANUP ((void (*)(CURL *))curl_fns[4])
#define CURL_SLIST_APPEND                                                    \
	((struct curl_slist * (*)(struct curl_slist *, const char *))       \
		 curl_fns[5])
#define CURL_SLIST_FREE_ALL ((void (*)(struct curl_slist *))curl_fns[6])

static int curl_ready(void)
{
	return rr_lazylib_ready(&curl_lib);
}

static int curl_errno(CURLcode c, const body_buf *b)
{
	if (c == CURLE_OPERATION_TIMEDOUT)
		return -ETIMEDOUT;
	if (c == CURLE_COULDNT_CONNECT)
		return -ECONNREFUSED;
	if (c == CURLE_COULDNT_RESOLVE_HOST)
		return -EHOSTUNREACH;
	if (c == CURLE_OUT_OF_MEMORY)
		return -ENOMEM;
	if (c == CURLE_WRITE_ERROR)
		return b->too_big ? -EFBIG : -ENOMEM;
	if (c == CURLE_PEER_FAILED_VERIFICATION ||
	    c == CURLE_SSL_CONNECT_ERROR || c == CURLE_SSL_CACERT_BADFILE ||
	    c == CURLE_SSL_CERTPROBLEM || c == CURLE_SSL_CIPHER ||
	    c == CURLE_SSL_ISSUER_ERROR || c == CURLE_SSL_CRL_BADFILE ||
	    c == CURLE_SSL_INVALIDCERTSTATUS)
		return -EKEYREJECTED;
	if (c == CURLE_UNSUPPORTED_PROTOCOL)
		return -EINVAL;
	if (c == CURLE_GOT_NOTHING || c == CURLE_RECV_ERROR ||
	    c == CURLE_PARTIAL_FILE || c == CURLE_BAD_CONTENT_ENCODING ||
	    c == CURLE_WEIRD_SERVER_REPLY)
		return -EPROTO;
	return -EIO;
}

/*
 * The environment: rr_leak_check runs this only where it is the admin's
 * (riskd, from systemd; never the application's process, whose
 * environment may be a set-user-ID program's caller's: module/host.h).
 * Still, nothing in the environment may steer the request:
 * - http_proxy, https_proxy, ALL_PROXY, NO_PROXY (any case): CURLOPT_PROXY
 *   "" turns proxies off, CURLOPT_NOPROXY "*" matches every host;
 * - the CA: libcurl 7.88 (OpenSSL) reads no variable for it; its default
 *   is the bundle and directory fixed when it was built (Debian:
 *   /etc/ssl/certs/ca-certificates.crt and /etc/ssl/certs).  CURL_CA_BUNDLE
 *   is read by the curl tool, not libcurl (not among libcurl.so.4's
 *   strings); OpenSSL's SSL_CERT_FILE/SSL_CERT_DIR only through
 *   SSL_CTX_set_default_verify_paths, libcurl's fallback when it has no
 *   CA file or path at all (never here), and by secure_getenv.  With
 *   ca_file it is the only CA: CURLOPT_CAPATH is cleared;
 * - netrc (HOME, CURL_HOME): CURLOPT_NETRC is left off; no alt-svc, HSTS or
 *   cookie file is set;
 * - SSLKEYLOGFILE: read by libcurl's TLS set-up with no option to turn it
 *   off, hence the rule above: libcurl never runs in the application.
 */
#define SETOPT(h, opt, val)                                                  \
	do {                                                                 \
		if (CURL_EASY_SETOPT(h, opt, val) != CURLE_OK) {          \
			r = -ENOMEM;                                         \
			goto out;                                            \
		}                                                            \
	} while (0)

static int fetch(const rr_detection_cfg *cfg, const char *prefix,
		 rr_leak_stats *stats, body_buf *out)
{
	long timeout = cfg->timeout_ms ? (long)cfg->timeout_ms :
					 DEFAULT_TIMEOUT_MS;
	bool https = !strncmp(cfg->range_url, "https://", 8);
	struct curl_slist *hdrs = NULL;
	body_buf b = { 0 };
	char url[PATH_MAX_LEN];
	long status = 0;
	CURLcode c;
	CURL *h;
	int r = 0;

	r = curl_ready();
	if (r < 0)
		return r;
	snprintf(url, sizeof(url), "%s%s", cfg->range_url, prefix);
	h = CURL_EASY_INIT();
	hdrs = CURL_SLIST_APPEND(NULL, "Add-Padding: true");
	if (!h || !hdrs) {
		r = -ENOMEM;
		goto out;
	}
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_TIMEOUT_MS, timeout);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	SETOPT(h, CURLOPT_PROXY, "");
	SETOPT(h, CURLOPT_NOPROXY, "*");
	SETOPT(h, CURLOPT_USERAGENT, "pam_riskremediate");
	SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
	SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_file) {
		SETOPT(h, CURLOPT_CAINFO, cfg->ca_file);
		SETOPT(h, CURLOPT_CAPATH, (char *)NULL);
	}
	SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(h, CURLOPT_WRITEDATA, &b);
	rr_leak_stat(stats, range_requests);
	c = CURL_EASY_PERFORM(h);
	if (c != CURLE_OK) {
		r = curl_errno(c, &b);
		goto out;
	}
	if (CURL_EASY_GETINFO(h, CURLINFO_RESPONSE_CODE, &status) !=
		    CURLE_OK || status != 200) {
		r = -EREMOTEIO;
		goto out;
	}
	if (!b.data) {
		r = -EPROTO; /* empty body */
		goto out;
	}
	*out = b;
	b.data = NULL;
out:
	body_free(&b);
	if (hdrs)
		CURL_SLIST_FREE_ALL(hdrs);
	if (h)
		CURL_EASY_CLEANUP(h);
	return r;
}

/* ---- lookup ----------------------------------------------------------- */

int rr_leak_range_lookup(const rr_detection_cfg *cfg, const char *cache_dir,
			 const char *hash, int64_t now, rr_leak_stats *stats,
			 bool *found)
{
	char prefix[RR_LEAK_PREFIX_LEN + 1];
	bool cache = cache_dir && cfg && cfg->cache_s > 0;
	body_buf b = { 0 };
	bool f = false;
	int r;

	if (!cfg || !hash || !found || strlen(hash) != RR_LEAK_HASH_LEN ||
	    !rr_leak_is_hex(hash, RR_LEAK_HASH_LEN, false) ||
	    rr_leak_url_check(cfg->range_url) < 0)
		return -EINVAL;
	memcpy(prefix, hash, RR_LEAK_PREFIX_LEN);
	prefix[RR_LEAK_PREFIX_LEN] = '\0';
	if (cache && cache_dir_ready(cache_dir) < 0) {
		rr_leak_stat(stats, cache_errors);
		cache = false;
	}
	if (cache && cache_read(cache_dir, prefix, now, cfg->cache_s,
				&b) == 0) {
		r = rr_leak_range_parse(b.data, b.len,
					hash + RR_LEAK_PREFIX_LEN, &f);
		if (r == 0) {
			rr_leak_stat(stats, cache_hits);
			goto done;
		}
		rr_leak_stat(stats, cache_errors); /* bad copy: fetch anew */
		body_free(&b);
	}
	r = fetch(cfg, prefix, stats, &b);
	if (r == 0)
		r = rr_leak_range_parse(b.data, b.len,
					hash + RR_LEAK_PREFIX_LEN, &f);
	if (r == 0 && cache) {
		if (cache_write(cache_dir, prefix, now, &b) == 0)
			rr_leak_stat(stats, cache_writes);
		else
			rr_leak_stat(stats, cache_errors);
	}
done:
	body_free(&b);
	if (r == 0)
		*found = f;
	return r;
}
