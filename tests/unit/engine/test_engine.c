/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the decision engine.  Policies are built by hand from static
 * tables; time is explicit.  Each row of the decision table is its own cmocka
 * test, named by its description.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rr_engine.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NOW INT64_C(1700000000)
#define DAY INT64_C(86400)
#define MAXP 4

/* ---- fixtures: names and named locations ------------------------------ */

static char n_alice[] = "alice", n_Alice[] = "Alice", n_bob[] = "bob";
static char n_root[] = "root", n_wheel[] = "wheel", n_admins[] = "admins";
static char n_sshd[] = "sshd", n_login[] = "login", n_su[] = "su";

/* clang-format off */
#define LIST(...)                                                      \
	{                                                              \
		.names = (char *[]){ __VA_ARGS__ },                    \
		.n = sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *) \
	}
#define ALL { .all = true }
#define IDX(...) (size_t[]){ __VA_ARGS__ }
#define NIDX(...) (sizeof((size_t[]){ __VA_ARGS__ }) / sizeof(size_t))
#define LOC_INC(...) \
	.loc_given = true, .loc_include = IDX(__VA_ARGS__), \
	.n_loc_include = NIDX(__VA_ARGS__)
#define LOC_EXC(...) \
	.loc_given = true, .loc_exclude = IDX(__VA_ARGS__), \
	.n_loc_exclude = NIDX(__VA_ARGS__)
#define MASK(l) (1u << (l))
/* clang-format on */

enum { L_OFFICE, L_HOST, L_WORLD4, L_WORLD6, L__COUNT };

static const char *const loc_text[L__COUNT][2] = {
    [L_OFFICE] = {"10.0.0.0/8", "2001:db8::/32"},
    [L_HOST] = {"192.0.2.7", "2001:db8:1::1/128"},
    [L_WORLD4] = {"0.0.0.0/0", NULL},
    [L_WORLD6] = {"::/0", NULL},
};
static char loc_names[L__COUNT][8] = {"office", "host", "world4", "world6"};
static rr_cidr loc_cidrs[L__COUNT][2];
static rr_location locs[L__COUNT];

static int setup_locations(void **state)
{
	(void)state;
	for (size_t i = 0; i < L__COUNT; i++) {
		locs[i].name = loc_names[i];
		locs[i].cidrs = loc_cidrs[i];
		locs[i].n = 0;
		for (size_t j = 0; j < 2 && loc_text[i][j]; j++) {
			if (rr_cidr_parse(loc_text[i][j], &loc_cidrs[i][j]))
				return -1;
			locs[i].n++;
		}
	}
	return 0;
}

static const char *const g_wheel[] = {"wheel"};
static const char *const g_users_wheel[] = {"users", "wheel"};
static const char *const g_admins[] = {"admins"};

/* ---- the decision table ------------------------------------------------- */

struct row {
	const char *desc;
	rr_ca_policy pol[MAXP];
	size_t n_pol;
	rr_user_risk risk;
	const char *user; /* default "alice" */
	const char *const *groups;
	size_t n_groups;
	const char *service; /* default "sshd" */
	const char *rhost;
	rr_detection dets[3];
	size_t n_dets;
	/* expected */
	rr_action action;
	unsigned require;
	size_t block_policy;
	bool would_block;
	unsigned would_require;
	rr_level user_risk;
	rr_level signin_risk;
	rr_why why[MAXP];
	bool enforced[MAXP];
};

#define AT_RISK(l)                                                             \
	{                                                                      \
		.level = (l), .state = RR_STATE_AT_RISK, .updated = NOW        \
	}
#define DET(t, l)                                                              \
	{                                                                      \
		.type = (t), .level = (l)                                      \
	}
#define REQ_MFA .require = RR_REQUIRE_MFA
#define REQ_BOTH .require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE
#define BLOCK .block = true
#define USERS(...) .users = {__VA_ARGS__, .given = true}
#define GROUPS(...) .groups = {__VA_ARGS__, .given = true}
#define SERVICES(...) .services = {__VA_ARGS__, .given = true}

