/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The etcd client's requests: one POST of JSON to /v3/... per call on a
 * kept connection, the endpoints tried in order (moving on when one cannot
 * be reached, or has no leader), the auth token sent in the Authorization
 * header and fetched again once when etcd says it is not valid.  The
 * verbs are in rr_etcd_kv.c, the watch in rr_etcd_watch.c.
 */
#include "rr_etcd_http.h"
#include "rr_secfile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RR_ETCD_DEFAULT_CONNECT_MS 2000
#define RR_ETCD_DEFAULT_TIMEOUT_MS 5000

void rr_etcd_buf_wipe(rr_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t buf_write(char *p, size_t size, size_t nmemb, void *ud)
{
	rr_buf *b = ud;
	size_t n = size * nmemb;
	char *nd;

	if (n > RR_ETCD_MAX_BODY - b->len)
		return 0;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		nd = malloc(cap);
		if (!nd)
			return 0;
		if (b->data) {
			memcpy(nd, b->data, b->len);
			explicit_bzero(b->data, b->cap);
			free(b->data);
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

void rr_etcd_set_error(rr_etcd *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
}

const char *rr_etcd_last_error(const rr_etcd *e)
{
	return e && e->err[0] ? e->err : "no error";
}

size_t rr_etcd_endpoint(const rr_etcd *e)
{
	return e->cur;
}

/* ---- configuration --------------------------------------------------- */

/* "scheme://host[:port][/]" with host a literal loopback address. */
static bool url_is_loopback(const char *u)
{
	const char *h = strstr(u, "://") + 3;
	char host[64];
	struct in_addr a;
	size_t n;

	if (!strncmp(h, "[::1]", 5))
		return h[5] == '\0' || h[5] == ':' || h[5] == '/';
	n = strcspn(h, ":/");
	if (n >= sizeof(host))
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a) == 1 &&
		(ntohl(a.s_addr) >> 24) == 127;
}

/* An endpoint: http(s)://host[:port] with an optional trailing slash, no
 * user, path, query or odd character. */
static bool url_valid(const char *u, bool *https)
{
	const char *h, *p;

	if (!strncmp(u, "https://", 8))
		*https = true;
	else if (!strncmp(u, "http://", 7))
		*https = false;
	else
		return false;
	h = strstr(u, "://") + 3;
	if (!*h || strlen(u) > RR_ETCD_MAX_URL)
		return false;
	for (p = h; *p; p++) {
		if (*p == '/')
			return p[1] == '\0' && p > h;
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *p))
			return false;
	}
	return true;
}

static int set_endpoints(rr_etcd *e, const rr_etcd_cfg *cfg)
{
	bool https, all_loop = true, any_http = false;
	size_t i, n;

	if (!cfg->endpoints || cfg->n_endpoints == 0 ||
	    cfg->n_endpoints > RR_ETCD_MAX_ENDPOINTS)
		return rr_etcd_fail(e, -EINVAL, "between 1 and %d endpoints",
				    RR_ETCD_MAX_ENDPOINTS);
	for (i = 0; i < cfg->n_endpoints; i++) {
		const char *u = cfg->endpoints[i];

		if (!u || !url_valid(u, &https))
			return rr_etcd_fail(e, -EINVAL, "endpoint %zu is not "
					    "http(s)://host:port", i + 1);
		any_http |= !https;
		all_loop &= url_is_loopback(u);
		n = strlen(u);
		memcpy(e->urls[i], u, n - (u[n - 1] == '/'));
	}
	e->n_urls = cfg->n_endpoints;
	if (any_http && !all_loop)
		return rr_etcd_fail(e, -EINVAL, "http:// endpoints only when "
				    "every endpoint is a loopback address");
	return 0;
}

static int dup_opt(const char *s, char **out)
{
	if (!s) {
		*out = NULL;
		return 0;
	}
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

/* The password: the file's content without one trailing newline. */
static int read_password(rr_etcd *e, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path)
		return rr_etcd_fail(e, -EINVAL, "a user needs a password_file");
	r = rr_secfile_read(path, RR_ETCD_MAX_PASSWORD + 1, &buf, &len);
	if (r < 0)
		return rr_etcd_fail(e, r, "password file %s: %s", path,
				    rr_secfile_strerror(r));
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len == 0 || len > RR_ETCD_MAX_PASSWORD || strlen(buf) != len) {
		explicit_bzero(buf, len);
		free(buf);
		return rr_etcd_fail(e, -EINVAL, "password file %s: empty, too "
				    "long or not text", path);
	}
	e->password = buf;
	e->password_len = len;
	return 0;
}

