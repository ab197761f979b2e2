/* SPDX-License-Identifier: BSD-3-Clause */
#include "rr_lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

static int load(rr_lazylib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	size_t i;

	if (!h)
		return -ELIBACC;
	for (i = 0; i < lib->n; i++) {
		void *p = dlsym(h, lib->names[i]);

		if (!p) {
			memset(lib->fns, 0, lib->n * sizeof(*lib->fns));
			return -ELIBACC;
		}
		/* POSIX: a dlsym() result converts to a function pointer */
		memcpy(&lib->fns[i], &p, sizeof(lib->fns[i]));
	}
	return 1;
}

int rr_lazylib_ready(rr_lazylib *lib)
{
	int state;

	if (pthread_mutex_lock(&lib->lock) != 0)
		return -ELIBACC;
	if (lib->state == 0)
		lib->state = load(lib);
	state = lib->state;
	pthread_mutex_unlock(&lib->lock);
	return state == 1 ? 0 : state;
}
