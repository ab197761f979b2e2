/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A policy rewritten in place is never parsed half-written: the
 * changed-while-read comparison and the settle rule (table-driven), and the
 * reader with a fake clock whose sleeps play the writer (no test sleeps).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rr_policy.h"
#include "rr_secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000LL

/* ---- the comparison and the settle rule ---------------------------------- */

static struct stat base_stat(void)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_dev = 8;
	st.st_ino = 1234;
	st.st_size = 500;
	st.st_mtim.tv_sec = 1000;
	st.st_mtim.tv_nsec = 100;
	st.st_ctim.tv_sec = 1000;
	st.st_ctim.tv_nsec = 200;
	st.st_atim.tv_sec = 1000;
	return st;
}

enum field { NONE, DEV, INO, SIZE, MTIME_NS, MTIME_S, CTIME_NS, CTIME_S,
	     ATIME };

static void change(struct stat *st, enum field f)
{
	switch (f) {
	case NONE: break;
	case DEV: st->st_dev++; break;
	case INO: st->st_ino++; break;
	case SIZE: st->st_size = 250; break; /* cut between two policies */
	case MTIME_NS: st->st_mtim.tv_nsec++; break;
	case MTIME_S: st->st_mtim.tv_sec++; break;
	case CTIME_NS: st->st_ctim.tv_nsec++; break;
	case CTIME_S: st->st_ctim.tv_sec++; break;
	case ATIME: st->st_atim.tv_sec += 60; break; /* a read is no change */
	}
}

static void test_same_version(void **state)
{
	static const struct {
		enum field f;
		bool same;
	} cases[] = {
		{ NONE, true },      { ATIME, true },     { DEV, false },
		{ INO, false },      { SIZE, false },     { MTIME_NS, false },
		{ MTIME_S, false },  { CTIME_NS, false }, { CTIME_S, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stat a = base_stat(), b = base_stat();

		change(&b, cases[i].f);
		assert_int_equal(rr_secfile_same_version(&a, &b),
				 cases[i].same);
		assert_int_equal(rr_secfile_same_version(&b, &a),
				 cases[i].same);
	}
}

static void test_settled(void **state)
{
	/* mtime 1000 s + 100 ns; settle 1 s */
	static const struct {
		long long now;
		bool settled;
	} cases[] = {
		{ 1000 * NS + 100, false },          /* just written */
		{ 1000 * NS + 100 + NS / 2, false }, /* 0.5 s ago */
		{ 1000 * NS + 99 + NS, false },      /* 1 ns short */
		{ 1000 * NS + 100 + NS, true },      /* exactly 1 s */
		{ 1005 * NS, true },
		{ 1000 * NS - NS / 2, false }, /* clock 0.5 s behind: wait */
		{ 990 * NS, true }, /* clock stepped back 10 s: no lockout */
	};
	struct stat st = base_stat();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(rr_secfile_settled(&st, cases[i].now, NS),
				 cases[i].settled);
}

/* ---- the reader with a fake clock --------------------------------------- */

#define PART "version: 1\npolicies:\n  - name: Sign-in risk requires MFA\n" \
	     "    conditions: { signin_risk: [medium, high] }\n" \
	     "    grant: { require: [mfa] }\n"
#define REST "  - name: Block high user risk\n" \
	     "    conditions: { user_risk: [high] }\n" \
	     "    grant: { block: true }\n"

struct fake {
	long long base;     /* fake now = base + slept */
	long long slept;
	unsigned sleeps;
	unsigned reads;
	const char *path;
	/* what the "writer" does at each sleep / after a read */
	enum { W_NONE, W_COMPLETE_AT_FIRST_SLEEP, W_APPEND_EVERY_SLEEP,
	       W_COMPLETE_AFTER_FIRST_READ } writer;
};

static long long real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NS + ts.tv_nsec;
}

static void write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static long long fake_now(void *ud)
{
	struct fake *f = ud;

	return f->base + f->slept;
}

static void fake_sleep(void *ud, long long ns)
{
	struct fake *f = ud;

	assert_true(ns > 0);
	f->slept += ns;
	f->sleeps++;
	if (f->writer == W_COMPLETE_AT_FIRST_SLEEP && f->sleeps == 1)
		write_file(f->path, PART REST, O_TRUNC); /* in place */
	if (f->writer == W_APPEND_EVERY_SLEEP)
		write_file(f->path, "# still writing\n", O_APPEND);
}

static void fake_after_read(void *ud)
{
	struct fake *f = ud;

	if (++f->reads == 1 && f->writer == W_COMPLETE_AFTER_FIRST_READ)
		write_file(f->path, PART REST, O_TRUNC);
}

