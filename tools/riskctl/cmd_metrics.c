/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskctl metrics: the store's counts, the store's size and riskd's
 * counters in the Prometheus text exposition format (0.0.4), on stdout or
 * written atomically to --textfile for node_exporter's textfile
 * collector.  Every metric and label is in riskctl(8).
 *
 * riskd not running is a fact to report (riskremediate_riskd_up 0), not
 * an error; a riskd that answers wrongly (another version, a malformed
 * answer, no answer within RISKD_TIMEOUT_MS) is reported the same way
 * and the exit status is RC_RISKD, after the output is written.  A store
 * that cannot be read writes nothing (RC_STORE): a textfile keeps its
 * last content, whose age node_exporter exposes.
 */
#include "riskctl.h"
#include "rr_riskd_stats.h"
#include "rr_store_replica.h"
#include "rr_writefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#define P "riskremediate_"
#define RISKD_TIMEOUT_MS 1000
/* label sets of sign-ins by service (a PAM application names its
 * service): the largest this many, the rest left out (said on stderr) */
#define SIGNIN_SERIES_MAX 500
/* a label value: at most this many bytes of the stored value */
#define LABEL_MAX 64
#define RECENT_S 3600

/* One label value as the exposition format wants it inside quotes: '\',
 * '"' and newline escaped; other control bytes and bytes outside ASCII
 * (which need not be UTF-8) become '?'; at most LABEL_MAX bytes of v. */
static void label_value(const char *v, char *out, size_t len)
{
	size_t i, o = 0;

	for (i = 0; v[i] && i < LABEL_MAX && o + 3 < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '\\' || ch == '"' || ch == '\n') {
			out[o++] = '\\';
			out[o++] = ch == '\n' ? 'n' : (char)ch;
		} else {
			out[o++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
		}
	}
	out[o] = '\0';
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name,
		type);
}

/* ---- sign-ins ----------------------------------------------------------- */

/* Sign-in rows by their label text: values made alike by label_value are
 * added up (one series each, as the format requires). */
typedef struct {
	char labels[3 * (LABEL_MAX * 2 + 16)];
	uint64_t count, recent;
} signin_series;

static size_t signin_merge(const rr_store_signin_count *rows, size_t n,
			   signin_series *out)
{
	char svc[LABEL_MAX * 2 + 1], oc[LABEL_MAX * 2 + 1];
	size_t i, j, m = 0;

	for (i = 0; i < n; i++) {
		signin_series cur = {.count = rows[i].count,
				     .recent = rows[i].recent};

		label_value(rows[i].service, svc, sizeof(svc));
		label_value(rows[i].outcome, oc, sizeof(oc));
		snprintf(cur.labels, sizeof(cur.labels),
			 "service=\"%s\",decision=\"%s\",outcome=\"%s\"", svc,
			 rr_action_name(rows[i].action), oc);
		for (j = 0; j < m && strcmp(out[j].labels, cur.labels); j++)
			;
		if (j < m) {
			out[j].count += cur.count;
			out[j].recent += cur.recent;
		} else {
			out[m++] = cur;
		}
	}
	return m;
}

