/* ES9+ client of the LPA (SGP.22 §6.5 HTTP/JSON binding; sgp22-notes §2) on libcurl.
 *
 * - POST https://HOST/gsma/rsp2/es9plus/<function> with Content-Type application/json and
 *   X-Admin-Protocol gsma/rsp/v2.x. HOST may carry ":port".
 * - TLS: the server chain is verified against the RSP CI certificates given in the options
 *   (ca_file / ca_path), never against the operating system's store; the host name is checked;
 *   an optional public key pin is applied. `insecure_tls` switches all of that off (labs only).
 * - One CURL handle per client: connections are kept alive and reused between calls.
 * - Every exchange ends in a classified outcome (struct rsp_es9p_outcome): success, a refusal by
 *   the SM-DP+ (functionExecutionStatus Failed/Expired, with its subject/reason code and
 *   message), an HTTP error, a body that is not the expected JSON, a TLS failure (expired
 *   certificate, unknown CA, host name mismatch, pin mismatch) or a network failure. Only network
 *   failures are retried (opts.retries).
 */
#ifndef RSP_ES9P_CLIENT_H
#define RSP_ES9P_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/es9p_json.h"

struct rsp_es9p_client_opts {
    const char *ca_file;        /* PEM bundle of trusted RSP CI certificates */
    const char *ca_path;        /* or an OpenSSL hashed directory of them */
    const char *pinned_pubkey;  /* NULL, a PEM/DER public key file or "sha256//base64;..." */
    bool insecure_tls;          /* no chain, host name or pin check (labs only) */
    bool plain_http;            /* http:// instead of https:// (tests, local labs) */
    const char *resolve;        /* NULL or "HOST:PORT:ADDRESS" (CURLOPT_RESOLVE) */
    long connect_timeout_ms;    /* 0: 10 s */
    long timeout_ms;            /* whole exchange; 0: 60 s */
    unsigned retries;           /* extra attempts after a network failure; 0: none */
    unsigned retry_delay_ms;    /* 0: 1000 ms, doubled after each attempt */
    const char *admin_protocol; /* NULL: RSP_ADMIN_PROTOCOL */
    /* NULL or "HOST:PORT:CONNECT_HOST:CONNECT_PORT" (CURLOPT_CONNECT_TO): connections for
     * HOST:PORT go to CONNECT_HOST:CONNECT_PORT (an impairment proxy) while the URL, the TLS
     * host name check and the ES9+ addresses stay HOST:PORT. */
    const char *connect_to;
};

enum rsp_es9p_kind {
    RSP_ES9P_OK = 0,        /* Executed-Success or Executed-WithWarning (or 204 where allowed) */
    RSP_ES9P_REFUSED,       /* the SM-DP+ answered Failed or Expired: see status */
    RSP_ES9P_HTTP_ERROR,    /* an HTTP status other than 200/204 */
    RSP_ES9P_BAD_BODY,      /* not JSON, or JSON without the expected fields */
    RSP_ES9P_TLS_ERROR,     /* see tls */
    RSP_ES9P_NETWORK_ERROR, /* could not connect / timed out / connection dropped (retryable) */
};

enum rsp_es9p_tls {
    RSP_ES9P_TLS_NONE = 0,
    RSP_ES9P_TLS_EXPIRED,       /* a certificate of the server chain is expired / not yet valid */
    RSP_ES9P_TLS_UNKNOWN_CA,    /* the chain does not lead to a configured RSP CI */
    RSP_ES9P_TLS_HOST_MISMATCH, /* the certificate does not name the host */
    RSP_ES9P_TLS_PIN_MISMATCH,  /* the server key is not the pinned one */
    RSP_ES9P_TLS_OTHER,         /* handshake failure, bad CA file, ... */
};

