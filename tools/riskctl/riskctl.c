/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskctl(8): triage risky users, look up sign-ins, unblock, evaluate the
 * policy without logging in, and help users with their authenticators.
 * This file parses the command line and dispatches to the verbs (cmd_*.c).
 */
#include "riskctl.h"
#include "table.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef RR_VERSION
#define RR_VERSION "unknown"
#endif

struct verb {
	const char *name;
	const char *sub; /* "check" for "policy check", else NULL */
	int (*run)(struct ctl *c);
	unsigned opts;   /* OPT_* the verb accepts */
	size_t min_args; /* positionals after the verb (and sub-verb) */
	size_t max_args;
};

static const struct verb verbs[] = {
    {"status", NULL, cmd_status, 0, 1, 1},
    {"list", NULL, cmd_list, OPT_LEVEL | OPT_STATE | OPT_GRAPH, 0, 0},
    {"signins", NULL, cmd_signins,
     OPT_USER | OPT_REF | OPT_LIMIT | OPT_GRAPH | OPT_SINCE | OPT_CURSOR_FILE,
     0, 0},
    {"detections", NULL, cmd_detections,
     OPT_USER | OPT_ACTIVE | OPT_TYPE | OPT_LEVEL | OPT_STATE | OPT_SINCE |
	 OPT_LIMIT | OPT_GRAPH | OPT_CURSOR_FILE,
     0, 0},
    {"unblock", NULL, cmd_unblock, 0, 1, 1},
    {"dismiss", NULL, cmd_dismiss, 0, 1, 1},
    {"confirm-compromised", NULL, cmd_confirm_compromised, 0, 1, 1},
    {"confirm-safe", NULL, cmd_confirm_safe, OPT_REF, 0, 0},
    {"whatif", NULL, cmd_whatif, OPT_USER | OPT_RHOST | OPT_SERVICE, 0, 0},
    {"policy", "check", cmd_policy, 0, 0, 1},
    {"policy", "install", cmd_policy_install, 0, 1, 1},
    {"audit", NULL, cmd_audit, OPT_LIMIT, 0, 0},
    {"mfa", "status", cmd_mfa_status, 0, 1, 1},
    {"mfa", "reset", cmd_mfa_reset, 0, 1, 1},
    {"mfa", "grace-reset", cmd_mfa_grace_reset, 0, 1, 1},
    {"mfa", "key-init", cmd_mfa_key_init, 0, 0, 1},
    {"tap", "issue", cmd_tap_issue, OPT_TTL, 1, 1},
    {"feeds", "update", cmd_feeds_update, 0, 0, 0},
    {"lists", "compile", cmd_lists_compile, 0, 0, 0},
    {"fleet", "status", cmd_fleet_status, 0, 0, 0},
    {"fleet", "hosts", cmd_fleet_hosts, 0, 0, 0},
    {"metrics", NULL, cmd_metrics, OPT_SOCKET | OPT_TEXTFILE, 0, 0},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char usage_text[] =
    "Usage: riskctl [--policy FILE] [--json | --format F] VERB [ARGS]\n"
    "\n"
    "Read verbs (--json or --format json for machine-readable output):\n"
    "  status USER                       user risk and why (active "
    "detections)\n"
    "  list [--level L] [--state S]      risky users report\n"
    "  signins [--user U] [--ref ID] [--limit N]\n"
    "                                    sign-in log; --ref shows one "
    "in detail\n"
    "  detections [--user U] [--type T] [--level L] [--state S]\n"
    "             [--active] [--since DURATION] [--limit N]\n"
    "                                    risk detections, newest first\n"
    "  signins|detections --format graph [--since CURSOR | --cursor-file "
    "FILE]\n"
    "  list --format graph               JSON Lines shaped like Microsoft "
    "Graph's\n"
    "                                    signIn, riskDetection, riskyUser "
    "(SIEM)\n"
    "  whatif --user U [--rhost IP] [--service S]\n"
    "                                    evaluate the policy without "
    "logging in\n"
    "  policy check [FILE]               validate a policy file and the "
    "files it names\n"
    "  audit [--limit N]                 admin actions: who, what, when\n"
    "  mfa status USER                   authenticator, grace period, "
    "lock, pass\n"
    "  fleet status                      a fleet policy: etcd members, "
    "this host's\n"
    "                                    replica (lag, staleness, queued "
    "writes)\n"
    "  fleet hosts                       a fleet policy: every host, when "
    "last seen,\n"
    "                                    its replica; stale and silent "
    "ones flagged\n"
    "  metrics [--textfile PATH] [--socket PATH]\n"
    "                                    Prometheus text format: sign-ins, "
    "detections,\n"
    "                                    users, MFA, store size, riskd's "
    "call times\n"
    "\n"
    "Admin verbs (recorded in the audit log):\n"
    "  unblock USER                      dismiss risk so USER can sign "
    "in again\n"
    "  dismiss USER                      dismiss all risk for USER\n"
    "  confirm-compromised USER          set USER's risk to high\n"
    "  confirm-safe --ref ID             the sign-in was the user: its "
    "detections\n"
    "                                    stop counting toward user risk\n"
    "  mfa reset USER                    remove USER's authenticator "
    "(and MFA lock)\n"
    "  mfa grace-reset USER              restart USER's registration "
    "grace period\n"
    "  mfa key-init [FILE]               create the MFA key file (the "
    "policy's, or FILE)\n"
    "                                    if it is missing; one that "
    "exists is kept\n"
    "  tap issue USER [--ttl DURATION]   temporary access pass to "
    "register again\n"
    "                                    (single use; DURATION 5m..30d, "
    "e.g. 2h)\n"
    "  policy install FILE               check FILE, then atomically "
    "replace the\n"
    "                                    policy (--policy) with it\n"
    "\n"
    "IP lists (anonymizedIPAddress, maliciousIPAddress):\n"
    "  feeds update                      download the lists' feeds, "
    "compile every list\n"
    "  lists compile                     compile every list's index "
    "(no network)\n"
    "\n"
    "Options:\n"
    "  --policy FILE   policy file (default " RR_POLICY_DEFAULT_PATH ")\n"
    "  --json          JSON output (the same as --format json)\n"
    "  --format F      table (default), json, or graph (signins, "
    "detections, list)\n"
    "  --since CURSOR  with --format graph: start after CURSOR (signins:N, "
    "detections:N)\n"
    "  --cursor-file FILE\n"
    "                  with --format graph: start at the cursor in FILE, "
    "store the\n"
    "                  next one there once the output is written\n"
    "  --help          this text\n"
    "  --version       version\n"
    "  --list-verbs    print the verbs, one per line\n"
    "\n"
    "Exit codes: 0 ok, 1 not found, 2 usage, 3 policy invalid,\n"
    "4 not root, 5 store error, 6 some feeds or lists failed,\n"
    "7 cursor file unreadable or not written, 8 riskd answered\n"
    "metrics wrongly.\n"
    "See riskctl(8).\n";

enum {
	GOPT_POLICY = 0x100,
	GOPT_JSON,
	GOPT_HELP,
	GOPT_VERSION,
	GOPT_LIST_VERBS,
	GOPT_FORMAT,
	VOPT_USER,
	VOPT_REF,
	VOPT_LIMIT,
	VOPT_LEVEL,
	VOPT_STATE,
	VOPT_ACTIVE,
	VOPT_RHOST,
	VOPT_SERVICE,
	VOPT_TTL,
	VOPT_TYPE,
	VOPT_SINCE,
	VOPT_CURSOR_FILE,
	VOPT_SOCKET,
	VOPT_TEXTFILE,
};

static const struct option long_opts[] = {
    {"policy", required_argument, NULL, GOPT_POLICY},
    {"json", no_argument, NULL, GOPT_JSON},
    {"help", no_argument, NULL, GOPT_HELP},
    {"version", no_argument, NULL, GOPT_VERSION},
    {"list-verbs", no_argument, NULL, GOPT_LIST_VERBS},
    {"format", required_argument, NULL, GOPT_FORMAT},
    {"user", required_argument, NULL, VOPT_USER},
    {"ref", required_argument, NULL, VOPT_REF},
    {"limit", required_argument, NULL, VOPT_LIMIT},
    {"level", required_argument, NULL, VOPT_LEVEL},
    {"state", required_argument, NULL, VOPT_STATE},
    {"active", no_argument, NULL, VOPT_ACTIVE},
    {"rhost", required_argument, NULL, VOPT_RHOST},
    {"service", required_argument, NULL, VOPT_SERVICE},
    {"ttl", required_argument, NULL, VOPT_TTL},
    {"type", required_argument, NULL, VOPT_TYPE},
    {"since", required_argument, NULL, VOPT_SINCE},
    {"cursor-file", required_argument, NULL, VOPT_CURSOR_FILE},
    {"socket", required_argument, NULL, VOPT_SOCKET},
    {"textfile", required_argument, NULL, VOPT_TEXTFILE},
    {NULL, 0, NULL, 0},
};

/* What the command line asked for besides a verb. */
struct cmdline {
	bool help;
	bool version;
	bool list_verbs;
	const char *pos[CTL_MAX_ARGS + 2]; /* verb, sub-verb, args */
	size_t n_pos;
	bool too_many;
	bool json_flag;     /* --json */
	const char *format; /* --format */
};

static int bad_value(const char *opt, const char *v, const char *allowed)
{
	char *safe = term_safe(v);

	ctl_err("invalid %s '%.64s' (%s)", opt, safe ? safe : "?", allowed);
	free(safe);
	return RC_USAGE;
}

/* [0-9A-F]{4}-[0-9A-F]{4}, any case; stored upper-case. */
static int parse_ref(const char *v, char out[RR_REF_LEN + 1])
{
	size_t i;

	if (strnlen(v, RR_REF_LEN + 1) != RR_REF_LEN)
		goto bad;
	for (i = 0; i < RR_REF_LEN; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (i == 4 ? ch != '-' : !isxdigit(ch))
			goto bad;
		out[i] = (char)toupper(ch);
	}
	out[RR_REF_LEN] = '\0';
	return RC_OK;
bad:
	return bad_value("reference", v,
			 "expected XXXX-XXXX, hexadecimal, "
			 "as shown to the user, e.g. 7F3A-91C2");
}

static int parse_limit(const char *v, size_t *out)
{
	unsigned long long n;
	char *end = NULL;

	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		goto bad;
	n = strtoull(v, &end, 10);
	if (errno || *end || n < 1 || n > RR_STORE_MAX_ROWS)
		goto bad;
	*out = (size_t)n;
	return RC_OK;
bad:
	return bad_value("limit", v, "a number from 1 to 100000");
}

/* "none, low, medium, high" from a name function. */
static void allowed_list(const char *(*name)(int), int count, char *buf,
			 size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < count && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? ", " : "allowed: ", name(i));
}

