/* addr.c - parse and print "host:port" endpoint addresses. */
#include "rsm/addr.h"
#include "rsm/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Host characters we accept: DNS names, IPv4, IPv6 (inside brackets). */
static bool addr__host_char_ok(char c, bool v6)
{
    if (isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_')
        return true;
    return v6 && (c == ':' || c == '%');
}

static int addr__check_host(const char *host, size_t n, bool v6, char *errmsg,
                            size_t errlen)
{
    if (n == 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty host");
    if (n >= RSM_HOST_MAX)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "host longer than %d characters", RSM_HOST_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        if (!addr__host_char_ok(host[i], v6))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "bad character '%c' in host", host[i]);
    }
    return 0;
}

int rsm_addr_parse_port(const char *s, const char *what, uint16_t *port,
                        char *errmsg, size_t errlen)
{
    long v = 0;

    if (*s == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "missing %s", what);
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p))
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "%s '%s' is not a number", what, s);
        v = v * 10 + (*p - '0');
        if (v > 65535)
            break;
    }
    if (v < 1 || v > 65535)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "%s '%s' out of range 1-65535", what, s);
    *port = (uint16_t)v;
    return 0;
}

int rsm_addr_parse(const char *text, struct rsm_addr *out, char *errmsg,
                   size_t errlen)
{
    const char *host = text, *colon;
    size_t n;
    bool v6 = false;
    uint16_t port = 0;
    int rv;

    if (text == NULL || *text == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty address");
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "'%s': expected [ipv6]:port", text);
        host = text + 1;
        n = (size_t)(close - host);
        colon = close + 1;
        v6 = true;
        /* Only IPv6 needs brackets, and rsm_addr_format() writes them only
         * for a host with a ':': "[a%b]:1" would come back as "a%b:1". */
        if (n > 0 && memchr(host, ':', n) == NULL)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "'%s': brackets are only for IPv6 addresses", text);
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "'%s': expected host:port", text);
        n = (size_t)(colon - text);
        if (memchr(text, ':', n) != NULL)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "'%s': IPv6 addresses need brackets", text);
    }
    rv = addr__check_host(host, n, v6, errmsg, errlen);
    if (rv != 0)
        return rv;
    rv = rsm_addr_parse_port(colon + 1, "port", &port, errmsg, errlen);
    if (rv != 0)
        return rv;
    memcpy(out->host, host, n);
    out->host[n] = '\0';
    out->port = port;
    return 0;
}

int rsm_addr_set(struct rsm_addr *out, const char *host, long port,
                 char *errmsg, size_t errlen)
{
    size_t n = host ? strlen(host) : 0;
    int rv = addr__check_host(host, n, strchr(host ? host : "", ':') != NULL,
                              errmsg, errlen);

    if (rv != 0)
        return rv;
    if (port < 1 || port > 65535)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "port %ld out of range 1-65535", port);
    memcpy(out->host, host, n + 1);
    out->port = (uint16_t)port;
    return 0;
}

char *rsm_addr_format(const struct rsm_addr *a, char *buf, size_t len)
{
    if (strchr(a->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%u", a->host, a->port);
    else
        snprintf(buf, len, "%s:%u", a->host, a->port);
    return buf;
}

bool rsm_addr_equal(const struct rsm_addr *a, const struct rsm_addr *b)
{
    return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

int rsm_addr_compare(const struct rsm_addr *a, const struct rsm_addr *b)
{
    int c = strcasecmp(a->host, b->host);

    if (c != 0)
        return c < 0 ? -1 : 1;
    return a->port < b->port ? -1 : a->port > b->port ? 1 : 0;
}

bool rsm_addr_is_set(const struct rsm_addr *a)
{
    return a->port != 0 && a->host[0] != '\0';
}

const char *rsm_addr_format_or(const struct rsm_addr *a, char *buf, size_t len,
                               const char *unset)
{
    if (!rsm_addr_is_set(a))
        return unset;
    return rsm_addr_format(a, buf, len);
}

int rsm_member_id_parse(const char *s, size_t n, uint64_t *id)
{
    uint64_t v = 0;

    if (n == 0)
        return RSM_EINVAL;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');

        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
            return RSM_EINVAL;
        v = v * 10 + d;
    }
    if (v == 0)
        return RSM_EINVAL;
    *id = v;
    return 0;
}
