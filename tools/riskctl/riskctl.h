/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskctl: the admin face over the policy, store and assessment layers.
 * Data on stdout, errors on stderr ("riskctl: ..."), exit codes below
 * (documented in riskctl(8)).
 */
#ifndef RISKCTL_H
#define RISKCTL_H

#include "rr_assess.h"
#include "rr_fleet_model.h"
#include "rr_policy.h"
#include "rr_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	RC_OK = 0,
	RC_NOT_FOUND = 1, /* the thing asked about does not exist */
	RC_USAGE = 2,
	RC_POLICY = 3, /* policy invalid or unreadable */
	RC_PERM = 4,   /* not root */
	RC_STORE = 5,  /* store open/read/write failure */
	RC_FEEDS = 6,  /* feeds update / lists compile: some lists failed */
	RC_CURSOR = 7, /* --cursor-file unreadable, not a cursor, or not
			  written */
	RC_RISKD = 8,  /* metrics: riskd answered, but not usably */
};

/* Verb options, one bit each, so a verb can reject those it does not take. */
enum {
	OPT_USER = 1u << 0,
	OPT_REF = 1u << 1,
	OPT_LIMIT = 1u << 2,
	OPT_LEVEL = 1u << 3,
	OPT_STATE = 1u << 4,
	OPT_ACTIVE = 1u << 5,
	OPT_RHOST = 1u << 6,
	OPT_SERVICE = 1u << 7,
	OPT_TTL = 1u << 8,
	OPT_TYPE = 1u << 9,
	OPT_SINCE = 1u << 10,
	OPT_GRAPH = 1u << 11,       /* --format graph */
	OPT_CURSOR_FILE = 1u << 12,
	OPT_SOCKET = 1u << 13,
	OPT_TEXTFILE = 1u << 14,
};

enum ctl_format { CTL_FMT_TABLE = 0, CTL_FMT_JSON, CTL_FMT_GRAPH };

/* A position in a verb's record stream (--format graph): "signins:N" (a
 * sign-in change sequence) or "detections:N" (a detection id). */
#define CTL_CURSOR_MAX 40
struct ctl_cursor {
	const char *kind; /* "signins" or "detections" */
	int64_t pos;
};

#define CTL_MAX_ARGS 8
#define CTL_PATH_MAX 4096

/* Everything parsed from the command line plus what a verb opened. */
struct ctl {
	const char *policy_path;
	bool json; /* --json or --format json */
	enum ctl_format format;
	unsigned given; /* OPT_* seen */
	const char *user;
	char ref[RR_REF_LEN + 1];
	size_t limit; /* 0: not given */
	rr_level level;
	rr_state state;
	bool active;
	const char *rhost;
	const char *service;
	unsigned ttl_s; /* --ttl, seconds */
	rr_event type;  /* --type */
	unsigned since_s; /* --since DURATION, seconds back from now */
	bool has_cursor;  /* --since CURSOR */
	struct ctl_cursor cursor;
	const char *cursor_file; /* --cursor-file */
	const char *socket_path; /* --socket: riskd's (metrics) */
	const char *textfile;    /* --textfile: metrics written there */
	const char *args[CTL_MAX_ARGS]; /* positionals after the verb */
	size_t n_args;
	rr_policy *policy;
	rr_store *store;
	/* a fleet policy: the tenant's records copied from etcd into a store
	 * in memory (store), whose writes publish to etcd (DESIGN 7.1) */
	struct rr_fleet *fleet;
	struct rr_fleet_conn *fleet_link;
};

/* Print "riskctl: ..." to stderr. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load ctl->policy_path (or `path`): every error on stderr, RC_POLICY. */
int ctl_load_policy(struct ctl *c, const char *path);
/* Load the policy (unless loaded) and open its store: with a fleet
 * policy, a copy of the tenant read from etcd now, its writes published
 * to etcd.  RC_* */
int ctl_open(struct ctl *c);
/* Load the policy (unless loaded) and open this host's own store file,
 * whatever the backend (the sign-in log is the host's).  RC_* */
