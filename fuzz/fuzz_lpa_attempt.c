/* libFuzzer target: rsp-lpa's persisted attempt record (STATE/attempt.json, read back after a
 * crash by rsp_lpa_attempt_load). The input is written as the record of a scratch directory.
 * Properties: no crash (ASan/UBSan); a record either loads whole or is refused with RSP_ESYNTAX;
 * a loaded record saves and loads again to the same struct (compared field by field).
 * The scratch directory is on tmpfs (/dev/shm) when there is one: the save's fsync on a disk cost
 * a journal commit per accepted input.
 * Seeds: FUZZ_LPA_ATTEMPT_DUMP=<dir> writes complete records saved by rsp_lpa_attempt_save there
 * (fuzz/corpus/lpa_attempt/seed-*: FUZZ_LPA_ATTEMPT_DUMP=fuzz/corpus/lpa_attempt
 * build-fuzz/fuzz/fuzz_lpa_attempt -runs=0). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/lpa_attempt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void)
{
    char path[128];
    static const char *const names[] = {"attempt.json", "attempt.json.tmp", "bpp.der"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

#define SAME_STR(f) (strcmp(x->f, y->f) == 0)
#define SAME(f)     (x->f == y->f)
static bool same(const struct rsp_lpa_attempt *x, const struct rsp_lpa_attempt *y)
{
    const struct rsp_lpa_expected *ex = &x->expected, *ey = &y->expected;
    return SAME(state) && SAME_STR(eid) && SAME_STR(smdp) && SAME_STR(matching_id) &&
           SAME(enable) && SAME(cc_required) && SAME_STR(tid) && SAME(has_bpp) && SAME(segments) &&
           SAME(acked) && SAME(inflight) && SAME(attempts) && SAME(failures) && SAME(first_at) &&
           SAME(next_at) && SAME_STR(last_class) && SAME_STR(last_error) &&
           SAME_STR(pending_cancel) && SAME_STR(cancel_tid) && SAME_STR(iccid) &&
           memcmp(x->aid, y->aid, sizeof x->aid) == 0 && ex->known == ey->known &&
           memcmp(ex->iccid, ey->iccid, sizeof ex->iccid) == 0 &&
           ex->profile_class == ey->profile_class && strcmp(ex->spn, ey->spn) == 0 &&
           strcmp(ex->name, ey->name) == 0 && ex->has_owner == ey->has_owner &&
           memcmp(ex->owner_mcc_mnc, ey->owner_mcc_mnc, 3) == 0;
}

static void dump_seeds(const char *out)
{
    static const enum rsp_lpa_att_state states[] = {RSP_LPA_ATT_DOWNLOADING, RSP_LPA_ATT_BACKOFF,
                                                    RSP_LPA_ATT_GAVE_UP};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        struct rsp_lpa_attempt a;
        memset(&a, 0, sizeof a);
        a.state = states[i];
        snprintf(a.eid, sizeof a.eid, "89049032123451234512345678901235");
        snprintf(a.smdp, sizeof a.smdp, "testsmdpplus1.example.com");
        snprintf(a.matching_id, sizeof a.matching_id, "FUZZ-%zu", i);
        a.enable = i != 1;
        a.cc_required = i == 2;
        snprintf(a.tid, sizeof a.tid, "0123456789ABCDEF0123456789ABCDEF");
        a.has_bpp = i == 0;
        a.segments = 12;
        a.acked = 5;
        a.inflight = i == 0 ? 6 : 0;
        a.attempts = 2 + (unsigned)i;
        a.failures = 1;
        a.first_at = 1764000000;
        a.next_at = i == 1 ? 1764000060 : 0;
        snprintf(a.last_class, sizeof a.last_class, "%s", i == 2 ? "final" : "transient");
        snprintf(a.last_error, sizeof a.last_error, "HTTP 503 \"busy\"\tretry");
        if (i == 2) {
            snprintf(a.pending_cancel, sizeof a.pending_cancel, "BF41%s", "0A800101");
            snprintf(a.cancel_tid, sizeof a.cancel_tid, "%s", a.tid);
        }
        a.expected.known = true;
        memcpy(a.expected.iccid, "\x98\x94\x00\x00\x00\x00\x00\x90\x10\xF8", 10);
        a.expected.profile_class = (int)i;
        snprintf(a.expected.spn, sizeof a.expected.spn, "rspkit");
        snprintf(a.expected.name, sizeof a.expected.name, "Fuzz profile %zu", i);
        a.expected.has_owner = i != 1;
        if (a.expected.has_owner)
            memcpy(a.expected.owner_mcc_mnc, "\x00\xF1\x10", 3);
        snprintf(a.iccid, sizeof a.iccid, "89490000000000091018");
        if (i == 0)
            memset(a.aid, 0xA0, sizeof a.aid);
        char d[512], from[600], to[600];
        snprintf(d, sizeof d, "%s/.seed-tmp", out);
        snprintf(from, sizeof from, "%s/attempt.json", d);
        snprintf(to, sizeof to, "%s/seed-%s", out, rsp_lpa_att_state_name(a.state));
        if (rsp_lpa_attempt_save(d, &a) != 0 || rename(from, to) != 0 || rmdir(d) != 0)
            abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *out = getenv("FUZZ_LPA_ATTEMPT_DUMP");
    if (out)
        dump_seeds(out);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        /* tmpfs when present: the record's atomic save fsyncs, which on a disk costs a
         * journal commit per accepted input (about 1,000 executions/s, not the parser) */
        snprintf(dir, sizeof dir, "%s/fuzz-lpa-attempt.XXXXXX",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/attempt.json", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    struct rsp_lpa_attempt a, b;
    char err[256];
    memset(&a, 0, sizeof a);
    int rc = rsp_lpa_attempt_load(dir, &a, NULL, err, sizeof err);
    if (rc != 0) {
        if (rc != RSP_ESYNTAX && rc != RSP_ENOTFOUND && rc != RSP_ERANGE)
            abort();
        return 0;
    }
    if (rsp_lpa_attempt_save(dir, &a) != 0)
        abort();
    memset(&b, 0, sizeof b);
    if (rsp_lpa_attempt_load(dir, &b, NULL, err, sizeof err) != 0 || !same(&a, &b))
        abort();
    return 0;
}
