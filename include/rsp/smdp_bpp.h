/* SM-DP+ procedure pieces: the Bound Profile Package builder (SGP.22 §2.5.4, §5.5, ES8+) and the
 * two signed parts the SM-DP+ produces during common mutual authentication and download
 * preparation (serverSigned1 §5.6.1/§5.7.13, smdpSigned2 §5.6.2/§5.7.5).
 *
 * Used by the SM-DP+ (getBoundProfilePackage) and by tests that act as an SM-DP+ towards the
 * software eUICC. Pure computation on caller-owned keys and bytes: no I/O, no state. Ephemeral
 * secrets (otSK.DP, session keys, PPKs) are generated here with rsp_key_generate / rsp_random and
 * wiped before returning; none is ever fixed.
 */
#ifndef RSP_SMDP_BPP_H
#define RSP_SMDP_BPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/crypto.h"
#include "rsp/sgp22_types.h"

struct rsp_smdp_bpp_params {
    const uint8_t *transaction_id; /* 1..16 bytes */
    size_t transaction_id_len;
    const uint8_t *euicc_otpk;     /* otPK.EUICC.ECKA from euiccSigned2: 65 bytes 04||X||Y */
    const uint8_t *eid;            /* 16 bytes (the 32 digits as nibbles, §5 KDF SharedInfo) */
    const struct rsp_key *sk_dppb; /* SK.DPpb.ECDSA: signs smdpSign; its curve is the ECKA curve */
    const uint8_t *host_id;        /* 1..16 bytes */
    size_t host_id_len;
    const uint8_t *store_metadata; /* the whole StoreMetadataRequest TLV (BF25) */
    size_t store_metadata_len;
    const uint8_t *configure_isdp; /* the whole ConfigureISDPRequest TLV (BF24); NULL: BF24 00 */
    size_t configure_isdp_len;
    const uint8_t *upp; /* the unprotected profile package (SAIP PEs) */
    size_t upp_len;
    bool two_layer;        /* protect the profile with random PPKs (ReplaceSessionKeys, A2) */
    size_t segment_plain;  /* plaintext bytes per 86 segment: 0 means RSP_BSP_MAX_PLAIN_ENC */
    size_t metadata_plain; /* data bytes per 88 segment: 0 means RSP_BSP_MAX_PLAIN_MAC */
};

/* Builds BF36 { BF23 (fresh otPK.DP, smdpSign), A0 { 87 ConfigureISDP }, A1 { 88 StoreMetadata
 * ... }, [A2 { 87 ReplaceSessionKeys }], A3 { 86 ... } } and appends it to `bpp`. RSP_EINVAL for
 * missing or mis-sized parameters (segment sizes above the BSP limits included); crypto and
 * codec errors otherwise. On failure `bpp` is left as it was. */
int rsp_smdp_bpp_build(const struct rsp_smdp_bpp_params *p, struct rsp_buf *bpp);

/* serverSigned1 (§5.7.13) and serverSignature1 = ECDSA(SK.DPauth) over the serverSigned1 TLV.
 * `server_challenge` NULL: 16 random bytes (written to challenge_out when not NULL). Appends the
 * serverSigned1 TLV to `signed1`. */
int rsp_smdp_server_signed1_build(const uint8_t *transaction_id, size_t transaction_id_len,
                                  const uint8_t euicc_challenge[16], const char *server_address,
                                  const uint8_t *server_challenge, const struct rsp_key *sk_dpauth,
                                  struct rsp_buf *signed1, uint8_t signature1[RSP_ECDSA_SIG_LEN],
                                  uint8_t challenge_out[16]);

/* smdpSigned2 (§5.7.5) and smdpSignature2 = ECDSA(SK.DPpb) over smdpSigned2 || 5F3740 ||
 * euiccSignature1. `bpp_euicc_otpk` (65 bytes) may be NULL (no retry binding). Appends the
 * smdpSigned2 TLV to `signed2`. */
int rsp_smdp_smdp_signed2_build(const uint8_t *transaction_id, size_t transaction_id_len,
                                bool cc_required, const uint8_t *bpp_euicc_otpk,
                                const uint8_t euicc_signature1[RSP_ECDSA_SIG_LEN],
                                const struct rsp_key *sk_dppb, struct rsp_buf *signed2,
                                uint8_t signature2[RSP_ECDSA_SIG_LEN]);

#endif
