/* ES10 exchanger over the loopback transport: round trips of every size, block sizes 1..255,
 * logical channel and basic-channel fallback, status word errors, 61xx and 6Cxx handling. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "rsp/apdu.h"
#include "rsp/err.h"

struct hctx {
    struct rsp_buf last;
    size_t resp_len;
    int ret;
};

static int handler(void *vctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct hctx *h = vctx;
    rsp_buf_set(&h->last, cmd, len);
    if (h->ret)
        return h->ret;
    for (size_t i = 0; i < h->resp_len; i++)
        rsp_buf_append_byte(resp, (uint8_t)(i * 31 + h->resp_len));
    return 0;
}

/* A transport that wraps another one and records every C-APDU's CLA and INS. */
struct spy {
    struct rsp_apdu_transport *inner;
    uint8_t cla[64], ins[64];
    size_t n;
};

static int spy_connect(void *ctx)
{
    struct spy *s = ctx;
    return rsp_apdu_connect(s->inner);
}

static int spy_transmit(void *ctx, const uint8_t *c, size_t len, struct rsp_buf *r)
{
    struct spy *s = ctx;
    if (s->n < 64) {
        s->cla[s->n] = c[0];
        s->ins[s->n] = c[1];
        s->n++;
    }
    return rsp_apdu_transmit(s->inner, c, len, r);
}

static void spy_disconnect(void *ctx)
{
    struct spy *s = ctx;
    rsp_apdu_disconnect(s->inner);
}

static const struct rsp_apdu_transport_ops spy_ops = {
    .name = "spy",
    .connect = spy_connect,
    .transmit = spy_transmit,
    .disconnect = spy_disconnect,
};

struct fx {
    struct hctx h;
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *lb;
    struct spy spy;
    struct rsp_apdu_transport t;
};

static struct fx *fx_new(bool refuse_mc)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct rsp_apdu_card_opts o = {
        .handle = handler, .handle_ctx = &f->h, .refuse_manage_channel = refuse_mc};
    assert_int_equal(rsp_apdu_card_new(&f->card, &o), 0);
    assert_int_equal(rsp_apdu_loopback_new(&f->lb, f->card), 0);
    f->spy.inner = f->lb;
    f->t.ops = &spy_ops;
    f->t.ctx = &f->spy;
    return f;
}

static void fx_free(struct fx *f)
{
    rsp_apdu_transport_free(f->lb);
    rsp_apdu_card_free(f->card);
    rsp_buf_free(&f->h.last);
    free(f);
}

static void roundtrip(struct fx *f, struct rsp_es10 *s, size_t n, size_t resp_len)
{
    uint8_t *cmd = malloc(n ? n : 1);
    assert_non_null(cmd);
    for (size_t i = 0; i < n; i++)
        cmd[i] = (uint8_t)(i ^ (n >> 3));
    f->h.resp_len = resp_len;
    struct rsp_buf resp = RSP_BUF_INIT;
    size_t blocks = (n + s->block_size - 1) / s->block_size;
    int rc = rsp_es10_transceive(s, cmd, n, &resp);
    if (n == 0) {
        assert_int_equal(rc, RSP_EINVAL);
    } else if (blocks > 256) {
        assert_int_equal(rc, RSP_ERANGE);
    } else {
        assert_int_equal(rc, 0);
        assert_int_equal(s->last_sw, 0x9000);
        assert_int_equal(f->h.last.len, n);
        assert_memory_equal(f->h.last.data, cmd, n);
        assert_int_equal(resp.len, resp_len);
        for (size_t i = 0; i < resp_len; i++)
            assert_int_equal(resp.data[i], (uint8_t)(i * 31 + resp_len));
    }
    rsp_buf_free(&resp);
    free(cmd);
}

static void test_roundtrip_sizes(void **state)
{
    (void)state;
    static const size_t block_sizes[] = {1, 2, 7, 16, 100, 120, 200, 254, 255};
    static const size_t resp_sizes[] = {0, 1, 2, 255, 256, 257, 511, 512, 513, 600, 1999, 2000};
    struct fx *f = fx_new(false);
    for (size_t b = 0; b < sizeof block_sizes / sizeof *block_sizes; b++) {
        struct rsp_es10 s;
        struct rsp_es10_opts o = {.block_size = block_sizes[b]};
        assert_int_equal(rsp_es10_open(&s, &f->t, &o), 0);
        assert_int_equal(s.channel, 1);
        assert_true(s.opened);
        for (size_t n = 0; n <= 2000; n += (n < 300 ? 1 : 37))
            roundtrip(f, &s, n, (n * 7) % 2001);
        roundtrip(f, &s, 2000, 2000);
        for (size_t r = 0; r < sizeof resp_sizes / sizeof *resp_sizes; r++)
            roundtrip(f, &s, 257, resp_sizes[r]);
        rsp_es10_close(&s);
    }
    /* every block size 1..255 with a few command sizes around block boundaries */
    for (size_t bs = 1; bs <= 255; bs++) {
        struct rsp_es10 s;
        struct rsp_es10_opts o = {.block_size = bs};
        assert_int_equal(rsp_es10_open(&s, &f->t, &o), 0);
        const size_t sizes[] = {1, bs - 1, bs, bs + 1, 2 * bs + 1, 2000};
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            roundtrip(f, &s, sizes[i], (bs * 3 + i) % 700);
        rsp_es10_close(&s);
    }
    fx_free(f);
}

