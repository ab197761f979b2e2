/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM entry points, linked with libpam and libc only.  A call goes to
 * riskd when it listens (it keeps the policy parsed and the store open:
 * riskd(8)); riskd runs the module's logic and asks this process for what
 * it needs from the handle (riskd_proto.h), answered by the PAM host.
 * Otherwise -- no riskd, `riskd=off`, riskd busy or of another version --
 * the logic runs here, loaded for the call from
 * riskremediate/pam_riskremediate_core.so next to this module.
 *
 * Fail closed: once the module has committed the call to riskd (the
 * handshake of riskd_proto.h), any failure of the conversation denies (the
 * sign-in may already be recorded, a code already asked); before that --
 * no ACCEPT within RR_RISKD_ACCEPT_MS, a riskd that stalled -- the call
 * runs here, and riskd, never committed, does nothing of it.  A core that
 * cannot be loaded denies.
 */
#include "rr_errno.h"
#include "host.h"
#include "riskd_proto.h"
#include "rr_wire.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#define CORE_PATH "riskremediate/pam_riskremediate_core.so"
#define RUN_HERE 1000 /* not a PAM code: riskd sent the call back */

/* an object of this module, to find where it was loaded from */
static const char here = 0;

/* ---- in this process -------------------------------------------------- */

static int run_here(rr_pam_host *host, rr_type type, int flags, int argc,
		    const char **argv)
{
	pam_handle_t *pamh = host->pamh;
	char path[PATH_MAX];
	rr_module_call_fn call;
	Dl_info info;
	const char *slash;
	void *lib, *sym;
	int rc;

	if (!dladdr(&here, &info) || !info.dli_fname ||
	    !(slash = strrchr(info.dli_fname, '/')) ||
	    snprintf(path, sizeof(path), "%.*s/%s",
		     (int)(slash - info.dli_fname), info.dli_fname,
		     CORE_PATH) >= (int)sizeof(path)) {
		pam_syslog(pamh, LOG_ERR, "cannot locate %s; denying",
			   CORE_PATH);
		return rr_error_code(type);
	}
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	sym = lib ? dlsym(lib, "rr_module_call") : NULL;
	if (!sym) {
		pam_syslog(pamh, LOG_ERR, "cannot load %s: %s; denying", path,
			   dlerror());
		if (lib)
			dlclose(lib);
		return rr_error_code(type);
	}
	/* POSIX: a dlsym() result converts to a function pointer */
	memcpy(&call, &sym, sizeof(call));
	rc = call(&host->host, NULL, type, flags, argc, argv);
	/* the PAM data it set is freed by host_pam.c's code, in this module */
	dlclose(lib);
	return rc;
}

/* ---- through riskd ---------------------------------------------------- */

/* HELLO: the call and what the logic reads from the handle, through the
 * PAM host (riskd_proto.h) */
static int send_hello(rr_host *h, int fd, rr_type type, int flags, int argc,
		      const char **argv, int timeout_ms)
{
	static const int items[] = {PAM_USER, PAM_SERVICE, PAM_RHOST, PAM_TTY};
	static const int fields[] = {RR_H_USER, RR_H_SERVICE, RR_H_RHOST,
				     RR_H_TTY};
	const char *f[RR_WIRE_FIELDS_MAX] = {NULL};
	char stype[8], sflags[16], suid[16], snow[24];
	const char *v;
	size_t i;

	snprintf(stype, sizeof(stype), "%d", (int)type);
	snprintf(sflags, sizeof(sflags), "%d", flags);
	snprintf(suid, sizeof(suid), "%u", (unsigned)h->ops->uid(h));
	snprintf(snow, sizeof(snow), "%lld", (long long)h->ops->now(h));
	f[RR_H_VERSION] = RR_RISKD_PROTO;
	f[RR_H_TYPE] = stype;
	f[RR_H_FLAGS] = sflags;
	f[RR_H_UID] = suid;
	f[RR_H_NOW] = snow;
	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (h->ops->get_item(h, items[i], &v) == PAM_SUCCESS)
			f[fields[i]] = v;
	f[RR_H_AUTH_INFO] = h->ops->get_env(h, "SSH_AUTH_INFO_0");
	for (i = 0; i < RR_N_DATA; i++)
		f[RR_H_DATA + i] = h->ops->get_data(h, rr_data_names[i]);
	for (i = 0; i < (size_t)argc; i++)
		f[RR_H_ARGS + i] = argv[i];
	return rr_wire_send(fd, RR_W_HELLO, f, RR_H_ARGS + (size_t)argc,
			    timeout_ms);
}

