/* SM-DP+ store: state tables, compare-and-set, races between connections, sessions, the expiry
 * sweeper, migrations and crash consistency (SQLite backend). */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/store.h"

static const char *db_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    return path;
}

static struct rsp_store *open_store(const char *path)
{
    struct rsp_store *st = NULL;
    assert_int_equal(rsp_store_sqlite_open(path, &st), 0);
    assert_non_null(st);
    return st;
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
        "Released>Unavailable", "Downloaded>Installed",  "Downloaded>Error",
        "Downloaded>Released",  "Error>Available",       "Error>Unavailable",
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
    struct rsp_store *st = open_store(db_path("trans.db"));
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
    struct rsp_store *st = open_store(db_path("crud.db"));
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
    if (rsp_store_sqlite_open(r->path, &st) != 0) {
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
    const char *path = db_path("race.db");
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
    struct rsp_store *st = open_store(db_path("sess.db"));
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
    struct rsp_store *st = open_store(db_path("sweep.db"));
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
    const char *path = db_path("mig.db");
    unlink(path);
    struct rsp_store *st = open_store(path);
    assert_int_equal(rsp_store_sqlite_schema_version(st), 4);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000777", "t");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    rsp_store_close(st);
    st = open_store(path); /* re-open: no migration re-run, data kept */
    assert_int_equal(rsp_store_sqlite_schema_version(st), 4);
    assert_int_equal(rsp_store_profile_get(st, "8944000000000000777", &p), 0);
    rsp_store_close(st);

    /* A database written by a newer schema is refused. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", 0, 0, 0), 0);
    sqlite3_close(db);
    struct rsp_store *bad = NULL;
    assert_int_equal(rsp_store_sqlite_open(path, &bad), RSP_ESTATE);
    assert_null(bad);

    /* Not a database at all */
    const char *junk = db_path("junk.db");
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    fputs("this is not an sqlite file, not at all, not even close, really............", f);
    fclose(f);
    assert_int_equal(rsp_store_sqlite_open(junk, &bad), RSP_EIO);
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
    if (rsp_store_sqlite_open(path, &st) != 0)
        _exit(2);
    rsp_store_sqlite_set_fault_hook(st, die_hook);
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
    const char *path = db_path("crash.db");
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
    struct rsp_store *st = open_store(db_path("outbox.db"));
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
    const char *path = db_path("pool.db");
    struct rsp_store_pool *pool = NULL;
    assert_int_equal(rsp_store_pool_create(rsp_store_sqlite_opener, (void *)path, &pool), 0);
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
    assert_int_equal(
        rsp_store_pool_create(rsp_store_sqlite_opener, (void *)"/nonexistent/x/y.db", &bad), 0);
    struct rsp_store *none;
    assert_int_equal(rsp_store_pool_get(bad, &none), RSP_EIO);
    assert_int_equal(rsp_store_pool_size(bad), 0);
    rsp_store_pool_destroy(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_table),    cmocka_unit_test(test_profile_transitions_stored),
        cmocka_unit_test(test_profile_crud_cas), cmocka_unit_test(test_race_two_connections),
        cmocka_unit_test(test_sessions),         cmocka_unit_test(test_sweeper),
        cmocka_unit_test(test_migrations),       cmocka_unit_test(test_crash_consistency),
        cmocka_unit_test(test_outbox),           cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