static const char *level_name_i(int i)
{
	return rr_level_name((rr_level)i);
}

static const char *state_name_i(int i)
{
	return rr_state_name((rr_state)i);
}

static int parse_level(const char *v, rr_level *out)
{
	char allowed[128];

	if (rr_level_parse(v, out) == 0)
		return RC_OK;
	allowed_list(level_name_i, RR_LEVEL__COUNT, allowed, sizeof(allowed));
	return bad_value("level", v, allowed);
}

static int parse_state(const char *v, rr_state *out)
{
	char allowed[160];

	if (rr_state_parse(v, out) == 0)
		return RC_OK;
	allowed_list(state_name_i, RR_STATE__COUNT, allowed, sizeof(allowed));
	return bad_value("state", v, allowed);
}

static int check_len(const char *opt, const char *v, size_t max)
{
	if (strnlen(v, max + 1) <= max && *v)
		return RC_OK;
	return bad_value(opt, v, "empty or too long");
}

/* An absolute path of at most max bytes. */
static int check_path(const char *opt, const char *v, size_t max)
{
	char allowed[64];

	if (v[0] == '/' && strnlen(v, max + 1) <= max)
		return RC_OK;
	snprintf(allowed, sizeof(allowed), "expected an absolute path of at "
		 "most %zu bytes", max);
	return bad_value(opt, v, allowed);
}

