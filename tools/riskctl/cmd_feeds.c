/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * feeds update, lists compile.
 *
 * `feeds update` downloads every IP list that has a feed URL in the policy
 * (conditional GET: If-None-Match / If-Modified-Since from LIST.meta),
 * validates the whole body as a list, replaces the list atomically, and
 * then compiles the index (LIST.idx) of every list in the policy, with a
 * feed or without.  A failed or malformed download keeps the old list.
 * `lists compile` only compiles, never touches the network.
 */
#include "json.h"
#include "riskctl.h"
#include "rr_iplist.h"
#include "rr_secfile.h"
#include "rr_writefile.h"
#include "table.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef RR_VERSION
#define RR_VERSION "unknown"
#endif

#define FEED_MAX_BYTES RR_IPLIST_MAX_BYTES
#define FEED_CONNECT_TIMEOUT_S 15L
#define FEED_TIMEOUT_S 600L
#define FEED_LOW_SPEED_BPS 1024L /* abort below this ... */
#define FEED_LOW_SPEED_S 60L     /* ... for this long */
#define FEED_MAX_REDIRS 5L
#define META_MAX 4096
#define VALIDATOR_MAX 512
#define REASON_MAX 256
#define MAX_JOBS 128

enum outcome {
	OUT_UPDATED,
	OUT_NOT_MODIFIED,
	OUT_COMPILED,
	OUT_CURRENT,
	OUT_FAILED,
};

static const char *const outcome_json[] = {
	"updated", "notModified", "compiled", "upToDate", "failed",
};

struct job {
	const char *list;
	const char *url; /* NULL: no feed */
	enum outcome out;
	size_t ranges;
	bool have_ranges;
	char reason[REASON_MAX];
};

/* Validators of the last good download, kept in LIST.meta (0600). */
struct meta {
	char url[VALIDATOR_MAX + 1];
	char etag[VALIDATOR_MAX + 1];
	char last_modified[VALIDATOR_MAX + 1];
};

struct fetch {
	char *buf;
	size_t len;
	size_t cap;
	bool too_big;
	struct meta got; /* validators of this response */
};

static void fail(struct job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	j->out = OUT_FAILED;
	va_start(ap, fmt);
	vsnprintf(j->reason, sizeof(j->reason), fmt, ap);
	va_end(ap);
}

/* ---- the job list ------------------------------------------------------- */

static int add_job(struct job *jobs, size_t *n, const char *list,
		   const char *url)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(jobs[i].list, list) != 0)
			continue;
		if (url && jobs[i].url && strcmp(url, jobs[i].url) != 0)
			fail(&jobs[i], "the policy names two different feeds "
				       "for this list");
		else if (url)
			jobs[i].url = url;
		return 0;
	}
	if (*n == MAX_JOBS)
		return -E2BIG;
	jobs[*n] = (struct job){.list = list, .url = url};
	(*n)++;
	return 0;
}

static int collect(const rr_policy *p, struct job *jobs, size_t *n)
{
	size_t e, i;
	int r = 0;

	*n = 0;
	for (e = 0; e < RR_EVENT__COUNT && r == 0; e++) {
		const rr_detection_cfg *d = &p->detections[e];

		for (i = 0; i < d->n_lists && r == 0; i++)
			r = add_job(jobs, n, d->lists[i],
				    d->feeds ? d->feeds[i] : NULL);
	}
	return r;
}

/* ---- LIST.meta ---------------------------------------------------------- */

