/* SGP.22 v2.2 ES8+/ES9+/ES10b messages: common mutual authentication, download preparation, the
 * Bound Profile Package, the Profile Installation Result, notifications and cancel session.
 * Pure functions: bytes in, bytes out, no crypto, no I/O. The ASN.1 is Annex H / §6.6.1
 * (RSPDefinitions, AUTOMATIC TAGS, EXTENSIBILITY IMPLIED).
 *
 * Decoding: every decoder takes the whole outer TLV (which must fill the input exactly) and fills a
 * struct whose pointers point INTO the input; nothing is allocated, the caller keeps the input
 * alive. Mandatory fields and fixed sizes are checked (RSP_EMISSING, RSP_EUNEXPECTED, RSP_ERANGE);
 * unknown trailing elements of a SEQUENCE are skipped (extensibility). A code carried inside a
 * message (authenticateErrorCode, downloadErrorCode, errorReason...) is a decoded value, never an
 * RSP_E* failure. Decoders zero the output first; on failure its contents are unspecified.
 *
 * Signed parts keep their received bytes in `raw` (the whole TLV): signatures are verified over
 * those bytes, never over a re-encoding.
 *
 * Encoding: encoders append exact DER to a struct rsp_buf and return 0 or a negative RSP_E*
 * (RSP_EINVAL for a field of the wrong size). A nested signed part (serverSigned1, euiccSigned1,
 * smdpSigned2, euiccSigned2, BF23, BF27, BF2F, EuiccCancelSessionSigned) is written verbatim from
 * its `raw.raw`/`raw.raw_len` when `raw.raw` is set (e.g. after decoding, or after the caller
 * encoded and signed it), otherwise it is encoded from its fields. Certificates are always taken
 * from their `raw` TLV.
 *
 * Optional fields have a `has_*` flag; byte fields are (ptr,len) pairs (struct rsp_sgp22_bytes).
 */
#ifndef RSP_SGP22_AUTH_H
#define RSP_SGP22_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/der.h"
#include "rsp/sgp22_types.h"

/* A byte string inside some buffer the caller owns. */
struct rsp_sgp22_bytes {
    const uint8_t *p;
    size_t len;
};

#define RSP_SGP22_CHALLENGE_LEN 16 /* euiccChallenge, serverChallenge: Octet16 */
#define RSP_SGP22_SIG_LEN       64 /* plain r||s (TR-03111) */
#define RSP_SGP22_OTPK_LEN      65 /* uncompressed point 04||X||Y */
#define RSP_SGP22_HASHCC_LEN    32
#define RSP_SGP22_ICCID_LEN     10
#define RSP_SGP22_TID_MAX       16 /* TransactionId: OCTET STRING (SIZE(1..16)) */

/* ---- enumerations (Annex H) ------------------------------------------------------------------ */

enum rsp_sgp22_authenticate_error {
    RSP_SGP22_AUTH_ERR_INVALID_CERTIFICATE = 1,
    RSP_SGP22_AUTH_ERR_INVALID_SIGNATURE = 2,
    RSP_SGP22_AUTH_ERR_UNSUPPORTED_CURVE = 3,
    RSP_SGP22_AUTH_ERR_NO_SESSION_CONTEXT = 4,
    RSP_SGP22_AUTH_ERR_INVALID_OID = 5,
    RSP_SGP22_AUTH_ERR_EUICC_CHALLENGE_MISMATCH = 6,
    RSP_SGP22_AUTH_ERR_CI_PK_UNKNOWN = 7,
    RSP_SGP22_AUTH_ERR_UNDEFINED = 127,
};

enum rsp_sgp22_download_error {
    RSP_SGP22_DL_ERR_INVALID_CERTIFICATE = 1,
    RSP_SGP22_DL_ERR_INVALID_SIGNATURE = 2,
    RSP_SGP22_DL_ERR_UNSUPPORTED_CURVE = 3,
    RSP_SGP22_DL_ERR_NO_SESSION_CONTEXT = 4,
    RSP_SGP22_DL_ERR_INVALID_TRANSACTION_ID = 5,
    RSP_SGP22_DL_ERR_UNDEFINED = 127,
};

