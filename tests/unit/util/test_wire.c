/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rr_wire: the exact bytes of a frame, round trips, every malformed frame
 * refused with its errno and nothing held, the handshake's messages
 * (ACCEPT, COMMIT) and a HELLO whose sender gave up, and send/recv over a
 * socketpair
 * (blocking and non-blocking): messages larger than the socket buffer,
 * timeouts as one deadline, the peer gone before or during a frame, an
 * oversize length refused before the body is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_wire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIG_LEN (200u * 1024u)

static long long now_ms(void)
{
	struct timespec t;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t), 0);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A string of `len` printable bytes (never NUL), malloc'd. */
static char *big_string(size_t len)
{
	char *s = malloc(len + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < len; i++)
		s[i] = (char)('!' + i % 90);
	s[len] = '\0';
	return s;
}

static void assert_msg(const rr_wire_msg *m, rr_wire_type type,
		       const char *const *fields, size_t n)
{
	size_t i;

	assert_int_equal(m->type, type);
	assert_int_equal(m->n, n);
	for (i = 0; i < n; i++) {
		if (!fields[i]) {
			assert_null(m->f[i].s);
			assert_int_equal(m->f[i].len, 0);
			continue;
		}
		assert_non_null(m->f[i].s);
		assert_int_equal(m->f[i].len, strlen(fields[i]));
		assert_int_equal(strlen(m->f[i].s), m->f[i].len);
		assert_memory_equal(m->f[i].s, fields[i], m->f[i].len);
	}
	for (; i < RR_WIRE_FIELDS_MAX; i++)
		assert_null(m->f[i].s);
}

static void assert_empty(const rr_wire_msg *m)
{
	static const rr_wire_msg zero;

	assert_memory_equal(m, &zero, sizeof(zero));
}

/* m holds a message: a later parse or recv must release it. */
static void fill(rr_wire_msg *m)
{
	static const unsigned char f[] = {0, 0, 0, 8, 4, 1, 1, 0, 0, 0, 1, 'x'};

	assert_int_equal(rr_wire_parse(f, sizeof(f), m), 0);
	assert_non_null(m->buf);
}

static void test_encode_bytes(void **state)
{
	static const unsigned char hello[] = {
	    0, 0, 0, 19,              /* body_len */
	    1, 3,                     /* HELLO, 3 fields */
	    1, 0, 0, 0,  2, 'a', 'b', /* "ab" */
	    0, 0, 0, 0,  0,           /* absent */
	    1, 0, 0, 0,  0,           /* "" */
	};
	static const unsigned char getuser[] = {0, 0, 0, 2, 6, 0};
	const char *const f[] = {"ab", NULL, ""};
	unsigned char *out;
	size_t len;

	(void)state;
	assert_int_equal(rr_wire_encode(RR_W_HELLO, f, 3, &out, &len), 0);
	assert_int_equal(len, sizeof(hello));
	assert_memory_equal(out, hello, len);
	rr_wire_free(out, len);
	assert_int_equal(rr_wire_encode(RR_W_GETUSER, NULL, 0, &out, &len), 0);
	assert_int_equal(len, sizeof(getuser));
	assert_memory_equal(out, getuser, len);
	rr_wire_free(out, len);
	rr_wire_free(NULL, 5);
	rr_wire_msg_clear(NULL);
}

static void roundtrip(rr_wire_msg *m, rr_wire_type type, const char *const *f,
		      size_t n)
{
	unsigned char *out;
	size_t len;

	assert_int_equal(rr_wire_encode(type, f, n, &out, &len), 0);
	/* m may hold the previous message: replaced, not leaked */
	assert_int_equal(rr_wire_parse(out, len, m), 0);
	assert_msg(m, type, f, n);
	/* one encoding per message */
	{
		unsigned char *again;
		size_t again_len;

		assert_int_equal(
		    rr_wire_encode(m->type, f, m->n, &again, &again_len), 0);
		assert_int_equal(again_len, len);
		assert_memory_equal(again, out, len);
		rr_wire_free(again, again_len);
	}
	rr_wire_free(out, len);
}

