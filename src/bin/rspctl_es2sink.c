/* rspctl es2-sink: the operator side of ES2+.HandleDownloadProgressInfo for labs and tests. It
 * listens, checks each notification the SM-DP+ sends (SGP.22 §5.3.5 JSON, decoded with the same
 * codec rsp-smdp uses), appends it as one line "<notificationPointId> <status> <iccid> <json>"
 * to a file (fsync'd), and answers 204 as the SM-DP+ expects. Runs until SIGTERM/SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsp/err.h"
#include "rsp/es2p_json.h"
#include "rsp/http_server.h"
#include "rspctl.h"

struct sink {
    FILE *out;
    pthread_mutex_t lock;
    unsigned received;
};

static void sink_usage(FILE *f)
{
    fprintf(f, "usage: rspctl es2-sink --out FILE [--listen ADDR] [--port N] [--port-file FILE]\n"
               "                       [--tls-chain PEM --tls-key PEM]\n"
               "\n"
               "Receives ES2+ HandleDownloadProgressInfo notifications at\n"
               "/gsma/rsp2/es2plus/handleDownloadProgressInfo, checks them, answers 204 and\n"
               "appends one line per notification to FILE: the notificationPointId, the status,\n"
               "the ICCID and the JSON body. --port 0 (the default) picks a free port, written to\n"
               "--port-file once listening. Plain HTTP unless --tls-chain/--tls-key are given.\n"
               "Stops on SIGTERM or SIGINT.\n");
}

static int on_hdpi(void *ctx, const struct rsp_http_request *req, struct rsp_http_response *resp)
{
    struct sink *s = ctx;
    struct rsp_es2_request rq;
    struct rsp_status_code refusal;
    if (rsp_es2_decode_request(RSP_ES2_HANDLE_DOWNLOAD_PROGRESS_INFO, (const char *)req->body,
                               req->body_len, &rq, &refusal) != 0) {
        snprintf(resp->log_outcome, sizeof resp->log_outcome, "Failed %s/%s", refusal.subject,
                 refusal.reason);
        return rsp_es_encode_failure(&refusal, &resp->body);
    }
    const struct rsp_es2_hdpi_req *h = &rq.u.hdpi;
    pthread_mutex_lock(&s->lock);
    fprintf(s->out, "%d %s %s %.*s\n", h->notification_point_id,
            rsp_es_status_name(h->notification_point_status.status), h->iccid, (int)req->body_len,
            (const char *)req->body);
    fflush(s->out);
    fsync(fileno(s->out));
    s->received++;
    pthread_mutex_unlock(&s->lock);
    rsp_es2_request_free(&rq);
    resp->status = 204;
    snprintf(resp->log_outcome, sizeof resp->log_outcome, "received");
    return 0;
}

int rspctl_cmd_es2sink(int argc, char **argv)
{
    const char *out = NULL, *listen_addr = "127.0.0.1", *port_file = NULL, *chain = NULL,
               *key = NULL, *v;
    unsigned port = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (rspctl_is_help(argv[i])) {
            sink_usage(stdout);
            return 0;
        }
        if ((m = rspctl_opt_value(argc, argv, &i, "--out", &v)) > 0)
            out = v;
        else if (m == 0 && (m = rspctl_opt_value(argc, argv, &i, "--listen", &v)) > 0)
            listen_addr = v;
        else if (m == 0 && (m = rspctl_opt_value(argc, argv, &i, "--port", &v)) > 0)
            port = (unsigned)strtoul(v, NULL, 10);
        else if (m == 0 && (m = rspctl_opt_value(argc, argv, &i, "--port-file", &v)) > 0)
            port_file = v;
        else if (m == 0 && (m = rspctl_opt_value(argc, argv, &i, "--tls-chain", &v)) > 0)
            chain = v;
        else if (m == 0 && (m = rspctl_opt_value(argc, argv, &i, "--tls-key", &v)) > 0)
            key = v;
        else {
            sink_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!out || port > 65535 || (!chain != !key)) {
        sink_usage(stderr);
        return EXIT_USAGE;
    }
    struct sink s = {.out = fopen(out, "a")};
    if (!s.out) {
        fprintf(stderr, "rspctl es2-sink: cannot open %s\n", out);
        return 1;
    }
    pthread_mutex_init(&s.lock, NULL);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    const struct rsp_http_route route = {"/gsma/rsp2/es2plus/handleDownloadProgressInfo",
                                         "ES2+.HandleDownloadProgressInfo", on_hdpi, &s};
    struct rsp_http_config hc = {.bind_addr = listen_addr,
                                 .port = (uint16_t)port,
                                 .threads = 2,
                                 .plain_http = chain == NULL,
                                 .tls_chain_file = chain,
                                 .tls_key_file = key,
                                 .error_log = stderr};
    struct rsp_http_server *srv = NULL;
    int rc = rsp_http_server_start(&hc, &route, 1, &srv);
    if (rc) {
        fprintf(stderr, "rspctl es2-sink: cannot listen on %s:%u: %s\n", listen_addr, port,
                rsp_strerror(rc));
        fclose(s.out);
        return 1;
    }
    unsigned bound = rsp_http_server_port(srv);
    if (port_file) {
        char txt[16];
        int n = snprintf(txt, sizeof txt, "%u\n", bound);
        char dir[4096];
        const char *slash = strrchr(port_file, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - port_file) : 1,
                 slash ? port_file : ".");
        rspctl_write_atomic(dir, slash ? slash + 1 : port_file, txt, (size_t)n, 0644);
    }
    fprintf(stderr, "rspctl es2-sink: listening on %s:%u, writing to %s\n", listen_addr, bound,
            out);
    int sig = 0;
    sigwait(&sigs, &sig);
    rsp_http_server_stop(srv, 2000);
    fprintf(stderr, "rspctl es2-sink: %u notifications received\n", s.received);
    fclose(s.out);
    pthread_mutex_destroy(&s.lock);
    return 0;
}
