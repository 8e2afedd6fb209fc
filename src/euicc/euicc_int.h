/* Software eUICC internals shared by euicc.c, es10a.c, es10b.c, es10c.c, install.c, state.c. */
#ifndef RSP_EUICC_INT_H
#define RSP_EUICC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/cert.h"
#include "rsp/crypto.h"
#include "rsp/euicc.h"
#include "rsp/sgp22.h"

#define EUICC_ADDR_MAX 255
#define EUICC_OID_MAX  64

/* An installed profile (ISD-P). The StoreMetadata TLV is kept as received: ProfileInfo fields
 * (SPN, name, class, icon, owner, notification configuration, PPRs) are decoded from it. */
struct euicc_profile {
    struct rsp_iccid iccid;
    uint8_t aid[16];
    int state; /* enum rsp_es10_profile_state */
    bool has_nickname;
    uint8_t nickname[RSP_ES10_NICKNAME_MAX];
    size_t nickname_len;
    struct rsp_buf metadata; /* BF25 */
    char imsi[16];           /* "" when the package has none */
    uint8_t upp_hash[RSP_SHA256_LEN];
    uint64_t upp_len;
    uint8_t dp_oid[EUICC_OID_MAX]; /* OID contents of the installing SM-DP+ (CERT.DPpb) */
    size_t dp_oid_len;
};

/* A pending notification: a ProfileInstallationResult (BF37) or an OtherSignedNotification (30). */
struct euicc_notif {
    uint64_t seq;
    uint32_t pmo;
    struct rsp_buf pending; /* the whole PendingNotification TLV */
};

/* Download session (§3.0.1 / §5.7.7: one RSP session at a time). Transitions only through
 * es10b_session_goto() (es10b.c), which checks them against one table. */
enum es10b_session_state {
    SESS_NONE = 0,          /* no RSP session */
    SESS_CHALLENGED,        /* GetEUICCChallenge answered */
    SESS_AUTHENTICATED,     /* AuthenticateServer accepted */
    SESS_PREPARED,          /* PrepareDownload accepted: otSK attached */
    SESS_BPP_SECURED,       /* BF36 header + BF23 processed: session keys */
    SESS_BPP_CONFIGURED,    /* A0: ConfigureISDP processed */
    SESS_BPP_METADATA,      /* A1 header seen, 88 segments (StoreMetadata) being received */
    SESS_BPP_METADATA_DONE, /* A1 complete, metadata accepted */
    SESS_BPP_PPK,           /* A2: ReplaceSessionKeys processed */
    SESS_BPP_LOADING,       /* A3 header seen, 86 segments being received */
    SESS_NSTATES
};

struct euicc_session {
    enum es10b_session_state st;
    uint8_t challenge[16];
    uint8_t tid[RSP_TID_MAX];
    size_t tid_len;
    char server_address[EUICC_ADDR_MAX + 1];
    uint8_t euicc_sig1[RSP_ECDSA_SIG_LEN];
    int ci_index; /* CI that verified CERT.DPauth */
    char dpauth_oid[EUICC_OID_MAX];
    /* PrepareDownload */
    uint8_t dp_oid[EUICC_OID_MAX]; /* CERT.DPpb SM-DP+ OID contents (for PIR and cancel) */
    size_t dp_oid_len;
    /* otSK.EUICC.ECKA of the session is always e->kept_otsk (kept for a retry until a PIR or
     * a cancel that ends the order); otpk is its public point. */
    uint8_t otpk[RSP_EC_POINT_LEN];
    struct rsp_key *dppb_pub; /* PK.DPpb.ECDSA (verifies smdpSign) */
    bool hooked_otpk;         /* TEST ONLY: otpk is the test hook's, Z comes from the hook */
    /* BPP (pending installation: nothing of it is visible before the commit) */
    unsigned seg_no;  /* LoadBPP commands received so far */
    size_t bf36_left; /* bytes of the BF36 value still to come */
    size_t a1_left, a3_left;
    struct rsp_bsp bsp;
    struct rsp_buf metadata; /* StoreMetadata plaintext (BF25) */
    bool metadata_ok;
    struct rsp_buf upp; /* profile package plaintext */
    size_t nvm_needed;
};

struct rsp_euicc {
    /* configuration */
    struct rsp_key *sk;
    struct rsp_cert *cert_euicc, *cert_eum;
    struct rsp_cert *ci[RSP_EUICC_MAX_CI];
    size_t n_ci;
    uint8_t ci_ski[RSP_EUICC_MAX_CI][RSP_KEYID_LEN];
    uint8_t sign_pkid[RSP_KEYID_LEN];
    struct rsp_eid eid;
    uint8_t svn[3], profile_version[3], firmware_version[3];
    size_t nvm_bytes;
    uint32_t rsp_capability;
    char initial_default_dp[EUICC_ADDR_MAX + 1];
    char root_ds[EUICC_ADDR_MAX + 1];
    char *state_path;
    time_t (*clock)(void *ctx);
    void *clock_ctx;
    bool has_fixed_challenge;
    uint8_t fixed_challenge[16];
    struct rsp_euicc_faults faults;
    bool torn;
    /* TEST ONLY (struct rsp_euicc_test_hooks, copied): all false in production */
    bool hook_sig1, hook_otpk;
    uint8_t hook_euicc_sig1[RSP_ECDSA_SIG_LEN];
    uint8_t hook_otpk_pt[RSP_EC_POINT_LEN];
    uint8_t hook_z[RSP_ECKA_Z_LEN];

