/* Shared machinery of the ES9+ and ES2+ JSON layers: a field table per message, decoded and
 * encoded generically (one place that knows base64, hex transactionIds, ICCIDs, ...). */
#ifndef RSP_ES_JSON_INT_H
#define RSP_ES_JSON_INT_H

#include <jansson.h>
#include <stddef.h>

#include "rsp/es9p_json.h"

enum es_kind {
    K_B64,    /* struct rsp_buf, standard base64 */
    K_CHAL16, /* uint8_t[16], base64 of exactly 16 bytes */
    K_TID,    /* struct rsp_tid, hex */
    K_STR,    /* char[size] */
    K_ICCID,  /* char[21]: 18..20 digits, optional trailing F stripped; emitted padded to 20 */
    K_EID,    /* char[33]: 32 decimal digits */
    K_BOOL,   /* bool */
    K_INT,    /* int: JSON integer, or a string of digits on input */
    K_STATUS, /* struct rsp_es_exec_status (an ExecutionStatus object) */
    K_FINAL,  /* enum rsp_es2_final_status: "Available" / "Unavailable" */
};

struct es_field {
    const char *name;
    const char *alt_name; /* accepted on input only, may be NULL */
    enum es_kind kind;
    size_t offset;
    size_t size; /* of the member */
    int mandatory;
};

#define ES_FIELD(type, member, name, kind, mand)                                                   \
    {                                                                                              \
        name, NULL, kind, offsetof(type, member), sizeof(((type *)0)->member), mand                \
    }
#define ES_FIELD_ALT(type, member, name, alt, kind, mand)                                          \
    {                                                                                              \
        name, alt, kind, offsetof(type, member), sizeof(((type *)0)->member), mand                 \
    }

/* Parses a JSON object body (RSP_ESYNTAX + BAD_FORMAT if not an object). Caller json_decref(). */
int es_parse_object(const char *json, size_t len, json_t **out, struct rsp_status_code *refusal);
/* Decodes the fields into base; on error frees what it decoded and fills *refusal. */
int es_decode_fields(json_t *obj, const struct es_field *f, size_t n, void *base,
                     struct rsp_status_code *refusal);
/* Adds the fields to obj (optional empty fields omitted). */
int es_encode_fields(json_t *obj, const struct es_field *f, size_t n, const void *base);
/* Frees the rsp_buf members. */
void es_free_fields(const struct es_field *f, size_t n, void *base);
/* {"status":..., "statusCodeData":{...}} */
json_t *es_status_object(const struct rsp_es_exec_status *st);
int es_status_from_object(json_t *o, struct rsp_es_exec_status *out);
/* A response object starting with header.functionExecutionStatus = Executed-Success. */
json_t *es_success_envelope(void);
/* Compact serialisation into out (replacing its contents); decrefs obj. */
int es_dump(json_t *obj, struct rsp_buf *out);

#endif
