/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fleet's key layout under the tenant prefix (rr_fleet_model.h), and
 * the percent-encoding of user names in it.
 */
#include "rr_fleet_model.h"

#include <errno.h>
#include <string.h>

static const char hex[] = "0123456789ABCDEF";

static bool plain(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lowercase too: one spelling per byte */
}

int rr_fleet_user_encode(const char *user, char *buf, size_t cap)
{
	size_t n, i, o = 0;

	if (!user || !buf)
		return -EINVAL;
	n = strnlen(user, RR_USER_MAX + 1);
	if (n == 0 || n > RR_USER_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];

		if (o + (plain(c) ? 1 : 3) >= cap)
			return -ENAMETOOLONG;
		if (plain(c)) {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '%';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	buf[o] = '\0';
	return 0;
}

/* One byte of U at enc[*i]: 0 and *c, or -EINVAL. */
static int decode_byte(const char *enc, size_t len, size_t *i,
		       unsigned char *c)
{
	int hi, lo;

	if ((unsigned char)enc[*i] != '%') {
		if (!plain((unsigned char)enc[*i]))
			return -EINVAL;
		*c = (unsigned char)enc[(*i)++];
		return 0;
	}
	if (len - *i < 3)
		return -EINVAL;
	hi = hexval(enc[*i + 1]);
	lo = hexval(enc[*i + 2]);
	if (hi < 0 || lo < 0)
		return -EINVAL;
	*c = (unsigned char)(hi << 4 | lo);
	if (*c == 0 || plain(*c))
		return -EINVAL;
	*i += 3;
	return 0;
}

int rr_fleet_user_decode(const char *enc, size_t len,
			 char user[RR_USER_MAX + 1])
{
	char tmp[RR_USER_MAX + 1];
	size_t i = 0, o = 0;
	unsigned char c;

	if (!enc || !user || len == 0 || len > RR_FLEET_USER_ENC_MAX)
		return -EINVAL;
	while (i < len) {
		if (o == RR_USER_MAX || decode_byte(enc, len, &i, &c) < 0)
			return -EINVAL;
		tmp[o++] = (char)c;
	}
	tmp[o] = '\0';
	memcpy(user, tmp, o + 1);
	return 0;
}

static int check_prefix(const char *prefix)
{
	size_t n;

	if (!prefix)
		return -EINVAL;
	n = strlen(prefix);
	if (n == 0 || prefix[n - 1] != '/')
		return -EINVAL;
	return 0;
}

/* One path segment: [A-Za-z0-9._-]+, not "." or "..". */
static int check_segment(const char *s)
{
	size_t i, n;

	if (!s)
		return -EINVAL;
	n = strnlen(s, RR_FLEET_SEGMENT_MAX + 1);
	if (n == 0 || n > RR_FLEET_SEGMENT_MAX || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!plain((unsigned char)s[i]))
			return -EINVAL;
	return 0;
}

bool rr_fleet_segment_ok(const char *s)
{
	return check_segment(s) == 0;
}

/* buf = the parts, NUL-terminated. */
static int join(char *buf, size_t cap, const char *const *parts, size_t n)
{
	size_t i, len = 0, l;

	if (!buf)
		return -EINVAL;
	for (i = 0; i < n; i++)
		len += strlen(parts[i]);
	if (len >= cap)
		return -ENAMETOOLONG;
	for (i = 0, len = 0; i < n; i++) {
		l = strlen(parts[i]);
		memcpy(buf + len, parts[i], l);
		len += l;
	}
	buf[len] = '\0';
	return 0;
}

static int user_key(const char *prefix, const char *user, const char *kind,
		    char *buf, size_t cap)
{
	char enc[RR_FLEET_USER_ENC_MAX + 1];
	const char *parts[4] = { prefix, "users/", enc, kind };
	int r;

	r = check_prefix(prefix);
	if (r < 0)
		return r;
	r = rr_fleet_user_encode(user, enc, sizeof(enc));
	if (r < 0)
		return r;
	return join(buf, cap, parts, 4);
}

static int segment_key(const char *prefix, const char *dir, const char *seg,
		       char *buf, size_t cap)
{
	const char *parts[3] = { prefix, dir, seg };
	int r = check_prefix(prefix);

	if (r < 0)
		return r;
	r = check_segment(seg);
	if (r < 0)
		return r;
	return join(buf, cap, parts, 3);
}

int rr_fleet_key_risk(const char *prefix, const char *user, char *buf,
		      size_t cap)
{
	return user_key(prefix, user, "/risk", buf, cap);
}

int rr_fleet_key_mfa(const char *prefix, const char *user, char *buf,
		     size_t cap)
{
	return user_key(prefix, user, "/mfa", buf, cap);
}

int rr_fleet_key_tap(const char *prefix, const char *user, char *buf,
		     size_t cap)
{
	return user_key(prefix, user, "/tap", buf, cap);
}

int rr_fleet_key_pwchange(const char *prefix, const char *user, char *buf,
			  size_t cap)
{
	return user_key(prefix, user, "/pwchange", buf, cap);
}

int rr_fleet_key_familiar(const char *prefix, const char *user, char *buf,
			  size_t cap)
{
	return user_key(prefix, user, "/familiar", buf, cap);
}

int rr_fleet_key_audit(const char *prefix, const char *id, char *buf,
		       size_t cap)
{
	return segment_key(prefix, "audit/", id, buf, cap);
}

int rr_fleet_key_signin(const char *prefix, const char *ref, char *buf,
			size_t cap)
{
	return segment_key(prefix, "signins/", ref, buf, cap);
}

int rr_fleet_key_host(const char *prefix, const char *host, char *buf,
		      size_t cap)
{
	return segment_key(prefix, "hosts/", host, buf, cap);
}

int rr_fleet_key_fails(const char *prefix, const char *batch, char *buf,
		       size_t cap)
{
	return segment_key(prefix, "fails/", batch, buf, cap);
}

int rr_fleet_key_attack(const char *prefix, const char *ref, char *buf,
			size_t cap)
{
	return segment_key(prefix, "attacks/", ref, buf, cap);
}

int rr_fleet_key_attack_mark(const char *prefix, const char *mark,
			     char *buf, size_t cap)
{
	return segment_key(prefix, "attackmarks/", mark, buf, cap);
}

static const struct {
	const char *dir;
	rr_fleet_key_kind kind;
} segment_kinds[] = {
	{"audit/", RR_FLEET_KEY_AUDIT},
	{"signins/", RR_FLEET_KEY_SIGNIN},
	{"hosts/", RR_FLEET_KEY_HOST},
	{"fails/", RR_FLEET_KEY_FAILS},
	{"attacks/", RR_FLEET_KEY_ATTACK},
	{"attackmarks/", RR_FLEET_KEY_ATTACK_MARK},
};

int rr_fleet_key_dir(const char *prefix, rr_fleet_key_kind kind, char *buf,
		     size_t cap)
{
	const char *parts[2] = { prefix, NULL };
	size_t i;
	int r = check_prefix(prefix);

	if (r < 0)
		return r;
	for (i = 0; i < sizeof(segment_kinds) / sizeof(segment_kinds[0]); i++)
		if (segment_kinds[i].kind == kind)
			parts[1] = segment_kinds[i].dir;
	return parts[1] ? join(buf, cap, parts, 2) : -EINVAL;
}

int rr_fleet_key_users(const char *prefix, char *buf, size_t cap)
{
	const char *parts[2] = { prefix, "users/" };
	int r = check_prefix(prefix);

	if (r < 0)
		return r;
	return join(buf, cap, parts, 2);
}

/* ---- parsing ---------------------------------------------------------- */

static const struct {
	const char *suffix;
	rr_fleet_key_kind kind;
} user_kinds[] = {
	{"/risk", RR_FLEET_KEY_RISK},
	{"/mfa", RR_FLEET_KEY_MFA},
	{"/tap", RR_FLEET_KEY_TAP},
	{"/pwchange", RR_FLEET_KEY_PWCHANGE},
	{"/familiar", RR_FLEET_KEY_FAMILIAR},
};


/* "users/U/KIND" (rest: after the prefix): 0, or -EPROTO. */
static int parse_user(const char *rest, size_t len, rr_fleet_key *k)
{
	const char *slash;
	size_t i, n;

	if (len <= 6 || memcmp(rest, "users/", 6) != 0)
		return -EPROTO;
	rest += 6;
	len -= 6;
	slash = memchr(rest, '/', len);
	if (!slash)
		return -EPROTO;
	n = (size_t)(slash - rest);
	for (i = 0; i < sizeof(user_kinds) / sizeof(user_kinds[0]); i++) {
		size_t sl = strlen(user_kinds[i].suffix);

		if (len - n != sl || memcmp(slash, user_kinds[i].suffix, sl))
			continue;
		if (rr_fleet_user_decode(rest, n, k->name) < 0)
			return -EPROTO;
		k->kind = user_kinds[i].kind;
		return 0;
	}
	return -EPROTO;
}

/* "DIR/SEGMENT": 0, or -EPROTO. */
static int parse_segment(const char *rest, size_t len, rr_fleet_key *k)
{
	size_t i, dl;

	for (i = 0; i < sizeof(segment_kinds) / sizeof(segment_kinds[0]);
	     i++) {
		dl = strlen(segment_kinds[i].dir);
		if (len <= dl || memcmp(rest, segment_kinds[i].dir, dl) ||
		    len - dl > RR_FLEET_SEGMENT_MAX)
			continue;
		memcpy(k->name, rest + dl, len - dl);
		k->name[len - dl] = '\0';
		if (strlen(k->name) != len - dl || check_segment(k->name) < 0)
			return -EPROTO;
		k->kind = segment_kinds[i].kind;
		return 0;
	}
	return -EPROTO;
}

int rr_fleet_key_parse(const char *prefix, const char *key, size_t len,
		       rr_fleet_key *out)
{
	rr_fleet_key k;
	size_t pl;
	int r;

	if (!key || !out || check_prefix(prefix) < 0)
		return -EINVAL;
	pl = strlen(prefix);
	if (len < pl || memcmp(key, prefix, pl) != 0)
		return -EINVAL;
	memset(&k, 0, sizeof(k));
	r = parse_user(key + pl, len - pl, &k);
	if (r < 0)
		r = parse_segment(key + pl, len - pl, &k);
	if (r < 0)
		return r;
	*out = k;
	return 0;
}
