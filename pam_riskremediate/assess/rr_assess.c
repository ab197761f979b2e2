/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_assess.h"
#include "rr_utf8.h"
#include "rr_iplist.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NSS_BUF_MAX (1024 * 1024)

/* The length (2..4) of the UTF-8 sequence at s (at most `left` bytes)
 * when it is valid and a printable character: not a C1 control
 * (U+0080..U+009F), a bidirectional control (U+200E, U+200F,
 * U+202A..U+202E, U+2066..U+2069) or a line or paragraph separator
 * (U+2028, U+2029), which a terminal or a log viewer would act on or
 * which would reorder what is shown.  0 otherwise. */
static size_t printable_utf8(const unsigned char *s, size_t left)
{
	uint32_t cp = 0;
	size_t n = rr_utf8_decode(s, left, &cp);

	if (n < 2 || cp <= 0x9f || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return 0;
	return n;
}

bool rr_valid_user(const char *user)
{
	size_t i, n, len;

	if (!user)
		return false;
	len = strnlen(user, RR_USER_MAX + 1);
	if (len == 0 || len > RR_USER_MAX || user[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c >= 0x80) {
			n = printable_utf8((const unsigned char *)user + i,
					   len - i);
			if (n == 0)
				return false;
			i += n - 1;
			continue;
		}
		if (c <= 0x20 || c == 0x7f || c == '/' || c == ':' ||
		    c == '\\' || c == '"' || c == '\'' || c == '=')
			return false;
	}
	return true;
}

/* Printable ASCII without spaces, 0..max bytes (NULL counts as empty). */
static bool valid_token(const char *s, size_t max, bool allow_space)
{
	size_t i, len;

	if (!s)
		return true;
	len = strnlen(s, max + 1);
	if (len > max)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || (c == ' ' && !allow_space) ||
		    c == '"' || c == '\\')
			return false;
	}
	return true;
}

static int copy_input(const rr_signin_input *in, rr_assessment *a)
{
	if (!rr_valid_user(in->user) || !in->service || !*in->service ||
	    !valid_token(in->service, RR_SERVICE_MAX, false) ||
	    !valid_token(in->rhost, RR_RHOST_MAX, false) ||
	    !valid_token(in->tty, RR_TTY_MAX, false) ||
	    !valid_token(in->device, RR_DEVICE_MAX, false))
		return -EINVAL;
	snprintf(a->device, sizeof(a->device), "%s",
		 in->device ? in->device : "");
	snprintf(a->user, sizeof(a->user), "%s", in->user);
	snprintf(a->service, sizeof(a->service), "%s", in->service);
	snprintf(a->rhost, sizeof(a->rhost), "%s", in->rhost ? in->rhost : "");
	snprintf(a->tty, sizeof(a->tty), "%s", in->tty ? in->tty : "");
	a->facts.user = a->user;
	a->facts.service = a->service;
	a->facts.rhost = a->rhost;
	if (a->rhost[0] && rr_addr_parse(a->rhost, &a->facts.addr) == 0)
		a->facts.has_addr = true;
	return 0;
}

/* The sign-in's network: /24 or /64 of the address, or the host name that
 * the service gave us (which never matches a named location). */
