/* agentlink.h - rsmctl's calls to agents (status, members, failover, ...).
 *
 * One RESP command sent to one or several agents at once over rsm_redis
 * (include/rsm/redis.h), each with its own deadline, on a private libuv
 * loop that is run until every call is done and then closed. Replies are
 * copied out of hiredis, so they outlive the loop. If the agents need a
 * password, every connection starts with AUTH (done by rsm_redis).
 *
 * Every agent subcommand takes the same flags for this (AGENTLINK_LONGOPTS,
 * AGENTLINK_HELP): --agents (alias --agent), --password-file,
 * --timeout-ms, and the TLS flags of tlsflags.h (--tls, --cacert, --cert,
 * --key); the password may also come from RSM_AGENT_PASSWORD.
 *
 * Ownership: the caller owns struct agentlink and the struct agent_call
 * array; the replies in the calls are allocated here and freed with
 * agentlink_calls_free(); agentlink_wipe() clears the password (of a copy
 * too); agentlink_free() also frees the TLS context (the original only). */
#ifndef RSM_CTL_AGENTLINK_H
#define RSM_CTL_AGENTLINK_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl.h"
#include "rsm/addr.h"
#include "tlsflags.h"
#include "rsm/err.h"

#define AGENTLINK_DEFAULT  "127.0.0.1:26379"
#define AGENTLINK_MAX      16
#define AGENTLINK_ERR_SIZE (RSM_ERRMSG_SIZE + RSM_ADDR_STRLEN)
#define AGENTLINK_PW_ENV   "RSM_AGENT_PASSWORD"

/* Which agents to ask and how. */
struct agentlink {
    size_t n;
    struct rsm_addr agents[AGENTLINK_MAX]; /* asked in this order */
    uint64_t timeout_ms;                   /* per call: connect, AUTH,
                                              reply; 0 = the default */
    const char *password_file;             /* --password-file or NULL */
    char password[RSMCTL_SECRET_MAX];      /* "" for none */
    struct tlsflags tls;                   /* tls.ctx NULL: plaintext */
};

/* getopt_long entries of the shared flags (their values: 'a', 'P', 't',
 * TLSFLAGS_OPT_*). */
#define AGENTLINK_LONGOPTS                                                     \
    {"agent", required_argument, NULL, 'a'},                                   \
        {"agents", required_argument, NULL, 'a'},                              \
        {"password-file", required_argument, NULL, 'P'},                       \
        {"timeout-ms", required_argument, NULL, 't'}, TLSFLAGS_LONGOPTS

/* --help lines of --agents and --password-file (--timeout-ms is each
 * subcommand's own: its default differs). */
#define AGENTLINK_HELP                                                         \
    "  --agents HOST:PORT[,...]  agents to ask, in turn, until one answers\n"  \
    "                            (repeatable; --agent is the same; default:\n" \
    "                            $RSM_AGENT, else " AGENTLINK_DEFAULT ")\n"    \
    "  --password-file FILE      the agents' password (first line of FILE);\n" \
    "                            default: $" AGENTLINK_PW_ENV                  \
    "\n" TLSFLAGS_HELP

/* Take one of the shared flags: 0 when c is one of them (and its value
 * good), RSM_EINVAL with errmsg for a bad value, RSM_ENOTFOUND for any
 * other c. */
int agentlink_option(struct agentlink *l, int c, const char *arg, char *errmsg,
                     size_t errlen);

/* The cases every agent subcommand's getopt switch ends with: 'h' prints
 * usage(stdout) and returns -1 (done: exit 0); one of the shared flags is
 * taken (0); '?', a bad value of a shared flag or any other c is a usage
 * error, said on stderr with rsmctl_usage_error(prog, ...), and returns
 * RSMCTL_EXIT_USAGE. */
int agentlink_getopt_common(struct agentlink *l, const char *prog, int c,
                            const char *arg, void (*usage)(FILE *out));

/* After the flags: the default agents if none was given ($RSM_AGENT,
 * else 127.0.0.1:26379), the default timeout if none, and the password
 * (--password-file, else $RSM_AGENT_PASSWORD). 0, or RSM_EINVAL / RSM_EIO
 * with errmsg (which never holds the password). */
