/* detector.h - health of Redis instances, and whether a master is down.
 *
 * Pure: the I/O shell probes each instance (INFO, or PING for a cheap
 * liveness probe), turns what came back into a struct rsm_probe_result and
 * feeds it to that instance's struct rsm_health with rsm_detector_feed().
 * The state of an instance is then a function of its record and the time:
 *
 *   UNKNOWN    nothing fed yet, and down_after_ms has not passed since the
 *              record was created;
 *   UP         the latest probe got a valid reply, and none is late;
 *   SUSPECT    late (the latest probe failed, or one has been waiting for
 *              its reply for late_ms), but a valid reply came less than
 *              down_after_ms ago;
 *   DOWN       late, and no valid reply for down_after_ms (counted from the
 *              record's creation if there never was one: then DOWN
 *              whether or not anything is late);
 *   LOADING    alive but loading its data set (a LOADING error reply, or
 *              INFO says loading:1): never down, never promotable;
 *   RESTARTED  alive, and its run_id changed since the previous INFO (shown
 *              for down_after_ms after the restart, and for as long as the
 *              restart is "empty", see below).
 *
 * Liveness is the time since the latest valid reply of any probe, counted
 * only while the instance owes one (a probe failed, or one is late): an
 * instance probed seldom (once a second, while down_after is one second)
 * is not DOWN merely because nobody asked, and a hang is DOWN at its last
 * reply + down_after whatever the probe period, as long as some probe is
 * on its way by then (the shell says when one is sent:
 * rsm_detector_probe_pending). So a probe period below down_after -
 * late_ms detects a hang within down_after of it.
 *
 * A valid reply is a parsed INFO, a PONG, or one of the error replies that
 * prove the server is alive and answering (LOADING, BUSY, MASTERDOWN). Any
 * other outcome (timeout, refused or closed connection, unparseable reply,
 * other error replies such as NOAUTH) is a failed probe, like Sentinel.
 *
 * Restarted empty: when an INFO shows a new run_id AND a replication offset
 * below the last one seen under the old run_id, the instance restarted
 * without its data. The flag is sticky until the instance has been seen as
 * a replica with its master link up (it has been re-synced from a master),
 * because an empty master must never be left to wipe its replicas.
 * A restart is judged only once the new process has loaded its data: while
 * INFO says loading:1 the offset is not restored yet (Redis shows 0 until
 * the RDB is read), so the judgment waits (empty_pending) for the first
 * INFO with loading:0, and compares its offset with the one last seen
 * before the restart (of a process that was not loading).
 * A record only knows what it was fed: an agent that starts (or becomes
 * leader) after the restart cannot see it.
 *
 * Never synced: the record also notes whether it saw a replica begin
 * following its current master (a role or master change, or a new run_id,
 * between two consecutive answered INFO probes) and whether its link has
 * been up since (seen up, or seen down since a time after that start).
 * Such a replica, whose link was never up, holds none of its master's data
 * (observation never_synced_seen, for the policy).
 *
 * The master verdict (rsm_detector_master_verdict) combines the leader's
 * record of the committed master, its records of the other instances (the
 * replicas' view of their link) and the views of the other agents into
 * OK / UNREACHABLE_FROM_AGENT / DOWN / FAILED_RESTART, with a reason.
 *
 * Crash evidence: a dead process and a hung or unreachable one differ on
 * the wire. When the process dies its host's kernel answers at once: new
 * connects are refused (RSM_PROBE_CONNECT_REFUSED); a hang or a partition
 * gives only silence (timeouts). A record counts its unbroken run of
 * refused connects (refused_since_ms, refusals); views carry it
 * (refused). The verdict takes the crash path, without waiting for
 * down_after, only with all three kinds of evidence: every connect of the
 * leader refused for crash_confirm_ms, a quorum of agents refused, and
 * every replica that answers reporting its master link down (see
 * rsm_detector_master_verdict, step 2c).
 *
 * Ownership: every struct here is a plain value type owned by the caller
 * (embed or allocate it, copy freely); no function allocates or keeps a
 * pointer beyond the call, except struct rsm_observation whose `info`
 * points into the struct rsm_health it was built from. */
