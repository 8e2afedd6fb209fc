/* A generated reconciliation data set with planted discrepancies of every kind, for the unit test
 * (exact findings) and the benchmark (tests/unit/recon, bench/bench_recon.c). Deterministic: the
 * same size and seed give the same profiles, events and expected findings. */
#ifndef RECON_GEN_H
#define RECON_GEN_H

#include <stdio.h>

#include "rsp/recon.h"

struct recon_gen_expect {
    enum rsp_recon_disc kind;
    char subject[33];
};

struct recon_gen {
    struct rsp_recon_profile *p;
    size_t np;
    struct rsp_recon_event *ev;
    size_t nev;
    struct recon_gen_expect *expect; /* sorted by kind, then subject */
    size_t nexpect;
    size_t counts[RSP_DISC_NKINDS];
    struct rsp_recon_params prm;
};

/* n_profiles >= 20000; the events are shuffled with `seed`. */
int recon_gen_make(size_t n_profiles, unsigned long seed, int64_t now, struct recon_gen *g);
void recon_gen_free(struct recon_gen *g);
/* Writes the events of one kind as CSV (header included). */
int recon_gen_write_csv(const struct recon_gen *g, enum rsp_recon_kind kind, FILE *f);

#endif