static void test_roundtrip(void **state)
{
	const char *const hello[] = {"alice", "sshd", NULL, "", "192.0.2.1"};
	const char *const setdata[] = {"rr_state", NULL};
	const char *const reply[] = {"0", "hunter2 \t\n\x01\x7f\xff"};
	const char *const absent[] = {NULL, NULL, NULL};
	const char *many[RR_WIRE_FIELDS_MAX], *big_f[3];
	char names[RR_WIRE_FIELDS_MAX][8], *big = big_string(BIG_LEN);
	rr_wire_msg m = {0};
	size_t i;

	(void)state;
	roundtrip(&m, RR_W_HELLO, hello, ARRAY_SIZE(hello));
	roundtrip(&m, RR_W_GETUSER, NULL, 0);
	roundtrip(&m, RR_W_SETDATA, setdata, ARRAY_SIZE(setdata));
	roundtrip(&m, RR_W_REPLY, reply, ARRAY_SIZE(reply));
	roundtrip(&m, RR_W_END, absent, ARRAY_SIZE(absent));
	roundtrip(&m, RR_W_FALLBACK, (const char *const[]){"no riskd"}, 1);
	for (i = 0; i < RR_WIRE_FIELDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "f%zu", i);
		many[i] = i % 3 == 0 ? NULL : i % 3 == 1 ? "" : names[i];
	}
	roundtrip(&m, RR_W_CONV, many, ARRAY_SIZE(many));
	big_f[0] = "1";
	big_f[1] = big;
	big_f[2] = NULL;
	roundtrip(&m, RR_W_LOG, big_f, ARRAY_SIZE(big_f));
	/* the fields live in m.buf, each NUL-terminated */
	assert_true(m.f[1].s >= m.buf &&
		    m.f[1].s + BIG_LEN < m.buf + m.buf_len);
	rr_wire_msg_clear(&m);
	assert_empty(&m);
	free(big);
}

static void test_encode_limits(void **state)
{
	const size_t one = RR_WIRE_MAX - 2 - 5; /* one field filling the body */
	char *s = big_string(one + 1);
	unsigned char *out = (unsigned char *)"untouched";
	size_t len = 1234;
	rr_wire_msg m = {0};
	const char *f[RR_WIRE_FIELDS_MAX + 1] = {0};
	const char *two[2];

	(void)state;
	assert_int_equal(rr_wire_encode((rr_wire_type)0, NULL, 0, &out, &len),
			 -EINVAL);
	assert_int_equal(rr_wire_encode((rr_wire_type)(RR_W_TYPE_MAX + 1), NULL,
					0, &out, &len),
			 -EINVAL);
	assert_int_equal(
	    rr_wire_encode(RR_W_HELLO, f, RR_WIRE_FIELDS_MAX + 1, &out, &len),
	    -EINVAL);
	assert_int_equal(rr_wire_encode(RR_W_HELLO, NULL, 1, &out, &len),
			 -EINVAL);
	/* one byte too long, as one field or spread over two */
	assert_int_equal(
	    rr_wire_encode(RR_W_HELLO, (const char **)&s, 1, &out, &len),
	    -EMSGSIZE);
	two[0] = s + 11; /* 2 + (5 + one - 10) + (5 + 6) */
	two[1] = "123456";
	assert_int_equal(rr_wire_encode(RR_W_HELLO, two, 2, &out, &len),
			 -EMSGSIZE);
	/* outputs untouched on error */
	assert_string_equal((const char *)out, "untouched");
	assert_int_equal(len, 1234);

	/* exactly RR_WIRE_MAX: encodes and parses */
	s[one] = '\0';
	assert_int_equal(
	    rr_wire_encode(RR_W_HELLO, (const char **)&s, 1, &out, &len), 0);
	assert_int_equal(len, 4 + RR_WIRE_MAX);
	assert_int_equal(rr_wire_parse(out, len, &m), 0);
	assert_int_equal(m.f[0].len, one);
	rr_wire_msg_clear(&m);
	rr_wire_free(out, len);
	/* 24 fields is the most */
	assert_int_equal(
	    rr_wire_encode(RR_W_HELLO, f, RR_WIRE_FIELDS_MAX, &out, &len), 0);
	assert_int_equal(len, 4 + 2 + 5 * RR_WIRE_FIELDS_MAX);
	rr_wire_free(out, len);
	free(s);
}

