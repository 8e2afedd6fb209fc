/* EC key handles on OpenSSL 3 (EVP_PKEY only): generation, import, export, curve detection.
 * The private-key operations (sign, ECDH) of the OpenSSL backend are in ecdsa.c and ecka.c.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "key_impl.h"
#include "rsp/err.h"

const char *rsp_curve_group(enum rsp_curve c)
{
    switch (c) {
    case RSP_CURVE_NIST_P256:
        return "prime256v1";
    case RSP_CURVE_BRAINPOOL_P256R1:
        return "brainpoolP256r1";
    default:
        return NULL;
    }
}

/* Curve of an EVP_PKEY from its group name; RSP_CURVE_NONE for non-EC keys, explicit parameters
 * and every other curve. */
static enum rsp_curve pkey_curve(EVP_PKEY *pkey)
{
    char name[64];
    size_t n = 0;
    if (!EVP_PKEY_is_a(pkey, "EC"))
        return RSP_CURVE_NONE;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n))
        return RSP_CURVE_NONE;
    /* OpenSSL reports the NIST alias for some inputs. */
    if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0 ||
        strcmp(name, "secp256r1") == 0)
        return RSP_CURVE_NIST_P256;
    if (strcmp(name, "brainpoolP256r1") == 0)
        return RSP_CURVE_BRAINPOOL_P256R1;
    return RSP_CURVE_NONE;
}

/* Takes ownership of pkey (freed on failure). */
static int key_wrap(EVP_PKEY *pkey, bool priv, struct rsp_key **out)
{
    enum rsp_curve c = pkey_curve(pkey);
    if (c == RSP_CURVE_NONE) {
        EVP_PKEY_free(pkey);
        return RSP_ECURVE;
    }
    struct rsp_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return RSP_ENOMEM;
    }
    k->pkey = pkey;
    k->curve = c;
    k->ops = priv ? &rsp_key_soft_ops : NULL;
    *out = k;
    return 0;
}

void rsp_key_free(struct rsp_key *k)
{
    if (!k)
        return;
    if (k->ops && k->ops->free)
        k->ops->free(k);
    EVP_PKEY_free(k->pkey); /* OpenSSL clears the private scalar on free */
    free(k);
}

int rsp_key_generate(enum rsp_curve curve, struct rsp_key **out)
{
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    const char *group = rsp_curve_group(curve);
    if (!group)
        return RSP_ECURVE;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    if (!pkey) {
        ERR_clear_error();
        return RSP_ECRYPTO;
    }
    return key_wrap(pkey, true, out);
}

static bool looks_like_pem(const uint8_t *data, size_t len)
{
    /* Leading whitespace is tolerated; the first non-blank must start a PEM boundary. */
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    return len - i >= 5 && memcmp(data + i, "-----", 5) == 0;
}

static EVP_PKEY *decode_der(const uint8_t *data, size_t len, int selection)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, "EC", selection, NULL, NULL);
    if (!dctx)
        return NULL;
    const unsigned char *p = data;
    size_t n = len;
    if (!OSSL_DECODER_from_data(dctx, &p, &n) || n != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

int rsp_key_from_private(const uint8_t *data, size_t len, struct rsp_key **out)
{
    if (!out || !data || len == 0 || len > INT_MAX)
        return RSP_EINVAL;
    *out = NULL;
    EVP_PKEY *pkey = NULL;
    if (looks_like_pem(data, len)) {
        /* Skips other PEM blocks such as the "EC PARAMETERS" that precedes SGP.26 keys. */
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            return RSP_ENOMEM;
        pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        pkey = decode_der(data, len, OSSL_KEYMGMT_SELECT_KEYPAIR);
    }
    ERR_clear_error();
    if (!pkey)
        return RSP_EKEY;
    if (!EVP_PKEY_is_a(pkey, "EC")) {
        EVP_PKEY_free(pkey);
        return RSP_EKEY;
    }
    return key_wrap(pkey, true, out);
}

/* A public key per curve (its generator) that keys from points are copied from: EVP_PKEY_dup of
 * it plus the point is about a quarter of the cost of EVP_PKEY_fromdata, which sets the curve up
 * again for every key (measured with OpenSSL 3.0; four keys per download at the SM-DP+). Built
 * once, read-only afterwards. */
static EVP_PKEY *point_template[RSP_CURVE_BRAINPOOL_P256R1 + 1];
static pthread_once_t point_template_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *fromdata_point(const char *group, const uint8_t *pt, size_t len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static void point_template_init(void)
{
    const enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        const char *group = rsp_curve_group(curves[i]);
        EC_GROUP *g = EC_GROUP_new_by_curve_name(OBJ_txt2nid(group));
        uint8_t gen[RSP_EC_POINT_LEN];
        if (g && EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED,
                                    gen, sizeof gen, NULL) == sizeof gen)
            point_template[curves[i]] = fromdata_point(group, gen, sizeof gen);
        EC_GROUP_free(g);
    }
    ERR_clear_error();
}

