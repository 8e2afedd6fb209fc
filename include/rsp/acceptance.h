/* Acceptance gating before mass roll-out (issue #6 item 4).
 *
 * `rspctl acceptance run` drives a first-boot suite (eUICC info, download, local verification,
 * enable, notification delivery, disable, delete, re-download) against a sample device and the
 * live SM-DP+; each step is one test case of a report (struct rsp_accept_report) written as JUnit
 * XML and as a self-contained HTML page. A run is recorded in the store (table acceptance_run,
 * struct rsp_acceptance_run) and audited. A campaign or a device model can be marked "requires
 * acceptance"; rsp_acceptance_gate then refuses its release until the latest recorded run for the
 * device model passed.
 *
 * Layers: the report writers (src/ops/acceptance_report.c) are pure (a report in, bytes out); the
 * gate (src/smdp/acceptance.c) reads the store; the runner is in rspctl
 * (src/bin/rspctl_acceptance.c).
 */
#ifndef RSP_ACCEPTANCE_H
#define RSP_ACCEPTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

/* ---- the report of one run ---- */

#define RSP_ACCEPT_MAX_STEPS   16
#define RSP_ACCEPT_NAME_MAX    32   /* step name, including the NUL */
#define RSP_ACCEPT_MESSAGE_MAX 512  /* one line: why a step failed or was skipped */
#define RSP_ACCEPT_DETAIL_MAX  2048 /* several lines: what the step did */
#define RSP_ACCEPT_TEXT_MAX    256  /* other text fields */

enum rsp_accept_outcome {
    RSP_ACCEPT_PASS = 0,
    RSP_ACCEPT_FAIL,
    RSP_ACCEPT_SKIP, /* not run: an earlier step it depends on failed */
};

struct rsp_accept_step {
    char name[RSP_ACCEPT_NAME_MAX]; /* "euicc-info", "download", ... */
    enum rsp_accept_outcome outcome;
    double seconds;
    char message[RSP_ACCEPT_MESSAGE_MAX];
    char detail[RSP_ACCEPT_DETAIL_MAX];
};

/* Every text field is arbitrary bytes from the card, the network or the operator: the writers
 * escape them (and replace what XML cannot carry), so no field can break the documents. */
struct rsp_accept_report {
    char suite[RSP_ACCEPT_TEXT_MAX];       /* test suite name */
    char model[RSP_ACCEPT_TEXT_MAX];       /* device model (operator) */
    char tac[16];                          /* device TAC, 8 digits, or "" */
    char target[16];                       /* "pcsc", "at" or "soft" */
    char target_name[RSP_ACCEPT_TEXT_MAX]; /* reader, device or directory */
    char eid[33];
    char eum[16];                   /* the EUM's identification: the first 8 digits of the EID */
    char svn[16];                   /* SGP.22 version the eUICC reports (EUICCInfo2 svn) */
    char firmware[16];              /* EUICCInfo2 euiccFirmwareVer */
    char smdp[RSP_ACCEPT_TEXT_MAX]; /* SM-DP+ address(es) */
    char conditions[RSP_ACCEPT_TEXT_MAX]; /* device conditions given ("battery=15 charging=1") */
    char impair[RSP_ACCEPT_TEXT_MAX];     /* network impairment given, "" none */
    char hostname[RSP_ACCEPT_TEXT_MAX];
    int64_t started_ms, finished_ms; /* unix milliseconds */
    size_t n;
    struct rsp_accept_step steps[RSP_ACCEPT_MAX_STEPS];
};

void rsp_accept_report_init(struct rsp_accept_report *r);
/* Appends a step (NULL when the report is full); the caller fills it. */
struct rsp_accept_step *rsp_accept_step_add(struct rsp_accept_report *r, const char *name);
/* Counts of the steps by outcome. */
void rsp_accept_counts(const struct rsp_accept_report *r, size_t *passed, size_t *failed,
                       size_t *skipped);
/* A run passes when it has at least one step and every step passed. */
bool rsp_accept_passed(const struct rsp_accept_report *r);
/* The first failed step, NULL if none. */
const struct rsp_accept_step *rsp_accept_first_failure(const struct rsp_accept_report *r);
/* Per-step summary "name=pass:1.234;name=fail:0.200;..." (seconds, three decimals), cut at cap
 * (always NUL-terminated). Step names are written as given (the runner's own names). */
void rsp_accept_summary(const struct rsp_accept_report *r, char *out, size_t cap);

/* JUnit XML: <testsuites> with one <testsuite> (tests, failures, errors=0, skipped, time,
 * timestamp, hostname, <properties> with the device and the conditions) and one <testcase> per
 * step (classname "acceptance.TARGET", name, time; <failure message type> with the detail, or
 * <skipped message>). Text is escaped; bytes that are not valid UTF-8 or not allowed in XML 1.0
 * become U+FFFD. Replaces out. 0 or RSP_ENOMEM. */
int rsp_accept_junit(const struct rsp_accept_report *r, struct rsp_buf *out);
/* A self-contained HTML5 page (inline style, no script, no external asset) with the verdict, the
 * device, the conditions and a table of the steps. Same escaping. Replaces out. */
int rsp_accept_html(const struct rsp_accept_report *r, struct rsp_buf *out);

/* ---- the gate (src/smdp/acceptance.c) ---- */

struct rsp_store;

/* rsp_acceptance_gate: release refused (a requirement is not met; `reason` says which). */
#define RSP_ACCEPTANCE_REFUSED 1

/* May a release for `campaign` (may be NULL or "") to devices of `model` (NULL or "": unknown)
 * go ahead? A requirement exists when the campaign or the model is marked (rspctl acceptance
 * require). With none: 0. With one: the latest recorded run for the model (matched against the
 * run's model name or TAC) decides: passed 0, failed or none (or no model given)
 * RSP_ACCEPTANCE_REFUSED with the reason, e.g. "campaign X requires a passing acceptance run for
 * model Y; last run #N failed at step 'enable'". Negative RSP_E* when the store fails. `reason`
 * (may be NULL) also gets the reason of an allowed release. */
int rsp_acceptance_gate(struct rsp_store *st, const char *campaign, const char *model, char *reason,
                        size_t reason_len);

#endif
