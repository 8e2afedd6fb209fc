#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp/der.h"
#include "rsp/err.h"
#include "rsp/saip.h"

/* ---- helpers ---- */

/* Re-encodes p[0..n) TLV by TLV with the DER writer (constructed values recursively). */
static void reencode(struct rsp_buf *b, const uint8_t *p, size_t n)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    rsp_der_iter_init(&it, p, n);
    while ((rc = rsp_der_next(&it, &t)) == 1) {
        if (rsp_tag_constructed(t.tag)) {
            size_t m = rsp_der_begin(b, t.tag);
            reencode(b, t.val, t.len);
            rsp_der_end(b, m);
        } else {
            rsp_der_put(b, t.tag, t.val, t.len);
        }
    }
    assert_int_equal(rc, 0);
}

static void assert_canonical(const uint8_t *p, size_t n)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_der_validate(p, n, RSP_DER_MAX_DEPTH), 0);
    reencode(&b, p, n);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, p, n);
    rsp_buf_free(&b);
}

static bool contains(const struct rsp_buf *b, const char *hex)
{
    struct rsp_buf needle = tu_hex(hex);
    bool found = false;
    for (size_t i = 0; !found && i + needle.len <= b->len; i++)
        found = memcmp(b->data + i, needle.data, needle.len) == 0;
    rsp_buf_free(&needle);
    return found;
}

static enum rsp_saip_pe_type type_by_name(const char *name)
{
    for (int t = 0; t < RSP_SAIP_PE_NTYPES; t++)
        if (strcmp(rsp_saip_pe_name((enum rsp_saip_pe_type)t), name) == 0)
            return (enum rsp_saip_pe_type)t;
    fail_msg("unknown PE name %s", name);
    return RSP_SAIP_PE_UNKNOWN;
}

static const uint8_t ki_a[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};

static struct rsp_saip_gen_params default_params(void)
{
    struct rsp_saip_gen_params p;
    memset(&p, 0, sizeof p);
    p.iccid = "8949449999999990023";
    p.imsi = "001010123456063";
    p.spn = "rspkit";
    memcpy(p.ki, ki_a, 16);
    memset(p.opc, 0x5A, 16);
    return p;
}

static struct rsp_buf gen(const struct rsp_saip_gen_params *p)
{
    struct rsp_buf b = RSP_BUF_INIT;
    assert_int_equal(rsp_saip_generate(p, &b), 0);
    return b;
}

/* ---- TS.48 packages against INVENTORY.txt ---- */

struct inv_line {
    char name[128];
    long size;
    char version[8];
    char iccid[32];
    char imsi[32];
    char pes[256];
};

static int read_inventory(struct inv_line *lines, int max)
{
    FILE *f = fopen(tu_shared_path("testdata/ts48-upp/INVENTORY.txt"), "r");
    assert_non_null(f);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        assert_true(n < max);
        struct inv_line *l = &lines[n];
        char *fields[6];
        char *s = line;
        for (int i = 0; i < 6; i++) {
            fields[i] = s;
            char *bar = i < 5 ? strchr(s, '|') : NULL;
            if (i < 5) {
                assert_non_null(bar);
                *bar = '\0';
                s = bar + 1;
            }
        }
        snprintf(l->name, sizeof l->name, "%s", fields[0]);
        l->size = strtol(fields[1], NULL, 10);
        snprintf(l->version, sizeof l->version, "%s", fields[2]);
        snprintf(l->iccid, sizeof l->iccid, "%s", fields[3]);
        snprintf(l->imsi, sizeof l->imsi, "%s", fields[4]);
        snprintf(l->pes, sizeof l->pes, "%s", fields[5]);
        n++;
    }
    fclose(f);
    return n;
}

/* "mf[1], usim[1], ..." : every listed PE type has the listed count. */
static void check_pes(const struct rsp_saip_info *info, const char *list)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
        char *br = strchr(tok, '[');
        assert_non_null(br);
        *br = '\0';
        long want = strtol(br + 1, NULL, 10);
        enum rsp_saip_pe_type t = type_by_name(tok);
        if ((long)info->pe_count[t] != want)
            fail_msg("%s: %zu PEs, INVENTORY says %ld", tok, info->pe_count[t], want);
    }
}

