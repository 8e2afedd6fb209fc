/* Activation-operations records (rsp/act.h) on both store backends: orders (batch insert all or
 * nothing, CAS, stage table, filters), tokens (issue, revoke, expiry), pushes, first contact and
 * outcome with the cohort buckets, the quarantine verdict at the threshold and not below the
 * minimum sample, release, the funnel, EUICCInfo2, audit records without customer references;
 * plus the pure window arithmetic and verdict. argv[1]: "sqlite" or "pg". */
#include "pgtest.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/act.h"
#include "rsp/audit.h"
#include "rsp/err.h"
#include "rsp/store.h"

static bool use_pg;

static struct rsp_store *fresh(const char *name)
{
    char url[512];
    if (use_pg) {
        TU_REQUIRE_PG();
        snprintf(url, sizeof url, "%s", tu_pg_db(name));
    } else {
        snprintf(url, sizeof url, "%s/%s.db", tu_tmpdir(), name);
        unlink(url);
    }
    struct rsp_store *st = NULL;
    char err[256];
    int rc = rsp_store_open_url(url, &st, err, sizeof err);
    if (rc)
        fail_msg("open %s: %s (%s)", url, rsp_strerror(rc), err);
    return st;
}

static const struct rsp_pseudonym_key *pkey(void)
{
    static struct rsp_pseudonym_key k;
    static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    assert_int_equal(rsp_pseudonym_key_parse((const uint8_t *)hex, strlen(hex), &k), 0);
    return &k;
}

static void mkorder(struct rsp_act_order *o, const char *id, const char *campaign)
{
    memset(o, 0, sizeof *o);
    snprintf(o->order_id, sizeof o->order_id, "%s", id);
    snprintf(o->customer_ref, sizeof o->customer_ref, "cust-%s", id);
    snprintf(o->tariff_plan, sizeof o->tariff_plan, "plan-a");
    snprintf(o->campaign, sizeof o->campaign, "%s", campaign);
    snprintf(o->country, sizeof o->country, "DE");
    snprintf(o->profile_type, sizeof o->profile_type, "ptype");
    snprintf(o->tac, sizeof o->tac, "35000011");
    o->stage = RSP_ACT_PRE_PROVISIONED;
}

static const struct rsp_act_integrity_config icfg = {.window_s = 600,
                                                     .bucket_s = 60,
                                                     .failure_pct = 50,
                                                     .min_sample = 4,
                                                     .webhook_url = "http://127.0.0.1:9/alert"};

/* Moves an order to token-issued with matchingId mid (as rspctl does after the ES2+ release). */
static void to_token(struct rsp_store *st, const char *id, const char *mid)
{
    struct rsp_act_order o, n;
    assert_int_equal(rsp_act_order_get(st, id, &o), 0);
    n = o;
    n.stage = RSP_ACT_RESERVED;
    assert_int_equal(rsp_act_order_update(st, &o, &n, "t", "reserved"), 0);
    o = n;
    n.stage = RSP_ACT_RELEASED;
    snprintf(n.matching_id, sizeof n.matching_id, "%s", mid);
    assert_int_equal(rsp_act_order_update(st, &o, &n, "t", "released"), 0);
    struct rsp_act_token t = {0};
    snprintf(t.matching_id, sizeof t.matching_id, "%s", mid);
    snprintf(t.activation_code, sizeof t.activation_code, "1$smdp.example$%s", mid);
    t.expires_at = (int64_t)time(NULL) + 3600;
    assert_int_equal(rsp_act_token_issue(st, &n, &t, "t"), 0);
}

