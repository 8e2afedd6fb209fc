/* RSP cryptography on OpenSSL 3 (EVP only): ECDSA in BSI TR-03111 form, ECKA, X9.63 KDF and the
 * BSP (ex-SCP03t) segment protection of SGP.22 section 2.6.4 / 5.5. Both NIST P-256 and
 * brainpoolP256r1.
 *
 * Keys are opaque handles (struct rsp_key) so that a private key may live in an HSM (PKCS#11,
 * rsp_key_from_external below; src/hsm implements it): callers only sign, derive and export
 * public points through this API.
 */
#ifndef RSP_CRYPTO_H
#define RSP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

enum rsp_curve {
    RSP_CURVE_NONE = 0,
    RSP_CURVE_NIST_P256 = 1,       /* prime256v1 / secp256r1 */
    RSP_CURVE_BRAINPOOL_P256R1 = 2 /* brainpoolP256r1 */
};

#define RSP_ECDSA_SIG_LEN 64 /* r || s, 32 bytes each */
#define RSP_EC_POINT_LEN  65 /* 04 || X || Y */
#define RSP_ECKA_Z_LEN    32
#define RSP_SHA256_LEN    32

/* "nist" / "brainpool"-style names for logs and options; NULL for RSP_CURVE_NONE. */
const char *rsp_curve_name(enum rsp_curve c);

int rsp_sha256(const void *p, size_t n, uint8_t out[RSP_SHA256_LEN]);
/* HMAC-SHA-256 (RFC 2104) of msg under key (key_len 1..1024 bytes, else RSP_EINVAL). */
int rsp_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n,
                    uint8_t out[RSP_SHA256_LEN]);
/* Cryptographically secure random bytes. */
int rsp_random(void *out, size_t n);

/* --- keys ------------------------------------------------------------------------------- */
struct rsp_key;

void rsp_key_free(struct rsp_key *k);
/* New ephemeral key pair on `curve` (e.g. otSK/otPK for ECKA). */
int rsp_key_generate(enum rsp_curve curve, struct rsp_key **out);
/* Private key from PEM or DER bytes (PKCS#8 or SEC1 "EC PRIVATE KEY"); other PEM blocks before
 * the key (such as "EC PARAMETERS") are skipped. RSP_EKEY if unparsable or not EC, RSP_ECURVE for
 * a curve other than the two above. */
int rsp_key_from_private(const uint8_t *data, size_t len, struct rsp_key **out);
/* Public key from an uncompressed point 04||X||Y on `curve`; RSP_EKEY if not on the curve. */
int rsp_key_from_point(enum rsp_curve curve, const uint8_t *pt, size_t len, struct rsp_key **out);
/* Public key from a DER SubjectPublicKeyInfo (exactly `len` bytes); RSP_EKEY / RSP_ECURVE. */
int rsp_key_from_spki(const uint8_t *der, size_t len, struct rsp_key **out);
enum rsp_curve rsp_key_curve(const struct rsp_key *k);
bool rsp_key_has_private(const struct rsp_key *k);
/* Uncompressed public point 04||X||Y. */
int rsp_key_point(const struct rsp_key *k, uint8_t out[RSP_EC_POINT_LEN]);
/* Private key as PKCS#8 PEM, appended to out (test PKI generation only; free `out` with
 * rsp_buf_free_secure). RSP_EKEY for a public-only key, RSP_ESTATE for keys held in an HSM. */
int rsp_key_export_private_pem(const struct rsp_key *k, struct rsp_buf *out);
int rsp_key_export_public_pem(const struct rsp_key *k, struct rsp_buf *out);

/* A private key held outside this process (an HSM through PKCS#11, src/hsm): the public point
 * is known here, the private operations are callbacks. `sign_hash` signs a SHA-256 digest and
 * writes TR-03111 r||s; `ecdh` (may be NULL: such a key cannot do ECKA, RSP_EKEY) writes the
 * x-coordinate of priv * peer for an uncompressed peer point; `free` (may be NULL) releases ctx
 * when the key is freed. The key cannot be exported (RSP_ESTATE). On failure ctx is not freed. */
struct rsp_key_external_ops {
    const char *name;
    int (*sign_hash)(void *ctx, const uint8_t hash[RSP_SHA256_LEN], uint8_t sig[RSP_ECDSA_SIG_LEN]);
    int (*ecdh)(void *ctx, const uint8_t peer_pt[RSP_EC_POINT_LEN], uint8_t z[RSP_ECKA_Z_LEN]);
    void (*free)(void *ctx);
};
int rsp_key_from_external(enum rsp_curve curve, const uint8_t pub[RSP_EC_POINT_LEN],
                          const struct rsp_key_external_ops *ops, void *ctx, struct rsp_key **out);
/* The backend name: "openssl" for keys held in memory, the external ops' name otherwise, NULL for
 * a public-only key. */
const char *rsp_key_backend(const struct rsp_key *k);

