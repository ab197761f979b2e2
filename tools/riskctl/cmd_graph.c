/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --format graph: JSON Lines shaped like Microsoft Graph's signIn
 * (signins), riskDetection (detections) and riskyUser (list) resources,
 * for a SIEM; and the cursor (--since VERB:N, --cursor-file FILE) that
 * lets a shipper follow signins and detections, each change once.
 *
 * The field mapping, the status codes and the cursor are documented in
 * riskctl(8), FORMAT GRAPH.
 */
#include "json.h"
#include "riskctl.h"
#include "rr_store_replica.h" /* rr_store_signins_changed */
#include "rr_secfile.h"
#include "rr_writefile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Rows read from the store at a time (a sign-in row is ~5 KiB). */
#define GRAPH_BATCH 256
/* "detections:" and 19 digits, a newline: a cursor file is smaller. */
#define CURSOR_FILE_MAX 64

/* ---- the cursor ------------------------------------------------------ */

int ctl_cursor_parse(const char *v, struct ctl_cursor *out)
{
	static const char *const kinds[] = {"signins", "detections"};
	const char *colon, *p;
	size_t i, klen;
	int64_t n = 0;

	if (strnlen(v, CTL_CURSOR_MAX + 1) > CTL_CURSOR_MAX)
		return -EINVAL;
	colon = strchr(v, ':');
	if (!colon)
		return -EINVAL;
	klen = (size_t)(colon - v);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i]) == klen && !strncmp(v, kinds[i], klen))
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return -EINVAL;
	p = colon + 1;
	if (!*p || strlen(p) > 19)
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (*p - '0');
	}
	out->kind = kinds[i];
	out->pos = n;
	return 0;
}

/* The cursor in c->cursor_file: 0 with *found false when there is none
 * yet; RC_CURSOR with a message for a file that is not a cursor.  The
 * file is trusted as the policy is (rr_secfile: no symbolic link, a
 * regular file of root's that only root may write). */
static int cursor_file_read(struct ctl *c, struct ctl_cursor *cur, bool *found)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	*found = false;
	r = rr_secfile_read(c->cursor_file, CURSOR_FILE_MAX, &buf, &len);
	if (r == -ENOENT)
		return RC_OK;
	if (r == -EPERM || r == -EINVAL) {
		ctl_err("cursor file %s must be a regular file owned by root "
			"and not group/other-writable",
			c->cursor_file);
		return RC_CURSOR;
	}
	if (r < 0) {
		ctl_err("cannot read cursor file %s: %s", c->cursor_file,
			r == -EFBIG ? "too long" : strerror(-r));
		return RC_CURSOR;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	r = ctl_cursor_parse(buf, cur);
	free(buf);
	if (r < 0) {
		ctl_err("cursor file %s does not hold a cursor (VERB:N); "
			"remove it to start again from the oldest record",
			c->cursor_file);
		return RC_CURSOR;
	}
	*found = true;
	return RC_OK;
}

/* Where this run starts: --since CURSOR, the cursor file, or 0 (the
 * oldest record kept).  *in_file: the cursor file holds *after already. */
static int cursor_start(struct ctl *c, const char *kind, int64_t *after,
			bool *in_file)
{
	struct ctl_cursor cur = {0};
	bool found = false;
	int r;

	*after = 0;
	*in_file = false;
	if (c->has_cursor) {
		cur = c->cursor;
		found = true;
	} else if (c->cursor_file) {
		r = cursor_file_read(c, &cur, &found);
		if (r != RC_OK)
			return r;
	}
	if (found && strcmp(cur.kind, kind) != 0) {
		ctl_err("cursor %s:%" PRId64 " is a cursor of '%s', not of "
			"'%s'",
			cur.kind, cur.pos, cur.kind, kind);
		return c->has_cursor ? RC_USAGE : RC_CURSOR;
	}
	if (found)
		*after = cur.pos;
	*in_file = found && c->cursor_file;
	return RC_OK;
}

