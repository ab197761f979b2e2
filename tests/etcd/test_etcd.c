/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rr_etcd against a real 3-member etcd 3.4 cluster with TLS and auth, the
 * one run_cluster_test.sh starts with tests/etcd/etcd-cluster (DIR/env in
 * the environment: ETCD_ENDPOINT_1..3, ETCD_CA, ETCD_CERT, ETCD_KEY,
 * ETCD_USER, ETCD_PASSWORD_FILE, RR_ETCD_CLUSTER_DIR, RR_ETCD_CLUSTER_TOOL).
 * Every key is under /riskremediate/t/ (the test role's prefix).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rr_etcd.h"
#include "rr_etcd_http.h" /* the token, to see that it was renewed */

#define K(s) (s), (sizeof(s) - 1)

static const char *eps[3];

static const char *env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "%s not set: run me with run_cluster_test.sh\n",
			name);
		exit(1);
	}
	return v;
}

static rr_etcd_cfg cfg_of(const char *const *endpoints, size_t n)
{
	rr_etcd_cfg c = {
		.endpoints = endpoints, .n_endpoints = n,
		.ca = env("ETCD_CA"), .cert = env("ETCD_CERT"),
		.key = env("ETCD_KEY"), .user = env("ETCD_USER"),
		.password_file = env("ETCD_PASSWORD_FILE"),
		.connect_timeout_ms = 1000, .timeout_ms = 5000,
	};
	return c;
}

static rr_etcd *open_cluster(void)
{
	rr_etcd_cfg c = cfg_of(eps, 3);
	rr_etcd *e = NULL;

	assert_int_equal(rr_etcd_open(&c, &e), 0);
	return e;
}

/* etcd-cluster VERB DIR [ARG]: the cluster tool on our cluster. */
static void cluster(const char *verb, const char *arg)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "'%s' %s '%s' %s >/dev/null",
		 env("RR_ETCD_CLUSTER_TOOL"), verb, env("RR_ETCD_CLUSTER_DIR"),
		 arg ? arg : "");
	assert_int_equal(system(cmd), 0);
}

static void expect_kv(rr_etcd *e, const char *key, const void *v,
			 size_t n)
{
	rr_etcd_range *rg = NULL;

	assert_int_equal(rr_etcd_get(e, key, strlen(key), &rg), 0);
	assert_int_equal(rg->n, 1);
	assert_int_equal(rg->kvs[0].value_len, n);
	assert_memory_equal(rg->kvs[0].value, v, n);
	rr_etcd_range_free(rg);
}

static void test_roundtrip(void **state)
{
	unsigned char bin[256];
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	int64_t rev = 0, rev2 = 0, del = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i); /* NUL, 0xff, newlines... */
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/bin"), bin,
				     sizeof(bin), 0, &rev), 0);
	assert_true(rev > 0);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/bin"), &rg), 0);
	assert_int_equal(rg->n, 1);
	assert_int_equal(rg->kvs[0].value_len, sizeof(bin));
	assert_memory_equal(rg->kvs[0].value, bin, sizeof(bin));
	assert_int_equal(rg->kvs[0].mod_revision, rev);
	assert_int_equal(rg->kvs[0].create_revision, rev);
	assert_true(rg->revision >= rev);
	rr_etcd_range_free(rg);
	/* an empty value, and a key with a NUL and a newline in it */
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/\0a\nb"), "", 0,
				     0, &rev2), 0);
	assert_true(rev2 > rev);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/\0a\nb"), &rg), 0);
	assert_int_equal(rg->n, 1);
	assert_int_equal(rg->kvs[0].value_len, 0);
	assert_int_equal(rg->kvs[0].key_len, sizeof("/riskremediate/t/\0a\nb") - 1);
	rr_etcd_range_free(rg);
	/* absent, deleted */
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/none"), &rg), 0);
	assert_int_equal(rg->n, 0);
	rr_etcd_range_free(rg);
	assert_int_equal(rr_etcd_delete(e, K("/riskremediate/t/bin"), &del,
					&rev), 0);
	assert_int_equal(del, 1);
	assert_int_equal(rr_etcd_delete(e, K("/riskremediate/t/bin"), &del,
					NULL), 0);
	assert_int_equal(del, 0);
	rr_etcd_free(e);
}

