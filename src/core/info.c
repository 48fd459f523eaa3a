/* info.c - parse the text of Redis INFO replies into struct rsm_info.
 *
 * The text comes from the network: it is not NUL-terminated, may be cut
 * anywhere and may hold any byte. Every access is bounded by len; values are
 * copied into fixed buffers only after their length has been checked. */
#include "rsm/info.h"
#include "rsm/err.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* At most this many bytes of a key or value are quoted in an error. */
#define QUOTE_MAX 40

/* A slice of the input text. */
struct span {
    const char *p;
    size_t n;
};

/* State of one rsm_info_parse() call. */
struct parser {
    struct rsm_info *info;
    unsigned line; /* 1-based number of the line being parsed */
    struct span key;
    char *errmsg;
    size_t errlen;
};

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

static bool info__span_eq(struct span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int info__quote_len(struct span s)
{
    return (int)(s.n < QUOTE_MAX ? s.n : QUOTE_MAX);
}

/* Report code with "line N: <key>: <detail>" (or "line N: <detail>" when
 * there is no key) in the parser's errmsg. */
static int info__fail(const struct parser *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int info__fail(const struct parser *ps, int code, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (ps->errmsg == NULL || ps->errlen == 0)
        return code;
    if (ps->key.n > 0)
        n = snprintf(ps->errmsg, ps->errlen, "line %u: %.*s: ", ps->line,
                     info__quote_len(ps->key), ps->key.p);
    else
        n = snprintf(ps->errmsg, ps->errlen, "line %u: ", ps->line);
    if (n < 0 || (size_t)n >= ps->errlen)
        return code;
    va_start(ap, fmt);
    vsnprintf(ps->errmsg + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

/* Parse a decimal integer (optional '-', digits only, nothing else) into
 * *out and check min <= value <= max. */
static int info__parse_int(const struct parser *ps, struct span v, int64_t min,
                           int64_t max, int64_t *out)
{
    bool neg = v.n > 0 && v.p[0] == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag = 0;
    int64_t val;

    if (v.n == (neg ? 1u : 0u))
        return info__fail(ps, RSM_EPARSE, "empty number");
    for (size_t i = neg; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return info__fail(ps, RSM_EPARSE, "'%.*s' is not a number",
                              info__quote_len(v), v.p);
    }
    for (size_t i = neg; i < v.n; i++) {
        unsigned d = (unsigned)(v.p[i] - '0');
        if (mag > (limit - d) / 10)
            return info__fail(ps, RSM_ERANGE, "'%.*s' overflows 64 bits",
                              info__quote_len(v), v.p);
        mag = mag * 10 + d;
    }
    if (neg)
        val = mag == limit ? INT64_MIN : -(int64_t)mag;
    else
        val = (int64_t)mag;
    if (val < min || val > max)
        return info__fail(ps, RSM_ERANGE, "%lld out of range %lld..%lld",
                          (long long)val, (long long)min, (long long)max);
    *out = val;
    return 0;
}

/* "0" or "1". */
static int info__parse_flag(const struct parser *ps, struct span v, bool *out)
{
    if (info__span_eq(v, "0") || info__span_eq(v, "1")) {
        *out = v.p[0] == '1';
        return 0;
    }
    return info__fail(ps, RSM_EPARSE, "'%.*s' is not 0 or 1",
                      info__quote_len(v), v.p);
}

/* Copy a value of visible ASCII characters (no spaces, no controls) into
 * buf of size len, NUL-terminated. */
static int info__copy_word(const struct parser *ps, struct span v, char *buf,
                           size_t len)
{
    if (v.n == 0)
        return info__fail(ps, RSM_EPARSE, "empty value");
    if (v.n >= len)
        return info__fail(ps, RSM_EPARSE, "value longer than %zu bytes",
                          len - 1);
    for (size_t i = 0; i < v.n; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c <= ' ' || c > '~')
            return info__fail(ps, RSM_EPARSE, "bad byte 0x%02x in value", c);
    }
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    return 0;
}

/* A host name or address, checked by the same rules as every rsm_addr. */
static int info__copy_host(const struct parser *ps, struct span v, char *buf,
                           size_t len)
{
    struct rsm_addr tmp;
    char why[RSM_ERRMSG_SIZE];
    int rv = info__copy_word(ps, v, buf, len);

    if (rv != 0)
        return rv;
    if (rsm_addr_set(&tmp, buf, 1, why, sizeof why) != 0)
        return info__fail(ps, RSM_EPARSE, "%s", why);
    return 0;
}

/* ------------------------------------------------------------------------
 * Named fields
 * ---------------------------------------------------------------------- */

struct field;
typedef int (*field_fn)(struct parser *ps, const struct field *f,
                        struct span v);

/* One known "key:value" line: which handler, which struct member. */
struct field {
    const char *key;
    field_fn fn;
    size_t off; /* offsetof the member in struct rsm_info */
};

#define MEMBER(ps, f, type) ((type *)((char *)(ps)->info + (f)->off))

static int info__set_i64(struct parser *ps, const struct field *f,
                         struct span v)
{
    return info__parse_int(ps, v, INT64_MIN, INT64_MAX, MEMBER(ps, f, int64_t));
}

static int info__set_flag(struct parser *ps, const struct field *f,
                          struct span v)
{
    return info__parse_flag(ps, v, MEMBER(ps, f, bool));
}

_Static_assert(RSM_RUNID_LEN == RSM_REPLID_LEN, "set_id serves both ids");

/* master_replid, run_id: exactly 40 hex digits. */
static int info__set_id(struct parser *ps, const struct field *f, struct span v)
{
    char *dst = MEMBER(ps, f, char);

    if (v.n != RSM_RUNID_LEN)
        return info__fail(ps, RSM_EPARSE,
                          "expected %d hex digits, got %zu bytes",
                          RSM_RUNID_LEN, v.n);
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
              (c >= 'A' && c <= 'F')))
            return info__fail(ps, RSM_EPARSE, "'%.*s' is not hexadecimal",
                              info__quote_len(v), v.p);
    }
    memcpy(dst, v.p, v.n);
    dst[v.n] = '\0';
    return 0;
}

