/* The audit chain in the store, on both backends (argv[1]: "sqlite" or "pg"; the PostgreSQL run
 * skips without the server of scripts/pg.sh): records of every kind of change chained with
 * pseudonymous subjects, several processes appending (and checkpointing) at once, a crash between
 * the record and the head, the upgrade of a schema-3 database with its old rows, rows planted
 * outside the chain, and the export / prune rules. */
#include "pgtest.h"
#include "testutil.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rsp/audit.h"
#include "rsp/err.h"
#include "rsp/store.h"

#define EID "89049032123451234512345678901235"

static bool use_pg; /* argv[1] == "pg" */

/* A fresh store called `name`: a file in the temporary directory, or a new PostgreSQL database. */
static const char *db_path(const char *name)
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
    return st;
}

static void mkprofile(struct rsp_profile *p, const char *iccid)
{
    memset(p, 0, sizeof *p);
    snprintf(p->iccid, sizeof p->iccid, "%s", iccid);
    snprintf(p->imsi, sizeof p->imsi, "001010123456789");
    snprintf(p->profile_type, sizeof p->profile_type, "t");
    snprintf(p->owner, sizeof p->owner, "op1");
    p->state = RSP_PROFILE_AVAILABLE;
}

/* SQL beside the store (statements both backends understand). */
static void sql(const char *url, const char *q)
{
    if (use_pg) {
        tu_pg_exec(url, q);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", q, err ? err : "?");
    sqlite3_close(db);
}

static long long sql_int(const char *url, const char *q)
{
    if (use_pg)
        return tu_pg_query_ll(url, q);
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

struct findings {
    struct rsp_audit_finding f[32];
    size_t n;
};

static void collect(void *arg, const struct rsp_audit_finding *f)
{
    struct findings *fs = arg;
    if (fs->n < 32)
        fs->f[fs->n++] = *f;
}

static struct rsp_audit_verify_result verify(struct rsp_store *st, const struct rsp_key *k,
                                             struct findings *fs)
{
    memset(fs, 0, sizeof *fs);
    const struct rsp_key *keys[1] = {k};
    struct rsp_audit_verify_result r;
    assert_int_equal(rsp_store_audit_verify(st, keys, k ? 1 : 0, NULL, 0, collect, fs, &r), 0);
    for (size_t i = 0; i < fs->n; i++)
        print_message("# %s seq %lld: %s\n", rsp_audit_problem_name(fs->f[i].problem),
                      (long long)fs->f[i].seq, fs->f[i].detail);
    return r;
}

static struct rsp_pseudonym_key test_key(void)
{
    struct rsp_pseudonym_key k;
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_int_equal(rsp_pseudonym_key_parse((const uint8_t *)hex, strlen(hex), &k), 0);
    return k;
}

/* Every kind of write appends to one chain; subjects are pseudonyms of the EID concerned, also
 * when the change unlinks it; no record holds the EID. */
static void test_chain_and_subjects(void **state)
{
    (void)state;
    const char *path = db_path("chain.db");
    struct rsp_store *st = open_store(path);
    struct rsp_pseudonym_key pk = test_key();
    rsp_store_set_pseudonym_key(st, &pk);
    char want[RSP_AUDIT_SUBJECT_MAX + 1];
    rsp_store_subject(st, RSP_PSEUDONYM_EID, EID, want);
    assert_int_equal(strncmp(want, "p:", 2), 0);

    struct rsp_profile p, n;
    mkprofile(&p, "8944000000000000001");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    assert_int_equal(rsp_store_profile_get(st, p.iccid, &p), 0);
    n = p;
    n.state = RSP_PROFILE_LINKED;
    snprintf(n.eid, sizeof n.eid, EID);
    assert_int_equal(rsp_store_profile_update(st, &p, &n, "op1", "ES2+.DownloadOrder"), 0);
    p = n;
    n.state = RSP_PROFILE_AVAILABLE; /* CancelOrder unlinks */
    n.eid[0] = 0;
    assert_int_equal(rsp_store_profile_update(st, &p, &n, "op1", "ES2+.CancelOrder"), 0);
    struct rsp_audit_entry e;
    rsp_audit_entry_set(&e, "es9p", "-", "", "Failed", "es9p", "",
                        "initiateAuthentication 8.8/3.10");
    assert_int_equal(rsp_store_audit_append(st, &e), 0);
    assert_int_equal(e.seq, 4);

    struct rsp_audit_entry a[8];
    size_t na;
    assert_int_equal(rsp_store_audit_list(st, p.iccid, a, 8, &na), 0);
    assert_int_equal(na, 3);
    assert_string_equal(a[0].subject, "");
    assert_string_equal(a[1].subject, want); /* linked */
    assert_string_equal(a[2].subject, want); /* unlinked: the EID it had */
    assert_int_equal(a[1].seq, 2);
    assert_memory_equal(a[1].prev, a[0].hash, 32);

    /* without a pseudonym key: no subject at all */
    rsp_store_set_pseudonym_key(st, NULL);
    p = n;
    n.state = RSP_PROFILE_LINKED;
    snprintf(n.eid, sizeof n.eid, EID);
    assert_int_equal(rsp_store_profile_update(st, &p, &n, "op1", "x"), 0);
    assert_int_equal(rsp_store_audit_list(st, p.iccid, a, 8, &na), 0);
    assert_string_equal(a[na - 1].subject, "");

    struct rsp_audit_head h;
    assert_int_equal(rsp_store_audit_head(st, &h), 0);
    assert_int_equal(h.seq, 5);
    assert_memory_equal(h.hash, a[na - 1].hash, 32);
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.records, 5);
    rsp_store_close(st);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM audit WHERE entity||key||from_state"
                                   "||to_state||actor||subject||reason LIKE '%8904903212%'"),
                     0);
}

