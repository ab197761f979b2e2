/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fault injection shim: preloaded (LD_PRELOAD, ahead of nss_wrapper)
 * into the test driver and into the riskd it starts, never linked into
 * anything shipped.  Every call of the interposed functions counts in the
 * control block of fi_ctl.h while it is active; the armed one fails as the
 * real function fails, errno set.  Without RR_FI_CTL it only passes calls
 * on.  Built without the allocator hooks (-DFI_NO_ALLOC) when AddressSanitizer
 * owns malloc.
 */
#undef _FILE_OFFSET_BITS /* open and open64 both, as libraries call them */
#undef _FORTIFY_SOURCE /* its inline read, recv, ... are not what this defines */
#include "fi_ctl.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdio.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sqlite3.h>
#include <yaml.h>

static struct fi_ctl *ctl;
static int role = FI_CLIENT;

int fi_shim_attach(void);

/* Maps RR_FI_CTL: at the start of the process, and again when the driver
 * has created it.  0, or -1 when it cannot. */
int fi_shim_attach(void)
{
	const char *path = getenv("RR_FI_CTL"), *r = getenv("RR_FI_ROLE");
	void *m;
	long fd;

	if (r && !strcmp(r, "riskd"))
		role = FI_RISKD;
	if (!path || !*path)
		return -1;
	/* the system call itself: open is hooked below */
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	m = mmap(NULL, sizeof(struct fi_ctl), PROT_READ | PROT_WRITE,
		 MAP_SHARED, (int)fd, 0);
	close((int)fd);
	if (m == MAP_FAILED)
		return -1;
	ctl = m;
	return 0;
}

__attribute__((constructor)) static void fi_init(void)
{
	void *frame;

	/* backtrace() loads its unwinder at its first call: now, not in
	 * the middle of a malloc */
	backtrace(&frame, 1);
	fi_shim_attach();
}

/* RR_FI_TRACE set: where the injected call came from, on stderr. */
static bool hit(int kind)
{
	void *frames[24];
	int n;

	if (!fi_hit(ctl, role, kind))
		return false;
	if (getenv("RR_FI_TRACE")) {
		n = backtrace(frames, 24);
		dprintf(2, "fi: %s failed here:\n", fi_kind_names[kind]);
		backtrace_symbols_fd(frames, n, 2);
	}
	return true;
}

/* The next definition of `name`: after this object, or in `lib` (loaded
 * with RTLD_LOCAL by a module, so not in the global scope).  The handle of
 * `lib` stays open: the pointer is kept, and the module's dlclose must not
 * unload the library under it (it would come back elsewhere). */
static void *next(const char *name, const char *lib)
{
	void *p = dlsym(RTLD_NEXT, name), *h;

	if (!p && lib && (h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD)) != NULL)
		p = dlsym(h, name);
	if (!p)
		abort();
	return p;
}

/* A call the library makes of its own exported function (sqlite3_exec
 * stepping its statements, yaml_parser_load parsing): failing it would
 * break the library's own state, which no caller can see, not test the
 * caller.  Such calls pass and do not count. */
static bool internal(const void *ret, const void *fnptr, size_t len)
{
	Dl_info a, b;
	void *real = NULL;

	if (len != sizeof(real))
		return false;
	memcpy(&real, fnptr, len); /* POSIX: function and data pointers */
	return dladdr(ret, &a) && dladdr(real, &b) &&
	       a.dli_fbase == b.dli_fbase;
}

#define INTERNAL(real)                                                       \
	internal(__builtin_return_address(0), &(real), sizeof(real))

#define NEXT(type, name, lib)                                                \
	static type real_;                                                   \
	if (!real_)                                                          \
		*(void **)&real_ = next(name, lib)

/* ---- allocation ------------------------------------------------------- */

#ifndef FI_NO_ALLOC
/* Allocations that are not the code under test's to survive, not
 * failed (the run then has no fault; the driver accepts that); only
 * looked at for the one call that would fail:
 * - nss_wrapper, the tests' user database, calls exit() when its own
 *   start cannot allocate, in whatever thread, then deadlocks in its
 *   destructor;
 * - glibc's NSS machinery under getspnam_r (nsswitch.conf read into
 *   __nss_database_get, the NSS modules such as libnss_systemd) crashes
 *   (SIGSEGV, abort) when its allocations fail, and the dynamic linker
 *   ends the process (127) when it cannot allocate a module's
 *   thread-local storage (RR_FAULTINJ_FULL found them: glibc's, not
 *   ours). */