static int sidecar(const char *list, const char *suffix, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s%s", list, suffix);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A header value we are willing to store and send back. */
static bool valid_validator(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > VALIDATOR_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static void set_field(char *dst, const char *v, size_t len)
{
	if (!valid_validator(v, len))
		return;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* "url VALUE\netag VALUE\nlast-modified VALUE\n"; missing or unreadable is
 * an empty record (the next download is unconditional). */
static void meta_read(const char *list, struct meta *m)
{
	char path[PATH_MAX], *buf = NULL, *line, *save = NULL;
	size_t len = 0;

	memset(m, 0, sizeof(*m));
	if (sidecar(list, ".meta", path, sizeof(path)) < 0 ||
	    rr_secfile_read(path, META_MAX, &buf, &len) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		char *dst;

		if (!sp)
			continue;
		*sp++ = '\0';
		dst = strcmp(line, "url") == 0		  ? m->url
		      : strcmp(line, "etag") == 0	  ? m->etag
		      : strcmp(line, "last-modified") == 0 ? m->last_modified
							   : NULL;
		if (dst)
			set_field(dst, sp, strlen(sp));
	}
	free(buf);
}

/* Write `path` atomically and durably. */
static int replace_file(const char *path, const char *data, size_t len,
			mode_t mode)
{
	const struct iovec part = {.iov_base = (void *)data, .iov_len = len};

	return rr_replace_file(path, &part, 1, mode, RR_REPLACE_DURABLE);
}

static int meta_write(const char *list, const char *url,
		      const struct meta *got)
{
	char path[PATH_MAX], text[3 * (VALIDATOR_MAX + 32)];
	int n, r;

	r = sidecar(list, ".meta", path, sizeof(path));
	if (r < 0)
		return r;
	n = snprintf(text, sizeof(text), "url %s\n", url);
	if (got->etag[0])
		n += snprintf(text + n, sizeof(text) - (size_t)n, "etag %s\n",
			      got->etag);
	if (got->last_modified[0])
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "last-modified %s\n", got->last_modified);
	return replace_file(path, text, (size_t)n, 0600);
}

/* ---- download ----------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb;

	if (n > FEED_MAX_BYTES - f->len) {
		f->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap : 65536;
		char *nb;

		while (cap < f->len + n + 1)
			cap *= 2;
		nb = realloc(f->buf, cap);
		if (!nb)
			return 0;
		f->buf = nb;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, p, n);
	f->len += n;
	f->buf[f->len] = '\0';
	return n;
}

static bool header_is(const char *line, size_t len, const char *name,
		      const char **val, size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	line += nl + 1;
	len -= nl + 1;
	while (len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
		       line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*val = line;
	*vlen = len;
	return true;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct fetch *f = ud;
	size_t n = size * nmemb, vlen;
	const char *v;

	/* a new response (after a redirect): forget the previous one's */
	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
		memset(&f->got, 0, sizeof(f->got));
	else if (header_is(p, n, "etag", &v, &vlen))
		set_field(f->got.etag, v, vlen);
	else if (header_is(p, n, "last-modified", &v, &vlen))
		set_field(f->got.last_modified, v, vlen);
	return n;
}

/* HTTPS anywhere; plain HTTP only to this host (for tests and local
 * mirrors).  The policy loader checks the same. */
static bool url_allowed(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = strcmp(scheme, "https") == 0 ||
		     (strcmp(scheme, "http") == 0 &&
		      (strncmp(host, "127.", 4) == 0 ||
		       strcmp(host, "[::1]") == 0 ||
		       strcmp(host, "localhost") == 0));
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static struct curl_slist *conditional_headers(const struct meta *m,
					      const char *url)
{
	struct curl_slist *h = NULL, *nh;
	char line[VALIDATOR_MAX + 32];

	if (strcmp(m->url, url) != 0) /* the feed moved: start over */
		return NULL;
	if (m->etag[0]) {
		snprintf(line, sizeof(line), "If-None-Match: %s", m->etag);
		nh = curl_slist_append(h, line);
		h = nh ? nh : h;
	}
	if (m->last_modified[0]) {
		snprintf(line, sizeof(line), "If-Modified-Since: %s",
			 m->last_modified);
		nh = curl_slist_append(h, line);
		h = nh ? nh : h;
	}
	return h;
}

static void set_options(CURL *h, const char *url, struct fetch *f,
			struct curl_slist *hdr, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, FEED_MAX_REDIRS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, FEED_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, FEED_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, FEED_LOW_SPEED_BPS);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, FEED_LOW_SPEED_S);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)FEED_MAX_BYTES);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "riskctl/" RR_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* GET the feed; *status is the HTTP status when the transfer completed.
 * On failure the job says why. */
