/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_fleet, part 3: how fast an admin action reaches the fleet.  Three
 * hosts' riskd (a, b, c, each following a different etcd member first)
 * keep their replicas; `watchers` plain watches on the tenant's users/
 * range (rr_etcd_watch, one thread and one client each, spread over the
 * members) stand in for a larger fleet.  Then `actions` admin actions,
 * riskctl confirm-compromised and unblock of one user alternating, one at
 * a time, each timed from the moment riskctl is started (issue) to:
 *   - riskctl's exit (what the admin waits for);
 *   - visible in each replica: the users row holds the new state.  The
 *     bench waits on inotify for the store's directory (riskd's commit
 *     writes the WAL) and, at least every millisecond, reads the row: the
 *     time it saw the row is within ~1 ms of the replica's commit;
 *   - delivered to each watcher (the time its callback got the event).
 * The next action starts once every replica and every watcher has the
 * previous one.  A riskctl that fails (a leader change) is run again with
 * the same issue time; a watch that breaks is resumed after the last
 * revision it saw.
 */
#include "bench_fleet.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "rr_fleet_model.h"

#define USER "alice"
#define ACTION_DEADLINE_NS 10e9
#define WATCH_SETUP_DEADLINE_NS 120e9
#define GAP_MS 20 /* between two actions */
/* watches being set up at once: each authenticates first (a bcrypt
 * check in etcd, ~50-100 ms of a CPU here), and 200 at once time out */
#define SETUP_AT_ONCE 2

/* ---- watchers ------------------------------------------------------------ */

/* One event on the user's risk record: when it arrived, its state. */
typedef struct {
	double t;
	int64_t rev;
	char state; /* the first letter of the state, '?' for another */
} delivery;

typedef struct {
	const fleet *f;
	size_t idx;
	const char *key;          /* the user's risk record */
	const char *range;        /* the users/ range */
	const unsigned char *end;
	size_t end_len;
	delivery *ev;             /* [cap], appended by the thread */
	int cap;
	int count;                /* ev[0..count) written (atomic) */
	int created;              /* 1: the first watch is in place, -1: the
				   * thread ended before (atomic) */
	bool posted;              /* gave its set-up slot back */
	int64_t next_rev;         /* a new watch resumes here */
	int restarts;             /* watches broken and resumed */
	pthread_t th;
	/* the main thread's */
	int cursor;               /* ev[] read up to here */
	double *got;              /* [actions]: delivery of action i */
} watcher;

static int g_stop;     /* atomic: every watch ends within a second */
static int g_reported; /* atomic: errors printed */
static sem_t g_setup;

static void setup_done(watcher *w)
{
	if (!w->posted)
		sem_post(&g_setup);
	w->posted = true;
}

static char state_of(const rr_etcd_kv *kv)
{
	const char *v = (const char *)kv->value;

	if (!v)
		return '?';
	if (strstr(v, "\"riskState\":\"confirmedCompromised\""))
		return 'c';
	return strstr(v, "\"riskState\":\"dismissed\"") ? 'd' : '?';
}

static int on_watch(const rr_etcd_watch_msg *m, void *ud)
{
	watcher *w = ud;
	double now = fleet_now_ns();
	int c = __atomic_load_n(&w->count, __ATOMIC_RELAXED);
	size_t i;

	switch (m->kind) {
	case RR_ETCD_WATCH_CREATED:
		if (!w->next_rev)
			w->next_rev = m->revision + 1;
		setup_done(w);
		__atomic_store_n(&w->created, 1, __ATOMIC_RELEASE);
		break;
	case RR_ETCD_WATCH_EVENTS:
		for (i = 0; i < m->n_events; i++) {
			const rr_etcd_kv *kv = &m->events[i].kv;

			if (kv->mod_revision >= w->next_rev)
				w->next_rev = kv->mod_revision + 1;
			if (kv->key_len != strlen(w->key) ||
			    memcmp(kv->key, w->key, kv->key_len))
				continue;
			if (c == w->cap)
				return -ENOSPC;
			w->ev[c++] = (delivery){ now, kv->mod_revision,
						 state_of(kv) };
		}
		__atomic_store_n(&w->count, c, __ATOMIC_RELEASE);
		break;
	case RR_ETCD_WATCH_PROGRESS:
		if (m->revision >= w->next_rev)
			w->next_rev = m->revision + 1;
		break;
	}
	return 0;
}

