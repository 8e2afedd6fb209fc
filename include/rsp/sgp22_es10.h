/* SGP.22 v2.2 ES10a/ES10b/ES10c management structures (Annex H ASN.1, §5.7): typed encoders and
 * decoders for what the LPA sends to the ISD-R and what the eUICC answers.
 *
 * Conventions
 * - Encoders append one complete TLV to `out` and return 0 or a negative RSP_E* (the sticky error
 *   of `out`, or RSP_EINVAL/RSP_ERANGE for a value the structure cannot carry).
 * - Decoders take exactly one TLV (nothing may follow it), fill the struct and return 0 or a
 *   negative RSP_E*. They are strict on mandatory elements, their order and sizes, and tolerant
 *   of unknown trailing extension elements (EXTENSIBILITY IMPLIED). Decoded byte strings point into
 *   the input (no copies, no allocation): keep the input alive while using the struct.
 * - Lists have fixed maximum counts (RSP_ES10_MAX_*); more entries give RSP_ERANGE, never a
 *   silent truncation.
 * - A result or error code inside a response (enableResult, ProfileInfoListError, ...) is a
 *   decoded value, not an RSP_E* return.
 * - struct rsp_es10_bin: `p == NULL` means "absent" for OPTIONAL fields. Decoders always set a
 *   non-NULL `p` for a present field, even when it is empty; callers encoding an empty but present
 *   string pass any non-NULL pointer (e.g. "").
 * - NotificationMetadata (BF2F) and PendingNotification (BF37 / 30) entries are kept as raw
 *   struct rsp_tlv (decode them with the functions of rsp/sgp22_auth.h). Encoders copy the
 *   entries' raw bytes (raw, raw_len) verbatim.
 */
#ifndef RSP_SGP22_ES10_H
#define RSP_SGP22_ES10_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/der.h"
#include "rsp/sgp22_types.h"

#define RSP_MAX_PROFILES            32 /* ProfileInfo entries in one ProfileInfoListResponse */
#define RSP_ES10_MAX_PROFILES       RSP_MAX_PROFILES
#define RSP_ES10_MAX_CI_PKIDS       8   /* per euiccCiPKIdList */
#define RSP_ES10_MAX_NOTIFICATIONS  32  /* per ListNotification / RetrieveNotificationsList */
#define RSP_ES10_MAX_NOTIF_CONFIG   8   /* notificationConfigurationInfo entries per Profile */
#define RSP_ES10_MAX_RAT_RULES      16  /* ProfilePolicyAuthorisationRules in the RAT */
#define RSP_ES10_MAX_RAT_OPERATORS  8   /* allowedOperators per rule */
#define RSP_ES10_DP_PROPRIETARY_MAX 128 /* dpProprietaryData incl. tag and length (Annex H) */
#define RSP_ES10_NICKNAME_MAX       64
#define RSP_ES10_SPN_MAX            32
#define RSP_ES10_PROFILE_NAME_MAX   64
#define RSP_ES10_ICON_MAX           1024
#define RSP_ES10_SAS_MAX            64
#define RSP_ES10_CHALLENGE_LEN      16
#define RSP_ES10_VERSION_LEN        3 /* VersionType: major, minor, revision */

/* ES10 message tags (Annex H). */
enum {
    RSP_ES10_TAG_EUICC_INFO1 = 0xBF20,
    RSP_ES10_TAG_EUICC_INFO2 = 0xBF22,
    RSP_ES10_TAG_LIST_NOTIFICATION = 0xBF28,
    RSP_ES10_TAG_SET_NICKNAME = 0xBF29,
    RSP_ES10_TAG_RETRIEVE_NOTIFICATIONS = 0xBF2B,
    RSP_ES10_TAG_PROFILE_INFO_LIST = 0xBF2D,
    RSP_ES10_TAG_EUICC_CHALLENGE = 0xBF2E,
    RSP_ES10_TAG_NOTIFICATION_METADATA = 0xBF2F,
    RSP_ES10_TAG_NOTIFICATION_SENT = 0xBF30,
    RSP_ES10_TAG_ENABLE_PROFILE = 0xBF31,
    RSP_ES10_TAG_DISABLE_PROFILE = 0xBF32,
    RSP_ES10_TAG_DELETE_PROFILE = 0xBF33,
    RSP_ES10_TAG_EUICC_MEMORY_RESET = 0xBF34,
    RSP_ES10_TAG_PROFILE_INSTALLATION_RESULT = 0xBF37,
    RSP_ES10_TAG_EUICC_CONFIGURED_ADDRESSES = 0xBF3C,
    RSP_ES10_TAG_GET_EUICC_DATA = 0xBF3E,
    RSP_ES10_TAG_SET_DEFAULT_DP_ADDRESS = 0xBF3F,
    RSP_ES10_TAG_GET_RAT = 0xBF43,
    RSP_ES10_TAG_PROFILE_INFO = 0xE3,
};

