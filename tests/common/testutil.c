#define _XOPEN_SOURCE 700 /* nftw */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

struct rsp_buf tu_hex(const char *hex)
{
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_buf clean = RSP_BUF_INIT;
    for (const char *p = hex; *p; p++)
        if (*p != ' ' && *p != '\n' && *p != ':')
            rsp_buf_append_byte(&clean, (uint8_t)*p);
    assert_int_equal(clean.err, 0);
    assert_int_equal(rsp_hex_decode(&b, (const char *)clean.data, clean.len), 0);
    rsp_buf_free(&clean);
    return b;
}

void tu_assert_hex(const uint8_t *p, size_t n, const char *hex)
{
    struct rsp_buf want = tu_hex(hex);
    if (want.len != n || (n && memcmp(want.data, p, n) != 0)) {
        char *got = malloc(2 * n + 1);
        assert_non_null(got);
        /* hex of what we got, for the failure message */
        for (size_t i = 0; i < n; i++)
            snprintf(got + 2 * i, 3, "%02x", p[i]);
        got[2 * n] = 0;
        print_error("want %s\n got  %s\n", hex, got);
        free(got);
        rsp_buf_free(&want);
        fail_msg("byte strings differ");
    }
    rsp_buf_free(&want);
}

int tu_read_file(const char *path, struct rsp_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rsp_buf_append(out, chunk, n);
    int bad = ferror(f) || out->err;
    fclose(f);
    return bad ? -1 : 0;
}

struct rsp_buf tu_load(const char *path)
{
    struct rsp_buf b = RSP_BUF_INIT;
    if (tu_read_file(path, &b) != 0)
        fail_msg("cannot read %s", path);
    return b;
}

const char *tu_shared_dir(void)
{
    const char *d = getenv("RSP_SHARED_DIR");
    struct stat st;
    if (!d || !*d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

static char *rot_buf(void)
{
    static char bufs[8][4096];
    static int i;
    i = (i + 1) % 8;
    return bufs[i];
}

const char *tu_shared_path(const char *rel)
{
    const char *d = tu_shared_dir();
    char *b = rot_buf();
    snprintf(b, 4096, "%s/%s", d ? d : "/nonexistent-shared", rel);
    return b;
}

const char *tu_source_path(const char *rel)
{
    const char *d = getenv("RSP_SOURCE_DIR");
    char *b = rot_buf();
    snprintf(b, 4096, "%s/%s", d ? d : ".", rel);
    return b;
}

static char tmpdirs[64][256];
static int n_tmpdirs;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes the directories made by tu_tmpdir() when the test program exits, unless
 * RSP_KEEP_TMP=1 (to inspect what a failing test left behind). */
static void remove_tmpdirs(void)
{
    const char *keep = getenv("RSP_KEEP_TMP");
    if (keep && strcmp(keep, "1") == 0)
        return;
    for (int i = 0; i < n_tmpdirs; i++)
        nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_tmpdir(void)
{
    static char path[256];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/rsptest-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path))
        fail_msg("mkdtemp failed");
    if (n_tmpdirs < (int)(sizeof tmpdirs / sizeof tmpdirs[0])) {
        if (n_tmpdirs == 0)
            atexit(remove_tmpdirs);
        memcpy(tmpdirs[n_tmpdirs++], path, sizeof path);
    }
    return path;
}
