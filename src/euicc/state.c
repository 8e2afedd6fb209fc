/* Persistent state of the software eUICC: a DER image of our own definition, written atomically
 * (temporary file, fsync, rename, fsync of the directory).
 *
 *   EuiccState ::= SEQUENCE {
 *     version [0] INTEGER (1), eid [8] OCTET STRING (16), nextSeq [1] INTEGER,
 *     nextAid [2] INTEGER,
 *     defaultDp [3] UTF8String,
 *     profiles [4] SEQUENCE OF SEQUENCE {
 *       iccid [0] OCTET STRING (10), aid [1] OCTET STRING (16), state [2] INTEGER (0|1),
 *       nickname [3] UTF8String OPTIONAL, imsi [4] UTF8String, uppHash [5] OCTET STRING (32),
 *       uppLen [6] INTEGER, dpOid [7] OCTET STRING, metadata StoreMetadataRequest (BF25) },
 *     notifications [5] SEQUENCE OF SEQUENCE {
 *       seq [0] INTEGER, pmo [1] INTEGER, pending PendingNotification (BF37 | 30) },
 *     keptKey [6] SEQUENCE { otSK [0] OCTET STRING (PKCS#8 PEM), otPK [1] OCTET STRING (65),
 *       dpOid [2] OCTET STRING } OPTIONAL }
 *
 * The loader checks every value (sizes, ranges, one enabled profile at most, decodable metadata
 * and notifications, the key matching its point) and refuses the whole file otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "euicc_int.h"
#include "rsp/err.h"
#include "rsp/fileio.h"

#define STATE_VERSION 1

int state_serialize(const struct rsp_euicc *e, struct rsp_buf *out)
{
    size_t m = rsp_der_begin(out, 0x30);
    rsp_der_put_uint(out, 0x80, STATE_VERSION);
    rsp_der_put(out, 0x88, e->eid.b, RSP_EID_LEN);
    rsp_der_put_uint(out, 0x81, e->next_seq);
    rsp_der_put_uint(out, 0x82, e->next_aid);
    rsp_der_put(out, 0x83, e->default_dp, strlen(e->default_dp));
    size_t mp = rsp_der_begin(out, 0xA4);
    for (size_t i = 0; i < e->n_profiles; i++) {
        const struct euicc_profile *p = &e->profiles[i];
        size_t q = rsp_der_begin(out, 0x30);
        rsp_der_put(out, 0x80, p->iccid.b, RSP_ICCID_LEN);
        rsp_der_put(out, 0x81, p->aid, sizeof p->aid);
        rsp_der_put_uint(out, 0x82, (uint64_t)p->state);
        if (p->has_nickname)
            rsp_der_put(out, 0x83, p->nickname, p->nickname_len);
        rsp_der_put(out, 0x84, p->imsi, strlen(p->imsi));
        rsp_der_put(out, 0x85, p->upp_hash, sizeof p->upp_hash);
        rsp_der_put_uint(out, 0x86, p->upp_len);
        rsp_der_put(out, 0x87, p->dp_oid, p->dp_oid_len);
        rsp_buf_append(out, p->metadata.data, p->metadata.len);
        rsp_der_end(out, q);
    }
    rsp_der_end(out, mp);
    size_t mn = rsp_der_begin(out, 0xA5);
    for (size_t i = 0; i < e->n_notifs; i++) {
        const struct euicc_notif *nt = &e->notifs[i];
        size_t q = rsp_der_begin(out, 0x30);
        rsp_der_put_uint(out, 0x80, nt->seq);
        rsp_der_put_uint(out, 0x81, nt->pmo);
        rsp_buf_append(out, nt->pending.data, nt->pending.len);
        rsp_der_end(out, q);
    }
    rsp_der_end(out, mn);
    if (e->kept_otsk) {
        struct rsp_buf pem = RSP_BUF_INIT;
        int rc = rsp_key_export_private_pem(e->kept_otsk, &pem);
        if (rc != 0) {
            rsp_buf_free_secure(&pem);
            return rc;
        }
        size_t q = rsp_der_begin(out, 0xA6);
        rsp_der_put(out, 0x80, pem.data, pem.len);
        rsp_der_put(out, 0x81, e->kept_otpk, sizeof e->kept_otpk);
        rsp_der_put(out, 0x82, e->kept_dp_oid, e->kept_dp_oid_len);
        rsp_der_end(out, q);
        rsp_buf_free_secure(&pem);
    }
    return rsp_der_end(out, m);
}

/* ---- loading ------------------------------------------------------------------------------- */

