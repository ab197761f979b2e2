/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM entry points: the module's logic on the PAM host (host_pam.c).
 */
#include "module.h"

#include <security/pam_modules.h>

static int call(pam_handle_t *pamh, rr_type type, int flags, int argc,
		const char **argv)
{
	rr_pam_host h;

	rr_pam_host_init(&h, pamh);
	return rr_module_call(&h.host, type, flags, argc, argv);
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
