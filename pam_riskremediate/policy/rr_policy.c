/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy loader entry points.  Two passes over the text:
 *   1. libyaml events: syntax errors, aliases (refused: no billion laughs),
 *      extra documents, nesting depth;
 *   2. libyaml document: the schema walk (rr_policy_schema.c).
 * The result is owned by the caller and released with rr_policy_free().
 */
#include "rr_policy_int.h"
#include "rr_secfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ownership ----------------------------------------------------------- */

void rr_names_clear(rr_names *n)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		free(n->names[i]);
	free(n->names);
	memset(n, 0, sizeof(*n));
}

void rr_assign_clear(rr_assign *a)
{
	rr_names_clear(&a->include);
	rr_names_clear(&a->exclude);
	a->given = false;
}

static void ca_policy_clear(rr_ca_policy *cp)
{
	free(cp->name);
	rr_assign_clear(&cp->users);
	rr_assign_clear(&cp->groups);
	rr_assign_clear(&cp->services);
	free(cp->loc_include);
	free(cp->loc_exclude);
}

static void detection_clear(rr_detection_cfg *d)
{
	size_t i;

	for (i = 0; i < d->n_lists; i++) {
		free(d->lists[i]);
		if (d->feeds)
			free(d->feeds[i]);
	}
	free(d->lists);
	free(d->feeds);
	d->lists = NULL;
	d->feeds = NULL;
	d->n_lists = 0;
	free(d->range_url);
	free(d->ca_file);
	free(d->hash_file);
	d->range_url = NULL;
	d->ca_file = NULL;
	d->hash_file = NULL;
}

void rr_policy_free(rr_policy *p)
{
	size_t i;

	if (!p)
		return;
	free(p->issuer);
	free(p->store_path);
	rr_policy_etcd_clear(&p->etcd);
	free(p->mfa.key_file);
	for (i = 0; i < p->n_locations; i++) {
		free(p->locations[i].name);
		free(p->locations[i].cidrs);
	}
	free(p->locations);
	rr_assign_clear(&p->mfa_registration.users);
	rr_assign_clear(&p->mfa_registration.groups);
	for (i = 0; i < RR_EVENT__COUNT; i++)
		detection_clear(&p->detections[i]);
	for (i = 0; i < p->n_policies; i++)
		ca_policy_clear(&p->policies[i]);
	free(p->policies);
	for (i = 0; i < p->n_refs; i++)
		free(p->refs[i].path);
	free(p->refs);
	free(p);
}

/* rr_policy_init_defaults() allocates the default strings and leaves them
 * NULL when out of memory. */
static int policy_new(rr_policy **out)
{
	rr_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	rr_policy_init_defaults(p);
	if (!p->issuer || !p->store_path || !p->mfa.key_file) {
		rr_policy_free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/* ---- errors -------------------------------------------------------------- */

void rr_policy_errors_clear(rr_policy_errors *e)
{
	if (!e)
		return;
	free(e->file);
	free(e->items);
	memset(e, 0, sizeof(*e));
}

void rr_policy_error_format(const rr_policy_errors *e, size_t i, char *buf,
			    size_t len)
{
	const rr_policy_error *it;
	const char *file;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (!e || i >= e->n)
		return;
	it = &e->items[i];
	file = e->file ? e->file : "<policy>";
	if (it->line)
		snprintf(buf, len, "%s:%u:%u: %s", file, it->line, it->column,
			 it->message);
	else
		snprintf(buf, len, "%s: %s", file, it->message);
}

static int error_cmp(const void *a, const void *b)
{
	const rr_policy_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return strcmp(x->message, y->message);
}

/* ---- pass 1: events ------------------------------------------------------ */

/* Reader errors (bad UTF-8, control characters) carry a byte offset. */
static void offset_pos(const char *buf, size_t len, size_t off,
		       unsigned *line, unsigned *col)
{
	size_t i, start = 0;

	*line = 1;
	for (i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			start = i + 1;
		}
	}
	*col = (unsigned)(i - start) + 1;
}

static void syntax_error(struct rr_pctx *c, const yaml_parser_t *ps,
			 const char *buf, size_t len)
{
	const char *problem = ps->problem ? ps->problem : "unknown error";
	unsigned line, col;

	c->stop = true;
	if (ps->error == YAML_MEMORY_ERROR) {
		c->oom = true;
	} else if (ps->error == YAML_READER_ERROR) {
		offset_pos(buf, len, ps->problem_offset, &line, &col);
		rr_pctx_err_pos(c, line, col, "invalid text: %s", problem);
	} else {
		rr_pctx_err_at(c, &ps->problem_mark, "syntax error: %s%s%s",
			       problem, ps->context ? " " : "",
			       ps->context ? ps->context : "");
	}
}

struct scan {
	int depth;
	int docs;
};

/* true when the scan is over */
static bool scan_event(struct rr_pctx *c, const yaml_event_t *ev,
		       struct scan *s)
{
	yaml_event_type_t t = ev->type;

	if (t == YAML_ALIAS_EVENT) {
		rr_pctx_err_at(c, &ev->start_mark, "aliases are not allowed");
	} else if (t == YAML_DOCUMENT_START_EVENT && ++s->docs > 1) {
		rr_pctx_err_at(c, &ev->start_mark,
			       "only one YAML document is allowed");
		return true;
	} else if (t == YAML_MAPPING_START_EVENT ||
		   t == YAML_SEQUENCE_START_EVENT) {
		if (++s->depth > RR_POLICY_MAX_DEPTH) {
			rr_pctx_err_at(c, &ev->start_mark, "nesting is too "
				       "deep (max %d levels)",
				       RR_POLICY_MAX_DEPTH);
			c->stop = true;
			return true;
		}
	} else if (t == YAML_MAPPING_END_EVENT ||
		   t == YAML_SEQUENCE_END_EVENT) {
		s->depth--;
	}
	return t == YAML_STREAM_END_EVENT;
}

static void parser_input(yaml_parser_t *ps, const char *buf, size_t len)
{
	yaml_parser_set_input_string(ps, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(ps, YAML_UTF8_ENCODING);
}

static int scan_events(struct rr_pctx *c, const char *buf, size_t len)
{
	struct scan s = { 0 };
	yaml_parser_t ps;
	yaml_event_t ev;
	bool done = false;

	if (!yaml_parser_initialize(&ps))
		return -ENOMEM;
	parser_input(&ps, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&ps, &ev)) {
			syntax_error(c, &ps, buf, len);
			break;
		}
		done = scan_event(c, &ev, &s);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&ps);
	return c->oom ? -ENOMEM : 0;
}

