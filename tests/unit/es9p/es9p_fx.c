/* ES9+ test fixture (see es9p_fx.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es9p_fx.h"
#include "rsp/es2p.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "rsp/sgp22_auth.h"

static unsigned db_seq;

void ef_open(struct ef *f, size_t set)
{
    memset(f, 0, sizeof *f);
    f->set = set;
    snprintf(f->db, sizeof f->db, "%s/es9p-%d-%u.db", tu_tmpdir(), (int)getpid(), db_seq++);
    unlink(f->db);
    assert_int_equal(rsp_store_sqlite_open(f->db, &f->st), 0);
    const struct rsp_pki *pki = fx_pki();
    for (size_t i = 0; i < pki->n; i++) {
        const struct rsp_pki_set *ps = &pki->set[i];
        static const enum rsp_pki_role roles[3] = {RSP_PKI_CI, RSP_PKI_DPAUTH, RSP_PKI_DPPB};
        for (size_t r = 0; r < 3; r++)
            assert_int_equal(rsp_cert_parse(ps->item[roles[r]].cert_der.data,
                                            ps->item[roles[r]].cert_der.len, &f->certs[i][r]),
                             0);
        assert_int_equal(rsp_pki_item_key(&ps->item[RSP_PKI_DPAUTH], &f->keys[i][0]), 0);
        assert_int_equal(rsp_pki_item_key(&ps->item[RSP_PKI_DPPB], &f->keys[i][1]), 0);
        f->creds[i] = (struct rsp_es9p_creds){f->certs[i][0], f->certs[i][1], f->keys[i][0],
                                              f->certs[i][2], f->keys[i][1]};
    }
    /* only the set under test, so that its curve is the one used */
    f->cfg.host = FX_SMDP_ADDR;
    f->cfg.creds = &f->creds[set];
    f->cfg.n_creds = 1;
    f->cfg.session_lifetime = 600;
    /* the profiles' owner, with a callback: notification points are queued in the outbox */
    static struct rsp_es2p_operator op1 = {.id = "op1", .callback_url = "http://127.0.0.1:9/hdpi"};
    f->cfg.operators = &op1;
    f->cfg.n_operators = 1;
    f->e = fx_euicc(set, NULL, NULL);
    rsp_buf_init(&f->auth_server_resp);
    rsp_buf_init(&f->pd_resp);
    rsp_buf_init(&f->bpp);
    rsp_buf_init(&f->pir);
    ef_insert_profile(f, EF_ICCID, EF_MID, "");
}

void ef_close(struct ef *f)
{
    rsp_euicc_free(f->e);
    rsp_store_close(f->st);
    unlink(f->db);
    for (size_t i = 0; i < 2; i++) {
        for (size_t r = 0; r < 4; r++)
            rsp_cert_free(f->certs[i][r]);
        rsp_key_free(f->keys[i][0]);
        rsp_key_free(f->keys[i][1]);
    }
    rsp_buf_free(&f->auth_server_resp);
    rsp_buf_free(&f->pd_resp);
    rsp_buf_free(&f->bpp);
    rsp_buf_free(&f->pir);
}

void ef_insert_profile(struct ef *f, const char *iccid, const char *mid, const char *eid)
{
    ef_insert_profile_in(f, iccid, mid, eid, RSP_PROFILE_RELEASED);
}

void ef_insert_profile_in(struct ef *f, const char *iccid, const char *mid, const char *eid,
                          enum rsp_profile_state state)
{
    struct rsp_buf upp = RSP_BUF_INIT;
    struct fx_profile fp = {.iccid = iccid};
    fx_upp(&fp, &upp);
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "%s", iccid);
    snprintf(p.imsi, sizeof p.imsi, "001019876543210");
    snprintf(p.profile_type, sizeof p.profile_type, "test");
    snprintf(p.spn, sizeof p.spn, "rspkit");
    snprintf(p.name, sizeof p.name, "Test profile");
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    snprintf(p.owner, sizeof p.owner, "op1");
    assert_int_equal(rsp_sha256(upp.data, upp.len, p.package_sha256), 0);
    p.state = state;
    snprintf(p.eid, sizeof p.eid, "%s", eid);
    snprintf(p.matching_id, sizeof p.matching_id, "%s", mid);
    assert_int_equal(rsp_store_profile_insert(f->st, &p, upp.data, upp.len, "test"), 0);
    rsp_buf_free(&upp);
}

void ef_assert_refused(const struct rsp_es9_response *r, const char *expect)
{
    char got[40];
    if (r->status.status == RSP_ES_SUCCESS)
        snprintf(got, sizeof got, "success");
    else
        snprintf(got, sizeof got, "%s/%s", r->status.code.subject, r->status.code.reason);
    assert_string_equal(got, expect ? expect : "success");
}

