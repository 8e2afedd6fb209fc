/* ECKA-DH and the X9.63 key derivation of the BSP session keys (SGP.22 §2.6.4.x "Key
 * Agreement" / §5.5 ES8+.InitialiseSecureChannel; BSI TR-03111 §4.3.1 ECKA-DH, ANSI X9.63 KDF). */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "key_impl.h"
#include "rsp/err.h"

/* OpenSSL backend hook: plain ECDH, the shared secret is the x-coordinate, no hashing. */
int rsp_soft_ecdh(const struct rsp_key *k, EVP_PKEY *peer, uint8_t z[RSP_ECKA_Z_LEN])
{
    int ret = RSP_ECRYPTO;
    uint8_t tmp[66];
    size_t n = sizeof tmp;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
        EVP_PKEY_derive(ctx, tmp, &n) <= 0)
        goto done;
    if (n != RSP_ECKA_Z_LEN)
        goto done;
    memcpy(z, tmp, RSP_ECKA_Z_LEN);
    ret = 0;
done:
    OPENSSL_cleanse(tmp, sizeof tmp);
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

int rsp_ecka(const struct rsp_key *priv, const uint8_t *peer_pt, size_t peer_len,
             uint8_t z[RSP_ECKA_Z_LEN])
{
    if (!priv || !peer_pt || !z)
        return RSP_EINVAL;
    if (!priv->ops || !priv->ops->ecdh)
        return RSP_EKEY;
    struct rsp_key *peer = NULL;
    /* The peer point must be on our curve: rsp_key_from_point rejects anything else. */
    int ret = rsp_key_from_point(priv->curve, peer_pt, peer_len, &peer);
    if (ret == 0)
        ret = priv->ops->ecdh(priv, peer->pkey, z);
    rsp_key_free(peer);
    return ret;
}

int rsp_kdf_session_keys(const uint8_t z[RSP_ECKA_Z_LEN], uint8_t key_type, uint8_t key_len,
                         const uint8_t *host_id, size_t host_id_len, const uint8_t eid[16],
                         struct rsp_session_keys *out)
{
    if (!z || !host_id || !eid || !out)
        return RSP_EINVAL;
    /* hostId is OCTET STRING (SIZE(1..16)) in SGP.22; a single DER length byte then suffices. */
    if (host_id_len < 1 || host_id_len > 16)
        return RSP_ERANGE;

    /* SharedInfo = keyType || keyLength || L(hostId) || hostId || L(EID) || EID (§2.6.4.x,
     * sgp22-notes §5.3). */
    uint8_t shared[2 + 1 + 16 + 1 + 16];
    size_t sn = 0;
    shared[sn++] = key_type;
    shared[sn++] = key_len;
    shared[sn++] = (uint8_t)host_id_len;
    memcpy(shared + sn, host_id, host_id_len);
    sn += host_id_len;
    shared[sn++] = 16;
    memcpy(shared + sn, eid, 16);
    sn += 16;

    /* X9.63: K_i = SHA-256(Z || counter_i (32-bit BE, from 1) || SharedInfo); 2 blocks = 64 bytes,
     * of which the first 48 are MCV | S-ENC | S-MAC. */
    uint8_t kbuf[2 * RSP_SHA256_LEN];
    int ret = RSP_ECRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) {
        ret = RSP_ENOMEM;
        goto done;
    }
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t ctr[4] = {0, 0, 0, (uint8_t)i};
        if (EVP_DigestInit_ex2(md, EVP_sha256(), NULL) <= 0 ||
            EVP_DigestUpdate(md, z, RSP_ECKA_Z_LEN) <= 0 || EVP_DigestUpdate(md, ctr, 4) <= 0 ||
            EVP_DigestUpdate(md, shared, sn) <= 0 ||
            EVP_DigestFinal_ex(md, kbuf + (i - 1) * RSP_SHA256_LEN, NULL) <= 0)
            goto done;
    }
    memcpy(out->mcv, kbuf, 16);
    memcpy(out->s_enc, kbuf + 16, 16);
    memcpy(out->s_mac, kbuf + 32, 16);
    ret = 0;
done:
    OPENSSL_cleanse(kbuf, sizeof kbuf);
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    return ret;
}
