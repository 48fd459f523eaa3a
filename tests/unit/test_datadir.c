/* test_datadir.c - unit tests for io/datadir: the checks the agent makes
 * on its Raft data dir before libraft 0.15 reads it, on files written here
 * byte by byte in the layouts libraft writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lz4frame.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rsm/datadir.h"
#include "rsm/entry.h" /* RSM_CLUSTER_ID_LEN */
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

/* A real LZ4 frame (liblz4, with block and content checksums) of n bytes
 * of varied data, as libraft writes snapshots. */
static size_t lz4_frame(unsigned char *p, size_t n)
{
    LZ4F_preferences_t prefs;
    unsigned char src[4096];
    size_t out;

    assert_true(n <= sizeof src);
    for (size_t i = 0; i < n; i++)
        src[i] = (unsigned char)("state of the group "[i % 19] + i / 64);
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockChecksumFlag = LZ4F_blockChecksumEnabled;
    out = LZ4F_compressFrame(p, LZ4F_compressFrameBound(n, &prefs), src, n,
                             &prefs);
    assert_false(LZ4F_isError(out));
    return out;
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
    unsigned char buf[1024];
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
    unsigned char buf[1024];
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
    /* intact structure, damaged data (4 bytes flipped in the middle, as
     * integration.disk_faults does): libraft 0.15 could spin on it */
    n = lz4_frame(buf, 200);
    put(f, "snapshot-1-1-1", buf, n);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), 0);
    for (size_t i = 0; i < 4; i++)
        buf[n / 2 + i] ^= 0xff;
    put(f, "snapshot-1-1-1", buf, n);
    assert_int_equal(rsm_datadir_check(f->dir, err, sizeof err), RSM_EPARSE);
    assert_non_null(strstr(err, "snapshot-1-1-1 is damaged"));
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

/* ---- the cluster id file ------------------------------------------------- */

#define CID   "0123456789abcdef0123456789abcdef"
#define OTHER "fedcba9876543210fedcba9876543210"

static bool exists(const struct fixture *f, const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    return access(path, F_OK) == 0;
}

/* The whole content of dir/name into buf (NUL-terminated); its length. */
static size_t slurp(const struct fixture *f, const char *name, char *buf,
                    size_t len)
{
    char path[256];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    n = fread(buf, 1, len - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return n;
}

/* read_cluster_id must refuse the file with RSM_EPARSE naming it. */
static void assert_unreadable_id(const struct fixture *f, const char *content)
{
    char buf[RSM_CLUSTER_ID_LEN + 1], err[RSM_ERRMSG_SIZE] = "", path[256];

    put(f, "cluster-id", content, strlen(content));
    memset(buf, 'x', sizeof buf);
    if (rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, err, sizeof err) !=
        RSM_EPARSE)
        fail_msg("'%s' was not refused", content);
    snprintf(path, sizeof path, "%s/cluster-id", f->dir);
    if (strstr(err, path) == NULL)
        fail_msg("error '%s' does not name %s", err, path);
    assert_non_null(strstr(err, "not a cluster id"));
    assert_string_equal(buf, "");
}

static void test_cluster_id_write_then_read(void **state)
{
    struct fixture *f = *state;
    char buf[RSM_CLUSTER_ID_LEN + 1], text[64], err[RSM_ERRMSG_SIZE];

    assert_int_equal(rsm_datadir_write_cluster_id(f->dir, CID, err, sizeof err),
                     0);
    /* One line, as an operator would write it. */
    assert_int_equal(slurp(f, "cluster-id", text, sizeof text),
                     RSM_CLUSTER_ID_LEN + 1);
    assert_string_equal(text, CID "\n");
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, err, sizeof err),
        0);
    assert_string_equal(buf, CID);
}

static void test_cluster_id_missing_file(void **state)
{
    struct fixture *f = *state;
    char buf[RSM_CLUSTER_ID_LEN + 1], err[RSM_ERRMSG_SIZE] = "";

    memset(buf, 'x', sizeof buf);
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, err, sizeof err),
        RSM_ENOTFOUND);
    assert_string_equal(buf, "");
    /* Nor does a missing data dir look like a damaged one. */
    snprintf(err, sizeof err, "%s/nope", f->dir);
    buf[0] = 'x';
    assert_int_equal(rsm_datadir_read_cluster_id(err, buf, sizeof buf, NULL, 0),
                     RSM_ENOTFOUND);
    assert_string_equal(buf, "");
}

