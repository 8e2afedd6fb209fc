/* ISO/IEC 7816-4 + GlobalPlatform front-end of the software eUICC (see rsp/apdu_card.h).
 *
 * References: SGP.22 v2.2 §5.7.1 (MANAGE CHANNEL, SELECT ISD-R,
 * ISDRProprietaryApplicationTemplate), §5.7.2 (STORE DATA transport, P1 coding in Table 48, status
 * words), ISO/IEC 7816-4 (class byte, logical channels, GET RESPONSE, status words), ETSI TS 102
 * 221 (TERMINAL CAPABILITY).
 */
#include "rsp/apdu_card.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

const uint8_t rsp_isdr_aid[16] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00};

/* TS 3B; T0: TD1 present, 5 historical bytes; TD1: T=0, TD2 follows; TD2: T=1, TD3 follows;
 * TD3: T=15, TA4 follows; TA4 C7: clock stop no preference, classes A, B and C (the UICC
 * indicator of ETSI TS 102 221 §6.3); historical bytes: category 80, card capabilities 73 with
 * selection by full DF name, data coding 21, logical channels assigned by card and terminal, up
 * to 4 channels (1B); TCK. */
static const uint8_t card_atr[] = {0x3B, 0x85, 0x80, 0x81, 0x1F, 0xC7,
                                   0x80, 0x73, 0x80, 0x21, 0x1B, 0x15};

#define INS_MANAGE_CHANNEL 0x70
#define INS_SELECT         0xA4
#define INS_TERMINAL_CAP   0xAA
#define INS_GET_RESPONSE   0xC0
#define INS_STORE_DATA     0xE2

/* STORE DATA P1 (SGP.22 §5.7.2, Table 48): b8 last block, b5-b4 = 10 BER-TLV, b1 case 4. */
#define P1_MORE_BLOCKS 0x11
#define P1_LAST_BLOCK  0x91

struct channel {
    bool open;
    bool isdr;           /* ISD-R selected on this channel */
    bool in_chain;       /* a STORE DATA command is being reassembled */
    unsigned next_block; /* expected P2 of the next STORE DATA block */
    struct rsp_buf cmd;  /* reassembly buffer */
    struct rsp_buf resp; /* response not yet fetched with GET RESPONSE */
    size_t resp_off;
};

struct rsp_apdu_card {
    uint8_t aid[RSP_APDU_CARD_MAX_AID];
    size_t aid_len;
    size_t max_cmd;
    bool refuse_manage_channel;
    rsp_es10_handler handle;
    void *handle_ctx;
    struct channel ch[RSP_APDU_CARD_CHANNELS];
};

/* A parsed short C-APDU (ISO/IEC 7816-3 §12.1 cases 1 to 4). */
struct capdu {
    uint8_t cla, ins, p1, p2;
    const uint8_t *data;
    size_t lc;
    size_t ne; /* 0: no Le field; otherwise 1..256 */
};

size_t rsp_apdu_card_atr(const uint8_t **atr)
{
    if (atr)
        *atr = card_atr;
    return sizeof card_atr;
}

static void chan_drop_command(struct channel *c)
{
    rsp_buf_free(&c->cmd);
    c->in_chain = false;
    c->next_block = 0;
}

static void chan_drop_response(struct channel *c)
{
    rsp_buf_free(&c->resp);
    c->resp_off = 0;
}

static void chan_close(struct channel *c)
{
    chan_drop_command(c);
    chan_drop_response(c);
    c->open = false;
    c->isdr = false;
}

void rsp_apdu_card_reset(struct rsp_apdu_card *card)
{
    if (!card)
        return;
    for (size_t i = 0; i < RSP_APDU_CARD_CHANNELS; i++)
        chan_close(&card->ch[i]);
    card->ch[0].open = true; /* the basic channel is always open */
}

