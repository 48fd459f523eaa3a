/* clock.h - the shell's one reading of the wall clock.
 *
 * Entries carry wall-clock times because they are compared across agents
 * (a decision's age, a suspect's timestamps); timers and timeouts use
 * libuv's monotonic clock instead. Core code never reads a clock: it gets
 * the time as an argument. */
#ifndef RSM_CLOCK_H
#define RSM_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t rsm_clock_wall_ms(void);

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): libraft names the
 * files it sets aside after such a time ("corrupt-<ns>-..."). */
int64_t rsm_clock_wall_ns(void);

#endif /* RSM_CLOCK_H */
