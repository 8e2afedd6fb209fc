/* QR codes for activation codes: libqrencode for the symbol (error correction level M, 8-bit
 * mode, smallest version that fits), then three renderings. */
#include "rsp/qr.h"

#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

#define QUIET 4 /* modules of quiet zone (ISO/IEC 18004) */

static int encode(const char *text, QRcode **out)
{
    if (!text || !*text)
        return RSP_EINVAL;
    *out = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    return *out ? 0 : RSP_ENOMEM;
}

static int dark(const QRcode *q, int x, int y)
{
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[y * q->width + x] & 1;
}

int rsp_qr_terminal(FILE *f, const char *text)
{
    QRcode *q;
    int rc = encode(text, &q);
    if (rc)
        return rc;
    /* Upper half block for a dark top module, lower half for a dark bottom one, full block for
     * both; rendered inverted (light on dark) so it scans on dark terminals too. */
    static const char *const cell[4] = {"\u2588", "\u2584", "\u2580", " "};
    for (int y = -QUIET; y < q->width + QUIET; y += 2) {
        for (int x = -QUIET; x < q->width + QUIET; x++)
            fputs(cell[dark(q, x, y) << 1 | dark(q, x, y + 1)], f);
        fputc('\n', f);
    }
    QRcode_free(q);
    return ferror(f) ? RSP_EIO : 0;
}

int rsp_qr_svg(const char *text, unsigned module_px, struct rsp_buf *out)
{
    QRcode *q;
    int rc = encode(text, &q);
    if (rc)
        return rc;
    if (module_px == 0 || module_px > 64)
        module_px = 8;
    unsigned n = (unsigned)q->width + 2 * QUIET;
    char tmp[256];
    int len = snprintf(tmp, sizeof tmp,
                       "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\" "
                       "viewBox=\"0 0 %u %u\" shape-rendering=\"crispEdges\">\n"
                       "<rect width=\"%u\" height=\"%u\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
                       n * module_px, n * module_px, n, n, n, n);
    rsp_buf_append(out, tmp, (size_t)len);
    for (int y = 0; y < q->width; y++)
        for (int x = 0; x < q->width; x++)
            if (dark(q, x, y)) {
                len = snprintf(tmp, sizeof tmp, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
                rsp_buf_append(out, tmp, (size_t)len);
            }
    rsp_buf_append(out, "\"/>\n</svg>\n", 11);
    QRcode_free(q);
    return out->err;
}

static void png_write_buf(png_structp p, png_bytep data, png_size_t len)
{
    struct rsp_buf *b = png_get_io_ptr(p);
    rsp_buf_append(b, data, len);
}

static void png_flush_none(png_structp p)
{
    (void)p;
}

/* libpng reports errors by longjmp: nothing set before setjmp is modified after it. */
static int png_encode(const QRcode *q, const unsigned module_px, png_bytep const row,
                      struct rsp_buf *out)
{
    const unsigned side = ((unsigned)q->width + 2 * QUIET) * module_px;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!p || !info) {
        png_destroy_write_struct(&p, &info);
        return RSP_ENOMEM;
    }
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        return RSP_EIO;
    }
    png_set_write_fn(p, out, png_write_buf, png_flush_none);
    png_set_IHDR(p, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (unsigned py = 0; py < side; py++) {
        int y = (int)(py / module_px) - QUIET;
        for (unsigned px = 0; px < side; px++)
            row[px] = dark(q, (int)(px / module_px) - QUIET, y) ? 0x00 : 0xFF;
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    return out->err;
}

int rsp_qr_png(const char *text, unsigned module_px, struct rsp_buf *out)
{
    QRcode *q;
    int rc = encode(text, &q);
    if (rc)
        return rc;
    if (module_px == 0 || module_px > 64)
        module_px = 8;
    png_bytep row = malloc(((size_t)q->width + 2 * QUIET) * module_px);
    rc = row ? png_encode(q, module_px, row, out) : RSP_ENOMEM;
    free(row);
    QRcode_free(q);
    return rc;
}