int rsp_apdu_card_new(struct rsp_apdu_card **out, const struct rsp_apdu_card_opts *opts)
{
    if (!out || !opts || !opts->handle)
        return RSP_EINVAL;
    *out = NULL;
    const uint8_t *aid = opts->isdr_aid ? opts->isdr_aid : rsp_isdr_aid;
    size_t aid_len = opts->isdr_aid ? opts->isdr_aid_len : sizeof rsp_isdr_aid;
    if (aid_len < 5 || aid_len > RSP_APDU_CARD_MAX_AID)
        return RSP_EINVAL;
    struct rsp_apdu_card *card = calloc(1, sizeof *card);
    if (!card)
        return RSP_ENOMEM;
    memcpy(card->aid, aid, aid_len);
    card->aid_len = aid_len;
    card->max_cmd = opts->max_cmd ? opts->max_cmd : RSP_APDU_CARD_MAX_CMD_DEF;
    card->refuse_manage_channel = opts->refuse_manage_channel;
    card->handle = opts->handle;
    card->handle_ctx = opts->handle_ctx;
    for (size_t i = 0; i < RSP_APDU_CARD_CHANNELS; i++) {
        rsp_buf_init(&card->ch[i].cmd);
        rsp_buf_init(&card->ch[i].resp);
    }
    rsp_apdu_card_reset(card);
    *out = card;
    return 0;
}

void rsp_apdu_card_free(struct rsp_apdu_card *card)
{
    if (!card)
        return;
    for (size_t i = 0; i < RSP_APDU_CARD_CHANNELS; i++) {
        rsp_buf_free_secure(&card->ch[i].cmd);
        rsp_buf_free_secure(&card->ch[i].resp);
    }
    free(card);
}

static int put_sw(struct rsp_buf *r, unsigned sw)
{
    rsp_buf_append_byte(r, (uint8_t)(sw >> 8));
    return rsp_buf_append_byte(r, (uint8_t)sw);
}

/* Short APDU cases (ISO/IEC 7816-3 §12.1.2). Extended lengths are not supported: 0 on success,
 * -1 for a length that does not fit any case. */
static int parse_capdu(const uint8_t *p, size_t n, struct capdu *a)
{
    if (n < 4)
        return -1;
    memset(a, 0, sizeof *a);
    a->cla = p[0];
    a->ins = p[1];
    a->p1 = p[2];
    a->p2 = p[3];
    if (n == 4)
        return 0; /* case 1 */
    if (n == 5) { /* case 2: Le, 00 means 256 */
        a->ne = p[4] ? p[4] : 256;
        return 0;
    }
    size_t lc = p[4];
    if (lc == 0)
        return -1;     /* extended length (or garbage) */
    if (n == 5 + lc) { /* case 3 */
        a->data = p + 5;
        a->lc = lc;
        return 0;
    }
    if (n == 6 + lc) { /* case 4 */
        a->data = p + 5;
        a->lc = lc;
        a->ne = p[5 + lc] ? p[5 + lc] : 256;
        return 0;
    }
    return -1;
}

/* Class byte (ISO/IEC 7816-4 §5.4.1; GlobalPlatform uses the same bits in 80-83 and C0-CF).
 * Returns 0 and the channel number, or the status word to answer with. */
static unsigned decode_cla(uint8_t cla, unsigned *chan, bool *proprietary)
{
    if (cla == 0xFF)
        return RSP_SW_CLA_NOT_SUPP;
    *proprietary = (cla & 0x80) != 0;
    uint8_t c = cla & 0x7F;
    if ((c & 0x60) == 0x00) { /* first interindustry coding: 0x0X / 0x1X */
        if (c & 0x10)
            return RSP_SW_CHAINING_NOT_SUPP;
        if (c & 0x0C)
            return RSP_SW_SM_NOT_SUPP;
        *chan = c & 0x03;
        return 0;
    }
    if ((c & 0x40) == 0x40) { /* further interindustry coding: channels 4..19 */
        if (c & 0x10)
            return RSP_SW_CHAINING_NOT_SUPP;
        if (c & 0x20)
            return RSP_SW_SM_NOT_SUPP;
        *chan = 4u + (c & 0x0F);
        return 0;
    }
    return RSP_SW_CLA_NOT_SUPP; /* 0x20-0x3F and 0xA0-0xBF: RFU / other proprietary */
}

