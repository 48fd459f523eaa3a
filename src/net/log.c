/* log.c - the process logger: logfmt or JSON lines on stderr. */
#include "rsm/log.h"
#include "rsm/clock.h"
#include "rsm/err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static enum rsm_log_level min_level = RSM_LOG_INFO;
static enum rsm_log_format format = RSM_LOG_LOGFMT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void rsm_log_setup(enum rsm_log_level min, enum rsm_log_format fmt)
{
    min_level = min;
    format = fmt;
}

enum rsm_log_level rsm_log_level_get(void)
{
    return min_level;
}

void rsm_log_level_set(enum rsm_log_level min)
{
    min_level = min;
}

int rsm_log_level_parse(const char *s, enum rsm_log_level *out)
{
    for (int i = 0; i <= RSM_LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum rsm_log_level)i;
            return 0;
        }
    }
    return RSM_EINVAL;
}

int rsm_log_format_parse(const char *s, enum rsm_log_format *out)
{
    if (strcmp(s, "logfmt") == 0)
        *out = RSM_LOG_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *out = RSM_LOG_JSON;
    else
        return RSM_EINVAL;
    return 0;
}

/* Append s to out as a JSON string body (no quotes). */
static void log__json_escape(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

/* Convert "k=v k2=\"a b\"" to ,"k":"v","k2":"a b" on out. */
static void log__fields_to_json(FILE *out, const char *p)
{
    while (*p) {
        while (*p == ' ')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t klen = (size_t)(p - key);
        if (klen == 0)
            break;
        fputs(",\"", out);
        log__json_escape(out, key, klen);
        fputs("\":\"", out);
        if (*p == '=') {
            p++;
            if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    log__json_escape(out, p, 1);
                    p++;
                }
                if (*p == '"')
                    p++;
            } else {
                const char *v = p;
                while (*p && *p != ' ')
                    p++;
                log__json_escape(out, v, (size_t)(p - v));
            }
        }
        fputc('"', out);
    }
}

void rsm_log(enum rsm_log_level level, const char *event, const char *fields,
             ...)
{
    char ts[40], body[2048] = "";
    va_list ap;

    if (level < min_level)
        return;
    rsm_clock_wall_format(ts, sizeof ts, true, "%Y-%m-%dT%H:%M:%S", "Z");
    if (fields != NULL && *fields) {
        va_start(ap, fields);
        vsnprintf(body, sizeof body, fields, ap);
        va_end(ap);
    }
    flockfile(stderr);
    if (format == RSM_LOG_JSON) {
        fprintf(stderr, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"", ts,
                level_names[level]);
        log__json_escape(stderr, event, strlen(event));
        fputc('"', stderr);
        log__fields_to_json(stderr, body);
        fputs("}\n", stderr);
    } else {
        fprintf(stderr, "ts=%s level=%s event=%s%s%s\n", ts, level_names[level],
                event, *body ? " " : "", body);
    }
    funlockfile(stderr);
    fflush(stderr);
}

const char *rsm_log_quote(const char *s, char *buf, size_t len)
{
    bool plain = *s != '\0';
    size_t o = 0;

    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
            (unsigned char)*p < 0x20)
            plain = false;
    }
    if (plain) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    if (len < 3) {
        if (len)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (const char *p = s; *p && o + 3 < len; p++) {
        if (*p == '"' || *p == '\\')
            buf[o++] = '\\';
        buf[o++] = ((unsigned char)*p < 0x20) ? ' ' : *p;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
