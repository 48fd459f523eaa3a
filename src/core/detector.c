/* detector.c - per-instance health from probe results (the verdict on a
 * group's master is in detector_verdict.c). Pure: time is always an
 * argument. */
#include "rsm/detector.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ======================================================================
 * Probe results
 * ====================================================================== */

/* true if text starts with the word w (followed by a space or the end). */
static bool detector__starts_with_word(const char *text, const char *w)
{
    size_t n = strlen(w);

    return strncmp(text, w, n) == 0 && (text[n] == '\0' || text[n] == ' ');
}

enum rsm_alive_error rsm_detector_alive_error(const char *reply_text)
{
    if (reply_text == NULL)
        return RSM_ALIVE_NONE;
    if (detector__starts_with_word(reply_text, "LOADING"))
        return RSM_ALIVE_LOADING;
    if (detector__starts_with_word(reply_text, "BUSY"))
        return RSM_ALIVE_BUSY;
    if (detector__starts_with_word(reply_text, "MASTERDOWN"))
        return RSM_ALIVE_MASTERDOWN;
    return RSM_ALIVE_NONE;
}

/* Two INFO probes at most this far apart are taken as watching the
 * instance continuously. An idle instance is read about once a second
 * (the slowest probe period of the monitor), a busy one ten times as
 * often: the gap leaves room for a late reply and a loaded loop. */
#define WATCH_GAP_MS 2500

/* Slack for the time a reply spends on its way (see
 * detector__link_was_up()). */
#define LINK_MARGIN_MS 250

/* A reply that proves the server is alive and answering. */
static bool detector__result_is_valid(const struct rsm_probe_result *r)
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
    cfg->crash_confirm_ms = 200;
    cfg->late_ms = 100;
}

void rsm_detector_init(struct rsm_health *h, const struct rsm_addr *addr,
                       int64_t now_ms)
{
    memset(h, 0, sizeof *h);
    h->addr = *addr;
    h->since_ms = now_ms;
    h->last_probe_ms = -1;
    h->last_valid_ms = -1;
    h->refused_since_ms = -1;
    h->pending_since_ms = -1;
    h->info_ms = -1;
    h->role_since_ms = -1;
    h->restarted_at_ms = -1;
    h->prev_offset = -1;
    rsm_info_init(&h->info);
}

/* Same role and (for a replica) same master as before? */
static bool detector__same_role(const struct rsm_info *a,
                                const struct rsm_info *b)
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
static void detector__note_restart(struct rsm_health *h,
                                   const struct rsm_info *now, int64_t t)
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
static bool detector__link_was_up(const struct rsm_health *h,
                                  const struct rsm_info *i, int64_t t)
{
    int64_t s = i->link_down_since_s;

    if (i->link_up)
        return true;
    if (s < 0 || s >= RSM_POLICY_NEVER_LINKED_S)
        return false;
    return (s + 1) * 1000 + LINK_MARGIN_MS <= t - h->role_since_ms;
}

static void detector__take_info(struct rsm_health *h,
                                const struct rsm_info *info, int64_t t,
                                bool watching)
{
    int64_t restarted = h->restarted_at_ms;

    detector__note_restart(h, info, t);
    /* A new process is a new claim: its role counts from now. */
    if (!h->has_info || !detector__same_role(&h->info, info) ||
        h->restarted_at_ms != restarted) {
        h->role_since_ms = t;
        h->role_start_seen = h->has_info && watching;
        h->role_start_offset =
            h->role_start_seen ? rsm_info_offset(&h->info) : -1;
        h->linked_in_role = false;
    }
    if (info->role == RSM_ROLE_REPLICA && detector__link_was_up(h, info, t))
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

    if (r->outcome < RSM_PROBE_OK || r->outcome > RSM_PROBE_CONNECT_REFUSED ||
        r->alive < RSM_ALIVE_NONE || r->alive > RSM_ALIVE_MASTERDOWN)
        return RSM_EINVAL;
    if (h->last_probe_ms >= 0 && r->time_ms < h->last_probe_ms)
        return RSM_EINVAL;
    /* The previous probe brought the latest INFO, not long ago: a change
     * this one shows happened between the two. */
    watching = h->has_info && h->info_ms == h->last_probe_ms &&
               r->time_ms - h->info_ms <= WATCH_GAP_MS;
    if (r->outcome != RSM_PROBE_CONNECT_REFUSED) {
        h->refused_since_ms = -1;
        h->refusals = 0;
    } else if (h->refusals++ == 0) {
        h->refused_since_ms = r->time_ms;
    }
    assert(h->refusals == 0 || h->refused_since_ms >= 0);
    h->last_probe_ms = r->time_ms;
    h->pending_since_ms = -1;
    h->last_outcome = r->outcome;
    h->last_alive =
        r->outcome == RSM_PROBE_ERROR_REPLY ? r->alive : RSM_ALIVE_NONE;
    if (!detector__result_is_valid(r)) {
        h->failures++;
        return 0;
    }
    h->failures = 0;
    h->last_valid_ms = r->time_ms;
    if (r->outcome == RSM_PROBE_OK && r->has_info)
        detector__take_info(h, &r->info, r->time_ms, watching);
    return 0;
}

int64_t rsm_detector_no_reply_ms(const struct rsm_health *h, int64_t now_ms)
{
    int64_t from = h->last_valid_ms >= 0 ? h->last_valid_ms : h->since_ms;

    return now_ms > from ? now_ms - from : 0;
}

void rsm_detector_probe_pending(struct rsm_health *h, int64_t sent_ms)
{
    if (sent_ms < 0 || h->pending_since_ms < 0)
        h->pending_since_ms = sent_ms < 0 ? -1 : sent_ms;
}

bool rsm_detector_late(const struct rsm_health *h,
                       const struct rsm_detector_config *cfg, int64_t now_ms)
{
    return h->failures > 0 || (h->pending_since_ms >= 0 &&
                               now_ms - h->pending_since_ms >= cfg->late_ms);
}

enum rsm_health_state rsm_detector_state(const struct rsm_health *h,
                                         const struct rsm_detector_config *cfg,
                                         int64_t now_ms)
{
    bool late = rsm_detector_late(h, cfg, now_ms);

    if (rsm_detector_no_reply_ms(h, now_ms) >= cfg->down_after_ms &&
        (late || h->last_valid_ms < 0))
        return RSM_HEALTH_DOWN;
    if (h->last_probe_ms < 0)
        return late ? RSM_HEALTH_SUSPECT : RSM_HEALTH_UNKNOWN;
    if (late)
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
    out->refused = h->refusals > 0;
    out->refused_ms = out->refused ? rsm_detector_refused_ms(h, now_ms) : 0;
}

int64_t rsm_detector_refused_ms(const struct rsm_health *h, int64_t now_ms)
{
    if (h->refusals == 0 || h->refused_since_ms < 0)
        return -1;
    return now_ms > h->refused_since_ms ? now_ms - h->refused_since_ms : 0;
}