static void test_ts48_packages(void **state)
{
    (void)state;
    TU_REQUIRE_SHARED();
    static struct inv_line inv[64];
    int n = read_inventory(inv, 64);
    assert_true(n > 0);

    /* every .der of the directory is listed, every listed one exists */
    DIR *d = opendir(tu_shared_path("testdata/ts48-upp"));
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".der") != 0)
            continue;
        files++;
        bool listed = false;
        for (int i = 0; i < n; i++)
            listed |= strlen(inv[i].name) == l - 4 && memcmp(inv[i].name, e->d_name, l - 4) == 0;
        if (!listed)
            fail_msg("%s is not in INVENTORY.txt", e->d_name);
    }
    closedir(d);
    assert_int_equal(files, n);

    for (int i = 0; i < n; i++) {
        char rel[256], hex[21], ver[16];
        snprintf(rel, sizeof rel, "testdata/ts48-upp/%.127s.der", inv[i].name);
        struct rsp_buf upp = tu_load(tu_shared_path(rel));
        struct rsp_saip_info info;
        assert_int_equal((long)upp.len, inv[i].size);
        assert_canonical(upp.data, upp.len);
        int rc = rsp_saip_parse(upp.data, upp.len, &info);
        if (rc)
            fail_msg("%s: %s", inv[i].name, rsp_strerror(rc));
        snprintf(ver, sizeof ver, "%u.%u", info.major, info.minor);
        assert_string_equal(ver, inv[i].version);
        /* INVENTORY gives the header's iccid octets in lower-case hex */
        rsp_hex_str(hex, info.iccid_header, 10, 0);
        assert_string_equal(hex, inv[i].iccid);
        char digits[sizeof inv[i].iccid];
        memcpy(digits, inv[i].iccid, sizeof digits);
        digits[strcspn(digits, "fF")] = '\0';
        assert_string_equal(info.iccid_str, digits);
        assert_int_equal(info.iccid[0],
                         (uint8_t)(info.iccid_header[0] << 4 | info.iccid_header[0] >> 4));
        assert_int_equal(info.imsi_state, RSP_SAIP_PRESENT);
        assert_string_equal(info.imsi, inv[i].imsi);
        check_pes(&info, inv[i].pes);
        assert_int_equal(info.pe_count[RSP_SAIP_PE_HEADER], 1);
        assert_int_equal(info.pe_count[RSP_SAIP_PE_END], 1);
        assert_int_equal(info.pe_count[RSP_SAIP_PE_UNKNOWN], 0);
        assert_true(info.services & (1u << RSP_SAIP_SVC_USIM));
        assert_true(info.n_gfste > 0);
        /* the header announces BER-TLV files exactly in the BERTLV variants, and the 5G services
         * (get-identity, ECIES profiles A and B) in every SAIP 2.3 package */
        bool bertlv = strstr(inv[i].name, "BERTLV") && !strstr(inv[i].name, "NOBERTLV") &&
                      !strstr(inv[i].name, "NoBERTLV");
        assert_int_equal(!!(info.services & (1u << RSP_SAIP_SVC_BER_TLV)), bertlv);
        uint64_t fiveg = (1u << RSP_SAIP_SVC_GET_IDENTITY) | (1u << RSP_SAIP_SVC_PROFILE_A_X25519) |
                         (1u << RSP_SAIP_SVC_PROFILE_B_P256);
        assert_true((info.services & fiveg) == (info.minor == 3 ? fiveg : 0));
        /* EF.SPN: "GSMA" 11 "TEST" in the default alphabet (11 = '_') via a fillPattern */
        assert_int_equal(info.spn_state, RSP_SAIP_PRESENT);
        assert_string_equal(info.spn, "GSMA_TEST");

        /* the PE iterator sees the same package, PE by PE, back to back */
        struct rsp_saip_pe_iter it;
        struct rsp_saip_pe pe;
        size_t off = 0, count = 0;
        rsp_saip_pe_iter_init(&it, upp.data, upp.len);
        while ((rc = rsp_saip_pe_next(&it, &pe)) == 1) {
            assert_ptr_equal(pe.tlv.raw, upp.data + off);
            assert_int_equal(pe.index, count);
            assert_int_equal(pe.has_pe_header, pe.type != RSP_SAIP_PE_HEADER);
            off += pe.tlv.raw_len;
            count++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(off, upp.len);
        assert_int_equal(count, info.n_pes);
        rsp_buf_free(&upp);
    }
}