/* Four processes append 150 records each (one also signs checkpoints) on one database: one
 * gap-free chain of 600 that verifies, checkpoints included. */
#define PROCS    4
#define PER_PROC 150

static void append_child(const char *path, int id, const char *key_pem)
{
    struct rsp_store *st = NULL;
    struct rsp_key *k = NULL;
    if (rsp_store_open_url(path, &st, NULL, 0) != 0)
        _exit(2);
    if (key_pem && rsp_key_from_private((const uint8_t *)key_pem, strlen(key_pem), &k) != 0)
        _exit(3);
    for (int i = 0; i < PER_PROC; i++) {
        char key[32], reason[64];
        snprintf(key, sizeof key, "proc%d", id);
        snprintf(reason, sizeof reason, "append %d", i);
        struct rsp_audit_entry e;
        rsp_audit_entry_set(&e, "es9p", key, "", "Executed-Success", "t", "", reason);
        int rc;
        while ((rc = rsp_store_audit_append(st, &e)) == RSP_ESTATE) /* busy beyond the timeout */
            ;
        if (rc)
            _exit(4);
        struct rsp_audit_checkpoint cp;
        if (k && i % 10 == 9 && rsp_store_audit_checkpoint(st, k, (int64_t)time(NULL), &cp) < 0)
            _exit(5);
    }
    rsp_key_free(k);
    rsp_store_close(st);
    _exit(0);
}

