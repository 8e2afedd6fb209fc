/* Inventory: operator-signed manifests, batch import into the store, re-check before binding. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/manifest.h"
#include "rsp/saip.h"
#include "rsp/store.h"

static struct rsp_key *op_key, *other_key;

static uint8_t *find_bytes(uint8_t *hay, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return hay + i;
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    if (rsp_key_generate(RSP_CURVE_NIST_P256, &op_key) ||
        rsp_key_generate(RSP_CURVE_NIST_P256, &other_key))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rsp_key_free(op_key);
    rsp_key_free(other_key);
    return 0;
}

/* Generated package number n: ICCID 89990000000000NNNNN (19 digits), IMSI 00101000000NNNN. */
static void gen_pkg(unsigned n, const char *imsi_override, struct rsp_buf *out)
{
    char iccid[24], imsi[20];
    snprintf(iccid, sizeof iccid, "899900000000%07u", n);
    snprintf(imsi, sizeof imsi, "00101%010u", n);
    struct rsp_saip_gen_params p;
    memset(&p, 0, sizeof p);
    p.iccid = iccid;
    p.imsi = imsi_override ? imsi_override : imsi;
    p.spn = "rspkit";
    memset(p.ki, 0x11, sizeof p.ki);
    memset(p.opc, 0x22, sizeof p.opc);
    assert_int_equal(rsp_saip_generate(&p, out), 0);
}

static void sign_pkg(const struct rsp_buf *pkg, const struct rsp_key *k, struct rsp_buf *out)
{
    struct rsp_manifest m;
    assert_int_equal(rsp_manifest_from_package(pkg->data, pkg->len, &m), 0);
    snprintf(m.operator_id, sizeof m.operator_id, "op1");
    snprintf(m.name, sizeof m.name, "Test profile");
    snprintf(m.owner_plmn, sizeof m.owner_plmn, "00101");
    m.pclass = RSP_PROFILE_CLASS_TEST;
    assert_int_equal(rsp_manifest_sign(&m, k), 0);
    assert_int_equal(rsp_manifest_encode(&m, out), 0);
}

static struct rsp_store *fresh_store(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_tmpdir(), name);
    unlink(path);
    struct rsp_store *st;
    assert_int_equal(rsp_store_sqlite_open(path, &st), 0);
    return st;
}

static void test_roundtrip(void **state)
{
    (void)state;
    struct rsp_buf pkg = RSP_BUF_INIT, der = RSP_BUF_INIT, der2 = RSP_BUF_INIT, js = RSP_BUF_INIT;
    gen_pkg(1, NULL, &pkg);
    sign_pkg(&pkg, op_key, &der);
    struct rsp_manifest m;
    assert_int_equal(rsp_manifest_decode(der.data, der.len, &m), 0);
    assert_string_equal(m.iccid, "8999000000000000001");
    assert_string_equal(m.imsi, "001010000000001");
    assert_string_equal(m.operator_id, "op1");
    assert_string_equal(m.spn, "rspkit");
    assert_int_equal(m.pclass, RSP_PROFILE_CLASS_TEST);
    assert_int_equal(rsp_manifest_encode(&m, &der2), 0);
    assert_int_equal(der.len, der2.len);
    assert_memory_equal(der.data, der2.data, der.len);
    struct rsp_manifest_refusal why;
    assert_int_equal(rsp_manifest_verify(&m, op_key, "op1", pkg.data, pkg.len, &why), 0);
    assert_int_equal(why.check, RSP_MANIFEST_OK);
    assert_int_equal(rsp_manifest_json(&m, &js), 0);
    rsp_buf_append_byte(&js, 0);
    assert_non_null(strstr((char *)js.data, "\"iccid\":\"8999000000000000001\""));
    assert_non_null(strstr((char *)js.data, "\"profileClass\":\"test\""));
    /* Bounds and strictness. */
    assert_int_equal(rsp_manifest_decode(der.data, der.len - 1, &m) < 0, 1);
    uint8_t big[RSP_MANIFEST_MAX_LEN + 1] = {0};
    assert_int_equal(rsp_manifest_decode(big, sizeof big, &m), RSP_ERANGE);
    struct rsp_buf trailing = RSP_BUF_INIT;
    rsp_buf_append(&trailing, der.data, der.len);
    rsp_buf_append_byte(&trailing, 0);
    assert_int_equal(rsp_manifest_decode(trailing.data, trailing.len, &m), RSP_ETRAILING);
    /* A package without IMSI cannot be described. */
    struct rsp_buf junk = tu_hex("A0 03 80 01 02");
    assert_int_not_equal(rsp_manifest_from_package(junk.data, junk.len, &m), 0);
    rsp_buf_free(&junk);
    rsp_buf_free(&trailing);
    rsp_buf_free(&pkg);
    rsp_buf_free(&der);
    rsp_buf_free(&der2);
    rsp_buf_free(&js);
}