enum rsp_sgp22_bpp_command_id {
    RSP_SGP22_BPP_CMD_INITIALISE_SECURE_CHANNEL = 0,
    RSP_SGP22_BPP_CMD_CONFIGURE_ISDP = 1,
    RSP_SGP22_BPP_CMD_STORE_METADATA = 2,
    RSP_SGP22_BPP_CMD_STORE_METADATA2 = 3,
    RSP_SGP22_BPP_CMD_REPLACE_SESSION_KEYS = 4,
    RSP_SGP22_BPP_CMD_LOAD_PROFILE_ELEMENTS = 5,
};

enum rsp_sgp22_error_reason {
    RSP_SGP22_ERR_INCORRECT_INPUT_VALUES = 1,
    RSP_SGP22_ERR_INVALID_SIGNATURE = 2,
    RSP_SGP22_ERR_INVALID_TRANSACTION_ID = 3,
    RSP_SGP22_ERR_UNSUPPORTED_CRT_VALUES = 4,
    RSP_SGP22_ERR_UNSUPPORTED_REMOTE_OPERATION_TYPE = 5,
    RSP_SGP22_ERR_UNSUPPORTED_PROFILE_CLASS = 6,
    RSP_SGP22_ERR_SCP03T_STRUCTURE_ERROR = 7,
    RSP_SGP22_ERR_SCP03T_SECURITY_ERROR = 8,
    RSP_SGP22_ERR_ICCID_ALREADY_EXISTS = 9,
    RSP_SGP22_ERR_INSUFFICIENT_MEMORY = 10,
    RSP_SGP22_ERR_INTERRUPTION = 11,
    RSP_SGP22_ERR_PE_PROCESSING_ERROR = 12,
    RSP_SGP22_ERR_DATA_MISMATCH = 13,
    RSP_SGP22_ERR_TEST_PROFILE_INVALID_NAA_KEY = 14,
    RSP_SGP22_ERR_PPR_NOT_ALLOWED = 15,
    RSP_SGP22_ERR_UNKNOWN_ERROR = 127,
};

enum rsp_sgp22_cancel_reason {
    RSP_SGP22_CANCEL_END_USER_REJECTION = 0,
    RSP_SGP22_CANCEL_POSTPONED = 1,
    RSP_SGP22_CANCEL_TIMEOUT = 2,
    RSP_SGP22_CANCEL_PPR_NOT_ALLOWED = 3,
    RSP_SGP22_CANCEL_METADATA_MISMATCH = 4,
    RSP_SGP22_CANCEL_LOAD_BPP_EXECUTION_ERROR = 5,
    RSP_SGP22_CANCEL_UNDEFINED_REASON = 127,
};

/* cancelSessionResponseError values. */
enum rsp_sgp22_cancel_session_error {
    RSP_SGP22_CANCEL_ERR_INVALID_TRANSACTION_ID = 5,
    RSP_SGP22_CANCEL_ERR_UNDEFINED = 127,
};

/* RemoteOpId value. */
#define RSP_SGP22_REMOTE_OP_INSTALL_BPP 1

/* ---- auth.c: common mutual authentication (§5.7.13, §5.6.1, §5.6.3) ------------------------- */

/* ServerSigned1: 30 { 80 transactionId, 81 euiccChallenge, 83 serverAddress, 84 serverChallenge }
 * (no [2]). */
struct rsp_sgp22_server_signed1 {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;   /* 1..16 */
    struct rsp_sgp22_bytes euicc_challenge;  /* 16 */
    struct rsp_sgp22_bytes server_address;   /* UTF8String, not NUL-terminated */
    struct rsp_sgp22_bytes server_challenge; /* 16 */
};