/* ---- pass 2: document ---------------------------------------------------- */

static int walk_document(struct rr_pctx *c, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	int r = 0;

	c->n_nodes = (size_t)(doc->nodes.top - doc->nodes.start);
	c->visited = calloc(c->n_nodes + 1, 1);
	if (!c->visited)
		return -ENOMEM; /* c->doc not set: it would outlive *doc */
	c->doc = doc;
	if (!root) {
		rr_pctx_err_pos(c, 1, 1, "the policy is empty (expected at "
				"least \"version: 1\")");
		goto out;
	}
	c->visited[1] = 1;
	r = rr_policy_schema_root(c, root);
	if (r == 0)
		r = rr_policy_schema_policies(c);
out:
	free(c->visited);
	c->visited = NULL;
	c->doc = NULL;
	return r;
}

static int load_document(struct rr_pctx *c, const char *buf, size_t len)
{
	yaml_parser_t ps;
	yaml_document_t doc;
	int r = 0;

	if (!yaml_parser_initialize(&ps))
		return -ENOMEM;
	parser_input(&ps, buf, len);
	if (!yaml_parser_load(&ps, &doc)) {
		syntax_error(c, &ps, buf, len);
		goto out;
	}
	r = walk_document(c, &doc);
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&ps);
	return r;
}

/* ---- entry points -------------------------------------------------------- */

static int errors_start(rr_policy_errors *errs, const char *name)
{
	if (!errs)
		return 0;
	rr_policy_errors_clear(errs);
	errs->file = strdup(name ? name : "<policy>");
	return errs->file ? 0 : -ENOMEM;
}

static int parse_text(struct rr_pctx *c, const char *buf, size_t len)
{
	int r;

	if (len > RR_POLICY_MAX_BYTES) {
		rr_pctx_err_pos(c, 0, 0, "larger than %d bytes",
				RR_POLICY_MAX_BYTES);
		return -EFBIG;
	}
	r = policy_new(&c->p);
	if (r == 0)
		r = scan_events(c, buf, len);
	if (r == 0 && !c->stop)
		r = load_document(c, buf, len);
	if (r == 0 && c->oom)
		r = -ENOMEM;
	if (r == 0 && c->n_errors)
		r = -EINVAL;
	return r;
}

int rr_policy_parse(const char *name, const char *buf, size_t len,
		    rr_policy **out, rr_policy_errors *errs)
{
	struct rr_pctx c = { .errs = errs };
	int r;

	if (!buf || !out)
		return -EINVAL;
	r = errors_start(errs, name);
	if (r < 0)
		return r;
	r = parse_text(&c, buf, len);
	if (errs && errs->n > 1)
		qsort(errs->items, errs->n, sizeof(*errs->items), error_cmp);
	if (r < 0) {
		rr_policy_free(c.p);
		return r;
	}
	rr_policy_errors_clear(errs);
	*out = c.p;
	return 0;
}

static int file_error(const char *path, int err, rr_policy_errors *errs)
{
	if (!errs)
		return err;
	rr_policy_errors_clear(errs);
	errs->file = strdup(path);
	errs->items = calloc(1, sizeof(*errs->items));
	if (!errs->file || !errs->items)
		return err;
	errs->n = 1;
	snprintf(errs->items[0].message, sizeof(errs->items[0].message),
		 "%s", rr_secfile_strerror(err));
	return err;
}

int rr_policy_load(const char *path, rr_policy **out, rr_policy_errors *errs)
{
	return rr_policy_load_stable(path, NULL, out, errs);
}

int rr_policy_load_stable(const char *path, const rr_secfile_stable *o,
			  rr_policy **out, rr_policy_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !out)
		return -EINVAL;
	r = rr_secfile_read_stable(path, RR_POLICY_MAX_BYTES, o, &buf, &len);
	if (r < 0)
		return file_error(path, r, errs);
	r = rr_policy_parse(path, buf, len, out, errs);
	free(buf);
	return r;
}
