/* SM-DP+ store: state tables, compare-and-set, races between connections, sessions, the expiry
 * sweeper, migrations and crash consistency, for each backend:
 *
 *   test_store sqlite      SQLite files in a temporary directory
 *   test_store pg          PostgreSQL databases on the server named by RSP_TEST_PG (scripts/pg.sh);
 *                          every test skips when it is unset
 *
 * The same tests run against both; the PostgreSQL run adds tests of its own (a writer blocked on
 * a row lock loses its compare-and-set, many connections contending, connections killed in the
 * middle of a transaction, concurrent migration, schema parity with SQLite). */
#include "pgtest.h"
#include "testutil.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsp/acceptance.h"
#include "rsp/err.h"
#include "rsp/store.h"

static bool use_pg; /* argv[1] == "pg" */

/* The URL of a fresh store called `name`: a file in the temporary directory (SQLite) or a new
 * database (PostgreSQL; the test skips without a server). Static storage, rotating. */
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
    return path;
}

static struct rsp_store *open_store(const char *url)
{
    struct rsp_store *st = NULL;
    char err[256];
    int rc = rsp_store_open_url(url, &st, err, sizeof err);
    if (rc)
        fail_msg("open %s: %s (%s)", url, rsp_strerror(rc), err);
    assert_non_null(st);
    return st;
}

/* SQL straight on the database, beside the store (both backends understand these statements). */
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

static long long raw_query_ll(const char *url, const char *sql)
{
    if (use_pg)
        return tu_pg_query_ll(url, sql);
    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    long long v = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void mkprofile(struct rsp_profile *p, const char *iccid, const char *type)
{
    memset(p, 0, sizeof *p);
    snprintf(p->iccid, sizeof p->iccid, "%s", iccid);
    snprintf(p->imsi, sizeof p->imsi, "001010123456789");
    snprintf(p->profile_type, sizeof p->profile_type, "%s", type);
    snprintf(p->spn, sizeof p->spn, "rspkit");
    snprintf(p->name, sizeof p->name, "Test profile");
    p->pclass = RSP_PROFILE_CLASS_OPERATIONAL;
    snprintf(p->owner, sizeof p->owner, "op1");
    p->state = RSP_PROFILE_AVAILABLE;
    memset(p->package_sha256, 0xab, sizeof p->package_sha256);
}

/* The expected table, written out independently of src/smdp/store.c (addendum §2.8). */
static int expected_profile(enum rsp_profile_state f, enum rsp_profile_state t)
{
    static const char *const allowed[] = {
        "Available>Allocated",  "Available>Linked",      "Available>Unavailable",
        "Allocated>Linked",     "Allocated>Confirmed",   "Allocated>Released",
        "Allocated>Available",  "Allocated>Unavailable", "Linked>Confirmed",
        "Linked>Released",      "Linked>Available",      "Linked>Unavailable",
        "Confirmed>Released",   "Confirmed>Available",   "Confirmed>Unavailable",
        "Released>Downloaded",  "Released>Error",        "Released>Available",
        "Released>Unavailable", "Released>Installed",    "Downloaded>Installed",
        "Downloaded>Error",     "Downloaded>Released",   "Error>Available",
        "Error>Unavailable",
    };
    char key[64];
    if (f == t)
        return 0;
    snprintf(key, sizeof key, "%s>%s", rsp_profile_state_name(f), rsp_profile_state_name(t));
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (strcmp(allowed[i], key) == 0)
            return 0;
    return RSP_ESTATE;
}

static void test_profile_table(void **state)
{
    (void)state;
    for (int f = 0; f < RSP_PROFILE_NSTATES; f++)
        for (int t = 0; t < RSP_PROFILE_NSTATES; t++) {
            int want = expected_profile(f, t);
            if (rsp_profile_transition_check(f, t) != want)
                fail_msg("%s -> %s: expected %d", rsp_profile_state_name(f),
                         rsp_profile_state_name(t), want);
        }
    assert_int_equal(rsp_profile_transition_check(RSP_PROFILE_NSTATES, 0), RSP_EINVAL);
    enum rsp_profile_state s;
    for (int f = 0; f < RSP_PROFILE_NSTATES; f++) {
        assert_int_equal(rsp_profile_state_from_name(rsp_profile_state_name(f), &s), 0);
        assert_int_equal(s, f);
    }
    assert_int_equal(rsp_profile_state_from_name("available", &s), RSP_ESYNTAX);

    /* Sessions: forward steps, and cancel/expire from every live state. */
    static const int ok[][2] = {{RSP_SESSION_STARTED, RSP_SESSION_AUTHENTICATED},
                                {RSP_SESSION_AUTHENTICATED, RSP_SESSION_BPP_BOUND},
                                {RSP_SESSION_BPP_BOUND, RSP_SESSION_FINISHED},
                                {RSP_SESSION_STARTED, RSP_SESSION_CANCELLED},
                                {RSP_SESSION_AUTHENTICATED, RSP_SESSION_CANCELLED},
                                {RSP_SESSION_BPP_BOUND, RSP_SESSION_CANCELLED},
                                {RSP_SESSION_STARTED, RSP_SESSION_EXPIRED},
                                {RSP_SESSION_AUTHENTICATED, RSP_SESSION_EXPIRED},
                                {RSP_SESSION_BPP_BOUND, RSP_SESSION_EXPIRED}};
    for (int f = 0; f < RSP_SESSION_NSTATES; f++)
        for (int t = 0; t < RSP_SESSION_NSTATES; t++) {
            int want = f == t ? 0 : RSP_ESTATE;
            for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (ok[i][0] == f && ok[i][1] == t)
                    want = 0;
            assert_int_equal(rsp_session_transition_check(f, t), want);
        }
}

/* Every transition through the store: allowed ones are written and audited, refused ones leave
 * the row untouched. */
static void test_profile_transitions_stored(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("trans.db"));
    int n = 0;
    for (int f = 0; f < RSP_PROFILE_NSTATES; f++)
        for (int t = 0; t < RSP_PROFILE_NSTATES; t++) {
            struct rsp_profile p, cur, next;
            char iccid[21];
            snprintf(iccid, sizeof iccid, "8901%015d", n++);
            mkprofile(&p, iccid, "T");
            p.state = f;
            assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
            assert_int_equal(rsp_store_profile_get(st, iccid, &cur), 0);
            next = cur;
            next.state = t;
            int rc = rsp_store_profile_update(st, &cur, &next, "test", "table");
            assert_int_equal(rc, expected_profile(f, t));
            struct rsp_profile after;
            assert_int_equal(rsp_store_profile_get(st, iccid, &after), 0);
            assert_int_equal(after.state, rc == 0 ? t : f);
            assert_int_equal(after.version, rc == 0 ? 1 : 0);
            struct rsp_audit_entry a[4];
            size_t na;
            assert_int_equal(rsp_store_audit_list(st, iccid, a, 4, &na), 0);
            assert_int_equal(na, (rc == 0 && f != t) ? 2 : 1);
            if (na == 2) {
                assert_string_equal(a[1].from, rsp_profile_state_name(f));
                assert_string_equal(a[1].to, rsp_profile_state_name(t));
                assert_string_equal(a[1].actor, "test");
                assert_string_equal(a[1].reason, "table");
            }
        }
    rsp_store_close(st);
}

static void test_profile_crud_cas(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("crud.db"));
    struct rsp_profile p, a, b, got;
    const uint8_t pkg[] = {0xa0, 0x03, 0x01, 0x02, 0x03};
    mkprofile(&p, "8944476500001234567", "gold");
    p.cc_set = true;
    memset(p.cc_hash, 0x11, 32);
    assert_int_equal(rsp_store_profile_insert(st, &p, pkg, sizeof pkg, "import"), 0);
    assert_int_equal(rsp_store_profile_insert(st, &p, pkg, sizeof pkg, "import"), RSP_ESTATE);
    p.iccid[3] = 'x';
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, NULL), RSP_EINVAL);

    assert_int_equal(rsp_store_profile_get(st, "8944476500001234567", &got), 0);
    assert_string_equal(got.imsi, "001010123456789");
    assert_string_equal(got.profile_type, "gold");
    assert_true(got.cc_set);
    assert_int_equal(got.cc_hash[31], 0x11);
    assert_int_equal(got.state, RSP_PROFILE_AVAILABLE);
    assert_true(got.created_at > 0);
    assert_int_equal(rsp_store_profile_get(st, "8944476500009999999", &got), RSP_ENOTFOUND);

    struct rsp_buf b_pkg = RSP_BUF_INIT;
    assert_int_equal(rsp_store_profile_package(st, "8944476500001234567", &b_pkg), 0);
    tu_assert_hex(b_pkg.data, b_pkg.len, "a003010203");
    rsp_buf_free(&b_pkg);

    assert_int_equal(rsp_store_profile_find_available(st, "gold", &got), 0);
    assert_int_equal(rsp_store_profile_find_available(st, "silver", &got), RSP_ENOTFOUND);

    /* Two readers of version 0; the first writer wins, the second loses cleanly. */
    assert_int_equal(rsp_store_profile_get(st, "8944476500001234567", &a), 0);
    b = a;
    struct rsp_profile na = a, nb = b;
    na.state = RSP_PROFILE_LINKED;
    snprintf(na.eid, sizeof na.eid, "89049032123451234512345678901235");
    nb.state = RSP_PROFILE_ALLOCATED;
    assert_int_equal(rsp_store_profile_update(st, &a, &na, "es2+", "downloadOrder"), 0);
    assert_int_equal(na.version, 1);
    assert_int_equal(rsp_store_profile_update(st, &b, &nb, "es2+", "downloadOrder"), RSP_ESTATE);
    assert_int_equal(rsp_store_profile_get(st, "8944476500001234567", &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_LINKED);
    assert_string_equal(got.eid, "89049032123451234512345678901235");
    assert_int_equal(got.version, 1);
    assert_int_equal(rsp_store_profile_find_available(st, "gold", &got), RSP_ENOTFOUND);

    /* Same-state field update, then a stale version with the right state loses. */
    struct rsp_profile c = na, nc = na;
    snprintf(nc.matching_id, sizeof nc.matching_id, "MATCH-1");
    assert_int_equal(rsp_store_profile_update(st, &c, &nc, "es2+", "confirm"), 0);
    assert_int_equal(rsp_store_profile_update(st, &c, &nc, "es2+", "confirm"), RSP_ESTATE);
    /* matchingId is unique among profiles */
    mkprofile(&p, "8944476500001234568", "gold");
    snprintf(p.matching_id, sizeof p.matching_id, "MATCH-1");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "import"), RSP_ESTATE);

    /* Shorthand transition; a wrong expected state is refused without writing. */
    assert_int_equal(rsp_store_profile_transition(st, "8944476500001234567", RSP_PROFILE_ALLOCATED,
                                                  RSP_PROFILE_RELEASED, "t", "r"),
                     RSP_ESTATE);
    assert_int_equal(rsp_store_profile_transition(st, "8944476500001234567", RSP_PROFILE_LINKED,
                                                  RSP_PROFILE_INSTALLED, "t", "r"),
                     RSP_ESTATE);
    assert_int_equal(rsp_store_profile_transition(st, "8944476500001234567", RSP_PROFILE_LINKED,
                                                  RSP_PROFILE_RELEASED, "t", "r"),
                     0);
    assert_int_equal(rsp_store_profile_transition(st, "8944476500000000000", RSP_PROFILE_LINKED,
                                                  RSP_PROFILE_RELEASED, "t", "r"),
                     RSP_ENOTFOUND);
    /* CAS on a row that does not exist */
    struct rsp_profile ghost;
    mkprofile(&ghost, "8944476500000000001", "gold");
    struct rsp_profile ghost_next = ghost;
    assert_int_equal(rsp_store_profile_update(st, &ghost, &ghost_next, "t", "r"), RSP_ENOTFOUND);
    rsp_store_close(st);
}

/* ---- two connections racing on one file ---- */

struct racer {
    const char *path;
    pthread_barrier_t *bar;
    int iterations;
    int id;
    int wins[2]; /* allocate, release */
    int losses[2];
    int errors;
};

