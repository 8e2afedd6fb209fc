/* PostgreSQL helpers of the tests (pgtest.h). */
#include "pgtest.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DBS 64

static char created[MAX_DBS][64];
static size_t n_created;

const char *tu_pg_base(void)
{
    const char *u = getenv("RSP_TEST_PG");
    return u && *u ? u : NULL;
}

const char *tu_pg_url(const char *dbname)
{
    static char bufs[8][512];
    static unsigned next;
    char *out = bufs[next++ % 8];
    const char *base = tu_pg_base();
    if (!base)
        fail_msg("RSP_TEST_PG is not set");
    const char *auth = strstr(base, "://");
    if (!auth)
        fail_msg("RSP_TEST_PG is not a postgresql:// URL");
    auth += 3;
    size_t alen = strcspn(auth, "/?#");
    const char *rest = auth + alen;
    if (*rest == '/')
        rest += strcspn(rest, "?#"); /* skip the old database name */
    snprintf(out, sizeof bufs[0], "%.*s/%s%s", (int)(auth + alen - base), base, dbname, rest);
    return out;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_or_fail(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (c)
        PQsetNoticeProcessor(c, ignore_notice, NULL);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        print_error("PostgreSQL: cannot connect: %s\n", c ? PQerrorMessage(c) : "no memory");
        PQfinish(c);
        fail();
    }
    return c;
}

static void drop_all(void)
{
    const char *base = tu_pg_base();
    if (!base || !n_created)
        return;
    PGconn *c = PQconnectdb(base);
    if (c && PQstatus(c) == CONNECTION_OK)
        for (size_t i = 0; i < n_created; i++) {
            char sql[160];
            snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", created[i]);
            PQclear(PQexec(c, sql));
        }
    PQfinish(c);
}

const char *tu_pg_db(const char *name)
{
    const char *base = tu_pg_base();
    if (!base)
        fail_msg("RSP_TEST_PG is not set");
    char db[64];
    int n = snprintf(db, sizeof db, "rsp_%ld_", (long)getpid());
    for (const char *p = name; *p && n < (int)sizeof db - 1; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
            ch = '_';
        db[n++] = ch;
    }
    db[n] = 0;
    PGconn *c = connect_or_fail(base);
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        print_error("PostgreSQL: %s: %s\n", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    if (!ok)
        fail();
    bool known = false;
    for (size_t i = 0; i < n_created; i++)
        known |= strcmp(created[i], db) == 0;
    if (!known && n_created < MAX_DBS) {
        if (n_created == 0)
            atexit(drop_all);
        snprintf(created[n_created++], sizeof created[0], "%s", db);
    }
    return tu_pg_url(db);
}

static PGresult *run_or_fail(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        print_error("PostgreSQL: %s: %s\n", sql, PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        fail();
    }
    return r;
}

void tu_pg_exec(const char *url, const char *sql)
{
    PGconn *c = connect_or_fail(url);
    PQclear(run_or_fail(c, sql));
    PQfinish(c);
}

long long tu_pg_query_ll(const char *url, const char *sql)
{
    PGconn *c = connect_or_fail(url);
    PGresult *r = run_or_fail(c, sql);
    long long v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}
