/* SGP.26-shaped test PKI, generated in memory with the OpenSSL X509 API.
 *
 * Profiles: SGP.22 v2.2 section 4.5.2.1 (CI 4.5.2.1.0, eUICC .0.2, EUM .0.3, SM-DP+ ECDSA .0.4,
 * SM-DP+ TLS .0.5); role policies from Annex H. Extension choice and criticality mirror the SGP.26
 * test certificates (critical basicConstraints, keyUsage and certificatePolicies; non-critical
 * SKI, AKI, subjectAltName and CRL distribution points; critical nameConstraints in the EUM).
 */
#include "rsp/pki.h"

#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rsp/der.h"
#include "rsp/err.h"

#define CRL_URI_A "URI:http://ci.test.example.com/CRL-A.crl"
#define CRL_URI_B "URI:http://ci.test.example.com/CRL-B.crl"

void rsp_pki_opts_default(struct rsp_pki_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->curves = RSP_PKI_BOTH;
    o->smdp_host = RSP_PKI_DEFAULT_SMDP_HOST;
    o->smdp_oid = RSP_PKI_DEFAULT_SMDP_OID;
    o->eid = RSP_PKI_DEFAULT_EID;
    o->eum_iin = RSP_PKI_DEFAULT_EUM_IIN;
    o->days = RSP_PKI_DEFAULT_DAYS;
}

const char *rsp_pki_role_stem(enum rsp_pki_role r)
{
    static const char *const stems[RSP_PKI_NROLES] = {"ci",     "eum",  "euicc",
                                                      "dpauth", "dppb", "dptls"};
    return (unsigned)r < RSP_PKI_NROLES ? stems[r] : "unknown";
}

const char *rsp_pki_curve_dir(enum rsp_curve c)
{
    switch (c) {
    case RSP_CURVE_NIST_P256:
        return "nist";
    case RSP_CURVE_BRAINPOOL_P256R1:
        return "brp";
    case RSP_CURVE_NONE:
        break;
    }
    return NULL;
}

