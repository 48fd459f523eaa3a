/* clock.h - the shell's one reading of the wall clock.
 *
 * Entries carry wall-clock times because they are compared across agents
 * (a decision's age, a suspect's timestamps); timers and timeouts use
 * libuv's monotonic clock instead. Core code never reads a clock: it gets
 * the time as an argument. */
#ifndef RSM_CLOCK_H
#define RSM_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t rsm_clock_wall_ms(void);

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): libraft names the
 * files it sets aside after such a time ("corrupt-<ns>-..."). */
int64_t rsm_clock_wall_ns(void);

/* The wall clock now, for people: strftime(fmt) of UTC (utc) or of local
 * time, then ".mmm" (the milliseconds) and suffix, into buf (truncated
 * to len). The log's "2026-01-02T03:04:05.678Z", rsmctl's "03:04:05.678".
 * Returns buf. */
const char *rsm_clock_wall_format(char *buf, size_t len, bool utc,
                                  const char *fmt, const char *suffix);

#endif /* RSM_CLOCK_H */
