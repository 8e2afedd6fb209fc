/* Operator-signed profile manifests (include/rsp/manifest.h, docs/MANIFEST.md). */
#include "rsp/manifest.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"

#define T_SEQ     0x30u
#define T_INT     0x02u
#define T_OCTETS  0x04u
#define T_ENUM    0x0Au
#define T_UTF8    0x0Cu
#define T_NUMERIC 0x12u
#define T_PLMN    0x80u /* [0] IMPLICIT NumericString */
#define T_GID1    0x81u /* [1] IMPLICIT OCTET STRING */
#define T_GID2    0x82u /* [2] IMPLICIT OCTET STRING */

static const char *const check_names[] = {
    [RSP_MANIFEST_OK] = "ok",
    [RSP_MANIFEST_SIGNATURE] = "signature",
    [RSP_MANIFEST_OPERATOR] = "operator",
    [RSP_MANIFEST_DIGEST] = "digest",
    [RSP_MANIFEST_PACKAGE] = "package",
    [RSP_MANIFEST_ICCID] = "iccid",
    [RSP_MANIFEST_IMSI] = "imsi",
    [RSP_MANIFEST_STORED] = "stored",
};

const char *rsp_manifest_check_name(enum rsp_manifest_check c)
{
    if ((unsigned)c >= sizeof check_names / sizeof check_names[0])
        return "unknown";
    return check_names[c];
}

/* ---- field formats ---- */

