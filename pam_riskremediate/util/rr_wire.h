/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The messages between the PAM module ("front") and riskd over a root-only
 * unix stream socket: a length-prefixed frame of a type and up to 24 byte
 * strings, each present or absent.  All integers big-endian:
 *
 *   u32 body_len               2 <= body_len <= RR_WIRE_MAX
 *   u8  type                   1..RR_W_TYPE_MAX
 *   u8  nfields                <= RR_WIRE_FIELDS_MAX
 *   nfields times:
 *     u8  present              0 or 1
 *     u32 len                  0 when not present
 *     len bytes                no NUL byte
 *
 * The fields exactly fill the body.  The format is canonical: a message has
 * one encoding.  Passwords and codes travel in it, so every buffer that held
 * message bytes is zeroed (explicit_bzero) before it is freed.  libc only.
 */
#ifndef RR_WIRE_H
#define RR_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RR_WIRE_MAX 262144u
#define RR_WIRE_FIELDS_MAX 24u

typedef enum {
	RR_W_HELLO = 1, /* front -> riskd: the call (fields: see riskd) */
	RR_W_REPLY,     /* front -> riskd: answer to CONV/GETUSER/GETITEM:
			 * [rc, value?] */
	RR_W_CONV,      /* riskd -> front: [style, text] -> REPLY */
	RR_W_LOG,       /* riskd -> front: [priority, text], no reply */
	RR_W_SETDATA,   /* riskd -> front: [name, value? (absent = remove)],
			 * no reply */
	RR_W_GETUSER,   /* riskd -> front: [] -> REPLY [rc, user?] */
	RR_W_GETITEM,   /* riskd -> front: [item] -> REPLY [rc, value?] */
	RR_W_END,       /* riskd -> front: [pam rc] */
	RR_W_FALLBACK,  /* riskd -> front: [reason]; first message only */
	RR_W_ACCEPT,    /* riskd -> front: [], first message only: riskd
			 * will serve the call once committed */
	RR_W_COMMIT,    /* front -> riskd: [], answers ACCEPT: the call is
			 * riskd's */
	RR_W_STATS,     /* riskctl -> riskd: [proto], first message only:
			 * riskd's counters (rr_riskd_stats.h), no call */
	RR_W_STATS_REPLY, /* riskd -> riskctl: one per call type
			   * (rr_riskd_stats.h) */
	RR_W_TYPE_MAX = RR_W_STATS_REPLY
} rr_wire_type;

typedef struct {
	const char *s; /* NULL: absent */
	size_t len;    /* strlen(s) when present, 0 when absent */
} rr_wire_field;

typedef struct {
	rr_wire_type type;
	size_t n;
	rr_wire_field f[RR_WIRE_FIELDS_MAX];
	char *buf; /* owns the field bytes; zeroed and freed by
		    * rr_wire_msg_clear */
	size_t buf_len;
} rr_wire_msg;

/*
 * Encode one frame (with its 4-byte length) of `type` and the C strings
 * fields[0..n) (NULL: absent; `fields` may be NULL when n is 0).  0,
 * -EINVAL (type out of range, n > RR_WIRE_FIELDS_MAX), -EMSGSIZE (the body
 * would exceed RR_WIRE_MAX) or -ENOMEM.  *out is malloc'd: release it with
 * rr_wire_free(*out, *out_len).
 */
int rr_wire_encode(rr_wire_type type, const char *const *fields, size_t n,
		   unsigned char **out, size_t *out_len);

/* explicit_bzero `len` bytes of `p`, then free it.  NULL is a no-op. */
void rr_wire_free(void *p, size_t len);

/*
 * Parse one complete frame (the 4-byte length included) that exactly fills
 * [buf, buf + len).  `m` must be zero-initialised or hold a message: it is
 * cleared first (rr_wire_msg_clear), and holds nothing on error.  Each
 * present field is a NUL-terminated string in m->buf.  0, -EBADMSG
 * (malformed), -EMSGSIZE (body_len > RR_WIRE_MAX) or -ENOMEM.
 */
