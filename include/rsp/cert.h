/* X.509 certificates with the GSMA RSP rules (SGP.22 section 4.5.2).
 *
 * A struct rsp_cert wraps one parsed certificate (OpenSSL underneath); its owner releases it with
 * rsp_cert_free(). Accessors never allocate unless they hand out an object the caller must free.
 *
 * Chain verification takes an explicit `now` so that tests (and devices without a reliable clock)
 * decide the point in time. Verification functions write a human-readable reason into `detail`
 * (caller buffer, may be NULL) naming the certificate and what failed, e.g.
 * "EUM certificate: expired on 2026-08-02".
 */
#ifndef RSP_CERT_H
#define RSP_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rsp/crypto.h"

/* RSP roles: the last arc of the certificate policy OID 2.23.146.1.2.1.x (SGP.22 Annex H). */
enum rsp_cert_role {
    RSP_ROLE_NONE = -1, /* no (or no unique) RSP role policy */
    RSP_ROLE_CI = 0,
    RSP_ROLE_EUICC = 1,
    RSP_ROLE_EUM = 2,
    RSP_ROLE_DP_TLS = 3,
    RSP_ROLE_DP_AUTH = 4,
    RSP_ROLE_DP_PB = 5,
    RSP_ROLE_DS_TLS = 6,
    RSP_ROLE_DS_AUTH = 7,
};

#define RSP_KEYID_LEN      20  /* SKI / AKI / PKID length used throughout RSP */
#define RSP_EID_DIGITS     32  /* EID: 32 decimal digits */
#define RSP_IIN_MAX        16  /* longest IIN prefix we accept, in digits */
#define RSP_IIN_LIST_MAX   16  /* most permitted IINs read from one EUM certificate */
#define RSP_CERT_DETAIL_SZ 256 /* a comfortable size for `detail` buffers */

/* Short name of a role ("CI", "eUICC", "EUM", "DPtls", "DPauth", "DPpb", "DStls", "DSauth"),
 * "none" for RSP_ROLE_NONE. Never NULL. */
const char *rsp_cert_role_name(enum rsp_cert_role role);

struct rsp_cert;

/* Parses one certificate from DER bytes, or from PEM text ("-----BEGIN CERTIFICATE-----"; the first
 * certificate of a PEM bundle). DER input must be exactly one certificate (no trailing bytes).
 * Undecodable or duplicated extensions count as malformed. RSP_ECERT if malformed. */
int rsp_cert_parse(const uint8_t *data, size_t len, struct rsp_cert **out);
void rsp_cert_free(struct rsp_cert *c);
/* As rsp_cert_parse, through a small process-wide cache of parsed certificates keyed by the
 * SHA-256 of the bytes (thread-safe). For certificates that many requests present, such as an
 * EUM's: parsing a certificate costs about as much as an ECDSA verification with OpenSSL 3.0.
 * *out is the caller's own object (free with rsp_cert_free); nothing is trusted because it was
 * cached: verification is the caller's, every time. */
int rsp_cert_parse_cached(const uint8_t *data, size_t len, struct rsp_cert **out);
/* The DER encoding as parsed (what was signed plus the signature), owned by the certificate. */
int rsp_cert_der(const struct rsp_cert *c, const uint8_t **der, size_t *len);

/* One-line RFC 2253-style names, e.g. "CN=Test CI,OU=TESTCERT,O=RSPTEST,C=IT". RSP_ERANGE if
 * `out` is too small (out still NUL-terminated). */
int rsp_cert_subject(const struct rsp_cert *c, char *out, size_t outlen);
int rsp_cert_issuer(const struct rsp_cert *c, char *out, size_t outlen);

/* Subject / Authority Key Identifier (keyIdentifier field). RSP_EMISSING if the extension is
 * absent, RSP_ERANGE if it is not 20 bytes long. */
int rsp_cert_ski(const struct rsp_cert *c, uint8_t out[RSP_KEYID_LEN]);
int rsp_cert_aki(const struct rsp_cert *c, uint8_t out[RSP_KEYID_LEN]);

/* Validity period as UTC time_t. */
int rsp_cert_validity(const struct rsp_cert *c, time_t *not_before, time_t *not_after);

/* The subject public key as a crypto-layer key (caller frees with rsp_key_free). */
int rsp_cert_pubkey(const struct rsp_cert *c, struct rsp_key **out);
/* Curve of the subject public key; RSP_CURVE_NONE if not an EC key on a supported curve. */
enum rsp_curve rsp_cert_curve(const struct rsp_cert *c);

/* RSP role from the certificate policies; RSP_ROLE_NONE if there is no single RSP role. */
enum rsp_cert_role rsp_cert_role(const struct rsp_cert *c);

