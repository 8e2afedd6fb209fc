/* libFuzzer target: certificate parsing and every accessor, plus chain verification with the input
 * in every position. Must not crash, read out of bounds or leak (ASan/LSan, UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pkid[RSP_KEYID_LEN] = {0};
    (void)rsp_pkid_find_der(pkid, data, size);

    struct rsp_cert *c = NULL;
    if (rsp_cert_parse(data, size, &c) != 0) {
        if (c)
            abort(); /* failure must leave no object */
        return 0;
    }
    char s[256], eid[RSP_EID_DIGITS + 1];
    uint8_t id[RSP_KEYID_LEN];
    time_t nb, na;
    const uint8_t *der;
    size_t len;
    (void)rsp_cert_subject(c, s, sizeof s);
    (void)rsp_cert_issuer(c, s, 8);
    (void)rsp_cert_ski(c, id);
    (void)rsp_cert_aki(c, id);
    (void)rsp_cert_validity(c, &nb, &na);
    (void)rsp_cert_curve(c);
    (void)rsp_cert_role_name(rsp_cert_role(c));
    (void)rsp_cert_eid(c, eid);
    (void)rsp_cert_registered_id(c, s, sizeof s);
    (void)rsp_cert_dns_name(c, s, sizeof s);
    if (rsp_cert_der(c, &der, &len) != 0 || len == 0)
        abort();
    struct rsp_iin_list l;
    if (rsp_cert_permitted_iins(c, &l) == 0 && rsp_cert_eid(c, eid) == 0)
        (void)rsp_eid_in_iins(eid, NULL, &l);
    struct rsp_key *k = NULL;
    if (rsp_cert_pubkey(c, &k) == 0)
        rsp_key_free(k);

    char detail[RSP_CERT_DETAIL_SZ];
    (void)rsp_cert_verify_euicc_chain(c, c, c, (time_t)1735689600, detail, sizeof detail);
    (void)rsp_cert_verify_dp(c, c, RSP_ROLE_DP_AUTH, (time_t)1735689600, detail, sizeof detail);
    (void)rsp_cert_verify_dp(c, c, RSP_ROLE_DP_TLS, (time_t)1735689600, detail, 1);
    rsp_cert_free(c);
    return 0;
}
