/* Software eUICC: configuration, command dispatch (SGP.22 §5.7.2 status words) and the shared
 * profile / notification helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "euicc_int.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"

__attribute__((format(printf, 3, 4))) static void set_detail(char *d, size_t n, const char *fmt,
                                                             ...)
{
    if (!d || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, n, fmt, ap);
    va_end(ap);
}

time_t euicc_now(const struct rsp_euicc *e)
{
    return e->clock ? e->clock(e->clock_ctx) : time(NULL);
}

int euicc_save(struct rsp_euicc *e)
{
    if (!e->state_path)
        return 0;
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = state_serialize(e, &b);
    if (rc == 0)
        rc = state_write_file(e->state_path, b.data, b.len);
    rsp_buf_free_secure(&b);
    return rc;
}

int euicc_notif_add(struct rsp_euicc *e, uint64_t seq, uint32_t pmo, const uint8_t *p, size_t n)
{
    if (e->n_notifs == RSP_EUICC_MAX_NOTIFS) {
        /* §2.5.6: no room -> drop the lowest sequence numbers first. */
        rsp_buf_free(&e->notifs[0].pending);
        memmove(&e->notifs[0], &e->notifs[1], (e->n_notifs - 1) * sizeof e->notifs[0]);
        e->n_notifs--;
    }
    struct euicc_notif *nt = &e->notifs[e->n_notifs];
    memset(nt, 0, sizeof *nt);
    nt->seq = seq;
    nt->pmo = pmo;
    int rc = rsp_buf_set(&nt->pending, p, n);
    if (rc != 0) {
        rsp_buf_free(&nt->pending);
        return rc;
    }
    e->n_notifs++;
    return 0;
}

void euicc_profile_clear(struct euicc_profile *p)
{
    rsp_buf_free(&p->metadata);
    memset(p, 0, sizeof *p);
}

struct euicc_profile *euicc_profile_by_iccid(struct rsp_euicc *e, const struct rsp_iccid *iccid)
{
    for (size_t i = 0; i < e->n_profiles; i++)
        if (!memcmp(e->profiles[i].iccid.b, iccid->b, RSP_ICCID_LEN))
            return &e->profiles[i];
    return NULL;
}

struct euicc_profile *euicc_profile_by_id(struct rsp_euicc *e, const struct rsp_es10_profile_id *id)
{
    if (id->kind == RSP_ES10_BY_ICCID)
        return euicc_profile_by_iccid(e, &id->iccid);
    for (size_t i = 0; i < e->n_profiles; i++)
        if (id->aid.len == sizeof e->profiles[i].aid &&
            !memcmp(id->aid.p, e->profiles[i].aid, id->aid.len))
            return &e->profiles[i];
    return NULL;
}

void euicc_drop_kept_key(struct rsp_euicc *e)
{
    rsp_key_free(e->kept_otsk);
    e->kept_otsk = NULL;
    memset(e->kept_otpk, 0, sizeof e->kept_otpk);
    memset(e->kept_dp_oid, 0, sizeof e->kept_dp_oid);
    e->kept_dp_oid_len = 0;
}

int euicc_cert_tlv(const struct rsp_cert *c, struct rsp_tlv *t)
{
    const uint8_t *der;
    size_t n;
    int rc = rsp_cert_der(c, &der, &n);
    return rc ? rc : rsp_der_parse_one(der, n, t);
}

static void copy_addr(char *dst, const char *src, const char *dflt)
{
    const char *s = src ? src : dflt;
    snprintf(dst, EUICC_ADDR_MAX + 1, "%s", s ? s : "");
}

