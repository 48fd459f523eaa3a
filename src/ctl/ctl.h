/* ctl.h - rsmctl: subcommands and the helpers they share.
 *
 * Adding a subcommand: write `int rsmctl_<name>(int argc, char **argv)` in
 * src/ctl/<name>.c, declare it below, and add one line to the table in
 * main.c. A subcommand gets argv[0] = its own name, prints its own --help,
 * and returns one of the RSMCTL_EXIT_* codes. */
#ifndef RSM_CTL_H
#define RSM_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"

/* Exit codes shared by every subcommand (documented in `rsmctl --help`). */
enum {
    RSMCTL_EXIT_OK = 0,          /* nothing needed, or done */
    RSMCTL_EXIT_FAILED = 1,      /* attempted and failed part-way */
    RSMCTL_EXIT_USAGE = 2,       /* bad flags or input; nothing contacted */
    RSMCTL_EXIT_UNAVAILABLE = 3, /* nothing reachable / nothing eligible */
    RSMCTL_EXIT_AUTH = 4,        /* an agent refused the password */
};

/* --- subcommands -------------------------------------------------------- */

/* `rsmctl promote [options] host:port ...` (promote.c). */
int rsmctl_promote(int argc, char **argv);
int rsmctl_status(int argc, char **argv);     /* status.c */
int rsmctl_members(int argc, char **argv);    /* members.c */
int rsmctl_failover(int argc, char **argv);   /* failover.c */
int rsmctl_switchover(int argc, char **argv); /* failover.c */
int rsmctl_pause(int argc, char **argv);      /* failover.c */
int rsmctl_resume(int argc, char **argv);     /* failover.c */
int rsmctl_history(int argc, char **argv);    /* failover.c */
int rsmctl_redis_boot(int argc, char **argv); /* redis_boot.c */

/* --- shared helpers (opts.c) -------------------------------------------- */

/* Largest password we read, including the NUL. */
#define RSMCTL_SECRET_MAX 512

/* Load the Redis password: from `path` if not NULL (one line; a trailing
 * "\n" or "\r\n" is dropped), else from the environment variable `env` if
 * set and non-empty, else leave buf empty. Returns 0 or RSM_EINVAL /
 * RSM_EIO with a message that names the file (never its content). */
int rsmctl_read_secret(const char *path, const char *env, char *buf, size_t len,
                       char *errmsg, size_t errlen);

/* Say a usage error on stderr as "<prog>: <message> (see <prog> --help)"
 * and return RSMCTL_EXIT_USAGE, so that `return rsmctl_usage_error(...)`
 * reads well. prog is "rsmctl <subcommand>". */
int rsmctl_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a decimal number in [min, max] (digits only). 0 or RSM_EINVAL. */
int rsmctl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Local wall-clock time "HH:MM:SS.mmm" into buf (at least 16 bytes). */
const char *rsmctl_timestamp(char *buf, size_t len);

/* --- DNS SRV discovery (srv.c) ------------------------------------------ */

/* Look up the SRV record `name` and store its targets as addresses
 * (target host name, port), lowest priority first, duplicates dropped, at
 * most max. Blocking (res_nquery): call before starting any loop. Returns
 * 0 with *n >= 1, RSM_EINVAL for a bad name, RSM_ENOTFOUND when the name
 * has no usable SRV record, RSM_EPARSE for a malformed answer; errmsg
 * names `name`. */
int rsmctl_srv_lookup(const char *name, struct rsm_addr *out, size_t max,
                      size_t *n, char *errmsg, size_t errlen);

#endif /* RSM_CTL_H */