static void *race_thread(void *arg)
{
    struct racer *r = arg;
    struct rsp_store *st = NULL;
    if (rsp_store_open_url(r->path, &st, NULL, 0) != 0) {
        r->errors++;
        return NULL;
    }
    for (int i = 0; i < r->iterations; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "8999%015d", i);
        struct rsp_profile cur, next;
        pthread_barrier_wait(r->bar); /* the main thread inserted profile i */
        if (rsp_store_profile_get(st, iccid, &cur) != 0)
            r->errors++;
        pthread_barrier_wait(r->bar); /* both read version 0 */
        next = cur;
        next.state = RSP_PROFILE_LINKED;
        snprintf(next.eid, sizeof next.eid, "8904903212345123451234567890123%d", r->id);
        int rc = rsp_store_profile_update(st, &cur, &next, r->id ? "b" : "a", "race");
        if (rc == 0)
            r->wins[0]++;
        else if (rc == RSP_ESTATE)
            r->losses[0]++;
        else
            r->errors++;
        pthread_barrier_wait(r->bar); /* allocation over */
        pthread_barrier_wait(r->bar); /* the main thread moved it to Confirmed */
        if (rsp_store_profile_get(st, iccid, &cur) != 0)
            r->errors++;
        pthread_barrier_wait(r->bar);
        next = cur;
        next.state = RSP_PROFILE_RELEASED;
        rc = rsp_store_profile_update(st, &cur, &next, r->id ? "b" : "a", "release");
        if (rc == 0)
            r->wins[1]++;
        else if (rc == RSP_ESTATE)
            r->losses[1]++;
        else
            r->errors++;
    }
    rsp_store_close(st);
    return NULL;
}

static void test_race_two_connections(void **state)
{
    (void)state;
    const char *path = db_url("race.db");
    struct rsp_store *st = open_store(path);
    enum { N = 150 };
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 3);
    struct racer r[2] = {{path, &bar, N, 0, {0}, {0}, 0}, {path, &bar, N, 1, {0}, {0}, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &r[i]), 0);
    for (int i = 0; i < N; i++) {
        char iccid[21];
        struct rsp_profile p;
        snprintf(iccid, sizeof iccid, "8999%015d", i);
        mkprofile(&p, iccid, "race");
        assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar); /* both allocation attempts are over */
        assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_LINKED,
                                                      RSP_PROFILE_CONFIRMED, "test", "confirm"),
                         0);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    assert_int_equal(r[0].errors + r[1].errors, 0);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(r[0].wins[k] + r[1].wins[k], N);
        assert_int_equal(r[0].losses[k] + r[1].losses[k], N);
    }
    /* Every profile: exactly one EID, exactly one Linked and one Released audit row. */
    for (int i = 0; i < N; i++) {
        char iccid[21];
        struct rsp_profile p;
        struct rsp_audit_entry a[8];
        size_t na;
        snprintf(iccid, sizeof iccid, "8999%015d", i);
        assert_int_equal(rsp_store_profile_get(st, iccid, &p), 0);
        assert_int_equal(p.state, RSP_PROFILE_RELEASED);
        assert_int_equal(p.version, 3);
        assert_int_equal(rsp_store_audit_list(st, iccid, a, 8, &na), 0);
        assert_int_equal(na, 4); /* inserted, Linked, Confirmed, Released */
        assert_string_equal(a[1].to, "Linked");
        assert_string_equal(a[3].to, "Released");
    }
    rsp_store_close(st);
}

/* ---- sessions ---- */

static void mksession(struct rsp_session *s, const char *tid, int64_t expires_at)
{
    rsp_session_init(s);
    snprintf(s->tid, sizeof s->tid, "%s", tid);
    memset(s->server_challenge, 0x5a, 16);
    memset(s->euicc_challenge, 0xa5, 16);
    s->curve = 1;
    memset(s->ci_pkid, 0xf0, 20);
    s->ci_pkid_len = 20;
    s->expires_at = expires_at;
}

static void test_sessions(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("sess.db"));
    struct rsp_session s, got, next;
    int64_t exp = (int64_t)time(NULL) + 600;
    mksession(&s, "D0A956CD160143F194E0A2D002018770", exp);
    assert_int_equal(rsp_store_session_insert(st, &s, "es9+"), 0);
    assert_int_equal(rsp_store_session_insert(st, &s, "es9+"), RSP_ESTATE);
    /* the key must be upper-case hex */
    struct rsp_session lower;
    mksession(&lower, "d0a956cd160143f194e0a2d002018771", exp);
    assert_int_equal(rsp_store_session_insert(st, &lower, "es9+"), RSP_EINVAL);
    rsp_session_free(&lower);

    rsp_session_init(&got);
    assert_int_equal(rsp_store_session_get(st, "d0a956cd160143f194e0a2d002018770", &got), 0);
    assert_string_equal(got.tid, "D0A956CD160143F194E0A2D002018770");
    assert_int_equal(got.state, RSP_SESSION_STARTED);
    assert_int_equal(got.ci_pkid_len, 20);
    assert_int_equal(got.server_challenge[15], 0x5a);
    assert_int_equal(got.expires_at, exp);
    assert_int_equal(got.otpk_euicc.len, 0);
    assert_int_equal(rsp_store_session_get(st, "00", &got), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_session_get(st, "xyz", &got), RSP_ESYNTAX);

    /* Started -> BPP-bound skips a step: refused. */
    rsp_session_init(&next);
    next = got;
    rsp_buf_init(&next.otpk_euicc);
    rsp_buf_init(&next.bpp);
    next.state = RSP_SESSION_BPP_BOUND;
    assert_int_equal(rsp_store_session_update(st, &got, &next, "es9+", "x"), RSP_ESTATE);
    next.state = RSP_SESSION_AUTHENTICATED;
    snprintf(next.eid, sizeof next.eid, "89049032123451234512345678901235");
    assert_int_equal(rsp_store_session_update(st, &got, &next, "es9+", "authenticateClient"), 0);
    /* stale copy loses */
    assert_int_equal(rsp_store_session_update(st, &got, &next, "es9+", "again"), RSP_ESTATE);
    struct rsp_session cur = next;
    struct rsp_session bound = next;
    rsp_buf_init(&bound.otpk_euicc);
    rsp_buf_init(&bound.bpp);
    bound.state = RSP_SESSION_BPP_BOUND;
    rsp_buf_append(&bound.otpk_euicc, "\x5f\x49\x41\x04", 4);
    rsp_buf_append(&bound.bpp, "\xbf\x36\x00", 3);
    assert_int_equal(rsp_store_session_update(st, &cur, &bound, "es9+", "gbpp"), 0);
    rsp_session_free(&got);
    rsp_session_init(&got);
    assert_int_equal(rsp_store_session_get(st, "D0A956CD160143F194E0A2D002018770", &got), 0);
    assert_int_equal(got.state, RSP_SESSION_BPP_BOUND);
    tu_assert_hex(got.otpk_euicc.data, got.otpk_euicc.len, "5f494104");
    tu_assert_hex(got.bpp.data, got.bpp.len, "bf3600");
    assert_int_equal(got.version, 2);
    struct rsp_audit_entry a[8];
    size_t na;
    assert_int_equal(rsp_store_audit_list(st, got.tid, a, 8, &na), 0);
    assert_int_equal(na, 3);
    assert_string_equal(a[2].from, "Authenticated");
    assert_string_equal(a[2].to, "BPP-bound");
    rsp_session_free(&got);
    rsp_session_free(&bound);
    rsp_session_free(&s);
    rsp_store_close(st);
}

static void test_sweeper(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("sweep.db"));
    int64_t now = (int64_t)time(NULL);
    struct rsp_profile p;
    /* P1 Downloaded, its session expired -> Released. P2 Downloaded but a second, live session
     * for it exists -> stays Downloaded. */
    mkprofile(&p, "8944000000000000001", "t");
    p.state = RSP_PROFILE_DOWNLOADED;
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    mkprofile(&p, "8944000000000000002", "t");
    p.state = RSP_PROFILE_DOWNLOADED;
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);

    struct rsp_session s;
    mksession(&s, "01", now - 10);
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000001");
    s.state = RSP_SESSION_BPP_BOUND;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    mksession(&s, "02", now - 10);
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000002");
    s.state = RSP_SESSION_BPP_BOUND;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    mksession(&s, "03", now + 600); /* live, same profile as 02 */
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000002");
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    mksession(&s, "04", now - 10); /* already finished: untouched */
    s.state = RSP_SESSION_FINISHED;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    mksession(&s, "05", now - 1); /* started, no profile */
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    /* an unknown ICCID is refused by the foreign key */
    mksession(&s, "06", now);
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000099");
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), RSP_ESTATE);

    unsigned n = 99;
    assert_int_equal(rsp_store_sweep_expired(st, now, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(rsp_store_sweep_expired(st, now, &n), 0);
    assert_int_equal(n, 0);

    static const struct {
        const char *tid;
        enum rsp_session_state st;
    } want[] = {{"01", RSP_SESSION_EXPIRED},
                {"02", RSP_SESSION_EXPIRED},
                {"03", RSP_SESSION_STARTED},
                {"04", RSP_SESSION_FINISHED},
                {"05", RSP_SESSION_EXPIRED}};
    for (size_t i = 0; i < 5; i++) {
        struct rsp_session g;
        rsp_session_init(&g);
        assert_int_equal(rsp_store_session_get(st, want[i].tid, &g), 0);
        assert_int_equal(g.state, want[i].st);
        rsp_session_free(&g);
    }
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000001", &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_RELEASED);
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000002", &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_DOWNLOADED);
    struct rsp_audit_entry a[4];
    size_t na;
    assert_int_equal(rsp_store_audit_list(st, "8944000000000000001", a, 4, &na), 0);
    assert_int_equal(na, 2);
    assert_string_equal(a[1].actor, "sweeper");
    assert_string_equal(a[1].to, "Released");
    rsp_session_free(&s);
    rsp_store_close(st);
}

static void test_migrations(void **state)
{
    (void)state;
    const char *path = db_url("mig.db");
    if (!use_pg)
        unlink(path);
    struct rsp_store *st = open_store(path);
    assert_int_equal(rsp_store_schema_version(st), RSP_STORE_SCHEMA_VERSION);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000777", "t");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    rsp_store_close(st);
    st = open_store(path); /* re-open: no migration re-run, data kept */
    assert_int_equal(rsp_store_schema_version(st), RSP_STORE_SCHEMA_VERSION);
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000777", &p), 0);
    rsp_store_close(st);
    assert_int_equal(raw_query_ll(path, "SELECT count(*) FROM schema_version"),
                     RSP_STORE_SCHEMA_VERSION);

    /* A database at version 2 (before the ES9+ session columns and the audit chain) is brought
     * to 4, data kept, its audit rows chained. */
    raw_exec(path,
             "ALTER TABLE sessions DROP COLUMN euicc_cert;"
             "ALTER TABLE sessions DROP COLUMN euicc_sig1;"
             "ALTER TABLE sessions DROP COLUMN smdp_sig2;"
             "DROP INDEX audit_seq; ALTER TABLE audit DROP COLUMN seq;"
             "ALTER TABLE audit DROP COLUMN subject; ALTER TABLE audit DROP COLUMN prev_hash;"
             "ALTER TABLE audit DROP COLUMN hash; DROP TABLE audit_head;"
             "DROP TABLE audit_checkpoints; DROP TABLE audit_exports;" RSP_STORE_ACT_TABLES_DROP
                 RSP_STORE_TELE_TABLES_DROP "DELETE FROM schema_version WHERE version >= 3");
    st = open_store(path);
    assert_int_equal(rsp_store_schema_version(st), RSP_STORE_SCHEMA_VERSION);
    struct rsp_audit_head ah;
    assert_int_equal(rsp_store_audit_head(st, &ah), 0);
    assert_int_equal(ah.seq, 1); /* the profile's insert record, chained by the upgrade */
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000777", &p), 0);
    struct rsp_session s;
    rsp_session_init(&s);
    snprintf(s.tid, sizeof s.tid, "0A0B");
    s.expires_at = 1;
    rsp_buf_append(&s.euicc_cert, "\x30\x00", 2);
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    struct rsp_session g;
    rsp_session_init(&g);
    assert_int_equal(rsp_store_session_get(st, "0A0B", &g), 0);
    tu_assert_hex(g.euicc_cert.data, g.euicc_cert.len, "3000");
    rsp_session_free(&g);
    rsp_session_free(&s);
    rsp_store_close(st);

    /* A database written by a newer schema is refused. */
    raw_exec(path, "INSERT INTO schema_version VALUES (99, 0)");
    struct rsp_store *bad = NULL;
    assert_int_equal(rsp_store_open_url(path, &bad, NULL, 0), RSP_ESTATE);
    assert_null(bad);

    if (use_pg) {
        /* Nothing listening, an unknown database: RSP_EIO with the reason. */
        char err[256];
        assert_int_equal(
            rsp_store_open_url("postgresql://rspkit@127.0.0.1:1/x", &bad, err, sizeof err),
            RSP_EIO);
        assert_null(bad);
        assert_non_null(strstr(err, "cannot connect"));
        assert_int_equal(
            rsp_store_open_url(tu_pg_url("rsp_no_such_database"), &bad, err, sizeof err), RSP_EIO);
        assert_non_null(strstr(err, "rsp_no_such_database"));
        return;
    }
    /* Not a database at all */
    const char *junk = db_url("junk.db");
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    fputs("this is not an sqlite file, not at all, not even close, really............", f);
    fclose(f);
    assert_int_equal(rsp_store_open_url(junk, &bad, NULL, 0), RSP_EIO);
}

/* Several processes (here: threads with their own connections) opening a new database at the
 * same moment: each finds the schema complete, and each migration ran exactly once. */
struct opener {
    const char *url;
    pthread_barrier_t *bar;
    int rc;
    int version;
};

static void *open_thread(void *arg)
{
    struct opener *o = arg;
    struct rsp_store *st = NULL;
    pthread_barrier_wait(o->bar);
    o->rc = rsp_store_open_url(o->url, &st, NULL, 0);
    if (o->rc == 0)
        o->version = rsp_store_schema_version(st);
    rsp_store_close(st);
    return NULL;
}

static void test_concurrent_open(void **state)
{
    (void)state;
    const char *url = db_url("conc.db");
    enum { NT = 6 };
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, NT);
    struct opener o[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        o[i] = (struct opener){url, &bar, -999, 0};
        assert_int_equal(pthread_create(&th[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < NT; i++) {
        assert_int_equal(o[i].rc, 0);
        assert_int_equal(o[i].version, RSP_STORE_SCHEMA_VERSION);
    }
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM schema_version"),
                     RSP_STORE_SCHEMA_VERSION);
}

/* ---- crash in the middle of a multi-step change ---- */

static void die_hook(const char *point)
{
    (void)point;
    abort();
}

static void crash_child(const char *path, int which)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGABRT, SIG_DFL);
    struct rsp_store *st = NULL;
    if (rsp_store_open_url(path, &st, NULL, 0) != 0)
        _exit(2);
    rsp_store_set_fault_hook(st, die_hook);
    if (which == 0) {
        rsp_store_profile_transition(st, "8944000000000000100", RSP_PROFILE_AVAILABLE,
                                     RSP_PROFILE_LINKED, "child", "crash");
    } else if (which == 1) {
        struct rsp_profile p;
        mkprofile(&p, "8944000000000000101", "t");
        rsp_store_profile_insert(st, &p, NULL, 0, "child");
    } else {
        unsigned n;
        rsp_store_sweep_expired(st, (int64_t)time(NULL), &n);
    }
    _exit(3); /* the hook should have fired */
}

