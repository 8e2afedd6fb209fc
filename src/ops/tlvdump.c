#include "rsp/tlvdump.h"

#include <ctype.h>

#include "rsp/der.h"
#include "rsp/err.h"

static const struct {
    uint32_t tag;
    const char *name;
} names[] = {
    {0xBF20, "EUICCInfo1"},
    {0xBF21, "PrepareDownload"},
    {0xBF22, "EUICCInfo2"},
    {0xBF23, "InitialiseSecureChannelRequest"},
    {0xBF24, "ConfigureISDPRequest"},
    {0xBF25, "StoreMetadataRequest"},
    {0xBF26, "ReplaceSessionKeysRequest"},
    {0xBF27, "ProfileInstallationResultData"},
    {0xBF28, "ListNotification"},
    {0xBF29, "SetNickname"},
    {0xBF2A, "UpdateMetadataRequest"},
    {0xBF2B, "RetrieveNotificationsList"},
    {0xBF2D, "ProfileInfoList"},
    {0xBF2E, "GetEuiccChallenge"},
    {0xBF2F, "NotificationMetadata"},
    {0xBF30, "NotificationSent"},
    {0xBF31, "EnableProfile"},
    {0xBF32, "DisableProfile"},
    {0xBF33, "DeleteProfile"},
    {0xBF34, "EuiccMemoryReset"},
    {0xBF35, "LoadCRL"},
    {0xBF36, "BoundProfilePackage"},
    {0xBF37, "ProfileInstallationResult"},
    {0xBF38, "AuthenticateServer"},
    {0xBF3C, "EuiccConfiguredAddresses"},
    {0xBF3E, "GetEuiccData"},
    {0xBF3F, "SetDefaultDpAddress"},
    {0xBF41, "CancelSession"},
    {0xBF43, "GetRAT"},
    {0x5F37, "signature"},
    {0x5F49, "otPK"},
    {0x5A, "iccid"},
    {0x4F, "aid"},
    {0xE3, "ProfileInfo"},
    {0x9F70, "profileState"},
    {0x86, "segment (encrypted, profile data)"},
    {0x87, "segment (encrypted)"},
    {0x88, "segment (MAC only)"},
};

const char *rsp_tlv_tag_name(uint32_t tag)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].tag == tag)
            return names[i].name;
    return NULL;
}

static void print_value(FILE *f, const struct rsp_tlv *t)
{
    bool text = t->len > 0;
    for (size_t i = 0; i < t->len && text; i++)
        text = isprint(t->val[i]) != 0;
    size_t show = t->len > 64 ? 64 : t->len;
    for (size_t i = 0; i < show; i++)
        fprintf(f, "%02X", t->val[i]);
    if (show < t->len)
        fprintf(f, "... (%zu bytes)", t->len);
    if (text)
        fprintf(f, " \"%.*s\"", (int)(t->len > 80 ? 80 : t->len), (const char *)t->val);
}

static int dump(FILE *f, const uint8_t *base, const uint8_t *p, size_t n, int depth, int max_depth)
{
    struct rsp_der_iter it;
    struct rsp_tlv t;
    int rc;
    rsp_der_iter_init(&it, p, n);
    while (true) {
        const uint8_t *at = it.p;
        rc = rsp_der_next(&it, &t);
        if (rc <= 0) {
            if (rc < 0)
                fprintf(f, "%*s!! malformed at offset %zu: %s\n", 2 * depth, "",
                        (size_t)(at - base), rsp_strerror(rc));
            return rc;
        }
        const char *name = rsp_tlv_tag_name(t.tag);
        fprintf(f, "%*s%0*X", 2 * depth, "", (int)rsp_tag_size(t.tag) * 2, (unsigned)t.tag);
        if (name)
            fprintf(f, " %s", name);
        fprintf(f, " [%zu]", t.len);
        if (rsp_tag_constructed(t.tag) && depth < max_depth) {
            fputc('\n', f);
            rc = dump(f, base, t.val, t.len, depth + 1, max_depth);
            if (rc)
                return rc;
        } else {
            fputc(' ', f);
            print_value(f, &t);
            fputc('\n', f);
        }
    }
}

int rsp_tlvdump(FILE *f, const uint8_t *p, size_t n, int max_depth)
{
    if (max_depth < 0 || max_depth > RSP_DER_MAX_DEPTH)
        max_depth = RSP_DER_MAX_DEPTH;
    return dump(f, p, p, n, 0, max_depth);
}
