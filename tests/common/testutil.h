/* Helpers shared by the cmocka tests. Tests run with CMOCKA_MESSAGE_OUTPUT=TAP (one TAP plan per
 * executable, so each test program runs a single cmocka group). */
#ifndef RSP_TESTUTIL_H
#define RSP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rsp/buf.h"

/* Decodes hex (spaces allowed) into a fresh buffer; fails the test on bad input. */
struct rsp_buf tu_hex(const char *hex);
/* Asserts that p[0..n) equals the hex string (spaces allowed); prints both on mismatch. */
void tu_assert_hex(const uint8_t *p, size_t n, const char *hex);
/* Reads a whole file into out; returns 0 or -1. */
int tu_read_file(const char *path, struct rsp_buf *out);
/* Reads a whole file or fails the test. */
struct rsp_buf tu_load(const char *path);
/* ../shared, when it exists (RSP_SHARED_DIR set by meson), else NULL. */
const char *tu_shared_dir(void);
/* snprintf into a static rotating buffer: path under ../shared. */
const char *tu_shared_path(const char *rel);
/* Source tree path (RSP_SOURCE_DIR). */
const char *tu_source_path(const char *rel);
/* Makes a fresh temporary directory for the test; returns its path (static storage). It is
 * removed with its contents when the test program exits (kept if RSP_KEEP_TMP=1). */
const char *tu_tmpdir(void);

/* Skips the current test when ../shared is absent. */
#define TU_REQUIRE_SHARED()                                                                        \
    do {                                                                                           \
        if (!tu_shared_dir()) {                                                                    \
            print_message("../shared absent: skipping\n");                                         \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#endif
