/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the entry points (entry.c) and the logic share (host.h): the error
 * code per call type, freeing secrets, the module's arguments, and the
 * calls that are settled without the policy or the store, so that the
 * entry points can answer those alone.  libc only.
 */
#include "host.h"

#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

int rr_error_code(rr_type type)
{
	switch (type) {
	case TYPE_AUTH:
		return PAM_AUTHINFO_UNAVAIL;
	case TYPE_ACCOUNT:
		return PAM_AUTH_ERR;
	case TYPE_PASSWORD:
		return PAM_AUTHTOK_ERR;
	case TYPE_SESSION:
		return PAM_SESSION_ERR;
	}
	return PAM_AUTH_ERR;
}

void rr_answer_free(char *answer)
{
	if (!answer)
		return;
	explicit_bzero(answer, strlen(answer));
	free(answer);
}

const char *const rr_data_names[RR_N_DATA] = {
	DATA_AUTH_OK, DATA_FLOW, DATA_PWCHANGE, DATA_DEVICE_REF,
};

int rr_data_index(const char *name)
{
	int i;

	for (i = 0; i < RR_N_DATA; i++)
		if (!strcmp(name, rr_data_names[i]))
			return i;
	return -1;
}

static bool socket_path_ok(const char *p)
{
	return !strcmp(p, "off") ||
	       (p[0] == '/' &&
		strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path));
}

int rr_args_parse(rr_type type, int argc, const char **argv, rr_args *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "policy=", 7) && a[7] == '/')
			out->policy_path = a + 7;
		else if (!strncmp(a, "riskd=", 6) && socket_path_ok(a + 6))
			out->riskd = a + 6;
		else if (!strcmp(a, "debug"))
			out->debug = true;
		else if (!strcmp(a, "preauth") && type == TYPE_AUTH)
			out->mode = MODE_PREAUTH;
		else if (!strcmp(a, "authfail") && type == TYPE_AUTH)
			out->mode = MODE_AUTHFAIL;
		else
			return i;
	}
	return -1;
}

bool rr_settled(rr_type type, int flags, const char *auth_ok,
		const char *pwchange, const char *device_ref, int *rc)
{
	bool settled;

	switch (type) {
	case TYPE_ACCOUNT:
		/* this handle's auth stack already decided */
		settled = auth_ok && !pwchange;
		break;
	case TYPE_SESSION:
		/* no sign-in of ours awaits a device */
		settled = !device_ref;
		break;
	case TYPE_PASSWORD:
		settled = flags & PAM_PRELIM_CHECK;
		break;
	case TYPE_AUTH:
	default:
		settled = false;
		break;
	}
	if (settled)
		*rc = PAM_SUCCESS;
	return settled;
}
