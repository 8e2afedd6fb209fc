/* Reconciliation, rollback, privacy and retention in the store, for each backend:
 *
 *   test_recon_store sqlite   SQLite files in a temporary directory
 *   test_recon_store pg       PostgreSQL databases on the server of RSP_TEST_PG (skips without)
 *
 * Idempotent event import, actions, the rollback sweeper over every failure kind and policy (the
 * profile states reached, one rollback closed per failure, its audit records, nothing left in an
 * intermediate state, a second run changes nothing), a failure reported for a profile, privacy
 * erasure (no raw identifier of the customer left in any table, the audit chain still verifies,
 * refused while a download is live), retention. */
#include "pgtest.h"
#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/act.h"
#include "rsp/audit.h"
#include "rsp/err.h"
#include "rsp/recon.h"

static bool use_pg;

static const char *db_url(const char *name)
{
    static char paths[4][512];
    static unsigned next;
    if (use_pg) {
        TU_REQUIRE_PG();
        return tu_pg_db(name);
    }
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", tu_tmpdir(), name);
    remove(path);
    return path;
}

static struct rsp_store *open_store(const char *url)
{
    struct rsp_store *st = NULL;
    char err[256];
    int rc = rsp_store_open_url(url, &st, err, sizeof err);
    if (rc)
        fail_msg("open %s: %s (%s)", url, rsp_strerror(rc), err);
    return st;
}

