/* rspctl qr: the QR code of an activation code, in the terminal, as PNG or as SVG. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/qr.h"
#include "rsp/sgp22_types.h"
#include "rspctl.h"

static void qr_usage(FILE *f)
{
    fprintf(f, "usage: rspctl qr [--png FILE] [--svg FILE] [--module-px N] [--no-terminal]\n"
               "                 'LPA:1$SMDP$MATCHINGID[...]'\n"
               "\n"
               "Checks the activation code (SGP.22 section 4.1; the LPA: prefix is added when\n"
               "missing), then prints its QR code in the terminal and/or writes it as a PNG or\n"
               "SVG file (written atomically). --module-px sets the pixels per module (8).\n");
}

static int write_file(const char *path, const struct rsp_buf *b)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path)
        snprintf(dir, sizeof dir, "/");
    return rspctl_write_atomic(dir, name, b->data, b->len, 0644);
}

int rspctl_cmd_qr(int argc, char **argv)
{
    const char *png = NULL, *svg = NULL, *text = NULL, *v;
    unsigned px = 8;
    bool terminal = true;
    for (int i = 1; i < argc; i++) {
        int m;
        if (rspctl_is_help(argv[i])) {
            qr_usage(stdout);
            return 0;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--png", &v)) != 0) {
            if (m < 0)
                goto usage;
            png = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--svg", &v)) != 0) {
            if (m < 0)
                goto usage;
            svg = v;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--module-px", &v)) != 0) {
            if (m < 0 || (px = (unsigned)atoi(v)) < 1 || px > 64)
                goto usage;
        } else if (strcmp(argv[i], "--no-terminal") == 0) {
            terminal = false;
        } else if (!text && argv[i][0] != '-') {
            text = argv[i];
        } else {
            goto usage;
        }
    }
    if (!text)
        goto usage;
    struct rsp_activation_code ac;
    if (rsp_actcode_parse(text, strlen(text), &ac) != 0) {
        fprintf(stderr, "rspctl qr: not a valid activation code: %s\n", text);
        return 1;
    }
    struct rsp_buf canon = RSP_BUF_INIT;
    if (rsp_actcode_format(&ac, true, &canon) != 0 || rsp_buf_append_byte(&canon, 0) != 0) {
        rsp_buf_free(&canon);
        return 1;
    }
    const char *code = (const char *)canon.data;
    int rc = 0;
    if (terminal)
        rc = rsp_qr_terminal(stdout, code);
    struct rsp_buf out = RSP_BUF_INIT;
    if (rc == 0 && png && (rc = rsp_qr_png(code, px, &out)) == 0)
        rc = write_file(png, &out);
    rsp_buf_reset(&out);
    if (rc == 0 && svg && (rc = rsp_qr_svg(code, px, &out)) == 0)
        rc = write_file(svg, &out);
    rsp_buf_free(&out);
    rsp_buf_free(&canon);
    if (rc) {
        fprintf(stderr, "rspctl qr: %s\n", rsp_strerror(rc));
        return 1;
    }
    return 0;
usage:
    qr_usage(stderr);
    return EXIT_USAGE;
}
