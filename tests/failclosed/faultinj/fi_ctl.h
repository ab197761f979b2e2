/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control block the fault injection shim (fi_shim.c) and its driver
 * (test_faultinj.c) share: a file (RR_FI_CTL) each process maps MAP_SHARED,
 * so the driver, its forked children and the riskd it starts see the same
 * counters.  A process's role (RR_FI_ROLE: "riskd", else the client) picks
 * its row of counters.  While `active`, every call of a kind counts in its
 * role's row; the call whose count reaches `k` of the armed (role, kind)
 * fails.
 */
#ifndef RR_FI_CTL_H
#define RR_FI_CTL_H

#include <stdbool.h>

enum {
	FI_ALLOC,        /* malloc, calloc, realloc, reallocarray: ENOMEM */
	FI_NSS,          /* getpw*_r, getgr*_r, getgrouplist, getspnam_r */
	FI_OPEN,         /* open, open64, openat, openat64: EMFILE */
	FI_READ,         /* read, pread, pread64 on files: EIO */
	FI_WRITE,        /* write, pwrite, pwrite64: ENOSPC */
	FI_FSYNC,        /* fsync, fdatasync: EIO */
	FI_RENAME,       /* rename, renameat: EIO */
	FI_SQL_OPEN,     /* sqlite3_open_v2: SQLITE_CANTOPEN */
	FI_SQL_PREPARE,  /* sqlite3_prepare_v2/v3: SQLITE_NOMEM */
	FI_SQL_IOERR,    /* sqlite3_step: SQLITE_IOERR */
	FI_SQL_BUSY,     /* sqlite3_step: SQLITE_BUSY */
	FI_CONNECT,      /* connect: ECONNREFUSED */
	FI_RECV_EOF,     /* recv: 0 (the peer hung up) */
	FI_RECV_SHORT,   /* recv: one byte of what was there */
	FI_RECV_GARBAGE, /* recv: what was there, every byte replaced */
	FI_SEND,         /* send: EPIPE */
	FI_CONV,         /* the PAM conversation: PAM_CONV_ERR (driver) */
	FI_YAML,         /* yaml_parser_parse, yaml_parser_load: 0 */
	FI_SODIUM,       /* crypto_aead_xchacha20poly1305_ietf_*: -1 */
	FI_KINDS
};

enum { FI_CLIENT, FI_RISKD, FI_ROLES };

struct fi_ctl {
	int active;      /* count (and inject) now */
	int pause[FI_ROLES]; /* a role's counting held (the driver's conv) */
	int role;        /* armed: role, kind (-1: none), k (1-based) */
	int kind;
	long k;
	long injected;   /* how many calls failed */
	long count[FI_ROLES][FI_KINDS];
};

static const char *const fi_kind_names[FI_KINDS] = {
	"alloc", "nss", "open", "read", "write", "fsync", "rename",
	"sqlite_open", "sqlite_prepare", "sqlite_step_ioerr",
	"sqlite_step_busy", "connect", "recv_eof", "recv_short",
	"recv_garbage", "send", "conv", "yaml", "sodium",
};

/* Count a call of `kind` by `role`; true when it is the one to fail. */
static inline bool fi_hit(struct fi_ctl *c, int role, int kind)
{
	long n;

	if (!c || !__atomic_load_n(&c->active, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&c->pause[role], __ATOMIC_SEQ_CST))
		return false;
	n = __atomic_add_fetch(&c->count[role][kind], 1, __ATOMIC_SEQ_CST);
	if (c->role != role || c->kind != kind || n != c->k)
		return false;
	__atomic_add_fetch(&c->injected, 1, __ATOMIC_SEQ_CST);
	return true;
}

#endif