/* Serves the pending response of `c`: at most `ne` (and 256) bytes, then 9000, or 61xx when
 * more remains (ISO/IEC 7816-4 §5.3.4; SGP.22 §5.7.2 for responses longer than 256 bytes). */
static int serve_response(struct channel *c, size_t ne, struct rsp_buf *r)
{
    size_t left = c->resp.len - c->resp_off;
    size_t n = left < ne ? left : ne;
    rsp_buf_append(r, c->resp.data + c->resp_off, n);
    c->resp_off += n;
    left -= n;
    if (left == 0) {
        chan_drop_response(c);
        return put_sw(r, RSP_SW_OK);
    }
    return put_sw(r, 0x6100 | (left >= 256 ? 0x00 : (unsigned)left));
}

static int do_get_response(struct channel *c, const struct capdu *a, struct rsp_buf *r)
{
    if (a->p1 != 0 || a->p2 != 0)
        return put_sw(r, RSP_SW_WRONG_P1P2);
    if (a->lc != 0)
        return put_sw(r, RSP_SW_WRONG_LENGTH);
    if (c->resp.len == 0 || c->resp_off >= c->resp.len)
        return put_sw(r, RSP_SW_COND_NOT_SATISFIED);
    return serve_response(c, a->ne ? a->ne : 256, r);
}

static int do_manage_channel(struct rsp_apdu_card *card, unsigned from, const struct capdu *a,
                             struct rsp_buf *r)
{
    if (card->refuse_manage_channel)
        return put_sw(r, RSP_SW_CHANNEL_NOT_SUPP);
    if (a->lc != 0)
        return put_sw(r, RSP_SW_WRONG_LENGTH);
    if (a->p1 == 0x00) { /* open */
        unsigned want = a->p2;
        if (want == 0) { /* the card assigns the lowest free channel */
            for (unsigned i = 1; i < RSP_APDU_CARD_CHANNELS; i++) {
                if (!card->ch[i].open) {
                    want = i;
                    break;
                }
            }
            if (want == 0)
                return put_sw(r, RSP_SW_FUNC_NOT_SUPP);
        } else if (want >= RSP_APDU_CARD_CHANNELS) {
            return put_sw(r, RSP_SW_CHANNEL_NOT_SUPP);
        } else if (card->ch[want].open) {
            return put_sw(r, RSP_SW_WRONG_P1P2);
        }
        chan_close(&card->ch[want]);
        card->ch[want].open = true; /* nothing selected: the ISD-R is not a default app */
        if (a->p2 == 0)
            rsp_buf_append_byte(r, (uint8_t)want);
        return put_sw(r, RSP_SW_OK);
    }
    if (a->p1 == 0x80) { /* close: P2 names the channel, or 00 for the one in CLA */
        unsigned which = a->p2 ? a->p2 : from;
        if (which == 0 || which >= RSP_APDU_CARD_CHANNELS || !card->ch[which].open)
            return put_sw(r, RSP_SW_WRONG_P1P2);
        chan_close(&card->ch[which]);
        return put_sw(r, RSP_SW_OK);
    }
    return put_sw(r, RSP_SW_WRONG_P1P2);
}

/* FCI of the ISD-R: 6F { 84 AID, A5 { 9F65 max command data length }, E0 { 82 SVN 2.2.0 } }
 * (GlobalPlatform FCI; ISDRProprietaryApplicationTemplate after it, SGP.22 §5.7.1). */
static int put_fci(const struct rsp_apdu_card *card, struct rsp_buf *r)
{
    size_t inner = 2 + card->aid_len + 2 + 4 + 2 + 5;
    rsp_buf_append_byte(r, 0x6F);
    rsp_buf_append_byte(r, (uint8_t)inner);
    rsp_buf_append_byte(r, 0x84);
    rsp_buf_append_byte(r, (uint8_t)card->aid_len);
    rsp_buf_append(r, card->aid, card->aid_len);
    static const uint8_t rest[] = {0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF, 0xE0,
                                   0x05, 0x82, 0x03, 0x02, 0x02, 0x00};
    return rsp_buf_append(r, rest, sizeof rest);
}

