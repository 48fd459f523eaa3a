/* leaderview.c - the leader's view relayed to the other agents: payload
 * encoding and the rules for taking and using it (see leaderview.h). */
#include "rsm/leaderview.h"
#include "rsm/err.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC         "rsm-leaderview"
#define VIEW_LINE_MAX 1024 /* longest line read */
#define TOKEN_MAX     24   /* fields read per line (more are skipped) */

/* =====================================================================
 * Encoding
 * ===================================================================== */

static const char *leaderview__addr_or_dash(const struct rsm_addr *a, char *buf,
                                            size_t len)
{
    return rsm_addr_format_or(a, buf, len, "-");
}

static char leaderview__role_char(enum rsm_role r)
{
    return r == RSM_ROLE_MASTER ? 'm' : r == RSM_ROLE_REPLICA ? 'r' : '?';
}

void rsm_leaderview_encode_header(struct rsm_textbuf *t,
                                  const struct rsm_leaderview_origin *o)
{
    rsm_textbuf_printf(t, "%s %d %" PRIu64 " %" PRIu64 " %s\n", MAGIC,
                       RSM_LEADERVIEW_VERSION, o->leader_id, o->term,
                       o->cluster_id[0] ? o->cluster_id : "-");
}

static void
leaderview__encode_instance(struct rsm_textbuf *t,
                            const struct rsm_leaderview_instance *in)
{
    const struct rsm_info_summary *s = &in->info;
    char a[RSM_ADDR_STRLEN], m[RSM_ADDR_STRLEN], flags[8];
    size_t k = 0;

    if (in->s_down)
        flags[k++] = 's';
    if (in->disconnected)
        flags[k++] = 'd';
    if (in->has_info)
        flags[k++] = 'i';
    if (in->has_info && s->link_up)
        flags[k++] = 'l';
    if (in->has_info && s->unannounced)
        flags[k++] = 'u';
    if (k == 0)
        flags[k++] = '-';
    flags[k] = '\0';
    rsm_textbuf_printf(
        t,
        "i %s %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %c %s %" PRId64
        " %d %" PRId64 " %s\n",
        leaderview__addr_or_dash(&in->addr, a, sizeof a), flags, in->down_ms,
        in->no_reply_ms, in->has_info ? in->info_age_ms : -1,
        in->has_info ? in->role_age_ms : -1,
        in->has_info ? leaderview__role_char(s->role) : '?',
        in->has_info ? leaderview__addr_or_dash(&s->master, m, sizeof m) : "-",
        in->has_info ? s->link_down_since_s : -1,
        in->has_info ? s->priority : 100, in->has_info ? s->offset : -1,
        in->has_info && s->run_id[0] ? s->run_id : "-");
}

void rsm_leaderview_encode_group(struct rsm_textbuf *t,
                                 const struct rsm_leaderview_group *g)
{
    char m[RSM_ADDR_STRLEN];
    unsigned n = g->n < RSM_LEADERVIEW_MAX_INSTANCES
                     ? g->n
                     : RSM_LEADERVIEW_MAX_INSTANCES;

    rsm_textbuf_printf(t, "g %s %s %d %" PRId64 " %u %u %u\n", g->name,
                       leaderview__addr_or_dash(&g->master, m, sizeof m),
                       g->o_down ? 1 : 0, g->o_down_ms, g->votes, g->quorum, n);
    for (unsigned i = 0; i < n; i++)
        leaderview__encode_instance(t, &g->inst[i]);
}

/* =====================================================================
 * Decoding
 * ===================================================================== */

/* One line split into fields. */
struct line {
    char buf[VIEW_LINE_MAX + 1];
    char *tok[TOKEN_MAX];
    unsigned n;
};

/* Read the line at *pos into ln and move *pos past it. RSM_ENOTFOUND at
 * the end of text, RSM_EPARSE if it is too long or holds a NUL, a control
 * character or an empty field. */
static int leaderview__read_line(const char *text, size_t len, size_t *pos,
                                 struct line *ln, char *errmsg, size_t errlen)
{
    const char *p = text + *pos, *nl;
    size_t n;
    char *save = NULL, *w;

    if (*pos >= len)
        return RSM_ENOTFOUND;
    nl = memchr(p, '\n', len - *pos);
    n = nl != NULL ? (size_t)(nl - p) : len - *pos;
    if (n > VIEW_LINE_MAX)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "line longer than %d",
                        VIEW_LINE_MAX);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return rsm_errf(RSM_EPARSE, errmsg, errlen,
                            "control character in a line");
        if (p[i] == ' ' && (i == 0 || i == n - 1 || p[i + 1] == ' '))
            return rsm_errf(RSM_EPARSE, errmsg, errlen, "empty field");
    }
    if (n == 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "empty line");
    memcpy(ln->buf, p, n);
    ln->buf[n] = '\0';
    *pos += n + (nl != NULL);
    ln->n = 0;
    for (w = strtok_r(ln->buf, " ", &save); w != NULL && ln->n < TOKEN_MAX;
         w = strtok_r(NULL, " ", &save))
        ln->tok[ln->n++] = w;
    return 0;
}

