/* Test-PKI generator: an SGP.26-shaped certificate set (CI, EUM, eUICC, DPauth, DPpb, DPtls) per
 * curve, generated in memory (no file I/O; `rspctl pki init` writes the files).
 *
 * FOR TESTS AND LABS ONLY: the private keys are produced in software and handed out as PEM.
 * Certificate profiles follow SGP.22 v2.2 section 4.5.2.1 and mirror the extensions of the SGP.26
 * test certificates.
 */
#ifndef RSP_PKI_H
#define RSP_PKI_H

#include <stddef.h>
#include <time.h>

#include "rsp/buf.h"
#include "rsp/cert.h"
#include "rsp/crypto.h"

#define RSP_PKI_DEFAULT_SMDP_HOST "testsmdpplus1.example.com"
#define RSP_PKI_DEFAULT_SMDP_OID  "2.999.10"
#define RSP_PKI_DEFAULT_EID       "89049032123451234512345678901235" /* SGP.26 test EID */
#define RSP_PKI_DEFAULT_EUM_IIN   "89049032"
#define RSP_PKI_DEFAULT_DAYS      3650
#define RSP_PKI_CI_OID            "2.999.1" /* CI registeredID, as in SGP.26 */
#define RSP_PKI_EUM_OID           "2.999.5" /* EUM registeredID, as in SGP.26 */

/* Curve selection bits. */
#define RSP_PKI_NIST 1u
#define RSP_PKI_BRP  2u
#define RSP_PKI_BOTH (RSP_PKI_NIST | RSP_PKI_BRP)

enum rsp_pki_role {
    RSP_PKI_CI = 0,
    RSP_PKI_EUM,
    RSP_PKI_EUICC,
    RSP_PKI_DPAUTH,
    RSP_PKI_DPPB,
    RSP_PKI_DPTLS,
    RSP_PKI_NROLES
};

struct rsp_pki_opts {
    unsigned curves;       /* RSP_PKI_NIST and/or RSP_PKI_BRP */
    const char *smdp_host; /* dNSName of the DPtls certificate */
    const char *smdp_oid;  /* SM-DP+ OID, registeredID of the DP certificates */
    const char *eid;       /* 32 digits, subject serialNumber of the eUICC certificate */
    const char *eum_iin;   /* permitted IIN of the EUM (digits) */
    unsigned days;         /* validity of every certificate, from not_before */
    time_t not_before;     /* start of validity; 0 = now */
};

struct rsp_pki_item {
    struct rsp_buf cert_der; /* the certificate, DER */
    struct rsp_buf key_pem;  /* its private key, PKCS#8 PEM (wiped on free) */
};

struct rsp_pki_set {
    enum rsp_curve curve;
    struct rsp_pki_item item[RSP_PKI_NROLES];
};

struct rsp_pki {
    size_t n; /* number of sets (curves) */
    struct rsp_pki_set set[2];
};

/* Fills the defaults above (both curves, not_before = 0 meaning now). */
void rsp_pki_opts_default(struct rsp_pki_opts *o);
/* Generates the whole set. RSP_EINVAL/RSP_ESYNTAX for bad options (EID not 32 digits, bad OID,
 * host name or IIN), RSP_ECRYPTO if OpenSSL fails. On failure *out is left empty. */
int rsp_pki_generate(const struct rsp_pki_opts *o, struct rsp_pki *out);
/* Frees every buffer, wiping the private keys. */
void rsp_pki_free(struct rsp_pki *p);

/* File stem of a role: "ci", "eum", "euicc", "dpauth", "dppb", "dptls". */
const char *rsp_pki_role_stem(enum rsp_pki_role r);
/* Directory name of a curve: "nist" or "brp" (NULL otherwise). */
const char *rsp_pki_curve_dir(enum rsp_curve c);
/* Appends the PEM form ("-----BEGIN CERTIFICATE-----") of a DER certificate to out. */
int rsp_pki_cert_pem(const uint8_t *der, size_t len, struct rsp_buf *out);
/* The item's private key as a crypto-layer key (caller frees with rsp_key_free). */
int rsp_pki_item_key(const struct rsp_pki_item *it, struct rsp_key **out);

/* Issues one more EUM certificate (issuer = the CI item) or eUICC certificate (issuer = an EUM
 * item) with the options' eid, eum_iin, days and not_before (0 = one hour ago; may lie in the
 * past or the future, for expired and not-yet-valid test certificates). The new key is on the
 * issuer's curve. RSP_EINVAL / RSP_ESYNTAX for bad options, RSP_ECERT when the issuer's
 * certificate or key does not parse, RSP_ECRYPTO if OpenSSL fails; *out is left empty then. */
int rsp_pki_issue(const struct rsp_pki_item *issuer, enum rsp_pki_role role,
                  const struct rsp_pki_opts *o, struct rsp_pki_item *out);

#endif
