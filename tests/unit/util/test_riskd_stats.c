/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd's counters on the wire (rr_riskd_stats.h): the histogram's
 * buckets, an answer sent and read back over a socket pair, and answers
 * that must be refused (each leaving the output untouched).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rr_riskd_stats.h"
#include "rr_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_buckets(void **state)
{
	rr_riskd_hist h = {0};

	(void)state;
	rr_riskd_hist_add(&h, 0);        /* <= 1 ms */
	rr_riskd_hist_add(&h, 1000);     /* the bound is in its bucket */
	rr_riskd_hist_add(&h, 1001);     /* 2.5 ms */
	rr_riskd_hist_add(&h, 10000000); /* 10 s */
	rr_riskd_hist_add(&h, 10000001); /* beyond the last bound */
	assert_int_equal(h.count, 5);
	assert_int_equal(h.sum_us, 0 + 1000 + 1001 + 10000000 + 10000001);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[RR_RISKD_STATS_BUCKETS - 1], 1);
	assert_int_equal(h.bucket[2] + h.bucket[3] + h.bucket[11], 0);
	h.sum_us = UINT64_MAX - 1;
	rr_riskd_hist_add(&h, 5);
	assert_true(h.sum_us == UINT64_MAX); /* saturates */
	assert_string_equal(rr_riskd_stats_type_name(0), "auth");
	assert_string_equal(rr_riskd_stats_type_name(3), "session");
	assert_null(rr_riskd_stats_type_name(4));
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

static void test_roundtrip(void **state)
{
	rr_riskd_stats in = {.started = 1700000000}, out;
	rr_wire_msg m = {0};
	int sv[2];
	size_t t, i;

	(void)state;
	for (t = 0; t < RR_RISKD_STATS_TYPES; t++)
		for (i = 0; i <= t; i++)
			rr_riskd_hist_add(&in.type[t], 3000 * (i + 1));
	pair(sv);
	assert_int_equal(rr_riskd_stats_ask(sv[0], 1000), 0);
	assert_int_equal(rr_wire_recv(sv[1], &m, 1000), 0);
	assert_int_equal(m.type, RR_W_STATS);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.f[0].s, RR_RISKD_STATS_PROTO);
	rr_wire_msg_clear(&m);
	assert_int_equal(rr_riskd_stats_send(sv[1], &in, 1000), 0);
	assert_int_equal(rr_riskd_stats_recv(sv[0], &out, 1000), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	assert_int_equal(out.type[3].count, 4);
	assert_int_equal(out.type[3].sum_us, 30000);
	close(sv[0]);
	close(sv[1]);
}

/* Frame fields of a good answer for type t, numbers in nums. */
static void good_fields(const char *f[RR_RS_FIELDS], size_t t)
{
	size_t i;

	f[RR_RS_PROTO] = RR_RISKD_STATS_PROTO;
	f[RR_RS_STARTED] = "1700000000";
	f[RR_RS_TYPE] = rr_riskd_stats_type_name(t);
	f[RR_RS_COUNT] = "2";
	f[RR_RS_SUM_US] = "7000";
	for (i = 0; i < RR_RISKD_STATS_BUCKETS; i++)
		f[RR_RS_BUCKET0 + i] = i == 2 ? "2" : "0";
}

struct bad {
	const char *name;
	size_t frame; /* the frame spoiled */
	size_t field; /* RR_RS_FIELDS: the frame's type instead */
	const char *value;
	int want;
};

static const struct bad bads[] = {
    {"fallback", 0, RR_RS_FIELDS, "fallback", -EPROTO},
    {"wrong frame type", 0, RR_RS_FIELDS, "end", -EBADMSG},
    {"other proto", 1, RR_RS_PROTO, "riskd-stats/2", -EBADMSG},
    {"types out of order", 1, RR_RS_TYPE, "auth", -EBADMSG},
    {"unknown type", 2, RR_RS_TYPE, "login", -EBADMSG},
    {"started differs", 3, RR_RS_STARTED, "1700000001", -EBADMSG},
    {"negative count", 0, RR_RS_COUNT, "-1", -EBADMSG},
    {"count not canonical", 0, RR_RS_COUNT, "02", -EBADMSG},
    {"sum absent", 0, RR_RS_SUM_US, NULL, -EBADMSG},
    {"more in buckets than calls", 2, RR_RS_BUCKET0, "1", -EBADMSG},
    {"bucket too big", 2, RR_RS_BUCKET0 + 2, "3", -EBADMSG},
    {"bucket not a number", 2, RR_RS_BUCKET0 + 5, "x", -EBADMSG},
};

