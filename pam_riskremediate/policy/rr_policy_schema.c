/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The policy file's keys (DESIGN §5): one table per mapping, one handler per
 * key.  Every accepted key is spelled KEY("name", ...) so that the man page
 * check can find it; keep it that way.
 */
#include "rr_policy_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ISSUER_MAX 64
#define LOCATION_NAME_MAX 64
#define PATH_MAX_LEN 4096
#define URL_MAX_LEN 512
#define MAX_DAYS 365
#define MAX_RETENTION_DAYS 3650
#define MAX_COUNT 100000
#define MAX_WINDOW (7 * 86400)
/* passwordSpray, leakedCredentials, aggregation */
#define SPRAY_USERS_MIN 2
#define SPRAY_WINDOW_MIN 60
#define LEAK_TIMEOUT_MIN_MS 100
#define LEAK_TIMEOUT_MAX_MS 30000
#define LEAK_CACHE_MAX (30 * 86400)
#define AGG_SIGNINS_MAX 1000
#define AGG_WINDOW_MIN 3600
#define AGG_WINDOW_MAX (365 * 86400)
/* mfa: (RFC 6238 settings, rate limit, temporary access passes) */
#define TOTP_PERIOD_MIN 15
#define TOTP_PERIOD_MAX 300
#define TOTP_WINDOW_MAX 10
#define MFA_FAILURES_MAX 100
#define MFA_FAIL_WINDOW_MIN 60
#define MFA_FAIL_WINDOW_MAX 86400
#define TAP_TTL_MIN (5 * 60)
#define TAP_TTL_MAX (30 * 86400)

static const struct rr_word pstate_words[] = {
	{ "enabled", RR_PSTATE_ENABLED },
	{ "reportOnly", RR_PSTATE_REPORT_ONLY },
	{ "disabled", RR_PSTATE_DISABLED },
};

static const struct rr_word level_words[] = {
	{ "low", RR_LEVEL_LOW },
	{ "medium", RR_LEVEL_MEDIUM },
	{ "high", RR_LEVEL_HIGH },
};

static const struct rr_word cond_level_words[] = {
	{ "none", RR_LEVEL_NONE },
	{ "low", RR_LEVEL_LOW },
	{ "medium", RR_LEVEL_MEDIUM },
	{ "high", RR_LEVEL_HIGH },
};

static const struct rr_word backend_words[] = {
	{ "sqlite", RR_BACKEND_SQLITE },
	{ "etcd", RR_BACKEND_ETCD },
};

static const struct rr_word on_error_words[] = {
	{ "deny", 0 },
	{ "allow", 1 },
};

/* Values of rr_totp_alg (rr_mfa.h). */
static const struct rr_word totp_alg_words[] = {
	{ "SHA1", 0 },
	{ "SHA256", 1 },
	{ "SHA512", 2 },
};

static const struct rr_word control_words[] = {
	{ "mfa", RR_REQUIRE_MFA },
	{ "password_change", RR_REQUIRE_PASSWORD_CHANGE },
};

/* ---- string checks ------------------------------------------------------- */

/* 1..max bytes, no control characters (UTF-8 is fine). */
static bool label_ok(const char *s, size_t max)
{
	size_t i, len = strlen(s);

	if (!len || len > max)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* User, group and service names: no whitespace, control, ':' or '/'. */
static bool principal_ok(const char *s, size_t max)
{
	size_t i, len = strlen(s);

	if (!len || len > max || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch == 0x7f || ch == ':' || ch == '/')
			return false;
	}
	return true;
}

static bool location_name_ok(const char *s)
{
	size_t len = strlen(s);

	return len && len <= LOCATION_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

static bool path_ok(const char *s)
{
	return s[0] == '/' && label_ok(s, PATH_MAX_LEN - 1);
}

/* Hosts that may be reached over plain http://: the loopback. */
static bool loopback_host(const char *h, size_t len)
{
	static const char *const names[] = { "127.0.0.1", "localhost",
					     "[::1]" };
	size_t i;

	for (i = 0; i < RR_N(names); i++)
		if (len == strlen(names[i]) && !strncmp(h, names[i], len))
			return true;
	return false;
}

/* ":digits" (1..65535) or nothing. */
static bool port_ok(const char *p, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (!len)
		return true;
	if (p[0] != ':' || len < 2 || len > 6)
		return false;
	for (i = 1; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/*
 * A download URL: https://host[:port]/path, or http:// to a loopback host
 * (127.0.0.1, localhost, [::1]) for tests and local mirrors.  Printable
 * ASCII, at most URL_MAX_LEN bytes, no user information.  `dir`: the path
 * must end with '/' and take no query or fragment (something is appended
 * to it).  Reports its own error.
 */
static bool download_url(struct rr_pctx *c, const yaml_node_t *n,
			 const char *what, const char *s, bool dir)
{
	const char *rest, *slash, *hend;
	char q[RR_QUOTE_MAX];
	bool http = false;
	size_t alen, i;

	if (!strncmp(s, "https://", 8)) {
		rest = s + 8;
	} else if (!strncmp(s, "http://", 7)) {
		rest = s + 7;
		http = true;
	} else {
		goto bad;
	}
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] > '~')
			goto bad;
	if (i > URL_MAX_LEN)
		goto bad;
	slash = strchr(rest, '/');
	alen = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!alen || memchr(rest, '@', alen))
		goto bad;
	if (rest[0] == '[') {
		hend = memchr(rest, ']', alen);
		if (!hend || hend == rest + 1)
			goto bad;
		hend++;
	} else {
		hend = memchr(rest, ':', alen);
		if (!hend)
			hend = rest + alen;
		if (hend == rest)
			goto bad;
	}
	if (!port_ok(hend, alen - (size_t)(hend - rest)))
		goto bad;
	if (http && !loopback_host(rest, (size_t)(hend - rest))) {
		rr_pctx_err(c, n, "%s \"%s\" must use https:// (http:// is "
			    "only allowed for 127.0.0.1, localhost or [::1])",
			    what, rr_pctx_quote(s, q, sizeof(q)));
		return false;
	}
	if (dir && (!slash || s[strlen(s) - 1] != '/' ||
		    strpbrk(slash, "?#"))) {
		rr_pctx_err(c, n, "%s \"%s\" must end with '/' (the hash "
			    "prefix is appended to it)", what,
			    rr_pctx_quote(s, q, sizeof(q)));
		return false;
	}
	return true;
bad:
	rr_pctx_err(c, n, "invalid %s \"%s\" (expected an https:// URL)",
		    what, rr_pctx_quote(s, q, sizeof(q)));
	return false;
}