/* ---- generator ---- */

static void roundtrip(const struct rsp_saip_gen_params *p, const char *iccid_digits)
{
    struct rsp_buf b = gen(p);
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(b.data, b.len, &info), 0);
    assert_canonical(b.data, b.len);
    assert_int_equal(info.major, 2);
    assert_int_equal(info.minor, p->minor_version ? p->minor_version : 3);
    assert_string_equal(info.iccid_str, iccid_digits);
    assert_int_equal(info.imsi_state, RSP_SAIP_PRESENT);
    assert_string_equal(info.imsi, p->imsi);
    assert_int_equal(info.spn_state, RSP_SAIP_PRESENT);
    assert_string_equal(info.spn, p->spn);
    assert_int_equal(info.spn_display, 0x01);
    const char *pt = p->profile_type ? p->profile_type : "rspkit test profile";
    assert_int_equal(info.profile_type_len, strlen(pt));
    assert_memory_equal(info.profile_type, pt, strlen(pt));
    assert_int_equal(info.pe_count[RSP_SAIP_PE_HEADER], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_MF], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_USIM], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_AKA_PARAMETER], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_PUK_CODES], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_PIN_CODES], p->include_isim ? 3 : 2);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_ISIM], p->include_isim ? 1 : 0);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_SECURITY_DOMAIN], 1);
    assert_int_equal(info.pe_count[RSP_SAIP_PE_END], 1);
    /* header consistent with the content */
    uint64_t want = (1u << RSP_SAIP_SVC_USIM) | (1u << RSP_SAIP_SVC_MILENAGE);
    if (p->include_isim)
        want |= 1u << RSP_SAIP_SVC_ISIM;
    assert_true(info.services == want);
    assert_int_equal(info.n_gfste, p->include_isim ? 3 : 2);
    char oid[64];
    assert_int_equal(rsp_oid_to_str(info.gfste[1].val, info.gfste[1].len, oid, sizeof oid), 0);
    assert_string_equal(oid, "2.23.143.1.2.4");
    /* EF.ICCID holds the swapped form, Ki travels in the AKA PE */
    char hex[64] = "830A";
    rsp_hex_str(hex + 4, info.iccid, 10, 1);
    assert_true(contains(&b, hex));
    strcpy(hex, "8210");
    rsp_hex_str(hex + 4, p->ki, 16, 1);
    assert_true(contains(&b, hex));
    /* identifications are 1, 2, ... in order */
    struct rsp_saip_pe_iter it;
    struct rsp_saip_pe pe;
    int rc;
    rsp_saip_pe_iter_init(&it, b.data, b.len);
    while ((rc = rsp_saip_pe_next(&it, &pe)) == 1)
        if (pe.index)
            assert_int_equal(pe.identification, pe.index);
    assert_int_equal(rc, 0);
    /* deterministic */
    struct rsp_buf b2 = gen(p);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    rsp_buf_free(&b2);
    rsp_buf_free(&b);
}

static void test_generate_roundtrip(void **state)
{
    (void)state;
    struct rsp_saip_gen_params p = default_params();
    roundtrip(&p, "8949449999999990023");

    p.iccid = "89000123456789012341";
    p.imsi = "262011234567890";
    p.spn = "Test_Net $1@";
    p.include_isim = true;
    p.minor_version = 1;
    p.mnc_len = 2;
    p.profile_type = "operational";
    roundtrip(&p, "89000123456789012341");

    p = default_params();
    p.iccid = "8949000000000000012F";
    p.imsi = "31041012345678"; /* 14 digits: even count, F filler */
    p.spn = "";
    p.include_isim = true;
    p.mnc_len = 3;
    p.pin1 = "12345678";
    p.puk1 = "87654321";
    p.adm1 = "ADMADM11";
    struct rsp_buf b = gen(&p);
    struct rsp_saip_info info;
    assert_int_equal(rsp_saip_parse(b.data, b.len, &info), 0);
    assert_string_equal(info.iccid_str, "8949000000000000012");
    assert_string_equal(info.imsi, "31041012345678");
    assert_int_equal(info.spn_state, RSP_SAIP_PRESENT);
    assert_string_equal(info.spn, "");
    assert_canonical(b.data, b.len);
    /* EF.AD with a 3-digit MNC, IMS domain with the MNC as is */
    assert_true(contains(&b, "B506 8304 00000003"));
    assert_true(contains(&b, "696D732E6D6E633431302E6D6363333130")); /* ims.mnc410.mcc310 */
    rsp_buf_free(&b);
}

