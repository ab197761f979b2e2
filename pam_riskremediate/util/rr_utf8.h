/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One UTF-8 decoder for the places that check or escape text: the module's
 * user-name check (rr_assess.c) and riskctl's JSON output (json.c).
 */
#ifndef RR_UTF8_H
#define RR_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1..4) of the valid UTF-8 sequence at s (at most `left`
 * bytes, left >= 1) and its code point in *cp; 0 when it is not valid
 * UTF-8 (a stray continuation byte, a truncated sequence, an overlong
 * form, a surrogate or beyond U+10FFFF).
 */
static inline size_t rr_utf8_decode(const unsigned char *s, size_t left,
				    uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

#endif
