/* SPDX-License-Identifier: BSD-3-Clause */
#include "json.h"
#include "riskctl.h"
#include "rr_utf8.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

void json_init_compact(struct json *j, FILE *f)
{
	json_init(j, f);
	j->compact = true;
}

static void indent(struct json *j)
{
	unsigned i;

	if (j->compact)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Separator and indentation before a value or a key. */
static void before(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	indent(j);
}

static void container_begin(struct json *j, char c)
{
	before(j);
	fputc(c, j->f);
	if (j->depth + 1 >= JSON_MAX_DEPTH) {
		j->error = true;
		return;
	}
	j->depth++;
	j->first[j->depth] = true;
}

static void container_end(struct json *j, char c)
{
	bool empty;

	if (j->depth == 0 || j->after_key) {
		j->error = true;
		return;
	}
	empty = j->first[j->depth];
	j->depth--;
	if (!empty)
		indent(j);
	fputc(c, j->f);
}

void json_obj_begin(struct json *j)
{
	container_begin(j, '{');
}

void json_obj_end(struct json *j)
{
	container_end(j, '}');
}

void json_arr_begin(struct json *j)
{
	container_begin(j, '[');
}

void json_arr_end(struct json *j)
{
	container_end(j, ']');
}


static void escape_ascii(FILE *f, unsigned char c)
{
	switch (c) {
	case '"':
		fputs("\\\"", f);
		break;
	case '\\':
		fputs("\\\\", f);
		break;
	case '\n':
		fputs("\\n", f);
		break;
	case '\t':
		fputs("\\t", f);
		break;
	case '\r':
		fputs("\\r", f);
		break;
	default:
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
		break;
	}
}

void json_escape(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = rr_utf8_decode(p + i, len - i, &cp);

		if (n == 1)
			escape_ascii(f, p[i]);
		else if (n == 0)
			fputs("\\ufffd", f);
		else
			fwrite(p + i, 1, n, f);
		i += n ? n : 1;
	}
}

void json_key(struct json *j, const char *key)
{
	before(j);
	fputc('"', j->f);
	json_escape(j->f, key, strlen(key));
	fputs(j->compact ? "\":" : "\": ", j->f);
	j->after_key = true;
}

void json_str(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	before(j);
	fputc('"', j->f);
	json_escape(j->f, s, strlen(s));
	fputc('"', j->f);
}

void json_int(struct json *j, int64_t v)
{
	before(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_bool(struct json *j, bool v)
{
	before(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	before(j);
	fputs("null", j->f);
}

void json_kstr(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kint(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kbool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_ktime(struct json *j, const char *key, int64_t t)
{
	char buf[32];

	json_key(j, key);
	if (t == 0) {
		json_null(j);
		return;
	}
	ctl_time_iso(t, buf, sizeof(buf));
	json_str(j, buf);
}

int json_finish(struct json *j)
{
	fputc('\n', j->f);
	if (j->error || j->depth != 0 || j->after_key)
		return -EIO;
	return fflush(j->f) == 0 && !ferror(j->f) ? 0 : -EIO;
}