static int load_config(struct rsp_euicc *e, const struct rsp_euicc_config *c, char *d, size_t dn)
{
    int rc;
    if (!c->sk_euicc.p || !c->cert_euicc.p || !c->cert_eum.p || c->n_ci == 0 ||
        c->n_ci > RSP_EUICC_MAX_CI) {
        set_detail(d, dn, "config: SK.EUICC, CERT.EUICC, CERT.EUM and 1..%d CI certificates needed",
                   RSP_EUICC_MAX_CI);
        return RSP_EINVAL;
    }
    if ((rc = rsp_key_from_private(c->sk_euicc.p, c->sk_euicc.len, &e->sk)) != 0) {
        set_detail(d, dn, "SK.EUICC: %s", rsp_strerror(rc));
        return rc;
    }
    if ((rc = rsp_cert_parse(c->cert_euicc.p, c->cert_euicc.len, &e->cert_euicc)) != 0 ||
        (rc = rsp_cert_parse(c->cert_eum.p, c->cert_eum.len, &e->cert_eum)) != 0) {
        set_detail(d, dn, "CERT.EUICC / CERT.EUM: %s", rsp_strerror(rc));
        return rc;
    }
    /* The key must be the one certified in CERT.EUICC. */
    struct rsp_key *pub = NULL;
    uint8_t a[RSP_EC_POINT_LEN], b[RSP_EC_POINT_LEN];
    rc = rsp_cert_pubkey(e->cert_euicc, &pub);
    if (rc == 0)
        rc = rsp_key_point(pub, a);
    if (rc == 0)
        rc = rsp_key_point(e->sk, b);
    rsp_key_free(pub);
    if (rc == 0 && memcmp(a, b, sizeof a) != 0)
        rc = RSP_EKEY;
    if (rc != 0) {
        set_detail(d, dn, "SK.EUICC does not match CERT.EUICC");
        return rc;
    }
    for (size_t i = 0; i < c->n_ci; i++) {
        if ((rc = rsp_cert_parse(c->ci[i].p, c->ci[i].len, &e->ci[i])) != 0) {
            set_detail(d, dn, "CI certificate %zu: %s", i, rsp_strerror(rc));
            return rc;
        }
        e->n_ci++;
        if ((rc = rsp_cert_ski(e->ci[i], e->ci_ski[i])) != 0) {
            set_detail(d, dn, "CI certificate %zu: no SKI", i);
            return rc;
        }
    }
    if ((rc = rsp_cert_aki(e->cert_eum, e->sign_pkid)) != 0) {
        set_detail(d, dn, "CERT.EUM: no AKI");
        return rc;
    }
    char eid[RSP_EID_DIGITS + 1];
    if (c->eid)
        snprintf(eid, sizeof eid, "%s", c->eid);
    else if ((rc = rsp_cert_eid(e->cert_euicc, eid)) != 0) {
        set_detail(d, dn, "CERT.EUICC: no EID");
        return rc;
    }
    if ((rc = rsp_eid_from_str(eid, &e->eid)) != 0) {
        set_detail(d, dn, "EID %s: %s", eid, rsp_strerror(rc));
        return rc;
    }
    static const uint8_t svn_def[3] = {2, 2, 0}, pv_def[3] = {2, 3, 0}, fw_def[3] = {1, 0, 0};
    static const uint8_t zero[3] = {0, 0, 0};
    memcpy(e->svn, memcmp(c->svn, zero, 3) ? c->svn : svn_def, 3);
    memcpy(e->profile_version, memcmp(c->profile_version, zero, 3) ? c->profile_version : pv_def,
           3);
    memcpy(e->firmware_version, memcmp(c->firmware_version, zero, 3) ? c->firmware_version : fw_def,
           3);
    e->nvm_bytes = c->nvm_bytes ? c->nvm_bytes : (size_t)1 << 20;
    e->rsp_capability = c->rsp_capability
                            ? c->rsp_capability
                            : (RSP_CAP_ADDITIONAL_PROFILE | RSP_CAP_TEST_PROFILE_SUPPORT);
    copy_addr(e->initial_default_dp, c->default_dp, NULL);
    copy_addr(e->default_dp, c->default_dp, NULL);
    copy_addr(e->root_ds, c->root_ds, "lpa.ds.gsma.com");
    if (c->state_path && !(e->state_path = strdup(c->state_path)))
        return RSP_ENOMEM;
    e->clock = c->clock;
    e->clock_ctx = c->clock_ctx;
    if (c->fixed_challenge) {
        e->has_fixed_challenge = true;
        memcpy(e->fixed_challenge, c->fixed_challenge, 16);
    }
    e->faults = c->faults;
    if (c->test_hooks && (!c->test_hooks->otpk) != (!c->test_hooks->z)) {
        set_detail(d, dn, "%s", "test hooks: otpk and z go together");
        return RSP_EINVAL;
    }
    rsp_euicc_set_test_hooks(e, c->test_hooks);
    return 0;
}

