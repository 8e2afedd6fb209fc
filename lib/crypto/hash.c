/* SHA-256, HMAC-SHA-256, the CSPRNG and curve names. */
#include <limits.h>
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

const char *rsp_curve_name(enum rsp_curve c)
{
    switch (c) {
    case RSP_CURVE_NIST_P256:
        return "nist";
    case RSP_CURVE_BRAINPOOL_P256R1:
        return "brainpool";
    default:
        return NULL;
    }
}

/* SHA-256 fetched from the default provider once per process: EVP_sha256() makes EVP_Digest
 * fetch the implementation again on every call (a lock and a table lookup in OpenSSL 3), which
 * showed in the profile of the inventory import (several digests per profile). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int rsp_sha256(const void *p, size_t n, uint8_t out[RSP_SHA256_LEN])
{
    if ((!p && n) || !out)
        return RSP_EINVAL;
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int len = 0;
    const EVP_MD *md = sha256_md ? sha256_md : EVP_sha256();
    if (EVP_Digest(p ? p : (const void *)"", n, out, &len, md, NULL) <= 0 ||
        len != RSP_SHA256_LEN) {
        ERR_clear_error();
        return RSP_ECRYPTO;
    }
    return 0;
}

int rsp_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t n,
                    uint8_t out[RSP_SHA256_LEN])
{
    if (!key || key_len == 0 || key_len > 1024 || (!msg && n) || !out)
        return RSP_EINVAL;
    size_t len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, msg ? msg : (const void *)"",
                   n, out, RSP_SHA256_LEN, &len) ||
        len != RSP_SHA256_LEN) {
        ERR_clear_error();
        return RSP_ECRYPTO;
    }
    return 0;
}

int rsp_random(void *out, size_t n)
{
    if (!out && n)
        return RSP_EINVAL;
    unsigned char *p = out;
    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            ERR_clear_error();
            return RSP_ECRYPTO;
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    return 0;
}
