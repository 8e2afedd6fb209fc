/* LPA side of ES10a/ES10b/ES10c (SGP.22 v2.2 §5.7): each function builds one command with the
 * sgp22 codecs, sends it over an open rsp_es10 session (rsp/apdu.h) and decodes the answer.
 *
 * Return values: 0 when the eUICC answered with a well-formed response; RSP_ESW when the card
 * answered with an error status word (s->last_sw keeps it); another negative RSP_E* for a
 * transport failure (RSP_EIO) or an undecodable answer. What the eUICC refuses inside a
 * well-formed response (enableResult, authenticateErrorCode, a PIR errorResult...) is a value in
 * an out-parameter, never a return code.
 *
 * Decoded structures point into the `raw` buffer given by the caller: keep it alive (and
 * unchanged) while using them. `out` parameters may be NULL when only `raw` is wanted.
 */
#ifndef RSP_LPA_H
#define RSP_LPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/apdu.h"
#include "rsp/buf.h"
#include "rsp/sgp22_auth.h"
#include "rsp/sgp22_es10.h"
#include "rsp/sgp22_types.h"

/* ---- ES10a (es10a.c) ---- */
int rsp_lpa_configured_addresses(struct rsp_es10 *s, struct rsp_buf *raw,
                                 struct rsp_es10_configured_addresses *out);
/* *result: enum rsp_set_default_dp_result. An empty address clears the default. */
int rsp_lpa_set_default_dp(struct rsp_es10 *s, const char *address, int *result);

/* ---- ES10b (es10b.c) ---- */
int rsp_lpa_get_challenge(struct rsp_es10 *s, uint8_t challenge[RSP_ES10_CHALLENGE_LEN]);
int rsp_lpa_get_euicc_info1(struct rsp_es10 *s, struct rsp_buf *raw, struct rsp_euicc_info1 *out);
int rsp_lpa_get_euicc_info2(struct rsp_es10 *s, struct rsp_buf *raw, struct rsp_euicc_info2 *out);

/* What the LPA puts into ctxParams1 (AuthenticateServer). */
struct rsp_lpa_device {
    const char *matching_id; /* NULL: absent */
    uint8_t tac[4];
    bool has_imei;
    uint8_t imei[8];
};
/* AuthenticateServer from the four TLVs of an ES9+.InitiateAuthentication answer (serverSigned1
 * 30, serverSignature1 5F37, euiccCiPKIdToBeUsed 04, serverCertificate 30; each a whole TLV). */
struct rsp_lpa_auth_input {
    struct rsp_sgp22_bytes server_signed1;
    struct rsp_sgp22_bytes server_signature1;
    struct rsp_sgp22_bytes euicc_ci_pkid;
    struct rsp_sgp22_bytes server_certificate;
};
/* out->ok false: out->error_code is the authenticateErrorCode. */
int rsp_lpa_authenticate_server(struct rsp_es10 *s, const struct rsp_lpa_auth_input *in,
                                const struct rsp_lpa_device *dev, struct rsp_buf *raw,
                                struct rsp_sgp22_authenticate_server_response *out);

/* PrepareDownload from ES9+.AuthenticateClient's TLVs (smdpSigned2 30, smdpSignature2 5F37,
 * smdpCertificate 30) and the hashCc (NULL: none). out->ok false: out->error_code is the
 * downloadErrorCode. */
struct rsp_lpa_prepare_input {
    struct rsp_sgp22_bytes smdp_signed2;
    struct rsp_sgp22_bytes smdp_signature2;
    struct rsp_sgp22_bytes smdp_certificate;
    const uint8_t *hash_cc; /* 32 bytes or NULL */
};
int rsp_lpa_prepare_download(struct rsp_es10 *s, const struct rsp_lpa_prepare_input *in,
                             struct rsp_buf *raw, struct rsp_sgp22_prepare_download_response *out);

/* CancelSession (reason: enum rsp_sgp22_cancel_reason). */
int rsp_lpa_cancel_session(struct rsp_es10 *s, const uint8_t *tid, size_t tid_len, int reason,
                           struct rsp_buf *raw, struct rsp_sgp22_cancel_session_response *out);

/* Progress of LoadBoundProfilePackage: called before each segment (1-based index of n). */
typedef void (*rsp_lpa_progress_fn)(void *ctx, size_t index, size_t n);