/* The error of a field that is not a decimal number. */
static int leaderview__not_number(const char *s, const char *what, char *errmsg,
                                  size_t errlen)
{
    return rsm_errf(RSM_EPARSE, errmsg, errlen, "%s: '%.32s' is not a number",
                    what, s);
}

/* A decimal integer in [min, max]. */
static int leaderview__get_i64(const char *s, int64_t min, int64_t max,
                               int64_t *out, const char *what, char *errmsg,
                               size_t errlen)
{
    char *end;
    long long v;

    if (!((s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] != '\0')))
        return leaderview__not_number(s, what, errmsg, errlen);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return leaderview__not_number(s, what, errmsg, errlen);
    if (errno != 0 || v < min || v > max)
        return rsm_errf(RSM_ERANGE, errmsg, errlen, "%s: %.32s out of range",
                        what, s);
    *out = v;
    return 0;
}

static int leaderview__get_u64(const char *s, uint64_t *out, const char *what,
                               char *errmsg, size_t errlen)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return leaderview__not_number(s, what, errmsg, errlen);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0)
        return leaderview__not_number(s, what, errmsg, errlen);
    *out = v;
    return 0;
}

/* "-" (out zeroed) or host:port. */
static int leaderview__get_addr(const char *s, struct rsm_addr *out,
                                const char *what, char *errmsg, size_t errlen)
{
    char err[RSM_ERRMSG_SIZE];

    memset(out, 0, sizeof *out);
    if (strcmp(s, "-") == 0)
        return 0;
    if (rsm_addr_parse(s, out, err, sizeof err) != 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "%s: %s", what, err);
    return 0;
}

int rsm_leaderview_decode_header(const char *text, size_t len, size_t *pos,
                                 struct rsm_leaderview_origin *o, char *errmsg,
                                 size_t errlen)
{
    struct line ln;
    size_t at = 0;
    int64_t version;
    int rv = leaderview__read_line(text, len, &at, &ln, errmsg, errlen);

    if (rv == RSM_ENOTFOUND)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "empty payload");
    if (rv != 0)
        return rv;
    if (ln.n < 5 || strcmp(ln.tok[0], MAGIC) != 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "not a leader view");
    rv = leaderview__get_i64(ln.tok[1], 0, INT_MAX, &version, "version", errmsg,
                             errlen);
    if (rv != 0)
        return rv;
    if (version != RSM_LEADERVIEW_VERSION)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "version %" PRId64 " (this agent reads %d)", version,
                        RSM_LEADERVIEW_VERSION);
    memset(o, 0, sizeof *o);
    if ((rv = leaderview__get_u64(ln.tok[2], &o->leader_id, "leader id", errmsg,
                                  errlen)) != 0 ||
        (rv = leaderview__get_u64(ln.tok[3], &o->term, "term", errmsg,
                                  errlen)) != 0)
        return rv;
    if (strcmp(ln.tok[4], "-") != 0) {
        if (strlen(ln.tok[4]) != RSM_CLUSTER_ID_LEN)
            return rsm_errf(RSM_EPARSE, errmsg, errlen, "bad cluster id");
        memcpy(o->cluster_id, ln.tok[4], RSM_CLUSTER_ID_LEN + 1);
    }
    if (o->leader_id == 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "leader id 0");
    *pos = at;
    return 0;
}

/* Letters of "sdilu"; others (a newer leader's) are skipped. */
static void leaderview__get_flags(const char *s,
                                  struct rsm_leaderview_instance *in)
{
    if (strcmp(s, "-") == 0)
        return;
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case 's':
            in->s_down = true;
            break;
        case 'd':
            in->disconnected = true;
            break;
        case 'i':
            in->has_info = true;
            break;
        case 'l':
            in->info.link_up = true;
            break;
        case 'u':
            in->info.unannounced = true;
            break;
        default:
            break;
        }
    }
}

static int leaderview__get_role(const char *s, enum rsm_role *out, char *errmsg,
                                size_t errlen)
{
    if (strcmp(s, "m") == 0)
        *out = RSM_ROLE_MASTER;
    else if (strcmp(s, "r") == 0)
        *out = RSM_ROLE_REPLICA;
    else if (strcmp(s, "?") == 0)
        *out = RSM_ROLE_UNKNOWN;
    else
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "bad role '%.8s'", s);
    return 0;
}

