/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Policy loader: YAML (DESIGN §5) -> validated rr_policy (rr_engine.h).
 * Used by the module and by riskctl.  Does not log: errors are returned.
 */
#ifndef RR_POLICY_H
#define RR_POLICY_H

#include "rr_engine.h"

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

/* Same, from a buffer; `name` is used in messages.  No owner checks. */
int rr_policy_parse(const char *name, const char *buf, size_t len,
		    rr_policy **out, rr_policy_errors *errs);

void rr_policy_free(rr_policy *p);
void rr_policy_errors_clear(rr_policy_errors *e);
/* "file:line:column: message" into buf (truncated safely). */
void rr_policy_error_format(const rr_policy_errors *e, size_t i, char *buf,
			    size_t len);

#endif