static bool digits(const char *s, size_t lo, size_t hi)
{
    size_t n = strnlen(s, hi + 1);
    if (n < lo || n > hi)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool operator_id_ok(const char *s)
{
    size_t n = strnlen(s, RSP_MANIFEST_TEXT_MAX + 1);
    if (n < 1 || n > RSP_MANIFEST_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Well-formed UTF-8 of at most RSP_MANIFEST_TEXT_MAX bytes, no control characters. */
static bool text_ok(const uint8_t *p, size_t n)
{
    if (n > RSP_MANIFEST_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x20 || c == 0x7F)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            k = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            k = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            k = 3, cp = c & 0x07;
        else
            return false;
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0)
            return false;
        i += k + 1;
    }
    return true;
}

static bool str_ok(const char *s)
{
    size_t n = strnlen(s, RSP_MANIFEST_TEXT_MAX + 1);
    return text_ok((const uint8_t *)s, n);
}

static int check_fields(const struct rsp_manifest *m)
{
    if (m->version != RSP_MANIFEST_VERSION)
        return RSP_ERANGE;
    if (!operator_id_ok(m->operator_id) || !digits(m->iccid, 18, 20) || !digits(m->imsi, 6, 15) ||
        !str_ok(m->profile_type) || !str_ok(m->spn) || !str_ok(m->name) ||
        (m->owner_plmn[0] && !digits(m->owner_plmn, 5, 6)))
        return RSP_ESYNTAX;
    if ((unsigned)m->pclass > RSP_PROFILE_CLASS_OPERATIONAL || m->created_at < 0 ||
        m->gid1_len > RSP_MANIFEST_GID_MAX || m->gid2_len > RSP_MANIFEST_GID_MAX)
        return RSP_ERANGE;
    return 0;
}

/* ---- build, encode, sign ---- */

int rsp_manifest_from_package(const uint8_t *pkg, size_t len, struct rsp_manifest *m)
{
    if (!pkg || !m)
        return RSP_EINVAL;
    struct rsp_saip_info info;
    int rc = rsp_saip_parse(pkg, len, &info);
    if (rc)
        return rc;
    if (info.imsi_state != RSP_SAIP_PRESENT)
        return RSP_EMISSING;
    memset(m, 0, sizeof *m);
    m->version = RSP_MANIFEST_VERSION;
    snprintf(m->iccid, sizeof m->iccid, "%s", info.iccid_str);
    snprintf(m->imsi, sizeof m->imsi, "%s", info.imsi);
    if (info.profile_type && info.profile_type_len <= RSP_MANIFEST_TEXT_MAX &&
        text_ok((const uint8_t *)info.profile_type, info.profile_type_len))
        memcpy(m->profile_type, info.profile_type, info.profile_type_len);
    if (info.spn_state == RSP_SAIP_PRESENT && str_ok(info.spn))
        snprintf(m->spn, sizeof m->spn, "%s", info.spn);
    m->pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    m->created_at = (int64_t)time(NULL);
    return rsp_sha256(pkg, len, m->package_sha256);
}

static void put_str(struct rsp_buf *b, rsp_tag tag, const char *s)
{
    rsp_der_put(b, tag, s, strlen(s));
}

int rsp_manifest_encode_tbs(const struct rsp_manifest *m, struct rsp_buf *out)
{
    if (!m || !out)
        return RSP_EINVAL;
    int rc = check_fields(m);
    if (rc)
        return rc;
    struct rsp_buf b = RSP_BUF_INIT;
    size_t mark = rsp_der_begin(&b, T_SEQ);
    rsp_der_put_uint(&b, T_INT, m->version);
    put_str(&b, T_UTF8, m->operator_id);
    put_str(&b, T_NUMERIC, m->iccid);
    put_str(&b, T_NUMERIC, m->imsi);
    put_str(&b, T_UTF8, m->profile_type);
    put_str(&b, T_UTF8, m->spn);
    put_str(&b, T_UTF8, m->name);
    rsp_der_put_uint(&b, T_ENUM, (uint64_t)m->pclass);
    rsp_der_put(&b, T_OCTETS, m->package_sha256, sizeof m->package_sha256);
    rsp_der_put_int(&b, T_INT, m->created_at);
    if (m->owner_plmn[0])
        put_str(&b, T_PLMN, m->owner_plmn);
    if (m->gid1_len)
        rsp_der_put(&b, T_GID1, m->gid1, m->gid1_len);
    if (m->gid2_len)
        rsp_der_put(&b, T_GID2, m->gid2, m->gid2_len);
    rsp_der_end(&b, mark);
    rc = b.err ? b.err : rsp_buf_append(out, b.data, b.len);
    rsp_buf_free(&b);
    return rc;
}

int rsp_manifest_sign(struct rsp_manifest *m, const struct rsp_key *operator_key)
{
    if (!m || !operator_key)
        return RSP_EINVAL;
    struct rsp_buf tbs = RSP_BUF_INIT;
    int rc = rsp_manifest_encode_tbs(m, &tbs);
    if (rc == 0)
        rc = rsp_ecdsa_sign(operator_key, tbs.data, tbs.len, m->signature);
    rsp_buf_free(&tbs);
    return rc;
}

int rsp_manifest_encode(const struct rsp_manifest *m, struct rsp_buf *out)
{
    if (!m || !out)
        return RSP_EINVAL;
    struct rsp_buf b = RSP_BUF_INIT;
    size_t mark = rsp_der_begin(&b, T_SEQ);
    int rc = rsp_manifest_encode_tbs(m, &b);
    if (rc == 0) {
        rsp_der_put(&b, T_OCTETS, m->signature, sizeof m->signature);
        rsp_der_end(&b, mark);
        rc = b.err ? b.err : rsp_buf_append(out, b.data, b.len);
    }
    rsp_buf_free(&b);
    return rc;
}

/* ---- decode ---- */

/* Copies a string field (no NUL inside, at most cap - 1 bytes). */
static int get_str(const struct rsp_tlv *t, char *out, size_t cap)
{
    if (t->len >= cap)
        return RSP_ERANGE;
    if (memchr(t->val, 0, t->len))
        return RSP_ESYNTAX;
    memcpy(out, t->val, t->len);
    out[t->len] = 0;
    return 0;
}

static int req_str(struct rsp_der_iter *it, rsp_tag tag, char *out, size_t cap)
{
    struct rsp_tlv t;
    int rc = rsp_der_req(it, tag, &t);
    return rc ? rc : get_str(&t, out, cap);
}

static int decode_tbs(const struct rsp_tlv *tbs, struct rsp_manifest *m)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    uint64_t u;
    int rc;
    rsp_der_iter_value(&it, tbs);
    if ((rc = rsp_der_req(&it, T_INT, &t)) || (rc = rsp_der_get_uint(&t, &u)))
        return rc;
    if (u != RSP_MANIFEST_VERSION)
        return RSP_ERANGE;
    m->version = (unsigned)u;
    if ((rc = req_str(&it, T_UTF8, m->operator_id, sizeof m->operator_id)) ||
        (rc = req_str(&it, T_NUMERIC, m->iccid, sizeof m->iccid)) ||
        (rc = req_str(&it, T_NUMERIC, m->imsi, sizeof m->imsi)) ||
        (rc = req_str(&it, T_UTF8, m->profile_type, sizeof m->profile_type)) ||
        (rc = req_str(&it, T_UTF8, m->spn, sizeof m->spn)) ||
        (rc = req_str(&it, T_UTF8, m->name, sizeof m->name)))
        return rc;
    if ((rc = rsp_der_req(&it, T_ENUM, &t)) || (rc = rsp_der_get_uint(&t, &u)))
        return rc;
    if (u > RSP_PROFILE_CLASS_OPERATIONAL)
        return RSP_ERANGE;
    m->pclass = (enum rsp_profile_class)u;
    if ((rc = rsp_der_req(&it, T_OCTETS, &t)))
        return rc;
    if (t.len != sizeof m->package_sha256)
        return RSP_ERANGE;
    memcpy(m->package_sha256, t.val, t.len);
    if ((rc = rsp_der_req(&it, T_INT, &t)) || (rc = rsp_der_get_int(&t, &m->created_at)))
        return rc;
    if ((rc = rsp_der_opt(&it, T_PLMN, &t)) < 0 ||
        (rc == 1 && (rc = get_str(&t, m->owner_plmn, sizeof m->owner_plmn))))
        return rc;
    if ((rc = rsp_der_opt(&it, T_GID1, &t)) < 0)
        return rc;
    if (rc == 1) {
        if (t.len == 0 || t.len > RSP_MANIFEST_GID_MAX)
            return RSP_ERANGE;
        memcpy(m->gid1, t.val, t.len);
        m->gid1_len = t.len;
    }
    if ((rc = rsp_der_opt(&it, T_GID2, &t)) < 0)
        return rc;
    if (rc == 1) {
        if (t.len == 0 || t.len > RSP_MANIFEST_GID_MAX)
            return RSP_ERANGE;
        memcpy(m->gid2, t.val, t.len);
        m->gid2_len = t.len;
    }
    return rsp_der_finish_strict(&it);
}

