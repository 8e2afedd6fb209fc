/* libFuzzer target: the CSV of rspctl profiles import --csv (src/ops/inventory_csv.c).
 * Input: the CSV text, parsed with base directory "/b".
 * Properties: no crash, leak or undefined behaviour; labels are "line N" with N increasing and
 * inside the text; every path is absolute, at most RSP_INVENTORY_CSV_PATH_MAX - 1 bytes, without
 * a comma, newline or NUL; a refusal names a line inside the text and comes after the pairs of
 * the lines before it; and the pairs written back as "package,manifest" lines parse again to the
 * same pairs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/inventory_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    char *text; /* the pairs as "package,manifest\n" lines */
    size_t len, cap;
    size_t n, last_line, lines;
    const char *compare; /* second pass: the lines to meet */
    size_t at;
};

static int on_pair(void *ctx, const char *label, const char *pkg, const char *man)
{
    struct rec *r = ctx;
    unsigned long line;
    char tail;
    if (sscanf(label, "line %lu%c", &line, &tail) != 1 || line <= r->last_line || line > r->lines)
        abort();
    r->last_line = line;
    const char *paths[2] = {pkg, man};
    for (int i = 0; i < 2; i++) {
        size_t l = strlen(paths[i]);
        if (paths[i][0] != '/' || l >= RSP_INVENTORY_CSV_PATH_MAX || strchr(paths[i], ',') ||
            strchr(paths[i], '\n'))
            abort();
    }
    size_t need = strlen(pkg) + strlen(man) + 3; /* ",", "\n" and the NUL of sprintf */
    if (r->compare) {                            /* second pass: the same pairs, in order */
        if (strncmp(r->compare + r->at, pkg, strlen(pkg)) != 0)
            abort();
        r->at += strlen(pkg);
        if (r->compare[r->at++] != ',' || strncmp(r->compare + r->at, man, strlen(man)) != 0)
            abort();
        r->at += strlen(man);
        if (r->compare[r->at++] != '\n')
            abort();
        r->n++;
        return 0;
    }
    if (r->len + need > r->cap) {
        size_t cap = (r->len + need) * 2;
        char *t = realloc(r->text, cap);
        if (!t)
            abort();
        r->text = t;
        r->cap = cap;
    }
    r->len += (size_t)sprintf(r->text + r->len, "%s,%s\n", pkg, man);
    r->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    r.lines = 1;
    for (size_t i = 0; i < size; i++)
        r.lines += data[i] == '\n';
    size_t line = 0;
    int rc = rsp_inventory_csv_parse((const char *)data, size, "/b", on_pair, &r, &line);
    if (rc != 0) {
        if ((rc != RSP_ESYNTAX && rc != RSP_ERANGE) || line == 0 || line > r.lines ||
            line <= r.last_line)
            abort();
    } else if (line != 0) {
        abort();
    }
    if (rc == 0 && r.len) {
        /* written back, the pairs parse again to themselves (absolute paths are kept) */
        struct rec again;
        memset(&again, 0, sizeof again);
        again.lines = r.n + 1;
        again.compare = r.text;
        if (rsp_inventory_csv_parse(r.text, r.len, "/other", on_pair, &again, &line) != 0 ||
            again.n != r.n || again.at != r.len)
            abort();
    }
    free(r.text);
    return 0;
}
