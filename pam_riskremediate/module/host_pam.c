/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The PAM host: the application's side through libpam, for the module's
 * logic in the application's process and for riskd's requests (entry.c).
 * PAM data values are strings, zeroed when freed.
 */
#include "host.h"

#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

static pam_handle_t *pamh_of(rr_host *h)
{
	return ((rr_pam_host *)h)->pamh;
}

static int get_user(rr_host *h, const char **user)
{
	return pam_get_user(pamh_of(h), user, NULL);
}

static int get_item(rr_host *h, int item, const char **out)
{
	const void *v = NULL;
	int r = pam_get_item(pamh_of(h), item, &v);

	*out = r == PAM_SUCCESS ? v : NULL;
	return r;
}

/* The PAM handle's environment, which the application sets (sshd's
 * SSH_AUTH_INFO_0), never the process's: under a set-user-ID program that
 * is the caller's (host.h, network_allowed). */
static const char *get_env(rr_host *h, const char *name)
{
	return pam_getenv(pamh_of(h), name);
}

static int conv(rr_host *h, int style, const char *text, char **answer)
{
	*answer = NULL;
	return pam_prompt(pamh_of(h), style, answer, "%s", text);
}

static void data_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	rr_answer_free(data);
}

static int set_data(rr_host *h, const char *name, const char *value)
{
	char *v = NULL;
	int r;

	if (!value)
		return pam_set_data(pamh_of(h), name, NULL, NULL);
	v = strdup(value);
	if (!v)
		return PAM_BUF_ERR;
	r = pam_set_data(pamh_of(h), name, v, data_cleanup);
	if (r != PAM_SUCCESS)
		data_cleanup(pamh_of(h), v, 0);
	return r;
}

static const char *get_data(rr_host *h, const char *name)
{
	const void *v = NULL;

	if (pam_get_data(pamh_of(h), name, &v) != PAM_SUCCESS)
		return NULL;
	return v;
}

static void log_line(rr_host *h, int priority, const char *text)
{
	pam_syslog(pamh_of(h), priority, "%s", text);
}

static uid_t uid(rr_host *h)
{
	(void)h;
	return getuid();
}

static int64_t now(rr_host *h)
{
	(void)h;
	return (int64_t)time(NULL);
}

static const rr_host_ops pam_host_ops = {
	.get_user = get_user,
	.get_item = get_item,
	.get_env = get_env,
	.conv = conv,
	.set_data = set_data,
	.get_data = get_data,
	.log = log_line,
	.uid = uid,
	.now = now,
};

void rr_pam_host_init(rr_pam_host *h, pam_handle_t *pamh)
{
	h->host.ops = &pam_host_ops;
	/* the application's process: its caller's environment (host.h) */
	h->host.network_allowed = false;
	h->pamh = pamh;
}
