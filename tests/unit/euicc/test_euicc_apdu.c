/* Software eUICC behind the ISO 7816 card front-end: downloads and management through STORE DATA
 * blocks (lpac's 120-byte blocks and 255), logical channel, GET RESPONSE, status words. */
#include <string.h>

#include "euicc_fx.h"
#include "rsp/apdu.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"

struct link {
    struct rsp_apdu_card *card;
    struct rsp_apdu_transport *t;
    struct rsp_es10 s;
};

static int over_apdus(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct link *l = ctx;
    int rc = rsp_es10_transceive(&l->s, cmd, len, resp);
    return rc == RSP_ESW ? (int)l->s.last_sw : rc;
}

static void link_open(struct link *l, struct rsp_euicc *e, size_t block)
{
    memset(l, 0, sizeof *l);
    struct rsp_apdu_card_opts co = {.handle = rsp_euicc_process, .handle_ctx = e};
    assert_int_equal(rsp_apdu_card_new(&l->card, &co), 0);
    assert_int_equal(rsp_apdu_loopback_new(&l->t, l->card), 0);
    struct rsp_es10_opts eo = {.block_size = block};
    assert_int_equal(rsp_es10_open(&l->s, l->t, &eo), 0);
    fx_set_transceive(over_apdus, l);
}

static void link_close(struct link *l)
{
    fx_set_transceive(NULL, NULL);
    rsp_es10_close(&l->s);
    rsp_apdu_transport_free(l->t);
    rsp_apdu_card_free(l->card);
}

static void apdu_case(size_t set, size_t block, bool two_layer)
{
    struct rsp_euicc *e = fx_euicc(set, NULL, NULL);
    struct link l;
    link_open(&l, e, block);
    struct fx_profile p = {.iccid = "8949000000000000011",
                           .name = "APDU",
                           .profile_class = RSP_PROFILE_CLASS_OPERATIONAL};
    uint8_t aid[16];
    fx_download(e, set, &p, two_layer, aid);
    struct rsp_buf r = RSP_BUF_INIT;
    assert_int_equal(fx_cmd_hex(e, "BF2D00", &r), 0);
    struct rsp_profile_info_list pl;
    assert_int_equal(rsp_profile_info_list_decode(r.data, r.len, &pl), 0);
    assert_int_equal(pl.n, 1);
    assert_memory_equal(pl.profiles[0].isdp_aid.p, aid, 16);
    /* status words through the front-end */
    assert_int_equal(fx_cmd_hex(e, "BF7F00", &r), RSP_SW_REF_NOT_FOUND);
    assert_int_equal(fx_cmd_hex(e, "A3 82 04 00", &r), RSP_SW_COND_NOT_SATISFIED);
    rsp_buf_free(&r);
    link_close(&l);
    rsp_euicc_free(e);
}

static void test_apdu_nist_120(void **st)
{
    (void)st;
    apdu_case(0, 120, true);
}

static void test_apdu_brp_255(void **st)
{
    (void)st;
    apdu_case(1, 255, false);
}

static void test_apdu_small_blocks(void **st)
{
    (void)st;
    apdu_case(0, 64, false);
}

static int teardown_group(void **st)
{
    (void)st;
    fx_pki_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apdu_nist_120),
        cmocka_unit_test(test_apdu_brp_255),
        cmocka_unit_test(test_apdu_small_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_group);
}
