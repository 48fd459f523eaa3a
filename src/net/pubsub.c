/* pubsub.c - Redis-style publish/subscribe (see pubsub.h).
 *
 * Subscribers sit in one list, in creation order; each keeps its channels
 * and its patterns in two small arrays. A publication walks every
 * subscriber: the agent publishes a few events a second at most and has at
 * most max_clients subscribers, so a scan costs less than the index Redis
 * keeps for millions of channels, and keeps the code small. */
#include "rsm/pubsub.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct name {
    char *s;
    size_t len;
};

struct names {
    struct name *v;
    size_t n, cap;
};

struct rsm_pubsub_sub {
    struct rsm_pubsub *ps;
    struct rsm_pubsub_sub *prev, *next;
    void *owner;
    struct names chans, pats;
    bool dead; /* freed during a publication: released at its end */
};

struct rsm_pubsub {
    struct rsm_pubsub_sub *head, *tail;
    unsigned publishing; /* nested publications in progress */
    bool has_dead;
};

/* =====================================================================
 * Glob patterns
 * ===================================================================== */

/* A class "[...]" whose body starts at p[*i] (after the '['): does c
 * match it? *i is left after the closing ']' (or at the end). */
static bool pubsub__class_match(const char *p, size_t plen, size_t *i,
                                unsigned char c)
{
    size_t k = *i;
    bool neg = false, hit = false;

    if (k < plen && p[k] == '^') {
        neg = true;
        k++;
    }
    while (k < plen && p[k] != ']') {
        unsigned char lo, hi;

        if (p[k] == '\\' && k + 1 < plen) {
            k++;
            if ((unsigned char)p[k] == c)
                hit = true;
            k++;
            continue;
        }
        lo = (unsigned char)p[k];
        if (k + 2 < plen && p[k + 1] == '-' && p[k + 2] != ']') {
            hi = (unsigned char)p[k + 2];
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            if (c >= lo && c <= hi)
                hit = true;
            k += 3;
            continue;
        }
        if (lo == c)
            hit = true;
        k++;
    }
    if (k < plen)
        k++; /* the ']' */
    *i = k;
    return neg ? !hit : hit;
}

/* Does the pattern element at p[*i] match byte c? Advances *i past it.
 * Not for '*'. */
static bool pubsub__element_match(const char *p, size_t plen, size_t *i,
                                  unsigned char c)
{
    size_t k = *i;

    switch (p[k]) {
    case '?':
        *i = k + 1;
        return true;
    case '[':
        *i = k + 1;
        return pubsub__class_match(p, plen, i, c);
    case '\\':
        if (k + 1 < plen) {
            *i = k + 2;
            return (unsigned char)p[k + 1] == c;
        }
        break;
    default:
        break;
    }
    *i = k + 1;
    return (unsigned char)p[k] == c;
}

/* Greedy matching with one backtrack point (the latest '*'): linear in
 * practice, never recursive, so a hostile pattern cannot blow the stack. */
bool rsm_pubsub_match(const char *p, size_t plen, const char *s, size_t slen)
{
    size_t pi = 0, si = 0, star_p = 0, star_s = 0;
    bool star = false;

    while (si < slen) {
        if (pi < plen && p[pi] == '*') {
            while (pi < plen && p[pi] == '*')
                pi++;
            if (pi == plen)
                return true;
            star = true;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen) {
            size_t next = pi;
            if (pubsub__element_match(p, plen, &next, (unsigned char)s[si])) {
                pi = next;
                si++;
                continue;
            }
        }
        if (!star)
            return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

/* =====================================================================
 * Registry
 * ===================================================================== */

int rsm_pubsub_create(struct rsm_pubsub **out)
{
    struct rsm_pubsub *ps = calloc(1, sizeof *ps);

    if (ps == NULL)
        return RSM_ENOMEM;
    *out = ps;
    return 0;
}

static void pubsub__names_clear(struct names *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i].s);
    free(n->v);
    memset(n, 0, sizeof *n);
}

static void pubsub__sub_release(struct rsm_pubsub_sub *s)
{
    struct rsm_pubsub *ps = s->ps;

    assert(ps->publishing == 0); /* a publication walks the list */
    if (s->prev)
        s->prev->next = s->next;
    else
        ps->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        ps->tail = s->prev;
    pubsub__names_clear(&s->chans);
    pubsub__names_clear(&s->pats);
    free(s);
}

void rsm_pubsub_free(struct rsm_pubsub *ps)
{
    if (ps == NULL)
        return;
    while (ps->head != NULL)
        pubsub__sub_release(ps->head);
    free(ps);
}

struct rsm_pubsub_sub *rsm_pubsub_sub_create(struct rsm_pubsub *ps, void *owner)
{
    struct rsm_pubsub_sub *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->ps = ps;
    s->owner = owner;
    s->prev = ps->tail;
    if (ps->tail)
        ps->tail->next = s;
    else
        ps->head = s;
    ps->tail = s;
    return s;
}

