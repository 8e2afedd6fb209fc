/* libFuzzer target: audit archives (src/smdp/audit_archive.c) read line by line into the audit
 * verifier (src/smdp/audit.c), as `rspctl audit verify --archive` does. Properties:
 * - no crash, no leak, no undefined behaviour;
 * - a refused line always comes with a reason;
 * - an archive that verifies without findings holds exactly the records its header announces,
 *   and its last record is covered by a valid checkpoint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/audit_archive.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *arg, const struct rsp_audit_finding *f)
{
    if (!f->detail[0])
        abort();
    (*(unsigned *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned findings = 0;
    struct rsp_audit_archive_reader *r = NULL;
    if (rsp_audit_archive_reader_new(NULL, 0, count, &findings, &r) != 0)
        abort();
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && i < size) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (data + i)) : size - i;
        rc = rsp_audit_archive_reader_line(r, (const char *)data + i, n);
        i += n + 1;
    }
    if (rc == RSP_ESYNTAX && !rsp_audit_archive_reader_error(r)[0])
        abort();
    struct rsp_audit_verify_result res;
    if (rc == 0 && rsp_audit_archive_reader_finish(r, &res) == 0 && res.findings == 0) {
        const struct rsp_audit_archive_info *info = rsp_audit_archive_reader_info(r);
        if (findings || !info || res.records != info->n_records || res.last_seq != info->last_seq ||
            res.signed_seq != info->last_seq)
            abort();
    }
    rsp_audit_archive_reader_free(r);
    return 0;
}