int ef_profile_state(struct ef *f, const char *iccid)
{
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(f->st, iccid, &p), 0);
    return p.state;
}

enum rsp_session_state ef_session_state(struct ef *f, const struct rsp_tid *tid)
{
    char hex[33];
    rsp_tid_to_hex(tid, hex);
    struct rsp_session s;
    rsp_session_init(&s);
    assert_int_equal(rsp_store_session_get(f->st, hex, &s), 0);
    enum rsp_session_state st = s.state;
    rsp_session_free(&s);
    return st;
}

/* One ES9+ call: straight to the handler, or as JSON through f->post (the LPA over HTTPS). The
 * typed request is copied shallowly into the union (not freed here). */
static void exchange(struct ef *f, enum rsp_es9_function fn, const void *req,
                     struct rsp_es9_response *rs)
{
    memset(rs, 0, sizeof *rs);
    rs->fn = fn;
    if (!f->post) {
        int rc;
        switch (fn) {
        case RSP_ES9_INITIATE_AUTHENTICATION:
            rc = rsp_es9p_initiate_authentication(&f->cfg, f->st, req, rs);
            break;
        case RSP_ES9_AUTHENTICATE_CLIENT:
            rc = rsp_es9p_authenticate_client(&f->cfg, f->st, req, rs);
            break;
        case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
            rc = rsp_es9p_get_bound_profile_package(&f->cfg, f->st, req, rs);
            break;
        case RSP_ES9_HANDLE_NOTIFICATION:
            rc = rsp_es9p_handle_notification(&f->cfg, f->st, req, rs);
            break;
        default:
            rc = rsp_es9p_cancel_session(&f->cfg, f->st, req, rs);
            break;
        }
        assert_int_equal(rc, 0);
        return;
    }
    struct rsp_es9_request u;
    memset(&u, 0, sizeof u);
    u.fn = fn;
    switch (fn) {
    case RSP_ES9_INITIATE_AUTHENTICATION:
        u.u.initiate_auth = *(const struct rsp_es9_initiate_auth_req *)req;
        break;
    case RSP_ES9_AUTHENTICATE_CLIENT:
        u.u.auth_client = *(const struct rsp_es9_auth_client_req *)req;
        break;
    case RSP_ES9_GET_BOUND_PROFILE_PACKAGE:
        u.u.gbpp = *(const struct rsp_es9_gbpp_req *)req;
        break;
    case RSP_ES9_HANDLE_NOTIFICATION:
        u.u.handle_notification = *(const struct rsp_es9_handle_notification_req *)req;
        break;
    default:
        u.u.cancel_session = *(const struct rsp_es9_cancel_session_req *)req;
        break;
    }
    struct rsp_buf json = RSP_BUF_INIT, body = RSP_BUF_INIT;
    assert_int_equal(rsp_es9_encode_request(&u, &json), 0);
    int http = f->post(f->post_ctx, rsp_es9_function_name(fn), &json, &body);
    if (fn == RSP_ES9_HANDLE_NOTIFICATION && http == 204) {
        assert_int_equal(body.len, 0);
        rs->status.status = RSP_ES_SUCCESS;
    } else {
        assert_int_equal(http, 200);
        assert_int_equal(rsp_es9_decode_response(fn, (const char *)body.data, body.len, rs), 0);
    }
    rsp_buf_free(&json);
    rsp_buf_free(&body);
}

static void cat(struct rsp_buf *b, const struct rsp_buf *part)
{
    assert_int_equal(rsp_buf_append(b, part->data, part->len), 0);
}

void ef_initiate(struct ef *f, const char *expect)
{
    struct rsp_buf r = RSP_BUF_INIT;
    struct rsp_es9_request rq;
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    struct rsp_es9_initiate_auth_req *ia = &rq.u.initiate_auth;
    assert_int_equal(fx_cmd_hex(f->e, "BF2E00", &r), 0);
    assert_int_equal(rsp_es10_challenge_decode(r.data, r.len, ia->euicc_challenge), 0);
    assert_int_equal(fx_cmd_hex(f->e, "BF2000", &r), 0);
    assert_int_equal(rsp_buf_set(&ia->euicc_info1, r.data, r.len), 0);
    snprintf(ia->smdp_address, sizeof ia->smdp_address, "%s", FX_SMDP_ADDR);
    struct rsp_es9_response rs;
    exchange(f, RSP_ES9_INITIATE_AUTHENTICATION, ia, &rs);
    ef_assert_refused(&rs, expect);
    if (!expect) {
        const struct rsp_es9_initiate_auth_resp *o = &rs.u.initiate_auth;
        f->tid = o->transaction_id;
        /* the LPA: AuthenticateServer from the blobs and its ctxParams1 */
        struct rsp_buf body = RSP_BUF_INIT;
        cat(&body, &o->server_signed1);
        cat(&body, &o->server_signature1);
        cat(&body, &o->euicc_ci_pkid);
        cat(&body, &o->server_certificate);
        assert_int_equal(rsp_buf_set(&f->auth_server_resp, body.data, body.len), 0);
        rsp_buf_free(&body);
    }
    rsp_es9_response_free(&rs);
    rsp_es9_request_free(&rq);
    rsp_buf_free(&r);
}