/* A byte string pointing into a decoded input (or supplied by the caller for encoding). */
struct rsp_es10_bin {
    const uint8_t *p; /* NULL: absent */
    size_t len;
};

/* A BIT STRING (bit 0 = most significant bit of bits[0], as ASN.1 numbers named bits). */
struct rsp_es10_bits {
    const uint8_t *bits; /* NULL: absent */
    size_t nbits;
};

/* Bits 0..31 of a BIT STRING as a mask (1u << n for named bit n); bits beyond 31 are dropped. */
uint32_t rsp_es10_bits_mask(const struct rsp_es10_bits *b);

/* --- enumerations (Annex H values) ------------------------------------------------------------ */

/* ProfileState on the eUICC (9F70); the SM-DP+ lifecycle is enum rsp_profile_state in store.h. */
enum rsp_es10_profile_state { RSP_PROFILE_DISABLED = 0, RSP_PROFILE_ENABLED = 1 };
enum rsp_euicc_category {
    RSP_EUICC_CATEGORY_OTHER = 0,
    RSP_EUICC_CATEGORY_BASIC = 1,
    RSP_EUICC_CATEGORY_MEDIUM = 2,
    RSP_EUICC_CATEGORY_CONTACTLESS = 3
};

/* RspCapability named bits. */
enum rsp_rsp_capability {
    RSP_CAP_ADDITIONAL_PROFILE = 1u << 0,
    RSP_CAP_CRL_SUPPORT = 1u << 1,
    RSP_CAP_RPM_SUPPORT = 1u << 2,
    RSP_CAP_TEST_PROFILE_SUPPORT = 1u << 3
};
/* EuiccMemoryResetRequest.resetOptions named bits. */
enum rsp_reset_options {
    RSP_RESET_DELETE_OPERATIONAL = 1u << 0,
    RSP_RESET_DELETE_FIELD_LOADED_TEST = 1u << 1,
    RSP_RESET_DEFAULT_SMDP_ADDRESS = 1u << 2
};