static int put_signins(struct ctl *c, FILE *f, int64_t now)
{
	rr_store_signin_count *rows = NULL;
	signin_series *series = NULL;
	size_t n = 0, m = 0, i;
	int r;

	r = rr_store_signin_counts(c->store, now - RECENT_S,
				   SIGNIN_SERIES_MAX + 1, &rows, &n);
	if (r < 0)
		return ctl_store_fail(c, "cannot count sign-ins", r);
	if (n > SIGNIN_SERIES_MAX) {
		ctl_err("metrics: more than %d services, decisions and "
			"outcomes in the sign-in log; the smallest left out",
			SIGNIN_SERIES_MAX);
		n = SIGNIN_SERIES_MAX;
	}
	series = n ? calloc(n, sizeof(*series)) : NULL;
	if (n && !series) {
		free(rows);
		ctl_err("out of memory");
		return RC_STORE;
	}
	m = signin_merge(rows, n, series);
	free(rows);
	family(f, "signins_retained", "gauge",
	       "Sign-ins in this host's sign-in log by PAM service, decision "
	       "and outcome. The log keeps signin_retention_days days and is "
	       "pruned hourly, so this falls too: not a counter.");
	for (i = 0; i < m; i++)
		fprintf(f, P "signins_retained{%s} %llu\n", series[i].labels,
			(unsigned long long)series[i].count);
	family(f, "signins_last_hour", "gauge",
	       "Sign-ins recorded in the hour before this report by PAM "
	       "service, decision and outcome.");
	for (i = 0; i < m; i++)
		if (series[i].recent)
			fprintf(f, P "signins_last_hour{%s} %llu\n",
				series[i].labels,
				(unsigned long long)series[i].recent);
	free(series);
	return RC_OK;
}

/* ---- detections, users, MFA --------------------------------------------- */

static int put_detections(struct ctl *c, FILE *f)
{
	rr_store_detection_count *rows = NULL;
	size_t n = 0, i;
	int r = rr_store_detection_counts(c->store, 0, &rows, &n);

	if (r < 0)
		return ctl_store_fail(c, "cannot count detections", r);
	family(f, "detections", "gauge",
	       "Risk detections kept in the store by riskEventType, "
	       "riskLevel and riskState (sign-in detections for "
	       "detection_retention_days days, active user detections until "
	       "closed).");
	for (i = 0; i < n; i++)
		fprintf(f,
			P "detections{type=\"%s\",level=\"%s\","
			  "state=\"%s\"} %llu\n",
			rr_event_name(rows[i].type),
			rr_level_name(rows[i].level),
			rr_state_name(rows[i].state),
			(unsigned long long)rows[i].count);
	free(rows);
	return RC_OK;
}

static int put_users(struct ctl *c, FILE *f)
{
	uint64_t cnt[RR_LEVEL__COUNT][RR_STATE__COUNT] = {{0}};
	rr_store_user_count *rows = NULL;
	size_t n = 0, i;
	int r = rr_store_user_counts(c->store, 0, &rows, &n), l, s;

	if (r < 0)
		return ctl_store_fail(c, "cannot count users", r);
	for (i = 0; i < n; i++)
		cnt[rows[i].level][rows[i].state] += rows[i].count;
	free(rows);
	family(f, "users", "gauge",
	       "Users with a risk record by riskLevel and riskState (every "
	       "pair, 0 included; a user never at risk has no record).");
	for (l = 0; l < RR_LEVEL__COUNT; l++)
		for (s = 0; s < RR_STATE__COUNT; s++)
			fprintf(f,
				P "users{risk_level=\"%s\","
				  "risk_state=\"%s\"} %llu\n",
				rr_level_name((rr_level)l),
				rr_state_name((rr_state)s),
				(unsigned long long)cnt[l][s]);
	return RC_OK;
}

static int put_mfa(struct ctl *c, FILE *f, int64_t now)
{
	unsigned grace_s = c->policy->mfa_registration.grace_days * 86400u;
	rr_store_mfa_counts m;
	int r = rr_store_mfa_count(c->store, now, grace_s, &m);

	if (r < 0)
		return ctl_store_fail(c, "cannot count MFA registrations", r);
	family(f, "mfa_registered_users", "gauge",
	       "Users with a registered authenticator.");
	fprintf(f, P "mfa_registered_users %llu\n",
		(unsigned long long)m.registered);
	family(f, "mfa_unregistered_users", "gauge",
	       "Users asked to register who have not, by whether their "
	       "grace period (mfa_registration.grace_days) is running or "
	       "over.");
	fprintf(f, P "mfa_unregistered_users{grace=\"running\"} %llu\n",
		(unsigned long long)m.in_grace);
	fprintf(f, P "mfa_unregistered_users{grace=\"over\"} %llu\n",
		(unsigned long long)m.grace_over);
	family(f, "mfa_temporary_access_pass_users", "gauge",
	       "Users with an unused, unexpired temporary access pass.");
	fprintf(f, P "mfa_temporary_access_pass_users %llu\n",
		(unsigned long long)m.tap_pending);
	return RC_OK;
}