/* A copy of a checked string into *dst, replacing what was there. */
static int set_str(char **dst, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

static int path_value(struct rr_pctx *c, yaml_node_t *val, const char *what,
		      char **dst)
{
	const char *s = rr_pctx_str(c, val, what);
	char q[RR_QUOTE_MAX];

	if (!s)
		return 0;
	if (!path_ok(s)) {
		rr_pctx_err(c, val, "%s must be an absolute path, found \"%s\"",
			    what, rr_pctx_quote(s, q, sizeof(q)));
		return 0;
	}
	return set_str(dst, s);
}

/* Remember where the policy names a file, for rr_policy_check_files(). */
static int ref_add(struct rr_pctx *c, const yaml_node_t *val, const char *key,
		   const char *path, rr_policy_ref_kind kind,
		   unsigned long long max)
{
	rr_policy *p = c->p;
	struct rr_policy_ref *r;

	if (p->n_refs == c->refs_cap) {
		size_t cap = c->refs_cap ? 2 * c->refs_cap : 8;

		r = realloc(p->refs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		p->refs = r;
		c->refs_cap = cap;
	}
	r = &p->refs[p->n_refs];
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	snprintf(r->key, sizeof(r->key), "%s", key);
	r->line = (unsigned)val->start_mark.line + 1;
	r->column = (unsigned)val->start_mark.column + 1;
	r->kind = kind;
	r->max = max;
	p->n_refs++;
	return 0;
}

/* path_value, and the path remembered under `key` when it was valid. */
static int ref_value(struct rr_pctx *c, yaml_node_t *val, const char *what,
		     const char *key, rr_policy_ref_kind kind,
		     unsigned long long max, char **dst)
{
	const char *before = *dst;
	int r = path_value(c, val, what, dst);

	if (r < 0 || *dst == before)
		return r;
	return ref_add(c, val, key, *dst, kind, max);
}

/* "detections.NAME.leaf" for a detection's key. */
static const char *det_key(struct rr_pctx *c, const rr_detection_cfg *d,
			   const char *leaf, char *buf, size_t len)
{
	rr_event ev = (rr_event)(d - c->p->detections);

	snprintf(buf, len, "detections.%s.%s", rr_event_name(ev), leaf);
	return buf;
}

/* ---- names: users, groups, services -------------------------------------- */

enum name_kind { NAME_USER, NAME_GROUP, NAME_SERVICE };

static const struct {
	const char *what;
	size_t max;
} kinds[] = {
	[NAME_USER] = { "user name", RR_USER_MAX },
	[NAME_GROUP] = { "group name", RR_USER_MAX },
	[NAME_SERVICE] = { "service name", RR_SERVICE_MAX },
};

struct names_st {
	rr_names *out;
	enum name_kind kind;
	bool include;
	bool has_all;
};

static int name_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	struct names_st *st = obj;
	const char *s = rr_pctx_str(c, item, kinds[st->kind].what);
	char q[RR_QUOTE_MAX];

	if (!s)
		return 0;
	if (!strcmp(s, "all")) {
		st->has_all = true;
		if (st->include)
			st->out->all = true;
		else
			rr_pctx_err(c, item,
				    "\"all\" is only allowed in include");
		return 0;
	}
	if (!principal_ok(s, kinds[st->kind].max)) {
		rr_pctx_err(c, item, "invalid %s \"%s\" (1 to %zu bytes; no "
			    "whitespace, control characters, ':' or '/')",
			    kinds[st->kind].what,
			    rr_pctx_quote(s, q, sizeof(q)),
			    kinds[st->kind].max);
		return 0;
	}
	st->out->names[st->out->n] = strdup(s);
	if (!st->out->names[st->out->n])
		return -ENOMEM;
	st->out->n++;
	return 0;
}

static int names_parse(struct rr_pctx *c, yaml_node_t *seq, rr_names *out,
		       enum name_kind kind, bool include)
{
	struct names_st st = { .out = out, .kind = kind, .include = include };
	size_t n;
	int r;

	rr_names_clear(out);
	if (!rr_pctx_seq_len(c, seq, include ? "include" : "exclude",
			     RR_POLICY_MAX_LIST, &n))
		return 0;
	if (n) {
		out->names = calloc(n, sizeof(*out->names));
		if (!out->names)
			return -ENOMEM;
	}
	r = rr_pctx_seq_each(c, seq, name_item, &st);
	if (r == 0 && st.has_all && n > 1)
		rr_pctx_err(c, seq,
			    "\"all\" cannot be combined with other names");
	return r;
}

struct assign_st {
	rr_assign *a;
	enum name_kind kind;
};

static int assign_include(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct assign_st *st = obj;

	return names_parse(c, val, &st->a->include, st->kind, true);
}

static int assign_exclude(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct assign_st *st = obj;

	return names_parse(c, val, &st->a->exclude, st->kind, false);
}

static const struct rr_key assign_keys[] = {
	KEY("include", assign_include),
	KEY("exclude", assign_exclude),
};
static const struct rr_schema assign_schema = RR_SCHEMA(assign_keys);

static int assign_parse(struct rr_pctx *c, yaml_node_t *val, rr_assign *a,
			enum name_kind kind, const char *what)
{
	struct assign_st st = { .a = a, .kind = kind };
	unsigned seen;

	rr_assign_clear(a);
	a->given = true;
	return rr_pctx_walk(c, val, what, &assign_schema, &st, &seen);
}

/* ---- policies: conditions ------------------------------------------------ */

struct pol_st {
	rr_ca_policy *cp;
	size_t idx;
};

static int level_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	rr_level_mask *m = obj;
	int v;

	if (rr_pctx_word(c, item, "risk level", cond_level_words,
			 RR_N(cond_level_words), &v))
		*m |= 1u << v;
	return 0;
}

static int levels_parse(struct rr_pctx *c, yaml_node_t *val,
			const char *what, rr_level_mask *m)
{
	size_t n;

	*m = 0;
	if (!rr_pctx_seq_len(c, val, what, RR_POLICY_MAX_LIST, &n))
		return 0;
	return rr_pctx_seq_each(c, val, level_item, m);
}

static int cond_user_risk(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct pol_st *st = obj;

	return levels_parse(c, val, "user_risk", &st->cp->user_risk);
}

static int cond_signin_risk(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct pol_st *st = obj;

	return levels_parse(c, val, "signin_risk", &st->cp->signin_risk);
}

struct locref_st {
	rr_ca_policy *cp;
	size_t *idx;
	size_t *n;
	bool include;
	bool has_any;
};

static int find_location(const rr_policy *p, const char *name, size_t *i)
{
	for (*i = 0; *i < p->n_locations; (*i)++)
		if (p->locations[*i].name &&
		    !strcmp(p->locations[*i].name, name))
			return 0;
	return -ENOENT;
}

static int locref_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	struct locref_st *st = obj;
	const char *s = rr_pctx_str(c, item, "a location name");
	char q[RR_QUOTE_MAX];
	size_t i;

	if (!s)
		return 0;
	if (!strcmp(s, "any")) {
		st->has_any = true;
		if (st->include)
			st->cp->loc_any = true;
		else
			rr_pctx_err(c, item,
				    "\"any\" is only allowed in include");
		return 0;
	}
	if (find_location(c->p, s, &i) < 0) {
		rr_pctx_err(c, item, "unknown location \"%s\" (not defined in "
			    "named_locations)", rr_pctx_quote(s, q, sizeof(q)));
		return 0;
	}
	st->idx[(*st->n)++] = i;
	return 0;
}

static int locref_parse(struct rr_pctx *c, yaml_node_t *seq,
			struct locref_st *st, size_t **idx)
{
	size_t n;
	int r;

	if (!rr_pctx_seq_len(c, seq, st->include ? "include" : "exclude",
			     RR_POLICY_MAX_LIST, &n))
		return 0;
	if (n) {
		*idx = calloc(n, sizeof(**idx));
		if (!*idx)
			return -ENOMEM;
	}
	st->idx = *idx;
	r = rr_pctx_seq_each(c, seq, locref_item, st);
	if (r == 0 && st->has_any && n > 1)
		rr_pctx_err(c, seq, "\"any\" cannot be combined with location "
			    "names");
	return r;
}

