/* Test fixture for the software eUICC: an in-memory test PKI, the eUICC, and a test SM-DP+ + LPA
 * built from the codecs and the SM-DP+ procedure pieces (rsp/smdp_bpp.h). Used by the unit tests
 * (tests/unit/euicc) and, with fx_pki_load() and fx_set_transceive(), by the PC/SC end-to-end
 * client (tests/e2e/pcsc_install.c), which downloads into rsp-euicc through pcscd. */
#ifndef EUICC_FX_H
#define EUICC_FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/euicc.h"
#include "rsp/pki.h"
#include "rsp/sgp22.h"
#include "testutil.h"

#define FX_SMDP_ADDR  "testsmdpplus1.example.com"
#define FX_NOTIF_ADDR "notify.example.com"

/* Both curves, generated once per test program (fx_pki_get). A second, unrelated PKI stands for a
 * foreign CI. */
const struct rsp_pki *fx_pki(void);
const struct rsp_pki *fx_foreign_pki(void);
void fx_pki_free(void);
/* Makes fx_pki() the PKI that `rspctl pki init DIR` wrote: DIR/{nist,brp}/<role>.der and
 * <role>.key.pem (the DPtls role is not loaded). Both curve directories must exist. Asserts. */
void fx_pki_load(const char *dir);

/* An eUICC for set `set` (0 NIST, 1 brainpool) of fx_pki(); state_path may be NULL. */
struct rsp_euicc *fx_euicc(size_t set, const char *state_path, const struct rsp_euicc_faults *f);
/* Same, with a clock. */
struct rsp_euicc *fx_euicc_at(size_t set, const char *state_path, time_t now);

/* Route fx_cmd through another path (e.g. APDUs through the card front-end); NULL: direct. The
 * hook returns what rsp_euicc_process would (0, a status word or a negative RSP_E*). */
typedef int (*fx_transceive_fn)(void *ctx, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
void fx_set_transceive(fx_transceive_fn fn, void *ctx);

/* One command: returns the process return code; the response replaces resp's contents. */
int fx_cmd(struct rsp_euicc *e, const uint8_t *cmd, size_t len, struct rsp_buf *resp);
int fx_cmd_hex(struct rsp_euicc *e, const char *hex, struct rsp_buf *resp);

/* Serialised state (the caller frees). */
struct rsp_buf fx_state(struct rsp_euicc *e);
void fx_assert_state(struct rsp_euicc *e, const struct rsp_buf *before);
/* BF2D 00 response (the caller frees). */
struct rsp_buf fx_profiles(struct rsp_euicc *e);

/* How the test SM-DP+ misbehaves. */
struct fx_auth_opts {
    bool skip_challenge;
    bool bad_signature;
    bool wrong_challenge;
    int cert_role; /* 0: DPauth, else the enum rsp_pki_role to send as serverCertificate */
    bool foreign_ci;
    bool wrong_pkid;
};
struct fx_pd_opts {
    bool bad_signature;
    bool wrong_tid;
    int cert_role; /* 0: DPpb */
    bool foreign_ci;
    bool cc_required;
    bool with_hash_cc;
    const uint8_t *bpp_euicc_otpk;
};

struct fx_dl {
    size_t set;
    uint8_t tid[16];
    uint8_t challenge[16];
    uint8_t euicc_sig1[64];
    uint8_t otpk[65];
    int64_t auth_error; /* 0 ok, else authenticateErrorCode */
    int64_t pd_error;   /* 0 ok, else downloadErrorCode */
};

/* GetEUICCChallenge + AuthenticateServer. Asserts the response decodes; on success verifies
 * euiccSignature1 and the eUICC chain. */
void fx_authenticate(struct rsp_euicc *e, struct fx_dl *dl, const struct fx_auth_opts *o);
/* PrepareDownload after fx_authenticate. */
void fx_prepare(struct rsp_euicc *e, struct fx_dl *dl, const struct fx_pd_opts *o);

/* Profile to download. */
struct fx_profile {
    const char *iccid;     /* metadata ICCID */
    const char *upp_iccid; /* ICCID in the package (NULL: same) */
    const uint8_t *upp;    /* NULL: generated */
    size_t upp_len;
    const char *name;
    int profile_class; /* enum rsp_profile_class */
    uint32_t ppr;
};
void fx_metadata(const struct fx_profile *p, struct rsp_buf *out);
void fx_upp(const struct fx_profile *p, struct rsp_buf *out);
/* Builds the BPP for a prepared download. */
void fx_bpp(const struct fx_dl *dl, const struct fx_profile *p, bool two_layer,
            struct rsp_buf *bpp);

/* BPP split as an LPA does (§2.5.5). */
#define FX_MAX_SEGS 512
struct fx_segs {
    size_t n;
    const uint8_t *p[FX_MAX_SEGS];
    size_t len[FX_MAX_SEGS];
};
void fx_split(const struct rsp_buf *bpp, struct fx_segs *s);
/* Sends the segments; intermediate answers must be empty. Returns the rc of the last call and
 * leaves the last answer in resp; *sent = number of segments sent. */
int fx_send(struct rsp_euicc *e, const struct fx_segs *s, struct rsp_buf *resp, size_t *sent);

/* Asserts that sig (64 bytes r||s) over msg verifies with CERT.EUICC of set `set`. */
void fx_verify_euicc(size_t set, const uint8_t *msg, size_t n, const uint8_t *sig, size_t sig_len);

/* Decodes and verifies (euiccSignPIR) a PIR. */
void fx_pir(size_t set, const struct rsp_buf *resp, struct rsp_sgp22_pir *pir);

/* Full successful download; returns the PIR's ISD-P AID in aid (16 bytes). */
void fx_download(struct rsp_euicc *e, size_t set, const struct fx_profile *p, bool two_layer,
                 uint8_t aid[16]);

#endif