static const struct {
	const char *name;
	unsigned char b[24];
	size_t len;
	int err;
} frames[] = {
    {"ok: one field", {0, 0, 0, 8, 1, 1, 1, 0, 0, 0, 1, 'a'}, 12, 0},
    {"ok: no field", {0, 0, 0, 2, 9, 0}, 6, 0},
    {"ok: absent", {0, 0, 0, 7, 5, 1, 0, 0, 0, 0, 0}, 11, 0},
    {"ok: ACCEPT", {0, 0, 0, 2, 10, 0}, 6, 0},
    {"ok: COMMIT", {0, 0, 0, 2, 11, 0}, 6, 0},
    {"no input", {0}, 0, -EBADMSG},
    {"short length", {0, 0, 0}, 3, -EBADMSG},
    {"body_len 0", {0, 0, 0, 0}, 4, -EBADMSG},
    {"body_len 1", {0, 0, 0, 1, 1}, 5, -EBADMSG},
    {"type 0", {0, 0, 0, 2, 0, 0}, 6, -EBADMSG},
    {"type 14", {0, 0, 0, 2, 14, 0}, 6, -EBADMSG},
    {"type 255", {0, 0, 0, 2, 255, 0}, 6, -EBADMSG},
    {"present 2", {0, 0, 0, 7, 1, 1, 2, 0, 0, 0, 0}, 11, -EBADMSG},
    {"present 255", {0, 0, 0, 8, 1, 1, 255, 0, 0, 0, 1, 'a'}, 12, -EBADMSG},
    {"absent with bytes", {0, 0, 0, 8, 1, 1, 0, 0, 0, 0, 1, 'a'}, 12, -EBADMSG},
    {"len past end", {0, 0, 0, 8, 1, 1, 1, 0, 0, 0, 2, 'a'}, 12, -EBADMSG},
    {"len huge", {0, 0, 0, 8, 1, 1, 1, 255, 255, 255, 255, 'a'}, 12, -EBADMSG},
    {"field header cut", {0, 0, 0, 5, 1, 1, 1, 0, 0}, 9, -EBADMSG},
    {"missing field", {0, 0, 0, 2, 1, 1}, 6, -EBADMSG},
    {"trailing byte",
     {0, 0, 0, 9, 1, 1, 1, 0, 0, 0, 1, 'a', 'b'},
     13,
     -EBADMSG},
    {"trailing byte, no field", {0, 0, 0, 3, 1, 0, 0}, 7, -EBADMSG},
    {"embedded NUL",
     {0, 0, 0, 10, 1, 1, 1, 0, 0, 0, 3, 'a', 0, 'b'},
     14,
     -EBADMSG},
    {"NUL field", {0, 0, 0, 8, 1, 1, 1, 0, 0, 0, 1, 0}, 12, -EBADMSG},
    {"frame shorter than body_len",
     {0, 0, 0, 9, 1, 1, 1, 0, 0, 0, 1, 'a'},
     12,
     -EBADMSG},
    {"bytes after the frame", {0, 0, 0, 2, 6, 0, 0}, 7, -EBADMSG},
    {"body_len RR_WIRE_MAX+1", {0, 4, 0, 1, 1, 0}, 6, -EMSGSIZE},
    {"body_len 2^32-1", {255, 255, 255, 255, 1, 0}, 6, -EMSGSIZE},
};

static void test_parse_malformed(void **state)
{
	rr_wire_msg m = {0};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(frames); i++) {
		int r;

		fill(&m);
		r = rr_wire_parse(frames[i].b, frames[i].len, &m);
		if (r != frames[i].err)
			fail_msg("%s: %d, expected %d", frames[i].name, r,
				 frames[i].err);
		if (r < 0)
			assert_empty(&m);
	}
	rr_wire_msg_clear(&m);
}

/* n absent fields: fine up to 24, malformed from 25 */
static void test_parse_nfields(void **state)
{
	unsigned char b[4 + 2 + 5 * 25] = {0};
	rr_wire_msg m = {0};
	size_t n;

	(void)state;
	for (n = RR_WIRE_FIELDS_MAX; n <= RR_WIRE_FIELDS_MAX + 1; n++) {
		b[3] = (unsigned char)(2 + 5 * n);
		b[4] = RR_W_GETITEM;
		b[5] = (unsigned char)n;
		fill(&m);
		assert_int_equal(rr_wire_parse(b, 4 + 2 + 5 * n, &m),
				 n <= RR_WIRE_FIELDS_MAX ? 0 : -EBADMSG);
		if (n <= RR_WIRE_FIELDS_MAX)
			assert_int_equal(m.n, n);
		else
			assert_empty(&m);
	}
	rr_wire_msg_clear(&m);
}

/* every strict prefix of a valid frame is refused */
static void test_parse_prefixes(void **state)
{
	const char *const f[] = {"alice", NULL, "pw"};
	rr_wire_msg m = {0};
	unsigned char *out;
	size_t len, k;

	(void)state;
	assert_int_equal(rr_wire_encode(RR_W_HELLO, f, 3, &out, &len), 0);
	for (k = 0; k < len; k++) {
		assert_int_equal(rr_wire_parse(out, k, &m), -EBADMSG);
		assert_empty(&m);
	}
	assert_int_equal(rr_wire_parse(out, len, &m), 0);
	rr_wire_msg_clear(&m);
	rr_wire_free(out, len);
}