static void raw_exec(const char *url, const char *sql)
{
    if (use_pg) {
        tu_pg_exec(url, sql);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

static long long raw_ll(const char *url, const char *sql)
{
    if (use_pg)
        return tu_pg_query_ll(url, sql);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    long long v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void mkev(struct rsp_recon_event *e, enum rsp_recon_kind k, const char *id,
                 const char *iccid, int64_t at)
{
    memset(e, 0, sizeof *e);
    e->kind = k;
    e->ok = true;
    snprintf(e->event_id, sizeof e->event_id, "%s", id);
    snprintf(e->iccid, sizeof e->iccid, "%s", iccid);
    e->at = at;
}

static int count_cb(void *arg, const struct rsp_recon_event *ev)
{
    (void)ev;
    (*(size_t *)arg)++;
    return 0;
}

static void test_events(void **state)
{
    (void)state;
    const char *url = db_url("events.db");
    struct rsp_store *st = open_store(url);
    struct rsp_recon_event ev[4];
    mkev(&ev[0], RSP_RECON_BILLING, "b1", "8944000000000000001", 100);
    snprintf(ev[0].plan, sizeof ev[0].plan, "plan-1");
    mkev(&ev[1], RSP_RECON_ATTACH, "a1", "8944000000000000001", 101);
    mkev(&ev[2], RSP_RECON_PHYSICAL, "p1", "8944100000000000001", 102);
    ev[2].started_at = 50;
    ev[2].ok = false;
    size_t added = 99;
    assert_int_equal(rsp_store_recon_import(st, ev, 3, "t", &added), 0);
    assert_int_equal(added, 3);
    /* a re-import is a no-op; only the new event is added */
    mkev(&ev[3], RSP_RECON_BILLING, "b2", "8944000000000000002", 103);
    assert_int_equal(rsp_store_recon_import(st, ev, 4, "t", &added), 0);
    assert_int_equal(added, 1);
    /* the same event id under another kind is another event */
    struct rsp_recon_event other;
    mkev(&other, RSP_RECON_ATTACH, "b1", "8944000000000000001", 104);
    assert_int_equal(rsp_store_recon_import(st, &other, 1, "t", &added), 0);
    assert_int_equal(added, 1);
    size_t n = 0;
    assert_int_equal(rsp_store_recon_walk(st, -1, count_cb, &n), 0);
    assert_int_equal(n, 5);
    n = 0;
    assert_int_equal(rsp_store_recon_walk(st, RSP_RECON_BILLING, count_cb, &n), 0);
    assert_int_equal(n, 2);
    struct rsp_audit_entry a;
    assert_int_equal(rsp_store_audit_last(st, "recon-import", "billing", &a), 0);
    assert_string_equal(a.reason, "4 events, 1 new");
    /* physical fields survive the round trip */
    struct rsp_recon *r;
    assert_int_equal(rsp_recon_load(st, &r), 0);
    rsp_recon_free(r);
    /* actions are recorded once */
    assert_int_equal(
        rsp_store_recon_action_mark(st, "tariff-mismatch", "8944000000000000001", "flag", "t"), 0);
    assert_int_equal(
        rsp_store_recon_action_mark(st, "tariff-mismatch", "8944000000000000001", "flag", "t"), 1);
    assert_int_equal(rsp_store_audit_last(st, "recon", "8944000000000000001", &a), 0);
    assert_string_equal(a.to, "flag");
    assert_int_equal(rsp_store_recon_import(st, NULL, 1, "t", NULL), RSP_EINVAL);
    rsp_store_close(st);
}

/* ---- rollback ---- */

struct spec {
    const char *iccid;
    enum rsp_profile_state state;
    const char *error;
    const char *eid;
    const char *kind;            /* expected failure kind (NULL: none) */
    enum rsp_profile_state want; /* state after the sweep */
};

static const struct spec specs[] = {
    {"8944000000000000101", RSP_PROFILE_ERROR, "cancelSession endUserRejection", "1", "cancelled",
     RSP_PROFILE_AVAILABLE},
    {"8944000000000000102", RSP_PROFILE_RELEASED, "installation error 3/127", "1", "pir-error",
     RSP_PROFILE_UNAVAILABLE},
    {"8944000000000000103", RSP_PROFILE_ERROR, "download attempts exhausted", "1",
     "download-failed", RSP_PROFILE_RELEASED},
    {"8944000000000000104", RSP_PROFILE_RELEASED, "", "1", "ttl-expired", RSP_PROFILE_AVAILABLE},
    {"8944000000000000105", RSP_PROFILE_RELEASED, "", "1", NULL, RSP_PROFILE_RELEASED},
    {"8944000000000000106", RSP_PROFILE_ERROR, "cancelSession metadataMismatch", "1",
     "verification-failed", RSP_PROFILE_UNAVAILABLE},
    {"8944000000000000107", RSP_PROFILE_RELEASED, "download session expired", "1",
     "download-failed", RSP_PROFILE_RELEASED},
    {"8944000000000000108", RSP_PROFILE_ERROR, "cancelSession loadBppExecutionError", "",
     "install-failed", RSP_PROFILE_RELEASED},
    {"8944000000000000109", RSP_PROFILE_INSTALLED, "", "1", NULL, RSP_PROFILE_INSTALLED},
    {"8944000000000000110", RSP_PROFILE_ERROR, "something new", "1", "other",
     RSP_PROFILE_UNAVAILABLE},
};
#define NSPEC (sizeof specs / sizeof specs[0])
#define EID1  "89049032000000000000000000000011"

static void insert_profile(struct rsp_store *st, const char *iccid, enum rsp_profile_state s,
                           const char *error, const char *eid, const char *mid)
{
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "%s", iccid);
    snprintf(p.imsi, sizeof p.imsi, "001010000000%s", iccid + 16);
    snprintf(p.profile_type, sizeof p.profile_type, "t");
    snprintf(p.owner, sizeof p.owner, "op1");
    p.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    p.state = s;
    snprintf(p.error_reason, sizeof p.error_reason, "%s", error);
    snprintf(p.eid, sizeof p.eid, "%s", eid);
    snprintf(p.matching_id, sizeof p.matching_id, "%s", mid);
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
}

struct rb_list {
    struct rsp_rollback v[32];
    size_t n;
};

static int rb_collect(void *arg, const struct rsp_rollback *rb)
{
    struct rb_list *l = arg;
    if (l->n < 32)
        l->v[l->n++] = *rb;
    return 0;
}

static void test_rollback_sweep(void **state)
{
    (void)state;
    const char *url = db_url("rollback.db");
    struct rsp_store *st = open_store(url);
    for (size_t i = 0; i < NSPEC; i++) {
        char mid[32];
        snprintf(mid, sizeof mid, "MID-%zu", i);
        insert_profile(st, specs[i].iccid, specs[i].state, specs[i].error,
                       specs[i].eid[0] ? EID1 : "", mid);
    }
    /* 104: released long ago (past the order TTL); 110: failed long ago (past the SLA) */
    raw_exec(url, "UPDATE profiles SET state_since = state_since - 10000"
                  " WHERE iccid IN ('8944000000000000104', '8944000000000000110')");
    struct rsp_rollback_config cfg;
    rsp_rollback_config_default(&cfg);
    cfg.order_ttl = 3600;
    int64_t now = (int64_t)time(NULL) + 5;
    struct rsp_rollback_run run;
    assert_int_equal(rsp_rollback_sweep(st, &cfg, now, &run), 0);
    size_t failures = 0;
    for (size_t i = 0; i < NSPEC; i++)
        failures += specs[i].kind != NULL;
    print_message("# detected %u, done %u, lost %u, breaches %u\n", run.detected, run.done,
                  run.lost, run.breaches);
    assert_int_equal(run.detected, failures);
    assert_int_equal(run.done, failures);
    assert_int_equal(run.breaches, 1); /* 110 failed 10000 s before */
    for (size_t i = 0; i < NSPEC; i++) {
        struct rsp_profile p;
        assert_int_equal(rsp_store_profile_get(st, specs[i].iccid, &p), 0);
        if (p.state != specs[i].want)
            fail_msg("%s: %s, want %s", specs[i].iccid, rsp_profile_state_name(p.state),
                     rsp_profile_state_name(specs[i].want));
        if (specs[i].kind && specs[i].want == RSP_PROFILE_RELEASED) {
            /* re-released for the same EID (if it had one) and matchingId */
            assert_string_equal(p.eid, specs[i].eid[0] ? EID1 : "");
            assert_true(strncmp(p.matching_id, "MID-", 4) == 0);
        }
        if (specs[i].want == RSP_PROFILE_AVAILABLE) {
            assert_string_equal(p.eid, "");
            assert_string_equal(p.matching_id, "");
        }
        /* no intermediate state is left */
        assert_true(p.state != RSP_PROFILE_ERROR && p.state != RSP_PROFILE_DOWNLOADED);
    }
    struct rb_list l = {0};
    assert_int_equal(rsp_store_rollback_walk(st, false, rb_collect, &l), 0);
    assert_int_equal(l.n, failures);
    for (size_t i = 0; i < l.n; i++) {
        assert_true(l.v[i].done_at > 0);
        const struct spec *s = NULL;
        for (size_t j = 0; j < NSPEC; j++)
            if (strcmp(specs[j].iccid, l.v[i].iccid) == 0)
                s = &specs[j];
        assert_non_null(s);
        assert_non_null(s->kind);
        assert_string_equal(l.v[i].kind, s->kind);
        assert_string_equal(l.v[i].outcome, rsp_profile_state_name(s->want));
        /* audit: the opening and the closing record, and the transitions by "rollback" */
        struct rsp_audit_entry a[32];
        size_t na;
        assert_int_equal(rsp_store_audit_list(st, l.v[i].iccid, a, 32, &na), 0);
        int opened = 0, closed = 0, moves = 0;
        for (size_t k = 0; k < na; k++) {
            if (strcmp(a[k].entity, "rollback") == 0 && strncmp(a[k].to, "open:", 5) == 0)
                opened++;
            if (strcmp(a[k].entity, "rollback") == 0 && strncmp(a[k].to, "done:", 5) == 0)
                closed++;
            if (strcmp(a[k].entity, "profile") == 0 && strcmp(a[k].actor, "rollback") == 0)
                moves++;
        }
        assert_int_equal(opened, 1);
        assert_int_equal(closed, 1);
        if (s->want != RSP_PROFILE_RELEASED || s->state == RSP_PROFILE_ERROR ||
            strcmp(s->kind, "ttl-expired") == 0)
            assert_true(moves >= 1);
    }
    /* a second run finds nothing new and changes nothing */
    assert_int_equal(rsp_rollback_sweep(st, &cfg, now + 1, &run), 0);
    assert_int_equal(run.detected, 0);
    assert_int_equal(run.done, 0);
    l.n = 0;
    assert_int_equal(rsp_store_rollback_walk(st, true, rb_collect, &l), 0);
    assert_int_equal(l.n, 0);

    /* a failure reported by the device: Released -> Error, then rolled back (quarantine) */
    assert_int_equal(rsp_rollback_report_failure(st, "8944000000000000105", RSP_FAIL_VERIFY, "t"),
                     0);
    assert_int_equal(rsp_rollback_report_failure(st, "8944000000000000109", RSP_FAIL_VERIFY, "t"),
                     RSP_ESTATE); /* Installed is final */
    assert_int_equal(rsp_rollback_report_failure(st, "8944000000000009999", RSP_FAIL_VERIFY, "t"),
                     RSP_ENOTFOUND);
    assert_int_equal(rsp_rollback_sweep(st, &cfg, now + 2, &run), 0);
    assert_int_equal(run.detected, 1);
    assert_int_equal(run.done, 1);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000105", &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_UNAVAILABLE);
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(st);
}

/* An open rollback whose profile was resolved by someone else is closed as such; one whose
 * profile is gone too. */
static void test_rollback_resolved_elsewhere(void **state)
{
    (void)state;
    const char *url = db_url("rb2.db");
    struct rsp_store *st = open_store(url);
    insert_profile(st, "8944000000000000201", RSP_PROFILE_ERROR, "cancelSession x", EID1, "M1");
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000201", &p), 0);
    struct rsp_rollback rb;
    memset(&rb, 0, sizeof rb);
    snprintf(rb.iccid, sizeof rb.iccid, "%s", p.iccid);
    snprintf(rb.kind, sizeof rb.kind, "cancelled");
    rb.failed_at = p.state_since;
    assert_int_equal(rsp_store_rollback_open(st, &rb, "t"), 0);
    assert_true(rb.id > 0);
    struct rsp_rollback again = rb;
    assert_int_equal(rsp_store_rollback_open(st, &again, "t"), 1);
    assert_int_equal(again.id, rb.id);
    /* the operator cancelled the order meanwhile (ES2+ CancelOrder: Error -> Unavailable) */
    assert_int_equal(rsp_store_profile_transition(st, p.iccid, RSP_PROFILE_ERROR,
                                                  RSP_PROFILE_UNAVAILABLE, "es2p", "CancelOrder"),
                     0);
    struct rsp_rollback_config cfg;
    rsp_rollback_config_default(&cfg);
    struct rsp_rollback_run run;
    assert_int_equal(rsp_rollback_sweep(st, &cfg, (int64_t)time(NULL), &run), 0);
    assert_int_equal(run.done, 1);
    struct rb_list l = {0};
    assert_int_equal(rsp_store_rollback_walk(st, false, rb_collect, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].outcome, "resolved elsewhere: Unavailable");
    struct rsp_rollback bad = l.v[0];
    assert_int_equal(rsp_store_rollback_close(st, &bad, "t"), RSP_ESTATE); /* closed already */
    rsp_store_close(st);
}

/* Two sweepers (two connections, as two rsp-smdp processes) on the same failures: every
 * failure gets exactly one rollback, closed once, with one closing record; no profile is moved
 * twice. */
struct sweeper {
    const char *url;
    pthread_barrier_t *bar;
    struct rsp_rollback_run run;
    int rc;
};

static void *sweep_thread(void *arg)
{
    struct sweeper *w = arg;
    struct rsp_store *st = NULL;
    w->rc = rsp_store_open_url(w->url, &st, NULL, 0);
    pthread_barrier_wait(w->bar);
    struct rsp_rollback_config cfg;
    rsp_rollback_config_default(&cfg);
    struct rsp_rollback_run total = {0};
    for (int round = 0; w->rc == 0 && round < 3; round++) {
        struct rsp_rollback_run r;
        w->rc = rsp_rollback_sweep(st, &cfg, (int64_t)time(NULL), &r);
        total.detected += r.detected;
        total.done += r.done;
        total.lost += r.lost;
    }
    w->run = total;
    rsp_store_close(st);
    return NULL;
}

static void test_rollback_concurrent(void **state)
{
    (void)state;
    enum { N = 30 };
    const char *url0 = db_url("rbconc.db");
    char url[512];
    snprintf(url, sizeof url, "%s", url0);
    struct rsp_store *st = open_store(url);
    for (int i = 0; i < N; i++) {
        char iccid[21], mid[16];
        snprintf(iccid, sizeof iccid, "89440000000000006%02d", i);
        snprintf(mid, sizeof mid, "MC-%d", i);
        /* alternate: cancelled (-> Available), pir-error (-> Unavailable), download-failed
         * (re-release: three steps) */
        const char *why[] = {"cancelSession endUserRejection", "installation error 1/2",
                             "download attempts exhausted"};
        insert_profile(st, iccid, i % 3 == 1 ? RSP_PROFILE_RELEASED : RSP_PROFILE_ERROR, why[i % 3],
                       EID1, mid);
    }
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    struct sweeper w[2] = {{url, &bar, {0}, 0}, {url, &bar, {0}, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sweep_thread, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    assert_int_equal(w[0].rc, 0);
    assert_int_equal(w[1].rc, 0);
    print_message("# sweeper A: %u detected, %u closed, %u lost; B: %u, %u, %u\n",
                  w[0].run.detected, w[0].run.done, w[0].run.lost, w[1].run.detected, w[1].run.done,
                  w[1].run.lost);
    assert_int_equal(w[0].run.detected + w[1].run.detected, N);
    assert_int_equal(w[0].run.done + w[1].run.done, N);
    assert_int_equal(raw_ll(url, "SELECT count(*) FROM rollbacks"), N);
    assert_int_equal(raw_ll(url, "SELECT count(*) FROM rollbacks WHERE done_at = 0"), 0);
    assert_int_equal(raw_ll(url, "SELECT count(*) FROM audit WHERE entity = 'rollback' AND"
                                 " to_state LIKE 'done:%'"),
                     N);
    for (int i = 0; i < N; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "89440000000000006%02d", i);
        struct rsp_profile p;
        assert_int_equal(rsp_store_profile_get(st, iccid, &p), 0);
        enum rsp_profile_state want[] = {RSP_PROFILE_AVAILABLE, RSP_PROFILE_UNAVAILABLE,
                                         RSP_PROFILE_RELEASED};
        assert_int_equal(p.state, want[i % 3]);
    }
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(st);
}

/* ---- privacy ---- */

#define CUST  "CUST-ERASE-0042"
#define EIDP  "89049032000000000000000000004242"
#define IMEIP "353456789012345"
#define ICCP  "8944000000000000301"

static struct rsp_pseudonym_key test_key(void)
{
    struct rsp_pseudonym_key k;
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_int_equal(rsp_pseudonym_key_parse((const uint8_t *)hex, strlen(hex), &k), 0);
    return k;
}

/* Occurrences of `needle` in any column of any table (text, or bytes of blobs). */
static long long occurrences(const char *url, const char *needle)
{
    if (use_pg) {
        static const char *const tables[] = {
            "profiles",          "sessions",          "audit",     "outbox",
            "recon_events",      "recon_actions",     "rollbacks", "audit_checkpoints",
            "activation_orders", "activation_tokens", "pushes",    "euicc_info"};
        long long n = 0;
        for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
            char sql[512];
            /* bytea columns appear as hex in row_to_json: encode the needle too */
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM %s t WHERE row_to_json(t)::text LIKE '%%%s%%' OR"
                     " row_to_json(t)::text LIKE '%%' || encode('%s'::bytea, 'hex') || '%%'",
                     tables[i], needle, needle);
            long long k = tu_pg_query_ll(url, sql);
            if (k)
                print_message("# %s: %lld row(s) hold the value\n", tables[i], k);
            n += k;
        }
        return n;
    }
    /* SQLite: the bytes of the database file and its WAL */
    long long n = 0;
    const char *suffix[] = {"", "-wal"};
    for (int s = 0; s < 2; s++) {
        char path[600];
        snprintf(path, sizeof path, "%s%s", url, suffix[s]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *b = malloc((size_t)len + 1);
        assert_non_null(b);
        assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
        fclose(f);
        size_t nl = strlen(needle);
        for (long i = 0; i + (long)nl <= len; i++)
            if (memcmp(b + i, needle, nl) == 0)
                n++;
        free(b);
    }
    return n;
}

static void test_privacy_erase(void **state)
{
    (void)state;
    const char *url = db_url("privacy.db");
    struct rsp_store *st = open_store(url);
    struct rsp_pseudonym_key k = test_key();
    rsp_store_set_pseudonym_key(st, &k);
    insert_profile(st, ICCP, RSP_PROFILE_INSTALLED, "", EIDP, "");
    insert_profile(st, "8944000000000000302", RSP_PROFILE_INSTALLED, "", "", "");
    struct rsp_session s;
    rsp_session_init(&s);
    snprintf(s.tid, sizeof s.tid, "0A0B0C");
    snprintf(s.iccid, sizeof s.iccid, ICCP);
    snprintf(s.eid, sizeof s.eid, EIDP);
    s.state = RSP_SESSION_FINISHED;
    s.expires_at = 1;
    rsp_buf_append(&s.euicc_cert, "cert naming " EIDP, strlen("cert naming " EIDP));
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    rsp_session_free(&s);
    struct rsp_outbox_item it;
    memset(&it, 0, sizeof it);
    snprintf(it.iccid, sizeof it.iccid, ICCP);
    snprintf(it.url, sizeof it.url, "https://op.example/es2");
    snprintf(it.body, sizeof it.body, "{\"iccid\":\"%s\",\"eid\":\"%s\"}", ICCP, EIDP);
    it.next_attempt_at = 1;
    assert_int_equal(rsp_store_outbox_add(st, &it), 0);
    struct rsp_recon_event ev[3];
    mkev(&ev[0], RSP_RECON_BILLING, "b1", ICCP, 10);
    snprintf(ev[0].customer, sizeof ev[0].customer, CUST);
    mkev(&ev[1], RSP_RECON_ATTACH, "a1", ICCP, 11);
    snprintf(ev[1].imei, sizeof ev[1].imei, IMEIP);
    snprintf(ev[1].eid, sizeof ev[1].eid, EIDP);
    mkev(&ev[2], RSP_RECON_BILLING, "b2", "8944000000000000302", 12);
    snprintf(ev[2].customer, sizeof ev[2].customer, "CUST-OTHER");
    assert_int_equal(rsp_store_recon_import(st, ev, 3, "t", NULL), 0);
    assert_true(occurrences(url, CUST) > 0);

    /* refused while one of the customer's profiles is in a live download state */
    insert_profile(st, "8944000000000000303", RSP_PROFILE_RELEASED, "", EIDP, "M3");
    struct rsp_recon_event live;
    mkev(&live, RSP_RECON_BILLING, "b3", "8944000000000000303", 13);
    snprintf(live.customer, sizeof live.customer, CUST);
    assert_int_equal(rsp_store_recon_import(st, &live, 1, "t", NULL), 0);
    struct rsp_privacy_counts c;
    assert_int_equal(rsp_store_privacy_erase(st, CUST, "t", &c), RSP_ESTATE);
    assert_int_equal(raw_ll(url, "SELECT count(*) FROM recon_events WHERE customer = '" CUST "'"),
                     2);
    assert_int_equal(rsp_store_profile_transition(st, "8944000000000000303", RSP_PROFILE_RELEASED,
                                                  RSP_PROFILE_UNAVAILABLE, "t", "cancelled"),
                     0);
    /* ... or while any live order is linked to the customer's EID (the same device) */
    insert_profile(st, "8944000000000000304", RSP_PROFILE_RELEASED, "", EIDP, "M4");
    assert_int_equal(rsp_store_privacy_erase(st, CUST, "t", &c), RSP_ESTATE);
    assert_int_equal(rsp_store_profile_transition(st, "8944000000000000304", RSP_PROFILE_RELEASED,
                                                  RSP_PROFILE_UNAVAILABLE, "t", "cancelled"),
                     0);
    assert_int_equal(rsp_store_privacy_erase(st, "CUST-NOBODY", "t", &c), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_privacy_erase(st, CUST, "t", &c), 0);
    assert_int_equal(c.iccids, 2);
    assert_true(c.events >= 3);
    assert_int_equal(c.profiles, 3); /* 301, 303 and 304 named the EID */
    assert_int_equal(c.sessions, 1);
    assert_int_equal(c.outbox, 1);
    /* the other customer is untouched */
    assert_int_equal(raw_ll(url, "SELECT count(*) FROM recon_events WHERE customer = 'CUST-OTHER'"),
                     1);
    /* the pseudonyms stand in for the identifiers */
    char pe[RSP_PSEUDONYM_LEN + 1];
    assert_int_equal(rsp_pseudonym(&k, RSP_PSEUDONYM_EID, EIDP, pe), 0);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, ICCP, &p), 0);
    assert_string_equal(p.eid, pe);
    struct rsp_audit_entry a;
    char pc[RSP_PSEUDONYM_LEN + 1];
    assert_int_equal(rsp_pseudonym(&k, RSP_PSEUDONYM_CUSTOMER, CUST, pc), 0);
    assert_int_equal(rsp_store_audit_last(st, "privacy", pc, &a), 0);
    assert_string_equal(a.subject, pc);
    /* the audit chain still verifies */
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    /* erasing again finds the customer no more */
    assert_int_equal(rsp_store_privacy_erase(st, CUST, "t", &c), RSP_ENOTFOUND);
    rsp_store_close(st);
    /* no raw identifier of the customer is left anywhere in the database */
    assert_int_equal(occurrences(url, CUST), 0);
    assert_int_equal(occurrences(url, EIDP), 0);
    assert_int_equal(occurrences(url, IMEIP), 0);
    assert_true(occurrences(url, "CUST-OTHER") > 0); /* the search does find what is there */
}

