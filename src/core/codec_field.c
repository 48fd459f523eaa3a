/* codec_field.c - the pieces of rsm.proto that entries and snapshots
 * share: addresses, steps, a failover decision, group settings; packing a
 * message; and decoding them into our fixed buffers with the field named
 * in every error (see codec.c for the rules). */
#include "codec_int.h"
#include "rsm/err.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== encoding ============================================================ */

/* An empty address is left out of the message (NULL). */
Rsm__Addr *codec__enc_addr(Rsm__Addr *msg, const struct rsm_addr *a)
{
    if (a->host[0] == '\0' && a->port == 0)
        return NULL;
    rsm__addr__init(msg);
    msg->host = codec__str(a->host);
    msg->port = a->port;
    return msg;
}

Rsm__Addr **codec__enc_addrs(struct addrs_pb *pb, const struct rsm_addr *a,
                             unsigned n)
{
    assert(n <= RSM_MAX_MEMBERS); /* rsm_entry_check() and the FSM bound it */
    for (unsigned i = 0; i < n; i++) {
        rsm__addr__init(&pb->msg[i]);
        pb->msg[i].host = codec__str(a[i].host);
        pb->msg[i].port = a[i].port;
        pb->ptr[i] = &pb->msg[i];
    }
    return pb->ptr;
}

/* Steps: the C enum is in the order of the steps, the proto keeps its
 * numbers (STEP_CAUGHT_UP came later as 4). */
Rsm__FailoverStep codec__enc_step(enum rsm_failover_step s)
{
    switch (s) {
    case RSM_STEP_CAUGHT_UP:
        return RSM__FAILOVER_STEP__STEP_CAUGHT_UP;
    case RSM_STEP_PROMOTED:
        return RSM__FAILOVER_STEP__STEP_PROMOTED;
    case RSM_STEP_REPLICAS_POINTED:
        return RSM__FAILOVER_STEP__STEP_REPLICAS_POINTED;
    case RSM_STEP_OLD_MASTER_DEMOTED:
        return RSM__FAILOVER_STEP__STEP_OLD_MASTER_DEMOTED;
    case RSM_STEP_NONE:
        break;
    }
    return RSM__FAILOVER_STEP__STEP_NONE;
}

Rsm__DecideFailover *codec__enc_decide(struct decide_pb *pb,
                                       const struct rsm_entry *e)
{
    Rsm__DecideFailover *m = &pb->msg;

    assert(e->n_ranked <= RSM_MAX_RANKED); /* as rsm_entry_check() has it */
    rsm__decide_failover__init(m);
    m->group = codec__str(e->group);
    m->epoch = e->epoch;
    m->old_master = codec__enc_addr(&pb->old_master, &e->old_master);
    m->new_master = codec__enc_addr(&pb->new_master, &e->master);
    for (unsigned i = 0; i < e->n_ranked; i++) {
        const struct rsm_ranked *r = &e->ranking[i];
        Rsm__Ranked *rm = &pb->ranked[i];

        rsm__ranked__init(rm);
        rm->addr = codec__enc_addr(&pb->ranked_addr[i], &r->addr);
        rm->rank = r->rank;
        rm->reason = codec__str(r->reason);
        rm->offset = r->offset;
        rm->priority = r->priority;
        pb->ranked_ptr[i] = rm;
    }
    m->n_ranking = e->n_ranked;
    m->ranking = pb->ranked_ptr;
    m->reason = codec__str(e->reason);
    m->kind = (Rsm__FailoverKind)e->failover_kind;
    m->old_offset = e->old_offset;
    m->new_offset = e->new_offset;
    m->decided_by = e->decided_by;
    m->timeout_ms = e->timeout_ms;
    m->method = (Rsm__SwitchoverMethod)e->switchover_method;
    return m;
}

/* A group's settings, NULL when none is set (older agents and snapshots
 * have none either). */
Rsm__GroupSettings *codec__enc_settings(Rsm__GroupSettings *m,
                                        const struct rsm_group_settings *s)
{
    struct rsm_group_settings none = {0};

    if (rsm_groupconf_equal(s, &none))
        return NULL;
    rsm__group_settings__init(m);
    m->down_after_ms = s->down_after_ms;
    m->quorum = s->quorum;
    m->failover_timeout_ms = s->failover_timeout_ms;
    m->parallel_syncs = s->parallel_syncs;
    return m;
}

/* Pack any message into a fresh malloc'd buffer. */
int codec__pack(const ProtobufCMessage *m, void **buf, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *out = malloc(n > 0 ? n : 1);

    if (out == NULL)
        return RSM_ENOMEM;
    protobuf_c_message_pack(m, out);
    *buf = out;
    *len = n;
    return 0;
}

/* ==== decoding ============================================================ */

int codec__bad(struct dec *d, const char *field, const char *fmt,
               const char *detail)
{
    return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s: %s%s", field, fmt,
                    detail ? detail : "");
}

int codec__dec_str(struct dec *d, char *dst, size_t size, const char *src,
                   const char *field)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= size)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: %zu bytes, at most %zu allowed", field, n,
                        size - 1);
    if (n > 0)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return 0;
}

int codec__dec_addr(struct dec *d, struct rsm_addr *dst, const Rsm__Addr *src,
                    const char *field)
{
    char name[256];
    int rv;

    memset(dst, 0, sizeof *dst);
    if (src == NULL)
        return 0;
    snprintf(name, sizeof name, "%.200s.host", field);
    rv = codec__dec_str(d, dst->host, sizeof dst->host, src->host, name);
    if (rv != 0)
        return rv;
    if (src->port > 65535)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s.port: %u out of range 1-65535", field,
                        (unsigned)src->port);
    if (dst->host[0] != '\0' && src->port == 0)
        return codec__bad(d, field, "port 0 out of range 1-65535", NULL);
    if (dst->host[0] == '\0' && src->port != 0)
        return codec__bad(d, field, "port without a host", NULL);
    dst->port = (uint16_t)src->port;
    return 0;
}