static bool stop_asked(void *ud)
{
	(void)ud;
	return __atomic_load_n(&g_stop, __ATOMIC_RELAXED);
}

/* A thread: one client, a watch until stop_asked, resumed after the
 * revision last seen when it breaks (a leader change).  Never exits the
 * program: the main thread does. */
static void *watch_main(void *arg)
{
	watcher *w = arg;
	rr_etcd *e = NULL;
	rr_etcd_watch_req req = {
		.key = w->range, .key_len = strlen(w->range),
		.range_end = w->end, .range_end_len = w->end_len,
		.cancelled = stop_asked,
	};
	int r;

	while (sem_wait(&g_setup) < 0)
		;
	r = fleet_etcd_try_open(w->f, w->idx, &e);
	while (!r && !stop_asked(NULL)) {
		req.start_revision = w->next_rev;
		r = rr_etcd_watch(e, &req, on_watch, w, NULL);
		if (stop_asked(NULL) || r == -ENOSPC)
			break;
		if (__atomic_fetch_add(&g_reported, 1, __ATOMIC_RELAXED) < 3)
			fprintf(stderr, "bench_fleet: watcher %zu: %s "
				"(resumed)\n", w->idx, rr_etcd_last_error(e));
		w->restarts++;
		setup_done(w);
		r = 0;
		usleep(100000);
	}
	if (r < 0)
		fprintf(stderr, "bench_fleet: watcher %zu: %s\n", w->idx,
			strerror(-r));
	setup_done(w);
	if (!__atomic_load_n(&w->created, __ATOMIC_ACQUIRE))
		__atomic_store_n(&w->created, -1, __ATOMIC_RELEASE);
	rr_etcd_free(e);
	return NULL;
}

/* Start n watchers and wait until every watch is in place. */
static watcher *watchers_start(const fleet *f, int n, int actions,
			       const char *key, const char *range,
			       const unsigned char *end, size_t end_len)
{
	watcher *w = calloc((size_t)n + 1, sizeof(*w));
	double t0 = fleet_now_ns();
	pthread_attr_t attr;
	int i, ready = 0;

	if (!w || sem_init(&g_setup, 0, SETUP_AT_ONCE) < 0 ||
	    pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, 512 * 1024) != 0)
		bench_die("out of memory");
	__atomic_store_n(&fleet_threads_live, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		w[i] = (watcher){ .f = f, .idx = (size_t)i, .key = key,
				  .range = range, .end = end,
				  .end_len = end_len, .cap = 4 * actions + 16 };
		w[i].ev = calloc((size_t)w[i].cap, sizeof(delivery));
		w[i].got = calloc((size_t)actions, sizeof(double));
		if (!w[i].ev || !w[i].got ||
		    pthread_create(&w[i].th, &attr, watch_main, &w[i]) != 0)
			bench_die("cannot start watcher %d", i);
	}
	pthread_attr_destroy(&attr);
	while (ready < n) {
		ready = 0;
		for (i = 0; i < n; i++) {
			int c = __atomic_load_n(&w[i].created,
						__ATOMIC_ACQUIRE);

			if (c < 0)
				bench_die("watcher %d ended before its watch "
					  "was in place", i);
			ready += c;
		}
		if (fleet_now_ns() - t0 > WATCH_SETUP_DEADLINE_NS)
			bench_die("only %d of %d watches in place", ready, n);
		usleep(10000);
	}
	printf("%d watches in place in %.1f s (a client, a token and a "
	       "watch stream each, spread over the members; %d set up at "
	       "once)\n", n, (fleet_now_ns() - t0) / 1e9, SETUP_AT_ONCE);
	return w;
}