/* One tampered pair: prepare must refuse with `check` and the import must insert nothing. */
static void expect_refused(struct rsp_store *st, const struct rsp_buf *pkg,
                           const struct rsp_buf *man, const struct rsp_key *k, const char *want)
{
    struct rsp_store_import_item it;
    char reason[256];
    int rc = rsp_inventory_prepare(pkg->data, pkg->len, man->data, man->len, k, "op1", "t", &it,
                                   reason, sizeof reason);
    assert_int_equal(rc, RSP_EVERIFY);
    print_message("# refused: %s\n", reason);
    assert_non_null(strstr(reason, want));
    assert_int_equal(rsp_store_profile_import(st, &it, 1, "test"), 0);
    assert_int_equal(it.result, RSP_EVERIFY);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, "8999000000000000002", &p), RSP_ENOTFOUND);
}

static void test_tamper(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("tamper.db");
    struct rsp_buf pkg = RSP_BUF_INIT, man = RSP_BUF_INIT, t = RSP_BUF_INIT;
    gen_pkg(2, NULL, &pkg);
    sign_pkg(&pkg, op_key, &man);

    /* One byte of the package (last byte of the Ki area would break nothing else: flip a late
     * byte so the package may still parse; the digest check comes first anyway). */
    rsp_buf_set(&t, pkg.data, pkg.len);
    t.data[t.len / 2] ^= 0x01;
    expect_refused(st, &t, &man, op_key, "digest: ");

    /* One byte of the manifest body: the operatorId's last character. */
    rsp_buf_set(&t, man.data, man.len);
    uint8_t *op = find_bytes(t.data, t.len, "op1", 3);
    assert_non_null(op);
    op[2] = '2';
    expect_refused(st, &pkg, &t, op_key, "signature: ");
    /* ... the digest byte inside the manifest. */
    rsp_buf_set(&t, man.data, man.len);
    struct rsp_manifest m;
    assert_int_equal(rsp_manifest_decode(man.data, man.len, &m), 0);
    uint8_t *dg = find_bytes(t.data, t.len, m.package_sha256, 32);
    assert_non_null(dg);
    dg[0] ^= 0x80;
    expect_refused(st, &pkg, &t, op_key, "signature: ");
    /* One byte of the signature. */
    rsp_buf_set(&t, man.data, man.len);
    t.data[t.len - 5] ^= 0x01;
    expect_refused(st, &pkg, &t, op_key, "signature: ");
    /* Wrong operator key. */
    expect_refused(st, &pkg, &man, other_key, "signature: ");

    /* ICCID mismatch: a validly signed manifest for package 3 presented with package 2. */
    struct rsp_buf pkg3 = RSP_BUF_INIT, man3 = RSP_BUF_INIT;
    gen_pkg(3, NULL, &pkg3);
    struct rsp_manifest m3;
    assert_int_equal(rsp_manifest_from_package(pkg3.data, pkg3.len, &m3), 0);
    snprintf(m3.operator_id, sizeof m3.operator_id, "op1");
    memcpy(m3.package_sha256, m.package_sha256, 32); /* digest of package 2: ICCID differs */
    assert_int_equal(rsp_manifest_sign(&m3, op_key), 0);
    assert_int_equal(rsp_manifest_encode(&m3, &man3), 0);
    expect_refused(st, &pkg, &man3, op_key,
                   "iccid: ICCID: manifest 8999000000000000003, package "
                   "8999000000000000002");
    /* IMSI mismatch. */
    rsp_buf_reset(&man3);
    m3 = m;
    snprintf(m3.imsi, sizeof m3.imsi, "001019999999999");
    assert_int_equal(rsp_manifest_sign(&m3, op_key), 0);
    assert_int_equal(rsp_manifest_encode(&m3, &man3), 0);
    expect_refused(st, &pkg, &man3, op_key, "imsi: IMSI: manifest 001019999999999");
    /* Operator id other than configured. */
    struct rsp_store_import_item it;
    char reason[256];
    assert_int_equal(rsp_inventory_prepare(pkg.data, pkg.len, man.data, man.len, op_key, "op9", "t",
                                           &it, reason, sizeof reason),
                     RSP_EVERIFY);
    assert_non_null(strstr(reason, "operator: "));

    /* Every refusal left one audit row under the ICCID, and no profile row. */
    struct rsp_audit_entry a[16];
    size_t n;
    assert_int_equal(rsp_store_audit_list(st, "8999000000000000002", a, 16, &n), 0);
    assert_int_equal(n, 6); /* the ICCID-mismatch refusal is keyed by the manifest's ICCID */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(a[i].entity, "import");
        assert_string_equal(a[i].to, "Refused");
    }
    assert_int_equal(rsp_store_audit_list(st, "8999000000000000003", a, 16, &n), 0);
    assert_int_equal(n, 1);
    rsp_buf_free(&pkg3);
    rsp_buf_free(&man3);
    rsp_buf_free(&pkg);
    rsp_buf_free(&man);
    rsp_buf_free(&t);
    rsp_store_close(st);
}