/* decode_tbs, the field formats, and the canonical form: what is verified is the re-encoding of
 * the fields, so it must be the very bytes given. */
static int decode_tbs_strict(const struct rsp_tlv *tbs, struct rsp_manifest *m)
{
    int rc = decode_tbs(tbs, m);
    if (rc == 0)
        rc = check_fields(m);
    if (rc)
        return rc;
    struct rsp_buf again = RSP_BUF_INIT;
    rc = rsp_manifest_encode_tbs(m, &again);
    if (rc == 0 && (again.len != tbs->raw_len || memcmp(again.data, tbs->raw, tbs->raw_len) != 0))
        rc = RSP_ESYNTAX;
    rsp_buf_free(&again);
    return rc;
}

int rsp_manifest_decode(const uint8_t *der, size_t len, struct rsp_manifest *out)
{
    if (!der || !out)
        return RSP_EINVAL;
    if (len > RSP_MANIFEST_MAX_LEN)
        return RSP_ERANGE;
    struct rsp_manifest m;
    memset(&m, 0, sizeof m);
    struct rsp_tlv outer, tbs, sig;
    struct rsp_der_iter it;
    int rc = rsp_der_parse_tag(der, len, T_SEQ, &outer);
    if (rc)
        return rc;
    rsp_der_iter_value(&it, &outer);
    if ((rc = rsp_der_req(&it, T_SEQ, &tbs)) || (rc = rsp_der_req(&it, T_OCTETS, &sig)) ||
        (rc = rsp_der_finish_strict(&it)))
        return rc;
    if (sig.len != RSP_ECDSA_SIG_LEN)
        return RSP_EBADLEN;
    memcpy(m.signature, sig.val, sig.len);
    rc = decode_tbs_strict(&tbs, &m);
    if (rc == 0)
        *out = m;
    return rc;
}

/* ---- verify ---- */

__attribute__((format(printf, 3, 4))) static int
refuse(struct rsp_manifest_refusal *why, enum rsp_manifest_check c, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        why->check = c;
        vsnprintf(why->detail, sizeof why->detail, fmt, ap);
        va_end(ap);
    }
    return RSP_EVERIFY;
}

/* Digest, ICCID and IMSI of the package against the manifest. */
static int check_package(const struct rsp_manifest *m, const uint8_t *pkg, size_t len,
                         struct rsp_manifest_refusal *why)
{
    uint8_t d[RSP_SHA256_LEN];
    char hm[2 * RSP_SHA256_LEN + 1], hp[2 * RSP_SHA256_LEN + 1];
    int rc = rsp_sha256(pkg, len, d);
    if (rc)
        return rc;
    if (memcmp(d, m->package_sha256, sizeof d) != 0) {
        rsp_hex_str(hm, m->package_sha256, sizeof d, 0);
        rsp_hex_str(hp, d, sizeof d, 0);
        return refuse(why, RSP_MANIFEST_DIGEST, "package sha256: manifest %s, package %s", hm, hp);
    }
    struct rsp_saip_info info;
    rc = rsp_saip_parse(pkg, len, &info);
    if (rc)
        return refuse(why, RSP_MANIFEST_PACKAGE, "package: not a SAIP package (%s)",
                      rsp_strerror(rc));
    if (strcmp(info.iccid_str, m->iccid) != 0)
        return refuse(why, RSP_MANIFEST_ICCID, "ICCID: manifest %s, package %s", m->iccid,
                      info.iccid_str);
    if (info.imsi_state != RSP_SAIP_PRESENT)
        return refuse(why, RSP_MANIFEST_IMSI, "IMSI: manifest %s, package has none", m->imsi);
    if (strcmp(info.imsi, m->imsi) != 0)
        return refuse(why, RSP_MANIFEST_IMSI, "IMSI: manifest %s, package %s", m->imsi, info.imsi);
    return 0;
}

