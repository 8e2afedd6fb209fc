/* ES10b.LoadBoundProfilePackage (SGP.22 §5.7.6): the segmented BPP of §2.5.5, processed as the
 * ES8+ functions of §5.5 (InitialiseSecureChannel, ConfigureISDP, StoreMetadata,
 * ReplaceSessionKeys, LoadProfileElements), the ProfileInstallationResult of §2.5.6, and the
 * ISD-P creation.
 *
 * Everything received lives in the session (struct euicc_session: keys, metadata, package bytes)
 * until the last 86 segment has been verified and the package parsed; only then is the profile
 * added, in one step, and the state saved. An error ends the session with a signed PIR carrying
 * the bppCommandId and errorReason, and installs nothing. */
#include <stdio.h>
#include <string.h>

#include "euicc_int.h"
#include "rsp/apdu_card.h"
#include "rsp/err.h"
#include "rsp/saip.h"

/* osmo-smdpp cuts 86 segments at 1008 plaintext bytes (1036-byte TLVs): accept them. */
#define BPP_MAX_SEGMENT 1036

/* StoreMetadataRequest is bounded (names, a 1 KiB icon, a few FQDNs): more is refused. */
#define METADATA_MAX 8192

/* simaResponse of a successful installation: EUICCResponse { peStatus { { status ok(0) } } }. */
static const uint8_t sima_ok[] = {0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00};

/* ISD-P AIDs: A0000005591010FFFFFFFF89000010xx, xx increasing from 00. */
static const uint8_t isdp_aid_prefix[15] = {0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
                                            0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10};

bool install_is_bpp_tag(uint32_t tag)
{
    switch (tag) {
    case 0xBF36:
    case 0xA0:
    case 0xA1:
    case 0xA2:
    case 0xA3:
    case 0x86:
    case 0x87:
    case 0x88:
        return true;
    default:
        return false;
    }
}

/* bppCommandId of the ES8+ function a segment belongs to. */
static int command_of(uint32_t tag)
{
    switch (tag) {
    case 0xBF36:
        return RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL;
    case 0xA0:
        return RSP_SGP22_BPP_CMD_CONFIGURE_ISDP;
    case 0xA1:
    case 0x88:
        return RSP_SGP22_BPP_CMD_STORE_METADATA;
    case 0xA2:
        return RSP_SGP22_BPP_CMD_REPLACE_SESSION_KEYS;
    default:
        return RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS;
    }
}

/* Builds, signs and stores a PIR (§2.5.6) and appends it to resp. aid == NULL: errorResult. The
 * session's kept otSK has been used: it is erased (addendum §3.2), then the state is saved. */
