/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy loader tests: the valid and invalid corpora under
 * tests/data/policy, field values, limits, and loading from files with the
 * owner/mode/symlink/size rules.
 *
 * Each invalid file starts with comment lines "# expect: LINE:COL: TEXT";
 * the loader must report exactly those errors (TEXT is a substring).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rr_policy.h"
#include "rr_policy_int.h" /* the schema walk (test_fleet_valid) */
#include "rr_secfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXPECT 32
#define LVL(l) (1u << (l))

/* ---- helpers ------------------------------------------------------------- */

static char *src_path(const char *rel)
{
	const char *root = getenv("RR_SOURCE_ROOT");
	char *p = NULL;

	assert_non_null(root);
	assert_true(asprintf(&p, "%s/%s", root, rel) > 0);
	return p;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f) {
		fail_msg("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int parse(const char *text, rr_policy **p, rr_policy_errors *e)
{
	return rr_policy_parse("test.yaml", text, strlen(text), p, e);
}

static void print_errors(const rr_policy_errors *e)
{
	char line[512];
	size_t i;

	for (i = 0; i < e->n; i++) {
		rr_policy_error_format(e, i, line, sizeof(line));
		print_message("  got %s\n", line);
	}
}

static rr_policy *parse_ok(const char *text)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	int r = parse(text, &p, &e);

	if (r != 0)
		print_errors(&e);
	assert_int_equal(r, 0);
	assert_non_null(p);
	assert_int_equal(e.n, 0);
	rr_policy_errors_clear(&e);
	return p;
}

/* Parse text that must fail with exactly one error containing `msg`. */
static void parse_one_error(const char *text, const char *msg)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	int r = parse(text, &p, &e);

	if (e.n != 1 || !strstr(e.items[0].message, msg)) {
		print_message("input:\n%s\nwanted: %s\n", text, msg);
		print_errors(&e);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(p);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.items[0].message, msg));
	rr_policy_errors_clear(&e);
}

static bool names_has(const rr_names *n, const char *s)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		if (!strcmp(n->names[i], s))
			return true;
	return false;
}

/* Calls fn for every *.yaml in a corpus directory; returns the count. */
static size_t for_each_yaml(const char *rel, void (*fn)(const char *path))
{
	char *dir = src_path(rel), *path;
	struct dirent **ents;
	size_t count = 0;
	int i, n;

	n = scandir(dir, &ents, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		size_t len = strlen(ents[i]->d_name);

		if (len > 5 && !strcmp(ents[i]->d_name + len - 5, ".yaml")) {
			assert_true(asprintf(&path, "%s/%s", dir,
					     ents[i]->d_name) > 0);
			fn(path);
			free(path);
			count++;
		}
		free(ents[i]);
	}
	free(ents);
	free(dir);
	return count;
}

/* ---- corpora ------------------------------------------------------------- */

static void check_valid_file(const char *path)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	size_t len;
	char *buf = read_all(path, &len);
	int r = rr_policy_parse(path, buf, len, &p, &e);

	if (r != 0) {
		print_message("%s should parse:\n", path);
		print_errors(&e);
	}
	assert_int_equal(r, 0);
	assert_non_null(p);
	assert_int_equal(p->version, 1);
	rr_policy_free(p);
	rr_policy_errors_clear(&e);
	free(buf);
}

static void test_valid_corpus(void **state)
{
	(void)state;
	assert_true(for_each_yaml("tests/data/policy/valid",
				  check_valid_file) >= 6);
}

struct expect {
	unsigned line;
	unsigned column;
	char text[256];
	bool matched;
};

static size_t parse_expects(const char *buf, struct expect *ex)
{
	const char *s = buf;
	size_t n = 0;
	int off;

	while ((s = strstr(s, "# expect: "))) {
		assert_true(n < MAX_EXPECT);
		s += strlen("# expect: ");
		assert_int_equal(sscanf(s, "%u:%u: %n", &ex[n].line,
					&ex[n].column, &off), 2);
		s += off;
		off = (int)strcspn(s, "\n");
		assert_true(off > 0 && off < (int)sizeof(ex[n].text));
		memcpy(ex[n].text, s, (size_t)off);
		ex[n].text[off] = '\0';
		ex[n].matched = false;
		n++;
	}
	return n;
}

static bool match_error(const rr_policy_error *it, struct expect *ex,
			size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ex[i].matched || ex[i].line != it->line ||
		    ex[i].column != it->column ||
		    !strstr(it->message, ex[i].text))
			continue;
		ex[i].matched = true;
		return true;
	}
	return false;
}

