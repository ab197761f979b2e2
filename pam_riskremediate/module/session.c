/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session part: the device of an sshd public-key-only login.  sshd runs
 * the account stack of such a login before it exposes the key
 * (SSH_AUTH_INFO_0 is empty there) and exposes it before the session
 * stack.  So account records the sign-in without a device and leaves its
 * reference in the handle; pam_sm_open_session reads the key, and the
 * store gives that sign-in its device and makes the key familiar, in one
 * transaction.  Only that sign-in of that user, only when it was a success
 * without a device: nothing else can be changed from here.
 */
#include "module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>


void rr_device_pending_set(rr_ctx *c)
{
	if (c->device[0] || !c->ref[0])
		return;
	/* out of memory: the sign-in keeps no device, as before sessions */
	rr_data_set(c, DATA_DEVICE_REF, c->ref);
}

int rr_open_session(rr_ctx *c)
{
	const char *ref = rr_data_get(c, DATA_DEVICE_REF);
	const char *user = NULL;
	int r;

	if (!ref)
		return 0; /* settled before (rr_settled) */
	rr_gather_device(c);
	if (!c->device[0])
		return 0; /* not a public-key login, or no ExposeAuthInfo */
	if (c->host->ops->get_user(c->host, &user) != PAM_SUCCESS || !user ||
	    !rr_valid_user(user))
		return -EINVAL;
	c->user = user;
	r = rr_open(c);
	if (r == 0)
		r = rr_store_signin_device_set(c->store, user, ref, c->device,
					       c->now);
	if (r < 0) {
		rr_log(c, LOG_ERR, "recording the key of sign-in %s "
			   "of \"%s\": %s", ref, user, strerror(-r));
		return r;
	}
	rr_log(c, LOG_INFO, "device=%s user=\"%s\" ref=%s "
		   "recorded at session open", c->device, user, ref);
	rr_data_set(c, DATA_DEVICE_REF, NULL);
	return 0;
}