static int pir_emit(struct rsp_euicc *e, const uint8_t *aid, int cmd_id, int reason,
                    const uint8_t *iccid, struct rsp_buf *out)
{
    struct euicc_session *s = &e->sess;
    struct rsp_sgp22_pir pir;
    memset(&pir, 0, sizeof pir);
    struct rsp_sgp22_pir_data *d = &pir.data;
    d->transaction_id.p = s->tid;
    d->transaction_id.len = s->tid_len;
    d->notification_metadata.seq_number = (int64_t)e->next_seq;
    d->notification_metadata.pmo = RSP_NOTIF_INSTALL;
    d->notification_metadata.address.p = (const uint8_t *)s->server_address;
    d->notification_metadata.address.len = strlen(s->server_address);
    if (iccid) {
        d->notification_metadata.has_iccid = true;
        d->notification_metadata.iccid.p = iccid;
        d->notification_metadata.iccid.len = RSP_ICCID_LEN;
        d->notification_metadata.iccid_ok = true;
    }
    d->has_smdp_oid = true;
    d->smdp_oid.p = s->dp_oid;
    d->smdp_oid.len = s->dp_oid_len;
    if (aid) {
        d->success = true;
        d->aid.p = aid;
        d->aid.len = 16;
        d->has_sima_response = true;
        d->sima_response.p = sima_ok;
        d->sima_response.len = sizeof sima_ok;
    } else {
        d->bpp_command_id = cmd_id;
        d->error_reason = reason;
    }
    struct rsp_buf data = RSP_BUF_INIT, whole = RSP_BUF_INIT;
    uint8_t sig[RSP_ECDSA_SIG_LEN];
    int rc;
    if ((rc = rsp_sgp22_pir_data_encode(d, &data)) == 0 &&
        (rc = rsp_der_parse_one(data.data, data.len, &d->raw)) == 0 &&
        (rc = rsp_ecdsa_sign(e->sk, data.data, data.len, sig)) == 0) {
        pir.euicc_sign_pir.p = sig;
        pir.euicc_sign_pir.len = sizeof sig;
        if ((rc = rsp_sgp22_pir_encode(&pir, &whole)) == 0 &&
            (rc = euicc_notif_add(e, e->next_seq, RSP_NOTIF_INSTALL, whole.data, whole.len)) == 0)
            e->next_seq++;
    }
    if (rc == 0) {
        euicc_drop_kept_key(e);
        /* §2.5.6: the PIR is stored before it is returned. */
        rc = euicc_save(e);
    }
    if (rc == 0)
        rc = rsp_buf_append(out, whole.data, whole.len);
    rsp_buf_free(&data);
    rsp_buf_free(&whole);
    return rc;
}

/* Ends the download with an errorResult PIR. */
static int fail(struct rsp_euicc *e, int cmd_id, int reason, struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    uint8_t iccid[RSP_ICCID_LEN];
    bool has_iccid = false;
    if (s->metadata_ok) {
        struct rsp_sgp22_store_metadata_request md;
        if (rsp_sgp22_store_metadata_request_decode(s->metadata.data, s->metadata.len, &md) == 0) {
            memcpy(iccid, md.iccid.p, RSP_ICCID_LEN);
            has_iccid = true;
        }
    }
    int rc = pir_emit(e, NULL, cmd_id, reason, has_iccid ? iccid : NULL, resp);
    es10b_session_discard(e);
    return rc;
}

static int unwrap_reason(int rc)
{
    return rc == RSP_EVERIFY ? RSP_SGP22_ERR_SCP03T_SECURITY_ERROR
                             : RSP_SGP22_ERR_SCP03T_STRUCTURE_ERROR;
}

/* §5.5.1 InitialiseSecureChannel: checks BF23, verifies smdpSign, derives the session keys. */
static int do_init_secure_channel(struct rsp_euicc *e, const uint8_t *p, size_t n,
                                  struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    const int cmd = RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL;
    struct rsp_sgp22_init_secure_channel isc;
    if (rsp_sgp22_init_secure_channel_decode(p, n, &isc) != 0)
        return fail(e, cmd, RSP_SGP22_ERR_INCORRECT_INPUT_VALUES, resp);
    if (isc.remote_op_id != RSP_SGP22_REMOTE_OP_INSTALL_BPP)
        return fail(e, cmd, RSP_SGP22_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE, resp);
    if (isc.transaction_id.len != s->tid_len || memcmp(isc.transaction_id.p, s->tid, s->tid_len))
        return fail(e, cmd, RSP_SGP22_ERR_INVALID_TRANSACTION_ID, resp);
    if (isc.key_type != 0x88 || isc.key_len != 0x10)
        return fail(e, cmd, RSP_SGP22_ERR_UNSUPPORTED_CRT_VALUES, resp);
    struct rsp_buf in = RSP_BUF_INIT;
    int rc = rsp_sgp22_smdp_sign_input(&isc, s->otpk, &in);
    if (rc == 0)
        rc = rsp_ecdsa_verify(s->dppb_pub, in.data, in.len, isc.smdp_sign.p, isc.smdp_sign.len);
    rsp_buf_free(&in);
    if (rc != 0)
        return fail(e, cmd, RSP_SGP22_ERR_INVALID_SIGNATURE, resp);
    uint8_t z[RSP_ECKA_Z_LEN];
    struct rsp_session_keys keys;
    if (s->hooked_otpk && e->hook_otpk && !memcmp(e->hook_otpk_pt, s->otpk, RSP_EC_POINT_LEN)) {
        memcpy(z, e->hook_z, sizeof z); /* TEST ONLY: the recorded ECKA result */
    } else {
        if (s->hooked_otpk || !e->kept_otsk || memcmp(e->kept_otpk, s->otpk, RSP_EC_POINT_LEN) != 0)
            return fail(e, cmd, RSP_SGP22_ERR_UNKNOWN_ERROR, resp);
        if (rsp_ecka(e->kept_otsk, isc.smdp_otpk.p, isc.smdp_otpk.len, z) != 0)
            return fail(e, cmd, RSP_SGP22_ERR_INCORRECT_INPUT_VALUES, resp);
    }
    rc = rsp_kdf_session_keys(z, isc.key_type, isc.key_len, isc.host_id.p, isc.host_id.len,
                              e->eid.b, &keys);
    rsp_memzero(z, sizeof z);
    if (rc != 0)
        return rc;
    rsp_bsp_init(&s->bsp, &keys);
    rsp_memzero(&keys, sizeof keys);
    es10b_session_goto(e, SESS_BPP_SECURED);
    return 0;
}

