/* ES2+ procedures at the SM-DP+ (src/smdp/es2p.c): every function's success and refusals with
 * their SGP.22 subject/reason codes (addendum §2.3 - §2.6, §2.9), the state and audit unchanged on
 * refusal, the DownloadOrder race, operator authentication and isolation, the outbox items and
 * their retry/failure bookkeeping. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es2p.h"
#include "rsp/store.h"

#define EID1    "89049032123451234512345678901235"
#define EID2    "89049032123451234512345678909965"
#define EID_BAD "89049032123451234512345678901234" /* check digits wrong */

static struct rsp_es2p_operator op_a, op_b;

static void make_ops(void)
{
    char spec[256], err[200];
    uint8_t h[32];
    char hex[65];
    assert_int_equal(rsp_sha256("token-A", 7, h), 0);
    rsp_hex_str(hex, h, 32, 0);
    snprintf(spec, sizeof spec, "opA token_sha256=%s callback_url=http://127.0.0.1:9/cb", hex);
    assert_int_equal(rsp_es2p_operator_parse(spec, &op_a, err, sizeof err), 0);
    assert_int_equal(rsp_sha256("token-B", 7, h), 0);
    rsp_hex_str(hex, h, 32, 1);
    snprintf(spec, sizeof spec, "opB token_sha256=%s", hex);
    assert_int_equal(rsp_es2p_operator_parse(spec, &op_b, err, sizeof err), 0);
}

static const char *tmpdir(void)
{
    static char dir[256];
    if (!dir[0])
        snprintf(dir, sizeof dir, "%s", tu_tmpdir()); /* a new directory per tu_tmpdir call */
    return dir;
}

static struct rsp_store *fresh_store(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir(), name);
    struct rsp_store *st = NULL;
    assert_int_equal(rsp_store_sqlite_open(path, &st), 0);
    return st;
}

static void add_profile(struct rsp_store *st, const char *iccid, const char *type,
                        const char *owner)
{
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "%s", iccid);
    snprintf(p.imsi, sizeof p.imsi, "001010123456789");
    snprintf(p.profile_type, sizeof p.profile_type, "%s", type);
    snprintf(p.owner, sizeof p.owner, "%s", owner);
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    p.state = RSP_PROFILE_AVAILABLE;
    assert_int_equal(rsp_store_profile_insert(st, &p, (const uint8_t *)"pkg", 3, "test"), 0);
}

struct snap {
    enum rsp_profile_state state;
    int64_t version;
    size_t audit;
};

static struct snap snapshot(struct rsp_store *st, const char *iccid)
{
    struct rsp_profile p;
    struct rsp_audit_entry a[64];
    struct snap s = {0, 0, 0};
    assert_int_equal(rsp_store_profile_get(st, iccid, &p), 0);
    assert_int_equal(rsp_store_audit_list(st, iccid, a, 64, &s.audit), 0);
    s.state = p.state;
    s.version = p.version;
    return s;
}

static void assert_unchanged(struct rsp_store *st, const char *iccid, struct snap before)
{
    struct snap now = snapshot(st, iccid);
    assert_int_equal(now.state, before.state);
    assert_int_equal(now.version, before.version);
    assert_int_equal(now.audit, before.audit);
}

static enum rsp_profile_state state_of(struct rsp_store *st, const char *iccid)
{
    return snapshot(st, iccid).state;
}

/* Last audit row: from -> to by actor with reason. */
static void assert_last_audit(struct rsp_store *st, const char *iccid, const char *from,
                              const char *to, const char *actor, const char *reason)
{
    struct rsp_audit_entry a[64];
    size_t n = 0;
    assert_int_equal(rsp_store_audit_list(st, iccid, a, 64, &n), 0);
    assert_true(n > 0);
    assert_string_equal(a[n - 1].from, from);
    assert_string_equal(a[n - 1].to, to);
    assert_string_equal(a[n - 1].actor, actor);
    assert_string_equal(a[n - 1].reason, reason);
}

