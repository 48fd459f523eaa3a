/* promote.h - `rsmctl promote`'s pieces and what they share (private to
 * promote*.c):
 *
 *   promote.c         the loop, the probe, the decision, the entry point
 *   promote_opts.c    flags, addresses, --srv, the password
 *   promote_act.c     promote, verify, re-point (phases 2-3)
 *   promote_report.c  the table and --json
 *
 * Ownership: rsmctl_promote() allocates the options and the run (both
 * large) and frees them; the run's links are closed before its loop. */
#ifndef RSM_CTL_PROMOTE_H
#define RSM_CTL_PROMOTE_H

#include "ctl.h"
#include "rsm/err.h"
#include "rsm/info.h"
#include "rsm/redis.h"
#include "rsm/topology.h"
#include "tlsflags.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <uv.h>

/* An error message naming an endpoint. */
#define PROMOTE_ERR_SIZE (RSM_ADDR_STRLEN + RSM_ERRMSG_SIZE + 64)

/* The flags and the endpoints, all checked before anything is contacted. */
struct promote_options {
    bool dry_run;
    bool json;
    const char *srv;
    const char *password_file;
    const char *user;
    uint64_t timeout_ms;
    size_t n;
    struct rsm_addr addrs[RSM_TOPOLOGY_MAX];
    char password[RSMCTL_SECRET_MAX]; /* "" for none; wiped at exit */
    struct tlsflags tls; /* --tls etc.: TLS to Redis; freed at exit */
};

/* One endpoint: its link, what it said, the result of the last action. */
struct promote_endpoint {
    struct rsm_addr addr;
    char name[RSM_ADDR_STRLEN];
    struct rsm_redis *link;
    struct rsm_info info;
    int probe_status; /* 0, or the first failure of the probe */
    char probe_err[PROMOTE_ERR_SIZE];
    uint64_t answered_at; /* uv_now of the last probe reply */
    struct promote_run *run;
};

/* One run of the command. Heap-allocated (it is large); owned by
 * rsmctl_promote(). */
struct promote_run {
    uv_loop_t loop;
    struct promote_options *opt;
    FILE *human; /* stdout, or stderr when --json owns stdout */
    size_t n;
    struct promote_endpoint ep[RSM_TOPOLOGY_MAX];
    struct rsm_candidate cand[RSM_TOPOLOGY_MAX];
    struct rsm_plan plan;
    unsigned pending; /* command callbacks still due */
    unsigned failed;  /* actions that failed in the current phase */
    json_t *steps;
};

/* What one action callback needs. */
struct promote_action {
    struct promote_run *run;
    struct promote_endpoint *ep;
    const char *what; /* "promote", "verify", "repoint" */
    char command[96]; /* for the report: "REPLICAOF NO ONE" */
    int status;
    bool is_master; /* verify: role:master seen */
    char err[PROMOTE_ERR_SIZE];
};

/* Flags, addresses, password: everything checked before any Redis is
 * contacted. Returns 0, -1 after --help, or an exit code (the message on
 * stderr). */
int promote_parse_options(int argc, char **argv, struct promote_options *opt);

/* Append the targets of --srv. 0, or an exit code after the message. */
int promote_add_srv_targets(struct promote_options *opt);

/* Run the loop until every callback of the current phase has run. */
void promote_wait_all(struct promote_run *run);

/* Carry out the plan (promote and verify if it says so, then re-point).
 * Returns the exit code and sets *result. */
int promote_act(struct promote_run *run, const char **result);

/* "healthy: x" -> "x" when word is "healthy" (the verdict is printed
 * already). */
const char *promote_skip_word(const char *msg, const char *word);

/* What every endpoint is, one line each, on run->human. */
void promote_print_table(const struct promote_run *run);

/* Instances, decision, steps and result as one JSON object on stdout. */
void promote_print_json(const struct promote_run *run, const char *result,
                        int code);

#endif /* RSM_CTL_PROMOTE_H */
