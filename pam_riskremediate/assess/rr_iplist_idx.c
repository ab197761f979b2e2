/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * LIST.idx: the compiled form of an IP list, mapped and binary-searched at
 * sign-in.  Layout (host byte order, marked by `endian`):
 *
 *   header (128 bytes)  magic "RRIPIDX\n", version, endian, record size,
 *                       the text's size, mtime ns, ctime ns, inode,
 *                       BLAKE2b-256 of its bytes, number of ranges
 *   ranges              count x rr_ip_range, sorted, disjoint
 *
 * The module trusts the index only when the header describes the text as
 * it is now; ctime and inode change with every write or replacement of the
 * text, so an edited list is never answered from an old index.
 */
#include "rr_errno.h"
#include "rr_iplist_int.h"
#include "rr_secfile.h"
#include "rr_writefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_MAGIC "RRIPIDX\n"
#define IDX_VERSION 1u
#define IDX_ENDIAN 0x01020304u
#define COMPILE_TRIES 3
#define IDX_MAX_BYTES \
	(128 + (uint64_t)RR_IPLIST_MAX_ENTRIES * sizeof(rr_ip_range))

struct idx_header {
	char magic[8];
	uint32_t version;
	uint32_t endian;
	uint32_t header_size;
	uint32_t record_size;
	uint64_t text_size;
	int64_t text_mtime_ns;
	int64_t text_ctime_ns;
	uint64_t text_ino;
	uint64_t count;
	uint8_t text_hash[RR_IPLIST_HASH_LEN];
	uint8_t reserved[128 - 96];
};

_Static_assert(sizeof(struct idx_header) == 128, "index header size");

struct rr_iplist_index {
	void *map;
	size_t map_len;
	const rr_ip_range *r;
	size_t n;
};

/* What the header records about the text. */
struct text_id {
	uint64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	uint64_t ino;
};

static void text_id_of(const struct stat *st, struct text_id *id)
{
	id->size = (uint64_t)st->st_size;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
		       st->st_mtim.tv_nsec;
	id->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
		       st->st_ctim.tv_nsec;
	id->ino = (uint64_t)st->st_ino;
}

static bool text_id_eq(const struct text_id *a, const struct text_id *b)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns && a->ino == b->ino;
}

