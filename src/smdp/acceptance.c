/* The acceptance gate (include/rsp/acceptance.h): may a release for a campaign and a device model
 * go ahead? Pure logic over the store: the requirement marks and the latest recorded run. */
#include "rsp/acceptance.h"

#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/store.h"

/* Names are at most RSP_STORE_TEXT_MAX bytes of printable ASCII (what the store accepts); a name
 * outside that cannot be marked, so it has no requirement. */
static bool name_ok(const char *s)
{
    size_t n = s ? strnlen(s, RSP_STORE_TEXT_MAX + 1) : 0;
    if (n == 0 || n > RSP_STORE_TEXT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

int rsp_acceptance_gate(struct rsp_store *st, const char *campaign, const char *model, char *reason,
                        size_t reason_len)
{
    char dummy[8];
    if (!reason || !reason_len) {
        reason = dummy;
        reason_len = sizeof dummy;
    }
    reason[0] = 0;
    if (!st)
        return RSP_EINVAL;
    bool by_campaign = false, by_model = false;
    int rc;
    if (name_ok(campaign) &&
        (rc = rsp_store_acceptance_required(st, "campaign", campaign, &by_campaign)) != 0)
        return rc;
    if (name_ok(model) && (rc = rsp_store_acceptance_required(st, "model", model, &by_model)) != 0)
        return rc;
    /* Who asks: named in every refusal so the operator knows which mark to look at. */
    char who[2 * RSP_STORE_TEXT_MAX + 32];
    if (by_campaign)
        snprintf(who, sizeof who, "campaign %s", campaign);
    else
        snprintf(who, sizeof who, "device model %s", by_model ? model : "");
    if (!by_campaign && !by_model) {
        snprintf(reason, reason_len, "no acceptance requirement for %s%s%s%s",
                 campaign && *campaign ? "campaign " : "", campaign && *campaign ? campaign : "",
                 campaign && *campaign && model && *model ? " or " : "",
                 model && *model ? "device model " : "");
        if (model && *model)
            snprintf(reason + strlen(reason), reason_len - strlen(reason), "%s", model);
        return 0;
    }
    if (!model || !*model) {
        snprintf(reason, reason_len,
                 "%s requires a passing acceptance run for the device model; no model given", who);
        return RSP_ACCEPTANCE_REFUSED;
    }
    if (!name_ok(model)) {
        snprintf(reason, reason_len,
                 "%s requires a passing acceptance run; the device model name is not valid", who);
        return RSP_ACCEPTANCE_REFUSED;
    }
    struct rsp_acceptance_run run;
    rc = rsp_store_acceptance_run_latest(st, model, &run);
    if (rc == RSP_ENOTFOUND) {
        snprintf(reason, reason_len,
                 "%s requires a passing acceptance run for model %s; none recorded", who, model);
        return RSP_ACCEPTANCE_REFUSED;
    }
    if (rc)
        return rc;
    if (!run.passed) {
        snprintf(reason, reason_len,
                 "%s requires a passing acceptance run for model %s; last run #%lld failed at "
                 "step '%s'",
                 who, model, (long long)run.id, run.failed_step[0] ? run.failed_step : "?");
        return RSP_ACCEPTANCE_REFUSED;
    }
    snprintf(reason, reason_len, "%s: acceptance run #%lld for model %s passed", who,
             (long long)run.id, model);
    return 0;
}