static struct rsp_es2_response call(struct rsp_store *st, const struct rsp_es2p_operator *op,
                                    struct rsp_es2_request *req)
{
    struct rsp_es2p_ctx ctx = {st, op, "smdp.example.com", 5};
    struct rsp_es2_response resp;
    snprintf(req->header.function_requester_identifier,
             sizeof req->header.function_requester_identifier, "%s", op->id);
    snprintf(req->header.function_call_identifier, sizeof req->header.function_call_identifier,
             "call-1");
    assert_int_equal(rsp_es2p_handle(&ctx, req, &resp), 0);
    assert_int_equal(resp.fn, req->fn);
    return resp;
}

static void assert_ok(const struct rsp_es2_response *r)
{
    if (r->status.status != RSP_ES_SUCCESS)
        fail_msg("refused %s/%s %s", r->status.code.subject, r->status.code.reason,
                 r->status.code.message);
}

static void assert_refused(const struct rsp_es2_response *r, const char *subject,
                           const char *reason)
{
    assert_int_equal(r->status.status, RSP_ES_FAILED);
    assert_true(r->status.has_code);
    assert_string_equal(r->status.code.subject, subject);
    assert_string_equal(r->status.code.reason, reason);
}

static struct rsp_es2_response download_order(struct rsp_store *st,
                                              const struct rsp_es2p_operator *op, const char *iccid,
                                              const char *type, const char *eid)
{
    struct rsp_es2_request req;
    memset(&req, 0, sizeof req);
    req.fn = RSP_ES2_DOWNLOAD_ORDER;
    snprintf(req.u.download_order.iccid, sizeof req.u.download_order.iccid, "%s", iccid);
    snprintf(req.u.download_order.profile_type, sizeof req.u.download_order.profile_type, "%s",
             type);
    snprintf(req.u.download_order.eid, sizeof req.u.download_order.eid, "%s", eid);
    return call(st, op, &req);
}

static struct rsp_es2_response confirm_order(struct rsp_store *st,
                                             const struct rsp_es2p_operator *op, const char *iccid,
                                             const char *eid, const char *mid, const char *cc,
                                             const char *smds, bool release)
{
    struct rsp_es2_request req;
    memset(&req, 0, sizeof req);
    req.fn = RSP_ES2_CONFIRM_ORDER;
    struct rsp_es2_confirm_order_req *c = &req.u.confirm_order;
    snprintf(c->iccid, sizeof c->iccid, "%s", iccid);
    snprintf(c->eid, sizeof c->eid, "%s", eid);
    snprintf(c->matching_id, sizeof c->matching_id, "%s", mid);
    snprintf(c->confirmation_code, sizeof c->confirmation_code, "%s", cc);
    snprintf(c->smds_address, sizeof c->smds_address, "%s", smds);
    c->release_flag = release;
    return call(st, op, &req);
}

static struct rsp_es2_response cancel_order(struct rsp_store *st,
                                            const struct rsp_es2p_operator *op, const char *iccid,
                                            const char *eid, const char *mid, bool available)
{
    struct rsp_es2_request req;
    memset(&req, 0, sizeof req);
    req.fn = RSP_ES2_CANCEL_ORDER;
    struct rsp_es2_cancel_order_req *c = &req.u.cancel_order;
    snprintf(c->iccid, sizeof c->iccid, "%s", iccid);
    snprintf(c->eid, sizeof c->eid, "%s", eid);
    snprintf(c->matching_id, sizeof c->matching_id, "%s", mid);
    c->final_status = available ? RSP_ES2_FINAL_AVAILABLE : RSP_ES2_FINAL_UNAVAILABLE;
    return call(st, op, &req);
}

static struct rsp_es2_response
release_profile(struct rsp_store *st, const struct rsp_es2p_operator *op, const char *iccid)
{
    struct rsp_es2_request req;
    memset(&req, 0, sizeof req);
    req.fn = RSP_ES2_RELEASE_PROFILE;
    snprintf(req.u.release_profile.iccid, sizeof req.u.release_profile.iccid, "%s", iccid);
    return call(st, op, &req);
}

#define ICC1 "8944000000000000001"
#define ICC2 "8944000000000000002"
#define ICC3 "8944000000000000003"
#define ICCB "8944000000000000009" /* owned by opB */

