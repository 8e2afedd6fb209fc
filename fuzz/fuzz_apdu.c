/* libFuzzer target: the card-side APDU front-end (src/euicc/apdu_card.c).
 *
 * Input: one option byte, then a sequence of C-APDUs, each prefixed by a 2-byte big-endian
 * length (a zero length means a card reset). The option byte picks a small reassembly bound and
 * whether MANAGE CHANNEL is refused. The handler echoes the command, or refuses it with a status
 * word or an internal error depending on its first byte. Properties checked on every R-APDU:
 * - no memory error or undefined behaviour (ASan, UBSan), no failure except RSP_ENOMEM;
 * - at least SW1 SW2 and at most 256 bytes of data;
 * - data only with 9000 or 61xx, and SW1 is one of 61, 67..6F, 90. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/apdu_card.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int echo(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    (void)ctx;
    if (len > 0 && cmd[0] == 0xEE)
        return RSP_SW_REF_NOT_FOUND;
    if (len > 0 && cmd[0] == 0xEF)
        return RSP_EBADTAG;
    if (len > 0 && cmd[0] == 0xED)
        return RSP_ECRYPTO;
    /* echo twice, so long responses (GET RESPONSE) are reachable with short inputs */
    rsp_buf_append(resp, cmd, len);
    return rsp_buf_append(resp, cmd, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct rsp_apdu_card_opts o = {
        .max_cmd = (data[0] & 1) ? 300 : 0,
        .refuse_manage_channel = (data[0] & 2) != 0,
        .handle = echo,
    };
    struct rsp_apdu_card *card = NULL;
    if (rsp_apdu_card_new(&card, &o) != 0)
        abort();
    struct rsp_buf r = RSP_BUF_INIT;
    size_t off = 1;
    while (off + 2 <= size) {
        size_t n = ((size_t)data[off] << 8) | data[off + 1];
        off += 2;
        if (n == 0) {
            rsp_apdu_card_reset(card);
            continue;
        }
        if (n > size - off)
            n = size - off;
        rsp_buf_reset(&r);
        int rc = rsp_apdu_card_process(card, data + off, n, &r);
        off += n;
        if (rc == RSP_ENOMEM)
            break;
        if (rc != 0 || r.len < 2 || r.len > 258)
            abort();
        uint8_t sw1 = r.data[r.len - 2], sw2 = r.data[r.len - 1];
        if (r.len > 2 && !(sw1 == 0x61 || (sw1 == 0x90 && sw2 == 0x00)))
            abort();
        if (!(sw1 == 0x61 || sw1 == 0x90 || (sw1 >= 0x67 && sw1 <= 0x6F)))
            abort();
    }
    rsp_buf_free(&r);
    rsp_apdu_card_free(card);
    return 0;
}