static int loc_include(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_ca_policy *cp = ((struct pol_st *)obj)->cp;
	struct locref_st st = { .cp = cp, .n = &cp->n_loc_include,
				.include = true };

	free(cp->loc_include);
	cp->loc_include = NULL;
	cp->n_loc_include = 0;
	cp->loc_any = false;
	return locref_parse(c, val, &st, &cp->loc_include);
}

static int loc_exclude(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_ca_policy *cp = ((struct pol_st *)obj)->cp;
	struct locref_st st = { .cp = cp, .n = &cp->n_loc_exclude };

	free(cp->loc_exclude);
	cp->loc_exclude = NULL;
	cp->n_loc_exclude = 0;
	return locref_parse(c, val, &st, &cp->loc_exclude);
}

static const struct rr_key locations_keys[] = {
	KEY("include", loc_include),
	KEY("exclude", loc_exclude),
};
static const struct rr_schema locations_schema = RR_SCHEMA(locations_keys);

static int cond_locations(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct pol_st *st = obj;
	unsigned seen;

	st->cp->loc_given = true;
	return rr_pctx_walk(c, val, "locations", &locations_schema, obj,
			    &seen);
}

static const struct rr_key conditions_keys[] = {
	KEY("user_risk", cond_user_risk),
	KEY("signin_risk", cond_signin_risk),
	KEY("locations", cond_locations),
};
static const struct rr_schema conditions_schema = RR_SCHEMA(conditions_keys);

/* ---- policies: grant ----------------------------------------------------- */

struct grant_st {
	bool has_block;
	bool has_require;
	bool block;
	unsigned require;
};

static int grant_block(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct grant_st *g = obj;

	g->has_block = true;
	if (rr_pctx_bool(c, val, &g->block) && !g->block)
		rr_pctx_err(c, val, "block must be true (use require to ask "
			    "for controls instead)");
	return 0;
}

static int control_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	unsigned *req = obj;
	int v;

	if (rr_pctx_word(c, item, "control", control_words,
			 RR_N(control_words), &v))
		*req |= (unsigned)v;
	return 0;
}

static int grant_require(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct grant_st *g = obj;
	size_t n;
	int r;

	g->has_require = true;
	if (!rr_pctx_seq_len(c, val, "require", RR_POLICY_MAX_LIST, &n))
		return 0;
	if (!n) {
		rr_pctx_err(c, val, "require needs at least one control (mfa, "
			    "password_change)");
		return 0;
	}
	r = rr_pctx_seq_each(c, val, control_item, &g->require);
	if (r == 0 && (g->require & RR_REQUIRE_PASSWORD_CHANGE) &&
	    !(g->require & RR_REQUIRE_MFA))
		rr_pctx_err(c, val, "password_change requires mfa in the same "
			    "require list");
	return r;
}

static const struct rr_key grant_keys[] = {
	KEY("block", grant_block),
	KEY("require", grant_require),
};
static const struct rr_schema grant_schema = RR_SCHEMA(grant_keys);

static int pol_grant(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_ca_policy *cp = ((struct pol_st *)obj)->cp;
	struct grant_st g = { 0 };
	unsigned seen;
	int r;

	r = rr_pctx_walk(c, val, "grant", &grant_schema, &g, &seen);
	if (r < 0 || seen == ~0u)
		return r;
	if (g.has_block && g.has_require)
		rr_pctx_err(c, val, "grant takes either block or require, not "
			    "both");
	else if (!g.has_block && !g.has_require)
		rr_pctx_err(c, val, "grant needs block: true or require: "
			    "[mfa] or [mfa, password_change]");
	cp->block = g.block;
	cp->require = g.require;
	return 0;
}

/* ---- policies ------------------------------------------------------------ */

static int pol_name(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct pol_st *st = obj;
	const char *s = rr_pctx_str(c, val, "name");
	char q[RR_QUOTE_MAX];
	size_t j;

	if (!s)
		return 0;
	if (!label_ok(s, RR_NAME_MAX)) {
		rr_pctx_err(c, val, "policy name must be 1 to %d characters "
			    "without control characters", RR_NAME_MAX);
		return 0;
	}
	for (j = 0; j < st->idx; j++) {
		const rr_ca_policy *o = &c->p->policies[j];

		if (!o->name || strcmp(o->name, s))
			continue;
		rr_pctx_err(c, val, "duplicate policy name \"%s\" (first at "
			    "line %u)", rr_pctx_quote(s, q, sizeof(q)),
			    o->line);
		return 0;
	}
	return set_str(&st->cp->name, s);
}

static int pol_state(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct pol_st *st = obj;
	int v;

	if (rr_pctx_word(c, val, "state", pstate_words, RR_N(pstate_words),
			 &v))
		st->cp->state = (rr_pstate)v;
	return 0;
}

static int pol_users(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	return assign_parse(c, val, &((struct pol_st *)obj)->cp->users,
			    NAME_USER, "users");
}

static int pol_groups(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	return assign_parse(c, val, &((struct pol_st *)obj)->cp->groups,
			    NAME_GROUP, "groups");
}

static int pol_services(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	return assign_parse(c, val, &((struct pol_st *)obj)->cp->services,
			    NAME_SERVICE, "services");
}

static int pol_conditions(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	unsigned seen;

	return rr_pctx_walk(c, val, "conditions", &conditions_schema, obj,
			    &seen);
}

/* Index 0 and 6 are required (name, grant). */
static const struct rr_key policy_keys[] = {
	KEY("name", pol_name),
	KEY("state", pol_state),
	KEY("users", pol_users),
	KEY("groups", pol_groups),
	KEY("services", pol_services),
	KEY("conditions", pol_conditions),
	KEY("grant", pol_grant),
};
static const struct rr_schema policy_schema = RR_SCHEMA(policy_keys);

static int policy_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	size_t *idx = obj;
	struct pol_st st = { .cp = &c->p->policies[*idx], .idx = *idx };
	unsigned seen;
	int r;

	(*idx)++;
	st.cp->line = (unsigned)item->start_mark.line + 1;
	st.cp->state = RR_PSTATE_ENABLED;
	r = rr_pctx_walk(c, item, "policy", &policy_schema, &st, &seen);
	if (r < 0)
		return r;
	rr_pctx_require(c, item, "policy", &policy_schema, seen, 0);
	rr_pctx_require(c, item, "policy", &policy_schema, seen, 6);
	return 0;
}

static int policies_walk(struct rr_pctx *c)
{
	size_t n, idx = 0;

	if (!c->policies ||
	    !rr_pctx_seq_len(c, c->policies, "policies",
			     RR_POLICY_MAX_POLICIES, &n) || !n)
		return 0;
	c->p->policies = calloc(n, sizeof(*c->p->policies));
	if (!c->p->policies)
		return -ENOMEM;
	c->p->n_policies = n;
	return rr_pctx_seq_each(c, c->policies, policy_item, &idx);
}

/* The last step of the schema: the policies. */
int rr_policy_schema_policies(struct rr_pctx *c)
{
	return policies_walk(c);
}

/* ---- detections ---------------------------------------------------------- */

