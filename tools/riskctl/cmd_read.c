/* SPDX-License-Identifier: BSD-3-Clause */
/* Read verbs: status, list, detections, audit. */
#include "json.h"
#include "riskctl.h"
#include "rr_fleet.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KV_WIDTH 15

/* ---- detections (shared by status and detections) -------------------- */

/* host: on a fleet, the host of a sign-in's detection (NULL for a
 * user's, which is the tenant's); a fleet's sign-in detections have no
 * id (0: null) */
/* scope: NULL for the detection's own (user or sign-in) */
static void json_detection(struct json *j, const rr_store_detection *d,
			   bool fleet, const char *host, const char *scope)
{
	json_obj_begin(j);
	json_key(j, "id");
	if (d->id)
		json_int(j, d->id);
	else
		json_null(j);
	if (fleet)
		json_kstr(j, "host", host);
	json_kstr(j, "user", d->user);
	json_kstr(j, "riskEventType", rr_event_name(d->type));
	json_kstr(j, "riskLevel", rr_level_name(d->level));
	json_kstr(j, "riskState", rr_state_name(d->state));
	json_kstr(j, "riskDetail", rr_detail_name(d->detail));
	json_kstr(j, "riskScope",
		  scope ? scope : d->user_scope ? "user" : "signin");
	json_kstr(j, "source", d->source[0] ? d->source : NULL);
	json_kstr(j, "ref", d->ref[0] ? d->ref : NULL);
	json_ktime(j, "detectedDateTime", d->detected);
	json_ktime(j, "lastUpdatedDateTime", d->updated);
	json_obj_end(j);
}

/* hosts: NULL on a single host, else each row's host (or NULL); scopes:
 * NULL, or each row's riskScope (NULL: its own) */
static void json_detections(struct json *j, const rr_store_detection *d,
			    size_t n, const char *const *hosts,
			    const char *const *scopes)
{
	size_t i;

	json_arr_begin(j);
	for (i = 0; i < n; i++)
		json_detection(j, &d[i], hosts != NULL,
			       hosts ? hosts[i] : NULL,
			       scopes ? scopes[i] : NULL);
	json_arr_end(j);
}