int rr_wire_parse(const unsigned char *buf, size_t len, rr_wire_msg *m);

/*
 * Send one message on a stream socket (blocking or not): send() with
 * MSG_NOSIGNAL, retrying EINTR and partial writes, waiting with poll()
 * whenever the socket is not writable, all within timeout_ms from the call
 * (-1: no limit).  0, an rr_wire_encode error, -ETIMEDOUT, or the negative
 * errno of send() (-EPIPE when the peer has gone, ...).  After an error
 * part of the frame may have been sent: close the socket.
 */
int rr_wire_send(int fd, rr_wire_type type, const char *const *fields, size_t n,
		 int timeout_ms);

/*
 * Receive exactly one message from a stream socket (blocking or not) into
 * `m` (cleared first, as for rr_wire_parse), within timeout_ms from the
 * call (-1: no limit).  The length is checked before the body is read or
 * memory allocated.  0, -ECONNRESET (EOF before any byte), -EBADMSG
 * (EOF mid-frame, or malformed), -EMSGSIZE (body_len > RR_WIRE_MAX),
 * -ETIMEDOUT, -ENOMEM or the negative errno of recv().  After an error the
 * stream is out of step: close the socket.
 */
int rr_wire_recv(int fd, rr_wire_msg *m, int timeout_ms);

/* A stream socket connected to the unix socket at path (close-on-exec;
 * non-blocking with `nonblock`: a listener whose backlog is full then
 * fails with -EAGAIN instead of blocking).  An fd or a negative errno;
 * -EINVAL for an empty path or one too long for sun_path. */
int rr_wire_connect(const char *path, bool nonblock);
/* rr_wire_connect(path, true), kept only when the listening end is root's
 * (SO_PEERCRED): the module and riskctl trust no other riskd.  An fd, or
 * -EPERM (the socket closed) or rr_wire_connect's errors. */
int rr_wire_connect_root(const char *path);
/* A close-on-exec stream socket bound to the unix socket at path, given
 * `mode` before it listens with `backlog`.  An fd or a negative errno
 * (-EADDRINUSE when path exists); -EINVAL for an empty path or one too
 * long for sun_path.  The caller checks the directory and removes a stale
 * socket first. */
int rr_wire_listen(const char *path, mode_t mode, int backlog);

/* The frame at buf + *off of a buffer of frames (a queue's): parsed into
 * m as rr_wire_parse, *off moved past it.  -EBADMSG at the end or on a
 * partial frame. */
int rr_wire_next(const unsigned char *buf, size_t len, size_t *off,
		 rr_wire_msg *m);

/*
 * Messages that need no answer, queued and sent in one write with the next
 * message that does (the peer wakes once).  Zero-initialise; the bytes are
 * zeroed when sent and when cleared.
 */
#define RR_WIRE_QUEUE_MAX (4u * RR_WIRE_MAX)
typedef struct {
	unsigned char *buf;
	size_t len, cap;
} rr_wire_queue;
/* 0, -EMSGSIZE (the queue would pass RR_WIRE_QUEUE_MAX: flush first),
 * -EINVAL, -ENOMEM */
int rr_wire_queue_add(rr_wire_queue *q, rr_wire_type type,
		      const char *const *fields, size_t n);
/* Send everything queued (nothing when empty) and empty the queue; 0 or
 * negative errno as rr_wire_send, the queue then left as it was (the
 * caller may read its frames, q->buf[0..q->len), before clearing it). */
int rr_wire_queue_flush(int fd, rr_wire_queue *q, int timeout_ms);
void rr_wire_queue_clear(rr_wire_queue *q);

/* Zero and free what `m` holds; `m` is then empty and reusable.  NULL is a
 * no-op. */
void rr_wire_msg_clear(rr_wire_msg *m);

/*
 * Field `i` of `m` as a number: present, a canonical decimal ("-1", "0",
 * "42": no "+", no leading zeros, no "-0", no spaces) in [min, max].  0
 * (and *out set) or -EINVAL.
 */
int rr_wire_int(const rr_wire_msg *m, size_t i, long long min, long long max,
		long long *out);

#endif