/* DeviceCapabilities is extensible: every element is kept, in received order, so that unknown
 * (later-version) capabilities survive a re-encoding. Known ones (tags 80..87 in v2.2:
 * gsm, utran, cdma2000onex, cdma2000hrpd, cdma2000ehrpd, eutran, contactless, rspCrl) are
 * VersionType (3 bytes), which the decoder checks. */
#define RSP_SGP22_DEVCAP_MAX 32
struct rsp_sgp22_device_capability {
    rsp_tag tag;
    struct rsp_sgp22_bytes value;
};
struct rsp_sgp22_device_capabilities {
    size_t n;
    struct rsp_sgp22_device_capability cap[RSP_SGP22_DEVCAP_MAX];
};
enum rsp_sgp22_devcap_index {
    RSP_SGP22_DEVCAP_GSM = 0,
    RSP_SGP22_DEVCAP_UTRAN = 1,
    RSP_SGP22_DEVCAP_CDMA2000_ONEX = 2,
    RSP_SGP22_DEVCAP_CDMA2000_HRPD = 3,
    RSP_SGP22_DEVCAP_CDMA2000_EHRPD = 4,
    RSP_SGP22_DEVCAP_EUTRAN = 5,
    RSP_SGP22_DEVCAP_CONTACTLESS = 6,
    RSP_SGP22_DEVCAP_RSP_CRL = 7,
};
/* The VersionType of capability [index] (context tag 0x80 + index), or NULL if absent. */
const uint8_t *rsp_sgp22_devcap_get(const struct rsp_sgp22_device_capabilities *caps,
                                    unsigned index);

/* CtxParams1 (CHOICE, only ctxParamsForCommonAuthentication in v2.2):
 * A0 { [80 matchingId], A1 deviceInfo { 80 tac, A1 deviceCapabilities, [82 imei] } } */
struct rsp_sgp22_ctx_params1 {
    struct rsp_tlv raw;
    bool has_matching_id;
    struct rsp_sgp22_bytes matching_id; /* UTF8String, may be empty */
    struct rsp_sgp22_bytes tac;         /* 4 bytes (8 tolerated: pySim's module says Octet8) */
    struct rsp_sgp22_device_capabilities caps;
    bool has_imei;
    struct rsp_sgp22_bytes imei; /* 8 */
};

/* EuiccSigned1: 30 { 80 transactionId, 83 serverAddress, 84 serverChallenge, BF22 euiccInfo2,
 * A0 ctxParams1 }. euiccInfo2 is kept raw (decoded by the ES10 module). */
struct rsp_sgp22_euicc_signed1 {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    struct rsp_sgp22_bytes server_address;
    struct rsp_sgp22_bytes server_challenge; /* 16 */
    struct rsp_tlv euicc_info2;              /* whole BF22 TLV */
    struct rsp_sgp22_ctx_params1 ctx_params1;
};

/* AuthenticateServerRequest: BF38 { 30 serverSigned1, 5F37 serverSignature1, 04
 * euiccCiPKIdToBeUsed, 30 serverCertificate, A0 ctxParams1 } */
struct rsp_sgp22_authenticate_server_request {
    struct rsp_tlv raw;
    struct rsp_sgp22_server_signed1 server_signed1;
    struct rsp_sgp22_bytes server_signature1;        /* 64 */
    struct rsp_sgp22_bytes euicc_ci_pkid_to_be_used; /* SubjectKeyIdentifier (20 in practice) */
    struct rsp_tlv server_certificate;               /* whole 30 TLV */
    struct rsp_sgp22_ctx_params1 ctx_params1;
};

/* AuthenticateServerResponse: BF38 { A0 { 30 euiccSigned1, 5F37 euiccSignature1, 30
 * euiccCertificate, 30 eumCertificate } | A1 { 80 transactionId, 02 authenticateErrorCode } } */
