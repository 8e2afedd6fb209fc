/* The software eUICC: an ES10a/ES10b/ES10c command processor (SGP.22 v2.2 §5.7) with an ISD-R,
 * ISD-P model, profile store and notification list, persisted in an optional state file.
 *
 * One ES10 command TLV in, one response TLV out: rsp_euicc_process() has the signature of the
 * card front-end's rsp_es10_handler (rsp/apdu_card.h), so it plugs in as
 *   opts.handle = rsp_euicc_process; opts.handle_ctx = euicc;
 * Protocol refusals (authenticateErrorCode, downloadErrorCode, a PIR errorResult, enableResult,
 * ...) are values in the response, never return codes. Status words are returned for what §5.7.2
 * and §5.7.6 say: 6A80 undecodable data, 6A88 unknown command or misplaced BPP segment, 6985 a BPP
 * segment without an RSP session.
 *
 * Security: CERT.DPauth / CERT.DPpb chains are verified against the configured CI certificates
 * at the configured clock; serverSignature1, smdpSignature2, smdpSign and every BPP segment MAC
 * are checked; a refused command changes no persistent state. Installation state lives in a
 * pending-session object until the last segment is processed and the profile is committed.
 *
 * Persistence: when a state path is configured, the whole state (profiles, notifications,
 * counters, default SM-DP+ address, the one-time key kept for a download retry) is written
 * atomically (temporary file, fsync, rename) after every change and loaded by rsp_euicc_new().
 * The file holds the kept otSK.EUICC.ECKA in clear: protect it like a key file.
 */
#ifndef RSP_EUICC_H
#define RSP_EUICC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rsp/buf.h"

#define RSP_EUICC_MAX_CI       4  /* trusted CI certificates */
#define RSP_EUICC_MAX_PROFILES 32 /* installed profiles (= RSP_ES10_MAX_PROFILES) */
#define RSP_EUICC_MAX_NOTIFS   32 /* pending notifications (oldest dropped beyond) */
#define RSP_EUICC_DETAIL_SZ    256

/* A byte string the caller owns (only read during rsp_euicc_new). */
struct rsp_euicc_blob {
    const uint8_t *p;
    size_t len;
};

/* Fault injection for tests of the LPA and of recovery. Segment numbers count the
 * ES10b.LoadBoundProfilePackage commands of one download from 1 (1 = BF36 header + BF23). */
struct rsp_euicc_faults {
    unsigned fail_at_segment; /* 0: off; else answer that segment with a PIR errorResult */
    int fail_reason;          /* its errorReason (enum rsp_sgp22_error_reason); 0 means 127 */
    /* 0: off; else segments 1..N-1 are answered and power is lost while segment N is processed:
     * it and every later command fail with RSP_EIO, nothing of the download is committed (the
     * state file keeps what it had before segment 1, the kept otSK included). */
    unsigned tear_at_segment;
    bool insufficient_memory; /* refuse installations with insufficientMemory (10) */
    unsigned delay_ms;        /* sleep this long before answering each command */
    /* branch faults: 1 or 2: euiccSignature1 (AuthenticateServer) or euiccSignature2
     * (PrepareDownload) is sent with one bit flipped (hostile-input tests of the SM-DP+) */
    unsigned bad_signature;
};

/* TEST ONLY: replays a recorded download whose one-time private key is not known. Production code
 * never sets this (rsp-euicc has no option for it; leave rsp_euicc_config.test_hooks NULL).
 *
 * A recorded session can only be replayed if the eUICC answers as the recorded one did, which it
 * cannot: euiccSignature1 is a randomised ECDSA signature (over our own EUICCInfo2 too), so the
 * recorded smdpSignature2, which covers the recorded euiccSignature1, never verifies against a
 * fresh one; and otSK.EUICC.ECKA of the recording is lost, only otPK and the ECKA result Z are
 * known. Each field left NULL keeps the normal behaviour:
 * - euicc_sig1: after AuthenticateServer, the session remembers this euiccSignature1 instead of the
 *   one it produced (the response still carries the real one), so PrepareDownload checks
 *   smdpSignature2 against the recording: the session reaches the post-PrepareDownload state;
 * - otpk + z (both or neither): PrepareDownload answers with this otPK.EUICC.ECKA (no key is
 *   generated, the kept retry key is left alone) and InitialiseSecureChannel of the same session
 *   uses Z as the shared secret instead of running ECKA (smdpSign is still verified, over otpk). */
struct rsp_euicc_test_hooks {
    const uint8_t *euicc_sig1; /* 64 bytes r||s */
    const uint8_t *otpk;       /* 65 bytes, uncompressed point */
    const uint8_t *z;          /* RSP_ECKA_Z_LEN (32) bytes */
};

