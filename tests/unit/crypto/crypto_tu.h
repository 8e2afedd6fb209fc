/* Helpers shared by the crypto tests. */
#ifndef CRYPTO_TU_H
#define CRYPTO_TU_H

#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "rsp/crypto.h"

/* DER bytes of the first PEM block labelled `label` in text[0..n) (fails the test if absent). */
static inline struct rsp_buf tu_pem_block(const uint8_t *text, size_t n, const char *label)
{
    char begin[80], end[80];
    snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
    snprintf(end, sizeof end, "-----END %s-----", label);
    struct rsp_buf s = RSP_BUF_INIT, b64 = RSP_BUF_INIT, der = RSP_BUF_INIT;
    rsp_buf_append(&s, text, n);
    rsp_buf_append_byte(&s, 0);
    assert_int_equal(s.err, 0);
    const char *p = strstr((const char *)s.data, begin);
    assert_non_null(p);
    p += strlen(begin);
    const char *e = strstr(p, end);
    assert_non_null(e);
    for (; p < e; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ')
            rsp_buf_append_byte(&b64, (uint8_t)*p);
    assert_int_equal(rsp_base64_decode(&der, (const char *)b64.data, b64.len), 0);
    rsp_buf_free(&b64);
    rsp_buf_free_secure(&s);
    return der;
}

/* Public key from a PEM "PUBLIC KEY" file under ../shared. */
static inline struct rsp_key *tu_load_pub(const char *rel)
{
    struct rsp_buf pem = tu_load(tu_shared_path(rel));
    struct rsp_buf der = tu_pem_block(pem.data, pem.len, "PUBLIC KEY");
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_from_spki(der.data, der.len, &k), 0);
    rsp_buf_free(&der);
    rsp_buf_free(&pem);
    return k;
}

/* Private key from a PEM file under ../shared. */
static inline struct rsp_key *tu_load_priv(const char *rel)
{
    struct rsp_buf pem = tu_load(tu_shared_path(rel));
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_from_private(pem.data, pem.len, &k), 0);
    rsp_buf_free_secure(&pem);
    return k;
}

#endif
