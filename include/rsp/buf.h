/* rsp_buf: the one growable byte buffer used everywhere.
 *
 * Ownership: the struct owns `data`; rsp_buf_free() releases it (rsp_buf_free_secure() wipes it
 * first, for key material). Errors are sticky: after a failed allocation every further append is a
 * no-op and `err` stays negative, so a writer can build a whole message and check once.
 */
#ifndef RSP_BUF_H
#define RSP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rsp_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int err; /* 0, or the first RSP_E* that happened */
};

#define RSP_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void rsp_buf_init(struct rsp_buf *b);
void rsp_buf_free(struct rsp_buf *b);
/* Wipes the allocated bytes before freeing them. */
void rsp_buf_free_secure(struct rsp_buf *b);
/* Keeps the allocation, forgets the contents and the sticky error. */
void rsp_buf_reset(struct rsp_buf *b);
/* Makes room for `extra` more bytes; 0 or RSP_ENOMEM (also stored in b->err). */
int rsp_buf_reserve(struct rsp_buf *b, size_t extra);
int rsp_buf_append(struct rsp_buf *b, const void *p, size_t n);
int rsp_buf_append_byte(struct rsp_buf *b, uint8_t c);
/* Inserts n bytes at offset `at` (at <= len), moving the tail. */
int rsp_buf_insert(struct rsp_buf *b, size_t at, const void *p, size_t n);
/* Replaces the contents with a copy of p[0..n). */
int rsp_buf_set(struct rsp_buf *b, const void *p, size_t n);
/* Hands the allocation to the caller (free() it); the buffer becomes empty. */
uint8_t *rsp_buf_steal(struct rsp_buf *b, size_t *len);

/* Hex and base64 helpers (pure). */
/* Appends the lower-case (upper if `upper`) hex form of p[0..n) to b (no NUL terminator). */
int rsp_hex_encode(struct rsp_buf *b, const uint8_t *p, size_t n, int upper);
/* Writes a NUL-terminated hex string of p[0..n) into out (size >= 2n+1). */
void rsp_hex_str(char *out, const uint8_t *p, size_t n, int upper);
/* Decodes hex (either case, no separators) and appends the bytes to b; RSP_ESYNTAX on bad input. */
int rsp_hex_decode(struct rsp_buf *b, const char *hex, size_t len);
/* Standard base64 with padding (RFC 4648 section 4). */
int rsp_base64_encode(struct rsp_buf *b, const uint8_t *p, size_t n);
/* Strict decode: padding required, no whitespace, canonical trailing bits. */
int rsp_base64_decode(struct rsp_buf *b, const char *s, size_t len);

/* Overwrites n bytes with zeros in a way the compiler does not remove. */
void rsp_memzero(void *p, size_t n);

#endif
