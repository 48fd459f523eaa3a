/* detector.c - per-instance health from probe results, and the verdict on a
 * group's master. Pure: time is always an argument. */
#include "rsm/detector.h"
#include "rsm/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ======================================================================
 * Probe results
 * ====================================================================== */

/* true if text starts with the word w (followed by a space or the end). */
static bool starts_with_word(const char *text, const char *w)
{
    size_t n = strlen(w);

    return strncmp(text, w, n) == 0 && (text[n] == '\0' || text[n] == ' ');
}

enum rsm_alive_error rsm_detector_alive_error(const char *reply_text)
{
    if (reply_text == NULL)
        return RSM_ALIVE_NONE;
    if (starts_with_word(reply_text, "LOADING"))
        return RSM_ALIVE_LOADING;
    if (starts_with_word(reply_text, "BUSY"))
        return RSM_ALIVE_BUSY;
    if (starts_with_word(reply_text, "MASTERDOWN"))
        return RSM_ALIVE_MASTERDOWN;
    return RSM_ALIVE_NONE;
}

/* Two INFO probes at most this far apart are taken as watching the
 * instance continuously (probes run every 100 ms by default). */
#define WATCH_GAP_MS 1000

/* Slack for the time a reply spends on its way (see link_was_up()). */
#define LINK_MARGIN_MS 250

/* A reply that proves the server is alive and answering. */
static bool result_is_valid(const struct rsm_probe_result *r)
{
    if (r->outcome == RSM_PROBE_OK)
        return true;
    return r->outcome == RSM_PROBE_ERROR_REPLY && r->alive != RSM_ALIVE_NONE;
}

/* ======================================================================
 * Per-instance health
 * ====================================================================== */

void rsm_detector_config_init(struct rsm_detector_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->down_after_ms = 5000;
    cfg->quorum = 1;
    cfg->view_max_age_ms = 0;
}

void rsm_detector_init(struct rsm_health *h, const struct rsm_addr *addr,
                       int64_t now_ms)
{
    memset(h, 0, sizeof *h);
    h->addr = *addr;
    h->since_ms = now_ms;
    h->last_probe_ms = -1;
    h->last_valid_ms = -1;
    h->info_ms = -1;
    h->role_since_ms = -1;
    h->restarted_at_ms = -1;
    h->prev_offset = -1;
    rsm_info_init(&h->info);
}

/* Same role and (for a replica) same master as before? */
static bool same_role(const struct rsm_info *a, const struct rsm_info *b)
{
    if (a->role != b->role)
        return false;
    return a->role != RSM_ROLE_REPLICA ||
           rsm_addr_equal(&a->master, &b->master);
}

/* Compare the new INFO with the previous one: restart detection. The
 * offset of a process still loading is not its data's (Redis restores it
 * from the RDB at the end of the load): a restart is judged on the first
 * INFO with loading:0, against the offset seen before the restart. */
static void note_restart(struct rsm_health *h, const struct rsm_info *now,
                         int64_t t)
{
    const struct rsm_info *old = &h->info;
    int64_t new_off = rsm_info_offset(now);

    if (h->has_info && old->run_id[0] != '\0' && now->run_id[0] != '\0' &&
        strcmp(old->run_id, now->run_id) != 0) {
        h->restarted = true;
        h->restarted_at_ms = t;
        memcpy(h->prev_run_id, old->run_id, sizeof h->prev_run_id);
        /* A second restart before the first was judged keeps the offset
         * from before the first. */
        if (!h->empty_pending)
            h->prev_offset = old->loading ? -1 : rsm_info_offset(old);
        h->empty_pending = true;
    }
    if (!h->empty_pending || now->loading)
        return;
    /* From now on its replicas may sync from it: the restart counts from
     * here for whoever must read them again (planner, monitor). */
    h->empty_pending = false;
    h->restarted_at_ms = t;
    /* Sticky: a second restart before the re-sync keeps the flag. */
    if (h->prev_offset >= 0 && new_off >= 0 && new_off < h->prev_offset)
        h->restarted_empty = true;
}

/* Was the replica's link up since its role began (role_since_ms)? Seen
 * up, or seen down since a time after that: master_link_down_since_seconds
 * s means down for less than s + 1 s (both ends are whole seconds in
 * Redis), and a reply is computed before it arrives, hence the margin. */
