/* rspctl profiles import --csv (rsp/inventory_csv.h), moved out of src/bin/rspctl_profiles.c with
 * the same rules; a NUL byte in the text is now refused (fgets cut the line there). */
#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/inventory_csv.h"

static int join(char *out, const char *base, const char *path)
{
    int n = snprintf(out, RSP_INVENTORY_CSV_PATH_MAX, "%s%s%s", path[0] == '/' ? "" : base,
                     path[0] == '/' ? "" : "/", path);
    return n < 0 || n >= RSP_INVENTORY_CSV_PATH_MAX ? RSP_ERANGE : 0;
}

int rsp_inventory_csv_parse(const char *text, size_t len, const char *base, rsp_inventory_csv_fn fn,
                            void *ctx, size_t *err_line)
{
    size_t dummy;
    if (!err_line)
        err_line = &dummy;
    *err_line = 0;
    if ((!text && len) || !base || !fn)
        return RSP_EINVAL;
    char line[RSP_INVENTORY_CSV_LINE_MAX + 1];
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - start) : len - pos;
        pos += l + (nl ? 1 : 0);
        *err_line = ++lineno;
        if (l > RSP_INVENTORY_CSV_LINE_MAX)
            return RSP_ERANGE;
        if (memchr(start, 0, l))
            return RSP_ESYNTAX;
        memcpy(line, start, l);
        line[l] = 0;
        while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
            line[--l] = 0;
        if (l == 0 || line[0] == '#' || (lineno == 1 && strcmp(line, "package,manifest") == 0))
            continue;
        char *comma = strchr(line, ',');
        if (!comma || strchr(comma + 1, ','))
            return RSP_ESYNTAX;
        *comma = 0;
        char pkg[RSP_INVENTORY_CSV_PATH_MAX], man[RSP_INVENTORY_CSV_PATH_MAX], label[64];
        if (join(pkg, base, line) != 0 || join(man, base, comma + 1) != 0)
            return RSP_ERANGE;
        snprintf(label, sizeof label, "line %zu", lineno);
        int rc = fn(ctx, label, pkg, man);
        if (rc != 0)
            return rc;
    }
    *err_line = 0;
    return 0;
}