static void test_helpers(void **state)
{
    (void)state;
    assert_true(rsp_es2p_eid_valid(EID1));
    assert_true(rsp_es2p_eid_valid(EID2));
    assert_false(rsp_es2p_eid_valid(EID_BAD));
    assert_false(rsp_es2p_eid_valid("8904903212345123451234567890123"));
    assert_false(rsp_es2p_eid_valid(NULL));
    /* generated MatchingIDs: shape, charset, no repeats over many draws */
    enum { N = 2000 };
    static char ids[N][24];
    for (int i = 0; i < N; i++) {
        assert_int_equal(rsp_es2p_matching_id_generate(ids[i]), 0);
        assert_int_equal(strlen(ids[i]), 23);
        for (int j = 0; j < 23; j++) {
            char c = ids[i][j];
            if (j % 6 == 5)
                assert_int_equal(c, '-');
            else
                assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'));
        }
    }
    qsort(ids, N, sizeof ids[0], (int (*)(const void *, const void *))strcmp);
    for (int i = 1; i < N; i++)
        assert_int_not_equal(strcmp(ids[i - 1], ids[i]), 0);
    /* operator lines */
    struct rsp_es2p_operator o;
    char err[200];
    assert_int_equal(rsp_es2p_operator_parse("opX", &o, err, sizeof err), RSP_ESYNTAX);
    assert_int_equal(rsp_es2p_operator_parse("opX token_sha256=abcd", &o, err, sizeof err),
                     RSP_ESYNTAX);
    assert_int_equal(rsp_es2p_operator_parse("opX bogus=1", &o, err, sizeof err), RSP_ESYNTAX);
    assert_int_equal(rsp_es2p_operator_parse("token_sha256=00", &o, err, sizeof err), RSP_ESYNTAX);
    char spec[200];
    snprintf(spec, sizeof spec, "opX cert_sha256=%064d callback_url=ftp://x", 0);
    assert_int_equal(rsp_es2p_operator_parse(spec, &o, err, sizeof err), RSP_ESYNTAX);
    snprintf(spec, sizeof spec, "opX cert_sha256=%064d callback_ca=/x.pem", 0);
    assert_int_equal(rsp_es2p_operator_parse(spec, &o, err, sizeof err), 0);
    assert_true(o.has_cert);
    assert_false(o.has_token);
    assert_string_equal(o.callback_ca, "/x.pem");
}

static void test_download_order(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("do.db");
    add_profile(st, ICC1, "typeA", "opA");
    add_profile(st, ICC2, "typeA", "opA");
    add_profile(st, ICC3, "typeA2", "opA");
    add_profile(st, ICCB, "typeB", "opB");
    struct rsp_es2_response r;

    /* by ICCID, no EID: Allocated, audited with the operator */
    r = download_order(st, &op_a, ICC1, "", "");
    assert_ok(&r);
    assert_string_equal(r.u.download_order.iccid, ICC1);
    assert_int_equal(state_of(st, ICC1), RSP_PROFILE_ALLOCATED);
    assert_last_audit(st, ICC1, "Available", "Allocated", "opA", "ES2+.DownloadOrder");

    struct snap s1 = snapshot(st, ICC1), s2 = snapshot(st, ICC2), s3 = snapshot(st, ICC3),
                sb = snapshot(st, ICCB);
    /* 8.2.1/3.3 already in use */
    r = download_order(st, &op_a, ICC1, "", "");
    assert_refused(&r, "8.2.1", "3.3");
    assert_unchanged(st, ICC1, s1);
    /* 8.2.1/3.9 unknown, and another operator's ICCID looks the same */
    r = download_order(st, &op_a, "8944000000000000099", "", "");
    assert_refused(&r, "8.2.1", "3.9");
    r = download_order(st, &op_a, ICCB, "", "");
    assert_refused(&r, "8.2.1", "3.9");
    assert_unchanged(st, ICCB, sb);
    /* 8.2.5/3.8 profile type of the ICCID differs */
    r = download_order(st, &op_a, ICC2, "typeA2", "");
    assert_refused(&r, "8.2.5", "3.8");
    assert_unchanged(st, ICC2, s2);
    /* EID with bad check digits: generic invalid format 1.3.1/2.1 */
    r = download_order(st, &op_a, ICC2, "", EID_BAD);
    assert_refused(&r, "1.3.1", "2.1");
    assert_unchanged(st, ICC2, s2);
    /* 8.2.5/3.9 unknown type; another operator's type looks the same */
    r = download_order(st, &op_a, "", "nope", "");
    assert_refused(&r, "8.2.5", "3.9");
    r = download_order(st, &op_a, "", "typeB", "");
    assert_refused(&r, "8.2.5", "3.9");
    assert_unchanged(st, ICCB, sb);

    /* by type, with EID: Linked, EID stored */
    r = download_order(st, &op_a, "", "typeA", EID1);
    assert_ok(&r);
    assert_string_equal(r.u.download_order.iccid, ICC2);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICC2, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_LINKED);
    assert_string_equal(p.eid, EID1);
    assert_last_audit(st, ICC2, "Available", "Linked", "opA", "ES2+.DownloadOrder");
    /* 8.2.5/3.7 no more profiles of the type */
    s2 = snapshot(st, ICC2);
    r = download_order(st, &op_a, "", "typeA", "");
    assert_refused(&r, "8.2.5", "3.7");
    assert_unchanged(st, ICC1, s1);
    assert_unchanged(st, ICC2, s2);
    /* ICCID and matching type together */
    r = download_order(st, &op_a, ICC3, "typeA2", "");
    assert_ok(&r);
    assert_int_not_equal(snapshot(st, ICC3).version, s3.version);
    /* operator B gets its own */
    r = download_order(st, &op_b, "", "typeB", "");
    assert_ok(&r);
    assert_last_audit(st, ICCB, "Available", "Allocated", "opB", "ES2+.DownloadOrder");
    rsp_store_close(st);
}

