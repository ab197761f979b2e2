/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * leakedCredentials at an allowed sign-in: check PAM_AUTHTOK against the
 * breach corpus (rr_leak) and, when it is there, add a user-risk detection
 * that the user's NEXT sign-in is judged by.  This sign-in is never held
 * up or denied by the check: failures are logged and the sign-in goes on.
 * Neither the password nor its hash is ever logged.
 *
 * The range API is asked only by riskd (c->host->network_allowed): in the
 * application's process, a set-user-ID program's caller owns the
 * environment libcurl and OpenSSL read (SSLKEYLOGFILE, https_proxy, ...),
 * so there only the local hash file is checked.
 */
#include "module.h"
#include "rr_leak.h"
#include "rr_secfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_modules.h>

/* The cache directory next to the store: dirname(store)/leak-cache. */
static int cache_dir(const rr_ctx *c, char *buf, size_t len)
{
	const char *store = c->policy->store_path ? c->policy->store_path :
						     RR_STORE_DEFAULT_PATH;
	const char *slash = strrchr(store, '/');
	int n;

	if (!slash)
		return -EINVAL;
	n = snprintf(buf, len, "%.*s/%s", (int)(slash - store), store,
		     RR_LEAK_CACHE_DIR);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static const char *source_name(rr_leak_source s)
{
	return s == RR_LEAK_SRC_HASH_FILE ? "hash file" : "range API";
}

/* The flags of rr_leak_check for this host; logs when the range API is
 * skipped (once per call: the check runs once per sign-in). */
static unsigned leak_flags(rr_ctx *c, const rr_detection_cfg *cfg)
{
	if (c->host->network_allowed || !cfg->range_url)
		return 0;
	rr_log(c, LOG_NOTICE, "user \"%s\": leaked-password range API check "
		   "skipped: it runs only in riskd, and this call runs in the "
		   "application's process%s (leakedCredentials)", c->user,
		   cfg->hash_file ? "; hash file checked" : "");
	return RR_LEAK_NO_NETWORK;
}

/* The warning of a failed check.  When the hash file is what failed, it
 * is named with the reason (an admin must find which file and why; the
 * check's own errno would only say "invalid argument" for a FIFO). */
static void leak_failed(rr_ctx *c, const rr_detection_cfg *cfg, int r)
{
	int fd = cfg->hash_file ? rr_secfile_open(cfg->hash_file) : 0;

	if (fd >= 0) {
		if (cfg->hash_file)
			close(fd);
		rr_log(c, LOG_WARNING, "user \"%s\": leaked-password "
			   "check failed: %s; sign-in goes on without it "
			   "(leakedCredentials)", c->user, rr_leak_strerror(r));
		return;
	}
	rr_log(c, LOG_WARNING, "user \"%s\": leaked-password check "
		   "failed: hash file %s %s; sign-in goes on without it "
		   "(leakedCredentials)", c->user, cfg->hash_file,
	       rr_secfile_strerror(fd));
}

void rr_leak_after_signin(rr_ctx *c)
{
	const rr_detection_cfg *cfg;
	rr_leak_source src = RR_LEAK_SRC_NONE;
	const char *tok = NULL;
	unsigned flags;
	char dir[4096];
	int r;

	if (!c->policy || !c->store || !c->user)
		return;
	cfg = &c->policy->detections[RR_EVENT_LEAKED_CREDENTIALS];
	if (!cfg->enabled)
		return;
	if (c->host->ops->get_item(c->host, PAM_AUTHTOK, &tok) != PAM_SUCCESS ||
	    !tok || !*tok) {
		if (c->debug)
			rr_log(c, LOG_DEBUG, "user \"%s\": no "
				   "password in this sign-in to check "
				   "(leakedCredentials)", c->user);
		return;
	}
	flags = leak_flags(c, cfg);
	if ((flags & RR_LEAK_NO_NETWORK) && !cfg->hash_file)
		return; /* nothing this process may check */
	r = cache_dir(c, dir, sizeof(dir));
	r = rr_leak_check(cfg, r == 0 ? dir : NULL, tok, c->now, flags, NULL,
			  &src);
	tok = NULL;
	if (r < 0) {
		leak_failed(c, cfg, r);
		return;
	}
	if (src == RR_LEAK_SRC_NONE)
		return;
	r = rr_store_user_detection_add(c->store, c->user,
					RR_EVENT_LEAKED_CREDENTIALS, cfg->level,
					c->a.rhost[0] ? c->a.rhost : NULL,
					c->now);
	if (r < 0)
		rr_log(c, LOG_ERR, "user \"%s\": password found in "
			   "a breach corpus (leakedCredentials); source: %s; "
			   "recording it failed: %s", c->user,
			   source_name(src), strerror(-r));
	else
		rr_log(c, LOG_WARNING, "user \"%s\": password found "
			   "in a breach corpus (leakedCredentials); source: %s; "
			   "user risk %s from the next sign-in", c->user,
			   source_name(src), rr_level_name(cfg->level));
}
