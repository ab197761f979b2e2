/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * riskd internals: the loader that keeps policies and stores open
 * (cache.c) and one call served on a connection (call.c).
 */
#ifndef RISKD_H
#define RISKD_H

#include "module.h"

/* The loader of riskd: policies parsed once per file version, store
 * connections kept between calls.  Thread-safe. */
rr_loader *rd_cache_new(void);
void rd_cache_free(rr_loader *l);
/* Load the policy at path now; a fleet policy starts its replica at once
 * (not at the first sign-in).  0 or a negative errno. */
int rd_cache_preload(rr_loader *l, const char *policy_path);

/* Serve one call on a connected root client; closes nothing. */
void rd_serve(int fd, rr_loader *l);

#endif
