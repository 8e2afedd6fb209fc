/* Card-side APDU front-end: ATR, SELECT, MANAGE CHANNEL, class byte channels, STORE DATA chaining,
 * GET RESPONSE and every status word for wrong input. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/apdu_card.h"
#include "rsp/err.h"

#define ISDR_HEX "A0000005591010FFFFFFFF8900000100"

/* Test handler: records the command; answers with `resp_len` bytes of a pattern (or an echo of
 * the command when resp_len < 0), or with `ret` when non-zero. */
struct hctx {
    struct rsp_buf last;
    int calls;
    long resp_len;
    int ret;
};

static int handler(void *vctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct hctx *h = vctx;
    h->calls++;
    rsp_buf_set(&h->last, cmd, len);
    if (h->ret)
        return h->ret;
    if (h->resp_len < 0)
        return rsp_buf_append(resp, cmd, len);
    for (long i = 0; i < h->resp_len; i++)
        rsp_buf_append_byte(resp, (uint8_t)(i * 7 + 3));
    return 0;
}

struct fx {
    struct rsp_apdu_card *card;
    struct hctx h;
    struct rsp_buf r;
};

static struct fx *fx_new(const struct rsp_apdu_card_opts *extra)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct rsp_apdu_card_opts o = {0};
    if (extra)
        o = *extra;
    o.handle = handler;
    o.handle_ctx = &f->h;
    f->h.resp_len = -1;
    assert_int_equal(rsp_apdu_card_new(&f->card, &o), 0);
    return f;
}

static void fx_free(struct fx *f)
{
    rsp_apdu_card_free(f->card);
    rsp_buf_free(&f->h.last);
    rsp_buf_free(&f->r);
    free(f);
}

/* Sends raw bytes; returns the SW, leaves the data in f->r (without the SW). */
static unsigned txb(struct fx *f, const uint8_t *p, size_t n)
{
    rsp_buf_reset(&f->r);
    assert_int_equal(rsp_apdu_card_process(f->card, p, n, &f->r), 0);
    assert_true(f->r.len >= 2);
    unsigned sw = ((unsigned)f->r.data[f->r.len - 2] << 8) | f->r.data[f->r.len - 1];
    f->r.len -= 2;
    return sw;
}

static unsigned tx(struct fx *f, const char *hex)
{
    struct rsp_buf c = tu_hex(hex);
    unsigned sw = txb(f, c.data, c.len);
    rsp_buf_free(&c);
    return sw;
}

/* STORE DATA block on `cla` with explicit P1/P2 and Le 00. */
static unsigned store(struct fx *f, uint8_t cla, uint8_t p1, uint8_t p2, const uint8_t *d, size_t n)
{
    uint8_t a[262];
    a[0] = cla;
    a[1] = 0xE2;
    a[2] = p1;
    a[3] = p2;
    a[4] = (uint8_t)n;
    memcpy(a + 5, d, n);
    a[5 + n] = 0x00;
    return txb(f, a, 6 + n);
}

static void select_isdr(struct fx *f, unsigned ch)
{
    char hex[80];
    snprintf(hex, sizeof hex, "%02X A4 0400 10 " ISDR_HEX " 00", ch);
    assert_int_equal(tx(f, hex), 0x9000);
}

static void test_atr(void **state)
{
    (void)state;
    const uint8_t *atr;
    size_t n = rsp_apdu_card_atr(&atr);
    assert_true(n >= 4 && n <= 33);
    assert_int_equal(atr[0], 0x3B);
    uint8_t x = 0;
    for (size_t i = 1; i < n; i++) /* TCK: XOR of T0..TCK is zero (ISO/IEC 7816-3 §8.2.5) */
        x ^= atr[i];
    assert_int_equal(x, 0);
    assert_int_equal(atr[1] & 0x0F, 5); /* 5 historical bytes */
    assert_int_equal(atr[2], 0x80);     /* TD1: T=0, TD2 follows */
    assert_int_equal(atr[3], 0x81);     /* TD2: T=1 */
    assert_int_equal(rsp_apdu_card_atr(NULL), n);
}

