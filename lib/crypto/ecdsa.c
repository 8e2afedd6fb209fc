/* ECDSA with SHA-256 and the BSI TR-03111 plain signature format (r||s, 32 bytes each) that
 * SGP.22 uses for every RSP-level signature (SGP.22 §2.6.5, sgp22-notes §4). OpenSSL speaks the
 * DER ECDSA-Sig-Value (X9.62 / RFC 3279 SEQUENCE { r INTEGER, s INTEGER }), hence the converters.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "key_impl.h"
#include "rsp/err.h"

#define SCALAR_LEN  32
#define MAX_DER_SIG (2 + 2 * (2 + SCALAR_LEN + 1)) /* 72: both INTEGERs with a 00 sign byte */

/* Appends INTEGER for the unsigned big-endian v[0..32): minimal, with a 00 byte before a set
 * high bit. */
static size_t put_integer(uint8_t *dst, const uint8_t *v)
{
    size_t i = 0;
    while (i < SCALAR_LEN - 1 && v[i] == 0)
        i++;
    size_t n = SCALAR_LEN - i;
    size_t pad = (v[i] & 0x80) ? 1 : 0;
    dst[0] = 0x02;
    dst[1] = (uint8_t)(n + pad);
    if (pad)
        dst[2] = 0x00;
    memcpy(dst + 2 + pad, v + i, n);
    return 2 + pad + n;
}

static size_t raw_to_der(const uint8_t sig[RSP_ECDSA_SIG_LEN], uint8_t der[MAX_DER_SIG])
{
    size_t n = 2;
    n += put_integer(der + n, sig);
    n += put_integer(der + n, sig + SCALAR_LEN);
    der[0] = 0x30;
    der[1] = (uint8_t)(n - 2); /* at most 70: always the short length form */
    return n;
}

int rsp_ecdsa_sig_to_der(const uint8_t sig[RSP_ECDSA_SIG_LEN], struct rsp_buf *der)
{
    if (!sig || !der)
        return RSP_EINVAL;
    uint8_t tmp[MAX_DER_SIG];
    size_t n = raw_to_der(sig, tmp);
    return rsp_buf_append(der, tmp, n);
}

/* Reads one DER INTEGER holding a non-negative value of at most 32 bytes into out[0..32),
 * left-padded with zeros. Strict DER: minimal length and minimal content. */
static int get_integer(const uint8_t **pp, const uint8_t *end, uint8_t out[SCALAR_LEN])
{
    const uint8_t *p = *pp;
    if (end - p < 2)
        return RSP_ETRUNC;
    if (p[0] != 0x02)
        return RSP_EUNEXPECTED;
    size_t n = p[1];
    if (n & 0x80)
        return RSP_EBADLEN; /* a valid scalar never needs a long-form length */
    p += 2;
    if ((size_t)(end - p) < n)
        return RSP_ETRUNC;
    if (n == 0)
        return RSP_EBADLEN;
    if (p[0] & 0x80)
        return RSP_ERANGE; /* negative */
    if (n > 1 && p[0] == 0x00 && !(p[1] & 0x80))
        return RSP_EBADLEN; /* non-minimal */
    const uint8_t *v = p;
    size_t vn = n;
    if (vn > 1 && v[0] == 0x00) {
        v++;
        vn--;
    }
    if (vn > SCALAR_LEN)
        return RSP_ERANGE;
    memset(out, 0, SCALAR_LEN - vn);
    memcpy(out + SCALAR_LEN - vn, v, vn);
    *pp = p + n;
    return 0;
}

int rsp_ecdsa_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    if (!der || !sig)
        return RSP_EINVAL;
    if (len < 2)
        return RSP_ETRUNC;
    if (der[0] != 0x30)
        return RSP_EUNEXPECTED;
    if (der[1] & 0x80)
        return RSP_EBADLEN; /* content is at most 70 bytes: short form only in DER */
    size_t n = der[1];
    if (len - 2 < n)
        return RSP_ETRUNC;
    if (len - 2 > n)
        return RSP_ETRAILING;
    const uint8_t *p = der + 2;
    const uint8_t *end = p + n;
    uint8_t tmp[RSP_ECDSA_SIG_LEN];
    int ret = get_integer(&p, end, tmp);
    if (ret == 0)
        ret = get_integer(&p, end, tmp + SCALAR_LEN);
    if (ret == 0 && p != end)
        ret = RSP_ETRAILING;
    if (ret == 0)
        memcpy(sig, tmp, sizeof tmp);
    return ret;
}

/* OpenSSL backend hook: signs a SHA-256 digest with the soft private key. */
int rsp_soft_sign_hash(const struct rsp_key *k, const uint8_t hash[RSP_SHA256_LEN],
                       uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    uint8_t der[MAX_DER_SIG + 8];
    size_t der_len = sizeof der;
    int ret = RSP_ECRYPTO;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_sign(ctx, der, &der_len, hash, RSP_SHA256_LEN) <= 0)
        goto done;
    ret = rsp_ecdsa_sig_from_der(der, der_len, sig) == 0 ? 0 : RSP_ECRYPTO;
done:
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

int rsp_ecdsa_sign(const struct rsp_key *k, const void *msg, size_t len,
                   uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    if (!k || (!msg && len) || !sig)
        return RSP_EINVAL;
    if (!k->ops || !k->ops->sign_hash)
        return RSP_EKEY; /* public-only key */
    uint8_t hash[RSP_SHA256_LEN];
    int ret = rsp_sha256(msg, len, hash);
    if (ret == 0)
        ret = k->ops->sign_hash(k, hash, sig);
    return ret;
}

int rsp_ecdsa_verify(const struct rsp_key *pub, const void *msg, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
    if (!pub || (!msg && len) || !sig)
        return RSP_EINVAL;
    if (sig_len != RSP_ECDSA_SIG_LEN)
        return RSP_EBADLEN;
    uint8_t der[MAX_DER_SIG];
    size_t der_len = raw_to_der(sig, der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return RSP_ENOMEM;
    int ret = RSP_ECRYPTO;
    if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub->pkey, NULL) > 0) {
        /* 1: valid; 0: invalid. r or s of zero or >= n also end up as "invalid". */
        int rc = EVP_DigestVerify(md, der, der_len, msg ? msg : (const void *)"", len);
        ret = rc == 1 ? 0 : (rc == 0 ? RSP_EVERIFY : RSP_ECRYPTO);
    }
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    return ret;
}
