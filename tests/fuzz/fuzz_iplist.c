/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: IP list text (admin files and downloaded feeds) and
 * the address/CIDR parsers under it.  A list either fails with the number
 * of a line of the input, or parses into merged ranges that answer
 * lookups; every address that parses on its own is then in the list it
 * makes by itself.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rr_iplist.h"
#include "rr_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {
	"0.0.0.0", "10.1.2.3", "192.0.2.1", "255.255.255.255",
	"::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rr_iplist *l = NULL;
	unsigned bad = 0;
	size_t i, lines = 1;
	char *s;
	rr_addr a;
	rr_cidr c;
	int r;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	r = rr_iplist_parse((const char *)data, size, &l, &bad);
	if (r == 0) {
		assert(l != NULL);
		for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			assert(rr_addr_parse(probes[i], &a) == 0);
			(void)rr_iplist_contains(l, &a);
		}
		rr_iplist_free(l);
	} else if (r == -EINVAL) {
		assert(bad >= 1 && bad <= lines);
	}

	/* the input as one address or CIDR string */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (rr_addr_parse(s, &a) == 0 &&
	    rr_iplist_parse(s, strlen(s), &l, &bad) == 0) {
		assert(rr_iplist_contains(l, &a));
		rr_iplist_free(l);
	}
	(void)rr_cidr_parse(s, &c);
	free(s);
	return 0;
}