static int info__set_version(struct parser *ps, const struct field *f,
                             struct span v)
{
    return info__copy_word(ps, v, ps->info->redis_version,
                           sizeof ps->info->redis_version);
}

static int info__set_failover_state(struct parser *ps, const struct field *f,
                                    struct span v)
{
    (void)f;
    if (info__span_eq(v, "no-failover"))
        ps->info->failover_state = RSM_FOCMD_NONE;
    else if (info__span_eq(v, "waiting-for-sync"))
        ps->info->failover_state = RSM_FOCMD_WAITING_SYNC;
    else if (info__span_eq(v, "failover-in-progress"))
        ps->info->failover_state = RSM_FOCMD_IN_PROGRESS;
    else
        return info__fail(ps, RSM_EPARSE,
                          "unknown master_failover_state '%.*s'",
                          info__quote_len(v), v.p);
    return 0;
}

static int info__set_role(struct parser *ps, const struct field *f,
                          struct span v)
{
    if (info__span_eq(v, "master"))
        ps->info->role = RSM_ROLE_MASTER;
    else if (info__span_eq(v, "slave"))
        ps->info->role = RSM_ROLE_REPLICA;
    else
        return info__fail(ps, RSM_EPARSE, "unknown role '%.*s'",
                          info__quote_len(v), v.p);
    return 0;
}

static int info__set_link(struct parser *ps, const struct field *f,
                          struct span v)
{
    if (info__span_eq(v, "up"))
        ps->info->link_up = true;
    else if (info__span_eq(v, "down"))
        ps->info->link_up = false;
    else
        return info__fail(ps, RSM_EPARSE, "'%.*s' is neither up nor down",
                          info__quote_len(v), v.p);
    return 0;
}

/* master_host and master_port arrive on separate lines (in either order,
 * possibly in separate replies): each is checked on its own and stored into
 * info->master as it comes. */
static int info__set_host(struct parser *ps, const struct field *f,
                          struct span v)
{
    char host[RSM_HOST_MAX];
    int rv = info__copy_host(ps, v, host, sizeof host);

    if (rv == 0)
        memcpy(ps->info->master.host, host, strlen(host) + 1);
    return rv;
}

static int info__set_port(struct parser *ps, const struct field *f,
                          struct span v)
{
    int64_t port;
    int rv = info__parse_int(ps, v, 1, 65535, &port);

    if (rv == 0)
        ps->info->master.port = (uint16_t)port;
    return rv;
}

static int info__set_priority(struct parser *ps, const struct field *f,
                              struct span v)
{
    int64_t prio;
    int rv = info__parse_int(ps, v, 0, INT_MAX, &prio);

    if (rv == 0) {
        ps->info->priority = (int)prio;
        ps->info->has_priority = true;
    }
    return rv;
}

