/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Store plumbing: SQLite result codes to errno, the statement cache,
 * transactions, binding and reading columns.
 */
#include "rr_store_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rrs_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTFOUND:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
		return -EINVAL;
	case SQLITE_NOTADB:
	case SQLITE_SCHEMA:
		return -EPROTO;
	default:
		return -EIO;
	}
}

int rrs_fail(rr_store *s, int err, const char *msg)
{
	snprintf(s->err, sizeof(s->err), "%s", msg);
	return err;
}

int rrs_error(rr_store *s, int rc)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : NULL;

	return rrs_fail(s, rrs_errno(rc) ? rrs_errno(rc) : -EIO,
			msg ? msg : sqlite3_errstr(rc));
}

int rrs_stmt(rr_store *s, enum rrs_query q, sqlite3_stmt **out)
{
	int rc;

	if (!s->stmt[q]) {
		rc = sqlite3_prepare_v3(s->db, rrs_sql[q], -1,
					SQLITE_PREPARE_PERSISTENT, &s->stmt[q],
					NULL);
		if (rc != SQLITE_OK)
			return rrs_error(s, rc);
	}
	*out = s->stmt[q];
	return 0;
}

void rrs_release(sqlite3_stmt *st)
{
	if (!st)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int bind_blob(sqlite3_stmt *st, int col, const void *v, size_t len)
{
	if (len > INT_MAX)
		return SQLITE_TOOBIG;
	/* A zero-length blob, never NULL. */
	if (!len)
		return sqlite3_bind_zeroblob(st, col, 0);
	return sqlite3_bind_blob(st, col, v, (int)len, SQLITE_STATIC);
}

int rrs_bind(rr_store *s, sqlite3_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = rrs_vbind(s, st, fmt, ap);
	va_end(ap);
	return err;
}

int rrs_row_exists(rr_store *s, enum rrs_query q, bool *yes, const char *fmt,
		   ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int r;

	*yes = false;
	r = rrs_stmt(s, q, &st);
	if (!r) {
		va_start(ap, fmt);
		r = rrs_vbind(s, st, fmt, ap);
		va_end(ap);
	}
	if (!r)
		r = rrs_step_row(s, st);
	rrs_release(st);
	if (r < 0)
		return r;
	*yes = r == 1;
	return 0;
}

int rrs_vbind(rr_store *s, sqlite3_stmt *st, const char *fmt, va_list ap)
{
	const void *b;
	const char *v;
	int i, rc = SQLITE_OK;

	for (i = 0; fmt[i] && rc == SQLITE_OK; i++) {
		if (fmt[i] == 'i') {
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			continue;
		}
		if (fmt[i] == 'b') {
			b = va_arg(ap, const void *);
			rc = bind_blob(st, i + 1, b, va_arg(ap, size_t));
			continue;
		}
		v = va_arg(ap, const char *);
		if (!v && fmt[i] == 't')
			rc = sqlite3_bind_null(st, i + 1);
		else
			rc = sqlite3_bind_text(st, i + 1, v ? v : "", -1,
					       SQLITE_STATIC);
	}
	return rc == SQLITE_OK ? 0 : rrs_error(s, rc);
}

int rrs_step_done(rr_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		return rrs_fail(s, -EIO, "statement returned a row");
	return rrs_error(s, rc);
}

int rrs_step_row(rr_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return rrs_error(s, rc);
}

static int vexec_q(rr_store *s, enum rrs_query q, const char *fmt,
		   va_list ap)
{
	sqlite3_stmt *st = NULL;
	int err;

	err = rrs_stmt(s, q, &st);
	if (!err)
		err = rrs_vbind(s, st, fmt, ap);
	if (!err)
		err = rrs_step_done(s, st);
	rrs_release(st);
	return err;
}

int rrs_exec_q(rr_store *s, enum rrs_query q, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vexec_q(s, q, fmt, ap);
	va_end(ap);
	return err;
}

int rrs_exec_own(rr_store *s, enum rrs_query q, const char *fmt, ...)
{
	va_list ap;
	bool own;
	int err;

	err = rrs_begin_own(s, true, &own);
	if (err)
		return err;
	va_start(ap, fmt);
	err = vexec_q(s, q, fmt, ap);
	va_end(ap);
	return own ? rrs_end(s, err) : err;
}

int rrs_exec(rr_store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : rrs_error(s, rc);
}

int rrs_begin(rr_store *s, bool write)
{
	if (s->in_snapshot && write)
		return rrs_fail(s, -EBUSY, "write inside a read snapshot");
	if (s->in_snapshot)
		return 0; /* joins it; rr_store_read_end ends it */
	s->touched = 0;
	s->touched_strict = false;
	s->audited = false;
	return rrs_exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int rrs_begin_own(rr_store *s, bool write, bool *own)
{
	*own = sqlite3_get_autocommit(s->db);
	return *own ? rrs_begin(s, write) : 0;
}

int rrs_end(rr_store *s, int err)
{
	if (s->in_snapshot)
		return err; /* rr_store_read_end ends it */
	if (!err && s->touched)
		err = rrs_shared_publish(s);
	if (!err)
		err = rrs_exec(s, "COMMIT");
	if (err && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	rrs_shared_after(s, err);
	return err;
}

void rrs_col_text(sqlite3_stmt *st, int col, char *buf, size_t len)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(buf, len, "%s", v ? (const char *)v : "");
}

static const char *col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v ? (const char *)v : "";
}

int rrs_col_level(sqlite3_stmt *st, int col, rr_level *out)
{
	return rr_level_parse(col_str(st, col), out) ? -EPROTO : 0;
}

int rrs_col_state(sqlite3_stmt *st, int col, rr_state *out)
{
	return rr_state_parse(col_str(st, col), out) ? -EPROTO : 0;
}

int rrs_col_detail(sqlite3_stmt *st, int col, rr_detail *out)
{
	return rr_detail_parse(col_str(st, col), out) ? -EPROTO : 0;
}

int rrs_col_event(sqlite3_stmt *st, int col, rr_event *out)
{
	return rr_event_parse(col_str(st, col), out) ? -EPROTO : 0;
}

int rrs_col_action(sqlite3_stmt *st, int col, rr_action *out)
{
	return rr_action_parse(col_str(st, col), out) ? -EPROTO : 0;
}

bool rrs_str_ok(const char *v, size_t max)
{
	return !v || strnlen(v, max + 1) <= max;
}

bool rrs_user_ok(const char *user)
{
	return user && *user && rrs_str_ok(user, RR_USER_MAX);
}

int64_t rrs_limit(size_t limit)
{
	if (!limit || limit > RR_STORE_MAX_ROWS)
		return RR_STORE_MAX_ROWS;
	return (int64_t)limit;
}

static int grow(void **buf, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p;

	if (ncap > RR_STORE_MAX_ROWS)
		ncap = RR_STORE_MAX_ROWS;
	p = reallocarray(*buf, ncap, size);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = ncap;
	return 0;
}

int rrs_fetch(rr_store *s, sqlite3_stmt *st, size_t size, rrs_fill_fn fill,
	      void **rows, size_t *n)
{
	void *buf = NULL;
	size_t cap = 0, cnt = 0;
	char *row;
	int r = 0, err = 0;

	while (cnt < RR_STORE_MAX_ROWS && (r = rrs_step_row(s, st)) == 1) {
		if (cnt == cap && (err = grow(&buf, &cap, size)))
			goto out;
		row = (char *)buf + cnt * size;
		memset(row, 0, size);
		err = fill(st, row);
		if (err) {
			rrs_fail(s, err, "unknown value in the store");
			goto out;
		}
		cnt++;
	}
	if (cnt < RR_STORE_MAX_ROWS && r < 0) {
		err = r;
		goto out;
	}
	*rows = buf;
	*n = cnt;
	buf = NULL;
out:
	free(buf);
	return err;
}

int rr_store_read_begin(rr_store *s)
{
	int err;

	if (!s || s->in_snapshot)
		return -EINVAL;
	err = rrs_begin(s, false);
	if (!err)
		s->in_snapshot = true;
	return err;
}

void rr_store_read_end(rr_store *s)
{
	if (!s || !s->in_snapshot)
		return;
	s->in_snapshot = false;
	/* only reads were made: ending them cannot lose anything, and the
	 * message of a failed read stays rr_store_last_error's */
	if (!sqlite3_get_autocommit(s->db) &&
	    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}
