/* Hex and base64 (RFC 4648) encoders and strict decoders. */
#include "rsp/buf.h"
#include "rsp/err.h"

#include <string.h>

static const char hex_lc[] = "0123456789abcdef";
static const char hex_uc[] = "0123456789ABCDEF";

int rsp_hex_encode(struct rsp_buf *b, const uint8_t *p, size_t n, int upper)
{
    const char *digits = upper ? hex_uc : hex_lc;
    if (n > SIZE_MAX / 4)
        return RSP_EINVAL;
    int rc = rsp_buf_reserve(b, 2 * n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        b->data[b->len++] = (uint8_t)digits[p[i] >> 4];
        b->data[b->len++] = (uint8_t)digits[p[i] & 15];
    }
    return 0;
}

void rsp_hex_str(char *out, const uint8_t *p, size_t n, int upper)
{
    const char *digits = upper ? hex_uc : hex_lc;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rsp_hex_decode(struct rsp_buf *b, const char *hex, size_t len)
{
    if (len % 2)
        return RSP_ESYNTAX;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0)
            return RSP_ESYNTAX;
    }
    int rc = rsp_buf_reserve(b, len / 2);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i += 2)
        b->data[b->len++] = (uint8_t)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
    return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int rsp_base64_encode(struct rsp_buf *b, const uint8_t *p, size_t n)
{
    if (n > SIZE_MAX / 2)
        return RSP_EINVAL;
    if (n == 0)
        return b->err; /* nothing to write; b->data may still be NULL */
    int rc = rsp_buf_reserve(b, (n + 2) / 3 * 4);
    if (rc)
        return rc;
    uint8_t *o = b->data + b->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63];
        *o++ = (uint8_t)b64[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = (uint8_t)b64[v >> 18];
        *o++ = (uint8_t)b64[(v >> 12) & 63];
        *o++ = (uint8_t)b64[(v >> 6) & 63];
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    return 0;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int rsp_base64_decode(struct rsp_buf *b, const char *s, size_t len)
{
    if (len % 4)
        return RSP_ESYNTAX;
    size_t start = b->len;
    int rc = rsp_buf_reserve(b, len / 4 * 3);
    if (rc)
        return rc;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad) {
                goto bad; /* data after '=' */
            } else if ((v[k] = b64val(c)) < 0) {
                goto bad;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical form: the bits dropped by padding must be zero. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            goto bad;
        b->data[b->len++] = (uint8_t)(w >> 16);
        if (pad < 2)
            b->data[b->len++] = (uint8_t)(w >> 8);
        if (pad < 1)
            b->data[b->len++] = (uint8_t)w;
    }
    return 0;
bad:
    b->len = start;
    return RSP_ESYNTAX;
}