/* Short table for `status`: the user's active detections. */
static int print_active(const rr_store_detection *d, size_t n)
{
	static const char *const head[] = {"TYPE", "LEVEL", "SOURCE",
					   "DETECTED", "REF"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, 5, head);
	for (i = 0; i < n; i++) {
		char when[32];
		const char *row[5];

		ctl_time_local(d[i].detected, when, sizeof(when));
		row[0] = rr_event_name(d[i].type);
		row[1] = rr_level_name(d[i].level);
		row[2] = d[i].source;
		row[3] = when;
		row[4] = d[i].ref;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return r;
}

/* hosts: as json_detections (a HOST column on a fleet) */
static int print_detection_table(const rr_store_detection *d, size_t n,
				 const char *const *hosts)
{
	static const char *const head[] = {"ID",     "USER",     "TYPE",
					   "LEVEL",  "STATE",    "DETAIL",
					   "SOURCE", "DETECTED", "REF",
					   "HOST"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, hosts ? 10 : 9, head);
	for (i = 0; i < n; i++) {
		char id[24], when[32];
		const char *row[10];

		if (d[i].id)
			snprintf(id, sizeof(id), "%" PRId64, d[i].id);
		else
			snprintf(id, sizeof(id), "-");
		if (hosts)
			row[9] = hosts[i] ? hosts[i] : "-";
		ctl_time_local(d[i].detected, when, sizeof(when));
		row[0] = id;
		row[1] = d[i].user[0] ? d[i].user : "-"; /* a spray's: none */
		row[2] = rr_event_name(d[i].type);
		row[3] = rr_level_name(d[i].level);
		row[4] = rr_state_name(d[i].state);
		row[5] = rr_detail_name(d[i].detail);
		row[6] = d[i].source;
		row[7] = when;
		row[8] = d[i].ref;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return r;
}

/* ---- status USER ------------------------------------------------------ */

static void json_user_fields(struct json *j, const rr_store_user *u)
{
	json_kstr(j, "user", u->user);
	json_kstr(j, "riskLevel", rr_level_name(u->level));
	json_kstr(j, "riskState", rr_state_name(u->state));
	json_kstr(j, "riskDetail", rr_detail_name(u->detail));
	json_ktime(j, "riskLastUpdatedDateTime", u->updated);
}

static int status_json(const struct ctl *c, const rr_store_user *u,
		       rr_level effective, const rr_store_detection *d,
		       size_t n)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_user_fields(&j, u);
	json_kstr(&j, "effectiveRiskLevel", rr_level_name(effective));
	json_kint(&j, "lowRiskExpiryDays", c->policy->low_risk_expiry_days);
	json_kbool(&j, "mustChangePassword", u->must_change);
	if (u->must_change)
		json_ktime(&j, "mustChangePasswordSince", u->must_change_since);
	json_key(&j, "detections");
	json_detections(&j, d, n, NULL, NULL);
	json_obj_end(&j);
	return fail_output(json_finish(&j));
}

static int status_text(const struct ctl *c, const rr_store_user *u,
		       rr_level effective, const rr_store_detection *d,
		       size_t n)
{
	char when[32], *name;

	ctl_time_local(u->updated, when, sizeof(when));
	kv_print(stdout, KV_WIDTH, "user:", u->user);
	kv_print(stdout, KV_WIDTH, "risk level:", rr_level_name(u->level));
	if (effective != u->level) {
		char eff[96];

		snprintf(
		    eff, sizeof(eff), "%s (low risk expires after %u days)",
		    rr_level_name(effective), c->policy->low_risk_expiry_days);
		kv_print(stdout, KV_WIDTH, "effective:", eff);
	}
	kv_print(stdout, KV_WIDTH, "risk state:", rr_state_name(u->state));
	kv_print(stdout, KV_WIDTH, "risk detail:", rr_detail_name(u->detail));
	kv_print(stdout, KV_WIDTH, "last updated:", when);
	if (u->must_change) {
		char since[32], text[96];

		ctl_time_local(u->must_change_since, since, sizeof(since));
		snprintf(text, sizeof(text), "at next login (root reset the "
			 "password %s)", since);
		kv_print(stdout, KV_WIDTH, "password change:", text);
	}
	if (n == 0) {
		kv_print(stdout, KV_WIDTH, "detections:", "none active");
		return RC_OK;
	}
	/* the name as the "user:" line shows it: C1 controls escaped */
	name = term_safe(u->user);
	if (!name)
		return fail_output(-ENOMEM);
	printf("\nActive detections (why %s is at risk):\n", name);
	free(name);
	return fail_output(print_active(d, n));
}

int cmd_status(struct ctl *c)
{
	rr_store_detection_filter f = {.user = c->args[0], .active_only = true};
	rr_store_detection *d = NULL;
	rr_store_user u;
	rr_user_risk ur;
	size_t n = 0;
	int r;

	r = ctl_check_user(c->args[0]);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	r = rr_store_user_get(c->store, c->args[0], &u);
	if (r == 0)
		r = rr_store_detections_list(c->store, &f, &d, &n);
	if (r < 0) {
		r = ctl_store_fail(c, "cannot read the user's risk", r);
		goto out;
	}
	ur = (rr_user_risk){u.level, u.state, u.detail, u.updated};
	if (c->json)
		r = status_json(c, &u,
				rr_engine_user_risk(c->policy, &ur, time(NULL)),
				d, n);
	else
		r = status_text(c, &u,
				rr_engine_user_risk(c->policy, &ur, time(NULL)),
				d, n);
out:
	free(d);
	return r;
}

/* ---- list [--level L] [--state S] ------------------------------------- */

static int list_json(const rr_store_user *u, size_t n)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_user_fields(&j, &u[i]);
		json_kint(&j, "activeDetections", u[i].active_detections);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	return fail_output(json_finish(&j));
}