/* Splits a BoundProfilePackage (BF36) into the §2.5.5 command sequence -- BF36 header with BF23;
 * A0 whole; A1 header then each 88; A2 whole (if present); A3 header then each 86 -- and sends it
 * segment by segment, stopping at the first answer that is not empty. `raw` gets that answer (the
 * ProfileInstallationResult BF37), decoded into *pir. *sent (may be NULL) counts the segments sent.
 * RSP_EMISSING when every segment was answered with nothing. */
int rsp_lpa_load_bpp(struct rsp_es10 *s, const uint8_t *bpp, size_t len, struct rsp_buf *raw,
                     struct rsp_sgp22_pir *pir, size_t *sent, rsp_lpa_progress_fn progress,
                     void *progress_ctx);

/* The same with resume support: `skip` segments loaded by an earlier run are not sent again
 * (the eUICC must still hold the session that received them); `progress` is called before each
 * segment sent, `acked` after each one the eUICC answered with nothing (so it has it). *sent
 * counts the segments sent by this call. RSP_EINVAL when skip is not below the segment count. */
struct rsp_lpa_load_opts {
    size_t skip;
    rsp_lpa_progress_fn progress;
    rsp_lpa_progress_fn acked;
    void *ctx;
};
int rsp_lpa_load_bpp_ex(struct rsp_es10 *s, const uint8_t *bpp, size_t len,
                        const struct rsp_lpa_load_opts *o, struct rsp_buf *raw,
                        struct rsp_sgp22_pir *pir, size_t *sent);
/* Number of LoadBoundProfilePackage segments of a BPP. */
int rsp_lpa_bpp_segments(const uint8_t *bpp, size_t len, size_t *n);

/* ListNotification (req NULL: all) and RetrieveNotificationsList (req NULL: all). out->is_error:
 * out->error is the eUICC's error code. */
int rsp_lpa_list_notifications(struct rsp_es10 *s, const struct rsp_es10_list_notif_req *req,
                               struct rsp_buf *raw, struct rsp_es10_notif_list *out);
int rsp_lpa_retrieve_notifications(struct rsp_es10 *s,
                                   const struct rsp_es10_retrieve_notif_req *req,
                                   struct rsp_buf *raw, struct rsp_es10_notif_list *out);
/* RemoveNotificationFromList; *result: enum rsp_notification_sent_result. */
int rsp_lpa_remove_notification(struct rsp_es10 *s, uint64_t seq_number, int *result);

/* ---- ES10c (es10c.c) ---- */
/* req NULL: every profile with the default tag list. out->is_error: out->error. */
int rsp_lpa_get_profiles(struct rsp_es10 *s, const struct rsp_profile_info_list_req *req,
                         struct rsp_buf *raw, struct rsp_profile_info_list *out);
/* *result: enum rsp_enable_result / rsp_disable_result / rsp_delete_result. */
int rsp_lpa_enable_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, bool refresh,
                           int *result);
int rsp_lpa_disable_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, bool refresh,
                            int *result);
int rsp_lpa_delete_profile(struct rsp_es10 *s, const struct rsp_es10_profile_id *id, int *result);
/* *result: enum rsp_set_nickname_result. */
int rsp_lpa_set_nickname(struct rsp_es10 *s, const struct rsp_iccid *iccid, const char *nickname,
                         int *result);
/* options: enum rsp_reset_options bits; *result: enum rsp_reset_result. */
int rsp_lpa_memory_reset(struct rsp_es10 *s, uint32_t options, int *result);
int rsp_lpa_get_eid(struct rsp_es10 *s, char eid[33]);

/* A profile identifier from text: 18..20 digits are an ICCID, 10..32 hex digits an ISD-P AID. */
int rsp_lpa_profile_id_parse(const char *text, struct rsp_es10_profile_id *id, uint8_t aid[16]);

/* Short English names of ES10 result codes (for messages); never NULL. */
const char *rsp_lpa_enable_result_name(int r);
const char *rsp_lpa_disable_result_name(int r);
const char *rsp_lpa_delete_result_name(int r);
const char *rsp_lpa_auth_error_name(int64_t r);
const char *rsp_lpa_download_error_name(int64_t r);
const char *rsp_lpa_error_reason_name(int64_t r);

#endif
