/* Audit archives: writer and strict line reader (rsp/audit_archive.h, docs/AUDIT.md). */
#include "rsp/audit_archive.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/err.h"

/* ---- writing ---- */

static int append_json_line(json_t *o, struct rsp_buf *out)
{
    if (!o)
        return RSP_ENOMEM;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return RSP_ENOMEM;
    rsp_buf_append(out, s, strlen(s));
    free(s);
    rsp_buf_append_byte(out, '\n');
    return out->err;
}

static int set_hex(json_t *o, const char *name, const uint8_t *p, size_t n)
{
    char hex[2 * RSP_EC_POINT_LEN + 1];
    if (2 * n + 1 > sizeof hex)
        return RSP_ERANGE;
    rsp_hex_str(hex, p, n, 0);
    return json_object_set_new(o, name, json_string(hex)) ? RSP_ENOMEM : 0;
}

static int set_int(json_t *o, const char *name, int64_t v)
{
    return json_object_set_new(o, name, json_integer((json_int_t)v)) ? RSP_ENOMEM : 0;
}

static int set_str(json_t *o, const char *name, const char *v)
{
    return json_object_set_new(o, name, json_string(v)) ? RSP_ENOMEM : 0;
}

int rsp_audit_archive_begin(const struct rsp_audit_archive_info *info, struct rsp_buf *out)
{
    if (!info || !out || info->first_seq < 1 || info->last_seq < info->first_seq)
        return RSP_EINVAL;
    char id[17];
    rsp_hex_str(id, info->key_id, 8, 0);
    char text[1400];
    snprintf(text, sizeof text,
             "# rspkit audit archive (format %d)\n"
             "#\n"
             "# SM-DP+ audit records %" PRId64 "..%" PRId64 " (%" PRIu64 " records), the %" PRIu64
             " signed\n"
             "# checkpoint(s) of that range and the public audit key (key id %s...).\n"
             "# Each record carries the SHA-256 of the one before it; the last record is covered\n"
             "# by an ECDSA P-256 checkpoint signature, so any edited, deleted, inserted or\n"
             "# reordered record is detected.\n"
             "#\n"
             "# Verify it anywhere rspkit is installed, with this file alone:\n"
             "#\n"
             "#     rspctl audit verify --archive THIS_FILE\n"
             "#\n"
             "# That uses the key stored below and prints its fingerprint: compare it with the\n"
             "# audit key fingerprint published for this deployment, or pass the key itself:\n"
             "#\n"
             "#     rspctl audit verify --archive THIS_FILE --pubkey AUDIT_KEY.pub.pem\n"
             "#\n"
             "# Format (docs/AUDIT.md in rspkit): after these lines, one JSON object per line:\n"
             "# the header, the checkpoints, then the records in seq order. Record hash:\n"
             "# SHA-256(\"rspkit-audit-record-v1\" || u64 seq || i64 at || u16-length-prefixed\n"
             "# entity, key, from, to, actor, subject, reason || prev). Personal identifiers\n"
             "# appear only as keyed pseudonyms (\"p:...\").\n",
             RSP_AUDIT_ARCHIVE_VERSION, info->first_seq, info->last_seq, info->n_records,
             info->n_checkpoints, id);
    int rc = rsp_buf_append(out, text, strlen(text));
    if (rc)
        return rc;
    json_t *o = json_object();
    if (!o)
        return RSP_ENOMEM;
    rc = set_str(o, "type", "header");
    if (rc == 0)
        rc = set_str(o, "format", RSP_AUDIT_ARCHIVE_FORMAT);
    if (rc == 0)
        rc = set_int(o, "version", RSP_AUDIT_ARCHIVE_VERSION);
    if (rc == 0)
        rc = set_int(o, "first_seq", info->first_seq);
    if (rc == 0)
        rc = set_int(o, "last_seq", info->last_seq);
    if (rc == 0)
        rc = set_hex(o, "prev_hash", info->prev_hash, RSP_AUDIT_HASH_LEN);
    if (rc == 0)
        rc = set_int(o, "created_at", info->created_at);
    if (rc == 0)
        rc = set_int(o, "records", (int64_t)info->n_records);
    if (rc == 0)
        rc = set_int(o, "checkpoints", (int64_t)info->n_checkpoints);
    if (rc == 0)
        rc = set_hex(o, "key_id", info->key_id, RSP_AUDIT_HASH_LEN);
    if (rc == 0)
        rc = set_hex(o, "public_key", info->public_key, RSP_EC_POINT_LEN);
    if (rc) {
        json_decref(o);
        return rc;
    }
    return append_json_line(o, out);
}

