/* Acceptance run reports: JUnit XML and a self-contained HTML page (include/rsp/acceptance.h).
 * Pure: a report in, bytes out. Every text field may hold hostile bytes (a card's answer, an
 * SM-DP+ message, an operator's model name): esc() is the only way text enters a document. */
#include "rsp/acceptance.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rsp/err.h"

void rsp_accept_report_init(struct rsp_accept_report *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->suite, sizeof r->suite, "rspkit acceptance");
}

struct rsp_accept_step *rsp_accept_step_add(struct rsp_accept_report *r, const char *name)
{
    if (r->n >= RSP_ACCEPT_MAX_STEPS)
        return NULL;
    struct rsp_accept_step *s = &r->steps[r->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
    return s;
}

void rsp_accept_counts(const struct rsp_accept_report *r, size_t *passed, size_t *failed,
                       size_t *skipped)
{
    size_t p = 0, f = 0, s = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->steps[i].outcome == RSP_ACCEPT_PASS)
            p++;
        else if (r->steps[i].outcome == RSP_ACCEPT_FAIL)
            f++;
        else
            s++;
    }
    if (passed)
        *passed = p;
    if (failed)
        *failed = f;
    if (skipped)
        *skipped = s;
}

bool rsp_accept_passed(const struct rsp_accept_report *r)
{
    size_t p;
    rsp_accept_counts(r, &p, NULL, NULL);
    return r->n > 0 && p == r->n;
}

const struct rsp_accept_step *rsp_accept_first_failure(const struct rsp_accept_report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->steps[i].outcome == RSP_ACCEPT_FAIL)
            return &r->steps[i];
    return NULL;
}

static const char *outcome_name(enum rsp_accept_outcome o)
{
    return o == RSP_ACCEPT_PASS ? "pass" : o == RSP_ACCEPT_FAIL ? "fail" : "skip";
}

void rsp_accept_summary(const struct rsp_accept_report *r, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = 0;
    size_t len = 0;
    for (size_t i = 0; i < r->n; i++) {
        int w = snprintf(out + len, cap - len, "%s%s=%s:%.3f", i ? ";" : "", r->steps[i].name,
                         outcome_name(r->steps[i].outcome), r->steps[i].seconds);
        if (w < 0 || (size_t)w >= cap - len) {
            out[len] = 0; /* whole entries only */
            return;
        }
        len += (size_t)w;
    }
}

/* ---- output helpers ---- */

