/* libFuzzer target: ES9+ and ES2+ request parsing (src/smdp/es9p_json.c, es2p_json.c). The first
 * input byte picks the function, the rest is the request body. Properties:
 * - no crash, no leak, no undefined behaviour;
 * - a refused body always comes with a refusal (subject and reason set), and the refusal encodes;
 * - an accepted body re-encodes, and the re-encoding decodes and re-encodes to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/es2p_json.h"
#include "rsp/es9p_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(const struct rsp_status_code *c)
{
    struct rsp_buf b = RSP_BUF_INIT;
    if (!c->subject[0] || !c->reason[0] || rsp_es_encode_failure(c, &b) != 0)
        abort();
    rsp_buf_free(&b);
}

static void fuzz_es9(enum rsp_es9_function fn, const char *body, size_t len)
{
    struct rsp_es9_request r, r2;
    struct rsp_status_code c;
    memset(&c, 0, sizeof c);
    if (rsp_es9_decode_request(fn, body, len, &r, &c) != 0) {
        check_refusal(&c);
        return;
    }
    struct rsp_buf a = RSP_BUF_INIT, b = RSP_BUF_INIT;
    if (rsp_es9_encode_request(&r, &a) != 0 ||
        rsp_es9_decode_request(fn, (const char *)a.data, a.len, &r2, &c) != 0)
        abort();
    if (rsp_es9_encode_request(&r2, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
        abort();
    rsp_es9_request_free(&r);
    rsp_es9_request_free(&r2);
    rsp_buf_free(&a);
    rsp_buf_free(&b);
}

static void fuzz_es2(enum rsp_es2_function fn, const char *body, size_t len)
{
    struct rsp_es2_request r, r2;
    struct rsp_status_code c;
    memset(&c, 0, sizeof c);
    if (rsp_es2_decode_request(fn, body, len, &r, &c) != 0) {
        check_refusal(&c);
        return;
    }
    struct rsp_buf a = RSP_BUF_INIT, b = RSP_BUF_INIT;
    if (rsp_es2_encode_request(&r, &a) != 0 ||
        rsp_es2_decode_request(fn, (const char *)a.data, a.len, &r2, &c) != 0)
        abort();
    if (rsp_es2_encode_request(&r2, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
        abort();
    rsp_es2_request_free(&r);
    rsp_es2_request_free(&r2);
    rsp_buf_free(&a);
    rsp_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0] % (RSP_ES9_NFUNCTIONS + RSP_ES2_NFUNCTIONS);
    const char *body = (const char *)data + 1;
    if (sel < RSP_ES9_NFUNCTIONS)
        fuzz_es9((enum rsp_es9_function)sel, body, size - 1);
    else
        fuzz_es2((enum rsp_es2_function)(sel - RSP_ES9_NFUNCTIONS), body, size - 1);
    /* the response side too: any body as a response header */
    struct rsp_es_exec_status st;
    rsp_es_decode_header(body, size - 1, &st);
    return 0;
}