struct loader {
    char *detail;
    size_t detail_len;
};

__attribute__((format(printf, 2, 3))) static int bad(struct loader *ld, const char *fmt, ...)
{
    if (ld->detail && ld->detail_len) {
        int k = snprintf(ld->detail, ld->detail_len, "corrupt state file: ");
        va_list ap;
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < ld->detail_len)
            vsnprintf(ld->detail + k, ld->detail_len - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return RSP_ESYNTAX;
}

static int get_uint(struct rsp_der_iter *it, rsp_tag tag, uint64_t max, uint64_t *v)
{
    struct rsp_tlv t;
    if (rsp_der_req(it, tag, &t) != 0 || rsp_der_get_uint(&t, v) != 0 || *v > max)
        return -1;
    return 0;
}

static int get_bytes(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                     struct rsp_tlv *t)
{
    if (rsp_der_req(it, tag, t) != 0 || t->len < min || t->len > max)
        return -1;
    return 0;
}

static int load_profile(struct rsp_euicc *e, struct loader *ld, const struct rsp_tlv *seq)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    uint64_t v;
    struct euicc_profile *p = &e->profiles[e->n_profiles];
    memset(p, 0, sizeof *p);
    rsp_der_iter_value(&it, seq);
    if (get_bytes(&it, 0x80, RSP_ICCID_LEN, RSP_ICCID_LEN, &t))
        return bad(ld, "profile %zu: iccid", e->n_profiles);
    memcpy(p->iccid.b, t.val, RSP_ICCID_LEN);
    if (get_bytes(&it, 0x81, 16, 16, &t))
        return bad(ld, "profile %zu: aid", e->n_profiles);
    memcpy(p->aid, t.val, 16);
    if (get_uint(&it, 0x82, 1, &v))
        return bad(ld, "profile %zu: state", e->n_profiles);
    p->state = (int)v;
    int rc = rsp_der_opt(&it, 0x83, &t);
    if (rc < 0 || (rc == 1 && t.len > RSP_ES10_NICKNAME_MAX))
        return bad(ld, "profile %zu: nickname", e->n_profiles);
    if (rc == 1) {
        p->has_nickname = true;
        memcpy(p->nickname, t.val, t.len);
        p->nickname_len = t.len;
    }
    if (get_bytes(&it, 0x84, 0, 15, &t))
        return bad(ld, "profile %zu: imsi", e->n_profiles);
    for (size_t i = 0; i < t.len; i++)
        if (t.val[i] < '0' || t.val[i] > '9')
            return bad(ld, "profile %zu: imsi", e->n_profiles);
    memcpy(p->imsi, t.val, t.len);
    if (get_bytes(&it, 0x85, RSP_SHA256_LEN, RSP_SHA256_LEN, &t))
        return bad(ld, "profile %zu: package hash", e->n_profiles);
    memcpy(p->upp_hash, t.val, RSP_SHA256_LEN);
    if (get_uint(&it, 0x86, UINT32_MAX, &p->upp_len))
        return bad(ld, "profile %zu: package length", e->n_profiles);
    if (get_bytes(&it, 0x87, 0, EUICC_OID_MAX, &t))
        return bad(ld, "profile %zu: SM-DP+ OID", e->n_profiles);
    memcpy(p->dp_oid, t.val, t.len);
    p->dp_oid_len = t.len;
    struct rsp_sgp22_store_metadata_request md;
    if (rsp_der_req(&it, 0xBF25, &t) != 0 ||
        rsp_sgp22_store_metadata_request_decode(t.raw, t.raw_len, &md) != 0 ||
        memcmp(md.iccid.p, p->iccid.b, RSP_ICCID_LEN) != 0 || rsp_der_finish_strict(&it) != 0)
        return bad(ld, "profile %zu: metadata", e->n_profiles);
    if ((rc = rsp_buf_set(&p->metadata, t.raw, t.raw_len)) != 0)
        return rc;
    for (size_t i = 0; i < e->n_profiles; i++)
        if (!memcmp(e->profiles[i].iccid.b, p->iccid.b, RSP_ICCID_LEN) ||
            !memcmp(e->profiles[i].aid, p->aid, 16) ||
            (p->state == RSP_PROFILE_ENABLED && e->profiles[i].state == RSP_PROFILE_ENABLED)) {
            rsp_buf_free(&p->metadata);
            return bad(ld, "profile %zu: duplicate ICCID/AID or two enabled profiles",
                       e->n_profiles);
        }
    e->n_profiles++;
    return 0;
}