static void test_crash_consistency(void **state)
{
    (void)state;
    const char *path = db_url("crash.db");
    struct rsp_store *st = open_store(path);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000100", "t");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    mkprofile(&p, "8944000000000000102", "t");
    p.state = RSP_PROFILE_DOWNLOADED;
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    struct rsp_session s;
    mksession(&s, "AA", (int64_t)time(NULL) - 5);
    snprintf(s.iccid, sizeof s.iccid, "8944000000000000102");
    s.state = RSP_SESSION_BPP_BOUND;
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    rsp_session_free(&s);
    rsp_store_close(st);

    for (int which = 0; which < 3; which++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(path, which);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
    }

    st = open_store(path);
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000100", &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_AVAILABLE);
    assert_int_equal(p.version, 0);
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000101", &p), RSP_ENOTFOUND);
    struct rsp_audit_entry a[4];
    size_t na;
    assert_int_equal(rsp_store_audit_list(st, "8944000000000000100", a, 4, &na), 0);
    assert_int_equal(na, 1);
    assert_int_equal(rsp_store_audit_list(st, "8944000000000000101", a, 4, &na), 0);
    assert_int_equal(na, 0);
    rsp_session_init(&s);
    assert_int_equal(rsp_store_session_get(st, "AA", &s), 0);
    assert_int_equal(s.state, RSP_SESSION_BPP_BOUND);
    rsp_session_free(&s);
    assert_int_equal(rsp_store_audit_list(st, "AA", a, 4, &na), 0);
    assert_int_equal(na, 1);
    /* and the same operations complete once nothing interrupts them */
    assert_int_equal(rsp_store_profile_transition(st, "8944000000000000100", RSP_PROFILE_AVAILABLE,
                                                  RSP_PROFILE_LINKED, "t", "retry"),
                     0);
    unsigned n;
    assert_int_equal(rsp_store_sweep_expired(st, (int64_t)time(NULL), &n), 0);
    assert_int_equal(n, 1);
    rsp_store_close(st);
    if (use_pg)
        return; /* the server rolled the children's transactions back: checked above */

    sqlite3 *db;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_outbox(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("outbox.db"));
    struct rsp_outbox_item it = {0}, got;
    snprintf(it.iccid, sizeof it.iccid, "8944000000000000001");
    snprintf(it.url, sizeof it.url,
             "https://op.example/gsma/rsp2/es2plus/"
             "handleDownloadProgressInfo");
    snprintf(it.body, sizeof it.body, "{\"iccid\":\"8944000000000000001\"}");
    it.next_attempt_at = 100;
    assert_int_equal(rsp_store_outbox_add(st, &it), 0);
    assert_true(it.id > 0);
    assert_int_equal(rsp_store_outbox_next_due(st, 99, &got), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_outbox_next_due(st, 100, &got), 0);
    assert_string_equal(got.body, it.body);
    assert_int_equal(rsp_store_outbox_retry(st, got.id, 200), 0);
    assert_int_equal(rsp_store_outbox_next_due(st, 150, &got), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_outbox_next_due(st, 200, &got), 0);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(rsp_store_outbox_done(st, got.id), 0);
    assert_int_equal(rsp_store_outbox_done(st, got.id), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_outbox_next_due(st, 1000, &got), RSP_ENOTFOUND);
    rsp_store_close(st);
}

struct pool_arg {
    struct rsp_store_pool *pool;
    struct rsp_store *first, *second;
    int rc;
};

static void *pool_thread(void *arg)
{
    struct pool_arg *a = arg;
    a->rc = rsp_store_pool_get(a->pool, &a->first);
    if (a->rc == 0)
        a->rc = rsp_store_pool_get(a->pool, &a->second);
    struct rsp_profile p;
    if (a->rc == 0) /* the connection works from this thread */
        a->rc = rsp_store_profile_get(a->first, "8944000000000000555", &p);
    return NULL;
}

static void test_pool(void **state)
{
    (void)state;
    const char *path = db_url("pool.db");
    struct rsp_store_pool *pool = NULL;
    assert_int_equal(rsp_store_pool_create(use_pg ? rsp_store_pg_opener : rsp_store_sqlite_opener,
                                           (void *)path, &pool),
                     0);
    struct rsp_store *mine;
    assert_int_equal(rsp_store_pool_get(pool, &mine), 0);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000555", "t");
    assert_int_equal(rsp_store_profile_insert(mine, &p, NULL, 0, "t"), 0);
    enum { NT = 12 };
    struct pool_arg a[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].pool = pool;
        assert_int_equal(pthread_create(&th[i], NULL, pool_thread, &a[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NT; i++) {
        assert_int_equal(a[i].rc, 0);
        assert_ptr_equal(a[i].first, a[i].second); /* one connection per thread */
        assert_ptr_not_equal(a[i].first, mine);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(a[i].first, a[j].first);
    }
    assert_int_equal(rsp_store_pool_size(pool), NT + 1);
    rsp_store_pool_destroy(pool);
    rsp_store_pool_destroy(NULL);
    struct rsp_store_pool *bad = NULL;
    const char *unusable =
        use_pg ? "postgresql://rspkit@127.0.0.1:1/none?connect_timeout=2" : "/nonexistent/x/y.db";
    assert_int_equal(rsp_store_pool_create(rsp_store_url_opener, (void *)unusable, &bad), 0);
    struct rsp_store *none;
    assert_int_equal(rsp_store_pool_get(bad, &none), RSP_EIO);
    assert_int_equal(rsp_store_pool_size(bad), 0);
    rsp_store_pool_destroy(bad);
}

/* ==== PostgreSQL only ==== */

/* A second connection to the test database, for watching and killing the store's backend. */
static PGconn *admin_connect(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("admin connection: %s", PQerrorMessage(c));
    return c;
}

static long long admin_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long long v = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/* ---- a writer blocked on the row lock of an uncommitted CAS loses once it commits ---- */

static sem_t hold_updated, hold_release;

static void hold_hook(const char *point)
{
    if (strcmp(point, "profile_cas:after_update") == 0) {
        sem_post(&hold_updated); /* the row is updated and locked, not committed */
        sem_wait(&hold_release); /* until the main thread says so */
    }
}

struct cas_job {
    struct rsp_store *st;
    struct rsp_profile cur, next;
    int rc;
};

static void *cas_thread(void *arg)
{
    struct cas_job *j = arg;
    j->rc = rsp_store_profile_update(j->st, &j->cur, &j->next, "job", "race");
    return NULL;
}

static void test_pg_blocked_writer_loses(void **state)
{
    (void)state;
    const char *url = db_url("blocked");
    struct rsp_store *a = open_store(url), *b = open_store(url);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000300", "t");
    assert_int_equal(rsp_store_profile_insert(a, &p, NULL, 0, "t"), 0);
    struct cas_job ja, jb;
    memset(&ja, 0, sizeof ja);
    memset(&jb, 0, sizeof jb);
    ja.st = a;
    jb.st = b;
    ja.rc = jb.rc = -999;
    assert_int_equal(rsp_store_profile_get(a, p.iccid, &ja.cur), 0);
    assert_int_equal(rsp_store_profile_get(b, p.iccid, &jb.cur), 0); /* both read version 0 */
    ja.next = ja.cur;
    ja.next.state = RSP_PROFILE_LINKED;
    snprintf(ja.next.eid, sizeof ja.next.eid, "89049032123451234512345678901235");
    jb.next = jb.cur;
    jb.next.state = RSP_PROFILE_ALLOCATED;

    sem_init(&hold_updated, 0, 0);
    sem_init(&hold_release, 0, 0);
    rsp_store_set_fault_hook(a, hold_hook);
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, cas_thread, &ja), 0);
    sem_wait(&hold_updated);
    assert_int_equal(pthread_create(&tb, NULL, cas_thread, &jb), 0);
    /* Wait until B's UPDATE is queued behind A's row lock (the server says so). */
    PGconn *adm = admin_connect(url);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event_type = 'Lock'",
             rsp_store_pg_backend_pid(b));
    long long waiting = 0;
    for (int i = 0; i < 3000 && waiting != 1; i++) {
        waiting = admin_ll(adm, sql);
        if (waiting != 1)
            usleep(10000);
    }
    PQfinish(adm);
    sem_post(&hold_release); /* A writes its audit row and commits */
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    rsp_store_set_fault_hook(a, NULL);
    sem_destroy(&hold_updated);
    sem_destroy(&hold_release);
    assert_int_equal(waiting, 1);
    assert_int_equal(ja.rc, 0);
    assert_int_equal(jb.rc, RSP_ESTATE);
    struct rsp_profile got;
    assert_int_equal(rsp_store_profile_get(b, p.iccid, &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_LINKED);
    assert_int_equal(got.version, 1);
    struct rsp_audit_entry au[4];
    size_t na;
    assert_int_equal(rsp_store_audit_list(b, p.iccid, au, 4, &na), 0);
    assert_int_equal(na, 2);
    assert_string_equal(au[1].to, "Linked");
    rsp_store_close(a);
    rsp_store_close(b);
}

