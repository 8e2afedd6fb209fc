/* rspctl decode: prints the TLV tree of an SGP.22 message for humans chasing interop problems.
 * Input is raw DER, hex text or base64 text (as found in ES9+ JSON), detected automatically. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/buf.h"
#include "rsp/err.h"
#include "rsp/tlvdump.h"
#include "rspctl.h"

static void decode_usage(FILE *f)
{
    fprintf(f, "usage: rspctl decode [--hex|--base64|--der] [--depth N] FILE|-\n"
               "\n"
               "Prints the BER-TLV tree of FILE (or standard input) with SGP.22 names for tags\n"
               "such as BF38 AuthenticateServer or 5F37 signature. The input format is detected\n"
               "(hex text, base64 text or binary DER) unless given. Exits 1 on malformed input,\n"
               "after printing the offset where it breaks.\n");
}

enum fmt { FMT_AUTO, FMT_HEX, FMT_B64, FMT_DER };

/* Copies p[0..n) without ASCII white space. */
static void strip_space(const struct rsp_buf *in, struct rsp_buf *out)
{
    for (size_t i = 0; i < in->len; i++)
        if (!isspace(in->data[i]))
            rsp_buf_append_byte(out, in->data[i]);
}

static enum fmt detect(const struct rsp_buf *txt)
{
    bool hex = txt->len > 0 && txt->len % 2 == 0, b64 = txt->len > 0 && txt->len % 4 == 0;
    for (size_t i = 0; i < txt->len; i++) {
        int c = txt->data[i];
        if (!isxdigit(c))
            hex = false;
        if (!isalnum(c) && c != '+' && c != '/' && c != '=')
            b64 = false;
    }
    return hex ? FMT_HEX : b64 ? FMT_B64 : FMT_DER;
}

int rspctl_cmd_decode(int argc, char **argv)
{
    enum fmt fmt = FMT_AUTO;
    int depth = 32;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
        if (rspctl_is_help(argv[i])) {
            decode_usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--hex") == 0) {
            fmt = FMT_HEX;
        } else if (strcmp(argv[i], "--base64") == 0) {
            fmt = FMT_B64;
        } else if (strcmp(argv[i], "--der") == 0) {
            fmt = FMT_DER;
        } else if ((m = rspctl_opt_value(argc, argv, &i, "--depth", &v)) != 0) {
            if (m < 0 || (depth = atoi(v)) < 0) {
                decode_usage(stderr);
                return EXIT_USAGE;
            }
        } else if (!path && (argv[i][0] != '-' || argv[i][1] == 0)) {
            path = argv[i];
        } else {
            decode_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!path) {
        decode_usage(stderr);
        return EXIT_USAGE;
    }
    struct rsp_buf raw = RSP_BUF_INIT, txt = RSP_BUF_INIT, der = RSP_BUF_INIT;
    int rc = rspctl_read_file(path, &raw);
    if (rc) {
        fprintf(stderr, "rspctl decode: cannot read %s\n", path);
        rsp_buf_free(&raw);
        return 1;
    }
    if (fmt != FMT_DER)
        strip_space(&raw, &txt);
    if (fmt == FMT_AUTO)
        fmt = detect(&txt);
    if (fmt == FMT_HEX)
        rc = rsp_hex_decode(&der, (const char *)txt.data, txt.len);
    else if (fmt == FMT_B64)
        rc = rsp_base64_decode(&der, (const char *)txt.data, txt.len);
    else
        rc = rsp_buf_set(&der, raw.data, raw.len);
    if (rc) {
        fprintf(stderr, "rspctl decode: %s input is malformed: %s\n",
                fmt == FMT_HEX ? "hex" : "base64", rsp_strerror(rc));
    } else {
        rc = rsp_tlvdump(stdout, der.data, der.len, depth);
    }
    rsp_buf_free(&raw);
    rsp_buf_free(&txt);
    rsp_buf_free(&der);
    return rc ? 1 : 0;
}
