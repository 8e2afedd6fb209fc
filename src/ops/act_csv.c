/* Bulk activation orders from CSV (rsp/act_ops.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/act_ops.h"
#include "rsp/err.h"

enum col {
    C_ORDER_ID,
    C_CUSTOMER,
    C_TARIFF,
    C_CAMPAIGN,
    C_COUNTRY,
    C_PTYPE,
    C_ICCID,
    C_EID,
    C_TAC,
    C_MODEL,
    C_N
};

static const char *const col_names[C_N] = {
    "order_id",     "customer_ref", "tariff_plan", "campaign", "country",
    "profile_type", "iccid",        "eid",         "tac",      "device_model",
};

#define MAX_FIELDS 32

__attribute__((format(printf, 3, 4))) static void err(struct rsp_act_csv *c, size_t line,
                                                      const char *fmt, ...)
{
    c->total_errors++;
    if (c->n_errors >= RSP_ACT_CSV_MAX_ERRORS)
        return;
    struct rsp_act_csv_error *e = &c->errors[c->n_errors++];
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* Splits one line (no line end) into fields written NUL-terminated into buf (same size as the
 * line + 1). Returns the field count, or -1 with *why set. */
static int split(const char *s, size_t n, char *buf, char *fields[MAX_FIELDS], const char **why)
{
    int nf = 0;
    size_t i = 0, o = 0;
    for (;;) {
        if (nf == MAX_FIELDS)
            return *why = "too many fields", -1;
        fields[nf++] = buf + o;
        if (i < n && s[i] == '"') {
            i++;
            for (;;) {
                if (i >= n)
                    return *why = "unterminated quoted field", -1;
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        buf[o++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                buf[o++] = s[i++];
            }
            if (i < n && s[i] != ',')
                return *why = "text after a closing quote", -1;
        } else {
            while (i < n && s[i] != ',') {
                if (s[i] == '"')
                    return *why = "quote inside an unquoted field", -1;
                buf[o++] = s[i++];
            }
        }
        buf[o++] = 0;
        if (i >= n)
            return nf;
        i++; /* the comma */
    }
}

static int cmp_id(const void *a, const void *b)
{
    const struct rsp_act_order *const *x = a, *const *y = b;
    return strcmp((*x)->order_id, (*y)->order_id);
}

int rsp_act_csv_parse(const char *data, size_t len, struct rsp_act_csv *out)
{
    if (!data || !out)
        return RSP_EINVAL;
    memset(out, 0, sizeof *out);
    /* rows are at most the number of line ends + 1 */
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += data[i] == '\n';
    if (cap > RSP_ACT_CSV_MAX_ROWS + 1) {
        err(out, 0, "more than %d lines", RSP_ACT_CSV_MAX_ROWS);
        return RSP_ERANGE;
    }
    out->orders = calloc(cap, sizeof *out->orders);
    out->lines = calloc(cap, sizeof *out->lines);
    char *buf = malloc(RSP_ACT_CSV_MAX_LINE + 1);
    if (!out->orders || !out->lines || !buf) {
        free(buf);
        rsp_act_csv_free(out);
        return RSP_ENOMEM;
    }
    int map[MAX_FIELDS]; /* field index -> column, -1 unused */
    int nhdr = 0;
    bool have_header = false;
    size_t line = 0, pos = 0;
    while (pos < len) {
        line++;
        size_t end = pos;
        while (end < len && data[end] != '\n')
            end++;
        size_t n = end - pos;
        if (n && data[pos + n - 1] == '\r')
            n--;
        const char *s = data + pos;
        pos = end < len ? end + 1 : end;
        if (n == 0)
            continue;
        if (n > RSP_ACT_CSV_MAX_LINE) {
            err(out, line, "line longer than %d bytes", RSP_ACT_CSV_MAX_LINE);
            if (!have_header)
                break;
            continue;
        }
        if (memchr(s, 0, n)) {
            err(out, line, "NUL byte");
            continue;
        }
        char *f[MAX_FIELDS];
        const char *why = NULL;
        int nf = split(s, n, buf, f, &why);
        if (nf < 0) {
            err(out, line, "%s", why);
            if (!have_header)
                break;
            continue;
        }
        if (!have_header) {
            bool seen[C_N] = {false};
            bool ok = true;
            for (int i = 0; i < nf; i++) {
                map[i] = -1;
                for (int c = 0; c < C_N; c++)
                    if (strcmp(f[i], col_names[c]) == 0)
                        map[i] = c;
                if (map[i] < 0) {
                    err(out, line, "unknown column '%.40s'", f[i]);
                    ok = false;
                } else if (seen[map[i]]) {
                    err(out, line, "column '%s' twice", col_names[map[i]]);
                    ok = false;
                } else {
                    seen[map[i]] = true;
                }
            }
            if (ok && (!seen[C_ORDER_ID] || !seen[C_CUSTOMER])) {
                err(out, line, "header must name order_id and customer_ref");
                ok = false;
            }
            if (!ok)
                break;
            nhdr = nf;
            have_header = true;
            continue;
        }
        if (nf != nhdr) {
            err(out, line, "%d fields, the header has %d", nf, nhdr);
            continue;
        }
        struct rsp_act_order *o = &out->orders[out->n];
        memset(o, 0, sizeof *o);
        bool ok = true;
        for (int i = 0; i < nf && ok; i++) {
            char *dst;
            size_t dcap;
            switch (map[i]) {
#define D(C, F)                                                                                    \
    case C:                                                                                        \
        dst = o->F;                                                                                \
        dcap = sizeof o->F;                                                                        \
        break;
                D(C_ORDER_ID, order_id)
                D(C_CUSTOMER, customer_ref)
                D(C_TARIFF, tariff_plan)
                D(C_CAMPAIGN, campaign)
                D(C_COUNTRY, country)
                D(C_PTYPE, profile_type)
                D(C_ICCID, iccid)
                D(C_EID, eid)
                D(C_TAC, tac)
                D(C_MODEL, device_model)
#undef D
            default:
                continue;
            }
            if (strlen(f[i]) >= dcap) {
                err(out, line, "%s longer than %zu characters", col_names[map[i]], dcap - 1);
                ok = false;
            } else {
                memcpy(dst, f[i], strlen(f[i]) + 1);
            }
        }
        if (!ok)
            continue;
        o->stage = RSP_ACT_PRE_PROVISIONED;
        if (rsp_act_order_validate(o, &why) != 0) {
            err(out, line, "%s", why);
            continue;
        }
        out->lines[out->n++] = line;
    }
    free(buf);
    if (!have_header && out->total_errors == 0)
        err(out, line ? line : 1, "no header row");
    /* duplicate order ids within the file */
    if (out->n > 1) {
        struct rsp_act_order **idx = malloc(out->n * sizeof *idx);
        if (!idx) {
            rsp_act_csv_free(out);
            return RSP_ENOMEM;
        }
        for (size_t i = 0; i < out->n; i++)
            idx[i] = &out->orders[i];
        qsort(idx, out->n, sizeof *idx, cmp_id);
        for (size_t i = 1; i < out->n; i++)
            if (strcmp(idx[i]->order_id, idx[i - 1]->order_id) == 0) {
                size_t a = out->lines[idx[i - 1] - out->orders],
                       b = out->lines[idx[i] - out->orders];
                err(out, a > b ? a : b, "order_id %s also on line %zu", idx[i]->order_id,
                    a > b ? b : a);
            }
        free(idx);
    }
    return 0;
}

void rsp_act_csv_free(struct rsp_act_csv *c)
{
    if (!c)
        return;
    free(c->orders);
    free(c->lines);
    c->orders = NULL;
    c->lines = NULL;
    c->n = 0;
}
