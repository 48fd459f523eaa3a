/* test_datadir.c - unit tests for io/datadir: the checks the agent makes
 * on its Raft data dir before libraft 0.15 reads it, on files written here
 * byte by byte in the layouts libraft writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rsm/datadir.h"
#include "rsm/err.h"

struct fixture {
    char dir[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    snprintf(f->dir, sizeof f->dir, "/tmp/rsm-datadir-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void put(const struct fixture *f, const char *name, const void *data,
                size_t len)
{
    char path[256];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static size_t le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return 4;
}

static size_t le64(unsigned char *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
    return 8;
}

/* An LZ4 frame with a content checksum and one stored block of n bytes
 * (checksums are not checked here, only the structure). */
static size_t lz4_frame(unsigned char *p, size_t n)
{
    size_t pos = le32(p, 0x184D2204u);

    p[pos++] = 0x40 | 0x20 | 0x04; /* version 1, independent, checksum */
    p[pos++] = 0x70;               /* 4 MB blocks */
    p[pos++] = 0xAB;               /* header checksum */
    pos += le32(p + pos, 0x80000000u | (uint32_t)n);
    memset(p + pos, 'x', n);
    pos += n;
    pos += le32(p + pos, 0); /* end mark */
    pos += le32(p + pos, 0x12345678u);
    return pos;
}

/* A format-1 open segment of `batches` one-entry batches of 16 data bytes,
 * in a preallocated file of `size` bytes (rest zeros). */
static size_t open_segment(unsigned char *p, size_t size, int batches)
{
    size_t pos = le64(p, 1);

    memset(p + pos, 0, size - pos);
    for (int b = 0; b < batches; b++) {
        pos += 8;                /* checksums */
        pos += le64(p + pos, 1); /* entries */
        pos += le64(p + pos, 2); /* term */
        p[pos] = 1;              /* type, 3 unused */
        le32(p + pos + 4, 16);   /* size */
        pos += 8;
        memset(p + pos, 'e', 16);
        pos += 16;
    }
    return pos;
}

static void test_empty_or_missing_dir_is_fine(void **state)
{
    struct fixture *f = *state;
    char path[128], name[64];

    assert_int_equal(rsm_datadir_check(f->dir, NULL, 0), 0);
    snprintf(path, sizeof path, "%s/nope", f->dir);
    assert_int_equal(rsm_datadir_check(path, NULL, 0), 0);
    rsm_datadir_newest_snapshot(f->dir, name, sizeof name);
    assert_string_equal(name, "");
}

static void test_newest_snapshot_is_the_one_checked(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[256];
    char name[64], err[RSM_ERRMSG_SIZE];
    size_t n = lz4_frame(buf, 40);

    put(f, "snapshot-2-100-5", buf, n);
    put(f, "snapshot-2-100-5.meta", "m", 1);
    put(f, "snapshot-10-20-1", buf, n / 2); /* newest: higher term */
    put(f, "snapshot-10-20-1.meta", "m", 1);
    put(f, "snapshot-99-1-1", buf, 3); /* no .meta: not libraft's */
    rsm_datadir_newest_snapshot(f->dir, name, sizeof name);
    assert_string_equal(name, "snapshot-10-20-1");
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), RSM_ETRUNC);
    assert_non_null(strstr(err, "snapshot-10-20-1"));
    put(f, "snapshot-10-20-1", buf, n);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
}

static void test_every_cut_of_an_lz4_snapshot_is_caught(void **state)
{
    struct fixture *f = *state;
    unsigned char buf[256];
    char err[RSM_ERRMSG_SIZE];
    size_t n = lz4_frame(buf, 40);

    put(f, "snapshot-1-1-1.meta", "m", 1);
    for (size_t cut = 4; cut < n; cut++) {
        put(f, "snapshot-1-1-1", buf, cut);
        assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err),
                         RSM_ETRUNC);
    }
    buf[4] = 0x80; /* version 2 */
    put(f, "snapshot-1-1-1", buf, n);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), RSM_EPARSE);
    /* not compressed: the FSM's restore judges it */
    put(f, "snapshot-1-1-1", "plain", 5);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
}

static void test_open_segment_cut_inside_a_batch(void **state)
{
    struct fixture *f = *state;
    unsigned char seg[1024];
    char err[RSM_ERRMSG_SIZE];
    size_t end = open_segment(seg, sizeof seg, 3);

    put(f, "open-1", seg, sizeof seg); /* preallocated, zeros after */
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
    put(f, "open-1", seg, end); /* ends on a batch boundary */
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
    for (size_t cut = 9; cut < end; cut++) {
        if ((cut - 8) % 48 == 0)
            continue; /* a boundary */
        put(f, "open-1", seg, cut);
        assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err),
                         RSM_ETRUNC);
        assert_non_null(strstr(err, "open-1"));
    }
    memset(seg, 0, sizeof seg); /* never written: libraft removes it */
    put(f, "open-1", seg, sizeof seg);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
}

static void test_set_aside_files_since_a_time(void **state)
{
    struct fixture *f = *state;
    unsigned n = 0;

    put(f, "corrupt-100-0000000000000001-0000000000000005", "x", 1);
    put(f, "corrupt-300-open-2", "x", 1);
    put(f, "corrupt-x-open-3", "x", 1);
    n = rsm_datadir_set_aside(f->dir, 200, NULL, NULL);
    assert_int_equal(n, 1);
    assert_int_equal(rsm_datadir_set_aside(f->dir, 0, NULL, NULL), 2);
    assert_true(rsm_datadir_free_bytes(f->dir) > 0);
    assert_int_equal(rsm_datadir_free_bytes("/nonexistent/rsm"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_or_missing_dir_is_fine,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_snapshot_is_the_one_checked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_every_cut_of_an_lz4_snapshot_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_segment_cut_inside_a_batch,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_aside_files_since_a_time,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
