/* Audit trail benchmark (docs/AUDIT.md): what the hash chain costs.
 *   - sealing a record (canonical encoding + SHA-256), CPU time;
 *   - appending a record to the SQLite store in its own transaction (chain head read, insert,
 *     head update; WAL, synchronous=NORMAL), wall time;
 *   - `rspctl audit verify` work on a live store of N records with a checkpoint every 1000,
 *     wall time;
 *   - writing and reading back an archive of the same records, wall time.
 * Prints Markdown table rows; scripts/bench.sh assembles BENCHMARKS.md.
 *   bench_audit [N]   (default 20000 records; the store lives in a temporary directory) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rsp/audit.h"
#include "rsp/audit_archive.h"
#include "rsp/err.h"
#include "rsp/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != 0) {                                                                            \
            fprintf(stderr, "bench_audit: %s failed: %s\n", #x, rsp_strerror(rc_));                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void entry(struct rsp_audit_entry *e, int i)
{
    char key[40], reason[64];
    snprintf(key, sizeof key, "89440000000000%05d", i % 100000);
    snprintf(reason, sizeof reason, "getBoundProfilePackage %d", i);
    rsp_audit_entry_set(e, "profile", key, "Released", "Downloaded", "es9p",
                        "p:abcdefghijklmnopqrstuvwx", reason);
}

struct sink {
    struct rsp_buf *out;
    struct rsp_audit_verifier *v;
};

static int to_archive(void *arg, const struct rsp_audit_entry *e)
{
    return rsp_audit_archive_record(e, ((struct sink *)arg)->out);
}

static int to_archive_cp(void *arg, const struct rsp_audit_checkpoint *cp)
{
    return rsp_audit_archive_checkpoint(cp, ((struct sink *)arg)->out);
}

static void no_finding(void *arg, const struct rsp_audit_finding *f)
{
    (void)arg;
    fprintf(stderr, "bench_audit: unexpected finding: %s\n", f->detail);
    exit(1);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    if (n < 1000)
        n = 1000;
    char dir[] = "/tmp/rspkit-bench-audit-XXXXXX", path[128];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/smdp.db", dir);

    /* sealing alone */
    struct rsp_audit_entry e;
    uint8_t prev[32] = {0};
    double t = cpu_s();
    for (int i = 0; i < n; i++) {
        entry(&e, i);
        CHECK(rsp_audit_seal(&e, i, prev));
        memcpy(prev, e.hash, 32);
    }
    double seal_us = (cpu_s() - t) / n * 1e6;

    /* appends, one transaction each, a checkpoint every 1000 */
    struct rsp_store *st = NULL;
    struct rsp_key *k = NULL;
    CHECK(rsp_store_sqlite_open(path, &st));
    CHECK(rsp_key_generate(RSP_CURVE_NIST_P256, &k));
    struct rsp_audit_checkpoint cp;
    t = now_s();
    for (int i = 0; i < n; i++) {
        entry(&e, i);
        CHECK(rsp_store_audit_append(st, &e));
        if (i % 1000 == 999)
            CHECK(rsp_store_audit_checkpoint(st, k, (int64_t)time(NULL), &cp));
    }
    double append_s = now_s() - t;

    /* verify the live store */
    const struct rsp_key *keys[1] = {k};
    struct rsp_audit_verify_result res;
    t = now_s();
    CHECK(rsp_store_audit_verify(st, keys, 1, NULL, 0, no_finding, NULL, &res));
    double verify_s = now_s() - t;
    if (res.records != (uint64_t)n || res.findings) {
        fprintf(stderr, "bench_audit: verify: %llu records, %llu findings\n",
                (unsigned long long)res.records, (unsigned long long)res.findings);
        return 1;
    }

    /* archive: write (in memory) and read back */
    struct rsp_buf a = RSP_BUF_INIT;
    struct rsp_audit_archive_info info;
    memset(&info, 0, sizeof info);
    info.first_seq = 1;
    info.last_seq = n;
    info.n_records = (uint64_t)n;
    info.n_checkpoints = (uint64_t)(n / 1000);
    CHECK(rsp_key_point(k, info.public_key));
    CHECK(rsp_audit_key_id(k, info.key_id));
    struct sink s = {&a, NULL};
    t = now_s();
    CHECK(rsp_audit_archive_begin(&info, &a));
    CHECK(rsp_store_audit_checkpoints(st, to_archive_cp, &s));
    CHECK(rsp_store_audit_walk(st, 1, n, to_archive, &s));
    double write_s = now_s() - t;
    struct rsp_audit_archive_reader *r = NULL;
    t = now_s();
    CHECK(rsp_audit_archive_reader_new(keys, 1, no_finding, NULL, &r));
    for (size_t i = 0; i < a.len;) {
        const uint8_t *nl = memchr(a.data + i, '\n', a.len - i);
        size_t len = nl ? (size_t)(nl - (a.data + i)) : a.len - i;
        CHECK(rsp_audit_archive_reader_line(r, (const char *)a.data + i, len));
        i += len + 1;
    }
    CHECK(rsp_audit_archive_reader_finish(r, &res));
    double read_s = now_s() - t;
    if (res.findings || res.records != (uint64_t)n)
        return 1;

    printf("| operation (%d records, a checkpoint every 1000) | per record | records/s |\n", n);
    printf("|---|---|---|\n");
    printf("| seal (encode + SHA-256), CPU | %.2f us | %.0f |\n", seal_us, 1e6 / seal_us);
    printf("| append to SQLite, one transaction each, wall | %.1f us | %.0f |\n",
           append_s / n * 1e6, n / append_s);
    printf("| verify the live store (checkpoint signatures included), wall | %.2f us | %.0f |\n",
           verify_s / n * 1e6, n / verify_s);
    printf("| write an archive (in memory), wall | %.2f us | %.0f |\n", write_s / n * 1e6,
           n / write_s);
    printf("| read and verify an archive, wall | %.2f us | %.0f |\n", read_s / n * 1e6, n / read_s);
    printf("\nArchive size: %.0f bytes per record.\n", (double)a.len / n);

    rsp_audit_archive_reader_free(r);
    rsp_buf_free(&a);
    rsp_key_free(k);
    rsp_store_close(st);
    char f[160];
    static const char *const parts[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s%s", path, parts[i]);
        unlink(f);
    }
    rmdir(dir);
    return 0;
}