void ef_authenticate(struct ef *f, const char *mid, const char *expect)
{
    /* f->auth_server_resp holds the server blobs; add ctxParams1 and ask the eUICC */
    static const uint8_t tac[4] = {0x35, 0x29, 0x06, 0x11};
    struct rsp_sgp22_ctx_params1 cp;
    memset(&cp, 0, sizeof cp);
    cp.has_matching_id = true;
    cp.matching_id.p = (const uint8_t *)mid;
    cp.matching_id.len = strlen(mid);
    cp.tac.p = tac;
    cp.tac.len = 4;
    struct rsp_buf body = RSP_BUF_INIT, cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    cat(&body, &f->auth_server_resp);
    assert_int_equal(rsp_sgp22_ctx_params1_encode(&cp, &body), 0);
    assert_int_equal(rsp_der_put_header(&cmd, 0xBF38, body.len), 0);
    cat(&cmd, &body);
    assert_int_equal(fx_cmd(f->e, cmd.data, cmd.len, &r), 0);
    if (f->tamper_sig1) {
        struct rsp_sgp22_authenticate_server_response ar;
        assert_int_equal(rsp_sgp22_authenticate_server_response_decode(r.data, r.len, &ar), 0);
        assert_true(ar.ok);
        r.data[(size_t)(ar.euicc_signature1.p - r.data) + 7] ^= 0x04;
    }
    if (f->swap_euicc_cert || f->swap_eum_cert) {
        struct rsp_sgp22_authenticate_server_response ar;
        assert_int_equal(rsp_sgp22_authenticate_server_response_decode(r.data, r.len, &ar), 0);
        assert_true(ar.ok);
        if (f->swap_euicc_cert)
            assert_int_equal(rsp_der_parse_one(f->swap_euicc_cert->data, f->swap_euicc_cert->len,
                                               &ar.euicc_certificate),
                             0);
        if (f->swap_eum_cert)
            assert_int_equal(rsp_der_parse_one(f->swap_eum_cert->data, f->swap_eum_cert->len,
                                               &ar.eum_certificate),
                             0);
        struct rsp_buf swapped = RSP_BUF_INIT;
        assert_int_equal(rsp_sgp22_authenticate_server_response_encode(&ar, &swapped), 0);
        assert_int_equal(rsp_buf_set(&r, swapped.data, swapped.len), 0);
        rsp_buf_free(&swapped);
    }
    assert_int_equal(rsp_buf_set(&f->auth_server_resp, r.data, r.len), 0);

    struct rsp_es9_auth_client_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f->tid;
    assert_int_equal(rsp_buf_set(&rq.authenticate_server_response, r.data, r.len), 0);
    struct rsp_es9_response rs;
    exchange(f, RSP_ES9_AUTHENTICATE_CLIENT, &rq, &rs);
    ef_assert_refused(&rs, expect);
    if (!expect) {
        const struct rsp_es9_auth_client_resp *o = &rs.u.auth_client;
        assert_true(rsp_tid_equal(&o->transaction_id, &f->tid));
        /* PrepareDownload as the LPA builds it (kept for ef_prepare_and_get) */
        rsp_buf_reset(&body);
        cat(&body, &o->smdp_signed2);
        cat(&body, &o->smdp_signature2);
        rsp_buf_reset(&f->pd_resp);
        cat(&f->pd_resp, &body);
        cat(&f->pd_resp, &o->smdp_certificate);
        /* profileMetadata decodes and names our ICCID */
        struct rsp_sgp22_store_metadata_request md;
        assert_int_equal(rsp_sgp22_store_metadata_request_decode(o->profile_metadata.data,
                                                                 o->profile_metadata.len, &md),
                         0);
        assert_int_equal(md.iccid.len, 10);
    }
    rsp_es9_response_free(&rs);
    rsp_buf_free(&rq.authenticate_server_response);
    rsp_buf_free(&body);
    rsp_buf_free(&cmd);
    rsp_buf_free(&r);
}

