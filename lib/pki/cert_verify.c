/* Chain verification with the GSMA RSP rules (SGP.22 v2.2 section 4.5.2.2).
 *
 * OpenSSL builds and checks the path (signatures, validity at the caller's `now`, basic
 * constraints, X509_V_FLAG_X509_STRICT; partial chains off, the CI is the only trust anchor). On
 * top of that we check the RSP profile: role policy, key usage, AKI = issuer SKI and the EID/IIN
 * rule of the EUM.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "rsp/cert.h"
#include "rsp/err.h"
#include "cert_internal.h"

static void set_detail(char *detail, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_detail(char *detail, size_t len, const char *fmt, ...)
{
    if (!detail || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, len, fmt, ap);
    va_end(ap);
}

static void fmt_date(time_t t, char out[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d", &tm) == 0)
        snprintf(out, 32, "(time %lld)", (long long)t);
}

/* What the verify callback saw. */
struct vctx {
    X509 *euicc; /* the certificate at which error 47 is tolerated, or NULL */
    int err;     /* first fatal X509_V_ERR_*, 0 if none */
    int depth;
    bool nc_waived; /* the tolerated name-constraints error happened */
};

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct vctx *v = X509_STORE_CTX_get_app_data(ctx);
    if (ok || !v)
        return ok;
    int err = X509_STORE_CTX_get_error(ctx);
    /* SGP.26-shaped EUMs carry their IIN rule as a nameConstraints directoryName that no eUICC
     * subject can satisfy as an X.500 subtree; OpenSSL reports it at the eUICC certificate as a
     * permitted-subtree violation. That exact error is waived here and the EID/IIN rule is
     * enforced separately (section 4.5.2.2, CERT.EUICC.ECDSA). */
    if (err == X509_V_ERR_PERMITTED_VIOLATION && v->euicc &&
        X509_STORE_CTX_get_current_cert(ctx) == v->euicc &&
        X509_STORE_CTX_get_error_depth(ctx) == 0) {
        v->nc_waived = true;
        return 1;
    }
    if (!v->err) {
        v->err = err;
        v->depth = X509_STORE_CTX_get_error_depth(ctx);
    }
    return 0;
}

static const char *depth_name(const char *const *names, size_t n, int depth)
{
    if (depth < 0 || (size_t)depth >= n)
        return "certificate";
    return names[depth];
}

/* Runs OpenSSL path validation of leaf (-> mid) -> ci at `now`. names[depth] names each
 * certificate for `detail`. */
static int openssl_verify(X509 *ci, X509 *mid, X509 *leaf, bool waive_nc, time_t now,
                          const char *const *names, size_t nnames, int *at, char *detail,
                          size_t dlen)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int rc = RSP_ENOMEM;
    if (!store || !ctx || !untrusted || X509_STORE_add_cert(store, ci) != 1)
        goto out;
    if (mid && !sk_X509_push(untrusted, mid))
        goto out;
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
        goto out;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, now); /* also sets X509_V_FLAG_USE_CHECK_TIME */
    /* The CI's self-signature is checked too; no partial chains: the CI must be the root. */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
    X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    struct vctx v = {waive_nc ? leaf : NULL, 0, -1, false};
    X509_STORE_CTX_set_app_data(ctx, &v); /* per-call state, no global index */
    X509_STORE_CTX_set_verify_cb(ctx, verify_cb);

    int ok = X509_verify_cert(ctx);
    if (ok == 1 && v.err == 0) {
        /* The path must be exactly the certificates we were given. */
        STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
        int want = mid ? 3 : 2;
        if (!chain || sk_X509_num(chain) != want || X509_cmp(sk_X509_value(chain, 0), leaf) != 0 ||
            (mid && X509_cmp(sk_X509_value(chain, 1), mid) != 0) ||
            X509_cmp(sk_X509_value(chain, want - 1), ci) != 0) {
            set_detail(detail, dlen, "%s: chain does not lead to the given CI", names[0]);
            *at = 0;
            rc = RSP_ECHAIN;
        } else {
            rc = 0;
        }
        goto out;
    }
    int err = v.err ? v.err : X509_STORE_CTX_get_error(ctx);
    int depth = v.err ? v.depth : X509_STORE_CTX_get_error_depth(ctx);
    const char *who = depth_name(names, nnames, depth);
    *at = depth >= 0 && (size_t)depth < nnames ? depth : 0;
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        rc = RSP_EEXPIRED;
        break;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        rc = RSP_EPOLICY;
        break;
    default:
        rc = RSP_ECHAIN;
        break;
    }
    set_detail(detail, dlen, "%s: %s (X509 error %d)", who, X509_verify_cert_error_string(err),
               err);
