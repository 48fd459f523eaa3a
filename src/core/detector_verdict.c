/* detector_verdict.c - the verdict on a group's master (see detector.h):
 * from the leader's health records, the replicas' view of their link and
 * the other agents' views; and the crash path, which needs no down-after.
 * Pure: time is always an argument. */
#include "rsm/detector.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ======================================================================
 * The master verdict
 * ====================================================================== */

static const struct rsm_health *
detector__find_member(const struct rsm_verdict_input *in,
                      const struct rsm_addr *addr)
{
    for (size_t i = 0; i < in->n_members; i++) {
        if (rsm_addr_equal(&in->members[i].addr, addr))
            return &in->members[i];
    }
    return NULL;
}

static void detector__verdict(struct rsm_master_verdict *out,
                              enum rsm_master_status status, const char *fmt,
                              ...) __attribute__((format(printf, 3, 4)));

static void detector__verdict(struct rsm_master_verdict *out,
                              enum rsm_master_status status, const char *fmt,
                              ...)
{
    va_list ap;

    out->status = status;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

/* Step 4: a replica that still hears from the master. Returns it, with the
 * age of its contact in *contact_ms, or NULL. */
static const struct rsm_health *
detector__replica_hearing_master(const struct rsm_verdict_input *in,
                                 const struct rsm_health *master,
                                 int64_t *contact_ms)
{
    int64_t d = in->cfg->down_after_ms;

    for (size_t i = 0; i < in->n_members; i++) {
        const struct rsm_health *r = &in->members[i];
        const struct rsm_info *ri = &r->info;
        int64_t age, contact;

        if (r == master || !r->has_info || ri->role != RSM_ROLE_REPLICA ||
            !rsm_addr_equal(&ri->master, &master->addr) || !ri->link_up ||
            ri->master_last_io_s < 0)
            continue;
        age = in->now_ms - r->info_ms;
        if (age >= d)
            continue;
        contact = ri->master_last_io_s * 1000 + age;
        if (contact < d) {
            *contact_ms = contact;
            return r;
        }
    }
    return NULL;
}

static bool detector__view_fresh(const struct rsm_verdict_input *in,
                                 const struct rsm_agent_view *v)
{
    int64_t max = in->cfg->view_max_age_ms > 0 ? in->cfg->view_max_age_ms
                                               : in->cfg->down_after_ms;

    return rsm_addr_equal(&v->master, in->master) && v->age_ms >= 0 &&
           v->age_ms <= max;
}

/* Step 5: another agent whose latest probe of the master succeeded. */
static const struct rsm_agent_view *
detector__agent_hearing_master(const struct rsm_verdict_input *in)
{
    for (size_t i = 0; i < in->n_views; i++) {
        const struct rsm_agent_view *v = &in->views[i];
        bool alive = v->state == RSM_HEALTH_UP ||
                     v->state == RSM_HEALTH_LOADING ||
                     v->state == RSM_HEALTH_RESTARTED;

        if (detector__view_fresh(in, v) && alive &&
            v->no_reply_ms + v->age_ms < in->cfg->down_after_ms)
            return v;
    }
    return NULL;
}

/* A view votes "down" when its agent saw the master DOWN, or when its
 * latest probe had failed (SUSPECT) and, counting the time the view has
 * been travelling, its silence has reached down_after by now. The second
 * case spares a probe-and-ask round of latency, and is allowed only for
 * views younger than a quarter of down_after, so that a reply the agent
 * may have had since is unlikely. */
static bool detector__votes_down(const struct rsm_verdict_input *in,
                                 const struct rsm_agent_view *v)
{
    int64_t d = in->cfg->down_after_ms;

    if (!detector__view_fresh(in, v))
        return false;
    if (v->state == RSM_HEALTH_DOWN)
        return true;
    return v->state == RSM_HEALTH_SUSPECT && v->age_ms <= d / 4 &&
           v->no_reply_ms + v->age_ms >= d;
}

static unsigned detector__count_down_votes(const struct rsm_verdict_input *in)
{
    unsigned votes = 1; /* the leader */

    for (size_t i = 0; i < in->n_views; i++) {
        if (detector__votes_down(in, &in->views[i]))
            votes++;
    }
    return votes;
}

/* Step 2b: the master answers as a process other than the one recorded
 * (run_id), and this record never saw it restart. Returns true if it
 * decided the verdict. */
static bool detector__verdict_on_new_run_id(const struct rsm_verdict_input *in,
                                            const struct rsm_health *m,
                                            struct rsm_master_verdict *out)
{
    const struct rsm_health *best = NULL;
    int64_t off, best_off = -1;
    char buf[RSM_ADDR_STRLEN];

    if (in->committed_run_id == NULL || in->committed_run_id[0] == '\0' ||
        !m->has_info || m->info.role != RSM_ROLE_MASTER ||
        m->info.run_id[0] == '\0' ||
        strcmp(m->info.run_id, in->committed_run_id) == 0)
        return false;
    off = rsm_info_offset(&m->info);
    for (size_t i = 0; i < in->n_members; i++) {
        const struct rsm_health *r = &in->members[i];
        enum rsm_health_state st = rsm_detector_state(r, in->cfg, in->now_ms);
        int64_t ro;

        if (r == m)
            continue;
        if (!r->has_info) {
            if (st == RSM_HEALTH_DOWN)
                continue;
            detector__verdict(
                out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "run_id changed since recorded (%.8s -> %.8s): waiting "
                "for a first INFO of %s",
                in->committed_run_id, m->info.run_id,
                rsm_addr_format(&r->addr, buf, sizeof buf));
            return true;
        }
        ro = rsm_info_offset(&r->info);
        if (r->info.role == RSM_ROLE_REPLICA &&
            rsm_addr_equal(&r->info.master, &m->addr) && ro > best_off) {
            best = r;
            best_off = ro;
        }
    }
    if (best == NULL || off < 0 || best_off <= off)
        return false;
    out->last_offset = best_off;
    out->down_ms = 0;
    detector__verdict(
        out, RSM_MASTER_FAILED_RESTART,
        "restarted with less data than its replicas: run_id changed "
        "since recorded (%.8s -> %.8s), offset %lld < %lld on %s",
        in->committed_run_id, m->info.run_id, (long long)off,
        (long long)best_off, rsm_addr_format(&best->addr, buf, sizeof buf));
    return true;
}

/* Step 2a: the master answers while loading its data after a restart
 * that is not judged yet (this record saw it, or its run_id is not the
 * recorded one). Its offset reads 0 until the load ends: judging it now
 * would call any restart empty. Returns true if it decided the verdict. */
static bool detector__verdict_while_loading(const struct rsm_verdict_input *in,
                                            const struct rsm_health *m,
                                            struct rsm_master_verdict *out)
{
    const char *was = m->prev_run_id;

    if (m->failures > 0 || !m->has_info || !m->info.loading)
        return false;
    if (!m->empty_pending) {
        if (in->committed_run_id == NULL || in->committed_run_id[0] == '\0' ||
            m->info.run_id[0] == '\0' ||
            strcmp(m->info.run_id, in->committed_run_id) == 0)
            return false;
        was = in->committed_run_id;
    }
    detector__verdict(
        out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
        "restarted (run_id %.8s -> %.8s) and loading its data set: "
        "judged once loaded",
        was, m->info.run_id);
    return true;
}

/* Step 2c, replicas: every replica of m that is not DOWN has answered an
 * INFO since the first refusal at `since` and reports its link to m down.
 * Returns the number of such replicas (0: no evidence), or -1 with the
 * reason in out when one contradicts the crash or is not heard yet. */
static int detector__crash_replicas_agree(const struct rsm_verdict_input *in,
                                          const struct rsm_health *m,
                                          int64_t since,
                                          struct rsm_master_verdict *out)
{
    int agree = 0;
    char buf[RSM_ADDR_STRLEN];

    for (size_t i = 0; i < in->n_members; i++) {
        const struct rsm_health *r = &in->members[i];
        bool of_m = r->has_info && r->info.role == RSM_ROLE_REPLICA &&
                    rsm_addr_equal(&r->info.master, &m->addr);

        if (r == m || !of_m ||
            rsm_detector_state(r, in->cfg, in->now_ms) == RSM_HEALTH_DOWN)
            continue;
        if (r->last_probe_ms >= since && r->failures > 0)
            continue; /* probed since, not answering: no view of the link */
        rsm_addr_format(&r->addr, buf, sizeof buf);
        if (r->info_ms < since) {
            detector__verdict(
                out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "crash suspected: connects refused for %lld ms; waiting "
                "for an INFO of replica %s",
                (long long)(in->now_ms - since), buf);
            return -1;
        }
        if (r->info.link_up) {
            detector__verdict(
                out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "connects refused for %lld ms but replica %s reports its "
                "link up",
                (long long)(in->now_ms - since), buf);
            return -1;
        }
        agree++;
    }
    return agree;
}

/* Step 2c: the crash path. Returns true if it decided the verdict (DOWN,
 * or UNREACHABLE with the crash evidence still missing, before
 * down_after). */
static bool detector__verdict_on_crash(const struct rsm_verdict_input *in,
                                       const struct rsm_health *m,
                                       struct rsm_master_verdict *out)
{
    int64_t since = m->refused_since_ms;
    int64_t refused_ms = rsm_detector_refused_ms(m, in->now_ms);
    bool early = out->no_reply_ms < in->cfg->down_after_ms;
    unsigned votes = 1;
    int replicas;

    if (in->cfg->crash_confirm_ms <= 0 || refused_ms < 0 ||
        m->last_outcome != RSM_PROBE_CONNECT_REFUSED)
        return false;
    assert(since >= 0 && m->refusals > 0);
    if (refused_ms < in->cfg->crash_confirm_ms || m->refusals < 2)
        return false;
    replicas = detector__crash_replicas_agree(in, m, since, out);
    if (replicas <= 0) {
        if (replicas == 0)
            detector__verdict(
                out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "crash suspected: connects refused for %lld ms; no "
                "replica reports its link",
                (long long)refused_ms);
        return early;
    }
    for (size_t i = 0; i < in->n_views; i++) {
        const struct rsm_agent_view *v = &in->views[i];

        if (!detector__view_fresh(in, v))
            continue;
        if (v->no_reply_ms + v->age_ms < refused_ms) {
            detector__verdict(
                out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "connects refused for %lld ms but agent %llu had a reply "
                "%lld ms ago",
                (long long)refused_ms, (unsigned long long)v->agent_id,
                (long long)(v->no_reply_ms + v->age_ms));
            return early;
        }
        if (v->refused)
            votes++;
    }
    out->votes = votes;
    if (votes < out->quorum) {
        detector__verdict(
            out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
            "crash suspected: connects refused for %lld ms; %u of %u "
            "agents refused (quorum %u)",
            (long long)refused_ms, votes, out->n_agents, out->quorum);
        return early;
    }
    out->crashed = true;
    out->down_ms = refused_ms;
    detector__verdict(
        out, RSM_MASTER_DOWN,
        "crashed: every connect refused for %lld ms, %u of %u agents "
        "refused (quorum %u), %d replica(s) report the link down",
        (long long)refused_ms, votes, out->n_agents, out->quorum, replicas);
    return true;
}

/* Step 3: the leader still gets valid replies, or owes none yet (nothing
 * failed, nothing late: a master probed every down_after/2 is up to that
 * long without a reply and still fine). Returns true if it decided the
 * verdict. */
static bool detector__verdict_when_answering(const struct rsm_verdict_input *in,
                                             const struct rsm_health *m,
                                             struct rsm_master_verdict *out)
{
    int64_t d = in->cfg->down_after_ms;
    int64_t role_age;
    char buf[RSM_ADDR_STRLEN];

    bool late = rsm_detector_late(m, in->cfg, in->now_ms);

    if (out->no_reply_ms >= d && (late || m->last_valid_ms < 0))
        return false;
    if (m->failures > 0) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "no reply for %lld ms (down after %lld ms)",
                          (long long)out->no_reply_ms, (long long)d);
        return true;
    }
    if (late) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "probe unanswered for %lld ms, no reply for %lld "
                          "ms (down after %lld ms)",
                          (long long)(in->now_ms - m->pending_since_ms),
                          (long long)out->no_reply_ms, (long long)d);
        return true;
    }
    if (!m->has_info || m->info.role != RSM_ROLE_REPLICA) {
        detector__verdict(out, RSM_MASTER_OK, "answering");
        return true;
    }
    role_age = in->now_ms - m->role_since_ms;
    rsm_addr_format(&m->info.master, buf, sizeof buf);
    if (role_age < d) {
        detector__verdict(
            out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
            "reports role:replica of %s for %lld ms (down after %lld ms)", buf,
            (long long)role_age, (long long)d);
        return true;
    }
    out->down_ms = role_age;
    detector__verdict(out, RSM_MASTER_DOWN,
                      "reports role:replica of %s for %lld ms", buf,
                      (long long)role_age);
    return true;
}

