/* ES9+ handlers driven by an in-process LPA and the software eUICC: full downloads on both
 * curves, refusals with their exact codes (and nothing changed), replays, retries. */
#include <stdio.h>
#include <string.h>

#include "es9p_fx.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_auth.h"

#include <sqlite3.h>

static bool contains(const struct rsp_buf *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->data + i, p, n) == 0)
            return true;
    return false;
}

static size_t count_outbox(struct ef *f)
{
    struct rsp_outbox_item it;
    size_t n = 0;
    while (rsp_store_outbox_next_due(f->st, INT64_MAX, &it) == 0) {
        assert_int_equal(rsp_store_outbox_done(f->st, it.id), 0);
        n++;
    }
    return n;
}

static void full_download(size_t set)
{
    struct ef f;
    ef_open(&f, set);
    ef_initiate(&f, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    ef_authenticate(&f, EF_MID, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    ef_prepare_and_get(&f, NULL, NULL);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_DOWNLOADED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_BPP_BOUND);
    ef_install(&f);
    assert_int_equal(f.pir.data[0], 0xBF);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_FINISHED);
    /* the eUICC lists it */
    struct rsp_buf pl = fx_profiles(f.e);
    struct rsp_iccid ic;
    assert_int_equal(rsp_iccid_from_str(EF_ICCID, &ic), 0);
    assert_true(contains(&pl, ic.b, sizeof ic.b));
    rsp_buf_free(&pl);
    /* ES2+ progress: BPP download and installation */
    assert_int_equal(count_outbox(&f), 2);
    ef_close(&f);
}

static void test_download_nist(void **state)
{
    (void)state;
    full_download(0);
}

static void test_download_brp(void **state)
{
    (void)state;
    full_download(1);
}

/* ---- telemetry (rsp/telemetry.h) ---- */

struct tele_rows {
    struct rsp_tele_series r[64];
    size_t n;
};

static int tele_collect(void *arg, const struct rsp_tele_series *s)
{
    struct tele_rows *t = arg;
    assert_true(t->n < 64);
    t->r[t->n++] = *s;
    return 0;
}

static int64_t tele_count(const struct tele_rows *t, const char *fn, const char *outcome)
{
    int64_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->r[i].fn, fn) == 0 && strcmp(t->r[i].outcome, outcome) == 0)
            n += t->r[i].n;
    return n;
}

/* Every text of the telemetry tables, concatenated (to look for identifiers that must not be
 * there). */
