/* A uniform view of every codec of rsp/sgp22_auth.h (name, decode, encode), shared by the unit
 * tests and the fuzz target so that a codec added to the library is added to both in one place.
 * Header-only: the table is static in each user. */
#ifndef RSP_TEST_SGP22_CODECS_H
#define RSP_TEST_SGP22_CODECS_H

#include <stddef.h>
#include <stdint.h>

#include "rsp/buf.h"
#include "rsp/sgp22_auth.h"

typedef int (*sgp22_dec_fn)(const uint8_t *, size_t, void *);
typedef int (*sgp22_enc_fn)(const void *, struct rsp_buf *);

#define SGP22_CODEC(name, T)                                                                       \
    static int dec_##name(const uint8_t *p, size_t n, void *o)                                     \
    {                                                                                              \
        return rsp_sgp22_##name##_decode(p, n, (T *)o);                                            \
    }                                                                                              \
    static int enc_##name(const void *o, struct rsp_buf *b)                                        \
    {                                                                                              \
        return rsp_sgp22_##name##_encode((const T *)o, b);                                         \
    }

SGP22_CODEC(server_signed1, struct rsp_sgp22_server_signed1)
SGP22_CODEC(ctx_params1, struct rsp_sgp22_ctx_params1)
SGP22_CODEC(euicc_signed1, struct rsp_sgp22_euicc_signed1)
SGP22_CODEC(authenticate_server_request, struct rsp_sgp22_authenticate_server_request)
SGP22_CODEC(authenticate_server_response, struct rsp_sgp22_authenticate_server_response)
SGP22_CODEC(smdp_signed2, struct rsp_sgp22_smdp_signed2)
SGP22_CODEC(prepare_download_request, struct rsp_sgp22_prepare_download_request)
SGP22_CODEC(euicc_signed2, struct rsp_sgp22_euicc_signed2)
SGP22_CODEC(prepare_download_response, struct rsp_sgp22_prepare_download_response)
SGP22_CODEC(store_metadata_request, struct rsp_sgp22_store_metadata_request)
SGP22_CODEC(init_secure_channel, struct rsp_sgp22_init_secure_channel)
SGP22_CODEC(configure_isdp_request, struct rsp_sgp22_configure_isdp_request)
SGP22_CODEC(replace_session_keys_request, struct rsp_sgp22_replace_session_keys_request)
SGP22_CODEC(pir_data, struct rsp_sgp22_pir_data)
SGP22_CODEC(pir, struct rsp_sgp22_pir)
SGP22_CODEC(notification_metadata, struct rsp_sgp22_notification_metadata)
SGP22_CODEC(other_signed_notification, struct rsp_sgp22_other_signed_notification)
SGP22_CODEC(pending_notification, struct rsp_sgp22_pending_notification)
SGP22_CODEC(cancel_session_request, struct rsp_sgp22_cancel_session_request)
SGP22_CODEC(euicc_cancel_session_signed, struct rsp_sgp22_euicc_cancel_session_signed)
SGP22_CODEC(cancel_session_response, struct rsp_sgp22_cancel_session_response)

static int dec_bpp(const uint8_t *p, size_t n, void *o)
{
    return rsp_sgp22_bpp_decode(p, n, (struct rsp_sgp22_bpp *)o);
}

struct sgp22_codec {
    const char *name;
    sgp22_dec_fn dec;
    sgp22_enc_fn enc; /* NULL: no struct encoder (the BPP is encoded from parts) */
};

#define SGP22_C(n)                                                                                 \
    {                                                                                              \
#n, dec_##n, enc_##n                                                                       \
    }
static const struct sgp22_codec sgp22_codecs[] = {
    SGP22_C(server_signed1),
    SGP22_C(ctx_params1),
    SGP22_C(euicc_signed1),
    SGP22_C(authenticate_server_request),
    SGP22_C(authenticate_server_response),
    SGP22_C(smdp_signed2),
    SGP22_C(prepare_download_request),
    SGP22_C(euicc_signed2),
    SGP22_C(prepare_download_response),
    SGP22_C(store_metadata_request),
    SGP22_C(init_secure_channel),
    SGP22_C(configure_isdp_request),
    SGP22_C(replace_session_keys_request),
    SGP22_C(pir_data),
    SGP22_C(pir),
    SGP22_C(notification_metadata),
    SGP22_C(other_signed_notification),
    SGP22_C(pending_notification),
    SGP22_C(cancel_session_request),
    SGP22_C(euicc_cancel_session_signed),
    SGP22_C(cancel_session_response),
    {"bpp", dec_bpp, NULL},
};
#define SGP22_N_CODECS (sizeof sgp22_codecs / sizeof sgp22_codecs[0])

/* Large enough for any of the decoded structs. */
union sgp22_any {
    struct rsp_sgp22_authenticate_server_request asr;
    struct rsp_sgp22_authenticate_server_response asp;
    struct rsp_sgp22_store_metadata_request smr;
    struct rsp_sgp22_pending_notification pn;
    struct rsp_sgp22_bpp bpp;
    struct rsp_sgp22_prepare_download_request pdr;
    struct rsp_sgp22_prepare_download_response pdp;
    struct rsp_sgp22_cancel_session_response csr;
    struct rsp_sgp22_init_secure_channel isc;
};

#endif
