/* BSP segment protection (ex-SCP03t), SGP.22 §2.5.4 / §2.6.4 (Bound Profile Package) and §5.5
 * (ES8+ functions), sgp22-notes §5.4–§5.8:
 *   - encryption (tags 86, 87): pad with 80 00.. to a multiple of 16 (at least one byte), then
 *     AES-128-CBC under S-ENC with IV = AES-ECB(S-ENC, 16-byte big-endian block counter);
 *   - C-MAC (all tags): full = AES-CMAC(S-MAC, MCV || tag || L || data), L being the DER length of
 *     the final value (data + 8); the segment ends in full[0..8) and full becomes the next MCV;
 *   - the block counter starts at 1 and advances once per segment, MAC-only (88) ones included.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

#define BLK     16
#define MAC_LEN 8

void rsp_bsp_init(struct rsp_bsp *s, const struct rsp_session_keys *keys)
{
    memcpy(s->enc, keys->s_enc, BLK);
    memcpy(s->mac, keys->s_mac, BLK);
    memcpy(s->mcv, keys->mcv, BLK);
    s->counter = 1;
}

/* Two-layer mode: after ReplaceSessionKeys (BF26) the 86 segments use the PPKs, the MCV of
 * BF26 and a block counter restarting at 1 (sgp22-notes §5.7). */
void rsp_bsp_replace_keys(struct rsp_bsp *s, const uint8_t ppk_enc[16], const uint8_t ppk_mac[16],
                          const uint8_t mcv[16])
{
    memcpy(s->enc, ppk_enc, BLK);
    memcpy(s->mac, ppk_mac, BLK);
    memcpy(s->mcv, mcv, BLK);
    s->counter = 1;
}

void rsp_bsp_wipe(struct rsp_bsp *s)
{
    if (s)
        rsp_memzero(s, sizeof *s);
}

/* AES-128 over whole blocks without padding: ECB when iv is NULL, otherwise CBC. */
static int aes128(const uint8_t key[BLK], const uint8_t *iv, int enc, const uint8_t *in, size_t n,
                  uint8_t *out)
{
    int ret = RSP_ECRYPTO;
    int l1 = 0, l2 = 0;
    if (n > (size_t)INT32_MAX || n % BLK)
        return RSP_EINVAL;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c)
        return RSP_ENOMEM;
    if (EVP_CipherInit_ex2(c, iv ? EVP_aes_128_cbc() : EVP_aes_128_ecb(), key, iv, enc, NULL) <=
            0 ||
        EVP_CIPHER_CTX_set_padding(c, 0) <= 0 || EVP_CipherUpdate(c, out, &l1, in, (int)n) <= 0 ||
        EVP_CipherFinal_ex(c, out + l1, &l2) <= 0 || (size_t)(l1 + l2) != n)
        goto done;
    ret = 0;
done:
    ERR_clear_error();
    EVP_CIPHER_CTX_free(c); /* clears the key schedule */
    return ret;
}

/* full = AES-CMAC(key, mcv || msg). */
static int cmac(const uint8_t key[BLK], const uint8_t mcv[BLK], const uint8_t *msg, size_t n,
                uint8_t full[BLK])
{
    int ret = RSP_ECRYPTO;
    size_t outl = 0;
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!ctx || EVP_MAC_init(ctx, key, BLK, params) <= 0 || EVP_MAC_update(ctx, mcv, BLK) <= 0 ||
        EVP_MAC_update(ctx, msg, n) <= 0 || EVP_MAC_final(ctx, full, &outl, BLK) <= 0 ||
        outl != BLK)
        goto done;
    ret = 0;
done:
    ERR_clear_error();
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ret;
}

/* IV = AES-ECB(S-ENC, counter as a 16-byte big-endian integer). */
static int make_iv(const struct rsp_bsp *s, uint8_t iv[BLK])
{
    uint8_t ctr[BLK] = {0};
    ctr[12] = (uint8_t)(s->counter >> 24);
    ctr[13] = (uint8_t)(s->counter >> 16);
    ctr[14] = (uint8_t)(s->counter >> 8);
    ctr[15] = (uint8_t)s->counter;
    return aes128(s->enc, NULL, 1, ctr, BLK, iv);
}

/* DER length bytes of v (v < 65536) into dst; returns their count. */
static size_t put_len(uint8_t *dst, size_t v)
{
    if (v < 0x80) {
        dst[0] = (uint8_t)v;
        return 1;
    }
    if (v < 0x100) {
        dst[0] = 0x81;
        dst[1] = (uint8_t)v;
        return 2;
    }
    dst[0] = 0x82;
    dst[1] = (uint8_t)(v >> 8);
    dst[2] = (uint8_t)v;
    return 3;
}

static bool tag_ok(uint8_t tag, bool encrypted)
{
    return encrypted ? (tag == 0x86 || tag == 0x87) : tag == 0x88;
}

