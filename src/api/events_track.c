/* events_track.c - the tracks of the events module: per group, what was
 * last published, kept sorted by name; and following a group's masters
 * (+switch-master). */
#include "events_int.h"
#include "rsm/sorted.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where name is in the sorted tracks, or would be inserted. The poll
 * looks up every group every POLL_MS: with hundreds of groups a linear
 * search was a visible part of the agent's CPU. */
static size_t events__track_pos(const struct rsm_events *ev, const char *name,
                                bool *found)
{
    return rsm_sorted_name_index(ev->tracks, ev->n_tracks, sizeof *ev->tracks,
                                 offsetof(struct track, name), name, found);
}

struct track *events__track_find(struct rsm_events *ev, const char *name)
{
    bool found;
    size_t i = events__track_pos(ev, name, &found);

    return found ? &ev->tracks[i] : NULL;
}

/* The group's track, created empty if new; NULL if out of memory. */
struct track *events__track_get(struct rsm_events *ev, const char *name)
{
    bool found;
    size_t i = events__track_pos(ev, name, &found);
    struct track *t;

    if (found)
        return &ev->tracks[i];
    assert(i <= ev->n_tracks && ev->n_tracks <= ev->cap_tracks);
    if (ev->n_tracks == ev->cap_tracks) {
        size_t cap = ev->cap_tracks ? ev->cap_tracks * 2 : 8;
        struct track *n = realloc(ev->tracks, cap * sizeof *n);
        if (n == NULL)
            return NULL;
        ev->tracks = n;
        ev->cap_tracks = cap;
    }
    memmove(&ev->tracks[i + 1], &ev->tracks[i],
            (ev->n_tracks - i) * sizeof *ev->tracks);
    ev->n_tracks++;
    t = &ev->tracks[i];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

void events__track_drop(struct rsm_events *ev, const char *name)
{
    bool found;
    size_t i = events__track_pos(ev, name, &found);

    if (!found)
        return;
    free(ev->tracks[i].relay);
    memmove(&ev->tracks[i], &ev->tracks[i + 1],
            (ev->n_tracks - i - 1) * sizeof *ev->tracks);
    ev->n_tracks--;
}

struct inst_track *events__inst_find(struct track *t, const struct rsm_addr *a)
{
    for (size_t i = 0; i < t->n; i++) {
        if (rsm_addr_equal(&t->inst[i].addr, a))
            return &t->inst[i];
    }
    return NULL;
}

static void events__inst_forget(struct track *t, const struct rsm_addr *a)
{
    for (size_t i = 0; i < t->n; i++) {
        if (rsm_addr_equal(&t->inst[i].addr, a)) {
            t->inst[i] = t->inst[--t->n];
            return;
        }
    }
}

/* The committed master and the master given to clients: +switch-master
 * when the latter moves (published only if `loud`). */
void events__follow_masters(struct rsm_events *ev, struct track *t,
                            const struct rsm_group *g, bool loud)
{
    struct rsm_addr m;
    char p[RSM_SENTINEL_PAYLOAD_MAX];

    if (g->has_master &&
        (!t->has_committed || !rsm_addr_equal(&t->committed, &g->master))) {
        t->has_committed = true;
        t->committed = g->master;
        t->committed_since = events__now_ms(ev);
        t->odown_tracked = t->odown = false;
    }
    if (!rsm_sentinel_master_addr(g, &m))
        return;
    if (t->has_master && !rsm_addr_equal(&t->master, &m) && loud) {
        rsm_sentinel_payload_switch(p, sizeof p, g->name, &t->master, &m);
        events__emit(ev, "+switch-master", p);
    }
    if (t->has_master && !rsm_addr_equal(&t->master, &m))
        events__inst_forget(t, &t->master); /* its role changed: start afresh */
    t->has_master = true;
    t->master = m;
}