/* sun_path's room, less its NUL */
#define SOCKET_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Bounds of a temporary access pass's lifetime (as tap_lifetime). */
#define TTL_MIN (5 * 60)
#define TTL_MAX (30 * 86400)

static int parse_ttl(const char *v, unsigned *out)
{
	int r = ctl_parse_duration(v, TTL_MIN, TTL_MAX, out);

	if (r == -ERANGE)
		return bad_value("ttl", v, "must be from 5m to 30d");
	if (r < 0)
		return bad_value("ttl", v, "expected a duration such as 30m, "
			   "2h or 1d: a number with s, m, h or d");
	return RC_OK;
}

static const char *event_name_i(int i)
{
	return rr_event_name((rr_event)i);
}

static int parse_type(const char *v, rr_event *out)
{
	char allowed[512];

	if (rr_event_parse(v, out) == 0)
		return RC_OK;
	allowed_list(event_name_i, RR_EVENT__COUNT, allowed, sizeof(allowed));
	return bad_value("type", v, allowed);
}

/* How far back --since looks: 1 second to 10 years. */
#define SINCE_MAX (3650u * 86400u)

/* --since: a cursor (VERB:N, --format graph) or a duration. */
static int parse_since(struct ctl *c, const char *v)
{
	unsigned *out = &c->since_s;
	int r;

	if (strchr(v, ':')) {
		r = ctl_cursor_parse(v, &c->cursor);
		c->has_cursor = r == 0;
		if (r == -ERANGE)
			return bad_value("since", v, "cursor position too "
					 "large");
		if (r < 0)
			return bad_value("since", v, "expected a cursor "
					 "signins:N or detections:N, N a "
					 "number, as --cursor-file stores it; "
					 "or a duration such as 7d");
		return RC_OK;
	}
	r = ctl_parse_duration(v, 1, SINCE_MAX, out);
	if (r == -ERANGE)
		return bad_value("since", v, "must be from 1s to 3650d");
	if (r < 0)
		return bad_value("since", v, "expected a duration such as 30m, "
			   "12h or 7d: a number with s, m, h or d");
	return RC_OK;
}

