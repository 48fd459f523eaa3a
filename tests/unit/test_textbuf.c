/* test_textbuf.c - unit tests for core/textbuf: appends, growth across
 * the allocation boundaries, hand-over, and a failed buffer staying
 * failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "rsm/textbuf.h"

static void test_nothing_appended_gives_an_empty_string(void **state)
{
    struct rsm_textbuf t = {0};
    char *s = rsm_textbuf_finish(&t);

    (void)state;
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_appends_in_order(void **state)
{
    struct rsm_textbuf t = {0};
    char *s;

    (void)state;
    rsm_textbuf_printf(&t, "# %s\r\n", "Server");
    rsm_textbuf_printf(&t, "tcp_port:%u\r\n", 26379u);
    rsm_textbuf_printf(&t, "%s", "");
    assert_int_equal(t.len, strlen("# Server\r\ntcp_port:26379\r\n"));
    s = rsm_textbuf_finish(&t);
    assert_string_equal(s, "# Server\r\ntcp_port:26379\r\n");
    /* handed over: t is empty again */
    assert_null(t.s);
    assert_int_equal(t.len, 0);
    assert_int_equal(t.cap, 0);
    free(s);
}

/* Every length around the first allocation and its doublings comes out
 * whole: the text and the NUL always fit. */
static void test_grows_across_boundaries(void **state)
{
    char *big = malloc(5000);

    (void)state;
    assert_non_null(big);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    for (size_t first = 0; first < 1100; first += 7) {
        for (size_t second = 500; second < 1100; second += 131) {
            struct rsm_textbuf t = {0};
            char *s;

            rsm_textbuf_printf(&t, "%.*s", (int)first, big);
            rsm_textbuf_printf(&t, "%.*sEND", (int)second, big);
            assert_true(t.len < t.cap);
            s = rsm_textbuf_finish(&t);
            assert_int_equal(strlen(s), first + second + 3);
            assert_memory_equal(s, big, first + second);
            assert_string_equal(s + first + second, "END");
            free(s);
        }
    }
    free(big);
}

static void test_many_small_appends(void **state)
{
    struct rsm_textbuf t = {0};
    char *s;

    (void)state;
    for (int i = 0; i < 10000; i++)
        rsm_textbuf_printf(&t, "%d\n", i % 10);
    s = rsm_textbuf_finish(&t);
    assert_int_equal(strlen(s), 20000);
    assert_memory_equal(s + 19996, "8\n9\n", 4);
    free(s);
}

/* An encoding error (a lone UTF-16 surrogate has no multibyte form) marks
 * the buffer failed; later appends do nothing; finish says so. */
static void test_failure_is_sticky(void **state)
{
    struct rsm_textbuf t = {0};

    (void)state;
    rsm_textbuf_printf(&t, "before\n");
    assert_false(t.oom);
    rsm_textbuf_printf(&t, "%lc", (wint_t)0xD800);
    assert_true(t.oom);
    rsm_textbuf_printf(&t, "after\n");
    assert_int_equal(t.len, strlen("before\n"));
    assert_null(rsm_textbuf_finish(&t));
    assert_null(t.s);
    assert_false(t.oom); /* empty again, usable */
    rsm_textbuf_printf(&t, "again");
    rsm_textbuf_free(&t);
    assert_null(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_appended_gives_an_empty_string),
        cmocka_unit_test(test_appends_in_order),
        cmocka_unit_test(test_grows_across_boundaries),
        cmocka_unit_test(test_many_small_appends),
        cmocka_unit_test(test_failure_is_sticky),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
