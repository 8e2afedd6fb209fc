/* SM-DP+ signed parts of common mutual authentication and download preparation: serverSigned1
 * (SGP.22 §5.6.1 / §5.7.13) and smdpSigned2 (§5.6.2 / §5.7.5). */
#include <string.h>

#include "rsp/err.h"
#include "rsp/sgp22_auth.h"
#include "rsp/smdp_bpp.h"

int rsp_smdp_server_signed1_build(const uint8_t *transaction_id, size_t transaction_id_len,
                                  const uint8_t euicc_challenge[16], const char *server_address,
                                  const uint8_t *server_challenge, const struct rsp_key *sk_dpauth,
                                  struct rsp_buf *signed1, uint8_t signature1[RSP_ECDSA_SIG_LEN],
                                  uint8_t challenge_out[16])
{
    if (!transaction_id || transaction_id_len < 1 || transaction_id_len > RSP_TID_MAX ||
        !euicc_challenge || !server_address || !sk_dpauth || !signed1 || !signature1)
        return RSP_EINVAL;
    uint8_t sc[16];
    int rc;
    if (server_challenge)
        memcpy(sc, server_challenge, sizeof sc);
    else if ((rc = rsp_random(sc, sizeof sc)) != 0)
        return rc;
    struct rsp_sgp22_server_signed1 s1;
    memset(&s1, 0, sizeof s1);
    s1.transaction_id.p = transaction_id;
    s1.transaction_id.len = transaction_id_len;
    s1.euicc_challenge.p = euicc_challenge;
    s1.euicc_challenge.len = 16;
    s1.server_address.p = (const uint8_t *)server_address;
    s1.server_address.len = strlen(server_address);
    s1.server_challenge.p = sc;
    s1.server_challenge.len = sizeof sc;
    size_t start = signed1->len;
    if ((rc = rsp_sgp22_server_signed1_encode(&s1, signed1)) != 0)
        return rc;
    rc = rsp_ecdsa_sign(sk_dpauth, signed1->data + start, signed1->len - start, signature1);
    if (rc != 0) {
        signed1->len = start;
        return rc;
    }
    if (challenge_out)
        memcpy(challenge_out, sc, sizeof sc);
    return 0;
}

int rsp_smdp_smdp_signed2_build(const uint8_t *transaction_id, size_t transaction_id_len,
                                bool cc_required, const uint8_t *bpp_euicc_otpk,
                                const uint8_t euicc_signature1[RSP_ECDSA_SIG_LEN],
                                const struct rsp_key *sk_dppb, struct rsp_buf *signed2,
                                uint8_t signature2[RSP_ECDSA_SIG_LEN])
{
    if (!transaction_id || transaction_id_len < 1 || transaction_id_len > RSP_TID_MAX ||
        !euicc_signature1 || !sk_dppb || !signed2 || !signature2)
        return RSP_EINVAL;
    struct rsp_sgp22_smdp_signed2 s2;
    memset(&s2, 0, sizeof s2);
    s2.transaction_id.p = transaction_id;
    s2.transaction_id.len = transaction_id_len;
    s2.cc_required = cc_required;
    if (bpp_euicc_otpk) {
        s2.has_bpp_euicc_otpk = true;
        s2.bpp_euicc_otpk.p = bpp_euicc_otpk;
        s2.bpp_euicc_otpk.len = RSP_EC_POINT_LEN;
    }
    size_t start = signed2->len;
    int rc = rsp_sgp22_smdp_signed2_encode(&s2, signed2);
    if (rc != 0)
        return rc;
    /* §5.7.5: the signature covers smdpSigned2 followed by the euiccSignature1 TLV. */
    struct rsp_buf in = RSP_BUF_INIT;
    rc = rsp_sgp22_smdp_signature2_input(signed2->data + start, signed2->len - start,
                                         euicc_signature1, &in);
    if (rc == 0)
        rc = rsp_ecdsa_sign(sk_dppb, in.data, in.len, signature2);
    rsp_buf_free(&in);
    if (rc != 0)
        signed2->len = start;
    return rc;
}
