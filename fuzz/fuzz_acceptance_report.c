/* libFuzzer target: the acceptance report writers (src/ops/acceptance_report.c) with arbitrary
 * bytes in every text field. Properties checked on every input:
 * - no crash, no undefined behaviour (ASan/UBSan);
 * - both documents are valid UTF-8 without control characters other than tab, LF and CR;
 * - no field adds markup: the counts of '<', '>', '"' and '&'-less structure are those of the
 *   same report with every non-empty field replaced by "x" (the escaping turns every hostile
 *   byte into an entity, a character reference or U+FFFD).
 * Input: fields separated by 0x00 bytes, in the order of set_field(); the first byte picks the
 * steps' outcomes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/acceptance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NSTEPS = 4 };

/* Field k of the report (steps: name, message, detail for each). */
static char *field(struct rsp_accept_report *r, int k, size_t *cap)
{
    switch (k) {
    case 0:
        *cap = sizeof r->suite;
        return r->suite;
    case 1:
        *cap = sizeof r->model;
        return r->model;
    case 2:
        *cap = sizeof r->target;
        return r->target;
    case 3:
        *cap = sizeof r->eid;
        return r->eid;
    case 4:
        *cap = sizeof r->smdp;
        return r->smdp;
    case 5:
        *cap = sizeof r->conditions;
        return r->conditions;
    default:
        break;
    }
    k -= 6;
    if (k < 0 || k >= 3 * NSTEPS)
        return NULL;
    struct rsp_accept_step *s = &r->steps[k / 3];
    switch (k % 3) {
    case 0:
        *cap = sizeof s->name;
        return s->name;
    case 1:
        *cap = sizeof s->message;
        return s->message;
    default:
        *cap = sizeof s->detail;
        return s->detail;
    }
}

/* The checks scan every byte of four documents per input: without coverage instrumentation
 * (libFuzzer's comparison tracing of these loops took about two thirds of the time and says
 * nothing about the code under test). */
#define CHECKER __attribute__((no_sanitize("coverage"), noinline))

CHECKER static void check_utf8(const struct rsp_buf *b)
{
    size_t i = 0;
    while (i < b->len) {
        unsigned char c = b->data[i];
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!n || i + n > b->len)
            abort();
        for (size_t k = 1; k < n; k++)
            if ((b->data[i + k] & 0xC0) != 0x80)
                abort();
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            abort();
        i += n;
    }
}

CHECKER static void counts(const struct rsp_buf *b, size_t out[3])
{
    static const char special[3] = {'<', '>', '"'};
    for (int k = 0; k < 3; k++) {
        out[k] = 0;
        const uint8_t *p = b->data, *end = b->data + b->len;
        while (p < end && (p = memchr(p, special[k], (size_t)(end - p))) != NULL) {
            out[k]++;
            p++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rsp_accept_report r, skel;
    rsp_accept_report_init(&r);
    uint8_t sel = size ? data[0] : 0;
    for (int i = 0; i < NSTEPS; i++) {
        rsp_accept_step_add(&r, "");
        r.steps[i].outcome = (enum rsp_accept_outcome)((sel >> (2 * i)) % 3);
        r.steps[i].seconds = (double)i;
    }
    r.started_ms = 1700000000000;
    r.finished_ms = 1700000001000;
    size_t pos = size ? 1 : 0;
    for (int k = 0; pos < size; k++) {
        size_t cap;
        char *f = field(&r, k, &cap);
        if (!f)
            break;
        const uint8_t *end = memchr(data + pos, 0, size - pos);
        size_t n = end ? (size_t)(end - (data + pos)) : size - pos;
        size_t m = n < cap - 1 ? n : cap - 1;
        memcpy(f, data + pos, m);
        f[m] = 0;
        pos += n + 1;
    }
    skel = r;
    for (int k = 0;; k++) {
        size_t cap;
        char *f = field(&skel, k, &cap);
        if (!f)
            break;
        if (f[0]) /* same emptiness, no special bytes */
            memcpy(f, "x", 2);
    }
    struct rsp_buf a = RSP_BUF_INIT, b = RSP_BUF_INIT;
    for (int doc = 0; doc < 2; doc++) {
        int rc1 = doc ? rsp_accept_html(&r, &a) : rsp_accept_junit(&r, &a);
        int rc2 = doc ? rsp_accept_html(&skel, &b) : rsp_accept_junit(&skel, &b);
        if (rc1 || rc2)
            abort();
        check_utf8(&a);
        size_t ca[3], cb[3];
        counts(&a, ca);
        counts(&b, cb);
        if (memcmp(ca, cb, sizeof ca) != 0)
            abort();
    }
    rsp_buf_free(&a);
    rsp_buf_free(&b);
    return 0;
}
