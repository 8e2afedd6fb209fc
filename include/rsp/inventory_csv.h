/* The CSV of `rspctl profiles import --csv FILE` (docs/MANIFEST.md): one "package,manifest" line
 * per profile, an optional header line "package,manifest" (first line only), blank lines and
 * lines starting with '#' skipped, trailing blanks and CR ignored, no quoting; a relative path is
 * taken from `base` (the CSV file's directory). Pure: the caller reads the file. Lives in src/ops
 * so that unit tests and fuzz/fuzz_inventory_csv.c run the code rspctl runs. */
#ifndef RSP_INVENTORY_CSV_H
#define RSP_INVENTORY_CSV_H

#include <stddef.h>

#define RSP_INVENTORY_CSV_PATH_MAX 1024 /* a joined path, its NUL included */
#define RSP_INVENTORY_CSV_LINE_MAX 2054 /* bytes of a line, its newline excluded */

/* Called once per profile line, in order: label "line N", the joined package and manifest paths.
 * A non-zero return stops the parse and is returned. */
typedef int (*rsp_inventory_csv_fn)(void *ctx, const char *label, const char *pkg, const char *man);

/* 0; RSP_ESYNTAX (not "package,manifest", or a NUL byte) or RSP_ERANGE (a line or a joined path
 * too long) with *err_line the line (1-based); or the callback's code (*err_line its line). */
int rsp_inventory_csv_parse(const char *text, size_t len, const char *base, rsp_inventory_csv_fn fn,
                            void *ctx, size_t *err_line);

#endif