static void test_generate_encodings(void **state)
{
    (void)state;
    struct rsp_saip_gen_params p = default_params();
    struct rsp_buf b = gen(&p);
    /* ProfileHeader start: major 2, minor 3 */
    struct rsp_tlv t;
    assert_int_equal(rsp_der_parse(b.data, b.len, &t), 0);
    assert_int_equal(t.tag, 0xA0);
    tu_assert_hex(t.val, 6, "800102 810103");
    /* header iccid un-swapped, F-padded; EF.IMSI of 001010123456063 */
    assert_true(contains(&b, "830A 8949449999999990023F"));
    assert_true(contains(&b, "A30B 8309 080910101032540636"));
    /* EF.SPN: display condition 01, name, FF padding to 17 bytes */
    assert_true(contains(&b, "AD13 8311 01 7273706B6974 FFFFFFFFFFFFFFFFFFFF"));
    /* EF.ACC for class 3 */
    assert_true(contains(&b, "B204 8302 0008"));
    /* end PE last */
    assert_true(b.len > 9);
    assert_int_equal(b.data[b.len - 9], 0xAA);
    rsp_buf_free(&b);
}

static void test_generate_bad_params(void **state)
{
    (void)state;
    struct rsp_buf b = RSP_BUF_INIT;
    struct rsp_saip_gen_params p = default_params();
    p.iccid = "12345";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    p.iccid = "894944999999999002A";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    p = default_params();
    p.imsi = "00101";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    p.imsi = "0010101234560631";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    p = default_params();
    p.spn = "12345678901234567";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ERANGE);
    p.spn = "caf\xC3\xA9";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    p = default_params();
    p.minor_version = 2;
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_EINVAL);
    p = default_params();
    p.pin1 = "12";
    assert_int_equal(rsp_saip_generate(&p, &b), RSP_ESYNTAX);
    assert_int_equal(rsp_saip_generate(NULL, &b), RSP_EINVAL);
    assert_int_equal(b.len, 0);
    rsp_buf_free(&b);
}

/* ---- malformed packages ---- */