static int det_enabled(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_bool(c, val, &d->enabled);
	return 0;
}

static int det_level(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;
	int v;

	if (rr_pctx_word(c, val, "risk level", level_words,
			 RR_N(level_words), &v))
		d->level = (rr_level)v;
	return 0;
}

static int det_learning_days(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_uint(c, val, "learning_days", 0, MAX_DAYS, &d->learning_days);
	return 0;
}

static int det_learning_signins(struct rr_pctx *c, yaml_node_t *val,
				void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_uint(c, val, "learning_signins", 0, MAX_COUNT,
		     &d->learning_signins);
	return 0;
}

static int det_failures(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_uint(c, val, "failures", 1, MAX_COUNT, &d->failures);
	return 0;
}

static int det_window(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_duration(c, val, "window", 1, MAX_WINDOW, &d->window_s);
	return 0;
}

/* A list entry written as a mapping: { file: /path, url: https://... }. */
struct list_entry {
	const rr_detection_cfg *d;
	char *file;
	char *url;
};

static int list_ref(struct rr_pctx *c, yaml_node_t *val, const char *what,
		    const rr_detection_cfg *d, char **dst)
{
	char key[RR_POLICY_REF_KEY_MAX];

	return ref_value(c, val, what, det_key(c, d, "lists", key, sizeof(key)),
			 RR_REF_TRUSTED, RR_POLICY_LIST_MAX_BYTES, dst);
}

static int lentry_file(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct list_entry *e = obj;

	return list_ref(c, val, "file", e->d, &e->file);
}

static int lentry_url(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct list_entry *e = obj;
	const char *s = rr_pctx_str(c, val, "url");

	if (!s || !download_url(c, val, "url", s, false))
		return 0;
	return set_str(&e->url, s);
}

/* Index 0 (file) is required. */
static const struct rr_key list_entry_keys[] = {
	KEY("file", lentry_file),
	KEY("url", lentry_url),
};
static const struct rr_schema list_entry_schema = RR_SCHEMA(list_entry_keys);

static int list_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	rr_detection_cfg *d = obj;
	struct list_entry e = { .d = d };
	unsigned seen;
	int r;

	if (item->type != YAML_MAPPING_NODE) {
		r = list_ref(c, item, "a list file", d, &d->lists[d->n_lists]);
		if (r == 0 && d->lists[d->n_lists])
			d->n_lists++;
		return r;
	}
	r = rr_pctx_walk(c, item, "a list entry", &list_entry_schema, &e,
			 &seen);
	if (r == 0)
		rr_pctx_require(c, item, "a list entry", &list_entry_schema,
				seen, 0);
	if (r < 0 || !e.file) {
		free(e.file);
		free(e.url);
		return r;
	}
	d->lists[d->n_lists] = e.file;
	d->feeds[d->n_lists] = e.url;
	d->n_lists++;
	return 0;
}

static int det_lists(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;
	size_t n;

	while (d->n_lists) {
		d->n_lists--;
		free(d->lists[d->n_lists]);
		if (d->feeds)
			free(d->feeds[d->n_lists]);
	}
	free(d->lists);
	free(d->feeds);
	d->lists = NULL;
	d->feeds = NULL;
	if (!rr_pctx_seq_len(c, val, "lists", RR_POLICY_MAX_LIST, &n) || !n)
		return 0;
	d->lists = calloc(n, sizeof(*d->lists));
	d->feeds = calloc(n, sizeof(*d->feeds));
	if (!d->lists || !d->feeds)
		return -ENOMEM;
	return rr_pctx_seq_each(c, val, list_item, d);
}

/* ---- passwordSpray ---- */

static int det_spray_users(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_uint(c, val, "users", SPRAY_USERS_MIN, MAX_COUNT,
		     &d->spray_users);
	return 0;
}

static int det_spray_window(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_duration(c, val, "window", SPRAY_WINDOW_MIN, MAX_WINDOW,
			 &d->window_s);
	return 0;
}

/* ---- leakedCredentials ---- */

static int det_range_url(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;
	const char *s = rr_pctx_str(c, val, "range_url");

	if (!s || !download_url(c, val, "range_url", s, true))
		return 0;
	return set_str(&d->range_url, s);
}

static int det_ca_file(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;
	char key[RR_POLICY_REF_KEY_MAX];

	return ref_value(c, val, "ca_file",
			 det_key(c, d, "ca_file", key, sizeof(key)),
			 RR_REF_TRUSTED, 0, &d->ca_file);
}

static int det_hash_file(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;
	char key[RR_POLICY_REF_KEY_MAX];

	return ref_value(c, val, "hash_file",
			 det_key(c, d, "hash_file", key, sizeof(key)),
			 RR_REF_TRUSTED, 0, &d->hash_file);
}

static int det_timeout(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_duration_ms(c, val, "timeout", LEAK_TIMEOUT_MIN_MS,
			    LEAK_TIMEOUT_MAX_MS, &d->timeout_ms);
	return 0;
}

static int det_cache(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = obj;

	rr_pctx_duration(c, val, "cache", 0, LEAK_CACHE_MAX, &d->cache_s);
	return 0;
}

static const struct rr_key unfamiliar_keys[] = {
	KEY("enabled", det_enabled),
	KEY("level", det_level),
	KEY("learning_days", det_learning_days),
	KEY("learning_signins", det_learning_signins),
};
static const struct rr_schema unfamiliar_schema = RR_SCHEMA(unfamiliar_keys);

static const struct rr_key iplist_keys[] = {
	KEY("enabled", det_enabled),
	KEY("level", det_level),
	KEY("lists", det_lists),
};
static const struct rr_schema iplist_schema = RR_SCHEMA(iplist_keys);

static const struct rr_key brute_keys[] = {
	KEY("enabled", det_enabled),
	KEY("level", det_level),
	KEY("failures", det_failures),
	KEY("window", det_window),
};
static const struct rr_schema brute_schema = RR_SCHEMA(brute_keys);

static const struct rr_key spray_keys[] = {
	KEY("enabled", det_enabled),
	KEY("level", det_level),
	KEY("users", det_spray_users),
	KEY("window", det_spray_window),
};
static const struct rr_schema spray_schema = RR_SCHEMA(spray_keys);

/* Indexes in leaked_keys, for det_leaked's checks. */
enum { LEAKED_RANGE_URL = 2, LEAKED_CA_FILE = 3, LEAKED_HASH_FILE = 4 };

static const struct rr_key leaked_keys[] = {
	KEY("enabled", det_enabled),
	KEY("level", det_level),
	KEY("range_url", det_range_url),
	KEY("ca_file", det_ca_file),
	KEY("hash_file", det_hash_file),
	KEY("timeout", det_timeout),
	KEY("cache", det_cache),
};
static const struct rr_schema leaked_schema = RR_SCHEMA(leaked_keys);

/* A detection's map being present turns it on unless it says enabled: false.
 * *seen: the keys present (rr_pctx_walk). */
static int det_walk_seen(struct rr_pctx *c, yaml_node_t *val, rr_event ev,
			 const struct rr_schema *s, unsigned *seen)
{
	rr_detection_cfg *d = &c->p->detections[ev];

	d->enabled = true;
	return rr_pctx_walk(c, val, rr_event_name(ev), s, d, seen);
}