static int load_notif(struct rsp_euicc *e, struct loader *ld, const struct rsp_tlv *seq)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    uint64_t seqno, pmo;
    rsp_der_iter_value(&it, seq);
    if (get_uint(&it, 0x80, INT64_MAX, &seqno) || get_uint(&it, 0x81, 0xF, &pmo))
        return bad(ld, "notification %zu: seq/pmo", e->n_notifs);
    struct rsp_sgp22_pending_notification pn;
    if (rsp_der_next(&it, &t) != 1 ||
        rsp_sgp22_pending_notification_decode(t.raw, t.raw_len, &pn) ||
        rsp_der_finish_strict(&it) != 0)
        return bad(ld, "notification %zu: body", e->n_notifs);
    if (seqno >= e->next_seq || (e->n_notifs && seqno <= e->notifs[e->n_notifs - 1].seq))
        return bad(ld, "notification %zu: sequence number", e->n_notifs);
    return euicc_notif_add(e, seqno, (uint32_t)pmo, t.raw, t.raw_len);
}

static int load_kept(struct rsp_euicc *e, struct loader *ld, const struct rsp_tlv *seq)
{
    struct rsp_der_iter it;
    struct rsp_tlv key, pt, oid;
    rsp_der_iter_value(&it, seq);
    if (get_bytes(&it, 0x80, 1, 4096, &key) || get_bytes(&it, 0x81, 65, 65, &pt) ||
        get_bytes(&it, 0x82, 0, EUICC_OID_MAX, &oid) || rsp_der_finish_strict(&it) != 0)
        return bad(ld, "kept key");
    uint8_t chk[RSP_EC_POINT_LEN];
    struct rsp_key *k = NULL;
    if (rsp_key_from_private(key.val, key.len, &k) != 0 || rsp_key_point(k, chk) != 0 ||
        memcmp(chk, pt.val, sizeof chk) != 0) {
        rsp_key_free(k);
        return bad(ld, "kept key does not parse or does not match its point");
    }
    e->kept_otsk = k;
    memcpy(e->kept_otpk, pt.val, sizeof e->kept_otpk);
    memcpy(e->kept_dp_oid, oid.val, oid.len);
    e->kept_dp_oid_len = oid.len;
    return 0;
}

void state_clear(struct rsp_euicc *e)
{
    for (size_t i = 0; i < e->n_profiles; i++)
        euicc_profile_clear(&e->profiles[i]);
    for (size_t i = 0; i < e->n_notifs; i++)
        rsp_buf_free(&e->notifs[i].pending);
    e->n_profiles = e->n_notifs = 0;
    e->next_seq = 0;
    e->next_aid = 0;
    rsp_key_free(e->kept_otsk);
    e->kept_otsk = NULL;
}