static void test_channel_and_cla(void **state)
{
    (void)state;
    struct fx *f = fx_new(false);
    struct rsp_es10 s;
    assert_int_equal(rsp_es10_open(&s, &f->t, NULL), 0);
    assert_int_equal(s.channel, 1);
    assert_true(s.fci.len > 2);
    assert_int_equal(s.fci.data[0], 0x6F);
    size_t mark = f->spy.n;
    f->h.resp_len = 600;
    struct rsp_buf resp = RSP_BUF_INIT;
    const uint8_t cmd[] = {0xBF, 0x2D, 0x00};
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), 0);
    assert_int_equal(resp.len, 600);
    /* STORE DATA in class 81, then GET RESPONSEs in class 01 */
    assert_int_equal(f->spy.n - mark, 3);
    assert_int_equal(f->spy.cla[mark], 0x81);
    assert_int_equal(f->spy.ins[mark], 0xE2);
    assert_int_equal(f->spy.cla[mark + 1], 0x01);
    assert_int_equal(f->spy.ins[mark + 1], 0xC0);
    assert_int_equal(f->spy.ins[mark + 2], 0xC0);
    /* a second session gets another channel while the first is open */
    struct rsp_es10 s2;
    assert_int_equal(rsp_es10_open(&s2, &f->t, NULL), 0);
    assert_int_equal(s2.channel, 2);
    rsp_es10_close(&s2);
    rsp_es10_close(&s);
    assert_int_equal(f->spy.cla[f->spy.n - 1], 0x00);
    assert_int_equal(f->spy.ins[f->spy.n - 1], 0x70);
    /* both channels were closed: the next session gets channel 1 again */
    assert_int_equal(rsp_es10_open(&s, &f->t, NULL), 0);
    assert_int_equal(s.channel, 1);
    rsp_es10_close(&s);
    rsp_buf_free(&resp);
    fx_free(f);
}

static void test_basic_channel_fallback(void **state)
{
    (void)state;
    struct fx *f = fx_new(true);
    struct rsp_es10 s;
    assert_int_equal(rsp_es10_open(&s, &f->t, NULL), 0);
    assert_int_equal(s.channel, 0);
    assert_false(s.opened);
    size_t mark = f->spy.n;
    f->h.resp_len = 300;
    struct rsp_buf resp = RSP_BUF_INIT;
    const uint8_t cmd[] = {0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A};
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), 0);
    assert_int_equal(resp.len, 300);
    assert_int_equal(f->spy.cla[mark], 0x80);
    assert_int_equal(f->spy.cla[mark + 1], 0x00);
    size_t before_close = f->spy.n;
    rsp_es10_close(&s);
    assert_int_equal(f->spy.n, before_close); /* nothing to close on the basic channel */

    /* asked for the basic channel explicitly: no MANAGE CHANNEL at all */
    struct fx *g = fx_new(false);
    struct rsp_es10_opts o = {.basic_channel = true};
    assert_int_equal(rsp_es10_open(&s, &g->t, &o), 0);
    assert_int_equal(g->spy.ins[0], 0xA4);
    assert_int_equal(s.channel, 0);
    rsp_es10_close(&s);
    rsp_buf_free(&resp);
    fx_free(g);
    fx_free(f);
}

static void test_status_word_errors(void **state)
{
    (void)state;
    struct fx *f = fx_new(false);
    struct rsp_es10 s;
    static const uint8_t other[] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                    0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x02, 0x00};
    struct rsp_es10_opts o = {.isdr_aid = other, .isdr_aid_len = sizeof other};
    assert_int_equal(rsp_es10_open(&s, &f->t, &o), RSP_ESW);
    assert_int_equal(s.last_sw, 0x6A82);
    assert_false(s.connected);

    assert_int_equal(rsp_es10_open(&s, &f->t, NULL), 0);
    struct rsp_buf resp = RSP_BUF_INIT;
    rsp_buf_append(&resp, "junk", 4);
    const uint8_t cmd[] = {0xBF, 0x99, 0x00};
    f->h.ret = 0x6A88;
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), RSP_ESW);
    assert_int_equal(s.last_sw, 0x6A88);
    assert_int_equal(resp.len, 0);
    f->h.ret = RSP_ECRYPTO;
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), RSP_ESW);
    assert_int_equal(s.last_sw, 0x6F00);
    f->h.ret = 0;
    f->h.resp_len = 5;
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), 0);
    assert_int_equal(resp.len, 5);
    assert_int_equal(rsp_es10_transceive(&s, NULL, 0, &resp), RSP_EINVAL);
    rsp_es10_close(&s);
    assert_int_equal(rsp_es10_transceive(&s, cmd, sizeof cmd, &resp), RSP_EINVAL);
    struct rsp_es10_opts bad = {.block_size = 256};
    assert_int_equal(rsp_es10_open(&s, &f->t, &bad), RSP_EINVAL);
    rsp_buf_free(&resp);
    fx_free(f);
}