static void test_prefix_pages(void **state)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	char key[64], val[16];
	int i;

	(void)state;
	for (i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "/riskremediate/t/page/%02d", i);
		snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(rr_etcd_put(e, key, strlen(key), val,
					     strlen(val), 0, NULL), 0);
	}
	/* a neighbour just outside the prefix */
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/page0"), "x", 1,
				     0, NULL), 0);
	assert_int_equal(rr_etcd_get_prefix(e, K("/riskremediate/t/page/"), 7,
					    &rg), 0);
	assert_int_equal(rg->n, 25);
	assert_false(rg->more);
	for (i = 0; i < 25; i++) {
		snprintf(key, sizeof(key), "/riskremediate/t/page/%02d", i);
		snprintf(val, sizeof(val), "v%d", i);
		assert_string_equal((char *)rg->kvs[i].key, key);
		assert_string_equal((char *)rg->kvs[i].value, val);
		assert_true(rg->kvs[i].mod_revision <= rg->revision);
	}
	rr_etcd_range_free(rg);
	assert_int_equal(rr_etcd_get_prefix(e, K("/riskremediate/t/empty/"), 0,
					    &rg), 0);
	assert_int_equal(rg->n, 0);
	rr_etcd_range_free(rg);
	rr_etcd_free(e);
}

static void test_cas(void **state)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	int64_t rev = 0, rev2 = 0;
	bool ok = true;

	(void)state;
	assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/cas"), 0, "a", 1,
				     &ok, &rev), 0);
	assert_true(ok);
	assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/cas"), 0, "b", 1,
				     &ok, NULL), 0);
	assert_false(ok); /* not absent any more */
	assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/cas"), rev, "c", 1,
				     &ok, &rev2), 0);
	assert_true(ok);
	assert_true(rev2 > rev);
	assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/cas"), rev, "d", 1,
				     &ok, NULL), 0);
	assert_false(ok); /* stale mod_revision */
	expect_kv(e, "/riskremediate/t/cas", "c", 1);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/cas"), &rg), 0);
	assert_int_equal(rg->kvs[0].mod_revision, rev2);
	assert_int_equal(rg->kvs[0].version, 2);
	rr_etcd_range_free(rg);
	rr_etcd_free(e);
}

/* n CAS increments of the counter, each retried until it holds. */
static int increments(int n, int *conflicts)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	char buf[32];
	bool ok;
	int i, r = 0;

	for (i = 0; i < n && r == 0; i++) {
		do {
			long v;
			int64_t mod;

			r = rr_etcd_get(e, K("/riskremediate/t/counter"), &rg);
			if (r < 0)
				break;
			v = rg->n ? strtol((char *)rg->kvs[0].value, NULL, 10)
				  : 0;
			mod = rg->n ? rg->kvs[0].mod_revision : 0;
			rr_etcd_range_free(rg);
			snprintf(buf, sizeof(buf), "%ld", v + 1);
			r = rr_etcd_cas(e, K("/riskremediate/t/counter"), mod,
					buf, strlen(buf), &ok, NULL);
			if (r == 0 && !ok)
				(*conflicts)++;
		} while (r == 0 && !ok);
	}
	rr_etcd_free(e);
	return r;
}

static void test_cas_race(void **state)
{
	rr_etcd *e;
	pid_t pid[2];
	int i, st, conflicts = 0;

	(void)state;
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			int r = increments(100, &conflicts);

			fprintf(stderr, "child %d: %d conflicts\n", i, conflicts);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	e = open_cluster();
	expect_kv(e, "/riskremediate/t/counter", "200", 3);
	rr_etcd_free(e);
}

/* ---- watch ------------------------------------------------------------ */

typedef struct {
	rr_etcd *writer;
	int n;
	rr_etcd_ev_type type[8];
	char key[8][64];
	int64_t rev[8];
	int progress;
	bool created;
} watch_seen;