static int verb_option(struct ctl *c, int o, const char *v)
{
	switch (o) {
	case VOPT_USER:
		c->given |= OPT_USER;
		c->user = v;
		return ctl_check_user(v);
	case VOPT_REF:
		c->given |= OPT_REF;
		return parse_ref(v, c->ref);
	case VOPT_LIMIT:
		c->given |= OPT_LIMIT;
		return parse_limit(v, &c->limit);
	case VOPT_LEVEL:
		c->given |= OPT_LEVEL;
		return parse_level(v, &c->level);
	case VOPT_STATE:
		c->given |= OPT_STATE;
		return parse_state(v, &c->state);
	case VOPT_ACTIVE:
		c->given |= OPT_ACTIVE;
		c->active = true;
		return RC_OK;
	case VOPT_RHOST:
		c->given |= OPT_RHOST;
		c->rhost = v;
		return check_len("rhost", v, RR_RHOST_MAX);
	case VOPT_SERVICE:
		c->given |= OPT_SERVICE;
		c->service = v;
		return check_len("service", v, RR_SERVICE_MAX);
	case VOPT_TTL:
		c->given |= OPT_TTL;
		return parse_ttl(v, &c->ttl_s);
	case VOPT_TYPE:
		c->given |= OPT_TYPE;
		return parse_type(v, &c->type);
	case VOPT_SINCE:
		c->given |= OPT_SINCE;
		return parse_since(c, v);
	case VOPT_CURSOR_FILE:
		c->given |= OPT_CURSOR_FILE;
		c->cursor_file = v;
		return check_len("cursor file", v, CTL_PATH_MAX);
	case VOPT_SOCKET:
		c->given |= OPT_SOCKET;
		c->socket_path = v;
		return check_path("socket", v, SOCKET_PATH_MAX);
	case VOPT_TEXTFILE:
		c->given |= OPT_TEXTFILE;
		c->textfile = v;
		return check_path("textfile", v, CTL_PATH_MAX);
	default:
		return RC_USAGE;
	}
}

static void add_pos(struct cmdline *cl, const char *arg)
{
	if (cl->n_pos < sizeof(cl->pos) / sizeof(cl->pos[0]))
		cl->pos[cl->n_pos++] = arg;
	else
		cl->too_many = true;
}

