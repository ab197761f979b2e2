/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the front <-> riskd frame parser on any bytes.  It
 * either refuses the input (-EBADMSG, -EMSGSIZE, -ENOMEM) holding nothing,
 * or gives at most 24 fields, each absent or a string of its stated length,
 * whose re-encoding is exactly the input: the format is canonical.  A
 * field that reads as a number prints back as itself.  Its type is one of
 * the protocol's (known_type: a new type that this target does not name
 * fails the build, -Wswitch-enum).
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rr_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_type(rr_wire_type t)
{
	switch (t) {
	case RR_W_HELLO:
	case RR_W_REPLY:
	case RR_W_CONV:
	case RR_W_LOG:
	case RR_W_SETDATA:
	case RR_W_GETUSER:
	case RR_W_GETITEM:
	case RR_W_END:
	case RR_W_FALLBACK:
	case RR_W_ACCEPT:
	case RR_W_COMMIT:
	case RR_W_STATS:
	case RR_W_STATS_REPLY:
		return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *fields[RR_WIRE_FIELDS_MAX];
	rr_wire_msg m = {0};
	unsigned char *out;
	size_t out_len, i;
	long long v;
	char num[32];
	int r;

	r = rr_wire_parse(data, size, &m);
	if (r < 0) {
		assert(r == -EBADMSG || r == -EMSGSIZE || r == -ENOMEM);
		assert(m.buf == NULL && m.n == 0);
		return 0;
	}
	assert(m.type >= RR_W_HELLO && m.type <= RR_W_TYPE_MAX);
	assert(known_type(m.type));
	assert(m.n <= RR_WIRE_FIELDS_MAX);
	for (i = 0; i < m.n; i++) {
		fields[i] = m.f[i].s;
		if (!m.f[i].s) {
			assert(m.f[i].len == 0);
			continue;
		}
		assert(strlen(m.f[i].s) == m.f[i].len);
		assert(m.f[i].s >= m.buf &&
		       m.f[i].s + m.f[i].len < m.buf + m.buf_len);
		if (rr_wire_int(&m, i, INT64_MIN, INT64_MAX, &v) == 0) {
			snprintf(num, sizeof(num), "%lld", v);
			assert(strcmp(num, m.f[i].s) == 0);
		}
	}
	r = rr_wire_encode(m.type, fields, m.n, &out, &out_len);
	if (r == 0) {
		assert(out_len == size);
		assert(memcmp(out, data, size) == 0);
		rr_wire_free(out, out_len);
	} else {
		assert(r == -ENOMEM);
	}
	rr_wire_msg_clear(&m);
	assert(m.buf == NULL && m.n == 0);
	return 0;
}