static void detector__verdict_init(const struct rsm_verdict_input *in,
                                   struct rsm_master_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->status = RSM_MASTER_UNREACHABLE_FROM_AGENT;
    out->no_reply_ms = -1;
    out->down_ms = -1;
    out->last_offset = -1;
    if (in != NULL) {
        out->n_agents =
            in->n_agents > 0 ? in->n_agents : 1 + (unsigned)in->n_views;
        out->quorum = in->cfg && in->cfg->quorum > 0 ? in->cfg->quorum : 1;
    }
}

int rsm_detector_master_verdict(const struct rsm_verdict_input *in,
                                struct rsm_master_verdict *out)
{
    const struct rsm_health *m, *r;
    const struct rsm_agent_view *v;
    int64_t contact;
    char buf[RSM_ADDR_STRLEN];

    detector__verdict_init(in, out);
    if (in == NULL || in->master == NULL || in->cfg == NULL ||
        (in->members == NULL && in->n_members > 0) ||
        (in->views == NULL && in->n_views > 0)) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "invalid input");
        return RSM_EINVAL;
    }
    m = detector__find_member(in, in->master);
    if (m == NULL) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "%s is not among the monitored instances",
                          rsm_addr_format(in->master, buf, sizeof buf));
        return 0;
    }
    out->no_reply_ms = rsm_detector_no_reply_ms(m, in->now_ms);
    out->last_offset = m->has_info ? rsm_info_offset(&m->info) : -1;
    if (m->restarted_empty) {
        out->last_offset = m->prev_offset;
        out->down_ms = in->now_ms - m->restarted_at_ms;
        detector__verdict(
            out, RSM_MASTER_FAILED_RESTART,
            "restarted empty: run_id changed, offset %lld -> %lld",
            (long long)m->prev_offset, (long long)rsm_info_offset(&m->info));
        return 0;
    }
    if (detector__verdict_while_loading(in, m, out))
        return 0;
    if (m->failures == 0 && detector__verdict_on_new_run_id(in, m, out))
        return 0;
    if (m->last_probe_ms < 0 && out->no_reply_ms < in->cfg->down_after_ms) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "not probed yet");
        return 0;
    }
    if (detector__verdict_on_crash(in, m, out))
        return 0;
    out->votes = 0;
    if (detector__verdict_when_answering(in, m, out))
        return 0;
    r = detector__replica_hearing_master(in, m, &contact);
    if (r != NULL) {
        detector__verdict(
            out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
            "no reply for %lld ms but replica %s heard from it %lld s ago",
            (long long)out->no_reply_ms,
            rsm_addr_format(&r->addr, buf, sizeof buf),
            (long long)r->info.master_last_io_s);
        return 0;
    }
    v = detector__agent_hearing_master(in);
    if (v != NULL) {
        detector__verdict(
            out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
            "no reply for %lld ms but agent %llu had one %lld ms ago",
            (long long)out->no_reply_ms, (unsigned long long)v->agent_id,
            (long long)(v->no_reply_ms + v->age_ms));
        return 0;
    }
    out->votes = detector__count_down_votes(in);
    if (out->votes < out->quorum) {
        detector__verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                          "no quorum: %u of %u agents see it down (quorum %u)",
                          out->votes, out->n_agents, out->quorum);
        return 0;
    }
    out->down_ms = out->no_reply_ms;
    detector__verdict(
        out, RSM_MASTER_DOWN,
        "no reply for %lld ms; %u of %u agents see it down (quorum %u)",
        (long long)out->no_reply_ms, out->votes, out->n_agents, out->quorum);
    return 0;
}

const char *rsm_master_status_str(enum rsm_master_status s)
{
    switch (s) {
    case RSM_MASTER_OK:
        return "ok";
    case RSM_MASTER_UNREACHABLE_FROM_AGENT:
        return "unreachable-from-agent";
    case RSM_MASTER_DOWN:
        return "down";
    case RSM_MASTER_FAILED_RESTART:
        return "failed-restart";
    }
    return "invalid";
}
