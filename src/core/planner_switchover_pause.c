/* planner_switchover_pause.c - the pause switchover (method PAUSE) in
 * flight: pause writes on the old master, wait for the target to catch
 * up, swap the roles, unpause; or roll back. Why each crash point is
 * safe is below. */
#include "planner_int.h"

#include <assert.h>
#include <stdio.h>

/* ======================================================================
 * The pause switchover (method PAUSE)
 *
 * Why each crash point is safe. "Acknowledged" means a client got OK for
 * a write; clients write to the master the agents give them, which is the
 * old master until FailoverProgress(PROMOTED) commits. A new leader has
 * no pause record (the shell keeps it in memory only), so it never relies
 * on a pause it did not send and read the offset after itself.
 *
 *  C1 decided, nothing sent: the new leader pauses itself, or aborts (an
 *     UNPAUSE that finds nothing paused is harmless).
 *  C2 old master paused, CAUGHT_UP not committed: no instance was
 *     demoted or promoted; the old master is still the only master. The
 *     new leader pauses again (same deadline) and reads its own offset,
 *     or aborts: CLIENT UNPAUSE, then AbortFailover; if the old master
 *     does not answer, its pause ends by itself at the deadline. Cost:
 *     writes stall until then at worst; none is lost.
 *  C3 CAUGHT_UP committed, old master not demoted: its pause may have
 *     lapsed and writes resumed, so the new leader pauses again, checks
 *     that the target has the new offset, and only then demotes; if it
 *     cannot before the deadline margin, it rolls back (UNPAUSE, abort).
 *  C4 old master demoted (REPLICAOF target), target not promoted: no
 *     instance accepts writes (the old master is a replica, the target
 *     one too). The target has every acknowledged write: it had the
 *     offset read while writes were paused, and the old master accepted
 *     none since. The new leader sees the old master follow the target
 *     and promotes the target. If the target is DOWN or restarted empty,
 *     it rolls back: REPLICAOF NO ONE to the old master (it has all the
 *     target has), UNPAUSE, AbortFailover. If neither answers, the abort
 *     is committed at the deadline; an old master that comes back as a
 *     replica is then judged DOWN by the detector after down_after (it
 *     reports role:replica) and a failover follows: availability lost,
 *     never a write.
 *  C5 target promoted, old master still paused: no client was sent to
 *     the target yet (PROMOTED not committed). The new leader sees both
 *     and sends UNPAUSE, then proposes PROMOTED. If it cannot see the
 *     old master follow the target, it does not commit the promotion (the
 *     old master might be a master again after a half-done rollback): it
 *     waits, and rolls back at the deadline.
 *  C6 UNPAUSE sent, PROMOTED not committed: the old master answers its
 *     queued writes with READONLY (none acknowledged). As C5.
 *  C7 PROMOTED committed: an ordinary failover after promotion (clients
 *     follow +switch-master; the old master already follows the target).
 *  Rollback: REPLICAOF NO ONE to the old master, then UNPAUSE, then
 *     AbortFailover. A crash in between leaves step CAUGHT_UP: the new
 *     leader sees the old master as a master, pauses it again, and either
 *     goes forward (re-checking the offset before demoting) or finishes
 *     the rollback. It never promotes the target while the old master is
 *     a master: both claiming role:master is itself a reason to roll back
 *     (the old master is the one clients use).
 *
 * The remaining assumption: a demoting REPLICAOF reaches the old master
 * while its pause holds. It is sent only with at least PAUSE_MARGIN_MS of
 * the pause left (more than the shell's command timeout); a master frozen
 * (SIGSTOP, swapping) for longer than that between our check and the
 * command could serve writes before the REPLICAOF runs.
 * ====================================================================== */

/* Time left until the decision's deadline (negative once past it). */
static int64_t planner__switchover_left(const struct ctx *c,
                                        const struct flight *f)
{
    return planner__switchover_limit(c, f->d->timeout_ms) - f->elapsed;
}

/* The shell's pause record, if it is of this switchover. */
static const struct rsm_pause_record *planner__pause_of(const struct ctx *c,
                                                        const struct flight *f)
{
    const struct rsm_pause_record *p = c->in->pause;

    if (p == NULL || p->epoch != f->d->epoch ||
        !rsm_addr_equal(&p->addr, f->old_m) || p->state == RSM_PAUSE_NONE)
        return NULL;
    return p;
}

