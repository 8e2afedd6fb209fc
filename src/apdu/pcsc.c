/* PC/SC transport on pcsc-lite (see rsp/apdu.h). */
#include "rsp/apdu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winscard.h>

#include "rsp/err.h"

struct pcsc {
    SCARDCONTEXT ctx;
    bool have_ctx;
    SCARDHANDLE card;
    bool have_card;
    DWORD proto;
    char *want; /* reader selector given by the caller, or NULL */
};

static void pcsc_log(const char *what, LONG rv)
{
    fprintf(stderr, "pcsc: %s: %s (0x%08lX)\n", what, pcsc_stringify_error(rv), (unsigned long)rv);
}

/* Multi-string of reader names (NUL-separated, double-NUL-terminated), malloc'd. */
static int list_readers(SCARDCONTEXT ctx, char **out, DWORD *outlen)
{
    DWORD len = 0;
    LONG rv = SCardListReaders(ctx, NULL, NULL, &len);
    if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE)
        return RSP_ENOTFOUND;
    if (rv != SCARD_S_SUCCESS) {
        pcsc_log("SCardListReaders", rv);
        return RSP_EIO;
    }
    char *buf = malloc(len ? len : 1);
    if (!buf)
        return RSP_ENOMEM;
    rv = SCardListReaders(ctx, NULL, buf, &len);
    if (rv != SCARD_S_SUCCESS) {
        free(buf);
        if (rv == (LONG)SCARD_E_NO_READERS_AVAILABLE)
            return RSP_ENOTFOUND;
        pcsc_log("SCardListReaders", rv);
        return RSP_EIO;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static bool is_index(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int pcsc_connect(void *vctx)
{
    struct pcsc *p = vctx;
    if (!p->have_ctx) {
        LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
        if (rv != SCARD_S_SUCCESS) {
            pcsc_log("SCardEstablishContext", rv);
            return RSP_EIO;
        }
        p->have_ctx = true;
    }
    if (p->have_card)
        return 0;
    char *names = NULL;
    DWORD len = 0;
    int rc = list_readers(p->ctx, &names, &len);
    if (rc != 0)
        return rc;
    long index = -1;
    if (p->want && is_index(p->want))
        index = strtol(p->want, NULL, 10);
    rc = RSP_ENOTFOUND;
    long i = 0;
    for (char *n = names; n < names + len && *n; n += strlen(n) + 1, i++) {
        if (index >= 0 && i != index)
            continue;
        if (index < 0 && p->want && *p->want && !strstr(n, p->want))
            continue;
        LONG rv = SCardConnect(p->ctx, n, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                               &p->card, &p->proto);
        if (rv == SCARD_S_SUCCESS) {
            p->have_card = true;
            rc = 0;
            break;
        }
        /* A reader without a card is skipped when choosing the first one. */
        if (index >= 0 || (p->want && *p->want)) {
            pcsc_log("SCardConnect", rv);
            rc = RSP_EIO;
            break;
        }
    }
    free(names);
    return rc;
}

static int pcsc_transmit(void *vctx, const uint8_t *capdu, size_t len, struct rsp_buf *rapdu)
{
    struct pcsc *p = vctx;
    if (!p->have_card)
        return RSP_ESTATE;
    rsp_buf_reset(rapdu);
    /* 256 bytes of data + SW1 SW2 for a short APDU, with room to spare. */
    if (rsp_buf_reserve(rapdu, 258 + 2) != 0)
        return RSP_ENOMEM;
    DWORD rlen = (DWORD)rapdu->cap;
    const SCARD_IO_REQUEST *pci = p->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    LONG rv = SCardTransmit(p->card, pci, capdu, (DWORD)len, NULL, rapdu->data, &rlen);
    if (rv != SCARD_S_SUCCESS) {
        pcsc_log("SCardTransmit", rv);
        if (rv == (LONG)SCARD_W_RESET_CARD || rv == (LONG)SCARD_W_REMOVED_CARD ||
            rv == (LONG)SCARD_E_NO_SMARTCARD) {
            /* Channels and selections are gone: drop the handle so that the next session's
             * connect attaches afresh. */
            SCardDisconnect(p->card, SCARD_LEAVE_CARD);
            p->have_card = false;
        }
        return RSP_EIO;
    }
    rapdu->len = rlen;
    return 0;
}

static void pcsc_disconnect(void *vctx)
{
    struct pcsc *p = vctx;
    if (p->have_card) {
        SCardDisconnect(p->card, SCARD_LEAVE_CARD);
        p->have_card = false;
    }
}

static void pcsc_destroy(void *vctx)
{
    struct pcsc *p = vctx;
    pcsc_disconnect(p);
    if (p->have_ctx)
        SCardReleaseContext(p->ctx);
    free(p->want);
    free(p);
}

static const struct rsp_apdu_transport_ops pcsc_ops = {
    .name = "pcsc",
    .connect = pcsc_connect,
    .transmit = pcsc_transmit,
    .disconnect = pcsc_disconnect,
    .destroy = pcsc_destroy,
};

int rsp_apdu_pcsc_new(struct rsp_apdu_transport **out, const char *reader)
{
    if (!out)
        return RSP_EINVAL;
    *out = NULL;
    struct pcsc *p = calloc(1, sizeof *p);
    struct rsp_apdu_transport *t = calloc(1, sizeof *t);
    if (!p || !t)
        goto nomem;
    if (reader && *reader) {
        p->want = strdup(reader);
        if (!p->want)
            goto nomem;
    }
    t->ops = &pcsc_ops;
    t->ctx = p;
    *out = t;
    return 0;
nomem:
    if (p)
        free(p->want);
    free(p);
    free(t);
    return RSP_ENOMEM;
}

int rsp_apdu_pcsc_list(struct rsp_buf *out)
{
    if (!out)
        return RSP_EINVAL;
    SCARDCONTEXT ctx;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
    if (rv != SCARD_S_SUCCESS) {
        pcsc_log("SCardEstablishContext", rv);
        return RSP_EIO;
    }
    char *names = NULL;
    DWORD len = 0;
    int rc = list_readers(ctx, &names, &len);
    if (rc == 0) {
        for (char *n = names; n < names + len && *n; n += strlen(n) + 1) {
            rsp_buf_append(out, n, strlen(n));
            rsp_buf_append_byte(out, '\n');
        }
        rsp_buf_append_byte(out, '\0');
        if (out->err)
            rc = out->err;
        else
            out->len--; /* the NUL is there but not counted */
        free(names);
    }
    SCardReleaseContext(ctx);
    return rc;
}
