/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The watch stream: POST /v3/watch with a create_request (progress
 * notifications on, and Grpc-Metadata-Hasleader so that a member without
 * a leader ends the stream rather than going quiet), then one JSON object
 * per line for as long as the stream lasts.  Each line is parsed as it is
 * complete and handed to the caller's callback.
 */
#include "rr_etcd_http.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	rr_etcd *e;
	const rr_etcd_watch_req *req;
	rr_etcd_watch_cb cb;
	void *ud;
	char *line;
	size_t len, cap;
	bool stopped;   /* result is final */
	int result;
	bool delivered; /* the callback saw something */
	int64_t last_rev;
	int64_t compact_revision;
} rr_watch;

static int stop(rr_watch *w, int r)
{
	w->stopped = true;
	w->result = r;
	return r;
}

/* A canceled watch: why, as an errno. */
static int canceled(rr_watch *w, const rr_etcd_watch_line *l)
{
	const char *m = l->error.message;

	if (l->compact_revision > 0) {
		w->compact_revision = l->compact_revision;
		return rr_etcd_fail(w->e, -ESTALE, "watch: revision %lld "
				    "compacted (oldest kept %lld)",
				    (long long)w->req->start_revision,
				    (long long)l->compact_revision);
	}
	if (l->error.code)
		return rr_etcd_fail(w->e, rr_etcd_rpc_errno(&l->error, true),
				    "watch: %s (code %d)", m, l->error.code);
	if (strstr(m, "invalid auth token") || strstr(m, "Unauthenticated") ||
	    strstr(m, "user name is empty") ||
	    strstr(m, "revision of auth store is old"))
		return RR_ETCD_E_TOKEN;
	if (strstr(m, "permission denied"))
		return rr_etcd_fail(w->e, -EACCES, "watch: %s", m);
	if (strstr(m, "no leader"))
		return rr_etcd_fail(w->e, -EAGAIN, "watch: %s", m);
	return rr_etcd_fail(w->e, -ECONNRESET, "watch canceled: %s", m);
}

/* Events must come in revision order, from the start revision on. */
static bool in_order(rr_watch *w, const rr_etcd_watch_msg *m)
{
	int64_t first;

	if (m->n_events == 0)
		return true;
	first = m->events[0].kv.mod_revision;
	if (first <= w->last_rev || first < w->req->start_revision)
		return false;
	w->last_rev = m->events[m->n_events - 1].kv.mod_revision;
	return true;
}

static int handle_line(rr_watch *w, const char *s, size_t n)
{
	rr_etcd_watch_line l;
	int r;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0)
		return 0;
	r = rr_etcd_parse_watch(s, n, &w->e->lim, &l);
	if (r < 0)
		return stop(w, rr_etcd_fail(w->e, r, "watch: malformed "
					    "message"));
	if (l.canceled)
		r = stop(w, canceled(w, &l));
	else if (!in_order(w, &l.msg))
		r = stop(w, rr_etcd_fail(w->e, -EPROTO, "watch: events out "
					 "of order"));
	else {
		w->delivered = true;
		r = w->cb(&l.msg, w->ud);
		if (r != 0)
			stop(w, r < 0 ? r : 0);
	}
	rr_etcd_watch_line_clear(&l);
	return r;
}

/* Complete lines of the buffer handed on, the rest kept. */
static int drain(rr_watch *w)
{
	char *nl;
	size_t used;

	while (!w->stopped && (nl = memchr(w->line, '\n', w->len))) {
		used = (size_t)(nl - w->line) + 1;
		handle_line(w, w->line, used - 1);
		memmove(w->line, w->line + used, w->len - used);
		w->len -= used;
	}
	if (!w->stopped && w->len > RR_ETCD_MAX_WATCH_LINE)
		stop(w, rr_etcd_fail(w->e, -EPROTO, "watch: a message over "
				     "%zu bytes", RR_ETCD_MAX_WATCH_LINE));
	return 0;
}

static size_t watch_write(char *p, size_t size, size_t nmemb, void *ud)
{
	rr_watch *w = ud;
	size_t n = size * nmemb;
	char *nl;

	if (w->stopped)
		return 0;
	if (w->len + n > w->cap) {
		size_t cap = w->len + n > RR_ETCD_MAX_WATCH_LINE ?
			w->len + n : (w->len + n) * 2;

		nl = realloc(w->line, cap + 1);
		if (!nl) {
			stop(w, rr_etcd_fail(w->e, -ENOMEM, "out of memory"));
			return 0;
		}
		w->line = nl;
		w->cap = cap;
	}
	memcpy(w->line + w->len, p, n);
	w->len += n;
	drain(w);
	return w->stopped ? 0 : n;
}