static void test_bad_answers(void **state)
{
	const char *f[RR_RS_FIELDS];
	rr_riskd_stats out, untouched;
	size_t b, t;
	int sv[2];

	(void)state;
	memset(&untouched, 0x5a, sizeof(untouched));
	for (b = 0; b < sizeof(bads) / sizeof(bads[0]); b++) {
		const struct bad *x = &bads[b];

		pair(sv);
		for (t = 0; t <= x->frame; t++) {
			rr_wire_type type = RR_W_STATS_REPLY;
			size_t n = RR_RS_FIELDS;

			good_fields(f, t);
			if (t == x->frame && x->field < RR_RS_FIELDS) {
				f[x->field] = x->value;
			} else if (t == x->frame) {
				type = !strcmp(x->value, "fallback")
					   ? RR_W_FALLBACK
					   : RR_W_END;
				n = 1;
				f[0] = "riskd of another version";
			}
			assert_int_equal(rr_wire_send(sv[1], type, f, n, 1000),
					 0);
		}
		out = untouched;
		if (rr_riskd_stats_recv(sv[0], &out, 1000) != x->want)
			fail_msg("%s: not %d", x->name, x->want);
		assert_memory_equal(&out, &untouched, sizeof(out));
		close(sv[0]);
		close(sv[1]);
	}
}

static void test_cut_and_silent(void **state)
{
	const char *f[RR_RS_FIELDS];
	rr_riskd_stats out;
	int sv[2];

	(void)state;
	/* two frames, then the peer hangs up */
	pair(sv);
	good_fields(f, 0);
	assert_int_equal(
	    rr_wire_send(sv[1], RR_W_STATS_REPLY, f, RR_RS_FIELDS, 1000), 0);
	good_fields(f, 1);
	assert_int_equal(
	    rr_wire_send(sv[1], RR_W_STATS_REPLY, f, RR_RS_FIELDS, 1000), 0);
	close(sv[1]);
	assert_int_equal(rr_riskd_stats_recv(sv[0], &out, 1000), -EBADMSG);
	close(sv[0]);
	/* no answer at all: the timeout */
	pair(sv);
	assert_int_equal(rr_riskd_stats_recv(sv[0], &out, 50), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

static void test_query_no_riskd(void **state)
{
	char dir[] = "/tmp/rr-stats-XXXXXX", path[64];
	rr_riskd_stats out;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/riskd.sock", dir);
	assert_int_equal(rr_riskd_stats_query(path, 100, &out), -ENOENT);
	/* a socket file nobody listens on */
	fd = rr_wire_listen(path, 0600, 1);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rr_riskd_stats_query(path, 100, &out), -ECONNREFUSED);
	/* listening, never answering */
	unlink(path);
	fd = rr_wire_listen(path, 0600, 1);
	assert_true(fd >= 0);
	assert_int_equal(rr_riskd_stats_query(path, 100, &out), -ETIMEDOUT);
	close(fd);
	unlink(path);
	rmdir(dir);
}

/* A socket served by another user than root is not asked. */
static void test_query_not_root(void **state)
{
	char dir[] = "/tmp/rr-stats-XXXXXX", path[64], c = 0;
	rr_riskd_stats out;
	int ready[2], status = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(geteuid(), 0); /* to be another user below */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/riskd.sock", dir);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(1);
		fd = rr_wire_listen(path, 0666, 4);
		if (fd < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		alarm(10); /* gone even when the parent fails first */
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(rr_riskd_stats_query(path, 200, &out), -EPERM);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_bad_answers),
	    cmocka_unit_test(test_cut_and_silent),
	    cmocka_unit_test(test_query_no_riskd),
	    cmocka_unit_test(test_query_not_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
