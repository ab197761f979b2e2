/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy check [FILE]: the policy, then every file it names, by the
 * module's rules.  policy install FILE: the same checks on FILE, then FILE
 * replaces the policy (--policy DEST) atomically: a reader sees the old
 * policy or the new one, never a part.
 */
#include "json.h"
#include "riskctl.h"
#include "rr_iplist.h"
#include "rr_mfa.h"
#include "rr_secfile.h"
#include "rr_writefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The policy layer's copies of the limits of the code that opens them. */
_Static_assert(RR_POLICY_KEY_LEN == RR_MFA_KEY_LEN, "MFA key length");
_Static_assert(RR_POLICY_LIST_MAX_BYTES == RR_IPLIST_MAX_BYTES,
	       "IP list size cap");

#define DEST_MODE 0644

/* A policy and the files it names, checked. */
struct checked {
	rr_policy *p;          /* NULL when it did not parse */
	rr_policy_errors errs; /* parse errors, then the files' */
	rr_policy_errors warns;
	int r;                 /* 0 valid, negative errno */
};

static void checked_clear(struct checked *k)
{
	rr_policy_free(k->p);
	rr_policy_errors_clear(&k->errs);
	rr_policy_errors_clear(&k->warns);
	k->p = NULL;
}

/* Parse `buf` (read from `path`), then check the files it names. */
static int check_text_of(const char *path, const char *buf, size_t len,
			 struct checked *k)
{
	k->r = rr_policy_parse(path, buf, len, &k->p, &k->errs);
	if (k->r < 0) {
		k->p = NULL;
		return k->r;
	}
	k->r = rr_policy_check_files(k->p, path, &k->errs, &k->warns);
	return k->r;
}

/* Read `path` by the module's rules (a version that is not being
 * rewritten); *buf is the exact text checked. */
static int check_file(const char *path, struct checked *k, char **buf,
		      size_t *len)
{
	int r = rr_secfile_read_stable(path, RR_POLICY_MAX_BYTES, NULL, buf,
				       len);

	if (r < 0) {
		k->r = r;
		return r;
	}
	return check_text_of(path, *buf, *len, k);
}

/* ---- output ----------------------------------------------------------- */

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

static int check_json(const char *path, const struct checked *k)
{
	struct json j;

	json_init(&j, stdout);
	json_obj_begin(&j);
	json_kstr(&j, "file", path);
	json_kbool(&j, "valid", k->r == 0);
	json_kint(&j, "policies", k->p ? (int64_t)k->p->n_policies : 0);
	json_key(&j, "errors");
	json_errors(&j, &k->errs);
	json_kbool(&j, "truncated", k->errs.truncated);
	json_key(&j, "warnings");
	json_errors(&j, &k->warns);
	/* A whole-file failure with no located error (e.g. ENOENT). */
	json_kstr(&j, "fileError",
		  k->r < 0 && k->errs.n == 0 ? rr_secfile_strerror(k->r)
					      : NULL);
	json_obj_end(&j);
	return json_finish(&j);
}

/* "file:line:column: [warning: ]message" lines on stderr. */
static void print_items(const rr_policy_errors *e, const char *tag)
{
	char line[512];
	size_t i;

	for (i = 0; i < e->n; i++) {
		const rr_policy_error *it = &e->items[i];

		if (it->line)
			snprintf(line, sizeof(line), "%s:%u:%u: %s%s",
				 e->file, it->line, it->column, tag,
				 it->message);
		else
			snprintf(line, sizeof(line), "%s: %s%s", e->file, tag,
				 it->message);
		fprintf(stderr, "%s\n", line);
	}
}

/* Errors and warnings on stderr; true when the policy is valid. */
static bool report(const char *path, const struct checked *k)
{
	const rr_policy_errors *e = &k->errs;

	print_items(e, "");
	print_items(&k->warns, "warning: ");
	if (k->r == 0)
		return true;
	if (e->truncated)
		ctl_err("%s: more errors not shown", path);
	if (e->n == 0)
		ctl_err("%s: %s", path, rr_secfile_strerror(k->r));
	else
		ctl_err("%s: %zu error%s", path, e->n, e->n == 1 ? "" : "s");
	return false;
}

static void print_ok(const char *path, const rr_policy *p, const char *what)
{
	printf("%s: %s (%zu polic%s)\n", path, what, p->n_policies,
	       p->n_policies == 1 ? "y" : "ies");
}

int cmd_policy(struct ctl *c)
{
	const char *path = c->n_args ? c->args[0] : c->policy_path;
	struct checked k = {0};
	char *buf = NULL;
	size_t len = 0;
	int w;

	check_file(path, &k, &buf, &len);
	free(buf);
	if (c->json) {
		w = check_json(path, &k);
	} else {
		w = 0;
		if (report(path, &k))
			print_ok(path, k.p, "OK");
	}
	checked_clear(&k);
	if (k.r < 0)
		return RC_POLICY;
	return fail_output(w);
}

/* ---- install ---------------------------------------------------------- */

/* 0644, or the mode of the policy it replaces when that is stricter. */
static mode_t dest_mode(const char *dest)
{
	struct stat st;

	if (rr_secfile_stat(dest, &st) < 0 || !S_ISREG(st.st_mode))
		return DEST_MODE;
	if ((st.st_mode & 07777 & ~(mode_t)DEST_MODE) != 0)
		return DEST_MODE;
	return st.st_mode & DEST_MODE;
}

static int install_text(const char *dest, const char *buf, size_t len)
{
	struct iovec part = { .iov_base = (void *)buf, .iov_len = len };
	int r;

	r = rr_replace_file(dest, &part, 1, dest_mode(dest),
			    RR_REPLACE_DURABLE);
	if (r < 0)
		ctl_err("%s: cannot replace it: %s (it is unchanged)", dest,
			strerror(-r));
	return r;
}

int cmd_policy_install(struct ctl *c)
{
	const char *src = c->args[0], *dest = c->policy_path;
	struct checked k = {0};
	char *buf = NULL;
	size_t len = 0;
	int rc = RC_POLICY;

	check_file(src, &k, &buf, &len);
	if (!report(src, &k)) {
		ctl_err("%s: not installed; %s is unchanged", src, dest);
		goto out;
	}
	if (install_text(dest, buf, len) < 0)
		goto out;
	print_ok(dest, k.p, "installed");
	rc = RC_OK;
out:
	free(buf);
	checked_clear(&k);
	return rc;
}