static void test_concurrent_appends(void **state)
{
    (void)state;
    const char *path = db_path("concurrent.db");
    rsp_store_close(open_store(path)); /* schema first */
    struct rsp_key *k = NULL;
    struct rsp_buf pem = RSP_BUF_INIT;
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &k), 0);
    assert_int_equal(rsp_key_export_private_pem(k, &pem), 0);
    assert_int_equal(rsp_buf_append_byte(&pem, 0), 0);
    pid_t pids[PROCS];
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            append_child(path, i, i == 0 ? (const char *)pem.data : NULL);
    }
    for (int i = 0; i < PROCS; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    rsp_buf_free_secure(&pem);
    struct rsp_store *st = open_store(path);
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, k, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.records, PROCS * PER_PROC);
    assert_int_equal(r.first_seq, 1);
    assert_int_equal(r.last_seq, PROCS * PER_PROC);
    assert_int_equal(r.checkpoints, PER_PROC / 10);
    assert_int_equal(r.checkpoints_ok, r.checkpoints);
    assert_int_equal(sql_int(path, "SELECT count(DISTINCT seq) FROM audit"), PROCS * PER_PROC);
    rsp_store_close(st);
    rsp_key_free(k);
}

/* A crash between the record and the head: the transaction is gone as a whole. */
static void die_hook(const char *point)
{
    if (strcmp(point, "audit:after_record") == 0)
        abort();
}

/* In a forked child: the store at path with die_hook, no core file on the abort. */
static struct rsp_store *child_store(const char *path)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGABRT, SIG_DFL);
    struct rsp_store *st;
    if (rsp_store_open_url(path, &st, NULL, 0) != 0)
        _exit(2);
    rsp_store_set_fault_hook(st, die_hook);
    return st;
}

static void test_crash_between_record_and_head(void **state)
{
    (void)state;
    const char *path = db_path("crash.db");
    struct rsp_store *st = open_store(path);
    struct rsp_profile p;
    mkprofile(&p, "8944000000000000002");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "t"), 0);
    rsp_store_close(st);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        st = child_store(path);
        rsp_store_profile_transition(st, p.iccid, RSP_PROFILE_AVAILABLE, RSP_PROFILE_UNAVAILABLE,
                                     "child", "crash");
        _exit(3);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    st = open_store(path);
    assert_int_equal(rsp_store_profile_get(st, p.iccid, &p), 0);
    assert_int_equal(p.state, RSP_PROFILE_AVAILABLE);
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.records, 1);
    /* and the chain goes on */
    assert_int_equal(rsp_store_profile_transition(st, p.iccid, RSP_PROFILE_AVAILABLE,
                                                  RSP_PROFILE_UNAVAILABLE, "t", "retired"),
                     0);
    r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.last_seq, 2);
    rsp_store_close(st);

    /* the same inside a protocol call (one transaction per call): the crash comes while the
     * call's records are written at its end (PostgreSQL appends them just before the COMMIT);
     * none of the call's changes remains */
    st = open_store(path);
    struct rsp_profile p2;
    mkprofile(&p2, "8944000000000000003");
    assert_int_equal(rsp_store_profile_insert(st, &p2, NULL, 0, "t"), 0);
    rsp_store_close(st);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        st = child_store(path);
        if (rsp_store_call_begin(st) != 0)
            _exit(4);
        rsp_store_profile_transition(st, p2.iccid, RSP_PROFILE_AVAILABLE, RSP_PROFILE_UNAVAILABLE,
                                     "child", "crash in a call");
        rsp_store_call_end(st, true);
        _exit(3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    st = open_store(path);
    assert_int_equal(rsp_store_profile_get(st, p2.iccid, &p2), 0);
    assert_int_equal(p2.state, RSP_PROFILE_AVAILABLE);
    r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.last_seq, 3);
    rsp_store_close(st);
}