static void test_confirm_order(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("co.db");
    add_profile(st, ICC1, "typeA", "opA");
    add_profile(st, ICC2, "typeA", "opA");
    add_profile(st, ICC3, "typeA", "opA");
    add_profile(st, ICCB, "typeB", "opB");
    struct rsp_es2_response r;
    struct snap s1 = snapshot(st, ICC1);

    r = confirm_order(st, &op_a, "8944000000000000099", "", "", "", "", false);
    assert_refused(&r, "8.2.1", "3.9");
    /* no DownloadOrder yet: invalid transition 8.2.1/3.5 */
    r = confirm_order(st, &op_a, ICC1, "", "", "", "", false);
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC1, s1);

    assert_ok((r = download_order(st, &op_a, ICC1, "", ""), &r));
    assert_ok((r = download_order(st, &op_a, ICC2, "", EID1), &r));
    assert_ok((r = download_order(st, &op_a, ICC3, "", ""), &r));
    assert_ok((r = download_order(st, &op_b, ICCB, "", ""), &r));
    s1 = snapshot(st, ICC1);
    struct snap s2 = snapshot(st, ICC2), sb = snapshot(st, ICCB);

    /* another operator's order: unknown */
    r = confirm_order(st, &op_a, ICCB, "", "", "", "", true);
    assert_refused(&r, "8.2.1", "3.9");
    assert_unchanged(st, ICCB, sb);
    /* 8.1.1/3.10 another EID is linked */
    r = confirm_order(st, &op_a, ICC2, EID2, "", "", "", false);
    assert_refused(&r, "8.1.1", "3.10");
    assert_unchanged(st, ICC2, s2);
    /* 8.1.1/2.2 SM-DS address without any EID */
    r = confirm_order(st, &op_a, ICC1, "", "", "", "smds.example.com", false);
    assert_refused(&r, "8.1.1", "2.2");
    assert_unchanged(st, ICC1, s1);
    /* malformed matchingId / EID: 1.3.1/2.1 */
    r = confirm_order(st, &op_a, ICC1, "", "abc", "", "", false);
    assert_refused(&r, "1.3.1", "2.1");
    r = confirm_order(st, &op_a, ICC1, EID_BAD, "", "", "", false);
    assert_refused(&r, "1.3.1", "2.1");
    assert_unchanged(st, ICC1, s1);

    /* generated matchingId, CC stored as SHA-256(CC), releaseFlag false: Confirmed */
    r = confirm_order(st, &op_a, ICC1, "", "", "12345678", "", false);
    assert_ok(&r);
    assert_int_equal(strlen(r.u.confirm_order.matching_id), 23);
    assert_string_equal(r.u.confirm_order.smdp_address, "smdp.example.com");
    assert_string_equal(r.u.confirm_order.eid, "");
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICC1, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_CONFIRMED);
    assert_string_equal(p.matching_id, r.u.confirm_order.matching_id);
    assert_true(p.cc_set);
    uint8_t h[32];
    assert_int_equal(rsp_sha256("12345678", 8, h), 0);
    assert_memory_equal(p.cc_hash, h, 32);
    assert_int_equal(p.cc_max_attempts, 5);
    assert_false(p.release_flag);
    assert_last_audit(st, ICC1, "Allocated", "Confirmed", "opA", "ES2+.ConfirmOrder");
    /* the ES9+ check value SHA-256(SHA-256(CC) || tid) is computable from the stored hash */
    uint8_t cat[32 + 4] = {0}, hashcc[32], want[32];
    memcpy(cat, p.cc_hash, 32);
    memcpy(cat + 32, "\x01\x02\x03\x04", 4);
    assert_int_equal(rsp_sha256(cat, sizeof cat, hashcc), 0);
    memcpy(cat, h, 32);
    assert_int_equal(rsp_sha256(cat, sizeof cat, want), 0);
    assert_memory_equal(hashcc, want, 32);
    char mid1[RSP_STORE_TEXT_MAX + 1];
    snprintf(mid1, sizeof mid1, "%s", p.matching_id);

    /* confirming twice: 8.2.1/3.5 */
    s1 = snapshot(st, ICC1);
    r = confirm_order(st, &op_a, ICC1, "", "", "", "", true);
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC1, s1);
    /* 8.2.6/3.3 matchingId already used by another order */
    r = confirm_order(st, &op_a, ICC2, "", mid1, "", "", true);
    assert_refused(&r, "8.2.6", "3.3");
    assert_unchanged(st, ICC2, s2);
    /* given matchingId, releaseFlag true: Released, EID returned */
    r = confirm_order(st, &op_a, ICC2, EID1, "MY-ORDER-42", "", "smds.example.com", true);
    assert_ok(&r);
    assert_string_equal(r.u.confirm_order.matching_id, "MY-ORDER-42");
    assert_string_equal(r.u.confirm_order.eid, EID1);
    assert_int_equal(rsp_store_profile_get(st, ICC2, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_RELEASED);
    assert_true(p.release_flag);
    assert_false(p.cc_set);
    assert_string_equal(p.smds_address, "smds.example.com");
    assert_last_audit(st, ICC2, "Linked", "Released", "opA", "ES2+.ConfirmOrder");
    /* an EID given at ConfirmOrder binds an Allocated order */
    r = confirm_order(st, &op_a, ICC3, EID2, "", "", "", true);
    assert_ok(&r);
    assert_string_equal(r.u.confirm_order.eid, EID2);
    assert_int_equal(rsp_store_profile_get(st, ICC3, &p), 0);
    assert_string_equal(p.eid, EID2);
    rsp_store_close(st);
}