static int list_text(const rr_store_user *u, size_t n)
{
	static const char *const head[] = {"USER",   "LEVEL",   "STATE",
					   "DETAIL", "UPDATED", "ACTIVE"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, 6, head);
	for (i = 0; i < n; i++) {
		char when[32], active[16];
		const char *row[6];

		ctl_time_local(u[i].updated, when, sizeof(when));
		snprintf(active, sizeof(active), "%u", u[i].active_detections);
		row[0] = u[i].user;
		row[1] = rr_level_name(u[i].level);
		row[2] = rr_state_name(u[i].state);
		row[3] = rr_detail_name(u[i].detail);
		row[4] = when;
		row[5] = active;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return fail_output(r);
}

int cmd_list(struct ctl *c)
{
	rr_store_user_filter f = {
	    .level = (c->given & OPT_LEVEL) ? (int)c->level : -1,
	    .state = (c->given & OPT_STATE) ? (int)c->state : -1,
	    /* Graph's riskyUsers: every user with a risk record (remediated
	     * and dismissed ones too) */
	    .risky_only = !(c->given & (OPT_LEVEL | OPT_STATE)) &&
			  c->format != CTL_FMT_GRAPH,
	};
	rr_store_user *u = NULL;
	size_t n = 0;
	int r;

	r = ctl_open(c);
	if (r != RC_OK)
		return r;
	r = rr_store_users_list(c->store, &f, &u, &n);
	if (r < 0)
		r = ctl_store_fail(c, "cannot list users", r);
	else if (c->format == CTL_FMT_GRAPH)
		r = graph_users(u, n);
	else if (c->json)
		r = list_json(u, n);
	else
		r = list_text(u, n);
	free(u);
	return r;
}

/* ---- detections [--user U] [--type T] [--level L] [--state S] [--active]
 *      [--since DURATION] [--limit N] ------------------------------------ */

static int detection_filter(const struct ctl *c, rr_store_detection_filter *f)
{
	if (c->active && (c->given & OPT_STATE) &&
	    c->state != RR_STATE_AT_RISK) {
		ctl_err("--active means --state atRisk; it cannot be combined "
			"with --state %s",
			rr_state_name(c->state));
		return RC_USAGE;
	}
	memset(f, 0, sizeof(*f));
	f->user = c->user;
	f->active_only = c->active;
	f->limit = c->limit;
	f->by_type = c->given & OPT_TYPE;
	f->type = c->type;
	f->by_level = c->given & OPT_LEVEL;
	f->level = c->level;
	f->by_state = c->given & OPT_STATE;
	f->state = c->state;
	if (c->given & OPT_SINCE)
		f->since = (int64_t)time(NULL) - (int64_t)c->since_s;
	return RC_OK;
}

/* ---- a fleet's sign-in detections ----------------------------------- */

typedef struct {
	rr_store_detection d;
	const char *host;
	const char *scope; /* "fleet" for an attack, else NULL */
} det_row;

bool ctl_det_matches(const rr_store_detection_filter *f,
		     const rr_store_detection *d)
{
	return (!f->user || !strcmp(f->user, d->user)) &&
	       (!f->active_only || d->state == RR_STATE_AT_RISK) &&
	       (!f->by_type || f->type == d->type) &&
	       (!f->by_level || f->level == d->level) &&
	       (!f->by_state || f->state == d->state) &&
	       d->detected >= f->since;
}

/* The detections of one published sign-in ("type:level,..."), in the
 * state its host has them now.  At
 * most RR_EVENT__COUNT into out[] (a record from etcd may name a type
 * twice). */
static size_t signin_dets(const rr_fleet_signin *v,
			  const rr_store_detection_filter *f, det_row *out)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;
	size_t k = 0;

	snprintf(buf, sizeof(buf), "%s", v->s.detections);
	for (tok = strtok_r(buf, ",", &save); tok && k < RR_EVENT__COUNT;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');
		rr_store_detection d;

		memset(&d, 0, sizeof(d));
		if (!colon)
			continue;
		*colon = '\0';
		if (rr_event_parse(tok, &d.type) < 0 ||
		    rr_level_parse(colon + 1, &d.level) < 0)
			continue; /* a newer host's type: not this riskctl's */
		memcpy(d.user, v->s.user, sizeof(d.user));
		memcpy(d.ref, v->s.ref, sizeof(d.ref));
		memcpy(d.source, v->s.rhost, sizeof(d.source));
		d.state = v->state;
		d.detail = v->detail;
		d.detected = d.updated = v->s.time;
		if (ctl_det_matches(f, &d)) {
			out[k].d = d;
			out[k].host = v->host;
			k++;
		}
	}
	return k;
}

/* An attack raised for the fleet (rr_fleet_attacks.h): a detection of
 * its source, at risk for as long as etcd keeps it; one row, or none. */
static size_t attack_det(const rr_fleet_attack *v,
			 const rr_store_detection_filter *f, det_row *out)
{
	rr_store_detection d;

	memset(&d, 0, sizeof(d));
	memcpy(d.user, v->user, sizeof(d.user));
	memcpy(d.ref, v->ref, sizeof(d.ref));
	memcpy(d.source, v->source, sizeof(d.source));
	d.type = v->type;
	d.level = v->level;
	d.state = RR_STATE_AT_RISK;
	d.detail = RR_DETAIL_NONE;
	d.detected = d.updated = v->time;
	if (!ctl_det_matches(f, &d))
		return 0;
	out->d = d;
	out->host = v->host;
	out->scope = "fleet";
	return 1;
}

