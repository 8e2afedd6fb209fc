/* Test SM-DP+ and LPA around the software eUICC (see euicc_fx.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_fx.h"
#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"
#include "rsp/smdp_bpp.h"

static struct rsp_pki pki, foreign;
static bool have_pki, have_foreign;

const struct rsp_pki *fx_pki(void)
{
    if (!have_pki) {
        struct rsp_pki_opts o;
        rsp_pki_opts_default(&o);
        o.not_before = time(NULL) - 3600;
        assert_int_equal(rsp_pki_generate(&o, &pki), 0);
        assert_int_equal(pki.n, 2);
        have_pki = true;
    }
    return &pki;
}

const struct rsp_pki *fx_foreign_pki(void)
{
    if (!have_foreign) {
        struct rsp_pki_opts o;
        rsp_pki_opts_default(&o);
        o.not_before = time(NULL) - 3600;
        assert_int_equal(rsp_pki_generate(&o, &foreign), 0);
        have_foreign = true;
    }
    return &foreign;
}

void fx_pki_free(void)
{
    if (have_pki)
        rsp_pki_free(&pki);
    if (have_foreign)
        rsp_pki_free(&foreign);
    have_pki = have_foreign = false;
}

void fx_pki_load(const char *dir)
{
    assert_false(have_pki);
    memset(&pki, 0, sizeof pki);
    static const enum rsp_curve curves[2] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    for (size_t s = 0; s < 2; s++) {
        pki.set[s].curve = curves[s];
        for (int r = 0; r < RSP_PKI_DPTLS; r++) {
            char path[1024];
            const char *cd = rsp_pki_curve_dir(curves[s]), *stem = rsp_pki_role_stem(r);
            snprintf(path, sizeof path, "%s/%s/%s.der", dir, cd, stem);
            pki.set[s].item[r].cert_der = tu_load(path);
            snprintf(path, sizeof path, "%s/%s/%s.key.pem", dir, cd, stem);
            pki.set[s].item[r].key_pem = tu_load(path);
        }
    }
    pki.n = 2;
    have_pki = true;
}

static const struct rsp_pki_item *item(size_t set, enum rsp_pki_role r)
{
    return &fx_pki()->set[set].item[r];
}

static struct rsp_key *key_of(const struct rsp_pki_item *it)
{
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_pki_item_key(it, &k), 0);
    return k;
}

static time_t fixed_now;
static time_t fixed_clock(void *ctx)
{
    (void)ctx;
    return fixed_now;
}

static struct rsp_euicc *make(size_t set, const char *state_path, const struct rsp_euicc_faults *f,
                              time_t now)
{
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = item(set, RSP_PKI_EUICC)->key_pem.data;
    c.sk_euicc.len = item(set, RSP_PKI_EUICC)->key_pem.len;
    c.cert_euicc.p = item(set, RSP_PKI_EUICC)->cert_der.data;
    c.cert_euicc.len = item(set, RSP_PKI_EUICC)->cert_der.len;
    c.cert_eum.p = item(set, RSP_PKI_EUM)->cert_der.data;
    c.cert_eum.len = item(set, RSP_PKI_EUM)->cert_der.len;
    /* both CIs trusted for verification (like a real eUICC with several CIs) */
    for (size_t i = 0; i < fx_pki()->n; i++) {
        c.ci[i].p = fx_pki()->set[i].item[RSP_PKI_CI].cert_der.data;
        c.ci[i].len = fx_pki()->set[i].item[RSP_PKI_CI].cert_der.len;
    }
    c.n_ci = fx_pki()->n;
    c.default_dp = FX_SMDP_ADDR;
    c.state_path = state_path;
    if (f)
        c.faults = *f;
    if (now) {
        fixed_now = now;
        c.clock = fixed_clock;
    }
    struct rsp_euicc *e = NULL;
    char detail[RSP_EUICC_DETAIL_SZ];
    int rc = rsp_euicc_new(&c, &e, detail, sizeof detail);
    if (rc != 0)
        print_message("rsp_euicc_new: %s (%s)\n", rsp_strerror(rc), detail);
    assert_int_equal(rc, 0);
    return e;
}

struct rsp_euicc *fx_euicc(size_t set, const char *state_path, const struct rsp_euicc_faults *f)
{
    return make(set, state_path, f, 0);
}

struct rsp_euicc *fx_euicc_at(size_t set, const char *state_path, time_t now)
{
    return make(set, state_path, NULL, now);
}

