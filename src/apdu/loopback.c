/* In-process transport: hands each C-APDU straight to a card front-end (rsp/apdu_card.h). This
 * is how the LPA and the tests talk to the software eUICC without pcscd. */
#include "rsp/apdu.h"

#include <stdlib.h>

#include "rsp/err.h"

static int lb_connect(void *ctx)
{
    (void)ctx; /* the card is powered for the life of the transport, as in a shared reader */
    return 0;
}

static int lb_transmit(void *ctx, const uint8_t *capdu, size_t len, struct rsp_buf *rapdu)
{
    rsp_buf_reset(rapdu);
    return rsp_apdu_card_process(ctx, capdu, len, rapdu);
}

static void lb_disconnect(void *ctx)
{
    (void)ctx;
}

static const struct rsp_apdu_transport_ops loopback_ops = {
    .name = "loopback",
    .connect = lb_connect,
    .transmit = lb_transmit,
    .disconnect = lb_disconnect,
    .destroy = NULL, /* the card is not owned */
};

int rsp_apdu_loopback_new(struct rsp_apdu_transport **out, struct rsp_apdu_card *card)
{
    if (!out || !card)
        return RSP_EINVAL;
    struct rsp_apdu_transport *t = calloc(1, sizeof *t);
    if (!t)
        return RSP_ENOMEM;
    rsp_apdu_card_reset(card); /* power-up */
    t->ops = &loopback_ops;
    t->ctx = card;
    *out = t;
    return 0;
}
