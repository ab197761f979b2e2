/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shadow entries for the PAM tests: bob has no password ("!"); nobody
 * else has an entry (the module then treats the password as present:
 * unknown never blocks).  Linked into test_pwchange, whose definition
 * wins over libc's, and built as a module riskd preloads in suite
 * pam-riskd (harness.c).
 */
#include <errno.h>
#include <shadow.h>
#include <stdio.h>
#include <string.h>

int getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
	       struct spwd **res);
int getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
	       struct spwd **res)
{
	*res = NULL;
	if (strcmp(name, "bob"))
		return ENOENT;
	if (len < 8)
		return ERANGE;
	memset(sp, 0, sizeof(*sp));
	snprintf(buf, len, "bob");
	sp->sp_namp = buf;
	snprintf(buf + 4, len - 4, "!");
	sp->sp_pwdp = buf + 4;
	*res = sp;
	return 0;
}