static fx_transceive_fn xfn;
static void *xctx;

void fx_set_transceive(fx_transceive_fn fn, void *ctx)
{
    xfn = fn;
    xctx = ctx;
}

int fx_cmd(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    rsp_buf_reset(resp);
    if (xfn)
        return xfn(xctx, cmd, len, resp);
    return rsp_euicc_process(e, cmd, len, resp);
}

int fx_cmd_hex(struct rsp_euicc *e, const char *hex, struct rsp_buf *resp)
{
    struct rsp_buf c = tu_hex(hex);
    int rc = fx_cmd(e, c.data, c.len, resp);
    rsp_buf_free(&c);
    return rc;
}

struct rsp_buf fx_state(struct rsp_euicc *e)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_euicc_state_serialize(e, &b), 0);
    return b;
}

void fx_assert_state(struct rsp_euicc *e, const struct rsp_buf *before)
{
    struct rsp_buf now = fx_state(e);
    assert_int_equal(now.len, before->len);
    assert_memory_equal(now.data, before->data, now.len);
    rsp_buf_free(&now);
}

struct rsp_buf fx_profiles(struct rsp_euicc *e)
{
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(e, "BF2D00", &r), 0);
    return r;
}

static struct rsp_tlv cert_tlv(const struct rsp_pki_item *it)
{
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse_one(it->cert_der.data, it->cert_der.len, &t), 0);
    return t;
}

static void verify_with_cert(const struct rsp_pki_item *it, const uint8_t *msg, size_t n,
                             const uint8_t *sig, size_t sig_len)
{
    struct rsp_cert *c = NULL;
    struct rsp_key *pub = NULL;
    assert_int_equal(rsp_cert_parse(it->cert_der.data, it->cert_der.len, &c), 0);
    assert_int_equal(rsp_cert_pubkey(c, &pub), 0);
    assert_int_equal(rsp_ecdsa_verify(pub, msg, n, sig, sig_len), 0);
    rsp_key_free(pub);
    rsp_cert_free(c);
}

