/* PostgreSQL for the tests: the server `make check` starts (scripts/pg.sh), named by the
 * environment variable RSP_TEST_PG (the URL of its "postgres" database). Tests that need it skip
 * when it is unset (a plain `meson test` without scripts/pg.sh). */
#ifndef RSP_PGTEST_H
#define RSP_PGTEST_H

#include "testutil.h"

/* RSP_TEST_PG, or NULL when unset or empty. */
const char *tu_pg_base(void);

/* Skips the current test when no PostgreSQL server is configured. */
#define TU_REQUIRE_PG()                                                                            \
    do {                                                                                           \
        if (!tu_pg_base()) {                                                                       \
            print_message("RSP_TEST_PG unset (run through scripts/pg.sh): skipping\n");            \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Creates a fresh, empty database for this test program (rsp_<pid>_<name>; an older one of the
 * same name is dropped first) and returns its URL (static storage, rotating over 8 buffers). It
 * is dropped when the program exits. Fails the test on error. */
const char *tu_pg_db(const char *name);
/* Runs SQL (one or more statements, no parameters) on the database at url; fails the test on
 * error. */
void tu_pg_exec(const char *url, const char *sql);
/* The first column of the first row of a query as a number; fails the test on error. */
long long tu_pg_query_ll(const char *url, const char *sql);
/* The URL of another database on the same server (static rotating storage). */
const char *tu_pg_url(const char *dbname);

#endif
