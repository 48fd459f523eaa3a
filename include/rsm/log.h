/* log.h - one line per event on stderr, logfmt (default) or JSON.
 *
 *   rsm_log(RSM_LOG_INFO, "promoted-slave", "group=%s addr=%s", g, a);
 * prints
 *   ts=2026-11-26T10:00:00.123Z level=info event=promoted-slave group=...
 * The event name is what operators grep for; the fields are key=value pairs
 * written by the caller (values with spaces must be quoted by the caller with
 * rsm_log_quote). In JSON mode the key=value pairs are converted to JSON
 * members. Never pass a password here. Global state: one logger per process,
 * configured once at start-up. */
#ifndef RSM_LOG_H
#define RSM_LOG_H

#include <stddef.h>

enum rsm_log_level {
    RSM_LOG_DEBUG = 0,
    RSM_LOG_INFO,
    RSM_LOG_WARN,
    RSM_LOG_ERROR,
};

enum rsm_log_format {
    RSM_LOG_LOGFMT = 0,
    RSM_LOG_JSON,
};

/* Configure the process logger (defaults: info, logfmt, stderr). */
void rsm_log_setup(enum rsm_log_level min, enum rsm_log_format fmt);

/* The lowest level logged now, and changing it alone (SENTINEL CONFIG
 * SET loglevel). */
enum rsm_log_level rsm_log_level_get(void);
void rsm_log_level_set(enum rsm_log_level min);

/* Parse "debug|info|warn|error" / "logfmt|json"; 0 or RSM_EINVAL. */
int rsm_log_level_parse(const char *s, enum rsm_log_level *out);
int rsm_log_format_parse(const char *s, enum rsm_log_format *out);

/* Log an event. fields is a printf format producing "k=v k=v" (may be
 * NULL or ""). */
void rsm_log(enum rsm_log_level level, const char *event, const char *fields,
             ...) __attribute__((format(printf, 3, 4)));

/* Quote s for a logfmt value into buf ("a b" -> "\"a b\""); returns buf. */
const char *rsm_log_quote(const char *s, char *buf, size_t len);

#endif /* RSM_LOG_H */