static bool link_was_up(const struct rsm_health *h, const struct rsm_info *i,
                        int64_t t)
{
    int64_t s = i->link_down_since_s;

    if (i->link_up)
        return true;
    if (s < 0 || s >= RSM_POLICY_NEVER_LINKED_S)
        return false;
    return (s + 1) * 1000 + LINK_MARGIN_MS <= t - h->role_since_ms;
}

static void take_info(struct rsm_health *h, const struct rsm_info *info,
                      int64_t t, bool watching)
{
    int64_t restarted = h->restarted_at_ms;

    note_restart(h, info, t);
    /* A new process is a new claim: its role counts from now. */
    if (!h->has_info || !same_role(&h->info, info) ||
        h->restarted_at_ms != restarted) {
        h->role_since_ms = t;
        h->role_start_seen = h->has_info && watching;
        h->role_start_offset =
            h->role_start_seen ? rsm_info_offset(&h->info) : -1;
        h->linked_in_role = false;
    }
    if (info->role == RSM_ROLE_REPLICA && link_was_up(h, info, t))
        h->linked_in_role = true;
    /* Its data moved since it began following: only its master's stream
     * moves a replica's offset, so the link was up in between, even when
     * no probe saw it up (linked and cut again between two probes). */
    if (info->role == RSM_ROLE_REPLICA && h->role_start_seen &&
        h->role_start_offset >= 0 && rsm_info_offset(info) >= 0 &&
        rsm_info_offset(info) != h->role_start_offset)
        h->linked_in_role = true;
    /* Re-synced from a master: whatever it lost, it holds its master's
     * data now, so it no longer threatens anyone's. */
    if (info->role == RSM_ROLE_REPLICA && info->link_up)
        h->restarted_empty = false;
    h->info = *info;
    h->has_info = true;
    h->info_ms = t;
}

int rsm_detector_feed(struct rsm_health *h, const struct rsm_probe_result *r)
{
    bool watching;

    if (r->outcome < RSM_PROBE_OK || r->outcome > RSM_PROBE_BAD_REPLY ||
        r->alive < RSM_ALIVE_NONE || r->alive > RSM_ALIVE_MASTERDOWN)
        return RSM_EINVAL;
    if (h->last_probe_ms >= 0 && r->time_ms < h->last_probe_ms)
        return RSM_EINVAL;
    /* The previous probe brought the latest INFO, not long ago: a change
     * this one shows happened between the two. */
    watching = h->has_info && h->info_ms == h->last_probe_ms &&
               r->time_ms - h->info_ms <= WATCH_GAP_MS;
    h->last_probe_ms = r->time_ms;
    h->last_outcome = r->outcome;
    h->last_alive =
        r->outcome == RSM_PROBE_ERROR_REPLY ? r->alive : RSM_ALIVE_NONE;
    if (!result_is_valid(r)) {
        h->failures++;
        return 0;
    }
    h->failures = 0;
    h->last_valid_ms = r->time_ms;
    if (r->outcome == RSM_PROBE_OK && r->has_info)
        take_info(h, &r->info, r->time_ms, watching);
    return 0;
}

int64_t rsm_detector_no_reply_ms(const struct rsm_health *h, int64_t now_ms)
{
    int64_t from = h->last_valid_ms >= 0 ? h->last_valid_ms : h->since_ms;

    return now_ms > from ? now_ms - from : 0;
}

enum rsm_health_state rsm_detector_state(const struct rsm_health *h,
                                         const struct rsm_detector_config *cfg,
                                         int64_t now_ms)
{
    if (rsm_detector_no_reply_ms(h, now_ms) >= cfg->down_after_ms)
        return RSM_HEALTH_DOWN;
    if (h->last_probe_ms < 0)
        return RSM_HEALTH_UNKNOWN;
    if (h->failures > 0)
        return RSM_HEALTH_SUSPECT;
    if (h->last_alive == RSM_ALIVE_LOADING || (h->has_info && h->info.loading))
        return RSM_HEALTH_LOADING;
    if (h->restarted && (h->restarted_empty ||
                         now_ms - h->restarted_at_ms < cfg->down_after_ms))
        return RSM_HEALTH_RESTARTED;
    return RSM_HEALTH_UP;
}