#ifndef RSM_DETECTOR_H
#define RSM_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rsm/addr.h"
#include "rsm/info.h"
#include "rsm/policy.h"

/* ---- probe results ------------------------------------------------------ */

/* How a probe ended. */
enum rsm_probe_outcome {
    RSM_PROBE_OK = 0,          /* valid reply: INFO parsed, or PONG */
    RSM_PROBE_TIMEOUT,         /* no reply before the probe's deadline */
    RSM_PROBE_REFUSED,         /* connection reset or closed (or a connect
                                  error other than a refusal) */
    RSM_PROBE_ERROR_REPLY,     /* the server answered with an error reply */
    RSM_PROBE_BAD_REPLY,       /* unparseable INFO, protocol error */
    RSM_PROBE_CONNECT_REFUSED, /* the connect got ECONNREFUSED: the host is
                                  up and nothing listens on the port */
};

/* Error replies that mean "alive, just not serving that right now". */
enum rsm_alive_error {
    RSM_ALIVE_NONE = 0,
    RSM_ALIVE_LOADING,    /* -LOADING: loading the data set */
    RSM_ALIVE_BUSY,       /* -BUSY: running a script or function */
    RSM_ALIVE_MASTERDOWN, /* -MASTERDOWN: replica with stale data off */
};

/* What one probe of one instance brought back. Filled by the shell.
 * `info` matters only when outcome == RSM_PROBE_OK and has_info; `alive`
 * only when outcome == RSM_PROBE_ERROR_REPLY. */
struct rsm_probe_result {
    enum rsm_probe_outcome outcome;
    enum rsm_alive_error alive;
    bool has_info;        /* false for a PING-only probe */
    struct rsm_info info; /* INFO replication (+ server, persistence) */
    int64_t time_ms;      /* when the reply or the failure arrived */
};

/* Which alive error an error reply's text is: "LOADING ...", "BUSY ...",
 * "MASTERDOWN ..." (the first word, case-sensitive as Redis sends it);
 * RSM_ALIVE_NONE for any other text or NULL. */
enum rsm_alive_error rsm_detector_alive_error(const char *reply_text);

/* ---- per-instance health ------------------------------------------------ */

enum rsm_health_state {
    RSM_HEALTH_UNKNOWN = 0,
    RSM_HEALTH_UP,
    RSM_HEALTH_SUSPECT,
    RSM_HEALTH_DOWN,
    RSM_HEALTH_LOADING,
    RSM_HEALTH_RESTARTED,
};

/* Knobs of the detector (one set per monitored group). */
struct rsm_detector_config {
    int64_t down_after_ms;    /* no valid reply for this long = down (> 0) */
    unsigned quorum;          /* agents that must see the master down, the
                                 leader included (0 is taken as 1) */
    int64_t view_max_age_ms;  /* other agents' views older than this are
                                 ignored; 0 = down_after_ms */
    int64_t crash_confirm_ms; /* the crash path (see the top of this file)
                                 needs every connect refused for this long;
                                 0 = no crash path, down_after only */
    int64_t late_ms;          /* a probe unanswered this long makes the
                                 instance late (SUSPECT, then DOWN) as a
                                 failed one does; 0: at once */
};

/* Defaults: down_after 5000 ms, quorum 1, view_max_age = down_after,
 * crash_confirm 200 ms, late 100 ms. */
void rsm_detector_config_init(struct rsm_detector_config *cfg);

/* What one agent knows of one instance: the results fed so far, reduced.
 * Owned by the caller; one per monitored instance; initialise with
 * rsm_detector_init(). Read the fields freely; change them only through
 * the functions below. */
