/* tlsflags.c - rsmctl's TLS flags and their client context (see
 * tlsflags.h). */
#include "tlsflags.h"

#include "rsm/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tlsflags_option(struct tlsflags *t, int c, const char *arg)
{
    switch (c) {
    case TLSFLAGS_OPT_TLS:
        t->on = true;
        return 0;
    case TLSFLAGS_OPT_CACERT:
        t->cacert = arg;
        break;
    case TLSFLAGS_OPT_CERT:
        t->cert = arg;
        break;
    case TLSFLAGS_OPT_KEY:
        t->key = arg;
        break;
    default:
        return RSM_ENOTFOUND;
    }
    t->file_flag = true;
    return 0;
}

/* name's value if set and not empty, else NULL. */
static const char *tlsflags__env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* RSM_TLS: 1/true/yes/on or 0/false/no/off (unset or empty: off). */
static int tlsflags__env_on(bool *on, char *errmsg, size_t errlen)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    const char *v = tlsflags__env("RSM_TLS");

    if (v == NULL)
        return 0;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v, yes[i]) == 0) {
            *on = true;
            return 0;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return rsm_errf(RSM_EINVAL, errmsg, errlen,
                    "RSM_TLS: '%s' is not a boolean (1/0, true/false, "
                    "yes/no, on/off)",
                    v);
}

int tlsflags_finish(struct tlsflags *t, char *errmsg, size_t errlen)
{
    struct rsm_tls_config cfg;
    char err[RSM_ERRMSG_SIZE];
    int rv = 0;

    if (!t->on)
        rv = tlsflags__env_on(&t->on, errmsg, errlen);
    if (rv != 0)
        return rv;
    if (!t->on && t->file_flag)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "--cacert, --cert and --key need --tls");
    if (!t->on)
        return 0;
    if (t->cacert == NULL)
        t->cacert = tlsflags__env("RSM_TLS_CACERT");
    if (t->cert == NULL)
        t->cert = tlsflags__env("RSM_TLS_CERT");
    if (t->key == NULL)
        t->key = tlsflags__env("RSM_TLS_KEY");
    memset(&cfg, 0, sizeof cfg);
    cfg.side = RSM_TLS_CLIENT;
    cfg.cert_file = t->cert;
    cfg.key_file = t->key;
    cfg.ca_file = t->cacert;
    rv = rsm_tls_create(&cfg, &t->ctx, err, sizeof err);
    if (rv != 0)
        return rsm_errf(rv, errmsg, errlen, "%s",
                        err[0] ? err : rsm_strerror(rv));
    return 0;
}

void tlsflags_free(struct tlsflags *t)
{
    rsm_tls_free(t->ctx);
    t->ctx = NULL;
}