/* Every watcher has had action i's event (state `want`, not older than
 * t0); their delivery times go to got[i]. */
static bool watchers_have(watcher *w, int n, int i, double t0, char want)
{
	bool all = true;
	int k;

	for (k = 0; k < n; k++) {
		watcher *x = &w[k];
		int c = __atomic_load_n(&x->count, __ATOMIC_ACQUIRE);

		while (!x->got[i] && x->cursor < c) {
			const delivery *d = &x->ev[x->cursor++];

			if (d->t >= t0 && d->state == want)
				x->got[i] = d->t;
		}
		all = all && x->got[i];
	}
	return all;
}

/* How many watchers have had action i. */
static int watchers_count(const watcher *w, int n, int i)
{
	int k, c = 0;

	for (k = 0; k < n; k++)
		c += w[k].got[i] > 0;
	return c;
}

/* Stops them; the number of watches that were resumed. */
static int watchers_stop(watcher *w, int n)
{
	int i, restarts = 0;

	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		restarts += w[i].restarts;
	}
	__atomic_store_n(&fleet_threads_live, 0, __ATOMIC_RELAXED);
	sem_destroy(&g_setup);
	return restarts;
}

static void watchers_free(watcher *w, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(w[i].ev);
		free(w[i].got);
	}
	free(w);
}

/* ---- replicas ------------------------------------------------------------ */

typedef struct {
	sqlite3 *db;
	sqlite3_stmt *st;
} replica;

static void replica_open(replica *r, const fleet_host *h)
{
	if (sqlite3_open_v2(h->store, &r->db, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "SELECT state FROM users WHERE user = "
				      "'" USER "'", -1, &r->st,
			       NULL) != SQLITE_OK)
		bench_die("%s: %s", h->store, sqlite3_errmsg(r->db));
}

/* The user's state in the replica is `want`.  The statement is reset at
 * once: no read snapshot is kept (riskd's checkpoints go on). */
static bool replica_has(replica *r, const char *want)
{
	bool yes = false;

	if (sqlite3_step(r->st) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(r->st, 0);

		yes = s && !strcmp((const char *)s, want);
	}
	sqlite3_reset(r->st);
	return yes;
}

static void replica_close(replica *r)
{
	sqlite3_finalize(r->st);
	sqlite3_close(r->db);
}

/* ---- one action ---------------------------------------------------------- */

#define RISKCTL_TRIES 3

typedef struct {
	double t0;                /* issued (riskctl first started), abs ns */
	double ctl;               /* riskctl exited successfully, since t0 */
	double seen[FLEET_HOSTS]; /* visible in replica j, since t0 */
	int retries;              /* riskctl runs that failed */
} action;

static pid_t riskctl(const fleet *f, const char *verb, const char *out,
		     int *pidfd)
{
	char *argv[] = { (char *)f->riskctl, (char *)"--policy",
			 (char *)f->hosts[0].policy, (char *)verb,
			 (char *)USER, NULL };
	pid_t pid = fork();

	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0)
		fleet_child_exec(out, argv, f->child_env);
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (*pidfd < 0)
		bench_die("pidfd_open: %s", strerror(errno));
	return pid;
}

/* riskctl ended (pfd readable): true when it succeeded; a failure (a
 * leader change, say) is retried with the same t0, as an admin would. */
static bool riskctl_done(const fleet *f, action *a, const char *verb,
			 const char *out, pid_t *pid, struct pollfd *pfd)
{
	int st = 0;

	waitpid(*pid, &st, 0);
	close(pfd->fd);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	if (++a->retries >= RISKCTL_TRIES)
		bench_die("riskctl %s %s failed %d times (status 0x%x); see "
			  "%s", verb, USER, a->retries, st, out);
	*pid = riskctl(f, verb, out, &pfd->fd);
	return false;
}