static void test_cancel_order(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("ca.db");
    add_profile(st, ICC1, "typeA", "opA");
    add_profile(st, ICC2, "typeA", "opA");
    add_profile(st, ICC3, "typeA", "opA");
    add_profile(st, ICCB, "typeB", "opB");
    struct rsp_es2_response r;
    struct snap s1 = snapshot(st, ICC1);

    r = cancel_order(st, &op_a, "8944000000000000099", "", "", true);
    assert_refused(&r, "8.2.1", "3.9");
    /* nothing ordered: 8.2.1/3.5 */
    r = cancel_order(st, &op_a, ICC1, "", "", true);
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC1, s1);

    assert_ok((r = download_order(st, &op_a, ICC1, "", EID1), &r));
    assert_ok((r = confirm_order(st, &op_a, ICC1, "", "ORDER-1", "", "", false), &r));
    assert_ok((r = download_order(st, &op_b, ICCB, "", ""), &r));
    s1 = snapshot(st, ICC1);
    struct snap sb = snapshot(st, ICCB);
    /* another operator's order */
    r = cancel_order(st, &op_a, ICCB, "", "", true);
    assert_refused(&r, "8.2.1", "3.9");
    assert_unchanged(st, ICCB, sb);
    /* the associated EID and matchingId must be given and match */
    r = cancel_order(st, &op_a, ICC1, "", "ORDER-1", true);
    assert_refused(&r, "1.3.1", "2.2");
    r = cancel_order(st, &op_a, ICC1, EID2, "ORDER-1", true);
    assert_refused(&r, "8.2.1", "3.10");
    r = cancel_order(st, &op_a, ICC1, EID1, "", true);
    assert_refused(&r, "1.3.1", "2.2");
    r = cancel_order(st, &op_a, ICC1, EID1, "ORDER-2", true);
    assert_refused(&r, "8.2.6", "3.10");
    assert_unchanged(st, ICC1, s1);
    /* success: back to stock, order fields cleared */
    r = cancel_order(st, &op_a, ICC1, EID1, "ORDER-1", true);
    assert_ok(&r);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICC1, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_AVAILABLE);
    assert_string_equal(p.eid, "");
    assert_string_equal(p.matching_id, "");
    assert_last_audit(st, ICC1, "Confirmed", "Available", "opA", "ES2+.CancelOrder");
    /* the matchingId is free again */
    assert_ok((r = download_order(st, &op_a, ICC2, "", ""), &r));
    assert_ok((r = confirm_order(st, &op_a, ICC2, "", "ORDER-1", "", "", true), &r));
    /* Downloaded: 8.2.1/3.3 */
    assert_int_equal(rsp_store_profile_transition(st, ICC2, RSP_PROFILE_RELEASED,
                                                  RSP_PROFILE_DOWNLOADED, "es9p", "test"),
                     0);
    struct snap s2 = snapshot(st, ICC2);
    r = cancel_order(st, &op_a, ICC2, "", "ORDER-1", false);
    assert_refused(&r, "8.2.1", "3.3");
    assert_unchanged(st, ICC2, s2);
    /* Error -> Unavailable */
    assert_ok((r = download_order(st, &op_a, ICC3, "", ""), &r));
    assert_ok((r = confirm_order(st, &op_a, ICC3, "", "ORDER-3", "", "", true), &r));
    assert_int_equal(rsp_store_profile_transition(st, ICC3, RSP_PROFILE_RELEASED, RSP_PROFILE_ERROR,
                                                  "es9p", "test"),
                     0);
    r = cancel_order(st, &op_a, ICC3, "", "ORDER-3", false);
    assert_ok(&r);
    assert_int_equal(state_of(st, ICC3), RSP_PROFILE_UNAVAILABLE);
    assert_last_audit(st, ICC3, "Error", "Unavailable", "opA", "ES2+.CancelOrder");
    /* Unavailable is final */
    struct snap s3 = snapshot(st, ICC3);
    r = cancel_order(st, &op_a, ICC3, "", "", true);
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC3, s3);
    rsp_store_close(st);
}