struct rsp_es9p_outcome {
    enum rsp_es9p_kind kind;
    enum rsp_es9p_tls tls;
    long http_status;                 /* 0 when no HTTP answer */
    int curl_code;                    /* CURLcode of the last attempt */
    long verify_result;               /* X509_V_* of the last attempt */
    bool retryable;                   /* kind == NETWORK_ERROR */
    unsigned attempts;                /* attempts made */
    struct rsp_es_exec_status status; /* the functionExecutionStatus when one was decoded */
    char message[256];                /* one line for humans */
};

struct rsp_es9p_client;

/* RSP_EINVAL when neither ca_file, ca_path nor insecure_tls/plain_http is given (the OS store
 * is never a fallback); RSP_ENOMEM. */
int rsp_es9p_client_new(const struct rsp_es9p_client_opts *opts, struct rsp_es9p_client **out);
void rsp_es9p_client_free(struct rsp_es9p_client *c);

/* One POST of a JSON body to function `fn` at `host`. The answer body replaces `resp_body`
 * (NUL-terminated, the terminator not counted). Returns 0 when an HTTP answer came back (then
 * oc->kind is OK, REFUSED, HTTP_ERROR or BAD_BODY after looking at the envelope), RSP_EIO for a
 * TLS or network failure (oc says which), RSP_EINVAL / RSP_ENOMEM. */
int rsp_es9p_post(struct rsp_es9p_client *c, const char *host, const char *fn, const char *body,
                  size_t body_len, struct rsp_buf *resp_body, struct rsp_es9p_outcome *oc);

/* A typed call: encodes `req`, posts it to the function req->fn, decodes the answer into `resp`
 * (free it with rsp_es9_response_free in every case). Returns 0 when oc->kind is RSP_ES9P_OK, else
 * a negative RSP_E* with oc describing the outcome (RSP_ESTATE for a refusal, RSP_EIO for HTTP,
 * TLS and network failures, RSP_ESYNTAX for a bad body). handleNotification accepts 204. */
int rsp_es9p_call(struct rsp_es9p_client *c, const char *host, const struct rsp_es9_request *req,
                  struct rsp_es9_response *resp, struct rsp_es9p_outcome *oc);

/* Number of TCP connections the client opened so far (all attempts, all calls). */
long rsp_es9p_client_connections(const struct rsp_es9p_client *c);

const char *rsp_es9p_kind_name(enum rsp_es9p_kind k);

/* ---- profile download (lpa_download.c): ES10 + ES9+ ---- */

struct rsp_es10;

/* Progress: step names "challenge", "initiateAuthentication", "authenticateServer",
 * "authenticateClient", "prepareDownload", "getBoundProfilePackage", "loadBoundProfilePackage",
 * "handleNotification", "cancelSession"; index/n for the BPP segments (0 otherwise). */
typedef void (*rsp_lpa_event_fn)(void *ctx, const char *step, size_t index, size_t n);

struct rsp_lpa_download_opts {
    const char *smdp_address;      /* host[:port] (from the activation code or -s) */
    const char *matching_id;       /* NULL or "" for none */
    const char *confirmation_code; /* NULL: none (a session that requires one is cancelled) */
    uint8_t tac[4];                /* device TAC */
    bool has_imei;
    uint8_t imei[8];
    rsp_lpa_event_fn event;
    void *event_ctx;
    /* Recovery hooks (rsp_lpa_run, rsp/lpa_attempt.h); each may be NULL. */
    /* Before getBoundProfilePackage, the heavy step: non-zero defers it (the session is cancelled
     * with reason postponed, the result is RSP_LPA_DL_DEFERRED). */
    int (*before_heavy)(void *ctx, const char *step);
    /* The bound profile package as received, before any segment is sent (persist it): non-zero
     * stops the download (RSP_LPA_DL_OTHER; the eUICC session is left as it is). */
    int (*on_bpp)(void *ctx, const struct rsp_tid *tid, const uint8_t *bpp, size_t len,
                  size_t segments);
    /* Before segment `index` (1-based, of n) is sent (done false) and once the eUICC took it
     * (done true); the PIR-bearing last segment gets no done call. */
    void (*on_segment)(void *ctx, size_t index, size_t n, bool done);
    void *hook_ctx;
};

