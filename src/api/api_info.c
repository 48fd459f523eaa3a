/* api_info.c - INFO of the client port: Redis's sections, rendered from
 * plain structs (rsm_api_render_info_sections, pure), and the process
 * facts they show (rsm_api_process_info, which reads the process's own
 * usage). See api.h for the fields of each section. */
#include "api_int.h"
#include "sentinel.h"
#include "rsm/textbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

/* ---- sections ------------------------------------------------------------ */

enum section {
    S_SERVER = 1u << 0,
    S_CLIENTS = 1u << 1,
    S_STATS = 1u << 2,
    S_CPU = 1u << 3,
    S_RAFT = 1u << 4,
    S_GROUPS = 1u << 5,
    S_SENTINEL = 1u << 6,
    S_EVERY = (1u << 7) - 1,
};

static const struct {
    const char *name;
    unsigned bit;
} section_names[] = {
    {"server", S_SERVER},     {"clients", S_CLIENTS}, {"stats", S_STATS},
    {"cpu", S_CPU},           {"raft", S_RAFT},       {"groups", S_GROUPS},
    {"sentinel", S_SENTINEL}, {"default", S_EVERY},   {"all", S_EVERY},
    {"everything", S_EVERY},
};

/* The sections named (Redis's rules: none = default; unknown names add
 * nothing). */
static unsigned api__section_mask(int n, const char *const *sections)
{
    unsigned mask = 0;

    if (n <= 0)
        return S_EVERY;
    for (int i = 0; i < n; i++) {
        if (sections[i] == NULL || sections[i][0] == '\0') {
            mask |= S_EVERY;
            continue;
        }
        for (size_t k = 0; k < sizeof section_names / sizeof *section_names;
             k++) {
            if (strcasecmp(sections[i], section_names[k].name) == 0)
                mask |= section_names[k].bit;
        }
    }
    return mask;
}

/* ---- rendering ----------------------------------------------------------- */

static void api__info_server(struct rsm_textbuf *t,
                             const struct rsm_node_status *st,
                             const struct rsm_api_server_info *si)
{
    char run_id[RSM_SENTINEL_RUNID_LEN + 1];

    rsm_sentinel_run_id(st->id, run_id);
    rsm_textbuf_printf(t, "# Server\r\n");
    rsm_textbuf_printf(t, "redis_version:%s\r\n", RSM_API_REDIS_VERSION);
    rsm_textbuf_printf(t, "redis_mode:sentinel\r\n");
    rsm_textbuf_printf(t, "rsm_version:%s\r\n", si->version ? si->version : "");
    rsm_textbuf_printf(t, "os:%s\r\n", si->os);
    rsm_textbuf_printf(t, "arch_bits:%zu\r\n", sizeof(void *) * 8);
    rsm_textbuf_printf(t, "process_id:%ld\r\n", si->process_id);
    rsm_textbuf_printf(t, "run_id:%s\r\n", run_id);
    rsm_textbuf_printf(t, "tcp_port:%u\r\n", si->port);
    rsm_textbuf_printf(t, "uptime_in_seconds:%" PRIu64 "\r\n", si->uptime_s);
    rsm_textbuf_printf(t, "uptime_in_days:%" PRIu64 "\r\n",
                       si->uptime_s / 86400);
}

static void api__info_clients(struct rsm_textbuf *t,
                              const struct rsm_api_server_info *si)
{
    rsm_textbuf_printf(t, "# Clients\r\n");
    rsm_textbuf_printf(t, "connected_clients:%u\r\n", si->clients);
    rsm_textbuf_printf(t, "pubsub_clients:%u\r\n", si->pubsub_clients);
    rsm_textbuf_printf(t, "maxclients:%u\r\n", si->max_clients);
}

static void api__info_stats(struct rsm_textbuf *t,
                            const struct rsm_api_server_info *si)
{
    rsm_textbuf_printf(t, "# Stats\r\n");
    rsm_textbuf_printf(t, "total_connections_received:%" PRIu64 "\r\n",
                       si->connections_received);
    rsm_textbuf_printf(t, "total_commands_processed:%" PRIu64 "\r\n",
                       si->commands_processed);
}

