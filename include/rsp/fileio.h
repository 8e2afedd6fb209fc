/* Whole-file read and atomic replacement (src/io/fileio.c). */
#ifndef RSP_FILEIO_H
#define RSP_FILEIO_H

#include <stddef.h>

#include "rsp/buf.h"

/* Appends the file's bytes to out. RSP_ENOTFOUND if it does not exist, RSP_EIO otherwise. */
int rsp_file_read(const char *path, struct rsp_buf *out);
/* Replaces path with exactly these bytes, or leaves the old file (RSP_EIO / RSP_ENOMEM): a
 * temporary file "PATH.tmp" created with `mode`, fsync, rename over PATH, fsync of the
 * directory. */
int rsp_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode);

/* Creates a directory and its missing parents (mode 0700); an existing one is fine. RSP_EIO. */
int rsp_dir_create(const char *path);

#endif
