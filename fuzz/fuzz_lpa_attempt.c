/* libFuzzer target: rsp-lpa's persisted attempt record (STATE/attempt.json, read back after a
 * crash by rsp_lpa_attempt_load). The input is written as the record of a scratch directory.
 * Properties: no crash (ASan/UBSan); a record either loads whole or is refused with RSP_ESYNTAX;
 * a loaded record saves and loads again to the same struct. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/lpa_attempt.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz-lpa-attempt.XXXXXX");
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
    if (rsp_lpa_attempt_load(dir, &b, NULL, err, sizeof err) != 0)
        abort();
    return 0;
}
