/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Libraries loaded on first use.  Every library the PAM module links is
 * mapped at every pam_start (each a few hundred microseconds, see
 * bench/README.md), so libraries only some sign-ins need -- libqrencode
 * (registration), liboath (a code), nettle (a leak check), libcurl (a
 * range request) -- are dlopen()ed by soname (system paths only; the
 * loader ignores LD_LIBRARY_PATH in set-user-ID programs) the first time
 * they are needed, once per process, and kept (RTLD_NODELETE).
 *
 *   static const char *const names[] = {"f", "g"};
 *   static rr_fn fns[2];
 *   static rr_lazylib lib = RR_LAZYLIB("libx.so.1", names, fns);
 *   if (rr_lazylib_ready(&lib) < 0) fail closed;
 *   ((int (*)(int))fns[0])(42);
 */
#ifndef RR_LAZYLIB_H
#define RR_LAZYLIB_H

#include <pthread.h>
#include <stddef.h>

/* A function pointer of no particular type: cast to the right one to call. */
typedef void (*rr_fn)(void);

typedef struct {
	const char *soname;
	const char *const *names;
	rr_fn *fns;
	size_t n;
	pthread_mutex_t lock;
	int state; /* 0 not tried, 1 loaded, negative errno: failed */
} rr_lazylib;

#define RR_LAZYLIB(so, names_, fns_)                                         \
	{                                                                    \
		.soname = (so), .names = (names_), .fns = (fns_),            \
		.n = sizeof(names_) / sizeof((names_)[0]),                   \
		.lock = PTHREAD_MUTEX_INITIALIZER, .state = 0,               \
	}

/* 0 when every symbol of `lib` is in its fns; -ELIBACC when the library
 * or a symbol is missing (remembered: not retried). */
int rr_lazylib_ready(rr_lazylib *lib);

#endif
