/* Internal view of struct rsp_key, shared by key.c, ecdsa.c and ecka.c only.
 *
 * A key always carries its public half as an OpenSSL EVP_PKEY (verification and point export
 * never need the backend). Operations that use the private half go through `ops`, so that a
 * PKCS#11 backend can later hold the private key in an HSM and implement only these hooks.
 */
#ifndef RSP_CRYPTO_KEY_IMPL_H
#define RSP_CRYPTO_KEY_IMPL_H

#include <openssl/evp.h>

#include "rsp/crypto.h"

struct rsp_key_ops {
    const char *name;
    /* ECDSA over an already computed SHA-256 digest; writes TR-03111 r||s. */
    int (*sign_hash)(const struct rsp_key *k, const uint8_t hash[RSP_SHA256_LEN],
                     uint8_t sig[RSP_ECDSA_SIG_LEN]);
    /* ECDH with `peer` (a public key on the same curve): x-coordinate of the shared point. */
    int (*ecdh)(const struct rsp_key *k, EVP_PKEY *peer, uint8_t z[RSP_ECKA_Z_LEN]);
    /* PKCS#8 PEM of the private key, appended to out; NULL if the backend cannot export. */
    int (*export_private_pem)(const struct rsp_key *k, struct rsp_buf *out);
    /* Releases backend state (not `pub`, which key.c owns). May be NULL. */
    void (*free)(struct rsp_key *k);
};

struct rsp_key {
    const struct rsp_key_ops *ops; /* NULL for a public-only key */
    EVP_PKEY *pkey; /* public half always; the private half too for the soft backend */
    enum rsp_curve curve;
    void *backend; /* backend-specific state (unused by the OpenSSL backend) */
};

/* OpenSSL group name of a supported curve ("prime256v1", "brainpoolP256r1"), or NULL. */
const char *rsp_curve_group(enum rsp_curve c);
/* The OpenSSL ("soft") backend; key.c creates keys with it. */
extern const struct rsp_key_ops rsp_key_soft_ops;
/* Its private-key hooks, defined in ecdsa.c and ecka.c. */
int rsp_soft_sign_hash(const struct rsp_key *k, const uint8_t hash[RSP_SHA256_LEN],
                       uint8_t sig[RSP_ECDSA_SIG_LEN]);
int rsp_soft_ecdh(const struct rsp_key *k, EVP_PKEY *peer, uint8_t z[RSP_ECKA_Z_LEN]);

#endif
