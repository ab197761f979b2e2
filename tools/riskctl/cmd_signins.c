/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * signins [--user U] [--ref ID] [--limit N]: this host's sign-in log
 * (--format graph: cmd_graph.c).  On
 * a fleet a reference that is not in it (or a machine with no store, an
 * admin's) is looked up in etcd, where every host publishes its risky
 * sign-ins (rr_fleet_signins.h); the answer names the host.
 */
#include "json.h"
#include "riskctl.h"
#include "table.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_WIDTH 22

/* Split "a:b,c:d" (detections) into JSON objects. */
static void json_signin_detections(struct json *j, const char *text)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", text);
	json_arr_begin(j);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');

		if (!strcmp(tok, "-"))
			continue;
		if (colon)
			*colon = '\0';
		json_obj_begin(j);
		json_kstr(j, "riskEventType", tok);
		json_kstr(j, "riskLevel", colon ? colon + 1 : NULL);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* '\n'-separated names as a JSON array of strings. */
static void json_lines(struct json *j, const char *text)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", text);
	json_arr_begin(j);
	for (tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save))
		json_str(j, tok);
	json_arr_end(j);
}

/* host: the fleet host it came from, NULL on a single host */
static void json_signin(struct json *j, const rr_store_signin *s,
			const char *host)
{
	json_obj_begin(j);
	json_kstr(j, "ref", s->ref);
	if (host)
		json_kstr(j, "host", host);
	json_ktime(j, "createdDateTime", s->time);
	json_kstr(j, "user", s->user);
	json_kstr(j, "service", s->service);
	json_kstr(j, "rhost", s->rhost[0] ? s->rhost : NULL);
	json_kstr(j, "tty", s->tty[0] ? s->tty : NULL);
	json_kstr(j, "decision", rr_action_name(s->action));
	json_kstr(j, "outcome", s->outcome);
	json_kstr(j, "signInRiskLevel", rr_level_name(s->signin_risk));
	json_kstr(j, "userRiskLevel", rr_level_name(s->user_risk));
	json_key(j, "detections");
	json_signin_detections(j, s->detections);
	json_key(j, "appliedPolicies");
	json_lines(j, s->applied);
	json_key(j, "reportOnlyPolicies");
	json_lines(j, s->report_only);
	json_kstr(j, "reason", s->reason[0] ? s->reason : NULL);
	json_kstr(j, "mfa", s->mfa[0] ? s->mfa : NULL);
	json_kstr(j, "device", s->device[0] ? s->device : NULL);
	json_obj_end(j);
}

static int signins_json(const rr_store_signin *s, size_t n, const char *host)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_arr_begin(&j);
	for (i = 0; i < n; i++)
		json_signin(&j, &s[i], host);
	json_arr_end(&j);
	return fail_output(json_finish(&j));
}

/* A '\n'-separated list: first item on the key's line, the rest
 * indented under it. */
static void kv_lines(const char *key, const char *text)
{
	char buf[RR_TEXT_MAX], *save = NULL, *tok;
	const char *k = key;

	snprintf(buf, sizeof(buf), "%s", text);
	for (tok = strtok_r(buf, "\n", &save); tok;
	     tok = strtok_r(NULL, "\n", &save)) {
		kv_print(stdout, KV_WIDTH, k, tok);
		k = "";
	}
	if (k == key)
		kv_print(stdout, KV_WIDTH, key, "-");
}

static void detections_text(const char *text, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", text[0] ? text : "-");
	for (i = 0; buf[i]; i++)
		if (buf[i] == ',')
			buf[i] = ' ';
}

