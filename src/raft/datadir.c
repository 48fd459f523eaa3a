/* datadir.c - checks of the Raft data dir that libraft 0.15 does not make
 * safely itself (see datadir.h). Read-only. */
#include "rsm/datadir.h"
#include "rsm/entry.h"
#include "rsm/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define LZ4_MAGIC         0x184D2204u
#define LZ4_MAX_BLOCK     (4 * 1024 * 1024)
#define SEGMENT_FORMAT_V1 1 /* 8-byte header: the format */
#define SEGMENT_FORMAT_V2 2 /* 16 bytes: the format, the first index */
/* libraft's own bound on entries in a batch (a larger count is "corrupt",
 * which it handles by truncating an open segment there). */
#define MAX_BATCH_ENTRIES ((8u * 1024 * 1024) / 32)

static uint32_t datadir__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t datadir__le64(const unsigned char *p)
{
    return (uint64_t)datadir__le32(p) | (uint64_t)datadir__le32(p + 4) << 32;
}

/* Whole file into a malloc'd buffer. */
static int datadir__read_file(const char *dir, const char *name,
                              unsigned char **out, size_t *len, char *errmsg,
                              size_t errlen)
{
    char path[4096];
    FILE *f;
    struct stat st;
    unsigned char *buf;
    int rv = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path,
                        strerror(errno));
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path, strerror(errno));
        goto out_close;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        rv = RSM_ENOMEM;
        goto out_close;
    }
    if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "%s: short read", path);
        goto out_close;
    }
    *out = buf;
    *len = (size_t)st.st_size;
out_close:
    fclose(f);
    return rv;
}

/* ---------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------- */

struct snap_name {
    unsigned long long term, index, ts;
};

/* "snapshot-T-I-TS.meta" -> its numbers. */
static bool datadir__parse_meta_name(const char *name, struct snap_name *s)
{
    int end = 0;

    if (sscanf(name, "snapshot-%llu-%llu-%llu.meta%n", &s->term, &s->index,
               &s->ts, &end) != 3)
        return false;
    return name[end] == '\0';
}

static bool datadir__newer(const struct snap_name *a, const struct snap_name *b)
{
    if (a->term != b->term)
        return a->term > b->term;
    if (a->index != b->index)
        return a->index > b->index;
    return a->ts > b->ts;
}

void rsm_datadir_newest_snapshot(const char *dir, char *buf, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct snap_name best, s;
    bool found = false;

    if (len > 0)
        buf[0] = '\0';
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!datadir__parse_meta_name(e->d_name, &s) ||
            (found && !datadir__newer(&s, &best)))
            continue;
        best = s;
        found = true;
    }
    closedir(d);
    if (found)
        snprintf(buf, len, "snapshot-%llu-%llu-%llu", best.term, best.index,
                 best.ts);
}

/* Walk an LZ4 frame (the public frame format: magic, FLG, BD, optional
 * content size and dictionary id, header checksum, blocks, end mark,
 * optional content checksum) without decompressing it. The checksums are
 * libraft's to verify. */
static int datadir__check_lz4_frame(const unsigned char *p, size_t len,
                                    const char *name, char *errmsg,
                                    size_t errlen)
{
    size_t pos = 4;
    unsigned flg;
    bool block_sum, content_sum;

    if (len < 7)
        goto truncated;
    flg = p[4];
    if ((flg >> 6) != 1)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "snapshot %s: unknown LZ4 frame version %u", name,
                        flg >> 6);
    block_sum = flg & 0x10;
    content_sum = flg & 0x04;
    pos += 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0) + 1;
    for (;;) {
        uint32_t size;

        if (pos + 4 > len)
            goto truncated;
        size = datadir__le32(p + pos) & 0x7fffffffu;
        pos += 4;
        if (size == 0)
            break; /* end mark */
        if (size > LZ4_MAX_BLOCK)
            return rsm_errf(RSM_EPARSE, errmsg, errlen,
                            "snapshot %s: LZ4 block of %u bytes at byte %zu",
                            name, size, pos - 4);
        pos += size + (block_sum ? 4 : 0);
        if (pos > len)
            goto truncated;
    }
    if (content_sum && pos + 4 > len)
        goto truncated;
    return 0;
