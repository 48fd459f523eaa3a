/* jsonout.h - building JSON documents with jansson, out-of-memory counted
 * once: every helper takes a `bool *oom` that it sets when jansson could
 * not allocate, so that a caller builds the whole document and checks one
 * flag at the end (RSM STATUS, the monitor's status). */
#ifndef RSM_JSONOUT_H
#define RSM_JSONOUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "rsm/addr.h"

/* o[key] = v, stealing v; *oom = true if v is NULL or the set failed. */
void rsm_json_set(json_t *o, const char *key, json_t *v, bool *oom);

/* Append v to the array a, stealing v; *oom as for rsm_json_set(). */
void rsm_json_append(json_t *a, json_t *v, bool *oom);

/* "host:port", or "" for an unset address. */
json_t *rsm_json_addr(const struct rsm_addr *a);

/* A number, or null when negative (the "unknown" of info.h). */
json_t *rsm_json_int_or_null(int64_t v);

/* An unsigned 64-bit id or counter as a JSON integer. */
json_t *rsm_json_uint(uint64_t v);

#endif /* RSM_JSONOUT_H */
