/* fuzz_resp.c - libFuzzer target for the client port's request path: the
 * RESP/inline request parser, the command table and every command, on a
 * real API (rsm_api_start_ops) over loopback TCP, with a fake node.
 *
 * The first byte of an input picks the setup: bit 0 an API that requires
 * a password ("fuzzpass") or not, bit 1 a leader or a follower node, bit 2
 * whether the node completes proposals and membership changes at once
 * (success) or only after the connection is gone (failure). The rest is
 * sent on a new connection, then the write side is shut down; the loop
 * runs until the server has closed the connection, reading every reply.
 * Crashes, sanitizer reports, leaks, a connection that never closes and
 * an event loop left with clients are findings.
 *
 *   CC=clang cmake -S . -B build-fuzz -DRSM_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_resp
 *   mkdir -p /tmp/resp-corpus   # new inputs go to the first directory
 *   ./build-fuzz/fuzz_resp -max_total_time=60 /tmp/resp-corpus \
 *       tests/fuzz/corpus/resp
 * The seeds in tests/fuzz/corpus/resp start with that setup byte. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rsm/api.h"
#include "rsm/err.h"
#include "rsm/fsm.h"
#include "rsm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- a fake node ------------------------------------------------------ */

struct rsm_node {
    struct rsm_node_status st;
    struct rsm_fsm fsm;
    bool leader;
    bool complete_now;
    rsm_node_done_cb cb[64]; /* requests waiting for their completion */
    void *arg[64];
    unsigned n_cb;
};

static void fake_status(const struct rsm_node *n, struct rsm_node_status *out)
{
    *out = n->st;
    out->state = n->leader ? "leader" : "follower";
    out->has_leader = true;
    out->leader = n->leader ? n->st.members[0] : n->st.members[1];
}

static const struct rsm_fsm *fake_fsm(const struct rsm_node *n)
{
    return &n->fsm;
}

static bool fake_is_leader(const struct rsm_node *n)
{
    return n->leader;
}

static int later(struct rsm_node *n, rsm_node_done_cb cb, void *arg)
{
    if (n->complete_now) {
        cb(arg, 0, NULL);
        return 0;
    }
    if (n->n_cb == 64)
        return RSM_EBUSY;
    n->cb[n->n_cb] = cb;
    n->arg[n->n_cb++] = arg;
    return 0;
}

static int fake_add(struct rsm_node *n, const struct rsm_member *m,
                    rsm_node_done_cb cb, void *arg)
{
    (void)m;
    return n->leader ? later(n, cb, arg) : RSM_ENOTLEADER;
}

static int fake_remove(struct rsm_node *n, uint64_t id, rsm_node_done_cb cb,
                       void *arg)
{
    (void)id;
    return n->leader ? later(n, cb, arg) : RSM_ENOTLEADER;
}

static int fake_propose(struct rsm_node *n, const struct rsm_entry *e,
                        rsm_node_done_cb cb, void *arg)
{
    if (rsm_entry_check(e, NULL, 0) != 0)
        abort(); /* the API proposes only well-formed entries */
    return n->leader ? later(n, cb, arg) : RSM_ENOTLEADER;
}

static const struct rsm_api_node_ops fake_ops = {
    fake_status,  fake_fsm,    fake_is_leader,
    fake_add,     fake_remove, rsm_node_parse_member_addr,
    fake_propose,
};

/* ---- the long-lived setup ---------------------------------------------- */

static uv_loop_t loop;
static struct rsm_node node;
static struct rsm_api *apis[2]; /* [0] open, [1] with a password */
static bool ready;

static void member(struct rsm_member *m, uint64_t id, uint16_t api)
{
    m->id = id;
    rsm_addr_set(&m->raft, "127.0.0.1", 7000 + (long)id, NULL, 0);
    rsm_addr_set(&m->api, "127.0.0.1", api, NULL, 0);
    m->voter = true;
}

static void apply(struct rsm_entry *e)
{
    char reason[RSM_ERRMSG_SIZE];

    if (rsm_fsm_apply(&node.fsm, e, reason, sizeof reason) != 0) {
        fprintf(stderr, "fuzz_resp: setup entry refused: %s\n", reason);
        abort();
    }
}

/* Group "mymaster" with a completed failover and one in flight; group
 * "other", paused. */