static void tele_text(const char *db, struct rsp_buf *out)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    static const char *const q[] = {
        "SELECT fn||outcome||tid||tac||eum||profile_type||campaign||country FROM tele_call",
        "SELECT tid||tac||eum||profile_type||campaign||country||subject||stage||result"
        " FROM tele_session",
        "SELECT fn||outcome||tac||eum||profile_type||campaign||country FROM tele_series"};
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(h, q[i], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            rsp_buf_append(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    rsp_buf_append_byte(out, 0);
}

/* The fixture's ES9+ calls as JSON through rsp_es9p_handle_json (where telemetry is recorded). */
static int post_json(void *ctx, const char *name, const struct rsp_buf *json, struct rsp_buf *body)
{
    struct ef *f = ctx;
    enum rsp_es9_function fn;
    assert_int_equal(rsp_es9_function_from_name(name, &fn), 0);
    int http = 0;
    assert_int_equal(rsp_es9p_handle_json(&f->cfg, f->st, fn, (const char *)json->data, json->len,
                                          body, &http, NULL),
                     0);
    return http;
}

/* A full download and a refusal: one record per exchange with its outcome, the session events,
 * the cohort labels from verified data (TAC, EUM = EID prefix, profile type), and no EID. */
static void test_telemetry(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    f.post = post_json;
    f.post_ctx = &f;
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "NO-SUCH-MID", "8.2.6/3.8");
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);

    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &p), 0);
    assert_int_equal(strlen(p.eid), 32);
    char eum[9];
    snprintf(eum, sizeof eum, "%.8s", p.eid); /* the EUM label: the EID's issuer prefix */

    struct tele_rows t = {.n = 0};
    assert_int_equal(rsp_store_tele_totals(f.st, tele_collect, &t), 0);
    assert_int_equal(tele_count(&t, "initiateAuthentication", "ok"), 2);
    assert_int_equal(tele_count(&t, "authenticateClient", "ok"), 1);
    assert_int_equal(tele_count(&t, "authenticateClient", "8.2.6/3.8"), 1);
    assert_int_equal(tele_count(&t, "getBoundProfilePackage", "ok"), 1);
    assert_int_equal(tele_count(&t, "handleNotification", "ok"), 1);
    assert_int_equal(tele_count(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_STARTED), 2);
    assert_int_equal(tele_count(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_AUTHENTICATED), 1);
    assert_int_equal(tele_count(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_DOWNLOADED), 1);
    assert_int_equal(tele_count(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_INSTALLED), 1);
    assert_int_equal(tele_count(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_INSTALL_FAIL), 0);

    /* cohorts: the refusal already knows the device (signature verified), not the profile; the
     * PIR's record is the session's (labels from the session row) */
    t.n = 0;
    assert_int_equal(rsp_store_tele_series(f.st, 0, 0, tele_collect, &t), 0);
    bool seen_refusal = false, seen_install = false;
    for (size_t i = 0; i < t.n; i++) {
        const struct rsp_tele_series *x = &t.r[i];
        if (strcmp(x->outcome, "8.2.6/3.8") == 0) {
            seen_refusal = true;
            assert_string_equal(x->labels.tac, "53926011"); /* fixture bytes 35 29 06 11, TBCD */
            assert_string_equal(x->labels.eum, eum);
            assert_string_equal(x->labels.profile_type, "");
        }
        if (strcmp(x->outcome, RSP_TELE_EV_INSTALLED) == 0) {
            seen_install = true;
            assert_string_equal(x->labels.tac, "53926011");
            assert_string_equal(x->labels.eum, eum);
            assert_string_equal(x->labels.profile_type, "test");
        }
    }
    assert_true(seen_refusal && seen_install);
    /* the session row */
    char tid[33];
    rsp_tid_to_hex(&f.tid, tid);
    struct rsp_tele_session ss;
    assert_int_equal(rsp_store_tele_session_get(f.st, tid, &ss), 0);
    assert_string_equal(ss.stage, "handleNotification");
    assert_string_equal(ss.result, RSP_TELE_EV_INSTALLED);
    assert_string_equal(ss.subject, ""); /* no pseudonym key: no subject at all */
    /* no EID anywhere in the telemetry */
    struct rsp_buf text = RSP_BUF_INIT;
    tele_text(f.db, &text);
    assert_null(strstr((const char *)text.data, p.eid));
    assert_non_null(strstr((const char *)text.data, "53926011"));
    rsp_buf_free(&text);
    ef_close(&f);
}

