/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The negative errno of a failed system call, never 0: a call that failed
 * without setting errno (which libc does not promise never to happen) is
 * -EIO, so an error path cannot return "success".  The static analyzers
 * (scan-build, gcc -fanalyzer) check the same: `return -errno` may be 0
 * to them, and a caller then uses output that was never written.
 */
#ifndef RR_ERRNO_H
#define RR_ERRNO_H

#include <errno.h>

static inline int rr_negerrno(void)
{
	int r = -errno; /* this form: clang 14's analyzer tracks r < 0 */

	return r < 0 ? r : -EIO;
}

#endif
