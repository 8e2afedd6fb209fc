/* rsp-loadgen: load generator for rsp-smdp (issue 8: proof at scale).
 *
 *   loadgen inventory --db STORE --operator-key K.pem --operator ID --profile-type T --count N
 *                     [--iccid-base 18DIGITS] [--imsi-base 13DIGITS] [--batch B] [--threads T]
 *                     [--manifests profile|batch]
 *       Generates N test profiles with operator-signed manifests in memory, then verifies
 *       (rsp_inventory_prepare on T threads) and imports them batch by batch (each batch one
 *       transaction, as `rspctl profiles import` does for its input; batch k is stored while
 *       batch k+1 is verified) and reports generation and import times separately.
 *       --manifests batch: one operator-signed batch manifest per batch of B profiles
 *       (docs/MANIFEST.md) instead of one manifest per profile: one ECDSA verification per batch,
 *       then rsp_inventory_prepare_batch per package (digest, ICCID, IMSI).
 *   loadgen orders --smdp HOST:PORT --ca CI.pem --token TOKEN --operator ID --profile-type T
 *                  --count N -o CODES [--threads T]
 *       ES2+ DownloadOrder + ConfirmOrder(releaseFlag) per profile over HTTPS keep-alive; writes
 *       one matchingId per line.
 *   loadgen run --smdp HOST:PORT [--smdp HOST:PORT ...] --ca CI.pem --pki DIR --codes CODES
 *               [--mode download|open] [--threads T] [--count N] [--rate R] [--pid PID ...]
 *               [--floor-iters N] [--json FILE] [--hold S] [--warmup on|off]
 *       download: complete downloads (initiateAuthentication, AuthenticateServer,
 *       authenticateClient, PrepareDownload, getBoundProfilePackage, LoadBoundProfilePackage into
 *       an in-process software eUICC, handleNotification with the PIR), T device threads, each with
 *       its own eUICC and its own keep-alive HTTPS connection per server; the servers are used in
 *       turn. --rate R: open-loop arrivals at R downloads/s (latency then includes no queueing in
 *       the generator as long as T threads suffice; late starts are counted). --warmup on (the
 *       default): every device thread opens its connections (TCP, TLS handshake) with one refused
 *       request before the clock, the server CPU and the RSS baseline start, so the run measures
 *       keep-alive traffic only; off: the first call of each thread includes its handshake.
 *       open: each matchingId gets a session that stops after authenticateClient and is left open
 *       at the SM-DP+ (the device side is not kept: see BENCHMARKS.md).
 *       Reports downloads/s, p50/p95/p99 per ES9+ function (client-side: request sent to answer
 *       decoded), errors by kind, the server processes' CPU time (utime+stime from
 *       /proc/PID/stat, before/after) per download and their RSS, next to the crypto floor
 *       (3 ECDSA signs + 5 verifies + 1 key generation + 1 ECDH on P-256) measured in this run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/es9p_client.h"
#include "rsp/euicc.h"
#include "rsp/lpa.h"
#include "rsp/manifest.h"
#include "rsp/saip.h"
#include "rsp/store.h"

#define MAX_SERVERS 8
#define MAX_PIDS    8
#define MAX_THREADS 256

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "loadgen: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static int read_file(const char *path, struct rsp_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return RSP_EIO;
    char tmp[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = rsp_buf_append(out, tmp, n);
    if (ferror(f))
        rc = RSP_EIO;
    fclose(f);
    return rc;
}

/* ---- latency samples ---- */

struct samples {
    double *v;
    size_t n, cap;
};

