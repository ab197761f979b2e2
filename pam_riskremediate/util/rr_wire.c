/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The front <-> riskd codec.  Sockets are read and written with
 * MSG_DONTWAIT whatever their mode, and poll() waits when they would block,
 * so that one deadline (CLOCK_MONOTONIC) bounds a whole message on blocking
 * and non-blocking sockets alike.
 */
#include "rr_errno.h"
#include "rr_wire.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR_LEN 4u
#define FIELD_HDR_LEN 5u /* present, len */

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool type_ok(long long t)
{
	return t >= RR_W_HELLO && t <= RR_W_TYPE_MAX;
}

/* The body length of the frame starting with `hdr`, checked. */
static int body_len_of(const unsigned char *hdr, size_t *body_len)
{
	uint32_t v = get_u32(hdr);

	if (v > RR_WIRE_MAX)
		return -EMSGSIZE;
	if (v < 2)
		return -EBADMSG;
	*body_len = v;
	return 0;
}

void rr_wire_free(void *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

void rr_wire_msg_clear(rr_wire_msg *m)
{
	if (!m)
		return;
	rr_wire_free(m->buf, m->buf_len);
	memset(m, 0, sizeof(*m));
}

int rr_wire_encode(rr_wire_type type, const char *const *fields, size_t n,
		   unsigned char **out, size_t *out_len)
{
	size_t len[RR_WIRE_FIELDS_MAX], body = 2, off = HDR_LEN + 2, i;
	unsigned char *p;

	if (!type_ok(type) || n > RR_WIRE_FIELDS_MAX || (n > 0 && !fields))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		/* strnlen: a longer string is too long anyway */
		len[i] = fields[i] ? strnlen(fields[i], RR_WIRE_MAX) : 0;
		body += FIELD_HDR_LEN + len[i];
		if (body > RR_WIRE_MAX)
			return -EMSGSIZE;
	}
	p = malloc(HDR_LEN + body);
	if (!p)
		return -ENOMEM;
	put_u32(p, (uint32_t)body);
	p[HDR_LEN] = (unsigned char)type;
	p[HDR_LEN + 1] = (unsigned char)n;
	for (i = 0; i < n; i++) {
		p[off] = fields[i] != NULL;
		put_u32(p + off + 1, (uint32_t)len[i]);
		off += FIELD_HDR_LEN;
		if (len[i] > 0)
			memcpy(p + off, fields[i], len[i]);
		off += len[i];
	}
	*out = p;
	*out_len = off;
	return 0;
}

int rr_wire_parse(const unsigned char *buf, size_t len, rr_wire_msg *m)
{
	size_t at[RR_WIRE_FIELDS_MAX], flen[RR_WIRE_FIELDS_MAX];
	bool present[RR_WIRE_FIELDS_MAX];
	size_t body_len, nf, off = 2, total = 0, i;
	const unsigned char *body;
	char *out;
	int r;

	rr_wire_msg_clear(m);
	if (len < HDR_LEN)
		return -EBADMSG;
	r = body_len_of(buf, &body_len);
	if (r < 0)
		return r;
	if (len - HDR_LEN != body_len)
		return -EBADMSG;
	body = buf + HDR_LEN;
	nf = body[1];
	if (!type_ok(body[0]) || nf > RR_WIRE_FIELDS_MAX)
		return -EBADMSG;
	for (i = 0; i < nf; i++) {
		if (body_len - off < FIELD_HDR_LEN || body[off] > 1)
			return -EBADMSG;
		present[i] = body[off] == 1;
		flen[i] = get_u32(body + off + 1);
		off += FIELD_HDR_LEN;
		if (flen[i] > body_len - off || (!present[i] && flen[i] > 0) ||
		    memchr(body + off, '\0', flen[i]))
			return -EBADMSG;
		at[i] = off;
		off += flen[i];
		total += flen[i];
	}
	if (off != body_len)
		return -EBADMSG;

	/* each field followed by its NUL; total < body_len: no overflow */
	out = malloc(total + nf + 1);
	if (!out)
		return -ENOMEM;
	m->buf = out;
	m->buf_len = total + nf + 1;
	m->type = (rr_wire_type)body[0];
	m->n = nf;
	for (i = 0; i < nf; i++) {
		if (!present[i])
			continue;
		memcpy(out, body + at[i], flen[i]);
		out[flen[i]] = '\0';
		m->f[i].s = out;
		m->f[i].len = flen[i];
		out += flen[i] + 1;
	}
	*out = '\0';
	return 0;
}

