/* Software eUICC credentials from a directory written by `rspctl pki init` (used by rsp-euicc
 * and rsp-lpa --euicc soft:DIR). */
#include <stdio.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/euicc.h"

static int read_file(const char *dir, const char *sub, const char *name, struct rsp_buf *out,
                     char *detail, size_t detail_len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name) >= (int)sizeof path)
        return RSP_ERANGE;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (detail)
            snprintf(detail, detail_len, "%s: cannot open", path);
        return RSP_ENOTFOUND;
    }
    uint8_t chunk[4096];
    size_t k;
    int rc = 0;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = rsp_buf_append(out, chunk, k)) != 0)
            break;
    if (rc == 0 && ferror(f))
        rc = RSP_EIO;
    fclose(f);
    if (rc && detail)
        snprintf(detail, detail_len, "%s: %s", path, rsp_strerror(rc));
    return rc;
}

int rsp_euicc_pki_files_load(const char *dir, const char *curve, struct rsp_euicc_pki_files *out,
                             char *detail, size_t detail_len)
{
    memset(out, 0, sizeof *out);
    if (!dir || !curve)
        return RSP_EINVAL;
    int rc;
    if ((rc = read_file(dir, curve, "euicc.key.pem", &out->key, detail, detail_len)) != 0 ||
        (rc = read_file(dir, curve, "euicc.der", &out->euicc, detail, detail_len)) != 0 ||
        (rc = read_file(dir, curve, "eum.der", &out->eum, detail, detail_len)) != 0 ||
        (rc = read_file(dir, curve, "ci.der", &out->ci[0], detail, detail_len)) != 0) {
        rsp_euicc_pki_files_free(out);
        return rc;
    }
    out->n_ci = 1;
    const char *other = strcmp(curve, "nist") ? "nist" : "brp";
    if (read_file(dir, other, "ci.der", &out->ci[1], NULL, 0) == 0)
        out->n_ci = 2;
    else
        rsp_buf_free(&out->ci[1]);
    return 0;
}

void rsp_euicc_pki_files_apply(const struct rsp_euicc_pki_files *f, struct rsp_euicc_config *cfg)
{
    cfg->sk_euicc.p = f->key.data;
    cfg->sk_euicc.len = f->key.len;
    cfg->cert_euicc.p = f->euicc.data;
    cfg->cert_euicc.len = f->euicc.len;
    cfg->cert_eum.p = f->eum.data;
    cfg->cert_eum.len = f->eum.len;
    for (size_t i = 0; i < f->n_ci; i++) {
        cfg->ci[i].p = f->ci[i].data;
        cfg->ci[i].len = f->ci[i].len;
    }
    cfg->n_ci = f->n_ci;
}

void rsp_euicc_pki_files_free(struct rsp_euicc_pki_files *f)
{
    rsp_buf_free_secure(&f->key);
    rsp_buf_free(&f->euicc);
    rsp_buf_free(&f->eum);
    rsp_buf_free(&f->ci[0]);
    rsp_buf_free(&f->ci[1]);
    f->n_ci = 0;
}
