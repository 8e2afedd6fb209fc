/* libFuzzer target: the ES10 decoders (rsp/sgp22_es10.h). Every decoder sees every input.
 * Properties checked:
 * - no crash, no read outside the input (ASan), no undefined behaviour (UBSan);
 * - whatever a decoder accepts re-encodes (unless the value cannot be carried, e.g. a sequence
 *   number above INT64_MAX), the re-encoding decodes again, and encoding that gives the same bytes
 *   (encode is a fixed point after one normalisation: skipped extensions, DeleteProfile's A0
 *   wrapper). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"
#include "rsp/sgp22_es10.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct rsp_buf *a, const struct rsp_buf *b)
{
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        abort();
}

/* Checks decode -> encode -> decode -> encode for one struct type. */
#define CHECK(type, dec, enc)                                                                      \
    do {                                                                                           \
        static type x1, x2;                                                                        \
        if (dec(data, size, &x1) == 0) {                                                           \
            struct rsp_buf b1 = RSP_BUF_INIT, b2 = RSP_BUF_INIT;                                   \
            if (enc(&x1, &b1) == 0) {                                                              \
                if (dec(b1.data, b1.len, &x2) != 0 || enc(&x2, &b2) != 0)                          \
                    abort();                                                                       \
                same(&b1, &b2);                                                                    \
            }                                                                                      \
            rsp_buf_free(&b1);                                                                     \
            rsp_buf_free(&b2);                                                                     \
        }                                                                                          \
    } while (0)

/* Same, for decoders whose value is a scalar passed by value to the encoder. */
#define CHECK_VAL(type, dec, enc)                                                                  \
    do {                                                                                           \
        type v1, v2;                                                                               \
        if (dec(data, size, &v1) == 0) {                                                           \
            struct rsp_buf b1 = RSP_BUF_INIT, b2 = RSP_BUF_INIT;                                   \
            if (enc(v1, &b1) == 0) {                                                               \
                if (dec(b1.data, b1.len, &v2) != 0 || enc(v2, &b2) != 0)                           \
                    abort();                                                                       \
                same(&b1, &b2);                                                                    \
            }                                                                                      \
            rsp_buf_free(&b1);                                                                     \
            rsp_buf_free(&b2);                                                                     \
        }                                                                                          \
    } while (0)

typedef uint8_t challenge_t[16];

static int info2_enc(const struct rsp_euicc_info2 *x, struct rsp_buf *b)
{
    return rsp_euicc_info2_encode(x, b);
}

static int challenge_dec(const uint8_t *p, size_t n, uint8_t (*c)[16])
{
    return rsp_es10_challenge_decode(p, n, *c);
}

static int challenge_enc(const uint8_t (*c)[16], struct rsp_buf *b)
{
    return rsp_es10_challenge_encode(*c, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rsp_tag tag;
    (void)rsp_es10_peek_tag(data, size, &tag);

    CHECK(struct rsp_euicc_info1, rsp_euicc_info1_decode, rsp_euicc_info1_encode);
    CHECK(struct rsp_euicc_info2, rsp_euicc_info2_decode, info2_enc);
    CHECK(challenge_t, challenge_dec, challenge_enc);
    CHECK(struct rsp_eid, rsp_es10_eid_decode, rsp_es10_eid_encode);
    CHECK(struct rsp_profile_info_list_req, rsp_profile_info_list_req_decode,
          rsp_profile_info_list_req_encode);
    CHECK(struct rsp_profile_info, rsp_profile_info_decode, rsp_profile_info_encode);
    CHECK(struct rsp_profile_info_list, rsp_profile_info_list_decode, rsp_profile_info_list_encode);
    CHECK(struct rsp_es10_switch_req, rsp_es10_enable_req_decode, rsp_es10_enable_req_encode);
    CHECK(struct rsp_es10_switch_req, rsp_es10_disable_req_decode, rsp_es10_disable_req_encode);
    CHECK(struct rsp_es10_profile_id, rsp_es10_delete_req_decode, rsp_es10_delete_req_encode);
    CHECK(struct rsp_es10_set_nickname_req, rsp_es10_set_nickname_req_decode,
          rsp_es10_set_nickname_req_encode);
    CHECK(struct rsp_es10_list_notif_req, rsp_es10_list_notif_req_decode,
          rsp_es10_list_notif_req_encode);
    CHECK(struct rsp_es10_retrieve_notif_req, rsp_es10_retrieve_notif_req_decode,
          rsp_es10_retrieve_notif_req_encode);
    CHECK(struct rsp_es10_notif_list, rsp_es10_list_notif_resp_decode,
          rsp_es10_list_notif_resp_encode);
    CHECK(struct rsp_es10_notif_list, rsp_es10_retrieve_notif_resp_decode,
          rsp_es10_retrieve_notif_resp_encode);
    CHECK(struct rsp_es10_configured_addresses, rsp_es10_configured_addresses_decode,
          rsp_es10_configured_addresses_encode);
    CHECK(struct rsp_es10_bin, rsp_es10_set_default_dp_req_decode,
          rsp_es10_set_default_dp_req_encode);
    CHECK(struct rsp_es10_rat, rsp_es10_rat_decode, rsp_es10_rat_encode);

    CHECK_VAL(uint8_t, rsp_es10_get_euicc_data_decode, rsp_es10_get_euicc_data_encode);
    CHECK_VAL(uint32_t, rsp_es10_memory_reset_req_decode, rsp_es10_memory_reset_req_encode);
    CHECK_VAL(uint64_t, rsp_es10_notif_sent_req_decode, rsp_es10_notif_sent_req_encode);
    CHECK_VAL(enum rsp_enable_result, rsp_es10_enable_resp_decode, rsp_es10_enable_resp_encode);
    CHECK_VAL(enum rsp_disable_result, rsp_es10_disable_resp_decode, rsp_es10_disable_resp_encode);
    CHECK_VAL(enum rsp_delete_result, rsp_es10_delete_resp_decode, rsp_es10_delete_resp_encode);
    CHECK_VAL(enum rsp_reset_result, rsp_es10_memory_reset_resp_decode,
              rsp_es10_memory_reset_resp_encode);
    CHECK_VAL(enum rsp_set_nickname_result, rsp_es10_set_nickname_resp_decode,
              rsp_es10_set_nickname_resp_encode);
    CHECK_VAL(enum rsp_notification_sent_result, rsp_es10_notif_sent_resp_decode,
              rsp_es10_notif_sent_resp_encode);
    CHECK_VAL(enum rsp_set_default_dp_result, rsp_es10_set_default_dp_resp_decode,
              rsp_es10_set_default_dp_resp_encode);

    static const rsp_tag empties[] = {0xBF2E, 0xBF20, 0xBF22, 0xBF3C, 0xBF43};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++)
        (void)rsp_es10_empty_decode(empties[i], data, size);

    /* tag lists: any bytes */
    struct rsp_es10_bin tl = {data, size};
    (void)rsp_es10_taglist_has(&tl, 0x9F70);
    return 0;
}