enum rsp_profile_info_list_error {
    RSP_PIL_INCORRECT_INPUT_VALUES = 1,
    RSP_PIL_UNDEFINED_ERROR = 127
};
enum rsp_enable_result {
    RSP_ENABLE_OK = 0,
    RSP_ENABLE_ICCID_OR_AID_NOT_FOUND = 1,
    RSP_ENABLE_PROFILE_NOT_IN_DISABLED_STATE = 2,
    RSP_ENABLE_DISALLOWED_BY_POLICY = 3,
    RSP_ENABLE_WRONG_PROFILE_REENABLING = 4,
    RSP_ENABLE_CAT_BUSY = 5,
    RSP_ENABLE_UNDEFINED_ERROR = 127
};
enum rsp_disable_result {
    RSP_DISABLE_OK = 0,
    RSP_DISABLE_ICCID_OR_AID_NOT_FOUND = 1,
    RSP_DISABLE_PROFILE_NOT_IN_ENABLED_STATE = 2,
    RSP_DISABLE_DISALLOWED_BY_POLICY = 3,
    RSP_DISABLE_CAT_BUSY = 5,
    RSP_DISABLE_UNDEFINED_ERROR = 127
};
enum rsp_delete_result {
    RSP_DELETE_OK = 0,
    RSP_DELETE_ICCID_OR_AID_NOT_FOUND = 1,
    RSP_DELETE_PROFILE_NOT_IN_DISABLED_STATE = 2,
    RSP_DELETE_DISALLOWED_BY_POLICY = 3,
    RSP_DELETE_UNDEFINED_ERROR = 127
};
enum rsp_reset_result {
    RSP_RESET_OK = 0,
    RSP_RESET_NOTHING_TO_DELETE = 1,
    RSP_RESET_CAT_BUSY = 5,
    RSP_RESET_UNDEFINED_ERROR = 127
};
enum rsp_set_nickname_result {
    RSP_SET_NICKNAME_OK = 0,
    RSP_SET_NICKNAME_ICCID_NOT_FOUND = 1,
    RSP_SET_NICKNAME_UNDEFINED_ERROR = 127
};
enum rsp_notification_sent_result {
    RSP_NOTIF_SENT_OK = 0,
    RSP_NOTIF_SENT_NOTHING_TO_DELETE = 1,
    RSP_NOTIF_SENT_UNDEFINED_ERROR = 127
};
enum rsp_set_default_dp_result {
    RSP_SET_DEFAULT_DP_OK = 0,
    RSP_SET_DEFAULT_DP_UNDEFINED_ERROR = 127
};
/* listNotificationsResultError and notificationsListResultError. */
enum rsp_notification_list_error { RSP_NOTIF_LIST_UNDEFINED_ERROR = 127 };

/* --- helpers ---------------------------------------------------------------------------------- */

/* Tag of the (first) TLV in p[0..n), for dispatching a command: 0 or negative. */
int rsp_es10_peek_tag(const uint8_t *p, size_t n, rsp_tag *tag);
/* Requests without input data: GetEuiccChallenge (BF2E), GetEuiccInfo1 (BF20), GetEuiccInfo2
 * (BF22), EuiccConfiguredAddresses (BF3C), GetRAT (BF43): `tag 00`. The decoder accepts (skips)
 * well-formed extension elements. */
int rsp_es10_empty_encode(rsp_tag tag, struct rsp_buf *out);
int rsp_es10_empty_decode(rsp_tag tag, const uint8_t *p, size_t n);
/* `tag { 80 INTEGER }`: the single-result responses of BF29, BF30, BF31, BF32, BF33, BF34, BF3F.
 * The value must fit in 0..INT32_MAX (RSP_ERANGE otherwise); unknown values are returned as is. */
int rsp_es10_result_encode(rsp_tag tag, int result, struct rsp_buf *out);
int rsp_es10_result_decode(rsp_tag tag, const uint8_t *p, size_t n, int *result);
/* True if a tagList value (concatenated tags, §5.7.15) names `tag`. A malformed list (a
 * truncated multi-byte tag) gives false. */
bool rsp_es10_taglist_has(const struct rsp_es10_bin *taglist, rsp_tag tag);

/* --- GetEuiccChallenge (ES10b, §5.7.7) -------------------------------------------------------- */
int rsp_es10_challenge_encode(const uint8_t challenge[RSP_ES10_CHALLENGE_LEN], struct rsp_buf *out);
int rsp_es10_challenge_decode(const uint8_t *p, size_t n,
                              uint8_t challenge[RSP_ES10_CHALLENGE_LEN]);

/* --- EUICCInfo1 / EUICCInfo2 (ES10b, §5.7.8) ----------------------------------------- */
struct rsp_es10_pkid_list { /* SEQUENCE OF SubjectKeyIdentifier (each 04 OCTET STRING) */
    struct rsp_es10_bin id[RSP_ES10_MAX_CI_PKIDS];
    size_t n;
};

struct rsp_euicc_info1 {                 /* BF20 */
    uint8_t svn[RSP_ES10_VERSION_LEN];   /* 82 */
    struct rsp_es10_pkid_list ci_verify; /* A9 euiccCiPKIdListForVerification */
    struct rsp_es10_pkid_list ci_sign;   /* AA euiccCiPKIdListForSigning */
};
int rsp_euicc_info1_encode(const struct rsp_euicc_info1 *in, struct rsp_buf *out);
int rsp_euicc_info1_decode(const uint8_t *p, size_t n, struct rsp_euicc_info1 *out);

