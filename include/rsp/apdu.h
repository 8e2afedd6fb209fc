/* Client side of the ES10 transport: APDU transports and the ES10 command exchanger.
 *
 * A transport moves one C-APDU to a card and brings back the R-APDU (data || SW1 SW2). The
 * exchanger runs SGP.22 §5.7.1/§5.7.2 on top of it: it opens a logical channel (falling back to
 * the basic channel when the card refuses MANAGE CHANNEL), selects the ISD-R, splits each ES10
 * command TLV into STORE DATA blocks and collects the response through 61xx/GET RESPONSE.
 */
#ifndef RSP_APDU_H
#define RSP_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/apdu_card.h"
#include "rsp/buf.h"

struct rsp_apdu_transport_ops {
    const char *name;
    /* Powers up / attaches to the card. */
    int (*connect)(void *ctx);
    /* Sends one C-APDU; replaces the contents of `rapdu` with the R-APDU (at least SW1 SW2).
     * RSP_EIO when the card or reader cannot be reached. */
    int (*transmit)(void *ctx, const uint8_t *capdu, size_t len, struct rsp_buf *rapdu);
    void (*disconnect)(void *ctx);
    /* Releases ctx (called once by rsp_apdu_transport_free). */
    void (*destroy)(void *ctx);
};

struct rsp_apdu_transport {
    const struct rsp_apdu_transport_ops *ops;
    void *ctx;
};

int rsp_apdu_connect(struct rsp_apdu_transport *t);
int rsp_apdu_transmit(struct rsp_apdu_transport *t, const uint8_t *capdu, size_t len,
                      struct rsp_buf *rapdu);
void rsp_apdu_disconnect(struct rsp_apdu_transport *t);
/* Disconnects nothing: call rsp_apdu_disconnect first if connected. NULL is a no-op. */
void rsp_apdu_transport_free(struct rsp_apdu_transport *t);

/* In-process transport to a card front-end (not owned: the caller frees the card after the
 * transport). Creating it resets the card, as a power-up would; connect() does not, so several
 * sessions can share the card like PC/SC handles share a reader. */
int rsp_apdu_loopback_new(struct rsp_apdu_transport **out, struct rsp_apdu_card *card);

/* PC/SC transport (pcsc-lite). `reader`: NULL or "" for the first reader with a card, a decimal
 * index into SCardListReaders' list, or a substring of the reader name. RSP_EINVAL when rspkit
 * was built without pcsc-lite. */
int rsp_apdu_pcsc_new(struct rsp_apdu_transport **out, const char *reader);
/* Lists the PC/SC readers, one per line, into `out` (NUL-terminated). */
int rsp_apdu_pcsc_list(struct rsp_buf *out);

/* ES10 command exchanger. */
#define RSP_ES10_BLOCK_DEFAULT 255
#define RSP_ES10_MAX_RESPONSE  (64 * 1024)

struct rsp_es10_opts {
    const uint8_t *isdr_aid; /* NULL: rsp_isdr_aid */
    size_t isdr_aid_len;
    size_t block_size;  /* STORE DATA block size 1..255; 0: 255 */
    bool basic_channel; /* do not try MANAGE CHANNEL, use channel 0 */
};

struct rsp_es10 {
    struct rsp_apdu_transport *t;
    uint8_t aid[RSP_APDU_CARD_MAX_AID];
    size_t aid_len;
    size_t block_size;
    unsigned channel; /* 0 = basic channel */
    bool opened;      /* channel opened by MANAGE CHANNEL (to be closed) */
    bool connected;
    uint16_t last_sw;   /* status word of the last R-APDU */
    struct rsp_buf fci; /* FCI returned by SELECT ISD-R */
};

/* Connects the transport, opens a logical channel (or uses the basic channel when MANAGE
 * CHANNEL is refused or opts->basic_channel) and selects the ISD-R. On RSP_ESW, s->last_sw says
 * what the card answered. On failure everything is undone. */
int rsp_es10_open(struct rsp_es10 *s, struct rsp_apdu_transport *t,
                  const struct rsp_es10_opts *opts);
/* Sends one ES10 command TLV (1..65535 bytes, at most 256 blocks) and replaces `resp` with the
 * response TLV (possibly empty). A status word other than 9000, 91xx or 61xx gives RSP_ESW with
 * s->last_sw set; RSP_ERANGE when the command needs more than 256 blocks or the response
 * exceeds RSP_ES10_MAX_RESPONSE. */
int rsp_es10_transceive(struct rsp_es10 *s, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
/* Closes the logical channel (if one was opened) and disconnects the transport. */
void rsp_es10_close(struct rsp_es10 *s);

/* One APDU exchange with 61xx/GET RESPONSE and 6Cxx handling on `channel`: appends the data of
 * all pieces to `data` and stores the final status word in *sw. Does not judge the SW. */
int rsp_apdu_exchange(struct rsp_apdu_transport *t, unsigned channel, const uint8_t *capdu,
                      size_t len, struct rsp_buf *data, uint16_t *sw);

/* Class byte for `channel` (0..19) in the interindustry (proprietary=false) or GlobalPlatform
 * proprietary class (ISO/IEC 7816-4 §5.4.1). */
uint8_t rsp_apdu_cla(unsigned channel, bool proprietary);

#endif