void ef_prepare_and_get(struct ef *f, const char *cc, const char *expect)
{
    /* f->pd_resp: smdpSigned2 || smdpSignature2 || smdpCertificate; hashCc goes before the cert */
    struct rsp_der_iter it;
    struct rsp_tlv s2, sig2, cert;
    rsp_der_iter_init(&it, f->pd_resp.data, f->pd_resp.len);
    assert_int_equal(rsp_der_next(&it, &s2), 1);
    assert_int_equal(rsp_der_next(&it, &sig2), 1);
    assert_int_equal(rsp_der_next(&it, &cert), 1);
    struct rsp_buf body = RSP_BUF_INIT, cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    assert_int_equal(rsp_buf_append(&body, s2.raw, s2.raw_len + sig2.raw_len), 0);
    if (cc) {
        uint8_t h[32];
        assert_int_equal(rsp_hash_cc(cc, strlen(cc), &f->tid, h), 0);
        assert_int_equal(rsp_der_put(&body, 0x04, h, 32), 0);
    }
    assert_int_equal(rsp_buf_append(&body, cert.raw, cert.raw_len), 0);
    assert_int_equal(rsp_der_put_header(&cmd, 0xBF21, body.len), 0);
    cat(&cmd, &body);
    assert_int_equal(fx_cmd(f->e, cmd.data, cmd.len, &r), 0);

    struct rsp_es9_gbpp_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f->tid;
    assert_int_equal(rsp_buf_set(&rq.prepare_download_response, r.data, r.len), 0);
    struct rsp_es9_response rs;
    exchange(f, RSP_ES9_GET_BOUND_PROFILE_PACKAGE, &rq, &rs);
    ef_assert_refused(&rs, expect);
    rsp_buf_reset(&f->bpp);
    if (!expect)
        cat(&f->bpp, &rs.u.gbpp.bound_profile_package);
    /* keep the PrepareDownloadResponse for replays */
    assert_int_equal(rsp_buf_set(&f->pd_resp, r.data, r.len), 0);
    rsp_es9_response_free(&rs);
    rsp_buf_free(&rq.prepare_download_response);
    rsp_buf_free(&body);
    rsp_buf_free(&cmd);
    rsp_buf_free(&r);
}

void ef_install(struct ef *f)
{
    static struct fx_segs segs;
    memset(&segs, 0, sizeof segs);
    fx_split(&f->bpp, &segs);
    size_t sent = 0;
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_send(f->e, &segs, &r, &sent), 0);
    assert_int_equal(rsp_buf_set(&f->pir, r.data, r.len), 0);
    rsp_buf_free(&r);
}

void ef_notify(struct ef *f)
{
    struct rsp_es9_handle_notification_req rq;
    memset(&rq, 0, sizeof rq);
    assert_int_equal(rsp_buf_set(&rq.pending_notification, f->pir.data, f->pir.len), 0);
    struct rsp_es9_response rs;
    exchange(f, RSP_ES9_HANDLE_NOTIFICATION, &rq, &rs);
    ef_assert_refused(&rs, NULL);
    rsp_buf_free(&rq.pending_notification);
}

void ef_cancel(struct ef *f, int64_t reason, const char *expect)
{
    struct rsp_sgp22_cancel_session_request cq;
    memset(&cq, 0, sizeof cq);
    cq.transaction_id.p = f->tid.b;
    cq.transaction_id.len = f->tid.len;
    cq.reason = reason;
    struct rsp_buf cmd = RSP_BUF_INIT, r = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_cancel_session_request_encode(&cq, &cmd), 0);
    assert_int_equal(fx_cmd(f->e, cmd.data, cmd.len, &r), 0);
    ef_cancel_with(f, &r, expect);
    rsp_buf_free(&cmd);
    rsp_buf_free(&r);
}

void ef_cancel_with(struct ef *f, const struct rsp_buf *euicc_resp, const char *expect)
{
    struct rsp_es9_cancel_session_req rq;
    memset(&rq, 0, sizeof rq);
    rq.transaction_id = f->tid;
    assert_int_equal(rsp_buf_set(&rq.cancel_session_response, euicc_resp->data, euicc_resp->len),
                     0);
    struct rsp_es9_response rs;
    exchange(f, RSP_ES9_CANCEL_SESSION, &rq, &rs);
    ef_assert_refused(&rs, expect);
    rsp_es9_response_free(&rs);
    rsp_buf_free(&rq.cancel_session_response);
}