/* Writes are paused on the old master now, by this leader, with the
 * offset read after the pause: a PAUSED record, not lapsed, and the old
 * master seen as the same process in the same role since before it was
 * sent (a restart lifts a pause). */
static bool planner__paused_now(const struct ctx *c, const struct flight *f,
                                const struct rsm_pause_record *p)
{
    return p != NULL && p->state == RSM_PAUSE_PAUSED && p->offset >= 0 &&
           c->now < p->until_ms && f->old != NULL &&
           f->old->role_age_ms >= c->now - p->sent_ms;
}

static void planner__send_pause(struct ctx *c, const struct flight *f,
                                int64_t left)
{
    char b[RSM_ADDR_STRLEN];

    planner__add_action(c, f->old_m, RSM_CMD_CLIENT_PAUSE, NULL);
    c->out->actions[c->out->n_actions - 1].timeout_ms = left;
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    planner__reasonf(
        c, "switchover: CLIENT PAUSE WRITE on %s for %lld ms (epoch %llu)", b,
        (long long)left, (unsigned long long)f->d->epoch);
    planner__event(c, "+pause-writes", "%s %s for %lld ms epoch %llu",
                   c->in->group, b, (long long)left,
                   (unsigned long long)f->d->epoch);
}

static void planner__send_unpause(struct ctx *c, const struct flight *f)
{
    char b[RSM_ADDR_STRLEN];

    planner__add_action(c, f->old_m, RSM_CMD_CLIENT_UNPAUSE, NULL);
    planner__event(c, "+unpause-writes", "%s %s epoch %llu", c->in->group,
                   rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN),
                   (unsigned long long)f->d->epoch);
}

/* The offset the target must have: the one read after the pause, or more
 * if the old master was seen further since (then its pause did not hold:
 * the target must have those writes too). */
static int64_t planner__offset_needed(const struct flight *f,
                                      const struct rsm_pause_record *p)
{
    int64_t seen = f->old && f->old->info ? rsm_info_offset(f->old->info) : -1;

    return seen > p->offset ? seen : p->offset;
}

/* The target, answering and linked to the old master, has offset_needed:
 * every write the old master acknowledged. */
static bool planner__target_caught_up(const struct ctx *c,
                                      const struct flight *f,
                                      const struct rsm_pause_record *p)
{
    const struct rsm_observation *o = f->chosen;

    return planner__can_command(c, o) && planner__linked_to(c, o, f->old_m) &&
           rsm_info_offset(o->info) >= planner__offset_needed(f, p);
}

static void planner__reason_catching_up(struct ctx *c, const struct flight *f,
                                        const struct rsm_pause_record *p,
                                        int64_t left)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];
    const struct rsm_observation *o = f->chosen;

    planner__reasonf(
        c,
        "switchover: writes paused on %s; waiting for %s to catch up "
        "(offset %lld of %lld, %lld ms left)",
        rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN),
        rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN),
        (long long)(o && o->info ? rsm_info_offset(o->info) : -1),
        (long long)planner__offset_needed(f, p), (long long)left);
    c->out->watch = *f->new_m;
}

/* Writes paused by this leader and the target has every one of them:
 * true. Otherwise false, and the plan pauses the old master (again) or
 * says what the target still lacks. */
static bool planner__pause_holds(struct ctx *c, const struct flight *f,
                                 const struct rsm_pause_record *p, int64_t left)
{
    if (!planner__paused_now(c, f, p)) {
        planner__send_pause(c, f, left);
        return false;
    }
    if (!planner__target_caught_up(c, f, p)) {
        planner__reason_catching_up(c, f, p, left);
        return false;
    }
    return true;
}

