/* redis.h - one client link to one Redis endpoint, on a libuv loop.
 *
 * The only door to Redis in the project: connect, send a command with a
 * deadline, get a reply or an error. Built on a libuv TCP stream carrying
 * hiredis's protocol layer (redisFormatCommandArgv to encode, redisReader
 * to decode) rather than hiredis's async context: that way a refused
 * connection, a hung (SIGSTOPped) server and a slow DNS answer are all seen
 * and timed by us, host names are re-resolved on every connect
 * (uv_getaddrinfo), and TLS (OpenSSL over memory BIOs, redis_tls.c)
 * wraps the stream without touching callers.
 *
 * Connection is lazy: the first command (or one after a failure) resolves,
 * connects and, if credentials are set, sends AUTH first. Commands are
 * pipelined in order; each gets exactly one callback. A timeout or I/O error
 * fails every pending command and drops the connection; the next command
 * reconnects.
 *
 * Ownership: rsm_redis_create() allocates; rsm_redis_close() starts the
 * teardown and the struct is freed after close_cb runs (libuv handle rules).
 * The password is copied into the link, never logged, and wiped on close. */
#ifndef RSM_REDIS_H
#define RSM_REDIS_H

#include <stdint.h>
#include <uv.h>
#include <hiredis/hiredis.h>

#include "rsm/addr.h"
#include "rsm/err.h"
#include "rsm/tls.h"

struct rsm_redis;

struct rsm_redis_config {
    struct rsm_addr addr;
    const char *user;            /* ACL user, NULL for none */
    const char *password;        /* NULL for no AUTH */
    uint64_t connect_timeout_ms; /* resolve + connect (+ TLS) + AUTH */
    /* TLS to the server (rsm/tls.h), verified against addr.host; NULL:
     * plaintext. Not owned: must outlive the link. */
    const struct rsm_tls *tls;
};

/* Result of one command. `reply` is valid only during the callback (owned by
 * the link). status is 0 with a reply of any type except REDIS_REPLY_ERROR;
 * RSM_EREPLY with the error reply; RSM_ETIMEOUT, RSM_ECONNECT, RSM_EREFUSED
 * (every connect refused: nothing listens there),
 * RSM_ERESOLVE, RSM_EAUTH, RSM_EPROTO or RSM_ECANCELED (link closed) with
 * reply NULL. errmsg always says what happened, naming the address. */
struct rsm_redis_result {
    int status;
    const redisReply *reply;
    const char *errmsg;
    uint64_t latency_ms; /* from send to reply/error */
};

typedef void (*rsm_redis_cb)(struct rsm_redis *r,
                             const struct rsm_redis_result *res, void *arg);
typedef void (*rsm_redis_close_cb)(struct rsm_redis *r, void *arg);

/* Create an unconnected link. Returns 0 or RSM_ENOMEM. */
int rsm_redis_create(uv_loop_t *loop, const struct rsm_redis_config *cfg,
                     struct rsm_redis **out);

/* Send argv[0..argc-1] with a deadline of timeout_ms from now (covering the
 * connect too, when one is needed). cb runs exactly once, never from inside
 * this call. Returns 0, or RSM_ENOMEM / RSM_EINVAL (closing link, bad args),
 * in which case cb is never called. */
int rsm_redis_command(struct rsm_redis *r, uint64_t timeout_ms, rsm_redis_cb cb,
                      void *arg, int argc, const char *const *argv);

/* Send n commands together (argc[i], argv[i]): like n calls of
 * rsm_redis_command() with the same deadline, callback and arg, but
 * written in one go once the link is ready. cb runs once per command, in
 * order. Returns 0, or RSM_ENOMEM / RSM_EINVAL (any command bad), in
 * which case none is sent and cb is never called. */
int rsm_redis_commands(struct rsm_redis *r, uint64_t timeout_ms,
                       rsm_redis_cb cb, void *arg, int n, const int *argc,
                       const char *const *const *argv);

/* true while a TCP connection is established (AUTH done). */
int rsm_redis_connected(const struct rsm_redis *r);

/* The endpoint this link talks to. */
const struct rsm_addr *rsm_redis_addr(const struct rsm_redis *r);

/* Called when the server ends an established connection (EOF, reset) or
 * a read fails, after the pending commands (if any) got their callbacks:
 * also when nothing was pending, which is the point. A dead process's
 * host closes its connections at once; the caller can look again now
 * instead of at its next probe (the crash evidence of detector.h). Not
 * called for the link's own drops (timeouts, close). */
typedef void (*rsm_redis_drop_cb)(struct rsm_redis *r, void *arg);

/* Set (or with NULL clear) the drop callback of r. */
void rsm_redis_on_drop(struct rsm_redis *r, rsm_redis_drop_cb cb, void *arg);

/* Fail pending commands with RSM_ECANCELED (their callbacks run first),
 * close every handle, then call close_cb (may be NULL) and free r. */
void rsm_redis_close(struct rsm_redis *r, rsm_redis_close_cb close_cb,
                     void *arg);

#endif /* RSM_REDIS_H */