static void test_pure_window(void **state)
{
    (void)state;
    struct rsp_act_integrity_config c = {.window_s = 300, .bucket_s = 60};
    assert_int_equal(rsp_act_bucket_of(&c, 0), 0);
    assert_int_equal(rsp_act_bucket_of(&c, 59), 0);
    assert_int_equal(rsp_act_bucket_of(&c, 60), 60);
    assert_int_equal(rsp_act_bucket_of(&c, 119), 60);
    assert_int_equal(rsp_act_bucket_of(&c, -1), -60);
    /* 5 buckets: the current one and four before it */
    assert_int_equal(rsp_act_window_first(&c, 600), 360);
    assert_int_equal(rsp_act_window_first(&c, 659), 360);
    c.window_s = 301; /* rounded up to 6 buckets */
    assert_int_equal(rsp_act_window_first(&c, 600), 300);
    c.window_s = 10; /* shorter than a bucket: the current bucket only */
    assert_int_equal(rsp_act_window_first(&c, 600), 600);
    struct rsp_act_integrity_config d = {0}; /* defaults 3600 / 60 */
    assert_int_equal(rsp_act_window_first(&d, 3600), 60);
    assert_int_equal(rsp_act_window_first(NULL, 3600), 60);
}

static void test_pure_verdict(void **state)
{
    (void)state;
    struct rsp_act_integrity_config c = {.failure_pct = 50, .min_sample = 4};
    assert_false(rsp_act_integrity_trips(&c, 0, 3)); /* below the minimum sample */
    assert_true(rsp_act_integrity_trips(&c, 2, 2));  /* exactly at the threshold */
    assert_false(rsp_act_integrity_trips(&c, 3, 2)); /* 40 % */
    assert_true(rsp_act_integrity_trips(&c, 0, 4));
    assert_false(rsp_act_integrity_trips(&c, 0, 0));
    c.failure_pct = 0; /* disabled */
    assert_false(rsp_act_integrity_trips(&c, 0, 100));
    c.failure_pct = 100;
    c.min_sample = 0;
    assert_true(rsp_act_integrity_trips(&c, 0, 1));
    assert_false(rsp_act_integrity_trips(&c, 1, 99));
    assert_false(rsp_act_integrity_trips(NULL, 0, 1));
}

static void test_stage_table(void **state)
{
    (void)state;
    enum rsp_act_stage s;
    for (int i = 0; i < RSP_ACT_NSTAGES; i++) {
        assert_int_equal(rsp_act_stage_from_name(rsp_act_stage_name((enum rsp_act_stage)i), &s), 0);
        assert_int_equal((int)s, i);
    }
    assert_int_equal(rsp_act_stage_from_name("nope", &s), RSP_ESYNTAX);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_PRE_PROVISIONED, RSP_ACT_RESERVED), 0);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_PRE_PROVISIONED, RSP_ACT_INSTALLED),
                     RSP_ESTATE);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_INSTALLED, RSP_ACT_REVOKED),
                     RSP_ESTATE);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_IDENTITY_REJECTED, RSP_ACT_RESERVED),
                     RSP_ESTATE);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_FAILED, RSP_ACT_FIRST_CONTACT), 0);
    assert_int_equal(rsp_act_stage_transition_check(RSP_ACT_NSTAGES, RSP_ACT_FAILED), RSP_EINVAL);
}

static void test_validate(void **state)
{
    (void)state;
    struct rsp_act_order o;
    const char *why = NULL;
    mkorder(&o, "o-1", "c");
    assert_int_equal(rsp_act_order_validate(&o, &why), 0);
    snprintf(o.order_id, sizeof o.order_id, "bad id");
    assert_int_equal(rsp_act_order_validate(&o, &why), RSP_ESYNTAX);
    assert_non_null(strstr(why, "order_id"));
    mkorder(&o, "o-1", "c");
    snprintf(o.eid, sizeof o.eid, "89049032123451234512345678901234"); /* wrong check digits */
    assert_int_equal(rsp_act_order_validate(&o, &why), RSP_ESYNTAX);
    mkorder(&o, "o-1", "c");
    snprintf(o.tac, sizeof o.tac, "1234");
    assert_int_equal(rsp_act_order_validate(&o, &why), RSP_ESYNTAX);
    mkorder(&o, "o-1", "c");
    o.profile_type[0] = 0;
    assert_int_equal(rsp_act_order_validate(&o, &why), RSP_ESYNTAX);
    mkorder(&o, "o-1", "c");
    o.customer_ref[0] = 0;
    assert_int_equal(rsp_act_order_validate(&o, &why), RSP_ESYNTAX);
}