int rsp_manifest_verify(const struct rsp_manifest *m, const struct rsp_key *operator_pub,
                        const char *expect_operator, const uint8_t *pkg, size_t len,
                        struct rsp_manifest_refusal *why)
{
    if (!m || !operator_pub || !pkg)
        return RSP_EINVAL;
    if (why) {
        why->check = RSP_MANIFEST_OK;
        why->detail[0] = 0;
    }
    struct rsp_buf tbs = RSP_BUF_INIT;
    int rc = rsp_manifest_encode_tbs(m, &tbs);
    if (rc == 0) {
        rc = rsp_ecdsa_verify(operator_pub, tbs.data, tbs.len, m->signature, sizeof m->signature);
        if (rc == RSP_EVERIFY)
            refuse(why, RSP_MANIFEST_SIGNATURE,
                   "signature: does not verify with the key of operator %s",
                   expect_operator ? expect_operator : "(configured key)");
    }
    rsp_buf_free(&tbs);
    if (rc)
        return rc;
    if (expect_operator && strcmp(expect_operator, m->operator_id) != 0)
        return refuse(why, RSP_MANIFEST_OPERATOR, "operatorId: manifest %s, expected %s",
                      m->operator_id, expect_operator);
    return check_package(m, pkg, len, why);
}

/* ---- JSON ---- */

static const char *class_name(enum rsp_profile_class c)
{
    return c == RSP_PROFILE_CLASS_TEST           ? "test"
           : c == RSP_PROFILE_CLASS_PROVISIONING ? "provisioning"
                                                 : "operational";
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char h[2 * RSP_SHA256_LEN + 1];
    if (n > RSP_SHA256_LEN)
        return NULL;
    rsp_hex_str(h, p, n, 0);
    return json_string(h);
}

int rsp_manifest_json(const struct rsp_manifest *m, struct rsp_buf *out)
{
    if (!m || !out)
        return RSP_EINVAL;
    json_t *o = json_object();
    if (!o)
        return RSP_ENOMEM;
    int bad = 0;
    bad |= json_object_set_new(o, "version", json_integer(m->version));
    bad |= json_object_set_new(o, "operatorId", json_string(m->operator_id));
    bad |= json_object_set_new(o, "iccid", json_string(m->iccid));
    bad |= json_object_set_new(o, "imsi", json_string(m->imsi));
    bad |= json_object_set_new(o, "profileType", json_string(m->profile_type));
    bad |= json_object_set_new(o, "serviceProviderName", json_string(m->spn));
    bad |= json_object_set_new(o, "profileName", json_string(m->name));
    bad |= json_object_set_new(o, "profileClass", json_string(class_name(m->pclass)));
    if (m->owner_plmn[0])
        bad |= json_object_set_new(o, "ownerPlmn", json_string(m->owner_plmn));
    if (m->gid1_len)
        bad |= json_object_set_new(o, "gid1", hex_json(m->gid1, m->gid1_len));
    if (m->gid2_len)
        bad |= json_object_set_new(o, "gid2", hex_json(m->gid2, m->gid2_len));
    bad |= json_object_set_new(o, "packageSha256",
                               hex_json(m->package_sha256, sizeof m->package_sha256));
    bad |= json_object_set_new(o, "createdAt", json_integer(m->created_at));
    char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return bad ? RSP_ESYNTAX : RSP_ENOMEM;
    int rc = rsp_buf_append(out, s, strlen(s));
    free(s);
    return rc;
}

/* ---- operator key ---- */

/* Decodes the first PEM block labelled `label` into der; 1 found, 0 absent, negative. */
static int pem_block(const uint8_t *data, size_t len, const char *label, struct rsp_buf *der)
{
    char begin[64], end[64];
    snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
    snprintf(end, sizeof end, "-----END %s-----", label);
    /* data is not NUL-terminated: copy it once. */
    char *text = malloc(len + 1);
    if (!text)
        return RSP_ENOMEM;
    memcpy(text, data, len);
    text[len] = 0;
    int rc = 0;
    char *b = strstr(text, begin);
    char *e = b ? strstr(b, end) : NULL;
    if (b && e) {
        struct rsp_buf b64 = RSP_BUF_INIT;
        for (const char *p = b + strlen(begin); p < e; p++)
            if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
                rsp_buf_append_byte(&b64, (uint8_t)*p);
        rc = b64.err                                                   ? b64.err
             : rsp_base64_decode(der, (const char *)b64.data, b64.len) ? RSP_EKEY
                                                                       : 1;
        rsp_buf_free(&b64);
    }
    free(text);
    return rc;
}

int rsp_operator_key_load(const uint8_t *data, size_t len, struct rsp_key **out)
{
    if (!data || !out)
        return RSP_EINVAL;
    *out = NULL;
    struct rsp_cert *c = NULL;
    if (rsp_cert_parse(data, len, &c) == 0) {
        int rc = rsp_cert_pubkey(c, out);
        rsp_cert_free(c);
        return rc;
    }
    struct rsp_buf der = RSP_BUF_INIT;
    int rc = pem_block(data, len, "PUBLIC KEY", &der);
    if (rc == 1)
        rc = rsp_key_from_spki(der.data, der.len, out);
    else if (rc == 0)
        rc = rsp_key_from_spki(data, len, out);
    rsp_buf_free(&der);
    return rc;
}

