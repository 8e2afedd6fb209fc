/* Reconciliation benchmark: the generated data set of bench/recon_gen.c (planted discrepancies
 * of every kind), matched in memory and through a SQLite store (import, load, match).
 *   bench_recon [PROFILES]   (default 50000, about 104,000 events) */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recon_gen.h"
#include "rsp/err.h"
#include "rsp/recon.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, int rc)
{
    fprintf(stderr, "bench_recon: %s: %s\n", what, rsp_strerror(rc));
    return 1;
}

static int match_all(const struct recon_gen *g, struct rsp_recon *r, size_t *nf)
{
    for (size_t i = 0; i < g->nev; i++) {
        int rc = rsp_recon_add_event(r, &g->ev[i]);
        if (rc)
            return rc;
    }
    struct rsp_recon_finding *f;
    size_t counts[RSP_DISC_NKINDS];
    int rc = rsp_recon_findings(r, &g->prm, &f, nf, counts);
    if (rc == 0)
        free(f);
    return rc;
}

int main(int argc, char **argv)
{
    size_t np = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 50000;
    struct recon_gen g;
    int64_t now = (int64_t)time(NULL);
    double t0 = now_s();
    int rc = recon_gen_make(np, 1, now, &g);
    if (rc)
        return die("generate", rc);
    double t1 = now_s();
    struct rsp_recon *r;
    size_t nf = 0;
    rc = rsp_recon_new(g.p, g.np, &r);
    if (rc == 0)
        rc = match_all(&g, r, &nf);
    rsp_recon_free(r);
    if (rc)
        return die("match", rc);
    double t2 = now_s();
    if (nf != g.nexpect) {
        fprintf(stderr, "bench_recon: %zu findings, %zu planted\n", nf, g.nexpect);
        return 1;
    }
    /* through a SQLite store: profiles written straight (setup), events through the store */
    char dir[] = "/tmp/bench_recon.XXXXXX";
    if (!mkdtemp(dir))
        return die("mkdtemp", RSP_EIO);
    char path[64];
    snprintf(path, sizeof path, "%s/recon.db", dir);
    struct rsp_store *st;
    rc = rsp_store_sqlite_open(path, &st);
    if (rc)
        return die("open", rc);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return die("sqlite3_open", RSP_EIO);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db,
                       "INSERT INTO profiles (iccid, imsi, state, state_since, created_at, eid)"
                       " VALUES (?,?,?,?,?,?)",
                       -1, &q, NULL);
    for (size_t i = 0; i < g.np; i++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, g.p[i].iccid, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, g.p[i].imsi, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, rsp_profile_state_name(g.p[i].state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, g.p[i].state_since);
        sqlite3_bind_int64(q, 5, g.p[i].state_since);
        sqlite3_bind_text(q, 6, g.p[i].eid, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE)
            return die("insert profile", RSP_EIO);
    }
    sqlite3_finalize(q);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    double t3 = now_s();
    for (size_t i = 0; i < g.nev && rc == 0; i += 5000) {
        size_t n = g.nev - i < 5000 ? g.nev - i : 5000;
        rc = rsp_store_recon_import(st, g.ev + i, n, "bench", NULL);
    }
    if (rc)
        return die("import", rc);
    double t4 = now_s();
    rc = rsp_recon_load(st, &r);
    if (rc)
        return die("load", rc);
    struct rsp_recon_finding *f;
    size_t counts[RSP_DISC_NKINDS], n2;
    /* no order tariffs in this store (rsp_recon_orders): tariff mismatches are not counted */
    rc = rsp_recon_findings(r, &g.prm, &f, &n2, counts);
    if (rc)
        return die("findings", rc);
    double t5 = now_s();
    free(f);
    rsp_recon_free(r);
    rsp_store_close(st);
    size_t want = g.nexpect - g.counts[RSP_DISC_TARIFF_MISMATCH];
    if (n2 != want) {
        fprintf(stderr, "bench_recon: store path: %zu findings, %zu expected\n", n2, want);
        return 1;
    }
    printf("| step | %zu profiles, %zu events, %zu planted discrepancies | seconds |\n", g.np,
           g.nev, g.nexpect);
    printf("|---|---|---|\n");
    printf("| generate | in memory | %.3f |\n", t1 - t0);
    printf("| match in memory | rsp_recon_new + add_event + findings | %.3f |\n", t2 - t1);
    printf("| import into SQLite | rsp_store_recon_import, batches of 5000 | %.3f |\n", t4 - t3);
    printf("| load + match from SQLite | rsp_recon_load + findings | %.3f |\n", t5 - t4);
    unlink(path);
    char wal[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
    return 0;
}
