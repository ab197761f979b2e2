/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One call served: riskd's host for the module's logic.  The call is
 * riskd's only once the module has committed it (ACCEPT, COMMIT:
 * riskd_proto.h); until then nothing of it is done.  What the module
 * sent in HELLO (riskd_proto.h) answers the items, the environment, the
 * PAM data, the uid and the clock; prompts, the user name when unset and
 * the other items are asked over the connection; log lines and PAM data
 * are sent to the module, which writes them in its application.  Once the
 * connection fails every later request fails (the logic denies), and log
 * lines go to riskd's own syslog so that none is lost.
 */
#include "riskd.h"
#include "riskd_proto.h"
#include "rr_wire.h"
#include "stats.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define OWNED_MAX 8

typedef struct {
	rr_host host; /* first: the host is the call */
	int fd;
	bool broken;
	rr_wire_queue out; /* LOG and SETDATA until the next flush */
	rr_wire_msg hello;
	rr_type type;
	uid_t uid;
	int64_t clock_offset; /* the application's clock minus ours */
	const char *user;
	const char *data[RR_N_DATA];
	char *data_owned[RR_N_DATA];
	char *owned[OWNED_MAX]; /* answers handed to the logic, zeroed at end */
	size_t n_owned;
	int64_t wait_ns; /* waiting for the module's answers (stats.h) */
} rd_call;

static const char *const type_names[] = {"auth", "account", "password",
					 "session"};

static void lost_line(const rd_call *k, int priority, const char *text)
{
	syslog(LOG_AUTHPRIV | priority, "pam_riskremediate(%s:%s): %s (the "
	       "module's connection was lost)", k->hello.f[RR_H_SERVICE].s ?
	       k->hello.f[RR_H_SERVICE].s : "?", type_names[k->type], text);
}

static rd_call *call_of(rr_host *h)
{
	return (rd_call *)h;
}

/* Keep v (malloc'd or NULL) until the call ends. */
static int keep(rd_call *k, char *v, const char **out)
{
	*out = NULL;
	if (!v)
		return 0;
	if (k->n_owned == OWNED_MAX) {
		rr_answer_free(v);
		return -ENOMEM;
	}
	k->owned[k->n_owned++] = v;
	*out = v;
	return 0;
}

/* The connection failed with LOG lines still queued: riskd's own syslog
 * gets them, so that none is lost. */
static void relog_queued(rd_call *k)
{
	rr_wire_msg m = {0};
	size_t off = 0;
	long long pri;

	while (rr_wire_next(k->out.buf, k->out.len, &off, &m) == 0) {
		if (m.type == RR_W_LOG && m.n == 2 && m.f[1].s &&
		    !rr_wire_int(&m, 0, LOG_EMERG, LOG_DEBUG, &pri))
			lost_line(k, (int)pri, m.f[1].s);
		rr_wire_msg_clear(&m);
	}
	rr_wire_queue_clear(&k->out);
}

/* Queue a message; with `flush`, send the queue (the module wakes once). */
static int send_msg(rd_call *k, rr_wire_type t, const char *const *f,
		    size_t n, bool flush)
{
	int r;

	if (k->broken)
		return -EPIPE;
	r = rr_wire_queue_add(&k->out, t, f, n);
	if (r == -EMSGSIZE) {
		r = rr_wire_queue_flush(k->fd, &k->out, RR_RISKD_HELLO_MS);
		if (r == 0)
			r = rr_wire_queue_add(&k->out, t, f, n);
	}
	if (r == 0 && flush)
		r = rr_wire_queue_flush(k->fd, &k->out, RR_RISKD_HELLO_MS);
	if (r < 0) {
		k->broken = true;
		relog_queued(k);
		return -EPIPE;
	}
	return 0;
}

/* Send a request and read its REPLY [rc, value?]: the PAM code, and the
 * value malloc'd (NULL when absent). */
static int request(rd_call *k, rr_wire_type t, const char *const *f,
		   size_t n, char **value)
{
	rr_wire_msg m = {0};
	long long rc;
	int64_t t0;
	int r;

	*value = NULL;
	if (send_msg(k, t, f, n, true) < 0)
		return PAM_CONV_ERR;
	t0 = rd_stats_now_ns();
	r = rr_wire_recv(k->fd, &m, RR_RISKD_ANSWER_MS);
	k->wait_ns += rd_stats_now_ns() - t0;
	if (r < 0 || m.type != RR_W_REPLY || m.n != 2 ||
	    rr_wire_int(&m, 0, 0, INT_MAX, &rc)) {
		rr_wire_msg_clear(&m);
		k->broken = true;
		return PAM_CONV_ERR;
	}
	if (m.f[1].s && !(*value = strdup(m.f[1].s)))
		rc = PAM_BUF_ERR;
	rr_wire_msg_clear(&m);
	return (int)rc;
}