struct rsp_sgp22_authenticate_server_response {
    struct rsp_tlv raw;
    bool ok;
    /* ok */
    struct rsp_sgp22_euicc_signed1 euicc_signed1;
    struct rsp_sgp22_bytes euicc_signature1; /* 64 */
    struct rsp_tlv euicc_certificate;
    struct rsp_tlv eum_certificate;
    /* error */
    struct rsp_sgp22_bytes transaction_id;
    int64_t error_code; /* enum rsp_sgp22_authenticate_error, or an unknown value */
};

int rsp_sgp22_server_signed1_decode(const uint8_t *p, size_t n,
                                    struct rsp_sgp22_server_signed1 *out);
int rsp_sgp22_server_signed1_encode(const struct rsp_sgp22_server_signed1 *in, struct rsp_buf *out);
int rsp_sgp22_ctx_params1_decode(const uint8_t *p, size_t n, struct rsp_sgp22_ctx_params1 *out);
int rsp_sgp22_ctx_params1_encode(const struct rsp_sgp22_ctx_params1 *in, struct rsp_buf *out);
int rsp_sgp22_euicc_signed1_decode(const uint8_t *p, size_t n, struct rsp_sgp22_euicc_signed1 *out);
int rsp_sgp22_euicc_signed1_encode(const struct rsp_sgp22_euicc_signed1 *in, struct rsp_buf *out);
int rsp_sgp22_authenticate_server_request_decode(const uint8_t *p, size_t n,
                                                 struct rsp_sgp22_authenticate_server_request *out);
int rsp_sgp22_authenticate_server_request_encode(
    const struct rsp_sgp22_authenticate_server_request *in, struct rsp_buf *out);
int rsp_sgp22_authenticate_server_response_decode(
    const uint8_t *p, size_t n, struct rsp_sgp22_authenticate_server_response *out);
int rsp_sgp22_authenticate_server_response_encode(
    const struct rsp_sgp22_authenticate_server_response *in, struct rsp_buf *out);

/* ---- download.c: download preparation (§5.7.5, §5.6.2) -------------------------------------- */

/* SmdpSigned2: 30 { 80 transactionId, 01 ccRequiredFlag, [5F49 bppEuiccOtpk] } */
struct rsp_sgp22_smdp_signed2 {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    bool cc_required;
    bool has_bpp_euicc_otpk;
    struct rsp_sgp22_bytes bpp_euicc_otpk; /* 65, 04||X||Y */
};

/* PrepareDownloadRequest: BF21 { 30 smdpSigned2, 5F37 smdpSignature2, [04 hashCc], 30
 * smdpCertificate } */
struct rsp_sgp22_prepare_download_request {
    struct rsp_tlv raw;
    struct rsp_sgp22_smdp_signed2 smdp_signed2;
    struct rsp_sgp22_bytes smdp_signature2; /* 64 */
    bool has_hash_cc;
    struct rsp_sgp22_bytes hash_cc; /* 32 */
    struct rsp_tlv smdp_certificate;
};

/* EUICCSigned2: 30 { 80 transactionId, 5F49 euiccOtpk, [04 hashCc] } */
struct rsp_sgp22_euicc_signed2 {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    struct rsp_sgp22_bytes euicc_otpk; /* 65 */
    bool has_hash_cc;
    struct rsp_sgp22_bytes hash_cc; /* 32 */
};

/* PrepareDownloadResponse: BF21 { A0 { 30 euiccSigned2, 5F37 euiccSignature2 } | A1 { 80
 * transactionId, 02 downloadErrorCode } } */
struct rsp_sgp22_prepare_download_response {
    struct rsp_tlv raw;
    bool ok;
    struct rsp_sgp22_euicc_signed2 euicc_signed2;
    struct rsp_sgp22_bytes euicc_signature2; /* 64 */
    struct rsp_sgp22_bytes transaction_id;   /* error */
    int64_t error_code;                      /* enum rsp_sgp22_download_error, or unknown */
};

