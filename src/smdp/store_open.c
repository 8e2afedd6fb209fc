/* Opening a store by URL (SQLite or PostgreSQL), and the wrappers of the optional backend
 * methods (schema version, last error, fault hook). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rsp/err.h"
#include "rsp/store.h"

static bool has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* True when s starts with "scheme://" (RFC 3986 scheme characters). */
static bool has_scheme(const char *s)
{
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    while (s[i] && s[i] != ':' && s[i] != '/') {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return false;
        i++;
    }
    return strncmp(s + i, "://", 3) == 0;
}

static bool is_pg(const char *url)
{
    return has_prefix_ci(url, "postgres://") || has_prefix_ci(url, "postgresql://");
}

/* The SQLite path of a URL, or NULL. */
static const char *sqlite_path(const char *url)
{
    if (has_prefix_ci(url, "sqlite:")) {
        const char *p = url + strlen("sqlite:");
        if (strncmp(p, "//", 2) == 0 && p[2] == '/')
            p += 2; /* sqlite:///abs/path */
        return *p ? p : NULL;
    }
    return has_scheme(url) ? NULL : url;
}

const char *rsp_store_url_backend(const char *url)
{
    if (!url || !*url)
        return NULL;
    if (is_pg(url))
        return "postgres";
    return sqlite_path(url) ? "sqlite" : NULL;
}

int rsp_store_open_url(const char *url, struct rsp_store **out, char *err, size_t err_len)
{
    if (err && err_len)
        err[0] = 0;
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    const char *backend = rsp_store_url_backend(url);
    if (!backend) {
        if (err && err_len)
            snprintf(err, err_len,
                     "not a store URL (a file path, sqlite:PATH, postgres:// or "
                     "postgresql://)");
        return RSP_EINVAL;
    }
    if (strcmp(backend, "postgres") == 0)
        return rsp_store_pg_open_err(url, out, err, err_len);
    int rc = rsp_store_sqlite_open(sqlite_path(url), out);
    if (rc && err && err_len)
        snprintf(err, err_len, "SQLite: %s", rsp_strerror(rc));
    return rc;
}

int rsp_store_url_opener(void *url, struct rsp_store **out)
{
    return rsp_store_open_url((const char *)url, out, NULL, 0);
}

void rsp_store_url_redact(const char *url, char *out, size_t cap)
{
    if (!cap)
        return;
    out[0] = 0;
    if (!url)
        return;
    size_t n = 0;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 < cap)                                                                           \
            out[n++] = (c);                                                                        \
    } while (0)
#define PUTS(str)                                                                                  \
    for (const char *q_ = (str); *q_; q_++)                                                        \
    PUT(*q_)
    const char *p = url;
    const char *auth = strstr(url, "://");
    if (auth && is_pg(url)) {
        auth += 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < alen; i++)
            if (auth[i] == '@')
                at = auth + i;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        for (; p < auth; p++)
            PUT(*p);
        if (colon) {
            for (; p <= colon; p++)
                PUT(*p);
            PUTS("***");
            p = at;
        }
    }
    /* password=... in a query string or a keyword/value conninfo */
    while (*p) {
        if (has_prefix_ci(p, "password=") &&
            (p == url || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ' || p[-1] == '\t')) {
            PUTS("password=***");
            p += strlen("password=");
            while (*p && *p != '&' && *p != ' ' && *p != '#')
                p++;
            continue;
        }
        PUT(*p);
        p++;
    }
    out[n] = 0;
#undef PUT
#undef PUTS
}

int rsp_store_schema_version(struct rsp_store *st)
{
    if (!st || !st->ops->schema_version)
        return -1;
    return st->ops->schema_version(st);
}

const char *rsp_store_last_error(struct rsp_store *st)
{
    if (!st || !st->ops->last_error)
        return "";
    const char *e = st->ops->last_error(st);
    return e ? e : "";
}

void rsp_store_set_fault_hook(struct rsp_store *st, void (*hook)(const char *point))
{
    if (st && st->ops->set_fault_hook)
        st->ops->set_fault_hook(st, hook);
}
