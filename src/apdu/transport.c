/* Transport vtable helpers and the ES10 command exchanger (see rsp/apdu.h).
 *
 * SGP.22 §5.7.1: open a logical channel and SELECT the ISD-R before any ES10 command.
 * SGP.22 §5.7.2: each ES10 command goes in STORE DATA (CLA 80|channel, INS E2, P1 11 for more
 * blocks / 91 for the last one, P2 the block number from 00, Le 00); responses longer than 256
 * bytes come through 61xx and GET RESPONSE (ISO/IEC 7816-4). */
#include "rsp/apdu.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

/* Upper bound on GET RESPONSE / 6Cxx round trips of one exchange, against a looping card. */
#define MAX_CONTINUATIONS ((RSP_ES10_MAX_RESPONSE / 256) + 8)

int rsp_apdu_connect(struct rsp_apdu_transport *t)
{
    if (!t || !t->ops || !t->ops->connect)
        return RSP_EINVAL;
    return t->ops->connect(t->ctx);
}

int rsp_apdu_transmit(struct rsp_apdu_transport *t, const uint8_t *capdu, size_t len,
                      struct rsp_buf *rapdu)
{
    if (!t || !t->ops || !t->ops->transmit || !capdu || len < 4 || !rapdu)
        return RSP_EINVAL;
    int rc = t->ops->transmit(t->ctx, capdu, len, rapdu);
    if (rc == 0 && rapdu->len < 2)
        rc = RSP_EIO; /* an R-APDU always ends with SW1 SW2 */
    return rc;
}

void rsp_apdu_disconnect(struct rsp_apdu_transport *t)
{
    if (t && t->ops && t->ops->disconnect)
        t->ops->disconnect(t->ctx);
}

void rsp_apdu_transport_free(struct rsp_apdu_transport *t)
{
    if (!t)
        return;
    if (t->ops && t->ops->destroy)
        t->ops->destroy(t->ctx);
    free(t);
}

uint8_t rsp_apdu_cla(unsigned channel, bool proprietary)
{
    uint8_t base = proprietary ? 0x80 : 0x00;
    if (channel <= 3)
        return (uint8_t)(base | channel);
    return (uint8_t)(base | 0x40 | ((channel - 4) & 0x0F));
}

int rsp_apdu_exchange(struct rsp_apdu_transport *t, unsigned channel, const uint8_t *capdu,
                      size_t len, struct rsp_buf *data, uint16_t *sw)
{
    if (!capdu || len < 4 || len > 261 || !data || !sw)
        return RSP_EINVAL;
    uint8_t cmd[261];
    memcpy(cmd, capdu, len);
    size_t cmd_len = len;
    struct rsp_buf r = RSP_BUF_INIT;
    int rc = 0;
    size_t start = data->len;
    *sw = 0;
    for (int round = 0;; round++) {
        if (round > MAX_CONTINUATIONS) {
            rc = RSP_ERANGE;
            break;
        }
        rc = rsp_apdu_transmit(t, cmd, cmd_len, &r);
        if (rc != 0)
            break;
        uint8_t sw1 = r.data[r.len - 2], sw2 = r.data[r.len - 1];
        if (sw1 == 0x6C) {
            /* Wrong Le: re-issue the same command with Le = SW2 (ISO/IEC 7816-3 §12.2). The
             * data of this R-APDU, if any, is not part of the answer. */
            if (cmd_len == 4 || (cmd_len > 5 && cmd_len == 5 + (size_t)cmd[4])) {
                cmd[cmd_len++] = sw2; /* case 1 -> 2, case 3 -> 4 */
            } else {
                cmd[cmd_len - 1] = sw2;
            }
            continue;
        }
        if (data->len - start + (r.len - 2) > RSP_ES10_MAX_RESPONSE) {
            rc = RSP_ERANGE;
            break;
        }
        rsp_buf_append(data, r.data, r.len - 2);
        if (data->err) {
            rc = data->err;
            break;
        }
        *sw = (uint16_t)((sw1 << 8) | sw2);
        if (sw1 != 0x61)
            break;
        /* More data available: GET RESPONSE with Le = SW2 (00 = 256). */
        cmd[0] = rsp_apdu_cla(channel, false);
        cmd[1] = 0xC0;
        cmd[2] = 0x00;
        cmd[3] = 0x00;
        cmd[4] = sw2;
        cmd_len = 5;
    }
    rsp_buf_free_secure(&r);
    if (rc != 0)
        data->len = start;
    return rc;
}

static bool sw_ok(uint16_t sw)
{
    /* 9000, or 91xx: success with a proactive command pending (SGP.22 §5.7.2). */
    return sw == 0x9000 || (sw >> 8) == 0x91;
}

static void close_channel(struct rsp_es10 *s)
{
    if (!s->opened)
        return;
    uint8_t mc[4] = {rsp_apdu_cla(0, false), 0x70, 0x80, (uint8_t)s->channel};
    struct rsp_buf r = RSP_BUF_INIT;
    (void)rsp_apdu_transmit(s->t, mc, sizeof mc, &r); /* best effort */
    rsp_buf_free(&r);
    s->opened = false;
    s->channel = 0;
}