/* Abort at step NONE: nothing was demoted; lift the pause first. */
static int planner__pause_abort(struct ctx *c, const struct flight *f,
                                const struct rsm_pause_record *p,
                                enum rsm_abort_code code, const char *ev,
                                const char *why)
{
    char b[RSM_ADDR_STRLEN];

    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__can_command(c, f->old) &&
        (p == NULL ||
         (p->state != RSM_PAUSE_UNPAUSED && p->state != RSM_PAUSE_REFUSED))) {
        planner__send_unpause(c, f);
        planner__reasonf(c, "switchover: %s; CLIENT UNPAUSE on %s, then abort",
                         why, b);
        return 0;
    }
    return planner__abort_failover(c, f, code, ev,
                                   "switchover: %s, %s keeps serving", why, b);
}

/* PAUSE_WRITES (step NONE): pause, wait for the target, record it. */
int planner__pause_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    const struct rsm_pause_record *p = planner__pause_of(c, f);
    int64_t left = planner__switchover_left(c, f);
    const char *ev = NULL;
    enum rsm_abort_code code = RSM_ABORT_UNSPECIFIED;
    char why[RSM_ADDR_STRLEN + RSM_REASON_MAX + 64];
    struct rsm_entry *e;
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    assert(f->old_m != NULL); /* a switchover has an old master */
    c->out->state = RSM_FO_PAUSE_WRITES;
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (p != NULL && p->state == RSM_PAUSE_REFUSED) {
        ev = "-failover-abort-pause-refused";
        code = RSM_ABORT_OTHER;
        snprintf(why, sizeof why, "CLIENT PAUSE refused by %s (%.32s)", b,
                 p->error);
    } else {
        ev = planner__target_lost(o, a, &code, why, sizeof why);
        if (ev == NULL && left < PAUSE_MARGIN_MS) {
            ev = "-failover-abort-timeout";
            code = RSM_ABORT_TIMEOUT;
            snprintf(why, sizeof why, "%s not caught up within %lld ms", a,
                     (long long)(left + f->elapsed - PAUSE_MARGIN_MS));
        }
    }
    if (ev != NULL)
        return planner__pause_abort(c, f, p, code, ev, why);
    if (!planner__can_command(c, old) || !planner__is_master(old) ||
        !planner__linked_to(c, o, f->old_m)) {
        planner__reasonf(
            c,
            "switchover to %s: waiting for %s (role:master, answering) "
            "and %s linked to it",
            a, b, a);
        return 0;
    }
    if (!planner__pause_holds(c, f, p, left))
        return 0;
    e = planner__propose(c, RSM_ENTRY_FAILOVER_PROGRESS);
    e->epoch = f->d->epoch;
    e->step = RSM_STEP_CAUGHT_UP;
    planner__reasonf(c,
                     "switchover: %s has offset %lld of paused %s: record it",
                     a, (long long)rsm_info_offset(o->info), b);
    planner__event(c, "+caught-up",
                   "%s %s offset %lld, %s paused at %lld epoch %llu",
                   c->in->group, a, (long long)rsm_info_offset(o->info), b,
                   (long long)planner__offset_needed(f, p),
                   (unsigned long long)f->d->epoch);
    return 0;
}

/* Roll back at step CAUGHT_UP: the old master a master again (it has
 * every write the target has), unpaused, then AbortFailover. */
static int planner__rollback(struct ctx *c, const struct flight *f,
                             const struct rsm_pause_record *p,
                             enum rsm_abort_code code, const char *ev,
                             const char *why)
{
    const struct rsm_observation *old = f->old;
    char b[RSM_ADDR_STRLEN];

    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (planner__can_command(c, old) && !planner__is_master(old)) {
        planner__add_action(c, f->old_m, RSM_CMD_REPLICAOF_NO_ONE, NULL);
        planner__reasonf(c, "switchover: %s; rolling back: %s master again",
                         why, b);
        planner__event(c, "+rollback-old-master", "%s %s epoch %llu: %s",
                       c->in->group, b, (unsigned long long)f->d->epoch, why);
        return 0;
    }
    if (planner__can_command(c, old) &&
        (p == NULL || p->state != RSM_PAUSE_UNPAUSED)) {
        planner__send_unpause(c, f);
        planner__reasonf(
            c, "switchover: %s; rolling back: CLIENT UNPAUSE on %s", why, b);
        return 0;
    }
    return planner__abort_failover(c, f, code, ev,
                                   "switchover: %s, rolled back, %s keeps "
                                   "serving",
                                   why, b);
}