struct rsm_health {
    struct rsm_addr addr;
    int64_t since_ms;      /* when tracking started */
    int64_t last_probe_ms; /* latest result fed, -1 none */
    enum rsm_probe_outcome last_outcome;
    enum rsm_alive_error last_alive; /* of the latest result */
    int64_t last_valid_ms;           /* latest valid reply, -1 never */
    unsigned failures;               /* failed probes in a row */
    int64_t refused_since_ms;        /* first of the connects refused in a row
                                        (CONNECT_REFUSED), -1 unless the latest
                                        result is one */
    unsigned refusals;               /* connects refused in a row */
    int64_t pending_since_ms;        /* sent time of the oldest probe that
                                        awaits its result, -1 none */

    bool has_info; /* info holds the latest parsed INFO */
    struct rsm_info info;
    int64_t info_ms;       /* when info arrived, -1 none */
    int64_t role_since_ms; /* since when info has shown its current
                          role and master address (under the
                          current run_id), -1 none */

    bool role_start_seen;      /* role_since_ms is a change seen between two
                                  consecutive answered INFO probes (not the
                                  first INFO, not after a gap) */
    bool linked_in_role;       /* the link was up since role_since_ms (seen up,
                                  seen down since a later time, or its offset
                                  moved away from role_start_offset) */
    int64_t role_start_offset; /* offset in the INFO before the role
                                  change seen (role_start_seen), -1 */

    bool restarted;          /* run_id changed at restarted_at_ms */
    bool restarted_empty;    /* ... and its offset dropped (sticky) */
    bool empty_pending;      /* restarted while loading: restarted_empty
                                is judged on the first INFO with
                                loading:0 */
    int64_t restarted_at_ms; /* -1 never; for a restart seen while
                                loading, when the load was seen over
                                (its replicas may sync from it since) */
    char prev_run_id[RSM_RUNID_LEN + 1];
    int64_t prev_offset; /* offset last seen before the restart, -1
                            unknown (loading, or never seen) */
};

/* Start tracking addr at now_ms: nothing known, state UNKNOWN. */
void rsm_detector_init(struct rsm_health *h, const struct rsm_addr *addr,
                       int64_t now_ms);

/* Feed one probe result. Results must come in time order: a result older
 * than the latest one fed is ignored and RSM_EINVAL returned (the record is
 * unchanged), as is an outcome or alive value out of range. Returns 0 when
 * the result was taken into account. */
int rsm_detector_feed(struct rsm_health *h, const struct rsm_probe_result *r);

/* A probe of the instance was sent at sent_ms and awaits its result (the
 * next rsm_detector_feed ends the wait); the oldest such time is kept.
 * sent_ms < 0: nothing awaits any more (the probe was canceled). */
void rsm_detector_probe_pending(struct rsm_health *h, int64_t sent_ms);

/* Does the instance owe a reply at now_ms: its latest probe failed, or one
 * has waited for its result for cfg->late_ms? */
bool rsm_detector_late(const struct rsm_health *h,
                       const struct rsm_detector_config *cfg, int64_t now_ms);

/* State of the instance at now_ms (see the top of this file). */
enum rsm_health_state rsm_detector_state(const struct rsm_health *h,
                                         const struct rsm_detector_config *cfg,
                                         int64_t now_ms);

/* Milliseconds without a valid reply at now_ms: since the latest valid
 * reply, or since tracking started if there never was one. */
int64_t rsm_detector_no_reply_ms(const struct rsm_health *h, int64_t now_ms);

/* For how long every connect has been refused at now_ms (since the first
 * of the refusals in a row), or -1 if the latest result is not one. */
int64_t rsm_detector_refused_ms(const struct rsm_health *h, int64_t now_ms);

/* "unknown", "up", "suspect", "down", "loading", "restarted". */
const char *rsm_health_state_str(enum rsm_health_state s);

/* ---- observations: what the planner is given ---------------------------- */

