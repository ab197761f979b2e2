/* SPDX-License-Identifier: BSD-3-Clause */
#include "table.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void table_init(struct table *t, size_t ncols, const char *const *head)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->ncols = ncols < TABLE_MAX_COLS ? ncols : TABLE_MAX_COLS;
	for (i = 0; i < t->ncols; i++)
		t->head[i] = head[i];
}

/* Control bytes (C0, DEL) and UTF-8-encoded C1 controls become \xNN. */
char *term_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p), o = 0, i;
	char *out = malloc(len * 4 + 2);

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		bool c1 = p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;

		if (c1) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[++i]);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
		} else {
			out[o++] = (char)p[i];
		}
	}
	if (o == 0)
		out[o++] = '-';
	out[o] = '\0';
	return out;
}

static int grow(struct table *t)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	char **n;

	n = reallocarray(t->cells, cap * t->ncols, sizeof(*n));
	if (!n)
		return -ENOMEM;
	t->cells = n;
	t->cap = cap;
	return 0;
}

void table_add(struct table *t, const char *const *row)
{
	size_t i;

	if (t->err || (t->nrows == t->cap && (t->err = grow(t))))
		return;
	for (i = 0; i < t->ncols; i++) {
		char *c = term_safe(row[i]);

		if (!c) {
			t->err = -ENOMEM;
			while (i--)
				free(t->cells[t->nrows * t->ncols + i]);
			return;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
}

/* Display width: count UTF-8 lead bytes, not continuation bytes. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void cell(FILE *f, const char *s, size_t w, bool last)
{
	size_t pad = w - width(s);

	fputs(s, f);
	if (last)
		return;
	while (pad--)
		fputc(' ', f);
	fputs("  ", f);
}

int table_print(const struct table *t, FILE *f)
{
	size_t w[TABLE_MAX_COLS], r, i;

	if (t->err)
		return t->err;
	for (i = 0; i < t->ncols; i++) {
		w[i] = width(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			size_t x = width(t->cells[r * t->ncols + i]);

			if (x > w[i])
				w[i] = x;
		}
	}
	for (i = 0; i < t->ncols; i++)
		cell(f, t->head[i], w[i], i + 1 == t->ncols);
	fputc('\n', f);
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++)
			cell(f, t->cells[r * t->ncols + i], w[i],
			     i + 1 == t->ncols);
		fputc('\n', f);
	}
	return 0;
}

void table_clear(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void kv_print(FILE *f, int w, const char *key, const char *value)
{
	char *v = term_safe(value);

	fprintf(f, "%-*s %s\n", w, key, v ? v : "?");
	free(v);
}