/* The single 87 of a complete A0 / A2 TLV, unwrapped into `plain`. 0, or the errorReason. */
static int unwrap_first87(struct rsp_euicc *e, const struct rsp_tlv *list, struct rsp_buf *plain)
{
    struct rsp_der_iter it;
    struct rsp_tlv seg;
    rsp_der_iter_value(&it, list);
    if (rsp_sgp22_bpp_next(&it, &seg) != 1 || seg.tag != 0x87 || !rsp_der_iter_done(&it))
        return RSP_SGP22_ERR_SCP03T_STRUCTURE_ERROR;
    int rc = rsp_bsp_unwrap(&e->sess.bsp, true, seg.raw, seg.raw_len, BPP_MAX_SEGMENT, plain);
    return rc ? unwrap_reason(rc) : 0;
}

/* §5.5.2 ConfigureISDP. */
static int do_configure_isdp(struct rsp_euicc *e, const struct rsp_tlv *a0, struct rsp_buf *resp)
{
    const int cmd = RSP_SGP22_BPP_CMD_CONFIGURE_ISDP;
    struct rsp_buf plain = RSP_BUF_INIT;
    int reason = unwrap_first87(e, a0, &plain);
    struct rsp_sgp22_configure_isdp_request cfg;
    if (!reason && rsp_sgp22_configure_isdp_request_decode(plain.data, plain.len, &cfg) != 0)
        reason = RSP_SGP22_ERR_INCORRECT_INPUT_VALUES;
    rsp_buf_free_secure(&plain);
    if (reason)
        return fail(e, cmd, reason, resp);
    es10b_session_goto(e, SESS_BPP_CONFIGURED);
    return 0;
}