out:
    ERR_clear_error();
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rc;
}

static int check_validity(const struct rsp_cert *c, const char *who, time_t now, char *detail,
                          size_t dlen)
{
    time_t nb, na;
    if (rsp_cert_validity(c, &nb, &na) != 0) {
        set_detail(detail, dlen, "%s: unreadable validity period", who);
        return RSP_ECERT;
    }
    char date[32];
    if (now < nb) {
        fmt_date(nb, date);
        set_detail(detail, dlen, "%s: not valid before %s", who, date);
        return RSP_EEXPIRED;
    }
    if (now > na) {
        fmt_date(na, date);
        set_detail(detail, dlen, "%s: expired on %s", who, date);
        return RSP_EEXPIRED;
    }
    return 0;
}

static int check_role(const struct rsp_cert *c, const char *who, enum rsp_cert_role want,
                      bool optional, char *detail, size_t dlen)
{
    enum rsp_cert_role got = rsp_cert_role(c);
    if (got == want || (optional && got == RSP_ROLE_NONE))
        return 0;
    set_detail(detail, dlen, "%s: role policy is %s, expected %s (id-rspRole 2.23.146.1.2.1.%d)",
               who, rsp_cert_role_name(got), rsp_cert_role_name(want), (int)want);
    return RSP_EPOLICY;
}

/* Key usage must contain `need` (KU_* bits); the extension is mandatory in every RSP profile. */
static int check_key_usage(const struct rsp_cert *c, const char *who, uint32_t need, char *detail,
                           size_t dlen)
{
    X509 *x = rsp_cert_x509(c);
    if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE)) {
        set_detail(detail, dlen, "%s: key usage extension missing", who);
        return RSP_EPOLICY;
    }
    if ((X509_get_key_usage(x) & need) != need) {
        set_detail(detail, dlen, "%s: key usage lacks %s", who,
                   need == KU_KEY_CERT_SIGN ? "keyCertSign" : "digitalSignature");
        return RSP_EPOLICY;
    }
    return 0;
}

static int check_ca(const struct rsp_cert *c, const char *who, bool want_ca, long pathlen,
                    char *detail, size_t dlen)
{
    X509 *x = rsp_cert_x509(c);
    bool is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
    if (is_ca != want_ca) {
        set_detail(detail, dlen, "%s: basicConstraints cA is %s, expected %s", who,
                   is_ca ? "true" : "false", want_ca ? "true" : "false");
        return RSP_EPOLICY;
    }
    if (want_ca && pathlen >= 0 && X509_get_pathlen(x) != pathlen) {
        set_detail(detail, dlen, "%s: basicConstraints pathLenConstraint is not %ld", who, pathlen);
        return RSP_EPOLICY;
    }
    return 0;
}

/* Section 4.5.2.2: path validation uses SKI/AKI; every certificate but the CI carries an AKI
 * that must equal its issuer's SKI. */
static int check_link(const struct rsp_cert *issuer, const char *issuer_name,
                      const struct rsp_cert *subject, const char *subject_name, char *detail,
                      size_t dlen)
{
    uint8_t ski[RSP_KEYID_LEN], aki[RSP_KEYID_LEN];
    if (rsp_cert_ski(issuer, ski) != 0) {
        set_detail(detail, dlen, "%s: no 20-byte subject key identifier", issuer_name);
        return RSP_ECHAIN;
    }
    if (rsp_cert_aki(subject, aki) != 0) {
        set_detail(detail, dlen, "%s: no 20-byte authority key identifier", subject_name);
        return RSP_ECHAIN;
    }
    if (memcmp(ski, aki, RSP_KEYID_LEN) != 0) {
        set_detail(detail, dlen, "%s: authority key identifier does not match the SKI of the %s",
                   subject_name, issuer_name);
        return RSP_ECHAIN;
    }
    return 0;
}