static int leaderview__get_run_id(const char *s, char *out, char *errmsg,
                                  size_t errlen)
{
    size_t n = strlen(s);

    out[0] = '\0';
    if (strcmp(s, "-") == 0)
        return 0;
    if (n > RSM_RUNID_LEN)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "run id too long");
    memcpy(out, s, n + 1);
    return 0;
}

#define TIME_MAX ((int64_t)1 << 50) /* milliseconds: 35,000 years */

/* The fields of an "i" line (ln.tok[1..12]). */
static int leaderview__decode_instance(const struct line *ln,
                                       struct rsm_leaderview_instance *in,
                                       char *errmsg, size_t errlen)
{
    struct rsm_info_summary *s = &in->info;
    int64_t prio;
    int rv;

    memset(in, 0, sizeof *in);
    if (ln->n < 13)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "instance: %u fields, "
                        "want 13",
                        ln->n);
    leaderview__get_flags(ln->tok[2], in);
    if ((rv = leaderview__get_addr(ln->tok[1], &in->addr, "instance", errmsg,
                                   errlen)) ||
        (rv = leaderview__get_i64(ln->tok[3], 0, TIME_MAX, &in->down_ms,
                                  "down_ms", errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[4], 0, TIME_MAX, &in->no_reply_ms,
                                  "no_reply_ms", errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[5], -1, TIME_MAX, &in->info_age_ms,
                                  "info_age_ms", errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[6], -1, TIME_MAX, &in->role_age_ms,
                                  "role_age_ms", errmsg, errlen)) ||
        (rv = leaderview__get_role(ln->tok[7], &s->role, errmsg, errlen)) ||
        (rv = leaderview__get_addr(ln->tok[8], &s->master, "its master", errmsg,
                                   errlen)) ||
        (rv = leaderview__get_i64(ln->tok[9], -1, TIME_MAX,
                                  &s->link_down_since_s, "link_down_since_s",
                                  errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[10], 0, INT_MAX, &prio, "priority",
                                  errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[11], -1, INT64_MAX, &s->offset,
                                  "offset", errmsg, errlen)) ||
        (rv = leaderview__get_run_id(ln->tok[12], s->run_id, errmsg, errlen)))
        return rv;
    if (in->addr.port == 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "instance without an "
                        "address");
    s->priority = (int)prio;
    if (!in->has_info) { /* nothing known: as a fresh view has it */
        memset(s, 0, sizeof *s);
        s->link_down_since_s = -1;
        s->priority = 100;
        s->offset = -1;
        in->info_age_ms = in->role_age_ms = -1;
    }
    return 0;
}

/* The fields of a "g" line; *n gets the instance count. */
static int leaderview__decode_group_line(const struct line *ln,
                                         struct rsm_leaderview_group *g,
                                         unsigned *n, char *errmsg,
                                         size_t errlen)
{
    int64_t odown, votes, quorum, count;
    int rv;

    memset(g, 0, offsetof(struct rsm_leaderview_group, inst));
    if (ln->n < 8)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "group: %u fields, want "
                        "8",
                        ln->n);
    if (strlen(ln->tok[1]) >= RSM_GROUP_NAME_MAX)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "group name too long");
    memcpy(g->name, ln->tok[1], strlen(ln->tok[1]) + 1);
    if ((rv = leaderview__get_addr(ln->tok[2], &g->master, "group master",
                                   errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[3], 0, 1, &odown, "o_down", errmsg,
                                  errlen)) ||
        (rv = leaderview__get_i64(ln->tok[4], 0, TIME_MAX, &g->o_down_ms,
                                  "o_down_ms", errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[5], 0, UINT_MAX, &votes, "votes",
                                  errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[6], 0, UINT_MAX, &quorum, "quorum",
                                  errmsg, errlen)) ||
        (rv = leaderview__get_i64(ln->tok[7], 0, RSM_LEADERVIEW_MAX_INSTANCES,
                                  &count, "instances", errmsg, errlen)))
        return rv;
    g->o_down = odown == 1;
    g->votes = (unsigned)votes;
    g->quorum = (unsigned)quorum;
    *n = (unsigned)count;
    return 0;
}