#define N_BULK 60

static int count_state(void *arg, const struct rsp_profile *p)
{
    (void)p;
    ++*(size_t *)arg;
    return 0;
}

static void test_bulk(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("bulk.db");
    static struct rsp_buf pkgs[N_BULK], mans[N_BULK];
    static struct rsp_store_import_item items[N_BULK];
    static char reasons[N_BULK][256];
    bool bad[N_BULK] = {false};
    for (unsigned i = 0; i < N_BULK; i++) {
        rsp_buf_init(&pkgs[i]);
        rsp_buf_init(&mans[i]);
        gen_pkg(100 + i, NULL, &pkgs[i]);
        sign_pkg(&pkgs[i], i == 13 ? other_key : op_key, &mans[i]);
    }
    /* Planted bad ones: wrong key (13), tampered package (7), swapped manifests (21, 22). */
    bad[13] = true;
    pkgs[7].data[pkgs[7].len - 3] ^= 0x40;
    bad[7] = true;
    struct rsp_buf tmp = mans[21];
    mans[21] = mans[22];
    mans[22] = tmp;
    bad[21] = bad[22] = true;
    size_t good = 0;
    for (unsigned i = 0; i < N_BULK; i++) {
        char label[32];
        snprintf(label, sizeof label, "p%03u", i);
        int rc = rsp_inventory_prepare(pkgs[i].data, pkgs[i].len, mans[i].data, mans[i].len, op_key,
                                       NULL, label, &items[i], reasons[i], sizeof reasons[i]);
        assert_int_equal(rc, bad[i] ? RSP_EVERIFY : 0);
        if (bad[i])
            assert_non_null(strstr(reasons[i], label));
        good += !bad[i];
    }
    assert_int_equal(rsp_store_profile_import(st, items, N_BULK, "bulk"), 0);
    size_t avail = 0;
    enum rsp_profile_state s = RSP_PROFILE_AVAILABLE;
    assert_int_equal(rsp_store_profile_list(st, &s, count_state, &avail), 0);
    assert_int_equal(avail, good);
    for (unsigned i = 0; i < N_BULK; i++) {
        char iccid[24];
        snprintf(iccid, sizeof iccid, "899900000000%07u", 100 + i);
        struct rsp_profile p;
        struct rsp_audit_entry a[4];
        size_t n;
        assert_int_equal(items[i].result, bad[i] ? RSP_EVERIFY : 0);
        assert_int_equal(rsp_store_profile_get(st, iccid, &p), bad[i] ? RSP_ENOTFOUND : 0);
        assert_int_equal(rsp_store_audit_list(st, iccid, a, 4, &n), 0);
        /* one row each; a refused pair is keyed by its manifest's ICCID (21 and 22 swapped) */
        assert_int_equal(n, 1);
        assert_string_equal(a[0].to, bad[i] ? "Refused" : "Available");
        if (!bad[i]) {
            assert_string_equal(p.owner, "op1");
            assert_string_equal(p.operator_, "00101");
            assert_int_equal(p.pclass, RSP_PROFILE_CLASS_TEST);
            assert_int_equal(rsp_inventory_recheck(st, iccid, NULL, 0, NULL), 0);
        }
    }
    /* Re-import of the good ones: no-op (no new audit rows). */
    for (unsigned i = 0; i < N_BULK; i++)
        if (!bad[i])
            items[i].result = -999;
    assert_int_equal(rsp_store_profile_import(st, items, N_BULK, "bulk"), 0);
    for (unsigned i = 0; i < N_BULK; i++)
        if (!bad[i])
            assert_int_equal(items[i].result, RSP_STORE_IMPORT_PRESENT);
    struct rsp_audit_entry a[4];
    size_t n;
    assert_int_equal(rsp_store_audit_list(st, "8999000000000000100", a, 4, &n), 0);
    assert_int_equal(n, 1);
    /* A different manifest (other name) for an existing ICCID: refused. */
    struct rsp_manifest m;
    struct rsp_buf other = RSP_BUF_INIT;
    assert_int_equal(rsp_manifest_decode(mans[0].data, mans[0].len, &m), 0);
    snprintf(m.name, sizeof m.name, "renamed");
    assert_int_equal(rsp_manifest_sign(&m, op_key), 0);
    assert_int_equal(rsp_manifest_encode(&m, &other), 0);
    struct rsp_store_import_item it;
    char reason[256];
    assert_int_equal(rsp_inventory_prepare(pkgs[0].data, pkgs[0].len, other.data, other.len, op_key,
                                           NULL, "x", &it, reason, sizeof reason),
                     0);
    assert_int_equal(rsp_store_profile_import(st, &it, 1, "bulk"), 0);
    assert_int_equal(it.result, RSP_ESTATE);
    struct rsp_profile p;
    assert_int_equal(rsp_store_profile_get(st, "8999000000000000100", &p), 0);
    assert_string_equal(p.name, "Test profile");
    rsp_buf_free(&other);
    for (unsigned i = 0; i < N_BULK; i++) {
        rsp_buf_free(&pkgs[i]);
        rsp_buf_free(&mans[i]);
    }
    rsp_store_close(st);
}

