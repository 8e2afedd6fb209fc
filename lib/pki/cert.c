/* X.509 certificates with the GSMA RSP rules: parsing, accessors, chain verification.
 * References: SGP.22 v2.2 section 4.5.2 (certificate profiles), 4.5.2.2 (verification), Annex H
 * (OIDs). */
#include "rsp/cert.h"
#include "rsp/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "cert_internal.h"

#define RSP_ROLE_ARC_PREFIX "2.23.146.1.2.1."  /* id-rspRole, Annex H */
#define RSP_IIN_EXT_OID     "2.23.146.1.2.2.0" /* permitted IINs/EINs, SEQUENCE OF PrintableString */

struct rsp_cert {
    X509 *x;
    uint8_t *der; /* the encoding as parsed (OpenSSL keeps the original bytes of a parsed cert) */
    size_t der_len;
};

X509 *rsp_cert_x509(const struct rsp_cert *c)
{
    return c ? c->x : NULL;
}

const char *rsp_cert_role_name(enum rsp_cert_role role)
{
    switch (role) {
    case RSP_ROLE_CI:
        return "CI";
    case RSP_ROLE_EUICC:
        return "eUICC";
    case RSP_ROLE_EUM:
        return "EUM";
    case RSP_ROLE_DP_TLS:
        return "DPtls";
    case RSP_ROLE_DP_AUTH:
        return "DPauth";
    case RSP_ROLE_DP_PB:
        return "DPpb";
    case RSP_ROLE_DS_TLS:
        return "DStls";
    case RSP_ROLE_DS_AUTH:
        return "DSauth";
    case RSP_ROLE_NONE:
        break;
    }
    return "none";
}

static bool looks_like_pem(const uint8_t *p, size_t n)
{
    static const char marker[] = "-----BEGIN ";
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
        i++;
    return n - i >= sizeof marker - 1 && memcmp(p + i, marker, sizeof marker - 1) == 0;
}

int rsp_cert_parse(const uint8_t *data, size_t len, struct rsp_cert **out)
{
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    if (!data || len == 0 || len > INT_MAX)
        return RSP_ECERT;

    X509 *x = NULL;
    if (looks_like_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            return RSP_ENOMEM;
        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        x = d2i_X509(NULL, &p, (long)len);
        if (x && p != data + len) { /* exactly one certificate */
            X509_free(x);
            x = NULL;
        }
    }
    if (!x) {
        ERR_clear_error();
        return RSP_ECERT;
    }
    /* Caches and sanity-checks the extensions; EXFLAG_INVALID marks undecodable or duplicate
     * extensions (RFC 5280 section 4.2). */
    if (X509_check_purpose(x, -1, 0) != 1 || (X509_get_extension_flags(x) & EXFLAG_INVALID)) {
        X509_free(x);
        ERR_clear_error();
        return RSP_ECERT;
    }
    struct rsp_cert *c = calloc(1, sizeof *c);
    unsigned char *der = NULL;
    int der_len = i2d_X509(x, &der);
    if (!c || der_len <= 0) {
        free(c);
        OPENSSL_free(der);
        X509_free(x);
        ERR_clear_error();
        return der_len <= 0 ? RSP_ECERT : RSP_ENOMEM;
    }
    c->x = x;
    c->der = der;
    c->der_len = (size_t)der_len;
    *out = c;
    return 0;
}

void rsp_cert_free(struct rsp_cert *c)
{
    if (!c)
        return;
    X509_free(c->x);
    OPENSSL_free(c->der);
    free(c);
}

/* A second handle on the same certificate (the X509 shared, reference counted). */
static int cert_dup(const struct rsp_cert *c, struct rsp_cert **out)
{
    struct rsp_cert *d = calloc(1, sizeof *d);
    uint8_t *der = OPENSSL_malloc(c->der_len);
    if (!d || !der || X509_up_ref(c->x) != 1) {
        free(d);
        OPENSSL_free(der);
        return RSP_ENOMEM;
    }
    memcpy(der, c->der, c->der_len);
    d->x = c->x;
    d->der = der;
    d->der_len = c->der_len;
    *out = d;
    return 0;
}