static int do_select(struct rsp_apdu_card *card, struct channel *c, const struct capdu *a,
                     struct rsp_buf *r)
{
    if (a->p1 != 0x04) /* only selection by DF name (AID) */
        return put_sw(r, RSP_SW_WRONG_P1P2);
    /* P2: first occurrence; 00 FCI, 04 FCP, 0C no data. Next occurrence is not supported. */
    if (a->p2 != 0x00 && a->p2 != 0x04 && a->p2 != 0x0C)
        return put_sw(r, RSP_SW_WRONG_P1P2);
    if (a->lc == 0 || a->lc > RSP_APDU_CARD_MAX_AID)
        return put_sw(r, RSP_SW_WRONG_LENGTH);
    if (a->lc != card->aid_len || memcmp(a->data, card->aid, a->lc) != 0) {
        /* A failed selection leaves the current one in place (GlobalPlatform). */
        return put_sw(r, RSP_SW_FILE_NOT_FOUND);
    }
    chan_drop_command(c);
    chan_drop_response(c);
    c->isdr = true;
    if (a->p2 == 0x0C)
        return put_sw(r, RSP_SW_OK);
    struct rsp_buf fci = RSP_BUF_INIT;
    put_fci(card, &fci);
    if (fci.err) {
        rsp_buf_free(&fci);
        return RSP_ENOMEM;
    }
    c->resp = fci; /* the channel owns it now */
    c->resp_off = 0;
    if (a->ne == 0)
        return put_sw(r, 0x6100 | (unsigned)c->resp.len);
    return serve_response(c, a->ne, r);
}

static bool is_der_error(int err)
{
    return err == RSP_ETRUNC || err == RSP_EBADLEN || err == RSP_EBADTAG ||
           err == RSP_EUNEXPECTED || err == RSP_EMISSING || err == RSP_ETRAILING ||
           err == RSP_EDEPTH;
}

static int run_handler(struct rsp_apdu_card *card, struct channel *c, size_t ne, struct rsp_buf *r)
{
    struct rsp_buf resp = RSP_BUF_INIT;
    int rc = card->handle(card->handle_ctx, c->cmd.data, c->cmd.len, &resp);
    chan_drop_command(c);
    if (rc == 0 && resp.err)
        rc = resp.err;
    if (rc != 0) {
        rsp_buf_free_secure(&resp);
        if (rc == RSP_ENOMEM)
            return RSP_ENOMEM;
        if (rc >= 0x6000 && rc <= 0x6FFF)
            return put_sw(r, (unsigned)rc);
        return put_sw(r, is_der_error(rc) ? RSP_SW_WRONG_DATA : RSP_SW_UNKNOWN);
    }
    if (resp.len == 0) {
        rsp_buf_free(&resp);
        return put_sw(r, RSP_SW_OK);
    }
    c->resp = resp; /* the channel owns it until GET RESPONSE has fetched it all */
    c->resp_off = 0;
    if (ne == 0) /* no Le: everything through GET RESPONSE, as on T=0 */
        return put_sw(r, 0x6100 | (resp.len >= 256 ? 0x00 : (unsigned)resp.len));
    return serve_response(c, ne, r);
}

/* STORE DATA (GlobalPlatform §11.11; SGP.22 §5.7.2): P1 11 more blocks / 91 last block, P2 the
 * block number counting up from 00 for each command. A block numbered 00 always starts a new
 * command, discarding an unfinished one (an LPA that gave up on a previous command restarts at
 * 00). Intermediate blocks are answered with 9000 and no data (SGP.22 §5.7.6). */