static void test_retention(void **state)
{
    (void)state;
    const char *url = db_url("retention.db");
    struct rsp_store *st = open_store(url);
    struct rsp_recon_event ev[3];
    mkev(&ev[0], RSP_RECON_BILLING, "old1", "8944000000000000001", 1000);
    mkev(&ev[1], RSP_RECON_ATTACH, "old2", "8944000000000000001", 1500);
    mkev(&ev[2], RSP_RECON_BILLING, "new", "8944000000000000001", 5000);
    assert_int_equal(rsp_store_recon_import(st, ev, 3, "t", NULL), 0);
    int64_t n = -1;
    assert_int_equal(rsp_store_retention_sweep(st, RSP_DATA_EVENTS, 2000, "t", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rsp_store_retention_sweep(st, RSP_DATA_EVENTS, 2000, "t", &n), 0);
    assert_int_equal(n, 0);
    insert_profile(st, "8944000000000000401", RSP_PROFILE_INSTALLED, "", EID1, "");
    struct rsp_session s;
    rsp_session_init(&s);
    snprintf(s.tid, sizeof s.tid, "0D0E");
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000401");
    s.state = RSP_SESSION_FINISHED;
    s.expires_at = 1;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    snprintf(s.tid, sizeof s.tid, "0D0F");
    s.state = RSP_SESSION_STARTED;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    rsp_session_free(&s);
    assert_int_equal(
        rsp_store_retention_sweep(st, RSP_DATA_SESSIONS, (int64_t)time(NULL) + 10, "t", &n), 0);
    assert_int_equal(n, 1); /* the live one stays */
    struct rsp_audit_entry a;
    assert_int_equal(rsp_store_audit_last(st, "retention", "sessions", &a), 0);
    assert_int_equal(rsp_store_retention_sweep(st, RSP_DATA_NCLASSES, 0, "t", &n), RSP_EINVAL);
    rsp_store_close(st);
}

/* The activation orders (branch ops): the order's tariff is what billing is compared with, and
 * a customer known only through its order is erased too (reference and EID in the order). */
#define EIDV "89049032123451234512345678901235"
static void test_orders(void **state)
{
    (void)state;
    const char *url = db_url("orders.db");
    struct rsp_store *st = open_store(url);
    struct rsp_pseudonym_key k = test_key();
    rsp_store_set_pseudonym_key(st, &k);
    insert_profile(st, "8944000000000000501", RSP_PROFILE_INSTALLED, "", EIDV, "");
    struct rsp_act_order o;
    memset(&o, 0, sizeof o);
    snprintf(o.order_id, sizeof o.order_id, "O-501");
    snprintf(o.customer_ref, sizeof o.customer_ref, "CUST-ORD-9");
    snprintf(o.tariff_plan, sizeof o.tariff_plan, "plan-gold");
    snprintf(o.profile_type, sizeof o.profile_type, "t");
    snprintf(o.iccid, sizeof o.iccid, "8944000000000000501");
    snprintf(o.eid, sizeof o.eid, EIDV);
    o.stage = RSP_ACT_PRE_PROVISIONED;
    size_t bad = 0;
    assert_int_equal(rsp_act_order_insert(st, &o, 1, "t", &bad), 0);
    struct rsp_recon_event ev;
    mkev(&ev, RSP_RECON_BILLING, "b1", "8944000000000000501", 100);
    snprintf(ev.plan, sizeof ev.plan, "plan-silver");
    assert_int_equal(rsp_store_recon_import(st, &ev, 1, "t", NULL), 0);
    struct rsp_recon *r;
    assert_int_equal(rsp_recon_load(st, &r), 0);
    struct rsp_recon_params prm = {(int64_t)time(NULL), 1000000, 1000000, 1000000};
    struct rsp_recon_finding *f;
    size_t n, counts[RSP_DISC_NKINDS];
    assert_int_equal(rsp_recon_findings(r, &prm, &f, &n, counts), 0);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].kind, RSP_DISC_TARIFF_MISMATCH);
    assert_string_equal(f[0].expected, "plan-gold");
    assert_string_equal(f[0].seen, "plan-silver");
    free(f);
    rsp_recon_free(r);
    /* erasure of a customer the events do not name */
    assert_true(occurrences(url, "CUST-ORD-9") > 0);
    struct rsp_privacy_counts c;
    assert_int_equal(rsp_store_privacy_erase(st, "CUST-ORD-9", "t", &c), 0);
    assert_int_equal(c.iccids, 1);
    assert_true(c.orders >= 2); /* the reference and the EID */
    assert_int_equal(c.profiles, 1);
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(st);
    assert_int_equal(occurrences(url, "CUST-ORD-9"), 0);
    assert_int_equal(occurrences(url, EIDV), 0);
}

int main(int argc, char **argv)
{
    use_pg = argc > 1 && strcmp(argv[1], "pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_rollback_sweep),
        cmocka_unit_test(test_rollback_resolved_elsewhere),
        cmocka_unit_test(test_rollback_concurrent),
        cmocka_unit_test(test_privacy_erase),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_orders),
    };
    return cmocka_run_group_tests_name(use_pg ? "recon_store_pg" : "recon_store_sqlite", tests,
                                       NULL, NULL);
}