static void sample_add(struct samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        double *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            die("%s", "out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

static void sample_merge(struct samples *into, const struct samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        sample_add(into, from->v[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in milliseconds. */
static double pct(const struct samples *s, double p)
{
    if (s->n == 0)
        return 0;
    size_t k = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    return s->v[k - 1] * 1e3;
}

/* ---- crypto floor (as bench/bench_crypto.c, P-256) ---- */

static double crypto_floor_us(int iters, double parts[4])
{
    struct rsp_key *k = NULL, *peer = NULL;
    uint8_t msg[200], sig[RSP_ECDSA_SIG_LEN], pt[RSP_EC_POINT_LEN], z[RSP_ECKA_Z_LEN];
    memset(msg, 0x5a, sizeof msg);
    if (rsp_key_generate(RSP_CURVE_NIST_P256, &k) || rsp_key_generate(RSP_CURVE_NIST_P256, &peer) ||
        rsp_key_point(peer, pt))
        die("%s", "crypto floor: key generation failed");
    int bad = 0;
    double t = cpu_s();
    for (int i = 0; i < iters; i++)
        bad |= rsp_ecdsa_sign(k, msg, sizeof msg, sig);
    parts[0] = (cpu_s() - t) / iters * 1e6;
    t = cpu_s();
    for (int i = 0; i < iters; i++)
        bad |= rsp_ecdsa_verify(k, msg, sizeof msg, sig, sizeof sig);
    parts[1] = (cpu_s() - t) / iters * 1e6;
    t = cpu_s();
    for (int i = 0; i < iters; i++) {
        struct rsp_key *e = NULL;
        bad |= rsp_key_generate(RSP_CURVE_NIST_P256, &e);
        rsp_key_free(e);
    }
    parts[2] = (cpu_s() - t) / iters * 1e6;
    t = cpu_s();
    for (int i = 0; i < iters; i++)
        bad |= rsp_ecka(k, pt, sizeof pt, z);
    parts[3] = (cpu_s() - t) / iters * 1e6;
    rsp_key_free(k);
    rsp_key_free(peer);
    if (bad)
        die("%s", "crypto floor: an operation failed");
    return 3 * parts[0] + 5 * parts[1] + parts[2] + parts[3];
}

/* ---- /proc of the server processes ---- */

/* utime + stime of a process and all its threads, in seconds; -1 if unreadable. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS in KiB; -1 if unreadable. */
static long proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- inventory ---- */

struct inv_job {
    struct rsp_store_import_item *items;
    struct rsp_buf *pkgs, *mans;
    char (*reasons)[320];
    size_t from, to;
    const struct rsp_key *pub;
    const char *op;
    const struct rsp_manifest_batch *batch; /* --manifests batch: the verified batch */
    int rc;
    double cpu_s; /* this thread's CPU time */
};

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *inv_prepare_thread(void *arg)
{
    struct inv_job *j = arg;
    double c0 = thread_cpu();
    for (size_t i = j->from; i < j->to && j->rc == 0; i++) {
        char label[32];
        snprintf(label, sizeof label, "item %zu", i);
        int e = j->batch ? rsp_inventory_prepare_batch(j->pkgs[i].data, j->pkgs[i].len, j->batch,
                                                       label, &j->items[i], &j->mans[i],
                                                       j->reasons[i], sizeof j->reasons[i])
                         : rsp_inventory_prepare(j->pkgs[i].data, j->pkgs[i].len, j->mans[i].data,
                                                 j->mans[i].len, j->pub, j->op, label, &j->items[i],
                                                 j->reasons[i], sizeof j->reasons[i]);
        if (e)
            j->rc = e;
    }
    j->cpu_s = thread_cpu() - c0;
    return NULL;
}

/* One batch of generated profiles and their import items. */
struct inv_batch {
    size_t n;
    struct rsp_buf *pkgs, *mans;
    struct rsp_store_import_item *items;
    char (*reasons)[320];
    struct inv_job jobs[64];
    pthread_t th[64];
    long threads;
    /* --manifests batch: the entries, the signed batch manifest (in the role of the operator's
     * file), its decoded form, and the thread that decodes and verifies it, then runs the jobs */
    struct rsp_manifest *ents;
    struct rsp_buf bman;
    struct rsp_manifest_batch dec;
    pthread_t coord;
    const struct rsp_key *pub;
    const char *op;
    int coord_rc;
    double coord_cpu;
};

struct inv_gen {
    const char *iccid_base, *imsi_base, *ptype, *op;
    const struct rsp_key *key, *pub;
    bool batch; /* one signed batch manifest per batch instead of one manifest per profile */
};

static void inv_batch_alloc(struct inv_batch *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->pkgs = calloc(cap, sizeof *b->pkgs);
    b->mans = calloc(cap, sizeof *b->mans);
    b->items = calloc(cap, sizeof *b->items);
    b->reasons = calloc(cap, sizeof *b->reasons);
    b->ents = calloc(cap, sizeof *b->ents);
    if (!b->pkgs || !b->mans || !b->items || !b->reasons || !b->ents)
        die("%s", "out of memory");
}

static void inv_batch_free(struct inv_batch *b, size_t cap)
{
    for (size_t i = 0; i < cap; i++) {
        rsp_buf_free(&b->pkgs[i]);
        rsp_buf_free(&b->mans[i]);
    }
    free(b->pkgs);
    free(b->mans);
    free(b->items);
    free(b->reasons);
    free(b->ents);
    rsp_buf_free(&b->bman);
    rsp_manifest_batch_free(&b->dec);
}

/* Profiles first .. first+n-1: ICCID = base (the last 12 of its 18 digits replaced by the counter)
 * + Luhn digit; IMSI = base with its last 9 digits replaced by the counter. */
static void inv_generate(const struct inv_gen *g, struct inv_batch *b, long first, size_t n)
{
    unsigned long long base = strtoull(g->iccid_base + 6, NULL, 10);
    size_t imsi_len = strlen(g->imsi_base);
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        unsigned long long k = base + (unsigned long long)(first + (long)i);
        char iccid[40], imsi[48], tail[24];
        snprintf(iccid, sizeof iccid, "%.6s%012llu", g->iccid_base, k % 1000000000000ULL);
        int sum = 0;
        for (int d = 17, dbl = 1; d >= 0; d--, dbl = !dbl) {
            int x = iccid[d] - '0';
            if (dbl && (x *= 2) > 9)
                x -= 9;
            sum += x;
        }
        iccid[18] = (char)('0' + (10 - sum % 10) % 10);
        iccid[19] = 0;
        snprintf(tail, sizeof tail, "%09llu", k % 1000000000ULL);
        snprintf(imsi, sizeof imsi, "%.*s%s", (int)(imsi_len - (imsi_len > 9 ? 9 : imsi_len)),
                 g->imsi_base, tail + (imsi_len > 9 ? 0 : 9 - imsi_len));
        struct rsp_saip_gen_params gp;
        memset(&gp, 0, sizeof gp);
        gp.iccid = iccid;
        gp.imsi = imsi;
        gp.spn = "loadgen";
        gp.profile_type = g->ptype;
        memset(gp.ki, 0x11, sizeof gp.ki); /* test profiles: fixed test K/OPc */
        memset(gp.opc, 0x22, sizeof gp.opc);
        rsp_buf_reset(&b->pkgs[i]);
        rsp_buf_reset(&b->mans[i]);
        struct rsp_manifest m;
        if (rsp_saip_generate(&gp, &b->pkgs[i]) ||
            rsp_manifest_from_package(b->pkgs[i].data, b->pkgs[i].len, &m))
            die("cannot generate profile %s", iccid);
        snprintf(m.operator_id, sizeof m.operator_id, "%s", g->op);
        snprintf(m.profile_type, sizeof m.profile_type, "%s", g->ptype);
        snprintf(m.name, sizeof m.name, "%s %s", g->ptype, iccid + 10);
        m.pclass = RSP_PROFILE_CLASS_OPERATIONAL;
        if (g->batch)
            b->ents[i] = m;
        else if (rsp_manifest_sign(&m, g->key) || rsp_manifest_encode(&m, &b->mans[i]))
            die("cannot sign the manifest of %s", iccid);
    }
    rsp_buf_reset(&b->bman);
    if (g->batch &&
        rsp_manifest_batch_sign(b->ents, n, g->op, (int64_t)time(NULL), g->key, &b->bman))
        die("cannot sign the batch manifest of profiles %ld..%ld", first, first + (long)n - 1);
}

static void inv_jobs_start(struct inv_batch *b)
{
    for (long t = 0; t < b->threads; t++)
        if (pthread_create(&b->th[t], NULL, inv_prepare_thread, &b->jobs[t]))
            die("%s", "pthread_create failed");
}

/* --manifests batch: decodes and verifies the batch manifest, then runs the per-package jobs. */
static void *inv_batch_thread(void *arg)
{
    struct inv_batch *b = arg;
    double c0 = thread_cpu();
    struct rsp_manifest_refusal why;
    rsp_manifest_batch_free(&b->dec);
    b->coord_rc = rsp_manifest_batch_decode(b->bman.data, b->bman.len, &b->dec);
    if (b->coord_rc == 0)
        b->coord_rc = rsp_manifest_batch_verify(&b->dec, b->pub, b->op, &why);
    b->coord_cpu = thread_cpu() - c0;
    if (b->coord_rc)
        return NULL;
    for (long t = 0; t < b->threads; t++)
        b->jobs[t].batch = &b->dec;
    inv_jobs_start(b);
    for (long t = 0; t < b->threads; t++)
        pthread_join(b->th[t], NULL);
    return NULL;
}

/* Starts verifying a batch on its threads (rsp_inventory_prepare, as rspctl profiles import;
 * with --manifests batch, first the batch manifest, then rsp_inventory_prepare_batch). */
static void inv_verify_start(const struct inv_gen *g, struct inv_batch *b, long threads)
{
    memset(b->items, 0, b->n * sizeof *b->items);
    size_t per = (b->n + (size_t)threads - 1) / (size_t)threads;
    b->threads = threads;
    for (long t = 0; t < threads; t++) {
        size_t from = (size_t)t * per < b->n ? (size_t)t * per : b->n;
        size_t to = (size_t)(t + 1) * per < b->n ? (size_t)(t + 1) * per : b->n;
        b->jobs[t] = (struct inv_job){.items = b->items,
                                      .pkgs = b->pkgs,
                                      .mans = b->mans,
                                      .reasons = b->reasons,
                                      .from = from,
                                      .to = to,
                                      .pub = g->pub,
                                      .op = g->op};
    }
    b->pub = g->pub;
    b->op = g->op;
    b->coord_rc = 0;
    b->coord_cpu = 0;
    if (!g->batch)
        inv_jobs_start(b);
    else if (pthread_create(&b->coord, NULL, inv_batch_thread, b))
        die("%s", "pthread_create failed");
}

/* Joins the verification threads; returns their CPU time. */
static double inv_verify_join(const struct inv_gen *g, struct inv_batch *b)
{
    double cpu = 0;
    if (g->batch) {
        pthread_join(b->coord, NULL);
        if (b->coord_rc)
            die("batch manifest refused: %s", rsp_strerror(b->coord_rc));
        cpu += b->coord_cpu;
    }
    for (long t = 0; t < b->threads; t++) {
        if (!g->batch)
            pthread_join(b->th[t], NULL);
        if (b->jobs[t].rc)
            die("verification failed: %s", rsp_strerror(b->jobs[t].rc));
        cpu += b->jobs[t].cpu_s;
    }
    b->threads = 0;
    return cpu;
}

static int cmd_inventory(int argc, char **argv)
{
    const char *db = NULL, *keyp = NULL;
    struct inv_gen g = {
        .ptype = "loadgen", .iccid_base = "894400000000000000", .imsi_base = "0010100000000"};
    long count = 0, batch = 10000, threads = 2;
    for (int i = 2; i < argc; i += 2) { /* OPTION VALUE pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        if (!strcmp(a, "--db"))
            db = v;
        else if (!strcmp(a, "--operator-key"))
            keyp = v;
        else if (!strcmp(a, "--operator"))
            g.op = v;
        else if (!strcmp(a, "--profile-type"))
            g.ptype = v;
        else if (!strcmp(a, "--count"))
            count = atol(v);
        else if (!strcmp(a, "--batch"))
            batch = atol(v);
        else if (!strcmp(a, "--threads"))
            threads = atol(v);
        else if (!strcmp(a, "--iccid-base"))
            g.iccid_base = v;
        else if (!strcmp(a, "--imsi-base"))
            g.imsi_base = v;
        else if (!strcmp(a, "--manifests") && (!strcmp(v, "batch") || !strcmp(v, "profile")))
            g.batch = !strcmp(v, "batch");
        else
            die("unknown option %s", a);
    }
    if (!db || !keyp || !g.op || count <= 0 || batch <= 0 || threads < 1 || threads > 64 ||
        strlen(g.iccid_base) != 18 || strlen(g.imsi_base) < 6 || strlen(g.imsi_base) > 15)
        die("%s", "usage: loadgen inventory --db STORE --operator-key K.pem --operator ID "
                  "--count N [--profile-type T] [--batch B] [--threads T] [--iccid-base 18 "
                  "digits] [--imsi-base 6-15 digits] [--manifests profile|batch]");
    struct rsp_buf kb = RSP_BUF_INIT;
    struct rsp_key *key = NULL, *pub = NULL;
    uint8_t pt[RSP_EC_POINT_LEN];
    if (read_file(keyp, &kb) || rsp_key_from_private(kb.data, kb.len, &key) ||
        rsp_key_point(key, pt) || rsp_key_from_point(rsp_key_curve(key), pt, sizeof pt, &pub))
        die("%s: not an EC private key", keyp);
    rsp_buf_free_secure(&kb);
    g.key = key;
    g.pub = pub;
    struct rsp_store *st = NULL;
    char why[256];
    if (rsp_store_open_url(db, &st, why, sizeof why))
        die("cannot open the store: %s", why);
    /* Two batches: while the store takes batch k (this thread, one transaction), the threads
     * verify batch k+1. Generation is timed apart and never overlaps the import. */
    struct inv_batch bb[2];
    inv_batch_alloc(&bb[0], (size_t)batch);
    inv_batch_alloc(&bb[1], (size_t)batch);
    double gen_s = 0, verify_s = 0, store_s = 0, import_s = 0, verify_cpu = 0, store_cpu = 0;
    long generated = 0, imported = 0, refused = 0;
    double t0 = mono();
    size_t n0 = (size_t)(count < batch ? count : batch);
    inv_generate(&g, &bb[0], 0, n0);
    generated = (long)n0;
    double t1 = mono();
    gen_s += t1 - t0;
    inv_verify_start(&g, &bb[0], threads);
    verify_cpu += inv_verify_join(&g, &bb[0]);
    double t2 = mono();
    verify_s += t2 - t1;
    import_s += t2 - t1;
    for (int cur = 0; bb[cur].n > 0; cur ^= 1) {
        struct inv_batch *b = &bb[cur], *nx = &bb[cur ^ 1];
        nx->n = 0;
        if (generated < count) {
            size_t n = (size_t)(count - generated < batch ? count - generated : batch);
            double ta = mono();
            inv_generate(&g, nx, generated, n);
            generated += (long)n;
            gen_s += mono() - ta;
        }
        double ta = mono();
        if (nx->n)
            inv_verify_start(&g, nx, threads);
        double ca = thread_cpu();
        int e = rsp_store_profile_import(st, b->items, b->n, "loadgen");
        if (e)
            die("import failed: %s", rsp_store_last_error(st));
        store_cpu += thread_cpu() - ca;
        double tb = mono();
        store_s += tb - ta;
        if (nx->n)
            verify_cpu += inv_verify_join(&g, nx);
        double tc = mono();
        verify_s += nx->n ? tc - ta : 0;
        import_s += tc - ta;
        for (size_t i = 0; i < b->n; i++) {
            if (b->items[i].result == 0)
                imported++;
            else if (b->items[i].result != RSP_STORE_IMPORT_PRESENT)
                refused++;
        }
        b->n = 0;
    }
    printf("{\"profiles\":%ld,\"imported\":%ld,\"refused\":%ld,\"batch\":%ld,\"threads\":%ld,"
           "\"backend\":\"%s\",\"manifests\":\"%s\",\"generate_s\":%.3f,\"verify_s\":%.3f,\"store_"
           "s\":%.3f,"
           "\"import_s\":%.3f,\"import_per_s\":%.0f,\"store_per_s\":%.0f,"
           "\"verify_cpu_us\":%.1f,\"store_cpu_us\":%.1f}\n",
           count, imported, refused, batch, threads, rsp_store_url_backend(db),
           g.batch ? "batch" : "profile", gen_s, verify_s, store_s, import_s,
           import_s > 0 ? (double)count / import_s : 0, store_s > 0 ? (double)count / store_s : 0,
           1e6 * verify_cpu / (double)count, 1e6 * store_cpu / (double)count);
    inv_batch_free(&bb[0], (size_t)batch);
    inv_batch_free(&bb[1], (size_t)batch);
    rsp_store_close(st);
    rsp_key_free(key);
    rsp_key_free(pub);
    return refused ? 1 : 0;
}

/* ---- ES2+ orders ---- */

struct orders_ctx {
    const char *url_base, *ca, *token, *op, *ptype;
    long count;
    atomic_long next, ok;
    FILE *out;
    pthread_mutex_t mu;
};

static size_t grow_cb(char *p, size_t sz, size_t n, void *ud)
{
    return rsp_buf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

static int es2_post(CURL *c, struct orders_ctx *o, const char *fn, const char *body,
                    struct rsp_buf *resp)
{
    char url[512], auth[300];
    snprintf(url, sizeof url, "%s/gsma/rsp2/es2plus/%s", o->url_base, fn);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->token);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "X-Admin-Protocol: gsma/rsp/v2.5.0");
    h = curl_slist_append(h, auth);
    rsp_buf_reset(resp);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (cc != CURLE_OK || rsp_buf_append(resp, "", 1))
        return -1;
    return 0;
}

/* The value of "key":"value" in a flat JSON answer. */
static int json_str(const struct rsp_buf *b, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr((const char *)b->data, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = 0;
    return 0;
}

static void *orders_thread(void *arg)
{
    struct orders_ctx *o = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_CAINFO, o->ca);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    struct rsp_buf resp = RSP_BUF_INIT;
    long i;
    while ((i = atomic_fetch_add(&o->next, 1)) < o->count) {
        char body[1024], iccid[32], mid[80];
        mid[0] = 0;
        snprintf(body, sizeof body,
                 "{\"header\":{\"functionRequesterIdentifier\":\"%s\",\"functionCallIdentifier\":"
                 "\"lg%ld\"},\"profileType\":\"%s\"}",
                 o->op, i, o->ptype);
        if (es2_post(c, o, "downloadOrder", body, &resp) ||
            json_str(&resp, "iccid", iccid, sizeof iccid)) {
            fprintf(stderr, "loadgen orders: downloadOrder %ld: %s\n", i,
                    resp.data ? (const char *)resp.data : "no answer");
            continue;
        }
        snprintf(body, sizeof body,
                 "{\"header\":{\"functionRequesterIdentifier\":\"%s\",\"functionCallIdentifier\":"
                 "\"lgc%ld\"},\"iccid\":\"%s\",\"releaseFlag\":true}",
                 o->op, i, iccid);
        if (es2_post(c, o, "confirmOrder", body, &resp) ||
            json_str(&resp, "matchingId", mid, sizeof mid)) {
            fprintf(stderr, "loadgen orders: confirmOrder %s: %s\n", iccid,
                    resp.data ? (const char *)resp.data : "no answer");
            continue;
        }
        pthread_mutex_lock(&o->mu);
        fprintf(o->out, "%s\n", mid);
        pthread_mutex_unlock(&o->mu);
        atomic_fetch_add(&o->ok, 1);
    }
    rsp_buf_free(&resp);
    curl_easy_cleanup(c);
    return NULL;
}

static int cmd_orders(int argc, char **argv)
{
    struct orders_ctx o = {.ptype = "loadgen"};
    const char *smdp = NULL, *outp = NULL;
    long threads = 4;
    for (int i = 2; i < argc; i += 2) { /* OPTION VALUE pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        if (!strcmp(a, "--smdp"))
            smdp = v;
        else if (!strcmp(a, "--ca"))
            o.ca = v;
        else if (!strcmp(a, "--token"))
            o.token = v;
        else if (!strcmp(a, "--operator"))
            o.op = v;
        else if (!strcmp(a, "--profile-type"))
            o.ptype = v;
        else if (!strcmp(a, "--count"))
            o.count = atol(v);
        else if (!strcmp(a, "--threads"))
            threads = atol(v);
        else if (!strcmp(a, "-o"))
            outp = v;
        else
            die("unknown option %s", a);
    }
    if (!smdp || !o.ca || !o.token || !o.op || !outp || o.count <= 0 || threads < 1 ||
        threads > MAX_THREADS)
        die("%s", "usage: loadgen orders --smdp HOST:PORT --ca CI.pem --token TOKEN --operator ID "
                  "--count N -o CODES [--profile-type T] [--threads T]");
    char base[300];
    snprintf(base, sizeof base, "https://%s", smdp);
    o.url_base = base;
    if (!(o.out = fopen(outp, "w")))
        die("cannot write %s", outp);
    pthread_mutex_init(&o.mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    double t0 = mono();
    pthread_t th[MAX_THREADS];
    for (long t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, orders_thread, &o);
    for (long t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double dt = mono() - t0;
    fclose(o.out);
    long ok = atomic_load(&o.ok);
    printf("{\"orders\":%ld,\"released\":%ld,\"seconds\":%.3f}\n", o.count, ok, dt);
    curl_global_cleanup();
    return ok == o.count ? 0 : 1;
}

/* ---- run: devices ---- */

enum fn_idx { F_IA, F_AC, F_GBPP, F_HN, F_DOWNLOAD, F_N };
static const char *const fn_names[F_N] = {"initiateAuthentication", "authenticateClient",
                                          "getBoundProfilePackage", "handleNotification",
                                          "download (whole)"};

#define MAX_ERR_KINDS 16

struct err_kind {
    char name[96];
    long n;
};

struct run_cfg {
    const char *servers[MAX_SERVERS];
    size_t n_servers;
    const char *ca, *pki;
    char **codes;
    size_t n_codes;
    bool open_mode;
    double rate; /* 0: closed loop */
    double start;
    struct rsp_euicc_pki_files files;
    atomic_long next;
    atomic_long late; /* arrivals started more than 10 ms after their scheduled time */
    bool warmup;      /* connect every device thread before the timed run (default) */
    pthread_barrier_t warmed, go;
    atomic_long warm_failed;
};

struct worker {
    struct run_cfg *cfg;
    int id;
    struct samples lat[F_N];
    struct err_kind errs[MAX_ERR_KINDS];
    size_t n_errs;
    long ok, failed;
    /* event timing of the current download */
    double t_step;
    int cur;
    bool seg_seen;
};

static void err_count(struct worker *w, const char *name)
{
    for (size_t i = 0; i < w->n_errs; i++)
        if (!strcmp(w->errs[i].name, name)) {
            w->errs[i].n++;
            return;
        }
    if (w->n_errs < MAX_ERR_KINDS) {
        snprintf(w->errs[w->n_errs].name, sizeof w->errs[w->n_errs].name, "%s", name);
        w->errs[w->n_errs++].n = 1;
    }
}

/* Step events of rsp_lpa_download: an ES9+ call lasts from its own event to the next one. */
static void on_event(void *ctx, const char *step, size_t index, size_t n)
{
    struct worker *w = ctx;
    double t = mono();
    if (w->cur >= 0 && (strcmp(step, "loadBoundProfilePackage") || !w->seg_seen)) {
        sample_add(&w->lat[w->cur], t - w->t_step);
        w->cur = -1;
    }
    if (!strcmp(step, "loadBoundProfilePackage"))
        w->seg_seen = true;
    int f = !strcmp(step, "initiateAuthentication")   ? F_IA
            : !strcmp(step, "authenticateClient")     ? F_AC
            : !strcmp(step, "getBoundProfilePackage") ? F_GBPP
            : !strcmp(step, "handleNotification")     ? F_HN
                                                      : -1;
    if (f >= 0) {
        w->cur = f;
        w->t_step = t;
    }
}

struct device {
    struct rsp_euicc *e;
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
    struct rsp_buf empty; /* the state of a new eUICC: restored before each download */
};

static int device_open(struct run_cfg *cfg, struct device *d)
{
    memset(d, 0, sizeof *d);
    struct rsp_euicc_config ec;
    memset(&ec, 0, sizeof ec);
    rsp_euicc_pki_files_apply(&cfg->files, &ec);
    ec.nvm_bytes = 4u << 20;
    char detail[RSP_EUICC_DETAIL_SZ] = "";
    int rc = rsp_euicc_new(&ec, &d->e, detail, sizeof detail);
    if (rc)
        die("software eUICC: %s", detail);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = d->e};
    if ((rc = rsp_apdu_card_new(&d->card, &co)) || (rc = rsp_apdu_loopback_new(&d->t, d->card)) ||
        (rc = rsp_es10_open(&d->s, d->t, NULL)) ||
        (rc = rsp_euicc_state_serialize(d->e, &d->empty)))
        die("software eUICC: %s", rsp_strerror(rc));
    return 0;
}

static void device_reset(struct device *d)
{
    char detail[RSP_EUICC_DETAIL_SZ];
    if (rsp_euicc_state_load(d->e, d->empty.data, d->empty.len, detail, sizeof detail))
        die("eUICC reset: %s", detail);
}

static void device_close(struct device *d)
{
    rsp_es10_close(&d->s);
    rsp_apdu_transport_free(d->t);
    rsp_apdu_card_free(d->card);
    rsp_euicc_free(d->e);
    rsp_buf_free(&d->empty);
}

/* open mode: initiateAuthentication, AuthenticateServer, authenticateClient, then stop. */
static int open_session(struct worker *w, struct device *d, struct rsp_es9p_client *c,
                        const char *host, const char *mid)
{
    uint8_t ch[RSP_ES10_CHALLENGE_LEN];
    struct rsp_buf info1 = RSP_BUF_INIT, asr = RSP_BUF_INIT;
    struct rsp_es9_request rq;
    struct rsp_es9_response rs;
    struct rsp_es9p_outcome oc;
    int rc;
    if ((rc = rsp_lpa_get_challenge(&d->s, ch)) ||
        (rc = rsp_lpa_get_euicc_info1(&d->s, &info1, NULL))) {
        rsp_buf_free(&info1);
        err_count(w, "eUICC: challenge");
        return rc;
    }
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_INITIATE_AUTHENTICATION;
    memcpy(rq.u.initiate_auth.euicc_challenge, ch, sizeof ch);
    snprintf(rq.u.initiate_auth.smdp_address, sizeof rq.u.initiate_auth.smdp_address, "%s", host);
    rc = rsp_buf_set(&rq.u.initiate_auth.euicc_info1, info1.data, info1.len);
    rsp_buf_free(&info1);
    double t = mono();
    if (rc == 0)
        rc = rsp_es9p_call(c, host, &rq, &rs, &oc);
    rsp_es9_request_free(&rq);
    if (rc) {
        rsp_es9_response_free(&rs);
        char m[96];
        snprintf(m, sizeof m, "initiateAuthentication: %s", rsp_es9p_kind_name(oc.kind));
        err_count(w, m);
        return rc;
    }
    sample_add(&w->lat[F_IA], mono() - t);
    struct rsp_es9_initiate_auth_resp *ia = &rs.u.initiate_auth;
    struct rsp_tid tid = ia->transaction_id;
    struct rsp_lpa_auth_input in = {
        .server_signed1 = {ia->server_signed1.data, ia->server_signed1.len},
        .server_signature1 = {ia->server_signature1.data, ia->server_signature1.len},
        .euicc_ci_pkid = {ia->euicc_ci_pkid.data, ia->euicc_ci_pkid.len},
        .server_certificate = {ia->server_certificate.data, ia->server_certificate.len},
    };
    struct rsp_lpa_device dev;
    memset(&dev, 0, sizeof dev);
    dev.matching_id = mid;
    struct rsp_sgp22_authenticate_server_response ar;
    rc = rsp_lpa_authenticate_server(&d->s, &in, &dev, &asr, &ar);
    rsp_es9_response_free(&rs);
    if (rc || !ar.ok) {
        rsp_buf_free(&asr);
        err_count(w, "eUICC: AuthenticateServer refused");
        return rc ? rc : RSP_ESTATE;
    }
    memset(&rq, 0, sizeof rq);
    rq.fn = RSP_ES9_AUTHENTICATE_CLIENT;
    rq.u.auth_client.transaction_id = tid;
    rc = rsp_buf_set(&rq.u.auth_client.authenticate_server_response, asr.data, asr.len);
    rsp_buf_free(&asr);
    t = mono();
    if (rc == 0)
        rc = rsp_es9p_call(c, host, &rq, &rs, &oc);
    rsp_es9_request_free(&rq);
    rsp_es9_response_free(&rs);
    if (rc) {
        char m[96];
        snprintf(m, sizeof m, "authenticateClient: %s %s/%s", rsp_es9p_kind_name(oc.kind),
                 oc.status.code.subject, oc.status.code.reason);
        err_count(w, m);
        return rc;
    }
    sample_add(&w->lat[F_AC], mono() - t);
    return 0;
}

/* Opens c's connection to host (TCP, TLS handshake) with one ES9+ request the server refuses
 * without touching any profile or session: an initiateAuthentication without its fields. The
 * answer does not matter, only that one came (the connection is then kept alive). */
static int warm_up(struct rsp_es9p_client *c, const char *host)
{
    struct rsp_buf body;
    rsp_buf_init(&body);
    struct rsp_es9p_outcome oc;
    static const char req[] = "{}";
    int rc = rsp_es9p_post(c, host, "initiateAuthentication", req, sizeof req - 1, &body, &oc);
    rsp_buf_free(&body);
    return rc == 0 || oc.http_status > 0 ? 0 : -1;
}

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    struct run_cfg *cfg = w->cfg;
    struct device d;
    device_open(cfg, &d);
    struct rsp_es9p_client *cl[MAX_SERVERS];
    struct rsp_es9p_client_opts co;
    memset(&co, 0, sizeof co);
    co.ca_file = cfg->ca;
    co.timeout_ms = 120000;
    for (size_t i = 0; i < cfg->n_servers; i++)
        if (rsp_es9p_client_new(&co, &cl[i]))
            die("%s", "ES9+ client");
    if (cfg->warmup) { /* the keep-alive TLS connection of each client, before the clock starts */
        for (size_t k = 0; k < cfg->n_servers; k++)
            if (warm_up(cl[k], cfg->servers[k]) != 0)
                atomic_fetch_add(&cfg->warm_failed, 1);
        pthread_barrier_wait(&cfg->warmed);
        pthread_barrier_wait(&cfg->go);
    }
    long i;
    while ((i = atomic_fetch_add(&cfg->next, 1)) < (long)cfg->n_codes) {
        if (cfg->rate > 0) {
            double due = cfg->start + (double)i / cfg->rate, now = mono();
            if (due > now) {
                struct timespec ts = {(time_t)(due - now),
                                      (long)((due - now - (double)(time_t)(due - now)) * 1e9)};
                nanosleep(&ts, NULL);
            } else if (now - due > 0.010) {
                atomic_fetch_add(&cfg->late, 1);
            }
        }
        size_t srv = (size_t)i % cfg->n_servers;
        const char *host = cfg->servers[srv];
        device_reset(&d);
        if (cfg->open_mode) {
            if (open_session(w, &d, cl[srv], host, cfg->codes[i]) == 0)
                w->ok++;
            else
                w->failed++;
            continue;
        }
        struct rsp_lpa_download_opts o;
        memset(&o, 0, sizeof o);
        o.smdp_address = host;
        o.matching_id = cfg->codes[i];
        o.event = on_event;
        o.event_ctx = w;
        struct rsp_lpa_download_result r;
        w->cur = -1;
        w->seg_seen = false;
        double t0 = mono();
        int rc = rsp_lpa_download(&d.s, cl[srv], &o, &r);
        double t1 = mono();
        if (w->cur >= 0) /* handleNotification ends with the download */
            sample_add(&w->lat[w->cur], t1 - w->t_step);
        w->cur = -1;
        if (rc == 0 && r.kind == RSP_LPA_DL_OK && r.notification_sent) {
            w->ok++;
            sample_add(&w->lat[F_DOWNLOAD], t1 - t0);
        } else {
            w->failed++;
            char m[96];
            if (r.kind == RSP_LPA_DL_SMDP_REFUSED)
                snprintf(m, sizeof m, "%s: refused %s/%s", r.step ? r.step : "?",
                         r.es9.status.code.subject, r.es9.status.code.reason);
            else if (rc == 0)
                snprintf(m, sizeof m, "handleNotification: PIR not acknowledged");
            else
                snprintf(m, sizeof m, "%s: %s", r.step ? r.step : "?",
                         r.kind == RSP_LPA_DL_NETWORK         ? "network"
                         : r.kind == RSP_LPA_DL_TLS           ? "tls"
                         : r.kind == RSP_LPA_DL_EUICC_REFUSED ? "eUICC refused"
                                                              : rsp_es9p_kind_name(r.es9.kind));
            err_count(w, m);
        }
    }
    for (size_t k = 0; k < cfg->n_servers; k++)
        rsp_es9p_client_free(cl[k]);
    device_close(&d);
    return NULL;
}

static char **read_codes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot read %s", path);
    size_t cap = 1024, k = 0;
    char **v = malloc(cap * sizeof *v), line[256];
    while (v && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        if (k == cap) {
            cap *= 2;
            char **nv = realloc(v, cap * sizeof *v);
            if (!nv)
                die("%s", "out of memory");
            v = nv;
        }
        if (!(v[k++] = strdup(line)))
            die("%s", "out of memory");
    }
    fclose(f);
    if (!v)
        die("%s", "out of memory");
    *n = k;
    return v;
}

static int cmd_run(int argc, char **argv)
{
    static struct run_cfg cfg;
    cfg.warmup = true;
    const char *codes = NULL, *json = NULL;
    long threads = 8, count = -1, floor_iters = 1000, hold = 0;
    int pids[MAX_PIDS];
    size_t n_pids = 0;
    for (int i = 2; i < argc; i += 2) { /* OPTION VALUE pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            die("%s needs a value", a);
        if (!strcmp(a, "--smdp")) {
            if (cfg.n_servers == MAX_SERVERS)
                die("%s", "too many --smdp");
            cfg.servers[cfg.n_servers++] = v;
        } else if (!strcmp(a, "--ca"))
            cfg.ca = v;
        else if (!strcmp(a, "--pki"))
            cfg.pki = v;
        else if (!strcmp(a, "--codes"))
            codes = v;
        else if (!strcmp(a, "--mode")) {
            if (!strcmp(v, "open"))
                cfg.open_mode = true;
            else if (strcmp(v, "download"))
                die("unknown --mode %s", v);
        } else if (!strcmp(a, "--threads"))
            threads = atol(v);
        else if (!strcmp(a, "--count"))
            count = atol(v);
        else if (!strcmp(a, "--rate"))
            cfg.rate = atof(v);
        else if (!strcmp(a, "--floor-iters"))
            floor_iters = atol(v);
        else if (!strcmp(a, "--hold"))
            hold = atol(v);
        else if (!strcmp(a, "--json"))
            json = v;
        else if (!strcmp(a, "--warmup")) {
            if (strcmp(v, "on") && strcmp(v, "off"))
                die("--warmup on|off, not %s", v);
            cfg.warmup = !strcmp(v, "on");
        } else if (!strcmp(a, "--pid")) {
            if (n_pids == MAX_PIDS)
                die("%s", "too many --pid");
            pids[n_pids++] = atoi(v);
        } else
            die("unknown option %s", a);
    }
    if (!cfg.n_servers || !cfg.ca || !cfg.pki || !codes || threads < 1 || threads > MAX_THREADS ||
        floor_iters < 10)
        die("%s", "usage: loadgen run --smdp HOST:PORT [--smdp ...] --ca CI.pem --pki DIR --codes "
                  "FILE [--mode download|open] [--threads T] [--count N] [--rate R] [--pid PID] "
                  "[--floor-iters N] [--hold S] [--warmup on|off] [--json FILE]");
    cfg.codes = read_codes(codes, &cfg.n_codes);
    if (count >= 0 && (size_t)count < cfg.n_codes)
        cfg.n_codes = (size_t)count;
    char detail[RSP_EUICC_DETAIL_SZ] = "";
    if (rsp_euicc_pki_files_load(cfg.pki, "nist", &cfg.files, detail, sizeof detail))
        die("eUICC credentials: %s", detail);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    double parts[4];
    double floor_before = crypto_floor_us((int)floor_iters, parts);
    double cpu0[MAX_PIDS];
    long rss0[MAX_PIDS];
    for (size_t p = 0; p < n_pids; p++) {
        cpu0[p] = proc_cpu_s(pids[p]);
        rss0[p] = proc_rss_kib(pids[p]);
    }
    static struct worker ws[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    if (cfg.warmup && (pthread_barrier_init(&cfg.warmed, NULL, (unsigned)threads + 1) ||
                       pthread_barrier_init(&cfg.go, NULL, (unsigned)threads + 1)))
        die("%s", "pthread_barrier_init failed");
    cfg.start = mono();
    for (long t = 0; t < threads; t++) {
        ws[t].cfg = &cfg;
        ws[t].id = (int)t;
        if (pthread_create(&th[t], NULL, worker_thread, &ws[t]))
            die("%s", "pthread_create failed");
    }
    if (cfg.warmup) { /* the measured run starts once every thread is connected */
        pthread_barrier_wait(&cfg.warmed);
        if (atomic_load(&cfg.warm_failed))
            fprintf(stderr, "loadgen: %ld warm-up connection(s) failed (they connect in the run)\n",
                    (long)atomic_load(&cfg.warm_failed));
        for (size_t p = 0; p < n_pids; p++) {
            cpu0[p] = proc_cpu_s(pids[p]);
            rss0[p] = proc_rss_kib(pids[p]);
        }
        cfg.start = mono();
        pthread_barrier_wait(&cfg.go);
    }
    for (long t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double wall = mono() - cfg.start;
    double cpu1[MAX_PIDS];
    long rss1[MAX_PIDS];
    for (size_t p = 0; p < n_pids; p++) {
        cpu1[p] = proc_cpu_s(pids[p]);
        rss1[p] = proc_rss_kib(pids[p]);
    }
    if (hold > 0) /* open mode: keep the sessions open a while, then sample RSS again */
        sleep((unsigned)hold);
    long rss_hold = 0;
    for (size_t p = 0; p < n_pids; p++)
        rss_hold += proc_rss_kib(pids[p]);
    double floor_after = crypto_floor_us((int)floor_iters, parts);
    double floor_us = (floor_before + floor_after) / 2;

    struct samples all[F_N];
    memset(all, 0, sizeof all);
    struct worker tot;
    memset(&tot, 0, sizeof tot);
    for (long t = 0; t < threads; t++) {
        for (int f = 0; f < F_N; f++)
            sample_merge(&all[f], &ws[t].lat[f]);
        tot.ok += ws[t].ok;
        tot.failed += ws[t].failed;
        for (size_t k = 0; k < ws[t].n_errs; k++)
            for (long r = 0; r < ws[t].errs[k].n; r++)
                err_count(&tot, ws[t].errs[k].name);
    }
    for (int f = 0; f < F_N; f++)
        if (all[f].n)
            qsort(all[f].v, all[f].n, sizeof(double), cmp_double);
    double srv_cpu = 0;
    long srv_rss0 = 0, srv_rss1 = 0;
    for (size_t p = 0; p < n_pids; p++) {
        srv_cpu += cpu1[p] - cpu0[p];
        srv_rss0 += rss0[p];
        srv_rss1 += rss1[p];
    }
    double per_dl_us = tot.ok > 0 ? srv_cpu / (double)tot.ok * 1e6 : 0;

    FILE *out = json ? fopen(json, "w") : NULL;
    if (json && !out)
        die("cannot write %s", json);
    FILE *fs[2] = {stdout, out};
    for (int k = 0; k < 2; k++) {
        FILE *f = fs[k];
        if (!f)
            continue;
        fprintf(f,
                "{\"mode\":\"%s\",\"servers\":%zu,\"threads\":%ld,\"rate\":%.1f,\"attempted\":%zu,"
                "\"ok\":%ld,\"failed\":%ld,\"late_starts\":%ld,\"wall_s\":%.3f,\"per_s\":%.2f,",
                cfg.open_mode ? "open" : "download", cfg.n_servers, threads, cfg.rate, cfg.n_codes,
                tot.ok, tot.failed, atomic_load(&cfg.late), wall,
                wall > 0 ? (double)tot.ok / wall : 0);
        fprintf(f, "\"latency_ms\":{");
        for (int fi = 0; fi < F_N; fi++)
            fprintf(f, "%s\"%s\":{\"n\":%zu,\"p50\":%.2f,\"p95\":%.2f,\"p99\":%.2f,\"max\":%.2f}",
                    fi ? "," : "", fn_names[fi], all[fi].n, pct(&all[fi], 50), pct(&all[fi], 95),
                    pct(&all[fi], 99), all[fi].n ? all[fi].v[all[fi].n - 1] * 1e3 : 0);
        fprintf(f, "},\"errors\":{");
        for (size_t e = 0; e < tot.n_errs; e++)
            fprintf(f, "%s\"%s\":%ld", e ? "," : "", tot.errs[e].name, tot.errs[e].n);
        fprintf(f,
                "},\"server_pids\":%zu,\"server_cpu_s\":%.3f,\"server_cpu_per_ok_us\":%.0f,"
                "\"server_rss_kib_before\":%ld,\"server_rss_kib_after\":%ld,"
                "\"server_rss_kib_hold\":%ld,\"floor_us\":%.0f,\"floor_parts_us\":[%.1f,%.1f,%.1f,"
                "%.1f],\"ratio\":%.2f}\n",
                n_pids, srv_cpu, per_dl_us, srv_rss0, srv_rss1, rss_hold, floor_us, parts[0],
                parts[1], parts[2], parts[3], floor_us > 0 ? per_dl_us / floor_us : 0);
    }
    if (out)
        fclose(out);
    for (int f = 0; f < F_N; f++)
        free(all[f].v);
    for (long t = 0; t < threads; t++)
        for (int f = 0; f < F_N; f++)
            free(ws[t].lat[f].v);
    for (size_t i = 0; i < cfg.n_codes; i++)
        free(cfg.codes[i]);
    free(cfg.codes);
    rsp_euicc_pki_files_free(&cfg.files);
    curl_global_cleanup();
    return tot.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: loadgen inventory|orders|run ... (see the comment at the top of "
               "bench/loadgen.c and BENCHMARKS.md)\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "inventory"))
        return cmd_inventory(argc, argv);
    if (!strcmp(argv[1], "orders"))
        return cmd_orders(argc, argv);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc, argv);
    die("unknown command %s", argv[1]);
}