/* A fleet: this host's replica as its store says (no etcd request). */
static int put_fleet(struct ctl *c, FILE *f)
{
	int64_t rev = 0, heard = 0;
	uint64_t queued = 0;
	int r;

	r = rr_store_replica_revision(c->store, &rev);
	if (!r)
		r = rr_store_replica_heard(c->store, &heard);
	if (!r)
		r = rr_store_queue_count(c->store, &queued);
	if (r < 0)
		return ctl_store_fail(c, "cannot read the fleet replica", r);
	family(f, "fleet_replica_revision", "gauge",
	       "The etcd revision this host's replica reflects.");
	fprintf(f, P "fleet_replica_revision %lld\n", (long long)rev);
	family(f, "fleet_replica_last_heard_timestamp_seconds", "gauge",
	       "When the replica last heard from etcd (0: never).");
	fprintf(f, P "fleet_replica_last_heard_timestamp_seconds %lld\n",
		(long long)heard);
	family(f, "fleet_queued_writes", "gauge",
	       "Writes waiting for etcd (made while it was unreachable, or "
	       "deferred).");
	fprintf(f, P "fleet_queued_writes %llu\n", (unsigned long long)queued);
	return RC_OK;
}

static int put_store(struct ctl *c, FILE *f, int64_t now)
{
	int r;

	if (rr_store_read_begin(c->store) < 0)
		return ctl_store_fail(c, "cannot read the store", -EIO);
	r = put_signins(c, f, now);
	if (r == RC_OK)
		r = put_detections(c, f);
	if (r == RC_OK)
		r = put_users(c, f);
	if (r == RC_OK)
		r = put_mfa(c, f, now);
	if (r == RC_OK && c->policy->backend == RR_BACKEND_ETCD)
		r = put_fleet(c, f);
	rr_store_read_end(c->store);
	return r;
}