    /* persistent state */
    struct euicc_profile profiles[RSP_EUICC_MAX_PROFILES];
    size_t n_profiles;
    struct euicc_notif notifs[RSP_EUICC_MAX_NOTIFS];
    size_t n_notifs;
    uint64_t next_seq;
    uint32_t next_aid;
    char default_dp[EUICC_ADDR_MAX + 1];
    struct rsp_key *kept_otsk; /* one-time key kept for a download retry (§5.7.5) */
    uint8_t kept_otpk[RSP_EC_POINT_LEN];
    uint8_t kept_dp_oid[EUICC_OID_MAX];
    size_t kept_dp_oid_len;

    /* volatile */
    struct euicc_session sess;
};

/* euicc.c */
time_t euicc_now(const struct rsp_euicc *e);
/* Writes the state file (no-op without a path). */
int euicc_save(struct rsp_euicc *e);
/* Appends a PendingNotification TLV to the list (dropping the oldest when full). Takes the
 * seq number from e->next_seq (the caller encoded it). */
int euicc_notif_add(struct rsp_euicc *e, uint64_t seq, uint32_t pmo, const uint8_t *p, size_t n);
void euicc_profile_clear(struct euicc_profile *p);
struct euicc_profile *euicc_profile_by_iccid(struct rsp_euicc *e, const struct rsp_iccid *iccid);
struct euicc_profile *euicc_profile_by_id(struct rsp_euicc *e,
                                          const struct rsp_es10_profile_id *id);
/* Drops the kept retry key (in memory; the caller saves). */
void euicc_drop_kept_key(struct rsp_euicc *e);
/* The certificate's DER as a parsed TLV (for the euiccCertificate / eumCertificate fields). */
int euicc_cert_tlv(const struct rsp_cert *c, struct rsp_tlv *t);

/* es10a.c (§5.7.3, §5.7.4) */
int es10a_get_configured_addresses(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                   struct rsp_buf *resp);
int es10a_set_default_dp_address(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                 struct rsp_buf *resp);

/* es10b.c */
void es10b_session_goto(struct rsp_euicc *e, enum es10b_session_state to);
void es10b_session_discard(struct rsp_euicc *e);
int es10b_get_euicc_challenge(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp);
int es10b_get_euicc_info1(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                          struct rsp_buf *resp);
int es10b_get_euicc_info2(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                          struct rsp_buf *resp);
int es10b_euicc_info2_encode(const struct rsp_euicc *e, struct rsp_buf *out);
int es10b_authenticate_server(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp);
int es10b_prepare_download(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                           struct rsp_buf *resp);
int es10b_cancel_session(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int es10b_list_notification(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                            struct rsp_buf *resp);
int es10b_retrieve_notifications(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                                 struct rsp_buf *resp);
int es10b_remove_notification(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                              struct rsp_buf *resp);
int es10b_get_rat(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
/* Signs and queues an OtherSignedNotification for `pmo` about profile p to every address its
 * metadata configures for that event (§5.7.16-18, §2.4a). In memory; the caller saves. */
int es10b_queue_other_notification(struct rsp_euicc *e, const struct euicc_profile *p,
                                   uint32_t pmo);

/* install.c: ES10b.LoadBoundProfilePackage (§5.7.6, §2.5.5 segments, §5.5 ES8+ functions) */
bool install_is_bpp_tag(uint32_t tag);
int install_load_bpp(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);

/* es10c.c */
int es10c_get_profiles_info(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                            struct rsp_buf *resp);
int es10c_enable_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int es10c_disable_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len,
                          struct rsp_buf *resp);
int es10c_delete_profile(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int es10c_memory_reset(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int es10c_get_eid(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int es10c_set_nickname(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);

/* state.c */
int state_serialize(const struct rsp_euicc *e, struct rsp_buf *out);
/* Parses a state image into e (which must hold no state yet). On failure e's state is cleared. */
int state_parse(struct rsp_euicc *e, const uint8_t *p, size_t n, char *detail, size_t detail_len);
/* Drops every profile, notification and the kept key (default address kept). */
void state_clear(struct rsp_euicc *e);
int state_write_file(const char *path, const uint8_t *p, size_t n);
/* 0 and the bytes, RSP_ENOTFOUND if the file does not exist, RSP_EIO otherwise. */
int state_read_file(const char *path, struct rsp_buf *out);

#endif
