/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test-only stand-in for the password module (pam_unix) above
 * pam_riskremediate: asks "Password: " through the conversation with
 * pam_get_authtok(), which sets PAM_AUTHTOK as pam_unix does, and accepts
 * any non-empty password.  Never installed.
 */
#include <stddef.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	const char *tok = NULL;

	(void)flags;
	(void)argc;
	(void)argv;
	if (pam_get_authtok(pamh, PAM_AUTHTOK, &tok, NULL) != PAM_SUCCESS ||
	    !tok || !*tok)
		return PAM_AUTH_ERR;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