/* After the output is written: the cursor file holds where the next run
 * starts (replaced atomically and durably; left alone when it holds that
 * already). */
static int cursor_save(struct ctl *c, const char *kind, int64_t pos,
		       int64_t start, bool in_file)
{
	char buf[CURSOR_FILE_MAX];
	struct iovec iov;
	int n, r;

	if (!c->cursor_file || (in_file && pos == start))
		return RC_OK;
	n = snprintf(buf, sizeof(buf), "%s:%" PRId64 "\n", kind, pos);
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	r = rr_replace_file(c->cursor_file, &iov, 1, 0600, RR_REPLACE_DURABLE);
	if (r < 0) {
		ctl_err("cannot write cursor file %s: %s (the records printed "
			"will be printed again by the next run)",
			c->cursor_file, strerror(-r));
		return RC_CURSOR;
	}
	return RC_OK;
}

/* ---- shared fields ----------------------------------------------------- */

/* The account's name from the GECOS field (up to the first comma), for
 * userDisplayName; NULL when none.  *exists (when not NULL): whether the
 * account exists at all (riskyUser's isDeleted).  The last answer is
 * kept: the rows of one user come together. */
static const char *display_name(const char *user, bool *exists)
{
	static char last_user[RR_USER_MAX + 1], last_name[128];
	static bool last_found, last_exists;
	struct passwd *pw;
	size_t k;

	if (exists)
		*exists = false;
	if (!user || !*user)
		return NULL;
	if (last_user[0] && !strcmp(last_user, user)) {
		if (exists)
			*exists = last_exists;
		return last_found ? last_name : NULL;
	}
	snprintf(last_user, sizeof(last_user), "%s", user);
	last_found = false;
	pw = getpwnam(user);
	last_exists = pw != NULL;
	if (exists)
		*exists = last_exists;
	if (!pw || !pw->pw_gecos)
		return NULL;
	k = strcspn(pw->pw_gecos, ",");
	if (k == 0)
		return NULL;
	if (k >= sizeof(last_name))
		k = sizeof(last_name) - 1;
	memcpy(last_name, pw->pw_gecos, k);
	last_name[k] = '\0';
	last_found = true;
	return last_name;
}

static void kstr_opt(struct json *j, const char *key, const char *s)
{
	if (s && *s)
		json_kstr(j, key, s);
}

static bool is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* ---- signIn ------------------------------------------------------------ */

struct status_map {
	const char *outcome;
	const char *mfa;     /* NULL: any */
	int code;
	const char *reason;
};

/* Sign-in outcome (and what MFA did) -> status.errorCode, the code Entra
 * ID gives the same kind of result (riskctl(8)). */
static const struct status_map status_codes[] = {
    {"success", NULL, 0, NULL},
    {"blocked", NULL, 53003,
     "Access has been blocked by Conditional Access policies."},
    {"denied", "locked", 50053,
     "The account is locked: too many wrong multifactor authentication "
     "codes."},
    {"denied", "failed", 500121,
     "Authentication failed during the strong authentication request."},
    {"denied", "registration-needed", 50079,
     "The user must register for multifactor authentication."},
    {"denied", "registration-failed", 50079,
     "The user must register for multifactor authentication."},
    {"denied", "refused", 50079,
     "The user must register for multifactor authentication."},
    {"denied", NULL, 50076,
     "Multifactor authentication is required and was not satisfied."},
    {"interrupted", NULL, 50074,
     "Strong authentication is required: the sign-in ended at the "
     "prompt."},
    {RR_OUTCOME_PWCHANGE, NULL, 50055,
     "A secure password change is required and was not completed."},
    {"failure", NULL, 50126, "Invalid username or password."},
    {"error", NULL, 90033,
     "The risk checks could not be completed; the sign-in was refused "
     "(fail closed)."},
};