struct rsp_euicc_info2 {                            /* BF22 */
    uint8_t profile_version[RSP_ES10_VERSION_LEN];  /* 81 SIMalliance profile package version */
    uint8_t svn[RSP_ES10_VERSION_LEN];              /* 82 */
    uint8_t firmware_version[RSP_ES10_VERSION_LEN]; /* 83 euiccFirmwareVer */
    struct rsp_es10_bin ext_card_resource;          /* 84 (mandatory) */
    struct rsp_es10_bits uicc_capability;           /* 85 (mandatory) */
    bool has_ts102241_version;                      /* 86 (called javacardVersion by pySim) */
    uint8_t ts102241_version[RSP_ES10_VERSION_LEN];
    bool has_gp_version; /* 87 globalplatformVersion */
    uint8_t gp_version[RSP_ES10_VERSION_LEN];
    struct rsp_es10_bits rsp_capability;      /* 88 (mandatory); enum rsp_rsp_capability */
    struct rsp_es10_pkid_list ci_verify;      /* A9 */
    struct rsp_es10_pkid_list ci_sign;        /* AA */
    bool has_euicc_category;                  /* 8B */
    int euicc_category;                       /* enum rsp_euicc_category (other values kept) */
    struct rsp_es10_bits forbidden_pprs;      /* 99, optional; enum rsp_ppr_ids */
    uint8_t pp_version[RSP_ES10_VERSION_LEN]; /* 04 */
    struct rsp_es10_bin sas_accreditation;    /* 0C sasAcreditationNumber, UTF8 (0..64) */
    bool has_certification_data;              /* AC certificationDataObject */
    struct rsp_es10_bin platform_label;       /* AC/80 UTF8String */
    struct rsp_es10_bin discovery_base_url;   /* AC/81 UTF8String */
};
int rsp_euicc_info2_encode(const struct rsp_euicc_info2 *in, struct rsp_buf *out);
int rsp_euicc_info2_decode(const uint8_t *p, size_t n, struct rsp_euicc_info2 *out);
/* Decodes an already parsed BF22 TLV (e.g. found inside euiccSigned1). */
int rsp_euicc_info2_decode_tlv(const struct rsp_tlv *t, struct rsp_euicc_info2 *out);

/* --- GetEuiccData / GetEID (ES10c, §5.7.20) --------------------------------------------------- */
/* Request BF3E { 5C tagList }; v2.2 fixes tagList to one byte, '5A'. */
int rsp_es10_get_euicc_data_encode(uint8_t tag_list, struct rsp_buf *out);
/* Decodes the request; *tag_list receives the byte (the caller checks it is 0x5A). */
int rsp_es10_get_euicc_data_decode(const uint8_t *p, size_t n, uint8_t *tag_list);
/* Convenience: BF3E 03 5C 01 5A. */
int rsp_es10_get_eid_encode(struct rsp_buf *out);
/* Response BF3E { 5A EID(16) }. */
int rsp_es10_eid_encode(const struct rsp_eid *eid, struct rsp_buf *out);
int rsp_es10_eid_decode(const uint8_t *p, size_t n, struct rsp_eid *eid);

/* --- Profile identification ------------------------------------------------------------------- */
enum rsp_es10_profile_id_kind { RSP_ES10_BY_AID = 1, RSP_ES10_BY_ICCID = 2 };
struct rsp_es10_profile_id {
    enum rsp_es10_profile_id_kind kind;
    struct rsp_es10_bin aid; /* 4F, 1..16 bytes (kind == RSP_ES10_BY_AID) */
    struct rsp_iccid iccid;  /* 5A (kind == RSP_ES10_BY_ICCID) */
};

/* --- GetProfilesInfo (ES10c, §5.7.15) -----------------------------------------------------------
 */
