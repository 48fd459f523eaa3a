/* srv.c - endpoints from a DNS SRV record (the seed tool's Kubernetes mode:
 * a headless service's _redis._tcp record lists every pod). */
#include "ctl.h"
#include "rsm/err.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct srv_target {
    unsigned priority;
    struct rsm_addr addr;
};

static bool srv__name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= RSM_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    }
    return true;
}

#ifdef RSM_TEST_FAULTS
/* Tests point the resolver at their own DNS server on loopback:
 * RSM_TEST_DNS_SERVER=127.0.0.1:PORT (IPv4 only). */
static void srv__test_dns_override(res_state st)
{
    const char *v = getenv("RSM_TEST_DNS_SERVER");
    struct rsm_addr a;
    struct in_addr ip;

    if (v == NULL || rsm_addr_parse(v, &a, NULL, 0) != 0 ||
        inet_pton(AF_INET, a.host, &ip) != 1)
        return;
    st->nsaddr_list[0].sin_family = AF_INET;
    st->nsaddr_list[0].sin_addr = ip;
    st->nsaddr_list[0].sin_port = htons(a.port);
    st->nscount = 1;
    st->retry = 1;
}
#endif

/* Read one SRV resource record into *t; 0, 1 to skip it, or RSM_EPARSE. */
static int srv__parse_rr(ns_msg *msg, ns_rr *rr, struct srv_target *t,
                         char *errmsg, size_t errlen)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    char host[NS_MAXDNAME];
    unsigned port;

    if (ns_rr_type(*rr) != ns_t_srv)
        return 1;
    if (ns_rr_rdlen(*rr) < 7)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "short SRV record");
    t->priority = ns_get16(rd);
    port = ns_get16(rd + 4);
    if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), rd + 6, host,
                  sizeof host) < 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "bad SRV target name");
    if (host[0] == '\0' || strcmp(host, ".") == 0)
        return 1; /* "service not available here" */
    if (rsm_addr_set(&t->addr, host, (long)port, errmsg, errlen) != 0)
        return RSM_EPARSE;
    return 0;
}

static int srv__by_priority(const void *a, const void *b)
{
    const struct srv_target *x = a, *y = b;

    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return rsm_addr_compare(&x->addr, &y->addr);
}

/* Parse the answer section into t[], at most max; returns 0 or an error. */
static int srv__parse_answer(const unsigned char *ans, int len,
                             struct srv_target *t, size_t max, size_t *n,
                             char *errmsg, size_t errlen)
{
    ns_msg msg;
    ns_rr rr;
    int rv;

    *n = 0;
    if (ns_initparse(ans, len, &msg) < 0)
        return rsm_errf(RSM_EPARSE, errmsg, errlen, "malformed DNS answer");
    for (int i = 0; i < ns_msg_count(msg, ns_s_an) && *n < max; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return rsm_errf(RSM_EPARSE, errmsg, errlen,
                            "malformed DNS answer record");
        rv = srv__parse_rr(&msg, &rr, &t[*n], errmsg, errlen);
        if (rv == 1)
            continue;
        if (rv != 0)
            return rv;
        bool dup = false;
        for (size_t j = 0; j < *n; j++)
            dup = dup || rsm_addr_equal(&t[j].addr, &t[*n].addr);
        if (!dup)
            (*n)++;
    }
    qsort(t, *n, sizeof *t, srv__by_priority);
    return 0;
}

int rsmctl_srv_lookup(const char *name, struct rsm_addr *out, size_t max,
                      size_t *n, char *errmsg, size_t errlen)
{
    unsigned char ans[NS_MAXMSG];
    struct __res_state st;
    struct srv_target *t = NULL;
    char detail[RSM_ERRMSG_SIZE] = "";
    int len, rv = 0;

    *n = 0;
    if (!srv__name_ok(name))
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "bad SRV name '%s'", name);
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return rsm_errf(RSM_EIO, errmsg, errlen,
                        "SRV %s: cannot set up the resolver", name);
#ifdef RSM_TEST_FAULTS
    srv__test_dns_override(&st);
#endif
    len = res_nquery(&st, name, ns_c_in, ns_t_srv, ans, sizeof ans);
    if (len < 0) {
        rv = rsm_errf(RSM_ENOTFOUND, errmsg, errlen, "SRV %s: %s", name,
                      hstrerror(st.res_h_errno));
        goto out_close;
    }
    t = calloc(max, sizeof *t);
    if (t == NULL) {
        rv = rsm_errf(RSM_ENOMEM, errmsg, errlen, "out of memory");
        goto out_close;
    }
    rv = srv__parse_answer(ans, len, t, max, n, detail, sizeof detail);
    if (rv != 0) {
        rsm_errf(rv, errmsg, errlen, "SRV %s: %s", name, detail);
        goto out_free;
    }
    if (*n == 0) {
        rv = rsm_errf(RSM_ENOTFOUND, errmsg, errlen,
                      "SRV %s: no targets in the answer", name);
        goto out_free;
    }
    for (size_t i = 0; i < *n; i++)
        out[i] = t[i].addr;
out_free:
    free(t);
out_close:
    res_nclose(&st);
    return rv;
}