/* NotificationConfigurationInformation: 30 { 80 NotificationEvent, 81 notificationAddress } */
struct rsp_sgp22_notification_config {
    uint32_t events; /* enum rsp_notification_event bits */
    struct rsp_sgp22_bytes address;
};
/* OperatorId: { 80 mccMnc(3), [81 gid1], [82 gid2] } */
struct rsp_sgp22_operator_id {
    struct rsp_sgp22_bytes mcc_mnc; /* 3 */
    bool has_gid1;
    struct rsp_sgp22_bytes gid1;
    bool has_gid2;
    struct rsp_sgp22_bytes gid2;
};

/* StoreMetadataRequest: BF25 { 5A iccid, 91 serviceProviderName, 92 profileName, [93 iconType],
 * [94 icon], [95 profileClass], [B6 notificationConfigurationInfo], [B7 profileOwner],
 * [99 profilePolicyRules] }. profileClass is DEFAULT operational: absent means operational; an
 * explicit 95 is accepted and kept (has_profile_class) so the received bytes re-encode as sent. */
#define RSP_NOTIF_CFG_MAX 16
struct rsp_sgp22_store_metadata_request {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes iccid;                 /* 10, EF.ICCID (nibble-swapped) form */
    struct rsp_sgp22_bytes service_provider_name; /* UTF8, 0..32 */
    struct rsp_sgp22_bytes profile_name;          /* UTF8, 0..64 */
    bool has_icon_type;
    int64_t icon_type; /* enum rsp_icon_type */
    bool has_icon;
    struct rsp_sgp22_bytes icon; /* 0..1024 */
    bool has_profile_class;
    int64_t profile_class; /* enum rsp_profile_class; OPERATIONAL when absent */
    bool has_notification_config;
    size_t n_notification_config;
    struct rsp_sgp22_notification_config notification_config[RSP_NOTIF_CFG_MAX];
    bool has_profile_owner;
    struct rsp_sgp22_operator_id profile_owner;
    bool has_ppr;
    uint32_t ppr; /* enum rsp_ppr_ids bits */
};

int rsp_sgp22_smdp_signed2_decode(const uint8_t *p, size_t n, struct rsp_sgp22_smdp_signed2 *out);
int rsp_sgp22_smdp_signed2_encode(const struct rsp_sgp22_smdp_signed2 *in, struct rsp_buf *out);
int rsp_sgp22_prepare_download_request_decode(const uint8_t *p, size_t n,
                                              struct rsp_sgp22_prepare_download_request *out);
int rsp_sgp22_prepare_download_request_encode(const struct rsp_sgp22_prepare_download_request *in,
                                              struct rsp_buf *out);
int rsp_sgp22_euicc_signed2_decode(const uint8_t *p, size_t n, struct rsp_sgp22_euicc_signed2 *out);
int rsp_sgp22_euicc_signed2_encode(const struct rsp_sgp22_euicc_signed2 *in, struct rsp_buf *out);
int rsp_sgp22_prepare_download_response_decode(const uint8_t *p, size_t n,
                                               struct rsp_sgp22_prepare_download_response *out);
int rsp_sgp22_prepare_download_response_encode(const struct rsp_sgp22_prepare_download_response *in,
                                               struct rsp_buf *out);
int rsp_sgp22_store_metadata_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_store_metadata_request *out);
int rsp_sgp22_store_metadata_request_encode(const struct rsp_sgp22_store_metadata_request *in,
                                            struct rsp_buf *out);

/* Bytes signed by smdpSignature2 (§5.7.5, sgp22-notes §4): smdpSigned2 TLV || 5F 37 40 ||
 * euiccSignature1. Appended to out. */
int rsp_sgp22_smdp_signature2_input(const uint8_t *smdp_signed2, size_t smdp_signed2_len,
                                    const uint8_t euicc_signature1[RSP_SGP22_SIG_LEN],
                                    struct rsp_buf *out);
/* Bytes signed by euiccSignature2: euiccSigned2 TLV || 5F 37 40 || smdpSignature2 (the whole
 * smdpSignature2 TLV). */