const char *rsm_health_state_str(enum rsm_health_state s)
{
    switch (s) {
    case RSM_HEALTH_UNKNOWN:
        return "unknown";
    case RSM_HEALTH_UP:
        return "up";
    case RSM_HEALTH_SUSPECT:
        return "suspect";
    case RSM_HEALTH_DOWN:
        return "down";
    case RSM_HEALTH_LOADING:
        return "loading";
    case RSM_HEALTH_RESTARTED:
        return "restarted";
    }
    return "invalid";
}

void rsm_detector_observe(const struct rsm_health *h,
                          const struct rsm_detector_config *cfg, int64_t now_ms,
                          struct rsm_observation *out)
{
    memset(out, 0, sizeof *out);
    out->addr = h->addr;
    out->state = rsm_detector_state(h, cfg, now_ms);
    out->info = h->has_info ? &h->info : NULL;
    out->info_age_ms = h->has_info ? now_ms - h->info_ms : -1;
    out->role_age_ms = h->has_info ? now_ms - h->role_since_ms : -1;
    out->no_reply_ms = rsm_detector_no_reply_ms(h, now_ms);
    out->restarted_empty = h->restarted_empty;
    out->empty_pending = h->empty_pending;
    out->restart_age_ms =
        h->restarted_at_ms >= 0 ? now_ms - h->restarted_at_ms : -1;
    out->never_synced_seen = h->has_info && h->info.role == RSM_ROLE_REPLICA &&
                             !h->info.link_up && h->role_start_seen &&
                             !h->linked_in_role;
}

void rsm_detector_view(const struct rsm_health *h,
                       const struct rsm_detector_config *cfg, int64_t now_ms,
                       uint64_t agent_id, struct rsm_agent_view *out)
{
    memset(out, 0, sizeof *out);
    out->agent_id = agent_id;
    out->master = h->addr;
    out->state = rsm_detector_state(h, cfg, now_ms);
    out->no_reply_ms = rsm_detector_no_reply_ms(h, now_ms);
    out->age_ms = 0;
}

/* ======================================================================
 * The master verdict
 * ====================================================================== */

static const struct rsm_health *find_member(const struct rsm_verdict_input *in,
                                            const struct rsm_addr *addr)
{
    for (size_t i = 0; i < in->n_members; i++) {
        if (rsm_addr_equal(&in->members[i].addr, addr))
            return &in->members[i];
    }
    return NULL;
}

