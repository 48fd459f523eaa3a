/* node_stop.c - the graceful stop of the Raft node (rsm_node_stop,
 * node.h): a leader hands leadership to the most caught-up voter it heard
 * from recently, then raft is closed, every handle closed, the data-dir
 * lock released and the node freed. */
#include "node_int.h"
#include "rsm/log.h"
#include "raft_fsm.h"
#include "rsm/transport.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void node__handle_closed(uv_handle_t *h)
{
    struct rsm_node *n = h->data;
    rsm_node_stop_cb cb;
    void *arg;

    assert(n->handles_open > 0);
    if (--n->handles_open > 0)
        return;
    cb = n->stop_cb;
    arg = n->stop_arg;
    if (n->lock_fd >= 0)
        close(n->lock_fd); /* releases the flock */
    rsm_log(RSM_LOG_INFO, "node-stopped", "id=%llu",
            (unsigned long long)n->cfg.id);
    free(n->data_dir);
    free(n);
    if (cb != NULL)
        cb(arg);
}

void node__raft_closed(struct raft *r)
{
    struct rsm_node *n = container_of(r, struct rsm_node, raft);

    raft_uv_close(&n->io);
    rsm_transport_destroy(&n->transport);
    node__fsm_teardown(n);
    uv_close((uv_handle_t *)&n->poll, node__handle_closed);
    uv_close((uv_handle_t *)&n->stop_timer, node__handle_closed);
}

static void node__begin_close(struct rsm_node *n)
{
    if (n->closing)
        return;
    n->closing = true;
    n->ready = false;
    uv_timer_stop(&n->poll);
    uv_timer_stop(&n->stop_timer);
    raft_close(&n->raft, node__raft_closed);
}

static void node__transfer_done(struct raft_transfer *req)
{
    struct rsm_node *n = container_of(req, struct rsm_node, transfer);
    raft_id id;
    const char *addr;

    if (n->closing)
        return;
    raft_leader(&n->raft, &id, &addr);
    rsm_log(id != 0 && id != n->cfg.id ? RSM_LOG_INFO : RSM_LOG_WARN,
            "leadership-transferred", "leader=%llu term=%llu",
            (unsigned long long)id, (unsigned long long)n->raft.current_term);
    node__begin_close(n);
}

static void node__stop_timeout(uv_timer_t *t)
{
    struct rsm_node *n = t->data;

    rsm_log(RSM_LOG_WARN, "leadership-transfer-timeout", "after_ms=%u",
            2 * n->cfg.election_timeout_ms);
    node__begin_close(n);
}

#if RSM_RAFT_015
/* The voter most likely to win at once: caught up furthest and heard from
 * within the last election timeout. 0 if none: nobody could take over. */
raft_id node__transfer_target(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id best = 0;
    raft_index best_match = 0;

    assert(r->state == RAFT_LEADER); /* progress is a leader's */

    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];
        const struct raft_progress *p = &r->leader_state.progress[i];

        if (s->id == r->id || s->role != RAFT_VOTER || !p->recent_recv)
            continue;
        if (best == 0 || p->match_index > best_match) {
            best = s->id;
            best_match = p->match_index;
        }
    }
    return best;
}
#else
/* The same choice on 0.22, which shows a follower's match index
 * (raft_match_index) but not when it last answered: node__heard_recently. */
raft_id node__transfer_target(struct rsm_node *n)
{
    const struct raft *r = &n->raft;
    raft_id best = 0;
    raft_index best_match = 0, match;

    assert(r->state == RAFT_LEADER); /* progress is a leader's */

    for (unsigned i = 0; i < r->configuration.n; i++) {
        const struct raft_server *s = &r->configuration.servers[i];

        if (s->id == r->id || s->role != RAFT_VOTER ||
            !node__heard_recently(n, s->id) ||
            raft_match_index(r, s->id, &match) != 0)
            continue;
        if (best == 0 || match > best_match) {
            best = s->id;
            best_match = match;
        }
    }
    return best;
}
#endif

static unsigned node__other_voters(const struct rsm_node *n)
{
    const struct raft_configuration *c = &n->raft.configuration;
    unsigned k = 0;

    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id != n->raft.id && c->servers[i].role == RAFT_VOTER)
            k++;
    return k;
}

/* The stop itself, on a loop turn of its own: rsm_node_stop() may be called
 * from an observer callback, i.e. from inside raft. */
static void node__stop_begin(uv_timer_t *t)
{
    struct rsm_node *n = t->data;
    raft_id target;
    int rv;

    if (n->raft.state != RAFT_LEADER) {
        node__begin_close(n);
        return;
    }
    target = node__transfer_target(n);
    if (target == 0) {
        bool alone = node__other_voters(n) == 0;

        rsm_log(alone ? RSM_LOG_INFO : RSM_LOG_WARN,
                "leadership-transfer-skipped", "reason=%s term=%llu",
                alone ? "no-other-voter" : "no-reachable-voter",
                (unsigned long long)n->raft.current_term);
        node__begin_close(n);
        return;
    }
    memset(&n->transfer, 0, sizeof n->transfer);
    rv = raft_transfer(&n->raft, &n->transfer, target, node__transfer_done);
    if (rv != 0) {
        rsm_log(RSM_LOG_WARN, "leadership-transfer-failed", "error=%s",
                raft_strerror(rv));
        node__begin_close(n);
        return;
    }
    rsm_log(RSM_LOG_INFO, "leadership-transfer", "to=%llu term=%llu",
            (unsigned long long)n->transfer.id,
            (unsigned long long)n->raft.current_term);
    uv_timer_start(&n->stop_timer, node__stop_timeout,
                   2 * (uint64_t)n->cfg.election_timeout_ms, 0);
}

void rsm_node_stop(struct rsm_node *n, rsm_node_stop_cb cb, void *arg)
{
    if (n->stopping)
        return;
    n->stopping = true;
    n->stop_cb = cb;
    n->stop_arg = arg;
    uv_timer_start(&n->stop_timer, node__stop_begin, 0, 0);
}