int rsp_sgp22_euicc_signature2_input(const uint8_t *euicc_signed2, size_t euicc_signed2_len,
                                     const uint8_t smdp_signature2[RSP_SGP22_SIG_LEN],
                                     struct rsp_buf *out);

/* ---- es8p.c: ES8+ Bound Profile Package (§2.5, §5.5) ---------------------------------------- */

/* InitialiseSecureChannelRequest: BF23 { 82 remoteOpId, 80 transactionId, A6 { 80 keyType, 81
 * keyLen, 84 hostId }, 5F49 smdpOtpk, 5F37 smdpSign } */
struct rsp_sgp22_init_secure_channel {
    struct rsp_tlv raw;
    int64_t remote_op_id; /* RSP_SGP22_REMOTE_OP_INSTALL_BPP; other values are decoded as is */
    struct rsp_sgp22_bytes transaction_id;
    uint8_t key_type;                 /* 0x88 = AES */
    uint8_t key_len;                  /* 0x10 */
    struct rsp_sgp22_bytes host_id;   /* 1..16 */
    struct rsp_sgp22_bytes smdp_otpk; /* 65 */
    struct rsp_sgp22_bytes smdp_sign; /* 64 */
};

/* ConfigureISDPRequest: BF24 { [B8 dpProprietaryData { 80 dpOid, ... }] } */
struct rsp_sgp22_configure_isdp_request {
    struct rsp_tlv raw;
    bool has_dp_proprietary_data;
    struct rsp_tlv dp_proprietary_data; /* whole B8 TLV; written as is when set */
    bool has_dp_oid;
    struct rsp_sgp22_bytes dp_oid; /* OID contents (without tag/length) */
};

/* ReplaceSessionKeysRequest: BF26 { 80 initialMacChainingValue, 81 ppkEnc, 82 ppkCmac } (16 each)
 */
struct rsp_sgp22_replace_session_keys_request {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes initial_mcv;
    struct rsp_sgp22_bytes ppk_enc;
    struct rsp_sgp22_bytes ppk_cmac;
};

/* BoundProfilePackage: BF36 { BF23, A0 { 87... }, A1 { 88... }, [A2 { 87... }], A3 { 86... } }.
 * The decoder checks that each list holds only segments of its tag and counts them; the segments
 * themselves are walked with rsp_sgp22_bpp_next() over the list TLV (no allocation). */
struct rsp_sgp22_bpp {
    struct rsp_tlv raw;
    struct rsp_sgp22_init_secure_channel init_secure_channel;
    struct rsp_tlv first87; /* whole A0 TLV */
    struct rsp_tlv seq88;   /* whole A1 TLV */
    bool has_second87;
    struct rsp_tlv second87; /* whole A2 TLV */
    struct rsp_tlv seq86;    /* whole A3 TLV */
    size_t n_first87, n_seq88, n_second87, n_seq86;
};

/* Parts for encoding a BPP: each segment is a whole TLV (87/88/86 L ...) as produced by the BSP
 * layer; the encoder checks each tag. */
struct rsp_sgp22_bpp_parts {
    const struct rsp_sgp22_init_secure_channel *init_secure_channel;
    const struct rsp_sgp22_bytes *first87;
    size_t n_first87;
    const struct rsp_sgp22_bytes *seq88;
    size_t n_seq88;
    bool has_second87;
    const struct rsp_sgp22_bytes *second87;
    size_t n_second87;
    const struct rsp_sgp22_bytes *seq86;
    size_t n_seq86;
};

int rsp_sgp22_init_secure_channel_decode(const uint8_t *p, size_t n,
                                         struct rsp_sgp22_init_secure_channel *out);
int rsp_sgp22_init_secure_channel_encode(const struct rsp_sgp22_init_secure_channel *in,
                                         struct rsp_buf *out);
/* Bytes signed by smdpSign (§5.5.1, sgp22-notes §4): the BF23 content without its header and
 * without the 5F37 element, followed by 5F 49 41 || euiccOtpk. Uses in->raw when set (verifier),
 * else the fields (signer: the smdp_sign field is then ignored). */
