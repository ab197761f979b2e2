/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error collection and the generic YAML walker: node access, key checks,
 * scalar conversions.  Knows nothing about the policy keys themselves.
 */
#include "rr_policy_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rr_policy_error *err_slot(struct rr_pctx *c)
{
	rr_policy_errors *e = c->errs;

	c->n_errors++;
	if (!e)
		return NULL;
	if (e->n >= RR_POLICY_MAX_ERRORS) {
		e->truncated = true;
		return NULL;
	}
	if (!e->items) {
		e->items = calloc(RR_POLICY_MAX_ERRORS, sizeof(*e->items));
		if (!e->items) {
			c->oom = true;
			return NULL;
		}
	}
	return &e->items[e->n++];
}

static void err_vadd(struct rr_pctx *c, unsigned line, unsigned column,
		     const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static void err_vadd(struct rr_pctx *c, unsigned line, unsigned column,
		     const char *fmt, va_list ap)
{
	rr_policy_error *it = err_slot(c);

	if (!it)
		return;
	it->line = line;
	it->column = column;
	vsnprintf(it->message, sizeof(it->message), fmt, ap);
}

void rr_pctx_err_at(struct rr_pctx *c, const yaml_mark_t *m, const char *fmt,
		    ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vadd(c, (unsigned)m->line + 1, (unsigned)m->column + 1, fmt, ap);
	va_end(ap);
}

void rr_pctx_err_pos(struct rr_pctx *c, unsigned line, unsigned column,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vadd(c, line, column, fmt, ap);
	va_end(ap);
}

void rr_pctx_err(struct rr_pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vadd(c, (unsigned)n->start_mark.line + 1,
		 (unsigned)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

const char *rr_pctx_quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 4 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (s[i] && o + 3 < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

yaml_node_t *rr_pctx_child(struct rr_pctx *c, int index)
{
	yaml_node_t *n = yaml_document_get_node(c->doc, index);

	if (!n || (size_t)index > c->n_nodes || c->visited[index])
		return NULL;
	c->visited[index] = 1;
	return n;
}

const char *rr_pctx_type_name(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0)
		return "an empty value";
	return "a scalar";
}

bool rr_pctx_expect(struct rr_pctx *c, const yaml_node_t *n,
		    yaml_node_type_t type, const char *what)
{
	const char *want;

	if (n->type == type)
		return true;
	if (type == YAML_MAPPING_NODE)
		want = "a mapping";
	else if (type == YAML_SEQUENCE_NODE)
		want = "a list";
	else
		want = "a string";
	rr_pctx_err(c, n, "expected %s for %s, found %s", want, what,
		    rr_pctx_type_name(n));
	return false;
}

static bool same_scalar(const yaml_node_t *a, const yaml_node_t *b)
{
	return a->type == YAML_SCALAR_NODE && b->type == YAML_SCALAR_NODE &&
	       a->data.scalar.length == b->data.scalar.length &&
	       !memcmp(a->data.scalar.value, b->data.scalar.value,
		       a->data.scalar.length);
}

/* The key of `pair` is a usable string and not a repeat of an earlier one. */
static bool key_ok(struct rr_pctx *c, yaml_node_t *map, yaml_node_pair_t *pair)
{
	yaml_node_t *key = yaml_document_get_node(c->doc, pair->key);
	yaml_node_pair_t *prev;
	char q[RR_QUOTE_MAX];

	if (!key)
		return false;
	if (!rr_pctx_str(c, key, "a key"))
		return false;
	for (prev = map->data.mapping.pairs.start; prev < pair; prev++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, prev->key);

		if (!k || !same_scalar(k, key))
			continue;
		rr_pctx_err(c, key, "duplicate key \"%s\" (first at line %u)",
			    rr_pctx_quote((const char *)key->data.scalar.value,
					  q, sizeof(q)),
			    (unsigned)k->start_mark.line + 1);
		return false;
	}
	return true;
}

int rr_pctx_for_each_pair(struct rr_pctx *c, yaml_node_t *map, rr_pair_fn fn,
			  void *obj)
{
	yaml_node_pair_t *pair;
	yaml_node_t *val;
	int r;

	if (map->data.mapping.pairs.top - map->data.mapping.pairs.start >
	    RR_POLICY_MAX_LIST) {
		rr_pctx_err(c, map, "too many keys (max %d)",
			    RR_POLICY_MAX_LIST);
		return 0;
	}
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		if (!key_ok(c, map, pair))
			continue;
		val = rr_pctx_child(c, pair->value);
		if (!val)
			continue;
		r = fn(c, yaml_document_get_node(c->doc, pair->key), val, obj);
		if (r < 0)
			return r;
	}
	return 0;
}

static void unknown_key(struct rr_pctx *c, const yaml_node_t *key,
			const char *what, const struct rr_schema *s)
{
	char list[200] = "", q[RR_QUOTE_MAX];
	size_t i, o = 0;

	for (i = 0; i < s->n && o < sizeof(list); i++)
		if (!s->keys[i].moved)
			o += (size_t)snprintf(list + o, sizeof(list) - o,
					      "%s%s", o ? ", " : "",
					      s->keys[i].name);
	rr_pctx_err(c, key, "unknown key \"%s\" in %s (expected one of: %s)",
		    rr_pctx_quote((const char *)key->data.scalar.value, q,
				  sizeof(q)),
		    what, list);
}

struct walk_state {
	const char *what;
	const struct rr_schema *s;
	void *obj;
	unsigned seen;
};

static int walk_pair(struct rr_pctx *c, yaml_node_t *key, yaml_node_t *val,
		     void *obj)
{
	struct walk_state *w = obj;
	const char *name = (const char *)key->data.scalar.value;
	size_t i;

	for (i = 0; i < w->s->n; i++) {
		if (strcmp(name, w->s->keys[i].name))
			continue;
		w->seen |= 1u << i;
		c->key = key;
		return w->s->keys[i].fn(c, val, w->obj);
	}
	unknown_key(c, key, w->what, w->s);
	return 0;
}

int rr_pctx_walk(struct rr_pctx *c, yaml_node_t *map, const char *what,
		 const struct rr_schema *s, void *obj, unsigned *seen)
{
	struct walk_state w = { .what = what, .s = s, .obj = obj };
	int r;

	*seen = ~0u;
	if (!rr_pctx_expect(c, map, YAML_MAPPING_NODE, what))
		return 0;
	r = rr_pctx_for_each_pair(c, map, walk_pair, &w);
	*seen = w.seen;
	return r;
}

void rr_pctx_require(struct rr_pctx *c, const yaml_node_t *map,
		     const char *what, const struct rr_schema *s,
		     unsigned seen, size_t i)
{
	if (!(seen & (1u << i)))
		rr_pctx_err(c, map, "missing required key \"%s\" in %s",
			    s->keys[i].name, what);
}

bool rr_pctx_seq_len(struct rr_pctx *c, const yaml_node_t *seq,
		     const char *what, size_t max, size_t *n)
{
	size_t len;

	if (!rr_pctx_expect(c, seq, YAML_SEQUENCE_NODE, what))
		return false;
	len = (size_t)(seq->data.sequence.items.top -
		       seq->data.sequence.items.start);
	if (len > max) {
		rr_pctx_err(c, seq, "too many entries in %s (max %zu)", what,
			    max);
		return false;
	}
	*n = len;
	return true;
}

int rr_pctx_seq_each(struct rr_pctx *c, yaml_node_t *seq, rr_item_fn fn,
		     void *obj)
{
	yaml_node_item_t *it;
	yaml_node_t *item;
	int r;

	for (it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		item = rr_pctx_child(c, *it);
		if (!item)
			continue;
		r = fn(c, item, obj);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *rr_pctx_str(struct rr_pctx *c, const yaml_node_t *n,
			const char *what)
{
	const char *s;

	if (!rr_pctx_expect(c, n, YAML_SCALAR_NODE, what))
		return NULL;
	s = (const char *)n->data.scalar.value;
	if (n->data.scalar.length > RR_POLICY_MAX_SCALAR) {
		rr_pctx_err(c, n, "value too long for %s (max %d bytes)", what,
			    RR_POLICY_MAX_SCALAR);
		return NULL;
	}
	if (strlen(s) != n->data.scalar.length) {
		rr_pctx_err(c, n, "NUL byte in %s", what);
		return NULL;
	}
	return s;
}

/* Plain (unquoted) scalar: numbers and booleans must not be quoted. */
static const char *plain(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static const char *found(const yaml_node_t *n)
{
	if (n->type == YAML_SCALAR_NODE && n->data.scalar.length)
		return "a quoted string";
	return rr_pctx_type_name(n);
}

bool rr_pctx_bool(struct rr_pctx *c, const yaml_node_t *n, bool *out)
{
	const char *s = plain(n);

	if (s && !strcmp(s, "true")) {
		*out = true;
		return true;
	}
	if (s && !strcmp(s, "false")) {
		*out = false;
		return true;
	}
	rr_pctx_err(c, n, "expected true or false");
	return false;
}

/* Decimal digits only: no sign, no leading zeros (YAML 1.1 octal), no
 * overflow.  0 or -EINVAL / -ERANGE. */
static int parse_digits(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || (len > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > 1000000000UL)
			return -ERANGE;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return 0;
}

bool rr_pctx_uint(struct rr_pctx *c, const yaml_node_t *n, const char *what,
		  unsigned min, unsigned max, unsigned *out)
{
	const char *s = plain(n);
	char q[RR_QUOTE_MAX];
	unsigned long v = 0;
	int r;

	r = s ? parse_digits(s, strlen(s), &v) : -EINVAL;
	if (r == -EINVAL) {
		rr_pctx_err(c, n, "expected a whole number for %s, found %s",
			    what, s ? rr_pctx_quote(s, q, sizeof(q)) :
				      found(n));
		return false;
	}
	if (r < 0 || v < min || v > max) {
		rr_pctx_err(c, n, "%s must be between %u and %u", what, min,
			    max);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

static unsigned long unit_ms(char u)
{
	if (u == 's')
		return 1000;
	if (u == 'm')
		return 60000;
	if (u == 'h')
		return 3600000;
	if (u == 'd')
		return 86400000;
	return 0;
}

/* "N" (seconds) or N with a unit s, m, h, d, and ms when `ms` is set.
 * *mult is the unit in milliseconds.  0, -EINVAL or -ERANGE. */
static int parse_duration(const char *s, bool ms, unsigned long *v,
			  unsigned long *mult)
{
	unsigned long unit;
	size_t len;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	unit = len > 1 ? unit_ms(s[len - 1]) : 0;
	*mult = 1000;
	if (ms && len > 2 && !strcmp(s + len - 2, "ms")) {
		*mult = 1;
		len -= 2;
	} else if (unit) {
		*mult = unit;
		len--;
	}
	return parse_digits(s, len, v);
}

static void duration_invalid(struct rr_pctx *c, const yaml_node_t *n,
			     const char *s, const char *what, bool ms)
{
	char q[RR_QUOTE_MAX];

	rr_pctx_err(c, n, "invalid duration \"%s\" for %s (expected "
		    "seconds, or a number with %ss, m, h or d)",
		    s ? rr_pctx_quote(s, q, sizeof(q)) : "", what,
		    ms ? "ms, " : "");
}

bool rr_pctx_duration(struct rr_pctx *c, const yaml_node_t *n,
		      const char *what, unsigned min, unsigned max,
		      unsigned *out)
{
	const char *s = plain(n);
	unsigned long v = 0, mult = 1000;
	int r = parse_duration(s, false, &v, &mult);

	if (r == -EINVAL) {
		duration_invalid(c, n, s, what, false);
		return false;
	}
	mult /= 1000; /* whole seconds: parse_duration refused "ms" */
	if (r < 0 || mult == 0 || v > max / mult || v * mult < min) {
		rr_pctx_err(c, n, "%s must be between %us and %us", what, min,
			    max);
		return false;
	}
	*out = (unsigned)(v * mult);
	return true;
}

bool rr_pctx_duration_ms(struct rr_pctx *c, const yaml_node_t *n,
			 const char *what, unsigned min, unsigned max,
			 unsigned *out)
{
	const char *s = plain(n);
	unsigned long v = 0, mult;
	int r = parse_duration(s, true, &v, &mult);

	if (r == -EINVAL) {
		duration_invalid(c, n, s, what, true);
		return false;
	}
	if (r < 0 || v > max / mult || v * mult < min) {
		rr_pctx_err(c, n, "%s must be between %ums and %ums", what,
			    min, max);
		return false;
	}
	*out = (unsigned)(v * mult);
	return true;
}

static void word_list(const struct rr_word *words, size_t n, char *buf,
		      size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      !i ? "" : i + 1 == n ? " or " : ", ",
				      words[i].name);
}

bool rr_pctx_word(struct rr_pctx *c, const yaml_node_t *n, const char *what,
		  const struct rr_word *words, size_t n_words, int *out)
{
	const char *s = rr_pctx_str(c, n, what);
	char list[160], q[RR_QUOTE_MAX];
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < n_words; i++) {
		if (!strcmp(s, words[i].name)) {
			*out = words[i].value;
			return true;
		}
	}
	word_list(words, n_words, list, sizeof(list));
	rr_pctx_err(c, n, "invalid %s \"%s\" (expected %s)", what,
		    rr_pctx_quote(s, q, sizeof(q)), list);
	return false;
}