static int on_watch(const rr_etcd_watch_msg *m, void *ud)
{
	watch_seen *w = ud;
	size_t i;

	if (m->kind == RR_ETCD_WATCH_CREATED) {
		w->created = true;
		/* a live change, made once the watch is in place */
		assert_int_equal(rr_etcd_put(w->writer, K("/riskremediate/t/w/c"),
					     "3", 1, 0, NULL), 0);
		return 0;
	}
	if (m->kind == RR_ETCD_WATCH_PROGRESS) {
		w->progress++;
		return w->n >= 4 ? 1 : 0;
	}
	for (i = 0; i < m->n_events && w->n < 8; i++, w->n++) {
		w->type[w->n] = m->events[i].type;
		snprintf(w->key[w->n], sizeof(w->key[0]), "%s",
			 (char *)m->events[i].kv.key);
		w->rev[w->n] = m->events[i].kv.mod_revision;
	}
	return 0;
}

static void test_watch(void **state)
{
	rr_etcd *e = open_cluster();
	watch_seen w = { .writer = open_cluster() };
	unsigned char end[64];
	size_t end_len;
	int64_t start, rev;
	int i;

	(void)state;
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/w/a"), "1", 1, 0,
				     &start), 0);
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/w/b"), "2", 1, 0,
				     NULL), 0);
	assert_int_equal(rr_etcd_delete(e, K("/riskremediate/t/w/a"), NULL,
					&rev), 0);
	assert_int_equal(rr_etcd_prefix_end(K("/riskremediate/t/w/"), end,
					    &end_len), 0);
	rr_etcd_watch_req req = {
		.key = "/riskremediate/t/w/", .key_len = 19,
		.range_end = end, .range_end_len = end_len,
		.start_revision = start, .idle_timeout_ms = 5000,
	};
	assert_int_equal(rr_etcd_watch(e, &req, on_watch, &w, NULL), 0);
	assert_true(w.created);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.type[0], RR_ETCD_EV_PUT);
	assert_string_equal(w.key[0], "/riskremediate/t/w/a");
	assert_int_equal(w.rev[0], start);
	assert_int_equal(w.type[1], RR_ETCD_EV_PUT);
	assert_string_equal(w.key[1], "/riskremediate/t/w/b");
	assert_int_equal(w.type[2], RR_ETCD_EV_DELETE);
	assert_string_equal(w.key[2], "/riskremediate/t/w/a");
	assert_int_equal(w.rev[2], rev);
	assert_int_equal(w.type[3], RR_ETCD_EV_PUT);
	assert_string_equal(w.key[3], "/riskremediate/t/w/c");
	for (i = 1; i < 4; i++)
		assert_true(w.rev[i] > w.rev[i - 1]);
	assert_true(w.progress >= 1);
	rr_etcd_free(w.writer);
	rr_etcd_free(e);
}

/* The gateway confirms the watch's creation, then cancels it. */
static int never(const rr_etcd_watch_msg *m, void *ud)
{
	(void)ud;
	if (m->kind != RR_ETCD_WATCH_CREATED)
		fail_msg("a watch of a compacted revision delivered something");
	return 0;
}

static void test_watch_compacted(void **state)
{
	rr_etcd *e = open_cluster();
	int64_t first, compact = 0;

	(void)state;
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/old"), "1", 1, 0,
				     &first), 0);
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/old"), "2", 1, 0,
				     NULL), 0);
	cluster("compact", NULL);
	rr_etcd_watch_req req = {
		.key = "/riskremediate/t/old", .key_len = 20,
		.start_revision = first, .idle_timeout_ms = 5000,
	};
	assert_int_equal(rr_etcd_watch(e, &req, never, NULL, &compact),
			 -ESTALE);
	assert_true(compact > first);
	assert_non_null(strstr(rr_etcd_last_error(e), "compacted"));
	rr_etcd_free(e);
}

static int stop_when_created(const rr_etcd_watch_msg *m, void *ud)
{
	(void)ud;
	return m->kind == RR_ETCD_WATCH_CREATED ? 1 : 0;
}

/* The test role may not touch anything outside /riskremediate/. */
static void test_prefix_role(void **state)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	bool ok;
	rr_etcd_watch_req req = {
		.key = "/other", .key_len = 6, .idle_timeout_ms = 5000,
	};

	(void)state;
	assert_int_equal(rr_etcd_put(e, K("/other"), "x", 1, 0, NULL), -EACCES);
	assert_non_null(strstr(rr_etcd_last_error(e), "permission denied"));
	assert_int_equal(rr_etcd_get(e, K("/other"), &rg), -EACCES);
	assert_int_equal(rr_etcd_cas(e, K("/other"), 0, "x", 1, &ok, NULL),
			 -EACCES);
	assert_int_equal(rr_etcd_get_prefix(e, K("/"), 0, &rg), -EACCES);
	assert_int_equal(rr_etcd_watch(e, &req, stop_when_created, NULL, NULL),
			 -EACCES);
	rr_etcd_free(e);
}

