/* fuzz_flags.c - libFuzzer target for the parsers behind the command-line
 * flags of rsm-agent and rsmctl: --peers (rsm_node_parse_peers),
 * --monitor (rsm_monitor_parse_group), every host:port flag
 * (rsm_addr_parse), --log-level and --log-format, and rsmctl's numbers
 * (rsmctl_parse_uint).
 *
 * The input is one flag value as the shell would hand it over: the bytes up
 * to the first NUL, as a C string. Every parser gets it. What a parser
 * accepts must be well formed and survive a round trip (format it the way
 * the agent writes it back, parse again, get the same thing); what it
 * refuses must be refused with RSM_EINVAL, a message, and the output left
 * as it was.
 *
 *   CC=clang cmake -S . -B build-fuzz -DRSM_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_flags
 *   ./build-fuzz/fuzz_flags tests/fuzz/corpus/flags -max_total_time=60
 * or scripts/fuzz.sh flags 60. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsm/addr.h"
#include "rsm/err.h"
#include "rsm/log.h"
#include "rsm/monitor.h"
#include "rsm/node.h"

/* rsmctl is an executable, not a library: its flag helpers are compiled
 * into this target directly. */
#include "../../src/ctl/opts.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_flags: %s:%d: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

static bool host_ok(const char *h)
{
    size_t n = strnlen(h, RSM_HOST_MAX);

    return n > 0 && n < RSM_HOST_MAX;
}

static bool same_addr(const struct rsm_addr *a, const struct rsm_addr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* ---- host:port ------------------------------------------------------- */

static void check_addr(const char *text)
{
    struct rsm_addr a, again;
    char err[RSM_ERRMSG_SIZE] = "", buf[RSM_ADDR_STRLEN];
    int rv;

    memset(&a, 0x5a, sizeof a);
    rv = rsm_addr_parse(text, &a, err, sizeof err);
    if (rv != 0) {
        struct rsm_addr untouched;

        memset(&untouched, 0x5a, sizeof untouched);
        CHECK(rv == RSM_EINVAL && err[0] != '\0');
        CHECK(memcmp(&a, &untouched, sizeof a) == 0);
        return;
    }
    CHECK(host_ok(a.host) && a.port >= 1);
    rsm_addr_format(&a, buf, sizeof buf);
    CHECK(rsm_addr_parse(buf, &again, err, sizeof err) == 0);
    CHECK(same_addr(&a, &again));
}

/* ---- --peers ----------------------------------------------------------- */

static bool same_member(const struct rsm_member *a, const struct rsm_member *b)
{
    return a->id == b->id && same_addr(&a->raft, &b->raft) &&
           same_addr(&a->api, &b->api) && a->api_given == b->api_given;
}

static void check_peers(const char *text)
{
    static struct rsm_node_config cfg, again;
    char err[RSM_ERRMSG_SIZE] = "";
    char list[RSM_MAX_AGENTS * (RSM_ADDR_STRLEN + 32)],
        item[RSM_ADDR_STRLEN + 8];
    size_t off = 0;
    int rv;

    memset(&cfg, 0, sizeof cfg);
    cfg.n_peers = 99;
    rv = rsm_node_parse_peers(text, 26379, &cfg, err, sizeof err);
    if (rv != 0) {
        CHECK(rv == RSM_EINVAL && err[0] != '\0');
        CHECK(cfg.n_peers == 99);
        return;
    }
    CHECK(cfg.n_peers >= 1 && cfg.n_peers <= RSM_MAX_AGENTS);
    for (unsigned i = 0; i < cfg.n_peers; i++) {
        const struct rsm_member *m = &cfg.peers[i];

        CHECK(m->id != 0 && m->voter);
        CHECK(host_ok(m->raft.host) && m->raft.port >= 1);
        CHECK(host_ok(m->api.host) && m->api.port >= 1);
        CHECK(strcmp(m->api.host, m->raft.host) == 0);
        CHECK(m->api_given || m->api.port == 26379);
        for (unsigned j = 0; j < i; j++) {
            CHECK(cfg.peers[j].id != m->id);
            CHECK(!rsm_addr_equal(&cfg.peers[j].raft, &m->raft));
        }
        /* as the agent writes a member back (RSM MEMBERS, Raft config) */
        rsm_node_format_member(m, item, sizeof item);
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%llu=%s",
                                i ? "," : "", (unsigned long long)m->id, item);
        CHECK(off < sizeof list);
    }
    memset(&again, 0, sizeof again);
    rv = rsm_node_parse_peers(list, 26379, &again, err, sizeof err);
    if (rv != 0)
        fprintf(stderr, "fuzz_flags: '%s' -> '%s': %s\n", text, list, err);
    CHECK(rv == 0 && again.n_peers == cfg.n_peers);
    for (unsigned i = 0; i < cfg.n_peers; i++)
        CHECK(same_member(&cfg.peers[i], &again.peers[i]));
}