/* Scripted card: answers from a list, records what it was sent. */
struct script {
    const char *const *answers;
    size_t i;
    struct rsp_buf sent[8];
};

static int sc_transmit(void *ctx, const uint8_t *c, size_t len, struct rsp_buf *r)
{
    struct script *s = ctx;
    if (!s->answers[s->i])
        return RSP_EIO;
    rsp_buf_set(&s->sent[s->i], c, len);
    struct rsp_buf a = tu_hex(s->answers[s->i++]);
    rsp_buf_set(r, a.data, a.len);
    rsp_buf_free(&a);
    return 0;
}

static const struct rsp_apdu_transport_ops script_ops = {.name = "script", .transmit = sc_transmit};

static void test_exchange_61_6c(void **state)
{
    (void)state;
    const char *const answers[] = {"6C05", "0102030405 6102", "0607 9000", NULL};
    struct script sc = {.answers = answers};
    struct rsp_apdu_transport t = {.ops = &script_ops, .ctx = &sc};
    struct rsp_buf data = RSP_BUF_INIT;
    uint16_t sw = 0;
    const uint8_t get[] = {0x81, 0xCA, 0x00, 0x5A, 0x00};
    assert_int_equal(rsp_apdu_exchange(&t, 1, get, sizeof get, &data, &sw), 0);
    assert_int_equal(sw, 0x9000);
    tu_assert_hex(data.data, data.len, "01020304050607");
    tu_assert_hex(sc.sent[1].data, sc.sent[1].len, "81CA005A05"); /* re-issued with Le 05 */
    tu_assert_hex(sc.sent[2].data, sc.sent[2].len, "01C0000002"); /* GET RESPONSE on ch 1 */

    /* 6Cxx for a case 3 command: Le appended */
    const char *const a2[] = {"6C10", "AA 9000", NULL};
    struct script sc2 = {.answers = a2};
    t.ctx = &sc2;
    rsp_buf_reset(&data);
    const uint8_t c3[] = {0x80, 0xE2, 0x91, 0x00, 0x01, 0x00};
    assert_int_equal(rsp_apdu_exchange(&t, 0, c3, sizeof c3, &data, &sw), 0);
    tu_assert_hex(sc2.sent[1].data, sc2.sent[1].len, "80E291000100 10");

    /* an error SW is returned as is; a transport failure or a 1-byte R-APDU is RSP_EIO */
    const char *const a3[] = {"6A88", "90", NULL};
    struct script sc3 = {.answers = a3};
    t.ctx = &sc3;
    rsp_buf_reset(&data);
    assert_int_equal(rsp_apdu_exchange(&t, 0, c3, sizeof c3, &data, &sw), 0);
    assert_int_equal(sw, 0x6A88);
    assert_int_equal(rsp_apdu_exchange(&t, 0, c3, sizeof c3, &data, &sw), RSP_EIO);
    assert_int_equal(rsp_apdu_exchange(&t, 0, c3, sizeof c3, &data, &sw), RSP_EIO);

    for (size_t i = 0; i < 8; i++) {
        rsp_buf_free(&sc.sent[i]);
        rsp_buf_free(&sc2.sent[i]);
        rsp_buf_free(&sc3.sent[i]);
    }
    rsp_buf_free(&data);
}

/* Endless 61xx: a transport that always answers 256 bytes + 6100. */
static int endless_transmit(void *ctx, const uint8_t *c, size_t len, struct rsp_buf *r)
{
    (void)ctx;
    (void)c;
    (void)len;
    rsp_buf_reset(r);
    for (int i = 0; i < 256; i++)
        rsp_buf_append_byte(r, 0x55);
    rsp_buf_append_byte(r, 0x61);
    return rsp_buf_append_byte(r, 0x00);
}

static void test_exchange_bounded(void **state)
{
    (void)state;
    static const struct rsp_apdu_transport_ops ops = {.transmit = endless_transmit};
    struct rsp_apdu_transport t = {.ops = &ops};
    struct rsp_buf data = RSP_BUF_INIT;
    uint16_t sw;
    const uint8_t c[] = {0x80, 0xE2, 0x91, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(rsp_apdu_exchange(&t, 0, c, sizeof c, &data, &sw), RSP_ERANGE);
    assert_int_equal(data.len, 0);
    rsp_buf_free(&data);
    assert_int_equal(rsp_apdu_cla(0, false), 0x00);
    assert_int_equal(rsp_apdu_cla(3, true), 0x83);
    assert_int_equal(rsp_apdu_cla(4, false), 0x40);
    assert_int_equal(rsp_apdu_cla(19, true), 0xCF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_sizes),        cmocka_unit_test(test_channel_and_cla),
        cmocka_unit_test(test_basic_channel_fallback), cmocka_unit_test(test_status_word_errors),
        cmocka_unit_test(test_exchange_61_6c),         cmocka_unit_test(test_exchange_bounded),
    };
    return cmocka_run_group_tests_name("apdu_client", tests, NULL, NULL);
}