struct rsp_euicc_config {
    /* Identity and credentials (DER or PEM certificates; PKCS#8 / SEC1 key). */
    struct rsp_euicc_blob sk_euicc;   /* SK.EUICC.ECDSA */
    struct rsp_euicc_blob cert_euicc; /* CERT.EUICC.ECDSA */
    struct rsp_euicc_blob cert_eum;   /* CERT.EUM.ECDSA */
    const char *eid;                  /* 32 digits; NULL: the serialNumber of CERT.EUICC */
    /* Trusted CI certificates: their SKIs form euiccCiPKIdListForVerification. The signing list
     * (euiccCiPKIdListForSigning) is the AKI of CERT.EUM (the CI our credentials chain to). */
    struct rsp_euicc_blob ci[RSP_EUICC_MAX_CI];
    size_t n_ci;
    /* EUICCInfo2 parameters; zeros mean defaults (svn 2.2.0, SAIP 2.3.0, firmware 1.0.0). */
    uint8_t svn[3];
    uint8_t profile_version[3];
    uint8_t firmware_version[3];
    size_t nvm_bytes;        /* installable bytes; 0: 1 MiB */
    uint32_t rsp_capability; /* enum rsp_rsp_capability bits; 0: additionalProfile+testProfile */
    const char *default_dp;  /* initial default SM-DP+ address (NULL: none) */
    const char *root_ds;     /* root SM-DS address (NULL: lpa.ds.gsma.com) */
    const char *state_path;  /* NULL: state kept in memory only */
    /* Clock used for certificate validity; NULL: time(NULL). */
    time_t (*clock)(void *ctx);
    void *clock_ctx;
    /* Tests only: every GetEUICCChallenge answers this challenge (NULL: random). */
    const uint8_t *fixed_challenge;
    struct rsp_euicc_faults faults;
    /* TEST ONLY (see struct rsp_euicc_test_hooks): NULL in production. */
    const struct rsp_euicc_test_hooks *test_hooks;
};

struct rsp_euicc;

/* Creates the eUICC, loading the state file when it exists (a missing file is an empty eUICC).
 * Errors: RSP_EINVAL (bad config), RSP_EKEY / RSP_ECERT (credentials), RSP_EIO (unreadable state
 * file), RSP_ESYNTAX (corrupt state file: never partially loaded). `detail` (may be NULL) gets a
 * one-line reason. */
int rsp_euicc_new(const struct rsp_euicc_config *cfg, struct rsp_euicc **out, char *detail,
                  size_t detail_len);
void rsp_euicc_free(struct rsp_euicc *e);

/* Answers one ES10 command (an rsp_es10_handler: `euicc` is a struct rsp_euicc *). Returns 0 with
 * the response appended to `resp` (possibly nothing: an intermediate BPP segment), a status word
 * (0x6A80, 0x6A88, 0x6985) for a refusal without data, or a negative RSP_E* on internal failure
 * (RSP_EIO after a simulated tear or when the state file cannot be written). */
int rsp_euicc_process(void *euicc, const uint8_t *cmd, size_t len, struct rsp_buf *resp);

/* The persistent state in its file form (deterministic: equal states give equal bytes). */
int rsp_euicc_state_serialize(const struct rsp_euicc *e, struct rsp_buf *out);
/* Parses a fault specification for programs (rsp-euicc serve --fault, rsp-lpa --euicc-fault):
 * comma-separated "tear-at-segment=N", "fail-at-segment=N", "fail-reason=R" (PIR errorReason,
 * 1..127), "insufficient-memory", "delay-ms=N", added to *f. RSP_ESYNTAX with err naming the
 * item; *f is unchanged then. */
int rsp_euicc_faults_parse(const char *spec, struct rsp_euicc_faults *f, char *err, size_t err_len);
/* Replaces the fault-injection settings (tests). */
void rsp_euicc_set_faults(struct rsp_euicc *e, const struct rsp_euicc_faults *f);
/* TEST ONLY: replaces the test hooks (NULL: none), effective from the next command. */
void rsp_euicc_set_test_hooks(struct rsp_euicc *e, const struct rsp_euicc_test_hooks *h);
/* True once a simulated tear happened. */
bool rsp_euicc_torn(const struct rsp_euicc *e);
/* Power cycle (the card loses power and comes back): the volatile download session is discarded,
 * a tear is over (the state is what the last commit left, which is also what the state file
 * holds) and the one-shot tear fault is cleared so that the next download can succeed. Profiles,
 * notifications and the kept otSK stay. */
void rsp_euicc_power_cycle(struct rsp_euicc *e);
/* Replaces the whole persistent state by a state image (rsp_euicc_state_serialize form) and
 * discards the session, as loading the state file at creation does; the file is not written.
 * RSP_ESYNTAX (detail says why) leaves an empty state. */
int rsp_euicc_state_load(struct rsp_euicc *e, const uint8_t *p, size_t n, char *detail,
                         size_t detail_len);

/* Credentials of a software eUICC as `rspctl pki init DIR` writes them: DIR/<curve>/
 * euicc.key.pem, euicc.der, eum.der and ci.der (the CI of the other curve is trusted too when
 * present). Reading files is for programs and tests (src/euicc/pki_dir.c), never for lib/. */
struct rsp_euicc_pki_files {
    struct rsp_buf key, euicc, eum, ci[2];
    size_t n_ci;
};
/* 0, or RSP_ENOTFOUND / RSP_EIO / RSP_ERANGE naming the file in `detail`. */
int rsp_euicc_pki_files_load(const char *dir, const char *curve, struct rsp_euicc_pki_files *out,
                             char *detail, size_t detail_len);
/* Points the credential blobs of cfg at the files (which must outlive cfg's use). */
void rsp_euicc_pki_files_apply(const struct rsp_euicc_pki_files *f, struct rsp_euicc_config *cfg);
void rsp_euicc_pki_files_free(struct rsp_euicc_pki_files *f);

#endif
