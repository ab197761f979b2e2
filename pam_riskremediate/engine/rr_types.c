/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Vocabulary (DESIGN §2) and IP address / CIDR helpers.  Pure: libc only.
 */
#include "rr_types.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest text accepted for an address or CIDR ("ffff:...:ffff/128" is 43). */
#define RR_CIDR_TEXT_MAX 64

static const char *const level_names[] = {
    [RR_LEVEL_NONE] = "none",
    [RR_LEVEL_LOW] = "low",
    [RR_LEVEL_MEDIUM] = "medium",
    [RR_LEVEL_HIGH] = "high",
};

static const char *const state_names[] = {
    [RR_STATE_NONE] = "none",
    [RR_STATE_AT_RISK] = "atRisk",
    [RR_STATE_REMEDIATED] = "remediated",
    [RR_STATE_DISMISSED] = "dismissed",
    [RR_STATE_CONFIRMED_SAFE] = "confirmedSafe",
    [RR_STATE_CONFIRMED_COMPROMISED] = "confirmedCompromised",
};

static const char *const detail_names[] = {
    [RR_DETAIL_NONE] = "none",
    [RR_DETAIL_USER_PASSED_MFA] = "userPassedMFADrivenByRiskBasedPolicy",
    [RR_DETAIL_USER_SECURED_PASSWORD] = "userPerformedSecuredPasswordChange",
    [RR_DETAIL_ADMIN_TEMP_PASSWORD] = "adminGeneratedTemporaryPassword",
    [RR_DETAIL_ADMIN_DISMISSED_ALL] = "adminDismissedAllRiskForUser",
    [RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED] = "adminConfirmedUserCompromised",
    [RR_DETAIL_ADMIN_SIGNIN_SAFE] = "adminConfirmedSigninSafe",
    [RR_DETAIL_ADMIN_SIGNIN_COMPROMISED] = "adminConfirmedSigninCompromised",
    [RR_DETAIL_ADMIN_ACCOUNT_SAFE] = "adminConfirmedAccountSafe",
};

static const char *const event_names[] = {
    [RR_EVENT_UNFAMILIAR_FEATURES] = "unfamiliarFeatures",
    [RR_EVENT_ANONYMIZED_IP] = "anonymizedIPAddress",
    [RR_EVENT_MALICIOUS_IP] = "maliciousIPAddress",
    [RR_EVENT_PASSWORD_SPRAY] = "passwordSpray",
    [RR_EVENT_BRUTE_FORCE] = "bruteForce",
    [RR_EVENT_LEAKED_CREDENTIALS] = "leakedCredentials",
    [RR_EVENT_ADMIN_CONFIRMED_COMPROMISED] = "adminConfirmedUserCompromised",
    [RR_EVENT_HOME_TENANT_USER_RISK] = "homeTenantUserRisk",
    [RR_EVENT_REPEATED_MFA_FAILURES] = "repeatedMFAFailures",
};

_Static_assert(ARRAY_SIZE(level_names) == RR_LEVEL__COUNT, "level names");
_Static_assert(ARRAY_SIZE(state_names) == RR_STATE__COUNT, "state names");
_Static_assert(ARRAY_SIZE(detail_names) == RR_DETAIL__COUNT, "detail names");
_Static_assert(ARRAY_SIZE(event_names) == RR_EVENT__COUNT, "event names");

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

/* Index of s in names, or -EINVAL. */
static int index_of(const char *const *names, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *rr_level_name(rr_level v)
{
	return name_of(level_names, ARRAY_SIZE(level_names), (unsigned)v);
}

const char *rr_state_name(rr_state v)
{
	return name_of(state_names, ARRAY_SIZE(state_names), (unsigned)v);
}

const char *rr_detail_name(rr_detail v)
{
	return name_of(detail_names, ARRAY_SIZE(detail_names), (unsigned)v);
}

const char *rr_event_name(rr_event v)
{
	return name_of(event_names, ARRAY_SIZE(event_names), (unsigned)v);
}

int rr_level_parse(const char *s, rr_level *out)
{
	int i = index_of(level_names, ARRAY_SIZE(level_names), s);

	if (i < 0 || !out)
		return -EINVAL;
	*out = (rr_level)i;
	return 0;
}

int rr_state_parse(const char *s, rr_state *out)
{
	int i = index_of(state_names, ARRAY_SIZE(state_names), s);

	if (i < 0 || !out)
		return -EINVAL;
	*out = (rr_state)i;
	return 0;
}

int rr_detail_parse(const char *s, rr_detail *out)
{
	int i = index_of(detail_names, ARRAY_SIZE(detail_names), s);

	if (i < 0 || !out)
		return -EINVAL;
	*out = (rr_detail)i;
	return 0;
}

int rr_event_parse(const char *s, rr_event *out)
{
	int i = index_of(event_names, ARRAY_SIZE(event_names), s);

	if (i < 0 || !out)
		return -EINVAL;
	*out = (rr_event)i;
	return 0;
}

/* ---- addresses ---------------------------------------------------------- */

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff};