static bool digits_only(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool valid_host(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
        return false;
    for (; *h; h++) {
        char ch = *h;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

/* Dotted-quad IPv4 address (valid_host() already allowed only digits, letters, '-' and '.'). */
static bool is_ipv4_literal(const char *h)
{
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(h);
    bool v4 = ip && ASN1_STRING_length(ip) == 4;
    ASN1_OCTET_STRING_free(ip);
    return v4;
}

/* Dotted OID with at least two arcs, digits and dots only. */
static bool valid_oid(const char *s)
{
    int dots = 0;
    bool prev_dot = true;
    for (const char *p = s; *p; p++) {
        if (*p == '.') {
            if (prev_dot)
                return false;
            dots++;
            prev_dot = true;
        } else if (*p >= '0' && *p <= '9') {
            prev_dot = false;
        } else {
            return false;
        }
    }
    return dots >= 1 && !prev_dot && strlen(s) < 64;
}

static EVP_PKEY *gen_key(enum rsp_curve c)
{
    const char *group = c == RSP_CURVE_NIST_P256 ? "prime256v1" : "brainpoolP256r1";
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
}

static int key_pem(EVP_PKEY *k, struct rsp_buf *out)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return RSP_ENOMEM;
    int rc = RSP_ECRYPTO;
    if (PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) == 1) {
        char *p = NULL;
        long n = BIO_get_mem_data(bio, &p);
        rc = n > 0 ? rsp_buf_set(out, p, (size_t)n) : RSP_ECRYPTO;
        if (n > 0)
            OPENSSL_cleanse(p, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

int rsp_pki_cert_pem(const uint8_t *der, size_t len, struct rsp_buf *out)
{
    if (!der || !out || len > INT32_MAX)
        return RSP_EINVAL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (!x) {
        ERR_clear_error();
        return RSP_ECERT;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = RSP_ENOMEM;
    if (bio) {
        rc = RSP_ECRYPTO;
        if (PEM_write_bio_X509(bio, x) == 1) {
            char *s = NULL;
            long n = BIO_get_mem_data(bio, &s);
            rc = n > 0 ? rsp_buf_append(out, s, (size_t)n) : RSP_ECRYPTO;
        }
        BIO_free(bio);
    }
    X509_free(x);
    return rc;
}

int rsp_pki_item_key(const struct rsp_pki_item *it, struct rsp_key **out)
{
    if (!it || !out)
        return RSP_EINVAL;
    return rsp_key_from_private(it->key_pem.data, it->key_pem.len, out);
}

/* Adds an extension given in OpenSSL's configuration syntax (no config sections needed). */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return RSP_ECRYPTO;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : RSP_ECRYPTO;
}

/* certificatePolicies with one policy OID (the RSP role, Annex H). Built directly: OpenSSL's
 * string form of this extension needs a configuration database. */
static int add_policy(X509 *x, const char *oid, int critical)
{
    CERTIFICATEPOLICIES *pol = CERTIFICATEPOLICIES_new();
    POLICYINFO *pi = POLICYINFO_new();
    int rc = RSP_ENOMEM;
    if (!pol || !pi)
        goto out;
    ASN1_OBJECT_free(pi->policyid);
    pi->policyid = OBJ_txt2obj(oid, 1);
    if (!pi->policyid || !sk_POLICYINFO_push(pol, pi))
        goto out;
    pi = NULL;
    rc = X509_add1_ext_i2d(x, NID_certificate_policies, pol, critical, X509V3_ADD_DEFAULT) == 1
             ? 0
             : RSP_ECRYPTO;
out:
    POLICYINFO_free(pi);
    CERTIFICATEPOLICIES_free(pol);
    return rc;
}

static int add_name(X509_NAME *n, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_ASC, (const unsigned char *)value, -1, -1,
                                      0) == 1
               ? 0
               : RSP_ECRYPTO;
}

/* EUM nameConstraints: permitted directoryName O=<org>, serialNumber=<IIN> (section 4.5.2.1.0.3,
 * as in SGP.26). */
static int add_name_constraints(X509 *x, const char *org, const char *iin)
{
    NAME_CONSTRAINTS *nc = NAME_CONSTRAINTS_new();
    GENERAL_SUBTREE *st = GENERAL_SUBTREE_new();
    X509_NAME *dn = X509_NAME_new();
    int rc = RSP_ENOMEM;
    if (!nc || !st || !dn)
        goto out;
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    if (!nc->permittedSubtrees)
        goto out;
    rc = add_name(dn, "O", org);
    if (rc == 0)
        rc = add_name(dn, "serialNumber", iin);
    if (rc != 0)
        goto out;
    GENERAL_NAME_set0_value(st->base, GEN_DIRNAME, dn);
    dn = NULL;
    if (!sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, st)) {
        rc = RSP_ENOMEM;
        goto out;
    }
    st = NULL;
    rc = X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) == 1 ? 0
                                                                                    : RSP_ECRYPTO;
out:
    X509_NAME_free(dn);
    GENERAL_SUBTREE_free(st);
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

/* Extension 2.23.146.1.2.2.0 (non-critical): SEQUENCE OF PrintableString with the IIN, written
 * with our DER writer. */
static int add_iin_extension(X509 *x, const char *iin)
{
    struct rsp_buf b = RSP_BUF_INIT;
    size_t mark = rsp_der_begin(&b, 0x30);
    rsp_der_put(&b, 0x13, iin, strlen(iin));
    int rc = rsp_der_end(&b, mark);
    if (rc != 0 || b.err) {
        rsp_buf_free(&b);
        return RSP_ENOMEM;
    }
    ASN1_OBJECT *oid = OBJ_txt2obj("2.23.146.1.2.2.0", 1);
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    rc = RSP_ECRYPTO;
    if (oid && os && b.len <= INT32_MAX && ASN1_OCTET_STRING_set(os, b.data, (int)b.len) == 1)
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os);
    if (ext && X509_add_ext(x, ext, -1) == 1)
        rc = 0;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
    ASN1_OBJECT_free(oid);
    rsp_buf_free(&b);
    return rc;
}

struct gen {
    const struct rsp_pki_opts *o;
    time_t nb;
};

/* One certificate: subject key `key`, signed by issuer_key; issuer == NULL means self-signed. */
static int make_cert(const struct gen *g, enum rsp_pki_role role, EVP_PKEY *key, X509 *issuer,
                     EVP_PKEY *issuer_key, X509 **out)
{
    int rc = RSP_ECRYPTO;
    X509 *x = X509_new();
    X509_NAME *subj = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    BIGNUM *bn = BN_new();
    if (!x || !subj || !serial || !bn) {
        rc = RSP_ENOMEM;
        goto out;
    }
    /* Random positive 63-bit serial: unique per issuing CA with overwhelming probability. */
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        BN_rand(bn, 63, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
        !BN_to_ASN1_INTEGER(bn, serial) || X509_set_serialNumber(x, serial) != 1)
        goto out;

    switch (role) {
    case RSP_PKI_CI:
        rc = add_name(subj, "CN", "rspkit Test CI");
        if (rc == 0)
            rc = add_name(subj, "OU", "TESTCERT");
        if (rc == 0)
            rc = add_name(subj, "O", "RSPTEST");
        if (rc == 0)
            rc = add_name(subj, "C", "IT");
        break;
    case RSP_PKI_EUM:
        rc = add_name(subj, "C", "ES");
        if (rc == 0)
            rc = add_name(subj, "O", "RSP Test EUM");
        if (rc == 0)
            rc = add_name(subj, "CN", "EUM Test");
        break;
    case RSP_PKI_EUICC:
        rc = add_name(subj, "C", "ES");
        if (rc == 0)
            rc = add_name(subj, "O", "RSP Test EUM");
        if (rc == 0)
            rc = add_name(subj, "serialNumber", g->o->eid);
        if (rc == 0)
            rc = add_name(subj, "CN", "Test eUICC");
        break;
    case RSP_PKI_DPAUTH:
    case RSP_PKI_DPPB:
        rc = add_name(subj, "O", "ACME");
        if (rc == 0)
            rc = add_name(subj, "CN", "TEST SM-DP+");
        break;
    case RSP_PKI_DPTLS:
        rc = add_name(subj, "O", "ACME");
        if (rc == 0)
            rc = add_name(subj, "CN", g->o->smdp_host);
        break;
    default:
        rc = RSP_EINVAL;
        break;
    }
    if (rc != 0)
        goto out;
    rc = RSP_ECRYPTO;
    time_t nb = g->nb;
    if (X509_set_subject_name(x, subj) != 1 ||
        X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj) != 1 ||
        !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)g->o->days, 0, &nb) ||
        X509_set_pubkey(x, key) != 1)
        goto out;

    X509 *iss = issuer ? issuer : x;
    char san[160];
    rc = 0;
    if (issuer)
        rc = add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    if (rc == 0)
        rc = add_ext(x, iss, NID_subject_key_identifier, "hash");
    switch (role) {
    case RSP_PKI_CI: /* section 4.5.2.1.0 */
        if (rc == 0)
            rc = add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        if (rc == 0)
            rc = add_policy(x, "2.23.146.1.2.1.0", 1);
        if (rc == 0)
            rc = add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
        if (rc == 0)
            rc = add_ext(x, iss, NID_subject_alt_name, "RID:" RSP_PKI_CI_OID);
        if (rc == 0)
            rc = add_ext(x, iss, NID_crl_distribution_points, CRL_URI_A "," CRL_URI_B);
        break;
    case RSP_PKI_EUM: /* section 4.5.2.1.0.3 */
        if (rc == 0)
            rc = add_ext(x, iss, NID_key_usage, "critical,keyCertSign");
        if (rc == 0)
            rc = add_policy(x, "2.23.146.1.2.1.2", 1);
        if (rc == 0)
            rc = add_ext(x, iss, NID_subject_alt_name, "RID:" RSP_PKI_EUM_OID);
        if (rc == 0)
            rc = add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        if (rc == 0)
            rc = add_ext(x, iss, NID_crl_distribution_points, CRL_URI_B);
        if (rc == 0)
            rc = add_name_constraints(x, "RSP Test EUM", g->o->eum_iin);
        if (rc == 0)
            rc = add_iin_extension(x, g->o->eum_iin);
        break;
    case RSP_PKI_EUICC: /* section 4.5.2.1.0.2 */
        if (rc == 0)
            rc = add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
        if (rc == 0)
            rc = add_policy(x, "2.23.146.1.2.1.1", 1);
        break;
    case RSP_PKI_DPAUTH: /* section 4.5.2.1.0.4 */
    case RSP_PKI_DPPB:
        snprintf(san, sizeof san, "RID:%s", g->o->smdp_oid);
        if (rc == 0)
            rc = add_ext(x, iss, NID_subject_alt_name, san);
        if (rc == 0)
            rc = add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
        if (rc == 0)
            rc = add_policy(x, role == RSP_PKI_DPAUTH ? "2.23.146.1.2.1.4" : "2.23.146.1.2.1.5", 1);
        if (rc == 0)
            rc = add_ext(x, iss, NID_crl_distribution_points, CRL_URI_A "," CRL_URI_B);
        break;
    case RSP_PKI_DPTLS: /* section 4.5.2.1.0.5 */
        /* An IPv4 literal (a lab SM-DP+ on 127.0.0.1) also gets an iPAddress name: TLS clients
         * match an address against iPAddress entries only. */
        if (is_ipv4_literal(g->o->smdp_host))
            snprintf(san, sizeof san, "DNS:%s,IP:%s,RID:%s", g->o->smdp_host, g->o->smdp_host,
                     g->o->smdp_oid);
        else
            snprintf(san, sizeof san, "DNS:%s,RID:%s", g->o->smdp_host, g->o->smdp_oid);
        if (rc == 0)
            rc = add_ext(x, iss, NID_key_usage, "critical,digitalSignature");
        if (rc == 0)
            rc = add_ext(x, iss, NID_ext_key_usage, "critical,serverAuth,clientAuth");
        if (rc == 0)
            rc = add_policy(x, "2.23.146.1.2.1.3", 0);
        if (rc == 0)
            rc = add_ext(x, iss, NID_subject_alt_name, san);
        if (rc == 0)
            rc = add_ext(x, iss, NID_crl_distribution_points, CRL_URI_A "," CRL_URI_B);
        break;
    default:
        rc = RSP_EINVAL;
        break;
    }
    if (rc != 0)
        goto out;
    if (X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) <= 0) {
        rc = RSP_ECRYPTO;
        goto out;
    }
    *out = x;
    x = NULL;