int rsp_bsp_wrap(struct rsp_bsp *s, uint8_t tag, bool encrypt, const uint8_t *plain, size_t len,
                 struct rsp_buf *out)
{
    if (!s || (!plain && len) || !out || !tag_ok(tag, encrypt))
        return RSP_EINVAL;
    if (s->counter == 0)
        return RSP_ESTATE; /* not initialised, or the 32-bit counter is exhausted */
    if (len > RSP_BSP_MAX_SEGMENT)
        return RSP_ERANGE;
    size_t dlen = encrypt ? (len / BLK + 1) * BLK : len;
    uint8_t seg[RSP_BSP_MAX_SEGMENT];
    size_t h = 1 + put_len(seg + 1, dlen + MAC_LEN);
    if (h + dlen + MAC_LEN > RSP_BSP_MAX_SEGMENT)
        return RSP_ERANGE;
    seg[0] = tag;

    int ret;
    uint8_t full[BLK];
    if (encrypt) {
        uint8_t padded[RSP_BSP_MAX_SEGMENT];
        uint8_t iv[BLK];
        if (len)
            memcpy(padded, plain, len);
        padded[len] = 0x80;
        memset(padded + len + 1, 0, dlen - len - 1);
        ret = make_iv(s, iv);
        if (ret == 0)
            ret = aes128(s->enc, iv, 1, padded, dlen, seg + h);
        rsp_memzero(padded, dlen);
        rsp_memzero(iv, sizeof iv);
        if (ret)
            goto done;
    } else if (len) {
        memcpy(seg + h, plain, len);
    }
    ret = cmac(s->mac, s->mcv, seg, h + dlen, full);
    if (ret)
        goto done;
    memcpy(seg + h + dlen, full, MAC_LEN);
    ret = rsp_buf_append(out, seg, h + dlen + MAC_LEN);
    if (ret)
        goto done;
    memcpy(s->mcv, full, BLK);
    s->counter++;
done:
    rsp_memzero(full, sizeof full);
    rsp_memzero(seg, sizeof seg); /* holds plaintext for 88 segments */
    return ret;
}

/* Parses tag and DER length (1 to 3 bytes: short form, 81 xx, 82 xx xx; minimal only). */
static int parse_header(const uint8_t *p, size_t n, size_t *hdr, size_t *vlen)
{
    if (n < 2)
        return RSP_ETRUNC;
    uint8_t b = p[1];
    if (b < 0x80) {
        *hdr = 2;
        *vlen = b;
    } else if (b == 0x81) {
        if (n < 3)
            return RSP_ETRUNC;
        if (p[2] < 0x80)
            return RSP_EBADLEN;
        *hdr = 3;
        *vlen = p[2];
    } else if (b == 0x82) {
        if (n < 4)
            return RSP_ETRUNC;
        if (p[2] == 0)
            return RSP_EBADLEN;
        *hdr = 4;
        *vlen = ((size_t)p[2] << 8) | p[3];
    } else {
        return RSP_EBADLEN; /* indefinite, or longer than any segment can be */
    }
    return 0;
}

int rsp_bsp_unwrap(struct rsp_bsp *s, bool encrypted, const uint8_t *tlv, size_t tlv_len,
                   size_t max_len, struct rsp_buf *plain)
{
    if (!s || (!tlv && tlv_len) || !plain)
        return RSP_EINVAL;
    if (s->counter == 0)
        return RSP_ESTATE;
    if (tlv_len > max_len)
        return RSP_ERANGE;
    if (tlv_len < 1)
        return RSP_ETRUNC;
    if (!tag_ok(tlv[0], encrypted))
        return RSP_EUNEXPECTED;
    size_t h = 0, vlen = 0;
    int ret = parse_header(tlv, tlv_len, &h, &vlen);
    if (ret)
        return ret;
    if (tlv_len - h < vlen)
        return RSP_ETRUNC;
    if (tlv_len - h > vlen)
        return RSP_ETRAILING;
    if (vlen < MAC_LEN)
        return RSP_EBADLEN;
    size_t dlen = vlen - MAC_LEN;
    if (encrypted && (dlen == 0 || dlen % BLK))
        return RSP_EBADLEN;

    uint8_t full[BLK];
    uint8_t *dec = NULL;
    ret = cmac(s->mac, s->mcv, tlv, h + dlen, full);
    if (ret)
        goto done;
    /* §2.6.4: the MAC is checked before anything is decrypted; constant time. */
    if (CRYPTO_memcmp(full, tlv + h + dlen, MAC_LEN) != 0) {
        ret = RSP_EVERIFY;
        goto done;
    }
    if (!encrypted) {
        ret = rsp_buf_append(plain, tlv + h, dlen);
    } else {
        uint8_t iv[BLK];
        dec = malloc(dlen);
        if (!dec) {
            ret = RSP_ENOMEM;
            goto done;
        }
        ret = make_iv(s, iv);
        if (ret == 0)
            ret = aes128(s->enc, iv, 0, tlv + h, dlen, dec);
        rsp_memzero(iv, sizeof iv);
        if (ret)
            goto done;
        /* Strict padding: the last non-zero byte is 80 and lies in the final block. */
        size_t i = dlen;
        while (i > dlen - BLK && dec[i - 1] == 0x00)
            i--;
        if (i == dlen - BLK || dec[i - 1] != 0x80) {
            ret = RSP_EVERIFY;
            goto done;
        }
        ret = rsp_buf_append(plain, dec, i - 1);
    }
    if (ret)
        goto done;
    memcpy(s->mcv, full, BLK);
    s->counter++;
done:
    if (dec) {
        rsp_memzero(dec, dlen);
        free(dec);
    }
    rsp_memzero(full, sizeof full);
    return ret;
}
