/* tlsflags.h - rsmctl's TLS flags, the same for every subcommand that
 * connects: --tls, --cacert FILE, --cert FILE, --key FILE (or the
 * variables RSM_TLS, RSM_TLS_CACERT, RSM_TLS_CERT, RSM_TLS_KEY), and the
 * client context (rsm/tls.h) made of them. The links (rsm/redis.h) then
 * speak TLS on it: to the agents' client ports (agentlink.c) and to Redis
 * (promote). The server is verified against the CAs and the address
 * given (its IP, or its name).
 *
 * A file flag without --tls is a usage error; the variables are read
 * only with TLS on (flags win over variables).
 *
 * Ownership: the caller owns struct tlsflags; tlsflags_finish() makes the
 * context, tlsflags_free() frees it (copies of the struct share it). */
#ifndef RSM_CTL_TLSFLAGS_H
#define RSM_CTL_TLSFLAGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "rsm/tls.h"

/* getopt_long values of the flags (above any character). */
enum {
    TLSFLAGS_OPT_TLS = 0x7f00,
    TLSFLAGS_OPT_CACERT,
    TLSFLAGS_OPT_CERT,
    TLSFLAGS_OPT_KEY
};

struct tlsflags {
    bool on;             /* --tls, or RSM_TLS */
    const char *cacert;  /* trusted CAs, PEM; NULL: the system's */
    const char *cert;    /* client certificate (PEM), NULL: none */
    const char *key;     /* its key */
    bool file_flag;      /* a file flag was given: needs --tls */
    struct rsm_tls *ctx; /* made by tlsflags_finish() when on, else NULL */
};

/* getopt_long entries of the flags. */
#define TLSFLAGS_LONGOPTS                                                      \
    {"tls", no_argument, NULL, TLSFLAGS_OPT_TLS},                              \
        {"cacert", required_argument, NULL, TLSFLAGS_OPT_CACERT},              \
        {"cert", required_argument, NULL, TLSFLAGS_OPT_CERT},                  \
    {                                                                          \
        "key", required_argument, NULL, TLSFLAGS_OPT_KEY                       \
    }

/* --help lines of the flags. */
#define TLSFLAGS_HELP                                                          \
    "  --tls                     speak TLS (default: $RSM_TLS)\n"              \
    "  --cacert FILE             CA certificates (PEM) to verify the\n"        \
    "                            server's against (default: "                  \
    "$RSM_TLS_CACERT,\n"                                                       \
    "                            else the system's)\n"                         \
    "  --cert FILE, --key FILE   client certificate and key (PEM), for\n"      \
    "                            servers that ask for one (default:\n"         \
    "                            $RSM_TLS_CERT, $RSM_TLS_KEY)\n"

/* Take one of the flags: 0 when c is one of them, RSM_ENOTFOUND for any
 * other c. */
int tlsflags_option(struct tlsflags *t, int c, const char *arg);

/* After the flags: the variables, the checks, the context. 0, or
 * RSM_EINVAL with errmsg (a file flag without --tls, a bad RSM_TLS, a
 * file that cannot be used: named), or RSM_ENOMEM / RSM_EIO (no libssl). */
int tlsflags_finish(struct tlsflags *t, char *errmsg, size_t errlen);

/* Free the context (NULL: nothing). */
void tlsflags_free(struct tlsflags *t);

#endif /* RSM_CTL_TLSFLAGS_H */