#define CERT_CACHE_SLOTS 32
static struct {
    uint8_t sha256[RSP_SHA256_LEN];
    struct rsp_cert *c;
} cert_cache[CERT_CACHE_SLOTS];
static unsigned cert_cache_next;
static pthread_mutex_t cert_cache_lock = PTHREAD_MUTEX_INITIALIZER;

int rsp_cert_parse_cached(const uint8_t *data, size_t len, struct rsp_cert **out)
{
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    uint8_t h[RSP_SHA256_LEN];
    if (!data || len == 0 || rsp_sha256(data, len, h) != 0)
        return rsp_cert_parse(data, len, out);
    int rc = RSP_ENOTFOUND;
    pthread_mutex_lock(&cert_cache_lock);
    for (unsigned i = 0; i < CERT_CACHE_SLOTS; i++)
        if (cert_cache[i].c && memcmp(cert_cache[i].sha256, h, sizeof h) == 0) {
            rc = cert_dup(cert_cache[i].c, out);
            break;
        }
    pthread_mutex_unlock(&cert_cache_lock);
    if (rc != RSP_ENOTFOUND)
        return rc;
    struct rsp_cert *c = NULL, *keep = NULL;
    if ((rc = rsp_cert_parse(data, len, &c)) != 0)
        return rc; /* refusals are not cached */
    if (cert_dup(c, &keep) == 0) {
        pthread_mutex_lock(&cert_cache_lock);
        unsigned i = cert_cache_next++ % CERT_CACHE_SLOTS;
        struct rsp_cert *old = cert_cache[i].c;
        memcpy(cert_cache[i].sha256, h, sizeof h);
        cert_cache[i].c = keep;
        pthread_mutex_unlock(&cert_cache_lock);
        rsp_cert_free(old);
    }
    *out = c;
    return 0;
}

int rsp_cert_der(const struct rsp_cert *c, const uint8_t **der, size_t *len)
{
    if (!c || !der || !len)
        return RSP_EINVAL;
    *der = c->der;
    *len = c->der_len;
    return 0;
}

static int name_line(const X509_NAME *name, char *out, size_t outlen)
{
    if (!name || !out || outlen == 0)
        return RSP_EINVAL;
    out[0] = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return RSP_ENOMEM;
    int rc = 0;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        rc = RSP_ECERT;
    } else {
        char *p = NULL;
        long n = BIO_get_mem_data(bio, &p);
        if (n < 0)
            n = 0;
        size_t take = (size_t)n < outlen - 1 ? (size_t)n : outlen - 1;
        memcpy(out, p, take);
        out[take] = 0;
        if ((size_t)n > take)
            rc = RSP_ERANGE;
    }
    BIO_free(bio);
    return rc;
}

int rsp_cert_subject(const struct rsp_cert *c, char *out, size_t outlen)
{
    if (!c)
        return RSP_EINVAL;
    return name_line(X509_get_subject_name(c->x), out, outlen);
}

int rsp_cert_issuer(const struct rsp_cert *c, char *out, size_t outlen)
{
    if (!c)
        return RSP_EINVAL;
    return name_line(X509_get_issuer_name(c->x), out, outlen);
}

static int keyid_out(const ASN1_OCTET_STRING *id, uint8_t out[RSP_KEYID_LEN])
{
    if (!id)
        return RSP_EMISSING;
    if (ASN1_STRING_length(id) != RSP_KEYID_LEN)
        return RSP_ERANGE;
    memcpy(out, ASN1_STRING_get0_data(id), RSP_KEYID_LEN);
    return 0;
}

int rsp_cert_ski(const struct rsp_cert *c, uint8_t out[RSP_KEYID_LEN])
{
    if (!c || !out)
        return RSP_EINVAL;
    return keyid_out(X509_get0_subject_key_id(c->x), out);
}

int rsp_cert_aki(const struct rsp_cert *c, uint8_t out[RSP_KEYID_LEN])
{
    if (!c || !out)
        return RSP_EINVAL;
    return keyid_out(X509_get0_authority_key_id(c->x), out);
}