static void check_invalid_file(const char *path)
{
	struct expect ex[MAX_EXPECT];
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	size_t i, n, len;
	char *buf = read_all(path, &len);
	int r = rr_policy_parse(path, buf, len, &p, &e);

	n = parse_expects(buf, ex);
	if (n == 0)
		fail_msg("%s: no \"# expect:\" header", path);
	if (r != -EINVAL || e.n != n) {
		print_message("%s: r=%d, %zu errors, %zu expected\n", path, r,
			      e.n, n);
		print_errors(&e);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(p);
	assert_int_equal(e.n, n);
	for (i = 0; i < e.n; i++) {
		if (!match_error(&e.items[i], ex, n)) {
			print_errors(&e);
			fail_msg("%s: unexpected error %u:%u: %s", path,
				 e.items[i].line, e.items[i].column,
				 e.items[i].message);
		}
	}
	rr_policy_errors_clear(&e);
	free(buf);
}

static void test_invalid_corpus(void **state)
{
	(void)state;
	assert_true(for_each_yaml("tests/data/policy/invalid",
				  check_invalid_file) >= 20);
}

/* ---- field values -------------------------------------------------------- */

static rr_policy *parse_source_file(const char *rel)
{
	char *path = src_path(rel), *buf;
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	size_t len;
	int r;

	buf = read_all(path, &len);
	r = rr_policy_parse(path, buf, len, &p, &e);
	if (r)
		print_errors(&e);
	assert_int_equal(r, 0);
	rr_policy_errors_clear(&e);
	free(buf);
	free(path);
	return p;
}

static void check_full_top(const rr_policy *p)
{
	assert_string_equal(p->issuer, "Example Corp");
	assert_int_equal(p->backend, RR_BACKEND_SQLITE);
	assert_string_equal(p->store_path, "/var/lib/riskremediate/risk.db");
	assert_false(p->on_error_allow);
	assert_int_equal(p->n_locations, 2);
	assert_string_equal(p->locations[0].name, "office");
	assert_int_equal(p->locations[0].n, 2);
	assert_int_equal(p->locations[0].cidrs[0].base.family, 4);
	assert_int_equal(p->locations[0].cidrs[0].prefix, 8);
	assert_int_equal(p->locations[0].cidrs[1].base.family, 6);
	assert_int_equal(p->locations[0].cidrs[1].prefix, 32);
	assert_string_equal(p->locations[1].name, "vpn");
	assert_int_equal(p->locations[1].cidrs[1].prefix, 32);
	assert_int_equal(p->signin_retention_days, 30);
	assert_int_equal(p->detection_retention_days, 90);
	assert_int_equal(p->low_risk_expiry_days, 180);
}

static void check_full_mfa(const rr_mfa_registration *m)
{
	assert_int_equal(m->state, RR_PSTATE_ENABLED);
	assert_int_equal(m->grace_days, 14);
	assert_true(m->users.given);
	assert_true(m->users.include.all);
	assert_int_equal(m->users.include.n, 0);
	assert_int_equal(m->users.exclude.n, 1);
	assert_string_equal(m->users.exclude.names[0], "root");
	assert_true(m->groups.given);
	assert_int_equal(m->groups.include.n, 0);
	assert_false(m->groups.include.all);
	assert_true(names_has(&m->groups.exclude, "breakglass"));
}

static void check_full_detections(const rr_detection_cfg *d)
{
	const rr_detection_cfg *uf = &d[RR_EVENT_UNFAMILIAR_FEATURES];
	const rr_detection_cfg *an = &d[RR_EVENT_ANONYMIZED_IP];
	const rr_detection_cfg *mal = &d[RR_EVENT_MALICIOUS_IP];
	const rr_detection_cfg *bf = &d[RR_EVENT_BRUTE_FORCE];

	assert_true(uf->enabled);
	assert_int_equal(uf->level, RR_LEVEL_MEDIUM);
	assert_int_equal(uf->learning_days, 5);
	assert_int_equal(uf->learning_signins, 10);
	assert_true(an->enabled);
	assert_int_equal(an->n_lists, 1);
	assert_string_equal(an->lists[0],
			    "/etc/riskremediate/anonymizers.list");
	assert_false(mal->enabled);
	assert_int_equal(mal->level, RR_LEVEL_HIGH);
	assert_true(bf->enabled);
	assert_int_equal(bf->failures, 10);
	assert_int_equal(bf->window_s, 600);
}

static void check_full_policy0(const rr_ca_policy *c)
{
	assert_string_equal(c->name, "Sign-in risk requires MFA");
	assert_int_equal(c->state, RR_PSTATE_ENABLED);
	assert_int_equal(c->line, 23);
	assert_true(c->users.given && c->users.include.all);
	assert_string_equal(c->users.exclude.names[0], "breakglass");
	assert_true(c->groups.given);
	assert_int_equal(c->groups.include.n + c->groups.exclude.n, 0);
	assert_true(c->services.given && c->services.include.all);
	assert_int_equal(c->user_risk, LVL(RR_LEVEL_HIGH));
	assert_int_equal(c->signin_risk,
			 LVL(RR_LEVEL_MEDIUM) | LVL(RR_LEVEL_HIGH));
	assert_true(c->loc_given && c->loc_any);
	assert_int_equal(c->n_loc_include, 0);
	assert_int_equal(c->n_loc_exclude, 2);
	assert_int_equal(c->loc_exclude[0], 0);
	assert_int_equal(c->loc_exclude[1], 1);
	assert_false(c->block);
	assert_int_equal(c->require, RR_REQUIRE_MFA);
}

static void check_full_policy12(const rr_ca_policy *c)
{
	assert_int_equal(c[0].state, RR_PSTATE_REPORT_ONLY);
	assert_false(c[0].users.given || c[0].groups.given);
	assert_int_equal(c[0].services.include.n, 2);
	assert_string_equal(c[0].services.include.names[1], "login");
	assert_int_equal(c[0].user_risk, LVL(RR_LEVEL_HIGH));
	assert_int_equal(c[0].signin_risk, 0);
	assert_false(c[0].loc_given);
	assert_int_equal(c[0].require,
			 RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE);
	assert_int_equal(c[1].state, RR_PSTATE_DISABLED);
	assert_string_equal(c[1].groups.include.names[0], "contractors");
	assert_true(c[1].loc_given);
	assert_false(c[1].loc_any);
	assert_int_equal(c[1].n_loc_include, 1);
	assert_int_equal(c[1].loc_include[0], 1);
	assert_true(c[1].block);
	assert_int_equal(c[1].require, 0);
}

static void check_mfa_defaults(const rr_mfa_cfg *m)
{
	assert_int_equal(m->totp_alg, 0); /* SHA1 */
	assert_int_equal(m->digits, 6);
	assert_int_equal(m->period, 30);
	assert_int_equal(m->window, 1);
	assert_int_equal(m->max_failures, 5);
	assert_int_equal(m->failure_window_s, 900);
	assert_int_equal(m->tap_ttl_s, 3600);
	assert_string_equal(m->key_file, "/etc/security/riskremediate.key");
}

static void test_full_fields(void **state)
{
	rr_policy *p = parse_source_file("tests/data/policy/valid/full.yaml");

	(void)state;
	check_full_top(p);
	check_full_mfa(&p->mfa_registration);
	check_full_detections(p->detections);
	assert_int_equal(p->n_policies, 3);
	check_full_policy0(&p->policies[0]);
	check_full_policy12(&p->policies[1]);
	assert_int_equal(p->mfa.totp_alg, 1); /* SHA256 */
	assert_int_equal(p->mfa.digits, 8);
	assert_int_equal(p->mfa.period, 60);
	assert_int_equal(p->mfa.window, 2);
	assert_int_equal(p->mfa.max_failures, 3);
	assert_int_equal(p->mfa.failure_window_s, 1800);
	assert_int_equal(p->mfa.tap_ttl_s, 7200);
	assert_string_equal(p->mfa.key_file, "/etc/riskremediate/mfa.key");
	rr_policy_free(p);
}

/* The bounds, in flow style; and the defaults written out change nothing. */
static void test_mfa_fields(void **state)
{
	rr_policy *p = parse_source_file("tests/data/policy/valid/mfa.yaml");

	(void)state;
	assert_int_equal(p->mfa.totp_alg, 2); /* SHA512 */
	assert_int_equal(p->mfa.digits, 6);
	assert_int_equal(p->mfa.period, 15);
	assert_int_equal(p->mfa.window, 0);
	assert_int_equal(p->mfa.max_failures, 100);
	assert_int_equal(p->mfa.failure_window_s, 86400);
	assert_int_equal(p->mfa.tap_ttl_s, 30 * 86400);
	rr_policy_free(p);
	p = parse_source_file("tests/data/policy/valid/mfa-defaults.yaml");
	check_mfa_defaults(&p->mfa);
	rr_policy_free(p);
}

/* Each mfa key just inside and just outside its bounds. */
static void test_mfa_bounds(void **state)
{
	static const struct {
		const char *kv;
		const char *err; /* NULL: valid */
	} rows[] = {
		{ "algorithm: SHA1", NULL },
		{ "algorithm: SHA384", "invalid algorithm \"SHA384\"" },
		{ "algorithm: [SHA1]", "expected a string for algorithm" },
		{ "digits: 8", NULL },
		{ "digits: 5", "digits must be 6 or 8" },
		{ "digits: 10", "digits must be 6 or 8" },
		{ "digits: six", "expected a whole number for digits" },
		{ "period: 15", NULL },
		{ "period: 300", NULL },
		{ "period: 14", "period must be between 15 and 300" },
		{ "period: 301", "period must be between 15 and 300" },
		{ "period: 030", "expected a whole number for period" },
		{ "window: 0", NULL },
		{ "window: 10", NULL },
		{ "window: -1", "expected a whole number for window" },
		{ "max_failures: 1", NULL },
		{ "max_failures: 101", "max_failures must be between 1 and" },
		{ "failure_window: 1m", NULL },
		{ "failure_window: 86400", NULL },
		{ "failure_window: 59s", "failure_window must be between 60s" },
		{ "failure_window: 86401", "failure_window must be between" },
		{ "failure_window: 15", "failure_window must be between 60s" },
		{ "tap_lifetime: 5m", NULL },
		{ "tap_lifetime: 30d", NULL },
		{ "tap_lifetime: 299", "tap_lifetime must be between 300s" },
		{ "tap_lifetime: 31d", "tap_lifetime must be between" },
		{ "tap_lifetime: 1w", "invalid duration \"1w\" for tap_" },
		{ "key_file: /k", NULL },
		{ "key_file: ''", "key_file must be an absolute path" },
		{ "key_file: k/../x", "key_file must be an absolute path" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *doc = NULL;

		assert_true(asprintf(&doc, "version: 1\nmfa: { %s }\n",
				     rows[i].kv) > 0);
		if (rows[i].err)
			parse_one_error(doc, rows[i].err);
		else
			rr_policy_free(parse_ok(doc));
		free(doc);
	}
}

static void test_quoting_fields(void **state)
{
	rr_policy *p =
		parse_source_file("tests/data/policy/valid/quoting.yaml");
	const rr_ca_policy *c = &p->policies[0];

	(void)state;
	assert_string_equal(p->issuer, "Ex\xc3\xa4mple Corp");
	assert_string_equal(p->locations[0].name, "lab-1.v6");
	assert_int_equal(p->locations[0].cidrs[1].prefix, 128);
	assert_int_equal(c->users.include.n, 3);
	assert_string_equal(c->users.include.names[2], "svc_backup$");
	assert_int_equal(c->signin_risk,
			 LVL(RR_LEVEL_NONE) | LVL(RR_LEVEL_LOW));
	assert_int_equal(c->n_loc_include, 1);
	rr_policy_free(p);
}

/* Locations may be defined after the policies that use them. */
static void test_locations_after_policies(void **state)
{
	rr_policy *p = parse_ok("version: 1\n"
				"policies:\n"
				"  - name: a\n"
				"    conditions: { locations: "
				"{ include: [b], exclude: [a] } }\n"
				"    grant: { block: true }\n"
				"named_locations:\n"
				"  { a: ['::1'], b: [10.0.0.0/8] }\n");

	(void)state;
	assert_int_equal(p->policies[0].loc_include[0], 1);
	assert_int_equal(p->policies[0].loc_exclude[0], 0);
	rr_policy_free(p);
}

/* passwordSpray on like bruteForce; leakedCredentials off until it has a
 * source; aggregation on. */
static void check_risk_defaults(const rr_policy *p)
{
	const rr_detection_cfg *ps = &p->detections[RR_EVENT_PASSWORD_SPRAY];
	const rr_detection_cfg *lc =
		&p->detections[RR_EVENT_LEAKED_CREDENTIALS];
	size_t i;

	assert_true(ps->enabled);
	assert_int_equal(ps->level, RR_LEVEL_MEDIUM);
	assert_int_equal(ps->spray_users, 10);
	assert_int_equal(ps->window_s, 3600);
	assert_false(lc->enabled);
	assert_int_equal(lc->level, RR_LEVEL_HIGH);
	assert_null(lc->range_url);
	assert_null(lc->ca_file);
	assert_null(lc->hash_file);
	assert_int_equal(lc->timeout_ms, 3000);
	assert_int_equal(lc->cache_s, 86400);
	for (i = 0; i < RR_EVENT__COUNT; i++) {
		assert_null(p->detections[i].lists);
		assert_null(p->detections[i].feeds);
	}
	assert_true(p->aggregation.enabled);
	assert_int_equal(p->aggregation.signins, 3);
	assert_int_equal(p->aggregation.min_level, RR_LEVEL_MEDIUM);
	assert_int_equal(p->aggregation.window_s, 7 * 86400);
}

/* The default aggregation window (7 days) never reaches past the sign-ins
 * kept; a window written in the file is checked instead (invalid corpus:
 * aggregation-beyond-retention.yaml). */
static void test_aggregation_window_within_retention(void **state)
{
	rr_policy *p;

	(void)state;
	p = parse_ok("version: 1\nretention: { signin_days: 3 }\n");
	assert_int_equal(p->signin_retention_days, 3);
	assert_int_equal(p->aggregation.window_s, 3 * 86400);
	rr_policy_free(p);
	p = parse_ok("version: 1\nretention: { signin_days: 30 }\n");
	assert_int_equal(p->aggregation.window_s, 7 * 86400);
	rr_policy_free(p);
	p = parse_ok("version: 1\nretention: { signin_days: 3 }\n"
		     "aggregation: { window: 3d }\n");
	assert_int_equal(p->aggregation.window_s, 3 * 86400);
	rr_policy_free(p);
	/* disabled: the window does not matter */
	p = parse_ok("version: 1\nretention: { signin_days: 3 }\n"
		     "aggregation: { enabled: false, window: 30d }\n");
	assert_false(p->aggregation.enabled);
	rr_policy_free(p);
}

static void test_defaults(void **state)
{
	rr_policy *p = parse_ok("version: 1\n");
	rr_policy d;
	size_t i;

	(void)state;
	rr_policy_init_defaults(&d);
	assert_string_equal(p->issuer, d.issuer);
	assert_string_equal(p->store_path, d.store_path);
	assert_int_equal(p->on_error_allow, d.on_error_allow);
	assert_int_equal(p->mfa_registration.state, d.mfa_registration.state);
	assert_int_equal(p->mfa_registration.grace_days, 14);
	assert_int_equal(p->low_risk_expiry_days, d.low_risk_expiry_days);
	for (i = 0; i < RR_EVENT__COUNT; i++) {
		assert_int_equal(p->detections[i].enabled,
				 d.detections[i].enabled);
		assert_int_equal(p->detections[i].level, d.detections[i].level);
		assert_int_equal(p->detections[i].window_s,
				 d.detections[i].window_s);
	}
	assert_int_equal(p->n_policies, 0);
	assert_null(p->policies);
	check_mfa_defaults(&p->mfa);
	check_mfa_defaults(&d.mfa);
	check_risk_defaults(p);
	check_risk_defaults(&d);
	free(d.issuer);
	free(d.store_path);
	free(d.mfa.key_file);
	rr_policy_free(p);
}

/* A detection's map turns it on unless it says enabled: false. */
static void test_detection_enabled(void **state)
{
	rr_policy *p = parse_ok("version: 1\n"
				"detections:\n"
				"  maliciousIPAddress: { enabled: false }\n"
				"  bruteForce: { level: low }\n");

	(void)state;
	assert_false(p->detections[RR_EVENT_MALICIOUS_IP].enabled);
	assert_true(p->detections[RR_EVENT_BRUTE_FORCE].enabled);
	assert_int_equal(p->detections[RR_EVENT_BRUTE_FORCE].level,
			 RR_LEVEL_LOW);
	rr_policy_free(p);
	p = parse_ok("version: 1\n"
		     "detections:\n"
		     "  bruteForce: { enabled: false, window: 1h }\n"
		     "  anonymizedIPAddress: { level: low }\n");
	assert_false(p->detections[RR_EVENT_BRUTE_FORCE].enabled);
	assert_int_equal(p->detections[RR_EVENT_BRUTE_FORCE].window_s, 3600);
	assert_true(p->detections[RR_EVENT_ANONYMIZED_IP].enabled);
	rr_policy_free(p);
}

static void check_risk_lists(const rr_detection_cfg *d)
{
	const rr_detection_cfg *an = &d[RR_EVENT_ANONYMIZED_IP];
	const rr_detection_cfg *mal = &d[RR_EVENT_MALICIOUS_IP];

	assert_true(an->enabled);
	assert_int_equal(an->level, RR_LEVEL_LOW);
	assert_int_equal(an->n_lists, 3);
	assert_non_null(an->feeds);
	assert_string_equal(an->lists[0],
			    "/etc/riskremediate/anonymizers.list");
	assert_null(an->feeds[0]);
	assert_string_equal(an->lists[1], "/etc/riskremediate/tor-exits.list");
	assert_string_equal(an->feeds[1],
			    "https://check.torproject.org/torbulkexitlist");
	assert_string_equal(an->lists[2],
			    "/var/lib/riskremediate/proxies.list");
	assert_null(an->feeds[2]);
	assert_true(mal->enabled);
	assert_int_equal(mal->level, RR_LEVEL_HIGH);
	assert_int_equal(mal->n_lists, 2);
	assert_string_equal(mal->lists[0], "/etc/riskremediate/malicious.list");
	assert_string_equal(mal->feeds[0], "http://127.0.0.1:8080/bad.txt");
	assert_string_equal(mal->lists[1], "/etc/riskremediate/local.list");
	assert_string_equal(mal->feeds[1], "http://[::1]/x?y=1");
}

/* Every key of issue 5: passwordSpray, leakedCredentials, list feeds and
 * aggregation. */
static void test_risk_detection_fields(void **state)
{
	rr_policy *p = parse_source_file(
		"tests/data/policy/valid/risk-detections.yaml");
	const rr_detection_cfg *ps = &p->detections[RR_EVENT_PASSWORD_SPRAY];
	const rr_detection_cfg *lc =
		&p->detections[RR_EVENT_LEAKED_CREDENTIALS];

	(void)state;
	check_risk_lists(p->detections);
	assert_true(ps->enabled);
	assert_int_equal(ps->level, RR_LEVEL_HIGH);
	assert_int_equal(ps->spray_users, 25);
	assert_int_equal(ps->window_s, 1800);
	assert_true(lc->enabled);
	assert_int_equal(lc->level, RR_LEVEL_MEDIUM);
	assert_string_equal(lc->range_url,
			    "https://api.pwnedpasswords.com/range/");
	assert_string_equal(lc->ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_string_equal(lc->hash_file,
			    "/var/lib/riskremediate/pwned-sha1.txt");
	assert_int_equal(lc->timeout_ms, 250);
	assert_int_equal(lc->cache_s, 12 * 3600);
	assert_true(p->aggregation.enabled);
	assert_int_equal(p->aggregation.signins, 5);
	assert_int_equal(p->aggregation.min_level, RR_LEVEL_HIGH);
	assert_int_equal(p->aggregation.window_s, 30 * 86400);
	/* bruteForce and the others keep their defaults */
	assert_true(p->detections[RR_EVENT_BRUTE_FORCE].enabled);
	assert_int_equal(p->detections[RR_EVENT_BRUTE_FORCE].window_s, 600);
	rr_policy_free(p);

	p = parse_source_file("tests/data/policy/valid/leaked-local.yaml");
	lc = &p->detections[RR_EVENT_LEAKED_CREDENTIALS];
	ps = &p->detections[RR_EVENT_PASSWORD_SPRAY];
	assert_true(lc->enabled);
	assert_int_equal(lc->level, RR_LEVEL_HIGH);
	assert_null(lc->range_url);
	assert_null(lc->ca_file);
	assert_string_equal(lc->hash_file, "/var/lib/riskremediate/pwned.txt");
	assert_int_equal(lc->timeout_ms, 3000);
	assert_int_equal(lc->cache_s, 86400);
	assert_true(ps->enabled);
	assert_int_equal(ps->level, RR_LEVEL_MEDIUM);
	assert_int_equal(ps->spray_users, 2);
	assert_int_equal(ps->window_s, 7 * 86400);
	assert_false(p->aggregation.enabled);
	assert_int_equal(p->aggregation.signins, 3);
	assert_int_equal(p->aggregation.min_level, RR_LEVEL_MEDIUM);
	assert_int_equal(p->aggregation.window_s, 7 * 86400);
	rr_policy_free(p);
}

/* A disabled leakedCredentials needs no source; a later lists: replaces
 * an earlier one's feeds too (no leak, checked under valgrind). */
static void test_risk_detection_enabled(void **state)
{
	rr_policy *p = parse_ok("version: 1\n"
				"detections:\n"
				"  leakedCredentials: { enabled: false }\n"
				"  passwordSpray: { enabled: false }\n"
				"aggregation: { signins: 1 }\n");

	(void)state;
	assert_false(p->detections[RR_EVENT_LEAKED_CREDENTIALS].enabled);
	assert_false(p->detections[RR_EVENT_PASSWORD_SPRAY].enabled);
	assert_int_equal(p->detections[RR_EVENT_PASSWORD_SPRAY].spray_users,
			 10);
	assert_true(p->aggregation.enabled);
	assert_int_equal(p->aggregation.signins, 1);
	rr_policy_free(p);
	p = parse_ok("version: 1\n"
		     "detections:\n"
		     "  leakedCredentials:\n"
		     "    range_url: https://localhost:8443/range/\n"
		     "    cache: 0\n"
		     "    timeout: 30\n"
		     "  maliciousIPAddress: { lists: [] }\n");
	assert_true(p->detections[RR_EVENT_LEAKED_CREDENTIALS].enabled);
	assert_int_equal(p->detections[RR_EVENT_LEAKED_CREDENTIALS].cache_s,
			 0);
	assert_int_equal(
		p->detections[RR_EVENT_LEAKED_CREDENTIALS].timeout_ms, 30000);
	assert_int_equal(p->detections[RR_EVENT_MALICIOUS_IP].n_lists, 0);
	assert_null(p->detections[RR_EVENT_MALICIOUS_IP].feeds);
	rr_policy_free(p);
}

/* range_url and feed url: https://, or http:// to the loopback only. */
static void test_download_urls(void **state)
{
	static const struct {
		const char *url;
		const char *err; /* NULL: valid */
	} range[] = {
		{ "https://api.pwnedpasswords.com/range/", NULL },
		{ "https://h/", NULL },
		{ "https://h:443/r/", NULL },
		{ "https://[2001:db8::1]:8443/range/", NULL },
		{ "http://127.0.0.1/range/", NULL },
		{ "http://localhost:8080/range/", NULL },
		{ "http://[::1]:1/range/", NULL },
		{ "http://127.0.0.2/range/", "must use https://" },
		{ "http://localhost.example.com/r/", "must use https://" },
		{ "http://[::2]/r/", "must use https://" },
		{ "http://10.0.0.1/range/", "must use https://" },
		{ "https://h/range", "must end with '/'" },
		{ "https://h", "must end with '/'" },
		{ "https://h/r/?x=/", "must end with '/'" },
		{ "https://h/r#/", "must end with '/'" },
		{ "ftp://h/r/", "invalid range_url" },
		{ "https:///r/", "invalid range_url" },
		{ "https://u:p@h/r/", "invalid range_url" },
		{ "https://h:0/r/", "invalid range_url" },
		{ "https://h:65536/r/", "invalid range_url" },
		{ "https://h:x/r/", "invalid range_url" },
		{ "https://[/r/", "invalid range_url" },
		{ "https://[]/r/", "invalid range_url" },
		{ "'https://h/a b/'", "invalid range_url" },
		{ "HTTPS://h/r/", "invalid range_url" },
		{ "https://h\xc3\xa4/r/", "invalid range_url" },
		{ "''", "invalid range_url" },
		{ "[https://h/]", "expected a string for range_url" },
	};
	static const struct {
		const char *url;
		const char *err;
	} feed[] = {
		{ "https://h/list.txt?fmt=plain", NULL },
		{ "https://h", NULL },
		{ "http://127.0.0.1:8000/tor", NULL },
		{ "http://192.0.2.1/tor", "must use https://" },
		{ "https://u@h/tor", "invalid url" },
		{ "/etc/r/tor.list", "invalid url" },
	};
	char *doc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(range) / sizeof(range[0]); i++) {
		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  leakedCredentials:\n"
				     "    hash_file: /h\n"
				     "    range_url: %s\n", range[i].url) > 0);
		if (range[i].err)
			parse_one_error(doc, range[i].err);
		else
			rr_policy_free(parse_ok(doc));
		free(doc);
	}
	/* at most 512 bytes */
	for (i = 512; i <= 513; i++) {
		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  leakedCredentials:\n"
				     "    range_url: https://h/%0*d/\n",
				     (int)i - 11, 0) > 0);
		if (i == 512)
			rr_policy_free(parse_ok(doc));
		else
			parse_one_error(doc, "invalid range_url");
		free(doc);
	}
	for (i = 0; i < sizeof(feed) / sizeof(feed[0]); i++) {
		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  maliciousIPAddress:\n"
				     "    lists:\n"
				     "      - file: /l\n"
				     "        url: %s\n", feed[i].url) > 0);
		if (feed[i].err)
			parse_one_error(doc, feed[i].err);
		else
			rr_policy_free(parse_ok(doc));
		free(doc);
	}
}