static bool not_ours(void)
{
	void *frames[32];
	Dl_info d;
	int i, n = backtrace(frames, 32);

	for (i = 0; i < n; i++) {
		if (!dladdr(frames[i], &d) || !d.dli_fname)
			continue;
		if (strstr(d.dli_fname, "nss_wrapper") ||
		    strstr(d.dli_fname, "/libnss_") ||
		    strstr(d.dli_fname, "ld-linux"))
			return true;
		if (d.dli_sname && strstr(d.dli_fname, "/libc.so") &&
		    (!strncmp(d.dli_sname, "__nss_", 6) ||
		     !strcmp(d.dli_sname, "getspnam_r")))
			return true;
	}
	return false;
}

static bool fail_alloc(void)
{
	if (!hit(FI_ALLOC))
		return false;
	if (not_ours()) {
		__atomic_sub_fetch(&ctl->injected, 1, __ATOMIC_SEQ_CST);
		return false;
	}
	return true;
}

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

void *malloc(size_t n)
{
	if (fail_alloc()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (fail_alloc()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (fail_alloc()) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}
#endif

/* ---- NSS ---------------------------------------------------------------- */

typedef int (*pwnam_fn)(const char *, struct passwd *, char *, size_t,
			struct passwd **);
typedef int (*pwuid_fn)(uid_t, struct passwd *, char *, size_t,
			struct passwd **);
typedef int (*grnam_fn)(const char *, struct group *, char *, size_t,
			struct group **);
typedef int (*grgid_fn)(gid_t, struct group *, char *, size_t,
			struct group **);
typedef int (*grouplist_fn)(const char *, gid_t, gid_t *, int *);
typedef int (*spnam_fn)(const char *, struct spwd *, char *, size_t,
			struct spwd **);

int getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len,
	       struct passwd **res)
{
	NEXT(pwnam_fn, "getpwnam_r", NULL);
	if (hit(FI_NSS)) {
		*res = NULL;
		return EIO;
	}
	return real_(name, pw, buf, len, res);
}

int getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len,
	       struct passwd **res)
{
	NEXT(pwuid_fn, "getpwuid_r", NULL);
	if (hit(FI_NSS)) {
		*res = NULL;
		return EIO;
	}
	return real_(uid, pw, buf, len, res);
}

int getgrnam_r(const char *name, struct group *gr, char *buf, size_t len,
	       struct group **res)
{
	NEXT(grnam_fn, "getgrnam_r", NULL);
	if (hit(FI_NSS)) {
		*res = NULL;
		return EIO;
	}
	return real_(name, gr, buf, len, res);
}

int getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len,
	       struct group **res)
{
	NEXT(grgid_fn, "getgrgid_r", NULL);
	if (hit(FI_NSS)) {
		*res = NULL;
		return EIO;
	}
	return real_(gid, gr, buf, len, res);
}

/* Failure as the lookup failing: -1 and no groups. */
int getgrouplist(const char *user, gid_t group, gid_t *groups, int *ngroups)
{
	NEXT(grouplist_fn, "getgrouplist", NULL);
	if (hit(FI_NSS)) {
		*ngroups = 0;
		errno = EIO;
		return -1;
	}
	return real_(user, group, groups, ngroups);
}

int getspnam_r(const char *name, struct spwd *sp, char *buf, size_t len,
	       struct spwd **res)
{
	NEXT(spnam_fn, "getspnam_r", NULL);
	if (hit(FI_NSS)) {
		*res = NULL;
		return EIO;
	}
	return real_(name, sp, buf, len, res);
}