int rsp_key_from_point(enum rsp_curve curve, const uint8_t *pt, size_t len, struct rsp_key **out)
{
    if (!out || !pt)
        return RSP_EINVAL;
    *out = NULL;
    const char *group = rsp_curve_group(curve);
    if (!group)
        return RSP_ECURVE;
    if (len != RSP_EC_POINT_LEN || pt[0] != 0x04)
        return RSP_EKEY;

    int ret = RSP_ECRYPTO;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *chk = NULL;
    pthread_once(&point_template_once, point_template_init);
    if (point_template[curve]) {
        pkey = EVP_PKEY_dup(point_template[curve]);
        if (!pkey)
            goto done;
        /* decodes the point and checks it is on the curve */
        if (EVP_PKEY_set1_encoded_public_key(pkey, pt, len) != 1) {
            ret = RSP_EKEY;
            goto done;
        }
    } else if ((pkey = fromdata_point(group, pt, len)) == NULL) {
        ret = RSP_EKEY; /* not a point on the curve */
        goto done;
    }
    /* Explicit partial public-key validation (SEC 1 §3.2.3.1: coordinates in range, point on the
     * curve, not the point at infinity). Both supported curves have cofactor 1, so the full check
     * (n*Q == O, one more scalar multiplication per ECKA) adds nothing. */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!chk)
        goto done;
    if (EVP_PKEY_public_check_quick(chk) != 1) {
        ret = RSP_EKEY;
        goto done;
    }
    ret = key_wrap(pkey, false, out);
    pkey = NULL;
done:
    ERR_clear_error();
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_free(pkey);
    return ret;
}

/* DER prefixes of a SubjectPublicKeyInfo with a named curve and an uncompressed point (the form
 * of every RSP certificate): SEQUENCE { SEQUENCE { id-ecPublicKey, curve OID }, BIT STRING 00 04
 * X Y }. Only the 65-byte point follows. */
static const uint8_t spki_p256[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                    0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48,
                                    0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
static const uint8_t spki_bp256[] = {0x30, 0x5A, 0x30, 0x14, 0x06, 0x07, 0x2A, 0x86, 0x48,
                                     0xCE, 0x3D, 0x02, 0x01, 0x06, 0x09, 0x2B, 0x24, 0x03,
                                     0x03, 0x02, 0x08, 0x01, 0x01, 0x07, 0x03, 0x42, 0x00};

int rsp_key_from_spki(const uint8_t *der, size_t len, struct rsp_key **out)
{
    if (!out || !der || len == 0)
        return RSP_EINVAL;
    *out = NULL;
    /* Fast path for the two named-curve forms: the same key as the decoder below gives (the point
     * is checked on the curve by rsp_key_from_point), without OpenSSL 3's decoder set-up, which
     * costs more than an ECDSA verification. */
    if (len == sizeof spki_p256 + RSP_EC_POINT_LEN && memcmp(der, spki_p256, sizeof spki_p256) == 0)
        return rsp_key_from_point(RSP_CURVE_NIST_P256, der + sizeof spki_p256, RSP_EC_POINT_LEN,
                                  out);
    if (len == sizeof spki_bp256 + RSP_EC_POINT_LEN &&
        memcmp(der, spki_bp256, sizeof spki_bp256) == 0)
        return rsp_key_from_point(RSP_CURVE_BRAINPOOL_P256R1, der + sizeof spki_bp256,
                                  RSP_EC_POINT_LEN, out);
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
        &pkey, "DER", "SubjectPublicKeyInfo", "EC", OSSL_KEYMGMT_SELECT_PUBLIC_KEY, NULL, NULL);
    if (!dctx)
        return RSP_ECRYPTO;
    const unsigned char *p = der;
    size_t n = len;
    int ok = OSSL_DECODER_from_data(dctx, &p, &n);
    OSSL_DECODER_CTX_free(dctx);
    ERR_clear_error();
    if (!ok || !pkey || n != 0) {
        EVP_PKEY_free(pkey);
        return RSP_EKEY;
    }
    return key_wrap(pkey, false, out);
}

enum rsp_curve rsp_key_curve(const struct rsp_key *k)
{
    return k ? k->curve : RSP_CURVE_NONE;
}

bool rsp_key_has_private(const struct rsp_key *k)
{
    return k && k->ops;
}