static int check_ci(const struct rsp_cert *ci, time_t now, char *detail, size_t dlen)
{
    static const char who[] = "CI certificate";
    uint8_t ski[RSP_KEYID_LEN];
    int rc = check_validity(ci, who, now, detail, dlen);
    if (rc == 0)
        rc = check_role(ci, who, RSP_ROLE_CI, false, detail, dlen);
    if (rc == 0)
        rc = check_key_usage(ci, who, KU_KEY_CERT_SIGN, detail, dlen);
    if (rc == 0)
        rc = check_ca(ci, who, true, -1, detail, dlen);
    if (rc == 0 && rsp_cert_ski(ci, ski) != 0) {
        set_detail(detail, dlen, "%s: no 20-byte subject key identifier", who);
        rc = RSP_ECHAIN;
    }
    return rc;
}

/* The checks of rsp_cert_verify_euicc_chain; *at = index into names[] of the certificate at
 * fault (0 eUICC, 1 EUM, 2 CI) when the result is not 0. */
static int verify_euicc_chain(const struct rsp_cert *ci, const struct rsp_cert *eum,
                              const struct rsp_cert *euicc, time_t now, int *at, char *detail,
                              size_t detail_len)
{
    static const char *const names[] = {"eUICC certificate", "EUM certificate", "CI certificate"};
    *at = 2;
    int rc = check_ci(ci, now, detail, detail_len);
    if (rc == 0) {
        *at = 1;
        rc = check_validity(eum, names[1], now, detail, detail_len);
    }
    if (rc == 0) {
        *at = 0;
        rc = check_validity(euicc, names[0], now, detail, detail_len);
    }
    if (rc == 0) {
        /* a CI without SKI is the CI's fault, a wrong AKI the subject's */
        uint8_t ski[RSP_KEYID_LEN];
        *at = rsp_cert_ski(ci, ski) != 0 ? 2 : 1;
        rc = check_link(ci, names[2], eum, names[1], detail, detail_len);
    }
    if (rc == 0) {
        uint8_t ski[RSP_KEYID_LEN];
        *at = rsp_cert_ski(eum, ski) != 0 ? 1 : 0;
        rc = check_link(eum, names[1], euicc, names[0], detail, detail_len);
    }
    if (rc == 0)
        rc = openssl_verify(rsp_cert_x509(ci), rsp_cert_x509(eum), rsp_cert_x509(euicc), true, now,
                            names, 3, at, detail, detail_len);
    /* EUM profile, section 4.5.2.1.0.3 */
    if (rc == 0) {
        *at = 1;
        rc = check_role(eum, names[1], RSP_ROLE_EUM, false, detail, detail_len);
    }
    if (rc == 0)
        rc = check_key_usage(eum, names[1], KU_KEY_CERT_SIGN, detail, detail_len);
    if (rc == 0)
        rc = check_ca(eum, names[1], true, 0, detail, detail_len);
    /* eUICC profile, section 4.5.2.1.0.2 */
    if (rc == 0) {
        *at = 0;
        rc = check_role(euicc, names[0], RSP_ROLE_EUICC, false, detail, detail_len);
    }
    if (rc == 0)
        rc = check_key_usage(euicc, names[0], KU_DIGITAL_SIGNATURE, detail, detail_len);
    if (rc == 0)
        rc = check_ca(euicc, names[0], false, -1, detail, detail_len);
    if (rc != 0)
        return rc;

    /* EID within the EUM's permitted IINs (section 4.5.2.2, CERT.EUICC.ECDSA). */
    char eid[RSP_EID_DIGITS + 1];
    if (rsp_cert_eid(euicc, eid) != 0) {
        set_detail(detail, detail_len, "%s: subject serialNumber is not a 32-digit EID", names[0]);
        return RSP_EPOLICY;
    }
    struct rsp_iin_list iins;
    rc = rsp_cert_permitted_iins(eum, &iins);
    if (rc != 0) {
        *at = 1;
        set_detail(detail, detail_len, "%s: no readable permitted IINs (%s)", names[1],
                   rsp_strerror(rc));
        return rc == RSP_ENOMEM ? rc : RSP_EPOLICY;
    }
    char org[65];
    bool have_org = X509_NAME_get_text_by_NID(X509_get_subject_name(rsp_cert_x509(euicc)),
                                              NID_organizationName, org, sizeof org) > 0;
    if (!rsp_eid_in_iins(eid, have_org ? org : "", &iins)) {
        *at = 0;
        set_detail(detail, detail_len, "%s: EID %s is not within the IINs of the EUM (first: %s)",
                   names[0], eid, iins.e[0].iin);
        return RSP_EEIDRANGE;
    }
    return 0;
}