static char *watch_body(const rr_etcd *e, const rr_etcd_watch_req *req)
{
	json_t *cr = json_object(), *o;
	char *s = NULL, *k, *end = NULL, rev[24];

	k = rr_etcd_b64(req->key, req->key_len);
	if (req->range_end)
		end = rr_etcd_b64(req->range_end, req->range_end_len);
	snprintf(rev, sizeof(rev), "%lld", (long long)req->start_revision);
	if (cr && k && (!req->range_end || end) &&
	    json_object_set_new(cr, "key", json_string(k)) == 0 &&
	    (!end || json_object_set_new(cr, "range_end",
					 json_string(end)) == 0) &&
	    json_object_set_new(cr, "start_revision", json_string(rev)) == 0 &&
	    json_object_set_new(cr, "progress_notify", json_true()) == 0) {
		o = json_pack("{s:O}", "create_request", cr);
		s = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
	}
	(void)e;
	json_decref(cr);
	free(k);
	free(end);
	return s;
}

static int watch_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
			  curl_off_t ultotal, curl_off_t ulnow)
{
	rr_watch *w = ud;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (w->stopped || !w->req->cancelled || !w->req->cancelled(w->ud))
		return 0;
	w->stopped = true;
	w->result = 0;
	return 1; /* abort the transfer */
}

static int watch_one(rr_watch *w, size_t idx, const char *body)
{
	char url[RR_ETCD_MAX_URL + 16];
	struct curl_slist *h = rr_etcd_headers(w->e, true);
	CURL *c = curl_easy_init();
	long idle = (w->req->idle_timeout_ms + 999) / 1000;
	CURLcode cc;
	int r;

	w->len = 0;
	w->stopped = false;
	r = (h && c) ? rr_etcd_setup_curl(w->e, c) : -ENOMEM;
	if (r < 0)
		goto out;
	snprintf(url, sizeof(url), "%s/v3/watch", w->e->urls[idx]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	if (w->req->cancelled) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
	if (idle > 0) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle);
	}
	cc = curl_easy_perform(c);
	if (!w->stopped && cc == CURLE_OK && w->len > 0)
		handle_line(w, w->line, w->len); /* the last, unterminated */
	if (w->stopped)
		r = w->result;
	else if (cc == CURLE_OK)
		r = rr_etcd_fail(w->e, -ECONNRESET, "%s: stream ended", url);
	else if (!w->delivered && rr_etcd_nothing_sent(c, cc))
		r = rr_etcd_fail(w->e, RR_ETCD_E_NEXT, "%s: %s", url,
				 curl_easy_strerror(cc));
	else
		r = rr_etcd_fail(w->e, cc == CURLE_OPERATION_TIMEDOUT ?
				 -ETIMEDOUT : -ECONNRESET, "%s: %s", url,
				 curl_easy_strerror(cc));
out:
	if (c)
		curl_easy_cleanup(c);
	rr_etcd_headers_free(h);
	return r;
}

static int watch_failover(rr_watch *w, const char *body)
{
	bool no_leader = false;
	size_t i, idx;
	int r = RR_ETCD_E_NEXT;

	for (i = 0; i < w->e->n_urls && r == RR_ETCD_E_NEXT; i++) {
		idx = (w->e->cur + i) % w->e->n_urls;
		r = watch_one(w, idx, body);
		if (r != RR_ETCD_E_NEXT)
			w->e->cur = idx;
		else
			no_leader |= strstr(w->e->err, "no leader") != NULL;
		if (w->delivered && r == RR_ETCD_E_NEXT)
			r = -ECONNRESET;
	}
	if (r == RR_ETCD_E_NEXT)
		return rr_etcd_all_failed(w->e, no_leader);
	return r;
}

int rr_etcd_watch(rr_etcd *e, const rr_etcd_watch_req *req,
		  rr_etcd_watch_cb cb, void *ud, int64_t *compact_revision)
{
	rr_watch w = { .e = e, .req = req, .cb = cb, .ud = ud };
	char *body;
	int r = RR_ETCD_E_TOKEN, tries;

	if (!e || !req || !cb || !req->key || req->key_len == 0 ||
	    req->key_len > e->lim.max_key ||
	    req->range_end_len > e->lim.max_key || req->start_revision < 0)
		return -EINVAL;
	body = watch_body(e, req);
	if (!body)
		return rr_etcd_fail(e, -ENOMEM, "out of memory");
	for (tries = 0; tries < 2 && r == RR_ETCD_E_TOKEN; tries++) {
		if (e->user && !e->token[0]) {
			r = rr_etcd_authenticate(e);
			if (r < 0)
				break;
		}
		r = watch_failover(&w, body);
		if (r == RR_ETCD_E_TOKEN)
			explicit_bzero(e->token, sizeof(e->token));
		if (r == RR_ETCD_E_TOKEN && w.delivered)
			r = rr_etcd_fail(e, -ECONNRESET, "watch: token "
					 "expired");
	}
	if (r == RR_ETCD_E_TOKEN)
		r = rr_etcd_fail(e, -EACCES, "watch: auth token refused");
	if (r == -ESTALE && compact_revision)
		*compact_revision = w.compact_revision;
	free(body);
	free(w.line);
	return r;
}