static void test_cluster_id_garbage_is_refused(void **state)
{
    struct fixture *f = *state;

    assert_unreadable_id(f, "");
    assert_unreadable_id(f, "\n");
    assert_unreadable_id(f, "hello, world\n");
    assert_unreadable_id(f, "0123456789abcdef0123456789abcde\n"); /* 31 */
    assert_unreadable_id(f, "0123456789abcdef0123456789abcde");
    assert_unreadable_id(f, CID "0");   /* 33 */
    assert_unreadable_id(f, CID "0\n"); /* 33 and a newline */
    assert_unreadable_id(f, "0123456789ABCDEF0123456789ABCDEF\n");
    assert_unreadable_id(f, CID "\n\n");
    assert_unreadable_id(f, CID "\r\n");
    assert_unreadable_id(f, " " CID);
    assert_unreadable_id(f, CID "\nand a second line that is long\n");
}

static void test_cluster_id_trailing_newline_is_optional(void **state)
{
    struct fixture *f = *state;
    char buf[RSM_CLUSTER_ID_LEN + 1];

    put(f, "cluster-id", CID "\n", RSM_CLUSTER_ID_LEN + 1);
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, NULL, 0), 0);
    assert_string_equal(buf, CID);
    put(f, "cluster-id", OTHER, RSM_CLUSTER_ID_LEN);
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, NULL, 0), 0);
    assert_string_equal(buf, OTHER);
}

/* A file that cannot be read is an I/O error naming it, not "missing". */
static void test_cluster_id_unreadable_file_is_eio(void **state)
{
    struct fixture *f = *state;
    char buf[RSM_CLUSTER_ID_LEN + 1], err[RSM_ERRMSG_SIZE] = "", path[256];

    snprintf(path, sizeof path, "%s/cluster-id", f->dir);
    assert_int_equal(mkdir(path, 0755), 0); /* read() fails: EISDIR */
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, err, sizeof err),
        RSM_EIO);
    assert_non_null(strstr(err, path));
    assert_string_equal(buf, "");
    /* Nor can it be written over. */
    assert_int_equal(rsm_datadir_write_cluster_id(f->dir, CID, err, sizeof err),
                     RSM_EIO);
    assert_non_null(strstr(err, path));
    assert_false(exists(f, "cluster-id.tmp"));
}

static void test_cluster_id_write_replaces_and_leaves_no_tmp(void **state)
{
    struct fixture *f = *state;
    char buf[RSM_CLUSTER_ID_LEN + 1], text[128], err[RSM_ERRMSG_SIZE];

    /* A longer file before: replaced whole, not overwritten in place. */
    put(f, "cluster-id", "garbage garbage garbage garbage garbage garbage\n",
        48);
    assert_int_equal(rsm_datadir_write_cluster_id(f->dir, CID, err, sizeof err),
                     0);
    assert_false(exists(f, "cluster-id.tmp"));
    assert_int_equal(slurp(f, "cluster-id", text, sizeof text),
                     RSM_CLUSTER_ID_LEN + 1);
    assert_int_equal(
        rsm_datadir_write_cluster_id(f->dir, OTHER, err, sizeof err), 0);
    assert_false(exists(f, "cluster-id.tmp"));
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, NULL, 0), 0);
    assert_string_equal(buf, OTHER);
    /* A stale temporary file from a crash is no obstacle. */
    put(f, "cluster-id.tmp", "half", 4);
    assert_int_equal(rsm_datadir_write_cluster_id(f->dir, CID, err, sizeof err),
                     0);
    assert_false(exists(f, "cluster-id.tmp"));
    assert_int_equal(
        rsm_datadir_read_cluster_id(f->dir, buf, sizeof buf, NULL, 0), 0);
    assert_string_equal(buf, CID);
}

static void test_cluster_id_write_into_missing_dir_is_eio(void **state)
{
    struct fixture *f = *state;
    char dir[128], err[RSM_ERRMSG_SIZE] = "";

    snprintf(dir, sizeof dir, "%s/nope", f->dir);
    assert_int_equal(rsm_datadir_write_cluster_id(dir, CID, err, sizeof err),
                     RSM_EIO);
    assert_non_null(strstr(err, "nope/cluster-id.tmp"));
}