static int set_cfg(rr_etcd *e, const rr_etcd_cfg *cfg)
{
	int r = set_endpoints(e, cfg);

	if (r < 0)
		return r;
	if (!cfg->cert != !cfg->key)
		return rr_etcd_fail(e, -EINVAL, "cert and key go together");
	if (dup_opt(cfg->ca, &e->ca) < 0 || dup_opt(cfg->cert, &e->cert) < 0 ||
	    dup_opt(cfg->key, &e->key) < 0 || dup_opt(cfg->user, &e->user) < 0)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	if (e->user && (!*e->user || strlen(e->user) > 128))
		return rr_etcd_fail(e, -EINVAL, "bad user name");
	e->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms :
		RR_ETCD_DEFAULT_CONNECT_MS;
	e->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms :
		RR_ETCD_DEFAULT_TIMEOUT_MS;
	e->lim.max_key = cfg->max_key ? cfg->max_key : RR_ETCD_DEFAULT_MAX_KEY;
	e->lim.max_value = cfg->max_value ? cfg->max_value :
		RR_ETCD_DEFAULT_MAX_VALUE;
	e->lim.max_items = cfg->max_items ? cfg->max_items :
		RR_ETCD_DEFAULT_MAX_ITEMS;
	return e->user ? read_password(e, cfg->password_file) : 0;
}

int rr_etcd_setup_curl(rr_etcd *e, CURL *c)
{
	bool ok = true;

	ok &= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") ==
		CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
	ok &= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_ms) ==
		CURLE_OK;
	if (e->ca)
		ok &= curl_easy_setopt(c, CURLOPT_CAINFO, e->ca) == CURLE_OK;
	if (e->cert) {
		ok &= curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert) == CURLE_OK;
		ok &= curl_easy_setopt(c, CURLOPT_SSLKEY, e->key) == CURLE_OK;
	}
	return ok ? 0 : rr_etcd_fail(e, -EINVAL, "libcurl refused an option");
}

int rr_etcd_open(const rr_etcd_cfg *cfg, rr_etcd **out)
{
	rr_etcd *e;
	int r;

	if (!cfg || !out)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = set_cfg(e, cfg);
	if (r == 0) {
		e->curl = curl_easy_init();
		r = e->curl ? rr_etcd_setup_curl(e, e->curl) : -ENOMEM;
	}
	if (r == 0)
		r = curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->timeout_ms) ==
			CURLE_OK ? 0 : -EINVAL;
	if (r < 0) {
		rr_etcd_free(e);
		return r;
	}
	e->err[0] = '\0';
	*out = e;
	return 0;
}

void rr_etcd_free(rr_etcd *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	if (e->password)
		explicit_bzero(e->password, e->password_len);
	free(e->password);
	explicit_bzero(e->token, sizeof(e->token));
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->user);
	free(e);
}

/* ---- one request ----------------------------------------------------- */

struct curl_slist *rr_etcd_headers(const rr_etcd *e, bool hasleader)
{
	struct curl_slist *h = NULL, *n;
	char auth[RR_ETCD_MAX_TOKEN + 32];

	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h && (n = curl_slist_append(h, "Expect:")))
		h = n;
	if (h && hasleader &&
	    (n = curl_slist_append(h, "Grpc-Metadata-Hasleader: true")))
		h = n;
	if (h && e->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		n = curl_slist_append(h, auth);
		explicit_bzero(auth, sizeof(auth));
		if (!n) {
			rr_etcd_headers_free(h);
			return NULL;
		}
	}
	return h;
}

void rr_etcd_headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	for (p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

int rr_etcd_rpc_errno(const rr_etcd_rpc_error *err, bool idempotent)
{
	const char *m = err->message;

	switch (err->code) {
	case 16: /* UNAUTHENTICATED */
		return RR_ETCD_E_TOKEN;
	case 7:  /* PERMISSION_DENIED */
		return -EACCES;
	case 3:  /* INVALID_ARGUMENT */
		if (strstr(m, "authentication failed"))
			return -EACCES;
		/* what etcd's own client answers with a new token */
		if (strstr(m, "user name is empty") ||
		    strstr(m, "revision of auth store is old"))
			return RR_ETCD_E_TOKEN;
		return -EINVAL;
	case 11: /* OUT_OF_RANGE */
		return strstr(m, "compacted") ? -ESTALE : -ERANGE;
	case 14: /* UNAVAILABLE */
		if (!idempotent && !strstr(m, "no leader"))
			return -ETIMEDOUT; /* maybe applied */
		return RR_ETCD_E_NEXT;
	case 4:  /* DEADLINE_EXCEEDED */
		return idempotent ? RR_ETCD_E_NEXT : -ETIMEDOUT;
	case 8:  /* RESOURCE_EXHAUSTED */
		return -ENOSPC;
	case 5:  /* NOT_FOUND */
		return -ENOENT;
	case 9:  /* FAILED_PRECONDITION */
		return -EINVAL;
	default:
		return -EIO;
	}
}

bool rr_etcd_nothing_sent(CURL *c, CURLcode cc)
{
	curl_off_t pre = 0;

	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_COULDNT_RESOLVE_HOST)
		return true;
	return curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre) ==
		CURLE_OK && pre == 0;
}