/* etcd drops every token of the user (as when it expires): the next
 * request fails with "invalid auth token", and the client authenticates
 * again, once, and retries. */
static void test_token_expired(void **state)
{
	rr_etcd *e = open_cluster();
	char before[RR_ETCD_MAX_TOKEN];
	rr_etcd_range *rg = NULL;
	rr_etcd_watch_req req = {
		.key = "/riskremediate/t/x", .key_len = 18,
		.idle_timeout_ms = 5000,
	};

	(void)state;
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/x"), &rg), 0);
	rr_etcd_range_free(rg);
	memcpy(before, e->token, sizeof(before));
	assert_true(before[0] != '\0');
	cluster("expire-tokens", NULL);
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/x"), "1", 1, 0,
				     NULL), 0);
	assert_string_not_equal(e->token, before);
	/* the watch path too */
	memcpy(before, e->token, sizeof(before));
	cluster("expire-tokens", NULL);
	if (rr_etcd_watch(e, &req, stop_when_created, NULL, NULL) != 0)
		fail_msg("watch: %s", rr_etcd_last_error(e));
	assert_string_not_equal(e->token, before);
	rr_etcd_free(e);
}

static void test_wrong_password(void **state)
{
	char path[] = "/tmp/rr-etcd-pw-XXXXXX";
	rr_etcd_cfg c = cfg_of(eps, 3);
	rr_etcd_range *rg = NULL;
	rr_etcd *e = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not the password\n", 17), 17);
	close(fd);
	c.password_file = path;
	assert_int_equal(rr_etcd_open(&c, &e), 0);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/x"), &rg), -EACCES);
	assert_null(strstr(rr_etcd_last_error(e), "not the password"));
	rr_etcd_free(e);
	unlink(path);
}

static void test_failover(void **state)
{
	const char *dead[4] = { "https://127.0.0.1:1", eps[0], eps[1], eps[2] };
	rr_etcd_cfg c = cfg_of(dead, 4);
	rr_etcd *e = NULL;

	(void)state;
	/* a first endpoint nobody listens on */
	assert_int_equal(rr_etcd_open(&c, &e), 0);
	expect_kv(e, "/riskremediate/t/cas", "c", 1);
	assert_int_not_equal(rr_etcd_endpoint(e), 0);
	rr_etcd_free(e);
	/* member 1 stopped: the client moves on to member 2 */
	e = open_cluster();
	expect_kv(e, "/riskremediate/t/cas", "c", 1);
	assert_int_equal(rr_etcd_endpoint(e), 0);
	cluster("stop-member", "1");
	expect_kv(e, "/riskremediate/t/cas", "c", 1);
	assert_int_equal(rr_etcd_endpoint(e), 1);
	{
		bool ok;

		assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/fo"), 0,
					     "1", 1, &ok, NULL), 0);
		assert_true(ok);
	}
	cluster("start-member", "1");
	rr_etcd_free(e);
}

/* The output of `etcd-cluster VERB DIR`: one line. */
static void cluster_out(const char *verb, char *out, size_t cap)
{
	char cmd[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' %s '%s'", env("RR_ETCD_CLUSTER_TOOL"),
		 verb, env("RR_ETCD_CLUSTER_DIR"));
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, (int)cap, f));
	assert_int_equal(pclose(f), 0);
	out[strcspn(out, "\n")] = '\0';
}

/* kill -9 of the leader: after an election the cluster takes writes
 * again, through whichever endpoint answers. */