/* One instance as seen at now_ms, for the planner. Built from a health
 * record by rsm_detector_observe(); `info` points into that record and is
 * valid until it is fed again or goes away. May also be filled by hand
 * (tests, simulations): then the caller owns what info points to. */
struct rsm_observation {
    struct rsm_addr addr;
    enum rsm_health_state state;
    const struct rsm_info *info; /* latest INFO, NULL if none ever */
    int64_t info_age_ms;         /* now - time of that INFO, -1 if none */
    int64_t role_age_ms;         /* how long INFO has shown the current
                                    role and master address, -1 if none */
    int64_t no_reply_ms;         /* see rsm_detector_no_reply_ms() */
    bool restarted_empty;
    bool empty_pending;     /* restarted, still loading: not judged yet */
    int64_t restart_age_ms; /* now - restarted_at_ms of the record (the
                               latest restart seen, or the end of its
                               load), -1 if none was seen */
    bool never_synced_seen; /* a replica seen beginning to follow its
                               master whose link was never up since */
};

void rsm_detector_observe(const struct rsm_health *h,
                          const struct rsm_detector_config *cfg, int64_t now_ms,
                          struct rsm_observation *out);

/* ---- other agents' views of a master ------------------------------------ */

/* What another agent reported about a master (its own cheap liveness
 * probe). The follower builds it with rsm_detector_view(); the leader sets
 * age_ms = now - the time it received it. */
struct rsm_agent_view {
    uint64_t agent_id;
    struct rsm_addr master;      /* which instance the view is about */
    enum rsm_health_state state; /* that agent's detector state */
    int64_t no_reply_ms;         /* that agent's no-reply time, at report */
    int64_t age_ms;              /* how old the view is, at the leader */
    bool refused;                /* that agent's latest probes were connects
                                    refused in a row (false from agents older
                                    than the crash path: they send none) */
    int64_t refused_ms;          /* ... for this long, at report (if refused) */
};

/* Fill a view of h at now_ms, for agent_id, with age_ms = 0 (and
 * refused_ms from the record's run of refused connects). */
void rsm_detector_view(const struct rsm_health *h,
                       const struct rsm_detector_config *cfg, int64_t now_ms,
                       uint64_t agent_id, struct rsm_agent_view *out);

/* ---- the verdict on a group's master ------------------------------------ */

enum rsm_master_status {
    RSM_MASTER_OK = 0,
    /* The leader cannot show it down (not long enough, a replica or an
     * agent still hears from it, no quorum): report, do nothing. */
    RSM_MASTER_UNREACHABLE_FROM_AGENT,
    /* Objectively down: see rsm_detector_master_verdict(). */
    RSM_MASTER_DOWN,
    /* Restarted empty (run_id changed, offset dropped): failed at once. */
    RSM_MASTER_FAILED_RESTART,
};

#define RSM_VERDICT_REASON_MAX 256

struct rsm_master_verdict {
    enum rsm_master_status status;
    char reason[RSM_VERDICT_REASON_MAX]; /* one line for the operator */
    int64_t no_reply_ms;                 /* the leader's, -1 if not monitored */
    int64_t down_ms;     /* how long it has been failing as far as the
                            leader knows (policy master_down_ms), -1
                            unless DOWN or FAILED_RESTART */
    int64_t last_offset; /* last replication offset the leader saw on
                            it, -1 unknown (decision old_offset) */
    bool crashed;        /* DOWN by the crash path (step 2c) */
    unsigned votes;      /* agents that see it down, leader included */
    unsigned n_agents;   /* agents counted (leader + views given) */
    unsigned quorum;     /* the quorum applied */
};

/* Everything the verdict is computed from; the caller owns every pointer,
 * which need only be valid during the call. */