enum rsp_es10_search_kind {
    RSP_ES10_SEARCH_NONE = 0,
    RSP_ES10_SEARCH_AID = 1,   /* A0 { 4F } */
    RSP_ES10_SEARCH_ICCID = 2, /* A0 { 5A } */
    RSP_ES10_SEARCH_CLASS = 3  /* A0 { 95 } */
};
struct rsp_profile_info_list_req { /* BF2D */
    enum rsp_es10_search_kind search;
    struct rsp_es10_bin aid;
    struct rsp_iccid iccid;
    int profile_class;            /* enum rsp_profile_class */
    struct rsp_es10_bin tag_list; /* 5C, optional (p == NULL: default set) */
};
int rsp_profile_info_list_req_encode(const struct rsp_profile_info_list_req *in,
                                     struct rsp_buf *out);
int rsp_profile_info_list_req_decode(const uint8_t *p, size_t n,
                                     struct rsp_profile_info_list_req *out);

struct rsp_es10_operator_id { /* OperatorId: 80 mccMnc(3), 81 gid1 O, 82 gid2 O */
    struct rsp_es10_bin mcc_mnc;
    struct rsp_es10_bin gid1;
    struct rsp_es10_bin gid2;
};

struct rsp_es10_notif_config {   /* NotificationConfigurationInformation: 30 { 80 bits, 81 addr } */
    struct rsp_es10_bits events; /* enum rsp_notification_event */
    struct rsp_es10_bin address; /* UTF8 FQDN */
};

struct rsp_profile_info { /* E3; every field OPTIONAL (Annex H) */
    bool has_iccid;
    struct rsp_iccid iccid;       /* 5A */
    struct rsp_es10_bin isdp_aid; /* 4F, 1..16 */
    bool has_state;
    int state;                    /* 9F70, enum rsp_es10_profile_state */
    struct rsp_es10_bin nickname; /* 90, UTF8 0..64 */
    struct rsp_es10_bin spn;      /* 91 serviceProviderName, UTF8 0..32 */
    struct rsp_es10_bin name;     /* 92 profileName, UTF8 0..64 */
    bool has_icon_type;
    int icon_type;            /* 93, enum rsp_icon_type */
    struct rsp_es10_bin icon; /* 94, 0..1024 */
    bool has_profile_class;   /* 95; absent means operational for newer eUICCs (addendum §6.1) */
    int profile_class;        /* enum rsp_profile_class */
    bool has_notif_config;    /* B6 */
    struct rsp_es10_notif_config notif_config[RSP_ES10_MAX_NOTIF_CONFIG];
    size_t n_notif_config;
    bool has_owner; /* B7 profileOwner */
    struct rsp_es10_operator_id owner;
    struct rsp_es10_bin dp_proprietary; /* B8 value (whole DpProprietaryData content) */
    struct rsp_es10_bin dp_oid; /* B8/80 dpOid contents (decode only; encode uses dp_proprietary) */
    struct rsp_es10_bits ppr;   /* 99 profilePolicyRules, enum rsp_ppr_ids */
};
int rsp_profile_info_encode(const struct rsp_profile_info *in, struct rsp_buf *out);
int rsp_profile_info_decode(const uint8_t *p, size_t n, struct rsp_profile_info *out);

struct rsp_profile_info_list { /* BF2D response */
    bool is_error;
    int error; /* 81, enum rsp_profile_info_list_error (is_error) */
    struct rsp_profile_info profiles[RSP_ES10_MAX_PROFILES];
    size_t n;
};
int rsp_profile_info_list_encode(const struct rsp_profile_info_list *in, struct rsp_buf *out);
int rsp_profile_info_list_decode(const uint8_t *p, size_t n, struct rsp_profile_info_list *out);