void rsm_pubsub_sub_free(struct rsm_pubsub_sub *s)
{
    if (s == NULL || s->dead)
        return;
    if (s->ps->publishing > 0) {
        s->dead = true;
        s->ps->has_dead = true;
        pubsub__names_clear(&s->chans);
        pubsub__names_clear(&s->pats);
        return;
    }
    pubsub__sub_release(s);
}

void *rsm_pubsub_sub_owner(const struct rsm_pubsub_sub *s)
{
    return s->owner;
}

static struct names *pubsub__names_of(struct rsm_pubsub_sub *s, bool pattern)
{
    return pattern ? &s->pats : &s->chans;
}

static long pubsub__names_find(const struct names *n, const char *name,
                               size_t len)
{
    for (size_t i = 0; i < n->n; i++) {
        if (n->v[i].len == len && memcmp(n->v[i].s, name, len) == 0)
            return (long)i;
    }
    return -1;
}

size_t rsm_pubsub_count(const struct rsm_pubsub_sub *s)
{
    return s->chans.n + s->pats.n;
}

int rsm_pubsub_subscribe(struct rsm_pubsub_sub *s, bool pattern,
                         const char *name, size_t len, bool *added)
{
    struct names *n = pubsub__names_of(s, pattern);
    char *copy;

    if (added != NULL)
        *added = false;
    if (s->dead || len > RSM_PUBSUB_NAME_MAX)
        return RSM_ERANGE;
    if (pubsub__names_find(n, name, len) >= 0)
        return 0;
    if (rsm_pubsub_count(s) >= RSM_PUBSUB_MAX_PER_SUB)
        return RSM_ERANGE;
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        struct name *v = realloc(n->v, cap * sizeof *v);
        if (v == NULL)
            return RSM_ENOMEM;
        n->v = v;
        n->cap = cap;
    }
    copy = malloc(len + 1);
    if (copy == NULL)
        return RSM_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    n->v[n->n].s = copy;
    n->v[n->n].len = len;
    n->n++;
    if (added != NULL)
        *added = true;
    return 0;
}

bool rsm_pubsub_unsubscribe(struct rsm_pubsub_sub *s, bool pattern,
                            const char *name, size_t len)
{
    struct names *n = pubsub__names_of(s, pattern);
    long i = pubsub__names_find(n, name, len);

    if (i < 0)
        return false;
    free(n->v[i].s);
    /* keep the order: UNSUBSCRIBE without arguments answers in it */
    memmove(&n->v[i], &n->v[i + 1], (n->n - (size_t)i - 1) * sizeof n->v[0]);
    n->n--;
    return true;
}

size_t rsm_pubsub_n(const struct rsm_pubsub_sub *s, bool pattern)
{
    return pattern ? s->pats.n : s->chans.n;
}

const char *rsm_pubsub_name(const struct rsm_pubsub_sub *s, bool pattern,
                            size_t i, size_t *len)
{
    const struct names *n = pattern ? &s->pats : &s->chans;

    *len = n->v[i].len;
    return n->v[i].s;
}

size_t rsm_pubsub_subscribers(const struct rsm_pubsub *ps)
{
    size_t n = 0;

    for (const struct rsm_pubsub_sub *s = ps->head; s != NULL; s = s->next) {
        if (!s->dead && rsm_pubsub_count(s) > 0)
            n++;
    }
    return n;
}

static void pubsub__sweep_dead(struct rsm_pubsub *ps)
{
    struct rsm_pubsub_sub *s = ps->head, *next;

    for (; s != NULL; s = next) {
        next = s->next;
        if (s->dead)
            pubsub__sub_release(s);
    }
    ps->has_dead = false;
}

/* Deliver to one subscriber; its arrays may be cleared by fn (freed
 * subscriber), so the loops re-check s->dead. */
static size_t pubsub__deliver_one(struct rsm_pubsub_sub *s, const char *channel,
                                  size_t clen, const char *msg, size_t mlen,
                                  rsm_pubsub_deliver_fn fn, void *arg)
{
    size_t n = 0;

    if (pubsub__names_find(&s->chans, channel, clen) >= 0) {
        fn(arg, s->owner, NULL, 0, channel, clen, msg, mlen);
        n++;
    }
    for (size_t i = 0; !s->dead && i < s->pats.n; i++) {
        const struct name *p = &s->pats.v[i];
        if (rsm_pubsub_match(p->s, p->len, channel, clen)) {
            fn(arg, s->owner, p->s, p->len, channel, clen, msg, mlen);
            n++;
        }
    }
    return n;
}