int rsp_audit_archive_checkpoint(const struct rsp_audit_checkpoint *cp, struct rsp_buf *out)
{
    if (!cp || !out)
        return RSP_EINVAL;
    json_t *o = json_object();
    if (!o)
        return RSP_ENOMEM;
    int rc = set_str(o, "type", "checkpoint");
    if (rc == 0)
        rc = set_int(o, "seq", cp->seq);
    if (rc == 0)
        rc = set_hex(o, "hash", cp->hash, sizeof cp->hash);
    if (rc == 0)
        rc = set_int(o, "at", cp->at);
    if (rc == 0)
        rc = set_hex(o, "key_id", cp->key_id, sizeof cp->key_id);
    if (rc == 0)
        rc = set_hex(o, "sig", cp->sig, sizeof cp->sig);
    if (rc) {
        json_decref(o);
        return rc;
    }
    return append_json_line(o, out);
}

int rsp_audit_archive_record(const struct rsp_audit_entry *e, struct rsp_buf *out)
{
    if (!e || !out)
        return RSP_EINVAL;
    json_t *o = json_object();
    if (!o)
        return RSP_ENOMEM;
    int rc = set_str(o, "type", "record");
    if (rc == 0)
        rc = set_int(o, "seq", e->seq);
    if (rc == 0)
        rc = set_int(o, "at", e->at);
    const struct {
        const char *name, *v;
    } t[] = {{"entity", e->entity}, {"key", e->key},         {"from", e->from},    {"to", e->to},
             {"actor", e->actor},   {"subject", e->subject}, {"reason", e->reason}};
    for (size_t i = 0; rc == 0 && i < sizeof t / sizeof t[0]; i++)
        rc = set_str(o, t[i].name, t[i].v);
    if (rc == 0)
        rc = set_hex(o, "prev", e->prev, sizeof e->prev);
    if (rc == 0)
        rc = set_hex(o, "hash", e->hash, sizeof e->hash);
    if (rc) {
        json_decref(o);
        return rc;
    }
    return append_json_line(o, out);
}

/* ---- reading ---- */

enum phase { P_README, P_CHECKPOINTS, P_RECORDS };

struct rsp_audit_archive_reader {
    const struct rsp_key *const *keys;
    size_t n_keys;
    rsp_audit_finding_cb cb;
    void *arg;
    enum phase phase;
    unsigned long line;
    struct rsp_audit_archive_info info;
    struct rsp_key *embedded; /* the archive's key */
    const struct rsp_key *use[1];
    bool key_given;
    struct rsp_audit_verifier *v;
    uint64_t n_cp, n_rec;
    char err[200];
};

int rsp_audit_archive_reader_new(const struct rsp_key *const *keys, size_t n_keys,
                                 rsp_audit_finding_cb cb, void *arg,
                                 struct rsp_audit_archive_reader **out)
{
    if (!out || (n_keys && !keys))
        return RSP_EINVAL;
    struct rsp_audit_archive_reader *r = calloc(1, sizeof *r);
    if (!r)
        return RSP_ENOMEM;
    r->keys = keys;
    r->n_keys = n_keys;
    r->cb = cb;
    r->arg = arg;
    *out = r;
    return 0;
}