void rsp_manifest_to_profile(const struct rsp_manifest *m, struct rsp_profile *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->iccid, sizeof p->iccid, "%s", m->iccid);
    snprintf(p->imsi, sizeof p->imsi, "%s", m->imsi);
    snprintf(p->profile_type, sizeof p->profile_type, "%s", m->profile_type);
    snprintf(p->spn, sizeof p->spn, "%s", m->spn);
    snprintf(p->name, sizeof p->name, "%s", m->name);
    p->pclass = m->pclass;
    snprintf(p->owner, sizeof p->owner, "%s", m->operator_id);
    snprintf(p->operator_, sizeof p->operator_, "%s", m->owner_plmn);
    memcpy(p->package_sha256, m->package_sha256, sizeof p->package_sha256);
    p->state = RSP_PROFILE_AVAILABLE;
}

/* ---- import ---- */

int rsp_inventory_prepare(const uint8_t *pkg, size_t pkg_len, const uint8_t *man, size_t man_len,
                          const struct rsp_key *operator_pub, const char *expect_operator,
                          const char *label, struct rsp_store_import_item *item, char *reason,
                          size_t reason_cap)
{
    if (!pkg || !man || !operator_pub || !item || !reason || reason_cap == 0)
        return RSP_EINVAL;
    memset(item, 0, sizeof *item);
    reason[0] = 0;
    if (!label)
        label = "-";
    struct rsp_manifest m;
    struct rsp_manifest_refusal why;
    int rc = rsp_manifest_decode(man, man_len, &m);
    if (rc) {
        snprintf(reason, reason_cap, "%s: manifest: malformed (%s)", label, rsp_strerror(rc));
        item->refused = reason;
        return RSP_EVERIFY;
    }
    rc = rsp_manifest_verify(&m, operator_pub, expect_operator, pkg, pkg_len, &why);
    if (rc == RSP_EVERIFY) {
        snprintf(item->profile.iccid, sizeof item->profile.iccid, "%s", m.iccid);
        snprintf(reason, reason_cap, "%s: %s: %s", label, rsp_manifest_check_name(why.check),
                 why.detail);
        item->refused = reason;
        return rc;
    }
    if (rc)
        return rc;
    rsp_manifest_to_profile(&m, &item->profile);
    item->pkg = pkg;
    item->pkg_len = pkg_len;
    item->manifest = man;
    item->manifest_len = man_len;
    return 0;
}

/* ---- batch manifests ---- */

static const struct rsp_manifest_batch *sort_batch; /* for cmp_by_iccid; under sort_mu */

static int cmp_by_iccid(const void *a, const void *b)
{
    return strcmp(sort_batch->entries[*(const size_t *)a].iccid,
                  sort_batch->entries[*(const size_t *)b].iccid);
}

void rsp_manifest_batch_free(struct rsp_manifest_batch *b)
{
    if (!b)
        return;
    free(b->entries);
    free(b->raw);
    free(b->by_iccid);
    memset(b, 0, sizeof *b);
}

/* The signed part with the given entries' DER. */
static int batch_encode_tbs(unsigned version, const char *op, int64_t created_at,
                            const struct rsp_manifest_batch_raw *raw, size_t n, struct rsp_buf *out)
{
    size_t mark = rsp_der_begin(out, T_SEQ);
    rsp_der_put_uint(out, T_INT, version);
    put_str(out, T_UTF8, op);
    rsp_der_put_int(out, T_INT, created_at);
    size_t list = rsp_der_begin(out, T_SEQ);
    for (size_t i = 0; i < n; i++)
        rsp_buf_append(out, raw[i].der, raw[i].len);
    rsp_der_end(out, list);
    rsp_der_end(out, mark);
    return out->err;
}