struct rsm_verdict_input {
    const struct rsm_addr *master;    /* the committed master */
    const struct rsm_health *members; /* the leader's records of the
                                         group's instances (the master
                                         among them, found by address) */
    size_t n_members;
    const struct rsm_agent_view *views; /* other agents' views (may be
                                           NULL if n_views == 0) */
    size_t n_views;
    unsigned n_agents; /* agents in the group, leader
                          included, for the report; 0 =
                          1 + n_views */
    const struct rsm_detector_config *cfg;
    int64_t now_ms;
    const char *committed_run_id; /* the master's run_id as recorded in the
                                     log, NULL or "" if none */
};

/* The verdict on the committed master, checked in this order (2c is the
 * crash path, the others the down-after path):
 *  1. not among the members, or nothing known of it yet -> UNREACHABLE;
 *  2. restarted empty -> FAILED_RESTART (no quorum needed: the leader read
 *     the evidence in the master's own reply, after it loaded its data);
 *  2a. answering with loading:1 after a restart not judged yet (this
 *     record saw it, empty_pending, or its run_id is not committed_run_id)
 *     -> UNREACHABLE ("loading ...: judged once loaded"): no restart is
 *     judged empty, and nothing recorded, before the data is loaded;
 *  2b. its latest INFO shows role:master with a run_id other than
 *     committed_run_id (a new process this record did not see restart,
 *     e.g. the leader is new): FAILED_RESTART if a replica of it reports a
 *     higher offset than it ("restarted with less data than its
 *     replicas"); UNREACHABLE ("waiting for ...") while a member has not
 *     answered a first INFO and is not DOWN, so that nothing is recorded
 *     before that comparison can be made;
 *  2c. crash (cfg->crash_confirm_ms > 0): the leader's latest results are
 *     connects refused in a row, at least 2, the first crash_confirm_ms
 *     or more ago; every replica of it that is not DOWN has answered an
 *     INFO since the first refusal, and every one that did reports its
 *     link to this master down (at least one such replica); no fresh
 *     view had a valid reply since the first refusal; and 1 + the fresh
 *     views that are refused reach the quorum -> DOWN (crashed, with
 *     down_ms the refused time). With part of that evidence missing it is
 *     UNREACHABLE ("crash suspected: ...") until down_after, then the
 *     steps below decide as before. A timeout anywhere in the run, or any
 *     answer, resets it: a hang or a partition never takes this path;
 *  3. the leader had a valid reply less than down_after_ms ago: OK if that
 *     reply (the latest INFO) shows role:master or no role is known, or
 *     the master has shown role:replica for less than down_after_ms;
 *     DOWN if it has reported role:replica for down_after_ms or more
 *     (like Sentinel: a master that turned into a replica has failed);
 *     UNREACHABLE ("no reply for N ms") if the latest probe failed;
 *  4. a reachable replica (INFO newer than down_after_ms) of this master
 *     with master_link_status:up and master_last_io_seconds_ago * 1000 +
 *     INFO age < down_after_ms -> UNREACHABLE ("... but replica X heard
 *     from it N s ago");
 *  5. a fresh view (age <= view_max_age_ms) of another agent whose latest
 *     probe of it succeeded (UP, LOADING or RESTARTED) with no_reply_ms +
 *     age_ms < down_after_ms -> UNREACHABLE ("agent N had a reply ...");
 *  6. votes = 1 (the leader) + fresh views in state DOWN about this
 *     address; votes < quorum -> UNREACHABLE ("no quorum: v of n agents
 *     see it down, quorum q");
 *  7. otherwise DOWN.
 * So the master is never DOWN while fresh evidence says it is alive.
 * Views about another address and stale views are ignored. Returns 0, or
 * RSM_EINVAL if a required pointer is NULL (out then says UNREACHABLE). */
int rsm_detector_master_verdict(const struct rsm_verdict_input *in,
                                struct rsm_master_verdict *out);

/* "ok", "unreachable-from-agent", "down", "failed-restart". */
const char *rsm_master_status_str(enum rsm_master_status s);

#endif /* RSM_DETECTOR_H */
