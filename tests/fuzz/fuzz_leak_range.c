/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: a range response body as a server (or whoever sits in
 * the network path) could send it to the leaked-credentials check.  It is
 * either malformed (-EPROTO) or parsed; a suffix found must be in the body.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "rr_leak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `needle` in `hay`, hex letters in either case (as the parser accepts). */
static bool contains_ci(const uint8_t *hay, size_t n, const char *needle,
			size_t m)
{
	size_t i;

	for (i = 0; m <= n && i <= n - m; i++)
		if (!strncasecmp((const char *)hay + i, needle, m))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char suffix[] = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";
	bool found = false;
	int r;

	r = rr_leak_range_parse((const char *)data, size, suffix, &found);
	assert(r == 0 || r == -EPROTO || r == -EINVAL);
	if (r == 0 && found)
		assert(contains_ci(data, size, suffix, sizeof(suffix) - 1));
	if (r != 0)
		assert(!found);
	return 0;
}