/* --- ECDSA (SHA-256) --------------------------------------------------------------------- */
/* Signs SHA-256(msg) and writes the TR-03111 r||s form; RSP_EKEY for a public-only key. */
int rsp_ecdsa_sign(const struct rsp_key *k, const void *msg, size_t len,
                   uint8_t sig[RSP_ECDSA_SIG_LEN]);
/* 0 if the r||s signature verifies, RSP_EVERIFY if not (including r or s zero or >= n),
 * RSP_EBADLEN if sig_len is not 64, other negatives on failure. */
int rsp_ecdsa_verify(const struct rsp_key *pub, const void *msg, size_t len, const uint8_t *sig,
                     size_t sig_len);
/* Conversions between TR-03111 r||s and the DER ECDSA-Sig-Value (SEQUENCE { r, s }). */
int rsp_ecdsa_sig_to_der(const uint8_t sig[RSP_ECDSA_SIG_LEN], struct rsp_buf *der);
int rsp_ecdsa_sig_from_der(const uint8_t *der, size_t len, uint8_t sig[RSP_ECDSA_SIG_LEN]);

/* --- ECKA + KDF ------------------------------------------------------------------------- */
/* ECKA-DH: the x-coordinate of priv * peer, 32 bytes, no hashing. The peer point must be an
 * uncompressed point on priv's curve (RSP_EKEY otherwise); RSP_EKEY for a public-only key. */
int rsp_ecka(const struct rsp_key *priv, const uint8_t *peer_pt, size_t peer_len,
             uint8_t z[RSP_ECKA_Z_LEN]);

struct rsp_session_keys {
    uint8_t mcv[16];   /* initial MAC chaining value */
    uint8_t s_enc[16]; /* S-ENC */
    uint8_t s_mac[16]; /* S-MAC */
};

/* X9.63 KDF with SHA-256 over Z and SharedInfo = keyType || keyLen || L(hostId) || hostId ||
 * L(EID) || EID; output split as MCV | S-ENC | S-MAC. */
int rsp_kdf_session_keys(const uint8_t z[RSP_ECKA_Z_LEN], uint8_t key_type, uint8_t key_len,
                         const uint8_t *host_id, size_t host_id_len, const uint8_t eid[16],
                         struct rsp_session_keys *out);

/* --- BSP segment protection -------------------------------------------------------------- */
#define RSP_BSP_MAX_SEGMENT   1020 /* whole TLV, SGP.22 limit */
#define RSP_BSP_MAX_PLAIN_ENC 1007 /* plaintext per encrypted segment */
#define RSP_BSP_MAX_PLAIN_MAC 1008 /* data per MAC-only segment */

struct rsp_bsp {
    uint8_t enc[16];
    uint8_t mac[16];
    uint8_t mcv[16];
    uint32_t counter; /* block counter of the next segment, starts at 1 */
};

void rsp_bsp_init(struct rsp_bsp *s, const struct rsp_session_keys *keys);
/* Switches to the PPKs of ReplaceSessionKeys (two-layer mode): counter reset to 1. */
void rsp_bsp_replace_keys(struct rsp_bsp *s, const uint8_t ppk_enc[16], const uint8_t ppk_mac[16],
                          const uint8_t mcv[16]);
void rsp_bsp_wipe(struct rsp_bsp *s);
/* Protects one segment and appends tag || L || data || MAC8. `encrypt` selects 86/87 (encrypt +
 * MAC) versus 88 (MAC only); a tag that does not fit the mode is RSP_EINVAL. RSP_ERANGE if the
 * result would exceed RSP_BSP_MAX_SEGMENT; RSP_ESTATE once the 32-bit counter is exhausted. On
 * success the MCV and the counter advance; on any failure neither the state nor `out` changes. */
int rsp_bsp_wrap(struct rsp_bsp *s, uint8_t tag, bool encrypt, const uint8_t *plain, size_t len,
                 struct rsp_buf *out);
/* Verifies one received segment (a whole TLV) and appends its plaintext to `plain`. On a MAC or
 * padding failure returns RSP_EVERIFY and leaves the state (counter, MCV) unchanged. `max_len`
 * bounds the accepted TLV size (RSP_BSP_MAX_SEGMENT, or larger for tolerant peers such as
 * osmo-smdpp's 1036-byte segments). Other refusals, all leaving state and `plain` unchanged:
 * RSP_ERANGE (tlv_len > max_len), RSP_EUNEXPECTED (tag not 86/87 when `encrypted`, not 88
 * otherwise), RSP_ETRUNC / RSP_ETRAILING (TLV length versus tlv_len), RSP_EBADLEN (non-minimal or
 * >3-byte length, value shorter than the MAC, ciphertext not whole blocks). The MAC is compared in
 * constant time before anything is decrypted. */
int rsp_bsp_unwrap(struct rsp_bsp *s, bool encrypted, const uint8_t *tlv, size_t tlv_len,
                   size_t max_len, struct rsp_buf *plain);

#endif