/* A schema-3 database (rows without seq or hashes) is chained in row order by the upgrade. */
static void test_upgrade_chains_old_rows(void **state)
{
    (void)state;
    const char *path = db_path("v3.db");
    struct rsp_store *st = open_store(path);
    struct rsp_profile p;
    for (int i = 0; i < 5; i++) {
        char iccid[21];
        snprintf(iccid, sizeof iccid, "89440000000000001%02d", i);
        mkprofile(&p, iccid);
        assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "old"), 0);
    }
    int latest = rsp_store_schema_version(st);
    rsp_store_close(st);
    /* back to what schema 3 had */
    sql(path, "DROP INDEX audit_seq; ALTER TABLE audit DROP COLUMN seq;"
              "ALTER TABLE audit DROP COLUMN subject; ALTER TABLE audit DROP COLUMN prev_hash;"
              "ALTER TABLE audit DROP COLUMN hash; DROP TABLE audit_head;"
              "DROP TABLE audit_checkpoints; DROP TABLE audit_exports;" RSP_STORE_ACT_TABLES_DROP
                  RSP_STORE_TELE_TABLES_DROP "DELETE FROM schema_version WHERE version >= 4");
    sql(path, use_pg ? "UPDATE audit SET reason = 'legacy' || chr(9) || 'tab' WHERE id = 3"
                     : "UPDATE audit SET reason = 'legacy' || char(9) || 'tab' WHERE id = 3");
    st = open_store(path);
    assert_int_equal(rsp_store_schema_version(st), latest);
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.records, 5);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM audit WHERE seq <> id"), 0);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM audit WHERE reason = 'legacy?tab'"), 1);
    /* new records continue the chain */
    mkprofile(&p, "8944000000000000199");
    assert_int_equal(rsp_store_profile_insert(st, &p, NULL, 0, "new"), 0);
    r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.last_seq, 6);
    rsp_store_close(st);
}

static bool has(const struct findings *fs, enum rsp_audit_problem p, int64_t seq)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->f[i].problem == p && fs->f[i].seq == seq)
            return true;
    return false;
}

static void append_n(struct rsp_store *st, int n)
{
    for (int i = 0; i < n; i++) {
        struct rsp_audit_entry e;
        char reason[32];
        snprintf(reason, sizeof reason, "record %d", i);
        rsp_audit_entry_set(&e, "config", "test", "", "Changed", "t", "", reason);
        assert_int_equal(rsp_store_audit_append(st, &e), 0);
    }
}

/* Rows planted next to the chain: without a seq, inside the pruned range, beyond the head. */
static void test_rows_outside_the_chain(void **state)
{
    (void)state;
    const char *path = db_path("planted.db");
    struct rsp_store *st = open_store(path);
    append_n(st, 5);
    rsp_store_close(st);
    sql(path, "INSERT INTO audit (seq, at, entity, key, from_state, to_state, actor, subject,"
              " reason, prev_hash, hash) SELECT 9, at, entity, key, from_state, to_state, actor,"
              " subject, reason, hash, hash FROM audit WHERE seq = 5");
    st = open_store(path);
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, NULL, &fs);
    assert_true(r.findings >= 1);
    assert_true(has(&fs, RSP_AUDIT_HEAD, 9));
    /* the next append cannot take seq 9... the planted row blocks the chain at 9 only */
    rsp_store_close(st);
    sql(path, "DELETE FROM audit WHERE seq = 9;"
              "INSERT INTO audit (entity, key, from_state, to_state, actor, reason, at)"
              " VALUES ('profile', 'x', '', 'Available', 'intruder', 'no seq', 0)");
    st = open_store(path);
    r = verify(st, NULL, &fs);
    assert_int_equal(r.findings, 1);
    assert_true(has(&fs, RSP_AUDIT_OUT_OF_RANGE, 0));
    rsp_store_close(st);
}

static int count_cp(void *arg, const struct rsp_audit_checkpoint *cp)
{
    (void)cp;
    (*(int *)arg)++;
    return 0;
}

