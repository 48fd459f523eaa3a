/* clock.c - the wall clock (see clock.h). */
#include "rsm/clock.h"

#include <stdio.h>
#include <time.h>

int64_t rsm_clock_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rsm_clock_wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *rsm_clock_wall_format(char *buf, size_t len, bool utc,
                                  const char *fmt, const char *suffix)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (utc)
        gmtime_r(&ts.tv_sec, &tm);
    else
        localtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, fmt, &tm);
    snprintf(buf + n, len - n, ".%03ld%s", (long)(ts.tv_nsec / 1000000),
             suffix);
    return buf;
}
