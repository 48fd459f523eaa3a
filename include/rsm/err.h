/* err.h - error codes shared by every module.
 *
 * Functions return 0 on success or a positive RSM_E* code. The code says what
 * kind of failure it was; the detail (which address, which field) goes into a
 * message buffer owned by the object or the caller that failed. */
#ifndef RSM_ERR_H
#define RSM_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* Size of every error-message buffer in the project. */
#define RSM_ERRMSG_SIZE 256

enum {
    RSM_OK = 0,
    RSM_ENOMEM = 1,   /* out of memory */
    RSM_EINVAL,       /* invalid argument or input */
    RSM_EPARSE,       /* malformed input (reply, entry, request) */
    RSM_ETRUNC,       /* input ends in the middle of a field */
    RSM_ERANGE,       /* number out of range */
    RSM_ERESOLVE,     /* host name could not be resolved */
    RSM_ECONNECT,     /* connection failed or lost (a refused connect
                         is RSM_EREFUSED) */
    RSM_ETIMEOUT,     /* no answer before the deadline */
    RSM_EPROTO,       /* peer broke the protocol */
    RSM_EREPLY,       /* peer answered with an error reply */
    RSM_EAUTH,        /* authentication refused */
    RSM_ECANCELED,    /* operation canceled by close */
    RSM_ENOTLEADER,   /* request needs the Raft leader */
    RSM_EREJECTED,    /* entry or request rejected by a rule */
    RSM_ENOTFOUND,    /* no such group / member / file */
    RSM_EEXIST,       /* already exists */
    RSM_EBUSY,        /* something is already in progress */
    RSM_ELOCKED,      /* resource locked by another process */
    RSM_EIO,          /* file or system I/O failed */
    RSM_ERAFT,        /* the Raft library failed */
    RSM_ENOCANDIDATE, /* no eligible replica */
    RSM_EREFUSED,     /* connect refused: the host answers, nothing
                         listens on the port (ECONNREFUSED) */
    RSM_E_COUNT
};

/* Static text for a code; never NULL ("unknown error" for bad codes). */
const char *rsm_strerror(int code);

/* printf into an error buffer of size len (NULL buf is allowed: no-op).
 * Returns code, so that `return rsm_errf(code, buf, len, ...)` reads well. */
int rsm_errf(int code, char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* rsm_errf() with a va_list: the one place that fills an error buffer,
 * also for modules whose codes are their own enum (policy, identity). */
int rsm_verrf(int code, char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif /* RSM_ERR_H */
