/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared plumbing for the verbs: errors, policy and store, times. */
#include "riskctl.h"
#include "rr_fleet.h"
#include "rr_secfile.h"
#include "table.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("riskctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void print_policy_errors(const char *path, const rr_policy_errors *e,
				int r)
{
	char line[512];
	size_t i;

	for (i = 0; i < e->n; i++) {
		rr_policy_error_format(e, i, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (e->truncated)
		ctl_err("%s: more errors not shown", path);
	if (e->n == 0)
		ctl_err("%s: %s", path, rr_secfile_strerror(r));
}

int ctl_load_policy(struct ctl *c, const char *path)
{
	rr_policy_errors errs = {0};
	int r;

	if (!path)
		path = c->policy_path;
	r = rr_policy_load(path, &c->policy, &errs);
	if (r < 0) {
		c->policy = NULL;
		print_policy_errors(path, &errs, r);
	}
	rr_policy_errors_clear(&errs);
	return r < 0 ? RC_POLICY : RC_OK;
}

static const char *store_strerror(int r)
{
	switch (-r) {
	case EPERM:
		return "it, or its directory, is not owned by root or is "
		       "accessible by group/other (refused; expected "
		       "directory 0700 and file 0600, owned by root)";
	case ELOOP:
		return "it, or its directory, is a symbolic link (refused)";
	case EPROTO:
		return "its schema is newer than this version of riskctl";
	default:
		return rr_secfile_strerror(r);
	}
}

static void fleet_log(int priority, const char *msg)
{
	if (priority <= LOG_WARNING)
		ctl_err("%s", msg);
}

int ctl_fleet_new(struct ctl *c, rr_fleet **out)
{
	int r = rr_fleet_new(c->policy, NULL, fleet_log, out);

	if (r < 0)
		ctl_err("%s: cannot set up the fleet's etcd client: %s",
			c->policy_path, strerror(-r));
	return r < 0 ? RC_STORE : RC_OK;
}

/* A fleet: the tenant's records, read from etcd now, in a store in
 * memory linked to the fleet (its writes are compare-and-swap
 * transactions on etcd), all through c->fleet's one client. */
static int open_fleet(struct ctl *c)
{
	int r;

	r = c->fleet ? RC_OK : ctl_fleet_new(c, &c->fleet);
	if (r != RC_OK)
		return r;
	r = rr_store_open_memory(&c->store);
	if (!r)
		r = rr_fleet_load(c->fleet, c->store);
	if (r < 0) {
		ctl_err("cannot read the fleet's records from etcd (prefix %s):"
			" %s", rr_fleet_prefix(c->fleet),
			r == -ENOTCONN ? "no member reachable, or no leader"
				       : strerror(-r));
		return RC_STORE;
	}
	r = rr_fleet_link_shared(c->fleet, c->store, &c->fleet_link);
	if (r < 0) {
		ctl_err("fleet: %s", strerror(-r));
		return RC_STORE;
	}
	return RC_OK;
}

/* This host's own store file, store.path (message on failure).  RC_* */
static int open_host_store(struct ctl *c, rr_store **out)
{
	int r = rr_store_open(c->policy->store_path, out);

	if (r < 0) {
		*out = NULL;
		ctl_err("cannot open the risk store %s: %s",
			c->policy->store_path, store_strerror(r));
		return RC_STORE;
	}
	return RC_OK;
}

int ctl_open(struct ctl *c)
{
	int r;

	r = c->policy ? RC_OK : ctl_load_policy(c, NULL);
	if (r != RC_OK)
		return r;
	if (c->policy->backend == RR_BACKEND_ETCD)
		return open_fleet(c);
	r = open_host_store(c, &c->store);
	if (r != RC_OK)
		return r;
	rr_store_set_retention(c->store, c->policy->signin_retention_days,
			       c->policy->detection_retention_days);
	return RC_OK;
}

int ctl_open_host(struct ctl *c)
{
	int r;

	r = c->policy ? RC_OK : ctl_load_policy(c, NULL);
	return r != RC_OK ? r : open_host_store(c, &c->store);
}

/* The risky sign-in `c->ref` of any host, from the fleet's etcd. */
static int etcd_signin(struct ctl *c, rr_fleet *f, rr_fleet_signin *v)
{
	int r = rr_fleet_signin_find(f, c->ref, v);

	if (r == -ENOENT) {
		ctl_err("no sign-in with reference %s on this host or in the "
			"fleet's etcd (prefix %s): hosts publish only risky "
			"sign-ins, kept %u days",
			c->ref, rr_fleet_prefix(f),
			c->policy->signin_retention_days);
		return RC_NOT_FOUND;
	}
	if (r < 0) {
		ctl_err("cannot read sign-in %s from the fleet's etcd (prefix "
			"%s): %s",
			c->ref, rr_fleet_prefix(f),
			r == -EPROTO    ? "its record is malformed"
			: r == -ENOTCONN ? "no member reachable, or no leader"
					 : strerror(-r));
		return RC_STORE;
	}
	return RC_OK;
}

/* ctl_fleet_signin with the fleet's client f. */
static int fleet_signin(struct ctl *c, rr_fleet *f, rr_fleet_signin *out)
{
	rr_store_signin_filter flt = {.ref = c->ref, .user = c->user,
				      .limit = 1};
	rr_store_signin *rows = NULL;
	rr_store *s = NULL;
	size_t n = 0;
	int r;

	/* an admin machine has no store: not an error here */
	if (access(c->policy->store_path, F_OK) == 0) {
		r = open_host_store(c, &s);
		if (r != RC_OK)
			return r;
		r = rr_store_signins_list(s, &flt, &rows, &n);
		if (r < 0)
			ctl_err("cannot read sign-ins: %s (store %s)",
				rr_store_last_error(s), c->policy->store_path);
		if (r == 0 && n) {
			snprintf(out->host, sizeof(out->host), "%s",
				 rr_fleet_host(f));
			out->s = rows[0];
		}
		free(rows);
		rr_store_close(s);
		if (r < 0)
			return RC_STORE;
		if (n)
			return RC_OK;
	}
	r = etcd_signin(c, f, out);
	if (r == RC_OK && c->user && strcmp(c->user, out->s.user) != 0) {
		ctl_err("sign-in %s is not %s's", c->ref, c->user);
		r = RC_NOT_FOUND;
	}
	return r;
}

int ctl_fleet_signin(struct ctl *c, rr_fleet_signin **out)
{
	rr_fleet_signin *v;
	int r;

	*out = NULL;
	/* c->fleet: ctl_open (confirm-safe's next step) goes on with it */
	r = c->fleet ? RC_OK : ctl_fleet_new(c, &c->fleet);
	if (r != RC_OK)
		return r;
	v = calloc(1, sizeof(*v)); /* a sign-in is large: not on the stack */
	if (!v) {
		ctl_err("out of memory");
		return RC_STORE;
	}
	r = fleet_signin(c, c->fleet, v);
	if (r == RC_OK)
		*out = v;
	else
		free(v);
	return r;
}

void ctl_close(struct ctl *c)
{
	rr_fleet_unlink(c->fleet_link);
	c->fleet_link = NULL;
	rr_store_close(c->store);
	c->store = NULL;
	rr_fleet_free(c->fleet);
	c->fleet = NULL;
	rr_policy_free(c->policy);
	c->policy = NULL;
}

int ctl_store_fail(struct ctl *c, const char *what, int err)
{
	const char *msg = c->store ? rr_store_last_error(c->store) : NULL;

	if (!msg || !*msg)
		msg = strerror(-err);
	if (c->fleet)
		ctl_err("%s: %s (fleet %s)", what, msg,
			rr_fleet_prefix(c->fleet));
	else
		ctl_err("%s: %s (store %s)", what, msg, c->policy->store_path);
	return RC_STORE;
}

int ctl_check_user(const char *user)
{
	char *safe;

	if (rr_valid_user(user))
		return RC_OK;
	safe = term_safe(user);
	ctl_err("invalid user name '%.64s%s' (1-%d printable characters; "
		"no whitespace, '/', ':', '\\', quotes, '=' or leading '-')",
		safe ? safe : "?", strlen(user) > 64 ? "..." : "", RR_USER_MAX);
	free(safe);
	return RC_USAGE;
}

int ctl_check_account(const char *user)
{
	struct passwd pw, *res = NULL;
	char pwbuf[16384];
	int r;

	r = getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &res);
	explicit_bzero(pwbuf, sizeof(pwbuf));
	if (r == 0 && res)
		return RC_OK;
	if (r != 0 && r != ENOENT && r != ESRCH) {
		ctl_err("cannot look up user '%s': %s", user, strerror(r));
		return RC_NOT_FOUND;
	}
	ctl_err("no such user '%s'", user);
	return RC_NOT_FOUND;
}

void ctl_actor(char *buf, size_t len)
{
	const char *sudo = getenv("SUDO_USER");
	struct passwd pw, *res = NULL;
	char pwbuf[16384];
	uid_t uid = getuid();

	if (sudo && rr_valid_user(sudo)) {
		snprintf(buf, len, "%s", sudo);
		return;
	}
	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res &&
	    rr_valid_user(pw.pw_name)) {
		snprintf(buf, len, "%s", pw.pw_name);
		return;
	}
	snprintf(buf, len, "uid:%u", (unsigned)uid);
}

static unsigned long unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	default:
		return 0;
	}
}

int ctl_parse_duration(const char *s, unsigned min, unsigned max,
		       unsigned *out)
{
	size_t len = strnlen(s, 32), i;
	unsigned long v = 0, mult = 1, unit;

	if (len == 32)
		return -EINVAL;
	unit = len > 1 ? unit_seconds(s[len - 1]) : 0;
	if (unit) {
		mult = unit;
		len--;
	}
	if (len == 0 || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (i < 9) /* more digits are out of range anyway */
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (len > 9 || v > max / mult || v * mult < min)
		return -ERANGE;
	*out = (unsigned)(v * mult);
	return 0;
}

void ctl_time_local(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || !localtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "-");
}

void ctl_time_iso(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

int fail_output(int r)
{
	if (r == 0)
		return RC_OK;
	ctl_err("cannot write output (%s)", strerror(r < 0 ? -r : r));
	return RC_NOT_FOUND;
}