static int asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return RSP_ECERT;
    time_t v = timegm(&tm);
    if (v == (time_t)-1)
        return RSP_ECERT;
    *out = v;
    return 0;
}

int rsp_cert_validity(const struct rsp_cert *c, time_t *not_before, time_t *not_after)
{
    if (!c)
        return RSP_EINVAL;
    time_t nb, na;
    int rc = asn1_time_to_time_t(X509_get0_notBefore(c->x), &nb);
    if (rc == 0)
        rc = asn1_time_to_time_t(X509_get0_notAfter(c->x), &na);
    if (rc != 0)
        return rc;
    if (not_before)
        *not_before = nb;
    if (not_after)
        *not_after = na;
    return 0;
}

enum rsp_curve rsp_cert_curve(const struct rsp_cert *c)
{
    if (!c)
        return RSP_CURVE_NONE;
    EVP_PKEY *pk = X509_get0_pubkey(c->x);
    char group[64];
    size_t glen = 0;
    if (!pk || !EVP_PKEY_is_a(pk, "EC") ||
        EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &glen) != 1) {
        ERR_clear_error();
        return RSP_CURVE_NONE;
    }
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        return RSP_CURVE_NIST_P256;
    if (strcmp(group, "brainpoolP256r1") == 0)
        return RSP_CURVE_BRAINPOOL_P256R1;
    return RSP_CURVE_NONE;
}

enum rsp_cert_role rsp_cert_role(const struct rsp_cert *c)
{
    if (!c)
        return RSP_ROLE_NONE;
    int crit = 0;
    CERTIFICATEPOLICIES *pol = X509_get_ext_d2i(c->x, NID_certificate_policies, &crit, NULL);
    if (!pol) {
        ERR_clear_error();
        return RSP_ROLE_NONE;
    }
    enum rsp_cert_role role = RSP_ROLE_NONE;
    int found = 0;
    const size_t plen = sizeof RSP_ROLE_ARC_PREFIX - 1;
    for (int i = 0; i < sk_POLICYINFO_num(pol); i++) {
        const POLICYINFO *pi = sk_POLICYINFO_value(pol, i);
        char txt[80];
        int n = OBJ_obj2txt(txt, sizeof txt, pi->policyid, 1);
        if (n <= 0 || (size_t)n >= sizeof txt)
            continue;
        if ((size_t)n == plen + 1 && strncmp(txt, RSP_ROLE_ARC_PREFIX, plen) == 0 &&
            txt[plen] >= '0' && txt[plen] <= '7') {
            role = (enum rsp_cert_role)(txt[plen] - '0');
            found++;
        }
    }
    CERTIFICATEPOLICIES_free(pol);
    return found == 1 ? role : RSP_ROLE_NONE;
}