static void api__info_cpu(struct rsm_textbuf *t,
                          const struct rsm_api_server_info *si)
{
    rsm_textbuf_printf(t, "# CPU\r\n");
    rsm_textbuf_printf(t, "used_cpu_sys:%.6f\r\n", si->cpu_sys);
    rsm_textbuf_printf(t, "used_cpu_user:%.6f\r\n", si->cpu_user);
    rsm_textbuf_printf(t, "used_cpu_sys_children:%.6f\r\n",
                       si->cpu_sys_children);
    rsm_textbuf_printf(t, "used_cpu_user_children:%.6f\r\n",
                       si->cpu_user_children);
    rsm_textbuf_printf(t, "used_cpu_sys_main_thread:%.6f\r\n",
                       si->cpu_sys_main);
    rsm_textbuf_printf(t, "used_cpu_user_main_thread:%.6f\r\n",
                       si->cpu_user_main);
}

static void api__info_raft(struct rsm_textbuf *t,
                           const struct rsm_node_status *st)
{
    char a1[RSM_ADDR_STRLEN], a2[RSM_ADDR_STRLEN];

    rsm_textbuf_printf(t, "# Raft\r\n");
    rsm_textbuf_printf(t, "raft_id:%" PRIu64 "\r\n", st->id);
    rsm_textbuf_printf(t, "raft_role:%s\r\n",
                       st->state ? st->state : "unavailable");
    rsm_textbuf_printf(t, "raft_term:%" PRIu64 "\r\n", st->term);
    rsm_textbuf_printf(t, "raft_leader_id:%" PRIu64 "\r\n",
                       st->has_leader ? st->leader.id : 0);
    rsm_textbuf_printf(
        t, "raft_leader_addr:%s\r\n",
        st->has_leader ? rsm_addr_format_or(&st->leader.raft, a1, sizeof a1, "")
                       : "");
    rsm_textbuf_printf(
        t, "raft_leader_api:%s\r\n",
        st->has_leader ? rsm_addr_format_or(&st->leader.api, a2, sizeof a2, "")
                       : "");
    rsm_textbuf_printf(t, "raft_commit_index:%" PRIu64 "\r\n",
                       st->commit_index);
    rsm_textbuf_printf(t, "raft_applied_index:%" PRIu64 "\r\n",
                       st->applied_index);
    rsm_textbuf_printf(t, "raft_last_index:%" PRIu64 "\r\n", st->last_index);
    rsm_textbuf_printf(t, "raft_leader_changes:%" PRIu64 "\r\n",
                       st->leader_changes);
    rsm_textbuf_printf(t, "raft_members:%u\r\n", st->n_members);
    for (unsigned i = 0; i < st->n_members && i < RSM_MAX_AGENTS; i++) {
        const struct rsm_member *m = &st->members[i];
        rsm_textbuf_printf(
            t,
            "member%u:id=%" PRIu64 ",raft=%s,api=%s,voter=%d,"
            "leader=%d\r\n",
            i, m->id, rsm_addr_format_or(&m->raft, a1, sizeof a1, ""),
            rsm_addr_format_or(&m->api, a2, sizeof a2, ""), m->voter ? 1 : 0,
            api__is_leader_member(st, m) ? 1 : 0);
    }
}

static void api__info_groups(struct rsm_textbuf *t, const struct rsm_fsm *fsm)
{
    char a[RSM_ADDR_STRLEN];
    size_t n = fsm ? fsm->n_groups : 0;

    rsm_textbuf_printf(t, "# Groups\r\n");
    rsm_textbuf_printf(t, "groups:%zu\r\n", n);
    rsm_textbuf_printf(t, "fsm_applied:%" PRIu64 "\r\n",
                       fsm ? fsm->applied : 0);
    rsm_textbuf_printf(t, "fsm_rejected:%" PRIu64 "\r\n",
                       fsm ? fsm->rejected : 0);
    for (size_t i = 0; i < n; i++) {
        const struct rsm_group *g = &fsm->groups[i];
        rsm_textbuf_printf(
            t,
            "group%zu:name=%s,master=%s,epoch=%" PRIu64 ",paused=%d,"
            "in_flight=%d\r\n",
            i, g->name,
            g->has_master ? rsm_addr_format_or(&g->master, a, sizeof a, "")
                          : "",
            g->epoch, g->paused ? 1 : 0, g->in_flight ? 1 : 0);
    }
}