static void test_leader_killed(void **state)
{
	rr_etcd *e = open_cluster();
	char n[16];
	bool ok = false;
	int i, r = -1;

	(void)state;
	expect_kv(e, "/riskremediate/t/cas", "c", 1);
	cluster_out("kill-leader", n, sizeof(n));
	assert_true(n[0] >= '1' && n[0] <= '3' && n[1] == '\0');
	/* a read retried until the election is over (bounded: 10 s) */
	for (i = 0; i < 100 && r != 0; i++) {
		rr_etcd_range *rg = NULL;

		r = rr_etcd_get(e, K("/riskremediate/t/cas"), &rg);
		rr_etcd_range_free(rg);
		if (r != 0)
			usleep(100 * 1000);
	}
	if (r != 0)
		fail_msg("no read after the leader's death: %s",
			 rr_etcd_last_error(e));
	assert_int_equal(rr_etcd_cas(e, K("/riskremediate/t/after-leader"), 0,
				     "1", 1, &ok, NULL), 0);
	assert_true(ok);
	cluster("start-member", n);
	rr_etcd_free(e);
}

static void test_lease(void **state)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	int64_t id = 0, ttl = 0;

	(void)state;
	assert_int_equal(rr_etcd_lease_grant(e, 60, &id, &ttl), 0);
	assert_true(id != 0);
	assert_int_equal(ttl, 60);
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/leased"), "1", 1,
				     id, NULL), 0);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/leased"), &rg), 0);
	assert_int_equal(rg->kvs[0].lease, id);
	rr_etcd_range_free(rg);
	rg = NULL;
	/* renewed: its TTL again */
	ttl = 0;
	assert_int_equal(rr_etcd_lease_keepalive(e, id, &ttl), 0);
	assert_int_equal(ttl, 60);
	/* a lease of 1 s, 3 s later: expired (TTL 0), its key gone; a lease
	 * that never existed says the same */
	assert_int_equal(rr_etcd_lease_grant(e, 1, &id, &ttl), 0);
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/short"), "1", 1,
				     id, NULL), 0);
	sleep(3);
	ttl = 7;
	assert_int_equal(rr_etcd_lease_keepalive(e, id, &ttl), 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/short"), &rg), 0);
	assert_int_equal(rg->n, 0);
	rr_etcd_range_free(rg);
	ttl = 7;
	assert_int_equal(rr_etcd_lease_keepalive(e, 12345, &ttl), 0);
	assert_int_equal(ttl, 0);
	/* a put on an expired lease is refused */
	assert_int_equal(rr_etcd_put(e, K("/riskremediate/t/short"), "1", 1,
				     id, NULL), -ENOENT);
	rr_etcd_free(e);
}

/* Members 2 and 3 stopped: member 1 has no leader, and a watch (sent with
 * Grpc-Metadata-Hasleader) says so rather than waiting in silence.  The
 * token is fetched while the cluster has its quorum. */
static void test_no_quorum(void **state)
{
	rr_etcd *e = open_cluster();
	rr_etcd_range *rg = NULL;
	rr_etcd_watch_req req = {
		.key = "/riskremediate/t/x", .key_len = 18,
		.idle_timeout_ms = 5000,
	};
	int i, r = 0;

	(void)state;
	assert_int_equal(rr_etcd_get(e, K("/riskremediate/t/x"), &rg), 0);
	rr_etcd_range_free(rg);
	cluster("stop-member", "2");
	cluster("stop-member", "3");
	/* until member 1 notices (an election timeout, 0.5 s) */
	for (i = 0; i < 50; i++) {
		r = rr_etcd_watch(e, &req, stop_when_created, NULL, NULL);
		if (r != 0)
			break;
		usleep(100 * 1000);
	}
	if (r != -EAGAIN)
		fail_msg("watch without quorum: %d (%s)", r,
			 rr_etcd_last_error(e));
	assert_non_null(strstr(rr_etcd_last_error(e), "with a leader"));
	rr_etcd_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_prefix_pages),
		cmocka_unit_test(test_cas),
		cmocka_unit_test(test_cas_race),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_watch_compacted),
		cmocka_unit_test(test_prefix_role),
		cmocka_unit_test(test_token_expired),
		cmocka_unit_test(test_wrong_password),
		cmocka_unit_test(test_lease),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_leader_killed),
		cmocka_unit_test(test_no_quorum), /* last: leaves no quorum */
	};

	eps[0] = env("ETCD_ENDPOINT_1");
	eps[1] = env("ETCD_ENDPOINT_2");
	eps[2] = env("ETCD_ENDPOINT_3");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