static void test_initiate_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    struct rsp_es9_initiate_auth_req rq;
    memset(&rq, 0, sizeof rq);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(f.e, "BF2000", &r), 0);
    assert_int_equal(rsp_buf_set(&rq.euicc_info1, r.data, r.len), 0);
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    snprintf(rq.smdp_address, sizeof rq.smdp_address, "other.example.com");
    assert_int_equal(rsp_es9p_initiate_authentication(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.8.1/3.8");
    /* only the foreign PKI's credentials: neither list names its CI */
    struct ef g;
    ef_open(&g, 0);
    const struct rsp_pki_set *fs = &fx_foreign_pki()->set[0];
    struct rsp_cert *ci = NULL;
    assert_int_equal(
        rsp_cert_parse(fs->item[RSP_PKI_CI].cert_der.data, fs->item[RSP_PKI_CI].cert_der.len, &ci),
        0);
    struct rsp_es9p_creds cr = g.creds[0];
    cr.ci = ci;
    g.cfg.creds = &cr;
    snprintf(rq.smdp_address, sizeof rq.smdp_address, "%s", FX_SMDP_ADDR);
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    assert_int_equal(rsp_es9p_initiate_authentication(&g.cfg, g.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.8.2/3.1");
    /* signing CI trusted (extra CI list) but no DPauth under a verification CI */
    const struct rsp_cert *trusted[1] = {f.creds[0].ci};
    g.cfg.cis = trusted;
    g.cfg.n_cis = 1;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    assert_int_equal(rsp_es9p_initiate_authentication(&g.cfg, g.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.8.4/3.7");
    rsp_cert_free(ci);
    rsp_buf_free(&rq.euicc_info1);
    rsp_buf_free(&r);
    ef_close(&g);
    ef_close(&f);
}

static void assert_profile_unchanged(struct ef *f, const struct rsp_profile *before)
{
    struct rsp_profile now;
    assert_int_equal(rsp_store_profile_get(f->st, before->iccid, &now), 0);
    assert_int_equal(now.version, before->version);
    assert_int_equal(now.state, before->state);
}

static void test_auth_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &before), 0);
    /* unknown matchingId: refused, session stays Started, profile untouched */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "NO-SUCH-ID", "8.2.6/3.8");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_profile_unchanged(&f, &before);
    /* unknown transactionId */
    struct rsp_tid saved = f.tid;
    ef_initiate(&f, NULL);
    f.tid.b[0] ^= 0xFF;
    ef_authenticate(&f, EF_MID, "8.10.1/3.9");
    f.tid = saved;
    /* stale serverChallenge: session A's eUICC answer sent under session B */
    ef_initiate(&f, NULL);
    struct rsp_tid a = f.tid;
    ef_authenticate(&f, EF_MID, NULL); /* A authenticated */
    struct rsp_buf resp_a = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_set(&resp_a, f.auth_server_resp.data, f.auth_server_resp.len), 0);
    ef_initiate(&f, NULL);
    struct rsp_tid b = f.tid;
    struct rsp_es9_auth_client_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = b;
    rq.authenticate_server_response = resp_a;
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    assert_int_equal(rsp_es9p_authenticate_client(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.10.1/3.9");
    assert_int_equal(ef_session_state(&f, &b), RSP_SESSION_STARTED);
    /* replayed authenticateClient of A */
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &before), 0);
    rq.transaction_id = a;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    assert_int_equal(rsp_es9p_authenticate_client(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.10.1/3.9");
    assert_int_equal(ef_session_state(&f, &a), RSP_SESSION_AUTHENTICATED);
    assert_profile_unchanged(&f, &before);
    rsp_buf_free(&resp_a);
    ef_close(&f);
}

static void test_other_eid_refused(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    char other[33];
    assert_int_equal(rsp_eid_complete("890490321234512345123456789000", other), 0);
    ef_insert_profile(&f, "8949449999999990031", "MID-2", other);
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, "8949449999999990031", &before), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, "MID-2", "8.1.1/3.8");
    assert_profile_unchanged(&f, &before);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    /* a released profile already downloaded by this EID: a second download is refused */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, "8.2.6/3.8");
    ef_close(&f);
}