/* Deadlines: tv_sec < 0 for none. */
static int deadline_init(struct timespec *dl, int timeout_ms)
{
	if (timeout_ms < 0) {
		dl->tv_sec = -1;
		dl->tv_nsec = 0;
		return 0;
	}
	if (clock_gettime(CLOCK_MONOTONIC, dl) < 0)
		return rr_negerrno();
	dl->tv_sec += timeout_ms / 1000;
	dl->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
	return 0;
}

/* The milliseconds left before `dl`, rounded up; -ETIMEDOUT when none. */
static int ms_left(const struct timespec *dl, int *ms)
{
	struct timespec now;
	long long ns;

	if (clock_gettime(CLOCK_MONOTONIC, &now) < 0)
		return rr_negerrno();
	ns = (long long)(dl->tv_sec - now.tv_sec) * 1000000000LL +
	     (dl->tv_nsec - now.tv_nsec);
	if (ns <= 0)
		return -ETIMEDOUT;
	ns = (ns + 999999) / 1000000;
	*ms = ns > INT_MAX ? INT_MAX : (int)ns;
	return 0;
}

/* Wait until `fd` is ready for `events` (or in error, which the next
 * send/recv reports), at most until `dl`. */
static int wait_fd(int fd, short events, const struct timespec *dl)
{
	struct pollfd p = {.fd = fd, .events = events};
	int ms = -1, r;

	for (;;) {
		if (dl->tv_sec >= 0) {
			r = ms_left(dl, &ms);
			if (r < 0)
				return r;
		}
		r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return rr_negerrno();
		if (r == 0)
			continue; /* the deadline check above ends it */
		return (p.revents & POLLNVAL) ? -EBADF : 0;
	}
}

static int send_all(int fd, const unsigned char *p, size_t len,
		    const struct timespec *dl)
{
	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w == 0)
			return -EIO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return rr_negerrno();
		r = wait_fd(fd, POLLOUT, dl);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Read exactly `len` bytes; EOF before the first is `eof_err`, after it
 * -EBADMSG. */
static int recv_all(int fd, unsigned char *p, size_t len,
		    const struct timespec *dl, int eof_err)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		int r;

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return got == 0 ? eof_err : -EBADMSG;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return rr_negerrno();
		r = wait_fd(fd, POLLIN, dl);
		if (r < 0)
			return r;
	}
	return 0;
}

int rr_wire_send(int fd, rr_wire_type type, const char *const *fields, size_t n,
		 int timeout_ms)
{
	struct timespec dl;
	unsigned char *frame;
	size_t len;
	int r;

	r = deadline_init(&dl, timeout_ms);
	if (r < 0)
		return r;
	r = rr_wire_encode(type, fields, n, &frame, &len);
	if (r < 0)
		return r;
	r = send_all(fd, frame, len, &dl);
	rr_wire_free(frame, len);
	return r;
}

