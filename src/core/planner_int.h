/* planner_int.h - what the pieces of the planner share (private to
 * src/core): the context of one rsm_planner_next() call, the in-flight
 * failover as one step sees it, and the helpers every phase uses.
 *
 * The planner's files, one phase each:
 *   planner.c                  entry point (checks, dispatch), names
 *   planner_plan.c             building the plan: reason, events, actions,
 *                              proposals
 *   planner_observe.c          reading observations
 *   planner_bootstrap.c        no committed master: record the one seen
 *   planner_repair.c           steady state: demote a rogue master,
 *                              re-point replicas that follow another
 *   planner_decide.c           deciding a failover: anti-flap, ranking,
 *                              the DecideFailover entry
 *   planner_failover.c         the in-flight failover, one function per
 *                              state: promote, re-point, demote, abort
 *   planner_switchover.c       a switchover: the request, its time limit,
 *                              the FAILOVER command method in flight
 *   planner_switchover_pause.c the pause method in flight, and why each
 *                              of its crash points is safe
 *
 * Every function here is pure, like the planner: plain data in, the plan
 * (c->out) out. Nothing is allocated: the context and the flight live on
 * rsm_planner_next()'s stack for one call. */
#ifndef RSM_PLANNER_INT_H
#define RSM_PLANNER_INT_H

#include "rsm/planner.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Everything one call works with. */
struct ctx {
    const struct rsm_planner_input *in;
    const struct rsm_group *g; /* committed group or NULL */
    struct rsm_planner_plan *out;
    int64_t now;
    int64_t down_after;
    int64_t max_info_age;
    unsigned parallel_syncs;
};

/* The committed failover in flight, as one step sees it (see
 * planner_failover.c). */
struct flight {
    const struct rsm_entry *d; /* committed decision */
    const struct rsm_addr *new_m;
    const struct rsm_addr *old_m; /* NULL for bootstrap */
    const struct rsm_observation *chosen;
    const struct rsm_observation *old;
    bool timed_out;
    int64_t elapsed;
};

/* The least pause left with which the old master is demoted (see
 * planner_switchover_pause.c); a pause switchover needs a longer limit. */
#define PAUSE_MARGIN_MS 1000

/* --- building the plan (planner_plan.c) --------------------------------- */

/* Set the plan's reason to printf(fmt, ...), truncated to fit. */
void planner__reasonf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append printf(fmt, ...) to the plan's reason, truncated to fit. */
void planner__reason_append(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Add the event name with detail printf(fmt, ...); dropped when the plan
 * already holds RSM_PLAN_MAX_EVENTS. */
void planner__event(struct ctx *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add the command cmd for the instance at addr (master: the REPLICAOF or
 * FAILOVER target, or NULL); the plan becomes RSM_PLAN_REDIS. */
void planner__add_action(struct ctx *c, const struct rsm_addr *addr,
                         enum rsm_redis_cmd cmd, const struct rsm_addr *master);

/* Start a proposal of kind k; the plan becomes RSM_PLAN_PROPOSE. */
struct rsm_entry *planner__propose(struct ctx *c, enum rsm_entry_kind k);

/* --- reading observations (planner_observe.c) --------------------------- */

/* The observation of the instance at addr, or NULL if it is not one. */
const struct rsm_observation *planner__find_obs(const struct ctx *c,
                                                const struct rsm_addr *addr);

/* Answering, with an INFO recent enough to go by (o may be NULL). */
bool planner__usable(const struct ctx *c, const struct rsm_observation *o);

/* Usable and able to take a command now (o may be NULL). */
bool planner__can_command(const struct ctx *c, const struct rsm_observation *o);

/* Its INFO says role:master. o must have an INFO (e.g. be usable). */
bool planner__is_master(const struct rsm_observation *o);

/* Its INFO says it is a replica of master. o must have an INFO. */
bool planner__follows(const struct rsm_observation *o,
                      const struct rsm_addr *master);

/* Usable, a replica of master, its link up and not syncing. */
bool planner__linked_to(const struct ctx *c, const struct rsm_observation *o,
                        const struct rsm_addr *master);

/* Reachable replica whose link to its master is up with recent contact. */
bool planner__hears_its_master(const struct ctx *c,
                               const struct rsm_observation *o);

/* Was addr the old master of a failover in the committed history? */
bool planner__was_old_master(const struct ctx *c, const struct rsm_addr *addr);

/* --- the phases --------------------------------------------------------- */

/* No committed master: record the master seen, or bootstrap one
 * (planner_bootstrap.c). */
int planner__first_start(struct ctx *c);

/* Propose ObserveMaster for m (NULL: no master, record the members only)
 * with the configured members (planner_bootstrap.c). */
struct rsm_entry *planner__observe(struct ctx *c,
                                   const struct rsm_observation *m);

/* A healthy committed master: repair the topology around it
 * (planner_repair.c). */
int planner__steady_state(struct ctx *c);

/* Replicas of m still syncing (pointed at it, link not up yet), skip
 * left out (planner_repair.c). */
unsigned planner__count_syncing(const struct ctx *c, const struct rsm_addr *m,
                                const struct rsm_addr *skip);

/* Anti-flap: true (and the plan says why) if a new automatic decision
 * must wait (planner_decide.c). */
bool planner__held_back(struct ctx *c);

/* Propose DecideFailover to the best candidate, or say why not
 * (planner_decide.c). */
int planner__decide(struct ctx *c, enum rsm_failover_kind kind,
                    const struct rsm_addr *old_master, const char *why);

/* Propose DecideFailover to target (NULL: the best candidate), or say why
 * not (planner_decide.c). */
int planner__decide_to(struct ctx *c, enum rsm_failover_kind kind,
                       const struct rsm_addr *old_master,
                       const struct rsm_addr *target, const char *why);

/* The committed failover's next step (planner_failover.c). */
int planner__run_failover(struct ctx *c);

/* SEND_PROMOTE / WAIT_PROMOTION: promote the target, or record that it
 * was (planner_failover.c). */
int planner__promote_phase(struct ctx *c, const struct flight *f);

/* Propose AbortFailover with its code (what io names the event from) and
 * its reason text (for humans) (planner_failover.c). */
int planner__abort_failover(struct ctx *c, const struct flight *f,
                            enum rsm_abort_code code, const char *ev,
                            const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* An operator asked for a switchover, no failover in flight
 * (planner_switchover.c). */
int planner__switchover_requested(struct ctx *c);

/* A switchover's time limit: asked_ms (the request's, or the decision's
 * once taken) if set, else failover_timeout_ms (planner_switchover.c). */
int64_t planner__switchover_limit(const struct ctx *c, int64_t asked_ms);

/* A switchover's target (o, at address text a) lost before the roles
 * are swapped: not monitored or DOWN, or restarted empty. Returns the
 * abort's event name and sets *code and why (len bytes); NULL (nothing
 * set) while the target is there (planner_switchover.c). */
const char *planner__target_lost(const struct rsm_observation *o, const char *a,
                                 enum rsm_abort_code *code, char *why,
                                 size_t len);

/* SEND_PROMOTE / WAIT_PROMOTION of a switchover by the FAILOVER command
 * (planner_switchover.c). */
int planner__switchover_phase(struct ctx *c, const struct flight *f);

/* PAUSE_WRITES and SWAP_ROLES of a pause switchover
 * (planner_switchover_pause.c). */
int planner__pause_phase(struct ctx *c, const struct flight *f);
int planner__swap_phase(struct ctx *c, const struct flight *f);

#endif /* RSM_PLANNER_INT_H */