/* replica_announced:0|1, stored inverted so that "absent" (older Redis)
 * means announced, as Sentinel takes it. */
static int info__set_announced(struct parser *ps, const struct field *f,
                               struct span v)
{
    bool announced = true;
    int rv = info__parse_flag(ps, v, &announced);

    (void)f;
    if (rv == 0)
        ps->info->unannounced = !announced;
    return rv;
}

static int info__set_count(struct parser *ps, const struct field *f,
                           struct span v)
{
    int64_t n;
    int rv = info__parse_int(ps, v, 0, UINT_MAX, &n);

    if (rv == 0)
        ps->info->connected_replicas = (unsigned)n;
    return rv;
}

#define AT(member) offsetof(struct rsm_info, member)

static const struct field fields[] = {
    {"role", info__set_role, 0},
    {"master_host", info__set_host, 0},
    {"master_port", info__set_port, 0},
    {"master_link_status", info__set_link, 0},
    {"master_last_io_seconds_ago", info__set_i64, AT(master_last_io_s)},
    {"master_link_down_since_seconds", info__set_i64, AT(link_down_since_s)},
    {"master_sync_in_progress", info__set_flag, AT(sync_in_progress)},
    {"slave_repl_offset", info__set_i64, AT(slave_repl_offset)},
    {"master_repl_offset", info__set_i64, AT(master_repl_offset)},
    {"slave_priority", info__set_priority, 0},
    {"replica_priority", info__set_priority, 0},
    {"slave_read_only", info__set_flag, AT(read_only)},
    {"replica_read_only", info__set_flag, AT(read_only)},
    {"replica_announced", info__set_announced, 0},
    {"master_replid", info__set_id, AT(master_replid)},
    {"run_id", info__set_id, AT(run_id)},
    {"redis_version", info__set_version, 0},
    {"loading", info__set_flag, AT(loading)},
    {"connected_slaves", info__set_count, 0},
    {"master_failover_state", info__set_failover_state, 0},
};

/* ------------------------------------------------------------------------
 * slaveN:ip=...,port=...,state=...,offset=...,lag=...
 * ---------------------------------------------------------------------- */

/* "slave" followed by digits only. */
static bool info__is_replica_key(struct span key)
{
    if (key.n <= 5 || memcmp(key.p, "slave", 5) != 0)
        return false;
    for (size_t i = 5; i < key.n; i++) {
        if (key.p[i] < '0' || key.p[i] > '9')
            return false;
    }
    return true;
}

/* One "name=value" item of a replica line. */
static int info__replica_item(struct parser *ps, struct span item,
                              struct rsm_info_replica *r, bool *has_ip,
                              bool *has_port)
{
    const char *eq = memchr(item.p, '=', item.n);
    struct span name, v;
    int64_t n;
    int rv = 0;

    if (eq == NULL)
        return info__fail(ps, RSM_EPARSE, "no '=' in '%.*s'",
                          info__quote_len(item), item.p);
    name = (struct span){item.p, (size_t)(eq - item.p)};
    v = (struct span){eq + 1, item.n - name.n - 1};
    if (info__span_eq(name, "ip")) {
        rv = info__copy_host(ps, v, r->ip, sizeof r->ip);
        *has_ip = rv == 0;
    } else if (info__span_eq(name, "port")) {
        /* 0 is real: a SYNC client that announced no port (redis-cli
         * --replica, backup tools). */
        rv = info__parse_int(ps, v, 0, 65535, &n);
        if (rv == 0)
            r->port = (uint16_t)n;
        *has_port = rv == 0;
    } else if (info__span_eq(name, "state")) {
        rv = info__copy_word(ps, v, r->state, sizeof r->state);
    } else if (info__span_eq(name, "offset")) {
        rv = info__parse_int(ps, v, INT64_MIN, INT64_MAX, &r->offset);
    } else if (info__span_eq(name, "lag")) {
        rv = info__parse_int(ps, v, INT64_MIN, INT64_MAX, &r->lag);
    }
    return rv;
}

/* Replicas are stored by their index N, which Redis numbers from 0 without
 * gaps; so a second reply parsed into the same struct overwrites slots
 * rather than appending duplicates. Lines past RSM_INFO_MAX_REPLICAS are
 * checked, then dropped. */
