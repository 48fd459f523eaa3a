/* test_ctl_table.c - unit tests for rsmctl's human output (src/ctl/table.c:
 * pure text formatting, compiled into this test as is, since the ctl
 * sources are not in a library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/ctl/table.c"

/* Output of a printer into a malloc'd string. */
struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_start(struct capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static char *capture_end(struct capture *c)
{
    fclose(c->f);
    return c->text;
}

static void assert_lines_fit(const char *text, size_t width)
{
    for (const char *p = text; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        if (n > width)
            fail_msg("line of %zu columns: %.*s", n, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void test_fit_keeps_short_text(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(text_fit("127.0.0.1:6379", 14, buf, sizeof buf),
                        "127.0.0.1:6379");
    assert_string_equal(text_fit("", 5, buf, sizeof buf), "");
}

static void test_fit_cuts_keeping_the_port(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(text_fit("redis-0.redis.default.svc.cluster.local:6379",
                                 20, buf, sizeof buf),
                        "redis-0.redis.~:6379");
    assert_int_equal(strlen(buf), 20);
    /* no room for a head: plain cut */
    assert_string_equal(text_fit("abcdefgh:6379", 6, buf, sizeof buf),
                        "abcde~");
    /* not an address: plain cut */
    assert_string_equal(
        text_fit("connection refused by peer", 10, buf, sizeof buf),
        "connectio~");
}

static void test_table_aligns_columns(void **state)
{
    static const char *const header[] = {"ID", "ADDRESS", "STATE"};
    struct capture c;
    struct table t;
    char *out;

    (void)state;
    table_init(&t, 3, header);
    table_row(&t, (const char *const[]){"1", "127.0.0.1:7000", "ok"});
    table_row(&t, (const char *const[]){"12", NULL, ""});
    capture_start(&c);
    table_print(&t, c.f, false, "  ");
    out = capture_end(&c);
    assert_string_equal(out, "  ID  ADDRESS         STATE\n"
                             "  1   127.0.0.1:7000  ok\n"
                             "  12\n");
    free(out);
    table_free(&t);
}

static void test_table_narrows_the_flexible_column(void **state)
{
    static const char *const header[] = {"INSTANCE", "ROLE", "STATE", "LINK",
                                         "OFFSET",   "LAG",  "PRIO"};
    const char *addr = "redis-node-0.redis-headless.production.svc.cluster."
                       "local:6379";
    struct capture c;
    struct table t;
    char *out;

    (void)state;
    table_init(&t, 7, header);
    table_flex(&t, 0);
    table_row(&t, (const char *const[]){addr, "replica", "restarted", "down",
                                        "123456789012", "1.2G", "100"});
    table_row(&t, (const char *const[]){"short:1", "master", "up", "-", "0",
                                        "-", "-"});
    capture_start(&c);
    table_print(&t, c.f, false, "  ");
    out = capture_end(&c);
    assert_lines_fit(out, TEXT_WIDTH);
    /* narrowed just enough for the columns to fit TEXT_WIDTH */
    assert_non_null(strstr(out, "\n  redis-node-0.redis-h~:6379  replica  "
                                "restarted  down  123456789012  1.2G  100\n"));
    free(out);
    table_free(&t);
}

static void test_table_colors_do_not_count(void **state)
{
    static const char *const header[] = {"A", "B"};
    struct capture c;
    struct table t;
    char *out;

    (void)state;
    table_init(&t, 2, header);
    table_row(&t, (const char *const[]){"up", "x"});
    table_color(&t, 0, TC_GREEN);
    capture_start(&c);
    table_print(&t, c.f, true, "");
    out = capture_end(&c);
    assert_string_equal(out, "\033[1mA\033[0m   \033[1mB\033[0m\n"
                             "\033[32mup\033[0m  x\n");
    free(out);
    capture_start(&c);
    table_print(&t, c.f, false, "");
    out = capture_end(&c);
    assert_string_equal(out, "A   B\nup  x\n");
    free(out);
    table_free(&t);
}

static void test_wrap_hangs_and_fits(void **state)
{
    struct capture c;
    char *out;

    (void)state;
    capture_start(&c);
    text_wrap(c.f, false, "  Last failover: ", 2, TC_NONE,
              "2026-11-26 10:00:01 (3m ago), 127.0.0.1:6379 -> "
              "127.0.0.1:6380, epoch 2, automatic, completed, data at "
              "risk 0 bytes");
    out = capture_end(&c);
    assert_lines_fit(out, TEXT_WIDTH);
    assert_string_equal(out, "  Last failover: 2026-11-26 10:00:01 (3m ago), "
                             "127.0.0.1:6379 -> 127.0.0.1:6380,\n"
                             "                   epoch 2, automatic, "
                             "completed, data at risk 0 bytes\n");
    free(out);

    /* a word longer than a line is cut, never printed past the width */
    capture_start(&c);
    text_wrap(
        c.f, false, "x: ", 0, TC_NONE,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b");
    out = capture_end(&c);
    assert_lines_fit(out, TEXT_WIDTH);
    assert_non_null(strstr(out, " b\n"));
    free(out);
}

static void test_no_color_without_a_terminal(void **state)
{
    (void)state;
    /* the test's stdout may be a terminal; a memory stream never is */
    struct capture c;

    capture_start(&c);
    assert_false(text_use_color(c.f));
    free(capture_end(&c));
    assert_string_equal(text_on(false, TC_RED), "");
    assert_string_equal(text_off(false, TC_RED), "");
    assert_string_equal(text_on(true, TC_NONE), "");
    assert_string_equal(text_on(true, TC_RED), "\033[31m");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_keeps_short_text),
        cmocka_unit_test(test_fit_cuts_keeping_the_port),
        cmocka_unit_test(test_table_aligns_columns),
        cmocka_unit_test(test_table_narrows_the_flexible_column),
        cmocka_unit_test(test_table_colors_do_not_count),
        cmocka_unit_test(test_wrap_hangs_and_fits),
        cmocka_unit_test(test_no_color_without_a_terminal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