int rsp_euicc_new(const struct rsp_euicc_config *cfg, struct rsp_euicc **out, char *detail,
                  size_t detail_len)
{
    if (!cfg || !out)
        return RSP_EINVAL;
    *out = NULL;
    set_detail(detail, detail_len, "%s", "");
    struct rsp_euicc *e = calloc(1, sizeof *e);
    if (!e)
        return RSP_ENOMEM;
    int rc = load_config(e, cfg, detail, detail_len);
    if (rc == 0 && e->state_path) {
        struct rsp_buf b = RSP_BUF_INIT;
        rc = state_read_file(e->state_path, &b);
        if (rc == RSP_ENOTFOUND) {
            rc = 0;
        } else if (rc != 0) {
            set_detail(detail, detail_len, "state file %s: cannot read it", e->state_path);
        } else {
            rc = state_parse(e, b.data, b.len, detail, detail_len);
        }
        rsp_buf_free_secure(&b);
    }
    if (rc != 0) {
        rsp_euicc_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void rsp_euicc_free(struct rsp_euicc *e)
{
    if (!e)
        return;
    es10b_session_discard(e);
    rsp_key_free(e->kept_otsk);
    for (size_t i = 0; i < e->n_profiles; i++)
        euicc_profile_clear(&e->profiles[i]);
    for (size_t i = 0; i < e->n_notifs; i++)
        rsp_buf_free(&e->notifs[i].pending);
    rsp_key_free(e->sk);
    rsp_cert_free(e->cert_euicc);
    rsp_cert_free(e->cert_eum);
    for (size_t i = 0; i < e->n_ci; i++)
        rsp_cert_free(e->ci[i]);
    free(e->state_path);
    rsp_memzero(e, sizeof *e);
    free(e);
}

int rsp_euicc_state_serialize(const struct rsp_euicc *e, struct rsp_buf *out)
{
    if (!e || !out)
        return RSP_EINVAL;
    return state_serialize(e, out);
}

static int fault_num(const char *v, size_t n, unsigned long max, unsigned long *out)
{
    if (n == 0 || n > 7)
        return -1;
    unsigned long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (unsigned long)(v[i] - '0');
    }
    if (x > max)
        return -1;
    *out = x;
    return 0;
}

int rsp_euicc_faults_parse(const char *spec, struct rsp_euicc_faults *f, char *err, size_t err_len)
{
    if (!spec || !f)
        return RSP_EINVAL;
    struct rsp_euicc_faults n = *f;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t kl = eq ? (size_t)(eq - p) : len;
        const char *v = eq ? eq + 1 : NULL;
        size_t vl = eq ? len - kl - 1 : 0;
        unsigned long x = 0;
#define KEY(s) (kl == sizeof(s) - 1 && !memcmp(p, s, kl))
        if (KEY("tear-at-segment") && v && fault_num(v, vl, 100000, &x) == 0 && x > 0)
            n.tear_at_segment = (unsigned)x;
        else if (KEY("fail-at-segment") && v && fault_num(v, vl, 100000, &x) == 0 && x > 0)
            n.fail_at_segment = (unsigned)x;
        else if (KEY("fail-reason") && v && fault_num(v, vl, 127, &x) == 0 && x > 0)
            n.fail_reason = (int)x;
        else if (KEY("delay-ms") && v && fault_num(v, vl, 600000, &x) == 0)
            n.delay_ms = (unsigned)x;
        else if (KEY("bad-signature") && v && fault_num(v, vl, 2, &x) == 0 && x > 0)
            n.bad_signature = (unsigned)x;
        else if (KEY("insufficient-memory") && !v)
            n.insufficient_memory = true;
        else {
            set_detail(err, err_len,
                       "bad fault '%.*s' (tear-at-segment=N, fail-at-segment=N, "
                       "fail-reason=1..127, insufficient-memory, delay-ms=N, "
                       "bad-signature=1|2)",
                       (int)len, p);
            return RSP_ESYNTAX;
        }
#undef KEY
        p += len;
        if (*p == ',')
            p++;
    }
    *f = n;
    return 0;
}

void rsp_euicc_set_faults(struct rsp_euicc *e, const struct rsp_euicc_faults *f)
{
    if (e && f)
        e->faults = *f;
}

void rsp_euicc_set_test_hooks(struct rsp_euicc *e, const struct rsp_euicc_test_hooks *h)
{
    if (!e)
        return;
    e->hook_sig1 = h && h->euicc_sig1;
    e->hook_otpk = h && h->otpk && h->z;
    if (e->hook_sig1)
        memcpy(e->hook_euicc_sig1, h->euicc_sig1, RSP_ECDSA_SIG_LEN);
    if (e->hook_otpk) {
        memcpy(e->hook_otpk_pt, h->otpk, RSP_EC_POINT_LEN);
        memcpy(e->hook_z, h->z, RSP_ECKA_Z_LEN);
    } else {
        rsp_memzero(e->hook_z, sizeof e->hook_z);
    }
}

