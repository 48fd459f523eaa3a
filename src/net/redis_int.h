/* redis_int.h - what the files of the Redis link share (redis.c: the
 * public API, command queues, failing and deadlines; redis_io.c: writing
 * commands and reading replies; redis_connect.c: name lookup, connect and
 * AUTH; redis_tls.c: TLS, redis_tls.h). Private to src/net; see redis.c for
 * the states and lifetime. */
#ifndef RSM_NET_REDIS_INT_H
#define RSM_NET_REDIS_INT_H

#include "rsm/redis.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Messages name the address (up to RSM_ADDR_STRLEN) plus some detail. */
#define MSG_SIZE (RSM_ADDR_STRLEN + RSM_ERRMSG_SIZE)
/* Addresses of one name kept (and tried in turn). */
#define RESOLVE_MAX 4

enum redis_state {
    ST_IDLE = 0,
    ST_RESOLVING,
    ST_CONNECTING,
    ST_HANDSHAKE, /* TLS only (redis_tls.c) */
    ST_AUTH,
    ST_READY,
};

/* One command from rsm_redis_command() to its callback. Owned by the link;
 * freed right after its callback. */
struct cmd {
    struct cmd *next;
    struct rsm_redis *r;
    rsm_redis_cb cb;
    void *arg;
    char *buf; /* RESP text until written (then owned by the write) */
    size_t len;
    uint64_t start_ns;
    uint64_t timeout_ms;
    uint64_t deadline; /* loop time (uv_now) it fails at */
};

struct queue {
    struct cmd *head, *tail;
};

/* One TCP connection attempt. Freed in the handle's close callback. */
struct conn {
    uv_tcp_t tcp;
    uv_connect_t req;
    struct rsm_redis *r;
    redisReader *reader;
    struct redis_tls *tls; /* TLS session, NULL: plaintext (redis_tls.c) */
    bool got_bytes;        /* something was read on it */
    bool closing;
};

/* An IPv4 or IPv6 address (smaller than sockaddr_storage: a link keeps 8). */
union sockaddr_any {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* The one uv_getaddrinfo of a link in flight (r->lookup). */
struct resolve {
    uv_getaddrinfo_t req;
    struct rsm_redis *r;
};

/* One write in flight; owns the buffer. */
struct wreq {
    uv_write_t req;
    char *buf;
    size_t len;
    bool secret; /* holds the password: wiped before free */
};

struct rsm_redis {
    uv_loop_t *loop;
    struct rsm_addr addr;
    char name[RSM_ADDR_STRLEN];       /* "host:port" for messages */
    char ok_msg[RSM_ADDR_STRLEN + 8]; /* "host:port: ok", made once */
    char *user;
    char *password;
    uint64_t connect_timeout_ms;
    const struct rsm_tls *tls; /* NULL: plaintext; not owned */

    enum redis_state state;
    /* names: see the top of this file */
    bool numeric;           /* an IP literal: cache[0], never resolved */
    struct resolve *lookup; /* in flight (one at most), or NULL */
    union sockaddr_any cache[RESOLVE_MAX]; /* last answer */
    unsigned n_cache;
    union sockaddr_any cand[RESOLVE_MAX]; /* this attempt's addresses */
    unsigned n_cand, next_cand;
    uint64_t connect_deadline; /* loop time; UINT64_MAX: none */
    int last_connect_err;      /* libuv code of the last failed attempt */
    struct conn *conn;
    uv_timer_t timer; /* connect deadline, or a deferred failure */
    int deferred;     /* RSM_E* to fail with when `timer` fires, or 0 */
    char deferred_msg[MSG_SIZE];
    uv_timer_t deadline;  /* the earliest command deadline, or later */
    uint64_t deadline_at; /* loop time it is armed for */
    bool deadline_armed;

    struct queue waiting; /* not written yet */
    struct queue sent;    /* written, replies due in this order */

    unsigned refs;
    bool closing;
    rsm_redis_close_cb close_cb;
    void *close_arg;
    rsm_redis_drop_cb drop_cb; /* the server ended the connection */
    void *drop_arg;
    /* one read's worth: every read is handed whole to the RESP reader,
     * which keeps its own copy; 4 KB holds a probe's INFO reply, and a
     * link watching one of 1,000 endpoints should not hold 16 KB */
    char rbuf[4096];
};

/* --- redis.c ----------------------------------------------------------- */

void redis__queue_push(struct queue *q, struct cmd *c);
struct cmd *redis__queue_pop(struct queue *q);

/* Drop one reference; the last one calls close_cb and frees r. */
void redis__unref(struct rsm_redis *r);

/* Run the callback of c (already out of every queue) and release it. */
void redis__complete(struct cmd *c, int status, const redisReply *reply,
                     const char *msg);

/* Fail every queued command with status and the same message, then drop
 * the connection. Only from a libuv callback (or rsm_redis_close):
 * callbacks run right here. They may issue new commands (which start a
 * new connection) or close the link. */
void redis__fail_all(struct rsm_redis *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like redis__fail_all, but from inside rsm_redis_command(), where
 * callbacks must not run: drop now, fail from the link timer on the next
 * loop turn. */
void redis__fail_soon(struct rsm_redis *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --- redis_io.c -------------------------------------------------------- */

/* Move the commands of q to `sent` and write them in one buffer; 0 or a
 * libuv error. */
int redis__write_queue(struct rsm_redis *r, struct queue *q);

/* Write buf (taking ownership: freed, after a wipe if secret) on the
 * current connection, through TLS if it has any; 0 or a libuv error. */
int redis__write_buf(struct rsm_redis *r, char *buf, size_t len, bool secret);

/* Like redis__write_buf, but the bytes go on the socket as they are (the
 * TLS layer writes its records with it). */
int redis__write_raw(struct rsm_redis *r, char *buf, size_t len, bool secret);

/* Bytes of replies (plaintext) read on c: parse them and hand each reply
 * to its command. The callbacks may drop c (then c != r->conn after). */
void redis__feed(struct rsm_redis *r, struct conn *c, const char *buf,
                 size_t len);

/* The server ended the connection or a read failed: fail everything with
 * why, then tell the drop callback. */
void redis__lost(struct rsm_redis *r, const char *why);

/* The link is usable: write everything that waited for it. From callbacks
 * only. */
void redis__ready(struct rsm_redis *r);

/* libuv read callbacks of a connection (h->data is its struct conn). */
void redis__on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
void redis__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* --- redis_connect.c --------------------------------------------------- */

/* Close c's handle (once); r loses c's reference when it is closed. */
void redis__conn_close(struct conn *c);

/* The connection is up (TCP, then TLS if any): AUTH if credentials are
 * set, else ready. From callbacks only. */
void redis__connected(struct rsm_redis *r);

/* From rsm_redis_command: resolve the name again (in the background) and
 * connect. */
void redis__start_connect(struct rsm_redis *r);

/* The link timer: a deferred failure, the connect deadline, or the end of
 * the wait for a fresh lookup. */
void redis__on_link_timer(uv_timer_t *t);

#endif /* RSM_NET_REDIS_INT_H */