truncated:
    return rsm_errf(RSM_ETRUNC, errmsg, errlen,
                    "snapshot %s is truncated (%zu bytes, its LZ4 frame "
                    "needs more): move it and its .meta out of the data dir "
                    "to start from the previous snapshot, or restore the "
                    "data dir",
                    name, len);
}

/* Decompress the whole frame the way libraft will, into a scratch buffer
 * that is thrown away, so that LZ4 checks every block (and the checksums
 * the frame carries). A frame whose structure is intact but whose data was
 * damaged can make libraft 0.15's decompression loop stop making progress
 * and spin forever (seen with 4 bytes flipped in the middle of a
 * snapshot); here it is a clear refusal naming the file. */
static int datadir__check_lz4_content(const unsigned char *p, size_t len,
                                      const char *name, char *errmsg,
                                      size_t errlen)
{
    static unsigned char out[64 * 1024];
    LZ4F_dctx *ctx;
    size_t pos = 0, rv = 1;
    int err = 0;

    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "snapshot %s: no memory",
                        name);
    while (pos < len && rv != 0 && err == 0) {
        size_t src = len - pos, dst = sizeof out;
        rv = LZ4F_decompress(ctx, out, &dst, p + pos, &src, NULL);
        if (LZ4F_isError(rv))
            err = rsm_errf(RSM_EPARSE, errmsg, errlen,
                           "snapshot %s is damaged (LZ4: %s at byte %zu): "
                           "move it and its .meta out of the data dir to "
                           "start from the previous snapshot, or restore "
                           "the data dir",
                           name, LZ4F_getErrorName(rv), pos);
        else if (src == 0 && dst == 0)
            break; /* no progress: incomplete, reported below */
        pos += src;
    }
    LZ4F_freeDecompressionContext(ctx);
    if (err == 0 && rv != 0)
        err = rsm_errf(RSM_ETRUNC, errmsg, errlen,
                       "snapshot %s is truncated (%zu bytes, its LZ4 frame "
                       "needs more): move it and its .meta out of the data "
                       "dir to start from the previous snapshot, or restore "
                       "the data dir",
                       name, len);
    return err;
}

static int datadir__check_snapshot(const char *dir, char *errmsg, size_t errlen)
{
    char name[256], path[4096];
    unsigned char *buf;
    size_t len;
    int rv;

    rsm_datadir_newest_snapshot(dir, name, sizeof name);
    if (name[0] == '\0')
        return 0;
    rv = datadir__read_file(dir, name, &buf, &len, errmsg, errlen);
    if (rv != 0)
        return rv;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (len >= 4 && datadir__le32(buf) == LZ4_MAGIC)
        rv = datadir__check_lz4_frame(buf, len, path, errmsg, errlen);
    if (rv == 0 && len >= 4 && datadir__le32(buf) == LZ4_MAGIC)
        rv = datadir__check_lz4_content(buf, len, path, errmsg, errlen);
    free(buf);
    return rv;
}

/* ---------------------------------------------------------------------------
 * Open segments
 * ------------------------------------------------------------------------- */

/* Batches as libraft writes them: two CRC32s, the entry count (8 bytes),
 * 16 bytes per entry (term, type, size in the last 4), then the data.
 * libraft handles a batch it finds corrupt (a zero or huge count, a bad
 * checksum) by truncating the open segment there; what it does not survive
 * is a file that ends inside a batch. */