static int download(struct job *j, const struct meta *m, struct fetch *f,
		    long *status)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = conditional_headers(m, j->url);
	curl_off_t clen = -1;
	CURL *h = curl_easy_init();
	CURLcode rc;

	if (!h) {
		curl_slist_free_all(hdr);
		fail(j, "cannot start a transfer (out of memory)");
		return -ENOMEM;
	}
	set_options(h, j->url, f, hdr, errbuf);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &clen);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	if (f->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		fail(j, "body larger than %u MiB (refused)",
		     FEED_MAX_BYTES >> 20);
	else if (rc == CURLE_PARTIAL_FILE)
		fail(j, "body truncated (%zu bytes received)", f->len);
	else if (rc != CURLE_OK)
		fail(j, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else if (*status == 200 && clen >= 0 && (size_t)clen != f->len)
		fail(j, "body truncated (%zu of %lld bytes)", f->len,
		     (long long)clen);
	/* Without a declared length only a final newline shows the
	 * body was not cut off in the middle of an address. */
	else if (*status == 200 && clen < 0 && f->len &&
		 f->buf[f->len - 1] != '\n')
		fail(j, "body ends in the middle of a line (truncated?)");
	else if (*status != 200 && *status != 304)
		fail(j, "HTTP status %ld", *status);
	return j->out == OUT_FAILED ? -EIO : 0;
}

/* The body must be a whole, non-empty list. */
static int validate(struct job *j, const struct fetch *f)
{
	rr_iplist *l = NULL;
	unsigned bad = 0;
	int r;

	if (f->len == 0 || memchr(f->buf, '\0', f->len)) {
		fail(j, f->len ? "body is not text (refused)"
			       : "body is empty (refused)");
		return -EINVAL;
	}
	r = rr_iplist_parse(f->buf, f->len, &l, &bad);
	if (r == -EINVAL)
		fail(j, "malformed body: line %u is not an address or CIDR",
		     bad);
	else if (r < 0)
		fail(j, "cannot parse the body: %s", strerror(-r));
	else if (rr_iplist_size(l) == 0)
		fail(j, "body lists no addresses (refused)");
	rr_iplist_free(l);
	return j->out == OUT_FAILED ? -EINVAL : 0;
}

/* The list's directory must be one only root can write, so nobody can
 * swap the file we are about to replace. */
static int check_list_dir(struct job *j)
{
	char dir[PATH_MAX], *slash;
	int r;

	snprintf(dir, sizeof(dir), "%s", j->list);
	slash = strrchr(dir, '/');
	if (!slash) {
		fail(j, "list path is not absolute");
		return -EINVAL;
	}
	slash[slash == dir] = '\0';
	r = rr_secfile_check_dir(dir);
	if (r < 0)
		fail(j, "directory %s %s", dir, rr_secfile_strerror(r));
	return r;
}

static void fetch_one(struct job *j)
{
	struct fetch f = {0};
	struct meta m;
	long status = 0;
	int r;

	if (!url_allowed(j->url)) {
		fail(j, "feed URL must be https (http only to this host)");
		return;
	}
	if (check_list_dir(j) < 0)
		return;
	meta_read(j->list, &m);
	if (access(j->list, F_OK) < 0) /* lost locally: fetch it whole */
		memset(&m, 0, sizeof(m));
	r = download(j, &m, &f, &status);
	if (r == 0 && status == 304) {
		j->out = OUT_NOT_MODIFIED;
	} else if (r == 0 && validate(j, &f) == 0) {
		r = replace_file(j->list, f.buf, f.len, 0644);
		if (r < 0)
			fail(j, "cannot replace the list: %s", strerror(-r));
		else
			j->out = OUT_UPDATED;
		/* the validators go with the list they describe */
		if (r == 0 && meta_write(j->list, j->url, &f.got) < 0)
			fprintf(stderr, "riskctl: %s: cannot save the feed's "
				"ETag; the next update downloads it again\n",
				j->list);
	}
	free(f.buf);
}

/* ---- compile ------------------------------------------------------------ */

static void compile_one(struct job *j)
{
	unsigned bad = 0;
	int r;

	if (j->out == OUT_FAILED)
		return;
	if (j->out != OUT_UPDATED && rr_iplist_index_verify(j->list) == 0) {
		rr_iplist_index *x = NULL;

		if (rr_iplist_index_open(j->list, &x) == 0) {
			j->ranges = rr_iplist_index_size(x);
			j->have_ranges = true;
		}
		rr_iplist_index_close(x);
		if (j->out == OUT_COMPILED)
			j->out = OUT_CURRENT;
		return;
	}
	r = rr_iplist_compile(j->list, &j->ranges, &bad);
	if (r == -EINVAL)
		fail(j, "line %u is not an address or CIDR", bad);
	else if (r == -EAGAIN)
		fail(j, "the list kept changing while it was read");
	else if (r < 0)
		fail(j, "cannot compile: %s%s",
		     r == -ENOENT ? "" : "list ",
		     r == -ENOENT ? "list does not exist"
				  : rr_secfile_strerror(r));
	else
		j->have_ranges = true;
}

/* ---- output ------------------------------------------------------------- */

static void result_text(const struct job *j, char *buf, size_t len)
{
	switch (j->out) {
	case OUT_UPDATED:
		snprintf(buf, len, "updated, %zu ranges", j->ranges);
		break;
	case OUT_NOT_MODIFIED:
		snprintf(buf, len, "not modified, %zu ranges", j->ranges);
		break;
	case OUT_COMPILED:
		snprintf(buf, len, "compiled, %zu ranges", j->ranges);
		break;
	case OUT_CURRENT:
		snprintf(buf, len, "index up to date, %zu ranges", j->ranges);
		break;
	case OUT_FAILED:
	default:
		snprintf(buf, len, "failed: %s", j->reason);
		break;
	}
}

static int print_text(const struct job *jobs, size_t n)
{
	static const char *const head[] = {"LIST", "FEED", "RESULT"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, 3, head);
	for (i = 0; i < n; i++) {
		char res[REASON_MAX + 64];
		const char *row[3] = {jobs[i].list, jobs[i].url, res};

		result_text(&jobs[i], res, sizeof(res));
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return r;
}

static int print_json(const struct job *jobs, size_t n)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_kstr(&j, "list", jobs[i].list);
		json_kstr(&j, "feed", jobs[i].url);
		json_kstr(&j, "result", outcome_json[jobs[i].out]);
		json_key(&j, "ranges");
		if (jobs[i].have_ranges)
			json_int(&j, (int64_t)jobs[i].ranges);
		else
			json_null(&j);
		json_kstr(&j, "error",
			  jobs[i].out == OUT_FAILED ? jobs[i].reason : NULL);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	return json_finish(&j);
}

static int run_jobs(struct ctl *c, bool fetch)
{
	struct job jobs[MAX_JOBS];
	bool failed = false;
	size_t n = 0, i;
	int r;

	r = ctl_load_policy(c, NULL);
	if (r != RC_OK)
		return r;
	if (collect(c->policy, jobs, &n) < 0) {
		ctl_err("the policy names more than %d lists", MAX_JOBS);
		return RC_POLICY;
	}
	if (fetch && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ctl_err("cannot initialise libcurl");
		return RC_FEEDS;
	}
	for (i = 0; i < n; i++) {
		if (jobs[i].out != OUT_FAILED)
			jobs[i].out = OUT_COMPILED;
		if (fetch && jobs[i].url && jobs[i].out != OUT_FAILED)
			fetch_one(&jobs[i]);
		compile_one(&jobs[i]);
		failed |= jobs[i].out == OUT_FAILED;
	}
	if (fetch)
		curl_global_cleanup();
	r = c->json ? print_json(jobs, n) : print_text(jobs, n);
	if (r < 0)
		return fail_output(r);
	return failed ? RC_FEEDS : RC_OK;
}

int cmd_feeds_update(struct ctl *c)
{
	return run_jobs(c, true);
}

int cmd_lists_compile(struct ctl *c)
{
	return run_jobs(c, false);
}
