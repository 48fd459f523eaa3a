/* jfield.h - rsmctl's reads of the JSON the agents send (RSM STATUS and
 * the history items): one field of an object, with a neutral value when it
 * is absent or of another type, so that printing code needs no checks.
 *
 * The object may be NULL (json_object_get() answers NULL then); nothing is
 * allocated: strings point into the object. */
#ifndef RSM_CTL_JFIELD_H
#define RSM_CTL_JFIELD_H

#include <stdint.h>

#include <jansson.h>

/* The integer o[key], 0 if null, absent or not an integer. */
int64_t jfield_int(json_t *o, const char *key);

/* The integer o[key], -1 if null, absent or not an integer. */
int64_t jfield_int_or(json_t *o, const char *key);

/* The string o[key], "" if null, absent or not a string. */
const char *jfield_str(json_t *o, const char *key);

#endif /* RSM_CTL_JFIELD_H */