int rsp_sgp22_smdp_sign_input(const struct rsp_sgp22_init_secure_channel *in,
                              const uint8_t euicc_otpk[RSP_SGP22_OTPK_LEN], struct rsp_buf *out);
int rsp_sgp22_configure_isdp_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_configure_isdp_request *out);
int rsp_sgp22_configure_isdp_request_encode(const struct rsp_sgp22_configure_isdp_request *in,
                                            struct rsp_buf *out);
int rsp_sgp22_replace_session_keys_request_decode(
    const uint8_t *p, size_t n, struct rsp_sgp22_replace_session_keys_request *out);
int rsp_sgp22_replace_session_keys_request_encode(
    const struct rsp_sgp22_replace_session_keys_request *in, struct rsp_buf *out);
int rsp_sgp22_bpp_decode(const uint8_t *p, size_t n, struct rsp_sgp22_bpp *out);
int rsp_sgp22_bpp_encode(const struct rsp_sgp22_bpp_parts *in, struct rsp_buf *out);
/* Segment walk: rsp_der_iter_value(&it, &bpp.seq86) then rsp_sgp22_bpp_next(&it, &seg) until it
 * returns 0. 1 = one segment (whole 87/88/86 TLV in seg->raw), 0 = end, negative on error. */
int rsp_sgp22_bpp_next(struct rsp_der_iter *it, struct rsp_tlv *seg);

/* ---- pir.c: ProfileInstallationResult (§5.7.6, §2.5.6) -------------------------------------- */

/* NotificationMetadata: BF2F { 80 seqNumber, 81 profileManagementOperation, 0C
 * notificationAddress, [5A iccid] } */
struct rsp_sgp22_notification_metadata {
    struct rsp_tlv raw;
    int64_t seq_number;
    uint32_t pmo; /* enum rsp_notification_event bits */
    struct rsp_sgp22_bytes address;
    bool has_iccid;
    /* Iccid is SIZE(10); the decoder also tolerates 1..9 bytes (pySim's client sends 8) and says
     * so in iccid_ok. Encoders require 10. */
    struct rsp_sgp22_bytes iccid;
    bool iccid_ok;
};

/* ProfileInstallationResultData: BF27 { 80 transactionId, BF2F notificationMetadata, [06 smdpOid]
 * (mandatory in v2.2, tolerated absent), A2 finalResult { A0 { 4F aid, 04 simaResponse } | A1 { 80
 * bppCommandId, 81 errorReason, [82 simaResponse] } } } */
struct rsp_sgp22_pir_data {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    struct rsp_sgp22_notification_metadata notification_metadata;
    bool has_smdp_oid;
    struct rsp_sgp22_bytes smdp_oid; /* OID contents */
    bool success;
    /* success */
    struct rsp_sgp22_bytes aid; /* 5..16 */
    /* both: simaResponse (mandatory for success, optional for error) */
    bool has_sima_response;
    struct rsp_sgp22_bytes sima_response;
    /* error */
    int64_t bpp_command_id; /* enum rsp_sgp22_bpp_command_id */
    int64_t error_reason;   /* enum rsp_sgp22_error_reason */
};

/* ProfileInstallationResult: BF37 { BF27 data, 5F37 euiccSignPIR }. euiccSignPIR signs data.raw. */
struct rsp_sgp22_pir {
    struct rsp_tlv raw;
    struct rsp_sgp22_pir_data data;
    struct rsp_sgp22_bytes euicc_sign_pir; /* 64 */
};

int rsp_sgp22_pir_data_decode(const uint8_t *p, size_t n, struct rsp_sgp22_pir_data *out);
int rsp_sgp22_pir_data_encode(const struct rsp_sgp22_pir_data *in, struct rsp_buf *out);
int rsp_sgp22_pir_decode(const uint8_t *p, size_t n, struct rsp_sgp22_pir *out);
int rsp_sgp22_pir_encode(const struct rsp_sgp22_pir *in, struct rsp_buf *out);