static void test_malformed(void **state)
{
    (void)state;
    struct rsp_saip_gen_params p = default_params();
    struct rsp_buf b = gen(&p);
    struct rsp_saip_info info;
    struct rsp_saip_pe_iter it;
    struct rsp_saip_pe pe, first, last;
    memset(&last, 0, sizeof last);

    rsp_saip_pe_iter_init(&it, b.data, b.len);
    assert_int_equal(rsp_saip_pe_next(&it, &first), 1);
    while (rsp_saip_pe_next(&it, &pe) == 1)
        last = pe;
    assert_int_equal(last.type, RSP_SAIP_PE_END);

    /* every strict prefix fails cleanly: ETRUNC inside a PE, EMISSING at a PE boundary */
    for (size_t n = 0; n < b.len; n++) {
        int rc = rsp_saip_parse(b.data, n, &info);
        assert_true(rc == RSP_ETRUNC || rc == RSP_EMISSING);
    }
    assert_int_equal(rsp_saip_parse(b.data, b.len - last.tlv.raw_len - 3, &info), RSP_ETRUNC);
    assert_int_equal(rsp_saip_parse(NULL, 0, &info), RSP_EMISSING);
    /* header missing */
    assert_int_equal(rsp_saip_parse(b.data + first.tlv.raw_len, b.len - first.tlv.raw_len, &info),
                     RSP_EMISSING);
    /* no end */
    assert_int_equal(rsp_saip_parse(b.data, b.len - last.tlv.raw_len, &info), RSP_EMISSING);

    /* garbage after end: a byte, or even a well-formed PE */
    struct rsp_buf g = RSP_BUF_INIT;
    rsp_buf_set(&g, b.data, b.len);
    rsp_buf_append_byte(&g, 0x00);
    assert_int_equal(rsp_saip_parse(g.data, g.len, &info), RSP_ETRAILING);
    rsp_buf_set(&g, b.data, b.len);
    rsp_buf_append(&g, last.tlv.raw, last.tlv.raw_len);
    assert_int_equal(rsp_saip_parse(g.data, g.len, &info), RSP_ETRAILING);

    /* a second header */
    rsp_buf_set(&g, b.data, b.len);
    rsp_buf_insert(&g, first.tlv.raw_len, first.tlv.raw, first.tlv.raw_len);
    assert_int_equal(rsp_saip_parse(g.data, g.len, &info), RSP_EUNEXPECTED);

    /* a PE that is not a context-specific constructed alternative */
    rsp_buf_set(&g, b.data, b.len);
    static const uint8_t seq[2] = {0x30, 0x00};
    rsp_buf_insert(&g, first.tlv.raw_len, seq, 2);
    assert_int_equal(rsp_saip_parse(g.data, g.len, &info), RSP_EUNEXPECTED);

    /* oversize lengths: a PE claiming 2^31 bytes, a header field overrunning its PE */
    struct rsp_buf h = tu_hex("A0 84 7FFFFFFF 800102");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_ETRUNC);
    rsp_buf_free(&h);
    h = tu_hex("A0 05 80 10 0203 04 AA07A0058000810101");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_ETRUNC);
    rsp_buf_free(&h);
    /* non-minimal length */
    h = tu_hex("A0 8103 800102");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_EBADLEN);
    rsp_buf_free(&h);
    /* header without iccid */
    h = tu_hex("A00A 800102 810103 A500 A600 AA07A0058000810101");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_EUNEXPECTED);
    rsp_buf_free(&h);
    h = tu_hex("A006 800102 810103 AA07A0058000810101");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_EMISSING);
    rsp_buf_free(&h);
    /* iccid not BCD */
    h = tu_hex("A016 800102 810103 830A 89494499999999A0023F A500 A600 AA07A0058000810101");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_ESYNTAX);
    rsp_buf_free(&h);
    /* PE without its PEHeader */
    h = tu_hex("A016 800102 810103 830A 8949449999999990023F A500 A600 AA00");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), RSP_EMISSING);
    rsp_buf_free(&h);
    /* minimal valid package: header + end, no USIM */
    h = tu_hex("A016 800102 810103 830A 8949449999999990023F A500 A600 AA07A0058000810101");
    assert_int_equal(rsp_saip_parse(h.data, h.len, &info), 0);
    assert_int_equal(info.imsi_state, RSP_SAIP_ABSENT);
    assert_int_equal(info.spn_state, RSP_SAIP_ABSENT);
    assert_null(info.profile_type);
    assert_int_equal(info.n_pes, 2);
    rsp_buf_free(&h);

    /* single-byte corruptions never crash */
    for (size_t i = 0; i < b.len; i++) {
        rsp_buf_set(&g, b.data, b.len);
        g.data[i] ^= 0xFF;
        (void)rsp_saip_parse(g.data, g.len, &info);
    }
    rsp_buf_free(&g);
    rsp_buf_free(&b);
}

/* ---- EF content assembly in the USIM PE ---- */

static int parse_with_usim(const char *usim_hex, struct rsp_saip_info *info)
{
    struct rsp_buf b = tu_hex("A016 800102 810103 830A 8949449999999990023F A500 A600");
    struct rsp_buf u = tu_hex(usim_hex);
    size_t m = rsp_der_begin(&b, 0xB3);
    rsp_buf_append(&b, u.data, u.len);
    rsp_der_end(&b, m);
    struct rsp_buf e = tu_hex("AA07A0058000810102");
    rsp_buf_append(&b, e.data, e.len);
    assert_int_equal(b.err, 0);
    int rc = rsp_saip_parse(b.data, b.len, info);
    rsp_buf_free(&e);
    rsp_buf_free(&u);
    rsp_buf_free(&b);
    return rc;
}