void fx_authenticate(struct rsp_euicc *e, struct fx_dl *dl, const struct fx_auth_opts *o)
{
    static const struct fx_auth_opts none;
    if (!o)
        o = &none;
    struct rsp_buf r = RSP_BUF_INIT;
    size_t set = dl->set;
    assert_int_equal(rsp_random(dl->tid, sizeof dl->tid), 0);
    if (!o->skip_challenge) {
        assert_int_equal(fx_cmd_hex(e, "BF2E00", &r), 0);
        assert_int_equal(rsp_es10_challenge_decode(r.data, r.len, dl->challenge), 0);
    }
    uint8_t ch[16];
    memcpy(ch, dl->challenge, 16);
    if (o->wrong_challenge)
        ch[0] ^= 1;
    const struct rsp_pki_set *ps =
        o->foreign_ci ? &fx_foreign_pki()->set[set] : &fx_pki()->set[set];
    const struct rsp_pki_item *cert = &ps->item[o->cert_role ? o->cert_role : RSP_PKI_DPAUTH];
    struct rsp_key *sk = key_of(cert);
    struct rsp_buf s1 = RSP_BUF_INIT;
    uint8_t sig1[64];
    assert_int_equal(rsp_smdp_server_signed1_build(dl->tid, sizeof dl->tid, ch, FX_SMDP_ADDR, NULL,
                                                   sk, &s1, sig1, NULL),
                     0);
    rsp_key_free(sk);
    if (o->bad_signature)
        sig1[10] ^= 0x40;
    struct rsp_sgp22_authenticate_server_request rq;
    memset(&rq, 0, sizeof rq);
    assert_int_equal(rsp_der_parse_one(s1.data, s1.len, &rq.server_signed1.raw), 0);
    rq.server_signature1.p = sig1;
    rq.server_signature1.len = 64;
    uint8_t pkid[RSP_KEYID_LEN];
    struct rsp_cert *eum = NULL;
    assert_int_equal(rsp_cert_parse(item(set, RSP_PKI_EUM)->cert_der.data,
                                    item(set, RSP_PKI_EUM)->cert_der.len, &eum),
                     0);
    assert_int_equal(rsp_cert_aki(eum, pkid), 0);
    rsp_cert_free(eum);
    if (o->wrong_pkid)
        pkid[0] ^= 1;
    rq.euicc_ci_pkid_to_be_used.p = pkid;
    rq.euicc_ci_pkid_to_be_used.len = sizeof pkid;
    rq.server_certificate = cert_tlv(cert);
    static const uint8_t tac[4] = {0x35, 0x29, 0x06, 0x11};
    rq.ctx_params1.has_matching_id = true;
    rq.ctx_params1.matching_id.p = (const uint8_t *)"MATCHING-1";
    rq.ctx_params1.matching_id.len = 10;
    rq.ctx_params1.tac.p = tac;
    rq.ctx_params1.tac.len = 4;
    struct rsp_buf req = RSP_BUF_INIT;
    assert_int_equal(rsp_sgp22_authenticate_server_request_encode(&rq, &req), 0);
    assert_int_equal(fx_cmd(e, req.data, req.len, &r), 0);
    struct rsp_sgp22_authenticate_server_response ar;
    assert_int_equal(rsp_sgp22_authenticate_server_response_decode(r.data, r.len, &ar), 0);
    if (ar.ok) {
        dl->auth_error = 0;
        verify_with_cert(item(set, RSP_PKI_EUICC), ar.euicc_signed1.raw.raw,
                         ar.euicc_signed1.raw.raw_len, ar.euicc_signature1.p,
                         ar.euicc_signature1.len);
        memcpy(dl->euicc_sig1, ar.euicc_signature1.p, 64);
        assert_memory_equal(ar.euicc_signed1.transaction_id.p, dl->tid, 16);
        assert_int_equal(ar.euicc_signed1.ctx_params1.matching_id.len, 10);
        /* the SM-DP+ side check of CI -> EUM -> eUICC */
        struct rsp_cert *ci = NULL, *m = NULL, *u = NULL;
        assert_int_equal(rsp_cert_parse(item(set, RSP_PKI_CI)->cert_der.data,
                                        item(set, RSP_PKI_CI)->cert_der.len, &ci),
                         0);
        assert_int_equal(rsp_cert_parse(ar.eum_certificate.raw, ar.eum_certificate.raw_len, &m), 0);
        assert_int_equal(rsp_cert_parse(ar.euicc_certificate.raw, ar.euicc_certificate.raw_len, &u),
                         0);
        assert_int_equal(rsp_cert_verify_euicc_chain(ci, m, u, time(NULL), NULL, 0), 0);
        rsp_cert_free(ci);
        rsp_cert_free(m);
        rsp_cert_free(u);
    } else {
        dl->auth_error = ar.error_code;
        assert_memory_equal(ar.transaction_id.p, dl->tid, 16);
    }
    rsp_buf_free(&req);
    rsp_buf_free(&s1);
    rsp_buf_free(&r);
}

void fx_prepare(struct rsp_euicc *e, struct fx_dl *dl, const struct fx_pd_opts *o)
{
    static const struct fx_pd_opts none;
    if (!o)
        o = &none;
    size_t set = dl->set;
    const struct rsp_pki_set *ps =
        o->foreign_ci ? &fx_foreign_pki()->set[set] : &fx_pki()->set[set];
    const struct rsp_pki_item *cert = &ps->item[o->cert_role ? o->cert_role : RSP_PKI_DPPB];
    struct rsp_key *sk = key_of(cert);
    uint8_t tid[16];
    memcpy(tid, dl->tid, 16);
    if (o->wrong_tid)
        tid[15] ^= 1;
    struct rsp_buf s2 = RSP_BUF_INIT, req = RSP_BUF_INIT, r = RSP_BUF_INIT, in = RSP_BUF_INIT;
    uint8_t sig2[64];
    assert_int_equal(rsp_smdp_smdp_signed2_build(tid, sizeof tid, o->cc_required, o->bpp_euicc_otpk,
                                                 dl->euicc_sig1, sk, &s2, sig2),
                     0);
    rsp_key_free(sk);
    if (o->bad_signature)
        sig2[33] ^= 0x01;
    struct rsp_sgp22_prepare_download_request rq;
    memset(&rq, 0, sizeof rq);
    assert_int_equal(rsp_der_parse_one(s2.data, s2.len, &rq.smdp_signed2.raw), 0);
    rq.smdp_signature2.p = sig2;
    rq.smdp_signature2.len = 64;
    uint8_t hash_cc[32];
    memset(hash_cc, 0x5A, sizeof hash_cc);
    if (o->with_hash_cc) {
        rq.has_hash_cc = true;
        rq.hash_cc.p = hash_cc;
        rq.hash_cc.len = 32;
    }
    rq.smdp_certificate = cert_tlv(cert);
    assert_int_equal(rsp_sgp22_prepare_download_request_encode(&rq, &req), 0);
    assert_int_equal(fx_cmd(e, req.data, req.len, &r), 0);
    struct rsp_sgp22_prepare_download_response pr;
    assert_int_equal(rsp_sgp22_prepare_download_response_decode(r.data, r.len, &pr), 0);
    if (pr.ok) {
        dl->pd_error = 0;
        assert_int_equal(rsp_sgp22_euicc_signature2_input(pr.euicc_signed2.raw.raw,
                                                          pr.euicc_signed2.raw.raw_len, sig2, &in),
                         0);
        verify_with_cert(item(set, RSP_PKI_EUICC), in.data, in.len, pr.euicc_signature2.p,
                         pr.euicc_signature2.len);
        assert_int_equal(pr.euicc_signed2.euicc_otpk.len, 65);
        memcpy(dl->otpk, pr.euicc_signed2.euicc_otpk.p, 65);
        assert_int_equal(pr.euicc_signed2.has_hash_cc, o->cc_required);
        if (o->cc_required)
            assert_memory_equal(pr.euicc_signed2.hash_cc.p, hash_cc, 32);
    } else {
        dl->pd_error = pr.error_code;
    }
    rsp_buf_free(&in);
    rsp_buf_free(&s2);
    rsp_buf_free(&req);
    rsp_buf_free(&r);
}

