/* Crypto floor benchmark: what one SGP.22 download costs an SM-DP+ in pure crypto, per curve.
 * The floor (issue "Proof at scale") is 3 ECDSA signs + 5 ECDSA verifies + 1 key generation +
 * 1 ECDH on the same curve; BSP throughput (segment protection of a profile package) is measured
 * alongside, and the cost of parsing one X.509 certificate with OpenSSL (d2i_X509), which the
 * SM-DP+ pays once per download for the eUICC certificate (each device has its own, so it cannot
 * be cached). Prints Markdown table rows; scripts/bench.sh assembles BENCHMARKS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "rsp/crypto.h"
#include "rsp/err.h"

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
            fprintf(stderr, "bench: %s failed: %s\n", #x, rsp_strerror(rc_));                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

struct result {
    double sign_us, verify_us, keygen_us, ecdh_us;
};

static void bench_curve(enum rsp_curve curve, int iters, struct result *r)
{
    struct rsp_key *k, *peer;
    uint8_t msg[200], sig[RSP_ECDSA_SIG_LEN], pt[RSP_EC_POINT_LEN], z[RSP_ECKA_Z_LEN];
    memset(msg, 0x5a, sizeof msg);
    CHECK(rsp_key_generate(curve, &k));
    CHECK(rsp_key_generate(curve, &peer));
    CHECK(rsp_key_point(peer, pt));

    double t = cpu_s();
    for (int i = 0; i < iters; i++)
        CHECK(rsp_ecdsa_sign(k, msg, sizeof msg, sig));
    r->sign_us = (cpu_s() - t) / iters * 1e6;

    t = cpu_s();
    for (int i = 0; i < iters; i++)
        CHECK(rsp_ecdsa_verify(k, msg, sizeof msg, sig, sizeof sig));
    r->verify_us = (cpu_s() - t) / iters * 1e6;

    t = cpu_s();
    for (int i = 0; i < iters; i++) {
        struct rsp_key *e;
        CHECK(rsp_key_generate(curve, &e));
        rsp_key_free(e);
    }
    r->keygen_us = (cpu_s() - t) / iters * 1e6;

    t = cpu_s();
    for (int i = 0; i < iters; i++)
        CHECK(rsp_ecka(k, pt, sizeof pt, z));
    r->ecdh_us = (cpu_s() - t) / iters * 1e6;
    rsp_key_free(k);
    rsp_key_free(peer);
}

static double bench_bsp(int mbytes, int unwrap)
{
    struct rsp_session_keys keys;
    memset(&keys, 0x11, sizeof keys);
    struct rsp_bsp w, u;
    rsp_bsp_init(&w, &keys);
    rsp_bsp_init(&u, &keys);
    uint8_t plain[RSP_BSP_MAX_PLAIN_ENC];
    memset(plain, 0xa5, sizeof plain);
    struct rsp_buf seg = RSP_BUF_INIT, out = RSP_BUF_INIT;
    size_t total = (size_t)mbytes << 20, done = 0;
    double t0 = cpu_s(), spent = 0;
    while (done < total) {
        rsp_buf_reset(&seg);
        CHECK(rsp_bsp_wrap(&w, 0x86, true, plain, sizeof plain, &seg));
        if (unwrap) {
            double t = cpu_s();
            rsp_buf_reset(&out);
            CHECK(rsp_bsp_unwrap(&u, true, seg.data, seg.len, RSP_BSP_MAX_SEGMENT, &out));
            spent += cpu_s() - t;
        }
        done += sizeof plain;
    }
    if (!unwrap)
        spent = cpu_s() - t0;
    rsp_buf_free(&seg);
    rsp_buf_free(&out);
    return (double)total / (1 << 20) / spent;
}

/* CPU time of d2i_X509 on a self-signed P-256 certificate shaped like an eUICC certificate (a
 * name, validity, an EC public key, an ECDSA-SHA256 signature), in microseconds; 0 on failure. */
static double bench_x509_parse(int iters)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    unsigned char *der = NULL;
    int len = 0;
    double us = 0;
    if (k && x && n && X509_set_version(x, X509_VERSION_3) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234) &&
        X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"RSPTEST", -1, -1,
                                   0) &&
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   (const unsigned char *)"89049032123451234512345678901235", -1,
                                   -1, 0) &&
        X509_set_subject_name(x, n) && X509_set_issuer_name(x, n) &&
        X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) && X509_set_pubkey(x, k) &&
        X509_sign(x, k, EVP_sha256()) > 0 && (len = i2d_X509(x, &der)) > 0) {
        double t = cpu_s();
        int ok = 1;
        for (int i = 0; ok && i < iters; i++) {
            const unsigned char *p = der;
            X509 *y = d2i_X509(NULL, &p, len);
            ok = y != NULL;
            X509_free(y);
        }
        us = ok ? (cpu_s() - t) / iters * 1e6 : 0;
    }
    OPENSSL_free(der);
    X509_NAME_free(n);
    X509_free(x);
    EVP_PKEY_free(k);
    return us;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    if (iters < 10)
        iters = 10;
    double wall = now_s();
    static const enum rsp_curve curves[] = {RSP_CURVE_NIST_P256, RSP_CURVE_BRAINPOOL_P256R1};
    printf("| curve | ECDSA sign (us) | ECDSA verify (us) | key generation (us) | ECDH (us) | "
           "floor per download (us) |\n|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < 2; i++) {
        struct result r;
        bench_curve(curves[i], iters, &r);
        double floor = 3 * r.sign_us + 5 * r.verify_us + r.keygen_us + r.ecdh_us;
        printf("| %s | %.1f | %.1f | %.1f | %.1f | %.0f |\n", rsp_curve_name(curves[i]), r.sign_us,
               r.verify_us, r.keygen_us, r.ecdh_us, floor);
    }
    printf("\n| BSP segment protection (1007-byte segments) | MiB/s |\n|---|---|\n");
    printf("| wrap (encrypt + MAC) | %.1f |\n", bench_bsp(64, 0));
    printf("| unwrap (verify + decrypt) | %.1f |\n", bench_bsp(64, 1));
    double x509 = bench_x509_parse(iters);
    if (x509 <= 0) {
        fprintf(stderr, "bench: X.509 certificate parse failed\n");
        return 1;
    }
    printf("\n| X.509 certificate parse, P-256 (d2i_X509, %s) | us |\n|---|---|\n",
           OpenSSL_version(OPENSSL_VERSION));
    printf("| d2i_X509 | %.1f |\n", x509);
    fprintf(stderr, "bench_crypto: %d iterations per operation, %.1f s wall\n", iters,
            now_s() - wall);
    return 0;
}