static int datadir__check_open_segment(const unsigned char *p, size_t len,
                                       const char *name, char *errmsg,
                                       size_t errlen)
{
    uint64_t format, n;
    size_t pos, need;

    if (len < 8)
        return 0; /* libraft reports it */
    format = datadir__le64(p);
    if (format == SEGMENT_FORMAT_V1)
        pos = 8;
    else if (format == SEGMENT_FORMAT_V2)
        pos = 16;
    else
        return 0; /* zeros (never written) or libraft reports it */
    while (pos < len) {
        if (len - pos < 16)
            goto truncated;
        n = datadir__le64(p + pos + 8);
        if (n == 0 || n > MAX_BATCH_ENTRIES)
            return 0; /* the end of what was written, or corrupt */
        need = 16 + 16 * (size_t)n;
        if (len - pos < need)
            goto truncated;
        for (uint64_t i = 0; i < n; i++)
            need += datadir__le32(p + pos + 16 + 16 * i + 12);
        if (len - pos < need)
            goto truncated;
        pos += need;
    }
    return 0;
truncated:
    return rsm_errf(RSM_ETRUNC, errmsg, errlen,
                    "open segment %s is truncated inside the batch at byte "
                    "%zu (%zu bytes): move it out of the data dir (the "
                    "entries it held come back from the leader) or restore "
                    "the data dir",
                    name, pos, len);
}

static bool datadir__is_open_segment(const char *name)
{
    unsigned long long counter;
    int end = 0;

    return sscanf(name, "open-%llu%n", &counter, &end) == 1 &&
           name[end] == '\0';
}

int rsm_datadir_check(const char *dir, char *errmsg, size_t errlen)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    int rv;

    d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0
                               : rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s",
                                          dir, strerror(errno));
    rv = 0;
    while (rv == 0 && (e = readdir(d)) != NULL) {
        unsigned char *buf;
        size_t len;

        if (!datadir__is_open_segment(e->d_name))
            continue;
        rv = datadir__read_file(dir, e->d_name, &buf, &len, errmsg, errlen);
        if (rv != 0)
            break;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rv = datadir__check_open_segment(buf, len, path, errmsg, errlen);
        free(buf);
    }
    closedir(d);
    if (rv != 0)
        return rv;
    return datadir__check_snapshot(dir, errmsg, errlen);
}

/* ---------------------------------------------------------------------------
 * Room and set-aside files
 * ------------------------------------------------------------------------- */

int64_t rsm_datadir_free_bytes(const char *dir)
{
    struct statvfs sv;

    if (statvfs(dir, &sv) != 0)
        return -1;
    return (int64_t)sv.f_bavail * (int64_t)sv.f_frsize;
}

unsigned rsm_datadir_set_aside(const char *dir, int64_t since_ns,
                               void (*cb)(void *arg, const char *name),
                               void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        long long ns;
        int end = 0;

        if (sscanf(e->d_name, "corrupt-%lld-%n", &ns, &end) != 1 || end == 0 ||
            ns < since_ns)
            continue;
        n++;
        if (cb != NULL)
            cb(arg, e->d_name);
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------------------
 * The cluster id file
 * ------------------------------------------------------------------------- */

#define CLUSTER_ID_FILE "cluster-id"

/* Open dir/name for reading, its path in path (for messages). Returns 0
 * with *fd open, RSM_ENOTFOUND (no such file) or RSM_EIO. */
static int datadir__open_read(const char *dir, const char *name, char *path,
                              size_t pathlen, int *fd, char *errmsg,
                              size_t errlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT)
        return RSM_ENOTFOUND;
    if (*fd < 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path,
                        strerror(errno));
    return 0;
}

/* Replace dir/name with text, whole: written to name.tmp (then fsync'd if
 * sync), renamed over name; the .tmp is removed on failure. */
static int datadir__replace(const char *dir, const char *name, const char *text,
                            size_t len, bool sync, char *errmsg, size_t errlen)
{
    char path[4096], tmp[4200];
    int fd, rv = 0;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", tmp,
                        strerror(errno));
    if (write(fd, text, len) != (ssize_t)len || (sync && fsync(fd) != 0))
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (rv == 0 && rename(tmp, path) != 0)
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path, strerror(errno));
    if (rv != 0)
        unlink(tmp);
    return rv;
}

