/* Signing path: ECDSA P-256 signs through PKCS#11 (a token named by a URI, SoftHSM2 in
 * `make bench`) versus the same key in memory (OpenSSL). Wall time per sign, one thread, and with
 * T threads sharing the key (the SM-DP+'s HTTP workers do that). Prints Markdown table rows.
 *
 *   bench_pkcs11 KEY.pem PKCS11_URI [SIGNS] [THREADS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/pkcs11.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
    const struct rsp_key *k, *pub;
    long n;
    int rc;
};

static void *signer(void *arg)
{
    struct job *j = arg;
    uint8_t msg[200], sig[RSP_ECDSA_SIG_LEN];
    memset(msg, 0x5a, sizeof msg);
    for (long i = 0; i < j->n && j->rc == 0; i++)
        j->rc = rsp_ecdsa_sign(j->k, msg, sizeof msg, sig);
    /* the last signature must verify with the public key */
    if (j->rc == 0)
        j->rc = rsp_ecdsa_verify(j->pub, msg, sizeof msg, sig, sizeof sig);
    return NULL;
}

/* Signs per second with `threads` threads, n signs each. */
static double run(const struct rsp_key *k, const struct rsp_key *pub, long n, int threads)
{
    struct job jobs[64];
    pthread_t th[64];
    double t = mono();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (struct job){.k = k, .pub = pub, .n = n, .rc = 0};
        pthread_create(&th[i], NULL, signer, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc) {
            fprintf(stderr, "bench_pkcs11: sign/verify failed: %s\n", rsp_strerror(jobs[i].rc));
            exit(1);
        }
    }
    return (double)n * threads / (mono() - t);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pkcs11 KEY.pem PKCS11_URI [SIGNS] [THREADS]\n");
        return 2;
    }
    long n = argc > 3 ? atol(argv[3]) : 2000;
    int threads = argc > 4 ? atoi(argv[4]) : 4;
    if (n < 10 || threads < 1 || threads > 64)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    char pem[4096];
    size_t len = f ? fread(pem, 1, sizeof pem, f) : 0;
    if (f)
        fclose(f);
    struct rsp_key *soft = NULL, *hsm = NULL, *pub = NULL;
    char why[256];
    uint8_t pt[RSP_EC_POINT_LEN], pt2[RSP_EC_POINT_LEN];
    if (!len || rsp_key_from_private((const uint8_t *)pem, len, &soft) || rsp_key_point(soft, pt) ||
        rsp_key_from_point(rsp_key_curve(soft), pt, sizeof pt, &pub)) {
        fprintf(stderr, "bench_pkcs11: %s: not an EC private key\n", argv[1]);
        return 1;
    }
    int rc = rsp_pkcs11_key_load(argv[2], &hsm, why, sizeof why);
    if (rc) {
        fprintf(stderr, "bench_pkcs11: PKCS#11 key: %s (%s)\n", rsp_strerror(rc), why);
        return 1;
    }
    if (rsp_key_point(hsm, pt2) || memcmp(pt, pt2, sizeof pt) != 0) {
        fprintf(stderr, "bench_pkcs11: the token holds another key than %s\n", argv[1]);
        return 1;
    }
    printf("| signing path (P-256, %ld signs per thread) | 1 thread: signs/s | %d threads: signs/s "
           "|\n|---|---|---|\n",
           n, threads);
    printf("| in memory (OpenSSL) | %.0f | %.0f |\n", run(soft, pub, n, 1),
           run(soft, pub, n, threads));
    printf("| PKCS#11 (%s) | %.0f | %.0f |\n", rsp_key_backend(hsm), run(hsm, pub, n, 1),
           run(hsm, pub, n, threads));
    rsp_key_free(soft);
    rsp_key_free(hsm);
    rsp_key_free(pub);
    return 0;
}