int rsp_manifest_batch_decode(const uint8_t *der, size_t len, struct rsp_manifest_batch *out)
{
    if (!der || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    if (len > RSP_MANIFEST_BATCH_MAX_LEN)
        return RSP_ERANGE;
    struct rsp_tlv outer, tbs, sig, t, list;
    struct rsp_der_iter it, ti, li;
    uint64_t u;
    int rc = rsp_der_parse_tag(der, len, T_SEQ, &outer);
    if (rc)
        return rc;
    rsp_der_iter_value(&it, &outer);
    if ((rc = rsp_der_req(&it, T_SEQ, &tbs)) || (rc = rsp_der_req(&it, T_OCTETS, &sig)) ||
        (rc = rsp_der_finish_strict(&it)))
        return rc;
    if (sig.len != RSP_ECDSA_SIG_LEN)
        return RSP_EBADLEN;
    struct rsp_manifest_batch b;
    memset(&b, 0, sizeof b);
    memcpy(b.signature, sig.val, sig.len);
    rsp_der_iter_value(&ti, &tbs);
    if ((rc = rsp_der_req(&ti, T_INT, &t)) || (rc = rsp_der_get_uint(&t, &u)))
        return rc;
    if (u != RSP_MANIFEST_VERSION)
        return RSP_ERANGE;
    b.version = (unsigned)u;
    if ((rc = req_str(&ti, T_UTF8, b.operator_id, sizeof b.operator_id)))
        return rc;
    if (!operator_id_ok(b.operator_id))
        return RSP_ESYNTAX;
    if ((rc = rsp_der_req(&ti, T_INT, &t)) || (rc = rsp_der_get_int(&t, &b.created_at)))
        return rc;
    if (b.created_at < 0)
        return RSP_ERANGE;
    if ((rc = rsp_der_req(&ti, T_SEQ, &list)) || (rc = rsp_der_finish_strict(&ti)))
        return rc;
    /* count, bounded, before allocating */
    size_t n = 0;
    rsp_der_iter_value(&li, &list);
    while ((rc = rsp_der_next(&li, &t)) == 1) {
        if (t.tag != T_SEQ || t.raw_len > RSP_MANIFEST_MAX_LEN)
            return t.tag != T_SEQ ? RSP_EUNEXPECTED : RSP_ERANGE;
        if (++n > RSP_MANIFEST_BATCH_MAX_ENTRIES)
            return RSP_ERANGE;
    }
    if (rc < 0)
        return rc;
    if (n == 0)
        return RSP_EMISSING;
    b.n = n;
    b.entries = calloc(n, sizeof *b.entries);
    b.raw = calloc(n, sizeof *b.raw);
    b.by_iccid = calloc(n, sizeof *b.by_iccid);
    if (!b.entries || !b.raw || !b.by_iccid) {
        rsp_manifest_batch_free(&b);
        return RSP_ENOMEM;
    }
    rsp_der_iter_value(&li, &list);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (rsp_der_next(&li, &t) != 1) {
            rc = RSP_EIO; /* counted above */
            break;
        }
        b.raw[i].der = t.raw;
        b.raw[i].len = t.raw_len;
        b.by_iccid[i] = i;
        rc = decode_tbs_strict(&t, &b.entries[i]);
        if (rc == 0 && strcmp(b.entries[i].operator_id, b.operator_id) != 0)
            rc = RSP_ESYNTAX; /* one operator per batch */
    }
    if (rc == 0) { /* canonical form of the batch's own fields */
        struct rsp_buf again = RSP_BUF_INIT;
        rc = batch_encode_tbs(b.version, b.operator_id, b.created_at, b.raw, n, &again);
        if (rc == 0 && (again.len != tbs.raw_len || memcmp(again.data, tbs.raw, tbs.raw_len) != 0))
            rc = RSP_ESYNTAX;
        rsp_buf_free(&again);
    }
    if (rc == 0) {
        static pthread_mutex_t sort_mu = PTHREAD_MUTEX_INITIALIZER;
        pthread_mutex_lock(&sort_mu); /* qsort has no context argument in C11 */
        sort_batch = &b;
        qsort(b.by_iccid, n, sizeof *b.by_iccid, cmp_by_iccid);
        sort_batch = NULL;
        pthread_mutex_unlock(&sort_mu);
        for (size_t i = 1; rc == 0 && i < n; i++)
            if (strcmp(b.entries[b.by_iccid[i - 1]].iccid, b.entries[b.by_iccid[i]].iccid) == 0)
                rc = RSP_ESYNTAX; /* an ICCID twice */
    }
    if (rc == 0)
        rc = rsp_sha256(der, len, b.digest);
    if (rc) {
        rsp_manifest_batch_free(&b);
        return rc;
    }
    b.der = der;
    b.der_len = len;
    b.tbs = tbs.raw;
    b.tbs_len = tbs.raw_len;
    *out = b;
    return 0;
}

int rsp_manifest_batch_sign(const struct rsp_manifest *entries, size_t n, const char *operator_id,
                            int64_t created_at, const struct rsp_key *operator_key,
                            struct rsp_buf *out)
{
    if (!entries || !operator_id || !operator_key || !out)
        return RSP_EINVAL;
    if (n == 0 || n > RSP_MANIFEST_BATCH_MAX_ENTRIES || created_at < 0 ||
        !operator_id_ok(operator_id))
        return RSP_ERANGE;
    struct rsp_buf list = RSP_BUF_INIT, tbs = RSP_BUF_INIT, whole = RSP_BUF_INIT;
    struct rsp_manifest_batch_raw *raw = calloc(n, sizeof *raw);
    size_t *off = calloc(n, sizeof *off);
    int rc = raw && off ? 0 : RSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(entries[i].operator_id, operator_id) != 0) {
            rc = RSP_ESYNTAX;
            break;
        }
        off[i] = list.len;
        rc = rsp_manifest_encode_tbs(&entries[i], &list);
    }
    for (size_t i = 0; rc == 0 && i < n; i++) { /* list.data is final now */
        raw[i].der = list.data + off[i];
        raw[i].len = (i + 1 < n ? off[i + 1] : list.len) - off[i];
    }
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    if (rc == 0)
        rc = batch_encode_tbs(RSP_MANIFEST_VERSION, operator_id, created_at, raw, n, &tbs);
    if (rc == 0)
        rc = rsp_ecdsa_sign(operator_key, tbs.data, tbs.len, sig);
    if (rc == 0) {
        size_t mark = rsp_der_begin(&whole, T_SEQ);
        rsp_buf_append(&whole, tbs.data, tbs.len);
        rsp_der_put(&whole, T_OCTETS, sig, sizeof sig);
        rsp_der_end(&whole, mark);
        rc = whole.err;
    }
    if (rc == 0 && whole.len > RSP_MANIFEST_BATCH_MAX_LEN)
        rc = RSP_ERANGE;
    if (rc == 0) { /* the decoder's rules (distinct ICCIDs, ...) hold for what is handed out */
        struct rsp_manifest_batch chk;
        rc = rsp_manifest_batch_decode(whole.data, whole.len, &chk);
        rsp_manifest_batch_free(&chk);
    }
    if (rc == 0)
        rc = rsp_buf_append(out, whole.data, whole.len);
    free(raw);
    free(off);
    rsp_buf_free(&list);
    rsp_buf_free(&tbs);
    rsp_buf_free(&whole);
    return rc;
}