static void test_release_profile(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("rp.db");
    add_profile(st, ICC1, "typeA", "opA");
    add_profile(st, ICCB, "typeB", "opB");
    struct rsp_es2_response r;
    r = release_profile(st, &op_a, "8944000000000000099");
    assert_refused(&r, "8.2.1", "3.9");
    struct snap s1 = snapshot(st, ICC1);
    r = release_profile(st, &op_a, ICC1); /* Available */
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC1, s1);
    assert_ok((r = download_order(st, &op_a, ICC1, "", ""), &r));
    s1 = snapshot(st, ICC1);
    r = release_profile(st, &op_a, ICC1); /* Allocated */
    assert_refused(&r, "8.2.1", "3.5");
    assert_unchanged(st, ICC1, s1);
    assert_ok((r = confirm_order(st, &op_a, ICC1, "", "", "", "", false), &r));
    /* another operator cannot release it */
    s1 = snapshot(st, ICC1);
    r = release_profile(st, &op_b, ICC1);
    assert_refused(&r, "8.2.1", "3.9");
    assert_unchanged(st, ICC1, s1);
    r = release_profile(st, &op_a, ICC1);
    assert_ok(&r);
    assert_int_equal(state_of(st, ICC1), RSP_PROFILE_RELEASED);
    assert_last_audit(st, ICC1, "Confirmed", "Released", "opA", "ES2+.ReleaseProfile");
    /* releasing again: success, nothing changes */
    s1 = snapshot(st, ICC1);
    r = release_profile(st, &op_a, ICC1);
    assert_ok(&r);
    assert_unchanged(st, ICC1, s1);
    rsp_store_close(st);
}

