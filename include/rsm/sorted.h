/* sorted.h - binary search in an array kept sorted by a name.
 *
 * The FSM's groups and removed names (fsm.c) and the events module's
 * tracks (src/api/events_track.c) are arrays sorted by a NUL-terminated
 * name in strcmp() order; this is their one lookup. Pure: no I/O, no
 * allocation. */
#ifndef RSM_SORTED_H
#define RSM_SORTED_H

#include <stdbool.h>
#include <stddef.h>

/* In the n elements of size bytes at base, sorted by the name that starts
 * name_off bytes into each element: the index of name (*found true), or
 * the index where it would be inserted to keep the order (*found false). */
size_t rsm_sorted_name_index(const void *base, size_t n, size_t size,
                             size_t name_off, const char *name, bool *found);

#endif /* RSM_SORTED_H */