int rsp_manifest_batch_verify(struct rsp_manifest_batch *b, const struct rsp_key *operator_pub,
                              const char *expect_operator, struct rsp_manifest_refusal *why)
{
    if (!b || !b->tbs || !operator_pub)
        return RSP_EINVAL;
    if (why) {
        why->check = RSP_MANIFEST_OK;
        why->detail[0] = 0;
    }
    b->verified = false;
    int rc = rsp_ecdsa_verify(operator_pub, b->tbs, b->tbs_len, b->signature, sizeof b->signature);
    if (rc == RSP_EVERIFY)
        return refuse(why, RSP_MANIFEST_SIGNATURE,
                      "signature: the batch manifest does not verify with the key of operator %s",
                      expect_operator ? expect_operator : "(configured key)");
    if (rc)
        return rc;
    if (expect_operator && strcmp(expect_operator, b->operator_id) != 0)
        return refuse(why, RSP_MANIFEST_OPERATOR, "operatorId: batch manifest %s, expected %s",
                      b->operator_id, expect_operator);
    b->verified = true;
    return 0;
}

long rsp_manifest_batch_find(const struct rsp_manifest_batch *b, const char *iccid)
{
    if (!b || !iccid)
        return -1;
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(b->entries[b->by_iccid[mid]].iccid, iccid);
        if (d == 0)
            return (long)b->by_iccid[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int record_encode(const uint8_t digest[32], size_t index, const uint8_t *entry,
                         size_t entry_len, struct rsp_buf *out)
{
    size_t mark = rsp_der_begin(out, RSP_MANIFEST_RECORD_TAG);
    rsp_der_put(out, T_OCTETS, digest, 32);
    rsp_der_put_uint(out, T_INT, index);
    rsp_buf_append(out, entry, entry_len);
    rsp_der_end(out, mark);
    return out->err;
}

int rsp_manifest_batch_record(const struct rsp_manifest_batch *b, size_t index, struct rsp_buf *out)
{
    if (!b || !out || index >= b->n)
        return RSP_EINVAL;
    return record_encode(b->digest, index, b->raw[index].der, b->raw[index].len, out);
}

int rsp_manifest_record_decode(const uint8_t *der, size_t len, uint8_t batch_digest[32],
                               size_t *index, struct rsp_manifest *entry)
{
    if (!der || !batch_digest || !index || !entry)
        return RSP_EINVAL;
    if (len > RSP_MANIFEST_MAX_LEN + 64)
        return RSP_ERANGE;
    struct rsp_tlv outer, d, t, tbs;
    struct rsp_der_iter it;
    uint64_t u;
    int rc = rsp_der_parse_tag(der, len, RSP_MANIFEST_RECORD_TAG, &outer);
    if (rc)
        return rc;
    rsp_der_iter_value(&it, &outer);
    if ((rc = rsp_der_req(&it, T_OCTETS, &d)) || (rc = rsp_der_req(&it, T_INT, &t)) ||
        (rc = rsp_der_get_uint(&t, &u)) || (rc = rsp_der_req(&it, T_SEQ, &tbs)) ||
        (rc = rsp_der_finish_strict(&it)))
        return rc;
    if (d.len != 32 || u >= RSP_MANIFEST_BATCH_MAX_ENTRIES)
        return RSP_ERANGE;
    struct rsp_manifest m;
    memset(&m, 0, sizeof m);
    if ((rc = decode_tbs_strict(&tbs, &m)))
        return rc;
    struct rsp_buf again = RSP_BUF_INIT; /* canonical form of the record's own fields */
    rc = record_encode(d.val, (size_t)u, tbs.raw, tbs.raw_len, &again);
    if (rc == 0 && (again.len != len || memcmp(again.data, der, len) != 0))
        rc = RSP_ESYNTAX;
    rsp_buf_free(&again);
    if (rc)
        return rc;
    memcpy(batch_digest, d.val, 32);
    *index = (size_t)u;
    *entry = m;
    return 0;
}

int rsp_inventory_prepare_batch(const uint8_t *pkg, size_t pkg_len,
                                const struct rsp_manifest_batch *b, const char *label,
                                struct rsp_store_import_item *item, struct rsp_buf *record,
                                char *reason, size_t reason_cap)
{
    if (!pkg || !b || !b->verified || !item || !record || !reason || reason_cap == 0)
        return RSP_EINVAL;
    memset(item, 0, sizeof *item);
    reason[0] = 0;
    if (!label)
        label = "-";
    struct rsp_saip_info info;
    int rc = rsp_saip_parse(pkg, pkg_len, &info);
    if (rc) {
        snprintf(reason, reason_cap, "%s: package: not a SAIP package (%s)", label,
                 rsp_strerror(rc));
        item->refused = reason;
        return RSP_EVERIFY;
    }
    long k = rsp_manifest_batch_find(b, info.iccid_str);
    if (k < 0) {
        snprintf(item->profile.iccid, sizeof item->profile.iccid, "%s", info.iccid_str);
        snprintf(reason, reason_cap, "%s: iccid: package ICCID %s is not in the batch manifest",
                 label, info.iccid_str);
        item->refused = reason;
        return RSP_EVERIFY;
    }
    const struct rsp_manifest *m = &b->entries[k];
    uint8_t d[RSP_SHA256_LEN];
    if ((rc = rsp_sha256(pkg, pkg_len, d)))
        return rc;
    const char *fail = NULL;
    char detail[192];
    if (memcmp(d, m->package_sha256, sizeof d) != 0) {
        char hm[2 * RSP_SHA256_LEN + 1], hp[2 * RSP_SHA256_LEN + 1];
        rsp_hex_str(hm, m->package_sha256, sizeof d, 0);
        rsp_hex_str(hp, d, sizeof d, 0);
        fail = "digest";
        snprintf(detail, sizeof detail, "package sha256: manifest %s, package %s", hm, hp);
    } else if (info.imsi_state != RSP_SAIP_PRESENT || strcmp(info.imsi, m->imsi) != 0) {
        fail = "imsi";
        snprintf(detail, sizeof detail, "IMSI: manifest %s, package %s", m->imsi,
                 info.imsi_state == RSP_SAIP_PRESENT ? info.imsi : "has none");
    }
    if (fail) {
        snprintf(item->profile.iccid, sizeof item->profile.iccid, "%s", m->iccid);
        snprintf(reason, reason_cap, "%s: %s: %s", label, fail, detail);
        item->refused = reason;
        return RSP_EVERIFY;
    }
    rsp_buf_reset(record);
    if ((rc = rsp_manifest_batch_record(b, (size_t)k, record)))
        return rc;
    rsp_manifest_to_profile(m, &item->profile);
    item->pkg = pkg;
    item->pkg_len = pkg_len;
    item->manifest = record->data;
    item->manifest_len = record->len;
    item->batch = b->der;
    item->batch_len = b->der_len;
    return 0;
}

/* ---- re-check before binding ---- */

int rsp_inventory_recheck(struct rsp_store *st, const char *iccid, const uint8_t *pkg, size_t len,
                          struct rsp_manifest_refusal *why)
{
    if (!st || !iccid)
        return RSP_EINVAL;
    if (why) {
        why->check = RSP_MANIFEST_OK;
        why->detail[0] = 0;
    }
    struct rsp_profile p;
    int rc = rsp_store_profile_get(st, iccid, &p);
    if (rc)
        return rc;
    struct rsp_buf mbuf = RSP_BUF_INIT, stored = RSP_BUF_INIT;
    struct rsp_manifest m;
    rc = rsp_store_profile_manifest(st, iccid, &mbuf);
    uint8_t batch_digest[32];
    size_t index;
    if (rc == RSP_ENOTFOUND) {
        rc = refuse(why, RSP_MANIFEST_STORED, "profile %s: no manifest stored", iccid);
    } else if (rc == 0 && mbuf.len && mbuf.data[0] == RSP_MANIFEST_RECORD_TAG) {
        /* imported with a batch manifest: its entry, as signed in the batch */
        if (rsp_manifest_record_decode(mbuf.data, mbuf.len, batch_digest, &index, &m) != 0)
            rc =
                refuse(why, RSP_MANIFEST_STORED, "profile %s: stored batch entry malformed", iccid);
    } else if (rc == 0 && rsp_manifest_decode(mbuf.data, mbuf.len, &m) != 0) {
        rc = refuse(why, RSP_MANIFEST_STORED, "profile %s: stored manifest malformed", iccid);
    }
    if (rc) {
        /* refused or failed above */
    } else if (strcmp(m.iccid, iccid) != 0 ||
               memcmp(m.package_sha256, p.package_sha256, RSP_SHA256_LEN) != 0) {
        rc = refuse(why, RSP_MANIFEST_STORED, "profile %s: row disagrees with its manifest", iccid);
    } else if (!pkg) {
        rc = rsp_store_profile_package(st, iccid, &stored);
        pkg = stored.data;
        len = stored.len;
    }
    if (rc == 0)
        rc = check_package(&m, pkg ? pkg : (const uint8_t *)"", len, why);
    rsp_buf_free(&mbuf);
    rsp_buf_free_secure(&stored);
    return rc;
}