static const rr_secfile_clock fake_clock = {
	.now_ns = fake_now,
	.sleep_ns = fake_sleep,
	.after_read = fake_after_read,
};

struct fixture {
	char dir[64];
	char path[96];
	struct fake f;
	rr_secfile_clock clock;
	rr_secfile_stable o;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	snprintf(x->dir, sizeof(x->dir), "/tmp/rr-policy-read-XXXXXX");
	if (!mkdtemp(x->dir)) {
		free(x);
		return -1;
	}
	snprintf(x->path, sizeof(x->path), "%s/policy.yaml", x->dir);
	x->f.path = x->path;
	x->clock = fake_clock;
	x->clock.ud = &x->f;
	rr_secfile_stable_init(&x->o);
	x->o.clock = &x->clock;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	unlink(x->path);
	rmdir(x->dir);
	free(x);
	return 0;
}

/* The partial policy is in the file, written `age_ns` ago (fake time). */
static struct fixture *start(void **state, long long age_ns, int writer)
{
	struct fixture *x = *state;

	if (geteuid() != 0)
		skip(); /* the reader wants a root-owned file */
	write_file(x->path, PART, O_TRUNC);
	x->f.base = real_now() + age_ns;
	x->f.writer = writer;
	return x;
}

static size_t n_policies(struct fixture *x, int want_r)
{
	rr_policy_errors errs = {0};
	rr_policy *p = NULL;
	size_t n;
	int r;

	r = rr_policy_load_stable(x->path, &x->o, &p, &errs);
	assert_int_equal(r, want_r);
	if (r < 0) {
		char line[512];

		assert_int_equal(errs.n, 1);
		rr_policy_error_format(&errs, 0, line, sizeof(line));
		assert_non_null(strstr(line, "changed while it was read"));
		rr_policy_errors_clear(&errs);
		return 0;
	}
	n = p->n_policies;
	rr_policy_free(p);
	return n;
}

static void test_old_file_read_at_once(void **state)
{
	struct fixture *x = start(state, 5 * NS, W_NONE);

	assert_int_equal(n_policies(x, 0), 1);
	assert_int_equal(x->f.sleeps, 0);
	assert_int_equal(x->f.reads, 1);
}

static void test_recent_file_used_once_settled(void **state)
{
	struct fixture *x = start(state, NS / 5, W_NONE);

	assert_int_equal(n_policies(x, 0), 1);
	/* waited until 1 s after its last change, not longer */
	assert_true(x->f.slept >= NS * 4 / 5 - NS / 100);
	assert_true(x->f.slept <= NS);
	assert_int_equal(x->f.reads, 1);
}

/* The finding: the writer completes while the first part settles: the
 * whole policy is read, never the first part. */
static void test_writer_completes_while_settling(void **state)
{
	struct fixture *x = start(state, NS / 5, W_COMPLETE_AT_FIRST_SLEEP);

	assert_int_equal(n_policies(x, 0), 2);
	assert_int_equal(x->f.reads, 2);
	assert_true(x->f.slept <= RR_SECFILE_WAIT_NS);
}

static void test_changed_during_read(void **state)
{
	struct fixture *x = start(state, 5 * NS, W_COMPLETE_AFTER_FIRST_READ);

	/* the first read is thrown away; the second is the whole policy */
	assert_int_equal(n_policies(x, 0), 2);
	assert_int_equal(x->f.reads, 2);
}

static void test_keeps_changing_fails(void **state)
{
	struct fixture *x = start(state, 0, W_APPEND_EVERY_SLEEP);

	assert_int_equal(n_policies(x, -EAGAIN), 0);
	assert_true(x->f.slept <= RR_SECFILE_WAIT_NS);
	assert_true(x->f.reads <= RR_SECFILE_TRIES);
}

static void test_no_wait_fails_at_once(void **state)
{
	struct fixture *x = start(state, NS / 5, W_NONE);

	x->o.wait_ns = 0; /* riskd, with the version it read before */
	assert_int_equal(n_policies(x, -EAGAIN), 0);
	assert_int_equal(x->f.sleeps, 0);
	x->f.base += NS; /* a second later it is stable */
	assert_int_equal(n_policies(x, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_version),
		cmocka_unit_test(test_settled),
		cmocka_unit_test_setup_teardown(test_old_file_read_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_recent_file_used_once_settled, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_writer_completes_while_settling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_during_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_keeps_changing_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_wait_fails_at_once,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
