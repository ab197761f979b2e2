/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy loader: YAML (DESIGN §5) -> validated rr_policy (rr_engine.h).
 * Used by the module and by riskctl.  Does not log: errors are returned.
 */
#ifndef RR_POLICY_H
#define RR_POLICY_H

#include "rr_engine.h"
#include "rr_secfile.h"

#define RR_POLICY_DEFAULT_PATH "/etc/security/riskremediate.yaml"
#define RR_POLICY_MAX_BYTES (1024 * 1024)  /* file size cap */
#define RR_POLICY_MAX_LIST 4096            /* entries in any one YAML list */
#define RR_POLICY_MAX_POLICIES 256
#define RR_POLICY_MAX_ERRORS 100

/* One diagnostic: "file:line:column: message". line/column are 1-based;
 * 0 when the error is about the file as a whole (open, owner, mode). */
typedef struct {
	unsigned line;
	unsigned column;
	char message[256];
} rr_policy_error;

typedef struct {
	char *file;
	rr_policy_error *items;
	size_t n;
	bool truncated; /* more than RR_POLICY_MAX_ERRORS */
} rr_policy_errors;

/*
 * Load and validate `path`.  The file must be a regular file owned by root,
 * not group/other-writable, not a symlink, at most RR_POLICY_MAX_BYTES.
 * Every error in the file is collected (not only the first).
 * Returns 0 and *out on success; a negative errno otherwise, with `errs`
 * filled when non-NULL (-EINVAL for content errors, -EPERM for owner/mode,
 * -ELOOP for a symlink, -EFBIG for size, -ENOENT, -ENOMEM, ...).
 * `errs` must be zeroed or hold an earlier result: it is reset first, and
 * is left empty on success.  Errors are sorted by line and column.
 */
int rr_policy_load(const char *path, rr_policy **out, rr_policy_errors *errs);

/*
 * rr_policy_load reads the file with rr_secfile_read_stable() (rr_secfile.h)
 * and these options (NULL: the defaults): a policy rewritten in place is
 * never parsed half-written.  Reading again while it changes, and waiting
 * for one that changed less than a second ago to settle, at most about two
 * seconds; then -EAGAIN, reported as "changed while it was read".  Callers
 * must not fall back to on_error: no policy was read.
 */
int rr_policy_load_stable(const char *path, const rr_secfile_stable *o,
			  rr_policy **out, rr_policy_errors *errs);

/* Same, from a buffer; `name` is used in messages.  No owner checks. */
int rr_policy_parse(const char *name, const char *buf, size_t len,
		    rr_policy **out, rr_policy_errors *errs);

/* ---- files the policy names ---------------------------------------------- */

typedef enum {
	/* read by the module by rr_secfile rules: a regular file, not a
	 * symlink, owned by root, not group/other-writable */
	RR_REF_TRUSTED = 0,
	/* created by the module on first use (mfa.key_file: 0600 root,
	 * RR_POLICY_KEY_LEN bytes): absent is a warning */
	RR_REF_KEY,
	/* the store, created on first use (0600 root): absent is fine */
	RR_REF_STORE,
} rr_policy_ref_kind;

#define RR_POLICY_REF_KEY_MAX 64
#define RR_POLICY_KEY_LEN 32 /* = RR_MFA_KEY_LEN (checked in riskctl) */
/* = RR_IPLIST_MAX_BYTES (checked in riskctl) */
#define RR_POLICY_LIST_MAX_BYTES (256ull * 1024u * 1024u)

/* One path in the policy: its key ("detections.maliciousIPAddress.lists"),
 * the path, where its value is (1-based) and how it is used. */
struct rr_policy_ref {
	char key[RR_POLICY_REF_KEY_MAX];
	char *path;
	unsigned line;
	unsigned column;
	rr_policy_ref_kind kind;
	unsigned long long max; /* size cap; 0: none */
};

/*
 * Check every file `p` names (lists, leakedCredentials hash_file and
 * ca_file, mfa.key_file, store.path, defaults included) by the rules the
 * module applies when it uses them, without reading their content and
 * without logging.  Each problem is appended to `errs`, or to `warns` when
 * it is not one yet (a key file the module creates on first use), as
 * "<key>: <path>: <reason>" at the line and column of the key's value
 * (line 0 for a default not written in the policy); `name` is their file
 * when they have none.  Either may be NULL.  Returns 0 when no error was
 * found, -EINVAL when one was, -ENOMEM.
 */
int rr_policy_check_files(const rr_policy *p, const char *name,
			  rr_policy_errors *errs, rr_policy_errors *warns);

void rr_policy_free(rr_policy *p);
void rr_policy_errors_clear(rr_policy_errors *e);
/* "file:line:column: message" into buf (truncated safely). */
void rr_policy_error_format(const rr_policy_errors *e, size_t i, char *buf,
			    size_t len);

#endif