static void remote_netkey(const char *rhost, char *out, size_t len)
{
	static const char prefix[] = "host:";
	rr_addr addr;
	size_t i, n;

	if (rr_addr_parse(rhost, &addr) == 0) {
		rr_addr_netkey(&addr, out, len);
		return;
	}
	/* long host names are cut: the key only needs to be stable */
	n = strnlen(rhost, len - sizeof(prefix));
	memcpy(out, prefix, sizeof(prefix) - 1);
	memcpy(out + sizeof(prefix) - 1, rhost, n);
	out[sizeof(prefix) - 1 + n] = '\0';
	for (i = 0; out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

rr_origin rr_assess_origin(const rr_signin_input *in, uid_t target_uid,
			   char *out, size_t len)
{
	if (in->rhost && in->rhost[0]) {
		remote_netkey(in->rhost, out, len);
		return RR_ORIGIN_REMOTE;
	}
	if (in->ruid_known &&
	    (in->ruid == 0 || (target_uid != (uid_t)-1 &&
			       in->ruid == target_uid))) {
		snprintf(out, len, "local");
		return RR_ORIGIN_LOCAL;
	}
	if (in->ruid_known)
		snprintf(out, len, "uid:%lu", (unsigned long)in->ruid);
	else
		snprintf(out, len, "uid:?");
	return RR_ORIGIN_OTHER_USER;
}

static int gid_name(gid_t gid, char **out)
{
	struct group gr, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	int r;

	for (;;) {
		char *nb = realloc(buf, len);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		r = getgrgid_r(gid, &gr, buf, len, &res);
		if (r != ERANGE || len >= NSS_BUF_MAX)
			break;
		len *= 2;
	}
	if (r == 0 && res)
		*out = strdup(gr.gr_name);
	else if (r == 0)
		*out = NULL; /* a gid with no name cannot match a policy */
	free(buf);
	if (r != 0)
		return -r;
	return (res && !*out) ? -ENOMEM : 0;
}

/* Groups decide something only where a group is named (the keyword `all`
 * does not depend on them): in a policy that is not disabled, or in the
 * registration scope. */
static bool names_groups(const rr_assign *g)
{
	return g->include.n > 0 || g->exclude.n > 0;
}

static bool groups_needed(const rr_policy *p)
{
	size_t i;

	for (i = 0; i < p->n_policies; i++)
		if (p->policies[i].state != RR_PSTATE_DISABLED &&
		    names_groups(&p->policies[i].groups))
			return true;
	return names_groups(&p->mfa_registration.groups);
}

/* 0 with the user's entry, -ESRCH when there is no such user (distinct
 * from a missing list file, -ENOENT), or another negative errno. */
static int pw_lookup(const char *user, struct passwd *pw, char *buf,
		     size_t len)
{
	struct passwd *res = NULL;
	int r = getpwnam_r(user, pw, buf, len, &res);

	/* "not found" comes as 0 with no result, or (some NSS modules) as
	 * ENOENT/ESRCH */
	if (r == ENOENT || r == ESRCH)
		return -ESRCH;
	if (r != 0)
		return -r;
	return res ? 0 : -ESRCH;
}

/* The user must exist; their groups are read (NSS, each of them) only
 * when the policy names a group. */
static int lookup_groups_nss(const rr_policy *p, rr_assessment *a,
			     uid_t *uid)
{
	struct passwd pw;
	gid_t gids[RR_GROUPS_MAX];
	int ngids = RR_GROUPS_MAX, r, i;
	char buf[16384];

	r = pw_lookup(a->user, &pw, buf, sizeof(buf));
	if (r < 0)
		return r;
	*uid = pw.pw_uid;
	if (!groups_needed(p))
		return 0;
	/* More groups than we can hold: refuse rather than evaluate a
	 * truncated list, which could miss a group the policy includes. */
	if (getgrouplist(a->user, pw.pw_gid, gids, &ngids) < 0)
		return -E2BIG;
	for (i = 0; i < ngids; i++) {
		char *name = NULL;

		r = gid_name(gids[i], &name);
		if (r < 0)
			return r;
		if (name)
			a->group_names[a->n_groups++] = name;
	}
	a->facts.groups = (const char *const *)a->group_names;
	a->facts.n_groups = a->n_groups;
	return 0;
}

/* NSS modules need not be thread-safe (nss_wrapper is not; some
 * directory modules were not), and riskd evaluates calls in several
 * threads: one lookup at a time. */
static pthread_mutex_t nss_lock = PTHREAD_MUTEX_INITIALIZER;

void rr_nss_lock(void)
{
	pthread_mutex_lock(&nss_lock);
}

void rr_nss_unlock(void)
{
	pthread_mutex_unlock(&nss_lock);
}

int rr_user_uid(const char *user, uid_t *uid)
{
	struct passwd pw;
	char buf[16384];
	int r;

	rr_nss_lock();
	r = pw_lookup(user, &pw, buf, sizeof(buf));
	rr_nss_unlock();
	if (r == 0)
		*uid = pw.pw_uid;
	return r;
}

static int lookup_groups(const rr_policy *p, rr_assessment *a, uid_t *uid)
{
	int r;

	rr_nss_lock();
	r = lookup_groups_nss(p, a, uid);
	rr_nss_unlock();
	return r;
}

static void add_det(rr_assessment *a, rr_event type, rr_level level)
{
	if (a->n_dets < RR_EVENT__COUNT) {
		a->dets[a->n_dets].type = type;
		a->dets[a->n_dets].level = level;
		a->n_dets++;
	}
}

/* Is the address in any of the detection's list files?  Each list is
 * answered from its compiled index (O(log n)) when current, else parsed
 * (same answer); `unindexed` collects RR_IPLIST_IDX_* for the latter. */
static int in_lists(const rr_detection_cfg *cfg, const rr_addr *addr,
		    bool *hit, rr_assessment *a)
{
	size_t i;

	*hit = false;
	for (i = 0; i < cfg->n_lists && !*hit; i++) {
		unsigned unindexed = 0;
		int r = rr_iplist_lookup(cfg->lists[i], addr, hit, &unindexed);

		if (r < 0) {
			a->failed_list = cfg->lists[i];
			return r;
		}
		if (unindexed && !a->unindexed_list) {
			a->unindexed_list = cfg->lists[i];
			a->list_index_flags = unindexed;
		}
	}
	return 0;
}

static int run_list_detection(const rr_policy *p, rr_event ev,
			      rr_assessment *a)
{
	const rr_detection_cfg *cfg = &p->detections[ev];
	bool hit = false;
	int r;

	if (!cfg->enabled || !a->facts.has_addr)
		return 0;
	r = in_lists(cfg, &a->facts.addr, &hit, a);
	if (r < 0)
		return r;
	if (hit)
		add_det(a, ev, cfg->level);
	return 0;
}

static int run_detections(const rr_policy *p, rr_assessment *a, int64_t now)
{
	const rr_detection_cfg *uf = &p->detections[RR_EVENT_UNFAMILIAR_FEATURES];
	const rr_detection_cfg *bf = &p->detections[RR_EVENT_BRUTE_FORCE];
	const rr_detection_cfg *ps = &p->detections[RR_EVENT_PASSWORD_SPRAY];
	int r;

	if (rr_detect_unfamiliar(uf, &a->facts, &a->history, now))
		add_det(a, RR_EVENT_UNFAMILIAR_FEATURES, uf->level);
	r = run_list_detection(p, RR_EVENT_ANONYMIZED_IP, a);
	if (r == 0)
		r = run_list_detection(p, RR_EVENT_MALICIOUS_IP, a);
	if (r == 0 && rr_detect_brute_force(bf, &a->history))
		add_det(a, RR_EVENT_BRUTE_FORCE, bf->level);
	if (r == 0 && rr_detect_password_spray(ps, &a->history))
		add_det(a, RR_EVENT_PASSWORD_SPRAY, ps->level);
	return r;
}

static int read_store(const rr_policy *p, rr_store *s, rr_assessment *a,
		      int64_t now)
{
	const rr_detection_cfg *bf = &p->detections[RR_EVENT_BRUTE_FORCE];
	const rr_detection_cfg *ps = &p->detections[RR_EVENT_PASSWORD_SPRAY];
	int r;

	r = rr_store_user_get(s, a->user, &a->stored);
	if (r < 0)
		return r;
	a->user_risk.level = a->stored.level;
	a->user_risk.state = a->stored.state;
	a->user_risk.detail = a->stored.detail;
	a->user_risk.updated = a->stored.updated;
	r = rr_store_history(s, a->user, a->netkey[0] ? a->netkey : NULL, now,
			     bf->enabled ? bf->window_s : 0, &a->history);
	if (r == 0)
		r = rr_store_device_seen(s, a->user, a->device,
					 &a->history.device_seen);
	/* passwordSpray: network sign-ins only (a console has no source) */
	if (r == 0 && ps->enabled && a->rhost[0])
		r = rr_store_spray_count(s, a->rhost, now, ps->window_s,
					 &a->history.spray_users);
	return r;
}

int rr_assess(const rr_policy *p, rr_store *s, const rr_signin_input *in,
	      int64_t now, rr_assessment *a)
{
	rr_assess_fail step = RR_ASSESS_FAIL_INPUT;
	const char *list;
	uid_t uid = (uid_t)-1;
	int r;

	if (!p || !s || !in || !a)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	r = copy_input(in, a);
	if (r == 0) {
		step = RR_ASSESS_FAIL_USER;
		r = lookup_groups(p, a, &uid);
		if (r == -ESRCH && in->unknown_user_ok) {
			/* no groups, uid unknown: as a user with no record */
			a->unknown_user = true;
			uid = (uid_t)-1;
			r = 0;
		}
	}
	if (r < 0)
		goto fail;
	a->facts.origin = rr_assess_origin(in, uid, a->netkey,
					   sizeof(a->netkey));
	step = RR_ASSESS_FAIL_STORE;
	r = rr_store_read_begin(s);
	if (r == 0) {
		r = read_store(p, s, a, now);
		rr_store_read_end(s);
	}
	if (r == 0) {
		step = RR_ASSESS_FAIL_CHECK;
		r = run_detections(p, a, now);
	}
	if (r < 0)
		goto fail;
	step = RR_ASSESS_FAIL_DECIDE;
	if (p->n_policies) {
		a->results = calloc(p->n_policies, sizeof(*a->results));
		if (!a->results) {
			r = -ENOMEM;
			goto fail;
		}
	}
	r = rr_engine_decide(p, &a->user_risk, &a->facts, a->dets, a->n_dets,
			     now, a->results, &a->decision);
	if (r == 0)
		return 0;
fail:
	list = a->failed_list;
	rr_assessment_clear(a);
	a->failed = step;
	a->failed_list = step == RR_ASSESS_FAIL_CHECK ? list : NULL;
	return r;
}

void rr_assessment_clear(rr_assessment *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n_groups; i++)
		free(a->group_names[i]);
	free(a->results);
	memset(a, 0, sizeof(*a));
}

/* Append `s` to buf with a separator, truncating safely. */
static void append(char *buf, size_t len, const char *sep, const char *s)
{
	size_t used = strnlen(buf, len);

	if (used + 1 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s", used ? sep : "", s);
}

void rr_assess_detections_text(const rr_detection *d, size_t n, char *buf,
			       size_t len)
{
	size_t i;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		char one[64];

		snprintf(one, sizeof(one), "%s:%s", rr_event_name(d[i].type),
			 rr_level_name(d[i].level));
		append(buf, len, ",", one);
	}
}

void rr_assess_policy_names(const rr_policy *p, const rr_decision *d,
			    bool report_only, const char *sep, char *buf,
			    size_t len)
{
	size_t i;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < d->n_results && i < p->n_policies; i++) {
		const rr_policy_result *res = &d->results[i];
		bool ro = p->policies[i].state == RR_PSTATE_REPORT_ONLY;

		if (!res->applies || ro != report_only ||
		    p->policies[i].state == RR_PSTATE_DISABLED)
			continue;
		append(buf, len, sep, p->policies[i].name);
	}
}