struct collect {
    int n;
    char ids[16][RSP_ACT_TEXT + 1];
};

static int collect_cb(void *arg, const struct rsp_act_order *o)
{
    struct collect *c = arg;
    if (c->n < 16)
        snprintf(c->ids[c->n], sizeof c->ids[0], "%s", o->order_id);
    c->n++;
    return 0;
}

static void test_orders(void **state)
{
    (void)state;
    struct rsp_store *st = fresh("act_orders");
    rsp_store_set_pseudonym_key(st, pkey());
    struct rsp_act_order o[3];
    mkorder(&o[0], "A1", "spring");
    mkorder(&o[1], "A2", "spring");
    mkorder(&o[2], "A1", "spring"); /* duplicate in the batch */
    size_t bad = 99;
    assert_int_equal(rsp_act_order_insert(st, o, 3, "ops", &bad), RSP_ESTATE);
    assert_int_equal(bad, 2);
    struct rsp_act_order got;
    assert_int_equal(rsp_act_order_get(st, "A1", &got), RSP_ENOTFOUND); /* nothing committed */
    mkorder(&o[2], "B1", "autumn");
    o[2].stage = RSP_ACT_IDENTITY_REJECTED;
    snprintf(o[2].id_result, sizeof o[2].id_result, "fail");
    snprintf(o[2].id_reason, sizeof o[2].id_reason, "document mismatch");
    assert_int_equal(rsp_act_order_insert(st, o, 3, "ops", &bad), 0);
    assert_int_equal(rsp_act_order_get(st, "B1", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_IDENTITY_REJECTED);
    assert_string_equal(got.id_reason, "document mismatch");
    assert_true(got.t[RSP_ACT_IDENTITY_REJECTED] > 0);
    assert_int_equal(got.t[RSP_ACT_PRE_PROVISIONED], 0);
    /* an already stored id refuses the next batch whole */
    mkorder(&o[0], "C1", "spring");
    mkorder(&o[1], "A2", "spring");
    assert_int_equal(rsp_act_order_insert(st, o, 2, "ops", &bad), RSP_ESTATE);
    assert_int_equal(bad, 1);
    assert_int_equal(rsp_act_order_get(st, "C1", &got), RSP_ENOTFOUND);

    /* CAS and the stage table */
    struct rsp_act_order cur, next;
    assert_int_equal(rsp_act_order_get(st, "A1", &cur), 0);
    next = cur;
    next.stage = RSP_ACT_INSTALLED;
    assert_int_equal(rsp_act_order_update(st, &cur, &next, "ops", "x"), RSP_ESTATE);
    next.stage = RSP_ACT_RESERVED;
    snprintf(next.eid, sizeof next.eid, "89049032123451234512345678901235");
    snprintf(next.iccid, sizeof next.iccid, "8949000000000000011");
    assert_int_equal(rsp_act_order_update(st, &cur, &next, "ops", "reserved"), 0);
    assert_int_equal(rsp_act_order_by_iccid(st, "8949000000000000011", &got), 0);
    assert_string_equal(got.order_id, "A1");
    assert_int_equal(rsp_act_order_by_iccid(st, "8949000000000000022", &got), RSP_ENOTFOUND);
    assert_int_equal(next.version, cur.version + 1);
    struct rsp_act_order stale = cur;
    next = stale;
    next.stage = RSP_ACT_REVOKED;
    assert_int_equal(rsp_act_order_update(st, &stale, &next, "ops", "lost"), RSP_ESTATE);
    assert_int_equal(rsp_act_order_get(st, "A1", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_RESERVED);
    assert_string_equal(got.eum, "89049032");
    assert_true(got.t[RSP_ACT_RESERVED] > 0);

    /* filters */
    struct collect c = {0};
    struct rsp_act_order_filter f = {.campaign = "spring"};
    assert_int_equal(rsp_act_order_list(st, &f, collect_cb, &c), 0);
    assert_int_equal(c.n, 2);
    memset(&c, 0, sizeof c);
    f = (struct rsp_act_order_filter){.customer_ref = "cust-B1"};
    assert_int_equal(rsp_act_order_list(st, &f, collect_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ids[0], "B1");
    memset(&c, 0, sizeof c);
    f = (struct rsp_act_order_filter){.eid = "89049032123451234512345678901235"};
    assert_int_equal(rsp_act_order_list(st, &f, collect_cb, &c), 0);
    assert_int_equal(c.n, 1);
    enum rsp_act_stage sg = RSP_ACT_PRE_PROVISIONED;
    memset(&c, 0, sizeof c);
    f = (struct rsp_act_order_filter){.stage = &sg};
    assert_int_equal(rsp_act_order_list(st, &f, collect_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ids[0], "A2");
    memset(&c, 0, sizeof c);
    f = (struct rsp_act_order_filter){.limit = 2};
    assert_int_equal(rsp_act_order_list(st, &f, collect_cb, &c), 0);
    assert_int_equal(c.n, 2);

    /* audit: the order's records carry the customer pseudonym, never the reference */
    struct rsp_audit_entry e[8];
    size_t n = 0;
    assert_int_equal(rsp_store_audit_list(st, "A1", e, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].entity, "order");
    assert_string_equal(e[1].to, "reserved");
    char pn[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(st, RSP_PSEUDONYM_CUSTOMER, "cust-A1", pn);
    assert_string_equal(e[0].subject, pn);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(e[i].reason, "cust-"));
        assert_null(strstr(e[i].reason, "8904903212345"));
    }
    struct rsp_audit_verify_result vr;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &vr), 0);
    assert_int_equal(vr.findings, 0);
    rsp_store_close(st);
}

static void test_tokens_pushes(void **state)
{
    (void)state;
    struct rsp_store *st = fresh("act_tokens");
    struct rsp_act_order o[2];
    mkorder(&o[0], "T1", "c1");
    mkorder(&o[1], "T2", "c1");
    assert_int_equal(rsp_act_order_insert(st, o, 2, "ops", NULL), 0);
    to_token(st, "T1", "MID-T1");
    to_token(st, "T2", "MID-T2");
    struct rsp_act_token t;
    assert_int_equal(rsp_act_token_get(st, "MID-T1", &t), 0);
    assert_string_equal(t.order_id, "T1");
    assert_int_equal(t.revoked_at, 0);
    /* a second token for the same matchingId of another order is refused */
    struct rsp_act_order got;
    assert_int_equal(rsp_act_order_get(st, "T2", &got), 0);
    struct rsp_act_token t2 = t;
    snprintf(t2.order_id, sizeof t2.order_id, "T2");
    assert_int_equal(rsp_act_token_issue(st, &got, &t2, "ops"), RSP_ESTATE);

    int64_t pid = 0, now = (int64_t)time(NULL);
    assert_int_equal(rsp_act_push_record(st, "MID-T1", "sms", "msg-1", "ops", now, &pid), 0);
    struct rsp_act_figures fig;
    assert_int_equal(rsp_act_figures(st, NULL, RSP_ACT_DIM_CAMPAIGN, "c1", now, &fig), 0);
    assert_int_equal(fig.pushes, 1);
    assert_int_equal(fig.attempts, 0);
    assert_true(pid > 0);
    assert_int_equal(rsp_act_order_get(st, "T1", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_PUSHED);
    /* a second hand-over is a second push */
    int64_t pid2 = 0;
    assert_int_equal(rsp_act_push_record(st, "MID-T1", "email", "msg-2", "ops", now, &pid2), 0);
    assert_true(pid2 > pid);
    assert_int_equal(rsp_act_push_record(st, "MID-T1", "pigeon", "x", "ops", now, NULL),
                     RSP_EINVAL);
    assert_int_equal(rsp_act_push_record(st, "NOPE", "sms", "x", "ops", now, NULL), RSP_ENOTFOUND);

    /* revoke: token and order; twice is RSP_ESTATE; no push afterwards */
    assert_int_equal(rsp_act_token_revoke(st, "MID-T2", "", "ops", now), RSP_EINVAL);
    assert_int_equal(rsp_act_token_revoke(st, "MID-T2", "customer cancelled", "ops", now), 0);
    assert_int_equal(rsp_act_token_revoke(st, "MID-T2", "again", "ops", now), RSP_ESTATE);
    assert_int_equal(rsp_act_token_revoke(st, "MID-NONE", "x", "ops", now), RSP_ENOTFOUND);
    assert_int_equal(rsp_act_token_get(st, "MID-T2", &t), 0);
    assert_true(t.revoked_at > 0);
    assert_int_equal(rsp_act_order_get(st, "T2", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_REVOKED);
    assert_int_equal(rsp_act_push_record(st, "MID-T2", "sms", "x", "ops", now, NULL), RSP_ESTATE);

    /* expiry: nothing before, the order after */
    unsigned nexp = 9;
    assert_int_equal(rsp_act_token_expire(st, now, &nexp), 0);
    assert_int_equal(nexp, 0);
    assert_int_equal(rsp_act_token_expire(st, now + 7200, &nexp), 0);
    assert_int_equal(nexp, 1);
    assert_int_equal(rsp_act_order_get(st, "T1", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_EXPIRED);
    assert_int_equal(rsp_act_order_get(st, "T2", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_REVOKED); /* revoked stays revoked */
    rsp_store_close(st);
}

static void test_integrity(void **state)
{
    (void)state;
    struct rsp_store *st = fresh("act_integrity");
    enum { N = 6 };
    struct rsp_act_order o[N];
    char id[16], mid[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "I%d", i);
        mkorder(&o[i], id, "camp");
    }
    assert_int_equal(rsp_act_order_insert(st, o, N, "ops", NULL), 0);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "I%d", i);
        snprintf(mid, sizeof mid, "M-%d", i);
        to_token(st, id, mid);
    }
    int64_t now = 1000000; /* the buckets follow the event times given */
    const char *eid = "89049032123451234512345678901235";
    for (int i = 0; i < N; i++) {
        snprintf(mid, sizeof mid, "M-%d", i);
        assert_int_equal(rsp_act_first_contact(st, &icfg, mid, eid, now), 0);
    }
    assert_int_equal(rsp_act_first_contact(st, &icfg, "UNKNOWN", eid, now), RSP_ENOTFOUND);
    struct rsp_act_figures f;
    assert_int_equal(rsp_act_figures(st, &icfg, RSP_ACT_DIM_CAMPAIGN, "camp", now, &f), 0);
    assert_int_equal(f.attempts, N);
    assert_int_equal(f.pushes, 0);
    assert_int_equal(rsp_act_figures(st, &icfg, RSP_ACT_DIM_EUM, "89049032", now, &f), 0);
    assert_int_equal(f.attempts, N);
    struct rsp_act_order got;
    assert_int_equal(rsp_act_order_get(st, "I0", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_FIRST_CONTACT);
    assert_string_equal(got.eid, eid);

    /* three failures: 100 % but below the minimum sample of 4 -> no quarantine */
    struct rsp_act_alert al;
    for (int i = 0; i < 3; i++) {
        snprintf(mid, sizeof mid, "M-%d", i);
        assert_int_equal(rsp_act_outcome(st, &icfg, mid, false, "pir error", now, &al), 0);
        assert_int_equal(al.n, 0);
    }
    struct rsp_act_cohort c;
    assert_int_equal(rsp_act_order_get(st, "I0", &got), 0);
    assert_int_equal(got.stage, RSP_ACT_FAILED);
    rsp_act_cohort_of(&got, eid, NULL, &c);
    assert_int_equal(rsp_act_quarantined(st, &c, NULL), 0);
    /* an install completes the minimum sample: 3 of 4 failed, 75 % >= 50 % -> quarantined at
     * this event (campaign, eum, tac, profile type) */
    assert_int_equal(rsp_act_outcome(st, &icfg, "M-3", true, NULL, now, &al), 0);
    assert_int_equal(al.n, 4);
    assert_int_equal(al.q[0].dim, RSP_ACT_DIM_CAMPAIGN);
    assert_int_equal(al.q[0].at_trip.failures, 3);
    assert_int_equal(al.q[0].at_trip.installs, 1);
    assert_int_equal(rsp_act_outcome(st, &icfg, "M-4", false, "cancelled", now + 1, &al), 0);
    assert_int_equal(al.n, 0); /* already quarantined */
    /* one webhook item per cohort in the outbox, JSON naming the cohort */
    struct rsp_outbox_item it;
    int items = 0;
    while (rsp_store_outbox_next_due(st, INT64_MAX, &it) == 0) {
        assert_string_equal(it.url, "http://127.0.0.1:9/alert");
        assert_non_null(strstr(it.body, "\"event\":\"quarantine\""));
        if (items == 0)
            assert_non_null(
                strstr(it.body, "\"cohort\":{\"dim\":\"campaign\",\"value\":\"camp\"}"));
        assert_int_equal(rsp_store_outbox_done(st, it.id), 0);
        items++;
    }
    assert_int_equal(items, 4);
    struct rsp_act_quarantine q;
    assert_int_equal(rsp_act_quarantined(st, &c, &q), 1);
    assert_true(q.active);
    assert_int_equal(rsp_act_outcome(st, &icfg, "M-5", false, "x", now + 2, &al), 0);
    assert_int_equal(al.n, 0);
    assert_int_equal(rsp_act_figures(st, &icfg, RSP_ACT_DIM_CAMPAIGN, "camp", now + 2, &f), 0);
    assert_int_equal(f.attempts, N);
    assert_int_equal(f.installs, 1);
    assert_int_equal(f.failures, 5);
    /* outside the window the figures are empty */
    assert_int_equal(rsp_act_figures(st, &icfg, RSP_ACT_DIM_CAMPAIGN, "camp", now + 601, &f), 0);
    assert_int_equal(f.failures, 0);

    /* release: actor and reason required; audited; lifted */
    assert_int_equal(rsp_act_quarantine_release(st, RSP_ACT_DIM_CAMPAIGN, "camp", "", "x", now),
                     RSP_EINVAL);
    assert_int_equal(rsp_act_quarantine_release(st, RSP_ACT_DIM_CAMPAIGN, "camp", "alice",
                                                "vendor fix", now + 3),
                     0);
    assert_int_equal(
        rsp_act_quarantine_release(st, RSP_ACT_DIM_CAMPAIGN, "camp", "alice", "again", now + 3),
        RSP_ENOTFOUND);
    assert_int_equal(rsp_act_quarantine_get(st, RSP_ACT_DIM_CAMPAIGN, "camp", &q), 0);
    assert_false(q.active);
    assert_string_equal(q.released_by, "alice");
    struct rsp_audit_entry e;
    assert_int_equal(rsp_store_audit_last(st, "quarantine", "campaign:camp", &e), 0);
    assert_string_equal(e.to, "released");
    assert_string_equal(e.actor, "alice");
    /* the other cohorts are still quarantined */
    assert_int_equal(rsp_act_quarantined(st, &c, &q), 1);
    assert_int_equal(q.dim, RSP_ACT_DIM_EUM);
    /* by hand */
    assert_int_equal(rsp_act_quarantine_set(st, RSP_ACT_DIM_TAC, "99999999", "bob", "manual", now),
                     0);
    assert_int_equal(rsp_act_quarantine_get(st, RSP_ACT_DIM_TAC, "99999999", &q), 0);
    assert_true(q.active);

    /* funnel: every order in exactly one current stage */
    struct rsp_act_funnel fu;
    assert_int_equal(rsp_act_funnel(st, "camp", &fu), 0);
    assert_int_equal(fu.total, N);
    int64_t sum = 0;
    for (int i = 0; i < RSP_ACT_NSTAGES; i++)
        sum += fu.current[i];
    assert_int_equal(sum, N);
    assert_int_equal(fu.current[RSP_ACT_INSTALLED], 1);
    assert_int_equal(fu.current[RSP_ACT_FAILED], 5);
    assert_int_equal(fu.reached[RSP_ACT_FIRST_CONTACT], N);
    assert_int_equal(fu.reached[RSP_ACT_TOKEN_ISSUED], N);
    assert_int_equal(rsp_act_funnel(st, "other", &fu), 0);
    assert_int_equal(fu.total, 0);
    rsp_store_close(st);
}

static void test_campaign_euicc_info(void **state)
{
    (void)state;
    struct rsp_store *st = fresh("act_misc");
    struct rsp_act_campaign c = {0}, got;
    snprintf(c.name, sizeof c.name, "spring");
    snprintf(c.description, sizeof c.description, "Spring roll-out");
    assert_int_equal(rsp_act_campaign_put(st, &c, "ops"), 0);
    c.requires_acceptance = true;
    assert_int_equal(rsp_act_campaign_put(st, &c, "ops"), 0);
    assert_int_equal(rsp_act_campaign_get(st, "spring", &got), 0);
    assert_true(got.requires_acceptance);
    assert_string_equal(got.description, "Spring roll-out");
    assert_int_equal(rsp_act_campaign_get(st, "none", &got), RSP_ENOTFOUND);
    char why[200] = "";
    assert_int_equal(rsp_act_campaign_get(st, "spring", &got), 0);
    assert_int_equal(rsp_act_acceptance_gate_hook(st, &got, why, sizeof why), RSP_ESTATE);
    assert_non_null(strstr(why, "acceptance"));

    const uint8_t info[] = {0xBF, 0x22, 0x03, 0x81, 0x01, 0x02};
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_act_euicc_info_get(st, "89049032123451234512345678901235", &b),
                     RSP_ENOTFOUND);
    assert_int_equal(
        rsp_act_euicc_info_put(st, "89049032123451234512345678901235", info, sizeof info, 5), 0);
    assert_int_equal(
        rsp_act_euicc_info_put(st, "89049032123451234512345678901235", info, sizeof info, 6), 0);
    assert_int_equal(rsp_act_euicc_info_get(st, "89049032123451234512345678901235", &b), 0);
    assert_int_equal(b.len, sizeof info);
    assert_memory_equal(b.data, info, sizeof info);
    rsp_buf_free(&b);
    rsp_store_close(st);
}

int main(int argc, char **argv)
{
    use_pg = argc > 1 && strcmp(argv[1], "pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_window), cmocka_unit_test(test_pure_verdict),
        cmocka_unit_test(test_stage_table), cmocka_unit_test(test_validate),
        cmocka_unit_test(test_orders),      cmocka_unit_test(test_tokens_pushes),
        cmocka_unit_test(test_integrity),   cmocka_unit_test(test_campaign_euicc_info),
    };
    return _cmocka_run_group_tests(use_pg ? "act_store_pg" : "act_store_sqlite", tests,
                                   sizeof tests / sizeof tests[0], NULL, NULL);
}