/* ACCEPT and COMMIT: their numbers and bytes are the protocol's */
static void test_handshake_encoding(void **state)
{
	static const unsigned char accept_b[] = {0, 0, 0, 2, 10, 0};
	static const unsigned char commit_b[] = {0, 0, 0, 2, 11, 0};
	rr_wire_msg m = {0};
	unsigned char *out;
	size_t len;

	(void)state;
	assert_int_equal(RR_W_FALLBACK, 9);
	assert_int_equal(RR_W_ACCEPT, 10);
	assert_int_equal(RR_W_COMMIT, 11);
	assert_int_equal(RR_W_STATS, 12);
	assert_int_equal(RR_W_STATS_REPLY, 13);
	assert_int_equal(RR_W_TYPE_MAX, RR_W_STATS_REPLY);
	assert_int_equal(rr_wire_encode(RR_W_ACCEPT, NULL, 0, &out, &len), 0);
	assert_int_equal(len, sizeof(accept_b));
	assert_memory_equal(out, accept_b, len);
	rr_wire_free(out, len);
	assert_int_equal(rr_wire_encode(RR_W_COMMIT, NULL, 0, &out, &len), 0);
	assert_int_equal(len, sizeof(commit_b));
	assert_memory_equal(out, commit_b, len);
	rr_wire_free(out, len);
	assert_int_equal(rr_wire_parse(accept_b, sizeof(accept_b), &m), 0);
	assert_msg(&m, RR_W_ACCEPT, NULL, 0);
	assert_int_equal(rr_wire_parse(commit_b, sizeof(commit_b), &m), 0);
	assert_msg(&m, RR_W_COMMIT, NULL, 0);
	/* a field or a trailing byte is another frame, or none */
	roundtrip(&m, RR_W_ACCEPT, (const char *const[]){NULL}, 1);
	roundtrip(&m, RR_W_COMMIT, (const char *const[]){"x"}, 1);
	assert_int_equal(rr_wire_parse((const unsigned char[]){0, 0, 0, 3, 11,
							       0, 0},
				       7, &m),
			 -EBADMSG);
	assert_empty(&m);
}

/* --- over a socketpair --- */

static void pair(int sv[2], bool nonblock)
{
	int type = SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);

	assert_int_equal(socketpair(AF_UNIX, type, 0, sv), 0);
}

static void write_raw(int fd, const void *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* The handshake over a socketpair: HELLO, ACCEPT, COMMIT; and a front
 * that gave up after HELLO: riskd still reads the HELLO, its ACCEPT fails
 * with -EPIPE (no SIGPIPE: it would kill this test), and then EOF. */
static void test_handshake_socket(void **state)
{
	const char *const hello[] = {"riskd/2 x", NULL};
	rr_wire_msg m = {0};
	int sv[2];

	(void)state;
	pair(sv, true);
	assert_int_equal(rr_wire_send(sv[0], RR_W_HELLO, hello, 2, 100), 0);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_HELLO, hello, 2);
	assert_int_equal(rr_wire_send(sv[1], RR_W_ACCEPT, NULL, 0, 100), 0);
	assert_int_equal(rr_wire_recv(sv[0], &m, 100), 0);
	assert_msg(&m, RR_W_ACCEPT, NULL, 0);
	assert_int_equal(rr_wire_send(sv[0], RR_W_COMMIT, NULL, 0, 100), 0);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_COMMIT, NULL, 0);
	close(sv[0]);
	close(sv[1]);

	pair(sv, false);
	assert_int_equal(rr_wire_send(sv[0], RR_W_HELLO, hello, 2, 100), 0);
	close(sv[0]);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_HELLO, hello, 2);
	assert_int_equal(rr_wire_send(sv[1], RR_W_ACCEPT, NULL, 0, 100),
			 -EPIPE);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), -ECONNRESET);
	assert_empty(&m);
	close(sv[1]);
}

static void test_socket_roundtrip(void **state)
{
	const char *const hello[] = {"alice", NULL, "", "s3cret"};
	const char *const conv[] = {"1", "Password: "};
	rr_wire_msg m = {0};
	int mode, sv[2];

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		pair(sv, mode);
		/* three in a row: each recv takes exactly one */
		assert_int_equal(
		    rr_wire_send(sv[0], RR_W_HELLO, hello, 4, 1000), 0);
		assert_int_equal(rr_wire_send(sv[0], RR_W_GETUSER, NULL, 0, -1),
				 0);
		assert_int_equal(rr_wire_send(sv[0], RR_W_CONV, conv, 2, 0), 0);
		assert_int_equal(rr_wire_recv(sv[1], &m, 1000), 0);
		assert_msg(&m, RR_W_HELLO, hello, 4);
		assert_int_equal(rr_wire_recv(sv[1], &m, -1), 0);
		assert_msg(&m, RR_W_GETUSER, NULL, 0);
		assert_int_equal(rr_wire_recv(sv[1], &m, 0), 0);
		assert_msg(&m, RR_W_CONV, conv, 2);
		/* and the other way */
		assert_int_equal(rr_wire_send(sv[1], RR_W_REPLY,
					      (const char *const[]){"0", NULL},
					      2, 1000),
				 0);
		assert_int_equal(rr_wire_recv(sv[0], &m, 1000), 0);
		assert_msg(&m, RR_W_REPLY, (const char *const[]){"0", NULL}, 2);
		rr_wire_msg_clear(&m);
		close(sv[0]);
		close(sv[1]);
	}
}