/* The body of a finished transfer: 0, or the error etcd answered. */
static int check_answer(rr_etcd *e, const char *path, long status,
			const rr_buf *b, bool idempotent)
{
	rr_etcd_rpc_error err;
	int r;

	r = rr_etcd_parse_error(b->data, b->len, &err);
	if (r == 0 && status == 200)
		return 0;
	if (r <= 0)
		return rr_etcd_fail(e, -EPROTO, "%s: malformed answer "
				    "(HTTP %ld)", path, status);
	r = rr_etcd_rpc_errno(&err, idempotent);
	return rr_etcd_fail(e, r, "%s: %s (code %d)", path, err.message,
			    err.code);
}

static int post_one(rr_etcd *e, size_t idx, const char *path,
		    const char *req, bool idempotent, rr_buf *b)
{
	char url[RR_ETCD_MAX_URL + 64];
	struct curl_slist *h;
	long status = 0;
	CURLcode cc;

	snprintf(url, sizeof(url), "%s%s", e->urls[idx], path);
	h = rr_etcd_headers(e, false);
	if (!h)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	rr_etcd_buf_wipe(b);
	curl_easy_setopt(e->curl, CURLOPT_URL, url);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, b);
	cc = curl_easy_perform(e->curl);
	curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, NULL);
	rr_etcd_headers_free(h);
	if (cc == CURLE_WRITE_ERROR)
		return rr_etcd_fail(e, -EPROTO, "%s: answer over %zu bytes",
				    url, RR_ETCD_MAX_BODY);
	if (cc != CURLE_OK) {
		bool moveon = idempotent || rr_etcd_nothing_sent(e->curl, cc);

		return rr_etcd_fail(e, moveon ? RR_ETCD_E_NEXT :
				    cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT :
				    -EIO, "%s: %s", url, curl_easy_strerror(cc));
	}
	curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
	return check_answer(e, path, status, b, idempotent);
}

int rr_etcd_all_failed(rr_etcd *e, bool no_leader)
{
	char last[sizeof(e->err)];

	memcpy(last, e->err, sizeof(last));
	if (no_leader)
		return rr_etcd_fail(e, -EAGAIN, "no etcd endpoint with a "
				    "leader (last: %.200s)", last);
	return rr_etcd_fail(e, -ECONNREFUSED, "no etcd endpoint answered "
			    "(last: %.200s)", last);
}

/* The endpoints in order from the last one that answered. */
static int post_failover(rr_etcd *e, const char *path, const char *req,
			 bool idempotent, rr_buf *b)
{
	bool no_leader = false;
	size_t i, idx;
	int r = RR_ETCD_E_NEXT;

	for (i = 0; i < e->n_urls && r == RR_ETCD_E_NEXT; i++) {
		idx = (e->cur + i) % e->n_urls;
		r = post_one(e, idx, path, req, idempotent, b);
		if (r != RR_ETCD_E_NEXT)
			e->cur = idx;
		else
			no_leader |= strstr(e->err, "no leader") != NULL;
	}
	if (r == RR_ETCD_E_NEXT)
		return rr_etcd_all_failed(e, no_leader);
	return r;
}

/* JSON string of `s` (escaped) into a new buffer, for the password. */
static char *json_quote(const char *s, size_t n)
{
	char *q = malloc(n * 6 + 3), *p = q;
	size_t i;

	if (!q)
		return NULL;
	*p++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p = '\0';
	return q;
}

int rr_etcd_authenticate(rr_etcd *e)
{
	char *user = NULL, *pw = NULL, *req = NULL;
	size_t cap = 0;
	rr_buf b = { 0 };
	int r = -ENOMEM;

	explicit_bzero(e->token, sizeof(e->token));
	user = json_quote(e->user, strlen(e->user));
	pw = json_quote(e->password, e->password_len);
	if (user && pw) {
		cap = strlen(user) + strlen(pw) + 32;
		req = malloc(cap);
	}
	if (!req)
		goto out;
	snprintf(req, cap, "{\"name\":%s,\"password\":%s}", user, pw);
	r = post_failover(e, "/v3/auth/authenticate", req, true, &b);
	if (r == RR_ETCD_E_TOKEN)
		r = rr_etcd_fail(e, -EACCES, "authentication refused");
	if (r == 0 && rr_etcd_parse_token(b.data, b.len, e->token,
					   sizeof(e->token)) < 0)
		r = rr_etcd_fail(e, -EPROTO, "authenticate: malformed answer");
out:
	if (pw)
		explicit_bzero(pw, strlen(pw));
	if (req)
		explicit_bzero(req, cap);
	free(user);
	free(pw);
	free(req);
	rr_etcd_buf_wipe(&b);
	return r == -ENOMEM ? rr_etcd_fail(e, r, "out of memory") : r;
}

