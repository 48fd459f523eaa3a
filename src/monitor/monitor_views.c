/* monitor_views.c - the other agents' views (leader only): the peers
 * list kept in line with the Raft configuration, RSM VIEWS asked of each,
 * the identity check of their answers, and the views stored per group. */
#include "monitor_int.h"
#include "rsm/err.h"
#include "rsm/log.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Views of the other agents (leader only)
 * ---------------------------------------------------------------------- */

static void monitor__store_view(struct group *g, const struct rsm_agent_view *v,
                                int64_t now)
{
    unsigned i;

    for (i = 0; i < g->n_views; i++) {
        if (g->views[i].agent_id == v->agent_id)
            break;
    }
    if (i == g->n_views) {
        if (g->n_views == RSM_MAX_AGENTS)
            return;
        g->n_views++;
    }
    g->views[i] = *v;
    g->views_ms[i] = now;
    g->changes++;
    /* crash evidence, or a vote on a suspected master: judge now, not at
     * the turn */
    if (v->refused || g->verdict.status != RSM_MASTER_OK)
        monitor_mark_dirty(g);
}

/* The state of a view on the wire: the detector's state, except that a
 * SUSPECT or DOWN whose latest probes were refused connects is sent as
 * "refused" (crash evidence, detector.h). DOWN too: a follower PINGs
 * about once a second, so at down-after 1 s its silence may already be
 * down-after long at its first refusal, and its crash evidence must
 * still count (read back as SUSPECT + refused, it still votes on the
 * silence path: detector__votes_down). A leader from before the crash
 * path reads "refused" as unknown: no vote. */
const char *rsm_monitor_view_state_str(const struct rsm_agent_view *v)
{
    if (v->refused &&
        (v->state == RSM_HEALTH_SUSPECT || v->state == RSM_HEALTH_DOWN))
        return "refused";
    return rsm_health_state_str(v->state);
}

static enum rsm_health_state monitor__state_from_str(const char *s)
{
    for (int st = RSM_HEALTH_UNKNOWN; st <= RSM_HEALTH_RESTARTED; st++) {
        if (strcmp(s, rsm_health_state_str((enum rsm_health_state)st)) == 0)
            return (enum rsm_health_state)st;
    }
    return RSM_HEALTH_UNKNOWN;
}

/* Record what is wrong with a peer (verdict OK: nothing); logged once per
 * change, not at every probe. */
static void monitor__peer_judge(struct peer *p, enum rsm_identity_verdict v,
                                const char *why)
{
    char a[RSM_ADDR_STRLEN];

    if (v == p->identity && strcmp(why, p->problem) == 0)
        return;
    p->identity = v;
    snprintf(p->problem, sizeof p->problem, "%s", why);
    if (v == RSM_IDENTITY_OK)
        rsm_log(RSM_LOG_INFO, "peer-identity-ok", "id=%" PRIu64 " api=%s",
                p->id, rsm_addr_format(&p->api, a, sizeof a));
    else
        rsm_log(RSM_LOG_WARN, "peer-identity-mismatch",
                "id=%" PRIu64 " api=%s check=%s reason=\"%s\"", p->id,
                rsm_addr_format(&p->api, a, sizeof a),
                rsm_identity_verdict_str(v), why);
}

/* An integer element of a reply, as RESP integer or bulk digits; 0 if
 * it is neither. */
static uint64_t monitor__reply_u64(const redisReply *e)
{
    char *end;
    unsigned long long v;

    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer > 0 ? (uint64_t)e->integer : 0;
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->str[0] < '0' ||
        e->str[0] > '9')
        return 0;
    v = strtoull(e->str, &end, 10);
    return *end == '\0' ? v : 0;
}

/* The identity that starts an RSM VIEWS reply: ["agent", id, "cluster",
 * cluster-id]; agent_id 0 if absent or malformed. */
static void monitor__views_identity(const redisReply *rep,
                                    struct rsm_identity_claim *claim)
{
    const redisReply *h;

    claim->agent_id = 0;
    claim->cluster_id = "";
    if (rep->elements == 0)
        return;
    h = rep->element[0];
    if (h->type != REDIS_REPLY_ARRAY || h->elements != 4 ||
        h->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(h->element[0]->str, "agent") != 0 ||
        h->element[2]->type != REDIS_REPLY_STRING ||
        strcmp(h->element[2]->str, "cluster") != 0 ||
        h->element[3]->type != REDIS_REPLY_STRING)
        return;
    claim->agent_id = monitor__reply_u64(h->element[1]);
    claim->cluster_id = h->element[3]->str;
}

/* One [group, host, port, state, no_reply_ms] of an RSM VIEWS reply, for
 * agent id; false if malformed or about a group this agent lacks. */
static bool monitor__parse_view(struct rsm_monitor *m, const redisReply *e,
                                uint64_t id, struct group **gp,
                                struct rsm_agent_view *v)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 5 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[1]->type != REDIS_REPLY_STRING ||
        e->element[2]->type != REDIS_REPLY_INTEGER ||
        e->element[3]->type != REDIS_REPLY_STRING ||
        e->element[4]->type != REDIS_REPLY_INTEGER)
        return false;
    *gp = monitor_group_by_name(m, e->element[0]->str);
    if (*gp == NULL)
        return false;
    memset(v, 0, sizeof *v);
    v->agent_id = id;
    if (rsm_addr_set(&v->master, e->element[1]->str,
                     (long)e->element[2]->integer, NULL, 0) != 0)
        return false;
    v->refused = strcmp(e->element[3]->str, "refused") == 0;
    v->state = v->refused ? RSM_HEALTH_SUSPECT
                          : monitor__state_from_str(e->element[3]->str);
    v->no_reply_ms = e->element[4]->integer;
    return true;
}