static int det_walk(struct rr_pctx *c, yaml_node_t *val, rr_event ev,
		    const struct rr_schema *s)
{
	unsigned seen;

	return det_walk_seen(c, val, ev, s, &seen);
}

static int det_unfamiliar(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	return det_walk(c, val, RR_EVENT_UNFAMILIAR_FEATURES,
			&unfamiliar_schema);
}

static int det_anonymized(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	return det_walk(c, val, RR_EVENT_ANONYMIZED_IP, &iplist_schema);
}

static int det_malicious(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	return det_walk(c, val, RR_EVENT_MALICIOUS_IP, &iplist_schema);
}

static int det_brute(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	return det_walk(c, val, RR_EVENT_BRUTE_FORCE, &brute_schema);
}

static int det_spray(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	return det_walk(c, val, RR_EVENT_PASSWORD_SPRAY, &spray_schema);
}

/* Enabled, it needs somewhere to look: range_url or hash_file.  Keys given
 * with a bad value were reported already and count as present. */
static int det_leaked(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_detection_cfg *d = &c->p->detections[RR_EVENT_LEAKED_CREDENTIALS];
	yaml_node_t *key = c->key;
	unsigned seen;
	int r;

	(void)obj;
	r = det_walk_seen(c, val, RR_EVENT_LEAKED_CREDENTIALS, &leaked_schema,
			  &seen);
	if (r < 0 || seen == ~0u)
		return r;
	if (d->enabled && !(seen & (1u << LEAKED_RANGE_URL)) &&
	    !(seen & (1u << LEAKED_HASH_FILE)))
		rr_pctx_err(c, key ? key : val, "leakedCredentials needs "
			    "range_url or hash_file (or enabled: false)");
	if ((seen & (1u << LEAKED_CA_FILE)) &&
	    !(seen & (1u << LEAKED_RANGE_URL)))
		rr_pctx_err(c, val, "ca_file is only used with range_url");
	return 0;
}

static const struct rr_key detections_keys[] = {
	KEY("unfamiliarFeatures", det_unfamiliar),
	KEY("anonymizedIPAddress", det_anonymized),
	KEY("maliciousIPAddress", det_malicious),
	KEY("passwordSpray", det_spray),
	KEY("bruteForce", det_brute),
	KEY("leakedCredentials", det_leaked),
};
static const struct rr_schema detections_schema = RR_SCHEMA(detections_keys);

/* ---- named_locations ----------------------------------------------------- */

static int cidr_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	rr_location *l = obj;
	const char *s = rr_pctx_str(c, item, "an address range");
	char q[RR_QUOTE_MAX];

	if (!s)
		return 0;
	if (rr_cidr_parse(s, &l->cidrs[l->n]) < 0) {
		rr_pctx_err(c, item, "invalid address range \"%s\" (expected "
			    "an address or CIDR such as 10.0.0.0/8 or "
			    "2001:db8::/32, host bits zero)",
			    rr_pctx_quote(s, q, sizeof(q)));
		return 0;
	}
	l->n++;
	return 0;
}

static int location_pair(struct rr_pctx *c, yaml_node_t *key,
			 yaml_node_t *val, void *obj)
{
	const char *name = (const char *)key->data.scalar.value;
	rr_location *l = &c->p->locations[c->p->n_locations++];
	char q[RR_QUOTE_MAX];
	size_t n;

	(void)obj;
	if (!strcmp(name, "any") || !strcmp(name, "all"))
		rr_pctx_err(c, key, "location name \"%s\" is reserved", name);
	else if (!location_name_ok(name))
		rr_pctx_err(c, key, "invalid location name \"%s\" (1 to %d of "
			    "A-Z a-z 0-9 _ . -)", rr_pctx_quote(name, q,
			    sizeof(q)), LOCATION_NAME_MAX);
	if (set_str(&l->name, name) < 0)
		return -ENOMEM;
	if (!rr_pctx_seq_len(c, val, "a named location", RR_POLICY_MAX_LIST,
			     &n))
		return 0;
	if (!n) {
		rr_pctx_err(c, val, "named location \"%s\" needs at least one "
			    "address range", rr_pctx_quote(name, q, sizeof(q)));
		return 0;
	}
	l->cidrs = calloc(n, sizeof(*l->cidrs));
	if (!l->cidrs)
		return -ENOMEM;
	return rr_pctx_seq_each(c, val, cidr_item, l);
}

static int top_named_locations(struct rr_pctx *c, yaml_node_t *val,
			       void *obj)
{
	size_t n;

	(void)obj;
	if (!rr_pctx_expect(c, val, YAML_MAPPING_NODE, "named_locations"))
		return 0;
	n = (size_t)(val->data.mapping.pairs.top -
		     val->data.mapping.pairs.start);
	if (!n || n > RR_POLICY_MAX_LIST)
		return rr_pctx_for_each_pair(c, val, location_pair, NULL);
	c->p->locations = calloc(n, sizeof(*c->p->locations));
	if (!c->p->locations)
		return -ENOMEM;
	return rr_pctx_for_each_pair(c, val, location_pair, NULL);
}

/* ---- store: etcd and offline (DESIGN §7.1) ------------------------------ */

#define ETCD_URL_MAX 256
#define ETCD_PREFIX_MIN 2
#define ETCD_PREFIX_MAX 128
#define ETCD_NAME_MAX 64 /* host and user */
#define STALENESS_MAX 86400
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
		   "0123456789._-"

static const struct rr_word offline_mfa_words[] = {
	{ "deny", RR_OFFLINE_MFA_DENY },
	{ "local", RR_OFFLINE_MFA_LOCAL },
};

/* The nodes of the keys given under etcd, for the checks across them. */
struct etcd_st {
	rr_policy_etcd *e;
	yaml_node_t *ca, *cert, *key, *user, *password_file;
	yaml_node_t *http[RR_ETCD_MAX_ENDPOINTS]; /* http:// endpoints */
	size_t n_http;
	bool endpoints_ok; /* given, and every endpoint valid */
	bool any_https;
	bool any_remote;   /* an endpoint that is not loopback */
};

/* 1..max of `chars`. */
static bool charset_ok(const char *s, size_t max, const char *chars)
{
	size_t len = strlen(s);

	return len && len <= max && strspn(s, chars) == len;
}

/* Printable ASCII without spaces. */
static bool ascii_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s > '~')
			return false;
	return true;
}

static bool loopback_addr(const rr_addr *a)
{
	static const uint8_t v6[16] = { [15] = 1 };

	if (a->family == 4)
		return a->bytes[0] == 127;
	return !memcmp(a->bytes, v6, sizeof(v6));
}

/* "[IPv6]", an IPv4 address or a DNS name of A-Z a-z 0-9 . -.  *loopback:
 * 127.0.0.0/8, ::1 or localhost (which curl never asks DNS for). */
static bool endpoint_host(const char *h, size_t len, bool *loopback)
{
	char buf[ETCD_URL_MAX + 1];
	rr_addr a;

	if (!len || len >= sizeof(buf))
		return false;
	if (h[0] == '[') {
		if (len < 3 || h[len - 1] != ']')
			return false;
		memcpy(buf, h + 1, len - 2);
		buf[len - 2] = '\0';
		if (!strchr(buf, ':') || rr_addr_parse(buf, &a) < 0)
			return false;
		*loopback = loopback_addr(&a);
		return true;
	}
	memcpy(buf, h, len);
	buf[len] = '\0';
	if (strspn(buf, NAME_CHARS) != len || strchr(buf, '_'))
		return false;
	*loopback = !strcmp(buf, "localhost") ||
		    (rr_addr_parse(buf, &a) == 0 && loopback_addr(&a));
	return true;
}

