/* ssl_dl.c - OpenSSL loaded on first use (see ssl_dl.h). */
#define RSM_SSL_DL_IMPL
#include "ssl_dl.h"
#include "rsm/err.h"

#include <dlfcn.h>
#include <string.h>

struct rsm_ssl_api rsm_ssl;

/* Debian 12's libssl3 (OpenSSL 3): the soname this build's headers are
 * for. */
#define RSM_SSL_SONAME "libssl.so.3"

static int ssl_dl__result = -1; /* -1: not tried yet */
static char ssl_dl__error[RSM_ERRMSG_SIZE];

static int ssl_dl__open(void)
{
    void *h = dlopen(RSM_SSL_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (h == NULL)
        return rsm_errf(RSM_EIO, ssl_dl__error, sizeof ssl_dl__error,
                        "TLS needs %s (Debian package libssl3): %s",
                        RSM_SSL_SONAME, dlerror());
#define RSM_SSL_SYM(f)                                                         \
    *(void **)&rsm_ssl.f = dlsym(h, #f);                                       \
    if (rsm_ssl.f == NULL)                                                     \
        return rsm_errf(RSM_EIO, ssl_dl__error, sizeof ssl_dl__error,          \
                        "TLS: %s has no %s", RSM_SSL_SONAME, #f);
    RSM_SSL_FUNCS(RSM_SSL_SYM)
#undef RSM_SSL_SYM
    return 0; /* h stays open for the life of the process */
}

int rsm_ssl_load(char *errmsg, size_t errlen)
{
    if (ssl_dl__result < 0)
        ssl_dl__result = ssl_dl__open();
    if (ssl_dl__result != 0)
        return rsm_errf(ssl_dl__result, errmsg, errlen, "%s", ssl_dl__error);
    return 0;
}