static unsigned addr_bits(const rr_addr *a)
{
	return a->family == 4 ? 32 : 128;
}

static bool has_space(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			return true;
	return false;
}

/* Parse a NUL-terminated address; *mapped is set for ::ffff:a.b.c.d. */
static int addr_parse(const char *s, rr_addr *out, bool *mapped)
{
	rr_addr a = {0};

	*mapped = false;
	if (inet_pton(AF_INET, s, a.bytes) == 1) {
		a.family = 4;
	} else if (inet_pton(AF_INET6, s, a.bytes) == 1) {
		a.family = 6;
		if (memcmp(a.bytes, v4mapped_prefix, 12) == 0) {
			memmove(a.bytes, a.bytes + 12, 4);
			memset(a.bytes + 4, 0, 12);
			a.family = 4;
			*mapped = true;
		}
	} else {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

int rr_addr_parse(const char *s, rr_addr *out)
{
	bool mapped;

	if (!s || !out || strnlen(s, RR_CIDR_TEXT_MAX + 1) > RR_CIDR_TEXT_MAX)
		return -EINVAL;
	return addr_parse(s, out, &mapped);
}

/* Decimal prefix length: digits only, at most three, <= max. */
static int prefix_parse(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 3)
			return -EINVAL;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* True when any bit of a beyond `prefix` is set. */
static bool host_bits_set(const rr_addr *a, unsigned prefix)
{
	unsigned nbytes = addr_bits(a) / 8;

	for (unsigned i = prefix / 8; i < nbytes; i++) {
		unsigned keep = prefix > i * 8 ? prefix - i * 8 : 0;
		uint8_t mask = keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);

		if (a->bytes[i] & (uint8_t)~mask)
			return true;
	}
	return false;
}

int rr_cidr_parse(const char *s, rr_cidr *out)
{
	char buf[RR_CIDR_TEXT_MAX + 1];
	rr_cidr c = {0};
	unsigned prefix;
	bool mapped;
	char *slash;
	size_t len;

	if (!s || !out)
		return -EINVAL;
	len = strnlen(s, sizeof(buf));
	if (len == 0 || len >= sizeof(buf) || has_space(s))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (addr_parse(buf, &c.base, &mapped) < 0)
		return -EINVAL;
	prefix = addr_bits(&c.base);
	if (slash) {
		unsigned max = mapped ? 128 : prefix;

		if (prefix_parse(slash + 1, max, &prefix) < 0)
			return -EINVAL;
		if (mapped && prefix < 96)
			return -EINVAL;
		if (mapped)
			prefix -= 96;
	}
	if (host_bits_set(&c.base, prefix))
		return -EINVAL;
	c.prefix = (uint8_t)prefix;
	*out = c;
	return 0;
}

bool rr_cidr_contains(const rr_cidr *c, const rr_addr *a)
{
	unsigned full, rest;

	if (!c || !a || c->base.family != a->family ||
	    (a->family != 4 && a->family != 6) || c->prefix > addr_bits(a))
		return false;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(c->base.bytes, a->bytes, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->base.bytes[full] ^ a->bytes[full]) &
		(uint8_t)(0xff00u >> rest)) == 0;
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

int rr_cidr_cmp(const rr_cidr *a, const rr_cidr *b)
{
	int r;

	if (a->base.family != b->base.family)
		return a->base.family < b->base.family ? -1 : 1;
	r = memcmp(a->base.bytes, b->base.bytes, sizeof(a->base.bytes));
	if (r != 0)
		return sign(r);
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	return 0;
}

/* inet_ntop of a; false for an invalid family or a short buffer. */
static bool addr_ntop(const rr_addr *a, char *buf, size_t len)
{
	int af;

	if (!a || (a->family != 4 && a->family != 6))
		return false;
	af = a->family == 4 ? AF_INET : AF_INET6;
	return inet_ntop(af, a->bytes, buf, (socklen_t)len) != NULL;
}

void rr_addr_format(const rr_addr *a, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	if (!addr_ntop(a, buf, len))
		buf[0] = '\0';
}

void rr_addr_netkey(const rr_addr *a, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	rr_addr net;
	unsigned prefix;

	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (!a || (a->family != 4 && a->family != 6))
		return;
	net = *a;
	prefix = a->family == 4 ? 24 : 64;
	memset(net.bytes + prefix / 8, 0, sizeof(net.bytes) - prefix / 8);
	if (!addr_ntop(&net, text, sizeof(text)))
		return;
	if (snprintf(buf, len, "%s/%u", text, prefix) >= (int)len)
		buf[0] = '\0';
}