int codec__dec_addrs(struct dec *d, struct rsm_addr *dst, unsigned *n,
                     size_t n_src, Rsm__Addr **src, const char *field)
{
    char name[256];
    int rv;

    if (n_src > RSM_MAX_MEMBERS)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: %zu addresses, at most %d allowed", field, n_src,
                        RSM_MAX_MEMBERS);
    for (size_t i = 0; i < n_src; i++) {
        snprintf(name, sizeof name, "%.200s[%zu]", field, i);
        if (src[i] == NULL)
            return codec__bad(d, name, "empty address", NULL);
        rv = codec__dec_addr(d, &dst[i], src[i], name);
        if (rv != 0)
            return rv;
    }
    *n = (unsigned)n_src;
    return 0;
}

int codec__dec_enum(struct dec *d, int v, int max, const char *field, int *out)
{
    if (v < 0 || v > max)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                        "%s: unknown value %d", field, v);
    *out = v;
    return 0;
}

/* A proto step number to the C step. */
int codec__dec_step(struct dec *d, int v, const char *field,
                    enum rsm_failover_step *out)
{
    switch (v) {
    case RSM__FAILOVER_STEP__STEP_NONE:
        *out = RSM_STEP_NONE;
        return 0;
    case RSM__FAILOVER_STEP__STEP_CAUGHT_UP:
        *out = RSM_STEP_CAUGHT_UP;
        return 0;
    case RSM__FAILOVER_STEP__STEP_PROMOTED:
        *out = RSM_STEP_PROMOTED;
        return 0;
    case RSM__FAILOVER_STEP__STEP_REPLICAS_POINTED:
        *out = RSM_STEP_REPLICAS_POINTED;
        return 0;
    case RSM__FAILOVER_STEP__STEP_OLD_MASTER_DEMOTED:
        *out = RSM_STEP_OLD_MASTER_DEMOTED;
        return 0;
    }
    return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s: unknown value %d",
                    field, v);
}

static int codec__dec_ranked(struct dec *d, const Rsm__Ranked *m,
                             struct rsm_ranked *r, size_t i)
{
    char name[256];
    int rv;

    snprintf(name, sizeof name, "decide_failover.ranking[%zu]", i);
    if (m == NULL || m->addr == NULL)
        return codec__bad(d, name, "no address", NULL);
    rv = codec__dec_addr(d, &r->addr, m->addr, name);
    if (rv != 0)
        return rv;
    snprintf(name, sizeof name, "decide_failover.ranking[%zu].reason", i);
    rv = codec__dec_str(d, r->reason, sizeof r->reason, m->reason, name);
    if (rv != 0)
        return rv;
    r->rank = m->rank;
    r->offset = m->offset;
    r->priority = m->priority;
    return 0;
}

int codec__dec_decide(struct dec *d, const Rsm__DecideFailover *m,
                      struct rsm_entry *e)
{
    int kind = 0, method = 0;
    int rv = codec__dec_str(d, e->group, sizeof e->group, m->group,
                            "decide_failover.group");

    if (rv == 0)
        rv = codec__dec_addr(d, &e->old_master, m->old_master,
                             "decide_failover.old_master");
    if (rv == 0)
        rv = codec__dec_addr(d, &e->master, m->new_master,
                             "decide_failover.new_master");
    if (rv == 0 && m->n_ranking > RSM_MAX_RANKED)
        rv = rsm_errf(RSM_EPARSE, d->errmsg, d->errlen,
                      "decide_failover.ranking: %zu lines, at most %d "
                      "allowed",
                      m->n_ranking, RSM_MAX_RANKED);
    for (size_t i = 0; rv == 0 && i < m->n_ranking; i++)
        rv = codec__dec_ranked(d, m->ranking[i], &e->ranking[i], i);
    if (rv == 0)
        rv = codec__dec_str(d, e->reason, sizeof e->reason, m->reason,
                            "decide_failover.reason");
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->kind, RSM_FAILOVER_BOOTSTRAP,
                             "decide_failover.kind", &kind);
    if (rv == 0)
        rv = codec__dec_enum(d, (int)m->method, RSM_SWITCHOVER_PAUSE,
                             "decide_failover.method", &method);
    if (rv != 0)
        return rv;
    e->n_ranked = (unsigned)m->n_ranking;
    e->epoch = m->epoch;
    e->failover_kind = (enum rsm_failover_kind)kind;
    e->old_offset = m->old_offset;
    e->new_offset = m->new_offset;
    e->decided_by = m->decided_by;
    e->timeout_ms = m->timeout_ms;
    e->switchover_method = (enum rsm_switchover_method)method;
    return 0;
}

/* Settings as the message has them (absent: none set); their ranges are
 * checked with the entry's or group's form. */
void codec__dec_settings(const Rsm__GroupSettings *m,
                         struct rsm_group_settings *s)
{
    memset(s, 0, sizeof *s);
    if (m == NULL)
        return;
    s->down_after_ms = m->down_after_ms;
    s->quorum = m->quorum;
    s->failover_timeout_ms = m->failover_timeout_ms;
    s->parallel_syncs = m->parallel_syncs;
}

/* The form check of entry.c, as a parse error. */
int codec__check(struct dec *d, const struct rsm_entry *e, const char *what)
{
    char detail[RSM_ERRMSG_SIZE];

    if (rsm_entry_check(e, detail, sizeof detail) != 0)
        return rsm_errf(RSM_EPARSE, d->errmsg, d->errlen, "%s%s", what, detail);
    return 0;
}