static int signin_detail(const rr_store_signin *s, const char *host)
{
	char when[32], dets[RR_TEXT_MAX];

	ctl_time_local(s->time, when, sizeof(when));
	detections_text(s->detections, dets, sizeof(dets));
	kv_print(stdout, KV_WIDTH, "ref:", s->ref);
	if (host)
		kv_print(stdout, KV_WIDTH, "host:", host);
	kv_print(stdout, KV_WIDTH, "time:", when);
	kv_print(stdout, KV_WIDTH, "user:", s->user);
	kv_print(stdout, KV_WIDTH, "service:", s->service);
	kv_print(stdout, KV_WIDTH,
		 "rhost:", s->rhost[0] ? s->rhost : "- (local)");
	kv_print(stdout, KV_WIDTH, "tty:", s->tty);
	kv_print(stdout, KV_WIDTH, "decision:", rr_action_name(s->action));
	kv_print(stdout, KV_WIDTH, "outcome:", s->outcome);
	kv_print(stdout, KV_WIDTH,
		 "sign-in risk:", rr_level_name(s->signin_risk));
	kv_print(stdout, KV_WIDTH, "user risk:", rr_level_name(s->user_risk));
	kv_print(stdout, KV_WIDTH, "detections:", dets);
	kv_lines("applied policies:", s->applied);
	kv_lines("report-only policies:", s->report_only);
	kv_print(stdout, KV_WIDTH, "mfa:", s->mfa[0] ? s->mfa : "-");
	kv_print(stdout, KV_WIDTH, "device:", s->device[0] ? s->device : "-");
	kv_print(stdout, KV_WIDTH, "reason:", s->reason);
	return RC_OK;
}

static int signins_text(const rr_store_signin *s, size_t n)
{
	static const char *const head[] = {
	    "TIME",     "REF",     "USER",        "SERVICE",   "RHOST",
	    "DECISION", "OUTCOME", "SIGNIN-RISK", "USER-RISK", "DETECTIONS"};
	struct table t;
	size_t i;
	int r;

	table_init(&t, 10, head);
	for (i = 0; i < n; i++) {
		char when[32], dets[RR_TEXT_MAX];
		const char *row[10];

		ctl_time_local(s[i].time, when, sizeof(when));
		detections_text(s[i].detections, dets, sizeof(dets));
		row[0] = when;
		row[1] = s[i].ref;
		row[2] = s[i].user;
		row[3] = s[i].service;
		row[4] = s[i].rhost;
		row[5] = rr_action_name(s[i].action);
		row[6] = s[i].outcome;
		row[7] = rr_level_name(s[i].signin_risk);
		row[8] = rr_level_name(s[i].user_risk);
		row[9] = dets;
		table_add(&t, row);
	}
	r = table_print(&t, stdout);
	table_clear(&t);
	return fail_output(r);
}

/* A reference on a fleet (ctl_fleet_signin), with the host it came
 * from. */
static int signin_ref_fleet(struct ctl *c)
{
	rr_fleet_signin *v = NULL;
	int r;

	r = ctl_fleet_signin(c, &v);
	/* RC_OK sets v (ctl.c); scan-build cannot see into ctl.c */
	assert(r != RC_OK || v);
	if (r == RC_OK)
		r = c->json ? signins_json(&v->s, 1, v->host)
			    : signin_detail(&v->s, v->host);
	free(v);
	return r;
}

int cmd_signins(struct ctl *c)
{
	rr_store_signin_filter f = {
	    .user = c->user,
	    .ref = (c->given & OPT_REF) ? c->ref : NULL,
	    .limit = c->limit,
	};
	rr_store_signin *s = NULL;
	size_t n = 0;
	int r;

	if ((c->given & OPT_SINCE) && !c->has_cursor) {
		ctl_err("signins --since takes a cursor (signins:N, with "
			"--format graph), not a duration");
		return RC_USAGE;
	}
	if (c->format == CTL_FMT_GRAPH && f.ref) {
		ctl_err("--format graph follows the sign-in log; for one "
			"sign-in use --ref with --json");
		return RC_USAGE;
	}
	r = ctl_load_policy(c, NULL);
	if (r != RC_OK)
		return r;
	if (c->format == CTL_FMT_GRAPH) {
		r = ctl_open_host(c); /* the host's own log, also on a fleet */
		return r != RC_OK ? r : graph_signins(c);
	}
	if (f.ref && c->policy->backend == RR_BACKEND_ETCD)
		return signin_ref_fleet(c);
	r = ctl_open_host(c); /* the host's own log, also on a fleet */
	if (r != RC_OK)
		return r;
	r = rr_store_signins_list(c->store, &f, &s, &n);
	if (r < 0) {
		r = ctl_store_fail(c, "cannot read sign-ins", r);
	} else if (f.ref && n == 0) {
		ctl_err("no sign-in with reference %s (sign-ins are kept "
			"%u days)",
			c->ref, c->policy->signin_retention_days);
		r = RC_NOT_FOUND;
	} else if (c->json) {
		r = signins_json(s, n, NULL);
	} else if (f.ref) {
		r = signin_detail(&s[0], NULL);
	} else {
		r = signins_text(s, n);
	}
	free(s);
	return r;
}