static void test_select(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    assert_int_equal(tx(f, "00A40400 10 " ISDR_HEX " 00"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len,
                  "6F 1F 84 10 " ISDR_HEX " A5 04 9F65 01 FF E0 05 82 03 020200");
    /* no response data wanted */
    assert_int_equal(tx(f, "00A4040C 10 " ISDR_HEX), 0x9000);
    assert_int_equal(f->r.len, 0);
    /* case 3: 61xx, then GET RESPONSE */
    assert_int_equal(tx(f, "00A40400 10 " ISDR_HEX), 0x6121);
    assert_int_equal(f->r.len, 0);
    assert_int_equal(tx(f, "00C0000021"), 0x9000);
    assert_int_equal(f->r.len, 0x21);
    assert_int_equal(f->r.data[0], 0x6F);
    /* unknown AID, truncated AID, wrong P1/P2, bad Lc */
    assert_int_equal(tx(f, "00A40400 10 A0000005591010FFFFFFFF8900000200 00"), 0x6A82);
    assert_int_equal(tx(f, "00A40400 08 A0000005591010FF 00"), 0x6A82);
    assert_int_equal(tx(f, "00A40000 02 3F00"), 0x6A86);
    assert_int_equal(tx(f, "00A40402 10 " ISDR_HEX " 00"), 0x6A86);
    assert_int_equal(tx(f, "00A40400 11 " ISDR_HEX "01 00"), 0x6700);
    assert_int_equal(tx(f, "00A40400"), 0x6700); /* no AID */
    /* SELECT is interindustry only */
    assert_int_equal(tx(f, "80A40400 10 " ISDR_HEX " 00"), 0x6E00);
    /* the failed selections kept the ISD-R selected */
    assert_int_equal(tx(f, "80E29100 03 BF2E00 00"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "BF2E00");
    fx_free(f);
}

static void test_select_custom_aid(void **state)
{
    (void)state;
    static const uint8_t aid[] = {0xA0, 0x00, 0x00, 0x00, 0x01};
    struct rsp_apdu_card_opts o = {.isdr_aid = aid, .isdr_aid_len = sizeof aid};
    struct fx *f = fx_new(&o);
    assert_int_equal(tx(f, "00A40400 10 " ISDR_HEX " 00"), 0x6A82);
    assert_int_equal(tx(f, "00A4040C 05 A000000001"), 0x9000);
    fx_free(f);

    struct rsp_apdu_card *c = NULL;
    struct rsp_apdu_card_opts bad = {.isdr_aid = aid, .isdr_aid_len = 4, .handle = handler};
    assert_int_equal(rsp_apdu_card_new(&c, &bad), RSP_EINVAL);
    struct rsp_apdu_card_opts nohandler = {0};
    assert_int_equal(rsp_apdu_card_new(&c, &nohandler), RSP_EINVAL);
}

static void test_manage_channel(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "01");
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "02");
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "03");
    assert_int_equal(tx(f, "0070000001"), 0x6A81);            /* no free channel */
    assert_int_equal(tx(f, "00708002"), 0x9000);              /* close 2 */
    assert_int_equal(tx(f, "00708002"), 0x6A86);              /* already closed */
    assert_int_equal(tx(f, "02A4040C 10 " ISDR_HEX), 0x6881); /* closed channel */
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "02");
    assert_int_equal(tx(f, "03708000"), 0x9000); /* close the channel of the CLA */
    assert_int_equal(tx(f, "03A4040C 10 " ISDR_HEX), 0x6881);
    assert_int_equal(tx(f, "00700003"), 0x9000); /* open a given channel: no data */
    assert_int_equal(f->r.len, 0);
    assert_int_equal(tx(f, "00700003"), 0x6A86); /* already open */
    assert_int_equal(tx(f, "00700004"), 0x6881); /* beyond the 4 channels */
    assert_int_equal(tx(f, "00708000"), 0x6A86); /* the basic channel cannot be closed */
    assert_int_equal(tx(f, "00708004"), 0x6A86);
    assert_int_equal(tx(f, "00704000"), 0x6A86); /* P1 neither open nor close */
    assert_int_equal(tx(f, "00700000 01 00"), 0x6700);
    assert_int_equal(tx(f, "80700000 01"), 0x6E00);
    /* reset closes every logical channel */
    rsp_apdu_card_reset(f->card);
    assert_int_equal(tx(f, "01A4040C 10 " ISDR_HEX), 0x6881);
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "01");
    fx_free(f);

    struct rsp_apdu_card_opts o = {.refuse_manage_channel = true};
    f = fx_new(&o);
    assert_int_equal(tx(f, "0070000001"), 0x6881);
    select_isdr(f, 0);
    fx_free(f);
}

