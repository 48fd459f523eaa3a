/* agentlink.h - rsmctl's calls to agents (status.c, members.c).
 *
 * One RESP command sent to one or several agents at once over rsm_redis
 * (include/rsm/redis.h), each with its own deadline, on a private libuv
 * loop that is run until every call is done and then closed. Replies are
 * copied out of hiredis, so they outlive the loop.
 *
 * Ownership: the caller owns the struct agent_call array; the replies in
 * it are allocated here and freed with agentlink_calls_free(). */
#ifndef RSM_CTL_AGENTLINK_H
#define RSM_CTL_AGENTLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rsm/addr.h"
#include "rsm/err.h"

#define AGENTLINK_DEFAULT  "127.0.0.1:26379"
#define AGENTLINK_MAX      16
#define AGENTLINK_ERR_SIZE (RSM_ERRMSG_SIZE + RSM_ADDR_STRLEN)

/* A reply, copied (REDIS_REPLY_* types of hiredis). */
struct agent_reply {
    int type;
    long long integer;
    char *str; /* STRING, STATUS, ERROR: NUL-terminated copy */
    size_t len;
    size_t elements; /* ARRAY */
    struct agent_reply *element;
};

struct agent_call {
    struct rsm_addr addr; /* set by the caller */
    int status;           /* 0 with a reply; RSM_EREPLY with the error
                             reply in reply.str; or RSM_ECONNECT,
                             RSM_ETIMEOUT, ... with err set */
    char err[AGENTLINK_ERR_SIZE];
    struct agent_reply reply;
};

/* Send argv to every calls[i].addr at once and wait for all of them (each
 * has timeout_ms for connect + reply). Returns 0, or RSM_ENOMEM if the
 * loop could not be set up (then every status is RSM_ENOMEM). */
int agentlink_call_all(struct agent_call *calls, size_t n, uint64_t timeout_ms,
                       int argc, const char *const *argv);

/* Same for one agent; returns calls->status. */
int agentlink_call(struct agent_call *call, uint64_t timeout_ms, int argc,
                   const char *const *argv);

void agentlink_calls_free(struct agent_call *calls, size_t n);

/* "-NOTLEADER <id> <host:port>" in an error reply: true with the leader's
 * id and API address. */
bool agentlink_notleader(const struct agent_call *c, uint64_t *id,
                         struct rsm_addr *api);

/* Append the comma-separated agent addresses of text to out[*n...]
 * (max AGENTLINK_MAX in all). 0 or RSM_EINVAL with errmsg. */
int agentlink_parse_agents(const char *text, struct rsm_addr *out, size_t *n,
                           char *errmsg, size_t errlen);

/* The agents to ask when no --agent was given: RSM_AGENT from the
 * environment (comma-separated), else 127.0.0.1:26379. */
int agentlink_default_agents(struct rsm_addr *out, size_t *n, char *errmsg,
                             size_t errlen);

/* --- human tables ----------------------------------------------------------
 * Columns as wide as their widest cell, two spaces apart, left-aligned.
 * Cells are copied. */

#define TABLE_MAX_COLS 8

struct table {
    unsigned cols;
    size_t rows, cap;
    char ***cells;
    bool oom;
};

/* Start a table with its header row (cols strings). */
void table_init(struct table *t, unsigned cols, const char *const *header);

/* Add a row of t->cols strings (NULL prints as empty). */
void table_row(struct table *t, const char *const *cells);

/* Print every row, each line starting with indent. */
void table_print(const struct table *t, FILE *out, const char *indent);

void table_free(struct table *t);

#endif /* RSM_CTL_AGENTLINK_H */