/* ---- scalars ------------------------------------------------------------- */

static char *window_doc(const char *w)
{
	char *s = NULL;

	assert_true(asprintf(&s, "version: 1\ndetections:\n"
			     "  bruteForce: { window: %s }\n", w) > 0);
	return s;
}

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		unsigned s;
	} ok[] = {
		{ "1", 1 },	  { "30", 30 },	    { "30s", 30 },
		{ "10m", 600 },	  { "2h", 7200 },   { "7d", 604800 },
		{ "604800", 604800 },
	};
	static const char *const bad[] = {
		"0", "0s", "8d", "604801", "10x", "m", "-5", "1.5m", "\"10m\"",
		"10 m", "010", "99999999999999999999", "1e3", "''",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *doc = window_doc(ok[i].in);
		rr_policy *p = parse_ok(doc);

		assert_int_equal(p->detections[RR_EVENT_BRUTE_FORCE].window_s,
				 ok[i].s);
		rr_policy_free(p);
		free(doc);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *doc = window_doc(bad[i]);

		parse_one_error(doc, "window");
		free(doc);
	}
}

/* timeout takes milliseconds too; a plain number is still seconds. */
static void test_durations_ms(void **state)
{
	static const struct {
		const char *in;
		unsigned ms;
	} ok[] = {
		{ "100ms", 100 }, { "2500ms", 2500 }, { "1", 1000 },
		{ "3s", 3000 },   { "30", 30000 },    { "30000ms", 30000 },
	};
	static const char *const bad[] = {
		"99ms", "30001ms", "31", "1m", "0", "ms", "100 ms", "0100ms",
		"1.5s", "100MS", "100us", "\"100ms\"", "-100ms", "1h",
	};
	char *doc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		rr_policy *p;

		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  leakedCredentials: { hash_file: /h, "
				     "timeout: %s }\n", ok[i].in) > 0);
		p = parse_ok(doc);
		assert_int_equal(
			p->detections[RR_EVENT_LEAKED_CREDENTIALS].timeout_ms,
			ok[i].ms);
		rr_policy_free(p);
		free(doc);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  leakedCredentials: { hash_file: /h, "
				     "timeout: %s }\n", bad[i]) > 0);
		parse_one_error(doc, "timeout");
		free(doc);
	}
	/* ms is only for millisecond keys */
	doc = window_doc("600000ms");
	parse_one_error(doc, "invalid duration \"600000ms\" for window");
	free(doc);
}

