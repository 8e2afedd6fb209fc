#include "rsp/buf.h"
#include "rsp/err.h"

#include <stdlib.h>
#include <string.h>

void rsp_buf_init(struct rsp_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void rsp_buf_free(struct rsp_buf *b)
{
    free(b->data);
    rsp_buf_init(b);
}

void rsp_memzero(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void rsp_buf_free_secure(struct rsp_buf *b)
{
    rsp_memzero(b->data, b->cap);
    rsp_buf_free(b);
}

void rsp_buf_reset(struct rsp_buf *b)
{
    b->len = 0;
    b->err = 0;
}

int rsp_buf_reserve(struct rsp_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->err = RSP_ENOMEM;
        return b->err;
    }
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    uint8_t *n = realloc(b->data, ncap);
    if (!n) {
        b->err = RSP_ENOMEM;
        return b->err;
    }
    b->data = n;
    b->cap = ncap;
    return 0;
}

int rsp_buf_append(struct rsp_buf *b, const void *p, size_t n)
{
    int rc = rsp_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int rsp_buf_append_byte(struct rsp_buf *b, uint8_t c)
{
    return rsp_buf_append(b, &c, 1);
}

int rsp_buf_insert(struct rsp_buf *b, size_t at, const void *p, size_t n)
{
    if (b->err)
        return b->err;
    if (at > b->len)
        return RSP_EINVAL;
    int rc = rsp_buf_reserve(b, n);
    if (rc)
        return rc;
    memmove(b->data + at + n, b->data + at, b->len - at);
    if (n)
        memcpy(b->data + at, p, n);
    b->len += n;
    return 0;
}

int rsp_buf_set(struct rsp_buf *b, const void *p, size_t n)
{
    rsp_buf_reset(b);
    return rsp_buf_append(b, p, n);
}

uint8_t *rsp_buf_steal(struct rsp_buf *b, size_t *len)
{
    uint8_t *d = b->data;
    if (len)
        *len = b->len;
    rsp_buf_init(b);
    return d;
}
