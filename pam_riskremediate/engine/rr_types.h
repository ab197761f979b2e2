/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Vocabulary shared by every layer (DESIGN §2): risk levels, states, details,
 * detection types, and IP addresses / CIDR ranges.  Pure: libc only.
 */
#ifndef RR_TYPES_H
#define RR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on anything a user or admin controls. */
#define RR_USER_MAX 256      /* user name, bytes, without NUL */
#define RR_SERVICE_MAX 64    /* PAM service name */
#define RR_RHOST_MAX 255     /* PAM_RHOST */
#define RR_TTY_MAX 64        /* PAM_TTY */
#define RR_NAME_MAX 128      /* policy / location names */
#define RR_REF_LEN 9         /* "7F3A-91C2" */
#define RR_DEVICE_MAX 64     /* "SHA256:" + 43 base64 characters */
#define RR_NETKEY_MAX 64     /* "203.0.113.0/24", "2001:db8:1:2::/64" */

typedef enum {
	RR_LEVEL_NONE = 0,
	RR_LEVEL_LOW,
	RR_LEVEL_MEDIUM,
	RR_LEVEL_HIGH,
	RR_LEVEL__COUNT
} rr_level;

typedef enum {
	RR_STATE_NONE = 0,
	RR_STATE_AT_RISK,
	RR_STATE_REMEDIATED,
	RR_STATE_DISMISSED,
	RR_STATE_CONFIRMED_SAFE,
	RR_STATE_CONFIRMED_COMPROMISED,
	RR_STATE__COUNT
} rr_state;

typedef enum {
	RR_DETAIL_NONE = 0,
	RR_DETAIL_USER_PASSED_MFA,            /* userPassedMFADrivenByRiskBasedPolicy */
	RR_DETAIL_USER_SECURED_PASSWORD,      /* userPerformedSecuredPasswordChange */
	RR_DETAIL_ADMIN_TEMP_PASSWORD,        /* adminGeneratedTemporaryPassword */
	RR_DETAIL_ADMIN_DISMISSED_ALL,        /* adminDismissedAllRiskForUser */
	RR_DETAIL_ADMIN_CONFIRMED_COMPROMISED,/* adminConfirmedUserCompromised */
	RR_DETAIL_ADMIN_SIGNIN_SAFE,          /* adminConfirmedSigninSafe */
	RR_DETAIL_ADMIN_SIGNIN_COMPROMISED,   /* adminConfirmedSigninCompromised */
	RR_DETAIL_ADMIN_ACCOUNT_SAFE,         /* adminConfirmedAccountSafe */
	RR_DETAIL__COUNT
} rr_detail;

typedef enum {
	RR_EVENT_UNFAMILIAR_FEATURES = 0,
	RR_EVENT_ANONYMIZED_IP,
	RR_EVENT_MALICIOUS_IP,
	RR_EVENT_PASSWORD_SPRAY,
	RR_EVENT_BRUTE_FORCE,
	RR_EVENT_LEAKED_CREDENTIALS,
	RR_EVENT_ADMIN_CONFIRMED_COMPROMISED,
	RR_EVENT_HOME_TENANT_USER_RISK,
	RR_EVENT_REPEATED_MFA_FAILURES, /* repeatedMFAFailures: rate limit hit */
	RR_EVENT__COUNT
} rr_event;

/* Contract spelling; NULL for out-of-range values. */
const char *rr_level_name(rr_level v);
const char *rr_state_name(rr_state v);
const char *rr_detail_name(rr_detail v);
const char *rr_event_name(rr_event v);
/* Exact, case-sensitive parse of the contract spelling. 0 or -EINVAL. */
int rr_level_parse(const char *s, rr_level *out);
int rr_state_parse(const char *s, rr_state *out);
int rr_detail_parse(const char *s, rr_detail *out);
int rr_event_parse(const char *s, rr_event *out);

/* An IPv4 or IPv6 address. IPv4-mapped IPv6 (::ffff:a.b.c.d) is stored as IPv4. */
typedef struct {
	uint8_t family;   /* 4 or 6 */
	uint8_t bytes[16];/* network order; IPv4 uses the first 4 */
} rr_addr;

typedef struct {
	rr_addr base;     /* host bits cleared */
	uint8_t prefix;   /* 0..32 or 0..128 */
} rr_cidr;

/* "192.0.2.1", "2001:db8::1". 0 or -EINVAL. */
int rr_addr_parse(const char *s, rr_addr *out);
/* "10.0.0.0/8", "2001:db8::/32", or a bare address (= /32, /128).
 * Host bits set beyond the prefix are an error (-EINVAL), as a typo guard. */
int rr_cidr_parse(const char *s, rr_cidr *out);
bool rr_cidr_contains(const rr_cidr *c, const rr_addr *a);
/* Sort order for binary search: family, then bytes, then prefix. */
int rr_cidr_cmp(const rr_cidr *a, const rr_cidr *b);
/* The sign-in's source network: /24 for IPv4, /64 for IPv6, as text.
 * buf must hold RR_NETKEY_MAX bytes. */
void rr_addr_netkey(const rr_addr *a, char *buf, size_t len);
/* Canonical text of an address (inet_ntop). buf >= 46 bytes. */
void rr_addr_format(const rr_addr *a, char *buf, size_t len);

#endif