static const struct status_map *status_of(const rr_store_signin *s)
{
	static const struct status_map other = {NULL, NULL, 1,
						"Other failure."};
	size_t i;

	for (i = 0; i < sizeof(status_codes) / sizeof(status_codes[0]); i++)
		if (!strcmp(status_codes[i].outcome, s->outcome) &&
		    (!status_codes[i].mfa ||
		     !strcmp(status_codes[i].mfa, s->mfa)))
			return &status_codes[i];
	return &other;
}

static const rr_ca_policy *policy_named(const rr_policy *p, const char *name)
{
	size_t i;

	for (i = 0; p && i < p->n_policies; i++)
		if (p->policies[i].name && !strcmp(p->policies[i].name, name))
			return &p->policies[i];
	return NULL;
}

static void grant_controls(struct json *j, const rr_ca_policy *cp)
{
	json_key(j, "enforcedGrantControls");
	json_arr_begin(j);
	if (cp && cp->block)
		json_str(j, "Block");
	if (cp && !cp->block && (cp->require & RR_REQUIRE_MFA))
		json_str(j, "Mfa");
	if (cp && !cp->block && (cp->require & RR_REQUIRE_PASSWORD_CHANGE))
		json_str(j, "PasswordChange");
	json_arr_end(j);
	json_key(j, "enforcedSessionControls");
	json_arr_begin(j);
	json_arr_end(j);
}

/* A report-only policy that applied: what it would have done. */
static const char *report_only_result(const rr_ca_policy *cp,
				      const rr_store_signin *s)
{
	if (!cp)
		return "unknown"; /* no longer in the policy file */
	if (cp->block)
		return "reportOnlyFailure";
	if (cp->require == RR_REQUIRE_MFA && !strcmp(s->mfa, "passed"))
		return "reportOnlySuccess";
	return "reportOnlyInterrupted";
}

static void ca_policies(struct json *j, const rr_policy *p,
			const rr_store_signin *s, const char *names,
			bool report_only)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;
	bool ok = !strcmp(s->outcome, "success");

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		const rr_ca_policy *cp = policy_named(p, tok);

		json_obj_begin(j);
		json_kstr(j, "id", tok);
		json_kstr(j, "displayName", tok);
		json_kstr(j, "result",
			  report_only ? report_only_result(cp, s)
			  : ok        ? "success"
				      : "failure");
		grant_controls(j, cp);
		json_obj_end(j);
	}
}

/* "type:level,type:level" -> ["type", ...] */
static void event_types(struct json *j, const char *text)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", text);
	json_key(j, "riskEventTypes_v2");
	json_arr_begin(j);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');

		if (colon)
			*colon = '\0';
		if (*tok && strcmp(tok, "-") != 0)
			json_str(j, tok);
	}
	json_arr_end(j);
}