/* §5.5.3 StoreMetadata, once the whole A1 has arrived: checks the metadata against the eUICC. */
static int do_store_metadata(struct rsp_euicc *e, struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    const int cmd = RSP_SGP22_BPP_CMD_STORE_METADATA;
    struct rsp_sgp22_store_metadata_request md;
    if (rsp_sgp22_store_metadata_request_decode(s->metadata.data, s->metadata.len, &md) != 0)
        return fail(e, cmd, RSP_SGP22_ERR_INCORRECT_INPUT_VALUES, resp);
    s->metadata_ok = true; /* the ICCID is known from here on (PIR notificationMetadata) */
    struct rsp_iccid iccid;
    memcpy(iccid.b, md.iccid.p, RSP_ICCID_LEN);
    if (euicc_profile_by_iccid(e, &iccid))
        return fail(e, cmd, RSP_SGP22_ERR_ICCID_ALREADY_EXISTS, resp);
    int cls = md.has_profile_class ? (int)md.profile_class : RSP_PROFILE_CLASS_OPERATIONAL;
    if (cls == RSP_PROFILE_CLASS_PROVISIONING ||
        (cls == RSP_PROFILE_CLASS_TEST && !(e->rsp_capability & RSP_CAP_TEST_PROFILE_SUPPORT)) ||
        (cls != RSP_PROFILE_CLASS_TEST && cls != RSP_PROFILE_CLASS_OPERATIONAL))
        return fail(e, cmd, RSP_SGP22_ERR_UNSUPPORTED_PROFILE_CLASS, resp);
    /* The RAT of this eUICC authorises no PPR (§2.9.2.2): a profile carrying one is refused. */
    if (md.has_ppr && (md.ppr & (RSP_PPR1 | RSP_PPR2)))
        return fail(e, cmd, RSP_SGP22_ERR_PPR_NOT_ALLOWED, resp);
    if (e->n_profiles == RSP_EUICC_MAX_PROFILES)
        return fail(e, cmd, RSP_SGP22_ERR_INSUFFICIENT_MEMORY, resp);
    es10b_session_goto(e, SESS_BPP_METADATA_DONE);
    return 0;
}

/* §5.5.4 ReplaceSessionKeys: the 86 segments use the PPKs from here on. */
static int do_replace_session_keys(struct rsp_euicc *e, const struct rsp_tlv *a2,
                                   struct rsp_buf *resp)
{
    const int cmd = RSP_SGP22_BPP_CMD_REPLACE_SESSION_KEYS;
    struct rsp_buf plain = RSP_BUF_INIT;
    int reason = unwrap_first87(e, a2, &plain);
    struct rsp_sgp22_replace_session_keys_request rsk;
    if (!reason && rsp_sgp22_replace_session_keys_request_decode(plain.data, plain.len, &rsk) != 0)
        reason = RSP_SGP22_ERR_INCORRECT_INPUT_VALUES;
    if (!reason)
        rsp_bsp_replace_keys(&e->sess.bsp, rsk.ppk_enc.p, rsk.ppk_cmac.p, rsk.initial_mcv.p);
    rsp_buf_free_secure(&plain);
    if (reason)
        return fail(e, cmd, reason, resp);
    es10b_session_goto(e, SESS_BPP_PPK);
    return 0;
}

static size_t nvm_free(const struct rsp_euicc *e)
{
    size_t used = 0;
    for (size_t i = 0; i < e->n_profiles; i++)
        used += (size_t)e->profiles[i].upp_len;
    return e->nvm_bytes > used ? e->nvm_bytes - used : 0;
}