/* --- Enable / Disable / Delete (ES10c, §5.7.16-18) ------------------------------------------- */
struct rsp_es10_switch_req { /* BF31 / BF32 { A0 { 4F | 5A }, 81 refreshFlag } */
    struct rsp_es10_profile_id id;
    bool refresh;
};
int rsp_es10_enable_req_encode(const struct rsp_es10_switch_req *in, struct rsp_buf *out);
int rsp_es10_enable_req_decode(const uint8_t *p, size_t n, struct rsp_es10_switch_req *out);
int rsp_es10_disable_req_encode(const struct rsp_es10_switch_req *in, struct rsp_buf *out);
int rsp_es10_disable_req_decode(const uint8_t *p, size_t n, struct rsp_es10_switch_req *out);
int rsp_es10_enable_resp_encode(enum rsp_enable_result r, struct rsp_buf *out);
int rsp_es10_enable_resp_decode(const uint8_t *p, size_t n, enum rsp_enable_result *r);
int rsp_es10_disable_resp_encode(enum rsp_disable_result r, struct rsp_buf *out);
int rsp_es10_disable_resp_decode(const uint8_t *p, size_t n, enum rsp_disable_result *r);

/* DeleteProfileRequest is a CHOICE: BF33 { 4F | 5A }. The decoder also accepts BF33 { A0 { 4F | 5A
 * } } as some LPAs send it; the encoder writes the Annex H form. */
int rsp_es10_delete_req_encode(const struct rsp_es10_profile_id *in, struct rsp_buf *out);
int rsp_es10_delete_req_decode(const uint8_t *p, size_t n, struct rsp_es10_profile_id *out);
int rsp_es10_delete_resp_encode(enum rsp_delete_result r, struct rsp_buf *out);
int rsp_es10_delete_resp_decode(const uint8_t *p, size_t n, enum rsp_delete_result *r);

/* --- eUICCMemoryReset (ES10c, §5.7.19): BF34 { 82 resetOptions } --------------------------- */
int rsp_es10_memory_reset_req_encode(uint32_t options, struct rsp_buf *out);
int rsp_es10_memory_reset_req_decode(const uint8_t *p, size_t n, uint32_t *options);
int rsp_es10_memory_reset_resp_encode(enum rsp_reset_result r, struct rsp_buf *out);
int rsp_es10_memory_reset_resp_decode(const uint8_t *p, size_t n, enum rsp_reset_result *r);

/* --- SetNickname (ES10c, §5.7.21): BF29 { 5A iccid, 90 nickname } ------------------------- */
struct rsp_es10_set_nickname_req {
    struct rsp_iccid iccid;
    struct rsp_es10_bin nickname; /* UTF8, 0..64 bytes; p may be NULL only when len == 0 */
};
int rsp_es10_set_nickname_req_encode(const struct rsp_es10_set_nickname_req *in,
                                     struct rsp_buf *out);
int rsp_es10_set_nickname_req_decode(const uint8_t *p, size_t n,
                                     struct rsp_es10_set_nickname_req *out);
int rsp_es10_set_nickname_resp_encode(enum rsp_set_nickname_result r, struct rsp_buf *out);
int rsp_es10_set_nickname_resp_decode(const uint8_t *p, size_t n, enum rsp_set_nickname_result *r);

/* --- Notifications (ES10b, §5.7.9-11) ----------------------------------------------------------
 */
/* ListNotificationRequest BF28 { [81 profileManagementOperation] }. */
struct rsp_es10_list_notif_req {
    bool has_pmo;
    uint32_t pmo; /* enum rsp_notification_event mask */
};
int rsp_es10_list_notif_req_encode(const struct rsp_es10_list_notif_req *in, struct rsp_buf *out);
int rsp_es10_list_notif_req_decode(const uint8_t *p, size_t n, struct rsp_es10_list_notif_req *out);

/* RetrieveNotificationsListRequest BF2B { [A0 { 80 seqNumber | 81 pmo }] }. */
enum rsp_es10_retrieve_kind {
    RSP_ES10_RETRIEVE_ALL = 0,
    RSP_ES10_RETRIEVE_SEQ = 1,
    RSP_ES10_RETRIEVE_PMO = 2
};
struct rsp_es10_retrieve_notif_req {
    enum rsp_es10_retrieve_kind kind;
    uint64_t seq_number;
    uint32_t pmo;
};
int rsp_es10_retrieve_notif_req_encode(const struct rsp_es10_retrieve_notif_req *in,
                                       struct rsp_buf *out);