static int reply(int fd, int rc, const char *value)
{
	const char *f[2] = {NULL, value};
	char s[16];

	snprintf(s, sizeof(s), "%d", rc);
	f[0] = s;
	return rr_wire_send(fd, RR_W_REPLY, f, 2, RR_RISKD_WAIT_MS);
}

/* The items the logic reads (the snapshot has the others). */
static bool readable_item(long long item)
{
	return item == PAM_USER || item == PAM_SERVICE || item == PAM_RHOST ||
	       item == PAM_TTY || item == PAM_RUSER || item == PAM_AUTHTOK ||
	       item == PAM_OLDAUTHTOK;
}

/* The codes rr_module_call returns. */
static bool known_end(long long rc)
{
	return rc == PAM_SUCCESS || rc == PAM_AUTH_ERR ||
	       rc == PAM_PERM_DENIED || rc == PAM_AUTHINFO_UNAVAIL ||
	       rc == PAM_BUF_ERR || rc == PAM_USER_UNKNOWN ||
	       rc == PAM_NEW_AUTHTOK_REQD || rc == PAM_AUTHTOK_ERR ||
	       rc == PAM_SESSION_ERR;
}

/* One message of riskd: 0 go on, 1 done (*rc set), negative errno. */
static int serve(rr_host *h, int fd, const rr_wire_msg *m, int *rc)
{
	long long n;
	char *answer = NULL;
	const char *value = NULL;
	int r;

	switch (m->type) {
	case RR_W_CONV:
		if (m->n != 2 || !m->f[1].s ||
		    rr_wire_int(m, 0, PAM_PROMPT_ECHO_OFF, PAM_TEXT_INFO, &n))
			return -EBADMSG;
		r = h->ops->conv(h, (int)n, m->f[1].s, &answer);
		r = reply(fd, r, answer);
		rr_answer_free(answer);
		return r;
	case RR_W_LOG:
		if (m->n != 2 || !m->f[1].s ||
		    rr_wire_int(m, 0, LOG_EMERG, LOG_DEBUG, &n))
			return -EBADMSG;
		h->ops->log(h, (int)n, m->f[1].s);
		return 0;
	case RR_W_SETDATA:
		if (m->n != 2 || !m->f[0].s || rr_data_index(m->f[0].s) < 0)
			return -EBADMSG;
		/* unset, account would decide (and record) the sign-in
		 * again: the call fails (denied) instead */
		return h->ops->set_data(h, m->f[0].s, m->f[1].s) ==
		       PAM_SUCCESS ? 0 : -ENOMEM;
	case RR_W_GETUSER:
		if (m->n != 0)
			return -EBADMSG;
		r = h->ops->get_user(h, &value);
		return reply(fd, r, r == PAM_SUCCESS ? value : NULL);
	case RR_W_GETITEM:
		if (m->n != 1 || rr_wire_int(m, 0, 0, INT_MAX, &n) ||
		    !readable_item(n))
			return -EBADMSG;
		r = h->ops->get_item(h, (int)n, &value);
		return reply(fd, r, r == PAM_SUCCESS ? value : NULL);
	case RR_W_END:
		if (m->n != 1 || rr_wire_int(m, 0, 0, INT_MAX, &n) ||
		    !known_end(n))
			return -EBADMSG;
		*rc = (int)n;
		return 1;
	case RR_W_HELLO:
	case RR_W_REPLY:
	case RR_W_FALLBACK:
	case RR_W_ACCEPT:
	case RR_W_COMMIT:
	case RR_W_STATS:
	case RR_W_STATS_REPLY:
		break;
	}
	return -EBADMSG;
}

/* The milliseconds left of `budget` from `t0` on, 0 when spent. */
static int ms_left(const struct timespec *t0, int budget)
{
	struct timespec t;
	long long ms;

	if (clock_gettime(CLOCK_MONOTONIC, &t) < 0)
		return 0;
	ms = (long long)(t.tv_sec - t0->tv_sec) * 1000 +
	     (t.tv_nsec - t0->tv_nsec) / 1000000;
	return ms >= budget ? 0 : budget - (int)ms;
}

/*
 * The handshake (riskd_proto.h): HELLO, riskd's ACCEPT or FALLBACK within
 * RR_RISKD_ACCEPT_MS of the start, COMMIT.  0 when the call is riskd's,
 * RUN_HERE, or a negative errno (-ETIMEDOUT: no answer in time).
 * *committed is set before COMMIT is sent: once a byte of it may have
 * reached riskd, the call may be riskd's.
 */