/* Old master still a master at step CAUGHT_UP: demote it, but only while
 * this leader's pause holds and the target has every write. */
static int planner__demote_paused(struct ctx *c, const struct flight *f,
                                  const struct rsm_pause_record *p,
                                  int64_t left)
{
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    if (!planner__pause_holds(c, f, p, left))
        return 0;
    planner__add_action(c, f->old_m, RSM_CMD_REPLICAOF, f->new_m);
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    planner__reasonf(c,
                     "switchover: demote %s first: REPLICAOF %s (epoch %llu)",
                     b, a, (unsigned long long)f->d->epoch);
    planner__event(c, "+convert-to-slave",
                   "%s old master %s now a replica of %s", c->in->group, b, a);
    return 0;
}

/* SWAP_ROLES (step CAUGHT_UP): demote the old master, promote the target,
 * unpause, record the promotion; or roll back. */
int planner__swap_phase(struct ctx *c, const struct flight *f)
{
    const struct rsm_observation *o = f->chosen, *old = f->old;
    const struct rsm_pause_record *p = planner__pause_of(c, f);
    int64_t left = planner__switchover_left(c, f);
    bool target_master =
        planner__usable(c, o) && planner__is_master(o) && !o->restarted_empty;
    bool old_seen = planner__usable(c, old);
    bool demoted = old_seen && planner__follows(old, f->new_m);
    bool old_master = old_seen && planner__is_master(old);
    char a[RSM_ADDR_STRLEN], b[RSM_ADDR_STRLEN];

    assert(f->old_m != NULL); /* a switchover has an old master */
    c->out->state = RSM_FO_SWAP_ROLES;
    rsm_addr_format(f->new_m, a, RSM_ADDR_STRLEN);
    rsm_addr_format(f->old_m, b, RSM_ADDR_STRLEN);
    if (target_master && demoted) {
        if (planner__can_command(c, old) &&
            (p == NULL || p->state != RSM_PAUSE_UNPAUSED)) {
            planner__send_unpause(c, f);
            planner__reasonf(c,
                             "switchover: %s promoted, %s its replica: CLIENT "
                             "UNPAUSE on %s",
                             a, b, b);
            return 0;
        }
        return planner__promote_phase(c, f); /* records the promotion */
    }
    if (o == NULL || o->state == RSM_HEALTH_DOWN)
        return planner__rollback(c, f, p, RSM_ABORT_UNREACHABLE,
                                 "-failover-abort-slave-unreachable",
                                 "target unreachable");
    if (o->restarted_empty)
        return planner__rollback(c, f, p, RSM_ABORT_RESTARTED,
                                 "-failover-abort-slave-restarted",
                                 "target restarted empty");
    if (target_master && old_master)
        return planner__rollback(c, f, p, RSM_ABORT_OTHER,
                                 "-failover-abort-roles",
                                 "target and old master both role:master");
    if (demoted) {
        if (planner__can_command(c, o)) {
            planner__add_action(c, f->new_m, RSM_CMD_REPLICAOF_NO_ONE, NULL);
            planner__reasonf(
                c,
                "switchover: %s a replica of %s: promote %s (epoch "
                "%llu)",
                b, a, a, (unsigned long long)f->d->epoch);
            planner__event(c, "+failover-state-send-slaveof-noone",
                           "%s %s epoch %llu", c->in->group, a,
                           (unsigned long long)f->d->epoch);
            return 0;
        }
        if (left < 0)
            return planner__rollback(c, f, p, RSM_ABORT_TIMEOUT,
                                     "-failover-abort-timeout",
                                     "target not promoted by the deadline");
        planner__reasonf(c, "switchover: waiting to promote %s (%s)", a,
                         rsm_health_state_str(o->state));
        return 0;
    }
    if (left < PAUSE_MARGIN_MS)
        return planner__rollback(c, f, p, RSM_ABORT_TIMEOUT,
                                 "-failover-abort-timeout",
                                 "old master not demoted in time");
    if (old_master && planner__can_command(c, old))
        return planner__demote_paused(c, f, p, left);
    planner__reasonf(
        c, "switchover to %s: waiting for %s (%s) to demote it", a, b,
        old == NULL ? "not monitored" : rsm_health_state_str(old->state));
    return 0;
}