/* ---- many connections, one profile per round: exactly one CAS wins ---- */

enum { MW_THREADS = 8, MW_ROUNDS = 30 };

struct mw_thread {
    const char *url;
    pthread_barrier_t *bar;
    int id;
    int won[MW_ROUNDS];
    int errors;
};

static void *mw_run(void *arg)
{
    struct mw_thread *t = arg;
    struct rsp_store *st = NULL;
    int orc = rsp_store_open_url(t->url, &st, NULL, 0);
    for (int i = 0; i < MW_ROUNDS; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "8988%015d", i);
        struct rsp_profile cur, next;
        pthread_barrier_wait(t->bar); /* profile i inserted */
        int rc = orc ? orc : rsp_store_profile_get(st, iccid, &cur);
        pthread_barrier_wait(t->bar); /* everyone read version 0 */
        if (rc == 0) {
            next = cur;
            next.state = RSP_PROFILE_LINKED;
            snprintf(next.eid, sizeof next.eid, "890490321234512345123456789%05u",
                     (unsigned)t->id % 100000u);
            rc = rsp_store_profile_update(st, &cur, &next, "mw", "contend");
        }
        if (rc == 0)
            t->won[i] = 1;
        else if (rc != RSP_ESTATE)
            t->errors++;
        pthread_barrier_wait(t->bar); /* round over */
    }
    rsp_store_close(st);
    return NULL;
}

static void test_pg_many_writers(void **state)
{
    (void)state;
    const char *url = db_url("many");
    struct rsp_store *st = open_store(url);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, MW_THREADS + 1);
    static struct mw_thread t[MW_THREADS];
    pthread_t th[MW_THREADS];
    for (int k = 0; k < MW_THREADS; k++) {
        memset(&t[k], 0, sizeof t[k]);
        t[k].url = url;
        t[k].bar = &bar;
        t[k].id = k;
        assert_int_equal(pthread_create(&th[k], NULL, mw_run, &t[k]), 0);
    }
    for (int i = 0; i < MW_ROUNDS; i++) {
        char iccid[21];
        struct rsp_profile p;
        snprintf(iccid, sizeof iccid, "8988%015d", i);
        mkprofile(&p, iccid, "mw");
        assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
        pthread_barrier_wait(&bar);
    }
    for (int k = 0; k < MW_THREADS; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < MW_ROUNDS; i++) {
        int winners = 0, who = -1;
        for (int k = 0; k < MW_THREADS; k++)
            if (t[k].won[i]) {
                winners++;
                who = k;
            }
        assert_int_equal(winners, 1);
        char iccid[21], eid[33];
        struct rsp_profile p;
        snprintf(iccid, sizeof iccid, "8988%015d", i);
        snprintf(eid, sizeof eid, "890490321234512345123456789%05u", (unsigned)who % 100000u);
        assert_int_equal(rsp_store_profile_get(st, iccid, &p), 0);
        assert_int_equal(p.version, 1);
        assert_string_equal(p.eid, eid);
        struct rsp_audit_entry a[4];
        size_t na;
        assert_int_equal(rsp_store_audit_list(st, iccid, a, 4, &na), 0);
        assert_int_equal(na, 2);
    }
    for (int k = 0; k < MW_THREADS; k++)
        assert_int_equal(t[k].errors, 0);
    rsp_store_close(st);
}

/* ---- the store's connection killed by the server in the middle of a transaction ---- */

static struct {
    PGconn *admin;
    struct rsp_store *victim;
    const char *point;
    unsigned every; /* kill at every `every`-th passage of `point` (0: never) */
    unsigned limit; /* at most this many kills */
    unsigned passages, kills;
} kill_ctl;

static void kill_hook(const char *point)
{
    if (!kill_ctl.every || strcmp(point, kill_ctl.point) != 0)
        return;
    if (++kill_ctl.passages % kill_ctl.every != 0 || kill_ctl.kills >= kill_ctl.limit)
        return;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 10000)::int",
             rsp_store_pg_backend_pid(kill_ctl.victim));
    if (admin_ll(kill_ctl.admin, sql) == 1)
        kill_ctl.kills++;
}

static void kill_arm(struct rsp_store *st, const char *point, unsigned every, unsigned limit)
{
    kill_ctl.victim = st;
    kill_ctl.point = point;
    kill_ctl.every = every;
    kill_ctl.limit = limit;
    kill_ctl.passages = kill_ctl.kills = 0;
    rsp_store_set_fault_hook(st, every ? kill_hook : NULL);
}

static size_t audit_count(struct rsp_store *st, const char *key)
{
    struct rsp_audit_entry a[16];
    size_t n = 99;
    assert_int_equal(rsp_store_audit_list(st, key, a, 16, &n), 0);
    return n;
}

static void test_pg_killed_connection(void **state)
{
    (void)state;
    const char *url = db_url("killed");
    kill_ctl.admin = admin_connect(url);
    struct rsp_store *st = open_store(url);
    struct rsp_profile p, got;
    mkprofile(&p, "8944000000000000400", "t");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);

    /* Killed once after the UPDATE, before the audit row and COMMIT: the server rolled the
     * transaction back; the store reconnects and runs the change once more. One change, one
     * audit row, version 1 (not applied twice). */
    int pid_before = rsp_store_pg_backend_pid(st);
    kill_arm(st, "profile_cas:after_update", 1, 1);
    assert_int_equal(rsp_store_profile_transition(st, p.iccid, RSP_PROFILE_AVAILABLE,
                                                  RSP_PROFILE_LINKED, "t", "killed once"),
                     0);
    assert_int_equal(kill_ctl.kills, 1);
    assert_int_not_equal(rsp_store_pg_backend_pid(st), pid_before);
    assert_int_equal(rsp_store_profile_get(st, p.iccid, &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_LINKED);
    assert_int_equal(got.version, 1);
    assert_int_equal(audit_count(st, p.iccid), 2);

    /* Killed in both attempts: a clear error, nothing written. */
    kill_arm(st, "profile_cas:after_update", 1, 2);
    assert_int_equal(rsp_store_profile_transition(st, p.iccid, RSP_PROFILE_LINKED,
                                                  RSP_PROFILE_CONFIRMED, "t", "killed twice"),
                     RSP_EIO);
    assert_int_equal(kill_ctl.kills, 2);
    print_message("# last error: %s\n", rsp_store_last_error(st));
    assert_non_null(strstr(rsp_store_last_error(st), "connection lost again"));
    kill_arm(st, NULL, 0, 0);
    /* the next operation reconnects by itself */
    assert_int_equal(rsp_store_profile_get(st, p.iccid, &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_LINKED);
    assert_int_equal(got.version, 1);
    assert_int_equal(audit_count(st, p.iccid), 2);

    /* Killed while idle: a read reconnects transparently. */
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 10000)::int",
             rsp_store_pg_backend_pid(st));
    assert_int_equal(admin_ll(kill_ctl.admin, sql), 1);
    assert_int_equal(rsp_store_profile_get(st, p.iccid, &got), 0);
    assert_int_equal(got.version, 1);

    /* A session insert and a session CAS killed once: each applied exactly once. */
    struct rsp_session s, cur, next;
    mksession(&s, "B0B0", (int64_t)time(NULL) + 600);
    snprintf(s.iccid, sizeof s.iccid, "%s", p.iccid);
    kill_arm(st, "session_insert:after_insert", 1, 1);
    assert_int_equal(rsp_store_session_insert(st, &s, "t"), 0);
    assert_int_equal(kill_ctl.kills, 1);
    rsp_session_init(&cur);
    assert_int_equal(rsp_store_session_get(st, "B0B0", &cur), 0);
    next = cur;
    rsp_buf_init(&next.otpk_euicc);
    rsp_buf_init(&next.bpp);
    rsp_buf_init(&next.euicc_cert);
    next.state = RSP_SESSION_AUTHENTICATED;
    kill_arm(st, "session_cas:after_update", 1, 1);
    assert_int_equal(rsp_store_session_update(st, &cur, &next, "t", "auth"), 0);
    assert_int_equal(kill_ctl.kills, 1);
    kill_arm(st, NULL, 0, 0);
    assert_int_equal(audit_count(st, "B0B0"), 2);
    rsp_session_free(&cur);
    rsp_session_init(&cur);
    assert_int_equal(rsp_store_session_get(st, "B0B0", &cur), 0);
    assert_int_equal(cur.version, 1);
    assert_int_equal(cur.state, RSP_SESSION_AUTHENTICATED);
    rsp_session_free(&cur);
    rsp_session_free(&next);
    rsp_session_free(&s);

    /* An import batch killed at its 3rd item in both attempts: none of the batch is in. Killed
     * once: the whole batch is in, once. */
    enum { NI = 5 };
    struct rsp_store_import_item items[NI];
    static const uint8_t manifest[] = {0x30, 0x03, 0x02, 0x01, 0x07};
    memset(items, 0, sizeof items);
    for (int i = 0; i < NI; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "89445000000000005%02d", i);
        mkprofile(&items[i].profile, iccid, "imp");
        items[i].manifest = manifest;
        items[i].manifest_len = sizeof manifest;
    }
    kill_arm(st, "profile_import:after_insert", 3, 2);
    assert_int_equal(rsp_store_profile_import(st, items, NI, "t"), RSP_EIO);
    assert_int_equal(kill_ctl.kills, 2);
    for (int i = 0; i < NI; i++) {
        assert_int_equal(rsp_store_profile_get(st, items[i].profile.iccid, &got), RSP_ENOTFOUND);
        assert_int_equal(audit_count(st, items[i].profile.iccid), 0);
    }
    kill_arm(st, "profile_import:after_insert", 3, 1);
    assert_int_equal(rsp_store_profile_import(st, items, NI, "t"), 0);
    assert_int_equal(kill_ctl.kills, 1);
    kill_arm(st, NULL, 0, 0);
    for (int i = 0; i < NI; i++) {
        assert_int_equal(items[i].result, 0);
        assert_int_equal(rsp_store_profile_get(st, items[i].profile.iccid, &got), 0);
        assert_int_equal(audit_count(st, items[i].profile.iccid), 1);
    }
    assert_int_equal(rsp_store_profile_import(st, items, NI, "t"), 0);
    for (int i = 0; i < NI; i++)
        assert_int_equal(items[i].result, RSP_STORE_IMPORT_PRESENT);

    /* The server never sees a half-written change: no transaction was left open. */
    assert_int_equal(admin_ll(kill_ctl.admin, "SELECT count(*) FROM pg_stat_activity WHERE"
                                              " datname = current_database() AND"
                                              " state LIKE 'idle in transaction%'"),
                     0);
    rsp_store_close(st);
    PQfinish(kill_ctl.admin);
    kill_ctl.admin = NULL;
}

/* ---- same schema version = same logical schema in both backends ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

enum { MAX_NAMES = 1024, NAME_LEN = 96 }; /* branch ops: more tables */

static size_t sqlite_names(const char *path, const char *sql, char names[][NAME_LEN])
{
    sqlite3 *db;
    sqlite3_stmt *q;
    size_t n = 0;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW && n < MAX_NAMES)
        snprintf(names[n++], NAME_LEN, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    qsort(names, n, NAME_LEN, cmp_str);
    return n;
}