/* A request with authentication: a token first when there is none, a new
 * one once when etcd says it expired. */
int rr_etcd_post(rr_etcd *e, const char *path, const char *req,
		 bool idempotent, rr_buf *b)
{
	int r, tries;

	for (tries = 0; tries < 2; tries++) {
		if (e->user && !e->token[0]) {
			r = rr_etcd_authenticate(e);
			if (r < 0)
				return r;
		}
		r = post_failover(e, path, req, idempotent, b);
		if (r != RR_ETCD_E_TOKEN)
			return r;
		explicit_bzero(e->token, sizeof(e->token));
	}
	return rr_etcd_fail(e, -EACCES, "%s: auth token refused", path);
}

/* rr_etcd_post() of a jansson request object (consumed). */
int rr_etcd_post_json(rr_etcd *e, const char *path, json_t *req,
		      bool idempotent, rr_buf *b)
{
	char *s = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int r;

	json_decref(req);
	if (!s)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	r = rr_etcd_post(e, path, s, idempotent, b);
	free(s);
	return r;
}

/* A base64 JSON string of bytes, NULL when too long or out of memory. */
json_t *rr_etcd_json_b64(const void *p, size_t n, size_t max)
{
	char *s;
	json_t *j;

	if (n > max || (n && !p))
		return NULL;
	s = rr_etcd_b64(p, n);
	j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

json_t *rr_etcd_json_i64(int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	return json_string(s);
}

/* ---- a member's status ------------------------------------------------ */

static int status_str(json_t *o, const char *name, char *dst, size_t cap,
		      bool digits)
{
	json_t *v = json_object_get(o, name);
	const char *s = v ? json_string_value(v) : NULL;
	size_t n, i;

	if (!s)
		return -EPROTO;
	n = strlen(s);
	if (!n || n >= cap)
		return -EPROTO;
	for (i = 0; i < n; i++)
		if (digits ? (s[i] < '0' || s[i] > '9')
			   : (s[i] < 0x21 || s[i] > 0x7e))
			return -EPROTO;
	memcpy(dst, s, n + 1);
	return 0;
}

int rr_etcd_member_status(rr_etcd *e, size_t idx, rr_etcd_member *out)
{
	char member[24], leader[24], rev[24];
	json_t *o = NULL, *h;
	rr_buf b = {0};
	int r, tries;

	if (!e || !out || idx >= e->n_urls)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	r = RR_ETCD_E_TOKEN;
	for (tries = 0; tries < 2 && r == RR_ETCD_E_TOKEN; tries++) {
		if (e->user && !e->token[0]) {
			r = rr_etcd_authenticate(e);
			if (r < 0)
				break;
		}
		r = post_one(e, idx, "/v3/maintenance/status", "{}", true, &b);
		if (r == RR_ETCD_E_TOKEN)
			explicit_bzero(e->token, sizeof(e->token));
	}
	if (r == RR_ETCD_E_NEXT)
		r = -ECONNREFUSED;
	if (r == RR_ETCD_E_TOKEN)
		r = rr_etcd_fail(e, -EACCES, "status: auth token refused");
	if (r < 0)
		goto out;
	o = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, NULL);
	h = o ? json_object_get(o, "header") : NULL;
	r = h && json_is_object(h) ? 0 : -EPROTO;
	if (!r)
		r = status_str(h, "member_id", member, sizeof(member), true);
	if (!r)
		r = status_str(h, "revision", rev, sizeof(rev), true);
	if (!r)
		r = status_str(o, "version", out->version,
			       sizeof(out->version), false);
	/* no leader: the field is absent (0 is omitted) */
	if (!r && status_str(o, "leader", leader, sizeof(leader), true) < 0)
		leader[0] = '\0';
	if (r) {
		r = rr_etcd_fail(e, -EPROTO, "status: unexpected answer");
		goto out;
	}
	out->revision = strtoll(rev, NULL, 10);
	out->has_leader = leader[0] != '\0';
	out->leader = out->has_leader && !strcmp(member, leader);
out:
	json_decref(o);
	rr_etcd_buf_wipe(&b);
	return r;
}
