/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal to the policy loader: the parse context, error collection and the
 * schema walker shared by rr_policy.c (entry points, YAML passes) and
 * rr_policy_schema.c (key tables and value handlers).
 */
#ifndef RR_POLICY_INT_H
#define RR_POLICY_INT_H

#include "rr_policy.h"

#include <yaml.h>

#define RR_POLICY_MAX_SCALAR 4096 /* bytes in any one YAML scalar */
#define RR_POLICY_MAX_DEPTH 32    /* nesting of mappings and lists */

struct rr_pctx {
	yaml_document_t *doc;
	rr_policy *p;
	rr_policy_errors *errs;
	size_t n_errors;
	bool oom;
	bool stop; /* syntax error: the document cannot be walked */
	unsigned char *visited; /* per node index: guards against aliases */
	size_t n_nodes;
	yaml_node_t *policies; /* deferred until named_locations is known */
	yaml_node_t *key; /* rr_pctx_walk: the key of the value handled */
	/* for checks across sections, after the walk (NULL: default) */
	yaml_node_t *agg_window;
	size_t refs_cap; /* allocated entries of p->refs */
	yaml_node_t *backend; /* store.backend's value, for the etcd gate */
};

/* A value handler: 0, or a negative errno that aborts the parse (-ENOMEM).
 * Content errors are recorded with rr_pctx_err() and return 0. */
typedef int (*rr_val_fn)(struct rr_pctx *c, yaml_node_t *val, void *obj);
typedef int (*rr_pair_fn)(struct rr_pctx *c, yaml_node_t *key,
			  yaml_node_t *val, void *obj);

/* Every key the loader accepts is written KEY("name", handler): the man page
 * check (tests/unit/policy/check_man_keys.sh) extracts them from here. */
#define KEY(n, f) { (n), (f), false }
/* A key that is no longer accepted where it was: its handler reports where
 * it went.  Not listed as expected in "unknown key" errors, not required in
 * the man page. */
#define MOVED_KEY(n, f) { (n), (f), true }

struct rr_key {
	const char *name;
	rr_val_fn fn;
	bool moved;
};

struct rr_schema {
	const struct rr_key *keys;
	size_t n;
};

#define RR_N(a) (sizeof(a) / sizeof((a)[0]))
#define RR_SCHEMA(keys) { (keys), RR_N(keys) }

void rr_pctx_err_at(struct rr_pctx *c, const yaml_mark_t *m, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));
void rr_pctx_err(struct rr_pctx *c, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* line 0 = about the whole file */
void rr_pctx_err_pos(struct rr_pctx *c, unsigned line, unsigned column,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Printable, truncated copy of a user-supplied string for messages. */
const char *rr_pctx_quote(const char *s, char *buf, size_t len);
#define RR_QUOTE_MAX 64

/* A child node; NULL when already visited (an alias, reported earlier). */
yaml_node_t *rr_pctx_child(struct rr_pctx *c, int index);
const char *rr_pctx_type_name(const yaml_node_t *n);
bool rr_pctx_expect(struct rr_pctx *c, const yaml_node_t *n,
		    yaml_node_type_t type, const char *what);

/* Mapping iteration with key checks (scalar keys, no duplicates, size cap).
 * `map` must be a mapping (rr_pctx_expect). */
int rr_pctx_for_each_pair(struct rr_pctx *c, yaml_node_t *map, rr_pair_fn fn,
			  void *obj);
/* Table-driven mapping: unknown keys are errors ("unknown key "x" in <what>").
 * *seen gets bit i for each key present; a node that is not a mapping is
 * reported and counts as having every key, so no "missing key" errors
 * follow. */
int rr_pctx_walk(struct rr_pctx *c, yaml_node_t *map, const char *what,
		 const struct rr_schema *s, void *obj, unsigned *seen);
void rr_pctx_require(struct rr_pctx *c, const yaml_node_t *map,
		     const char *what, const struct rr_schema *s,
		     unsigned seen, size_t i);

/* Lists: type check and length cap, then one call per item. */
bool rr_pctx_seq_len(struct rr_pctx *c, const yaml_node_t *seq,
		     const char *what, size_t max, size_t *n);
typedef int (*rr_item_fn)(struct rr_pctx *c, yaml_node_t *item, void *obj);
int rr_pctx_seq_each(struct rr_pctx *c, yaml_node_t *seq, rr_item_fn fn,
		     void *obj);

/* Scalars.  Each reports its own error and returns NULL / false. */
const char *rr_pctx_str(struct rr_pctx *c, const yaml_node_t *n,
			const char *what);
bool rr_pctx_bool(struct rr_pctx *c, const yaml_node_t *n, bool *out);
bool rr_pctx_uint(struct rr_pctx *c, const yaml_node_t *n, const char *what,
		  unsigned min, unsigned max, unsigned *out);
bool rr_pctx_duration(struct rr_pctx *c, const yaml_node_t *n,
		      const char *what, unsigned min, unsigned max,
		      unsigned *out);
/* The same in milliseconds: also accepts the unit ms ("100ms"); a plain
 * number is still seconds.  min and max are in milliseconds. */
bool rr_pctx_duration_ms(struct rr_pctx *c, const yaml_node_t *n,
			 const char *what, unsigned min, unsigned max,
			 unsigned *out);

struct rr_word {
	const char *name;
	int value;
};

/* One of `words`; the error lists them: invalid <what> "x" (expected a, b
 * or c). */
bool rr_pctx_word(struct rr_pctx *c, const yaml_node_t *n, const char *what,
		  const struct rr_word *words, size_t n_words, int *out);

/* Schema entry: the whole document root. */
int rr_policy_schema_root(struct rr_pctx *c, yaml_node_t *root);
/* After the root: the policies list, which refers to named_locations. */
int rr_policy_schema_policies(struct rr_pctx *c);

/* Ownership helpers shared with rr_policy.c. */
void rr_names_clear(rr_names *n);
void rr_assign_clear(rr_assign *a);
/* rr_policy_schema.c: store.etcd's strings. */
void rr_policy_etcd_clear(rr_policy_etcd *e);

#endif