static size_t pg_names(const char *url, const char *sql, char names[][NAME_LEN])
{
    PGconn *c = admin_connect(url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    size_t n = 0;
    for (int i = 0; i < PQntuples(r) && n < MAX_NAMES; i++)
        snprintf(names[n++], NAME_LEN, "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    qsort(names, n, NAME_LEN, cmp_str);
    return n;
}

static void test_pg_schema_parity(void **state)
{
    (void)state;
    const char *url = db_url("parity");
    char path[512];
    snprintf(path, sizeof path, "%s/parity.db", tu_tmpdir());
    struct rsp_store *a = open_store(url), *b = open_store(path);
    assert_int_equal(rsp_store_schema_version(a), rsp_store_schema_version(b));
    rsp_store_close(a);
    rsp_store_close(b);
    static char sq[MAX_NAMES][NAME_LEN], pg[MAX_NAMES][NAME_LEN];
    /* tables and their columns; PostgreSQL's sessions.seq stands for SQLite's rowid */
    size_t ns = sqlite_names(path,
                             "SELECT m.name || '.' || p.name FROM sqlite_master m,"
                             " pragma_table_info(m.name) p WHERE m.type = 'table' AND"
                             " m.name NOT LIKE 'sqlite_%'",
                             sq);
    size_t np = pg_names(url,
                         "SELECT table_name || '.' || column_name FROM information_schema.columns"
                         " WHERE table_schema = current_schema() AND NOT (table_name = 'sessions'"
                         " AND column_name = 'seq')",
                         pg);
    assert_true(ns > 40);
    assert_int_equal(ns, np);
    for (size_t i = 0; i < ns; i++)
        assert_string_equal(sq[i], pg[i]);
    /* secondary indexes by name */
    ns = sqlite_names(path,
                      "SELECT name FROM sqlite_master WHERE type = 'index' AND"
                      " name NOT LIKE 'sqlite_%'",
                      sq);
    np = pg_names(url,
                  "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND"
                  " indexname NOT LIKE '%_pkey'",
                  pg);
    assert_int_equal(ns, np);
    for (size_t i = 0; i < ns; i++)
        assert_string_equal(sq[i], pg[i]);
}

/* ---- SQLite: checkpoints by the process's checkpointer thread ---- */

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Commits grow the WAL; once it passes the checkpoint threshold, the database file itself grows
 * while the store stays open (the checkpointer copied the WAL back: with SQLite's automatic
 * checkpoint switched off in favour of the thread, nothing else would before the close). */
static void test_checkpointer(void **state)
{
    (void)state;
    const char *path = db_url("ckpt.db");
    struct rsp_store *st = open_store(path);
    long long size0 = file_size(path);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    int i = 0;
    /* past CHECKPOINT_FRAMES (4000, store_sqlite.c) pages of 4 KiB */
    for (; i < 40000 && file_size(wal) < 4100LL * 4096; i++) {
        char iccid[21];
        struct rsp_profile p;
        snprintf(iccid, sizeof iccid, "8977%015d", i);
        mkprofile(&p, iccid, "ckpt");
        assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
    }
    assert_true(file_size(wal) >= 4100LL * 4096);
    long long size = size0;
    for (int k = 0; k < 200 && size <= size0; k++) { /* up to 10 s */
        usleep(50 * 1000);
        size = file_size(path);
    }
    assert_true(size > size0);
    struct rsp_profile q;
    assert_int_equal(rsp_store_profile_get(st, "8977000000000000000", &q), 0);
    rsp_store_close(st);
}

/* The WAL's salt-1 (header bytes 16-19), which SQLite changes each time the WAL rewinds to its
 * beginning; 0 while there is no header. */
static unsigned wal_salt(const char *wal)
{
    unsigned char h[20];
    FILE *f = fopen(wal, "rb");
    size_t n = f ? fread(h, 1, sizeof h, f) : 0;
    if (f)
        fclose(f);
    return n == sizeof h ? (unsigned)h[16] << 24 | (unsigned)h[17] << 16 | h[18] << 8 | h[19] : 0;
}

struct wal_reader {
    const char *path;
    atomic_bool stop;
    atomic_uint reads;
};

static void *wal_reader_main(void *arg)
{
    struct wal_reader *r = arg;
    struct rsp_store *st = open_store(r->path);
    while (!atomic_load(&r->stop)) {
        struct rsp_profile q;
        if (rsp_store_profile_get(st, "8978000000000000000", &q) == 0)
            atomic_fetch_add(&r->reads, 1);
        usleep(200);
    }
    rsp_store_close(st);
    return NULL;
}

/* Under a steady writer and a reader that keeps reading (as a busy server's request threads do),
 * the WAL still rewinds to its beginning (its salt changes) and its file stays near
 * RESTART_FRAMES (16000, store_sqlite.c) frames, instead of growing with every commit. The
 * reader reads before the writer starts and all along. */
static void test_checkpointer_rewinds(void **state)
{
    (void)state;
    const char *path = db_url("rewind.db");
    struct rsp_store *st = open_store(path);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct rsp_profile p;
    mkprofile(&p, "8978000000000000000", "rewind");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
    struct wal_reader r = {.path = path};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wal_reader_main, &r), 0);
    for (int k = 0; k < 10000 && atomic_load(&r.reads) == 0; k++) /* the reader reads first */
        usleep(1000);
    assert_true(atomic_load(&r.reads) > 0);
    unsigned salt = wal_salt(wal), rewinds = 0;
    long long max_size = 0;
    int i = 1;
    /* about 10 frames per insert: 60000 inserts would be 600000 frames, 2.4 GB of WAL */
    for (; i < 60000 && rewinds < 3; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "8978%015d", i);
        mkprofile(&p, iccid, "rewind");
        assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
        if (i % 50 == 0) {
            unsigned s2 = wal_salt(wal);
            if (s2 != salt) {
                rewinds++;
                salt = s2;
            }
            long long sz = file_size(wal);
            if (sz > max_size)
                max_size = sz;
        }
    }
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    print_message("# %d inserts, %u WAL rewinds, %u reads, WAL file at most %lld KiB\n", i, rewinds,
                  atomic_load(&r.reads), max_size / 1024);
    assert_int_equal(rewinds, 3);
    /* at most twice RESTART_FRAMES frames of 4 KiB pages (and their frame headers): 20,000-21,000
     * measured, the margin is for a checkpointer slowed by a loaded machine; 750 MB (180,000
     * frames) with a trigger on the WAL's size and no RESTART */
    assert_true(max_size <= 2 * 16000LL * (4096 + 24));
    rsp_store_close(st);
}

/* ---- store URLs ---- */

static void test_store_urls(void **state)
{
    (void)state;
    assert_string_equal(rsp_store_url_backend("/var/lib/rspkit/smdp.db"), "sqlite");
    assert_string_equal(rsp_store_url_backend("smdp.db"), "sqlite");
    assert_string_equal(rsp_store_url_backend("sqlite:/tmp/x.db"), "sqlite");
    assert_string_equal(rsp_store_url_backend("postgres://h/db"), "postgres");
    assert_string_equal(rsp_store_url_backend("postgresql://u@h:5432/db?sslmode=require"),
                        "postgres");
    assert_null(rsp_store_url_backend("mysql://h/db"));
    assert_null(rsp_store_url_backend("sqlite:"));
    assert_null(rsp_store_url_backend(""));
    struct rsp_store *st = NULL;
    char err[200];
    assert_int_equal(rsp_store_open_url("mysql://h/db", &st, err, sizeof err), RSP_EINVAL);
    assert_null(st);
    assert_non_null(strstr(err, "postgresql://"));
    char path[512];
    snprintf(path, sizeof path, "sqlite:%s/url.db", tu_tmpdir());
    st = open_store(path);
    assert_int_equal(rsp_store_schema_version(st), RSP_STORE_SCHEMA_VERSION);
    assert_string_equal(rsp_store_last_error(st), "");
    rsp_store_close(st);

    char out[256];
    rsp_store_url_redact("postgresql://smdp:s3cret@db.example:5432/rsp?sslmode=require", out,
                         sizeof out);
    assert_string_equal(out, "postgresql://smdp:***@db.example:5432/rsp?sslmode=require");
    rsp_store_url_redact("postgres://db.example/rsp?user=x&password=hunter2&sslmode=verify-full",
                         out, sizeof out);
    assert_string_equal(out, "postgres://db.example/rsp?user=x&password=***&sslmode=verify-full");
    rsp_store_url_redact("postgres://u@h/d", out, sizeof out);
    assert_string_equal(out, "postgres://u@h/d");
    rsp_store_url_redact("/var/lib/x:y@z.db", out, sizeof out);
    assert_string_equal(out, "/var/lib/x:y@z.db");
    rsp_store_url_redact("postgresql://a:b@h/d", out, 12);
    assert_string_equal(out, "postgresql:");
}

/* ---- branch accept: acceptance runs, requirements and the gate ---- */

static void mkrun(struct rsp_acceptance_run *r, const char *model, const char *tac, bool passed,
                  const char *failed_step)
{
    memset(r, 0, sizeof *r);
    snprintf(r->model, sizeof r->model, "%s", model);
    snprintf(r->tac, sizeof r->tac, "%s", tac);
    snprintf(r->eum, sizeof r->eum, "89049032");
    snprintf(r->svn, sizeof r->svn, "2.2.2");
    snprintf(r->target, sizeof r->target, "pcsc");
    r->started_at = 1700000000;
    r->finished_at = 1700000012;
    r->passed = passed;
    snprintf(r->failed_step, sizeof r->failed_step, "%s", failed_step);
    snprintf(r->summary, sizeof r->summary, "euicc-info=pass:0.010;download=%s:1.500",
             passed ? "pass" : "fail");
    memset(r->junit_sha256, 0x5a, sizeof r->junit_sha256);
}

struct run_list {
    size_t n;
    int64_t ids[16];
};

static int collect_run(void *arg, const struct rsp_acceptance_run *r)
{
    struct run_list *l = arg;
    if (l->n < 16)
        l->ids[l->n++] = r->id;
    return 0;
}