struct sender {
	int fd;
	rr_wire_type type;
	const char *const *fields;
	size_t n;
	int rc;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;

	s->rc = rr_wire_send(s->fd, s->type, s->fields, s->n, 10000);
	if (s->rc == 0)
		s->rc = rr_wire_send(s->fd, RR_W_END,
				     (const char *const[]){"0"}, 1, 10000);
	return NULL;
}

static void small_buffers(int fd)
{
	int v = 4096;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)),
			 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)),
			 0);
}

static void test_socket_big(void **state)
{
	char *big = big_string(BIG_LEN);
	const char *const f[] = {"2", big, NULL};
	struct sender s;
	rr_wire_msg m = {0};
	pthread_t t;
	int mode, sv[2], v;
	socklen_t vl = sizeof(v);

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		pair(sv, mode);
		small_buffers(sv[0]);
		small_buffers(sv[1]);
		assert_int_equal(
		    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &vl), 0);
		assert_true((size_t)v < BIG_LEN / 4);
		s = (struct sender){sv[0], RR_W_CONV, f, 3, 1};
		assert_int_equal(pthread_create(&t, NULL, send_thread, &s), 0);
		assert_int_equal(rr_wire_recv(sv[1], &m, 10000), 0);
		assert_msg(&m, RR_W_CONV, f, 3);
		assert_int_equal(rr_wire_recv(sv[1], &m, 10000), 0);
		assert_msg(&m, RR_W_END, (const char *const[]){"0"}, 1);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(s.rc, 0);
		rr_wire_msg_clear(&m);
		close(sv[0]);
		close(sv[1]);
	}
	free(big);
}

/* nobody reads: the send gives up at its deadline */
static void test_send_timeout(void **state)
{
	char *big = big_string(BIG_LEN);
	long long t0, dt;
	int mode, sv[2];

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		pair(sv, mode);
		small_buffers(sv[0]);
		small_buffers(sv[1]);
		t0 = now_ms();
		assert_int_equal(rr_wire_send(sv[0], RR_W_LOG,
					      (const char *const[]){big}, 1,
					      50),
				 -ETIMEDOUT);
		dt = now_ms() - t0;
		assert_true(dt >= 45 && dt < 5000);
		close(sv[0]);
		close(sv[1]);
	}
	free(big);
}

static void test_send_errors(void **state)
{
	rr_wire_msg m = {0};
	int sv[2];

	(void)state;
	pair(sv, false);
	/* nothing written for a message that does not encode */
	assert_int_equal(rr_wire_send(sv[0], (rr_wire_type)0, NULL, 0, 100),
			 -EINVAL);
	assert_int_equal(rr_wire_recv(sv[1], &m, 0), -ETIMEDOUT);
	/* the peer gone: -EPIPE, and no SIGPIPE (it would kill this test) */
	close(sv[1]);
	assert_int_equal(
	    rr_wire_send(sv[0], RR_W_END, (const char *const[]){"0"}, 1, 100),
	    -EPIPE);
	close(sv[0]);
	assert_int_equal(rr_wire_send(-1, RR_W_GETUSER, NULL, 0, 100), -EBADF);
	assert_int_equal(rr_wire_recv(-1, &m, 100), -EBADF);
	assert_empty(&m);
}

static void test_recv_timeout(void **state)
{
	static const unsigned char part[] = {0, 0, 0, 8, 1, 1, 1};
	rr_wire_msg m = {0};
	long long t0, dt;
	int mode, sv[2];

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		pair(sv, mode);
		/* nothing sent */
		fill(&m);
		t0 = now_ms();
		assert_int_equal(rr_wire_recv(sv[1], &m, 50), -ETIMEDOUT);
		dt = now_ms() - t0;
		assert_true(dt >= 45 && dt < 5000);
		assert_empty(&m);
		assert_int_equal(rr_wire_recv(sv[1], &m, 0), -ETIMEDOUT);
		/* part of a frame */
		write_raw(sv[0], part, sizeof(part));
		assert_int_equal(rr_wire_recv(sv[1], &m, 50), -ETIMEDOUT);
		assert_empty(&m);
		close(sv[0]);
		close(sv[1]);
	}
}