int agentlink_finish(struct agentlink *l, uint64_t default_timeout_ms,
                     char *errmsg, size_t errlen);

/* Clear the password from memory. */
void agentlink_wipe(struct agentlink *l);

/* agentlink_wipe() and free the TLS context: once, on the struct
 * agentlink_finish() filled (not on a copy). */
void agentlink_free(struct agentlink *l);

/* --- calls -----------------------------------------------------------------
 */

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
                             RSM_ETIMEOUT, RSM_EAUTH, ... with err set */
    char err[AGENTLINK_ERR_SIZE];
    struct agent_reply reply;
};

/* Send argv to every calls[i].addr at once and wait for all of them (each
 * has l->timeout_ms for connect, AUTH and reply). Returns 0, or RSM_ENOMEM
 * if the loop could not be set up (then every status is RSM_ENOMEM). */
int agentlink_call_all(const struct agentlink *l, struct agent_call *calls,
                       size_t n, int argc, const char *const *argv);

/* Same for one agent; returns calls->status. */
int agentlink_call(const struct agentlink *l, struct agent_call *call, int argc,
                   const char *const *argv);

void agentlink_calls_free(struct agent_call *calls, size_t n);

/* The agent refused us for want of the right password: AUTH refused
 * (RSM_EAUTH), or a -NOAUTH / -WRONGPASS error reply. */
bool agentlink_auth_failed(const struct agent_call *c);

/* One line on what went wrong with a call that has no usable reply (auth
 * failures explained, with what to do), into buf; returns buf. */
const char *agentlink_describe(const struct agent_call *c, char *buf,
                               size_t len);

/* "-NOTLEADER <id> <host:port>" in an error reply: true with the leader's
 * id and API address. */
bool agentlink_notleader(const struct agent_call *c, uint64_t *id,
                         struct rsm_addr *api);

/* Send argv to l's agents in turn until one answers: any reply, error
 * replies included, except an authentication failure. Each agent that
 * does not answer is reported on stderr as "<prog>: <what>". Returns the
 * index of the agent that answered, its reply in *c (the caller frees it
 * with agentlink_calls_free), or -1 with *exit_code set:
 * RSMCTL_EXIT_AUTH if any agent refused the password, else
 * RSMCTL_EXIT_UNAVAILABLE; nothing to free then. */
long agentlink_ask_first(const struct agentlink *l, const char *prog,
                         struct agent_call *c, int argc,
                         const char *const *argv, int *exit_code);

/* For commands only the leader takes: agentlink_ask_first(), then, if the
 * answer is -NOTLEADER, the same once more to the leader it names (saying
 * so on stderr). Returns RSMCTL_EXIT_OK with the last reply in *c (it may
 * be an error reply: the caller decides) and the address that gave it in
 * *answered; or an exit code, the reason on stderr and nothing to free:
 * RSMCTL_EXIT_UNAVAILABLE (nothing reachable, "-NOLEADER": no leader
 * elected), RSMCTL_EXIT_AUTH, or RSMCTL_EXIT_FAILED when an agent took
 * the request but did not answer in time (it is not sent elsewhere: it
 * may have been carried out). */
int agentlink_ask_leader(const struct agentlink *l, const char *prog,
                         struct agent_call *c, int argc,
                         const char *const *argv, struct rsm_addr *answered);

/* Append the comma-separated agent addresses of text to out[*n...]
 * (max AGENTLINK_MAX in all). 0 or RSM_EINVAL with errmsg. */
int agentlink_parse_agents(const char *text, struct rsm_addr *out, size_t *n,
                           char *errmsg, size_t errlen);

/* The agents to ask when no --agent was given: RSM_AGENT from the
 * environment (comma-separated), else 127.0.0.1:26379. */
int agentlink_default_agents(struct rsm_addr *out, size_t *n, char *errmsg,
                             size_t errlen);

#endif /* RSM_CTL_AGENTLINK_H */