__attribute__((format(printf, 2, 3))) static void put(struct rsp_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        rsp_buf_append(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void puts_raw(struct rsp_buf *b, const char *s)
{
    rsp_buf_append(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (1-4) whose code point may appear in an XML 1.0
 * document, or 0. Control characters other than tab, LF and CR, surrogates, overlong forms,
 * code points above U+10FFFF and U+FFFE/U+FFFF are refused. */
static size_t xml_char(const unsigned char *p, size_t left, uint32_t *cp)
{
    unsigned char c = p[0];
    uint32_t v;
    size_t n;
    if (c < 0x80) {
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return 0;
        if (c == 0x7f)
            return 0;
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        v = c & 0x1F;
        n = 2;
    } else if ((c & 0xF0) == 0xE0) {
        v = c & 0x0F;
        n = 3;
    } else if ((c & 0xF8) == 0xF0) {
        v = c & 0x07;
        n = 4;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || v == 0xFFFE || v == 0xFFFF ||
        (v >= 0x80 && v <= 0x9F))
        return 0;
    *cp = v;
    return n;
}

/* Escaped text for XML/HTML element content and double- or single-quoted attributes: & < > " '
 * as entities, tab/LF/CR as character references when `attr` (attribute normalisation would
 * turn them into spaces), every byte that is not an allowed character as U+FFFD. At most `max`
 * input bytes. */
static void esc_n(struct rsp_buf *b, const char *s, size_t max, bool attr)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t left = strnlen((const char *)p, max);
    while (left) {
        uint32_t cp = 0;
        size_t n = xml_char(p, left, &cp);
        if (n == 0) {
            puts_raw(b, "\xEF\xBF\xBD");
            p++;
            left--;
            continue;
        }
        switch (cp) {
        case '&':
            puts_raw(b, "&amp;");
            break;
        case '<':
            puts_raw(b, "&lt;");
            break;
        case '>':
            puts_raw(b, "&gt;");
            break;
        case '"':
            puts_raw(b, "&quot;");
            break;
        case '\'':
            puts_raw(b, "&#39;");
            break;
        case '\t':
        case '\n':
        case '\r':
            if (attr)
                put(b, "&#%u;", (unsigned)cp);
            else
                rsp_buf_append(b, p, 1);
            break;
        default:
            rsp_buf_append(b, p, n);
        }
        p += n;
        left -= n;
    }
}

static void esc(struct rsp_buf *b, const char *s)
{
    esc_n(b, s, SIZE_MAX, false);
}

static void esc_attr(struct rsp_buf *b, const char *s)
{
    esc_n(b, s, SIZE_MAX, true);
}

static void iso_time(char out[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 32, "1970-01-01T00:00:00");
        return;
    }
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

static double total_seconds(const struct rsp_accept_report *r)
{
    if (r->finished_ms > r->started_ms)
        return (double)(r->finished_ms - r->started_ms) / 1000.0;
    double t = 0;
    for (size_t i = 0; i < r->n; i++)
        t += r->steps[i].seconds;
    return t;
}

/* The device and conditions as (name, value) pairs, for both documents. */
struct prop {
    const char *name;
    const char *value;
};

static size_t props(const struct rsp_accept_report *r, struct prop *p)
{
    size_t n = 0;
    p[n++] = (struct prop){"device.model", r->model};
    p[n++] = (struct prop){"device.tac", r->tac};
    p[n++] = (struct prop){"target", r->target};
    p[n++] = (struct prop){"target.name", r->target_name};
    p[n++] = (struct prop){"euicc.eid", r->eid};
    p[n++] = (struct prop){"euicc.eum", r->eum};
    p[n++] = (struct prop){"euicc.sgp22_version", r->svn};
    p[n++] = (struct prop){"euicc.firmware", r->firmware};
    p[n++] = (struct prop){"smdp", r->smdp};
    p[n++] = (struct prop){"conditions", r->conditions};
    p[n++] = (struct prop){"impairment", r->impair};
    return n;
}

/* ---- JUnit XML ---- */

int rsp_accept_junit(const struct rsp_accept_report *r, struct rsp_buf *out)
{
    rsp_buf_reset(out);
    size_t passed, failed, skipped;
    rsp_accept_counts(r, &passed, &failed, &skipped);
    char ts[32];
    iso_time(ts, r->started_ms);
    double total = total_seconds(r);
    puts_raw(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
    esc_attr(out, r->suite);
    put(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
        r->n, failed, skipped, total);
    puts_raw(out, "  <testsuite name=\"");
    esc_attr(out, r->suite);
    put(out,
        "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\" "
        "timestamp=\"%s\" hostname=\"",
        r->n, failed, skipped, total, ts);
    esc_attr(out, r->hostname[0] ? r->hostname : "localhost");
    puts_raw(out, "\">\n    <properties>\n");
    struct prop p[16];
    size_t np = props(r, p);
    for (size_t i = 0; i < np; i++) {
        put(out, "      <property name=\"%s\" value=\"", p[i].name);
        esc_attr(out, p[i].value);
        puts_raw(out, "\"/>\n");
    }
    puts_raw(out, "    </properties>\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct rsp_accept_step *s = &r->steps[i];
        puts_raw(out, "    <testcase classname=\"acceptance.");
        esc_attr(out, r->target[0] ? r->target : "device");
        puts_raw(out, "\" name=\"");
        esc_attr(out, s->name);
        put(out, "\" time=\"%.3f\"", s->seconds);
        if (s->outcome == RSP_ACCEPT_PASS && !s->detail[0]) {
            puts_raw(out, "/>\n");
            continue;
        }
        puts_raw(out, ">\n");
        if (s->outcome == RSP_ACCEPT_FAIL) {
            puts_raw(out, "      <failure message=\"");
            esc_attr(out, s->message);
            puts_raw(out, "\" type=\"");
            esc_attr(out, s->name);
            puts_raw(out, "\">");
            esc(out, s->detail[0] ? s->detail : s->message);
            puts_raw(out, "</failure>\n");
        } else if (s->outcome == RSP_ACCEPT_SKIP) {
            puts_raw(out, "      <skipped message=\"");
            esc_attr(out, s->message);
            puts_raw(out, "\"/>\n");
        }
        if (s->detail[0] && s->outcome != RSP_ACCEPT_FAIL) {
            puts_raw(out, "      <system-out>");
            esc(out, s->detail);
            puts_raw(out, "</system-out>\n");
        }
        puts_raw(out, "    </testcase>\n");
    }
    puts_raw(out, "  </testsuite>\n</testsuites>\n");
    return out->err ? RSP_ENOMEM : 0;
}

/* ---- HTML ---- */

static const char html_style[] =
    "body{font-family:sans-serif;margin:2em;color:#222;background:#fff}"
    "h1{font-size:1.4em}table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#eee}.pass{color:#0a6b0a;font-weight:bold}"
    ".fail{color:#b00000;font-weight:bold}.skip{color:#777;font-weight:bold}"
    ".verdict{font-size:1.2em;padding:.4em .8em;display:inline-block;border:2px solid}"
    "pre{white-space:pre-wrap;margin:0;font-size:.9em}";

int rsp_accept_html(const struct rsp_accept_report *r, struct rsp_buf *out)
{
    rsp_buf_reset(out);
    size_t passed, failed, skipped;
    rsp_accept_counts(r, &passed, &failed, &skipped);
    bool ok = rsp_accept_passed(r);
    char ts[32], te[32];
    iso_time(ts, r->started_ms);
    iso_time(te, r->finished_ms);
    puts_raw(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'\">\n<title>");
    esc(out, r->suite);
    puts_raw(out, ": ");
    esc(out, r->model[0] ? r->model : r->tac);
    puts_raw(out, "</title>\n<style>");
    puts_raw(out, html_style);
    puts_raw(out, "</style>\n</head>\n<body>\n<h1>");
    esc(out, r->suite);
    puts_raw(out, "</h1>\n");
    put(out,
        "<p class=\"verdict %s\">%s: %zu passed, %zu failed, %zu skipped of %zu steps "
        "(%.3f s)</p>\n",
        ok ? "pass" : "fail", ok ? "PASSED" : "FAILED", passed, failed, skipped, r->n,
        total_seconds(r));
    put(out,
        "<p>Started %sZ, finished %sZ</p>\n<table>\n<tr><th>property</th><th>value</th></tr>\n", ts,
        te);
    struct prop p[16];
    size_t np = props(r, p);
    for (size_t i = 0; i < np; i++) {
        put(out, "<tr><td>%s</td><td>", p[i].name);
        esc(out, p[i].value);
        puts_raw(out, "</td></tr>\n");
    }
    puts_raw(out, "</table>\n<table>\n<tr><th>#</th><th>step</th><th>result</th><th>time (s)</th>"
                  "<th>message</th></tr>\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct rsp_accept_step *s = &r->steps[i];
        const char *cls = outcome_name(s->outcome);
        put(out, "<tr><td>%zu</td><td>", i + 1);
        esc(out, s->name);
        put(out, "</td><td class=\"%s\">%s</td><td>%.3f</td><td>", cls, cls, s->seconds);
        esc(out, s->message);
        if (s->detail[0]) {
            puts_raw(out, "<pre>");
            esc(out, s->detail);
            puts_raw(out, "</pre>");
        }
        puts_raw(out, "</td></tr>\n");
    }
    puts_raw(out, "</table>\n</body>\n</html>\n");
    return out->err ? RSP_ENOMEM : 0;
}
