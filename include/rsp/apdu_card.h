/* Card side of the ES10 transport: an ISO/IEC 7816-4 + GlobalPlatform front-end for a software
 * eUICC.
 *
 * One C-APDU in, one R-APDU (data || SW1 SW2) out. The front-end handles logical channels (basic
 * channel 0 and channels 1-3, MANAGE CHANNEL), SELECT of the ISD-R by AID, TERMINAL CAPABILITY,
 * GET RESPONSE and the reassembly of STORE DATA blocks (SGP.22 §5.7.2) into one ES10 command,
 * which it passes to a handler callback. The ES10 command processor itself is not here.
 *
 * Only short APDUs (Lc, Le of one byte) are accepted. Status words that are not about the data
 * field are decided here; the handler decides the ones about the command (6A80, 6A88, 6985).
 */
#ifndef RSP_APDU_CARD_H
#define RSP_APDU_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

/* Status words (ISO/IEC 7816-4 §5.6; SGP.22 §5.7.2 for 6A80/6A88/6985). */
#define RSP_SW_OK                 0x9000
#define RSP_SW_WRONG_LENGTH       0x6700
#define RSP_SW_CHANNEL_NOT_SUPP   0x6881 /* logical channel not supported or not open */
#define RSP_SW_SM_NOT_SUPP        0x6882
#define RSP_SW_CHAINING_NOT_SUPP  0x6884
#define RSP_SW_COND_NOT_SATISFIED 0x6985 /* also: no ISD-R selected on this channel */
#define RSP_SW_WRONG_DATA         0x6A80 /* data field not DER, reassembled command too large */
#define RSP_SW_FUNC_NOT_SUPP      0x6A81 /* no free logical channel */
#define RSP_SW_FILE_NOT_FOUND     0x6A82 /* SELECT of an unknown AID */
#define RSP_SW_WRONG_P1P2         0x6A86
#define RSP_SW_REF_NOT_FOUND      0x6A88 /* unknown ES10 command */
#define RSP_SW_INS_NOT_SUPP       0x6D00
#define RSP_SW_CLA_NOT_SUPP       0x6E00
#define RSP_SW_UNKNOWN            0x6F00 /* internal failure of the handler */

/* ISD-R AID (SGP.22 §2.2.3; A0000005591010FFFFFFFF8900000100). */
extern const uint8_t rsp_isdr_aid[16];

#define RSP_APDU_CARD_CHANNELS    4           /* basic channel 0 + logical channels 1..3 */
#define RSP_APDU_CARD_MAX_CMD_DEF (64 * 1024) /* default bound of a reassembled command */
#define RSP_APDU_CARD_MAX_AID     16

/* ES10 command handler. `cmd` is the reassembled data of all STORE DATA blocks (normally one DER
 * TLV, but a LoadBoundProfilePackage step may carry only a tag and length, SGP.22 §2.5.5, so the
 * front-end does not check it). The handler appends the response TLV (possibly empty) to `resp`
 * and returns:
 *   0                        success: `resp` is returned with 9000 (or 61xx, GET RESPONSE);
 *   a status word 0x6000..0x6FFF  refusal without data (e.g. RSP_SW_REF_NOT_FOUND);
 *   a negative RSP_E*        internal failure: 6A80 for the DER decoding codes, 6F00 otherwise.
 */
typedef int (*rsp_es10_handler)(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp);

struct rsp_apdu_card_opts {
    const uint8_t *isdr_aid;    /* NULL: rsp_isdr_aid */
    size_t isdr_aid_len;        /* 5..16 */
    size_t max_cmd;             /* 0: RSP_APDU_CARD_MAX_CMD_DEF */
    bool refuse_manage_channel; /* answer MANAGE CHANNEL with 6881 (a card without channels) */
    rsp_es10_handler handle;
    void *handle_ctx;
};

struct rsp_apdu_card;

/* Creates a front-end in the power-on state (only channel 0 open, nothing selected). */
int rsp_apdu_card_new(struct rsp_apdu_card **out, const struct rsp_apdu_card_opts *opts);
void rsp_apdu_card_free(struct rsp_apdu_card *card);
/* Cold or warm reset: closes the logical channels, forgets selections, partial commands and
 * pending responses. */
void rsp_apdu_card_reset(struct rsp_apdu_card *card);
/* Processes one C-APDU and appends the R-APDU (data, SW1, SW2) to `rapdu`. Every malformed input
 * is answered with a status word; the function itself fails only with RSP_EINVAL (NULL
 * arguments) or RSP_ENOMEM. */
int rsp_apdu_card_process(struct rsp_apdu_card *card, const uint8_t *capdu, size_t len,
                          struct rsp_buf *rapdu);
/* The fixed ATR of the front-end (offers T=0 and T=1, UICC class indicator); returns its length. */
size_t rsp_apdu_card_atr(const uint8_t **atr);

#endif