/* Last 86 processed: parse the package, create the ISD-P, commit, answer the success PIR. */
static int do_install(struct rsp_euicc *e, struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    const int cmd = RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS;
    if (s->bf36_left != 0)
        return fail(e, cmd, RSP_SGP22_ERR_SCP03T_STRUCTURE_ERROR, resp);
    struct rsp_saip_info info;
    if (rsp_saip_parse(s->upp.data, s->upp.len, &info) != 0)
        return fail(e, cmd, RSP_SGP22_ERR_PE_PROCESSING_ERROR, resp);
    struct rsp_sgp22_store_metadata_request md;
    if (rsp_sgp22_store_metadata_request_decode(s->metadata.data, s->metadata.len, &md) != 0)
        return fail(e, RSP_SGP22_BPP_CMD_STORE_METADATA, RSP_SGP22_ERR_INCORRECT_INPUT_VALUES,
                    resp);
    /* ProfileHeader ICCID (§2.5.4.3 / Table 4b): must be the one announced in StoreMetadata. */
    if (memcmp(info.iccid, md.iccid.p, RSP_ICCID_LEN) != 0)
        return fail(e, cmd, RSP_SGP22_ERR_DATA_MISMATCH, resp);
    if (e->n_profiles == RSP_EUICC_MAX_PROFILES || e->next_aid > 0xFF)
        return fail(e, cmd, RSP_SGP22_ERR_INSUFFICIENT_MEMORY, resp);

    struct euicc_profile *p = &e->profiles[e->n_profiles];
    memset(p, 0, sizeof *p);
    memcpy(p->iccid.b, md.iccid.p, RSP_ICCID_LEN);
    memcpy(p->aid, isdp_aid_prefix, sizeof isdp_aid_prefix);
    p->aid[15] = (uint8_t)e->next_aid;
    p->state = RSP_PROFILE_DISABLED;
    if (info.imsi_state == RSP_SAIP_PRESENT)
        snprintf(p->imsi, sizeof p->imsi, "%s", info.imsi);
    int rc = rsp_sha256(s->upp.data, s->upp.len, p->upp_hash);
    if (rc != 0)
        return rc;
    p->upp_len = s->upp.len;
    memcpy(p->dp_oid, s->dp_oid, s->dp_oid_len);
    p->dp_oid_len = s->dp_oid_len;
    /* the metadata bytes move from the session to the profile */
    p->metadata = s->metadata;
    rsp_buf_init(&s->metadata);
    e->n_profiles++;
    e->next_aid++;
    rc = pir_emit(e, p->aid, 0, 0, p->iccid.b, resp);
    es10b_session_discard(e);
    return rc;
}

/* A segment whose bytes go into a list of known remaining length. */
static bool take(size_t *left, size_t n)
{
    if (n > *left)
        return false;
    *left -= n;
    return true;
}

