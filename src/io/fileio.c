/* Files for the programs and roles (lib/ never does I/O): whole-file read, and the atomic write
 * every persistent state of rspkit uses (temporary file, fsync, rename, fsync of the directory),
 * so that a process killed at any point leaves either the old or the new content. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/fileio.h"

int rsp_file_read(const char *path, struct rsp_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? RSP_ENOTFOUND : RSP_EIO;
    uint8_t chunk[4096];
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = rsp_buf_append(out, chunk, k)) != 0)
            break;
    if (rc == 0 && ferror(f))
        rc = RSP_EIO;
    fclose(f);
    rsp_memzero(chunk, sizeof chunk);
    return rc;
}

int rsp_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
    const uint8_t *p = data;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        return RSP_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    int rc = RSP_EIO;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd >= 0) {
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fd, p + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (off == n && fsync(fd) == 0)
            rc = 0;
        if (close(fd) != 0)
            rc = RSP_EIO;
        if (rc == 0 && rename(tmp, path) != 0)
            rc = RSP_EIO;
        if (rc != 0)
            unlink(tmp);
    }
    if (rc == 0) {
        /* make the rename itself durable */
        char *slash = strrchr(tmp, '/');
        const char *dir = ".";
        if (slash) {
            *slash = 0;
            dir = slash == tmp ? "/" : tmp;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    free(tmp);
    return rc;
}

int rsp_dir_create(const char *path)
{
    char tmp[4096];
    if (!path || !*path || snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return RSP_EINVAL;
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return RSP_EIO;
            *p = '/';
        }
    return mkdir(tmp, 0700) != 0 && errno != EEXIST ? RSP_EIO : 0;
}
