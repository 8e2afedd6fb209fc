/* Helpers shared by the certificate tests (static inline: each test program uses a subset). */
#ifndef RSP_CERTTEST_H
#define RSP_CERTTEST_H

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/err.h"
#include "testutil.h"

/* Loads and parses a certificate file, failing the test if it does not parse. */
static inline struct rsp_cert *ct_load(const char *path)
{
    struct rsp_buf b = tu_load(path);
    struct rsp_cert *c = NULL;
    int rc = rsp_cert_parse(b.data, b.len, &c);
    rsp_buf_free(&b);
    if (rc != 0)
        fail_msg("%s: rsp_cert_parse = %d (%s)", path, rc, rsp_strerror(rc));
    return c;
}

static inline struct rsp_cert *ct_shared(const char *rel)
{
    return ct_load(tu_shared_path(rel));
}

static inline struct rsp_cert *ct_mem(const struct rsp_buf *der)
{
    struct rsp_cert *c = NULL;
    assert_int_equal(rsp_cert_parse(der->data, der->len, &c), 0);
    return c;
}

/* UTC midnight of a calendar day. */
static inline time_t ct_day(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return timegm(&tm);
}

#endif