/* http[s]://host:port[/]: NULL, or why not. */
static const char *endpoint_parse(const char *s, bool *https, bool *loopback)
{
	const char *rest, *end, *port;

	if (strlen(s) > ETCD_URL_MAX || !ascii_ok(s))
		return "at most 256 printable ASCII characters without spaces";
	*https = !strncmp(s, "https://", 8);
	if (*https)
		rest = s + 8;
	else if (!strncmp(s, "http://", 7))
		rest = s + 7;
	else
		return "expected an http:// or https:// URL";
	end = rest + strcspn(rest, "/?#");
	if (memchr(rest, '@', (size_t)(end - rest)))
		return "no user information: use user and password_file";
	if (*end && strcmp(end, "/"))
		return "no path, query or fragment";
	port = rest[0] == '[' ? memchr(rest, ']', (size_t)(end - rest)) :
				rest;
	if (!port)
		return "invalid host";
	port = memchr(port, ':', (size_t)(end - port));
	if (!port)
		return "a port is required, such as :2379";
	if (port == end - 1 || !port_ok(port, (size_t)(end - port)))
		return "invalid port";
	if (!endpoint_host(rest, (size_t)(port - rest), loopback))
		return "invalid host";
	return NULL;
}

static bool endpoint_dup(const rr_policy_etcd *e, const char *s)
{
	size_t i;

	for (i = 0; i < e->n_endpoints; i++)
		if (!strcmp(e->endpoints[i], s))
			return true;
	return false;
}

static int endpoint_item(struct rr_pctx *c, yaml_node_t *item, void *obj)
{
	struct etcd_st *st = obj;
	const char *s = rr_pctx_str(c, item, "an etcd endpoint"), *why;
	bool https = false, loopback = false;
	char q[RR_QUOTE_MAX];

	why = s ? endpoint_parse(s, &https, &loopback) : "";
	if (!s || why) {
		if (s)
			rr_pctx_err(c, item, "invalid etcd endpoint \"%s\" "
				    "(%s)", rr_pctx_quote(s, q, sizeof(q)),
				    why);
		st->endpoints_ok = false;
		return 0;
	}
	if (endpoint_dup(st->e, s)) {
		rr_pctx_err(c, item, "duplicate etcd endpoint \"%s\"",
			    rr_pctx_quote(s, q, sizeof(q)));
		return 0;
	}
	st->any_https |= https;
	st->any_remote |= !loopback;
	if (!https)
		st->http[st->n_http++] = item;
	st->e->endpoints[st->e->n_endpoints] = strdup(s);
	if (!st->e->endpoints[st->e->n_endpoints])
		return -ENOMEM;
	st->e->n_endpoints++;
	return 0;
}

static int etcd_endpoints(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;
	size_t n;

	if (!rr_pctx_seq_len(c, val, "endpoints", RR_ETCD_MAX_ENDPOINTS, &n))
		return 0;
	if (!n) {
		rr_pctx_err(c, val, "endpoints needs at least one URL");
		return 0;
	}
	st->e->endpoints = calloc(n, sizeof(*st->e->endpoints));
	if (!st->e->endpoints)
		return -ENOMEM;
	st->endpoints_ok = true;
	return rr_pctx_seq_each(c, val, endpoint_item, st);
}

static bool prefix_ok(const char *s)
{
	size_t len = strlen(s);

	return len >= ETCD_PREFIX_MIN && len <= ETCD_PREFIX_MAX &&
	       s[0] == '/' && s[len - 1] == '/' && !strstr(s, "//") &&
	       ascii_ok(s);
}

static int etcd_prefix(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;
	const char *s = rr_pctx_str(c, val, "prefix");
	char q[RR_QUOTE_MAX];

	if (!s)
		return 0;
	if (!prefix_ok(s)) {
		rr_pctx_err(c, val, "invalid prefix \"%s\" (%d to %d printable "
			    "ASCII characters without spaces, starting and "
			    "ending with '/', no \"//\")",
			    rr_pctx_quote(s, q, sizeof(q)), ETCD_PREFIX_MIN,
			    ETCD_PREFIX_MAX);
		return 0;
	}
	return set_str(&st->e->prefix, s);
}

/* host and user: 1..64 of A-Z a-z 0-9 . _ - */
static int etcd_name(struct rr_pctx *c, yaml_node_t *val, const char *what,
		     char **dst)
{
	const char *s = rr_pctx_str(c, val, what);
	char q[RR_QUOTE_MAX];

	if (!s)
		return 0;
	if (!charset_ok(s, ETCD_NAME_MAX, NAME_CHARS)) {
		rr_pctx_err(c, val, "invalid %s \"%s\" (1 to %d of A-Z a-z 0-9 "
			    ". _ -)", what, rr_pctx_quote(s, q, sizeof(q)),
			    ETCD_NAME_MAX);
		return 0;
	}
	return set_str(dst, s);
}

static int etcd_host(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	return etcd_name(c, val, "host", &st->e->host);
}

static int etcd_user(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	st->user = val;
	return etcd_name(c, val, "user", &st->e->user);
}

static int etcd_ca(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	st->ca = val;
	return ref_value(c, val, "ca", "store.etcd.ca", RR_REF_TRUSTED,
			 0, &st->e->ca);
}

static int etcd_cert(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	st->cert = val;
	return ref_value(c, val, "cert", "store.etcd.cert", RR_REF_TRUSTED,
			 0, &st->e->cert);
}

static int etcd_key(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	st->key = val;
	return ref_value(c, val, "key", "store.etcd.key", RR_REF_TRUSTED,
			 0, &st->e->key);
}

static int etcd_password_file(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st *st = obj;

	st->password_file = val;
	return ref_value(c, val, "password_file", "store.etcd.password_file", RR_REF_TRUSTED,
			 0, &st->e->password_file);
}

/* Index 0 (endpoints) is required. */
static const struct rr_key etcd_keys[] = {
	KEY("endpoints", etcd_endpoints),
	KEY("prefix", etcd_prefix),
	KEY("host", etcd_host),
	KEY("ca", etcd_ca),
	KEY("cert", etcd_cert),
	KEY("key", etcd_key),
	KEY("user", etcd_user),
	KEY("password_file", etcd_password_file),
};
static const struct rr_schema etcd_schema = RR_SCHEMA(etcd_keys);

/* Two keys that go together: an error at the one given alone. */
static void etcd_pair(struct rr_pctx *c, const yaml_node_t *a,
		      const char *an, const yaml_node_t *b, const char *bn)
{
	if (a && !b)
		rr_pctx_err(c, a, "%s needs %s", an, bn);
	else if (b && !a)
		rr_pctx_err(c, b, "%s needs %s", bn, an);
}

/* Plain http:// only when every endpoint is loopback; https:// needs the
 * fleet's CA (a private CA: the system's store is never used); TLS files
 * without https:// would be silently unused.  What the valid endpoints
 * show is reported even when others are invalid; the last rule needs them
 * all. */
