/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The files a policy names, checked by the rules of the code that opens
 * them (rr_secfile for lists and the leaked-credentials files, the MFA
 * key's and the store's own stricter rules).  Nothing is read or created;
 * nothing is logged: problems are returned as located policy errors.
 */
#include "rr_policy.h"
#include "rr_secfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Why a file is refused, in admin words; NULL when it is fine. */
static const char *trusted_problem(const struct stat *st,
				   unsigned long long max, char *buf,
				   size_t len)
{
	if (!S_ISREG(st->st_mode))
		return "is not a regular file (refused)";
	if (st->st_uid != 0)
		return "is not owned by root (refused)";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "is group/other-writable (refused)";
	if (max && (unsigned long long)st->st_size > max) {
		snprintf(buf, len, "is larger than %llu bytes (refused)", max);
		return buf;
	}
	return NULL;
}

/* The key and the store are secrets: nothing for group or other. */
static const char *private_problem(const struct stat *st, char *buf,
				   size_t len)
{
	if (!S_ISREG(st->st_mode))
		return "is not a regular file (refused)";
	if (st->st_uid != 0)
		return "is not owned by root (refused)";
	if (st->st_mode & 077) {
		snprintf(buf, len, "has mode %04o: group/other must have no "
			 "access (chmod 0600)", (unsigned)(st->st_mode & 07777));
		return buf;
	}
	return NULL;
}

static const char *key_problem(const struct stat *st, char *buf, size_t len)
{
	const char *why = private_problem(st, buf, len);

	if (!why && st->st_size != RR_POLICY_KEY_LEN) {
		snprintf(buf, len, "is %lld bytes, not the %d of a key "
			 "(refused)", (long long)st->st_size,
			 RR_POLICY_KEY_LEN);
		return buf;
	}
	return why;
}

static const char *absent_problem(const struct rr_policy_ref *r, bool *warn)
{
	*warn = false;
	if (r->kind == RR_REF_STORE)
		return NULL; /* rr_store_open creates it (and its directory) */
	if (r->kind == RR_REF_KEY) {
		*warn = true;
		return "does not exist yet; it is created at the first MFA "
		       "registration";
	}
	return "does not exist";
}

/* The problem with the file `r` names, NULL when none; *warn: it is only
 * a warning. */
static const char *ref_problem(const struct rr_policy_ref *r, char *buf,
			       size_t len, bool *warn)
{
	struct stat st;
	int e = rr_secfile_stat(r->path, &st);

	*warn = false;
	if (e == -ENOENT)
		return absent_problem(r, warn);
	if (e < 0)
		return rr_secfile_strerror(e);
	if (r->kind == RR_REF_KEY)
		return key_problem(&st, buf, len);
	if (r->kind == RR_REF_STORE && !private_problem(&st, buf, len) &&
	    st.st_nlink != 1)
		return "has another name (a hard link; refused)";
	if (r->kind == RR_REF_STORE)
		return private_problem(&st, buf, len);
	return trusted_problem(&st, r->max, buf, len);
}

static int errors_add(rr_policy_errors *e, const char *name,
		      const struct rr_policy_ref *r, const char *why)
{
	rr_policy_error *it;

	if (!e)
		return 0;
	if (!e->file && !(e->file = strdup(name ? name : "<policy>")))
		return -ENOMEM;
	if (e->n >= RR_POLICY_MAX_ERRORS) {
		e->truncated = true;
		return 0;
	}
	it = realloc(e->items, (e->n + 1) * sizeof(*it));
	if (!it)
		return -ENOMEM;
	e->items = it;
	it = &e->items[e->n++];
	it->line = r->line;
	it->column = r->column;
	snprintf(it->message, sizeof(it->message), "%s: %s: %s", r->key,
		 r->path, why);
	return 0;
}

/* A default the policy does not write: checked at line 0. */
static bool has_kind(const rr_policy *p, rr_policy_ref_kind kind)
{
	size_t i;

	for (i = 0; i < p->n_refs; i++)
		if (p->refs[i].kind == kind)
			return true;
	return false;
}

static int check_one(const struct rr_policy_ref *r, const char *name,
		     rr_policy_errors *errs, rr_policy_errors *warns,
		     unsigned *n_err)
{
	char buf[128];
	bool warn;
	const char *why = ref_problem(r, buf, sizeof(buf), &warn);

	if (!why)
		return 0;
	if (warn)
		return errors_add(warns, name, r, why);
	(*n_err)++;
	return errors_add(errs, name, r, why);
}

static int check_default(const rr_policy *p, rr_policy_ref_kind kind,
			 const char *key, const char *path, const char *name,
			 rr_policy_errors *errs, rr_policy_errors *warns,
			 unsigned *n_err)
{
	struct rr_policy_ref r = { .kind = kind };

	if (!path || has_kind(p, kind))
		return 0;
	snprintf(r.key, sizeof(r.key), "%s", key);
	r.path = (char *)path;
	return check_one(&r, name, errs, warns, n_err);
}

int rr_policy_check_files(const rr_policy *p, const char *name,
			  rr_policy_errors *errs, rr_policy_errors *warns)
{
	unsigned n_err = 0;
	size_t i;
	int r;

	if (!p)
		return -EINVAL;
	r = check_default(p, RR_REF_STORE, "store.path", p->store_path, name,
			  errs, warns, &n_err);
	if (r == 0)
		r = check_default(p, RR_REF_KEY, "mfa.key_file",
				  p->mfa.key_file, name, errs, warns, &n_err);
	for (i = 0; r == 0 && i < p->n_refs; i++)
		r = check_one(&p->refs[i], name, errs, warns, &n_err);
	if (r < 0)
		return r;
	return n_err ? -EINVAL : 0;
}