#define USIM_HDR "A0058000810101 8106 67810F010204 A200"

static void test_imsi_content(void **state)
{
    (void)state;
    struct rsp_saip_info info;
    /* plain fillFileContent */
    assert_int_equal(parse_with_usim(USIM_HDR "A30B 8309 080910101032540636", &info), 0);
    assert_int_equal(info.imsi_state, RSP_SAIP_PRESENT);
    assert_string_equal(info.imsi, "001010123456063");
    /* fill pattern from the Fcp, then fillFileOffset (relative) and a second write */
    assert_int_equal(parse_with_usim(USIM_HDR "A315 A10A A508 C106 0809101010FF"
                                              "820105 8304 32540636",
                                     &info),
                     0);
    assert_string_equal(info.imsi, "001010123456063");
    /* two writes back to back, the offset counting from the end of the first */
    assert_int_equal(parse_with_usim(USIM_HDR "A310 8302 0809 820100 8307 10101032540636", &info),
                     0);
    assert_string_equal(info.imsi, "001010123456063");
    /* even number of digits: F filler */
    assert_int_equal(parse_with_usim(USIM_HDR "A30B 8309 0801101010325406F6", &info), 0);
    assert_string_equal(info.imsi, "00101012345606");
    assert_int_equal(info.imsi_state, RSP_SAIP_PRESENT);
    /* content beyond the template's 9 bytes, or an offset past the end */
    assert_int_equal(parse_with_usim(USIM_HDR "A30C 830A 08091010103254063600", &info), RSP_ERANGE);
    assert_int_equal(parse_with_usim(USIM_HDR "A305 8203010000", &info), RSP_ERANGE);
    assert_int_equal(parse_with_usim(USIM_HDR "A304 82020100", &info), RSP_ERANGE);
    /* an Fcp shrinking the file below what was already written */
    assert_int_equal(
        parse_with_usim(USIM_HDR "A313 8309 080910101032540636 A103 800101 8301 00", &info),
        RSP_ERANGE);
    /* no content: absent, not an error; undecodable content: malformed */
    assert_int_equal(parse_with_usim(USIM_HDR "A300", &info), 0);
    assert_int_equal(info.imsi_state, RSP_SAIP_ABSENT);
    assert_int_equal(parse_with_usim(USIM_HDR "A30B 8309 0809101010325406A6", &info), 0);
    assert_int_equal(info.imsi_state, RSP_SAIP_MALFORMED);
    assert_int_equal(parse_with_usim(USIM_HDR "A30B 8309 09091010103254063F", &info), 0);
    assert_int_equal(info.imsi_state, RSP_SAIP_MALFORMED);
    /* EF.SPN from a repeatPattern */
    assert_int_equal(parse_with_usim(USIM_HDR "A30B 8309 080910101032540636"
                                              "AD08 A106 A504 C2024142",
                                     &info),
                     0);
    assert_int_equal(info.spn_state, RSP_SAIP_PRESENT);
    assert_int_equal(info.spn_display, 0x41);
    assert_string_equal(info.spn, "BABABABABABABABA");
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rsp_saip_pe_name(RSP_SAIP_PE_MF), "mf");
    assert_string_equal(rsp_saip_pe_name(RSP_SAIP_PE_OPT_USIM), "opt-usim");
    assert_string_equal(rsp_saip_pe_name(RSP_SAIP_PE_GENERIC_FILE_MANAGEMENT),
                        "genericFileManagement");
    assert_string_equal(rsp_saip_pe_name((enum rsp_saip_pe_type)99), "unknown");
    assert_string_equal(rsp_saip_service_name(RSP_SAIP_SVC_BER_TLV), "ber-tlv");
    assert_string_equal(rsp_saip_service_name(RSP_SAIP_SVC_EAKA), "eaka");
    assert_null(rsp_saip_service_name(30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_generate_encodings),
        cmocka_unit_test(test_generate_roundtrip),
        cmocka_unit_test(test_generate_bad_params),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_imsi_content),
        cmocka_unit_test(test_ts48_packages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
