/* SPDX-License-Identifier: BSD-3-Clause */
/* policy check [FILE] */
#include "json.h"
#include "riskctl.h"
#include "rr_secfile.h"

#include <stdio.h>

static void json_errors(struct json *j, const rr_policy_errors *e)
{
	size_t i;

	json_arr_begin(j);
	for (i = 0; i < e->n; i++) {
		json_obj_begin(j);
		json_kint(j, "line", e->items[i].line);
		json_kint(j, "column", e->items[i].column);
		json_kstr(j, "message", e->items[i].message);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static int check_json(const char *path, const rr_policy *p,
		      const rr_policy_errors *e, int err)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "file", path);
	json_kbool(&j, "valid", p != NULL);
	json_kint(&j, "policies", p ? (int64_t)p->n_policies : 0);
	json_key(&j, "errors");
	json_errors(&j, e);
	json_kbool(&j, "truncated", e->truncated);
	/* A whole-file failure with no located error (e.g. ENOENT). */
	json_kstr(&j, "fileError",
		  !p && e->n == 0 ? rr_secfile_strerror(err) : NULL);
	json_obj_end(&j);
	return json_finish(&j);
}

static int check_text(const char *path, const rr_policy *p,
		      const rr_policy_errors *e, int err)
{
	char line[512];
	size_t i;

	if (p) {
		printf("%s: OK (%zu polic%s)\n", path, p->n_policies,
		       p->n_policies == 1 ? "y" : "ies");
		return 0;
	}
	for (i = 0; i < e->n; i++) {
		rr_policy_error_format(e, i, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (e->truncated)
		ctl_err("%s: more errors not shown", path);
	if (e->n == 0)
		ctl_err("%s: %s", path, rr_secfile_strerror(err));
	else if (e->items[0].line > 0)
		ctl_err("%s: %zu error%s", path, e->n, e->n == 1 ? "" : "s");
	return 0;
}

int cmd_policy(struct ctl *c)
{
	const char *path = c->n_args ? c->args[0] : c->policy_path;
	rr_policy_errors errs = {0};
	rr_policy *p = NULL;
	int r, w;

	r = rr_policy_load(path, &p, &errs);
	if (r < 0)
		p = NULL;
	if (c->json)
		w = check_json(path, p, &errs, r);
	else
		w = check_text(path, p, &errs, r);
	rr_policy_errors_clear(&errs);
	rr_policy_free(p);
	if (r < 0)
		return RC_POLICY;
	return fail_output(w);
}