/* EID: the subject serialNumber of an eUICC certificate, 32 digits, NUL-terminated.
 * RSP_EMISSING if absent, RSP_ESYNTAX if not 32 decimal digits. */
int rsp_cert_eid(const struct rsp_cert *c, char out[RSP_EID_DIGITS + 1]);

/* First registeredID in subjectAltName as dotted text (the SM-DP+ OID of DPauth/DPpb/DPtls
 * certificates, e.g. "2.999.10"). RSP_EMISSING if absent, RSP_ERANGE if `out` is too small. */
int rsp_cert_registered_id(const struct rsp_cert *c, char *out, size_t outlen);
/* First dNSName in subjectAltName (TLS certificates). RSP_EMISSING if absent. */
int rsp_cert_dns_name(const struct rsp_cert *c, char *out, size_t outlen);

/* Permitted IINs of an EUM certificate (SGP.22 section 4.5.2.1.0.3 and 4.5.2.2). */
struct rsp_iin_list {
    size_t n;
    struct {
        char iin[RSP_IIN_MAX + 1]; /* decimal digits */
        char org[65];              /* organization bound to it in nameConstraints, "" if none */
    } e[RSP_IIN_LIST_MAX];
};

/* Collects the IINs from both places an EUM certificate may carry them: the serialNumber of each
 * nameConstraints permitted directoryName, and the extension 2.23.146.1.2.2.0 (SEQUENCE OF
 * PrintableString). Duplicates are kept once. RSP_EMISSING if neither is present, RSP_ECERT if an
 * IIN is malformed, RSP_ERANGE if there are more than RSP_IIN_LIST_MAX. */
int rsp_cert_permitted_iins(const struct rsp_cert *c, struct rsp_iin_list *out);
/* True if the EID starts with one of the IINs (and, when the IIN is bound to an organization and
 * `org` is not NULL, the organization matches). */
bool rsp_eid_in_iins(const char *eid, const char *org, const struct rsp_iin_list *l);

/* --- chain verification ------------------------------------------------------------------ */

/* CI -> EUM -> eUICC (SGP.22 section 4.5.2.2): signatures, validity at `now`, basic constraints,
 * key usage, role policies, AKI of each = SKI of its issuer, EID within the EUM's IINs.
 * Returns 0, RSP_ECHAIN, RSP_EEXPIRED, RSP_EPOLICY, RSP_EEIDRANGE, or RSP_EINVAL/RSP_ENOMEM. */
int rsp_cert_verify_euicc_chain(const struct rsp_cert *ci, const struct rsp_cert *eum,
                                const struct rsp_cert *euicc, time_t now, char *detail,
                                size_t detail_len);
/* Same, and *failed (may be NULL) names the certificate at fault when the result is a refusal:
 * RSP_ROLE_CI, RSP_ROLE_EUM or RSP_ROLE_EUICC (RSP_EEIDRANGE: the eUICC's); RSP_ROLE_NONE on
 * success or for RSP_EINVAL/RSP_ENOMEM. Callers choose error codes from (result, *failed), never
 * from the detail text. */
int rsp_cert_verify_euicc_chain_at(const struct rsp_cert *ci, const struct rsp_cert *eum,
                                   const struct rsp_cert *euicc, time_t now,
                                   enum rsp_cert_role *failed, char *detail, size_t detail_len);

/* CI -> SM-DP+ certificate of `expected_role` (RSP_ROLE_DP_AUTH, RSP_ROLE_DP_PB or
 * RSP_ROLE_DP_TLS; the DS roles work the same). Same return codes as above except
 * RSP_EEIDRANGE. */
int rsp_cert_verify_dp(const struct rsp_cert *ci, const struct rsp_cert *dp,
                       enum rsp_cert_role expected_role, time_t now, char *detail,
                       size_t detail_len);

/* --- PKIDs (euiccCiPKIdListForVerification / ForSigning, SGP.22 section 5.7.8) -------------- */

/* Index of pkid in list[0..n), or RSP_ENOTFOUND. */
int rsp_pkid_find(const uint8_t pkid[RSP_KEYID_LEN], const uint8_t (*list)[RSP_KEYID_LEN],
                  size_t n);
/* Same over the DER content of a SEQUENCE OF SubjectKeyIdentifier (OCTET STRINGs, tag 04):
 * index or RSP_ENOTFOUND; negative DER error codes if the list is malformed. */
int rsp_pkid_find_der(const uint8_t pkid[RSP_KEYID_LEN], const uint8_t *seq_val, size_t len);
/* Index of the first CI certificate whose SKI is in the PKID list[0..n) (the CI to use), or
 * RSP_ENOTFOUND. */
int rsp_cert_select_ci(struct rsp_cert *const *cis, size_t ncis,
                       const uint8_t (*list)[RSP_KEYID_LEN], size_t n);

#endif
