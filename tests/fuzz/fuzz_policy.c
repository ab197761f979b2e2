/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the policy loader (libyaml + our schema) on any bytes.
 * It must return 0 with a policy, or an error with every message located
 * (line and column within the input) -- never crash, leak or hang.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rr_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rr_policy_errors errs;
	rr_policy *p = NULL;
	size_t i, lines = 1;
	int r;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r';
	memset(&errs, 0, sizeof(errs));
	r = rr_policy_parse("fuzz.yaml", (const char *)data, size, &p, &errs);
	if (r == 0) {
		assert(p != NULL);
		assert(errs.n == 0);
		rr_policy_free(p);
	} else {
		assert(p == NULL);
		assert(errs.n <= RR_POLICY_MAX_ERRORS);
		for (i = 0; i < errs.n; i++) {
			const rr_policy_error *e = &errs.items[i];

			assert(memchr(e->message, '\0', sizeof(e->message)));
			/* within the input: lines are 1-based */
			assert(e->line <= lines + 1);
			/* sorted by line and column */
			if (i > 0)
				assert(errs.items[i - 1].line < e->line ||
				       (errs.items[i - 1].line == e->line &&
					errs.items[i - 1].column <= e->column));
		}
	}
	rr_policy_errors_clear(&errs);
	return 0;
}
