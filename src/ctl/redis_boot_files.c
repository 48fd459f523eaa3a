/* redis_boot_files.c - `rsmctl redis-boot`: where the instance keeps its
 * data (from its arguments and config file) and whether it holds any (an
 * RDB with keys, an AOF that is not empty). */
#include "redis_boot.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define RDB_HEAD 65536 /* bytes of an RDB enough to see past aux fields */

/* ------------------------------------------------------------------------
 * The Redis data files
 * ---------------------------------------------------------------------- */

static void redis_boot__copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

/* One directive (key and its first value) of a config file or of --key
 * value arguments. */
static void redis_boot__directive(struct redis_boot_files *f, const char *key,
                                  const char *val)
{
    if (strcasecmp(key, "dir") == 0)
        redis_boot__copy(f->dir, sizeof f->dir, val);
    else if (strcasecmp(key, "dbfilename") == 0)
        redis_boot__copy(f->dbfilename, sizeof f->dbfilename, val);
    else if (strcasecmp(key, "appendonly") == 0)
        f->appendonly = strcasecmp(val, "yes") == 0;
    else if (strcasecmp(key, "appenddirname") == 0)
        redis_boot__copy(f->appenddirname, sizeof f->appenddirname, val);
    else if (strcasecmp(key, "appendfilename") == 0)
        redis_boot__copy(f->appendfilename, sizeof f->appendfilename, val);
}

/* First word and first value of a config line, quotes removed. */
static void redis_boot__config_line(struct redis_boot_files *f, char *line)
{
    char *key, *val, *save = NULL;

    key = strtok_r(line, " \t\r\n", &save);
    if (key == NULL || key[0] == '#')
        return;
    val = strtok_r(NULL, "\r\n", &save);
    if (val == NULL)
        return;
    while (*val == ' ' || *val == '\t')
        val++;
    if (*val == '"' || *val == '\'') {
        char q = *val++;
        char *end = strchr(val, q);
        if (end != NULL)
            *end = '\0';
    } else {
        val[strcspn(val, " \t")] = '\0';
    }
    redis_boot__directive(f, key, val);
}

void redis_boot_files_read(const struct redis_boot_options *o,
                           struct redis_boot_files *f)
{
    int i = 1;

    memset(f, 0, sizeof *f);
    redis_boot__copy(f->dir, sizeof f->dir, ".");
    redis_boot__copy(f->dbfilename, sizeof f->dbfilename, "dump.rdb");
    redis_boot__copy(f->appenddirname, sizeof f->appenddirname,
                     "appendonlydir");
    redis_boot__copy(f->appendfilename, sizeof f->appendfilename,
                     "appendonly.aof");
    if (o->redis_argc > 1 && strncmp(o->redis_argv[1], "--", 2) != 0) {
        FILE *cf = fopen(o->redis_argv[1], "r");
        char line[4096];
        i = 2;
        if (cf != NULL) {
            while (fgets(line, sizeof line, cf) != NULL)
                redis_boot__config_line(f, line);
            fclose(cf);
        }
    }
    for (; i + 1 < o->redis_argc; i++) {
        if (strncmp(o->redis_argv[i], "--", 2) == 0)
            redis_boot__directive(f, o->redis_argv[i] + 2,
                                  o->redis_argv[i + 1]);
    }
    if (o->data_dir != NULL)
        redis_boot__copy(f->dir, sizeof f->dir, o->data_dir);
}

static enum rsm_rdb_content redis_boot__rdb_file(const char *path)
{
    unsigned char *buf = malloc(RDB_HEAD);
    FILE *fp = fopen(path, "rb");
    size_t n = 0;
    enum rsm_rdb_content c = RSM_RDB_UNREADABLE;

    if (buf != NULL && fp != NULL) {
        n = fread(buf, 1, RDB_HEAD, fp);
        c = rsm_boot_rdb_content(buf, n);
    }
    if (fp != NULL)
        fclose(fp);
    free(buf);
    return c;
}

static off_t redis_boot__file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

/* An AOF directory (Redis 7) holds data when a base RDB holds data, or any
 * other base or increment file is not empty. */
static bool redis_boot__aof_dir_has_data(const char *dir, char *what,
                                         size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool data = false;

    if (d == NULL)
        return false;
    while (!data && (e = readdir(d)) != NULL) {
        char path[8192];
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || strstr(e->d_name, ".manifest") != NULL ||
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
                sizeof path)
            continue;
        if (nl > 9 && strcmp(e->d_name + nl - 9, ".base.rdb") == 0)
            data = redis_boot__rdb_file(path) == RSM_RDB_DATA;
        else
            data = redis_boot__file_size(path) > 0;
        if (data)
            snprintf(what, len, "%s", path);
    }
    closedir(d);
    return data;
}

/* Whether the instance would start with data; `what` says why. */
bool redis_boot_has_data(const struct redis_boot_files *f, char *what,
                         size_t len)
{
    char path[8192];
    enum rsm_rdb_content c;

    if (f->appendonly) {
        snprintf(path, sizeof path, "%s/%s", f->dir, f->appenddirname);
        if (redis_boot__aof_dir_has_data(path, what, len))
            return true;
        snprintf(path, sizeof path, "%s/%s", f->dir, f->appendfilename);
        if (redis_boot__file_size(path) > 0) {
            snprintf(what, len, "%s", path);
            return true;
        }
    }
    snprintf(path, sizeof path, "%s/%s", f->dir, f->dbfilename);
    c = redis_boot__file_size(path) >= 0 ? redis_boot__rdb_file(path)
                                         : RSM_RDB_UNREADABLE;
    snprintf(what, len, "%s: %s", path,
             c == RSM_RDB_DATA                 ? "holds data"
             : c == RSM_RDB_EMPTY              ? "no keys"
             : redis_boot__file_size(path) < 0 ? "absent"
                                               : "unreadable");
    return c == RSM_RDB_DATA;
}