int rr_wire_connect(const char *path, bool nonblock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	int fd, e;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				 (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return rr_negerrno();
	memcpy(sa.sun_path, path, len + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int rr_wire_connect_root(const char *path)
{
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	int fd = rr_wire_connect(path, true);

	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.uid != 0) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int rr_wire_listen(const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	int fd, e;

	if (len == 0 || len >= sizeof(sa.sun_path))
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rr_negerrno();
	memcpy(sa.sun_path, path, len + 1);
	/* the mode is set before anyone can connect */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, mode) < 0 || listen(fd, backlog) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int rr_wire_next(const unsigned char *buf, size_t len, size_t *off,
		 rr_wire_msg *m)
{
	size_t body;
	int r;

	if (*off > len || len - *off < HDR_LEN)
		return -EBADMSG;
	body = get_u32(buf + *off);
	if (body > len - *off - HDR_LEN)
		return -EBADMSG;
	r = rr_wire_parse(buf + *off, HDR_LEN + body, m);
	if (r == 0)
		*off += HDR_LEN + body;
	return r;
}

int rr_wire_queue_add(rr_wire_queue *q, rr_wire_type type,
		      const char *const *fields, size_t n)
{
	unsigned char *frame, *grown;
	size_t len, cap;
	int r;

	r = rr_wire_encode(type, fields, n, &frame, &len);
	if (r < 0)
		return r;
	if (q->len + len > RR_WIRE_QUEUE_MAX) {
		rr_wire_free(frame, len);
		return -EMSGSIZE;
	}
	if (q->len + len > q->cap) {
		cap = q->cap ? q->cap : 4096;
		while (cap < q->len + len)
			cap *= 2;
		grown = malloc(cap);
		if (!grown) {
			rr_wire_free(frame, len);
			return -ENOMEM;
		}
		if (q->len)
			memcpy(grown, q->buf, q->len);
		rr_wire_free(q->buf, q->cap);
		q->buf = grown;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, frame, len);
	q->len += len;
	rr_wire_free(frame, len);
	return 0;
}

int rr_wire_queue_flush(int fd, rr_wire_queue *q, int timeout_ms)
{
	struct timespec dl;
	int r;

	if (q->len == 0)
		return 0;
	r = deadline_init(&dl, timeout_ms);
	if (r == 0)
		r = send_all(fd, q->buf, q->len, &dl);
	if (r == 0) {
		explicit_bzero(q->buf, q->len);
		q->len = 0;
	}
	return r;
}

void rr_wire_queue_clear(rr_wire_queue *q)
{
	rr_wire_free(q->buf, q->cap);
	memset(q, 0, sizeof(*q));
}

int rr_wire_recv(int fd, rr_wire_msg *m, int timeout_ms)
{
	unsigned char hdr[HDR_LEN], *frame;
	struct timespec dl;
	size_t body_len;
	int r;

	rr_wire_msg_clear(m);
	r = deadline_init(&dl, timeout_ms);
	if (r < 0)
		return r;
	r = recv_all(fd, hdr, sizeof(hdr), &dl, -ECONNRESET);
	if (r < 0)
		return r;
	/* the cap before anything is allocated or read */
	r = body_len_of(hdr, &body_len);
	if (r < 0)
		return r;
	frame = malloc(HDR_LEN + body_len);
	if (!frame)
		return -ENOMEM;
	memcpy(frame, hdr, HDR_LEN);
	r = recv_all(fd, frame + HDR_LEN, body_len, &dl, -EBADMSG);
	if (r == 0)
		r = rr_wire_parse(frame, HDR_LEN + body_len, m);
	rr_wire_free(frame, HDR_LEN + body_len);
	return r;
}

int rr_wire_int(const rr_wire_msg *m, size_t i, long long min, long long max,
		long long *out)
{
	unsigned long long v = 0, lim = LLONG_MAX;
	const char *d;
	long long val;
	bool neg;

	if (!m || i >= m->n || !m->f[i].s)
		return -EINVAL;
	d = m->f[i].s;
	neg = *d == '-';
	d += neg;
	/* digits, no leading zero, no "-0" */
	if (!*d || (*d == '0' && (d[1] || neg)))
		return -EINVAL;
	if (neg)
		lim = (unsigned long long)LLONG_MAX + 1;
	for (; *d; d++) {
		unsigned c = (unsigned)(*d - '0');

		if (*d < '0' || *d > '9' || v > (lim - c) / 10)
			return -EINVAL;
		v = v * 10 + c;
	}
	if (!neg)
		val = (long long)v;
	else if (v == (unsigned long long)LLONG_MAX + 1)
		val = LLONG_MIN;
	else
		val = -(long long)v;
	if (val < min || val > max)
		return -EINVAL;
	*out = val;
	return 0;
}