void rr_assess_to_record(const rr_policy *p, const rr_assessment *a,
			 const char *outcome, int64_t now, char *applied,
			 size_t applied_len, char *report_only,
			 size_t report_only_len, rr_signin_rec *rec)
{
	rr_assess_policy_names(p, &a->decision, false, "\n", applied,
			       applied_len);
	rr_assess_policy_names(p, &a->decision, true, "\n", report_only,
			       report_only_len);
	memset(rec, 0, sizeof(*rec));
	rec->time = now;
	rec->user = a->user;
	rec->service = a->service;
	rec->rhost = a->rhost;
	rec->tty = a->tty;
	rec->netkey = a->netkey[0] ? a->netkey : NULL;
	rec->device = a->device[0] ? a->device : NULL;
	rec->action = a->decision.action;
	rec->outcome = outcome;
	rec->signin_risk = a->decision.signin_risk;
	rec->user_risk = a->decision.user_risk;
	rec->dets = a->dets;
	rec->n_dets = a->n_dets;
	rec->applied = applied;
	rec->report_only = report_only;
}

static void mask_text(rr_level_mask m, char *buf, size_t len)
{
	int l;

	buf[0] = '\0';
	for (l = RR_LEVEL_NONE; l < RR_LEVEL__COUNT; l++)
		if (m & (1u << l))
			append(buf, len, ", ", rr_level_name((rr_level)l));
}