out:
    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_NAME_free(subj);
    X509_free(x);
    return rc;
}

static int cert_der(X509 *x, struct rsp_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    if (n <= 0)
        return RSP_ECRYPTO;
    int rc = rsp_buf_set(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

static int gen_set(const struct gen *g, enum rsp_curve curve, struct rsp_pki_set *set)
{
    EVP_PKEY *keys[RSP_PKI_NROLES] = {0};
    X509 *certs[RSP_PKI_NROLES] = {0};
    int rc = 0;
    set->curve = curve;
    for (int r = 0; r < RSP_PKI_NROLES && rc == 0; r++) {
        keys[r] = gen_key(curve);
        if (!keys[r]) {
            rc = RSP_ECRYPTO;
            break;
        }
        /* The eUICC certificate is issued by the EUM, everything else by the CI. */
        int issuer = r == RSP_PKI_CI ? -1 : r == RSP_PKI_EUICC ? RSP_PKI_EUM : RSP_PKI_CI;
        rc = make_cert(g, (enum rsp_pki_role)r, keys[r], issuer < 0 ? NULL : certs[issuer],
                       issuer < 0 ? NULL : keys[issuer], &certs[r]);
        if (rc == 0)
            rc = cert_der(certs[r], &set->item[r].cert_der);
        if (rc == 0)
            rc = key_pem(keys[r], &set->item[r].key_pem);
    }
    for (int r = 0; r < RSP_PKI_NROLES; r++) {
        X509_free(certs[r]);
        EVP_PKEY_free(keys[r]);
    }
    ERR_clear_error();
    return rc;
}

void rsp_pki_free(struct rsp_pki *p)
{
    if (!p)
        return;
    for (size_t s = 0; s < 2; s++)
        for (int r = 0; r < RSP_PKI_NROLES; r++) {
            rsp_buf_free(&p->set[s].item[r].cert_der);
            rsp_buf_free_secure(&p->set[s].item[r].key_pem);
        }
    memset(p, 0, sizeof *p);
}

int rsp_pki_generate(const struct rsp_pki_opts *o, struct rsp_pki *out)
{
    if (!out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    if (!o || !o->smdp_host || !o->smdp_oid || !o->eid || !o->eum_iin)
        return RSP_EINVAL;
    if ((o->curves & RSP_PKI_BOTH) == 0 || (o->curves & ~RSP_PKI_BOTH) != 0 || o->days == 0 ||
        o->days > 100000)
        return RSP_EINVAL;
    if (!digits_only(o->eid, RSP_EID_DIGITS, RSP_EID_DIGITS) ||
        !digits_only(o->eum_iin, 1, RSP_IIN_MAX) || !valid_host(o->smdp_host) ||
        !valid_oid(o->smdp_oid))
        return RSP_ESYNTAX;
    /* Default start: one hour ago, so that peers with a slightly slow clock accept the set. */
    struct gen g = {o, o->not_before ? o->not_before : time(NULL) - 3600};
    int rc = 0;
    if (o->curves & RSP_PKI_NIST)
        rc = gen_set(&g, RSP_CURVE_NIST_P256, &out->set[out->n++]);
    if (rc == 0 && (o->curves & RSP_PKI_BRP))
        rc = gen_set(&g, RSP_CURVE_BRAINPOOL_P256R1, &out->set[out->n++]);
    if (rc != 0)
        rsp_pki_free(out);
    return rc;
}

int rsp_pki_issue(const struct rsp_pki_item *issuer, enum rsp_pki_role role,
                  const struct rsp_pki_opts *o, struct rsp_pki_item *out)
{
    if (!out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    if (!issuer || !o || (role != RSP_PKI_EUM && role != RSP_PKI_EUICC) || !o->eid || !o->eum_iin ||
        o->days == 0 || o->days > 100000 || issuer->cert_der.len > INT32_MAX ||
        issuer->key_pem.len > INT32_MAX)
        return RSP_EINVAL;
    if (!digits_only(o->eid, RSP_EID_DIGITS, RSP_EID_DIGITS) ||
        !digits_only(o->eum_iin, 1, RSP_IIN_MAX))
        return RSP_ESYNTAX;
    const unsigned char *p = issuer->cert_der.data;
    X509 *icert = d2i_X509(NULL, &p, (long)issuer->cert_der.len);
    BIO *bio = BIO_new_mem_buf(issuer->key_pem.data, (int)issuer->key_pem.len);
    EVP_PKEY *ikey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    int rc = RSP_ECERT;
    if (!icert || !ikey)
        goto out;
    /* the new key on the issuer's curve */
    rc = RSP_ECRYPTO;
    EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new(ikey, NULL);
    if (kctx && EVP_PKEY_keygen_init(kctx) == 1)
        EVP_PKEY_keygen(kctx, &key);
    EVP_PKEY_CTX_free(kctx);
    if (!key)
        goto out;
    struct gen g = {o, o->not_before ? o->not_before : time(NULL) - 3600};
    rc = make_cert(&g, role, key, icert, ikey, &x);
    if (rc == 0)
        rc = cert_der(x, &out->cert_der);
    if (rc == 0)
        rc = key_pem(key, &out->key_pem);
out:
    if (rc != 0) {
        rsp_buf_free(&out->cert_der);
        rsp_buf_free_secure(&out->key_pem);
    }
    X509_free(x);
    X509_free(icert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ikey);
    ERR_clear_error();
    return rc;
}