static int one_option(struct ctl *c, struct cmdline *cl, int o, const char *v)
{
	switch (o) {
	case 1:
		add_pos(cl, v);
		return RC_OK;
	case GOPT_POLICY:
		c->policy_path = v;
		return check_len("policy path", v, CTL_PATH_MAX);
	case GOPT_JSON:
		cl->json_flag = true;
		return RC_OK;
	case GOPT_FORMAT:
		cl->format = v;
		return RC_OK;
	case 'h':
	case GOPT_HELP:
		cl->help = true;
		return RC_OK;
	case GOPT_VERSION:
		cl->version = true;
		return RC_OK;
	case GOPT_LIST_VERBS:
		cl->list_verbs = true;
		return RC_OK;
	default:
		return verb_option(c, o, v);
	}
}

static int bad_option(char **argv, int o)
{
	char shortopt[3] = {'-', (char)optopt, '\0'};
	const char *arg = optopt ? shortopt : argv[optind - 1];
	char *safe = term_safe(arg);

	if (o == ':')
		ctl_err("option '%s' needs a value", safe ? safe : "?");
	else
		ctl_err("unknown option '%.64s' (see riskctl --help)",
			safe ? safe : "?");
	free(safe);
	return RC_USAGE;
}

/* Options may come before or after the verb; positionals keep order. */
static int parse_cmdline(int argc, char **argv, struct ctl *c,
			 struct cmdline *cl)
{
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "-:h", long_opts, NULL)) != -1) {
		int r;

		if (o == '?' || o == ':')
			return bad_option(argv, o);
		r = one_option(c, cl, o, optarg);
		if (r != RC_OK)
			return r;
	}
	for (; optind < argc; optind++)
		add_pos(cl, argv[optind]);
	return RC_OK;
}

/* The verb (and sub-verb) on the command line; *known is set when the
 * verb exists but its sub-verb is missing or wrong. */
static const struct verb *find_verb(const struct cmdline *cl, bool *known)
{
	size_t i;

	*known = false;
	for (i = 0; i < N_VERBS; i++) {
		if (strcmp(verbs[i].name, cl->pos[0]) != 0)
			continue;
		*known = true;
		if (!verbs[i].sub ||
		    (cl->n_pos >= 2 && strcmp(verbs[i].sub, cl->pos[1]) == 0))
			return &verbs[i];
	}
	return NULL;
}

/* "status, reset or grace-reset" for "mfa". */
static void sub_verbs(const char *name, char *buf, size_t len)
{
	size_t i, n = 0, k = 0, used = 0;

	for (i = 0; i < N_VERBS; i++)
		n += strcmp(verbs[i].name, name) == 0;
	buf[0] = '\0';
	for (i = 0; i < N_VERBS && used < len; i++) {
		if (strcmp(verbs[i].name, name) != 0)
			continue;
		k++;
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 k == 1 ? "" : k == n ? " or " : ", ",
					 verbs[i].sub);
	}
}

static int bad_sub_verb(const struct cmdline *cl)
{
	char subs[128], *safe;

	sub_verbs(cl->pos[0], subs, sizeof(subs));
	if (cl->n_pos < 2) {
		ctl_err("'%s' needs a sub-verb: %s", cl->pos[0], subs);
		return RC_USAGE;
	}
	safe = term_safe(cl->pos[1]);
	ctl_err("unknown sub-verb '%.64s' for '%s' (expected %s)",
		safe ? safe : "?", cl->pos[0], subs);
	free(safe);
	return RC_USAGE;
}

static void list_verbs(void)
{
	size_t i;

	for (i = 0; i < N_VERBS; i++)
		printf("%s%s%s\n", verbs[i].name, verbs[i].sub ? " " : "",
		       verbs[i].sub ? verbs[i].sub : "");
}

static int unknown_verb(const char *name)
{
	char *safe = term_safe(name);

	ctl_err("unknown verb '%.64s' (see riskctl --help)", safe ? safe : "?");
	free(safe);
	return RC_USAGE;
}

