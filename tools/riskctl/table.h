/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Aligned text tables and "key: value" lines for human output.  Cells are
 * copied; control characters (which could drive the admin's terminal when
 * they come from a remote host name) are shown as \xNN; empty cells as "-".
 */
#ifndef RISKCTL_TABLE_H
#define RISKCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS 12

struct table {
	size_t ncols;
	const char *head[TABLE_MAX_COLS];
	char **cells; /* nrows * ncols, each sanitised */
	size_t nrows;
	size_t cap;
	int err;
};

void table_init(struct table *t, size_t ncols, const char *const *head);
/* Add one row of t->ncols cells (NULL or "" shows as "-"). */
void table_add(struct table *t, const char *const *row);
/* 0, or the first -ENOMEM from table_add. */
int table_print(const struct table *t, FILE *f);
void table_clear(struct table *t);

/* Sanitised copy of s for a terminal (malloc'd; NULL on ENOMEM). */
char *term_safe(const char *s);
/* "key:" padded to `width`, then the sanitised value or "-". */
void kv_print(FILE *f, int width, const char *key, const char *value);

#endif
