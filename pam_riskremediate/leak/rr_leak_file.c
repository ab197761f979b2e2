/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The local hash file: sorted "HASH[:COUNT]" lines searched in place.
 *
 * Binary search over byte offsets.  [lo, hi) always starts and ends on a
 * line boundary.  Each probe reads one window around the midpoint, takes
 * the line that contains the midpoint and moves lo past it or hi to its
 * start; both halve the interval, so a file of n bytes takes at most
 * ceil(log2(n)) + 1 probes, one pread() each, and is never read whole.
 */
#include "rr_errno.h"
#include "rr_leak.h"
#include "rr_leak_int.h"
#include "rr_secfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	int fd;
	off_t size;
	rr_leak_stats *stats;
	char buf[2 * RR_LEAK_LINE_MAX + 1];
} file_search;

/* The line [*start, *next) containing offset `mid` in [lo, hi), copied
 * into s->buf as a string without its line end.  -EPROTO for a line
 * longer than RR_LEAK_LINE_MAX. */
static int probe(file_search *s, off_t lo, off_t hi, off_t mid,
		 off_t *start, off_t *next, const char **line, size_t *len)
{
	off_t ws = mid - lo > RR_LEAK_LINE_MAX ? mid - RR_LEAK_LINE_MAX : lo;
	off_t we = hi - mid > RR_LEAK_LINE_MAX ? mid + RR_LEAK_LINE_MAX : hi;
	size_t n = (size_t)(we - ws), b, e;
	ssize_t got;

	got = pread(s->fd, s->buf, n, ws);
	rr_leak_stat(s->stats, file_reads);
	if (got < 0)
		return rr_negerrno();
	if ((size_t)got != n)
		return -EIO; /* the file shrank under us */
	/* start: after the last '\n' before mid, else lo itself */
	for (b = (size_t)(mid - ws); b > 0 && s->buf[b - 1] != '\n'; b--)
		;
	if (b == 0 && ws != lo)
		return -EPROTO;
	/* end: the first '\n' at or after mid; hi is a line start, so the
	 * window holds it unless hi is the end of a file without one */
	for (e = (size_t)(mid - ws); e < n && s->buf[e] != '\n'; e++)
		;
	if (e == n && (we != s->size || we != hi))
		return -EPROTO;
	if (e - b > RR_LEAK_LINE_MAX)
		return -EPROTO;
	*start = ws + (off_t)b;
	*next = ws + (off_t)(e < n ? e + 1 : e);
	if (e > b && s->buf[e - 1] == '\r')
		e--;
	s->buf[e] = '\0';
	*line = s->buf + b;
	*len = e - b;
	return 0;
}

/* "HASH" or "HASH:COUNT": 40 uppercase hex, 1 to 20 digits. */
static int parse_line(const char *line, size_t len, bool *padding)
{
	if (len < RR_LEAK_HASH_LEN || !rr_leak_is_hex(line, RR_LEAK_HASH_LEN,
						      false))
		return -EPROTO;
	*padding = false;
	if (len == RR_LEAK_HASH_LEN)
		return 0;
	return rr_leak_parse_count(line + RR_LEAK_HASH_LEN,
				   len - RR_LEAK_HASH_LEN, padding);
}

static int search(file_search *s, const char *hash, bool *found)
{
	off_t lo = 0, hi = s->size, start = 0, next = 0;
	const char *line = NULL;
	bool padding = false;
	size_t len = 0;
	int r, cmp;

	while (lo < hi) {
		r = probe(s, lo, hi, lo + (hi - lo) / 2, &start, &next, &line,
			  &len);
		if (r == 0)
			r = parse_line(line, len, &padding);
		if (r < 0)
			return r;
		rr_leak_stat(s->stats, file_compares);
		cmp = memcmp(line, hash, RR_LEAK_HASH_LEN);
		if (cmp == 0) {
			*found = !padding;
			return 0;
		}
		if (cmp < 0)
			lo = next;
		else
			hi = start;
	}
	*found = false;
	return 0;
}

int rr_leak_file_lookup(const char *path, const char *hash,
			rr_leak_stats *stats, bool *found)
{
	file_search s = { .fd = -1, .stats = stats };
	struct stat st;
	bool f = false;
	int r;

	if (!path || !hash || !found || strlen(hash) != RR_LEAK_HASH_LEN ||
	    !rr_leak_is_hex(hash, RR_LEAK_HASH_LEN, false))
		return -EINVAL;
	s.fd = rr_secfile_open(path);
	if (s.fd < 0)
		return s.fd;
	if (fstat(s.fd, &st) < 0) {
		r = rr_negerrno();
		goto out;
	}
	s.size = st.st_size;
	r = search(&s, hash, &f);
	if (r == 0)
		*found = f;
out:
	close(s.fd);
	return r;
}
