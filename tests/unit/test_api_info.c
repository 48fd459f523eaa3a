/* test_api_info.c - unit tests for io/api_info: INFO's sections as Redis
 * and redis-sentinel 7.0 give them (default, all, everything, several
 * names in one call, unknown names, the order, the empty line after each
 * section), redis_version, and the process facts (CPU, pid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsm/api.h"
#include "sentinel.h"

static const struct rsm_api_server_info server_info = {
    .version = "9.9.9",
    .uptime_s = 90061,
    .port = 26379,
    .clients = 4,
    .max_clients = 1000,
    .process_id = 4242,
    .os = "Linux 6.1.0 x86_64",
    .connections_received = 17,
    .commands_processed = 123,
    .cpu_sys = 1.5,
    .cpu_user = 0.25,
    .cpu_sys_main = 1.0,
    .cpu_user_main = 0.125,
};

static struct rsm_node_status status(void)
{
    struct rsm_node_status st;

    memset(&st, 0, sizeof st);
    st.id = 3;
    st.state = "leader";
    st.n_members = 1;
    st.members[0].id = 3;
    return st;
}

static char *render(int n, const char *const *sections)
{
    struct rsm_node_status st = status();
    char *text =
        rsm_api_render_info_sections(&st, NULL, &server_info, n, sections);

    assert_non_null(text);
    return text;
}

static void assert_has(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
        fail_msg("'%s' not in:\n%s", needle, text);
}

/* The section headers of text, in order, space-separated. */
static void headers(const char *text, char *out, size_t len)
{
    const char *p = text;

    out[0] = '\0';
    while ((p = strstr(p, "# ")) != NULL) {
        const char *end = strstr(p, "\r\n");
        size_t o = strlen(out);
        snprintf(out + o, len - o, "%s%.*s", o ? " " : "", (int)(end - p - 2),
                 p + 2);
        p = end;
    }
}

static void assert_sections(int n, const char *const *names,
                            const char *expected)
{
    char got[256];
    char *text = render(n, names);

    headers(text, got, sizeof got);
    if (strcmp(got, expected) != 0)
        fail_msg("INFO %s: sections '%s', want '%s'", n ? names[0] : "(none)",
                 got, expected);
    free(text);
}

#define EVERY "Server Clients Stats CPU Raft Groups Sentinel"

static void test_default_all_everything(void **state)
{
    const char *def[] = {"default"}, *all[] = {"ALL"},
               *every[] = {"everything"};

    assert_sections(0, NULL, EVERY);
    assert_sections(1, def, EVERY);
    assert_sections(1, all, EVERY);
    assert_sections(1, every, EVERY);
}

/* Several names in one call (Redis 7): each once, in the fixed order,
 * whatever the order asked; an unknown name adds nothing. */
static void test_several_sections(void **state)
{
    const char *a[] = {"sentinel", "cpu", "Server", "cpu"};
    const char *b[] = {"nosuch", "clients"};
    const char *c[] = {"stats", "all"};

    assert_sections(4, a, "Server CPU Sentinel");
    assert_sections(2, b, "Clients");
    assert_sections(2, c, EVERY);
}

/* Only unknown names: an empty bulk, like Redis ("INFO keyspace" on
 * redis-sentinel). */
static void test_unknown_sections_are_empty(void **state)
{
    const char *a[] = {"keyspace"}, *b[] = {"commandstats", "nosuch"};
    char *text = render(1, a);

    assert_string_equal(text, "");
    free(text);
    text = render(2, b);
    assert_string_equal(text, "");
    free(text);
}

/* Every section ends with an empty line, the last one too, as
 * redis-sentinel's do ("...\r\n\r\n"). */
static void test_empty_line_after_each_section(void **state)
{
    const char *a[] = {"stats"}, *b[] = {"stats", "cpu"};
    char *text = render(1, a);

    assert_string_equal(text, "# Stats\r\ntotal_connections_received:17\r\n"
                              "total_commands_processed:123\r\n\r\n");
    free(text);
    text = render(2, b);
    assert_has(text, "total_commands_processed:123\r\n\r\n# CPU\r\n");
    assert_true(strlen(text) > 4 &&
                strcmp(text + strlen(text) - 4, "\r\n\r\n") == 0);
    free(text);
}

