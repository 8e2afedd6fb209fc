/* PKCS#11 keys (src/hsm/pkcs11.c) against a SoftHSM2 token made by tests/common/softhsm_token.sh:
 * load by label and by id, sign (the signature verifies with the key's public half), the PIN from
 * a file or the URI, concurrent signers sharing one key, and the refusals (bad URI, no such
 * object, wrong PIN, missing module, several matching keys). Skips when SoftHSM2 is absent. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

#include "rsp/crypto.h"
#include "rsp/err.h"
#include "rsp/pkcs11.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PIN    "4711-test"

static char dir[512], uri_base[64];
static struct rsp_key *soft_a, *soft_b;

static void write_key(const struct rsp_key *k, const char *path)
{
    struct rsp_buf pem = RSP_BUF_INIT;
    assert_int_equal(rsp_key_export_private_pem(k, &pem), 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(pem.data, 1, pem.len, f), pem.len);
    fclose(f);
    rsp_buf_free_secure(&pem);
}

/* 0 ready, 1 skip (no SoftHSM2). */
static int setup(void **state)
{
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    assert_int_equal(rsp_key_generate(RSP_CURVE_NIST_P256, &soft_a), 0);
    assert_int_equal(rsp_key_generate(RSP_CURVE_BRAINPOOL_P256R1, &soft_b), 0);
    char a[600], b[600], cmd[4096];
    snprintf(a, sizeof a, "%s/a.pem", dir);
    snprintf(b, sizeof b, "%s/b.pem", dir);
    write_key(soft_a, a);
    write_key(soft_b, b);
    /* "a" twice more under one label ("dup", ids 07 and 08): a URI naming that label is ambiguous
     */
    snprintf(cmd, sizeof cmd,
             "%s %s/hsm rspkit-test " PIN " %s=alpha=01 %s=beta=02 %s=dup=07 %s=dup=08 >/dev/null",
             tu_source_path("tests/common/softhsm_token.sh"), dir, a, b, a, a);
    int st = system(cmd);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
        return 0;
    assert_int_equal(st, 0);
    char conf[600];
    snprintf(conf, sizeof conf, "%s/hsm/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(uri_base, sizeof uri_base, "pkcs11:token=rspkit-test");
    return 0;
}

#define REQUIRE_HSM()                                                                              \
    do {                                                                                           \
        if (!uri_base[0]) {                                                                        \
            print_message("SoftHSM2 not installed: skipping\n");                                   \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static const char *uri(const char *obj, const char *query)
{
    static char u[2048];
    snprintf(u, sizeof u, "%s;%s;type=private?module-path=" MODULE "&%s", uri_base, obj, query);
    return u;
}

static void check_signs(struct rsp_key *k, const struct rsp_key *soft)
{
    uint8_t a[RSP_EC_POINT_LEN], b[RSP_EC_POINT_LEN], sig[RSP_ECDSA_SIG_LEN];
    assert_int_equal(rsp_key_point(k, a), 0);
    assert_int_equal(rsp_key_point(soft, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(rsp_key_curve(k), rsp_key_curve(soft));
    assert_string_equal(rsp_key_backend(k), "pkcs11");
    assert_int_equal(rsp_ecdsa_sign(k, "to be signed", 12, sig), 0);
    assert_int_equal(rsp_ecdsa_verify(soft, "to be signed", 12, sig, sizeof sig), 0);
    assert_int_equal(rsp_ecdsa_verify(soft, "to be signeD", 12, sig, sizeof sig), RSP_EVERIFY);
    struct rsp_buf none = RSP_BUF_INIT;
    assert_int_equal(rsp_key_export_private_pem(k, &none), RSP_ESTATE);
    assert_int_equal(none.len, 0);
}

static void test_load_and_sign(void **state)
{
    REQUIRE_HSM();
    char q[700];
    snprintf(q, sizeof q, "pin-source=file:%s/hsm/pin", dir);
    struct rsp_key *k = NULL;
    char err[256];
    assert_int_equal(rsp_pkcs11_key_load(uri("object=alpha", q), &k, err, sizeof err), 0);
    check_signs(k, soft_a);
    rsp_key_free(k);
    k = NULL;
    /* by id, PIN in the URI, brainpool */
    assert_int_equal(rsp_pkcs11_key_load(uri("id=%02", "pin-value=" PIN), &k, err, sizeof err), 0);
    check_signs(k, soft_b);
    rsp_key_free(k);
    k = NULL;
    /* the module from the environment */
    setenv("RSP_PKCS11_MODULE", MODULE, 1);
    char u[1024];
    snprintf(u, sizeof u, "%s;object=alpha?pin-value=" PIN, uri_base);
    assert_int_equal(rsp_pkcs11_key_load(u, &k, err, sizeof err), 0);
    unsetenv("RSP_PKCS11_MODULE");
    check_signs(k, soft_a);
    rsp_key_free(k);
}

struct job {
    struct rsp_key *k;
    int bad;
};

static void *signer(void *arg)
{
    struct job *j = arg;
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    for (int i = 0; i < 50; i++)
        if (rsp_ecdsa_sign(j->k, "m", 1, sig) != 0 || rsp_ecdsa_verify(soft_a, "m", 1, sig, 64))
            j->bad++;
    return NULL;
}

static void test_concurrent(void **state)
{
    REQUIRE_HSM();
    struct rsp_key *k = NULL;
    assert_int_equal(rsp_pkcs11_key_load(uri("object=alpha", "pin-value=" PIN), &k, NULL, 0), 0);
    pthread_t th[6];
    struct job jobs[6];
    for (int i = 0; i < 6; i++) {
        jobs[i] = (struct job){.k = k};
        assert_int_equal(pthread_create(&th[i], NULL, signer, &jobs[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
    rsp_key_free(k);
}

static void test_refusals(void **state)
{
    REQUIRE_HSM();
    struct rsp_key *k = NULL;
    char err[256];
    assert_int_equal(rsp_pkcs11_key_load("/etc/key.pem", &k, err, sizeof err), RSP_ESYNTAX);
    assert_int_equal(rsp_pkcs11_key_load("pkcs11:token=x;objekt=y", &k, err, sizeof err),
                     RSP_ESYNTAX);
    assert_int_equal(rsp_pkcs11_key_load("pkcs11:token=rspkit-test;object=alpha;type=cert"
                                         "?module-path=" MODULE "&pin-value=" PIN,
                                         &k, err, sizeof err),
                     RSP_ESYNTAX);
    assert_int_equal(
        rsp_pkcs11_key_load(uri("object=gamma", "pin-value=" PIN), &k, err, sizeof err),
        RSP_ENOTFOUND);
    /* without a login the private objects are invisible */
    char u[1024];
    snprintf(u, sizeof u, "%s;object=alpha?module-path=" MODULE, uri_base);
    assert_int_equal(rsp_pkcs11_key_load(u, &k, err, sizeof err), RSP_ENOTFOUND);
    assert_non_null(strstr(err, "no PIN"));
    /* wrong PIN: refused, and the message does not carry it */
    assert_int_equal(
        rsp_pkcs11_key_load(uri("object=alpha", "pin-value=9999-wrong"), &k, err, sizeof err),
        RSP_EIO);
    assert_null(strstr(err, "9999-wrong"));
    /* label "dup" names two keys */
    assert_int_equal(rsp_pkcs11_key_load(uri("object=dup", "pin-value=" PIN), &k, err, sizeof err),
                     RSP_ESTATE);
    snprintf(u, sizeof u, "%s;object=alpha?module-path=/nonexistent/mod.so&pin-value=" PIN,
             uri_base);
    assert_int_equal(rsp_pkcs11_key_load(u, &k, err, sizeof err), RSP_EIO);
    snprintf(u, sizeof u,
             "pkcs11:token=no-such-token;object=alpha?module-path=" MODULE "&pin-value=" PIN);
    assert_int_equal(rsp_pkcs11_key_load(u, &k, err, sizeof err), RSP_ENOTFOUND);
    assert_null(k);
}

static void test_redact(void **state)
{
    char out[256];
    rsp_pkcs11_uri_redact("pkcs11:token=a;object=b?pin-value=1234&module-path=/m.so", out,
                          sizeof out);
    assert_string_equal(out, "pkcs11:token=a;object=b?pin-value=***&module-path=/m.so");
    rsp_pkcs11_uri_redact("pkcs11:token=a?pin-value=secret", out, sizeof out);
    assert_string_equal(out, "pkcs11:token=a?pin-value=***");
    rsp_pkcs11_uri_redact("pkcs11:token=a?pin-source=file:/p", out, sizeof out);
    assert_string_equal(out, "pkcs11:token=a?pin-source=file:/p");
    rsp_pkcs11_uri_redact("/etc/pin-value=x.pem", out, sizeof out);
    assert_string_equal(out, "/etc/pin-value=x.pem");
    assert_true(rsp_pkcs11_is_uri("pkcs11:x"));
    assert_false(rsp_pkcs11_is_uri("/pkcs11:x"));
    assert_false(rsp_pkcs11_is_uri(NULL));
}

static int teardown(void **state)
{
    rsp_key_free(soft_a);
    rsp_key_free(soft_b);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_sign),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