static void test_acceptance_store(void **state)
{
    (void)state;
    const char *url = db_url("accept.db");
    struct rsp_store *st = open_store(url);
    struct rsp_acceptance_run r, got;
    assert_int_equal(rsp_store_acceptance_run_latest(st, "Phone X", &got), RSP_ENOTFOUND);

    /* recorded with its audit record, ids in order */
    mkrun(&r, "Phone X", "35290611", false, "enable");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "rspctl:t"), 0);
    int64_t first = r.id;
    assert_true(first >= 1);
    mkrun(&r, "Phone X", "35290611", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "rspctl:t"), 0);
    assert_int_equal(r.id, first + 1);
    mkrun(&r, "", "86000000", false, "download");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "rspctl:t"), 0);

    /* the latest by model name or by TAC, every field back */
    assert_int_equal(rsp_store_acceptance_run_latest(st, "Phone X", &got), 0);
    assert_int_equal(got.id, first + 1);
    assert_true(got.passed);
    assert_string_equal(got.tac, "35290611");
    assert_string_equal(got.eum, "89049032");
    assert_string_equal(got.svn, "2.2.2");
    assert_string_equal(got.target, "pcsc");
    assert_int_equal(got.started_at, 1700000000);
    assert_int_equal(got.finished_at, 1700000012);
    assert_string_equal(got.summary, "euicc-info=pass:0.010;download=pass:1.500");
    tu_assert_hex(got.junit_sha256, 4, "5a5a5a5a");
    assert_int_equal(rsp_store_acceptance_run_latest(st, "35290611", &got), 0);
    assert_int_equal(got.id, first + 1);
    assert_int_equal(rsp_store_acceptance_run_latest(st, "86000000", &got), 0);
    assert_false(got.passed);
    assert_string_equal(got.failed_step, "download");
    assert_string_equal(got.model, "");

    struct run_list l = {0};
    assert_int_equal(rsp_store_acceptance_run_list(st, NULL, 0, collect_run, &l), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.ids[0], first + 2); /* newest first */
    assert_int_equal(l.ids[2], first);
    memset(&l, 0, sizeof l);
    assert_int_equal(rsp_store_acceptance_run_list(st, "Phone X", 1, collect_run, &l), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.ids[0], first + 1);

    /* audited: one record per run, naming the outcome and the JUnit hash */
    struct rsp_audit_entry a;
    char key[32];
    snprintf(key, sizeof key, "run:%lld", (long long)first);
    assert_int_equal(rsp_store_audit_last(st, "acceptance", key, &a), 0);
    assert_string_equal(a.to, "failed");
    assert_string_equal(a.actor, "rspctl:t");
    assert_non_null(strstr(a.reason, "failed_step=enable"));
    assert_non_null(strstr(a.reason, "junit_sha256=5a5a5a5a"));
    assert_non_null(strstr(a.reason, "model=Phone X"));

    /* bad runs change nothing */
    long long before = raw_query_ll(url, "SELECT count(*) FROM acceptance_run");
    mkrun(&r, "", "", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), RSP_EINVAL); /* no model/TAC */
    mkrun(&r, "Phone\nX", "", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), RSP_EINVAL);
    mkrun(&r, "Phone X", "35A90611", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), RSP_EINVAL);
    mkrun(&r, "Phone X", "", true, "enable"); /* passed with a failed step */
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), RSP_EINVAL);
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM acceptance_run"), before);

    /* requirements: idempotent, audited only when they change */
    bool req, changed;
    assert_int_equal(rsp_store_acceptance_required(st, "campaign", "spring", &req), 0);
    assert_false(req);
    struct rsp_audit_head h0, h1;
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(rsp_store_acceptance_require(st, "campaign", "spring", true, "t", &changed),
                     0);
    assert_true(changed);
    assert_int_equal(rsp_store_acceptance_require(st, "campaign", "spring", true, "t", &changed),
                     0);
    assert_false(changed);
    assert_int_equal(rsp_store_audit_head(st, &h1), 0);
    assert_int_equal(h1.seq, h0.seq + 1);
    assert_int_equal(rsp_store_audit_last(st, "acceptance-req", "campaign:spring", &a), 0);
    assert_string_equal(a.to, "required");
    assert_int_equal(rsp_store_acceptance_required(st, "campaign", "spring", &req), 0);
    assert_true(req);
    assert_int_equal(rsp_store_acceptance_required(st, "model", "spring", &req), 0);
    assert_false(req); /* scopes are separate */
    assert_int_equal(rsp_store_acceptance_require(st, "campaign", "spring", false, "t", &changed),
                     0);
    assert_true(changed);
    assert_int_equal(rsp_store_acceptance_required(st, "campaign", "spring", &req), 0);
    assert_false(req);
    assert_int_equal(rsp_store_acceptance_require(st, "tenant", "x", true, "t", NULL), RSP_EINVAL);
    assert_int_equal(rsp_store_acceptance_require(st, "model", "", true, "t", NULL), RSP_EINVAL);
    assert_int_equal(rsp_store_acceptance_require(st, "model", "a\x01", true, "t", NULL),
                     RSP_EINVAL);

    /* the chain still verifies */
    struct rsp_audit_verify_result vr;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &vr), 0);
    assert_int_equal(vr.findings, 0);
    rsp_store_close(st);
}

static void test_acceptance_gate(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("gate.db"));
    char why[300];
    struct rsp_acceptance_run r;

    /* nothing marked: allowed */
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why), 0);
    assert_non_null(strstr(why, "no acceptance requirement"));
    assert_int_equal(rsp_acceptance_gate(st, NULL, NULL, why, sizeof why), 0);

    /* campaign marked: the model's latest run decides; none yet */
    assert_int_equal(rsp_store_acceptance_require(st, "campaign", "spring", true, "t", NULL), 0);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    assert_string_equal(why, "campaign spring requires a passing acceptance run for model "
                             "Phone X; none recorded");
    assert_int_equal(rsp_acceptance_gate(st, "spring", "", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    assert_non_null(strstr(why, "no model given"));
    assert_int_equal(rsp_acceptance_gate(st, "autumn", "Phone X", why, sizeof why), 0);

    /* a failed run refuses, naming it and its step */
    mkrun(&r, "Phone X", "35290611", false, "enable");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), 0);
    char want[300];
    snprintf(want, sizeof want,
             "campaign spring requires a passing acceptance run for model Phone X; last run #%lld "
             "failed at step 'enable'",
             (long long)r.id);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    assert_string_equal(why, want);
    /* a passing run of another model does not help */
    mkrun(&r, "Phone Y", "", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), 0);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    /* the latest run decides: pass -> allowed (by name and by TAC), then fail -> refused */
    mkrun(&r, "Phone X", "35290611", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), 0);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why), 0);
    assert_non_null(strstr(why, "passed"));
    assert_int_equal(rsp_acceptance_gate(st, "spring", "35290611", why, sizeof why), 0);
    mkrun(&r, "Phone X", "35290611", false, "delete");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), 0);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    assert_non_null(strstr(why, "failed at step 'delete'"));

    /* a model mark applies to every campaign, and to none */
    assert_int_equal(rsp_acceptance_gate(st, NULL, "Phone Y", why, sizeof why), 0);
    assert_int_equal(rsp_store_acceptance_require(st, "model", "Phone Z", true, "t", NULL), 0);
    assert_int_equal(rsp_acceptance_gate(st, "autumn", "Phone Z", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    assert_string_equal(why, "device model Phone Z requires a passing acceptance run for model "
                             "Phone Z; none recorded");
    assert_int_equal(rsp_acceptance_gate(st, NULL, "Phone Z", why, sizeof why),
                     RSP_ACCEPTANCE_REFUSED);
    mkrun(&r, "Phone Z", "", true, "");
    assert_int_equal(rsp_store_acceptance_run_add(st, &r, "t"), 0);
    assert_int_equal(rsp_acceptance_gate(st, NULL, "Phone Z", why, sizeof why), 0);
    /* unmarking the campaign lifts its requirement */
    assert_int_equal(rsp_store_acceptance_require(st, "campaign", "spring", false, "t", NULL), 0);
    assert_int_equal(rsp_acceptance_gate(st, "spring", "Phone X", why, sizeof why), 0);
    /* NULL reason is allowed */
    assert_int_equal(rsp_acceptance_gate(st, NULL, "Phone Z", NULL, 0), 0);
    assert_int_equal(rsp_acceptance_gate(NULL, NULL, "Phone Z", why, sizeof why), RSP_EINVAL);
    rsp_store_close(st);
}

/* branch load: the batch import (pipelined on PostgreSQL, head kept once per batch on SQLite)
 * gives the item-by-item results and audit records: refused items, an ICCID twice in one batch
 * (same manifest: present; another: refused), a matchingId conflict, a row without a manifest,
 * more items than one pipeline chunk; the chain verifies; a re-import is a no-op. */
enum { NB = 7, NBULK = 600 };

static void import_item(struct rsp_store_import_item *it, const char *iccid, const uint8_t *man,
                        size_t man_len)
{
    memset(it, 0, sizeof *it);
    mkprofile(&it->profile, iccid, "imp");
    it->manifest = man;
    it->manifest_len = man_len;
}

static size_t audit_n(struct rsp_store *st, const char *key)
{
    static struct rsp_audit_entry e[8];
    size_t n = 0;
    assert_int_equal(rsp_store_audit_list(st, key, e, 8, &n), 0);
    return n;
}

static void test_import_batch(void **state)
{
    (void)state;
    struct rsp_store *st = open_store(db_url("import.db"));
    static const uint8_t m1[] = {0x30, 0x03, 0x02, 0x01, 0x01},
                         m2[] = {0x30, 0x03, 0x02, 0x01, 0x02};
    struct rsp_profile pre;
    mkprofile(&pre, "8944500000000000906", "imp"); /* in the inventory without a manifest */
    assert_int_equal(rsp_store_profile_insert(st, &pre, NULL, 0, "t"), 0);
    static struct rsp_store_import_item it[NB + NBULK];
    import_item(&it[0], "8944500000000000901", m1, sizeof m1);
    import_item(&it[1], "8944500000000000902", m1, sizeof m1);
    it[1].refused = "item 1: signature: does not verify";
    import_item(&it[2], "8944500000000000901", m1, sizeof m1); /* again, same manifest */
    import_item(&it[3], "8944500000000000901", m2, sizeof m2); /* again, another manifest */
    import_item(&it[4], "8944500000000000904", m1, sizeof m1);
    snprintf(it[4].profile.matching_id, sizeof it[4].profile.matching_id, "DUP-MID");
    import_item(&it[5], "8944500000000000905", m2, sizeof m2);
    snprintf(it[5].profile.matching_id, sizeof it[5].profile.matching_id, "DUP-MID");
    import_item(&it[6], "8944500000000000906", m1, sizeof m1);
    static char iccids[NBULK][21];
    for (int i = 0; i < NBULK; i++) {
        snprintf(iccids[i], sizeof iccids[i], "89446000000000%05d", i);
        import_item(&it[NB + i], iccids[i], i % 2 ? m1 : m2, sizeof m1);
    }
    struct rsp_audit_head h0, h1;
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(rsp_store_profile_import(st, it, NB + NBULK, "t"), 0);
    static const int want[NB] = {0,          RSP_EVERIFY, RSP_STORE_IMPORT_PRESENT, RSP_ESTATE, 0,
                                 RSP_ESTATE, RSP_ESTATE};
    for (int i = 0; i < NB; i++)
        assert_int_equal(it[i].result, want[i]);
    for (int i = 0; i < NBULK; i++)
        assert_int_equal(it[NB + i].result, 0);
    struct rsp_profile got;
    assert_int_equal(rsp_store_profile_get(st, "8944500000000000905", &got), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_profile_get(st, "8944500000000000902", &got), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_profile_get(st, iccids[NBULK - 1], &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_AVAILABLE);
    struct rsp_buf man = RSP_BUF_INIT;
    assert_int_equal(rsp_store_profile_manifest(st, "8944500000000000901", &man), 0);
    assert_int_equal(man.len, sizeof m1);
    assert_memory_equal(man.data, m1, sizeof m1);
    rsp_buf_free(&man);
    /* records: 901 imported + refused (another manifest); 902, 905, 906 refused; 904 imported */
    assert_int_equal(audit_n(st, "8944500000000000901"), 2);
    assert_int_equal(audit_n(st, "8944500000000000902"), 1);
    assert_int_equal(audit_n(st, "8944500000000000904"), 1);
    assert_int_equal(audit_n(st, "8944500000000000905"), 1);
    assert_int_equal(audit_n(st, "8944500000000000906"), 2); /* its insert + the refusal */
    assert_int_equal(rsp_store_audit_head(st, &h1), 0);
    assert_int_equal(h1.seq - h0.seq, 6 + NBULK);
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    assert_int_equal(res.last_seq, h1.seq);
    /* again: the imported ones are present, nothing new but the refusals */
    assert_int_equal(rsp_store_profile_import(st, it, NB + NBULK, "t"), 0);
    static const int want2[NB] = {RSP_STORE_IMPORT_PRESENT,
                                  RSP_EVERIFY,
                                  RSP_STORE_IMPORT_PRESENT,
                                  RSP_ESTATE,
                                  RSP_STORE_IMPORT_PRESENT,
                                  RSP_ESTATE,
                                  RSP_ESTATE};
    for (int i = 0; i < NB; i++)
        assert_int_equal(it[i].result, want2[i]);
    for (int i = 0; i < NBULK; i++)
        assert_int_equal(it[NB + i].result, RSP_STORE_IMPORT_PRESENT);
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(h0.seq - h1.seq, 4); /* 902, 901 (another manifest), 905, 906 */
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(st);
}

/* branch import: the same outcomes when no item carries a matchingId (PostgreSQL sends such a
 * batch with COPY): new, refused, twice in the batch (same manifest, another), already there
 * without a manifest, a bulk larger than one COPY chunk of rows; package and manifest stored;
 * the chain verifies; a re-import is a no-op. */
static void test_import_plain(void **state)
{
    (void)state;
    const char *url = db_url("import_plain.db");
    struct rsp_store *st = open_store(url);
    static const uint8_t m1[] = {0x30, 0x03, 0x02, 0x01, 0x01},
                         m2[] = {0x30, 0x03, 0x02, 0x01, 0x02}, pkg[] = {0xA0, 0x01, 0x00},
                         batch[] = {0x30, 0x02, 0x05, 0x00};
    enum { N5 = 5, NPLAIN = 2000 };
    struct rsp_profile pre;
    mkprofile(&pre, "8944500000000000906", "imp");
    assert_int_equal(rsp_store_profile_insert(st, &pre, NULL, 0, "t"), 0);
    static struct rsp_store_import_item it[N5 + NPLAIN];
    import_item(&it[0], "8944500000000000901", m1, sizeof m1);
    it[0].pkg = pkg;
    it[0].pkg_len = sizeof pkg;
    import_item(&it[1], "8944500000000000902", m1, sizeof m1);
    it[1].refused = "item 1: signature: does not verify";
    import_item(&it[2], "8944500000000000901", m1, sizeof m1);
    import_item(&it[3], "8944500000000000901", m2, sizeof m2);
    import_item(&it[4], "8944500000000000906", m1, sizeof m1);
    static char iccids[NPLAIN][21];
    for (int i = 0; i < NPLAIN; i++) {
        snprintf(iccids[i], sizeof iccids[i], "89447000000000%05d", i);
        import_item(&it[N5 + i], iccids[i], i % 2 ? m1 : m2, sizeof m1);
        if (i >= 10) { /* these refer to a batch manifest: stored once */
            it[N5 + i].batch = batch;
            it[N5 + i].batch_len = sizeof batch;
        }
    }
    it[1].batch = pkg; /* refused: its batch is not stored */
    it[1].batch_len = sizeof pkg;
    struct rsp_audit_head h0, h1;
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(rsp_store_profile_import(st, it, N5 + NPLAIN, "t"), 0);
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM manifest_batches"), 1);
    static const int want[N5] = {0, RSP_EVERIFY, RSP_STORE_IMPORT_PRESENT, RSP_ESTATE, RSP_ESTATE};
    for (int i = 0; i < N5; i++)
        assert_int_equal(it[i].result, want[i]);
    for (int i = 0; i < NPLAIN; i++)
        assert_int_equal(it[N5 + i].result, 0);
    struct rsp_profile got;
    assert_int_equal(rsp_store_profile_get(st, "8944500000000000901", &got), 0);
    assert_int_equal(got.state, RSP_PROFILE_AVAILABLE);
    assert_string_equal(got.imsi, "001010123456789");
    assert_int_equal(got.version, 0);
    assert_int_equal(rsp_store_profile_get(st, "8944500000000000902", &got), RSP_ENOTFOUND);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_store_profile_package(st, "8944500000000000901", &b), 0);
    assert_int_equal(b.len, sizeof pkg);
    assert_memory_equal(b.data, pkg, sizeof pkg);
    assert_int_equal(rsp_store_profile_manifest(st, iccids[NPLAIN - 1], &b), 0);
    assert_int_equal(b.len, sizeof m1); /* odd index: m1 */
    assert_memory_equal(b.data, m1, sizeof m1);
    rsp_buf_free(&b);
    assert_int_equal(audit_n(st, "8944500000000000901"), 2); /* imported, then refused */
    assert_int_equal(audit_n(st, "8944500000000000902"), 1);
    assert_int_equal(audit_n(st, "8944500000000000906"), 2); /* its insert + the refusal */
    assert_int_equal(audit_n(st, iccids[7]), 1);
    assert_int_equal(rsp_store_audit_head(st, &h1), 0);
    assert_int_equal(h1.seq - h0.seq, 4 + NPLAIN);
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    assert_int_equal(rsp_store_profile_import(st, it, N5 + NPLAIN, "t"), 0);
    for (int i = 0; i < NPLAIN; i++)
        assert_int_equal(it[N5 + i].result, RSP_STORE_IMPORT_PRESENT);
    assert_int_equal(it[0].result, RSP_STORE_IMPORT_PRESENT);
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(h0.seq - h1.seq, 3); /* 902, 901 (another manifest), 906 */
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM manifest_batches"), 1);
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(st);
}

/* PostgreSQL: an ICCID inserted by another process after the batch looked it up (the COPY then
 * meets a uniqueness conflict): that item is refused, the others imported, nothing twice. */
static struct rsp_store *race_other;
static void race_hook(const char *point)
{
    if (race_other && strcmp(point, "profile_import:looked_up") == 0) {
        struct rsp_profile p;
        mkprofile(&p, "8944500000000000912", "imp");
        assert_int_equal(rsp_store_profile_insert(race_other, &p, NULL, 0, "other"), 0);
        race_other = NULL;
    }
}

static void test_pg_import_race(void **state)
{
    (void)state;
    const char *url = db_url("import_race");
    struct rsp_store *st = open_store(url), *other = open_store(url);
    static const uint8_t m1[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    struct rsp_store_import_item it[3];
    import_item(&it[0], "8944500000000000911", m1, sizeof m1);
    import_item(&it[1], "8944500000000000912", m1, sizeof m1);
    import_item(&it[2], "8944500000000000913", m1, sizeof m1);
    race_other = other;
    rsp_store_set_fault_hook(st, race_hook);
    assert_int_equal(rsp_store_profile_import(st, it, 3, "t"), 0);
    rsp_store_set_fault_hook(st, NULL);
    assert_null(race_other);
    assert_int_equal(it[0].result, 0);
    assert_int_equal(it[1].result, RSP_ESTATE);
    assert_int_equal(it[2].result, 0);
    assert_int_equal(audit_n(st, "8944500000000000912"), 2); /* other's insert + the refusal */
    assert_int_equal(audit_n(st, "8944500000000000911"), 1);
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_store_profile_manifest(st, "8944500000000000912", &b), RSP_ENOTFOUND);
    rsp_buf_free(&b);
    struct rsp_audit_verify_result res;
    assert_int_equal(rsp_store_audit_verify(st, NULL, 0, NULL, 0, NULL, NULL, &res), 0);
    assert_int_equal(res.findings, 0);
    rsp_store_close(other);
    rsp_store_close(st);
}

/* ---- telemetry (branch tele) ---- */

static void tele_rec(struct rsp_tele_record *r, int64_t at_ms, const char *fn, const char *outcome,
                     uint64_t latency_us, const char *tid, const char *event)
{
    memset(r, 0, sizeof *r);
    r->at_ms = at_ms;
    snprintf(r->fn, sizeof r->fn, "%s", fn);
    snprintf(r->outcome, sizeof r->outcome, "%s", outcome);
    r->latency_us = latency_us;
    snprintf(r->tid, sizeof r->tid, "%s", tid);
    snprintf(r->event, sizeof r->event, "%s", event);
}

struct tele_rows {
    struct rsp_tele_series r[32];
    size_t n;
};

static int tele_collect(void *arg, const struct rsp_tele_series *s)
{
    struct tele_rows *t = arg;
    assert_true(t->n < 32);
    t->r[t->n++] = *s;
    return 0;
}

static const struct rsp_tele_series *tele_find(const struct tele_rows *t, const char *fn,
                                               const char *outcome)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->r[i].fn, fn) == 0 && strcmp(t->r[i].outcome, outcome) == 0)
            return &t->r[i];
    return NULL;
}

