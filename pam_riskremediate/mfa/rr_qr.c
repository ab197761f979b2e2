/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QR codes drawn in a terminal with UTF-8 half blocks, two module rows per
 * text line.  Terminals mostly draw light text on a dark background, so the
 * light modules and the quiet zone are drawn as blocks ("ink") and the dark
 * modules are left as spaces: on screen the code is dark on light.
 */
#include "rr_mfa.h"
#include "rr_lazylib.h"

#include <errno.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define QR_QUIET 2       /* modules of quiet zone on every side */
#define QR_TEXT_MAX 1024 /* bytes of text we encode */
#define QR_CELL_MAX 3    /* bytes of one UTF-8 cell */

static const char *const qr_cells[4] = {
    " ",            /* neither half lit */
    "\xe2\x96\x80", /* upper half block */
    "\xe2\x96\x84", /* lower half block */
    "\xe2\x96\x88", /* full block */
};

/* True when module (x, y) of the padded picture is drawn as ink (light). */
static bool lit(const QRcode *qr, int x, int y)
{
	int size = qr->width + 2 * QR_QUIET;

	if (x < 0 || y < 0 || x >= size || y >= size)
		return false;
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
		return true;
	return !(qr->data[y * qr->width + x] & 1);
}

static char *draw(const QRcode *qr)
{
	int size = qr->width + 2 * QR_QUIET, lines = (size + 1) / 2, x, y;
	char *buf, *d;

	buf = malloc((size_t)lines * ((size_t)size * QR_CELL_MAX + 1) + 1);
	if (!buf)
		return NULL;
	d = buf;
	for (y = 0; y < size; y += 2) {
		for (x = 0; x < size; x++) {
			int cell = lit(qr, x, y) | lit(qr, x, y + 1) << 1;

			d = stpcpy(d, qr_cells[cell]);
		}
		*d++ = '\n';
	}
	*d = '\0';
	return buf;
}

/* libqrencode, loaded at the first registration (rr_lazylib.h) */
static const char *const qr_names[] = {"QRcode_encodeString8bit",
				       "QRcode_free"};
static rr_fn qr_fns[2];
static rr_lazylib qr_lib = RR_LAZYLIB("libqrencode.so.4", qr_names, qr_fns);
/* typed from the library's own prototypes (not evaluated: no reference) */
#define QR_ENCODE ((__typeof__(&QRcode_encodeString8bit))qr_fns[0])
#define QR_FREE ((__typeof__(&QRcode_free))qr_fns[1])

int rr_qr_render(const char *text, char **out)
{
	QRcode *qr;
	size_t len;
	char *s;
	int r;

	if (!text || !out)
		return -EINVAL;
	len = strnlen(text, QR_TEXT_MAX + 1);
	if (len == 0 || len > QR_TEXT_MAX)
		return -EINVAL;
	r = rr_lazylib_ready(&qr_lib);
	if (r < 0)
		return r;
	qr = QR_ENCODE(text, 0, QR_ECLEVEL_M);
	if (!qr)
		return errno > 0 ? -errno : -ENOMEM;
	s = draw(qr);
	/* the modules spell out the text, which usually holds a secret */
	sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
	QR_FREE(qr);
	if (!s)
		return -ENOMEM;
	*out = s;
	return 0;
}