/* ---- two connections racing for the last profile of a type ---- */

struct racer {
    const char *path;
    const char *type;
    pthread_barrier_t *bar;
    struct rsp_es2_response resp;
    int rc;
};

static void *race_thread(void *arg)
{
    struct racer *r = arg;
    struct rsp_store *st = NULL;
    r->rc = rsp_store_sqlite_open(r->path, &st);
    pthread_barrier_wait(r->bar);
    if (r->rc == 0) {
        struct rsp_es2_request req;
        memset(&req, 0, sizeof req);
        req.fn = RSP_ES2_DOWNLOAD_ORDER;
        snprintf(req.u.download_order.profile_type, sizeof req.u.download_order.profile_type, "%s",
                 r->type);
        struct rsp_es2p_ctx ctx = {st, &op_a, NULL, 0};
        r->rc = rsp_es2p_handle(&ctx, &req, &r->resp);
        rsp_store_close(st);
    }
    return NULL;
}

static void test_download_order_race(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("race.db");
    char path[512];
    snprintf(path, sizeof path, "%s/race.db", tmpdir());
    for (int i = 0; i < 40; i++) {
        char iccid[21], type[16];
        snprintf(iccid, sizeof iccid, "89440000000001%05d", i);
        snprintf(type, sizeof type, "race%d", i);
        add_profile(st, iccid, type, "opA");
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        struct racer r[2] = {{path, type, &bar, {0}, 0}, {path, type, &bar, {0}, 0}};
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            assert_int_equal(pthread_create(&t[k], NULL, race_thread, &r[k]), 0);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        pthread_barrier_destroy(&bar);
        int wins = 0;
        for (int k = 0; k < 2; k++) {
            assert_int_equal(r[k].rc, 0);
            if (r[k].resp.status.status == RSP_ES_SUCCESS) {
                wins++;
                assert_string_equal(r[k].resp.u.download_order.iccid, iccid);
            } else {
                assert_refused(&r[k].resp, "8.2.5", "3.7");
            }
        }
        assert_int_equal(wins, 1);
        struct snap s = snapshot(st, iccid);
        assert_int_equal(s.state, RSP_PROFILE_ALLOCATED);
        assert_int_equal(s.version, 1);
        assert_int_equal(s.audit, 2); /* insert + one DownloadOrder */
    }
    rsp_store_close(st);
}

static void test_authentication(void **state)
{
    (void)state;
    const struct rsp_es2p_operator ops[2] = {op_a, op_b};
    const struct rsp_es2p_operator *who = NULL;
    struct rsp_status_code sc;
    assert_int_equal(rsp_es2p_authenticate(ops, 2, "Bearer token-A", "opA", &who, &sc), 0);
    assert_non_null(who);
    assert_string_equal(who->id, "opA");
    assert_int_equal(rsp_es2p_authenticate(ops, 2, "Bearer token-B", "opB", &who, &sc), 0);
    assert_string_equal(who->id, "opB");
    /* a valid token used with another operator's identifier: 1.1/1.2 */
    assert_int_equal(rsp_es2p_authenticate(ops, 2, "Bearer token-B", "opA", &who, &sc), 0);
    assert_null(who);
    assert_string_equal(sc.subject, "1.1");
    assert_string_equal(sc.reason, "1.2");
    /* wrong, missing or malformed credentials: 1.1/1.1 */
    const char *bad[] = {"Bearer token-C", "Bearer ", "token-A", "Basic dG9rZW4tQQ==", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rsp_es2p_authenticate(ops, 2, bad[i], "opA", &who, &sc), 0);
        assert_null(who);
        assert_string_equal(sc.subject, "1.1");
        assert_string_equal(sc.reason, "1.1");
    }
}

/* ---- outbox: enqueue, retry schedule, parking after max attempts ---- */