int rsp_es10_open(struct rsp_es10 *s, struct rsp_apdu_transport *t,
                  const struct rsp_es10_opts *opts)
{
    if (!s || !t)
        return RSP_EINVAL;
    memset(s, 0, sizeof *s);
    rsp_buf_init(&s->fci);
    const uint8_t *aid = rsp_isdr_aid;
    size_t aid_len = sizeof rsp_isdr_aid;
    size_t bs = RSP_ES10_BLOCK_DEFAULT;
    bool basic = false;
    if (opts) {
        if (opts->isdr_aid) {
            aid = opts->isdr_aid;
            aid_len = opts->isdr_aid_len;
        }
        if (opts->block_size)
            bs = opts->block_size;
        basic = opts->basic_channel;
    }
    if (aid_len < 5 || aid_len > RSP_APDU_CARD_MAX_AID || bs > 255)
        return RSP_EINVAL;
    memcpy(s->aid, aid, aid_len);
    s->aid_len = aid_len;
    s->block_size = bs;
    s->t = t;

    int rc = rsp_apdu_connect(t);
    if (rc != 0)
        return rc;
    s->connected = true;

    struct rsp_buf data = RSP_BUF_INIT;
    uint16_t sw = 0;
    if (!basic) {
        /* MANAGE CHANNEL open, card assigns the number (ISO/IEC 7816-4 §11.1.2). */
        static const uint8_t mc[5] = {0x00, 0x70, 0x00, 0x00, 0x01};
        rc = rsp_apdu_exchange(t, 0, mc, sizeof mc, &data, &sw);
        if (rc != 0)
            goto fail;
        s->last_sw = sw;
        if (sw == 0x9000 && data.len == 1 && data.data[0] >= 1 && data.data[0] <= 19) {
            s->channel = data.data[0];
            s->opened = true;
        }
        /* Any other answer: the card has no (free) logical channel; use the basic channel. */
        rsp_buf_reset(&data);
    }

    uint8_t sel[5 + RSP_APDU_CARD_MAX_AID + 1];
    sel[0] = rsp_apdu_cla(s->channel, false);
    sel[1] = 0xA4;
    sel[2] = 0x04; /* select by DF name */
    sel[3] = 0x00; /* first occurrence, return FCI */
    sel[4] = (uint8_t)aid_len;
    memcpy(sel + 5, aid, aid_len);
    sel[5 + aid_len] = 0x00;
    rc = rsp_apdu_exchange(t, s->channel, sel, 6 + aid_len, &s->fci, &sw);
    if (rc != 0)
        goto fail;
    s->last_sw = sw;
    if (!sw_ok(sw)) {
        rc = RSP_ESW;
        goto fail;
    }
    rsp_buf_free(&data);
    return 0;
fail:
    rsp_buf_free(&data);
    uint16_t keep = s->last_sw;
    rsp_es10_close(s);
    s->last_sw = keep;
    return rc;
}

int rsp_es10_transceive(struct rsp_es10 *s, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    if (!s || !s->connected || !resp || (!cmd && len))
        return RSP_EINVAL;
    if (len == 0 || len > 0xFFFF)
        return RSP_EINVAL;
    size_t bs = s->block_size;
    size_t blocks = (len + bs - 1) / bs;
    if (blocks > 256) /* P2 is one byte (SGP.22 §5.7.2, Table 47) */
        return RSP_ERANGE;
    rsp_buf_reset(resp);
    uint8_t apdu[5 + 255 + 1];
    int rc = 0;
    for (size_t b = 0; b < blocks; b++) {
        size_t off = b * bs;
        size_t n = len - off < bs ? len - off : bs;
        bool last = b + 1 == blocks;
        apdu[0] = rsp_apdu_cla(s->channel, true);
        apdu[1] = 0xE2;
        apdu[2] = last ? 0x91 : 0x11;
        apdu[3] = (uint8_t)b;
        apdu[4] = (uint8_t)n;
        memcpy(apdu + 5, cmd + off, n);
        apdu[5 + n] = 0x00; /* Le */
        uint16_t sw = 0;
        /* Data returned for an intermediate block is kept, as LPAs do (addendum §5.3). */
        rc = rsp_apdu_exchange(s->t, s->channel, apdu, 6 + n, resp, &sw);
        if (rc != 0)
            break;
        s->last_sw = sw;
        if (!sw_ok(sw)) {
            rc = RSP_ESW;
            break;
        }
    }
    if (rc != 0)
        rsp_buf_reset(resp);
    return rc;
}

void rsp_es10_close(struct rsp_es10 *s)
{
    if (!s)
        return;
    if (s->connected) {
        close_channel(s);
        rsp_apdu_disconnect(s->t);
        s->connected = false;
    }
    rsp_buf_free(&s->fci);
}

#ifndef RSP_HAVE_PCSC
int rsp_apdu_pcsc_new(struct rsp_apdu_transport **out, const char *reader)
{
    (void)reader;
    if (out)
        *out = NULL;
    return RSP_EINVAL;
}

int rsp_apdu_pcsc_list(struct rsp_buf *out)
{
    (void)out;
    return RSP_EINVAL;
}
#endif