struct trickle {
	int fd;
	int rc;
};

/* a valid frame, one byte every 30 ms */
static void *trickle_thread(void *arg)
{
	static const unsigned char f[] = {0, 0, 0, 8, 1, 1, 1, 0, 0, 0, 1, 'a'};
	const struct timespec gap = {0, 30 * 1000000L};
	struct trickle *t = arg;
	size_t i;

	t->rc = 0;
	for (i = 0; i < sizeof(f) && t->rc == 0; i++) {
		nanosleep(&gap, NULL);
		if (send(t->fd, f + i, 1, MSG_NOSIGNAL) != 1)
			t->rc = -errno;
	}
	return NULL;
}

/* the timeout bounds the whole message, not each wait */
static void test_recv_deadline(void **state)
{
	rr_wire_msg m = {0};
	struct trickle tr;
	pthread_t t;
	int sv[2];

	(void)state;
	pair(sv, false);
	tr.fd = sv[0];
	assert_int_equal(pthread_create(&t, NULL, trickle_thread, &tr), 0);
	assert_int_equal(rr_wire_recv(sv[1], &m, 150), -ETIMEDOUT);
	assert_empty(&m);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(tr.rc, 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_eof(void **state)
{
	static const unsigned char whole[] = {0, 0, 0, 8, 1, 1,
					      1, 0, 0, 0, 1, 'a'};
	static const size_t cut[] = {0, 2, 4, 7, sizeof(whole)};
	static const int want[] = {-ECONNRESET, -EBADMSG, -EBADMSG, -EBADMSG,
				   0};
	rr_wire_msg m = {0};
	int mode, sv[2];
	size_t i;

	(void)state;
	for (mode = 0; mode < 2; mode++) {
		for (i = 0; i < ARRAY_SIZE(cut); i++) {
			pair(sv, mode);
			if (cut[i] > 0)
				write_raw(sv[0], whole, cut[i]);
			close(sv[0]);
			fill(&m);
			assert_int_equal(rr_wire_recv(sv[1], &m, 1000),
					 want[i]);
			if (want[i] == 0) {
				assert_msg(&m, RR_W_HELLO,
					   (const char *const[]){"a"}, 1);
				/* then the end of the stream */
				assert_int_equal(rr_wire_recv(sv[1], &m, 1000),
						 -ECONNRESET);
			}
			assert_empty(&m);
			close(sv[1]);
		}
	}
}

/* a bad length is refused from the 4 bytes alone: what follows them is
 * still unread, and nothing waits for a body */
static void test_recv_bad_length(void **state)
{
	static const struct {
		unsigned char hdr[4];
		int err;
	} cases[] = {
	    {{0, 4, 0, 1}, -EMSGSIZE}, /* RR_WIRE_MAX + 1 */
	    {{255, 255, 255, 255}, -EMSGSIZE},
	    {{0, 0, 0, 1}, -EBADMSG},
	    {{0, 0, 0, 0}, -EBADMSG},
	};
	rr_wire_msg m = {0};
	char rest[8];
	int sv[2];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		pair(sv, false);
		write_raw(sv[0], cases[i].hdr, 4);
		write_raw(sv[0], "xyz", 3);
		fill(&m);
		assert_int_equal(rr_wire_recv(sv[1], &m, 10000), cases[i].err);
		assert_empty(&m);
		assert_int_equal(recv(sv[1], rest, sizeof(rest), MSG_DONTWAIT),
				 3);
		assert_memory_equal(rest, "xyz", 3);
		close(sv[0]);
		close(sv[1]);
	}
	/* RR_WIRE_MAX itself is a length to wait for */
	pair(sv, false);
	write_raw(sv[0], (const unsigned char[]){0, 4, 0, 0}, 4);
	assert_int_equal(rr_wire_recv(sv[1], &m, 50), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

static void test_recv_malformed(void **state)
{
	rr_wire_msg m = {0};
	int sv[2];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(frames); i++) {
		/* the framing cases are the tests above */
		if (frames[i].len < 6 || frames[i].err == -EMSGSIZE ||
		    (frames[i].b[3] != frames[i].len - 4))
			continue;
		pair(sv, false);
		write_raw(sv[0], frames[i].b, frames[i].len);
		fill(&m);
		if (rr_wire_recv(sv[1], &m, 1000) != frames[i].err)
			fail_msg("%s", frames[i].name);
		if (frames[i].err < 0)
			assert_empty(&m);
		close(sv[0]);
		close(sv[1]);
	}
	rr_wire_msg_clear(&m);
}

static void test_int(void **state)
{
	static const struct {
		const char *s;
		long long min, max;
		int rc;
		long long v;
	} cases[] = {
	    {"0", -10, 10, 0, 0},
	    {"-1", -10, 10, 0, -1},
	    {"42", -10, 100, 0, 42},
	    {"10", -10, 10, 0, 10},
	    {"-10", -10, 10, 0, -10},
	    {"9223372036854775807", LLONG_MIN, LLONG_MAX, 0, LLONG_MAX},
	    {"-9223372036854775808", LLONG_MIN, LLONG_MAX, 0, LLONG_MIN},
	    {"11", -10, 10, -EINVAL, 0},
	    {"-11", -10, 10, -EINVAL, 0},
	    {"-1", 0, 10, -EINVAL, 0},
	    {"9223372036854775808", LLONG_MIN, LLONG_MAX, -EINVAL, 0},
	    {"-9223372036854775809", LLONG_MIN, LLONG_MAX, -EINVAL, 0},
	    {"99999999999999999999", LLONG_MIN, LLONG_MAX, -EINVAL, 0},
	    {"+1", -10, 10, -EINVAL, 0},
	    {"01", -10, 10, -EINVAL, 0},
	    {"00", -10, 10, -EINVAL, 0},
	    {"-0", -10, 10, -EINVAL, 0},
	    {"-01", -10, 10, -EINVAL, 0},
	    {" 1", -10, 10, -EINVAL, 0},
	    {"1 ", -10, 10, -EINVAL, 0},
	    {"1\n", -10, 10, -EINVAL, 0},
	    {"", -10, 10, -EINVAL, 0},
	    {"-", -10, 10, -EINVAL, 0},
	    {"--1", -10, 10, -EINVAL, 0},
	    {"1a", -10, 10, -EINVAL, 0},
	    {"0x1", -10, 10, -EINVAL, 0},
	    {"1e1", -100, 100, -EINVAL, 0},
	};
	const char *f[2];
	rr_wire_msg m = {0};
	unsigned char *out;
	long long v;
	size_t len, i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r;

		f[0] = cases[i].s;
		f[1] = NULL;
		assert_int_equal(rr_wire_encode(RR_W_END, f, 2, &out, &len), 0);
		assert_int_equal(rr_wire_parse(out, len, &m), 0);
		rr_wire_free(out, len);
		v = 12345;
		r = rr_wire_int(&m, 0, cases[i].min, cases[i].max, &v);
		if (r != cases[i].rc)
			fail_msg("\"%s\": %d", cases[i].s, r);
		assert_true(v == (r == 0 ? cases[i].v : 12345));
		/* absent, and past the last field */
		assert_int_equal(rr_wire_int(&m, 1, LLONG_MIN, LLONG_MAX, &v),
				 -EINVAL);
		assert_int_equal(rr_wire_int(&m, 2, LLONG_MIN, LLONG_MAX, &v),
				 -EINVAL);
	}
	rr_wire_msg_clear(&m);
}

/* --- the queue: messages without an answer, sent in one write --- */

static void test_queue(void **state)
{
	static const char *const log1[] = {"6", "first"};
	static const char *const data[] = {"name", NULL};
	static const char *const end[] = {"0"};
	rr_wire_queue q = {0};
	rr_wire_msg m = {0};
	size_t queued, off;
	int sv[2];

	(void)state;
	pair(sv, false);
	/* nothing queued: nothing sent */
	assert_int_equal(rr_wire_queue_flush(sv[0], &q, 100), 0);
	assert_int_equal(rr_wire_recv(sv[1], &m, 0), -ETIMEDOUT);
	assert_int_equal(rr_wire_queue_add(&q, RR_W_LOG, log1, 2), 0);
	assert_int_equal(rr_wire_queue_add(&q, RR_W_SETDATA, data, 2), 0);
	/* queued, not sent */
	assert_int_equal(rr_wire_recv(sv[1], &m, 0), -ETIMEDOUT);
	assert_int_equal(rr_wire_queue_add(&q, RR_W_END, end, 1), 0);
	assert_int_equal(rr_wire_queue_add(&q, (rr_wire_type)0, NULL, 0),
			 -EINVAL);
	assert_int_equal(rr_wire_queue_flush(sv[0], &q, 100), 0);
	assert_int_equal(q.len, 0);
	/* in order, each whole */
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_LOG, log1, 2);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_SETDATA, data, 2);
	assert_int_equal(rr_wire_recv(sv[1], &m, 100), 0);
	assert_msg(&m, RR_W_END, end, 1);
	rr_wire_msg_clear(&m);
	/* a failed flush keeps the frames for the caller to read */
	assert_int_equal(rr_wire_queue_add(&q, RR_W_LOG, log1, 2), 0);
	queued = q.len;
	close(sv[1]);
	assert_int_equal(rr_wire_queue_flush(sv[0], &q, 100), -EPIPE);
	assert_int_equal(q.len, queued);
	assert_int_equal(rr_wire_queue_add(&q, RR_W_END, end, 1), 0);
	off = 0;
	assert_int_equal(rr_wire_next(q.buf, q.len, &off, &m), 0);
	assert_msg(&m, RR_W_LOG, log1, 2);
	assert_int_equal(off, queued);
	assert_int_equal(rr_wire_next(q.buf, q.len, &off, &m), 0);
	assert_msg(&m, RR_W_END, end, 1);
	assert_int_equal(off, q.len);
	assert_int_equal(rr_wire_next(q.buf, q.len, &off, &m), -EBADMSG);
	/* a partial frame is not one */
	off = 0;
	assert_int_equal(rr_wire_next(q.buf, queued - 1, &off, &m), -EBADMSG);
	assert_int_equal(off, 0);
	rr_wire_msg_clear(&m);
	rr_wire_queue_clear(&q);
	assert_null(q.buf);
	assert_int_equal(q.len, 0);
	close(sv[0]);
}