/* The writer must not store what its reader refuses: an id longer than
 * RSM_CLUSTER_ID_LEN (or not hex) is refused and nothing is written.
 * BUG (#13, reported): rsm_datadir_write_cluster_id() in src/raft/datadir.c
 * does not check id: snprintf() into text[34] truncates a longer one but
 * returns its full length, and write(fd, text, n) then reads past text
 * (a stack-buffer-overflow under ASan), leaving a file that
 * rsm_datadir_read_cluster_id() refuses at the next start. This test fails
 * until the writer checks rsm_cluster_id_valid(id). */
static void test_cluster_id_write_refuses_a_bad_id(void **state)
{
    struct fixture *f = *state;
    char err[RSM_ERRMSG_SIZE] = "";

    assert_int_not_equal(
        rsm_datadir_write_cluster_id(f->dir, CID "0123456789", err, sizeof err),
        0);
    assert_false(exists(f, "cluster-id"));
    assert_false(exists(f, "cluster-id.tmp"));
    assert_int_not_equal(
        rsm_datadir_write_cluster_id(f->dir, "not hex", err, sizeof err), 0);
    assert_false(exists(f, "cluster-id"));
}

/* ---- the masters file ---------------------------------------------------- */

static void test_masters_write_then_read(void **state)
{
    struct fixture *f = *state;
    struct rsm_masterfile mf, back;
    struct rsm_addr a;
    char err[RSM_ERRMSG_SIZE] = "";

    rsm_masterfile_init(&mf);
    mf.applied = 17;
    assert_int_equal(rsm_addr_parse("10.0.0.1:6379", &a, NULL, 0), 0);
    assert_int_equal(rsm_masterfile_add(&mf, "g", &a), 0);
    assert_int_equal(rsm_datadir_write_masters(f->dir, &mf, err, sizeof err),
                     0);
    assert_false(exists(f, "masters.tmp"));
    assert_int_equal(rsm_datadir_read_masters(f->dir, &back, err, sizeof err),
                     0);
    assert_int_equal(back.applied, 17);
    assert_true(rsm_masterfile_same(&mf, &back));
    rsm_masterfile_free(&back);
    /* replaced whole */
    mf.applied = 18;
    mf.items[0].master.port = 6380;
    assert_int_equal(rsm_datadir_write_masters(f->dir, &mf, NULL, 0), 0);
    assert_int_equal(rsm_datadir_read_masters(f->dir, &back, NULL, 0), 0);
    assert_int_equal(back.applied, 18);
    assert_int_equal(back.items[0].master.port, 6380);
    rsm_masterfile_free(&back);
    rsm_masterfile_free(&mf);
}

static void test_masters_missing_damaged_or_unwritable(void **state)
{
    struct fixture *f = *state;
    struct rsm_masterfile mf;
    char dir[128], err[RSM_ERRMSG_SIZE] = "";

    assert_int_equal(rsm_datadir_read_masters(f->dir, &mf, err, sizeof err),
                     RSM_ENOTFOUND);
    assert_int_equal(mf.n, 0);
    put(f, "masters", "", 0); /* a crash of the machine before the data */
    assert_int_equal(rsm_datadir_read_masters(f->dir, &mf, err, sizeof err),
                     RSM_EPARSE);
    assert_non_null(strstr(err, "/masters: line 1"));
    put(f, "masters", "rsm-masters 1 3\ng 10.0.0.1:63", 29);
    assert_int_equal(rsm_datadir_read_masters(f->dir, &mf, err, sizeof err),
                     RSM_EPARSE);
    assert_int_equal(mf.n, 0);
    snprintf(dir, sizeof dir, "%s/nope", f->dir);
    rsm_masterfile_init(&mf);
    assert_int_equal(rsm_datadir_write_masters(dir, &mf, err, sizeof err),
                     RSM_EIO);
    assert_non_null(strstr(err, "nope/masters.tmp"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_masters_write_then_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_masters_missing_damaged_or_unwritable, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_cluster_id_write_then_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cluster_id_missing_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cluster_id_garbage_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cluster_id_trailing_newline_is_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_id_unreadable_file_is_eio,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cluster_id_write_replaces_and_leaves_no_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cluster_id_write_into_missing_dir_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cluster_id_write_refuses_a_bad_id,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
