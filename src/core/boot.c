/* boot.c - what a Redis instance must be when it starts (see boot.h). */
#include "rsm/boot.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rsm_boot_action_str(enum rsm_boot_action a)
{
    switch (a) {
    case RSM_BOOT_WAIT:
        return "wait";
    case RSM_BOOT_MASTER:
        return "master";
    case RSM_BOOT_REPLICA:
        return "replica";
    case RSM_BOOT_GIVE_UP:
        return "give-up";
    }
    return "?";
}

/* ------------------------------------------------------------------------
 * Decisions
 * ---------------------------------------------------------------------- */

static bool boot__more_advanced(const struct rsm_boot_view *a,
                                const struct rsm_boot_view *b)
{
    if (a->term != b->term)
        return a->term > b->term;
    return a->applied_index > b->applied_index;
}

const struct rsm_boot_view *rsm_boot_pick(const struct rsm_boot_view *views,
                                          size_t n)
{
    const struct rsm_boot_view *best = NULL;

    for (size_t i = 0; i < n; i++) {
        const struct rsm_boot_view *v = &views[i];
        if (!v->has_leader)
            continue;
        if (v->is_leader)
            return v;
        if (best == NULL || boot__more_advanced(v, best))
            best = v;
    }
    return best;
}

static void boot__set(struct rsm_boot_decision *d, enum rsm_boot_action a,
                      const struct rsm_addr *master, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void boot__set(struct rsm_boot_decision *d, enum rsm_boot_action a,
                      const struct rsm_addr *master, const char *fmt, ...)
{
    va_list ap;

    memset(d, 0, sizeof *d);
    d->action = a;
    if (master != NULL)
        d->master = *master;
    va_start(ap, fmt);
    vsnprintf(d->reason, sizeof d->reason, fmt, ap);
    va_end(ap);
}

void rsm_boot_decide(const struct rsm_boot_view *v, const struct rsm_addr *self,
                     bool has_data, struct rsm_boot_decision *out)
{
    char m[RSM_ADDR_STRLEN], n[RSM_ADDR_STRLEN];

    if (v->in_flight) {
        boot__set(out, RSM_BOOT_WAIT, NULL,
                  "failover epoch %llu in flight (new master %s)",
                  (unsigned long long)v->epoch,
                  rsm_addr_format(&v->in_flight_new, n, sizeof n));
        return;
    }
    if (!v->group_known || !v->has_master) {
        boot__set(out, RSM_BOOT_MASTER, NULL,
                  "first bootstrap: no master committed for the group");
        return;
    }
    rsm_addr_format(&v->master, m, sizeof m);
    if (!rsm_addr_equal(&v->master, self)) {
        boot__set(out, RSM_BOOT_REPLICA, &v->master,
                  "%s is the committed master (epoch %llu)", m,
                  (unsigned long long)v->epoch);
        return;
    }
    if (has_data)
        boot__set(
            out, RSM_BOOT_MASTER, NULL,
            "this instance is the committed master (epoch %llu) and holds "
            "its data",
            (unsigned long long)v->epoch);
    else if (v->n_members <= 1)
        boot__set(out, RSM_BOOT_MASTER, NULL,
                  "this instance is the committed master and the group's only "
                  "member");
    else
        boot__set(
            out, RSM_BOOT_WAIT, NULL,
            "this instance is the committed master (epoch %llu) but holds "
            "no data: waiting for the agents to fail over",
            (unsigned long long)v->epoch);
}

void rsm_boot_fallback(const struct rsm_addr *self,
                       const struct rsm_addr *last_master,
                       struct rsm_boot_decision *out)
{
    char m[RSM_ADDR_STRLEN];

    if (last_master == NULL) {
        boot__set(
            out, RSM_BOOT_GIVE_UP, NULL,
            "no agent answered and no master recorded at a previous boot");
        return;
    }
    rsm_addr_format(last_master, m, sizeof m);
    if (rsm_addr_equal(last_master, self)) {
        boot__set(out, RSM_BOOT_GIVE_UP, NULL,
                  "no agent answered and this instance was the master at its "
                  "last boot: only the agents may make it master again");
        return;
    }
    boot__set(out, RSM_BOOT_REPLICA, last_master,
              "no agent answered: replica of %s, the master at the last boot",
              m);
}

/* ------------------------------------------------------------------------
 * RDB content
 * ---------------------------------------------------------------------- */

#define RDB_OPCODE_AUX 0xFA
#define RDB_OPCODE_EOF 0xFF

struct cursor {
    const unsigned char *p;
    size_t left;
};

static bool boot__take(struct cursor *c, size_t n, const unsigned char **out)
{
    if (c->left < n)
        return false;
    if (out != NULL)
        *out = c->p;
    c->p += n;
    c->left -= n;
    return true;
}

/* An RDB length: *special is set for the 11xxxxxx encodings (then *len is
 * the encoding type). */
static bool boot__length(struct cursor *c, uint64_t *len, bool *special)
{
    const unsigned char *b;

    *special = false;
    if (!boot__take(c, 1, &b))
        return false;
    switch (b[0] >> 6) {
    case 0:
        *len = b[0] & 0x3F;
        return true;
    case 1: {
        const unsigned char *x;
        if (!boot__take(c, 1, &x))
            return false;
        *len = ((uint64_t)(b[0] & 0x3F) << 8) | x[0];
        return true;
    }
    case 2: {
        const unsigned char *x;
        size_t n = b[0] == 0x80 ? 4 : b[0] == 0x81 ? 8 : 0;
        if (n == 0 || !boot__take(c, n, &x))
            return false;
        *len = 0;
        for (size_t i = 0; i < n; i++)
            *len = (*len << 8) | x[i];
        return true;
    }
    default:
        *special = true;
        *len = b[0] & 0x3F;
        return true;
    }
}

/* Skip one RDB string (plain, integer-encoded or LZF-compressed). */
static bool boot__skip_string(struct cursor *c)
{
    uint64_t len, clen, ulen;
    bool special;

    if (!boot__length(c, &len, &special))
        return false;
    if (!special)
        return len <= c->left && boot__take(c, (size_t)len, NULL);
    switch (len) {
    case 0:
        return boot__take(c, 1, NULL);
    case 1:
        return boot__take(c, 2, NULL);
    case 2:
        return boot__take(c, 4, NULL);
    case 3: /* LZF: compressed length, original length, bytes */
        if (!boot__length(c, &clen, &special) || special ||
            !boot__length(c, &ulen, &special) || special)
            return false;
        return clen <= c->left && boot__take(c, (size_t)clen, NULL);
    default:
        return false;
    }
}

enum rsm_rdb_content rsm_boot_rdb_content(const void *buf, size_t len)
{
    struct cursor c = {buf, len};
    const unsigned char *h;

    if (!boot__take(&c, 9, &h) || memcmp(h, "REDIS", 5) != 0)
        return RSM_RDB_UNREADABLE;
    for (int i = 5; i < 9; i++)
        if (h[i] < '0' || h[i] > '9')
            return RSM_RDB_UNREADABLE;
    for (;;) {
        const unsigned char *op;
        if (!boot__take(&c, 1, &op))
            return RSM_RDB_UNREADABLE;
        if (op[0] == RDB_OPCODE_EOF)
            return RSM_RDB_EMPTY;
        if (op[0] != RDB_OPCODE_AUX)
            return RSM_RDB_DATA;
        if (!boot__skip_string(&c) || !boot__skip_string(&c))
            return RSM_RDB_UNREADABLE;
    }
}