int rr_iplist_index_path(const char *list, char *buf, size_t len)
{
	int n;

	if (!list || !*list)
		return -EINVAL;
	n = snprintf(buf, len, "%s%s", list, RR_IPLIST_IDX_SUFFIX);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *rr_iplist_index_problem(unsigned flags)
{
	if (flags & RR_IPLIST_IDX_BAD)
		return "index is damaged or untrusted";
	if (flags & RR_IPLIST_IDX_STALE)
		return "index is stale (the list changed since it was "
		       "compiled)";
	if (flags & RR_IPLIST_IDX_MISSING)
		return "has no index";
	return "index is current";
}

/* ---- reading ------------------------------------------------------------ */

static int header_check(const struct idx_header *h, size_t file_len,
			const struct text_id *text)
{
	struct text_id rec = {
		.size = h->text_size, .mtime_ns = h->text_mtime_ns,
		.ctime_ns = h->text_ctime_ns, .ino = h->text_ino,
	};

	if (memcmp(h->magic, IDX_MAGIC, sizeof(h->magic)) != 0 ||
	    h->version != IDX_VERSION || h->endian != IDX_ENDIAN ||
	    h->header_size != sizeof(*h) ||
	    h->record_size != sizeof(rr_ip_range) ||
	    h->count > RR_IPLIST_MAX_ENTRIES ||
	    file_len != sizeof(*h) + h->count * sizeof(rr_ip_range))
		return -EBADMSG;
	return text_id_eq(&rec, text) ? 0 : -ESTALE;
}

static int map_index(int fd, const struct text_id *text, rr_iplist_index *x)
{
	struct stat st;
	const struct idx_header *h;
	int r;

	if (fstat(fd, &st) < 0)
		return rr_negerrno();
	if ((size_t)st.st_size < sizeof(*h) ||
	    (uint64_t)st.st_size > IDX_MAX_BYTES)
		return -EBADMSG;
	x->map_len = (size_t)st.st_size;
	x->map = mmap(NULL, x->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (x->map == MAP_FAILED) {
		x->map = NULL;
		return rr_negerrno();
	}
	h = x->map;
	r = header_check(h, x->map_len, text);
	if (r < 0)
		return r;
	x->r = (const rr_ip_range *)(h + 1);
	x->n = (size_t)h->count;
	return 0;
}

static int text_stat(const char *list, struct text_id *id)
{
	struct stat st;
	int fd = rr_secfile_open(list), r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		r = rr_negerrno();
	else
		text_id_of(&st, id);
	close(fd);
	return r;
}

int rr_iplist_index_open(const char *list, rr_iplist_index **out)
{
	char path[PATH_MAX];
	struct text_id text = {0};
	rr_iplist_index *x;
	int fd, r;

	if (!out)
		return -EINVAL;
	r = rr_iplist_index_path(list, path, sizeof(path));
	if (r == 0)
		r = text_stat(list, &text);
	if (r < 0)
		return r;
	fd = rr_secfile_open(path);
	if (fd < 0)
		return fd;
	x = calloc(1, sizeof(*x));
	r = x ? map_index(fd, &text, x) : -ENOMEM;
	close(fd);
	if (r < 0) {
		rr_iplist_index_close(x);
		return r;
	}
	*out = x;
	return 0;
}

bool rr_iplist_index_contains(const rr_iplist_index *x, const rr_addr *a)
{
	return x && rr_ranges_find(x->r, x->n, a);
}

size_t rr_iplist_index_size(const rr_iplist_index *x)
{
	return x ? x->n : 0;
}

void rr_iplist_index_close(rr_iplist_index *x)
{
	if (!x)
		return;
	if (x->map)
		munmap(x->map, x->map_len);
	free(x);
}

static unsigned index_flag(int err)
{
	switch (err) {
	case -ENOENT:
		return RR_IPLIST_IDX_MISSING;
	case -ESTALE:
		return RR_IPLIST_IDX_STALE;
	default:
		return RR_IPLIST_IDX_BAD;
	}
}

int rr_iplist_lookup(const char *list, const rr_addr *a, bool *hit,
		     unsigned *flags)
{
	rr_iplist_index *x = NULL;
	rr_iplist *l = NULL;
	unsigned bad = 0;
	int r, idx_err;

	if (!list || !a || !hit || !flags)
		return -EINVAL;
	r = idx_err = rr_iplist_index_open(list, &x);
	if (r == 0) {
		*hit = rr_iplist_index_contains(x, a);
		rr_iplist_index_close(x);
		return 0;
	}
	/* Whatever is wrong with the index, the text decides: its own
	 * errors (missing, untrusted, malformed) are the caller's. */
	r = rr_iplist_load(list, &l, &bad);
	if (r < 0)
		return r;
	*hit = rr_iplist_contains(l, a);
	rr_iplist_free(l);
	*flags |= index_flag(idx_err);
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

static int read_fd(int fd, size_t size, char **buf)
{
	size_t n = 0;
	char *b = malloc(size + 1);

	if (!b)
		return -ENOMEM;
	while (n < size) {
		ssize_t r = read(fd, b + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? rr_negerrno() : -EAGAIN; /* shrank */

			free(b);
			return e;
		}
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	return 0;
}

/* Read the whole trusted text and the identity it had while read; -EAGAIN
 * when it changed meanwhile. */
static int read_text_once(const char *list, char **buf, size_t *len,
			  struct text_id *id)
{
	struct stat before, after;
	struct text_id a, b;
	char *text = NULL;
	int fd, r;

	fd = rr_secfile_open(list);
	if (fd < 0)
		return fd;
	if (fstat(fd, &before) < 0)
		r = rr_negerrno();
	else if ((uint64_t)before.st_size > RR_IPLIST_MAX_BYTES)
		r = -EFBIG;
	else
		r = read_fd(fd, (size_t)before.st_size, &text);
	if (r == 0 && fstat(fd, &after) < 0)
		r = rr_negerrno();
	close(fd);
	if (r == 0) {
		text_id_of(&before, &a);
		text_id_of(&after, &b);
		if (!text_id_eq(&a, &b))
			r = -EAGAIN;
	}
	if (r < 0) {
		free(text); /* the text read when the second fstat failed */
		return r;
	}
	*buf = text;
	*len = (size_t)before.st_size;
	*id = a;
	return 0;
}

static int read_text(const char *list, char **buf, size_t *len,
		     struct text_id *id)
{
	int r = -EAGAIN, tries;

	for (tries = 0; tries < COMPILE_TRIES && r == -EAGAIN; tries++)
		r = read_text_once(list, buf, len, id);
	return r;
}

static int write_index(const char *path, const struct idx_header *h,
		       const rr_iplist *l)
{
	const struct iovec parts[] = {
	    {.iov_base = (void *)h, .iov_len = sizeof(*h)},
	    {.iov_base = l->r, .iov_len = l->n * sizeof(*l->r)},
	};

	return rr_replace_file(path, parts, 2, 0644, RR_REPLACE_DURABLE);
}

int rr_iplist_compile(const char *list, size_t *n_ranges, unsigned *bad_line)
{
	struct idx_header h = {0};
	struct text_id id = {0};
	char path[PATH_MAX], *buf = NULL;
	rr_iplist *l = NULL;
	size_t len = 0;
	int r;

	r = rr_iplist_index_path(list, path, sizeof(path));
	if (r == 0)
		r = sodium_init() < 0 ? -ENOSYS : 0;
	if (r == 0)
		r = read_text(list, &buf, &len, &id);
	if (r < 0)
		return r;
	r = rr_iplist_parse(buf, len, &l, bad_line);
	if (r == 0) {
		memcpy(h.magic, IDX_MAGIC, sizeof(h.magic));
		h.version = IDX_VERSION;
		h.endian = IDX_ENDIAN;
		h.header_size = sizeof(h);
		h.record_size = sizeof(rr_ip_range);
		h.text_size = id.size;
		h.text_mtime_ns = id.mtime_ns;
		h.text_ctime_ns = id.ctime_ns;
		h.text_ino = id.ino;
		h.count = l->n;
		crypto_generichash(h.text_hash, sizeof(h.text_hash),
				   (const unsigned char *)buf, len, NULL, 0);
		r = write_index(path, &h, l);
	}
	if (r == 0 && n_ranges)
		*n_ranges = l->n;
	free(buf);
	rr_iplist_free(l);
	return r;
}

int rr_iplist_index_verify(const char *list)
{
	uint8_t hash[RR_IPLIST_HASH_LEN];
	rr_iplist_index *x = NULL;
	struct text_id id;
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = sodium_init() < 0 ? -ENOSYS : 0;
	if (r == 0)
		r = rr_iplist_index_open(list, &x);
	if (r == 0)
		r = read_text(list, &buf, &len, &id);
	if (r == 0) {
		const struct idx_header *h = x->map;

		crypto_generichash(hash, sizeof(hash),
				   (const unsigned char *)buf, len, NULL, 0);
		if (sodium_memcmp(hash, h->text_hash, sizeof(hash)) != 0)
			r = -ESTALE;
		else if (!rr_ranges_valid(x->r, x->n))
			r = -EBADMSG;
	}
	free(buf);
	rr_iplist_index_close(x);
	return r;
}