/* Copies an ASN1_STRING as text if it is non-empty printable ASCII without NUL bytes. */
static int string_out(const ASN1_STRING *s, char *out, size_t outlen)
{
    int n = ASN1_STRING_length(s);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    if (n <= 0 || !p)
        return RSP_ESYNTAX;
    for (int i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return RSP_ESYNTAX;
    if ((size_t)n >= outlen)
        return RSP_ERANGE;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return 0;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* First value of attribute `nid` in a name, as text. */
static int name_attr(const X509_NAME *name, int nid, char *out, size_t outlen)
{
    int idx = X509_NAME_get_index_by_NID(name, nid, -1);
    if (idx < 0)
        return RSP_EMISSING;
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, idx);
    return string_out(X509_NAME_ENTRY_get_data(e), out, outlen);
}

int rsp_cert_eid(const struct rsp_cert *c, char out[RSP_EID_DIGITS + 1])
{
    if (!c || !out)
        return RSP_EINVAL;
    out[0] = 0;
    char tmp[RSP_EID_DIGITS + 2];
    int rc = name_attr(X509_get_subject_name(c->x), NID_serialNumber, tmp, sizeof tmp);
    if (rc == RSP_ERANGE)
        return RSP_ESYNTAX;
    if (rc != 0)
        return rc;
    if (strlen(tmp) != RSP_EID_DIGITS || !all_digits(tmp))
        return RSP_ESYNTAX;
    memcpy(out, tmp, RSP_EID_DIGITS + 1);
    return 0;
}

/* First GENERAL_NAME of `type` in subjectAltName, or NULL; *names to be freed by the caller. */
static const GENERAL_NAME *san_first(X509 *x, int type, GENERAL_NAMES **names)
{
    *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (!*names) {
        ERR_clear_error();
        return NULL;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(*names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(*names, i);
        if (g->type == type)
            return g;
    }
    return NULL;
}

int rsp_cert_registered_id(const struct rsp_cert *c, char *out, size_t outlen)
{
    if (!c || !out || outlen == 0)
        return RSP_EINVAL;
    out[0] = 0;
    GENERAL_NAMES *names = NULL;
    const GENERAL_NAME *g = san_first(c->x, GEN_RID, &names);
    int rc = RSP_EMISSING;
    if (g) {
        /* no_name = 1: always dotted, also for arcs such as 2.999 (first sub-identifier >= 80). */
        char txt[128];
        int n = OBJ_obj2txt(txt, sizeof txt, g->d.registeredID, 1);
        if (n <= 0 || (size_t)n >= sizeof txt)
            rc = RSP_ECERT;
        else if ((size_t)n >= outlen)
            rc = RSP_ERANGE;
        else {
            memcpy(out, txt, (size_t)n + 1);
            rc = 0;
        }
    }
    GENERAL_NAMES_free(names);
    return rc;
}

int rsp_cert_dns_name(const struct rsp_cert *c, char *out, size_t outlen)
{
    if (!c || !out || outlen == 0)
        return RSP_EINVAL;
    out[0] = 0;
    GENERAL_NAMES *names = NULL;
    const GENERAL_NAME *g = san_first(c->x, GEN_DNS, &names);
    int rc = g ? string_out(g->d.dNSName, out, outlen) : RSP_EMISSING;
    GENERAL_NAMES_free(names);
    return rc;
}

static int iin_add(struct rsp_iin_list *l, const char *iin, const char *org)
{
    if (!all_digits(iin) || strlen(iin) > RSP_IIN_MAX)
        return RSP_ECERT;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->e[i].iin, iin) == 0 && strcmp(l->e[i].org, org) == 0)
            return 0;
    if (l->n == RSP_IIN_LIST_MAX)
        return RSP_ERANGE;
    snprintf(l->e[l->n].iin, sizeof l->e[l->n].iin, "%s", iin);
    snprintf(l->e[l->n].org, sizeof l->e[l->n].org, "%s", org);
    l->n++;
    return 0;
}

/* nameConstraints permittedSubtrees, directoryName form: O=<org>, serialNumber=<IIN>
 * (SGP.22 section 4.5.2.1.0.3). */
static int iins_from_name_constraints(X509 *x, struct rsp_iin_list *l, bool *present)
{
    NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints, NULL, NULL);
    if (!nc) {
        ERR_clear_error();
        return 0;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++) {
        const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
        if (!st->base || st->base->type != GEN_DIRNAME)
            continue;
        const X509_NAME *dn = st->base->d.directoryName;
        char org[65] = "";
        int orc = name_attr(dn, NID_organizationName, org, sizeof org);
        if (orc != 0 && orc != RSP_EMISSING) {
            rc = RSP_ECERT;
            break;
        }
        for (int idx = -1;;) {
            idx = X509_NAME_get_index_by_NID(dn, NID_serialNumber, idx);
            if (idx < 0)
                break;
            char iin[RSP_IIN_MAX + 1];
            if (string_out(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(dn, idx)), iin,
                           sizeof iin) != 0) {
                rc = RSP_ECERT;
                break;
            }
            *present = true;
            rc = iin_add(l, iin, org);
            if (rc != 0)
                break;
        }
    }
    NAME_CONSTRAINTS_free(nc);
    return rc;
}

/* Extension 2.23.146.1.2.2.0: SEQUENCE OF PrintableString, each an IIN. Parsed with our strict
 * DER reader. */
