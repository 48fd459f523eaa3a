/* err.c - the code -> text table. */
#include "rsm/err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const messages[RSM_E_COUNT] = {
    [RSM_OK] = "success",
    [RSM_ENOMEM] = "out of memory",
    [RSM_EINVAL] = "invalid argument",
    [RSM_EPARSE] = "malformed input",
    [RSM_ETRUNC] = "truncated input",
    [RSM_ERANGE] = "number out of range",
    [RSM_ERESOLVE] = "host name not resolved",
    [RSM_ECONNECT] = "connection failed",
    [RSM_ETIMEOUT] = "timed out",
    [RSM_EPROTO] = "protocol error",
    [RSM_EREPLY] = "error reply",
    [RSM_EAUTH] = "authentication failed",
    [RSM_ECANCELED] = "canceled",
    [RSM_ENOTLEADER] = "not the leader",
    [RSM_EREJECTED] = "rejected",
    [RSM_ENOTFOUND] = "not found",
    [RSM_EEXIST] = "already exists",
    [RSM_EBUSY] = "busy",
    [RSM_ELOCKED] = "locked by another process",
    [RSM_EIO] = "I/O error",
    [RSM_ERAFT] = "raft error",
    [RSM_ENOCANDIDATE] = "no eligible candidate",
    [RSM_EREFUSED] = "connection refused",
};

const char *rsm_strerror(int code)
{
    if (code < 0 || code >= RSM_E_COUNT || messages[code] == NULL)
        return "unknown error";
    return messages[code];
}

int rsm_verrf(int code, char *buf, size_t len, const char *fmt, va_list ap)
{
    if (buf == NULL || len == 0)
        return code;
    vsnprintf(buf, len, fmt, ap);
    return code;
}

int rsm_errf(int code, char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rsm_verrf(code, buf, len, fmt, ap);
    va_end(ap);
    return code;
}