static void test_booleans(void **state)
{
	static const char *const bad[] = {
		"yes", "no", "on", "off", "True", "FALSE", "\"true\"", "1",
		"0", "y", "~", "[true]",
	};
	char *doc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&doc, "version: 1\ndetections:\n"
				     "  bruteForce: { enabled: %s }\n",
				     bad[i]) > 0);
		parse_one_error(doc, "expected true or false");
		free(doc);
	}
}

static void test_numbers(void **state)
{
	static const char *const bad[] = {
		"-1", "+1", "0x10", "1_000", "010", "1.0", "\"14\"", "366",
		"[14]", "4294967310",
	};
	char *doc;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(asprintf(&doc, "version: 1\nmfa_registration: "
				     "{ grace_days: %s }\n", bad[i]) > 0);
		parse_one_error(doc, "grace_days");
		free(doc);
	}
}

/* ---- limits -------------------------------------------------------------- */

static char *repeat_doc(const char *head, const char *item, size_t n,
			const char *tail)
{
	size_t len = strlen(head) + strlen(item) * n + strlen(tail) + 1;
	char *s = malloc(len), *o = s;
	size_t i;

	assert_non_null(s);
	o = stpcpy(o, head);
	for (i = 0; i < n; i++)
		o = stpcpy(o, item);
	stpcpy(o, tail);
	return s;
}

static void test_list_limit(void **state)
{
	char *doc;
	rr_policy *p;

	(void)state;
	doc = repeat_doc("version: 1\nmfa_registration:\n  users:\n"
			 "    exclude:\n", "      - bob\n",
			 RR_POLICY_MAX_LIST, "");
	p = parse_ok(doc);
	assert_int_equal(p->mfa_registration.users.exclude.n,
			 RR_POLICY_MAX_LIST);
	rr_policy_free(p);
	free(doc);
	doc = repeat_doc("version: 1\nmfa_registration:\n  users:\n"
			 "    exclude:\n", "      - bob\n",
			 RR_POLICY_MAX_LIST + 1, "");
	parse_one_error(doc, "too many entries in exclude (max 4096)");
	free(doc);
}

static void test_policies_limit(void **state)
{
	static const char item[] = "  - { name: p, grant: { block: true } }\n";
	char *doc;

	(void)state;
	/* the length is checked before any item */
	doc = repeat_doc("version: 1\npolicies:\n", item,
			 RR_POLICY_MAX_POLICIES + 1, "");
	parse_one_error(doc, "too many entries in policies (max 256)");
	free(doc);
}

static void test_scalar_limits(void **state)
{
	char *doc, *big = malloc(5000);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	assert_true(asprintf(&doc, "version: 1\nissuer: %s\n", big) > 0);
	parse_one_error(doc, "value too long for issuer (max 4096 bytes)");
	free(doc);
	big[65] = '\0';
	assert_true(asprintf(&doc, "version: 1\npolicies:\n  - name: a\n"
			     "    services: { include: [%s] }\n"
			     "    grant: { block: true }\n", big) > 0);
	parse_one_error(doc, "invalid service name");
	free(doc);
	memset(big, 'a', 4999);
	big[129] = '\0';
	assert_true(asprintf(&doc, "version: 1\npolicies:\n  - name: %s\n"
			     "    grant: { block: true }\n", big) > 0);
	parse_one_error(doc, "policy name must be 1 to 128 characters");
	free(doc);
	parse_one_error("version: 1\nissuer: \"a\\0b\"\n", "NUL byte");
	free(big);
}

static void test_too_many_errors(void **state)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	char *doc;
	int r;

	(void)state;
	doc = repeat_doc("version: 1\nnamed_locations:\n", "  a: [x]\n", 150,
			 "");
	r = parse(doc, &p, &e);
	assert_int_equal(r, -EINVAL);
	assert_int_equal(e.n, RR_POLICY_MAX_ERRORS);
	assert_true(e.truncated);
	rr_policy_errors_clear(&e);
	free(doc);
}

/* Nested aliases: refused without expanding them. */
static void test_billion_laughs(void **state)
{
	static const char doc[] =
		"version: 1\n"
		"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
		"h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
		"policies:\n"
		"  - name: x\n"
		"    users: { include: *h }\n"
		"    grant: { block: true }\n";
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;

	(void)state;
	assert_int_equal(parse(doc, &p, &e), -EINVAL);
	assert_null(p);
	assert_true(e.n > 0);
	assert_string_equal(e.items[e.n - 1].message,
			    "aliases are not allowed");
	rr_policy_errors_clear(&e);
}

static void test_size_limit(void **state)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	char *big = calloc(1, RR_POLICY_MAX_BYTES + 2);

	(void)state;
	assert_non_null(big);
	memset(big, '#', RR_POLICY_MAX_BYTES + 1);
	assert_int_equal(rr_policy_parse("big", big, RR_POLICY_MAX_BYTES + 1,
					 &p, &e),
			 -EFBIG);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.items[0].line, 0);
	rr_policy_errors_clear(&e);
	free(big);
}