void fx_metadata(const struct fx_profile *p, struct rsp_buf *out)
{
    struct rsp_iccid iccid;
    assert_int_equal(rsp_iccid_from_str(p->iccid, &iccid), 0);
    struct rsp_sgp22_store_metadata_request md;
    memset(&md, 0, sizeof md);
    md.iccid.p = iccid.b;
    md.iccid.len = RSP_ICCID_LEN;
    md.service_provider_name.p = (const uint8_t *)"rspkit";
    md.service_provider_name.len = 6;
    const char *name = p->name ? p->name : "Test profile";
    md.profile_name.p = (const uint8_t *)name;
    md.profile_name.len = strlen(name);
    md.has_profile_class = true;
    md.profile_class = p->profile_class;
    md.has_notification_config = true;
    md.n_notification_config = 1;
    md.notification_config[0].events =
        RSP_NOTIF_INSTALL | RSP_NOTIF_ENABLE | RSP_NOTIF_DISABLE | RSP_NOTIF_DELETE;
    md.notification_config[0].address.p = (const uint8_t *)FX_NOTIF_ADDR;
    md.notification_config[0].address.len = strlen(FX_NOTIF_ADDR);
    if (p->ppr) {
        md.has_ppr = true;
        md.ppr = p->ppr;
    }
    assert_int_equal(rsp_sgp22_store_metadata_request_encode(&md, out), 0);
}

void fx_upp(const struct fx_profile *p, struct rsp_buf *out)
{
    if (p->upp) {
        assert_int_equal(rsp_buf_append(out, p->upp, p->upp_len), 0);
        return;
    }
    struct rsp_saip_gen_params g;
    memset(&g, 0, sizeof g);
    g.iccid = p->upp_iccid ? p->upp_iccid : p->iccid;
    g.imsi = "001019876543210";
    g.spn = "rspkit";
    memset(g.ki, 0x11, 16);
    memset(g.opc, 0x22, 16);
    g.include_isim = true;
    assert_int_equal(rsp_saip_generate(&g, out), 0);
}

void fx_bpp(const struct fx_dl *dl, const struct fx_profile *p, bool two_layer, struct rsp_buf *bpp)
{
    struct rsp_buf md = RSP_BUF_INIT, upp = RSP_BUF_INIT;
    fx_metadata(p, &md);
    fx_upp(p, &upp);
    struct rsp_eid eid;
    assert_int_equal(rsp_eid_from_str(RSP_PKI_DEFAULT_EID, &eid), 0);
    struct rsp_key *sk = key_of(item(dl->set, RSP_PKI_DPPB));
    struct rsp_smdp_bpp_params bp = {
        .transaction_id = dl->tid,
        .transaction_id_len = sizeof dl->tid,
        .euicc_otpk = dl->otpk,
        .eid = eid.b,
        .sk_dppb = sk,
        .host_id = (const uint8_t *)"rspkit-h",
        .host_id_len = 8,
        .store_metadata = md.data,
        .store_metadata_len = md.len,
        .upp = upp.data,
        .upp_len = upp.len,
        .two_layer = two_layer,
    };
    assert_int_equal(rsp_smdp_bpp_build(&bp, bpp), 0);
    rsp_key_free(sk);
    rsp_buf_free(&md);
    rsp_buf_free(&upp);
}