static int iins_from_extension(X509 *x, struct rsp_iin_list *l, bool *present)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(RSP_IIN_EXT_OID, 1);
    if (!oid)
        return RSP_ENOMEM;
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    int rc = 0;
    if (idx >= 0 && X509_get_ext_by_OBJ(x, oid, idx) >= 0)
        rc = RSP_ECERT; /* duplicated extension */
    ASN1_OBJECT_free(oid);
    if (idx < 0 || rc != 0)
        return rc;
    const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    struct rsp_tlv seq;
    if (!v ||
        rsp_der_parse_tag(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), 0x30, &seq) != 0)
        return RSP_ECERT;
    *present = true;
    struct rsp_der_iter it;
    rsp_der_iter_value(&it, &seq);
    struct rsp_tlv s;
    int more;
    while ((more = rsp_der_next(&it, &s)) == 1) {
        char iin[RSP_IIN_MAX + 1];
        if (s.tag != 0x13 || s.len == 0 || s.len > RSP_IIN_MAX)
            return RSP_ECERT;
        memcpy(iin, s.val, s.len);
        iin[s.len] = 0;
        if (memchr(s.val, 0, s.len))
            return RSP_ECERT;
        rc = iin_add(l, iin, "");
        if (rc != 0)
            return rc;
    }
    return more < 0 ? RSP_ECERT : 0;
}

int rsp_cert_permitted_iins(const struct rsp_cert *c, struct rsp_iin_list *out)
{
    if (!c || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    bool present = false;
    int rc = iins_from_name_constraints(c->x, out, &present);
    if (rc == 0)
        rc = iins_from_extension(c->x, out, &present);
    if (rc != 0) {
        out->n = 0;
        return rc;
    }
    return present && out->n > 0 ? 0 : RSP_EMISSING;
}

bool rsp_eid_in_iins(const char *eid, const char *org, const struct rsp_iin_list *l)
{
    if (!eid || !l)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->e[i].iin);
        if (n == 0 || strncmp(eid, l->e[i].iin, n) != 0)
            continue;
        if (org && l->e[i].org[0] && strcmp(org, l->e[i].org) != 0)
            continue;
        return true;
    }
    return false;
}

/* --- PKIDs -------------------------------------------------------------------------------- */

int rsp_pkid_find(const uint8_t pkid[RSP_KEYID_LEN], const uint8_t (*list)[RSP_KEYID_LEN], size_t n)
{
    if (!pkid || (!list && n))
        return RSP_EINVAL;
    for (size_t i = 0; i < n && i < INT_MAX; i++)
        if (memcmp(pkid, list[i], RSP_KEYID_LEN) == 0)
            return (int)i;
    return RSP_ENOTFOUND;
}

int rsp_pkid_find_der(const uint8_t pkid[RSP_KEYID_LEN], const uint8_t *seq_val, size_t len)
{
    if (!pkid || (!seq_val && len))
        return RSP_EINVAL;
    struct rsp_der_iter it;
    rsp_der_iter_init(&it, seq_val, len);
    struct rsp_tlv t;
    int more;
    int idx = 0;
    while ((more = rsp_der_next(&it, &t)) == 1) {
        if (t.tag != 0x04)
            return RSP_EUNEXPECTED;
        if (t.len == RSP_KEYID_LEN && memcmp(t.val, pkid, RSP_KEYID_LEN) == 0)
            return idx;
        if (idx == INT_MAX)
            return RSP_ERANGE;
        idx++;
    }
    return more < 0 ? more : RSP_ENOTFOUND;
}

int rsp_cert_select_ci(struct rsp_cert *const *cis, size_t ncis,
                       const uint8_t (*list)[RSP_KEYID_LEN], size_t n)
{
    if (!cis && ncis)
        return RSP_EINVAL;
    for (size_t i = 0; i < ncis && i < INT_MAX; i++) {
        uint8_t ski[RSP_KEYID_LEN];
        if (cis[i] && rsp_cert_ski(cis[i], ski) == 0 && rsp_pkid_find(ski, list, n) >= 0)
            return (int)i;
    }
    return RSP_ENOTFOUND;
}