static int newest_first(const void *a, const void *b)
{
	const det_row *x = a, *y = b;

	if (x->d.detected != y->d.detected)
		return x->d.detected < y->d.detected ? 1 : -1;
	return strcmp(x->d.ref, y->d.ref);
}

/* What etcd answered for one of the fleet's directories: 0, or its
 * message and RC_STORE; a warning for the malformed records left out. */
static int fleet_read_said(struct ctl *c, int r, size_t bad, const char *what)
{
	if (r < 0) {
		ctl_err("cannot read the fleet's %s records from etcd "
			"(prefix %s): %s",
			what, rr_fleet_prefix(c->fleet), strerror(-r));
		return RC_STORE;
	}
	if (bad)
		ctl_err("warning: %zu malformed %s record(s) in etcd left out",
			bad, what);
	return RC_OK;
}

/*
 * A fleet's detections: the tenant's user risk (the copy read from etcd),
 * every host's sign-in detections (its published risky sign-ins,
 * rr_fleet_signins.h) and the attacks raised for the fleet
 * (rr_fleet_attacks.h), newest first, at most the filter's limit.
 */
static int fleet_detections(struct ctl *c, const rr_store_detection_filter *f,
			    det_row **out, size_t *n_out,
			    rr_fleet_signin **signins,
			    rr_fleet_attack **attacks)
{
	rr_store_detection *d = NULL;
	size_t n = 0, ns = 0, na = 0, bad = 0, i, k, cap, limit;
	det_row *rows;
	int r;

	*out = NULL;
	*n_out = 0;
	*signins = NULL;
	*attacks = NULL;
	r = rr_store_detections_list(c->store, f, &d, &n);
	if (r < 0)
		return ctl_store_fail(c, "cannot list detections", r);
	r = rr_fleet_signins(c->fleet, signins, &ns, &bad);
	r = fleet_read_said(c, r, bad, "sign-in");
	if (r == RC_OK) {
		bad = 0;
		r = rr_fleet_attacks_list(c->fleet, attacks, &na, &bad);
		r = fleet_read_said(c, r, bad, "attack");
	}
	if (r != RC_OK) {
		free(d);
		return r;
	}
	/* at most RR_EVENT__COUNT of each sign-in (signin_dets) */
	cap = n + ns * RR_EVENT__COUNT + na;
	rows = calloc(cap ? cap : 1, sizeof(*rows));
	if (!rows) {
		free(d);
		ctl_err("out of memory");
		return RC_STORE;
	}
	for (i = 0; i < n; i++)
		rows[i].d = d[i];
	free(d);
	k = n;
	for (i = 0; i < ns; i++)
		k += signin_dets(&(*signins)[i], f, rows + k);
	for (i = 0; i < na; i++)
		k += attack_det(&(*attacks)[i], f, rows + k);
	qsort(rows, k, sizeof(*rows), newest_first);
	limit = f->limit ? f->limit : RR_STORE_MAX_ROWS;
	*out = rows;
	*n_out = k < limit ? k : limit;
	return RC_OK;
}

static int fleet_detections_print(struct ctl *c,
				  const rr_store_detection_filter *f)
{
	rr_fleet_signin *signins = NULL;
	rr_fleet_attack *attacks = NULL;
	rr_store_detection *d = NULL;
	const char **hosts = NULL, **scopes = NULL;
	det_row *rows = NULL;
	struct json j;
	size_t n = 0, i;
	int r;

	r = fleet_detections(c, f, &rows, &n, &signins, &attacks);
	if (r == RC_OK) {
		d = calloc(n ? n : 1, sizeof(*d));
		hosts = calloc(n ? n : 1, sizeof(*hosts));
		scopes = calloc(n ? n : 1, sizeof(*scopes));
		if (!d || !hosts || !scopes) {
			ctl_err("out of memory");
			r = RC_STORE;
		}
	}
	for (i = 0; r == RC_OK && i < n; i++) {
		d[i] = rows[i].d;
		hosts[i] = rows[i].host;
		scopes[i] = rows[i].scope;
	}
	if (r == RC_OK && c->json) {
		json_init(&j, stdout);
		json_detections(&j, d, n, hosts, scopes);
		r = fail_output(json_finish(&j));
	} else if (r == RC_OK) {
		r = fail_output(print_detection_table(d, n, hosts));
	}
	free(d);
	free(hosts);
	free(scopes);
	free(rows);
	free(signins);
	free(attacks);
	return r;
}