static unsigned short closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_outbox(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("ob.db");
    add_profile(st, ICC1, "typeA", "opA");
    struct rsp_es2_response r;
    assert_ok((r = download_order(st, &op_a, ICC1, "", EID1), &r));
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICC1, &p), 0);
    struct rsp_es2p_operator op = op_a;
    snprintf(op.callback_url, sizeof op.callback_url, "http://127.0.0.1:%u/cb",
             (unsigned)closed_port());
    struct rsp_es_exec_status status = {RSP_ES_FAILED, true, {"8.8.5", "6.4", ""}, ""};
    int64_t t0 = 1800000000;
    assert_int_equal(rsp_es2p_notify_enqueue(st, &op, "smdp.example.com", &p, 1, &status,
                                             (const uint8_t *)"\xa2\x03\x80\x01\x00", 5, t0),
                     0);
    /* no callback configured: nothing queued */
    assert_int_equal(
        rsp_es2p_notify_enqueue(st, &op_b, "smdp.example.com", &p, 1, &status, NULL, 0, t0), 0);
    struct rsp_outbox_item it;
    assert_int_equal(rsp_store_outbox_next_due(st, t0, &it), 0);
    assert_string_equal(it.url, op.callback_url);
    struct rsp_es2_request hd;
    struct rsp_status_code sc;
    assert_int_equal(rsp_es2_decode_request(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO, it.body,
                                            strlen(it.body), &hd, &sc),
                     0);
    assert_string_equal(hd.header.function_requester_identifier, "smdp.example.com");
    assert_string_equal(hd.u.hdpi.iccid, ICC1); /* the decoder strips the F pad */
    assert_string_equal(hd.u.hdpi.eid, EID1);
    assert_string_equal(hd.u.hdpi.profile_type, "typeA");
    assert_string_equal(hd.u.hdpi.timestamp, "2027-01-15T08:00:00Z");
    assert_int_equal(hd.u.hdpi.notification_point_id, 1);
    assert_int_equal(hd.u.hdpi.notification_point_status.status, RSP_ES_FAILED);
    assert_string_equal(hd.u.hdpi.notification_point_status.code.subject, "8.8.5");
    assert_int_equal(hd.u.hdpi.result_data.len, 5);
    rsp_es2_request_free(&hd);

    /* operator down: retries with growing delays (base 2 s, doubling, up to +50% jitter), then
     * parked as failed after 4 attempts and never due again; never deleted */
    struct rsp_es2p_notify_config cfg = {&op, 1, 4, 2, 100, 2, NULL};
    int64_t now = t0;
    int64_t lo[] = {2, 4, 8};
    for (int a = 0; a < 3; a++) {
        unsigned ok = 9, ko = 9;
        assert_int_equal(rsp_es2p_notify_run(st, &cfg, now, &ok, &ko), 0);
        assert_int_equal(ok, 0);
        assert_int_equal(ko, 0);
        assert_int_equal(rsp_store_outbox_next_due(st, now, &it), RSP_ENOTFOUND);
        assert_int_equal(rsp_store_outbox_next_due(st, INT64_MAX - 1, &it), 0);
        assert_int_equal(it.attempts, (unsigned)a + 1);
        assert_true(it.next_attempt_at >= now + lo[a]);
        assert_true(it.next_attempt_at <= now + lo[a] + lo[a] / 2);
        now = it.next_attempt_at;
    }
    unsigned ok = 9, ko = 9;
    assert_int_equal(rsp_es2p_notify_run(st, &cfg, now, &ok, &ko), 0);
    assert_int_equal(ko, 1);
    assert_int_equal(rsp_store_outbox_next_due(st, INT64_MAX - 1, &it), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_outbox_next_due(st, INT64_MAX, &it), 0);
    assert_int_equal(it.attempts, 4);
    assert_true(it.next_attempt_at == RSP_ES2P_OUTBOX_FAILED);
    rsp_store_close(st);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    make_ops();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),         cmocka_unit_test(test_download_order),
        cmocka_unit_test(test_confirm_order),   cmocka_unit_test(test_cancel_order),
        cmocka_unit_test(test_release_profile), cmocka_unit_test(test_download_order_race),
        cmocka_unit_test(test_authentication),  cmocka_unit_test(test_outbox),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