static void test_gbpp_same_otpk_same_bpp(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    struct rsp_buf first = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_set(&first, f.bpp.data, f.bpp.len), 0);
    struct rsp_es9_gbpp_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f.tid;
    rq.prepare_download_response = f.pd_resp;
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    assert_int_equal(rsp_es9p_get_bound_profile_package(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, NULL);
    assert_int_equal(rs.u.gbpp.bound_profile_package.len, first.len);
    assert_memory_equal(rs.u.gbpp.bound_profile_package.data, first.data, first.len);
    rsp_es9_response_free(&rs);
    /* unknown transactionId */
    rq.transaction_id.b[0] ^= 1;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    assert_int_equal(rsp_es9p_get_bound_profile_package(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.10.1/3.9");
    rsp_buf_free(&first);
    ef_close(&f);
}

static void test_retry_new_session(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    /* the BPP never got installed; the same EID starts a new session while the profile is still
     * Downloaded (no rollback needed: the retry rule of §3.1.3 step 3) */
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_DOWNLOADED);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    /* smdpSigned2 carries bppEuiccOtpk */
    struct rsp_tlv s2t;
    assert_int_equal(rsp_der_parse(f.pd_resp.data, f.pd_resp.len, &s2t), 0);
    struct rsp_sgp22_smdp_signed2 s2;
    assert_int_equal(rsp_sgp22_smdp_signed2_decode(s2t.raw, s2t.raw_len, &s2), 0);
    assert_true(s2.has_bpp_euicc_otpk);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    ef_close(&f);
}

/* A PIR that arrives after the session expired (lost to a crash or the network, sent again by
 * the LPA later): the profile is on the eUICC, so the store records it Installed, also after the
 * sweeper's rollback to Released (found by tests/e2e/crash.sh: the store kept offering a profile
 * that sat on an eUICC). */
static time_t clock_plus_700(void *ctx)
{
    (void)ctx;
    return time(NULL) + 700;
}

static void test_late_pir(void **state)
{
    (void)state;
    /* swept: Expired session, profile rolled back to Released, then the PIR */
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    unsigned n = 0;
    assert_int_equal(rsp_store_sweep_expired(f.st, (int64_t)time(NULL) + 700, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_RELEASED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_EXPIRED);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_EXPIRED);
    /* the same PIR again changes nothing */
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    ef_close(&f);

    /* past its expiry but not swept yet: the session ends Expired, the profile Installed */
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    f.cfg.clock = clock_plus_700;
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_EXPIRED);
    ef_close(&f);
}

static void test_confirmation_code(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 1);
    struct rsp_profile cur, next;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &cur), 0);
    next = cur;
    next.cc_set = true;
    assert_int_equal(rsp_sha256("1234", 4, next.cc_hash), 0);
    next.cc_max_attempts = 2;
    assert_int_equal(rsp_store_profile_update(f.st, &cur, &next, "test", "cc"), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, "9999", "8.2.7/3.8");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &cur), 0);
    assert_int_equal(cur.cc_attempts, 1);
    assert_int_equal(cur.state, RSP_PROFILE_RELEASED);
    /* a new session with the right code */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, "1234", NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    ef_close(&f);
}

static void test_limits(void **state)
{
    (void)state;
    /* confirmation code: one attempt allowed, a wrong code ends the order */
    struct ef f;
    ef_open(&f, 0);
    struct rsp_profile cur, next;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &cur), 0);
    next = cur;
    next.cc_set = true;
    assert_int_equal(rsp_sha256("1234", 4, next.cc_hash), 0);
    next.cc_max_attempts = 1;
    assert_int_equal(rsp_store_profile_update(f.st, &cur, &next, "test", "cc"), 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, "0000", "8.2.7/6.4");
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_ERROR);
    assert_int_equal(count_outbox(&f), 1);
    ef_close(&f);
    /* download attempts: the second authenticateClient of the order is one too many */
    ef_open(&f, 1);
    f.cfg.max_download_attempts = 1;
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, "8.8.5/6.4");
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_ERROR);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_int_equal(count_outbox(&f), 1);
    ef_close(&f);
}

static void signed_cancel(struct ef *f, const char *oid, int64_t reason, struct rsp_buf *out);