static void etcd_transport(struct rr_pctx *c, const yaml_node_t *map,
			   const struct etcd_st *st)
{
	const yaml_node_t *tls[] = { st->ca, st->cert, st->key };
	static const char *const tls_names[] = { "ca", "cert", "key" };
	char q[RR_QUOTE_MAX];
	size_t i;

	for (i = 0; st->any_remote && i < st->n_http; i++)
		rr_pctx_err(c, st->http[i], "etcd endpoint \"%s\" must use "
			    "https:// (http:// only when every endpoint is "
			    "loopback: 127.0.0.0/8, [::1] or localhost)",
			    rr_pctx_quote((const char *)
					  st->http[i]->data.scalar.value, q,
					  sizeof(q)));
	if (st->any_https && !st->ca)
		rr_pctx_err(c, map, "ca is required with https:// endpoints "
			    "(the fleet's CA certificate; the system's CA "
			    "store is not used)");
	for (i = 0; st->endpoints_ok && !st->any_https && i < RR_N(tls); i++)
		if (tls[i])
			rr_pctx_err(c, tls[i], "%s is only used with https:// "
				    "endpoints", tls_names[i]);
}

static int store_etcd(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct etcd_st st = { .e = &((rr_policy *)obj)->etcd };
	unsigned seen;
	int r;

	r = rr_pctx_walk(c, val, "etcd", &etcd_schema, &st, &seen);
	if (r < 0 || seen == ~0u)
		return r;
	rr_pctx_require(c, val, "etcd", &etcd_schema, seen, 0);
	etcd_transport(c, val, &st);
	etcd_pair(c, st.cert, "cert", st.key, "key");
	etcd_pair(c, st.user, "user", st.password_file, "password_file");
	return 0;
}

static int offline_max_staleness(struct rr_pctx *c, yaml_node_t *val,
				 void *obj)
{
	rr_offline_cfg *o = obj;

	rr_pctx_duration(c, val, "max_staleness", 1, STALENESS_MAX,
			 &o->max_staleness_s);
	return 0;
}

static int offline_mfa(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_offline_cfg *o = obj;
	int v;

	if (rr_pctx_word(c, val, "mfa", offline_mfa_words,
			 RR_N(offline_mfa_words), &v))
		o->mfa = (rr_offline_mfa)v;
	return 0;
}

static const struct rr_key offline_keys[] = {
	KEY("max_staleness", offline_max_staleness),
	KEY("mfa", offline_mfa),
};
static const struct rr_schema offline_schema = RR_SCHEMA(offline_keys);

static int store_offline(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	unsigned seen;

	return rr_pctx_walk(c, val, "offline", &offline_schema,
			    &((rr_policy *)obj)->offline, &seen);
}

void rr_policy_etcd_clear(rr_policy_etcd *e)
{
	size_t i;

	for (i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->endpoints);
	free(e->prefix);
	free(e->host);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->user);
	free(e->password_file);
	memset(e, 0, sizeof(*e));
}

/* ---- store --------------------------------------------------------------- */

struct store_st {
	rr_policy *p;
	bool backend_bad;
	yaml_node_t *etcd;    /* the keys, when given */
	yaml_node_t *offline;
};

static int store_backend(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct store_st *st = obj;
	int v;

	if (!rr_pctx_word(c, val, "backend", backend_words,
			  RR_N(backend_words), &v)) {
		st->backend_bad = true;
		return 0;
	}
	st->p->backend = (rr_backend)v;
	c->backend = val;
	return 0;
}

static int store_path(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct store_st *st = obj;

	return ref_value(c, val, "path", "store.path", RR_REF_STORE, 0,
			 &st->p->store_path);
}

static int store_etcd_key(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct store_st *st = obj;

	st->etcd = c->key;
	return store_etcd(c, val, st->p);
}

static int store_offline_key(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct store_st *st = obj;

	st->offline = c->key;
	return store_offline(c, val, st->p);
}

/* store.endpoints (never released as working) is store.etcd.endpoints. */
static int store_endpoints_moved(struct rr_pctx *c, yaml_node_t *val,
				 void *obj)
{
	(void)val;
	(void)obj;
	rr_pctx_err(c, c->key, "endpoints moved to store.etcd.endpoints");
	return 0;
}

static const struct rr_key store_keys[] = {
	KEY("backend", store_backend),
	KEY("path", store_path),
	KEY("etcd", store_etcd_key),
	KEY("offline", store_offline_key),
	MOVED_KEY("endpoints", store_endpoints_moved),
};
static const struct rr_schema store_schema = RR_SCHEMA(store_keys);

static int top_store(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	struct store_st st = { .p = obj };
	unsigned seen;
	int r;

	r = rr_pctx_walk(c, val, "store", &store_schema, &st, &seen);
	if (r < 0 || st.backend_bad)
		return r;
	if (st.p->backend == RR_BACKEND_ETCD) {
		if (!st.etcd && c->backend)
			rr_pctx_err(c, c->backend, "backend etcd needs "
				    "store.etcd with its endpoints");
		return 0;
	}
	if (st.etcd)
		rr_pctx_err(c, st.etcd, "etcd is only used with backend: "
			    "etcd");
	if (st.offline)
		rr_pctx_err(c, st.offline, "offline is only used with "
			    "backend: etcd");
	return 0;
}

/* ---- mfa_registration, retention ----------------------------------------- */

static int mfa_state(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_registration *m = obj;
	int v;

	if (rr_pctx_word(c, val, "state", pstate_words, RR_N(pstate_words),
			 &v))
		m->state = (rr_pstate)v;
	return 0;
}

static int mfa_grace_days(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_registration *m = obj;

	rr_pctx_uint(c, val, "grace_days", 0, MAX_DAYS, &m->grace_days);
	return 0;
}

static int mfa_users(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_registration *m = obj;

	return assign_parse(c, val, &m->users, NAME_USER, "users");
}

static int mfa_groups(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_registration *m = obj;

	return assign_parse(c, val, &m->groups, NAME_GROUP, "groups");
}

static const struct rr_key mfa_keys[] = {
	KEY("state", mfa_state),
	KEY("grace_days", mfa_grace_days),
	KEY("users", mfa_users),
	KEY("groups", mfa_groups),
};
static const struct rr_schema mfa_schema = RR_SCHEMA(mfa_keys);

static int ret_signin_days(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;

	rr_pctx_uint(c, val, "signin_days", 1, MAX_RETENTION_DAYS,
		     &p->signin_retention_days);
	return 0;
}

static int ret_detection_days(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;

	rr_pctx_uint(c, val, "detection_days", 1, MAX_RETENTION_DAYS,
		     &p->detection_retention_days);
	return 0;
}

static int ret_low_risk_days(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;

	rr_pctx_uint(c, val, "low_risk_days", 1, MAX_RETENTION_DAYS,
		     &p->low_risk_expiry_days);
	return 0;
}

static const struct rr_key retention_keys[] = {
	KEY("signin_days", ret_signin_days),
	KEY("detection_days", ret_detection_days),
	KEY("low_risk_days", ret_low_risk_days),
};
static const struct rr_schema retention_schema = RR_SCHEMA(retention_keys);

/* ---- mfa ----------------------------------------------------------------- */

static int mfa_algorithm(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;
	int v;

	if (rr_pctx_word(c, val, "algorithm", totp_alg_words,
			 RR_N(totp_alg_words), &v))
		m->totp_alg = (unsigned)v;
	return 0;
}