static int info__parse_replica(struct parser *ps, struct span v)
{
    struct span digits = {ps->key.p + 5, ps->key.n - 5};
    struct rsm_info *info = ps->info;
    struct rsm_info_replica r = {.offset = -1, .lag = -1};
    bool has_ip = false, has_port = false;
    int64_t idx;
    size_t start = 0;
    int rv = info__parse_int(ps, digits, 0, INT_MAX, &idx);

    if (rv != 0)
        return rv;
    if (idx > (int64_t)info->n_replicas && idx < RSM_INFO_MAX_REPLICAS)
        return info__fail(ps, RSM_EPARSE, "listed before slave%u",
                          info->n_replicas);
    while (start <= v.n) {
        const char *comma = memchr(v.p + start, ',', v.n - start);
        size_t end = comma ? (size_t)(comma - v.p) : v.n;
        rv = info__replica_item(ps, (struct span){v.p + start, end - start}, &r,
                                &has_ip, &has_port);
        if (rv != 0)
            return rv;
        start = end + 1;
    }
    if (!has_ip || !has_port)
        return info__fail(ps, RSM_EPARSE, "no %s", has_ip ? "port" : "ip");
    if (idx < RSM_INFO_MAX_REPLICAS) {
        info->replicas[idx] = r;
        if (idx == (int64_t)info->n_replicas)
            info->n_replicas++;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Lines
 * ---------------------------------------------------------------------- */

static int info__parse_line(struct parser *ps, struct span line)
{
    const char *colon;
    struct span v;

    if (line.n == 0 || line.p[0] == '#')
        return 0;
    colon = memchr(line.p, ':', line.n);
    if (colon == NULL) {
        ps->key = (struct span){"", 0};
        return info__fail(ps, RSM_EPARSE, "no ':' in '%.*s'",
                          info__quote_len(line), line.p);
    }
    ps->key = (struct span){line.p, (size_t)(colon - line.p)};
    v = (struct span){colon + 1, line.n - ps->key.n - 1};
    if (info__is_replica_key(ps->key))
        return info__parse_replica(ps, v);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (info__span_eq(ps->key, fields[i].key))
            return fields[i].fn(ps, &fields[i], v);
    }
    return 0; /* unknown fields are someone else's business */
}

/* ------------------------------------------------------------------------
 * Public API
 * ---------------------------------------------------------------------- */

void rsm_info_init(struct rsm_info *info)
{
    assert(info != NULL);
    memset(info, 0, sizeof *info);
    info->role = RSM_ROLE_UNKNOWN;
    info->master_last_io_s = -1;
    info->link_down_since_s = -1;
    info->slave_repl_offset = -1;
    info->master_repl_offset = -1;
    info->priority = 100;
}

int rsm_info_parse(struct rsm_info *info, const char *text, size_t len,
                   char *errmsg, size_t errlen)
{
    struct parser ps = {.info = info, .errmsg = errmsg, .errlen = errlen};
    size_t pos = 0;

    assert(info != NULL);
    assert(text != NULL || len == 0);
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        struct span line = {start, nl ? (size_t)(nl - start) : len - pos};
        int rv;

        ps.line++;
        if (nl == NULL) {
            const char *colon = memchr(line.p, ':', line.n);
            ps.key =
                (struct span){line.p, colon ? (size_t)(colon - line.p) : 0};
            return info__fail(&ps, RSM_ETRUNC,
                              "input ends in the middle of the line '%.*s'",
                              info__quote_len(line), line.p);
        }
        pos += line.n + 1;
        if (line.n > 0 && line.p[line.n - 1] == '\r')
            line.n--;
        rv = info__parse_line(&ps, line);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int64_t rsm_info_offset(const struct rsm_info *info)
{
    switch (info->role) {
    case RSM_ROLE_REPLICA:
        return info->slave_repl_offset;
    case RSM_ROLE_MASTER:
        return info->master_repl_offset;
    default:
        return -1;
    }
}

void rsm_info_summarize(const struct rsm_info *info,
                        struct rsm_info_summary *out)
{
    bool replica = info->role == RSM_ROLE_REPLICA;

    memset(out, 0, sizeof *out);
    out->role = info->role;
    if (replica)
        out->master = info->master;
    out->link_up = replica && info->link_up;
    out->link_down_since_s = out->link_up ? -1 : info->link_down_since_s;
    out->priority = info->priority;
    out->offset = rsm_info_offset(info);
    out->unannounced = info->unannounced;
    memcpy(out->run_id, info->run_id, sizeof out->run_id);
}

const char *rsm_role_str(enum rsm_role role)
{
    switch (role) {
    case RSM_ROLE_MASTER:
        return "master";
    case RSM_ROLE_REPLICA:
        return "replica";
    default:
        return "unknown";
    }
}