static int handshake(rr_pam_host *host, int fd, rr_type type, int flags,
		     int argc, const char **argv, bool *committed)
{
	rr_wire_msg m = {0};
	struct timespec t0;
	int r;

	if (clock_gettime(CLOCK_MONOTONIC, &t0) < 0)
		return rr_negerrno();
	r = send_hello(&host->host, fd, type, flags, argc, argv,
		       RR_RISKD_ACCEPT_MS);
	if (r == 0)
		r = rr_wire_recv(fd, &m, ms_left(&t0, RR_RISKD_ACCEPT_MS));
	if (r < 0)
		return r;
	if (m.type == RR_W_FALLBACK) {
		pam_syslog(host->pamh, LOG_NOTICE, "riskd: %s; running in "
			   "process", m.n == 1 && m.f[0].s ? m.f[0].s :
			   "sent the call back");
		r = RUN_HERE;
	} else if (m.type == RR_W_ACCEPT && m.n == 0) {
		*committed = true;
		r = rr_wire_send(fd, RR_W_COMMIT, NULL, 0, RR_RISKD_WAIT_MS);
	} else {
		r = -EBADMSG;
	}
	rr_wire_msg_clear(&m);
	return r;
}

/* The call through riskd: its PAM code, RUN_HERE, or a negative errno
 * before the call was committed to riskd (*committed false) or after. */
static int via_riskd(rr_pam_host *host, int fd, rr_type type, int flags,
		     int argc, const char **argv, bool *committed)
{
	rr_wire_msg m = {0};
	int r, rc = PAM_AUTH_ERR;

	*committed = false;
	r = handshake(host, fd, type, flags, argc, argv, committed);
	if (r != 0)
		return r;
	for (;;) {
		r = rr_wire_recv(fd, &m, RR_RISKD_WAIT_MS);
		if (r < 0)
			return r;
		r = serve(&host->host, fd, &m, &rc);
		rr_wire_msg_clear(&m);
		if (r != 0)
			return r < 0 ? r : rc;
	}
}

/* The call was not committed to riskd (error `r`): it runs here. */
static void log_taken_back(pam_handle_t *pamh, int r)
{
	if (r == -ETIMEDOUT)
		pam_syslog(pamh, LOG_ERR, "riskd: no answer within %d s; "
			   "running in process", RR_RISKD_ACCEPT_MS / 1000);
	else
		pam_syslog(pamh, LOG_ERR, "riskd: %s before answering; "
			   "running in process", strerror(-r));
}

static int call(pam_handle_t *pamh, rr_type type, int flags, int argc,
		const char **argv)
{
	const char *path;
	rr_pam_host host;
	rr_host *h = &host.host;
	bool committed;
	rr_args args;
	int fd, rc, bad;

	rr_pam_host_init(&host, pamh);
	bad = rr_args_parse(type, argc, argv, &args);
	if (bad >= 0) {
		pam_syslog(pamh, LOG_ERR, "unknown or misplaced argument "
			   "\"%.64s\"; denying", argv[bad]);
		return rr_error_code(type);
	}
	if (rr_settled(type, flags, h->ops->get_data(h, DATA_AUTH_OK),
		       h->ops->get_data(h, DATA_PWCHANGE),
		       h->ops->get_data(h, DATA_DEVICE_REF), &rc))
		return rc;
	path = args.riskd ? args.riskd : RR_RISKD_SOCKET;
	if (!strcmp(path, "off") || argc > (int)RR_RISKD_ARGS_MAX)
		return run_here(&host, type, flags, argc, argv);
	/* a root riskd only; non-blocking: a riskd that stopped accepting
	 * (its backlog full) makes connect() fail instead of waiting */
	fd = rr_wire_connect_root(path);
	if (fd == -EPERM)
		pam_syslog(pamh, LOG_ERR, "riskd: %s is not served by root; "
			   "ignored", path);
	if (fd < 0)
		return run_here(&host, type, flags, argc, argv);
	rc = via_riskd(&host, fd, type, flags, argc, argv, &committed);
	close(fd);
	if (rc == RUN_HERE)
		return run_here(&host, type, flags, argc, argv);
	if (rc >= 0)
		return rc;
	if (!committed) {
		log_taken_back(pamh, rc);
		return run_here(&host, type, flags, argc, argv);
	}
	pam_syslog(pamh, LOG_ERR, "riskd: %s during the call; denying",
		   strerror(-rc));
	if (!(flags & PAM_SILENT))
		pam_error(pamh, "Sign-in denied: the sign-in risk check is "
			  "unavailable. Contact your IT help desk.");
	return rr_error_code(type);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	return call(pamh, TYPE_AUTH, flags, argc, argv);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
				const char **argv)
{
	return call(pamh, TYPE_ACCOUNT, flags, argc, argv);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	return call(pamh, TYPE_SESSION, flags, argc, argv);
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc,
				const char **argv)
{
	return call(pamh, TYPE_PASSWORD, flags, argc, argv);
}

/* Nothing to do: no credentials, nothing at close. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	return pam_sm_setcred(pamh, flags, argc, argv);
}