int rsp_es10_retrieve_notif_req_decode(const uint8_t *p, size_t n,
                                       struct rsp_es10_retrieve_notif_req *out);

/* ListNotificationResponse BF28 { A0 { BF2F* } } | BF28 { 81 error } and
 * RetrieveNotificationsListResponse BF2B { A0 { (BF37 | 30)* } } | BF2B { 81 error }. */
struct rsp_es10_notif_list {
    bool is_error;
    int error; /* enum rsp_notification_list_error */
    struct rsp_tlv items[RSP_ES10_MAX_NOTIFICATIONS];
    size_t n;
};
int rsp_es10_list_notif_resp_encode(const struct rsp_es10_notif_list *in, struct rsp_buf *out);
int rsp_es10_list_notif_resp_decode(const uint8_t *p, size_t n, struct rsp_es10_notif_list *out);
int rsp_es10_retrieve_notif_resp_encode(const struct rsp_es10_notif_list *in, struct rsp_buf *out);
int rsp_es10_retrieve_notif_resp_decode(const uint8_t *p, size_t n,
                                        struct rsp_es10_notif_list *out);

/* NotificationSentRequest BF30 { 80 seqNumber } -> BF30 { 80 deleteNotificationStatus }. */
int rsp_es10_notif_sent_req_encode(uint64_t seq_number, struct rsp_buf *out);
int rsp_es10_notif_sent_req_decode(const uint8_t *p, size_t n, uint64_t *seq_number);
int rsp_es10_notif_sent_resp_encode(enum rsp_notification_sent_result r, struct rsp_buf *out);
int rsp_es10_notif_sent_resp_decode(const uint8_t *p, size_t n,
                                    enum rsp_notification_sent_result *r);

/* --- Addresses (ES10a, §5.7.3, §5.7.4) -------------------------------------------------------- */
/* EuiccConfiguredAddressesResponse BF3C { [80 defaultDpAddress], 81 rootDsAddress } */
struct rsp_es10_configured_addresses {
    struct rsp_es10_bin default_dp; /* optional */
    struct rsp_es10_bin root_ds;    /* mandatory */
};
int rsp_es10_configured_addresses_encode(const struct rsp_es10_configured_addresses *in,
                                         struct rsp_buf *out);
int rsp_es10_configured_addresses_decode(const uint8_t *p, size_t n,
                                         struct rsp_es10_configured_addresses *out);
/* SetDefaultDpAddressRequest BF3F { 80 defaultDpAddress } -> BF3F { 80 result }. */
int rsp_es10_set_default_dp_req_encode(const struct rsp_es10_bin *address, struct rsp_buf *out);
int rsp_es10_set_default_dp_req_decode(const uint8_t *p, size_t n, struct rsp_es10_bin *address);
int rsp_es10_set_default_dp_resp_encode(enum rsp_set_default_dp_result r, struct rsp_buf *out);
int rsp_es10_set_default_dp_resp_decode(const uint8_t *p, size_t n,
                                        enum rsp_set_default_dp_result *r);

/* --- GetRAT (ES10b, §5.7.22) -------------------------------------------------------------------
 */
/* GetRatResponse BF43 { A0 rat { 30 { 80 pprIds, A1 { 30 OperatorId* }, 82 pprFlags }* } } (the
 * only component of GetRatResponse gets automatic tag [0]). */
struct rsp_es10_rat_rule {
    struct rsp_es10_bits ppr_ids; /* enum rsp_ppr_ids */
    struct rsp_es10_operator_id operators[RSP_ES10_MAX_RAT_OPERATORS];
    size_t n_operators;
    struct rsp_es10_bits ppr_flags; /* bit 0: consentRequired */
};
struct rsp_es10_rat {
    struct rsp_es10_rat_rule rules[RSP_ES10_MAX_RAT_RULES];
    size_t n;
};
int rsp_es10_rat_encode(const struct rsp_es10_rat *in, struct rsp_buf *out);
int rsp_es10_rat_decode(const uint8_t *p, size_t n, struct rsp_es10_rat *out);

#endif