void rsp_audit_archive_reader_free(struct rsp_audit_archive_reader *r)
{
    if (!r)
        return;
    rsp_audit_verifier_free(r->v);
    rsp_key_free(r->embedded);
    free(r);
}

const char *rsp_audit_archive_reader_error(const struct rsp_audit_archive_reader *r)
{
    return r && r->err[0] ? r->err : "";
}

const struct rsp_audit_archive_info *
rsp_audit_archive_reader_info(const struct rsp_audit_archive_reader *r)
{
    return r && r->phase != P_README ? &r->info : NULL;
}

bool rsp_audit_archive_reader_key_given(const struct rsp_audit_archive_reader *r)
{
    return r && r->key_given;
}

__attribute__((format(printf, 2, 3))) static int bad(struct rsp_audit_archive_reader *r,
                                                     const char *fmt, ...)
{
    char m[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "line %lu: %s", r->line, m);
    return RSP_ESYNTAX;
}

/* Field accessors: 0, or RSP_ESYNTAX (message set). */
static int get_int(struct rsp_audit_archive_reader *r, json_t *o, const char *name, int64_t min,
                   int64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v))
        return bad(r, "\"%s\" missing or not an integer", name);
    json_int_t i = json_integer_value(v);
    if (i < min)
        return bad(r, "\"%s\" out of range", name);
    *out = (int64_t)i;
    return 0;
}

static int get_text(struct rsp_audit_archive_reader *r, json_t *o, const char *name, char *out,
                    size_t cap)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v))
        return bad(r, "\"%s\" missing or not a string", name);
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n >= cap)
        return bad(r, "\"%s\" longer than %zu bytes", name, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)
            return bad(r, "\"%s\" holds a byte outside printable ASCII", name);
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

static int get_hex(struct rsp_audit_archive_reader *r, json_t *o, const char *name, uint8_t *out,
                   size_t n)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_string(v) || json_string_length(v) != 2 * n)
        return bad(r, "\"%s\" missing or not %zu hex digits", name, 2 * n);
    struct rsp_buf b = RSP_BUF_INIT;
    int rc = rsp_hex_decode(&b, json_string_value(v), 2 * n);
    if (rc == 0 && b.len == n)
        memcpy(out, b.data, n);
    else
        rc = bad(r, "\"%s\" is not hex", name);
    rsp_buf_free(&b);
    return rc;
}

static int only_fields(struct rsp_audit_archive_reader *r, json_t *o, size_t n)
{
    return json_object_size(o) == n ? 0 : bad(r, "unknown or repeated fields");
}