static void test_server_section(void **state)
{
    const char *a[] = {"server"};
    char run_id[RSM_SENTINEL_RUNID_LEN + 1], line[80];
    char *text = render(1, a);

    assert_true(strncmp(text, "# Server\r\nredis_version:7.0.15\r\n", 32) == 0);
    assert_has(text, "\r\nredis_mode:sentinel\r\n");
    assert_has(text, "\r\nrsm_version:9.9.9\r\n");
    assert_has(text, "\r\nos:Linux 6.1.0 x86_64\r\n");
    assert_has(text, "\r\nprocess_id:4242\r\n");
    assert_has(text, "\r\ntcp_port:26379\r\n");
    assert_has(text, "\r\nuptime_in_seconds:90061\r\nuptime_in_days:1\r\n");
    rsm_sentinel_run_id(3, run_id); /* SENTINEL MYID's */
    snprintf(line, sizeof line, "\r\nrun_id:%s\r\n", run_id);
    assert_has(text, line);
    free(text);
}

static void test_cpu_section(void **state)
{
    const char *a[] = {"cpu"};
    char *text = render(1, a);

    assert_string_equal(text, "# CPU\r\n"
                              "used_cpu_sys:1.500000\r\n"
                              "used_cpu_user:0.250000\r\n"
                              "used_cpu_sys_children:0.000000\r\n"
                              "used_cpu_user_children:0.000000\r\n"
                              "used_cpu_sys_main_thread:1.000000\r\n"
                              "used_cpu_user_main_thread:0.125000\r\n\r\n");
    free(text);
}

/* The one-section form keeps its meaning: NULL and "" are every section. */
static void test_one_section_form(void **state)
{
    struct rsm_node_status st = status();
    char got[256];
    char *text = rsm_api_render_info(&st, NULL, &server_info, NULL);

    headers(text, got, sizeof got);
    assert_string_equal(got, EVERY);
    free(text);
    text = rsm_api_render_info(&st, NULL, &server_info, "");
    headers(text, got, sizeof got);
    assert_string_equal(got, EVERY);
    free(text);
    text = rsm_api_render_info(&st, NULL, &server_info, "Clients");
    assert_string_equal(text, "# Clients\r\nconnected_clients:4\r\n"
                              "pubsub_clients:0\r\nmaxclients:1000\r\n\r\n");
    free(text);
}

/* The process facts come from the process itself and the CPU time used
 * grows with work done. */
static void test_process_info(void **state)
{
    struct rsm_api_server_info si, later;
    volatile double x = 0;

    memset(&si, 0, sizeof si);
    rsm_api_process_info(&si);
    assert_int_equal(si.process_id, (long)getpid());
    assert_true(strlen(si.os) > 0);
    assert_true(si.cpu_user >= 0 && si.cpu_sys >= 0);
    /* RUSAGE_THREAD and RUSAGE_SELF are sampled apart and accounted in
     * ticks: the main thread's time may read a little above the whole
     * process's (seen in CI), never by more than a few ticks */
    assert_true(si.cpu_user_main <= si.cpu_user + 0.05);
    for (long i = 0; i < 30000000; i++)
        x += (double)i * 0.5;
    assert_true(x > 0);
    memset(&later, 0, sizeof later);
    rsm_api_process_info(&later);
    assert_true(later.cpu_user + later.cpu_sys > si.cpu_user + si.cpu_sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_all_everything),
        cmocka_unit_test(test_several_sections),
        cmocka_unit_test(test_unknown_sections_are_empty),
        cmocka_unit_test(test_empty_line_after_each_section),
        cmocka_unit_test(test_server_section),
        cmocka_unit_test(test_cpu_section),
        cmocka_unit_test(test_one_section_form),
        cmocka_unit_test(test_process_info),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
