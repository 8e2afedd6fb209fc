/* libFuzzer target: reconciliation event files (src/smdp/recon.c), as `rspctl recon import` and
 * the push endpoint read them, fed to the matcher. The first byte picks the format (CSV or JSON
 * lines) and the kind. Properties:
 * - no crash, no leak, no undefined behaviour;
 * - a refusal always says why (a non-empty message), and no event is delivered after it;
 * - every accepted event has an event_id and at least one of ICCID, IMSI, EID, with fields of
 *   the documented shapes, and the matcher takes it. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/recon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (!n)
        return true;
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int take(void *arg, const struct rsp_recon_event *ev)
{
    if (!ev->event_id[0] || (!ev->iccid[0] && !ev->imsi[0] && !ev->eid[0]) ||
        !digits(ev->iccid, 18, 20) || !digits(ev->imsi, 6, 15) || !digits(ev->eid, 32, 32) ||
        !digits(ev->imei, 14, 16))
        abort();
    if (rsp_recon_add_event(arg, ev) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum rsp_recon_format fmt = (data[0] & 1) ? RSP_RECON_JSONL : RSP_RECON_CSV;
    enum rsp_recon_kind kind = (enum rsp_recon_kind)((data[0] >> 1) % RSP_RECON_NKINDS);
    struct rsp_recon_profile p = {.iccid = "8944000000000000001",
                                  .imsi = "001010000000001",
                                  .eid = "89049032123451234512345678901235",
                                  .state = RSP_PROFILE_INSTALLED,
                                  .tariff = "plan-a"};
    struct rsp_recon *r = NULL;
    if (rsp_recon_new(&p, 1, &r) != 0)
        abort();
    char err[256] = "";
    int rc = rsp_recon_parse(fmt, kind, (const char *)data + 1, size - 1, take, r, err, sizeof err);
    if (rc == RSP_ESYNTAX && !err[0])
        abort();
    if (rc != 0 && rc != RSP_ESYNTAX)
        abort();
    struct rsp_recon_params prm = {1800000000, 3600, 3600, 3600};
    struct rsp_recon_finding *f = NULL;
    size_t n = 0, counts[RSP_DISC_NKINDS];
    if (rsp_recon_findings(r, &prm, &f, &n, counts) != 0)
        abort();
    free(f);
    rsp_recon_free(r);
    return 0;
}