static int read_header(struct rsp_audit_archive_reader *r, json_t *o)
{
    struct rsp_audit_archive_info *h = &r->info;
    char fmt[32];
    int64_t version, n_rec, n_cp;
    int rc = only_fields(r, o, 11);
    if (rc == 0)
        rc = get_text(r, o, "format", fmt, sizeof fmt);
    if (rc == 0 && strcmp(fmt, RSP_AUDIT_ARCHIVE_FORMAT) != 0)
        rc = bad(r, "not an rspkit audit archive");
    if (rc == 0)
        rc = get_int(r, o, "version", 0, &version);
    if (rc == 0 && version != RSP_AUDIT_ARCHIVE_VERSION)
        rc = bad(r, "archive format version %" PRId64 " (this rspkit reads %d)", version,
                 RSP_AUDIT_ARCHIVE_VERSION);
    if (rc == 0)
        rc = get_int(r, o, "first_seq", 1, &h->first_seq);
    if (rc == 0)
        rc = get_int(r, o, "last_seq", h->first_seq, &h->last_seq);
    if (rc == 0)
        rc = get_hex(r, o, "prev_hash", h->prev_hash, RSP_AUDIT_HASH_LEN);
    if (rc == 0)
        rc = get_int(r, o, "created_at", INT64_MIN, &h->created_at);
    if (rc == 0)
        rc = get_int(r, o, "records", 0, &n_rec);
    if (rc == 0)
        rc = get_int(r, o, "checkpoints", 0, &n_cp);
    if (rc == 0)
        rc = get_hex(r, o, "key_id", h->key_id, RSP_AUDIT_HASH_LEN);
    if (rc == 0)
        rc = get_hex(r, o, "public_key", h->public_key, RSP_EC_POINT_LEN);
    if (rc)
        return rc;
    h->n_records = (uint64_t)n_rec;
    h->n_checkpoints = (uint64_t)n_cp;
    uint8_t zero[RSP_AUDIT_HASH_LEN] = {0}, id[RSP_AUDIT_HASH_LEN];
    if (h->first_seq == 1 && memcmp(h->prev_hash, zero, sizeof zero) != 0)
        return bad(r, "prev_hash of an archive starting at seq 1 must be zeros");
    rc = rsp_key_from_point(RSP_CURVE_NIST_P256, h->public_key, RSP_EC_POINT_LEN, &r->embedded);
    if (rc)
        return bad(r, "public_key is not a P-256 point");
    rc = rsp_audit_key_id(r->embedded, id);
    if (rc)
        return rc;
    if (memcmp(id, h->key_id, sizeof id) != 0)
        return bad(r, "key_id is not the id of public_key");
    const struct rsp_key *const *keys = r->keys;
    size_t n_keys = r->n_keys;
    for (size_t i = 0; i < r->n_keys; i++) {
        uint8_t k[RSP_AUDIT_HASH_LEN];
        if (rsp_audit_key_id(r->keys[i], k) == 0 && memcmp(k, id, sizeof k) == 0)
            r->key_given = true;
    }
    if (!n_keys) {
        r->use[0] = r->embedded;
        keys = r->use;
        n_keys = 1;
    }
    uint8_t base_hash[RSP_AUDIT_HASH_LEN];
    memcpy(base_hash, h->prev_hash, sizeof base_hash);
    rc = rsp_audit_verifier_new(h->first_seq - 1, base_hash, keys, n_keys, RSP_AUDIT_VERIFY_ARCHIVE,
                                r->cb, r->arg, &r->v);
    if (rc == 0)
        r->phase = P_CHECKPOINTS;
    return rc;
}

static int read_checkpoint(struct rsp_audit_archive_reader *r, json_t *o)
{
    struct rsp_audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    int rc = only_fields(r, o, 6);
    if (rc == 0)
        rc = get_int(r, o, "seq", 1, &cp.seq);
    if (rc == 0)
        rc = get_hex(r, o, "hash", cp.hash, sizeof cp.hash);
    if (rc == 0)
        rc = get_int(r, o, "at", INT64_MIN, &cp.at);
    if (rc == 0)
        rc = get_hex(r, o, "key_id", cp.key_id, sizeof cp.key_id);
    if (rc == 0)
        rc = get_hex(r, o, "sig", cp.sig, sizeof cp.sig);
    if (rc)
        return rc;
    if (cp.seq < r->info.first_seq - 1 || cp.seq > r->info.last_seq)
        return bad(r, "checkpoint seq %" PRId64 " outside the archive's range", cp.seq);
    if (++r->n_cp > r->info.n_checkpoints)
        return bad(r, "more checkpoints than the header announces");
    return rsp_audit_verifier_checkpoint(r->v, &cp);
}

