/* status_json.c - `rsmctl status --json`: a snapshot as one JSON object
 * (the answer, every agent's view, the leader's instances, the notes). */
#include "jfield.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

static json_t *status__agents_json(const struct status_snapshot *s)
{
    json_t *agents = json_array();

    for (size_t i = 0; i < s->n; i++) {
        const struct status_view *v = &s->views[i];
        json_t *a = json_object(), *st = v->status;
        json_object_set_new(a, "id", json_integer((json_int_t)v->id));
        json_object_set_new(a, "api", json_string(v->api));
        json_object_set_new(a, "reachable", json_boolean(v->reachable));
        json_object_set_new(a, "misconfigured",
                            v->misconfigured[0] ? json_string(v->misconfigured)
                                                : json_null());
        if (st != NULL) {
            json_t *leader = json_object_get(st, "leader");
            json_object_set_new(a, "role", json_string(jfield_str(st, "role")));
            json_object_set_new(a, "term",
                                json_integer(jfield_int(st, "term")));
            json_object_set_new(a, "commit_index",
                                json_integer(jfield_int(st, "commit_index")));
            json_object_set_new(a, "leader_id",
                                json_is_object(leader)
                                    ? json_integer(jfield_int(leader, "id"))
                                    : json_null());
        } else {
            json_object_set_new(a, "error", json_string(v->err));
        }
        json_array_append_new(agents, a);
    }
    return agents;
}

/* The notes as an array of strings. */
static json_t *status__notes_json(const struct status_snapshot *s)
{
    json_t *a = json_array();
    const char *p = s->notes;

    while (*p != '\0') {
        size_t n = strcspn(p, "\n");
        json_array_append_new(a, json_stringn(p, n));
        p += n + (p[n] == '\n');
    }
    return a;
}

void status_print_json(FILE *out, const struct status_snapshot *s, bool compact)
{
    char name[RSM_ADDR_STRLEN];
    json_t *o = json_object(), *from = json_null();

    json_object_set_new(
        o, "answered_by",
        s->answer ? json_string(rsm_addr_format(&s->who, name, sizeof name))
                  : json_null());
    json_object_set(o, "status", s->answer ? s->answer : json_null());
    json_object_set_new(o, "agents", status__agents_json(s));
    if (s->leader != NULL && s->monitor != NULL)
        from = json_pack("{sIss}", "id", (json_int_t)s->leader->id, "api",
                         s->leader->api);
    json_object_set_new(o, "instances_from", from);
    json_object_set(o, "monitor", s->monitor ? s->monitor : json_null());
    json_object_set_new(o, "notes", status__notes_json(s));
    json_dumpf(o, out,
               (compact ? JSON_COMPACT : JSON_INDENT(2)) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(o);
}