static struct row rows[] = {
    {
	.desc = "no policies: allow",
	.action = RR_ACTION_ALLOW,
    },
    {
	.desc = "policy without assignments targets everyone",
	.pol = {{REQ_MFA}},
	.n_pol = 1,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "block wins over require; first blocking index",
	.pol = {{REQ_MFA}, {BLOCK}, {BLOCK}, {REQ_BOTH}},
	.n_pol = 4,
	.action = RR_ACTION_BLOCK,
	.require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE,
	.block_policy = 1,
	.enforced = {true, true, true, true},
    },
    {
	.desc = "block and require in one policy counts as block",
	.pol = {{BLOCK, REQ_MFA}},
	.n_pol = 1,
	.action = RR_ACTION_BLOCK,
	.require = 0,
	.enforced = {true},
    },
    {
	.desc = "require union of enforced policies",
	.pol = {{REQ_MFA}, {.require = RR_REQUIRE_PASSWORD_CHANGE}},
	.n_pol = 2,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE,
	.enforced = {true, true},
    },
    {
	.desc = "policy applying with no grant: allow",
	.pol = {{.state = RR_PSTATE_ENABLED}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.enforced = {true},
    },
    {
	.desc = "user exclude beats include all",
	.pol = {{BLOCK, USERS(.include = ALL, .exclude = LIST(n_alice))}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_EXCLUDED},
    },
    {
	.desc = "user exclude beats include by name",
	.pol = {{BLOCK,
		 USERS(.include = LIST(n_alice), .exclude = LIST(n_alice))}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_EXCLUDED},
    },
    {
	.desc = "excluding another user keeps alice included",
	.pol = {{BLOCK, USERS(.include = ALL, .exclude = LIST(n_bob, n_root))}},
	.n_pol = 1,
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "group exclude beats user include",
	.pol = {{BLOCK, USERS(.include = LIST(n_alice)),
		 GROUPS(.exclude = LIST(n_wheel))}},
	.n_pol = 1,
	.groups = g_users_wheel,
	.n_groups = 2,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_GROUP_EXCLUDED},
    },
    {
	.desc = "group exclude beats group include",
	.pol = {{BLOCK,
		 GROUPS(.include = LIST(n_wheel), .exclude = LIST(n_wheel))}},
	.n_pol = 1,
	.groups = g_wheel,
	.n_groups = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_GROUP_EXCLUDED},
    },
    {
	.desc = "user exclusion reported before group exclusion",
	.pol = {{BLOCK, USERS(.exclude = LIST(n_alice)),
		 GROUPS(.exclude = LIST(n_wheel))}},
	.n_pol = 1,
	.groups = g_wheel,
	.n_groups = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_EXCLUDED},
    },
    {
	.desc = "group include: member applies",
	.pol = {{REQ_MFA, GROUPS(.include = LIST(n_admins, n_wheel))}},
	.n_pol = 1,
	.groups = g_users_wheel,
	.n_groups = 2,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "group include: non-member not included",
	.pol = {{REQ_MFA, GROUPS(.include = LIST(n_wheel))}},
	.n_pol = 1,
	.groups = g_admins,
	.n_groups = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_NOT_INCLUDED},
    },
    {
	.desc = "users given, alice not listed",
	.pol = {{REQ_MFA, USERS(.include = LIST(n_bob))}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_NOT_INCLUDED},
    },
    {
	.desc = "users not listed but group listed: included",
	.pol = {{REQ_MFA, USERS(.include = LIST(n_bob)),
		 GROUPS(.include = LIST(n_wheel))}},
	.n_pol = 1,
	.groups = g_wheel,
	.n_groups = 1,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "user names are case-sensitive",
	.pol = {{REQ_MFA, USERS(.include = LIST(n_Alice))},
		{BLOCK, USERS(.include = ALL, .exclude = LIST(n_Alice))}},
	.n_pol = 2,
	.action = RR_ACTION_BLOCK,
	.why = {RR_WHY_USER_NOT_INCLUDED, RR_WHY_APPLIES},
	.enforced = {false, true},
	.block_policy = 1,
    },
    {
	.desc = "disabled policy listed, not applied",
	.pol = {{BLOCK, .state = RR_PSTATE_DISABLED},
		{REQ_MFA, .state = RR_PSTATE_DISABLED,
		 USERS(.exclude = LIST(n_alice))}},
	.n_pol = 2,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_DISABLED, RR_WHY_DISABLED},
    },
    {
	.desc = "report-only block: would_block, not enforced",
	.pol = {{BLOCK, .state = RR_PSTATE_REPORT_ONLY}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.would_block = true,
    },
    {
	.desc = "report-only require: would_require only",
	.pol = {{REQ_BOTH, .state = RR_PSTATE_REPORT_ONLY}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.would_require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE,
    },
    {
	.desc = "report-only block beside enforced require",
	.pol = {{BLOCK, .state = RR_PSTATE_REPORT_ONLY},
		{REQ_MFA},
		{.require = RR_REQUIRE_PASSWORD_CHANGE,
		 .state = RR_PSTATE_REPORT_ONLY}},
	.n_pol = 3,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.would_block = true,
	.would_require = RR_REQUIRE_PASSWORD_CHANGE,
	.enforced = {false, true, false},
    },
    {
	.desc = "report-only not matching: nothing would happen",
	.pol = {{BLOCK, .state = RR_PSTATE_REPORT_ONLY,
		 .signin_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SIGNIN_RISK_NOT_MATCHED},
    },
    {
	.desc = "service include lists sshd: login not included",
	.pol = {{BLOCK, SERVICES(.include = LIST(n_sshd))}},
	.n_pol = 1,
	.service = "login",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SERVICE_NOT_INCLUDED},
    },
    {
	.desc = "service include lists sshd: sshd applies",
	.pol = {{BLOCK, SERVICES(.include = LIST(n_login, n_sshd))}},
	.n_pol = 1,
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "service exclude beats include all",
	.pol = {{BLOCK, SERVICES(.include = ALL, .exclude = LIST(n_su))}},
	.n_pol = 1,
	.service = "su",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SERVICE_EXCLUDED},
    },
    {
	.desc = "service exclude beats include by name",
	.pol = {{BLOCK,
		 SERVICES(.include = LIST(n_su), .exclude = LIST(n_su))}},
	.n_pol = 1,
	.service = "su",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SERVICE_EXCLUDED},
    },
    {
	.desc = "service exclude only: others included",
	.pol = {{BLOCK, SERVICES(.exclude = LIST(n_su))}},
	.n_pol = 1,
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "user risk high matches [high]",
	.pol = {{REQ_BOTH, .user_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.risk = AT_RISK(RR_LEVEL_HIGH),
	.user_risk = RR_LEVEL_HIGH,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE,
	.enforced = {true},
    },
    {
	.desc = "user risk medium does not match [high]",
	.pol = {{REQ_BOTH, .user_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.risk = AT_RISK(RR_LEVEL_MEDIUM),
	.user_risk = RR_LEVEL_MEDIUM,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_RISK_NOT_MATCHED},
    },
    {
	.desc = "user risk none matches [none]",
	.pol = {{REQ_MFA, .user_risk = MASK(RR_LEVEL_NONE)}},
	.n_pol = 1,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "dismissed high user risk counts as none",
	.pol = {{BLOCK, .user_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.risk = {.level = RR_LEVEL_HIGH, .state = RR_STATE_DISMISSED},
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_RISK_NOT_MATCHED},
    },
    {
	.desc = "sign-in risk is the max detection level",
	.pol = {{REQ_MFA,
		 .signin_risk = MASK(RR_LEVEL_MEDIUM) | MASK(RR_LEVEL_HIGH)},
		{BLOCK, .signin_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 2,
	.dets = {DET(RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_LOW),
		 DET(RR_EVENT_ANONYMIZED_IP, RR_LEVEL_MEDIUM),
		 DET(RR_EVENT_PASSWORD_SPRAY, RR_LEVEL_LOW)},
	.n_dets = 3,
	.signin_risk = RR_LEVEL_MEDIUM,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.why = {RR_WHY_APPLIES, RR_WHY_SIGNIN_RISK_NOT_MATCHED},
	.enforced = {true, false},
    },
    {
	.desc = "high sign-in risk: block wins",
	.pol = {{REQ_MFA,
		 .signin_risk = MASK(RR_LEVEL_MEDIUM) | MASK(RR_LEVEL_HIGH)},
		{BLOCK, .signin_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 2,
	.dets = {DET(RR_EVENT_MALICIOUS_IP, RR_LEVEL_HIGH),
		 DET(RR_EVENT_ANONYMIZED_IP, RR_LEVEL_MEDIUM)},
	.n_dets = 2,
	.signin_risk = RR_LEVEL_HIGH,
	.action = RR_ACTION_BLOCK,
	.require = RR_REQUIRE_MFA,
	.block_policy = 1,
	.enforced = {true, true},
    },
    {
	.desc = "no detections: sign-in risk none not matched",
	.pol = {{REQ_MFA, .signin_risk = MASK(RR_LEVEL_LOW)}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SIGNIN_RISK_NOT_MATCHED},
    },
    {
	.desc = "first reason wins: user excluded before risk",
	.pol = {{BLOCK, USERS(.exclude = LIST(n_alice)),
		 .user_risk = MASK(RR_LEVEL_HIGH),
		 .signin_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_EXCLUDED},
    },
    {
	.desc = "first reason wins: service before user risk",
	.pol = {{BLOCK, SERVICES(.include = LIST(n_su)),
		 .user_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 1,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SERVICE_NOT_INCLUDED},
    },
    {
	.desc = "first reason wins: user risk before sign-in risk",
	.pol = {{BLOCK, .user_risk = MASK(RR_LEVEL_HIGH),
		 .signin_risk = MASK(RR_LEVEL_HIGH), LOC_INC(L_HOST)}},
	.n_pol = 1,
	.rhost = "203.0.113.1",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_RISK_NOT_MATCHED},
    },
    {
	.desc = "first reason wins: sign-in risk before location",
	.pol = {{BLOCK, .signin_risk = MASK(RR_LEVEL_HIGH), LOC_INC(L_HOST)}},
	.n_pol = 1,
	.rhost = "203.0.113.1",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_SIGNIN_RISK_NOT_MATCHED},
    },
    {
	.desc = "location include office: IPv4 inside",
	.pol = {{BLOCK, LOC_INC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "10.1.2.3",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "location include office: IPv4 outside",
	.pol = {{BLOCK, LOC_INC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "11.0.0.1",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "location include office: IPv6 inside",
	.pol = {{BLOCK, LOC_INC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "2001:db8:ffff::5",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "location include office: IPv6 outside",
	.pol = {{BLOCK, LOC_INC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "2001:db9::5",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "IPv4-mapped rhost matches the IPv4 office range",
	.pol = {{BLOCK, LOC_INC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "::ffff:10.9.8.7",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "location any excluding office: office excluded",
	.pol = {{REQ_MFA, .loc_any = true, LOC_EXC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "10.0.0.1",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_EXCLUDED},
    },
    {
	.desc = "location any excluding office: internet applies",
	.pol = {{REQ_MFA, .loc_any = true, LOC_EXC(L_OFFICE)}},
	.n_pol = 1,
	.rhost = "203.0.113.5",
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "exclude beats include of the same location",
	.pol = {{BLOCK, LOC_INC(L_OFFICE, L_WORLD4), .loc_exclude = IDX(L_HOST),
		 .n_loc_exclude = 1}},
	.n_pol = 1,
	.rhost = "192.0.2.7",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_EXCLUDED},
    },
    {
	.desc = "local console (no rhost) matches any",
	.pol = {{REQ_MFA, .loc_any = true, LOC_EXC(L_WORLD4, L_WORLD6)}},
	.n_pol = 1,
	.rhost = NULL,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "local console (empty rhost) matches no location",
	.pol = {{BLOCK, LOC_INC(L_WORLD4, L_WORLD6)}},
	.n_pol = 1,
	.rhost = "",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "hostname rhost matches no location, but any",
	.pol = {{BLOCK, LOC_INC(L_WORLD4, L_WORLD6)},
		{REQ_MFA, .loc_any = true, LOC_EXC(L_WORLD4)}},
	.n_pol = 2,
	.rhost = "host.example.com",
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED, RR_WHY_APPLIES},
	.enforced = {false, true},
    },
    {
	.desc = "IPv4 /0 includes every IPv4 address",
	.pol = {{BLOCK, LOC_INC(L_WORLD4)}},
	.n_pol = 1,
	.rhost = "255.255.255.255",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "IPv4 /0 does not include IPv6",
	.pol = {{BLOCK, LOC_INC(L_WORLD4)}},
	.n_pol = 1,
	.rhost = "2001:db8::1",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "IPv6 /0 includes IPv6",
	.pol = {{BLOCK, LOC_INC(L_WORLD6)}},
	.n_pol = 1,
	.rhost = "::1",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "IPv6 /128 includes the exact address",
	.pol = {{BLOCK, LOC_INC(L_HOST)}},
	.n_pol = 1,
	.rhost = "2001:db8:1:0:0:0:0:1",
	.action = RR_ACTION_BLOCK,
	.enforced = {true},
    },
    {
	.desc = "IPv6 /128 excludes the next address",
	.pol = {{BLOCK, LOC_INC(L_HOST)}},
	.n_pol = 1,
	.rhost = "2001:db8:1::2",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "IPv4 /32 excludes the next address",
	.pol = {{BLOCK, LOC_INC(L_HOST)}},
	.n_pol = 1,
	.rhost = "192.0.2.8",
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_LOCATION_NOT_INCLUDED},
    },
    {
	.desc = "low user risk one second before expiry: low",
	.pol = {{REQ_MFA, .user_risk = MASK(RR_LEVEL_LOW)}},
	.n_pol = 1,
	.risk = {.level = RR_LEVEL_LOW,
		 .state = RR_STATE_AT_RISK,
		 .updated = NOW - 180 * DAY + 1},
	.user_risk = RR_LEVEL_LOW,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "low user risk exactly at expiry: still low",
	.pol = {{REQ_MFA, .user_risk = MASK(RR_LEVEL_LOW)}},
	.n_pol = 1,
	.risk = {.level = RR_LEVEL_LOW,
		 .state = RR_STATE_AT_RISK,
		 .updated = NOW - 180 * DAY},
	.user_risk = RR_LEVEL_LOW,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "low user risk one second after expiry: none",
	.pol = {{REQ_MFA, .user_risk = MASK(RR_LEVEL_LOW)}},
	.n_pol = 1,
	.risk = {.level = RR_LEVEL_LOW,
		 .state = RR_STATE_AT_RISK,
		 .updated = NOW - 180 * DAY - 1},
	.user_risk = RR_LEVEL_NONE,
	.action = RR_ACTION_ALLOW,
	.why = {RR_WHY_USER_RISK_NOT_MATCHED},
    },
    {
	.desc = "medium user risk never expires",
	.pol = {{REQ_MFA, .user_risk = MASK(RR_LEVEL_MEDIUM)}},
	.n_pol = 1,
	.risk = {.level = RR_LEVEL_MEDIUM,
		 .state = RR_STATE_AT_RISK,
		 .updated = NOW - 3650 * DAY},
	.user_risk = RR_LEVEL_MEDIUM,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA,
	.enforced = {true},
    },
    {
	.desc = "Entra-like set: risky user, risky sign-in, breakglass",
	.pol = {{REQ_MFA, USERS(.include = ALL, .exclude = LIST(n_bob)),
		 .signin_risk = MASK(RR_LEVEL_MEDIUM) | MASK(RR_LEVEL_HIGH),
		 .loc_any = true, LOC_EXC(L_OFFICE)},
		{REQ_BOTH, .user_risk = MASK(RR_LEVEL_HIGH)},
		{BLOCK, .signin_risk = MASK(RR_LEVEL_HIGH)}},
	.n_pol = 3,
	.risk = AT_RISK(RR_LEVEL_HIGH),
	.rhost = "198.51.100.20",
	.dets = {DET(RR_EVENT_UNFAMILIAR_FEATURES, RR_LEVEL_MEDIUM)},
	.n_dets = 1,
	.user_risk = RR_LEVEL_HIGH,
	.signin_risk = RR_LEVEL_MEDIUM,
	.action = RR_ACTION_REQUIRE,
	.require = RR_REQUIRE_MFA | RR_REQUIRE_PASSWORD_CHANGE,
	.why = {RR_WHY_APPLIES, RR_WHY_APPLIES, RR_WHY_SIGNIN_RISK_NOT_MATCHED},
	.enforced = {true, true, false},
    },
};

static void row_policy(const struct row *r, rr_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->version = 1;
	p->low_risk_expiry_days = 180;
	p->locations = locs;
	p->n_locations = L__COUNT;
	p->policies = (rr_ca_policy *)r->pol;
	p->n_policies = r->n_pol;
}

static void row_facts(const struct row *r, rr_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->user = r->user ? r->user : "alice";
	f->groups = r->groups;
	f->n_groups = r->n_groups;
	f->service = r->service ? r->service : "sshd";
	f->rhost = r->rhost;
	f->has_addr = r->rhost && rr_addr_parse(r->rhost, &f->addr) == 0;
}

static void check_results(const struct row *r, const rr_policy_result *res)
{
	for (size_t i = 0; i < r->n_pol; i++) {
		print_message("policy %zu: %s\n", i, rr_why_text(res[i].why));
		assert_string_equal(rr_why_text(res[i].why),
				    rr_why_text(r->why[i]));
		assert_int_equal(res[i].applies, r->why[i] == RR_WHY_APPLIES);
		assert_int_equal(res[i].enforced, r->enforced[i]);
	}
}

static void test_decide_row(void **state)
{
	const struct row *r = *state;
	rr_policy_result res[MAXP];
	rr_decision d;
	rr_policy p;
	rr_facts f;

	row_policy(r, &p);
	row_facts(r, &f);
	memset(res, 0xa5, sizeof(res));
	assert_int_equal(rr_engine_decide(&p, &r->risk, &f, r->dets, r->n_dets,
					  NOW, res, &d),
			 0);
	assert_string_equal(rr_action_name(d.action),
			    rr_action_name(r->action));
	assert_int_equal(d.require, r->require);
	assert_int_equal(d.would_block, r->would_block);
	assert_int_equal(d.would_require, r->would_require);
	assert_int_equal(d.user_risk, r->user_risk);
	assert_int_equal(d.signin_risk, r->signin_risk);
	if (d.action == RR_ACTION_BLOCK)
		assert_int_equal(d.block_policy, r->block_policy);
	assert_ptr_equal(d.results, res);
	assert_int_equal(d.n_results, r->n_pol);
	check_results(r, res);
}

/* ---- argument checks ----------------------------------------------------- */

static void test_decide_einval(void **state)
{
	rr_ca_policy pol[1] = {{.block = true}};
	rr_policy p = {.policies = pol, .n_policies = 1};
	rr_policy empty = {0};
	rr_user_risk u = {0};
	rr_facts f = {.user = "alice", .service = "sshd"};
	rr_policy_result res[1];
	rr_decision d, sentinel;

	(void)state;
	memset(&d, 0x5a, sizeof(d));
	sentinel = d;
	assert_int_equal(rr_engine_decide(NULL, &u, &f, NULL, 0, NOW, res, &d),
			 -EINVAL);
	assert_int_equal(rr_engine_decide(&p, NULL, &f, NULL, 0, NOW, res, &d),
			 -EINVAL);
	assert_int_equal(rr_engine_decide(&p, &u, NULL, NULL, 0, NOW, res, &d),
			 -EINVAL);
	assert_int_equal(rr_engine_decide(&p, &u, &f, NULL, 0, NOW, res, NULL),
			 -EINVAL);
	assert_int_equal(rr_engine_decide(&p, &u, &f, NULL, 0, NOW, NULL, &d),
			 -EINVAL);
	assert_memory_equal(&d, &sentinel, sizeof(d));
	/* No policies: results may be NULL. */
	assert_int_equal(
	    rr_engine_decide(&empty, &u, &f, NULL, 0, NOW, NULL, &d), 0);
	assert_int_equal(d.action, RR_ACTION_ALLOW);
	assert_int_equal(d.n_results, 0);
}

/* has_addr false means no address, whatever is left in facts->addr. */
static void test_decide_ignores_stale_addr(void **state)
{
	rr_ca_policy pol[2] = {
	    {.block = true, LOC_INC(L_OFFICE)},
	    {.block = true, .loc_any = true, LOC_EXC(L_OFFICE)}};
	rr_policy p = {.locations = locs,
		       .n_locations = L__COUNT,
		       .policies = pol,
		       .n_policies = 2};
	rr_user_risk u = {0};
	rr_facts f = {.user = "alice", .service = "sshd", .rhost = "host"};
	rr_policy_result res[2];
	rr_decision d;

	(void)state;
	assert_int_equal(rr_addr_parse("10.0.0.1", &f.addr), 0);
	f.has_addr = false;
	assert_int_equal(rr_engine_decide(&p, &u, &f, NULL, 0, NOW, res, &d),
			 0);
	assert_int_equal(res[0].why, RR_WHY_LOCATION_NOT_INCLUDED);
	assert_int_equal(res[1].why, RR_WHY_APPLIES);
	assert_int_equal(d.block_policy, 1);
}

/* A location index out of range matches nothing (and does not crash). */
static void test_decide_bad_location_index(void **state)
{
	rr_ca_policy pol[1] = {{.block = true, LOC_INC(L__COUNT + 5)}};
	rr_policy p = {.locations = locs,
		       .n_locations = L__COUNT,
		       .policies = pol,
		       .n_policies = 1};
	rr_user_risk u = {0};
	rr_facts f = {.user = "alice", .service = "sshd", .rhost = "10.0.0.1"};
	rr_policy_result res[1];
	rr_decision d;

	(void)state;
	f.has_addr = rr_addr_parse(f.rhost, &f.addr) == 0;
	assert_int_equal(rr_engine_decide(&p, &u, &f, NULL, 0, NOW, res, &d),
			 0);
	assert_int_equal(res[0].why, RR_WHY_LOCATION_NOT_INCLUDED);
	assert_int_equal(d.action, RR_ACTION_ALLOW);
}

/* ---- scope ------------------------------------------------------------- */

struct scope_row {
	const char *desc;
	rr_assign users, groups;
	const char *user;
	const char *const *groups_of;
	size_t n_groups;
	bool in;
};

static struct scope_row scope_rows[] = {
    {"nothing given: everyone", .user = "alice", .in = true},
    {"users include all", .users = {.include = ALL, .given = true},
     .user = "alice", .in = true},
    {"users include all, exclude root",
     .users = {.include = ALL, .exclude = LIST(n_root), .given = true},
     .user = "root", .in = false},
    {"given with empty include targets everyone", .users = {.given = true},
     .user = "alice", .in = true},
    {"only exclusions given: everyone else is in",
     .users = {.exclude = LIST(n_root), .given = true}, .user = "alice",
     .in = true},
    {"only exclusions given: the excluded user is out",
     .users = {.exclude = LIST(n_root), .given = true}, .user = "root",
     .in = false},
    {"group include, member",
     .groups = {.include = LIST(n_wheel), .given = true}, .user = "alice",
     .groups_of = g_users_wheel, .n_groups = 2, .in = true},
    {"group include, no groups",
     .groups = {.include = LIST(n_wheel), .given = true}, .user = "alice",
     .in = false},
    {"group exclude beats users all", .users = {.include = ALL, .given = true},
     .groups = {.exclude = LIST(n_wheel), .given = true}, .user = "alice",
     .groups_of = g_wheel, .n_groups = 1, .in = false},
    {"exclude all", .users = {.exclude = ALL, .include = ALL, .given = true},
     .user = "alice", .in = false},
};

static void test_in_scope(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(scope_rows); i++) {
		const struct scope_row *r = &scope_rows[i];
		rr_facts f = {.user = r->user,
			      .groups = r->groups_of,
			      .n_groups = r->n_groups};

		print_message("scope: %s\n", r->desc);
		assert_int_equal(rr_engine_in_scope(&r->users, &r->groups, &f),
				 r->in);
	}
	assert_false(rr_engine_in_scope(&scope_rows[0].users,
					&scope_rows[0].groups, NULL));
}

/* ---- user risk ----------------------------------------------------------- */

struct urisk_row {
	rr_level level;
	rr_state state;
	int64_t age;
	unsigned expiry_days;
	rr_level want;
};

static const struct urisk_row urisk_rows[] = {
    {RR_LEVEL_LOW, RR_STATE_AT_RISK, 180 * DAY - 1, 180, RR_LEVEL_LOW},
    {RR_LEVEL_LOW, RR_STATE_AT_RISK, 180 * DAY, 180, RR_LEVEL_LOW},
    {RR_LEVEL_LOW, RR_STATE_AT_RISK, 180 * DAY + 1, 180, RR_LEVEL_NONE},
    {RR_LEVEL_LOW, RR_STATE_AT_RISK, 7 * DAY + 1, 7, RR_LEVEL_NONE},
    {RR_LEVEL_LOW, RR_STATE_AT_RISK, -DAY, 180, RR_LEVEL_LOW},
    {RR_LEVEL_MEDIUM, RR_STATE_AT_RISK, 1000 * DAY, 180, RR_LEVEL_MEDIUM},
    {RR_LEVEL_HIGH, RR_STATE_AT_RISK, 1000 * DAY, 180, RR_LEVEL_HIGH},
    {RR_LEVEL_NONE, RR_STATE_NONE, 0, 180, RR_LEVEL_NONE},
    {RR_LEVEL_HIGH, RR_STATE_REMEDIATED, 0, 180, RR_LEVEL_NONE},
    {RR_LEVEL_HIGH, RR_STATE_DISMISSED, 0, 180, RR_LEVEL_NONE},
    {RR_LEVEL_MEDIUM, RR_STATE_CONFIRMED_SAFE, 0, 180, RR_LEVEL_NONE},
    {RR_LEVEL_HIGH, RR_STATE_CONFIRMED_COMPROMISED, 0, 180, RR_LEVEL_HIGH},
    /* confirmed compromised is high whatever was stored */
    {RR_LEVEL_NONE, RR_STATE_CONFIRMED_COMPROMISED, 0, 180, RR_LEVEL_HIGH},
    /* corrupt level fails closed */
    {(rr_level)42, RR_STATE_AT_RISK, 0, 180, RR_LEVEL_HIGH},
};

static void test_user_risk(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(urisk_rows); i++) {
		const struct urisk_row *r = &urisk_rows[i];
		rr_policy p = {.low_risk_expiry_days = r->expiry_days};
		rr_user_risk u = {.level = r->level,
				  .state = r->state,
				  .updated = NOW - r->age};

		print_message("user risk row %zu\n", i);
		assert_int_equal(rr_engine_user_risk(&p, &u, NOW), r->want);
	}
}

static void test_user_risk_extremes(void **state)
{
	rr_policy p = {.low_risk_expiry_days = 180};
	rr_user_risk u = {.level = RR_LEVEL_LOW,
			  .state = RR_STATE_AT_RISK,
			  .updated = INT64_MAX};

	(void)state;
	assert_int_equal(rr_engine_user_risk(&p, &u, INT64_MIN), RR_LEVEL_LOW);
	u.updated = INT64_MIN;
	assert_int_equal(rr_engine_user_risk(&p, &u, INT64_MAX), RR_LEVEL_NONE);
	assert_int_equal(rr_engine_user_risk(NULL, &u, NOW), RR_LEVEL_NONE);
	assert_int_equal(rr_engine_user_risk(&p, NULL, NOW), RR_LEVEL_NONE);
}

/* ---- names and defaults -------------------------------------------------- */

static void test_names(void **state)
{
	static const char *const why[] = {
	    "applies",
	    "policy disabled",
	    "user not included",
	    "user excluded",
	    "group excluded",
	    "service not included",
	    "service excluded",
	    "user risk not matched",
	    "sign-in risk not matched",
	    "location not included",
	    "location excluded",
	};

	(void)state;
	assert_string_equal(rr_pstate_name(RR_PSTATE_ENABLED), "enabled");
	assert_string_equal(rr_pstate_name(RR_PSTATE_REPORT_ONLY),
			    "reportOnly");
	assert_string_equal(rr_pstate_name(RR_PSTATE_DISABLED), "disabled");
	assert_null(rr_pstate_name((rr_pstate)7));
	assert_string_equal(rr_action_name(RR_ACTION_ALLOW), "allow");
	assert_string_equal(rr_action_name(RR_ACTION_REQUIRE), "require");
	assert_string_equal(rr_action_name(RR_ACTION_BLOCK), "block");
	assert_null(rr_action_name((rr_action)7));
	{
		rr_action a = RR_ACTION_ALLOW;

		assert_int_equal(rr_action_parse("block", &a), 0);
		assert_int_equal(a, RR_ACTION_BLOCK);
		assert_int_equal(rr_action_parse("require", &a), 0);
		assert_int_equal(a, RR_ACTION_REQUIRE);
		assert_int_equal(rr_action_parse("Block", &a), -EINVAL);
		assert_int_equal(rr_action_parse("", &a), -EINVAL);
		assert_int_equal(rr_action_parse(NULL, &a), -EINVAL);
		assert_int_equal(a, RR_ACTION_REQUIRE);
	}
	assert_int_equal(ARRAY_SIZE(why), RR_WHY__COUNT);
	for (unsigned i = 0; i < RR_WHY__COUNT; i++)
		assert_string_equal(rr_why_text((rr_why)i), why[i]);
	assert_null(rr_why_text(RR_WHY__COUNT));
}

static void check_det(const rr_detection_cfg *d, bool enabled, rr_level l)
{
	assert_int_equal(d->enabled, enabled);
	assert_int_equal(d->level, l);
}

static void test_defaults(void **state)
{
	const rr_detection_cfg *d;
	rr_policy p;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	rr_policy_init_defaults(&p);
	d = p.detections;
	assert_int_equal(p.version, 1);
	assert_string_equal(p.issuer, "pam_riskremediate");
	assert_int_equal(p.backend, RR_BACKEND_SQLITE);
	assert_string_equal(p.store_path, "/var/lib/riskremediate/risk.db");
	assert_false(p.on_error_allow);
	assert_null(p.locations);
	assert_int_equal(p.n_locations, 0);
	assert_null(p.policies);
	assert_int_equal(p.n_policies, 0);
	assert_int_equal(p.mfa_registration.state, RR_PSTATE_DISABLED);
	assert_int_equal(p.mfa_registration.grace_days, 14);
	assert_false(p.mfa_registration.users.given);
	check_det(&d[RR_EVENT_UNFAMILIAR_FEATURES], true, RR_LEVEL_MEDIUM);
	assert_int_equal(d[RR_EVENT_UNFAMILIAR_FEATURES].learning_days, 5);
	assert_int_equal(d[RR_EVENT_UNFAMILIAR_FEATURES].learning_signins, 10);
	check_det(&d[RR_EVENT_ANONYMIZED_IP], true, RR_LEVEL_MEDIUM);
	check_det(&d[RR_EVENT_MALICIOUS_IP], true, RR_LEVEL_HIGH);
	check_det(&d[RR_EVENT_BRUTE_FORCE], true, RR_LEVEL_HIGH);
	assert_int_equal(d[RR_EVENT_BRUTE_FORCE].failures, 10);
	assert_int_equal(d[RR_EVENT_BRUTE_FORCE].window_s, 600);
	check_det(&d[RR_EVENT_PASSWORD_SPRAY], true, RR_LEVEL_MEDIUM);
	assert_int_equal(d[RR_EVENT_PASSWORD_SPRAY].spray_users, 10);
	assert_int_equal(d[RR_EVENT_PASSWORD_SPRAY].window_s, 3600);
	assert_true(p.aggregation.enabled);
	assert_int_equal(p.aggregation.signins, 3);
	assert_int_equal(p.aggregation.min_level, RR_LEVEL_MEDIUM);
	assert_int_equal(p.aggregation.window_s, 7 * 86400);
	check_det(&d[RR_EVENT_LEAKED_CREDENTIALS], false, RR_LEVEL_HIGH);
	check_det(&d[RR_EVENT_ADMIN_CONFIRMED_COMPROMISED], false,
		  RR_LEVEL_HIGH);
	check_det(&d[RR_EVENT_HOME_TENANT_USER_RISK], false, RR_LEVEL_HIGH);
	for (size_t i = 0; i < RR_EVENT__COUNT; i++) {
		assert_null(d[i].lists);
		assert_int_equal(d[i].n_lists, 0);
	}
	assert_int_equal(p.signin_retention_days, 30);
	assert_int_equal(p.detection_retention_days, 90);
	assert_int_equal(p.low_risk_expiry_days, 180);
	free(p.issuer);
	free(p.store_path);
	free(p.mfa.key_file);
	rr_policy_init_defaults(NULL); /* no-op */
}

/* ---- detections ---------------------------------------------------------- */

struct unfam_row {
	const char *desc;
	bool enabled;
	const char *rhost;
	uint64_t successes;
	int64_t first_age; /* now - first_success; NEVER: first_success = 0 */
	bool network_seen;
	bool want;
	bool device_seen; /* the SSH key signed in before */
};

#define NEVER INT64_MIN

static const struct unfam_row unfam_rows[] = {
    {"learned, new network", true, "203.0.113.9", 10, 5 * DAY, false, true, false},
    {"learned, known network", true, "203.0.113.9", 10, 5 * DAY, true, false, false},
    {"disabled", false, "203.0.113.9", 100, 50 * DAY, false, false, false},
    {"local console NULL rhost", true, NULL, 100, 50 * DAY, false, false, false},
    {"local console empty rhost", true, "", 100, 50 * DAY, false, false, false},
    {"hostname rhost is a network sign-in", true, "evil.example", 100, 50 * DAY,
     false, true, false},
    {"signins one short", true, "203.0.113.9", 9, 50 * DAY, false, false, false},
    {"signins exactly learned", true, "203.0.113.9", 10, 50 * DAY, false, true, false},
    {"days one second short", true, "203.0.113.9", 100, 5 * DAY - 1, false,
     false, false},
    {"days exactly learned", true, "203.0.113.9", 100, 5 * DAY, false, true, false},
    {"no first success", true, "203.0.113.9", 100, NEVER, false, false, false},
    {"first success in the future", true, "203.0.113.9", 100, -DAY, false,
     false, false},
    {"learned, new network, familiar device", true, "203.0.113.9", 10,
     5 * DAY, false, false, true},
    {"learned, known network, familiar device", true, "203.0.113.9", 10,
     5 * DAY, true, false, true},
    {"learning, new network, familiar device", true, "203.0.113.9", 9,
     5 * DAY, false, false, true},
};

static void test_unfamiliar(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(unfam_rows); i++) {
		const struct unfam_row *r = &unfam_rows[i];
		rr_detection_cfg cfg = {.enabled = r->enabled,
					.level = RR_LEVEL_MEDIUM,
					.learning_days = 5,
					.learning_signins = 10};
		rr_facts f = {.user = "alice", .rhost = r->rhost};
		rr_history h = {
		    .successes = r->successes,
		    .first_success =
			r->first_age == NEVER ? 0 : NOW - r->first_age,
		    .network_seen = r->network_seen,
		    .device_seen = r->device_seen,
		};

		print_message("unfamiliar: %s\n", r->desc);
		f.has_addr = r->rhost && rr_addr_parse(r->rhost, &f.addr) == 0;
		assert_int_equal(rr_detect_unfamiliar(&cfg, &f, &h, NOW),
				 r->want);
	}
}

static void test_unfamiliar_null(void **state)
{
	rr_detection_cfg cfg = {.enabled = true};
	rr_facts f = {.rhost = "203.0.113.9"};
	rr_history h = {.successes = 1, .first_success = 1};

	(void)state;
	assert_true(rr_detect_unfamiliar(&cfg, &f, &h, NOW));
	assert_false(rr_detect_unfamiliar(NULL, &f, &h, NOW));
	assert_false(rr_detect_unfamiliar(&cfg, NULL, &h, NOW));
	assert_false(rr_detect_unfamiliar(&cfg, &f, NULL, NOW));
	h.first_success = INT64_MAX;
	assert_false(rr_detect_unfamiliar(&cfg, &f, &h, INT64_MIN));
}

struct brute_row {
	bool enabled;
	unsigned failures;
	uint64_t recent;
	bool want;
};

static const struct brute_row brute_rows[] = {
    {true, 10, 9, false}, {true, 10, 10, true},    {true, 10, 11, true},
    {true, 10, 0, false}, {false, 10, 100, false}, {true, 0, 100, false},
    {true, 1, 1, true},
};

static void test_brute_force(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(brute_rows); i++) {
		const struct brute_row *r = &brute_rows[i];
		rr_detection_cfg cfg = {.enabled = r->enabled,
					.failures = r->failures,
					.window_s = 600};
		rr_history h = {.recent_failures = r->recent};

		print_message("brute force row %zu\n", i);
		assert_int_equal(rr_detect_brute_force(&cfg, &h), r->want);
	}
	assert_false(rr_detect_brute_force(NULL, &(rr_history){0}));
	assert_false(rr_detect_brute_force(
	    &(rr_detection_cfg){.enabled = true, .failures = 1}, NULL));
}

/* Sign-ins without rhost: the origin decides.  Root's or the user's own
 * session (local) is never unfamiliar; another user's session is a
 * source like a network: unfamiliar after the learning period until seen. */
static void test_unfamiliar_origin(void **state)
{
	static const struct {
		rr_origin origin;
		bool learned, seen, want;
	} t[] = {
	    {RR_ORIGIN_LOCAL, true, false, false},
	    {RR_ORIGIN_LOCAL, true, true, false},
	    {RR_ORIGIN_OTHER_USER, true, false, true},
	    {RR_ORIGIN_OTHER_USER, true, true, false},
	    {RR_ORIGIN_OTHER_USER, false, false, false},
	    {RR_ORIGIN_REMOTE, true, false, false}, /* no rhost given */
	};
	rr_detection_cfg cfg = {.enabled = true, .learning_days = 5,
				.learning_signins = 10};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		rr_facts f = {.user = "alice", .rhost = "",
			      .origin = t[i].origin};
		rr_history h = {.successes = t[i].learned ? 10 : 1,
				.first_success = NOW - 5 * DAY,
				.network_seen = t[i].seen};

		print_message("origin row %zu\n", i);
		assert_int_equal(rr_detect_unfamiliar(&cfg, &f, &h, NOW),
				 t[i].want);
	}
}

/* passwordSpray marks the sign-ins of users for whom the spraying source
 * is new, never those who sign in from it regularly (a NAT). */
static void test_password_spray_familiar(void **state)
{
	rr_detection_cfg cfg = {.enabled = true, .spray_users = 5};
	rr_history h = {.spray_users = 5};

	(void)state;
	assert_true(rr_detect_password_spray(&cfg, &h));
	h.network_seen = true;
	assert_false(rr_detect_password_spray(&cfg, &h));
	h.network_seen = false;
	h.spray_users = 4;
	assert_false(rr_detect_password_spray(&cfg, &h));
	assert_false(rr_detect_password_spray(NULL, &h));
}

/* ---- main ---------------------------------------------------------------- */

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_decide_einval),
    cmocka_unit_test(test_decide_ignores_stale_addr),
    cmocka_unit_test(test_decide_bad_location_index),
    cmocka_unit_test(test_in_scope),
    cmocka_unit_test(test_user_risk),
    cmocka_unit_test(test_user_risk_extremes),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_unfamiliar),
    cmocka_unit_test(test_unfamiliar_null),
    cmocka_unit_test(test_brute_force),
    cmocka_unit_test(test_unfamiliar_origin),
    cmocka_unit_test(test_password_spray_familiar),
};

int main(void)
{
	size_t n_fixed = ARRAY_SIZE(fixed_tests);
	size_t n = n_fixed + ARRAY_SIZE(rows);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	int rc;

	if (!tests)
		return 1;
	memcpy(tests, fixed_tests, sizeof(fixed_tests));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		tests[n_fixed + i] = (struct CMUnitTest){
		    .name = rows[i].desc,
		    .test_func = test_decide_row,
		    .initial_state = &rows[i],
		};
	}
	rc = _cmocka_run_group_tests("engine", tests, n, setup_locations, NULL);
	free(tests);
	return rc;
}
