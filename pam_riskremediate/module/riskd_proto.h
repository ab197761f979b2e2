/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The module <-> riskd conversation (util/rr_wire.h frames it).  The
 * module (entry.c) connects to riskd's root-only socket and sends HELLO:
 * the call and a snapshot of what the logic reads from the handle.
 *
 * A three-way handshake decides who runs the call, so that a stalled riskd
 * neither holds the login nor runs a call the module has taken back.
 * riskd answers HELLO, after checking it and before doing anything of the
 * call, with ACCEPT [] (or FALLBACK [reason], which sends the call back to
 * the module's process).  The module waits RR_RISKD_ACCEPT_MS for that
 * answer, HELLO's sending included; without it (timeout, EOF, error) it
 * closes the connection and runs the call in its own process.  On ACCEPT
 * it sends COMMIT []: from then on the call is riskd's, and any failure
 * denies (the sign-in may already be recorded, a code already asked).
 * riskd waits RR_RISKD_HELLO_MS for COMMIT and drops the call, having done
 * nothing of it, on anything else; the module that gave up before COMMIT
 * has closed the connection, so a riskd continued later finds EPIPE or
 * EOF there.
 *
 * After COMMIT riskd runs the module's logic with a host that answers from
 * the snapshot and asks the module for the rest: CONV (a prompt or
 * message; REPLY [rc, answer?]), GETUSER and GETITEM (REPLY [rc, value?]),
 * LOG and SETDATA (no reply), then END [PAM code].  Both ends come from
 * one build: HELLO's version must match exactly (else FALLBACK).
 *
 * Instead of HELLO, a root client may send STATS: riskd answers with its
 * counters and runs no call (util/rr_riskd_stats.h, riskctl metrics).
 */
#ifndef RR_RISKD_PROTO_H
#define RR_RISKD_PROTO_H

#include "host.h"
#include "rr_riskd_stats.h" /* RR_RISKD_SOCKET; STATS, riskctl's request */
#include "rr_wire.h"

#define RR_RISKD_PROTO "riskd/2 " RR_VERSION

/* HELLO's fields */
enum {
	RR_H_VERSION = 0,
	RR_H_TYPE,      /* rr_type */
	RR_H_FLAGS,     /* the PAM flags of the call */
	RR_H_UID,       /* the application's real uid */
	RR_H_NOW,       /* the application's clock, seconds */
	RR_H_USER,      /* PAM_USER when set (else riskd asks GETUSER) */
	RR_H_SERVICE,
	RR_H_RHOST,
	RR_H_TTY,
	RR_H_AUTH_INFO, /* the environment's SSH_AUTH_INFO_0 */
	RR_H_DATA,      /* RR_N_DATA values of rr_data_names (host.h) */
	RR_H_ARGS = RR_H_DATA + 4, /* the module arguments */
};
#define RR_RISKD_ARGS_MAX (RR_WIRE_FIELDS_MAX - RR_H_ARGS)
_Static_assert(RR_H_ARGS == RR_H_DATA + RR_N_DATA, "HELLO's data fields");

/* riskd waits this long for HELLO and for COMMIT, and for an answer the
 * module must get from a person (a prompt; pam_get_user may prompt too) */
#define RR_RISKD_HELLO_MS 5000
#define RR_RISKD_ANSWER_MS (15 * 60 * 1000)
/* the module waits this long for ACCEPT (or FALLBACK), HELLO's sending
 * included, then runs the call in process: the most a stalled riskd delays
 * a call */
#define RR_RISKD_ACCEPT_MS 2000
/* after COMMIT, the module waits this long for each of riskd's messages */
#define RR_RISKD_WAIT_MS 30000

#endif
