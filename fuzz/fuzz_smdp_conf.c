/* libFuzzer target: rsp-smdp's configuration file parser and the pure checks of --check-config
 * (src/smdp/smdp_conf.c, the code rsp-smdp runs on its file).
 *
 * Input: the text of a configuration file, parsed over the defaults.
 * Properties:
 * - no crash, leak or undefined behaviour (ASan/UBSan);
 * - a refused text answers RSP_ESYNTAX with a message naming the origin and a line inside the
 *   text, and leaves the configuration byte for byte as it was;
 * - an accepted configuration goes through the checks of --check-config without the file checks
 *   (the pure ones): the number returned equals the messages reported, each non-empty; and its
 *   key = value part written back as text (every key, `key=value` lines) parses again to the
 *   same values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/smdp_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rsp_smdp_conf defaults, conf, again;

static void count(void *ctx, const char *message)
{
    if (!message || !message[0])
        abort();
    (*(int *)ctx)++;
}

/* every key as `key=value` lines (no blanks: a line is never longer than the one it came from) */
static size_t write_keys(const struct rsp_smdp_conf *c, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < rsp_smdp_conf_n_keys; i++) {
        const struct rsp_smdp_conf_key *k = &rsp_smdp_conf_keys[i];
        const char *p = (const char *)c + k->offset;
        int w;
        switch (k->type) {
        case RSP_SMDP_CONF_STR:
            w = snprintf(out + n, cap - n, "%s=%s\n", k->name, p);
            break;
        case RSP_SMDP_CONF_UINT:
            w = snprintf(out + n, cap - n, "%s=%u\n", k->name, *(const unsigned *)p);
            break;
        default:
            w = snprintf(out + n, cap - n, "%s=%s\n", k->name, *(const bool *)p ? "true" : "false");
            break;
        }
        if (w < 0 || (size_t)w >= cap - n)
            abort();
        n += (size_t)w;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[128 * 1024];
    char err[512];
    rsp_smdp_conf_defaults(&defaults);
    conf = defaults;
    err[0] = 0;
    int rc = rsp_smdp_conf_parse(&conf, (const char *)data, size, "fuzz.conf", err, sizeof err);
    if (rc != 0) {
        if (rc != RSP_ESYNTAX || memcmp(&conf, &defaults, sizeof conf) != 0)
            abort();
        unsigned long line = 0;
        if (strncmp(err, "fuzz.conf:", 10) != 0)
            abort();
        if (size <= RSP_SMDP_CONF_TEXT_MAX) {
            if (sscanf(err + 10, "%lu", &line) != 1 || line == 0)
                abort();
            size_t lines = 1;
            for (size_t i = 0; i < size; i++)
                lines += data[i] == '\n';
            if (line > lines)
                abort();
        }
        return 0;
    }
    int reported = 0;
    int problems = rsp_smdp_conf_check(&conf, count, NULL, &reported);
    if (problems < 0 || problems != reported)
        abort();
    /* the key = value part, written back, parses to the same values */
    size_t n = write_keys(&conf, text, sizeof text);
    rsp_smdp_conf_defaults(&again);
    if (rsp_smdp_conf_parse(&again, text, n, "again", err, sizeof err) != 0)
        abort();
    for (size_t i = 0; i < rsp_smdp_conf_n_keys; i++) {
        const struct rsp_smdp_conf_key *k = &rsp_smdp_conf_keys[i];
        const char *a = (const char *)&conf + k->offset, *b = (const char *)&again + k->offset;
        if (k->type == RSP_SMDP_CONF_STR ? strcmp(a, b) != 0 : memcmp(a, b, k->size) != 0)
            abort();
    }
    return 0;
}