int rsm_datadir_read_cluster_id(const char *dir, char *buf, size_t len,
                                char *errmsg, size_t errlen)
{
    char path[4096], text[RSM_CLUSTER_ID_LEN + 3];
    ssize_t n;
    int fd, rv;

    buf[0] = '\0';
    rv = datadir__open_read(dir, CLUSTER_ID_FILE, path, sizeof path, &fd,
                            errmsg, errlen);
    if (rv != 0)
        return rv;
    n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0)
        return rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path,
                        strerror(errno));
    text[n] = '\0';
    if (n > 0 && text[n - 1] == '\n')
        text[n - 1] = '\0';
    if (!rsm_cluster_id_valid(text) || len <= RSM_CLUSTER_ID_LEN)
        return rsm_errf(RSM_EPARSE, errmsg, errlen,
                        "%s: not a cluster id (%d lowercase hex digits); "
                        "remove the file to take the group's again",
                        path, RSM_CLUSTER_ID_LEN);
    memcpy(buf, text, RSM_CLUSTER_ID_LEN + 1);
    return 0;
}

int rsm_datadir_write_cluster_id(const char *dir, const char *id, char *errmsg,
                                 size_t errlen)
{
    char text[RSM_CLUSTER_ID_LEN + 2];
    int n;

    if (!rsm_cluster_id_valid(id))
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s/" CLUSTER_ID_FILE
                        ": not writing '%.40s': not a cluster id",
                        dir, id);
    n = snprintf(text, sizeof text, "%s\n", id);
    return datadir__replace(dir, CLUSTER_ID_FILE, text, (size_t)n, true, errmsg,
                            errlen);
}

/* ---------------------------------------------------------------------------
 * The masters given to clients (masterfile.h)
 * ------------------------------------------------------------------------- */

#define MASTERS_MAX_BYTES (16 * 1024 * 1024)

int rsm_datadir_read_masters(const char *dir, struct rsm_masterfile *out,
                             char *errmsg, size_t errlen)
{
    char path[4096], err[RSM_ERRMSG_SIZE];
    struct stat sb;
    char *text = NULL;
    ssize_t n = 0;
    int fd, rv = 0;

    rsm_masterfile_init(out);
    rv = datadir__open_read(dir, RSM_MASTERFILE_NAME, path, sizeof path, &fd,
                            errmsg, errlen);
    if (rv != 0)
        return rv;
    if (fstat(fd, &sb) != 0 || sb.st_size > MASTERS_MAX_BYTES)
        rv = rsm_errf(RSM_EPARSE, errmsg, errlen,
                      "%s: unreadable or larger "
                      "than %d bytes",
                      path, MASTERS_MAX_BYTES);
    else if ((text = malloc((size_t)sb.st_size + 1)) == NULL)
        rv = rsm_errf(RSM_ENOMEM, errmsg, errlen, "%s: out of memory", path);
    else if ((n = read(fd, text, (size_t)sb.st_size)) < 0)
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    if (rv == 0 &&
        rsm_masterfile_decode(text, (size_t)n, out, err, sizeof err) != 0)
        rv = rsm_errf(RSM_EPARSE, errmsg, errlen, "%s: %s", path, err);
    free(text);
    return rv;
}

/* Without fsync: after a crash of the machine the file may be older than
 * the log, or empty (then unreadable, and ignored): it only shortens the
 * wait after a restart, see masterfile.h. A rename keeps it whole. */
int rsm_datadir_write_masters(const char *dir, const struct rsm_masterfile *mf,
                              char *errmsg, size_t errlen)
{
    char *text = rsm_masterfile_encode(mf);
    int rv;

    if (text == NULL)
        return rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
    rv = datadir__replace(dir, RSM_MASTERFILE_NAME, text, strlen(text), false,
                          errmsg, errlen);
    free(text);
    return rv;
}