static void test_queue_cap(void **state)
{
	rr_wire_queue q = {0};
	char *big = malloc(RR_WIRE_MAX - 64);
	const char *f[1] = {big};
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', RR_WIRE_MAX - 65);
	big[RR_WIRE_MAX - 65] = '\0';
	for (i = 0; i < RR_WIRE_QUEUE_MAX / RR_WIRE_MAX; i++)
		assert_int_equal(rr_wire_queue_add(&q, RR_W_LOG, f, 1), 0);
	/* one more passes the cap: refused, the queue unchanged */
	i = q.len;
	assert_int_equal(rr_wire_queue_add(&q, RR_W_LOG, f, 1), -EMSGSIZE);
	assert_int_equal(q.len, i);
	rr_wire_queue_clear(&q);
	free(big);
}

/* --- connecting --- */

static void test_connect(void **state)
{
	char dir[] = "/tmp/rr-wire-XXXXXX", path[64], big[200];
	struct stat st;
	int lfd, fd, afd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	/* nothing listening */
	assert_int_equal(rr_wire_connect(path, false), -ENOENT);
	lfd = rr_wire_listen(path, 0640, 4);
	assert_true(lfd >= 0);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	/* taken; no path; too long */
	assert_int_equal(rr_wire_listen(path, 0600, 4), -EADDRINUSE);
	/* connected both ways, close-on-exec, non-blocking when asked */
	fd = rr_wire_connect(path, true);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(rr_wire_send(fd, RR_W_END, (const char *const[]){"0"},
				      1, 100),
			 0);
	close(fd);
	close(afd);
	fd = rr_wire_connect(path, false);
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	/* paths sun_path cannot hold, and none */
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rr_wire_connect(big, false), -EINVAL);
	assert_int_equal(rr_wire_connect("", false), -EINVAL);
	assert_int_equal(rr_wire_connect(NULL, false), -EINVAL);
	assert_int_equal(rr_wire_listen(big, 0600, 4), -EINVAL);
	assert_int_equal(rr_wire_listen("", 0600, 4), -EINVAL);
	assert_int_equal(rr_wire_listen(NULL, 0600, 4), -EINVAL);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_bytes),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_encode_limits),
	    cmocka_unit_test(test_parse_malformed),
	    cmocka_unit_test(test_parse_nfields),
	    cmocka_unit_test(test_parse_prefixes),
	    cmocka_unit_test(test_handshake_encoding),
	    cmocka_unit_test(test_handshake_socket),
	    cmocka_unit_test(test_socket_roundtrip),
	    cmocka_unit_test(test_socket_big),
	    cmocka_unit_test(test_send_timeout),
	    cmocka_unit_test(test_send_errors),
	    cmocka_unit_test(test_recv_timeout),
	    cmocka_unit_test(test_recv_deadline),
	    cmocka_unit_test(test_recv_eof),
	    cmocka_unit_test(test_recv_bad_length),
	    cmocka_unit_test(test_recv_malformed),
	    cmocka_unit_test(test_int),
	    cmocka_unit_test(test_queue),
	    cmocka_unit_test(test_queue_cap),
	    cmocka_unit_test(test_connect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