bool rsp_euicc_torn(const struct rsp_euicc *e)
{
    return e && e->torn;
}

void rsp_euicc_power_cycle(struct rsp_euicc *e)
{
    if (!e)
        return;
    es10b_session_discard(e);
    if (e->torn)
        e->faults.tear_at_segment = 0;
    e->torn = false;
}

int rsp_euicc_state_load(struct rsp_euicc *e, const uint8_t *p, size_t n, char *detail,
                         size_t detail_len)
{
    if (!e || (!p && n))
        return RSP_EINVAL;
    es10b_session_discard(e);
    e->torn = false;
    state_clear(e);
    return state_parse(e, p, n, detail, detail_len);
}

typedef int (*es10_fn)(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);

static const struct {
    rsp_tag tag;
    es10_fn fn;
} es10_table[] = {
    {0xBF2E, es10b_get_euicc_challenge},      /* §5.7.7 */
    {0xBF20, es10b_get_euicc_info1},          /* §5.7.8 */
    {0xBF22, es10b_get_euicc_info2},          /* §5.7.8 */
    {0xBF38, es10b_authenticate_server},      /* §5.7.13 */
    {0xBF21, es10b_prepare_download},         /* §5.7.5 */
    {0xBF41, es10b_cancel_session},           /* §5.7.14 */
    {0xBF28, es10b_list_notification},        /* §5.7.9 */
    {0xBF2B, es10b_retrieve_notifications},   /* §5.7.10 */
    {0xBF30, es10b_remove_notification},      /* §5.7.11 */
    {0xBF43, es10b_get_rat},                  /* §5.7.22 */
    {0xBF3C, es10a_get_configured_addresses}, /* §5.7.3 */
    {0xBF3F, es10a_set_default_dp_address},   /* §5.7.4 */
    {0xBF2D, es10c_get_profiles_info},        /* §5.7.15 */
    {0xBF31, es10c_enable_profile},           /* §5.7.16 */
    {0xBF32, es10c_disable_profile},          /* §5.7.17 */
    {0xBF33, es10c_delete_profile},           /* §5.7.18 */
    {0xBF34, es10c_memory_reset},             /* §5.7.19 */
    {0xBF3E, es10c_get_eid},                  /* §5.7.20 */
    {0xBF29, es10c_set_nickname},             /* §5.7.21 */
};

static bool is_decode_error(int rc)
{
    return rc == RSP_ETRUNC || rc == RSP_EBADLEN || rc == RSP_EBADTAG || rc == RSP_EUNEXPECTED ||
           rc == RSP_EMISSING || rc == RSP_ERANGE || rc == RSP_ETRAILING || rc == RSP_EDEPTH ||
           rc == RSP_ESYNTAX;
}

int rsp_euicc_process(void *euicc, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_euicc *e = euicc;
    if (!e || (!cmd && len) || !resp)
        return RSP_EINVAL;
    if (e->torn)
        return RSP_EIO;
    if (e->faults.delay_ms) {
        struct timespec ts = {.tv_sec = e->faults.delay_ms / 1000,
                              .tv_nsec = (long)(e->faults.delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    rsp_tag tag;
    size_t hl, vl;
    if (rsp_der_parse_header(cmd, len, &tag, &hl, &vl) != 0)
        return RSP_SW_WRONG_DATA;
    size_t start = resp->len;
    int rc;
    if (install_is_bpp_tag(tag)) {
        rc = install_load_bpp(e, cmd, len, resp);
    } else {
        struct rsp_tlv t;
        if (rsp_der_parse_one(cmd, len, &t) != 0)
            return RSP_SW_WRONG_DATA;
        rc = RSP_SW_REF_NOT_FOUND;
        for (size_t i = 0; i < sizeof es10_table / sizeof es10_table[0]; i++)
            if (es10_table[i].tag == tag) {
                rc = es10_table[i].fn(e, cmd, len, resp);
                break;
            }
    }
    if (rc != 0)
        resp->len = start;
    if (is_decode_error(rc))
        return RSP_SW_WRONG_DATA;
    return rc;
}
