/* rspctl: helpers shared by the activation-operations subcommands (order, campaign, token, push,
 * quarantine, report funnel); implemented in rspctl_order.c. */
#ifndef RSPCTL_ACT_H
#define RSPCTL_ACT_H

#include <jansson.h>
#include <stdio.h>

#include "rsp/act.h"
#include "rsp/store.h"

/* Common options of these subcommands: --db STORE, --pseudonym-key FILE (customer pseudonyms in
 * audit records; without it the records name no customer). */
struct act_common {
    const char *db;
    const char *pseudonym_key;
};
/* 1 when argv[*i] was one of the common options (consumed), 0 not, -1 value missing. */
int act_common_opt(int argc, char **argv, int *i, struct act_common *c);
/* Opens the store with the pseudonym key; prints why not (prefix = the command). */
int act_open(const struct act_common *c, const char *cmd, struct rsp_store **st);

json_t *act_order_json(const struct rsp_act_order *o);
json_t *act_token_json(const struct rsp_act_token *t);
json_t *act_push_json(const struct rsp_act_push *p);
json_t *act_quarantine_json(const struct rsp_act_quarantine *q);
/* Prints j (pretty) and a newline; frees it. */
void act_print_json(json_t *j);
/* Reserve and release of one order through the ES2+ logic (rsp_es2p_handle): used by
 * `order reserve|release` and `campaign release`. 0 done, 1 refused (message printed), negative
 * on failure. */
int act_reserve(struct rsp_store *st, const char *order_id, const char *op,
                const char *euicc_info_file, bool quiet);
int act_release(struct rsp_store *st, const char *order_id, const char *cc, bool quiet);

int rspctl_cmd_order(int argc, char **argv);
int rspctl_cmd_campaign(int argc, char **argv);
int rspctl_cmd_token(int argc, char **argv);
int rspctl_cmd_push(int argc, char **argv);
int rspctl_cmd_quarantine(int argc, char **argv);
int rspctl_cmd_report(int argc, char **argv);
int rspctl_report_funnel(int argc, char **argv);

#endif