int rsm_leaderview_decode_group(const char *text, size_t len, size_t *pos,
                                size_t *start, struct rsm_leaderview_group *g,
                                char *errmsg, size_t errlen)
{
    struct line ln;
    size_t at = *pos, line_at;
    unsigned n = 0;
    int rv;

    for (;;) { /* to the next "g" line */
        line_at = at;
        rv = leaderview__read_line(text, len, &at, &ln, errmsg, errlen);
        if (rv != 0)
            return rv;
        if (ln.n > 0 && strcmp(ln.tok[0], "g") == 0)
            break;
        if (ln.n > 0 && strcmp(ln.tok[0], "i") == 0)
            return rsm_errf(RSM_EPARSE, errmsg, errlen,
                            "instance outside a group");
    }
    rv = leaderview__decode_group_line(&ln, g, &n, errmsg, errlen);
    if (rv != 0)
        return rv;
    while (g->n < n) {
        rv = leaderview__read_line(text, len, &at, &ln, errmsg, errlen);
        if (rv == RSM_ENOTFOUND)
            return rsm_errf(RSM_ETRUNC, errmsg, errlen,
                            "group %s: %u of %u instances", g->name, g->n, n);
        if (rv != 0)
            return rv;
        if (strcmp(ln.tok[0], "i") != 0)
            return rsm_errf(RSM_ETRUNC, errmsg, errlen,
                            "group %s: %u of %u instances", g->name, g->n, n);
        rv = leaderview__decode_instance(&ln, &g->inst[g->n], errmsg, errlen);
        if (rv != 0)
            return rv;
        g->n++;
    }
    if (start != NULL)
        *start = line_at;
    *pos = at;
    return 0;
}

/* =====================================================================
 * Shape
 * ===================================================================== */

/* FNV-1a, 64 bits. */
static uint64_t leaderview__mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t leaderview__mix_str(uint64_t h, const char *s)
{
    return leaderview__mix(h, s, strlen(s) + 1);
}

static uint64_t leaderview__mix_addr(uint64_t h, const struct rsm_addr *a)
{
    uint16_t port = a->port;

    h = leaderview__mix_str(h, a->host);
    return leaderview__mix(h, &port, sizeof port);
}

static uint64_t leaderview__mix_int(uint64_t h, int64_t v)
{
    return leaderview__mix(h, &v, sizeof v);
}

uint64_t rsm_leaderview_shape(const struct rsm_leaderview_group *g)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    h = leaderview__mix_str(h, g->name);
    h = leaderview__mix_addr(h, &g->master);
    h = leaderview__mix_int(h, g->o_down);
    h = leaderview__mix_int(h, g->n);
    for (unsigned i = 0; i < g->n && i < RSM_LEADERVIEW_MAX_INSTANCES; i++) {
        const struct rsm_leaderview_instance *in = &g->inst[i];
        h = leaderview__mix_addr(h, &in->addr);
        h = leaderview__mix_int(h, in->s_down | in->disconnected << 1 |
                                       in->has_info << 2);
        if (!in->has_info)
            continue;
        h = leaderview__mix_int(h, in->info.role);
        h = leaderview__mix_addr(h, &in->info.master);
        h = leaderview__mix_int(h,
                                in->info.link_up | in->info.unannounced << 1);
        h = leaderview__mix_int(h, in->info.priority);
        h = leaderview__mix_str(h, in->info.run_id);
    }
    return h;
}

/* =====================================================================
 * Taking and using a view
 * ===================================================================== */

bool rsm_leaderview_accept(const struct rsm_leaderview_origin *o,
                           const struct rsm_leaderview_self *self, char *why,
                           size_t len)
{
    const char *cid = self->cluster_id != NULL ? self->cluster_id : "";

    if (why != NULL && len > 0)
        why[0] = '\0';
    if (o->leader_id == self->id) {
        rsm_errf(0, why, len, "sent as this agent (%" PRIu64 ")", o->leader_id);
        return false;
    }
    if (!self->has_leader || self->leader_id != o->leader_id) {
        rsm_errf(0, why, len,
                 "sent by agent %" PRIu64 ", the leader here is %s",
                 o->leader_id, self->has_leader ? "another" : "not known");
        return false;
    }
    if (o->term != self->term) {
        rsm_errf(0, why, len,
                 "sent in term %" PRIu64 ", this agent is in %" PRIu64, o->term,
                 self->term);
        return false;
    }
    if (o->cluster_id[0] != '\0' && cid[0] != '\0' &&
        strcmp(o->cluster_id, cid) != 0) {
        rsm_errf(0, why, len, "sent for cluster %s, this group is %s",
                 o->cluster_id, cid);
        return false;
    }
    return true;
}

bool rsm_leaderview_fresh(const struct rsm_leaderview_origin *o,
                          int64_t received_ms,
                          const struct rsm_leaderview_self *self,
                          int64_t now_ms, int64_t down_after_ms)
{
    return rsm_leaderview_accept(o, self, NULL, 0) &&
           now_ms - received_ms < RSM_LEADERVIEW_FRESH_FACTOR * down_after_ms;
}