static int one_segment(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    rsp_tag tag;
    size_t hl, vl;
    int rc = rsp_der_parse_header(cmd, len, &tag, &hl, &vl);
    if (rc != 0)
        return RSP_SW_WRONG_DATA;
    bool header_only = len == hl;
    bool whole = len == hl + vl;
    struct rsp_tlv t;
    /* §5.7.6: a TLV that does not fit the BPP structure here gets 6A88; the session stays. */
    switch (tag) {
    case 0xBF36:
        if (s->st != SESS_PREPARED || len <= hl || len - hl > vl ||
            rsp_der_parse_tag(cmd + hl, len - hl, 0xBF23, &t) != 0)
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0xA0:
        if (s->st != SESS_BPP_SECURED || !whole || !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0xA1:
        if (s->st != SESS_BPP_CONFIGURED || !header_only || vl == 0 || !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0x88:
        if (s->st != SESS_BPP_METADATA || !whole || !take(&s->a1_left, len) ||
            !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0xA2:
        if (s->st != SESS_BPP_METADATA_DONE || !whole || !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0xA3:
        if ((s->st != SESS_BPP_METADATA_DONE && s->st != SESS_BPP_PPK) || !header_only ||
            !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    case 0x86:
        if (s->st != SESS_BPP_LOADING || !whole || !take(&s->a3_left, len) ||
            !take(&s->bf36_left, len))
            return RSP_SW_REF_NOT_FOUND;
        break;
    default:
        return RSP_SW_REF_NOT_FOUND;
    }

    s->seg_no++;
    if (e->faults.tear_at_segment && s->seg_no == e->faults.tear_at_segment) {
        /* simulated power loss: nothing of this download is committed */
        e->torn = true;
        es10b_session_discard(e);
        return RSP_EIO;
    }
    if (e->faults.fail_at_segment && s->seg_no == e->faults.fail_at_segment)
        return fail(e, command_of(tag),
                    e->faults.fail_reason ? e->faults.fail_reason : RSP_SGP22_ERR_UNKNOWN_ERROR,
                    resp);

    switch (tag) {
    case 0xBF36:
        s->bf36_left = vl - (len - hl);
        return do_init_secure_channel(e, t.raw, t.raw_len, resp);
    case 0xA0:
        rsp_der_parse_one(cmd, len, &t);
        return do_configure_isdp(e, &t, resp);
    case 0xA1:
        s->a1_left = vl;
        rsp_buf_reset(&s->metadata);
        es10b_session_goto(e, SESS_BPP_METADATA);
        return 0;
    case 0x88:
        rc = rsp_bsp_unwrap(&s->bsp, false, cmd, len, BPP_MAX_SEGMENT, &s->metadata);
        if (rc == RSP_ENOMEM)
            return rc;
        if (rc != 0)
            return fail(e, RSP_SGP22_BPP_CMD_STORE_METADATA, unwrap_reason(rc), resp);
        if (s->metadata.len > METADATA_MAX)
            return fail(e, RSP_SGP22_BPP_CMD_STORE_METADATA, RSP_SGP22_ERR_INCORRECT_INPUT_VALUES,
                        resp);
        return s->a1_left == 0 ? do_store_metadata(e, resp) : 0;
    case 0xA2:
        rsp_der_parse_one(cmd, len, &t);
        return do_replace_session_keys(e, &t, resp);
    case 0xA3:
        s->a3_left = vl;
        es10b_session_goto(e, SESS_BPP_LOADING);
        if (vl == 0) /* no profile elements at all */
            return fail(e, RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
                        RSP_SGP22_ERR_SCP03T_STRUCTURE_ERROR, resp);
        return 0;
    default: /* 0x86 */
        rc = rsp_bsp_unwrap(&s->bsp, true, cmd, len, BPP_MAX_SEGMENT, &s->upp);
        if (rc == RSP_ENOMEM)
            return rc;
        if (rc != 0)
            return fail(e, RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS, unwrap_reason(rc), resp);
        if (e->faults.insufficient_memory || s->upp.len > nvm_free(e))
            return fail(e, RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS,
                        RSP_SGP22_ERR_INSUFFICIENT_MEMORY, resp);
        return s->a3_left == 0 ? do_install(e, resp) : 0;
    }
}

/* A whole BF36 in one command (tests, tools): split as an LPA would (§2.5.5) and feed the segments
 * until one answers. */
static int whole_bpp(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct rsp_sgp22_bpp bpp;
    if (rsp_sgp22_bpp_decode(cmd, len, &bpp) != 0)
        return RSP_SW_WRONG_DATA;
    size_t hl = bpp.raw.val - bpp.raw.raw;
    const struct rsp_tlv *lists[4] = {&bpp.first87, &bpp.seq88,
                                      bpp.has_second87 ? &bpp.second87 : NULL, &bpp.seq86};
    /* segment 1: BF36 header + BF23 */
    size_t start = resp->len;
    int rc = one_segment(e, cmd, hl + bpp.init_secure_channel.raw.raw_len, resp);
    for (int i = 0; i < 4 && rc == 0 && resp->len == start; i++) {
        const struct rsp_tlv *l = lists[i];
        if (!l)
            continue;
        if (l->tag == 0xA0 || l->tag == 0xA2) {
            rc = one_segment(e, l->raw, l->raw_len, resp);
            continue;
        }
        rc = one_segment(e, l->raw, (size_t)(l->val - l->raw), resp);
        struct rsp_der_iter it;
        struct rsp_tlv seg;
        rsp_der_iter_value(&it, l);
        while (rc == 0 && resp->len == start && rsp_sgp22_bpp_next(&it, &seg) == 1)
            rc = one_segment(e, seg.raw, seg.raw_len, resp);
    }
    return rc;
}

int install_load_bpp(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp)
{
    struct euicc_session *s = &e->sess;
    if (s->st < SESS_PREPARED)
        return RSP_SW_COND_NOT_SATISFIED; /* no RSP session ready for a BPP */
    rsp_tag tag;
    size_t hl, vl;
    if (rsp_der_parse_header(cmd, len, &tag, &hl, &vl) != 0)
        return RSP_SW_WRONG_DATA;
    if (tag == 0xBF36 && len == hl + vl && s->st == SESS_PREPARED)
        return whole_bpp(e, cmd, len, resp);
    return one_segment(e, cmd, len, resp);
}