/* RSM VIEWS reply: the answering agent's identity, then an array of
 * [group, host, port, state, no_reply_ms]. Counted only if the identity
 * is the member asked (rsm_identity_check): a wrong address must never
 * turn one agent's view into two votes. */
static void monitor__views_cb(struct rsm_redis *r,
                              const struct rsm_redis_result *res, void *arg)
{
    struct peer *p = arg;
    struct rsm_monitor *m = p->m;
    const redisReply *rep = res->reply;
    struct rsm_identity_claim claim;
    char why[RSM_IDENTITY_WHY_MAX];
    enum rsm_identity_verdict v;

    (void)r;
    p->asking = false;
    if (res->status != 0 || m->stopping || rep->type != REDIS_REPLY_ARRAY)
        return;
    monitor__views_identity(rep, &claim);
    v = rsm_identity_check(&claim, p->id, m->cfg.agent_id,
                           rsm_node_cluster_id(m->node), why, sizeof why);
    monitor__peer_judge(p, v, why);
    p->verified = v == RSM_IDENTITY_OK;
    if (v != RSM_IDENTITY_OK)
        return;
    for (size_t i = 1; i < rep->elements; i++) {
        struct rsm_agent_view view;
        struct group *g;
        if (monitor__parse_view(m, rep->element[i], p->id, &g, &view))
            monitor__store_view(g, &view, monitor_mono_ms(m));
    }
}

void monitor_peer_drop(struct peer *p)
{
    if (p->link != NULL) {
        p->m->pending_close++;
        rsm_redis_close(p->link, monitor_link_closed, p->m);
        p->link = NULL;
    }
    p->asking = false;
    p->verified = false;
}

/* Make m->peers match the Raft configuration (other members only). */
void monitor_sync_peers(struct rsm_monitor *m)
{
    struct rsm_node_status st;
    bool keep[RSM_MAX_AGENTS] = {false};

    rsm_node_get_status(m->node, &st);
    for (unsigned i = 0; i < st.n_members; i++) {
        const struct rsm_member *mb = &st.members[i];
        unsigned j;
        if (mb->id == m->cfg.agent_id)
            continue;
        for (j = 0; j < m->n_peers; j++) {
            if (m->peers[j].id == mb->id)
                break;
        }
        if (j == m->n_peers) {
            if (m->n_peers == RSM_MAX_AGENTS)
                continue;
            memset(&m->peers[j], 0, sizeof m->peers[j]);
            m->peers[j].m = m;
            m->peers[j].id = mb->id;
            m->n_peers++;
        }
        if (!rsm_addr_equal(&m->peers[j].api, &mb->api)) {
            monitor_peer_drop(&m->peers[j]);
            m->peers[j].identity = RSM_IDENTITY_OK;
            m->peers[j].problem[0] = '\0';
        }
        m->peers[j].api = mb->api;
        keep[j] = true;
    }
    for (unsigned j = 0; j < m->n_peers;) {
        if (!keep[j]) {
            monitor_peer_drop(&m->peers[j]);
            m->peers[j] = m->peers[m->n_peers - 1];
            keep[j] = keep[m->n_peers - 1];
            m->n_peers--;
            continue;
        }
        j++;
    }
}

/* The link to p, created if needed; NULL if p's address is this agent's
 * own (judged so) or out of memory. */
static struct rsm_redis *monitor__peer_link(struct rsm_monitor *m,
                                            struct peer *p)
{
    char why[RSM_IDENTITY_WHY_MAX];
    enum rsm_identity_verdict v;
    struct rsm_redis_config rc;

    v = rsm_identity_check_addr(&p->api, p->id, &m->cfg.self_api, why,
                                sizeof why);
    if (v != RSM_IDENTITY_OK) {
        monitor__peer_judge(p, v, why);
        return NULL;
    }
    if (p->link != NULL)
        return p->link;
    memset(&rc, 0, sizeof rc);
    rc.addr = p->api;
    rc.password = m->cfg.agent_password[0] ? m->cfg.agent_password : NULL;
    rc.tls = m->cfg.agent_tls;
    rc.connect_timeout_ms = monitor_probe_timeout(m);
    if (rsm_redis_create(m->loop, &rc, &p->link) != 0)
        p->link = NULL;
    return p->link;
}

void monitor_ask_peer(struct rsm_monitor *m, struct peer *p)
{
    static const char *const argv[] = {"RSM", "VIEWS"};

    assert(p->m == m && p->id != m->cfg.agent_id); /* never itself */
    if (p->asking || monitor__peer_link(m, p) == NULL)
        return;
    if (rsm_redis_command(p->link, monitor_probe_timeout(m), monitor__views_cb,
                          p, 2, argv) == 0)
        p->asking = true;
}

void monitor_ask_peers(struct rsm_monitor *m)
{
    monitor_sync_peers(m);
    for (unsigned i = 0; i < m->n_peers; i++)
        monitor_ask_peer(m, &m->peers[i]);
}