static int graph_signin(const struct ctl *c, const rr_store_signin *s,
			const rr_store_signin_change *ch, const char *host)
{
	const struct status_map *st = status_of(s);
	struct json j;

	json_init_compact(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "id", s->ref);
	json_ktime(&j, "createdDateTime", s->time);
	json_kstr(&j, "userPrincipalName", s->user);
	kstr_opt(&j, "userDisplayName", display_name(s->user, NULL));
	json_kstr(&j, "appDisplayName", s->service);
	kstr_opt(&j, "resourceDisplayName", host);
	kstr_opt(&j, "ipAddress", s->rhost);
	json_kbool(&j, "isInteractive", true);
	json_kstr(&j, "riskLevelDuringSignIn", rr_level_name(s->signin_risk));
	json_kstr(&j, "riskLevelAggregated", rr_level_name(s->signin_risk));
	json_kstr(&j, "riskState", rr_state_name(ch->state));
	json_kstr(&j, "riskDetail", rr_detail_name(ch->detail));
	event_types(&j, s->detections);
	json_key(&j, "status");
	json_obj_begin(&j);
	json_kint(&j, "errorCode", st->code);
	if (st->reason)
		json_kstr(&j, "failureReason", st->reason);
	kstr_opt(&j, "additionalDetails", s->reason);
	json_obj_end(&j);
	json_kstr(&j, "conditionalAccessStatus",
		  !s->applied[0]                   ? "notApplied"
		  : !strcmp(s->outcome, "success") ? "success"
						   : "failure");
	json_key(&j, "appliedConditionalAccessPolicies");
	json_arr_begin(&j);
	ca_policies(&j, c->policy, s, s->applied, false);
	ca_policies(&j, c->policy, s, s->report_only, true);
	json_arr_end(&j);
	if (s->device[0]) {
		json_key(&j, "deviceDetail");
		json_obj_begin(&j);
		json_kstr(&j, "deviceId", s->device);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	return json_finish(&j);
}

static void host_name(char *buf, size_t len)
{
	if (gethostname(buf, len) < 0)
		buf[0] = '\0';
	buf[len - 1] = '\0';
}

int graph_signins(struct ctl *c)
{
	rr_store_signin *out = NULL;
	rr_store_signin_change *ch = NULL;
	size_t limit = c->limit ? c->limit : RR_STORE_MAX_ROWS, done = 0;
	size_t n, i, want;
	char host[256];
	int64_t after, start;
	bool in_file;
	int r, w = 0;

	r = cursor_start(c, "signins", &after, &in_file);
	start = after;
	if (r != RC_OK)
		return r;
	out = calloc(GRAPH_BATCH, sizeof(*out));
	ch = calloc(GRAPH_BATCH, sizeof(*ch));
	if (!out || !ch) {
		free(out);
		free(ch);
		ctl_err("out of memory");
		return RC_STORE;
	}
	host_name(host, sizeof(host));
	r = rr_store_read_begin(c->store);
	if (r < 0) {
		free(out);
		free(ch);
		return ctl_store_fail(c, "cannot read sign-ins", r);
	}
	do {
		want = limit - done < GRAPH_BATCH ? limit - done : GRAPH_BATCH;
		r = rr_store_signins_changed(c->store, after, want, out, ch,
					     &n);
		for (i = 0; r == 0 && w == 0 && i < n; i++) {
			after = ch[i].seq;
			if (c->user && strcmp(c->user, out[i].user) != 0)
				continue;
			w = graph_signin(c, &out[i], &ch[i], host);
			done++;
			if (done == limit)
				break;
		}
	} while (r == 0 && w == 0 && n == want && done < limit);
	rr_store_read_end(c->store);
	free(out);
	free(ch);
	if (r < 0)
		return ctl_store_fail(c, "cannot read sign-ins", r);
	if (w != 0)
		return fail_output(w);
	return cursor_save(c, "signins", after, start, in_file);
}

/* ---- riskDetection ------------------------------------------------------ */

/* Graph's additionalInfo: a string holding a JSON array of {Key, Value}. */
static void additional_info(struct json *j, const char *source)
{
	char *text = NULL;
	size_t len = 0;
	struct json in;
	FILE *m;

	m = open_memstream(&text, &len);
	if (!m)
		return;
	json_init_compact(&in, m);
	json_arr_begin(&in);
	json_obj_begin(&in);
	json_kstr(&in, "Key", "source");
	json_kstr(&in, "Value", source);
	json_obj_end(&in);
	json_arr_end(&in);
	if (fclose(m) == 0 && text)
		json_kstr(j, "additionalInfo", text);
	free(text);
}

static int graph_detection(const rr_store_detection *d)
{
	char id[24];
	struct json j;

	snprintf(id, sizeof(id), "%" PRId64, d->id);
	json_init_compact(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "id", id);
	if (!d->user_scope && d->ref[0]) {
		json_kstr(&j, "requestId", d->ref);
		json_kstr(&j, "correlationId", d->ref);
	}
	json_kstr(&j, "riskEventType", rr_event_name(d->type));
	json_kstr(&j, "riskLevel", rr_level_name(d->level));
	json_kstr(&j, "riskState", rr_state_name(d->state));
	json_kstr(&j, "riskDetail", rr_detail_name(d->detail));
	json_kstr(&j, "source", "pam_riskremediate");
	json_kstr(&j, "detectionTimingType",
		  d->user_scope ? "offline" : "realtime");
	json_kstr(&j, "activity", d->user_scope ? "user" : "signin");
	if (d->source[0] && is_ip(d->source))
		json_kstr(&j, "ipAddress", d->source);
	if (d->user[0]) {
		json_kstr(&j, "userPrincipalName", d->user);
		kstr_opt(&j, "userDisplayName", display_name(d->user, NULL));
	}
	json_ktime(&j, "activityDateTime", d->detected);
	json_ktime(&j, "detectedDateTime", d->detected);
	json_ktime(&j, "lastUpdatedDateTime", d->updated);
	if (d->source[0] && !is_ip(d->source))
		additional_info(&j, d->source);
	json_obj_end(&j);
	return json_finish(&j);
}

int graph_detections_check(struct ctl *c)
{
	int r = ctl_load_policy(c, NULL);

	if (r != RC_OK)
		return r;
	if (c->policy->backend == RR_BACKEND_ETCD) {
		ctl_err("detections --format graph is not available with a "
			"fleet policy (the fleet's detections have no stable "
			"ids); use signins --format graph on each host and "
			"list --format graph");
		return RC_USAGE;
	}
	return RC_OK;
}

int graph_detections(struct ctl *c, const rr_store_detection_filter *f)
{
	size_t limit = c->limit ? c->limit : RR_STORE_MAX_ROWS, done = 0;
	rr_store_detection *d;
	size_t n, i;
	int64_t after, start;
	bool in_file;
	int r, w = 0;

	r = cursor_start(c, "detections", &after, &in_file);
	start = after;
	if (r != RC_OK)
		return r;
	r = rr_store_read_begin(c->store);
	if (r < 0)
		return ctl_store_fail(c, "cannot list detections", r);
	do {
		d = NULL;
		n = 0;
		r = rr_store_detections_after(c->store, after, GRAPH_BATCH, &d,
					      &n);
		for (i = 0; r == 0 && w == 0 && i < n && done < limit; i++) {
			after = d[i].id;
			if (!ctl_det_matches(f, &d[i]))
				continue;
			w = graph_detection(&d[i]);
			done++;
		}
		free(d);
	} while (r == 0 && w == 0 && n == GRAPH_BATCH && done < limit);
	rr_store_read_end(c->store);
	if (r < 0)
		return ctl_store_fail(c, "cannot list detections", r);
	if (w != 0)
		return fail_output(w);
	return cursor_save(c, "detections", after, start, in_file);
}

/* ---- riskyUser ---------------------------------------------------------- */

int graph_users(const rr_store_user *u, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		struct json j;

		bool exists;

		json_init_compact(&j, stdout);
		json_obj_begin(&j);
		json_kstr(&j, "id", u[i].user);
		json_kstr(&j, "userPrincipalName", u[i].user);
		kstr_opt(&j, "userDisplayName", display_name(u[i].user,
							    &exists));
		json_kstr(&j, "riskLevel", rr_level_name(u[i].level));
		json_kstr(&j, "riskState", rr_state_name(u[i].state));
		json_kstr(&j, "riskDetail", rr_detail_name(u[i].detail));
		if (u[i].updated)
			json_ktime(&j, "riskLastUpdatedDateTime", u[i].updated);
		json_kbool(&j, "isDeleted", !exists);
		json_kbool(&j, "isProcessing", false);
		json_obj_end(&j);
		r = json_finish(&j);
	}
	return fail_output(r);
}