static int bad_verb_options(const struct verb *v, unsigned given)
{
	static const char *const names[] = {
	    "--user",  "--ref",   "--limit",   "--level", "--state",
	    "--active", "--rhost", "--service", "--ttl",  "--type",
	    "--since", "--format graph", "--cursor-file", "--socket",
	    "--textfile"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((given & (1u << i)) && !(v->opts & (1u << i))) {
			ctl_err("option %s is not valid for '%s%s%s'",
				names[i], v->name, v->sub ? " " : "",
				v->sub ? v->sub : "");
			return RC_USAGE;
		}
	return RC_OK;
}

/* --json, --format: c->json and c->format (a usage error when they
 * disagree or the format is unknown). */
static int bind_format(struct ctl *c, const struct cmdline *cl)
{
	static const char *const names[] = {"table", "json", "graph"};
	size_t i;

	c->format = cl->json_flag ? CTL_FMT_JSON : CTL_FMT_TABLE;
	if (cl->format) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(cl->format, names[i]))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return bad_value("format", cl->format,
					 "allowed: table, json, graph");
		if (cl->json_flag && i != CTL_FMT_JSON) {
			ctl_err("--json and --format %s contradict each other",
				names[i]);
			return RC_USAGE;
		}
		c->format = (enum ctl_format)i;
	}
	c->json = c->format == CTL_FMT_JSON;
	if (c->format == CTL_FMT_GRAPH)
		c->given |= OPT_GRAPH;
	return RC_OK;
}

/* --since CURSOR and --cursor-file are for --format graph only, and not
 * together. */
static int bind_cursor(const struct ctl *c)
{
	if ((c->has_cursor || c->cursor_file) && c->format != CTL_FMT_GRAPH) {
		ctl_err("%s is for --format graph only",
			c->has_cursor ? "a cursor (--since VERB:N)"
				      : "--cursor-file");
		return RC_USAGE;
	}
	if (c->has_cursor && c->cursor_file) {
		ctl_err("--since CURSOR and --cursor-file cannot be combined "
			"(the file holds the cursor)");
		return RC_USAGE;
	}
	return RC_OK;
}

/* Check the verb's sub-verb, options and argument count; fill c->args. */
static int bind_verb(const struct verb *v, const struct cmdline *cl,
		     struct ctl *c)
{
	size_t first = v->sub ? 2 : 1, i;

	if (bind_format(c, cl) != RC_OK ||
	    bad_verb_options(v, c->given) != RC_OK || bind_cursor(c) != RC_OK)
		return RC_USAGE;
	if (cl->too_many || cl->n_pos - first < v->min_args ||
	    cl->n_pos - first > v->max_args) {
		ctl_err("wrong number of arguments for '%s' (see riskctl "
			"--help)",
			v->name);
		return RC_USAGE;
	}
	for (i = first; i < cl->n_pos; i++)
		c->args[c->n_args++] = cl->pos[i];
	return RC_OK;
}

static int need_root(void)
{
	if (geteuid() == 0)
		return RC_OK;
	ctl_err("must be run as root (the risk store is root-only)");
	return RC_PERM;
}

static int run(int argc, char **argv, struct ctl *c)
{
	struct cmdline cl = {0};
	const struct verb *v;
	bool known;
	int r;

	r = parse_cmdline(argc, argv, c, &cl);
	if (r != RC_OK || cl.help || cl.version || cl.list_verbs) {
		if (r == RC_OK && cl.help)
			fputs(usage_text, stdout);
		else if (r == RC_OK && cl.version)
			printf("riskctl %s\n", RR_VERSION);
		else if (r == RC_OK)
			list_verbs();
		return r;
	}
	if (cl.n_pos == 0) {
		fputs(usage_text, stderr);
		return RC_USAGE;
	}
	v = find_verb(&cl, &known);
	if (!v && known)
		return bad_sub_verb(&cl);
	if (!v)
		return unknown_verb(cl.pos[0]);
	r = bind_verb(v, &cl, c);
	if (r == RC_OK)
		r = need_root();
	if (r == RC_OK)
		r = v->run(c);
	return r;
}

int main(int argc, char **argv)
{
	struct ctl c = {.policy_path = RR_POLICY_DEFAULT_PATH};
	int r;

	r = run(argc, argv, &c);
	ctl_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_err("error writing output: %s", strerror(errno));
		if (r == RC_OK)
			r = RC_NOT_FOUND;
	}
	return r;
}
