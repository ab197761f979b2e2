/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Strict JSON helpers of the fleet model's codecs (jansson): reading a
 * field checks its type, range and spelling; anything else is -EPROTO.
 */
#include "rr_fleet_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int rr_fj_load(const char *text, size_t len, size_t cap, json_t **out)
{
	json_t *j;

	if (!text || len == 0 || len > cap)
		return -EPROTO;
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return -EPROTO;
	if (!json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	*out = j;
	return 0;
}

static bool known(const char *key, const char *const *fields)
{
	for (; *fields; fields++)
		if (!strcmp(key, *fields))
			return true;
	return false;
}

int rr_fj_fields(const json_t *o, const char *const *fields)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(o))
		return -EPROTO;
	json_object_foreach ((json_t *)o, key, v)
		if (!known(key, fields))
			return -EPROTO;
	return 0;
}

int rr_fj_version(const json_t *o)
{
	const json_t *v = json_object_get(o, "v");

	if (!json_is_integer(v) || json_integer_value(v) != RR_FLEET_SCHEMA)
		return -EPROTO;
	return 0;
}

int rr_fj_int(const json_t *o, const char *name, int64_t lo, int64_t hi,
	      int64_t *out)
{
	const json_t *v = json_object_get(o, name);
	json_int_t n;

	if (!json_is_integer(v))
		return -EPROTO;
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return -EPROTO;
	*out = (int64_t)n;
	return 0;
}

int rr_fj_time(const json_t *o, const char *name, int64_t *out)
{
	return rr_fj_int(o, name, 0, RR_FLEET_TIME_MAX, out);
}

int rr_fj_bool(const json_t *o, const char *name, bool *out)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_boolean(v))
		return -EPROTO;
	*out = json_is_true(v);
	return 0;
}

bool rr_fj_printable(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len > max || strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return false;
	return true;
}

bool rr_fj_ascii(const char *s, size_t len, size_t max)
{
	size_t i;

	if (!rr_fj_printable(s, len, max))
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int rr_fj_str(const json_t *o, const char *name, size_t min, size_t max,
	      char *dst)
{
	const json_t *v = json_object_get(o, name);
	size_t n;

	if (!json_is_string(v))
		return -EPROTO;
	n = json_string_length(v);
	if (n < min || !rr_fj_printable(json_string_value(v), n, max))
		return -EPROTO;
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

int rr_fj_enum(const json_t *o, const char *name,
	       int (*parse)(const char *s, int *out), int *out)
{
	const json_t *v = json_object_get(o, name);

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -EPROTO;
	return parse(json_string_value(v), out) < 0 ? -EPROTO : 0;
}

int rr_fj_b64(const json_t *o, const char *name, size_t max, uint8_t *dst,
	      size_t *out_len)
{
	const json_t *v = json_object_get(o, name);
	const char *s, *end = NULL;
	size_t n, blen = 0;

	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n % 4 || n / 4 * 3 > max + 2)
		return -EPROTO;
	if (sodium_base642bin(dst, max, s, n, NULL, &blen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n || blen == 0) {
		sodium_memzero(dst, max);
		return -EPROTO;
	}
	*out_len = blen;
	return 0;
}

/* Zero a string member's text in place before the tree is freed: jansson
 * frees it without zeroing. */
void rr_fj_wipe(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		sodium_memzero((char *)(uintptr_t)json_string_value(v),
			       json_string_length(v));
}

int rr_fj_set(json_t *o, const char *name, json_t *v)
{
	if (!v)
		return -ENOMEM;
	return json_object_set_new(o, name, v) < 0 ? -ENOMEM : 0;
}

int rr_fj_set_b64(json_t *o, const char *name, const uint8_t *bin,
		  size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len,
					       sodium_base64_VARIANT_ORIGINAL);
	char *buf = malloc(cap);
	int r;

	if (!buf)
		return -ENOMEM;
	sodium_bin2base64(buf, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
	r = rr_fj_set(o, name, json_string(buf));
	sodium_memzero(buf, cap);
	free(buf);
	return r;
}

int rr_fj_dump(json_t *o, size_t cap, char **out, size_t *len)
{
	size_t n = json_dumpb(o, NULL, 0, JSON_COMPACT);
	char *buf;

	if (n == 0 || n > cap)
		return n ? -EINVAL : -ENOMEM;
	buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	if (json_dumpb(o, buf, n, JSON_COMPACT) != n) {
		sodium_memzero(buf, n);
		free(buf);
		return -ENOMEM;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