static int request_kept(rd_call *k, rr_wire_type t, const char *const *f,
			size_t n, const char **value)
{
	char *v = NULL;
	int r = request(k, t, f, n, &v);

	if (keep(k, v, value) < 0)
		return PAM_BUF_ERR;
	return r;
}

static int get_user(rr_host *h, const char **user)
{
	rd_call *k = call_of(h);
	int r;

	if (!k->user) {
		r = request_kept(k, RR_W_GETUSER, NULL, 0, &k->user);
		if (r != PAM_SUCCESS)
			k->user = NULL;
		if (!k->user)
			return r != PAM_SUCCESS ? r : PAM_USER_UNKNOWN;
	}
	*user = k->user;
	return PAM_SUCCESS;
}

static int get_item(rr_host *h, int item, const char **out)
{
	rd_call *k = call_of(h);
	const char *f[1];
	char s[16];

	switch (item) {
	case PAM_USER:
		*out = k->user;
		return PAM_SUCCESS;
	case PAM_SERVICE:
		*out = k->hello.f[RR_H_SERVICE].s;
		return PAM_SUCCESS;
	case PAM_RHOST:
		*out = k->hello.f[RR_H_RHOST].s;
		return PAM_SUCCESS;
	case PAM_TTY:
		*out = k->hello.f[RR_H_TTY].s;
		return PAM_SUCCESS;
	default:
		snprintf(s, sizeof(s), "%d", item);
		f[0] = s;
		return request_kept(k, RR_W_GETITEM, f, 1, out);
	}
}

static const char *get_env(rr_host *h, const char *name)
{
	rd_call *k = call_of(h);

	/* the only variable the logic reads; HELLO carries it */
	if (strcmp(name, "SSH_AUTH_INFO_0"))
		return NULL;
	return k->hello.f[RR_H_AUTH_INFO].s;
}

static int conv(rr_host *h, int style, const char *text, char **answer)
{
	rd_call *k = call_of(h);
	const char *f[2] = {NULL, text};
	char s[16];

	snprintf(s, sizeof(s), "%d", style);
	f[0] = s;
	return request(k, RR_W_CONV, f, 2, answer);
}

static int set_data(rr_host *h, const char *name, const char *value)
{
	rd_call *k = call_of(h);
	const char *f[2] = {name, value};
	char *copy = NULL;
	int i = rr_data_index(name);

	if (i < 0)
		return PAM_SYSTEM_ERR;
	if (value && !(copy = strdup(value)))
		return PAM_BUF_ERR;
	if (send_msg(k, RR_W_SETDATA, f, 2, false) < 0) {
		rr_answer_free(copy);
		return PAM_SYSTEM_ERR;
	}
	rr_answer_free(k->data_owned[i]);
	k->data_owned[i] = copy;
	k->data[i] = copy;
	return PAM_SUCCESS;
}

static const char *get_data(rr_host *h, const char *name)
{
	rd_call *k = call_of(h);
	int i = rr_data_index(name);

	return i < 0 ? NULL : k->data[i];
}

static void log_line(rr_host *h, int priority, const char *text)
{
	rd_call *k = call_of(h);
	const char *f[2] = {NULL, text};
	char s[16];

	snprintf(s, sizeof(s), "%d", priority & LOG_PRIMASK);
	f[0] = s;
	if (send_msg(k, RR_W_LOG, f, 2, false) < 0)
		lost_line(k, priority & LOG_PRIMASK, text);
}

static uid_t uid(rr_host *h)
{
	return call_of(h)->uid;
}

static int64_t now(rr_host *h)
{
	return (int64_t)time(NULL) + call_of(h)->clock_offset;
}

static const rr_host_ops call_ops = {
	.get_user = get_user,
	.get_item = get_item,
	.get_env = get_env,
	.conv = conv,
	.set_data = set_data,
	.get_data = get_data,
	.log = log_line,
	.uid = uid,
	.now = now,
};

