/* ES9+ test fixture: store on a temp SQLite file, handlers configured with the fx PKI, a profile
 * Released with a matchingId, and an in-process LPA driving the software eUICC. */
#ifndef ES9P_FX_H
#define ES9P_FX_H

#include "euicc_fx.h"
#include "rsp/es9p.h"
#include "rsp/store.h"

#define EF_ICCID "8949449999999990023"
#define EF_MID   "MATCHING-1"

struct ef {
    size_t set;
    struct rsp_store *st;
    struct rsp_es9p_creds creds[2];
    struct rsp_cert *certs[2][4]; /* ci, dpauth, dppb, (unused) */
    struct rsp_key *keys[2][2];
    struct rsp_es9p_config cfg;
    struct rsp_euicc *e;
    char db[512];
    /* current download */
    struct rsp_tid tid;
    struct rsp_buf auth_server_resp; /* BF38 from the eUICC */
    struct rsp_buf pd_resp;          /* BF21 from the eUICC */
    struct rsp_buf bpp;
    struct rsp_buf pir;
    bool tamper_sig1; /* ef_authenticate flips a bit of euiccSignature1 */
    /* ef_authenticate sends these certificates (DER) instead of the eUICC's; NULL: unchanged */
    const struct rsp_buf *swap_euicc_cert, *swap_eum_cert;
    /* When set, every ES9+ call goes as JSON through it: POSTs `json` to the function `name`,
     * fills `body`, returns the HTTP status. */
    int (*post)(void *ctx, const char *name, const struct rsp_buf *json, struct rsp_buf *body);
    void *post_ctx;
};

/* Opens everything for curve set `set`, with the profile inserted Released. */
void ef_open(struct ef *f, size_t set);
void ef_close(struct ef *f);
void ef_insert_profile(struct ef *f, const char *iccid, const char *mid, const char *eid);
/* Same, in another inventory state. */
void ef_insert_profile_in(struct ef *f, const char *iccid, const char *mid, const char *eid,
                          enum rsp_profile_state state);

/* Steps (each asserts Executed-Success unless `expect` is non-NULL "subject/reason"). */
void ef_initiate(struct ef *f, const char *expect);
void ef_authenticate(struct ef *f, const char *mid, const char *expect);
void ef_prepare_and_get(struct ef *f, const char *cc, const char *expect);
void ef_install(struct ef *f);
void ef_notify(struct ef *f);
/* ES10b CancelSession on the eUICC for f->tid, then ES9+ cancelSession with its answer. */
void ef_cancel(struct ef *f, int64_t reason, const char *expect);
void ef_cancel_with(struct ef *f, const struct rsp_buf *euicc_resp, const char *expect);
void ef_assert_refused(const struct rsp_es9_response *r, const char *expect);

int ef_profile_state(struct ef *f, const char *iccid);
enum rsp_session_state ef_session_state(struct ef *f, const struct rsp_tid *tid);

#endif
