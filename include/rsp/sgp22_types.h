/* SGP.22 identifiers and codes: TransactionID, ICCID, EID, activation code, confirmation code.
 * Pure functions. */
#ifndef RSP_SGP22_TYPES_H
#define RSP_SGP22_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"

/* TransactionId ::= OCTET STRING (SIZE(1..16)); in ES9+ JSON it travels as hex (compared
 * case-insensitively). */
#define RSP_TID_MAX 16
struct rsp_tid {
    uint8_t b[RSP_TID_MAX];
    size_t len;
};
/* Parses 2..32 hex digits, either case. */
int rsp_tid_from_hex(const char *hex, struct rsp_tid *out);
/* Upper-case hex, NUL-terminated; out must hold 2*len+1 bytes (33 suffices). */
void rsp_tid_to_hex(const struct rsp_tid *t, char out[2 * RSP_TID_MAX + 1]);
bool rsp_tid_equal(const struct rsp_tid *a, const struct rsp_tid *b);

/* ICCID as carried in ES10/ES8+ (tag 5A) and EF.ICCID: 10 bytes of nibble-swapped BCD, padded
 * with F. The SAIP ProfileHeader carries the same digits un-swapped. */
#define RSP_ICCID_LEN 10
struct rsp_iccid {
    uint8_t b[RSP_ICCID_LEN]; /* swapped (EF.ICCID) form */
};
/* From 18..20 decimal digits (a trailing 'F'/'f' pad is accepted, as ES2+ sends 19-digit ICCIDs
 * with one); RSP_ESYNTAX otherwise. */
int rsp_iccid_from_str(const char *digits, struct rsp_iccid *out);
/* Decimal digits without padding, NUL-terminated (at most 20 digits). */
int rsp_iccid_to_str(const struct rsp_iccid *iccid, char out[21]);
/* True if the decimal digits (a trailing 'F' pad ignored) end with a valid Luhn check digit (ITU-T
 * E.118). Not enforced by rsp_iccid_from_str: test and some production ICCIDs do not follow it. */
bool rsp_iccid_luhn_ok(const char *digits);
/* Swaps the two nibbles of each byte (EF.ICCID form <-> SAIP header form). */
void rsp_bcd_swap(uint8_t *dst, const uint8_t *src, size_t n);

/* EID: 32 decimal digits, 16 bytes (digits as hex nibbles, no swap), check digits such that the
 * 32-digit number mod 97 == 1 (ITU-T E.118 / SGP.29 style). */
#define RSP_EID_LEN 16
struct rsp_eid {
    uint8_t b[RSP_EID_LEN];
};
/* Parses 32 digits and verifies the check digits: RSP_ESYNTAX or RSP_ERANGE (bad check digits). */
int rsp_eid_from_str(const char *digits, struct rsp_eid *out);
void rsp_eid_to_str(const struct rsp_eid *eid, char out[33]);
/* Computes the two check digits for the first 30 digits and writes the full 32-digit EID. */
int rsp_eid_complete(const char *first30, char out[33]);

/* Activation Code (SGP.22 §4.1): "1$SMDP$MatchingID[$OID[$CCflag]]", optionally "LPA:"-prefixed
 * when it comes from a QR code. */
#define RSP_AC_FIELD_MAX 255
struct rsp_activation_code {
    char smdp_address[RSP_AC_FIELD_MAX + 1];
    char matching_id[RSP_AC_FIELD_MAX + 1]; /* may be empty */
    char smdp_oid[RSP_AC_FIELD_MAX + 1];    /* empty when absent */
    bool cc_required;                       /* field 5 present and exactly "1" */
};
/* Parses an activation code (with or without "LPA:"); RSP_ESYNTAX with no partial output. */
int rsp_actcode_parse(const char *s, size_t len, struct rsp_activation_code *out);
/* Formats it; `lpa_prefix` adds "LPA:". Empty OID with cc_required gives "$$1". */
int rsp_actcode_format(const struct rsp_activation_code *ac, bool lpa_prefix, struct rsp_buf *out);

/* hashCc = SHA-256(SHA-256(confirmation code bytes) || transactionId) (SGP.22 §3.1.3: computed by
 * the LPAd; checked by the SM-DP+ in §3.1.3.2). */
int rsp_hash_cc(const char *cc, size_t cc_len, const struct rsp_tid *tid, uint8_t out[32]);

/* Enumerations shared by several structures (SGP.22 §2.4a / Annex H). */
enum rsp_profile_class {
    RSP_PROFILE_CLASS_TEST = 0,
    RSP_PROFILE_CLASS_PROVISIONING = 1,
    RSP_PROFILE_CLASS_OPERATIONAL = 2 /* DEFAULT in StoreMetadataRequest */
};
enum rsp_icon_type { RSP_ICON_JPG = 0, RSP_ICON_PNG = 1 };
/* NotificationEvent BIT STRING as a mask: bit n of the mask is ASN.1 named bit n. */
enum rsp_notification_event {
    RSP_NOTIF_INSTALL = 1u << 0,
    RSP_NOTIF_ENABLE = 1u << 1,
    RSP_NOTIF_DISABLE = 1u << 2,
    RSP_NOTIF_DELETE = 1u << 3
};
/* PprIds BIT STRING as a mask. */
enum rsp_ppr_ids { RSP_PPR_UPDATE_CONTROL = 1u << 0, RSP_PPR1 = 1u << 1, RSP_PPR2 = 1u << 2 };

/* An SGP.22 function execution status carried up as a value (never as an RSP_E* code). */
struct rsp_status_code {
    char subject[16]; /* e.g. "8.1.1" */
    char reason[16];  /* e.g. "3.8" */
    char message[128];
};

#endif