/* The store file and its WAL, bytes (after riskctl closed it). */
static int put_size(struct ctl *c, FILE *f)
{
	char wal[CTL_PATH_MAX + 8];
	struct stat st;
	uint64_t size;

	if (stat(c->policy->store_path, &st) < 0) {
		ctl_err("%s: %s", c->policy->store_path, strerror(errno));
		return RC_STORE;
	}
	size = (uint64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", c->policy->store_path);
	if (stat(wal, &st) == 0)
		size += (uint64_t)st.st_size;
	else if (errno != ENOENT) {
		ctl_err("%s: %s", wal, strerror(errno));
		return RC_STORE;
	}
	family(f, "store_size_bytes", "gauge",
	       "Size of the SQLite store file and its write-ahead log.");
	fprintf(f, P "store_size_bytes %llu\n", (unsigned long long)size);
	return RC_OK;
}

/* ---- riskd ------------------------------------------------------------------
 */

static const char *riskd_strerror(int r)
{
	switch (-r) {
	case EPROTO:
		return "it does not answer this version's stats request "
		       "(restart riskd after an upgrade)";
	case EBADMSG:
		return "its answer is malformed";
	case ETIMEDOUT:
		return "no answer within 1 s";
	case EAGAIN:
		return "its queue of connections is full";
	case EPERM:
		return "the socket is not served by root (not asked)";
	default:
		return strerror(-r);
	}
}

static void put_histogram(FILE *f, const rr_riskd_stats *st)
{
	size_t t, i;

	family(f, "riskd_call_duration_seconds", "histogram",
	       "riskd's own work on a call by PAM call type: from the "
	       "module's commit to the end, less the waits for the "
	       "module's answers (prompts). Since riskd started.");
	for (t = 0; t < RR_RISKD_STATS_TYPES; t++) {
		const rr_riskd_hist *h = &st->type[t];
		const char *type = rr_riskd_stats_type_name(t);
		uint64_t cum = 0;

		for (i = 0; i < RR_RISKD_STATS_BUCKETS; i++) {
			cum += h->bucket[i];
			fprintf(f,
				P "riskd_call_duration_seconds_bucket{"
				  "type=\"%s\",le=\"%g\"} %llu\n",
				type, (double)rr_riskd_stats_bounds_us[i] / 1e6,
				(unsigned long long)cum);
		}
		fprintf(f,
			P "riskd_call_duration_seconds_bucket{type=\"%s\","
			  "le=\"+Inf\"} %llu\n",
			type, (unsigned long long)h->count);
		fprintf(f,
			P "riskd_call_duration_seconds_sum{type=\"%s\"} "
			  "%llu.%06llu\n",
			type, (unsigned long long)(h->sum_us / 1000000),
			(unsigned long long)(h->sum_us % 1000000));
		fprintf(f,
			P "riskd_call_duration_seconds_count{type=\"%s\"} "
			  "%llu\n",
			type, (unsigned long long)h->count);
	}
}

static int put_riskd(struct ctl *c, FILE *f)
{
	const char *path = c->socket_path ? c->socket_path : RR_RISKD_SOCKET;
	rr_riskd_stats st;
	int r = rr_riskd_stats_query(path, RISKD_TIMEOUT_MS, &st);
	bool absent = r == -ENOENT || r == -ECONNREFUSED;

	family(f, "riskd_up", "gauge",
	       "1 when riskd answered on its socket, else 0 (not running, "
	       "or an answer riskctl could not use: see its stderr).");
	fprintf(f, P "riskd_up %d\n", r == 0);
	if (r < 0 && !absent)
		ctl_err("riskd at %s: %s", path, riskd_strerror(r));
	if (r < 0)
		return absent ? RC_OK : RC_RISKD;
	family(f, "riskd_start_time_seconds", "gauge",
	       "When riskd started, seconds since the epoch.");
	fprintf(f, P "riskd_start_time_seconds %lld\n", (long long)st.started);
	put_histogram(f, &st);
	return RC_OK;
}

/* ---- output -----------------------------------------------------------------
 */

static int emit(struct ctl *c, const char *buf, size_t len)
{
	struct iovec part = {.iov_base = (void *)buf, .iov_len = len};
	int r;

	if (!c->textfile)
		return fwrite(buf, 1, len, stdout) == len ? RC_OK
							  : fail_output(-EIO);
	r = rr_replace_file(c->textfile, &part, 1, 0644, 0);
	if (r < 0) {
		ctl_err("cannot write %s: %s", c->textfile, strerror(-r));
		return RC_STORE;
	}
	return RC_OK;
}

int cmd_metrics(struct ctl *c)
{
	int64_t now = (int64_t)time(NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r, rd;

	r = ctl_open_host(c);
	if (r != RC_OK)
		return r;
	f = open_memstream(&buf, &len);
	if (!f) {
		ctl_err("out of memory");
		return RC_STORE;
	}
	r = put_store(c, f, now);
	/* closed first: its size is then the files' as riskctl leaves them */
	rr_store_close(c->store);
	c->store = NULL;
	if (r == RC_OK)
		r = put_size(c, f);
	rd = r == RC_OK ? put_riskd(c, f) : RC_OK;
	if (fclose(f) != 0 && r == RC_OK) {
		ctl_err("out of memory");
		r = RC_STORE;
	}
	if (r == RC_OK)
		r = emit(c, buf, len);
	free(buf);
	return r != RC_OK ? r : rd;
}
