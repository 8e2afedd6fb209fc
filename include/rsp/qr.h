/* QR codes of activation codes (SGP.22 §4.1: "LPA:1$..." in a QR code), on libqrencode: a
 * terminal rendering, SVG and PNG (libpng). Program-layer helper (src/ops). */
#ifndef RSP_QR_H
#define RSP_QR_H

#include <stdio.h>

#include "rsp/buf.h"

/* Writes the QR code of `text` to f with Unicode half blocks (two modules per character row),
 * dark modules as the terminal's foreground on a light quiet zone of 4 modules. */
int rsp_qr_terminal(FILE *f, const char *text);
/* SVG document (one path, `module_px` pixels per module, 4-module quiet zone) appended to out. */
int rsp_qr_svg(const char *text, unsigned module_px, struct rsp_buf *out);
/* 8-bit grayscale PNG appended to out. */
int rsp_qr_png(const char *text, unsigned module_px, struct rsp_buf *out);

#endif