int ctl_open_host(struct ctl *c);
/* A client of the policy's fleet (message on failure).  RC_* */
int ctl_fleet_new(struct ctl *c, struct rr_fleet **out);
/* The sign-in c->ref (of c->user, when given) on a fleet: this host's
 * log when this machine has a store and the sign-in is there (the host:
 * this one), else the fleet's etcd, where every host publishes its risky
 * sign-ins, through c->fleet (made when there is none; ctl_open goes on
 * with it).  RC_OK with *out a calloc'd record (free()), else a message
 * and RC_NOT_FOUND or RC_STORE. */
int ctl_fleet_signin(struct ctl *c, rr_fleet_signin **out);
void ctl_close(struct ctl *c);
/* Report a failed store call: message from the store, RC_STORE. */
int ctl_store_fail(struct ctl *c, const char *what, int err);

/* Validate a positional USER (RC_USAGE with a message when bad). */
int ctl_check_user(const char *user);

/* The account must exist (getpwnam): RC_NOT_FOUND with a message. */
int ctl_check_account(const char *user);
/* Who is acting, for the audit log: SUDO_USER when it is a valid name, else
 * the real user's name, else "uid:N". */
void ctl_actor(char *buf, size_t len);
/* "90", "30s", "10m", "2h", "1d" -> seconds in [min, max].  -EINVAL for the
 * format, -ERANGE for the bounds. */
int ctl_parse_duration(const char *s, unsigned min, unsigned max,
		       unsigned *out);

/* Time as local "YYYY-MM-DD HH:MM:SS" or "-" for 0; buf >= 32 bytes. */
void ctl_time_local(int64_t t, char *buf, size_t len);
/* Time as ISO 8601 UTC "2026-11-25T19:22:05Z"; buf >= 32 bytes. */
void ctl_time_iso(int64_t t, char *buf, size_t len);

/* Map a json_finish/table_print result to an exit code (message on
 * failure). */
int fail_output(int r);

/* "signins:N" / "detections:N" (N 0 .. INT64_MAX): 0, -EINVAL for the
 * format, -ERANGE for N. */
int ctl_cursor_parse(const char *v, struct ctl_cursor *out);
/* Whether a detection passes the detections verb's filters (user, type,
 * level, state, active, since). */
bool ctl_det_matches(const rr_store_detection_filter *f,
		     const rr_store_detection *d);

/* --format graph (cmd_graph.c): JSON Lines; the signins and detections
 * ones from the cursor (--since, --cursor-file) on, which they advance.
 * Each returns an RC_* exit code. */
int graph_signins(struct ctl *c);
/* Before opening the store: a fleet policy's detections have no stable
 * ids (its replica rewrites them), so they are refused.  RC_* */
int graph_detections_check(struct ctl *c);
int graph_detections(struct ctl *c, const rr_store_detection_filter *f);
int graph_users(const rr_store_user *u, size_t n);

/* Verbs (cmd_*.c).  Each returns an RC_* exit code. */
int cmd_status(struct ctl *c);
int cmd_list(struct ctl *c);
int cmd_signins(struct ctl *c);
int cmd_detections(struct ctl *c);
int cmd_audit(struct ctl *c);
int cmd_unblock(struct ctl *c);
int cmd_dismiss(struct ctl *c);
int cmd_confirm_compromised(struct ctl *c);
int cmd_confirm_safe(struct ctl *c);
int cmd_whatif(struct ctl *c);
int cmd_policy(struct ctl *c);
int cmd_policy_install(struct ctl *c);
int cmd_mfa_status(struct ctl *c);
int cmd_mfa_reset(struct ctl *c);
int cmd_mfa_grace_reset(struct ctl *c);
int cmd_mfa_key_init(struct ctl *c);
int cmd_tap_issue(struct ctl *c);
int cmd_feeds_update(struct ctl *c);
int cmd_lists_compile(struct ctl *c);
int cmd_fleet_status(struct ctl *c);
int cmd_fleet_hosts(struct ctl *c);
int cmd_metrics(struct ctl *c);

#endif