enum rsp_lpa_dl_kind {
    RSP_LPA_DL_OK = 0,
    RSP_LPA_DL_EUICC_REFUSED, /* code: authenticateErrorCode, downloadErrorCode, PIR
                                 errorReason or status word */
    RSP_LPA_DL_SMDP_REFUSED,  /* es9.status */
    RSP_LPA_DL_NETWORK,       /* es9 (network failure after retries) */
    RSP_LPA_DL_TLS,           /* es9.tls */
    RSP_LPA_DL_CC_REQUIRED,   /* the SM-DP+ wants a confirmation code; session cancelled */
    RSP_LPA_DL_OTHER,
    RSP_LPA_DL_EUICC_IO,     /* the eUICC stopped answering (reset, power loss, removed):
                                code is the status word or 0 */
    RSP_LPA_DL_DEFERRED,     /* before_heavy said wait: session cancelled (postponed) */
    RSP_LPA_DL_SESSION_LOST, /* resume: the eUICC no longer holds the session (6985) */
};

/* What the end user was shown and consented to: the profileMetadata of authenticateClient. The
 * installed profile is checked against it (rsp_lpa_verify_installed) before it may be enabled. */
struct rsp_lpa_expected {
    bool known;
    uint8_t iccid[10]; /* EF.ICCID form, as in StoreMetadataRequest */
    int profile_class; /* enum rsp_profile_class (operational when absent) */
    char spn[33];      /* serviceProviderName, 0..32 bytes */
    char name[65];     /* profileName, 0..64 bytes */
    bool has_owner;
    uint8_t owner_mcc_mnc[3];
};

struct rsp_lpa_download_result {
    enum rsp_lpa_dl_kind kind;
    const char *step; /* where it stopped */
    long code;
    struct rsp_es9p_outcome es9;
    char iccid[21];                   /* from the profile metadata, when known */
    uint8_t aid[16];                  /* ISD-P AID on success */
    struct rsp_lpa_expected expected; /* from the profile metadata, when known */
    bool notification_sent;
    struct rsp_tid tid; /* the ES9+ session (tid.len 0 before initiateAuthentication answered) */
    bool session_open;  /* the eUICC holds that session (AuthenticateServer done, no PIR, no
                           CancelSession): a CancelSession for it can be signed */
    char message[256];
};

/* Runs one download. Returns 0 when the profile is installed (result->kind RSP_LPA_DL_OK), else a
 * negative RSP_E* with result saying why. */
int rsp_lpa_download(struct rsp_es10 *s, struct rsp_es9p_client *c,
                     const struct rsp_lpa_download_opts *o, struct rsp_lpa_download_result *result);
/* Resumes a download whose BPP (transaction `tid`) was fetched and whose first `acked` segments
 * the eUICC took in an earlier run (rsp_lpa_download's on_bpp / on_segment): sends the rest, then
 * the PIR to the SM-DP+, as rsp_lpa_download does. RSP_LPA_DL_SESSION_LOST when the eUICC no
 * longer has that session (it was reset): then only a new download (the retry path) helps. */
int rsp_lpa_download_resume(struct rsp_es10 *s, struct rsp_es9p_client *c,
                            const struct rsp_lpa_download_opts *o, const struct rsp_tid *tid,
                            const uint8_t *bpp, size_t len, size_t acked,
                            struct rsp_lpa_download_result *result);

/* Local verification (Stage 3): the profile installed at `aid` must exist, be disabled, and carry
 * exactly the ICCID, class, service provider name, profile name and owner (MCC/MNC) the user
 * consented to. 0 if it does; RSP_EVERIFY with `why` naming the first difference; other negatives
 * for ES10 failures. */
int rsp_lpa_verify_installed(struct rsp_es10 *s, const struct rsp_lpa_expected *e,
                             const uint8_t aid[16], char *why, size_t why_len);

#endif