int cmd_detections(struct ctl *c)
{
	rr_store_detection_filter f;
	rr_store_detection *d = NULL;
	struct json j;
	size_t n = 0;
	int r;

	r = detection_filter(c, &f);
	if (r == RC_OK && c->format == CTL_FMT_GRAPH)
		r = graph_detections_check(c);
	if (r == RC_OK)
		r = ctl_open(c);
	if (r != RC_OK)
		return r;
	if (c->format == CTL_FMT_GRAPH)
		return graph_detections(c, &f);
	if (c->fleet)
		return fleet_detections_print(c, &f);
	r = rr_store_detections_list(c->store, &f, &d, &n);
	if (r < 0) {
		r = ctl_store_fail(c, "cannot list detections", r);
	} else if (c->json) {
		json_init(&j, stdout);
		json_detections(&j, d, n, NULL, NULL);
		r = fail_output(json_finish(&j));
	} else {
		r = fail_output(print_detection_table(d, n, NULL));
	}
	free(d);
	return r;
}

/* ---- audit [--limit N] ------------------------------------------------ */

/* A fleet's audit log is etcd's (every host's and admin machine's
 * actions): the detail names the host. */
static int fleet_audit(struct ctl *c, rr_store_audit **out, size_t *n)
{
	rr_fleet_audit *rows = NULL;
	rr_store_audit *a;
	size_t i, k = 0;
	int r;

	r = rr_fleet_audit_list(c->fleet, c->limit, &rows, &k);
	if (r < 0)
		return r;
	a = calloc(k ? k : 1, sizeof(*a));
	if (!a) {
		free(rows);
		return -ENOMEM;
	}
	for (i = 0; i < k; i++) {
		a[i].id = (int64_t)(k - i);
		a[i].time = rows[i].time;
		snprintf(a[i].actor, sizeof(a[i].actor), "%s", rows[i].actor);
		snprintf(a[i].action, sizeof(a[i].action), "%.31s",
			 rows[i].action);
		snprintf(a[i].target, sizeof(a[i].target), "%s",
			 rows[i].target);
		snprintf(a[i].detail, sizeof(a[i].detail), "%.190s (host %.48s)",
			 rows[i].detail, rows[i].host);
	}
	free(rows);
	*out = a;
	*n = k;
	return 0;
}

static int audit_json(const rr_store_audit *a, size_t n)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_arr_begin(&j);
	for (i = 0; i < n; i++) {
		json_obj_begin(&j);
		json_kint(&j, "id", a[i].id);
		json_ktime(&j, "time", a[i].time);
		json_kstr(&j, "actor", a[i].actor);
		json_kstr(&j, "action", a[i].action);
		json_kstr(&j, "target", a[i].target);
		json_kstr(&j, "detail", a[i].detail);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	return fail_output(json_finish(&j));
}

static int audit_text(const rr_store_audit *a, size_t n)
{
	static const char *const head[] = {"ID",     "TIME",   "ACTOR",
					   "ACTION", "TARGET", "DETAIL"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, 6, head);
	for (i = 0; i < n; i++) {
		char id[24], when[32];
		const char *row[6];

		snprintf(id, sizeof(id), "%" PRId64, a[i].id);
		ctl_time_local(a[i].time, when, sizeof(when));
		row[0] = id;
		row[1] = when;
		row[2] = a[i].actor;
		row[3] = a[i].action;
		row[4] = a[i].target;
		row[5] = a[i].detail;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return fail_output(r);
}

int cmd_audit(struct ctl *c)
{
	rr_store_audit *a = NULL;
	size_t n = 0;
	int r;

	r = ctl_open(c);
	if (r != RC_OK)
		return r;
	if (c->fleet)
		r = fleet_audit(c, &a, &n);
	else
		r = rr_store_audit_list(c->store, c->limit, &a, &n);
	if (r < 0)
		r = ctl_store_fail(c, "cannot read the audit log", r);
	else if (c->json)
		r = audit_json(a, n);
	else
		r = audit_text(a, n);
	free(a);
	return r;
}