/* ---- API edges ----------------------------------------------------------- */

static void test_api_edges(void **state)
{
	rr_policy_errors e = { 0 };
	rr_policy sentinel, *p = &sentinel;
	char buf[8];

	(void)state;
	rr_policy_free(NULL);
	rr_policy_errors_clear(NULL);
	rr_policy_errors_clear(&e);
	assert_int_equal(rr_policy_parse("x", NULL, 0, &p, &e), -EINVAL);
	assert_int_equal(rr_policy_parse("x", "version: 1", 10, NULL, &e),
			 -EINVAL);
	/* output untouched on failure; errs may be NULL */
	assert_int_equal(parse("version: 2\n", &p, NULL), -EINVAL);
	assert_ptr_equal(p, &sentinel);
	rr_policy_error_format(NULL, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* errs is reset by each call */
	assert_int_equal(parse("version: 2\n", &p, &e), -EINVAL);
	assert_int_equal(parse("version: 3\nx: 1\n", &p, &e), -EINVAL);
	assert_int_equal(e.n, 2);
	/* success leaves errs empty, nothing to free */
	assert_int_equal(parse("version: 1\n", &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_null(e.items);
	assert_null(e.file);
	rr_policy_free(p);
}

static void test_error_format(void **state)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	char buf[256];

	(void)state;
	assert_int_equal(rr_policy_parse("/etc/p.yaml", "version: 1\nx: 1\n",
					 16, &p, &e),
			 -EINVAL);
	rr_policy_error_format(&e, 0, buf, sizeof(buf));
	assert_string_equal(buf, "/etc/p.yaml:2:1: unknown key \"x\" in "
				 "policy file (expected one of: version, "
				 "issuer, store, on_error, named_locations, "
				 "mfa_registration, mfa, detections, "
				 "aggregation, retention, policies)");
	rr_policy_error_format(&e, 0, buf, 12);
	assert_string_equal(buf, "/etc/p.yaml");
	rr_policy_error_format(&e, 1, buf, sizeof(buf));
	assert_string_equal(buf, "");
	e.items[0].line = 0;
	rr_policy_error_format(&e, 0, buf, sizeof(buf));
	assert_string_equal(buf, "/etc/p.yaml: unknown key \"x\" in policy "
				 "file (expected one of: version, issuer, "
				 "store, on_error, named_locations, "
				 "mfa_registration, mfa, detections, "
				 "aggregation, retention, policies)");
	rr_policy_errors_clear(&e);
}

/* ---- a fleet: store.etcd and store.offline ------------------------------- */

#define HTTP_ONLY_LOOPBACK "must use https:// (http:// only when every " \
			   "endpoint is loopback: 127.0.0.0/8, [::1] or " \
			   "localhost)"
#define NEED_CA "ca is required with https:// endpoints (the fleet's CA " \
		"certificate; the system's CA store is not used)"

/* The contract's example (DESIGN §7.1). */
static const char fleet_policy[] =
	"version: 1\n"
	"store:\n"
	"  backend: etcd\n"
	"  path: /var/lib/riskremediate/risk.db\n"
	"  etcd:\n"
	"    endpoints: [https://etcd1.example.org:2379, "
	"https://etcd2.example.org:2379]\n"
	"    prefix: /riskremediate/\n"
	"    host: web01\n"
	"    ca: /etc/riskremediate/etcd/ca.pem\n"
	"    cert: /etc/riskremediate/etcd/host.pem\n"
	"    key: /etc/riskremediate/etcd/host.key\n"
	"    user: riskremediate\n"
	"    password_file: /etc/riskremediate/etcd/password\n"
	"  offline:\n"
	"    max_staleness: 30s\n"
	"    mfa: deny\n";

struct want {
	unsigned line;
	unsigned column;
	const char *message; /* exact */
};

/* Parse `text`: it must fail with exactly `w` (sorted), nothing else. */
static void parse_exact_errors(const char *text, const struct want *w,
			       size_t n)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	bool same = true;
	size_t i;
	int r = parse(text, &p, &e);

	for (i = 0; same && i < n && i < e.n; i++)
		same = e.items[i].line == w[i].line &&
		       e.items[i].column == w[i].column &&
		       !strcmp(e.items[i].message, w[i].message);
	if (!same || e.n != n) {
		print_message("input:\n%s\nwanted %zu errors, first %u:%u: "
			      "%s\n", text, n, w[0].line, w[0].column,
			      w[0].message);
		print_errors(&e);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(p);
	assert_int_equal(e.n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(e.items[i].line, w[i].line);
		assert_int_equal(e.items[i].column, w[i].column);
		assert_string_equal(e.items[i].message, w[i].message);
	}
	rr_policy_errors_clear(&e);
}

#define ETCD_HEAD "version: 1\nstore:\n  backend: etcd\n  etcd:\n"
#define EP1 "    endpoints: [https://e1:2379]\n"
#define CA "    ca: /ca.pem\n"

static void test_fleet_invalid(void **state)
{
	static const struct {
		const char *text;
		struct want w[3];
		size_t n;
	} cases[] = {
		/* missing ca with https://: at the etcd mapping */
		{ ETCD_HEAD EP1, { { 5, 5, NEED_CA } }, 1 },
		{ ETCD_HEAD "    endpoints: [http://127.0.0.1:2379, "
		  "https://127.0.0.1:2380]\n", { { 5, 5, NEED_CA } }, 1 },
		/* http:// to a host that is not loopback */
		{ ETCD_HEAD "    endpoints: [http://10.0.0.1:2379]\n",
		  { { 5, 17, "etcd endpoint \"http://10.0.0.1:2379\" "
		      HTTP_ONLY_LOOPBACK } }, 1 },
		/* ... and to the loopback when another endpoint is not */
		{ ETCD_HEAD "    endpoints:\n"
		  "      - https://e1:2379\n"
		  "      - http://127.0.0.1:2379\n" CA,
		  { { 7, 9, "etcd endpoint \"http://127.0.0.1:2379\" "
		      HTTP_ONLY_LOOPBACK } }, 1 },
		{ ETCD_HEAD "    endpoints: [http://localhost:2379, "
		  "http://e2:2379]\n",
		  { { 5, 17, "etcd endpoint \"http://localhost:2379\" "
		      HTTP_ONLY_LOOPBACK },
		    { 5, 40, "etcd endpoint \"http://e2:2379\" "
		      HTTP_ONLY_LOOPBACK } }, 2 },
		/* bad prefix */
		{ ETCD_HEAD EP1 CA "    prefix: /riskremediate\n",
		  { { 7, 13, "invalid prefix \"/riskremediate\" (2 to 128 "
		      "printable ASCII characters without spaces, starting "
		      "and ending with '/', no \"//\")" } }, 1 },
		/* cert without key, key without cert */
		{ ETCD_HEAD EP1 CA "    cert: /c.pem\n",
		  { { 7, 11, "cert needs key" } }, 1 },
		{ ETCD_HEAD EP1 CA "    key: /k.pem\n",
		  { { 7, 10, "key needs cert" } }, 1 },
		/* user without password_file, and the reverse */
		{ ETCD_HEAD EP1 CA "    user: rr\n",
		  { { 7, 11, "user needs password_file" } }, 1 },
		{ ETCD_HEAD EP1 CA "    password_file: /pw\n",
		  { { 7, 20, "password_file needs user" } }, 1 },
		/* relative paths */
		{ ETCD_HEAD EP1 "    ca: ca.pem\n    cert: c.pem\n"
		  "    key: ./k.pem\n",
		  { { 6, 9, "ca must be an absolute path, found \"ca.pem\"" },
		    { 7, 11, "cert must be an absolute path, found "
		      "\"c.pem\"" },
		    { 8, 10, "key must be an absolute path, found "
		      "\"./k.pem\"" } }, 3 },
		{ ETCD_HEAD EP1 CA "    user: rr\n    password_file: pw\n",
		  { { 8, 20, "password_file must be an absolute path, "
		      "found \"pw\"" } }, 1 },
		/* TLS files with no https:// endpoint */
		{ ETCD_HEAD "    endpoints: ['http://[::1]:2379']\n" CA,
		  { { 6, 9, "ca is only used with https:// endpoints" } }, 1 },
		/* staleness out of range, mfa value, unknown keys */
		{ ETCD_HEAD EP1 CA "  offline: { max_staleness: 0s }\n",
		  { { 7, 29, "max_staleness must be between 1s and 86400s" } },
		  1 },
		{ ETCD_HEAD EP1 CA "  offline: { max_staleness: 86401 }\n",
		  { { 7, 29, "max_staleness must be between 1s and 86400s" } },
		  1 },
		{ ETCD_HEAD EP1 CA "  offline: { max_staleness: 30x }\n",
		  { { 7, 29, "invalid duration \"30x\" for max_staleness "
		      "(expected seconds, or a number with s, m, h or d)" } },
		  1 },
		{ ETCD_HEAD EP1 CA "  offline: { mfa: allow }\n",
		  { { 7, 19, "invalid mfa \"allow\" (expected deny or "
		      "local)" } }, 1 },
		{ ETCD_HEAD EP1 CA "    timeout: 5s\n",
		  { { 7, 5, "unknown key \"timeout\" in etcd (expected one of: "
		      "endpoints, prefix, host, ca, cert, key, user, "
		      "password_file)" } }, 1 },
		{ ETCD_HEAD EP1 CA "  offline: { mfa: deny, retry: 1 }\n",
		  { { 7, 25, "unknown key \"retry\" in offline (expected one "
		      "of: max_staleness, mfa)" } }, 1 },
		/* etcd or offline with backend sqlite (or no backend) */
		{ "version: 1\nstore:\n  backend: sqlite\n  etcd:\n" EP1 CA,
		  { { 4, 3, "etcd is only used with backend: etcd" } }, 1 },
		{ "version: 1\nstore: { offline: { mfa: local } }\n",
		  { { 2, 10, "offline is only used with backend: etcd" } }, 1 },
		/* too many endpoints, none, missing */
		{ ETCD_HEAD "    endpoints: [http://127.0.0.1:1, "
		  "http://127.0.0.1:2, http://127.0.0.1:3, http://127.0.0.1:4, "
		  "http://127.0.0.1:5, http://127.0.0.1:6, http://127.0.0.1:7, "
		  "http://127.0.0.1:8, http://127.0.0.1:9, "
		  "http://127.0.0.1:10, http://127.0.0.1:11, "
		  "http://127.0.0.1:12, http://127.0.0.1:13, "
		  "http://127.0.0.1:14, http://127.0.0.1:15, "
		  "http://127.0.0.1:16, http://127.0.0.1:17]\n",
		  { { 5, 16, "too many entries in endpoints (max 16)" } }, 1 },
		{ ETCD_HEAD "    endpoints: []\n",
		  { { 5, 16, "endpoints needs at least one URL" } }, 1 },
		{ ETCD_HEAD CA, { { 5, 5, "missing required key \"endpoints\" "
				    "in etcd" } }, 1 },
		/* etcd missing or not a mapping */
		{ "version: 1\nstore: { backend: etcd }\n",
		  { { 2, 19, "backend etcd needs store.etcd with its "
		      "endpoints" } }, 1 },
		{ ETCD_HEAD "    - https://e1:2379\n",
		  { { 5, 5, "expected a mapping for etcd, found a list" } },
		  1 },
		/* the old key */
		{ "version: 1\nstore:\n  backend: etcd\n  endpoints: "
		  "[https://e1:2379]\n  etcd: { endpoints: [https://e1:2379], "
		  "ca: /ca }\n",
		  { { 4, 3, "endpoints moved to store.etcd.endpoints" } }, 1 },
		/* every other error first: no gate error with them */
		{ ETCD_HEAD EP1 CA "policies: [{ name: x }]\n",
		  { { 7, 12, "missing required key \"grant\" in policy" } },
		  1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_exact_errors(cases[i].text, cases[i].w, cases[i].n);
}

/* One value in a fleet policy: NULL err = valid (the policy loads). */
struct value_case {
	const char *value;
	const char *err;
};

static void check_values(const char *head, const char *tail, unsigned line,
			 unsigned column, const struct value_case *v, size_t n)
{
	struct want w;
	char *doc;
	size_t i;

	for (i = 0; i < n; i++) {
		assert_true(asprintf(&doc, "%s%s%s", head, v[i].value,
				     tail) > 0);
		w.line = line;
		w.column = column;
		w.message = v[i].err;
		if (v[i].err)
			parse_exact_errors(doc, &w, 1);
		else
			rr_policy_free(parse_ok(doc));
		free(doc);
	}
}

static void test_fleet_endpoints(void **state)
{
	/* plain http://, no ca: only to the loopback */
	static const struct value_case loopback[] = {
		{ "http://127.0.0.1:2379", NULL },
		{ "http://127.255.0.9:2379/", NULL },
		{ "http://localhost:2379", NULL },
		{ "'http://[::1]:2379'", NULL },
		{ "'http://[0:0:0:0:0:0:0:1]:2379'", NULL },
		{ "http://128.0.0.1:2379", "etcd endpoint "
		  "\"http://128.0.0.1:2379\" " HTTP_ONLY_LOOPBACK },
		{ "http://localhost.example.org:2379", "etcd endpoint "
		  "\"http://localhost.example.org:2379\" " HTTP_ONLY_LOOPBACK },
		{ "'http://[::2]:2379'", "etcd endpoint \"http://[::2]:2379\" "
		  HTTP_ONLY_LOOPBACK },
	};
	/* with ca: https:// is valid */
	static const struct value_case v[] = {
		{ "https://e1:2379", NULL },
		{ "https://e1:2379/", NULL },
		{ "https://etcd-1.example.org:1", NULL },
		{ "https://192.0.2.1:65535", NULL },
		{ "'https://[2001:db8::1]:2379'", NULL },
		{ "https://e1", "invalid etcd endpoint \"https://e1\" (a port "
		  "is required, such as :2379)" },
		{ "'https://[::1]'", "invalid etcd endpoint \"https://[::1]\" (a "
		  "port is required, such as :2379)" },
		{ "'https://e1:'", "invalid etcd endpoint \"https://e1:\" "
		  "(invalid port)" },
		{ "https://e1:0", "invalid etcd endpoint \"https://e1:0\" "
		  "(invalid port)" },
		{ "https://e1:65536", "invalid etcd endpoint "
		  "\"https://e1:65536\" (invalid port)" },
		{ "https://e1:23x9", "invalid etcd endpoint \"https://e1:23x9\" "
		  "(invalid port)" },
		{ "https://e1:2379/v3", "invalid etcd endpoint "
		  "\"https://e1:2379/v3\" (no path, query or fragment)" },
		{ "https://e1:2379?x", "invalid etcd endpoint "
		  "\"https://e1:2379?x\" (no path, query or fragment)" },
		{ "https://e1:2379#x", "invalid etcd endpoint "
		  "\"https://e1:2379#x\" (no path, query or fragment)" },
		{ "https://u:p@e1:2379", "invalid etcd endpoint "
		  "\"https://u:p@e1:2379\" (no user information: use user and "
		  "password_file)" },
		{ "https://:2379", "invalid etcd endpoint \"https://:2379\" "
		  "(invalid host)" },
		{ "https://e_1:2379", "invalid etcd endpoint "
		  "\"https://e_1:2379\" (invalid host)" },
		{ "'https://[::1:2379'", "invalid etcd endpoint "
		  "\"https://[::1:2379\" (invalid host)" },
		{ "'https://[1.2.3.4]:2379'", "invalid etcd endpoint "
		  "\"https://[1.2.3.4]:2379\" (invalid host)" },
		{ "'https://[]:2379'", "invalid etcd endpoint \"https://[]:2379\" "
		  "(invalid host)" },
		{ "etcd1:2379", "invalid etcd endpoint \"etcd1:2379\" (expected "
		  "an http:// or https:// URL)" },
		{ "HTTPS://e1:2379", "invalid etcd endpoint \"HTTPS://e1:2379\" "
		  "(expected an http:// or https:// URL)" },
		{ "unix:///run/etcd.sock", "invalid etcd endpoint "
		  "\"unix:///run/etcd.sock\" (expected an http:// or https:// "
		  "URL)" },
		{ "'https://e 1:2379'", "invalid etcd endpoint "
		  "\"https://e 1:2379\" (at most 256 printable ASCII characters "
		  "without spaces)" },
		{ "https://\xc3\xa9:2379", "invalid etcd endpoint "
		  "\"https://\xc3\xa9:2379\" (at most 256 printable ASCII "
		  "characters without spaces)" },
		{ "''", "invalid etcd endpoint \"\" (expected an http:// or "
		  "https:// URL)" },
		{ "{ url: https://e1:2379 }", "expected a string for an etcd "
		  "endpoint, found a mapping" },
	};
	char *doc, host[300];
	struct want w;

	(void)state;
	check_values(ETCD_HEAD "    endpoints: [", "]\n", 5, 17, loopback,
		     sizeof(loopback) / sizeof(loopback[0]));
	check_values(ETCD_HEAD "    endpoints: [", "]\n" CA, 5, 17, v,
		     sizeof(v) / sizeof(v[0]));
	/* 256 bytes, not 257 */
	memset(host, 'h', sizeof(host));
	host[256 - strlen("https://:1")] = '\0';
	assert_true(asprintf(&doc, ETCD_HEAD "    endpoints: [https://%s:1]\n"
			     CA, host) > 0);
	rr_policy_free(parse_ok(doc));
	free(doc);
	host[256 - strlen("https://:1")] = 'h';
	host[257 - strlen("https://:1")] = '\0';
	assert_true(asprintf(&doc, ETCD_HEAD "    endpoints: [https://%s:1]\n"
			     CA, host) > 0);
	parse_one_error(doc, "(at most 256 printable ASCII characters");
	free(doc);
	/* the same endpoint twice */
	w = (struct want){ 5, 34, "duplicate etcd endpoint "
			   "\"https://e1:2379\"" };
	parse_exact_errors(ETCD_HEAD "    endpoints: [https://e1:2379, "
			   "https://e1:2379]\n" CA, &w, 1);
}

static void test_fleet_values(void **state)
{
	static const struct value_case prefix[] = {
		{ "/riskremediate/", NULL },
		{ "/a/", NULL },
		{ "/rr/tenant-1/", NULL },
		{ "/", "invalid prefix \"/\" (2 to 128 printable ASCII "
		  "characters without spaces, starting and ending with '/', "
		  "no \"//\")" },
		{ "//", "invalid prefix \"//\" (2 to 128 printable ASCII "
		  "characters without spaces, starting and ending with '/', "
		  "no \"//\")" },
		{ "/a//b/", "invalid prefix \"/a//b/\" (2 to 128 printable "
		  "ASCII characters without spaces, starting and ending with "
		  "'/', no \"//\")" },
		{ "rr/", "invalid prefix \"rr/\" (2 to 128 printable ASCII "
		  "characters without spaces, starting and ending with '/', "
		  "no \"//\")" },
		{ "'/a b/'", "invalid prefix \"/a b/\" (2 to 128 printable "
		  "ASCII characters without spaces, starting and ending with "
		  "'/', no \"//\")" },
		{ "\"/a\\0/\"", "NUL byte in prefix" },
		{ "[/rr/]", "expected a string for prefix, found a list" },
	};
	static const struct value_case host[] = {
		{ "web01", NULL },
		{ "web-01.example_org", NULL },
		{ "''", "invalid host \"\" (1 to 64 of A-Z a-z 0-9 . _ -)" },
		{ "web/01", "invalid host \"web/01\" (1 to 64 of A-Z a-z 0-9 . "
		  "_ -)" },
		{ "web@01", "invalid host \"web@01\" (1 to 64 of A-Z a-z 0-9 . "
		  "_ -)" },
	};
	static const struct value_case staleness[] = {
		{ "1s", NULL },
		{ "1", NULL },
		{ "1d", NULL },
		{ "86400", NULL },
		{ "24h", NULL },
		{ "0", "max_staleness must be between 1s and 86400s" },
		{ "2d", "max_staleness must be between 1s and 86400s" },
		/* quoted: not a duration (the message cannot show it) */
		{ "'30s'", "invalid duration \"\" for max_staleness "
		  "(expected seconds, or a number with s, m, h or d)" },
	};
	char *doc, long_prefix[200];

	(void)state;
	check_values(ETCD_HEAD EP1 CA "    prefix: ", "\n", 7, 13, prefix,
		     sizeof(prefix) / sizeof(prefix[0]));
	check_values(ETCD_HEAD EP1 CA "    host: ", "\n", 7, 11, host,
		     sizeof(host) / sizeof(host[0]));
	check_values(ETCD_HEAD EP1 CA "  offline:\n    max_staleness: ", "\n",
		     8, 20, staleness, sizeof(staleness) / sizeof(staleness[0]));
	/* prefix: 128 bytes, not 129; host: 64, not 65 */
	memset(long_prefix, 'p', sizeof(long_prefix));
	long_prefix[0] = '/';
	long_prefix[127] = '/';
	long_prefix[128] = '\0';
	assert_true(asprintf(&doc, ETCD_HEAD EP1 CA "    prefix: %s\n",
			     long_prefix) > 0);
	rr_policy_free(parse_ok(doc));
	free(doc);
	long_prefix[127] = 'p';
	long_prefix[128] = '/';
	long_prefix[129] = '\0';
	assert_true(asprintf(&doc, ETCD_HEAD EP1 CA "    prefix: %s\n",
			     long_prefix) > 0);
	parse_one_error(doc, "invalid prefix");
	free(doc);
	assert_true(asprintf(&doc, ETCD_HEAD EP1 CA "    host: %.64s\n",
			     long_prefix + 1) > 0);
	rr_policy_free(parse_ok(doc));
	free(doc);
	assert_true(asprintf(&doc, ETCD_HEAD EP1 CA "    host: %.65s\n",
			     long_prefix + 1) > 0);
	parse_one_error(doc, "invalid host");
	free(doc);
}

/*
 * The schema walk without the loader's wrapper, which frees the policy on
 * any error: the fields of a fleet policy that the gate still refuses.
 */
static rr_policy *schema_walk(const char *text, rr_policy_errors *e)
{
	struct rr_pctx c = { .errs = e };
	yaml_parser_t ps;
	yaml_document_t doc;

	c.p = calloc(1, sizeof(*c.p));
	assert_non_null(c.p);
	rr_policy_init_defaults(c.p);
	assert_true(yaml_parser_initialize(&ps));
	yaml_parser_set_input_string(&ps, (const unsigned char *)text,
				     strlen(text));
	assert_true(yaml_parser_load(&ps, &doc));
	c.doc = &doc;
	c.n_nodes = (size_t)(doc.nodes.top - doc.nodes.start);
	c.visited = calloc(c.n_nodes + 1, 1);
	assert_non_null(c.visited);
	c.visited[1] = 1;
	assert_int_equal(rr_policy_schema_root(&c,
			 yaml_document_get_root_node(&doc)), 0);
	assert_int_equal(rr_policy_schema_policies(&c), 0);
	free(c.visited);
	yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
	return c.p;
}

static void test_fleet_valid(void **state)
{
	rr_policy_errors e = { 0 };
	rr_policy *p;

	(void)state;
	/* the loader: it loads */
	rr_policy_free(parse_ok(fleet_policy));
	/* what was parsed */
	p = schema_walk(fleet_policy, &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->backend, RR_BACKEND_ETCD);
	assert_string_equal(p->store_path, "/var/lib/riskremediate/risk.db");
	assert_int_equal(p->etcd.n_endpoints, 2);
	assert_string_equal(p->etcd.endpoints[0],
			    "https://etcd1.example.org:2379");
	assert_string_equal(p->etcd.endpoints[1],
			    "https://etcd2.example.org:2379");
	assert_string_equal(p->etcd.prefix, "/riskremediate/");
	assert_string_equal(p->etcd.host, "web01");
	assert_string_equal(p->etcd.ca, "/etc/riskremediate/etcd/ca.pem");
	assert_string_equal(p->etcd.cert, "/etc/riskremediate/etcd/host.pem");
	assert_string_equal(p->etcd.key, "/etc/riskremediate/etcd/host.key");
	assert_string_equal(p->etcd.user, "riskremediate");
	assert_string_equal(p->etcd.password_file,
			    "/etc/riskremediate/etcd/password");
	assert_int_equal(p->offline.max_staleness_s, 30);
	assert_int_equal(p->offline.mfa, RR_OFFLINE_MFA_DENY);
	rr_policy_free(p);
	rr_policy_errors_clear(&e);

	/* loopback only, plain http, defaults */
	p = schema_walk(ETCD_HEAD "    endpoints: [http://127.0.0.1:2379, "
			"http://localhost:22379/, 'http://[::1]:32379']\n"
			"  offline: { mfa: local, max_staleness: 2m }\n", &e);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->etcd.n_endpoints, 3);
	assert_string_equal(p->etcd.endpoints[2], "http://[::1]:32379");
	assert_null(p->etcd.prefix);
	assert_null(p->etcd.host);
	assert_null(p->etcd.ca);
	assert_null(p->etcd.cert);
	assert_null(p->etcd.user);
	assert_int_equal(p->offline.max_staleness_s, 120);
	assert_int_equal(p->offline.mfa, RR_OFFLINE_MFA_LOCAL);
	rr_policy_free(p);
	rr_policy_errors_clear(&e);

	/* a sqlite policy: offline defaults, no etcd */
	p = parse_ok("version: 1\n");
	assert_int_equal(p->backend, RR_BACKEND_SQLITE);
	assert_int_equal(p->etcd.n_endpoints, 0);
	assert_null(p->etcd.endpoints);
	assert_int_equal(p->offline.max_staleness_s, 30);
	assert_int_equal(p->offline.mfa, RR_OFFLINE_MFA_DENY);
	rr_policy_free(p);
}

/* ---- loading from a file ------------------------------------------------- */

struct tmp {
	char dir[64];
	char path[128];
};

static int tmp_setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->dir, "/tmp/rr-policy-test-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/policy.yaml", t->dir);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmp *t = *state;
	char p[192];

	unlink(t->path);
	snprintf(p, sizeof(p), "%s/link.yaml", t->dir);
	unlink(p);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_file(const char *path, const char *text, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	/* written a minute ago: a file written less than a second ago may
	 * be mid-write, and the loader would wait for it (test_policy_read) */
	struct timespec ago[2] = { { .tv_nsec = UTIME_OMIT },
				   { .tv_sec = time(NULL) - 60 } };

	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(futimens(fd, ago), 0);
	assert_int_equal(close(fd), 0);
}

/* Load must fail with `err` and one file-level error naming the path. */
static void load_fails(const char *path, int err)
{
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	char line[512], want[512];

	assert_int_equal(rr_policy_load(path, &p, &e), err);
	assert_null(p);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.items[0].line, 0);
	rr_policy_error_format(&e, 0, line, sizeof(line));
	snprintf(want, sizeof(want), "%s: %s", path, rr_secfile_strerror(err));
	assert_string_equal(line, want);
	rr_policy_errors_clear(&e);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip();
}

static void test_load_ok(void **state)
{
	static const char doc[] = "version: 1\nissuer: Loaded\n";
	struct tmp *t = *state;
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;

	skip_unless_root();
	write_file(t->path, doc, strlen(doc), 0644);
	assert_int_equal(rr_policy_load(t->path, &p, &e), 0);
	assert_string_equal(p->issuer, "Loaded");
	assert_int_equal(e.n, 0);
	rr_policy_free(p);
	rr_policy_errors_clear(&e);
}

static void test_load_content_error(void **state)
{
	static const char doc[] = "version: 1\nissuer: [x]\n";
	struct tmp *t = *state;
	rr_policy_errors e = { 0 };
	rr_policy *p = NULL;
	char line[512], want[512];

	skip_unless_root();
	write_file(t->path, doc, strlen(doc), 0600);
	assert_int_equal(rr_policy_load(t->path, &p, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	rr_policy_error_format(&e, 0, line, sizeof(line));
	snprintf(want, sizeof(want), "%s:2:9: expected a string for issuer, "
		 "found a list", t->path);
	assert_string_equal(line, want);
	rr_policy_errors_clear(&e);
}

static void test_load_symlink(void **state)
{
	struct tmp *t = *state;
	char link[192];

	skip_unless_root();
	write_file(t->path, "version: 1\n", 11, 0644);
	snprintf(link, sizeof(link), "%s/link.yaml", t->dir);
	assert_int_equal(symlink(t->path, link), 0);
	load_fails(link, -ELOOP);
}

static void test_load_mode(void **state)
{
	struct tmp *t = *state;

	skip_unless_root();
	write_file(t->path, "version: 1\n", 11, 0664);
	load_fails(t->path, -EPERM);
	write_file(t->path, "version: 1\n", 11, 0646);
	load_fails(t->path, -EPERM);
}

static void test_load_owner(void **state)
{
	struct tmp *t = *state;

	skip_unless_root();
	write_file(t->path, "version: 1\n", 11, 0644);
	assert_int_equal(chown(t->path, 65534, 65534), 0);
	load_fails(t->path, -EPERM);
}

static void test_load_size(void **state)
{
	struct tmp *t = *state;
	size_t len = RR_POLICY_MAX_BYTES + 1;
	char *big = malloc(len);

	skip_unless_root();
	assert_non_null(big);
	memset(big, '#', len);
	write_file(t->path, big, len, 0644);
	free(big);
	load_fails(t->path, -EFBIG);
}

static void test_load_missing(void **state)
{
	struct tmp *t = *state;

	load_fails(t->path, -ENOENT);
	load_fails(t->dir, -EINVAL);
}

/* ---- the shipped sample -------------------------------------------------- */

static bool breakglass_excluded(const rr_ca_policy *c)
{
	return c->groups.given && names_has(&c->groups.exclude, "breakglass");
}

static const rr_ca_policy *find_policy(const rr_policy *p, unsigned ur,
				       unsigned sr, bool block, unsigned req)
{
	size_t i;

	for (i = 0; i < p->n_policies; i++) {
		const rr_ca_policy *c = &p->policies[i];

		if (c->state == RR_PSTATE_ENABLED && c->user_risk == ur &&
		    c->signin_risk == sr && c->block == block &&
		    c->require == req)
			return c;
	}
	return NULL;
}

static void check_sample_policies(const rr_policy *p)
{
	const rr_ca_policy *blk;
	size_t i;

	for (i = 0; i < p->n_policies; i++)
		assert_true(breakglass_excluded(&p->policies[i]));
	assert_non_null(find_policy(p, 0,
				    LVL(RR_LEVEL_MEDIUM) | LVL(RR_LEVEL_HIGH),
				    false, RR_REQUIRE_MFA));
	assert_non_null(find_policy(p, LVL(RR_LEVEL_HIGH), 0, false,
				    RR_REQUIRE_MFA |
					    RR_REQUIRE_PASSWORD_CHANGE));
	blk = find_policy(p, 0, LVL(RR_LEVEL_HIGH), true, 0);
	assert_non_null(blk);
	if (!blk)
		return;
	assert_true(blk->loc_given && blk->loc_any);
	assert_int_equal(blk->n_loc_exclude, 1);
}

static void test_sample_conf(void **state)
{
	rr_policy *p = parse_source_file("conf/riskremediate.yaml");
	const rr_mfa_registration *m = &p->mfa_registration;
	size_t i;

	(void)state;
	assert_int_equal(m->state, RR_PSTATE_ENABLED);
	assert_int_equal(m->grace_days, 14);
	assert_true(names_has(&m->users.exclude, "root"));
	assert_true(names_has(&m->groups.exclude, "breakglass"));
	assert_false(p->on_error_allow);
	assert_true(p->n_locations >= 1);
	assert_string_equal(p->locations[0].name, "office");
	for (i = 0; i < RR_EVENT__COUNT; i++) {
		const rr_detection_cfg *d = &p->detections[i];

		if (d->n_lists)
			assert_int_equal(strncmp(d->lists[0],
						 "/etc/riskremediate/", 19), 0);
	}
	/* no list is installed, so the sample names none */
	assert_int_equal(p->detections[RR_EVENT_MALICIOUS_IP].n_lists, 0);
	assert_int_equal(p->detections[RR_EVENT_ANONYMIZED_IP].n_lists, 0);
	assert_true(p->detections[RR_EVENT_PASSWORD_SPRAY].enabled);
	assert_int_equal(p->detections[RR_EVENT_PASSWORD_SPRAY].spray_users,
			 10);
	assert_false(p->detections[RR_EVENT_LEAKED_CREDENTIALS].enabled);
	assert_true(p->aggregation.enabled);
	assert_int_equal(p->aggregation.signins, 3);
	check_sample_policies(p);
	rr_policy_free(p);
}

/* Every path-valued key is remembered with the position of its value. */
static void test_file_refs(void **state)
{
	static const char text[] =
		"version: 1\n"
		"store: { path: /nonexistent-rr/store/risk.db }\n"
		"mfa: { key_file: /nonexistent-rr/key }\n"
		"detections:\n"
		"  maliciousIPAddress:\n"
		"    lists:\n"
		"      - /nonexistent-rr/a.list\n"
		"      - { file: /nonexistent-rr/b.list,"
		" url: https://example.org/b }\n"
		"  leakedCredentials:\n"
		"    range_url: https://example.org/range/\n"
		"    ca_file: /nonexistent-rr/ca.pem\n"
		"    hash_file: /nonexistent-rr/h.txt\n";
	static const struct {
		const char *key, *path;
		unsigned line, column;
		rr_policy_ref_kind kind;
	} want[] = {
		{ "store.path", "/nonexistent-rr/store/risk.db", 2, 16,
		  RR_REF_STORE },
		{ "mfa.key_file", "/nonexistent-rr/key", 3, 18, RR_REF_KEY },
		{ "detections.maliciousIPAddress.lists",
		  "/nonexistent-rr/a.list", 7, 9, RR_REF_TRUSTED },
		{ "detections.maliciousIPAddress.lists",
		  "/nonexistent-rr/b.list", 8, 17, RR_REF_TRUSTED },
		{ "detections.leakedCredentials.ca_file",
		  "/nonexistent-rr/ca.pem", 11, 14, RR_REF_TRUSTED },
		{ "detections.leakedCredentials.hash_file",
		  "/nonexistent-rr/h.txt", 12, 16, RR_REF_TRUSTED },
	};
	rr_policy_errors errs = {0}, warns = {0};
	rr_policy *p = parse_ok(text);
	char line[512];
	size_t i;

	(void)state;
	assert_int_equal(p->n_refs, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(p->refs[i].key, want[i].key);
		assert_string_equal(p->refs[i].path, want[i].path);
		assert_int_equal(p->refs[i].line, want[i].line);
		assert_int_equal(p->refs[i].column, want[i].column);
		assert_int_equal(p->refs[i].kind, want[i].kind);
	}
	/* none exists: the store is created on first use (nothing), the key
	 * too (a warning), every other file is an error at its value */
	assert_int_equal(rr_policy_check_files(p, "t.yaml", &errs, &warns),
			 -EINVAL);
	assert_int_equal(errs.n, 4);
	assert_int_equal(warns.n, 1);
	rr_policy_error_format(&errs, 0, line, sizeof(line));
	assert_string_equal(line, "t.yaml:7:9: detections.maliciousIPAddress."
			    "lists: /nonexistent-rr/a.list: does not exist");
	assert_int_equal(errs.items[3].line, 12);
	rr_policy_error_format(&warns, 0, line, sizeof(line));
	assert_non_null(strstr(line, "t.yaml:3:18: mfa.key_file: "
			       "/nonexistent-rr/key: does not exist yet"));
	rr_policy_errors_clear(&errs);
	rr_policy_errors_clear(&warns);
	rr_policy_free(p);
}

/* The EXAMPLE section of riskremediate.yaml(5) is a working policy. */
static void test_man_example(void **state)
{
	char *path = src_path("man/riskremediate.yaml.5.scd"), *buf, *start,
	     *end;
	rr_policy *p;
	size_t len;

	(void)state;
	buf = read_all(path, &len);
	start = strstr(buf, "\n# EXAMPLE\n");
	assert_non_null(start);
	start = strstr(start, "```\n");
	assert_non_null(start);
	start += 4;
	end = strstr(start, "```");
	assert_non_null(end);
	*end = '\0';
	p = parse_ok(start);
	assert_int_equal(p->n_policies, 3);
	check_sample_policies(p);
	rr_policy_free(p);
	free(buf);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_corpus),
		cmocka_unit_test(test_file_refs),
		cmocka_unit_test(test_invalid_corpus),
		cmocka_unit_test(test_full_fields),
		cmocka_unit_test(test_mfa_fields),
		cmocka_unit_test(test_mfa_bounds),
		cmocka_unit_test(test_quoting_fields),
		cmocka_unit_test(test_locations_after_policies),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_aggregation_window_within_retention),
		cmocka_unit_test(test_detection_enabled),
		cmocka_unit_test(test_risk_detection_fields),
		cmocka_unit_test(test_risk_detection_enabled),
		cmocka_unit_test(test_download_urls),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_durations_ms),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_policies_limit),
		cmocka_unit_test(test_scalar_limits),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_api_edges),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_fleet_invalid),
		cmocka_unit_test(test_fleet_endpoints),
		cmocka_unit_test(test_fleet_values),
		cmocka_unit_test(test_fleet_valid),
		cmocka_unit_test_setup_teardown(test_load_ok, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_content_error,
						tmp_setup, tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_symlink, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_mode, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_owner, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_size, tmp_setup,
						tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_missing, tmp_setup,
						tmp_teardown),
		cmocka_unit_test(test_sample_conf),
		cmocka_unit_test(test_man_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
