/* Internal to lib/pki: access to the OpenSSL object behind a struct rsp_cert. */
#ifndef RSP_PKI_CERT_INTERNAL_H
#define RSP_PKI_CERT_INTERNAL_H

#include <openssl/x509.h>

#include "rsp/cert.h"

/* The certificate's X509 (owned by the rsp_cert; do not free). */
X509 *rsp_cert_x509(const struct rsp_cert *c);

#endif