static int do_store_data(struct rsp_apdu_card *card, struct channel *c, const struct capdu *a,
                         struct rsp_buf *r)
{
    if (!c->isdr)
        return put_sw(r, RSP_SW_COND_NOT_SATISFIED);
    if (a->p1 != P1_MORE_BLOCKS && a->p1 != P1_LAST_BLOCK)
        return put_sw(r, RSP_SW_WRONG_P1P2);
    if (a->lc == 0)
        return put_sw(r, RSP_SW_WRONG_LENGTH);
    if (a->p2 == 0) {
        chan_drop_command(c);
        c->in_chain = true;
    } else if (!c->in_chain || a->p2 != c->next_block) {
        chan_drop_command(c);
        return put_sw(r, RSP_SW_WRONG_P1P2);
    }
    if (a->lc > card->max_cmd - c->cmd.len) {
        /* The assembled data field cannot be a valid command (SGP.22 §5.7.2: 6A80). */
        chan_drop_command(c);
        return put_sw(r, RSP_SW_WRONG_DATA);
    }
    if (rsp_buf_append(&c->cmd, a->data, a->lc) != 0) {
        chan_drop_command(c);
        return RSP_ENOMEM;
    }
    c->next_block = a->p2 + 1u;
    if (a->p1 == P1_MORE_BLOCKS)
        return put_sw(r, RSP_SW_OK);
    return run_handler(card, c, a->ne, r);
}

static int do_terminal_capability(const struct capdu *a, struct rsp_buf *r)
{
    /* ETSI TS 102 221 §11.1.19: the terminal's capabilities; accepted and ignored. */
    if (a->p1 != 0 || a->p2 != 0)
        return put_sw(r, RSP_SW_WRONG_P1P2);
    return put_sw(r, RSP_SW_OK);
}

int rsp_apdu_card_process(struct rsp_apdu_card *card, const uint8_t *capdu, size_t len,
                          struct rsp_buf *rapdu)
{
    if (!card || !rapdu || (!capdu && len))
        return RSP_EINVAL;
    size_t mark = rapdu->len;
    struct capdu a;
    int rc;
    if (parse_capdu(capdu, len, &a) != 0) {
        rc = put_sw(rapdu, RSP_SW_WRONG_LENGTH);
        goto out;
    }
    unsigned chan = 0;
    bool prop = false;
    unsigned sw = decode_cla(a.cla, &chan, &prop);
    if (sw) {
        rc = put_sw(rapdu, sw);
        goto out;
    }
    if (chan >= RSP_APDU_CARD_CHANNELS || !card->ch[chan].open) {
        rc = put_sw(rapdu, RSP_SW_CHANNEL_NOT_SUPP);
        goto out;
    }
    struct channel *c = &card->ch[chan];
    /* Any command but GET RESPONSE abandons a response not yet fetched (ISO/IEC 7816-4). */
    if (a.ins != INS_GET_RESPONSE)
        chan_drop_response(c);
    switch (a.ins) {
    case INS_GET_RESPONSE: /* CLA 00 or 80 both seen in the field (addendum §4.3) */
        rc = do_get_response(c, &a, rapdu);
        break;
    case INS_MANAGE_CHANNEL:
        rc = prop ? put_sw(rapdu, RSP_SW_CLA_NOT_SUPP) : do_manage_channel(card, chan, &a, rapdu);
        break;
    case INS_SELECT:
        rc = prop ? put_sw(rapdu, RSP_SW_CLA_NOT_SUPP) : do_select(card, c, &a, rapdu);
        break;
    case INS_TERMINAL_CAP:
        rc = do_terminal_capability(&a, rapdu);
        break;
    case INS_STORE_DATA: /* GlobalPlatform proprietary class only (SGP.22 Table 47) */
        rc = prop ? do_store_data(card, c, &a, rapdu) : put_sw(rapdu, RSP_SW_CLA_NOT_SUPP);
        break;
    default:
        rc = put_sw(rapdu, RSP_SW_INS_NOT_SUPP);
        break;
    }
out:
    if (rc == 0 && rapdu->err)
        rc = rapdu->err;
    if (rc != 0)
        rapdu->len = mark < rapdu->len ? mark : rapdu->len;
    return rc;
}
