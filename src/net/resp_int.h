/* resp_int.h - what the files of the RESP server share: its clients,
 * replies and server (resp_server.c: connections, input, output;
 * resp_reply.c: the reply builder). Private to src/net.
 *
 * Ownership: the server owns its clients (freed in their close callback);
 * a client owns its queue of replies from head to tail until the handler
 * takes one (RSM_RESP_PENDING), which then owns it until
 * rsm_resp_reply_end(). An orphaned reply (client NULL) belongs to its
 * handler alone. */
#ifndef RSM_NET_RESP_INT_H
#define RSM_NET_RESP_INT_H

#include "rsm/resp_server.h"
#include "listener.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define RESP_READ_CHUNK (64 * 1024) /* one socket read */

struct rsm_resp_reply {
    struct rsm_resp_reply *next;
    struct rsm_resp_client *client; /* NULL once orphaned */
    char *buf;
    size_t len, cap;
    bool done;
    bool oom;
    bool close_after;
};

struct rsm_resp_client {
    struct rsm_listener_conn sock; /* sock.tcp.data is the client */
    struct rsm_resp_server *srv;
    struct rsm_resp_parser *parser;
    struct rsm_resp_reply *head, *tail; /* replies not yet written */
    unsigned n_pending;
    unsigned writes; /* uv_write requests in flight */
    bool reading;
    bool in_process;    /* guards resp__process() against re-entry */
    bool draining;      /* no more requests are read */
    bool close_written; /* a closing reply is queued: close when every
                           write is done */
    bool closing;
    bool idle_exempt;
    size_t output_limit;  /* 0: the server's max_output_bytes */
    uint64_t last_active; /* uv_now() of the last read */
    void *data;
};

struct rsm_resp_server {
    uv_loop_t *loop;
    struct rsm_listener listener; /* and its set of clients */
    uv_timer_t idle_timer;
    bool idle_timer_on;
    struct rsm_resp_limits limits;
    struct rsm_resp_handlers h;
    struct rsm_listener_stop stop; /* counts the listener and the timer */
    char rbuf[RESP_READ_CHUNK];
};

/* A reply queued at the tail of c's replies; NULL if out of memory. */
struct rsm_resp_reply *resp__reply_new(struct rsm_resp_client *c);

/* Free r and its bytes (r is out of every queue). */
void resp__reply_free(struct rsm_resp_reply *r);

/* Mark r complete; an empty reply would leave the client waiting forever,
 * so it becomes an error (a handler bug, but not a hang). */
void resp__reply_complete(struct rsm_resp_reply *r);

#endif /* RSM_NET_RESP_INT_H */