static void add_seg(struct fx_segs *s, const uint8_t *p, size_t n)
{
    assert_true(s->n < FX_MAX_SEGS);
    s->p[s->n] = p;
    s->len[s->n] = n;
    s->n++;
}

void fx_split(const struct rsp_buf *bpp, struct fx_segs *s)
{
    memset(s, 0, sizeof *s);
    struct rsp_sgp22_bpp b;
    assert_int_equal(rsp_sgp22_bpp_decode(bpp->data, bpp->len, &b), 0);
    add_seg(s, b.raw.raw, (size_t)(b.raw.val - b.raw.raw) + b.init_secure_channel.raw.raw_len);
    add_seg(s, b.first87.raw, b.first87.raw_len);
    const struct rsp_tlv *lists[2] = {&b.seq88, &b.seq86};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && b.has_second87)
            add_seg(s, b.second87.raw, b.second87.raw_len);
        add_seg(s, lists[i]->raw, (size_t)(lists[i]->val - lists[i]->raw));
        struct rsp_der_iter it;
        struct rsp_tlv seg;
        rsp_der_iter_value(&it, lists[i]);
        while (rsp_sgp22_bpp_next(&it, &seg) == 1)
            add_seg(s, seg.raw, seg.raw_len);
    }
}

int fx_send(struct rsp_euicc *e, const struct fx_segs *s, struct rsp_buf *resp, size_t *sent)
{
    int rc = 0;
    *sent = 0;
    for (size_t i = 0; i < s->n; i++) {
        rc = fx_cmd(e, s->p[i], s->len[i], resp);
        *sent = i + 1;
        if (rc != 0 || resp->len)
            break;
    }
    return rc;
}

void fx_verify_euicc(size_t set, const uint8_t *msg, size_t n, const uint8_t *sig, size_t sig_len)
{
    verify_with_cert(item(set, RSP_PKI_EUICC), msg, n, sig, sig_len);
}

void fx_pir(size_t set, const struct rsp_buf *resp, struct rsp_sgp22_pir *pir)
{
    assert_int_equal(rsp_sgp22_pir_decode(resp->data, resp->len, pir), 0);
    verify_with_cert(item(set, RSP_PKI_EUICC), pir->data.raw.raw, pir->data.raw.raw_len,
                     pir->euicc_sign_pir.p, pir->euicc_sign_pir.len);
    assert_int_equal(pir->data.notification_metadata.address.len, strlen(FX_SMDP_ADDR));
    assert_memory_equal(pir->data.notification_metadata.address.p, FX_SMDP_ADDR,
                        strlen(FX_SMDP_ADDR));
    assert_true(pir->data.has_smdp_oid);
}

void fx_download(struct rsp_euicc *e, size_t set, const struct fx_profile *p, bool two_layer,
                 uint8_t aid[16])
{
    struct fx_dl dl;
    memset(&dl, 0, sizeof dl);
    dl.set = set;
    fx_authenticate(e, &dl, NULL);
    assert_int_equal(dl.auth_error, 0);
    fx_prepare(e, &dl, NULL);
    assert_int_equal(dl.pd_error, 0);
    struct rsp_buf bpp = RSP_BUF_INIT, r = RSP_BUF_INIT;
    fx_bpp(&dl, p, two_layer, &bpp);
    struct fx_segs s;
    fx_split(&bpp, &s);
    size_t sent;
    assert_int_equal(fx_send(e, &s, &r, &sent), 0);
    assert_int_equal(sent, s.n); /* only the last segment answers */
    struct rsp_sgp22_pir pir;
    fx_pir(set, &r, &pir);
    if (!pir.data.success)
        print_message("PIR error: command %d reason %d\n", (int)pir.data.bpp_command_id,
                      (int)pir.data.error_reason);
    assert_true(pir.data.success);
    assert_int_equal(pir.data.aid.len, 16);
    if (aid)
        memcpy(aid, pir.data.aid.p, 16);
    rsp_buf_free(&bpp);
    rsp_buf_free(&r);
}