static void run_action(const fleet *f, int i, action *a, replica *r,
		       int ino, watcher *w, int n_w, const char *out)
{
	const char *verb = i % 2 ? "unblock" : "confirm-compromised";
	const char *want = i % 2 ? "dismissed" : "confirmedCompromised";
	bool seen[FLEET_HOSTS] = { false }, done = false;
	struct pollfd pfd[2] = { { .fd = ino, .events = POLLIN },
				 { .events = POLLIN } };
	char buf[4096];
	pid_t pid;
	int j, n_seen = 0;

	a->t0 = fleet_now_ns();
	pid = riskctl(f, verb, out, &pfd[1].fd);
	while (!done || n_seen < FLEET_HOSTS ||
	       !watchers_have(w, n_w, i, a->t0, want[0])) {
		double t;

		poll(pfd, done ? 1 : 2, 1);
		t = fleet_now_ns();
		while (read(ino, buf, sizeof(buf)) > 0)
			;
		for (j = 0; j < FLEET_HOSTS; j++)
			if (!seen[j] && replica_has(&r[j], want)) {
				seen[j] = true;
				n_seen++;
				a->seen[j] = t - a->t0;
			}
		if (!done && (pfd[1].revents & POLLIN) &&
		    riskctl_done(f, a, verb, out, &pid, &pfd[1])) {
			done = true;
			a->ctl = t - a->t0;
		}
		if (t - a->t0 > ACTION_DEADLINE_NS)
			bench_die("action %d (%s): not everywhere after %.0f "
				  "s (riskctl %s, %d of %d replicas, %d of %d "
				  "watchers)", i, verb,
				  ACTION_DEADLINE_NS / 1e9,
				  done ? "done" : "running", n_seen,
				  FLEET_HOSTS, watchers_count(w, n_w, i), n_w);
	}
}

/* ---- the report ---------------------------------------------------------- */

static double max_seen(const action *a)
{
	double m = 0;
	int j;

	for (j = 0; j < FLEET_HOSTS; j++)
		m = a->seen[j] > m ? a->seen[j] : m;
	return m;
}

static void report_replicas(const action *a, int n, double *t)
{
	char label[64];
	int i, j, before = 0, retries = 0;

	for (i = 0; i < n; i++)
		t[i] = a[i].ctl;
	fleet_report("riskctl returned", t, (size_t)n, 1e6);
	for (j = 0; j < FLEET_HOSTS; j++) {
		for (i = 0; i < n; i++)
			t[i] = a[i].seen[j];
		snprintf(label, sizeof(label), "visible in replica %c",
			 'a' + j);
		fleet_report(label, t, (size_t)n, 1e6);
	}
	for (i = 0; i < n; i++) {
		t[i] = max_seen(&a[i]);
		before += t[i] <= a[i].ctl;
		retries += a[i].retries;
	}
	fleet_report("visible in all 3 replicas", t, (size_t)n, 1e6);
	printf("  (p99 target <= 1000 ms: %s; %d of %d actions were in all "
	       "3 replicas before riskctl returned; riskctl runs retried: "
	       "%d)\n", fleet_pct(t, (size_t)n, 99) <= 1e9 ? "met" : "NOT met",
	       before, n, retries);
}

/* Each watcher's delivery of action i, since its issue, into
 * t[i * n_w ..]; the slowest into worst[i], the first into first[i]. */
static void deliveries(const action *a, int n, const watcher *w, int n_w,
		       double *t, double *worst, double *first)
{
	int i, j;

	for (i = 0; i < n; i++) {
		worst[i] = 0;
		first[i] = 1e18;
		for (j = 0; j < n_w; j++) {
			double d = w[j].got[i] - a[i].t0;

			t[(size_t)i * (size_t)n_w + (size_t)j] = d;
			worst[i] = d > worst[i] ? d : worst[i];
			first[i] = d < first[i] ? d : first[i];
		}
	}
}