/* HELLO checked: the call's type, flags and arguments. */
static int read_hello(rd_call *k, int *flags, int *argc, const char **argv)
{
	rr_wire_msg *m = &k->hello;
	long long t, fl, u, clock;
	size_t i;

	if (m->type != RR_W_HELLO || m->n < RR_H_ARGS ||
	    !m->f[RR_H_VERSION].s || strcmp(m->f[RR_H_VERSION].s,
					    RR_RISKD_PROTO))
		return -EPROTO;
	if (rr_wire_int(m, RR_H_TYPE, TYPE_AUTH, TYPE_SESSION, &t) ||
	    rr_wire_int(m, RR_H_FLAGS, INT_MIN, INT_MAX, &fl) ||
	    rr_wire_int(m, RR_H_UID, 0, UINT32_MAX - 1, &u) ||
	    rr_wire_int(m, RR_H_NOW, 0, INT64_MAX / 2, &clock))
		return -EBADMSG;
	k->type = (rr_type)t;
	*flags = (int)fl;
	k->uid = (uid_t)u;
	k->clock_offset = (int64_t)clock - (int64_t)time(NULL);
	k->user = m->f[RR_H_USER].s;
	for (i = 0; i < RR_N_DATA; i++)
		k->data[i] = m->f[RR_H_DATA + i].s;
	*argc = (int)(m->n - RR_H_ARGS);
	for (i = 0; i < (size_t)*argc; i++) {
		argv[i] = m->f[RR_H_ARGS + i].s;
		if (!argv[i])
			return -EBADMSG;
	}
	return 0;
}

/* ACCEPT, then the module's COMMIT (riskd_proto.h): 0 when the call is
 * riskd's, else a negative errno (the module gave up: EPIPE, EOF, ...). */
static int await_commit(int fd)
{
	rr_wire_msg m = {0};
	int r = rr_wire_send(fd, RR_W_ACCEPT, NULL, 0, RR_RISKD_HELLO_MS);

	if (r == 0)
		r = rr_wire_recv(fd, &m, RR_RISKD_HELLO_MS);
	if (r == 0 && (m.type != RR_W_COMMIT || m.n != 0))
		r = -EBADMSG;
	rr_wire_msg_clear(&m);
	return r;
}

/* HELLO read and checked, then the commit: 0 when the call is riskd's to
 * run.  Anything else drops it with nothing of it done (no policy, store
 * or log line of the call; only riskd's own line).  A STATS request
 * instead of HELLO is answered (1: no call). */
static int take_call(rd_call *k, int *flags, int *argc, const char **argv)
{
	const char *f[1] = {"riskd is of another version (" RR_RISKD_PROTO
			    ")"};
	int r = rr_wire_recv(k->fd, &k->hello, RR_RISKD_HELLO_MS);

	if (r == 0 && k->hello.type == RR_W_STATS) {
		rd_stats_answer(k->fd, &k->hello);
		return 1;
	}
	if (r == 0)
		r = read_hello(k, flags, argc, argv);
	if (r == -EPROTO) {
		rr_wire_send(k->fd, RR_W_FALLBACK, f, 1, RR_RISKD_HELLO_MS);
		syslog(LOG_WARNING, "a module of another version called; sent "
		       "back (restart riskd after an upgrade)");
		return r;
	}
	if (r < 0) {
		syslog(LOG_WARNING, "dropping a call: %s", strerror(-r));
		return r;
	}
	r = await_commit(k->fd);
	if (r < 0)
		syslog(LOG_NOTICE, "call abandoned by the module before "
		       "commit: %s", strerror(-r));
	return r;
}

void rd_serve(int fd, rr_loader *l)
{
	/* riskd: root, systemd's clean environment (host.h) */
	rd_call k = {.host = {.ops = &call_ops, .network_allowed = true},
		     .fd = fd};
	const char *argv[RR_WIRE_FIELDS_MAX];
	const char *f[1];
	char s[16];
	int flags = 0, argc = 0, rc;
	int64_t t0;
	size_t i;

	if (take_call(&k, &flags, &argc, argv) == 0) {
		t0 = rd_stats_now_ns();
		rc = rr_module_call(&k.host, l, k.type, flags, argc, argv);
		snprintf(s, sizeof(s), "%d", rc);
		f[0] = s;
		send_msg(&k, RR_W_END, f, 1, true);
		rd_stats_call(k.type, rd_stats_now_ns() - t0 - k.wait_ns);
	}
	for (i = 0; i < RR_N_DATA; i++)
		rr_answer_free(k.data_owned[i]);
	for (i = 0; i < k.n_owned; i++)
		rr_answer_free(k.owned[i]);
	rr_wire_msg_clear(&k.hello);
	rr_wire_queue_clear(&k.out);
}
