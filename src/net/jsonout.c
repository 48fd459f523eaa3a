/* jsonout.c - JSON building helpers (see jsonout.h). */
#include "rsm/jsonout.h"

void rsm_json_set(json_t *o, const char *key, json_t *v, bool *oom)
{
    if (v == NULL || json_object_set_new(o, key, v) != 0)
        *oom = true;
}

void rsm_json_append(json_t *a, json_t *v, bool *oom)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *oom = true;
}

json_t *rsm_json_addr(const struct rsm_addr *a)
{
    char buf[RSM_ADDR_STRLEN];

    return json_string(rsm_addr_format_or(a, buf, sizeof buf, ""));
}

json_t *rsm_json_int_or_null(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *rsm_json_uint(uint64_t v)
{
    return json_integer((json_int_t)v);
}