/* t: n * n_w slots; worst, first, then: n */
static void report_watchers(const action *a, int n, const watcher *w,
			    int n_w, double *t, double *worst, double *first,
			    double *then)
{
	char label[64];
	int i;

	deliveries(a, n, w, n_w, t, worst, first);
	/* the first delivery is within a few ms of the commit: what follows
	 * it is the propagation proper; riskctl's own work precedes it */
	for (i = 0; i < n; i++)
		then[i] = worst[i] - first[i];
	snprintf(label, sizeof(label), "delivered, %d watchers (each)", n_w);
	fleet_report(label, t, (size_t)n * (size_t)n_w, 1e6);
	fleet_report("delivered to all watchers", worst, (size_t)n, 1e6);
	printf("  (p99 target <= 1000 ms: %s)\n",
	       fleet_pct(worst, (size_t)n, 99) <= 1e9 ? "met" : "NOT met");
	for (i = 0; i < n; i++)
		t[i] = max_seen(&a[i]) - first[i];
	fleet_report("first delivery (~ the commit)", first, (size_t)n, 1e6);
	fleet_report("then: all 3 replicas", t, (size_t)n, 1e6);
	fleet_report("then: all watchers", then, (size_t)n, 1e6);
}

static void report(const action *a, int n, const watcher *w, int n_w)
{
	double *t = calloc((size_t)n * (size_t)(n_w ? n_w : 1), sizeof(*t));
	double *worst = calloc((size_t)n, sizeof(*worst));
	double *first = calloc((size_t)n, sizeof(*first));
	double *then = calloc((size_t)n, sizeof(*then));

	if (!t || !worst || !first || !then)
		bench_die("out of memory");
	printf("\n3. propagation of %d admin actions (riskctl "
	       "confirm-compromised / unblock %s alternating), from issue "
	       "(riskctl started):\n", n, USER);
	report_replicas(a, n, t);
	if (n_w)
		report_watchers(a, n, w, n_w, t, worst, first, then);
	free(t);
	free(worst);
	free(first);
	free(then);
}

void fleet_propagation(fleet *f, int actions, int n_w)
{
	char key[256], range[256], out[160];
	unsigned char end[256];
	size_t end_len = 0;
	int ino, i, j, restarts;
	action *a = calloc((size_t)actions, sizeof(*a));
	replica r[FLEET_HOSTS];
	rr_etcd *e = fleet_etcd_open(f, 0);
	int64_t rev = fleet_etcd_revision(e);
	watcher *w;

	rr_etcd_free(e);
	if (!a || rr_fleet_key_risk(f->prefix, USER, key, sizeof(key)) < 0 ||
	    rr_fleet_key_users(f->prefix, range, sizeof(range)) < 0 ||
	    rr_etcd_prefix_end(range, strlen(range), end, &end_len) < 0)
		bench_die("cannot make the keys");
	for (j = 1; j < FLEET_HOSTS; j++)
		fleet_host_start(f, &f->hosts[j], true, rev);
	printf("\nhosts a, b, c: replicas at revision %lld or later\n",
	       (long long)rev);
	w = watchers_start(f, n_w, actions, key, range, end, end_len);
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0)
		bench_die("inotify: %s", strerror(errno));
	for (j = 0; j < FLEET_HOSTS; j++) {
		char dir[160];

		snprintf(dir, sizeof(dir), "%s/store", f->hosts[j].dir);
		if (inotify_add_watch(ino, dir, IN_MODIFY | IN_CREATE) < 0)
			bench_die("inotify %s: %s", dir, strerror(errno));
		replica_open(&r[j], &f->hosts[j]);
	}
	snprintf(out, sizeof(out), "%s/riskctl.log", f->hosts[0].dir);
	for (i = 0; i < actions; i++) {
		run_action(f, i, &a[i], r, ino, w, n_w, out);
		usleep(GAP_MS * 1000);
	}
	restarts = watchers_stop(w, n_w);
	report(a, actions, w, n_w);
	if (n_w)
		printf("  (watches broken and resumed during the run: %d)\n",
		       restarts);
	watchers_free(w, n_w);
	for (j = 0; j < FLEET_HOSTS; j++)
		replica_close(&r[j]);
	close(ino);
	free(a);
}