static void test_recheck(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("recheck.db");
    struct rsp_buf pkg = RSP_BUF_INIT, man = RSP_BUF_INIT, pkg2 = RSP_BUF_INIT;
    gen_pkg(5, NULL, &pkg);
    sign_pkg(&pkg, op_key, &man);
    struct rsp_store_import_item it;
    char reason[256];
    assert_int_equal(rsp_inventory_prepare(pkg.data, pkg.len, man.data, man.len, op_key, "op1", "r",
                                           &it, reason, sizeof reason),
                     0);
    assert_int_equal(rsp_store_profile_import(st, &it, 1, "t"), 0);
    assert_int_equal(it.result, 0);
    const char *iccid = "8999000000000000005";
    struct rsp_manifest_refusal why;
    assert_int_equal(rsp_inventory_recheck(st, iccid, pkg.data, pkg.len, &why), 0);
    assert_int_equal(rsp_inventory_recheck(st, iccid, NULL, 0, &why), 0);
    /* Tampered copy on disk (one byte): refused at binding. */
    pkg.data[pkg.len / 3] ^= 0x04;
    assert_int_equal(rsp_inventory_recheck(st, iccid, pkg.data, pkg.len, &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_DIGEST);
    /* Another package for the same row. */
    gen_pkg(6, NULL, &pkg2);
    assert_int_equal(rsp_inventory_recheck(st, iccid, pkg2.data, pkg2.len, &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_DIGEST);
    /* A profile inserted without a manifest cannot be bound. */
    struct rsp_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.iccid, sizeof p.iccid, "8999000000000000006");
    assert_int_equal(rsp_store_profile_insert(st, &p, pkg2.data, pkg2.len, "t"), 0);
    assert_int_equal(rsp_inventory_recheck(st, p.iccid, NULL, 0, &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_STORED);
    assert_int_equal(rsp_inventory_recheck(st, "8999000000000000009", NULL, 0, &why),
                     RSP_ENOTFOUND);
    rsp_buf_free(&pkg);
    rsp_buf_free(&pkg2);
    rsp_buf_free(&man);
    rsp_store_close(st);
}

/* branch import: batch manifests. One signature over the entries of 5 packages: strict decode,
 * signature and operator checks, per-package checks (digest, IMSI, ICCID in the batch), import
 * (entry records stored), re-check before binding, re-import no-op, another batch for the same
 * ICCIDs refused, malformed batches and records refused. */
enum { NBATCH = 5 };

static void batch_entries(struct rsp_buf *pkgs, struct rsp_manifest *e, unsigned first)
{
    for (unsigned i = 0; i < NBATCH; i++) {
        rsp_buf_reset(&pkgs[i]);
        gen_pkg(first + i, NULL, &pkgs[i]);
        assert_int_equal(rsp_manifest_from_package(pkgs[i].data, pkgs[i].len, &e[i]), 0);
        snprintf(e[i].operator_id, sizeof e[i].operator_id, "op1");
        snprintf(e[i].owner_plmn, sizeof e[i].owner_plmn, "00101");
        e[i].created_at = 1790000000;
    }
}

static void test_batch_manifest(void **state)
{
    (void)state;
    struct rsp_store *st = fresh_store("batch.db");
    struct rsp_buf pkgs[NBATCH], rec[NBATCH], der = RSP_BUF_INIT, der2 = RSP_BUF_INIT,
                                              bad = RSP_BUF_INIT, other = RSP_BUF_INIT;
    for (int i = 0; i < NBATCH; i++) {
        rsp_buf_init(&pkgs[i]);
        rsp_buf_init(&rec[i]);
    }
    struct rsp_manifest e[NBATCH];
    batch_entries(pkgs, e, 21);
    assert_int_equal(rsp_manifest_batch_sign(e, NBATCH, "op1", 1790000001, op_key, &der), 0);
    struct rsp_manifest_batch b;
    struct rsp_manifest_refusal why;
    assert_int_equal(rsp_manifest_batch_decode(der.data, der.len, &b), 0);
    assert_int_equal(b.n, NBATCH);
    assert_string_equal(b.operator_id, "op1");
    assert_int_equal(b.created_at, 1790000001);
    assert_int_equal(rsp_manifest_batch_find(&b, "8999000000000000023"), 2);
    assert_int_equal(rsp_manifest_batch_find(&b, "8999000000000000099"), -1);
    /* not verified yet: no item can be prepared from it */
    struct rsp_store_import_item it[NBATCH + 2];
    char reasons[NBATCH + 2][256];
    assert_int_equal(rsp_inventory_prepare_batch(pkgs[0].data, pkgs[0].len, &b, "x", &it[0],
                                                 &rec[0], reasons[0], sizeof reasons[0]),
                     RSP_EINVAL);
    assert_int_equal(rsp_manifest_batch_verify(&b, other_key, "op1", &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_SIGNATURE);
    assert_false(b.verified);
    assert_int_equal(rsp_manifest_batch_verify(&b, op_key, "op2", &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_OPERATOR);
    assert_int_equal(rsp_manifest_batch_verify(&b, op_key, "op1", &why), 0);
    assert_true(b.verified);
    for (int i = 0; i < NBATCH; i++) {
        char label[16];
        snprintf(label, sizeof label, "p%d", i);
        assert_int_equal(rsp_inventory_prepare_batch(pkgs[i].data, pkgs[i].len, &b, label, &it[i],
                                                     &rec[i], reasons[i], sizeof reasons[i]),
                         0);
        assert_ptr_equal(it[i].batch, der.data);
        assert_int_equal(it[i].manifest[0], RSP_MANIFEST_RECORD_TAG);
    }
    /* a package the batch does not name; a package whose bytes differ from its entry's digest */
    struct rsp_buf stray = RSP_BUF_INIT, changed = RSP_BUF_INIT, rs = RSP_BUF_INIT;
    gen_pkg(40, NULL, &stray);
    gen_pkg(22, "001010000000777", &changed);
    assert_int_equal(rsp_inventory_prepare_batch(stray.data, stray.len, &b, "stray", &it[NBATCH],
                                                 &rs, reasons[NBATCH], sizeof reasons[NBATCH]),
                     RSP_EVERIFY);
    assert_non_null(strstr(reasons[NBATCH], "stray: iccid:"));
    assert_int_equal(rsp_inventory_prepare_batch(changed.data, changed.len, &b, "chg",
                                                 &it[NBATCH + 1], &rs, reasons[NBATCH + 1],
                                                 sizeof reasons[NBATCH + 1]),
                     RSP_EVERIFY);
    assert_non_null(strstr(reasons[NBATCH + 1], "chg: digest:"));
    assert_string_equal(it[NBATCH + 1].profile.iccid, "8999000000000000022");
    assert_int_equal(rsp_store_profile_import(st, it, NBATCH + 2, "t"), 0);
    for (int i = 0; i < NBATCH; i++)
        assert_int_equal(it[i].result, 0);
    assert_int_equal(it[NBATCH].result, RSP_EVERIFY);
    /* stored: the entry record; re-check before binding works from it */
    struct rsp_buf stored = RSP_BUF_INIT;
    assert_int_equal(rsp_store_profile_manifest(st, "8999000000000000023", &stored), 0);
    uint8_t bd[32];
    size_t idx = 99;
    struct rsp_manifest got;
    assert_int_equal(rsp_manifest_record_decode(stored.data, stored.len, bd, &idx, &got), 0);
    assert_memory_equal(bd, b.digest, 32);
    assert_string_equal(got.iccid, "8999000000000000023");
    assert_string_equal(got.imsi, e[idx].imsi);
    for (int i = 0; i < NBATCH; i++) {
        assert_int_equal(
            rsp_inventory_recheck(st, it[i].profile.iccid, pkgs[i].data, pkgs[i].len, &why), 0);
        assert_int_equal(rsp_inventory_recheck(st, it[i].profile.iccid, NULL, 0, &why), 0);
    }
    assert_int_equal(
        rsp_inventory_recheck(st, "8999000000000000021", pkgs[1].data, pkgs[1].len, &why),
        RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_DIGEST);
    struct rsp_profile prof;
    assert_int_equal(rsp_store_profile_get(st, "8999000000000000024", &prof), 0);
    assert_string_equal(prof.owner, "op1");
    assert_string_equal(prof.operator_, "00101");
    /* the same batch again: a no-op */
    for (int i = 0; i < NBATCH; i++)
        assert_int_equal(rsp_inventory_prepare_batch(pkgs[i].data, pkgs[i].len, &b, "again", &it[i],
                                                     &rec[i], reasons[i], sizeof reasons[i]),
                         0);
    assert_int_equal(rsp_store_profile_import(st, it, NBATCH, "t"), 0);
    for (int i = 0; i < NBATCH; i++)
        assert_int_equal(it[i].result, RSP_STORE_IMPORT_PRESENT);
    /* another batch naming the same ICCIDs (signed later): refused */
    assert_int_equal(rsp_manifest_batch_sign(e, NBATCH, "op1", 1790000002, op_key, &der2), 0);
    struct rsp_manifest_batch b2;
    assert_int_equal(rsp_manifest_batch_decode(der2.data, der2.len, &b2), 0);
    assert_int_equal(rsp_manifest_batch_verify(&b2, op_key, NULL, &why), 0);
    assert_int_equal(rsp_inventory_prepare_batch(pkgs[0].data, pkgs[0].len, &b2, "b2", &it[0],
                                                 &rec[0], reasons[0], sizeof reasons[0]),
                     0);
    assert_int_equal(rsp_store_profile_import(st, it, 1, "t"), 0);
    assert_int_equal(it[0].result, RSP_ESTATE);
    rsp_manifest_batch_free(&b2);

    /* malformed batches */
    struct rsp_manifest_batch x;
    assert_int_equal(rsp_buf_set(&bad, der.data, der.len), 0);
    rsp_buf_append_byte(&bad, 0); /* trailing byte */
    assert_true(rsp_manifest_batch_decode(bad.data, bad.len, &x) < 0);
    assert_true(rsp_manifest_batch_decode(der.data, der.len - 1, &x) < 0); /* truncated */
    assert_int_equal(rsp_buf_set(&bad, der.data, der.len), 0);
    uint8_t *pos = find_bytes(bad.data, bad.len, "8999000000000000022", 19);
    assert_non_null(pos);
    pos[18] = 'x'; /* a non-digit ICCID */
    assert_true(rsp_manifest_batch_decode(bad.data, bad.len, &x) < 0);
    assert_int_equal(rsp_buf_set(&bad, der.data, der.len), 0);
    bad.data[bad.len - 1] ^= 0x01; /* signature bit */
    assert_int_equal(rsp_manifest_batch_decode(bad.data, bad.len, &x), 0);
    assert_int_equal(rsp_manifest_batch_verify(&x, op_key, "op1", &why), RSP_EVERIFY);
    assert_int_equal(why.check, RSP_MANIFEST_SIGNATURE);
    rsp_manifest_batch_free(&x);
    assert_int_equal(rsp_buf_set(&bad, der.data, der.len), 0);
    pos = find_bytes(bad.data, bad.len, "8999000000000000022", 19);
    pos[17] = '1'; /* now 8999000000000000012: a signed field changed */
    assert_int_equal(rsp_manifest_batch_decode(bad.data, bad.len, &x), 0);
    assert_int_equal(rsp_manifest_batch_verify(&x, op_key, "op1", &why), RSP_EVERIFY);
    rsp_manifest_batch_free(&x);
    /* an ICCID twice; an entry of another operator; no entry */
    struct rsp_manifest dup[NBATCH];
    memcpy(dup, e, sizeof dup);
    dup[3] = dup[1];
    assert_int_equal(rsp_manifest_batch_sign(dup, NBATCH, "op1", 1, op_key, &other), RSP_ESYNTAX);
    memcpy(dup, e, sizeof dup);
    snprintf(dup[2].operator_id, sizeof dup[2].operator_id, "op2");
    assert_int_equal(rsp_manifest_batch_sign(dup, NBATCH, "op1", 1, op_key, &other), RSP_ESYNTAX);
    assert_int_equal(rsp_manifest_batch_sign(e, 0, "op1", 1, op_key, &other), RSP_ERANGE);
    assert_int_equal(other.len, 0);
    /* records: strict */
    assert_int_equal(rsp_buf_set(&bad, stored.data, stored.len), 0);
    rsp_buf_append_byte(&bad, 0);
    assert_true(rsp_manifest_record_decode(bad.data, bad.len, bd, &idx, &got) < 0);
    assert_true(rsp_manifest_record_decode(stored.data, stored.len - 1, bd, &idx, &got) < 0);
    assert_int_equal(rsp_buf_set(&bad, stored.data, stored.len), 0);
    bad.data[0] = 0x30; /* another outer tag */
    assert_true(rsp_manifest_record_decode(bad.data, bad.len, bd, &idx, &got) < 0);

    rsp_manifest_batch_free(&b);
    for (int i = 0; i < NBATCH; i++) {
        rsp_buf_free(&pkgs[i]);
        rsp_buf_free(&rec[i]);
    }
    rsp_buf_free(&stray);
    rsp_buf_free(&changed);
    rsp_buf_free(&rs);
    rsp_buf_free(&stored);
    rsp_buf_free(&der);
    rsp_buf_free(&der2);
    rsp_buf_free(&bad);
    rsp_buf_free(&other);
    rsp_store_close(st);
}

/* The TS.48 *-UNIQUE packages: sign each with the operator key, import, re-check. */
static void test_ts48(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    const char *dir = tu_shared_path("testdata/ts48-upp");
    DIR *d = opendir(dir);
    if (!d)
        skip();
    struct rsp_store *st = fresh_store("ts48.db");
    struct dirent *e;
    size_t imported = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 11 || strcmp(e->d_name + l - 11, "-UNIQUE.der") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct rsp_buf pkg = tu_load(path), man = RSP_BUF_INIT;
        struct rsp_manifest m;
        int rc = rsp_manifest_from_package(pkg.data, pkg.len, &m);
        if (rc == RSP_EMISSING) { /* no IMSI in this package: refused by design */
            print_message("# %s: no IMSI\n", e->d_name);
            rsp_buf_free(&pkg);
            continue;
        }
        assert_int_equal(rc, 0);
        snprintf(m.operator_id, sizeof m.operator_id, "gsma-ts48");
        assert_int_equal(rsp_manifest_sign(&m, op_key), 0);
        assert_int_equal(rsp_manifest_encode(&m, &man), 0);
        struct rsp_store_import_item it;
        char reason[256];
        assert_int_equal(rsp_inventory_prepare(pkg.data, pkg.len, man.data, man.len, op_key,
                                               "gsma-ts48", e->d_name, &it, reason, sizeof reason),
                         0);
        assert_int_equal(rsp_store_profile_import(st, &it, 1, "ts48"), 0);
        print_message("# %s: %s %s -> %d\n", e->d_name, m.iccid, m.imsi, it.result);
        if (it.result == 0) {
            imported++;
            assert_int_equal(rsp_inventory_recheck(st, m.iccid, NULL, 0, NULL), 0);
        } else {
            assert_int_equal(it.result, RSP_ESTATE); /* same ICCID as an earlier package */
        }
        rsp_buf_free(&pkg);
        rsp_buf_free(&man);
    }
    closedir(d);
    assert_true(imported > 0);
    rsp_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_bulk),      cmocka_unit_test(test_recheck),
        cmocka_unit_test(test_ts48),      cmocka_unit_test(test_batch_manifest), /* branch import */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