static void test_cancel_postponed_then_retry(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    assert_int_equal(count_outbox(&f), 1);
    ef_cancel(&f, RSP_SGP22_CANCEL_POSTPONED, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_CANCELLED);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_RELEASED);
    assert_int_equal(count_outbox(&f), 0);
    /* a later attempt installs */
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_prepare_and_get(&f, NULL, NULL);
    ef_install(&f);
    ef_notify(&f);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_INSTALLED);
    /* a cancelSession after the PIR is accepted and changes nothing */
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &before), 0);
    struct rsp_buf r = RSP_BUF_INIT;
    signed_cancel(&f, RSP_PKI_DEFAULT_SMDP_OID, RSP_SGP22_CANCEL_TIMEOUT, &r);
    ef_cancel_with(&f, &r, NULL);
    rsp_buf_free(&r);
    assert_profile_unchanged(&f, &before);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_FINISHED);
    /* a replayed PIR is ignored (well-formed: success, nothing changes) */
    ef_notify(&f);
    assert_profile_unchanged(&f, &before);
    ef_close(&f);
}

static void test_cancel_end_user_rejection(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 1);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    ef_cancel(&f, RSP_SGP22_CANCEL_END_USER_REJECTION, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_CANCELLED);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_ERROR);
    struct rsp_outbox_item it;
    assert_int_equal(rsp_store_outbox_next_due(f.st, INT64_MAX, &it), 0);
    assert_non_null(strstr(it.body, "\"subjectCode\":\"8.8.5\",\"reasonCode\":\"3.8\""));
    ef_close(&f);
}

/* A CancelSessionResponse signed by the eUICC key over our own EuiccCancelSessionSigned. */
static void signed_cancel(struct ef *f, const char *oid, int64_t reason, struct rsp_buf *out)
{
    struct rsp_buf oidb = RSP_BUF_INIT, sp = RSP_BUF_INIT;
    assert_int_equal(rsp_oid_from_str(&oidb, oid), 0);
    struct rsp_sgp22_euicc_cancel_session_signed cs;
    memset(&cs, 0, sizeof cs);
    cs.transaction_id.p = f->tid.b;
    cs.transaction_id.len = f->tid.len;
    cs.smdp_oid.p = oidb.data;
    cs.smdp_oid.len = oidb.len;
    cs.reason = reason;
    assert_int_equal(rsp_sgp22_euicc_cancel_session_signed_encode(&cs, &sp), 0);
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_pki_item_key(&fx_pki()->set[f->set].item[RSP_PKI_EUICC], &k), 0);
    uint8_t sig[64];
    assert_int_equal(rsp_ecdsa_sign(k, sp.data, sp.len, sig), 0);
    rsp_key_free(k);
    struct rsp_sgp22_cancel_session_response cr;
    memset(&cr, 0, sizeof cr);
    cr.ok = true;
    assert_int_equal(rsp_der_parse_one(sp.data, sp.len, &cr.signed_part.raw), 0);
    cr.signature.p = sig;
    cr.signature.len = 64;
    assert_int_equal(rsp_sgp22_cancel_session_response_encode(&cr, out), 0);
    rsp_buf_free(&oidb);
    rsp_buf_free(&sp);
}

static void test_cancel_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &before), 0);
    struct rsp_buf r = RSP_BUF_INIT;
    /* control: our OID, correctly signed, would be accepted (checked last below) */
    signed_cancel(&f, "2.999.77", RSP_SGP22_CANCEL_END_USER_REJECTION, &r);
    ef_cancel_with(&f, &r, "8.8/3.10");
    /* bad signature */
    rsp_buf_reset(&r);
    signed_cancel(&f, RSP_PKI_DEFAULT_SMDP_OID, RSP_SGP22_CANCEL_END_USER_REJECTION, &r);
    r.data[r.len - 3] ^= 1;
    ef_cancel_with(&f, &r, "8.1/6.1");
    /* unknown transactionId */
    struct rsp_tid saved = f.tid;
    f.tid.b[3] ^= 1;
    ef_cancel_with(&f, &r, "8.10.1/3.9");
    f.tid = saved;
    assert_profile_unchanged(&f, &before);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    rsp_buf_reset(&r);
    signed_cancel(&f, RSP_PKI_DEFAULT_SMDP_OID, RSP_SGP22_CANCEL_TIMEOUT, &r);
    ef_cancel_with(&f, &r, NULL);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_CANCELLED);
    assert_int_equal(ef_profile_state(&f, EF_ICCID), RSP_PROFILE_RELEASED);
    rsp_buf_free(&r);
    ef_close(&f);
}