static void api__info_sentinel(struct rsm_textbuf *t,
                               const struct rsm_node_status *st,
                               const struct rsm_api_server_info *si)
{
    char a[RSM_ADDR_STRLEN];

    rsm_textbuf_printf(t, "# Sentinel\r\n");
    rsm_textbuf_printf(t, "sentinel_masters:%zu\r\n",
                       si->masters ? si->n_masters : 0);
    rsm_textbuf_printf(t, "sentinel_tilt:0\r\n");
    rsm_textbuf_printf(t, "sentinel_tilt_since_seconds:-1\r\n");
    rsm_textbuf_printf(t, "sentinel_running_scripts:0\r\n");
    rsm_textbuf_printf(t, "sentinel_scripts_queue_length:0\r\n");
    rsm_textbuf_printf(t, "sentinel_simulate_failure_flags:0\r\n");
    for (size_t i = 0; si->masters && i < si->n_masters; i++) {
        const struct rsm_api_sentinel_master *m = &si->masters[i];
        rsm_textbuf_printf(t,
                           "master%zu:name=%s,status=%s,address=%s,slaves=%zu,"
                           "sentinels=%u\r\n",
                           i, m->name, m->status,
                           rsm_addr_format_or(&m->master, a, sizeof a, ""),
                           m->slaves, st->n_members);
    }
}

char *rsm_api_render_info_sections(const struct rsm_node_status *st,
                                   const struct rsm_fsm *fsm,
                                   const struct rsm_api_server_info *si, int n,
                                   const char *const *sections)
{
    struct rsm_textbuf t = {0};
    unsigned mask = api__section_mask(n, sections);

    /* every section ends with an empty line, as redis-sentinel's do */
#define SECTION(bit, call)                                                     \
    do {                                                                       \
        if (mask & (bit)) {                                                    \
            call;                                                              \
            rsm_textbuf_printf(&t, "\r\n");                                    \
        }                                                                      \
    } while (0)
    SECTION(S_SERVER, api__info_server(&t, st, si));
    SECTION(S_CLIENTS, api__info_clients(&t, si));
    SECTION(S_STATS, api__info_stats(&t, si));
    SECTION(S_CPU, api__info_cpu(&t, si));
    SECTION(S_RAFT, api__info_raft(&t, st));
    SECTION(S_GROUPS, api__info_groups(&t, fsm));
    SECTION(S_SENTINEL, api__info_sentinel(&t, st, si));
#undef SECTION
    return rsm_textbuf_finish(&t);
}

char *rsm_api_render_info(const struct rsm_node_status *st,
                          const struct rsm_fsm *fsm,
                          const struct rsm_api_server_info *si,
                          const char *section)
{
    return rsm_api_render_info_sections(st, fsm, si, section ? 1 : 0, &section);
}

/* ---- process facts ------------------------------------------------------- */

static double api__seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

void rsm_api_process_info(struct rsm_api_server_info *si)
{
    struct rusage ru;
    struct utsname u;

    si->process_id = (long)getpid();
    if (uname(&u) == 0)
        snprintf(si->os, sizeof si->os, "%.30s %.30s %.30s", u.sysname,
                 u.release, u.machine);
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        si->cpu_sys = api__seconds(&ru.ru_stime);
        si->cpu_user = api__seconds(&ru.ru_utime);
    }
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
        si->cpu_sys_children = api__seconds(&ru.ru_stime);
        si->cpu_user_children = api__seconds(&ru.ru_utime);
    }
    /* the agent runs on one thread (libuv's loop); RUSAGE_THREAD is
     * Linux's, the process's figures stand in elsewhere */
#ifdef RUSAGE_THREAD
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        si->cpu_sys_main = api__seconds(&ru.ru_stime);
        si->cpu_user_main = api__seconds(&ru.ru_utime);
    }
#else
    si->cpu_sys_main = si->cpu_sys;
    si->cpu_user_main = si->cpu_user;
#endif
}