int rsp_cert_verify_euicc_chain_at(const struct rsp_cert *ci, const struct rsp_cert *eum,
                                   const struct rsp_cert *euicc, time_t now,
                                   enum rsp_cert_role *failed, char *detail, size_t detail_len)
{
    static const enum rsp_cert_role roles[3] = {RSP_ROLE_EUICC, RSP_ROLE_EUM, RSP_ROLE_CI};
    set_detail(detail, detail_len, "ok");
    if (failed)
        *failed = RSP_ROLE_NONE;
    if (!ci || !eum || !euicc) {
        set_detail(detail, detail_len, "missing certificate");
        return RSP_EINVAL;
    }
    int at = 0;
    int rc = verify_euicc_chain(ci, eum, euicc, now, &at, detail, detail_len);
    if (rc != 0 && failed && rc != RSP_ENOMEM)
        *failed = roles[at >= 0 && at < 3 ? at : 0];
    return rc;
}

int rsp_cert_verify_euicc_chain(const struct rsp_cert *ci, const struct rsp_cert *eum,
                                const struct rsp_cert *euicc, time_t now, char *detail,
                                size_t detail_len)
{
    return rsp_cert_verify_euicc_chain_at(ci, eum, euicc, now, NULL, detail, detail_len);
}

int rsp_cert_verify_dp(const struct rsp_cert *ci, const struct rsp_cert *dp,
                       enum rsp_cert_role expected_role, time_t now, char *detail,
                       size_t detail_len)
{
    set_detail(detail, detail_len, "ok");
    const char *who;
    switch (expected_role) {
    case RSP_ROLE_DP_AUTH:
        who = "DPauth certificate";
        break;
    case RSP_ROLE_DP_PB:
        who = "DPpb certificate";
        break;
    case RSP_ROLE_DP_TLS:
        who = "DPtls certificate";
        break;
    case RSP_ROLE_DS_AUTH:
        who = "DSauth certificate";
        break;
    case RSP_ROLE_DS_TLS:
        who = "DStls certificate";
        break;
    default:
        set_detail(detail, detail_len, "expected role %s is not an SM-DP+/SM-DS role",
                   rsp_cert_role_name(expected_role));
        return RSP_EINVAL;
    }
    if (!ci || !dp) {
        set_detail(detail, detail_len, "missing certificate");
        return RSP_EINVAL;
    }
    const char *const names[] = {who, "CI certificate"};
    bool tls = expected_role == RSP_ROLE_DP_TLS || expected_role == RSP_ROLE_DS_TLS;
    int at = 0;
    int rc = check_ci(ci, now, detail, detail_len);
    if (rc == 0)
        rc = check_validity(dp, who, now, detail, detail_len);
    if (rc == 0)
        rc = check_link(ci, names[1], dp, who, detail, detail_len);
    if (rc == 0)
        rc = openssl_verify(rsp_cert_x509(ci), NULL, rsp_cert_x509(dp), false, now, names, 2, &at,
                            detail, detail_len);
    /* Sections 4.5.2.1.0.4-7 and 4.5.2.2: the policy is optional for TLS certificates. */
    if (rc == 0)
        rc = check_role(dp, who, expected_role, tls, detail, detail_len);
    if (rc == 0)
        rc = check_key_usage(dp, who, KU_DIGITAL_SIGNATURE, detail, detail_len);
    if (rc == 0)
        rc = check_ca(dp, who, false, -1, detail, detail_len);
    if (rc != 0)
        return rc;
    X509 *x = rsp_cert_x509(dp);
    if (tls) {
        /* serverAuth and clientAuth, and no other extended key usage we know of. */
        uint32_t xku = X509_get_extended_key_usage(x);
        uint32_t want = XKU_SSL_SERVER | XKU_SSL_CLIENT;
        if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) || (xku & want) != want ||
            (xku & ~want) != 0) {
            set_detail(detail, detail_len,
                       "%s: extended key usage must be exactly serverAuth and clientAuth", who);
            return RSP_EPOLICY;
        }
    }
    if (expected_role == RSP_ROLE_DP_AUTH || expected_role == RSP_ROLE_DP_PB || tls) {
        char oid[64];
        if (rsp_cert_registered_id(dp, oid, sizeof oid) != 0 && expected_role != RSP_ROLE_DS_TLS) {
            set_detail(detail, detail_len, "%s: subjectAltName lacks the SM-DP+ OID", who);
            return RSP_EPOLICY;
        }
    }
    return 0;
}
