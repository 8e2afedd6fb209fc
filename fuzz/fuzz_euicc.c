/* libFuzzer target: the software eUICC (src/euicc).
 *
 * Input: one mode byte, then
 * - mode & 1 == 0: a sequence of ES10 commands, each prefixed by a 2-byte big-endian length,
 *   given to rsp_euicc_process (download commands included: the session state machine, the BPP
 *   segment parser, the ES10c handlers);
 * - mode & 1 == 1: the rest is a state file image, loaded by rsp_euicc_state_load (the parser
 *   rsp_euicc_new runs on a state file).
 * Properties: no memory error or undefined behaviour; process returns 0, a status word
 * 0x6000..0x6FFF or a negative RSP_E*; a loaded or changed state serialises, and a state file
 * is either loaded completely or refused with RSP_ESYNTAX. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/euicc.h"
#include "rsp/pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rsp_pki pki;
static int have_pki;

static int make(struct rsp_euicc **e, const char *state)
{
    if (!have_pki) {
        struct rsp_pki_opts o;
        rsp_pki_opts_default(&o);
        o.curves = RSP_PKI_NIST;
        if (rsp_pki_generate(&o, &pki) != 0)
            abort();
        have_pki = 1;
    }
    const struct rsp_pki_set *s = &pki.set[0];
    static const uint8_t challenge[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct rsp_euicc_config c;
    memset(&c, 0, sizeof c);
    c.sk_euicc.p = s->item[RSP_PKI_EUICC].key_pem.data;
    c.sk_euicc.len = s->item[RSP_PKI_EUICC].key_pem.len;
    c.cert_euicc.p = s->item[RSP_PKI_EUICC].cert_der.data;
    c.cert_euicc.len = s->item[RSP_PKI_EUICC].cert_der.len;
    c.cert_eum.p = s->item[RSP_PKI_EUM].cert_der.data;
    c.cert_eum.len = s->item[RSP_PKI_EUM].cert_der.len;
    c.ci[0].p = s->item[RSP_PKI_CI].cert_der.data;
    c.ci[0].len = s->item[RSP_PKI_CI].cert_der.len;
    c.n_ci = 1;
    c.fixed_challenge = challenge;
    c.state_path = state;
    return rsp_euicc_new(&c, e, NULL, 0);
}

/* One eUICC per process (credentials parsed once); each input starts from the empty state. */
static struct rsp_euicc *euicc;
static struct rsp_buf empty = RSP_BUF_INIT;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!euicc && (make(&euicc, NULL) != 0 || rsp_euicc_state_serialize(euicc, &empty) != 0))
        abort();
    struct rsp_euicc *e = euicc;
    struct rsp_buf out = RSP_BUF_INIT;
    if (data[0] & 1) {
        int rc = rsp_euicc_state_load(e, data + 1, size - 1, NULL, 0);
        if (rc != 0 && rc != RSP_ESYNTAX && rc != RSP_ENOMEM)
            abort();
        if (rc == 0 && rsp_euicc_state_serialize(e, &out) != 0)
            abort();
    } else {
        if (rsp_euicc_state_load(e, empty.data, empty.len, NULL, 0) != 0)
            abort();
        size_t at = 1;
        while (at + 2 <= size) {
            size_t n = ((size_t)data[at] << 8) | data[at + 1];
            at += 2;
            if (n > size - at)
                n = size - at;
            rsp_buf_reset(&out);
            int rc = rsp_euicc_process(e, data + at, n, &out);
            if (rc > 0 && (rc < 0x6000 || rc > 0x6FFF))
                abort();
            at += n;
        }
        rsp_buf_reset(&out);
        if (rsp_euicc_state_serialize(e, &out) != 0)
            abort();
    }
    rsp_buf_free(&out);
    return 0;
}
