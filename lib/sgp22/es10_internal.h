/* Helpers shared by the ES10 codecs (lib/sgp22/{es10c,euiccinfo,profileinfo}.c). Internal. */
#ifndef RSP_SGP22_ES10_INTERNAL_H
#define RSP_SGP22_ES10_INTERNAL_H

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/sgp22_es10.h"

/* Parses exactly one TLV with `tag` from p[0..n) and starts iterating over its value. */
int rsp_es10_i_open(const uint8_t *p, size_t n, rsp_tag tag, struct rsp_der_iter *it,
                    struct rsp_tlv *outer);
/* Byte string of min..max bytes (RSP_ERANGE otherwise). */
int rsp_es10_i_bin(const struct rsp_tlv *t, size_t min, size_t max, struct rsp_es10_bin *out);
int rsp_es10_i_req_bin(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                       struct rsp_es10_bin *out);
/* Optional: leaves out->p NULL when absent. */
int rsp_es10_i_opt_bin(struct rsp_der_iter *it, rsp_tag tag, size_t min, size_t max,
                       struct rsp_es10_bin *out);
int rsp_es10_i_bits(const struct rsp_tlv *t, struct rsp_es10_bits *out);
int rsp_es10_i_opt_bits(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_bits *out);
int rsp_es10_i_req_bits(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_bits *out);
/* INTEGER in 0..INT32_MAX. */
int rsp_es10_i_int(const struct rsp_tlv *t, int *out);
int rsp_es10_i_req_int(struct rsp_der_iter *it, rsp_tag tag, int *out);
int rsp_es10_i_opt_int(struct rsp_der_iter *it, rsp_tag tag, bool *has, int *out);
/* VersionType: exactly 3 bytes. */
int rsp_es10_i_req_version(struct rsp_der_iter *it, rsp_tag tag, uint8_t v[3]);
int rsp_es10_i_iccid(const struct rsp_tlv *t, struct rsp_iccid *out);

/* Writers: absent (p == NULL / bits == NULL) optional fields write nothing. */
void rsp_es10_i_put_bin(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_bin *v);
void rsp_es10_i_put_bits(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_bits *v);
/* Mask (1u << n for named bit n) as a NamedBitList BIT STRING in DER form. */
void rsp_es10_i_put_mask(struct rsp_buf *b, rsp_tag tag, uint32_t mask);
/* 4F aid | 5A iccid */
int rsp_es10_i_put_profile_id(struct rsp_buf *b, const struct rsp_es10_profile_id *id);
int rsp_es10_i_profile_id(const struct rsp_tlv *t, struct rsp_es10_profile_id *out);
/* OperatorId SEQUENCE contents (80 mccMnc, [81 gid1], [82 gid2]) */
int rsp_es10_i_operator_id(const struct rsp_tlv *t, struct rsp_es10_operator_id *out);
void rsp_es10_i_put_operator_id(struct rsp_buf *b, rsp_tag tag,
                                const struct rsp_es10_operator_id *op);
/* SEQUENCE OF SubjectKeyIdentifier */
int rsp_es10_i_pkid_list(struct rsp_der_iter *it, rsp_tag tag, struct rsp_es10_pkid_list *out);
int rsp_es10_i_put_pkid_list(struct rsp_buf *b, rsp_tag tag, const struct rsp_es10_pkid_list *l);

#endif
