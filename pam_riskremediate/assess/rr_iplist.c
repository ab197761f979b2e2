/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_iplist_int.h"
#include "rr_secfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef rr_ip_range ip_range;

static size_t addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

static void cidr_to_range(const rr_cidr *c, ip_range *out)
{
	size_t len = addr_len(c->base.family), i;

	memset(out, 0, sizeof(*out));
	out->family = c->base.family;
	memcpy(out->lo, c->base.bytes, len);
	memcpy(out->hi, c->base.bytes, len);
	for (i = 0; i < len; i++) {
		unsigned start = (unsigned)i * 8;

		if (start >= c->prefix)
			out->hi[i] = 0xff;
		else if (c->prefix - start < 8)
			out->hi[i] |= (uint8_t)(0xffu >> (c->prefix - start));
	}
}

static int key_cmp(uint8_t fa, const uint8_t *a, uint8_t fb, const uint8_t *b)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a, b, addr_len(fa));
}

static int range_cmp(const void *pa, const void *pb)
{
	const ip_range *a = pa, *b = pb;

	return key_cmp(a->family, a->lo, b->family, b->lo);
}

/* True when b starts at or before one past a's end (overlap/adjacent). */
static bool range_touches(const ip_range *a, const ip_range *b)
{
	uint8_t next[16];
	size_t len = addr_len(a->family);
	int i, carry = 1;

	if (a->family != b->family)
		return false;
	memcpy(next, a->hi, sizeof(next));
	for (i = (int)len - 1; i >= 0 && carry; i--) {
		next[i] = (uint8_t)(next[i] + 1);
		carry = next[i] == 0;
	}
	if (carry) /* a ends at the top of the space */
		return true;
	return memcmp(b->lo, next, len) <= 0;
}

static void merge(rr_iplist *l)
{
	size_t i, w = 0;

	if (l->n == 0)
		return;
	qsort(l->r, l->n, sizeof(*l->r), range_cmp);
	for (i = 1; i < l->n; i++) {
		ip_range *cur = &l->r[w];

		if (range_touches(cur, &l->r[i])) {
			if (memcmp(l->r[i].hi, cur->hi,
				   addr_len(cur->family)) > 0)
				memcpy(cur->hi, l->r[i].hi, sizeof(cur->hi));
		} else {
			l->r[++w] = l->r[i];
		}
	}
	l->n = w + 1;
}

static int push(rr_iplist *l, const rr_cidr *c)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		ip_range *nr;

		if (ncap > RR_IPLIST_MAX_ENTRIES)
			ncap = RR_IPLIST_MAX_ENTRIES;
		if (l->n >= ncap)
			return -E2BIG;
		nr = reallocarray(l->r, ncap, sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->r = nr;
		l->cap = ncap;
	}
	cidr_to_range(c, &l->r[l->n++]);
	return 0;
}

/* Trim one line in place: drop comment, leading and trailing blanks. */
static char *trim(char *s, size_t len)
{
	char *hash = memchr(s, '#', len);
	char *end;

	if (hash)
		*hash = '\0';
	else
		s[len] = '\0';
	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static int parse_line(rr_iplist *l, char *line, size_t len)
{
	char *t = trim(line, len);
	rr_cidr c;

	if (!*t)
		return 0;
	if (rr_cidr_parse(t, &c) < 0)
		return -EINVAL;
	return push(l, &c);
}

int rr_iplist_parse(const char *buf, size_t len, rr_iplist **out,
		    unsigned *bad_line)
{
	rr_iplist *l;
	char *copy = NULL;
	size_t pos = 0;
	unsigned line = 0;
	int r = 0;

	if (!buf || !out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	copy = malloc(len + 1);
	if (!l || !copy) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	while (pos < len && r == 0) {
		char *nl = memchr(copy + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (copy + pos)) : len - pos;

		line++;
		r = parse_line(l, copy + pos, ll);
		pos += ll + 1;
	}
	if (r == 0) {
		merge(l);
		*out = l;
		l = NULL;
	} else if (bad_line) {
		*bad_line = line;
	}
out:
	free(copy);
	rr_iplist_free(l);
	return r;
}

int rr_iplist_load(const char *path, rr_iplist **out, unsigned *bad_line)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = rr_secfile_read(path, RR_IPLIST_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = rr_iplist_parse(buf, len, out, bad_line);
	free(buf);
	return r;
}

bool rr_ranges_find(const rr_ip_range *r, size_t n, const rr_addr *a)
{
	size_t lo = 0, hi = n;

	if (!r || !a || n == 0 || (a->family != 4 && a->family != 6))
		return false;
	/* find the last range whose start <= a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(r[mid].family, r[mid].lo, a->family, a->bytes) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	lo--;
	return r[lo].family == a->family &&
	       memcmp(a->bytes, r[lo].hi, addr_len(a->family)) <= 0;
}

bool rr_ranges_valid(const rr_ip_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len;

		if (r[i].family != 4 && r[i].family != 6)
			return false;
		len = addr_len(r[i].family);
		if (memcmp(r[i].lo, r[i].hi, len) > 0)
			return false;
		if (i > 0 && (key_cmp(r[i - 1].family, r[i - 1].lo,
				      r[i].family, r[i].lo) >= 0 ||
			      range_touches(&r[i - 1], &r[i])))
			return false;
	}
	return true;
}

bool rr_iplist_contains(const rr_iplist *l, const rr_addr *a)
{
	return l && rr_ranges_find(l->r, l->n, a);
}

size_t rr_iplist_size(const rr_iplist *l)
{
	return l ? l->n : 0;
}

void rr_iplist_free(rr_iplist *l)
{
	if (!l)
		return;
	free(l->r);
	free(l);
}