static int mfa_digits(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;
	unsigned v;

	if (!rr_pctx_uint(c, val, "digits", 0, 1000000, &v))
		return 0;
	if (v != 6 && v != 8)
		rr_pctx_err(c, val, "digits must be 6 or 8");
	else
		m->digits = v;
	return 0;
}

static int mfa_period(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;

	rr_pctx_uint(c, val, "period", TOTP_PERIOD_MIN, TOTP_PERIOD_MAX,
		     &m->period);
	return 0;
}

static int mfa_window(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;

	rr_pctx_uint(c, val, "window", 0, TOTP_WINDOW_MAX, &m->window);
	return 0;
}

static int mfa_max_failures(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;

	rr_pctx_uint(c, val, "max_failures", 1, MFA_FAILURES_MAX,
		     &m->max_failures);
	return 0;
}

static int mfa_failure_window(struct rr_pctx *c, yaml_node_t *val,
			      void *obj)
{
	rr_mfa_cfg *m = obj;

	rr_pctx_duration(c, val, "failure_window", MFA_FAIL_WINDOW_MIN,
			 MFA_FAIL_WINDOW_MAX, &m->failure_window_s);
	return 0;
}

static int mfa_tap_lifetime(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;

	rr_pctx_duration(c, val, "tap_lifetime", TAP_TTL_MIN, TAP_TTL_MAX,
			 &m->tap_ttl_s);
	return 0;
}

static int mfa_key_file(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_mfa_cfg *m = obj;

	return ref_value(c, val, "key_file", "mfa.key_file", RR_REF_KEY, 0,
			 &m->key_file);
}

static const struct rr_key mfa_cfg_keys[] = {
	KEY("algorithm", mfa_algorithm),
	KEY("digits", mfa_digits),
	KEY("period", mfa_period),
	KEY("window", mfa_window),
	KEY("max_failures", mfa_max_failures),
	KEY("failure_window", mfa_failure_window),
	KEY("tap_lifetime", mfa_tap_lifetime),
	KEY("key_file", mfa_key_file),
};
static const struct rr_schema mfa_cfg_schema = RR_SCHEMA(mfa_cfg_keys);

/* ---- aggregation --------------------------------------------------------- */

static int agg_enabled(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_aggregation *a = obj;

	rr_pctx_bool(c, val, &a->enabled);
	return 0;
}

static int agg_signins(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_aggregation *a = obj;

	rr_pctx_uint(c, val, "signins", 1, AGG_SIGNINS_MAX, &a->signins);
	return 0;
}

static int agg_min_level(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_aggregation *a = obj;
	int v;

	if (rr_pctx_word(c, val, "min_level", level_words,
			 RR_N(level_words), &v))
		a->min_level = (rr_level)v;
	return 0;
}

static int agg_window(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_aggregation *a = obj;

	rr_pctx_duration(c, val, "window", AGG_WINDOW_MIN, AGG_WINDOW_MAX,
			 &a->window_s);
	c->agg_window = val;
	return 0;
}

static const struct rr_key aggregation_keys[] = {
	KEY("enabled", agg_enabled),
	KEY("signins", agg_signins),
	KEY("min_level", agg_min_level),
	KEY("window", agg_window),
};
static const struct rr_schema aggregation_schema =
	RR_SCHEMA(aggregation_keys);

/* ---- top level ----------------------------------------------------------- */

static int top_version(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;
	unsigned v;

	if (!rr_pctx_uint(c, val, "version", 0, 1000000, &v))
		return 0;
	if (v != 1)
		rr_pctx_err(c, val, "unsupported version %u (expected 1)", v);
	else
		p->version = 1;
	return 0;
}

static int top_issuer(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;
	const char *s = rr_pctx_str(c, val, "issuer");

	if (!s)
		return 0;
	if (!label_ok(s, ISSUER_MAX) || strchr(s, ':')) {
		rr_pctx_err(c, val, "issuer must be 1 to %d printable "
			    "characters without ':'", ISSUER_MAX);
		return 0;
	}
	return set_str(&p->issuer, s);
}

static int top_on_error(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;
	int v;

	if (rr_pctx_word(c, val, "on_error", on_error_words,
			 RR_N(on_error_words), &v))
		p->on_error_allow = v == 1;
	return 0;
}

static int top_mfa_registration(struct rr_pctx *c, yaml_node_t *val,
				void *obj)
{
	rr_policy *p = obj;
	unsigned seen;

	return rr_pctx_walk(c, val, "mfa_registration", &mfa_schema,
			    &p->mfa_registration, &seen);
}

static int top_mfa(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;
	unsigned seen;

	return rr_pctx_walk(c, val, "mfa", &mfa_cfg_schema, &p->mfa, &seen);
}

static int top_detections(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	unsigned seen;

	return rr_pctx_walk(c, val, "detections", &detections_schema, obj,
			    &seen);
}

static int top_aggregation(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	rr_policy *p = obj;
	unsigned seen;

	return rr_pctx_walk(c, val, "aggregation", &aggregation_schema,
			    &p->aggregation, &seen);
}

static int top_retention(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	unsigned seen;

	return rr_pctx_walk(c, val, "retention", &retention_schema, obj,
			    &seen);
}

/* Deferred: conditions refer to named_locations, which may come later. */
static int top_policies(struct rr_pctx *c, yaml_node_t *val, void *obj)
{
	(void)obj;
	c->policies = val;
	return 0;
}

/* Index 0 (version) is required. */
static const struct rr_key root_keys[] = {
	KEY("version", top_version),
	KEY("issuer", top_issuer),
	KEY("store", top_store),
	KEY("on_error", top_on_error),
	KEY("named_locations", top_named_locations),
	KEY("mfa_registration", top_mfa_registration),
	KEY("mfa", top_mfa),
	KEY("detections", top_detections),
	KEY("aggregation", top_aggregation),
	KEY("retention", top_retention),
	KEY("policies", top_policies),
};
static const struct rr_schema root_schema = RR_SCHEMA(root_keys);

/* Aggregation counts risky sign-ins in the store: a window longer than
 * their retention would silently count fewer than the policy says.  The
 * default window is shortened to the retention; a window written in the
 * file is an error. */
static void check_aggregation_retention(struct rr_pctx *c)
{
	rr_policy *p = c->p;
	uint64_t kept = (uint64_t)p->signin_retention_days * 86400;

	if ((uint64_t)p->aggregation.window_s <= kept)
		return;
	if (!c->agg_window) {
		p->aggregation.window_s = (unsigned)kept;
		return;
	}
	if (!p->aggregation.enabled)
		return;
	rr_pctx_err(c, c->agg_window,
		    "aggregation window (%us) is longer than "
		    "retention.signin_days (%u days): older risky sign-ins are "
		    "pruned and cannot count; shorten the window or keep "
		    "sign-ins longer", p->aggregation.window_s,
		    p->signin_retention_days);
}

int rr_policy_schema_root(struct rr_pctx *c, yaml_node_t *root)
{
	unsigned seen;
	int r;

	r = rr_pctx_walk(c, root, "policy file", &root_schema, c->p, &seen);
	if (r < 0)
		return r;
	rr_pctx_require(c, root, "policy file", &root_schema, seen, 0);
	check_aggregation_retention(c);
	return 0;
}
