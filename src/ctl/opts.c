/* opts.c - small helpers shared by rsmctl subcommands. */
#include "ctl.h"
#include "rsm/clock.h"
#include "rsm/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read at most len-1 bytes of the first line of path into buf. */
static int opts__read_secret_file(const char *path, char *buf, size_t len,
                                  char *errmsg, size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;
    int rv = 0;

    if (f == NULL)
        return rsm_errf(RSM_EIO, errmsg, errlen, "cannot read '%s': %s", path,
                        strerror(errno));
    n = fread(buf, 1, len - 1, f);
    if (ferror(f)) {
        rv = rsm_errf(RSM_EIO, errmsg, errlen, "cannot read '%s': %s", path,
                      strerror(errno));
        goto out_close;
    }
    if (n == len - 1 && fgetc(f) != EOF) {
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen,
                      "'%s': password longer than %zu bytes", path, len - 2);
        goto out_close;
    }
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0 || memchr(buf, '\n', n) != NULL || strlen(buf) != n)
        rv = rsm_errf(RSM_EINVAL, errmsg, errlen,
                      "'%s': expected one non-empty line", path);
out_close:
    fclose(f);
    if (rv != 0)
        explicit_bzero(buf, len);
    return rv;
}

int rsmctl_read_secret(const char *path, const char *env, char *buf, size_t len,
                       char *errmsg, size_t errlen)
{
    const char *v;

    buf[0] = '\0';
    if (path != NULL)
        return opts__read_secret_file(path, buf, len, errmsg, errlen);
    v = env != NULL ? getenv(env) : NULL;
    if (v == NULL || *v == '\0')
        return 0;
    if (strlen(v) >= len)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s: password longer than %zu bytes", env, len - 1);
    memcpy(buf, v, strlen(v) + 1);
    return 0;
}

int rsmctl_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return RSM_EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return RSM_EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return RSM_EINVAL;
    }
    if (v < min)
        return RSM_EINVAL;
    *out = v;
    return 0;
}

const char *rsmctl_timestamp(char *buf, size_t len)
{
    return rsm_clock_wall_format(buf, len, false, "%H:%M:%S", "");
}

int rsmctl_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    return RSMCTL_EXIT_USAGE;
}