int rsp_key_point(const struct rsp_key *k, uint8_t out[RSP_EC_POINT_LEN])
{
    if (!k || !out)
        return RSP_EINVAL;
    /* Built from the affine coordinates so the result is uncompressed whatever form the key was
     * imported in. */
    BIGNUM *x = NULL, *y = NULL;
    int ret = RSP_ECRYPTO;
    if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
        goto done;
    out[0] = 0x04;
    if (BN_bn2binpad(x, out + 1, 32) != 32 || BN_bn2binpad(y, out + 33, 32) != 32)
        goto done;
    ret = 0;
done:
    ERR_clear_error();
    BN_free(x);
    BN_free(y);
    return ret;
}

/* Appends the whole content of a memory BIO to out. */
static int bio_drain(BIO *bio, struct rsp_buf *out)
{
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    if (n <= 0 || !p)
        return RSP_ECRYPTO;
    return rsp_buf_append(out, p, (size_t)n);
}

int rsp_key_export_private_pem(const struct rsp_key *k, struct rsp_buf *out)
{
    if (!k || !out)
        return RSP_EINVAL;
    if (!k->ops)
        return RSP_EKEY; /* public-only key */
    if (!k->ops->export_private_pem)
        return RSP_ESTATE; /* e.g. a key held in an HSM */
    return k->ops->export_private_pem(k, out);
}

int rsp_key_export_public_pem(const struct rsp_key *k, struct rsp_buf *out)
{
    if (!k || !out)
        return RSP_EINVAL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return RSP_ENOMEM;
    int ret = PEM_write_bio_PUBKEY(bio, k->pkey) ? bio_drain(bio, out) : RSP_ECRYPTO;
    BIO_free(bio);
    ERR_clear_error();
    return ret;
}

/* --- OpenSSL backend: private-key export (sign and ECDH are in ecdsa.c and ecka.c) ---------- */

static int soft_export_private_pem(const struct rsp_key *k, struct rsp_buf *out)
{
    /* Secure-heap BIO so the PEM is wiped when the BIO is freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    if (!bio)
        return RSP_ENOMEM;
    int ret = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL)
                  ? bio_drain(bio, out)
                  : RSP_ECRYPTO;
    BIO_free(bio);
    ERR_clear_error();
    return ret;
}

const struct rsp_key_ops rsp_key_soft_ops = {
    .name = "openssl",
    .sign_hash = rsp_soft_sign_hash,
    .ecdh = rsp_soft_ecdh,
    .export_private_pem = soft_export_private_pem,
    .free = NULL,
};

/* --- external backend (HSM): private operations through the caller's callbacks ------------- */

struct ext_state {
    const struct rsp_key_external_ops *ops;
    void *ctx;
};

static int ext_sign_hash(const struct rsp_key *k, const uint8_t hash[RSP_SHA256_LEN],
                         uint8_t sig[RSP_ECDSA_SIG_LEN])
{
    const struct ext_state *e = k->backend;
    return e->ops->sign_hash(e->ctx, hash, sig);
}

static int ext_ecdh(const struct rsp_key *k, EVP_PKEY *peer, uint8_t z[RSP_ECKA_Z_LEN])
{
    const struct ext_state *e = k->backend;
    if (!e->ops->ecdh)
        return RSP_EKEY;
    struct rsp_key tmp = {.ops = NULL, .pkey = peer, .curve = k->curve, .backend = NULL};
    uint8_t pt[RSP_EC_POINT_LEN];
    int rc = rsp_key_point(&tmp, pt);
    return rc ? rc : e->ops->ecdh(e->ctx, pt, z);
}

static void ext_free(struct rsp_key *k)
{
    struct ext_state *e = k->backend;
    if (e && e->ops->free)
        e->ops->free(e->ctx);
    free(e);
    k->backend = NULL;
}

static const struct rsp_key_ops ext_key_ops = {
    .name = "external",
    .sign_hash = ext_sign_hash,
    .ecdh = ext_ecdh,
    .export_private_pem = NULL,
    .free = ext_free,
};

int rsp_key_from_external(enum rsp_curve curve, const uint8_t pub[RSP_EC_POINT_LEN],
                          const struct rsp_key_external_ops *ops, void *ctx, struct rsp_key **out)
{
    if (!out || !pub || !ops || !ops->sign_hash)
        return RSP_EINVAL;
    *out = NULL;
    struct ext_state *e = calloc(1, sizeof *e);
    if (!e)
        return RSP_ENOMEM;
    struct rsp_key *k = NULL;
    int rc = rsp_key_from_point(curve, pub, RSP_EC_POINT_LEN, &k);
    if (rc) {
        free(e);
        return rc;
    }
    e->ops = ops;
    e->ctx = ctx;
    k->ops = &ext_key_ops;
    k->backend = e;
    *out = k;
    return 0;
}

const char *rsp_key_backend(const struct rsp_key *k)
{
    if (!k || !k->ops)
        return NULL;
    if (k->ops == &ext_key_ops)
        return ((const struct ext_state *)k->backend)->ops->name;
    return k->ops->name;
}