static void fill_fsm(void)
{
    struct rsm_entry *e = calloc(1, sizeof *e);

    rsm_entry_init(e, RSM_ENTRY_OBSERVE_MASTER, "mymaster", 1000);
    rsm_addr_set(&e->master, "10.0.0.1", 6379, NULL, 0);
    e->n_members = 3;
    for (int i = 0; i < 3; i++)
        rsm_addr_set(&e->members[i], "10.0.0.1", 6379 + i, NULL, 0);
    apply(e);
    rsm_entry_init(e, RSM_ENTRY_DECIDE_FAILOVER, "mymaster", 2000);
    e->epoch = 1;
    rsm_addr_set(&e->old_master, "10.0.0.1", 6379, NULL, 0);
    rsm_addr_set(&e->master, "10.0.0.1", 6380, NULL, 0);
    apply(e);
    rsm_entry_init(e, RSM_ENTRY_COMPLETE_FAILOVER, "mymaster", 3000);
    e->epoch = 1;
    apply(e);
    rsm_entry_init(e, RSM_ENTRY_DECIDE_FAILOVER, "mymaster", 4000);
    e->epoch = 2;
    rsm_addr_set(&e->old_master, "10.0.0.1", 6380, NULL, 0);
    rsm_addr_set(&e->master, "10.0.0.1", 6381, NULL, 0);
    apply(e);
    rsm_entry_init(e, RSM_ENTRY_OBSERVE_MASTER, "other", 5000);
    rsm_addr_set(&e->master, "10.0.1.1", 6379, NULL, 0);
    apply(e);
    rsm_entry_init(e, RSM_ENTRY_SET_PAUSED, "other", 6000);
    e->paused = true;
    apply(e);
    free(e);
}

static void setup(void)
{
    struct rsm_api_config cfg = {.bind = {.host = "127.0.0.1", .port = 0}};
    char err[RSM_ERRMSG_SIZE];

    rsm_log_setup(RSM_LOG_ERROR, RSM_LOG_LOGFMT);
    if (uv_loop_init(&loop) != 0)
        abort();
    rsm_fsm_init(&node.fsm);
    fill_fsm();
    node.st.id = 1;
    node.st.n_members = 3;
    for (unsigned i = 0; i < 3; i++)
        member(&node.st.members[i], i + 1, (uint16_t)(26379 + i));
    rsm_resp_limits_default(&cfg.limits);
    cfg.limits.max_request_bytes = 64 * 1024;
    cfg.limits_set = true;
    for (int i = 0; i < 2; i++) {
        snprintf(cfg.requirepass, sizeof cfg.requirepass, "%s",
                 i ? "fuzzpass" : "");
        if (rsm_api_start_ops(&loop, &cfg, &node, &fake_ops, &apis[i], err,
                              sizeof err) != 0)
            abort();
    }
    ready = true;
}

/* ---- one input ------------------------------------------------------------
 */

static int connect_to(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0)
        abort();
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 &&
        errno != EINPROGRESS)
        abort();
    return fd;
}

/* Read what is there; true once the server has closed. */
static bool drain(int fd)
{
    char buf[65536];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0)
            return true;
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
}

static void complete_pending(void)
{
    while (node.n_cb > 0) {
        node.n_cb--;
        node.cb[node.n_cb](node.arg[node.n_cb], RSM_ERAFT, "fuzz: canceled");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sent = 0;
    bool shut = false, closed = false;
    struct rsm_api *api;
    int fd;

    if (!ready)
        setup();
    if (size == 0)
        return 0;
    api = apis[data[0] & 1];
    node.leader = (data[0] & 2) != 0;
    node.complete_now = (data[0] & 4) != 0;
    data++;
    size--;
    fd = connect_to(rsm_api_port(api));
    for (int i = 0; i < 200000 && !closed; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
        if (i == 2000)
            complete_pending(); /* a pending reply holds the others */
        uv_run(&loop, UV_RUN_NOWAIT);
        if (poll(&p, 1, 0) < 0)
            abort();
        if (sent < size && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                sent = size; /* closed by the server early */
        }
        if (sent == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        closed = drain(fd);
    }
    if (!closed)
        abort(); /* the server never closed the connection */
    close(fd);
    complete_pending();
    /* the server finishes closing its side: nothing left behind */
    for (int i = 0; i < 10000 && rsm_api_clients(api) > 0; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    if (rsm_api_clients(api) > 0)
        abort();
    return 0;
}