/* ---- files -------------------------------------------------------------- */

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	       (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_HOOK(fn)                                                        \
	int fn(const char *path, int flags, ...)                             \
	{                                                                    \
		va_list ap;                                                  \
		mode_t mode;                                                 \
		NEXT(open_fn, #fn, NULL);                                    \
		va_start(ap, flags);                                         \
		mode = mode_arg(flags, ap);                                  \
		va_end(ap);                                                  \
		if (hit(FI_OPEN)) {                                          \
			errno = EMFILE;                                      \
			return -1;                                           \
		}                                                            \
		return real_(path, flags, mode);                             \
	}
OPEN_HOOK(open)
OPEN_HOOK(open64)

#define OPENAT_HOOK(fn)                                                      \
	int fn(int dir, const char *path, int flags, ...)                    \
	{                                                                    \
		va_list ap;                                                  \
		mode_t mode;                                                 \
		NEXT(openat_fn, #fn, NULL);                                  \
		va_start(ap, flags);                                         \
		mode = mode_arg(flags, ap);                                  \
		va_end(ap);                                                  \
		if (hit(FI_OPEN)) {                                          \
			errno = EMFILE;                                      \
			return -1;                                           \
		}                                                            \
		return real_(dir, path, flags, mode);                        \
	}
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

ssize_t read(int fd, void *buf, size_t n)
{
	NEXT(read_fn, "read", NULL);
	if (hit(FI_READ)) {
		errno = EIO;
		return -1;
	}
	return real_(fd, buf, n);
}

#define PREAD_HOOK(fn)                                                       \
	ssize_t fn(int fd, void *buf, size_t n, off_t off)                   \
	{                                                                    \
		NEXT(pread_fn, #fn, NULL);                                   \
		if (hit(FI_READ)) {                                          \
			errno = EIO;                                         \
			return -1;                                           \
		}                                                            \
		return real_(fd, buf, n, off);                               \
	}
PREAD_HOOK(pread)
PREAD_HOOK(pread64)

ssize_t write(int fd, const void *buf, size_t n)
{
	NEXT(write_fn, "write", NULL);
	if (hit(FI_WRITE)) {
		errno = ENOSPC;
		return -1;
	}
	return real_(fd, buf, n);
}

#define PWRITE_HOOK(fn)                                                      \
	ssize_t fn(int fd, const void *buf, size_t n, off_t off)             \
	{                                                                    \
		NEXT(pwrite_fn, #fn, NULL);                                  \
		if (hit(FI_WRITE)) {                                         \
			errno = ENOSPC;                                      \
			return -1;                                           \
		}                                                            \
		return real_(fd, buf, n, off);                               \
	}
PWRITE_HOOK(pwrite)
PWRITE_HOOK(pwrite64)

typedef int (*fd_fn)(int);

int fsync(int fd)
{
	NEXT(fd_fn, "fsync", NULL);
	if (hit(FI_FSYNC)) {
		errno = EIO;
		return -1;
	}
	return real_(fd);
}

int fdatasync(int fd)
{
	NEXT(fd_fn, "fdatasync", NULL);
	if (hit(FI_FSYNC)) {
		errno = EIO;
		return -1;
	}
	return real_(fd);
}

typedef int (*rename_fn)(const char *, const char *);
typedef int (*renameat_fn)(int, const char *, int, const char *);

int rename(const char *from, const char *to)
{
	NEXT(rename_fn, "rename", NULL);
	if (hit(FI_RENAME)) {
		errno = EIO;
		return -1;
	}
	return real_(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
	NEXT(renameat_fn, "renameat", NULL);
	if (hit(FI_RENAME)) {
		errno = EIO;
		return -1;
	}
	return real_(fd1, from, fd2, to);
}

/* ---- the riskd socket ----------------------------------------------------- */

typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);

int connect(int fd, __CONST_SOCKADDR_ARG sa, socklen_t len)
{
	NEXT(connect_fn, "connect", NULL);
	if (hit(FI_CONNECT)) {
		errno = ECONNREFUSED;
		return -1;
	}
	return real_(fd, sa, len);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	bool eof = hit(FI_RECV_EOF), shrt = hit(FI_RECV_SHORT),
	     garbage = hit(FI_RECV_GARBAGE);
	ssize_t r;
	NEXT(recv_fn, "recv", NULL);

	if (eof)
		return 0;
	r = real_(fd, buf, shrt && n > 1 ? 1 : n, flags);
	if (garbage && r > 0)
		memset(buf, 0xa5, (size_t)r);
	return r;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	NEXT(send_fn, "send", NULL);
	if (hit(FI_SEND)) {
		errno = EPIPE;
		return -1;
	}
	return real_(fd, buf, n, flags);
}

/* ---- SQLite ------------------------------------------------------------- */

#define SQLITE_LIB "libsqlite3.so.0"

typedef int (*sqlopen_fn)(const char *, sqlite3 **, int, const char *);
typedef int (*prep2_fn)(sqlite3 *, const char *, int, sqlite3_stmt **,
			const char **);
typedef int (*prep3_fn)(sqlite3 *, const char *, int, unsigned int,
			sqlite3_stmt **, const char **);
typedef int (*step_fn)(sqlite3_stmt *);

/* As SQLite fails to open: a handle (for the error message) that must be
 * closed, unless not even that could be allocated. */
int sqlite3_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs)
{
	NEXT(sqlopen_fn, "sqlite3_open_v2", SQLITE_LIB);
	if (!INTERNAL(real_) && hit(FI_SQL_OPEN)) {
		*db = NULL;
		return SQLITE_CANTOPEN;
	}
	return real_(path, db, flags, vfs);
}

int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n,
		       sqlite3_stmt **st, const char **tail)
{
	NEXT(prep2_fn, "sqlite3_prepare_v2", SQLITE_LIB);
	if (!INTERNAL(real_) && hit(FI_SQL_PREPARE)) {
		*st = NULL;
		return SQLITE_NOMEM;
	}
	return real_(db, sql, n, st, tail);
}

int sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned int f,
		       sqlite3_stmt **st, const char **tail)
{
	NEXT(prep3_fn, "sqlite3_prepare_v3", SQLITE_LIB);
	if (!INTERNAL(real_) && hit(FI_SQL_PREPARE)) {
		*st = NULL;
		return SQLITE_NOMEM;
	}
	return real_(db, sql, n, f, st, tail);
}

int sqlite3_step(sqlite3_stmt *st)
{
	bool ioerr, busy;
	NEXT(step_fn, "sqlite3_step", SQLITE_LIB);

	if (INTERNAL(real_))
		return real_(st);
	ioerr = hit(FI_SQL_IOERR);
	busy = hit(FI_SQL_BUSY);
	if ((ioerr || busy) && getenv("RR_FI_TRACE")) {
		typedef const char *(*sql_fn)(sqlite3_stmt *);
		sql_fn q = (sql_fn)(uintptr_t)next("sqlite3_sql", SQLITE_LIB);

		dprintf(2, "fi: step of %s\n", q(st));
	}
	if (ioerr)
		return SQLITE_IOERR;
	if (busy)
		return SQLITE_BUSY;
	return real_(st);
}

/* ---- libyaml, libsodium --------------------------------------------------- */

#define YAML_LIB "libyaml-0.so.2"
#define SODIUM_LIB "libsodium.so.23"

typedef int (*yparse_fn)(yaml_parser_t *, yaml_event_t *);
typedef int (*yload_fn)(yaml_parser_t *, yaml_document_t *);

/* As libyaml fails: 0, the parser's error set. */
int yaml_parser_parse(yaml_parser_t *p, yaml_event_t *ev)
{
	NEXT(yparse_fn, "yaml_parser_parse", YAML_LIB);
	if (!INTERNAL(real_) && hit(FI_YAML)) {
		memset(ev, 0, sizeof(*ev));
		p->error = YAML_MEMORY_ERROR;
		return 0;
	}
	return real_(p, ev);
}

int yaml_parser_load(yaml_parser_t *p, yaml_document_t *doc)
{
	NEXT(yload_fn, "yaml_parser_load", YAML_LIB);
	if (!INTERNAL(real_) && hit(FI_YAML)) {
		memset(doc, 0, sizeof(*doc));
		p->error = YAML_MEMORY_ERROR;
		return 0;
	}
	return real_(p, doc);
}

typedef int (*aead_enc_fn)(unsigned char *, unsigned long long *,
			   const unsigned char *, unsigned long long,
			   const unsigned char *, unsigned long long,
			   const unsigned char *, const unsigned char *,
			   const unsigned char *);
typedef int (*aead_dec_fn)(unsigned char *, unsigned long long *,
			   unsigned char *, const unsigned char *,
			   unsigned long long, const unsigned char *,
			   unsigned long long, const unsigned char *,
			   const unsigned char *);

int crypto_aead_xchacha20poly1305_ietf_encrypt(
	unsigned char *c, unsigned long long *clen, const unsigned char *m,
	unsigned long long mlen, const unsigned char *ad,
	unsigned long long adlen, const unsigned char *nsec,
	const unsigned char *npub, const unsigned char *k);
int crypto_aead_xchacha20poly1305_ietf_encrypt(
	unsigned char *c, unsigned long long *clen, const unsigned char *m,
	unsigned long long mlen, const unsigned char *ad,
	unsigned long long adlen, const unsigned char *nsec,
	const unsigned char *npub, const unsigned char *k)
{
	NEXT(aead_enc_fn, "crypto_aead_xchacha20poly1305_ietf_encrypt",
	     SODIUM_LIB);
	if (hit(FI_SODIUM))
		return -1;
	return real_(c, clen, m, mlen, ad, adlen, nsec, npub, k);
}

int crypto_aead_xchacha20poly1305_ietf_decrypt(
	unsigned char *m, unsigned long long *mlen, unsigned char *nsec,
	const unsigned char *c, unsigned long long clen,
	const unsigned char *ad, unsigned long long adlen,
	const unsigned char *npub, const unsigned char *k);
int crypto_aead_xchacha20poly1305_ietf_decrypt(
	unsigned char *m, unsigned long long *mlen, unsigned char *nsec,
	const unsigned char *c, unsigned long long clen,
	const unsigned char *ad, unsigned long long adlen,
	const unsigned char *npub, const unsigned char *k)
{
	NEXT(aead_dec_fn, "crypto_aead_xchacha20poly1305_ietf_decrypt",
	     SODIUM_LIB);
	if (hit(FI_SODIUM))
		return -1;
	return real_(m, mlen, nsec, c, clen, ad, adlen, npub, k);
}
