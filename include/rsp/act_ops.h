/* Operator-side helpers of the activation workflow (src/ops, program layer): the bulk-order CSV
 * parser and the identity-check hook.
 *
 * CSV (RFC 4180 subset): UTF-8/ASCII, comma-separated, a header row naming the columns (any
 * order; names below), one order per line, LF or CRLF line ends, blank lines ignored, fields may
 * be quoted ("..." with "" for a quote; no line breaks inside quotes). Columns: order_id and
 * customer_ref (required), tariff_plan, campaign, country, profile_type, iccid, eid, tac,
 * device_model; profile_type or iccid per line. Bounded: RSP_ACT_CSV_MAX_LINE bytes per line,
 * RSP_ACT_CSV_MAX_ROWS lines. Every line is checked (rsp_act_order_validate, duplicate order ids
 * within the file) and every bad line reported with its line number; the caller commits nothing
 * unless there is no error (rspctl order create --csv: all or nothing).
 */
#ifndef RSP_ACT_OPS_H
#define RSP_ACT_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "rsp/act.h"

#define RSP_ACT_CSV_MAX_LINE   4096
#define RSP_ACT_CSV_MAX_ROWS   1000000
#define RSP_ACT_CSV_MAX_ERRORS 100 /* errors kept (all are counted) */

struct rsp_act_csv_error {
    size_t line; /* 1-based line number in the file */
    char msg[160];
};

struct rsp_act_csv {
    struct rsp_act_order *orders; /* stage pre-provisioned */
    size_t *lines;                /* the line of each order */
    size_t n;
    struct rsp_act_csv_error errors[RSP_ACT_CSV_MAX_ERRORS];
    size_t n_errors; /* kept */
    size_t total_errors;
};

/* Parses data (not NUL-terminated). 0 with out filled (check total_errors), RSP_ENOMEM, or
 * RSP_ERANGE for a file over RSP_ACT_CSV_MAX_ROWS lines (also reported as an error). */
int rsp_act_csv_parse(const char *data, size_t len, struct rsp_act_csv *out);
void rsp_act_csv_free(struct rsp_act_csv *c);

/* Identity check of an order before it is stored. `spec` is a command (run with /bin/sh -c, the
 * order as JSON on its standard input, {"result":"pass"|"fail","reason":"..."} expected on its
 * standard output, exit status 0) or an http:// / https:// URL (the JSON POSTed, the same JSON
 * answer in a 2xx). timeout_s bounds the whole check (0 = 10). Any failure of the hook itself
 * (timeout, exit status, unparsable answer, HTTP error) is a failed check whose reason starts
 * with "identity check error:". Returns 0 with *pass and reason set; negative only for
 * RSP_EINVAL/RSP_ENOMEM. The JSON sent carries the order's fields (customer reference
 * included: the identity provider needs it). */
int rsp_act_identity_check(const char *spec, unsigned timeout_s, const struct rsp_act_order *o,
                           bool *pass, char *reason, size_t reason_len);

#endif