static void test_checkpoint_export_prune(void **state)
{
    (void)state;
    const char *path = db_path("prune.db");
    struct rsp_store *st = open_store(path);
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &k), 0);
    struct rsp_audit_checkpoint cp;
    assert_int_equal(rsp_store_audit_checkpoint(st, k, 1000, &cp), 1); /* empty chain */
    append_n(st, 10);
    assert_int_equal(rsp_store_audit_checkpoint(st, k, 1000, &cp), 0);
    assert_int_equal(cp.seq, 10);
    assert_int_equal(rsp_store_audit_checkpoint(st, k, 1001, &cp), 1); /* already */
    /* a checkpoint that does not match its record is refused */
    struct rsp_audit_checkpoint bad = cp;
    bad.seq = 9;
    assert_int_equal(rsp_store_audit_checkpoint_add(st, &bad), RSP_ESTATE);
    bad.seq = 11;
    assert_int_equal(rsp_store_audit_checkpoint_add(st, &bad), RSP_ESTATE);
    append_n(st, 10);
    assert_int_equal(rsp_store_audit_checkpoint(st, k, 1002, &cp), 0);
    assert_int_equal(cp.seq, 20);

    int64_t n;
    const char *why;
    uint8_t digest[32] = {1};
    assert_int_equal(rsp_store_audit_prune(st, 10, "t", &n, &why), RSP_ESTATE);
    assert_non_null(strstr(why, "exported"));
    assert_int_equal(rsp_store_audit_export_mark(st, 1, 99, digest, "t"), RSP_EINVAL);
    assert_int_equal(rsp_store_audit_export_mark(st, 1, 5, digest, "t"), 0);
    assert_int_equal(rsp_store_audit_prune(st, 10, "t", &n, &why), RSP_ESTATE); /* 6..10 not */
    assert_int_equal(rsp_store_audit_export_mark(st, 6, 10, digest, "t"), 0);
    assert_int_equal(rsp_store_audit_prune(st, 9, "t", &n, &why), RSP_ESTATE);
    assert_non_null(strstr(why, "checkpoint"));
    assert_int_equal(rsp_store_audit_prune(st, 99, "t", &n, &why), RSP_ESTATE);
    assert_int_equal(rsp_store_audit_prune(st, 10, "t", &n, &why), 0);
    assert_int_equal(n, 10);

    struct rsp_audit_head h;
    assert_int_equal(rsp_store_audit_head(st, &h), 0);
    assert_int_equal(h.base_seq, 10);
    assert_int_equal(h.seq, 23); /* two export records and the prune record */
    struct rsp_audit_entry last;
    assert_int_equal(rsp_store_audit_last(st, "audit-prune", "10", &last), 0);
    assert_int_equal(last.seq, 23);
    int ncp = 0;
    assert_int_equal(rsp_store_audit_checkpoints(st, count_cp, &ncp), 0);
    assert_int_equal(ncp, 2); /* the anchor at 10 and the one at 20 */
    struct findings fs;
    struct rsp_audit_verify_result r = verify(st, k, &fs);
    assert_int_equal(r.findings, 0);
    assert_int_equal(r.first_seq, 11);
    assert_int_equal(r.signed_seq, 20);
    /* pruning again below the base, or exporting pruned records, is refused */
    assert_int_equal(rsp_store_audit_prune(st, 10, "t", &n, &why), RSP_ESTATE);
    assert_int_equal(rsp_store_audit_export_mark(st, 5, 12, digest, "t"), RSP_EINVAL);
    rsp_store_close(st);

    /* the anchor checkpoint deleted: reported */
    sql(path, "DELETE FROM audit_checkpoints WHERE seq = 10");
    st = open_store(path);
    r = verify(st, k, &fs);
    assert_true(has(&fs, RSP_AUDIT_ANCHOR, 10));
    rsp_store_close(st);
    rsp_key_free(k);
}

int main(int argc, char **argv)
{
    use_pg = argc > 1 && strcmp(argv[1], "pg") == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_and_subjects),
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test(test_crash_between_record_and_head),
        cmocka_unit_test(test_upgrade_chains_old_rows),
        cmocka_unit_test(test_rows_outside_the_chain),
        cmocka_unit_test(test_checkpoint_export_prune),
    };
    return _cmocka_run_group_tests(use_pg ? "audit_store_pg" : "audit_store_sqlite", tests,
                                   sizeof tests / sizeof tests[0], NULL, NULL);
}