static void test_signature_refusals(void **state)
{
    (void)state;
    struct ef f;
    ef_open(&f, 0);
    ef_initiate(&f, NULL);
    ef_authenticate(&f, EF_MID, NULL);
    struct rsp_profile before;
    assert_int_equal(rsp_store_profile_get(f.st, EF_ICCID, &before), 0);
    /* tampered euiccSignature2 (last bytes of euiccSignature2 inside BF21) */
    struct rsp_der_iter it;
    struct rsp_tlv s2, sig2, cert;
    rsp_der_iter_init(&it, f.pd_resp.data, f.pd_resp.len);
    assert_int_equal(rsp_der_next(&it, &s2), 1);
    assert_int_equal(rsp_der_next(&it, &sig2), 1);
    assert_int_equal(rsp_der_next(&it, &cert), 1);
    struct rsp_buf body = RSP_BUF_INIT, cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_append(&body, s2.raw, s2.raw_len + sig2.raw_len), 0);
    assert_int_equal(rsp_buf_append(&body, cert.raw, cert.raw_len), 0);
    assert_int_equal(rsp_der_put_header(&cmd, 0xBF21, body.len), 0);
    assert_int_equal(rsp_buf_append(&cmd, body.data, body.len), 0);
    assert_int_equal(fx_cmd(f.e, cmd.data, cmd.len, &r), 0);
    struct rsp_sgp22_prepare_download_response pr;
    assert_int_equal(rsp_sgp22_prepare_download_response_decode(r.data, r.len, &pr), 0);
    assert_true(pr.ok);
    size_t off = (size_t)(pr.euicc_signature2.p - r.data);
    r.data[off + 5] ^= 0x10;
    struct rsp_es9_gbpp_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f.tid;
    rq.prepare_download_response = r;
    struct rsp_es9_response rs;
    memset(&rs, 0, sizeof rs);
    rs.fn = RSP_ES9_GET_BOUND_PROFILE_PACKAGE;
    assert_int_equal(rsp_es9p_get_bound_profile_package(&f.cfg, f.st, &rq, &rs), 0);
    ef_assert_refused(&rs, "8.1/6.1");
    assert_profile_unchanged(&f, &before);
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_AUTHENTICATED);
    rsp_buf_free(&body);
    rsp_buf_free(&cmd);
    rsp_buf_free(&r);

    /* tampered euiccSignature1 in a fresh session */
    ef_initiate(&f, NULL);
    f.tamper_sig1 = true;
    ef_authenticate(&f, EF_MID, "8.1/6.1");
    assert_int_equal(ef_session_state(&f, &f.tid), RSP_SESSION_STARTED);
    assert_profile_unchanged(&f, &before);
    ef_close(&f);
}

static int teardown_all(void **state)
{
    (void)state;
    fx_pki_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_download_nist),
        cmocka_unit_test(test_download_brp),
        cmocka_unit_test(test_initiate_refusals),
        cmocka_unit_test(test_auth_refusals),
        cmocka_unit_test(test_other_eid_refused),
        cmocka_unit_test(test_gbpp_same_otpk_same_bpp),
        cmocka_unit_test(test_retry_new_session),
        cmocka_unit_test(test_confirmation_code),
        cmocka_unit_test(test_cancel_postponed_then_retry),
        cmocka_unit_test(test_cancel_end_user_rejection),
        cmocka_unit_test(test_cancel_refusals),
        cmocka_unit_test(test_signature_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_telemetry),
        cmocka_unit_test(test_late_pir),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
