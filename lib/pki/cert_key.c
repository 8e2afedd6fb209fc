/* The subject public key of a certificate as a crypto-layer key. Kept apart from cert.c so that
 * programs that do not use it do not need the crypto layer linked in. */
#include <limits.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "cert_internal.h"

int rsp_cert_pubkey(const struct rsp_cert *c, struct rsp_key **out)
{
    if (!c || !out)
        return RSP_EINVAL;
    *out = NULL;
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(X509_get0_pubkey(rsp_cert_x509(c)), &spki);
    if (n <= 0)
        return RSP_ECERT;
    int rc = rsp_key_from_spki(spki, (size_t)n, out);
    OPENSSL_free(spki);
    return rc;
}