size_t rsm_pubsub_publish(struct rsm_pubsub *ps, const char *channel,
                          size_t clen, const char *msg, size_t mlen,
                          rsm_pubsub_deliver_fn fn, void *arg)
{
    size_t n = 0;

    ps->publishing++;
    for (struct rsm_pubsub_sub *s = ps->head; s != NULL; s = s->next) {
        if (!s->dead)
            n += pubsub__deliver_one(s, channel, clen, msg, mlen, fn, arg);
    }
    assert(ps->publishing > 0);
    ps->publishing--;
    if (ps->publishing == 0 && ps->has_dead)
        pubsub__sweep_dead(ps);
    return n;
}

/* =====================================================================
 * RESP
 * ===================================================================== */

static void pubsub__reply_item(struct rsm_resp_reply *r, const char *kind,
                               const char *name, size_t len, size_t count)
{
    rsm_resp_add_array(r, 3);
    rsm_resp_add_cstr(r, kind);
    if (name != NULL)
        rsm_resp_add_bulk(r, name, len);
    else
        rsm_resp_add_null(r);
    rsm_resp_add_int(r, (long long)count);
}

static void pubsub__subscribe_all(struct rsm_pubsub_sub *s,
                                  struct rsm_resp_reply *r,
                                  const struct rsm_resp_request *req,
                                  bool pattern)
{
    const char *kind = pattern ? "psubscribe" : "subscribe";

    for (int i = 1; i < req->argc; i++) {
        int rv = rsm_pubsub_subscribe(s, pattern, req->argv[i], req->argvlen[i],
                                      NULL);
        if (rv == RSM_ERANGE) {
            rsm_resp_add_errorf(r,
                                "ERR subscription refused: more than %d "
                                "channels and patterns, or a name longer "
                                "than %d bytes",
                                RSM_PUBSUB_MAX_PER_SUB, RSM_PUBSUB_NAME_MAX);
            return;
        }
        if (rv != 0) {
            rsm_resp_add_error(r, "ERR out of memory");
            return;
        }
        pubsub__reply_item(r, kind, req->argv[i], req->argvlen[i],
                           rsm_pubsub_count(s));
    }
}

static void pubsub__unsubscribe_all(struct rsm_pubsub_sub *s,
                                    struct rsm_resp_reply *r,
                                    const struct rsm_resp_request *req,
                                    bool pattern)
{
    const char *kind = pattern ? "punsubscribe" : "unsubscribe";

    if (req->argc > 1) {
        for (int i = 1; i < req->argc; i++) {
            rsm_pubsub_unsubscribe(s, pattern, req->argv[i], req->argvlen[i]);
            pubsub__reply_item(r, kind, req->argv[i], req->argvlen[i],
                               rsm_pubsub_count(s));
        }
        return;
    }
    if (rsm_pubsub_n(s, pattern) == 0) {
        pubsub__reply_item(r, kind, NULL, 0, rsm_pubsub_count(s));
        return;
    }
    while (rsm_pubsub_n(s, pattern) > 0) {
        struct names *n = pubsub__names_of(s, pattern);
        struct name first = n->v[0];

        /* take the name out before replying with it */
        memmove(&n->v[0], &n->v[1], (n->n - 1) * sizeof n->v[0]);
        n->n--;
        pubsub__reply_item(r, kind, first.s, first.len, rsm_pubsub_count(s));
        free(first.s);
    }
}

int rsm_pubsub_command(struct rsm_pubsub_sub *s, struct rsm_resp_reply *r,
                       const struct rsm_resp_request *req)
{
    const char *cmd = req->argv[0];

    if (strcasecmp(cmd, "SUBSCRIBE") == 0 ||
        strcasecmp(cmd, "PSUBSCRIBE") == 0) {
        if (req->argc < 2)
            return RSM_EINVAL;
        pubsub__subscribe_all(s, r, req, cmd[0] == 'p' || cmd[0] == 'P');
        return 0;
    }
    if (strcasecmp(cmd, "UNSUBSCRIBE") == 0 ||
        strcasecmp(cmd, "PUNSUBSCRIBE") == 0) {
        pubsub__unsubscribe_all(s, r, req, cmd[0] == 'p' || cmd[0] == 'P');
        return 0;
    }
    return RSM_EINVAL;
}

void rsm_pubsub_deliver_resp(void *arg, void *owner, const char *pattern,
                             size_t plen, const char *channel, size_t clen,
                             const char *msg, size_t mlen)
{
    struct rsm_resp_reply *r = rsm_resp_client_push(owner);

    (void)arg;
    if (r == NULL)
        return;
    if (pattern != NULL) {
        rsm_resp_add_array(r, 4);
        rsm_resp_add_cstr(r, "pmessage");
        rsm_resp_add_bulk(r, pattern, plen);
    } else {
        rsm_resp_add_array(r, 3);
        rsm_resp_add_cstr(r, "message");
    }
    rsm_resp_add_bulk(r, channel, clen);
    rsm_resp_add_bulk(r, msg, mlen);
    rsm_resp_reply_end(r);
}