static void verdict(struct rsm_master_verdict *out,
                    enum rsm_master_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(struct rsm_master_verdict *out,
                    enum rsm_master_status status, const char *fmt, ...)
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
replica_hearing_master(const struct rsm_verdict_input *in,
                       const struct rsm_health *master, int64_t *contact_ms)
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

static bool view_fresh(const struct rsm_verdict_input *in,
                       const struct rsm_agent_view *v)
{
    int64_t max = in->cfg->view_max_age_ms > 0 ? in->cfg->view_max_age_ms
                                               : in->cfg->down_after_ms;

    return rsm_addr_equal(&v->master, in->master) && v->age_ms >= 0 &&
           v->age_ms <= max;
}

/* Step 5: another agent whose latest probe of the master succeeded. */
static const struct rsm_agent_view *
agent_hearing_master(const struct rsm_verdict_input *in)
{
    for (size_t i = 0; i < in->n_views; i++) {
        const struct rsm_agent_view *v = &in->views[i];
        bool alive = v->state == RSM_HEALTH_UP ||
                     v->state == RSM_HEALTH_LOADING ||
                     v->state == RSM_HEALTH_RESTARTED;

        if (view_fresh(in, v) && alive &&
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
static bool votes_down(const struct rsm_verdict_input *in,
                       const struct rsm_agent_view *v)
{
    int64_t d = in->cfg->down_after_ms;

    if (!view_fresh(in, v))
        return false;
    if (v->state == RSM_HEALTH_DOWN)
        return true;
    return v->state == RSM_HEALTH_SUSPECT && v->age_ms <= d / 4 &&
           v->no_reply_ms + v->age_ms >= d;
}

static unsigned count_down_votes(const struct rsm_verdict_input *in)
{
    unsigned votes = 1; /* the leader */

    for (size_t i = 0; i < in->n_views; i++) {
        if (votes_down(in, &in->views[i]))
            votes++;
    }
    return votes;
}

/* Step 2b: the master answers as a process other than the one recorded
 * (run_id), and this record never saw it restart. Returns true if it
 * decided the verdict. */
static bool verdict_on_new_run_id(const struct rsm_verdict_input *in,
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
            verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
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
    verdict(out, RSM_MASTER_FAILED_RESTART,
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
static bool verdict_while_loading(const struct rsm_verdict_input *in,
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
    verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
            "restarted (run_id %.8s -> %.8s) and loading its data set: "
            "judged once loaded",
            was, m->info.run_id);
    return true;
}

/* Step 3: the leader still gets valid replies. Returns true if it decided
 * the verdict. */
static bool verdict_when_answering(const struct rsm_verdict_input *in,
                                   const struct rsm_health *m,
                                   struct rsm_master_verdict *out)
{
    int64_t d = in->cfg->down_after_ms;
    int64_t role_age;
    char buf[RSM_ADDR_STRLEN];

    if (out->no_reply_ms >= d)
        return false;
    if (m->failures > 0) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "no reply for %lld ms (down after %lld ms)",
                (long long)out->no_reply_ms, (long long)d);
        return true;
    }
    if (!m->has_info || m->info.role != RSM_ROLE_REPLICA) {
        verdict(out, RSM_MASTER_OK, "answering");
        return true;
    }
    role_age = in->now_ms - m->role_since_ms;
    rsm_addr_format(&m->info.master, buf, sizeof buf);
    if (role_age < d) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "reports role:replica of %s for %lld ms (down after %lld ms)",
                buf, (long long)role_age, (long long)d);
        return true;
    }
    out->down_ms = role_age;
    verdict(out, RSM_MASTER_DOWN, "reports role:replica of %s for %lld ms", buf,
            (long long)role_age);
    return true;
}

static void verdict_init(const struct rsm_verdict_input *in,
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

    verdict_init(in, out);
    if (in == NULL || in->master == NULL || in->cfg == NULL ||
        (in->members == NULL && in->n_members > 0) ||
        (in->views == NULL && in->n_views > 0)) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT, "invalid input");
        return RSM_EINVAL;
    }
    m = find_member(in, in->master);
    if (m == NULL) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "%s is not among the monitored instances",
                rsm_addr_format(in->master, buf, sizeof buf));
        return 0;
    }
    out->no_reply_ms = rsm_detector_no_reply_ms(m, in->now_ms);
    out->last_offset = m->has_info ? rsm_info_offset(&m->info) : -1;
    if (m->restarted_empty) {
        out->last_offset = m->prev_offset;
        out->down_ms = in->now_ms - m->restarted_at_ms;
        verdict(out, RSM_MASTER_FAILED_RESTART,
                "restarted empty: run_id changed, offset %lld -> %lld",
                (long long)m->prev_offset,
                (long long)rsm_info_offset(&m->info));
        return 0;
    }
    if (verdict_while_loading(in, m, out))
        return 0;
    if (m->failures == 0 && verdict_on_new_run_id(in, m, out))
        return 0;
    if (m->last_probe_ms < 0 && out->no_reply_ms < in->cfg->down_after_ms) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT, "not probed yet");
        return 0;
    }
    if (verdict_when_answering(in, m, out))
        return 0;
    r = replica_hearing_master(in, m, &contact);
    if (r != NULL) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "no reply for %lld ms but replica %s heard from it %lld s ago",
                (long long)out->no_reply_ms,
                rsm_addr_format(&r->addr, buf, sizeof buf),
                (long long)r->info.master_last_io_s);
        return 0;
    }
    v = agent_hearing_master(in);
    if (v != NULL) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "no reply for %lld ms but agent %llu had one %lld ms ago",
                (long long)out->no_reply_ms, (unsigned long long)v->agent_id,
                (long long)(v->no_reply_ms + v->age_ms));
        return 0;
    }
    out->votes = count_down_votes(in);
    if (out->votes < out->quorum) {
        verdict(out, RSM_MASTER_UNREACHABLE_FROM_AGENT,
                "no quorum: %u of %u agents see it down (quorum %u)",
                out->votes, out->n_agents, out->quorum);
        return 0;
    }
    out->down_ms = out->no_reply_ms;
    verdict(out, RSM_MASTER_DOWN,
            "no reply for %lld ms; %u of %u agents see it down (quorum %u)",
            (long long)out->no_reply_ms, out->votes, out->n_agents,
            out->quorum);
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