/* ---- --monitor --------------------------------------------------------- */

static void check_monitor(const char *text)
{
    static struct rsm_monitor_config cfg, again;
    const struct rsm_monitor_group_config *g;
    char err[RSM_ERRMSG_SIZE] = "", a[RSM_ADDR_STRLEN];
    char list[RSM_GROUP_NAME_MAX + RSM_MAX_MEMBERS * (RSM_ADDR_STRLEN + 1)];
    size_t off;
    int rv;

    rsm_monitor_config_init(&cfg);
    rv = rsm_monitor_parse_group(&cfg, text, err, sizeof err);
    if (rv != 0) {
        CHECK(rv == RSM_EINVAL && err[0] != '\0');
        CHECK(cfg.n_groups == 0);
        rsm_monitor_config_free(&cfg);
        return;
    }
    CHECK(cfg.n_groups == 1);
    g = &cfg.groups[0];
    CHECK(g->name[0] != '\0' &&
          strnlen(g->name, sizeof g->name) < sizeof g->name);
    for (const char *p = g->name; *p; p++)
        CHECK(isgraph((unsigned char)*p));
    CHECK(g->n_addrs >= 1 && g->n_addrs <= RSM_MAX_MEMBERS);
    off = (size_t)snprintf(list, sizeof list, "%s=", g->name);
    for (unsigned i = 0; i < g->n_addrs; i++) {
        CHECK(host_ok(g->addrs[i].host) && g->addrs[i].port >= 1);
        for (unsigned j = 0; j < i; j++)
            CHECK(!rsm_addr_equal(&g->addrs[i], &g->addrs[j]));
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s",
                                i ? "," : "",
                                rsm_addr_format(&g->addrs[i], a, sizeof a));
        CHECK(off < sizeof list);
    }
    /* the same group twice is refused, and leaves the first in place */
    CHECK(rsm_monitor_parse_group(&cfg, text, err, sizeof err) == RSM_EINVAL);
    CHECK(cfg.n_groups == 1);
    /* what status prints can be given back as a flag */
    rsm_monitor_config_init(&again);
    rv = rsm_monitor_parse_group(&again, list, err, sizeof err);
    if (rv != 0)
        fprintf(stderr, "fuzz_flags: '%s' -> '%s': %s\n", text, list, err);
    CHECK(rv == 0 && again.n_groups == 1);
    CHECK(strcmp(again.groups[0].name, g->name) == 0);
    CHECK(again.groups[0].n_addrs == g->n_addrs);
    for (unsigned i = 0; i < g->n_addrs; i++)
        CHECK(same_addr(&again.groups[0].addrs[i], &g->addrs[i]));
    rsm_monitor_config_free(&again);
    rsm_monitor_config_free(&cfg);
}

/* ---- small values -------------------------------------------------------- */

static void check_small(const char *text)
{
    enum rsm_log_level lvl;
    enum rsm_log_format fmt;
    uint64_t v = 7;

    if (rsm_log_level_parse(text, &lvl) == 0)
        CHECK(lvl >= RSM_LOG_DEBUG && lvl <= RSM_LOG_ERROR);
    if (rsm_log_format_parse(text, &fmt) == 0)
        CHECK(fmt == RSM_LOG_LOGFMT || fmt == RSM_LOG_JSON);
    if (rsmctl_parse_uint(text, 1, 65535, &v) == 0) {
        char buf[32];

        CHECK(v >= 1 && v <= 65535);
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        /* digits only, leading zeros allowed: the value is what it says */
        CHECK(strtoull(text, NULL, 10) == v);
    } else {
        CHECK(v == 7);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* an argv string ends at its first NUL */
    check_addr(text);
    check_peers(text);
    check_monitor(text);
    check_small(text);
    free(text);
    return 0;
}