static const char *excluded_group(const rr_ca_policy *cp, const rr_facts *f)
{
	size_t i, j;

	for (i = 0; i < cp->groups.exclude.n; i++)
		for (j = 0; j < f->n_groups; j++)
			if (!strcmp(cp->groups.exclude.names[i], f->groups[j]))
				return f->groups[j];
	return "?";
}

static const char *location_hit(const rr_policy *p, const size_t *idx,
				size_t n, const rr_facts *f)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const rr_location *loc = &p->locations[idx[i]];

		for (j = 0; f->has_addr && j < loc->n; j++)
			if (rr_cidr_contains(&loc->cidrs[j], &f->addr))
				return loc->name;
	}
	return "?";
}

static void explain_applies(const rr_ca_policy *cp, char *buf, size_t len)
{
	if (cp->block)
		snprintf(buf, len, "applies: block");
	else
		snprintf(buf, len, "applies: require %s%s",
			 (cp->require & RR_REQUIRE_MFA) ? "mfa" : "",
			 (cp->require & RR_REQUIRE_PASSWORD_CHANGE) ?
				 ", password_change" : "");
}

void rr_assess_explain(const rr_policy *p, const rr_assessment *a, size_t i,
		       char *buf, size_t len)
{
	const rr_ca_policy *cp = &p->policies[i];
	const rr_facts *f = &a->facts;
	const char *where = a->rhost[0] ? a->rhost : "the local console";
	char levels[64];

	switch (a->results[i].why) {
	case RR_WHY_APPLIES:
		explain_applies(cp, buf, len);
		return;
	case RR_WHY_USER_NOT_INCLUDED:
		snprintf(buf, len, "user %s is not included", f->user);
		return;
	case RR_WHY_USER_EXCLUDED:
		snprintf(buf, len, "user %s is excluded", f->user);
		return;
	case RR_WHY_GROUP_EXCLUDED:
		snprintf(buf, len, "group %s is excluded",
			 excluded_group(cp, f));
		return;
	case RR_WHY_SERVICE_NOT_INCLUDED:
	case RR_WHY_SERVICE_EXCLUDED:
		snprintf(buf, len, "service %s is %s", f->service,
			 a->results[i].why == RR_WHY_SERVICE_EXCLUDED ?
				 "excluded" : "not included");
		return;
	case RR_WHY_USER_RISK_NOT_MATCHED:
		mask_text(cp->user_risk, levels, sizeof(levels));
		snprintf(buf, len, "user risk %s is not in [%s]",
			 rr_level_name(a->decision.user_risk), levels);
		return;
	case RR_WHY_SIGNIN_RISK_NOT_MATCHED:
		mask_text(cp->signin_risk, levels, sizeof(levels));
		snprintf(buf, len, "sign-in risk %s is not in [%s]",
			 rr_level_name(a->decision.signin_risk), levels);
		return;
	case RR_WHY_LOCATION_NOT_INCLUDED:
		snprintf(buf, len, "sign-in from %s is not in an included "
			 "location", where);
		return;
	case RR_WHY_LOCATION_EXCLUDED:
		snprintf(buf, len, "sign-in from %s is in excluded location %s",
			 where, location_hit(p, cp->loc_exclude,
					     cp->n_loc_exclude, f));
		return;
	case RR_WHY_DISABLED:
	case RR_WHY__COUNT:
	default:
		snprintf(buf, len, "%s", rr_why_text(a->results[i].why));
		return;
	}
}