static int parse(struct rsp_euicc *e, struct loader *ld, const uint8_t *p, size_t n)
{
    struct rsp_tlv top, t, item;
    struct rsp_der_iter it, li;
    uint64_t v;
    int rc;
    if (rsp_der_parse_tag(p, n, 0x30, &top) != 0)
        return bad(ld, "not a DER SEQUENCE");
    rsp_der_iter_value(&it, &top);
    if (get_uint(&it, 0x80, UINT32_MAX, &v) || v != STATE_VERSION)
        return bad(ld, "unknown version");
    if (get_bytes(&it, 0x88, RSP_EID_LEN, RSP_EID_LEN, &t))
        return bad(ld, "EID");
    if (memcmp(t.val, e->eid.b, RSP_EID_LEN) != 0) {
        char eid[33];
        struct rsp_eid other;
        memcpy(other.b, t.val, RSP_EID_LEN);
        rsp_eid_to_str(&other, eid);
        return bad(ld, "it belongs to the eUICC with EID %s", eid);
    }
    if (get_uint(&it, 0x81, INT64_MAX, &e->next_seq))
        return bad(ld, "nextSeq");
    if (get_uint(&it, 0x82, 0x100, &v))
        return bad(ld, "nextAid");
    e->next_aid = (uint32_t)v;
    if (get_bytes(&it, 0x83, 0, EUICC_ADDR_MAX, &t) || memchr(t.val, 0, t.len))
        return bad(ld, "default SM-DP+ address");
    memcpy(e->default_dp, t.val, t.len);
    e->default_dp[t.len] = 0;
    if (rsp_der_req(&it, 0xA4, &t) != 0)
        return bad(ld, "profiles");
    rsp_der_iter_value(&li, &t);
    while ((rc = rsp_der_next(&li, &item)) == 1) {
        if (item.tag != 0x30 || e->n_profiles == RSP_EUICC_MAX_PROFILES)
            return bad(ld, "profile list");
        if ((rc = load_profile(e, ld, &item)) != 0)
            return rc;
    }
    if (rc < 0)
        return bad(ld, "profile list");
    if (rsp_der_req(&it, 0xA5, &t) != 0)
        return bad(ld, "notifications");
    rsp_der_iter_value(&li, &t);
    while ((rc = rsp_der_next(&li, &item)) == 1) {
        if (item.tag != 0x30 || e->n_notifs == RSP_EUICC_MAX_NOTIFS)
            return bad(ld, "notification list");
        if ((rc = load_notif(e, ld, &item)) != 0)
            return rc;
    }
    if (rc < 0)
        return bad(ld, "notification list");
    if ((rc = rsp_der_opt(&it, 0xA6, &t)) < 0)
        return bad(ld, "kept key");
    if (rc == 1 && (rc = load_kept(e, ld, &t)) != 0)
        return rc;
    if (rsp_der_finish_strict(&it) != 0)
        return bad(ld, "trailing elements");
    for (size_t i = 0; i < e->n_profiles; i++)
        if (e->profiles[i].aid[15] >= e->next_aid)
            return bad(ld, "profile AID beyond nextAid");
    return 0;
}

int state_parse(struct rsp_euicc *e, const uint8_t *p, size_t n, char *detail, size_t detail_len)
{
    struct loader ld = {detail, detail_len};
    int rc = parse(e, &ld, p, n);
    if (rc != 0)
        state_clear(e);
    return rc;
}

/* ---- files (src/ only: lib/ never does I/O) ------------------------------------------------- */

int state_read_file(const char *path, struct rsp_buf *out)
{
    return rsp_file_read(path, out);
}

int state_write_file(const char *path, const uint8_t *p, size_t n)
{
    return rsp_file_write_atomic(path, p, n, 0600);
}