/* 0, or fails with the store's reason */
static void tele_ok(struct rsp_store *st, int rc)
{
    if (rc)
        fail_msg("%s: %s", rsp_strerror(rc), rsp_store_last_error(st));
}

static void test_tele(void **state)
{
    (void)state;
    const char *url = db_url("tele.db");
    struct rsp_store *st = open_store(url);
    struct rsp_tele_record r;
    /* a session: started (no labels yet), authenticated (labels), downloaded (labels from the
     * session row) */
    tele_rec(&r, 1000000, "initiateAuthentication", "ok", 3000, "0a0b", RSP_TELE_EV_STARTED);
    tele_ok(st, rsp_store_tele_record(st, &r, 60));
    tele_rec(&r, 1001000, "authenticateClient", "ok", 7000, "0A0B", RSP_TELE_EV_AUTHENTICATED);
    snprintf(r.labels.tac, sizeof r.labels.tac, "35290611");
    snprintf(r.labels.eum, sizeof r.labels.eum, "RSPTEST");
    snprintf(r.labels.profile_type, sizeof r.labels.profile_type, "t1");
    snprintf(r.subject, sizeof r.subject, "p:abcdefgh");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), 0);
    tele_rec(&r, 1002000, "getBoundProfilePackage", "ok", 30000, "0A0B", RSP_TELE_EV_DOWNLOADED);
    assert_int_equal(rsp_store_tele_record(st, &r, 60), 0);
    assert_string_equal(r.labels.tac, "35290611"); /* from the session row */
    assert_string_equal(r.labels.profile_type, "t1");
    /* a refusal outside any session, 12 s: the +Inf bucket */
    tele_rec(&r, 1003000, "authenticateClient", "8.1.1/3.8", 12000000, "FFFF", "");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), 0);
    assert_string_equal(r.labels.tac, "");
    /* next period */
    tele_rec(&r, 1065000, "getBoundProfilePackage", "ok", 1000, "0a0b", "");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), 0);

    /* bad input changes nothing */
    tele_rec(&r, 1000000, "", "ok", 1, "", "");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), RSP_EINVAL);
    tele_rec(&r, 1000000, "x", "ok", 1, "", "");
    snprintf(r.labels.tac, sizeof r.labels.tac, "3529x611");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), RSP_EINVAL);
    tele_rec(&r, 1000000, "x", "ok", 1, "not-hex", "");
    assert_int_equal(rsp_store_tele_record(st, &r, 60), RSP_EINVAL);
    tele_rec(&r, 1000000, "x", "ok", 1, "", "");
    assert_int_equal(rsp_store_tele_record(st, &r, 0), RSP_EINVAL);
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM tele_call"), 5);

    struct tele_rows t = {.n = 0};
    assert_int_equal(rsp_store_tele_totals(st, tele_collect, &t), 0);
    assert_int_equal(t.n, 7); /* 4 (fn, outcome) + 3 session events */
    const struct rsp_tele_series *x = tele_find(&t, "getBoundProfilePackage", "ok");
    assert_non_null(x);
    assert_int_equal(x->n, 2);
    assert_int_equal(x->sum_us, 31000);
    assert_int_equal(x->bucket[0], 1); /* 1 ms */
    assert_int_equal(x->bucket[5], 1); /* 30 ms: (25, 50] */
    x = tele_find(&t, "authenticateClient", "8.1.1/3.8");
    assert_non_null(x);
    assert_int_equal(x->bucket[RSP_TELE_NBUCKETS - 1], 1);
    x = tele_find(&t, "authenticateClient", "ok");
    assert_non_null(x);
    assert_int_equal(x->bucket[3], 1); /* 7 ms: (5, 10] */
    assert_null(tele_find(&t, "initiateAuthentication", "8.1.1/3.8"));
    for (const char *const *ev =
             (const char *const[]){RSP_TELE_EV_STARTED, RSP_TELE_EV_AUTHENTICATED,
                                   RSP_TELE_EV_DOWNLOADED, NULL};
         *ev; ev++) {
        x = tele_find(&t, RSP_TELE_FN_SESSION, *ev);
        assert_non_null(x);
        assert_int_equal(x->n, 1);
    }

    /* series: per period and cohort */
    t.n = 0;
    assert_int_equal(rsp_store_tele_series(st, 0, 0, tele_collect, &t), 0);
    assert_int_equal(t.n, 8); /* period 960: 7 rows, period 1020: 1 */
    assert_int_equal(t.r[0].period, 960);
    assert_int_equal(t.r[t.n - 1].period, 1020);
    assert_string_equal(t.r[t.n - 1].labels.tac, "35290611");
    x = tele_find(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_DOWNLOADED);
    assert_non_null(x);
    assert_string_equal(x->labels.eum, "RSPTEST");
    x = tele_find(&t, RSP_TELE_FN_SESSION, RSP_TELE_EV_STARTED);
    assert_string_equal(x->labels.tac, ""); /* not known at initiateAuthentication */
    t.n = 0;
    assert_int_equal(rsp_store_tele_series(st, 961, 0, tele_collect, &t), 0);
    assert_int_equal(t.n, 1);
    t.n = 0;
    assert_int_equal(rsp_store_tele_series(st, 0, 1020, tele_collect, &t), 0);
    assert_int_equal(t.n, 7);

    struct rsp_tele_session ss;
    assert_int_equal(rsp_store_tele_session_get(st, "0a0b", &ss), 0);
    assert_string_equal(ss.tid, "0A0B");
    assert_string_equal(ss.stage, "getBoundProfilePackage");
    assert_string_equal(ss.result, RSP_TELE_EV_DOWNLOADED);
    assert_string_equal(ss.subject, "p:abcdefgh");
    assert_string_equal(ss.labels.tac, "35290611");
    assert_int_equal(ss.started_at, 1000);
    assert_int_equal(ss.updated_at, 1065);
    assert_int_equal(rsp_store_tele_session_get(st, "FFFF", &ss), RSP_ENOTFOUND);
    assert_int_equal(rsp_store_tele_session_get(st, "zz", &ss), RSP_ESYNTAX);

    /* retention: raw rows and sessions before 1030 s, series before period 1000 */
    int64_t n = -1;
    assert_int_equal(rsp_store_tele_sweep(st, 1030000, 1000, &n), 0);
    assert_int_equal(n, 4 + 7); /* 4 calls (the session was updated at 1065) + 7 series rows */
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM tele_call"), 1);
    assert_int_equal(rsp_store_tele_session_get(st, "0A0B", &ss), 0);
    t.n = 0;
    assert_int_equal(rsp_store_tele_series(st, 0, 0, tele_collect, &t), 0);
    assert_int_equal(t.n, 1);
    t.n = 0;
    assert_int_equal(rsp_store_tele_totals(st, tele_collect, &t), 0); /* never swept */
    assert_int_equal(t.n, 7);
    assert_int_equal(rsp_store_tele_sweep(st, 2000000, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rsp_store_tele_session_get(st, "0A0B", &ss), RSP_ENOTFOUND);
    rsp_store_close(st);
}