static int read_record(struct rsp_audit_archive_reader *r, json_t *o)
{
    struct rsp_audit_entry e;
    memset(&e, 0, sizeof e);
    int rc = only_fields(r, o, 12);
    if (rc == 0)
        rc = get_int(r, o, "seq", INT64_MIN, &e.seq);
    if (rc == 0)
        rc = get_int(r, o, "at", INT64_MIN, &e.at);
    if (rc == 0)
        rc = get_text(r, o, "entity", e.entity, sizeof e.entity);
    if (rc == 0)
        rc = get_text(r, o, "key", e.key, sizeof e.key);
    if (rc == 0)
        rc = get_text(r, o, "from", e.from, sizeof e.from);
    if (rc == 0)
        rc = get_text(r, o, "to", e.to, sizeof e.to);
    if (rc == 0)
        rc = get_text(r, o, "actor", e.actor, sizeof e.actor);
    if (rc == 0)
        rc = get_text(r, o, "subject", e.subject, sizeof e.subject);
    if (rc == 0)
        rc = get_text(r, o, "reason", e.reason, sizeof e.reason);
    if (rc == 0)
        rc = get_hex(r, o, "prev", e.prev, sizeof e.prev);
    if (rc == 0)
        rc = get_hex(r, o, "hash", e.hash, sizeof e.hash);
    if (rc)
        return rc;
    r->n_rec++;
    return rsp_audit_verifier_record(r->v, &e);
}

int rsp_audit_archive_reader_line(struct rsp_audit_archive_reader *r, const char *line, size_t len)
{
    if (!r || (!line && len))
        return RSP_EINVAL;
    r->line++;
    if (len > RSP_AUDIT_ARCHIVE_LINE_MAX)
        return bad(r, "longer than %d bytes", RSP_AUDIT_ARCHIVE_LINE_MAX);
    if (len && line[len - 1] == '\r')
        len--;
    if (r->phase == P_README && (len == 0 || line[0] == '#'))
        return 0;
    if (len == 0)
        return bad(r, "empty line");
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(r, "not a JSON object");
    }
    char type[16];
    int rc = get_text(r, o, "type", type, sizeof type);
    if (rc == 0) {
        if (strcmp(type, "header") == 0)
            rc = r->phase == P_README ? read_header(r, o) : bad(r, "a second header");
        else if (r->phase == P_README)
            rc = bad(r, "the header must come first");
        else if (strcmp(type, "checkpoint") == 0)
            rc = r->phase == P_CHECKPOINTS ? read_checkpoint(r, o)
                                           : bad(r, "a checkpoint after the records");
        else if (strcmp(type, "record") == 0) {
            r->phase = P_RECORDS;
            rc = read_record(r, o);
        } else
            rc = bad(r, "unknown line type \"%s\"", type);
    }
    json_decref(o);
    return rc;
}

static void count_finding(struct rsp_audit_archive_reader *r, struct rsp_audit_verify_result *res,
                          const char *what, uint64_t want, uint64_t got)
{
    struct rsp_audit_finding f;
    memset(&f, 0, sizeof f);
    f.problem = RSP_AUDIT_TRUNCATED;
    f.seq = r->info.last_seq;
    snprintf(f.detail, sizeof f.detail,
             "the header announces %" PRIu64 " %s, the archive holds %" PRIu64, want, what, got);
    if (res->findings++ == 0)
        res->first_bad_seq = f.seq;
    if (r->cb)
        r->cb(r->arg, &f);
}

int rsp_audit_archive_reader_finish(struct rsp_audit_archive_reader *r,
                                    struct rsp_audit_verify_result *res)
{
    if (!r || !res)
        return RSP_EINVAL;
    memset(res, 0, sizeof *res);
    if (r->phase == P_README) {
        snprintf(r->err, sizeof r->err, "no archive header (not an rspkit audit archive)");
        return RSP_ESYNTAX;
    }
    int rc = rsp_audit_verifier_finish(r->v, NULL, r->info.last_seq, res);
    if (rc)
        return rc;
    if (r->n_cp != r->info.n_checkpoints)
        count_finding(r, res, "checkpoints", r->info.n_checkpoints, r->n_cp);
    if (r->n_rec != r->info.n_records)
        count_finding(r, res, "records", r->info.n_records, r->n_rec);
    return 0;
}
