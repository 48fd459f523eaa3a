/* events_relay.c - the leader's view relayed to the followers
 * (leaderview.h): the acting leader builds the payloads of RSM LEADERVIEW
 * (rsm_events_leaderview_push), a follower checks and keeps one
 * (rsm_events_leaderview_take). */
#include "events_int.h"
#include "rsm/err.h"
#include "rsm/textbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append one payload (finished t) to the NULL-terminated list *out of *n;
 * false if out of memory. */
static bool events__add_chunk(char ***out, size_t *n, struct rsm_textbuf *t)
{
    char *text = rsm_textbuf_finish(t);
    char **grown;

    if (text == NULL)
        return false;
    grown = realloc(*out, (*n + 2) * sizeof **out);
    if (grown == NULL) {
        free(text);
        return false;
    }
    grown[(*n)++] = text;
    grown[*n] = NULL;
    *out = grown;
    return true;
}

static void events__free_chunks(char **chunks)
{
    for (size_t i = 0; chunks != NULL && chunks[i] != NULL; i++)
        free(chunks[i]);
    free(chunks);
}

/* Every group of the FSM as this (acting) agent sees it, in payloads of
 * at most max bytes (a group larger than that alone in its payload). */
static char **events__build_push(struct rsm_events *ev,
                                 const struct rsm_leaderview_origin *o,
                                 size_t max)
{
    const struct rsm_fsm *fsm = events__fsm_of(ev);
    struct rsm_sentinel_view *v = malloc(sizeof *v);
    struct rsm_monitor_group_status *gs = malloc(sizeof *gs);
    struct rsm_textbuf t = {0}, one = {0};
    char **out = NULL;
    size_t n = 0, groups = 0;
    bool ok = v != NULL && gs != NULL;

    for (size_t i = 0; ok && fsm != NULL && i < fsm->n_groups; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        struct track *tr = events__track_find(ev, g->name);
        bool has_gs;
        events__build_view(ev, g, v, gs, &has_gs);
        rsm_sentinel_view_export(v, ev->lv);
        rsm_leaderview_encode_group(&one, ev->lv);
        if (tr != NULL)
            tr->pushed_shape = tr->shape = rsm_leaderview_shape(ev->lv);
        if (groups > 0 && t.len + one.len > max) {
            ok = events__add_chunk(&out, &n, &t);
            groups = 0;
        }
        if (groups++ == 0)
            rsm_leaderview_encode_header(&t, o);
        rsm_textbuf_printf(&t, "%s", one.s != NULL ? one.s : "");
        ok = ok && !one.oom;
        rsm_textbuf_free(&one);
    }
    if (ok && groups > 0)
        ok = events__add_chunk(&out, &n, &t);
    rsm_textbuf_free(&t);
    rsm_textbuf_free(&one);
    free(v);
    free(gs);
    if (!ok) {
        events__free_chunks(out);
        return NULL;
    }
    return out;
}

char **rsm_events_leaderview_push(struct rsm_events *ev, size_t max_bytes)
{
    struct rsm_leaderview_origin o;
    struct rsm_node_status st;
    int64_t now = events__now_ms(ev);

    if (ev->lv == NULL ||
        (!ev->push_due && ev->pushed_ms != 0 && now - ev->pushed_ms < PUSH_MS))
        return NULL;
    ev->node.get_status(ev->node.node, &st);
    memset(&o, 0, sizeof o);
    o.leader_id = st.id;
    o.term = st.term;
    snprintf(o.cluster_id, sizeof o.cluster_id, "%s",
             events__fsm_of(ev)->cluster_id);
    ev->push_due = false;
    ev->pushed_ms = now;
    return events__build_push(ev, &o, max_bytes);
}

void rsm_events_leaderview_free(char **payloads)
{
    events__free_chunks(payloads);
}

/* Keep the text of one group of a payload, if the group is committed. */
static void events__keep_relay(struct rsm_events *ev, const char *text,
                               size_t len,
                               const struct rsm_leaderview_origin *o,
                               int64_t now)
{
    struct track *t;
    char *copy;

    if (rsm_fsm_group(events__fsm_of(ev), ev->lv->name) == NULL)
        return; /* not known here (yet): nothing would show it */
    t = events__track_get(ev, ev->lv->name);
    copy = malloc(len);
    if (t == NULL || copy == NULL) {
        free(copy);
        return;
    }
    memcpy(copy, text, len);
    free(t->relay);
    t->relay = copy;
    t->relay_len = len;
    t->relay_origin = *o;
    t->relay_ms = now;
    t->relay_new = true;
}

/* Read every group of text, and keep them if keep. */
static int events__read_groups(struct rsm_events *ev, const char *text,
                               size_t len, size_t pos,
                               const struct rsm_leaderview_origin *o, bool keep,
                               char *errmsg, size_t errlen)
{
    int64_t now = events__now_ms(ev);
    size_t start;
    int rv;

    for (;;) {
        rv = rsm_leaderview_decode_group(text, len, &pos, &start, ev->lv,
                                         errmsg, errlen);
        if (rv == RSM_ENOTFOUND)
            return 0;
        if (rv != 0)
            return rv;
        if (keep)
            events__keep_relay(ev, text + start, pos - start, o, now);
    }
}

int rsm_events_leaderview_take(struct rsm_events *ev, const char *text,
                               size_t len, char *errmsg, size_t errlen)
{
    struct rsm_leaderview_origin o;
    struct rsm_leaderview_self self;
    struct rsm_node_status st;
    char why[RSM_ERRMSG_SIZE];
    size_t pos;
    int rv;

    if (ev->lv == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    rv = rsm_leaderview_decode_header(text, len, &pos, &o, errmsg, errlen);
    if (rv != 0)
        return rv;
    ev->node.get_status(ev->node.node, &st);
    events__self_of(ev, &st, &self);
    if (!rsm_leaderview_accept(&o, &self, why, sizeof why))
        return rsm_errf(RSM_EREJECTED, errmsg, errlen, "%s", why);
    /* all or nothing: check every group before keeping any */
    rv = events__read_groups(ev, text, len, pos, &o, false, errmsg, errlen);
    if (rv == 0)
        rv = events__read_groups(ev, text, len, pos, &o, true, errmsg, errlen);
    return rv;
}