/* ---- one transaction per protocol call (rsp_store_call_begin / rsp_store_call_end) ---- */

struct call_writer {
    const char *url;
    atomic_int done;
    int rc;
};

static void *call_writer_thread(void *arg)
{
    struct call_writer *w = arg;
    struct rsp_store *st = open_store(w->url);
    struct rsp_profile p;
    mkprofile(&p, "8999000000000000009", "call");
    w->rc = rsp_store_profile_insert(st, &p, NULL, 0, "test");
    atomic_store(&w->done, 1);
    rsp_store_close(st);
    return NULL;
}

/* Inside a call: changes invisible to other connections until call_end; an operation losing its
 * compare-and-set undoes only itself; call_end(false) stores nothing; no nesting; another
 * connection's writer waits for the call and then succeeds (SQLite) or does not wait
 * (PostgreSQL). */
static void test_call(void **state)
{
    (void)state;
    const char *url = db_url("call.db");
    struct rsp_store *st = open_store(url), *other = open_store(url);
    const char *iccid = "8999000000000000001";
    struct rsp_profile p, q;
    mkprofile(&p, iccid, "call");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "test"), 0);
    long long audit0 = raw_query_ll(url, "SELECT count(*) FROM audit");

    assert_int_equal(rsp_store_call_begin(st), 0);
    assert_int_equal(rsp_store_call_begin(st), RSP_ESTATE);    /* calls do not nest */
    assert_int_equal(rsp_store_profile_get(st, iccid, &q), 0); /* a read opens nothing */
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_AVAILABLE,
                                                  RSP_PROFILE_ALLOCATED, "test", "first"),
                     0);
    /* a lost compare-and-set inside the call: refused, the call goes on */
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_AVAILABLE,
                                                  RSP_PROFILE_LINKED, "test", "lost"),
                     RSP_ESTATE);
    struct rsp_session s, got;
    mksession(&s, "C0FFEE01", (int64_t)time(NULL) + 600);
    assert_int_equal(rsp_store_session_insert(st, &s, "test"), 0);
    assert_int_equal(rsp_store_session_insert(st, &s, "test"), RSP_ESTATE); /* duplicate */
    /* the call's own connection sees its changes, the others do not */
    assert_int_equal(rsp_store_profile_get(st, iccid, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_ALLOCATED);
    assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_AVAILABLE);
    rsp_session_init(&got);
    assert_int_equal(rsp_store_session_get(other, "C0FFEE01", &got), RSP_ENOTFOUND);
    assert_int_equal(raw_query_ll(url, "SELECT count(*) FROM audit"), audit0);

    /* a writer on another connection: SQLite, it waits for the call (one writer at a time);
     * PostgreSQL, it writes another row while the call is open (the call's audit records take
     * the chain head only at its end) */
    struct call_writer w = {url, 0, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_writer_thread, &w), 0);
    if (use_pg) {
        pthread_join(th, NULL); /* would never return if the call held the head */
        assert_int_equal(w.rc, 0);
        assert_int_equal(rsp_store_call_end(st, true), 0);
    } else {
        usleep(200 * 1000);
        assert_int_equal(atomic_load(&w.done), 0);
        assert_int_equal(rsp_store_call_end(st, true), 0);
        pthread_join(th, NULL);
        assert_int_equal(w.rc, 0);
    }

    assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_ALLOCATED);
    assert_int_equal(q.version, 1);
    assert_int_equal(rsp_store_session_get(other, "C0FFEE01", &got), 0);
    struct rsp_audit_entry a[8];
    size_t na;
    assert_int_equal(rsp_store_audit_list(other, iccid, a, 8, &na), 0);
    assert_int_equal(na, 2); /* inserted, Allocated: nothing of the lost change */
    assert_string_equal(a[1].to, "Allocated");

    /* call_end(false): nothing of the call is stored */
    assert_int_equal(rsp_store_call_begin(st), 0);
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_ALLOCATED,
                                                  RSP_PROFILE_LINKED, "test", "undone"),
                     0);
    assert_int_equal(rsp_store_call_end(st, false), 0);
    assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_ALLOCATED);
    assert_int_equal(rsp_store_audit_list(other, iccid, a, 8, &na), 0);
    assert_int_equal(na, 2);
    /* a call without changes, and operations after it commit one by one again */
    assert_int_equal(rsp_store_call_begin(st), 0);
    assert_int_equal(rsp_store_call_end(st, true), 0);
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_ALLOCATED,
                                                  RSP_PROFILE_LINKED, "test", "after"),
                     0);
    assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
    assert_int_equal(q.state, RSP_PROFILE_LINKED);

    /* the audit chain head inside a call: a refused operation (a duplicate session) between
     * operations whose records stay; the head is stored once at the end; the chain verifies.
     * SQLite: the head seen inside the call moves with each record (the call holds the writer
     * lock). PostgreSQL: the call's records are appended at its end, so another connection
     * appends meanwhile without waiting, and the call's records follow its. */
    struct rsp_audit_head h0, h1, h2;
    assert_int_equal(rsp_store_audit_head(st, &h0), 0);
    assert_int_equal(rsp_store_call_begin(st), 0);
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_LINKED,
                                                  RSP_PROFILE_CONFIRMED, "test",
                                                  "one \"q\" \\ {x,y}"),
                     0);
    assert_int_equal(rsp_store_audit_head(st, &h1), 0);
    assert_int_equal(h1.seq, use_pg ? h0.seq : h0.seq + 1);
    assert_int_equal(rsp_store_session_insert(st, &s, "test"), RSP_ESTATE);
    struct rsp_session s2;
    mksession(&s2, "C0FFEE02", (int64_t)time(NULL) + 600);
    assert_int_equal(rsp_store_session_insert(st, &s2, "test"), 0);
    assert_int_equal(rsp_store_audit_head(other, &h2), 0);
    assert_int_equal(h2.seq, h0.seq); /* not stored yet */
    int64_t others = 0;
    if (use_pg) { /* another connection's record, while the call is open */
        struct rsp_audit_entry e;
        rsp_audit_entry_set(&e, "config", "other", "", "noted", "test", "", "during the call");
        assert_int_equal(rsp_store_audit_append(other, &e), 0);
        assert_int_equal(e.seq, h0.seq + 1);
        others = 1;
    }
    assert_int_equal(rsp_store_call_end(st, true), 0);
    assert_int_equal(rsp_store_audit_head(other, &h2), 0);
    assert_int_equal(h2.seq, h0.seq + 2 + others);
    assert_int_equal(rsp_store_audit_list(other, iccid, a, 8, &na), 0);
    assert_string_equal(a[na - 1].to, "Confirmed");
    assert_string_equal(a[na - 1].reason, "one \"q\" \\ {x,y}"); /* array literal escaping */
    assert_int_equal(a[na - 1].seq, h0.seq + 1 + others);
    /* an operation after the call appends after the call's records */
    assert_int_equal(rsp_store_profile_transition(st, iccid, RSP_PROFILE_CONFIRMED,
                                                  RSP_PROFILE_RELEASED, "test", "after call"),
                     0);
    struct rsp_audit_verify_result vr;
    assert_int_equal(rsp_store_audit_verify(other, NULL, 0, NULL, 0, NULL, NULL, &vr), 0);
    assert_int_equal(vr.findings, 0);
    assert_int_equal(vr.last_seq, h0.seq + 3 + others);
    if (use_pg) { /* RSP_PG_CALL_TRANSACTIONS=0: every operation commits on its own */
        setenv("RSP_PG_CALL_TRANSACTIONS", "0", 1);
        struct rsp_store *plain = open_store(url);
        unsetenv("RSP_PG_CALL_TRANSACTIONS");
        assert_int_equal(rsp_store_call_begin(plain), 0);
        assert_int_equal(rsp_store_profile_transition(plain, iccid, RSP_PROFILE_RELEASED,
                                                      RSP_PROFILE_DOWNLOADED, "test", "plain"),
                         0);
        assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
        assert_int_equal(q.state, RSP_PROFILE_DOWNLOADED);
        assert_int_equal(rsp_store_call_end(plain, false), 0); /* nothing to undo */
        assert_int_equal(rsp_store_profile_get(other, iccid, &q), 0);
        assert_int_equal(q.state, RSP_PROFILE_DOWNLOADED);
        rsp_store_close(plain);
    }
    rsp_session_free(&s2);
    rsp_session_free(&got);
    rsp_session_free(&s);
    rsp_store_close(other);
    rsp_store_close(st);
}

int main(int argc, char **argv)
{
    use_pg = argc > 1 && strcmp(argv[1], "pg") == 0;
    const struct CMUnitTest common[] = {
        cmocka_unit_test(test_profile_transitions_stored),
        cmocka_unit_test(test_profile_crud_cas),
        cmocka_unit_test(test_race_two_connections),
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_sweeper),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_concurrent_open),
        cmocka_unit_test(test_crash_consistency),
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_acceptance_store),
        cmocka_unit_test(test_acceptance_gate),
        cmocka_unit_test(test_import_batch), /* branch load */
        cmocka_unit_test(test_import_plain), /* branch import */
        cmocka_unit_test(test_tele),
        cmocka_unit_test(test_call),
    };
    const struct CMUnitTest sqlite_only[] = {
        cmocka_unit_test(test_profile_table),
        cmocka_unit_test(test_store_urls),
        cmocka_unit_test(test_checkpointer),
        cmocka_unit_test(test_checkpointer_rewinds),
    };
    const struct CMUnitTest pg_only[] = {
        cmocka_unit_test(test_pg_blocked_writer_loses), cmocka_unit_test(test_pg_many_writers),
        cmocka_unit_test(test_pg_killed_connection),    cmocka_unit_test(test_pg_schema_parity),
        cmocka_unit_test(test_pg_import_race), /* branch import */
    };
    enum { NC = sizeof common / sizeof common[0] };
    struct CMUnitTest all[NC + 5];
    size_t n = 0;
    const struct CMUnitTest *extra = use_pg ? pg_only : sqlite_only;
    size_t n_extra =
        use_pg ? sizeof pg_only / sizeof pg_only[0] : sizeof sqlite_only / sizeof sqlite_only[0];
    for (size_t i = 0; i < n_extra; i++)
        all[n++] = extra[i];
    for (size_t i = 0; i < NC; i++)
        all[n++] = common[i];
    return _cmocka_run_group_tests(use_pg ? "store_pg" : "store_sqlite", all, n, NULL, NULL);
}
