/* Runs the built `rspctl` (path in $RSPCTL, set by meson): pki init into a temporary directory,
 * then pki verify on it, plus usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "certtest.h"

static const char *rspctl(void)
{
    const char *p = getenv("RSPCTL");
    if (!p || !*p)
        fail_msg("RSPCTL not set");
    return p;
}

/* Runs rspctl with `args`, output into out_path; returns the exit status. */
static int run(const char *args, const char *out_path)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>&1", rspctl(), args, out_path);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

static bool file_contains(const char *path, const char *needle)
{
    struct rsp_buf b = tu_load(path);
    rsp_buf_append_byte(&b, 0);
    bool found = strstr((const char *)b.data, needle) != NULL;
    rsp_buf_free(&b);
    return found;
}

static void test_init_then_verify(void **state)
{
    (void)state;
    const char *tmp = tu_tmpdir();
    char dir[512], out[512], args[1024], path[1024];
    snprintf(dir, sizeof dir, "%s/pki", tmp);
    snprintf(out, sizeof out, "%s/out.txt", tmp);

    snprintf(args, sizeof args,
             "pki init '%s' --curve both --smdp-host smdp.test.example --days 90", dir);
    assert_int_equal(run(args, out), 0);
    assert_true(file_contains(out, "nist/dpauth.key.pem"));
    assert_false(file_contains(out, "PRIVATE KEY")); /* never prints key contents */

    static const char *const curves[] = {"nist", "brp"};
    static const char *const stems[] = {"ci", "eum", "euicc", "dpauth", "dppb", "dptls"};
    for (int c = 0; c < 2; c++) {
        for (int r = 0; r < 6; r++) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s/%s.key.pem", dir, curves[c], stems[r]);
            assert_int_equal(stat(path, &st), 0);
            assert_int_equal(st.st_mode & 0777, 0600);
            snprintf(path, sizeof path, "%s/%s/%s.der", dir, curves[c], stems[r]);
            struct rsp_cert *cert = ct_load(path);
            rsp_cert_free(cert);
            snprintf(path, sizeof path, "%s/%s/%s.pem", dir, curves[c], stems[r]);
            cert = ct_load(path);
            rsp_cert_free(cert);
        }
        snprintf(path, sizeof path, "%s/%s/dptls.chain.pem", dir, curves[c]);
        struct rsp_cert *tls = ct_load(path); /* first certificate of the chain: DPtls */
        char dns[64];
        assert_int_equal(rsp_cert_dns_name(tls, dns, sizeof dns), 0);
        assert_string_equal(dns, "smdp.test.example");
        rsp_cert_free(tls);
    }

    snprintf(args, sizeof args, "pki verify '%s'", dir);
    assert_int_equal(run(args, out), 0);
    assert_true(file_contains(out, "EID 89049032123451234512345678901235): ok"));
    assert_true(file_contains(out, "CI -> DPtls (SM-DP+ OID 2.999.10): ok"));

    /* refuses to overwrite without --force; --force replaces */
    snprintf(args, sizeof args, "pki init '%s' --curve nist", dir);
    assert_int_equal(run(args, out), 1);
    snprintf(args, sizeof args, "pki init '%s' --curve nist --force", dir);
    assert_int_equal(run(args, out), 0);
    snprintf(args, sizeof args, "pki verify '%s'", dir);
    assert_int_equal(run(args, out), 0);

    /* a tampered set fails verification: the NIST eUICC certificate under the BRP EUM */
    char from[1024];
    snprintf(from, sizeof from, "%s/brp/euicc.der", dir);
    snprintf(path, sizeof path, "%s/nist/euicc.der", dir);
    assert_int_equal(rename(from, path), 0);
    assert_int_equal(run(args, out), 1);

    snprintf(args, sizeof args, "pki verify '%s/nonexistent'", tmp);
    assert_int_equal(run(args, out), 1);
}

static void test_usage(void **state)
{
    (void)state;
    const char *tmp = tu_tmpdir();
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    assert_int_equal(run("--help", out), 0);
    assert_true(file_contains(out, "pki"));
    assert_int_equal(run("pki --help", out), 0);
    assert_true(file_contains(out, "init"));
    assert_int_equal(run("pki init --help", out), 0);
    assert_true(file_contains(out, "--smdp-oid"));
    assert_int_equal(run("", out), 2);
    assert_int_equal(run("nosuchcommand", out), 2);
    assert_int_equal(run("pki", out), 2);
    assert_int_equal(run("pki frobnicate", out), 2);
    assert_int_equal(run("pki init", out), 2);
    snprintf(args, sizeof args, "pki init '%s/x' --curve p384", tmp);
    assert_int_equal(run(args, out), 2);
    snprintf(args, sizeof args, "pki init '%s/x' --days", tmp);
    assert_int_equal(run(args, out), 2);
    snprintf(args, sizeof args, "pki init '%s/x' --eid 1234", tmp);
    assert_int_equal(run(args, out), 2);
    assert_int_equal(run("pki verify", out), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_then_verify),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests_name("rspctl_pki", tests, NULL, NULL);
}