static void test_cla_channels(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    const uint8_t cmd[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    assert_int_equal(tx(f, "0070000001"), 0x9000);
    select_isdr(f, 1);
    /* per-channel selection state: ISD-R on 1 only */
    assert_int_equal(store(f, 0x81, 0x91, 0, cmd, sizeof cmd), 0x9000);
    tu_assert_hex(f->r.data, f->r.len, "BF3E035C015A");
    assert_int_equal(store(f, 0x80, 0x91, 0, cmd, sizeof cmd), 0x6985);
    assert_int_equal(store(f, 0x82, 0x91, 0, cmd, sizeof cmd), 0x6985);
    assert_int_equal(store(f, 0x83, 0x91, 0, cmd, sizeof cmd), 0x6881); /* not open */
    assert_int_equal(store(f, 0xC0, 0x91, 0, cmd, sizeof cmd), 0x6881); /* channel 4 */
    assert_int_equal(store(f, 0xCF, 0x91, 0, cmd, sizeof cmd), 0x6881); /* channel 19 */
    assert_int_equal(store(f, 0x85, 0x91, 0, cmd, sizeof cmd), 0x6882); /* secure messaging */
    assert_int_equal(store(f, 0xE1, 0x91, 0, cmd, sizeof cmd), 0x6882);
    assert_int_equal(store(f, 0x91, 0x91, 0, cmd, sizeof cmd), 0x6884); /* command chaining */
    assert_int_equal(store(f, 0xA1, 0x91, 0, cmd, sizeof cmd), 0x6E00);
    assert_int_equal(store(f, 0x21, 0x91, 0, cmd, sizeof cmd), 0x6E00);
    assert_int_equal(store(f, 0xFF, 0x91, 0, cmd, sizeof cmd), 0x6E00);
    /* STORE DATA needs the GlobalPlatform proprietary class */
    assert_int_equal(store(f, 0x01, 0x91, 0, cmd, sizeof cmd), 0x6E00);
    /* the same selection reached through the further interindustry coding is not possible:
     * channels 4+ are never open */
    assert_int_equal(tx(f, "40A4040C 10 " ISDR_HEX), 0x6881);
    /* select on 2, then both work independently */
    select_isdr(f, 2);
    assert_int_equal(store(f, 0x82, 0x91, 0, cmd, sizeof cmd), 0x9000);
    assert_int_equal(f->h.calls, 2);
    fx_free(f);
}

static void chain_roundtrip(size_t total, size_t bs)
{
    struct fx *f = fx_new(NULL);
    select_isdr(f, 0);
    uint8_t *cmd = malloc(total);
    assert_non_null(cmd);
    for (size_t i = 0; i < total; i++)
        cmd[i] = (uint8_t)(i * 13 + total);
    f->h.resp_len = 0;
    size_t blocks = (total + bs - 1) / bs;
    for (size_t b = 0; b < blocks; b++) {
        size_t off = b * bs, n = total - off < bs ? total - off : bs;
        bool last = b + 1 == blocks;
        unsigned sw = store(f, 0x80, last ? 0x91 : 0x11, (uint8_t)b, cmd + off, n);
        assert_int_equal(sw, 0x9000);
        assert_int_equal(f->r.len, 0); /* nothing for intermediate blocks, empty response */
        assert_int_equal(f->h.calls, last ? 1 : 0);
    }
    assert_int_equal(f->h.last.len, total);
    assert_memory_equal(f->h.last.data, cmd, total);
    free(cmd);
    fx_free(f);
}

static void test_store_data_chaining(void **state)
{
    (void)state;
    chain_roundtrip(1, 1);
    chain_roundtrip(256, 1); /* 256 blocks: P2 00..FF */
    chain_roundtrip(7, 7);
    chain_roundtrip(8, 7);
    chain_roundtrip(1000, 7);
    chain_roundtrip(255, 255);
    chain_roundtrip(256, 255);
    chain_roundtrip(1020, 255);
    chain_roundtrip(20000, 255);
}

static void test_store_data_block_order(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    select_isdr(f, 0);
    const uint8_t d[3] = {1, 2, 3};
    assert_int_equal(store(f, 0x80, 0x91, 1, d, 3), 0x6A86); /* must start at 00 */
    assert_int_equal(store(f, 0x80, 0x11, 1, d, 3), 0x6A86);
    assert_int_equal(store(f, 0x80, 0x11, 0, d, 3), 0x9000);
    assert_int_equal(store(f, 0x80, 0x11, 2, d, 3), 0x6A86); /* skipped 01 */
    assert_int_equal(store(f, 0x80, 0x11, 1, d, 3), 0x6A86); /* the chain was abandoned */
    assert_int_equal(store(f, 0x80, 0x11, 0, d, 3), 0x9000);
    assert_int_equal(store(f, 0x80, 0x11, 1, d, 3), 0x9000);
    assert_int_equal(store(f, 0x80, 0x91, 1, d, 3), 0x6A86); /* repeated 01 */
    assert_int_equal(f->h.calls, 0);
    /* 00 restarts a command, dropping the unfinished one */
    assert_int_equal(store(f, 0x80, 0x11, 0, d, 3), 0x9000);
    assert_int_equal(store(f, 0x80, 0x11, 1, d, 3), 0x9000);
    assert_int_equal(store(f, 0x80, 0x11, 0, d, 2), 0x9000);
    assert_int_equal(store(f, 0x80, 0x91, 1, d, 1), 0x9000);
    assert_int_equal(f->h.calls, 1);
    tu_assert_hex(f->h.last.data, f->h.last.len, "010201");
    assert_int_equal(store(f, 0x80, 0x91, 2, d, 1), 0x6A86); /* finished command: restart at 0 */
    /* wrong P1 values (Table 48) */
    assert_int_equal(store(f, 0x80, 0x90, 0, d, 1), 0x6A86);
    assert_int_equal(store(f, 0x80, 0x01, 0, d, 1), 0x6A86);
    assert_int_equal(store(f, 0x80, 0x81, 0, d, 1), 0x6A86);
    /* a SELECT in the middle drops the partial command */
    assert_int_equal(store(f, 0x80, 0x11, 0, d, 3), 0x9000);
    select_isdr(f, 0);
    assert_int_equal(store(f, 0x80, 0x91, 1, d, 3), 0x6A86);
    fx_free(f);
}

static void test_get_response_600(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    select_isdr(f, 0);
    f->h.resp_len = 600;
    const uint8_t cmd[] = {0xBF, 0x2D, 0x00};
    uint8_t got[600];
    /* Le 00 (256): first 256 bytes, then 61 00 (256 or more left) */
    assert_int_equal(store(f, 0x80, 0x91, 0, cmd, 3), 0x6100);
    assert_int_equal(f->r.len, 256);
    memcpy(got, f->r.data, 256);
    assert_int_equal(tx(f, "00C0000000"), 0x6158);
    assert_int_equal(f->r.len, 256);
    memcpy(got + 256, f->r.data, 256);
    assert_int_equal(tx(f, "80C0000058"), 0x9000); /* GET RESPONSE in class 80 too */
    assert_int_equal(f->r.len, 88);
    memcpy(got + 512, f->r.data, 88);
    for (size_t i = 0; i < 600; i++)
        assert_int_equal(got[i], (uint8_t)(i * 7 + 3));
    assert_int_equal(tx(f, "00C0000000"), 0x6985); /* nothing left */

    /* no Le: everything through GET RESPONSE; small Le: pieces of that size */
    uint8_t a[] = {0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2D, 0x00};
    assert_int_equal(txb(f, a, sizeof a), 0x6100);
    assert_int_equal(f->r.len, 0);
    assert_int_equal(tx(f, "00C0000010"), 0x6100);
    assert_int_equal(f->r.len, 16);
    assert_int_equal(f->r.data[0], 3);
    /* another command discards the rest */
    assert_int_equal(tx(f, "80AA000003A90100"), 0x9000);
    assert_int_equal(tx(f, "00C0000000"), 0x6985);

    /* exactly 256 bytes fit one R-APDU */
    f->h.resp_len = 256;
    assert_int_equal(store(f, 0x80, 0x91, 0, cmd, 3), 0x9000);
    assert_int_equal(f->r.len, 256);
    /* 257 do not */
    f->h.resp_len = 257;
    assert_int_equal(store(f, 0x80, 0x91, 0, cmd, 3), 0x6101);
    assert_int_equal(tx(f, "00C0000001"), 0x9000);
    assert_int_equal(f->r.len, 1);
    /* GET RESPONSE on another channel sees nothing */
    f->h.resp_len = 300;
    assert_int_equal(store(f, 0x80, 0x91, 0, cmd, 3), 0x612C);
    assert_int_equal(tx(f, "0070000001"), 0x9000); /* (drops channel 0's pending data too) */
    assert_int_equal(tx(f, "01C0000000"), 0x6985);
    fx_free(f);
}

static void test_wrong_input(void **state)
{
    (void)state;
    struct rsp_apdu_card_opts o = {.max_cmd = 100};
    struct fx *f = fx_new(&o);
    assert_int_equal(txb(f, (const uint8_t *)"", 0), 0x6700);
    assert_int_equal(tx(f, "00"), 0x6700);
    assert_int_equal(tx(f, "00A404"), 0x6700);
    assert_int_equal(tx(f, "00A40400 10 A000"), 0x6700);           /* Lc > data */
    assert_int_equal(tx(f, "00A40400 02 A000 00 00"), 0x6700);     /* Lc < data */
    assert_int_equal(tx(f, "00A40400 00 0010 " ISDR_HEX), 0x6700); /* extended */
    assert_int_equal(tx(f, "00B0000000"), 0x6D00);                 /* unknown INS */
    assert_int_equal(tx(f, "80CA9F7F00"), 0x6D00);
    /* STORE DATA with no ISD-R selected */
    assert_int_equal(tx(f, "80E2910003BF2E0000"), 0x6985);
    select_isdr(f, 0);
    assert_int_equal(tx(f, "80E2910000"), 0x6700); /* no data (case 2) */
    assert_int_equal(tx(f, "80E29100"), 0x6700);   /* case 1 */
    assert_int_equal(tx(f, "00C0000100"), 0x6A86); /* GET RESPONSE P1P2 */
    assert_int_equal(tx(f, "00C00000 01 00 00"), 0x6700);
    assert_int_equal(tx(f, "80AA0000 03 A90100"), 0x9000); /* TERMINAL CAPABILITY */
    assert_int_equal(tx(f, "00AA0000 03 A90100"), 0x9000);
    assert_int_equal(tx(f, "80AA0100 03 A90100"), 0x6A86);
    /* reassembled command over max_cmd: 6A80 (SGP.22 §5.7.2), chain dropped */
    uint8_t big[101];
    memset(big, 0x42, sizeof big);
    assert_int_equal(store(f, 0x80, 0x91, 0, big, 101), 0x6A80);
    assert_int_equal(store(f, 0x80, 0x11, 0, big, 60), 0x9000);
    assert_int_equal(store(f, 0x80, 0x91, 1, big, 41), 0x6A80);
    assert_int_equal(store(f, 0x80, 0x91, 2, big, 1), 0x6A86);
    assert_int_equal(store(f, 0x80, 0x11, 0, big, 60), 0x9000);
    assert_int_equal(store(f, 0x80, 0x91, 1, big, 40), 0x9000); /* exactly 100 */
    assert_int_equal(f->h.last.len, 100);
    /* handler refusals */
    f->h.ret = 0x6A88;
    assert_int_equal(tx(f, "80E2910003BF9900 00"), 0x6A88);
    assert_int_equal(f->r.len, 0);
    f->h.ret = RSP_EBADTAG;
    assert_int_equal(tx(f, "80E2910001FF00"), 0x6A80);
    f->h.ret = RSP_ETRUNC;
    assert_int_equal(tx(f, "80E2910001BF00"), 0x6A80);
    f->h.ret = RSP_ECRYPTO;
    assert_int_equal(tx(f, "80E2910003BF2E0000"), 0x6F00);
    f->h.ret = RSP_SW_COND_NOT_SATISFIED;
    assert_int_equal(tx(f, "80E2910003BF2E0000"), 0x6985);
    f->h.ret = RSP_ENOMEM;
    rsp_buf_reset(&f->r);
    uint8_t sd[] = {0x80, 0xE2, 0x91, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(rsp_apdu_card_process(f->card, sd, sizeof sd, &f->r), RSP_ENOMEM);
    assert_int_equal(f->r.len, 0);
    assert_int_equal(rsp_apdu_card_process(NULL, sd, sizeof sd, &f->r), RSP_EINVAL);
    assert_int_equal(rsp_apdu_card_process(f->card, sd, sizeof sd, NULL), RSP_EINVAL);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_atr),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_select_custom_aid),
        cmocka_unit_test(test_manage_channel),
        cmocka_unit_test(test_cla_channels),
        cmocka_unit_test(test_store_data_chaining),
        cmocka_unit_test(test_store_data_block_order),
        cmocka_unit_test(test_get_response_600),
        cmocka_unit_test(test_wrong_input),
    };
    return cmocka_run_group_tests_name("apdu_card", tests, NULL, NULL);
}