/* ---- notification.c: notifications (§5.7.9, §5.7.10) and cancel session (§5.7.14) ---------- */

/* OtherSignedNotification: 30 { BF2F tbsOtherNotification, 5F37 euiccNotificationSignature, 30
 * euiccCertificate, 30 eumCertificate }. The signature covers tbs.raw. */
struct rsp_sgp22_other_signed_notification {
    struct rsp_tlv raw;
    struct rsp_sgp22_notification_metadata tbs;
    struct rsp_sgp22_bytes signature; /* 64 */
    struct rsp_tlv euicc_certificate;
    struct rsp_tlv eum_certificate;
};

/* PendingNotification: CHOICE { BF37 profileInstallationResult, 30 otherSignedNotification } */
struct rsp_sgp22_pending_notification {
    struct rsp_tlv raw;
    bool is_pir;
    struct rsp_sgp22_pir pir;
    struct rsp_sgp22_other_signed_notification other;
};

/* CancelSessionRequest: BF41 { 80 transactionId, 81 reason } */
struct rsp_sgp22_cancel_session_request {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    int64_t reason; /* enum rsp_sgp22_cancel_reason */
};

/* EuiccCancelSessionSigned: 30 { 80 transactionId, 81 smdpOid (implicit OID), 82 reason } */
struct rsp_sgp22_euicc_cancel_session_signed {
    struct rsp_tlv raw;
    struct rsp_sgp22_bytes transaction_id;
    struct rsp_sgp22_bytes smdp_oid; /* OID contents */
    int64_t reason;
};

/* CancelSessionResponse: BF41 { A0 { 30 euiccCancelSessionSigned, 5F37 signature } | 81 error }.
 * The signature covers euicc_cancel_session_signed.raw. */
struct rsp_sgp22_cancel_session_response {
    struct rsp_tlv raw;
    bool ok;
    struct rsp_sgp22_euicc_cancel_session_signed signed_part;
    struct rsp_sgp22_bytes signature; /* 64 */
    int64_t error_code;               /* enum rsp_sgp22_cancel_session_error */
};

int rsp_sgp22_notification_metadata_decode(const uint8_t *p, size_t n,
                                           struct rsp_sgp22_notification_metadata *out);
int rsp_sgp22_notification_metadata_encode(const struct rsp_sgp22_notification_metadata *in,
                                           struct rsp_buf *out);
int rsp_sgp22_other_signed_notification_decode(const uint8_t *p, size_t n,
                                               struct rsp_sgp22_other_signed_notification *out);
int rsp_sgp22_other_signed_notification_encode(const struct rsp_sgp22_other_signed_notification *in,
                                               struct rsp_buf *out);
int rsp_sgp22_pending_notification_decode(const uint8_t *p, size_t n,
                                          struct rsp_sgp22_pending_notification *out);
int rsp_sgp22_pending_notification_encode(const struct rsp_sgp22_pending_notification *in,
                                          struct rsp_buf *out);
int rsp_sgp22_cancel_session_request_decode(const uint8_t *p, size_t n,
                                            struct rsp_sgp22_cancel_session_request *out);
int rsp_sgp22_cancel_session_request_encode(const struct rsp_sgp22_cancel_session_request *in,
                                            struct rsp_buf *out);
int rsp_sgp22_euicc_cancel_session_signed_decode(const uint8_t *p, size_t n,
                                                 struct rsp_sgp22_euicc_cancel_session_signed *out);
int rsp_sgp22_euicc_cancel_session_signed_encode(
    const struct rsp_sgp22_euicc_cancel_session_signed *in, struct rsp_buf *out);
int rsp_sgp22_cancel_session_response_decode(const uint8_t *p, size_t n,
                                             struct rsp_sgp22_cancel_session_response *out);
int rsp_sgp22_cancel_session_response_encode(const struct rsp_sgp22_cancel_session_response *in,
                                             struct rsp_buf *out);

#endif
