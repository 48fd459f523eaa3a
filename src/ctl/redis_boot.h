/* redis_boot.h - `rsmctl redis-boot`'s pieces and what they share
 * (private to redis_boot*.c):
 *
 *   redis_boot.c        the rounds, the fallback, the state file, exec
 *   redis_boot_opts.c   --help and the flags
 *   redis_boot_files.c  the instance's data files: does it hold data?
 *   redis_boot_ask.c    asking the agents (RSM STATUS), one round
 *
 * Ownership: the options are rsmctl_redis_boot()'s (on its stack); the
 * Redis arguments point into its argv. */
#ifndef RSM_CTL_REDIS_BOOT_H
#define RSM_CTL_REDIS_BOOT_H

#include "ctl.h"
#include "rsm/boot.h"
#include "tlsflags.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_BOOT_PROG       "rsmctl redis-boot"
#define REDIS_BOOT_MAX_AGENTS 16
#define REDIS_BOOT_STATE_NAME "rsm-boot.state"

/* The flags, and the redis-server command line after "--". */
struct redis_boot_options {
    size_t n_agents;
    struct rsm_addr agents[REDIS_BOOT_MAX_AGENTS];
    char group[RSM_GROUP_NAME_MAX];
    struct rsm_addr self;
    bool self_set;
    const char *data_dir; /* --data-dir, else from the Redis arguments */
    const char *state_file;
    uint64_t wait_ms, poll_ms, timeout_ms;
    bool dry_run;
    char password[RSMCTL_SECRET_MAX];
    struct tlsflags tls; /* TLS to the agents; freed before the exec */
    int redis_argc;
    char **redis_argv;
};

/* Where Redis keeps its data, from its arguments (config file, then
 * --options over it). */
struct redis_boot_files {
    char dir[4096];
    char dbfilename[256];
    bool appendonly;
    char appenddirname[256];
    char appendfilename[256];
};

/* Parse the flags (exit 0 after --help). 0, or a usage error's exit code
 * with its message on stderr. */
int redis_boot_parse_options(int argc, char **argv,
                             struct redis_boot_options *o);

/* Where the instance keeps its data: defaults, then its config file (the
 * first argument if it is not a --flag), then its --flags, then
 * --data-dir. */
void redis_boot_files_read(const struct redis_boot_options *o,
                           struct redis_boot_files *f);

/* Whether the instance would start with data; `what` says why. */
bool redis_boot_has_data(const struct redis_boot_files *f, char *what,
                         size_t len);

/* One round: ask every agent, pick the view to believe, decide for this
 * instance (data: whether it holds data). false if no agent gave a usable
 * view; else *d and the id of the agent believed in *agent. */
bool redis_boot_round_decide(const struct redis_boot_options *o, bool data,
                             struct rsm_boot_decision *d, uint64_t *agent);

#endif /* RSM_CTL_REDIS_BOOT_H */
