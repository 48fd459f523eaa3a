/* identity.c - checking the identity an agent's answer claims. */
#include "rsm/identity.h"
#include "rsm/err.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum rsm_identity_verdict identity__say(enum rsm_identity_verdict v,
                                               char *why, size_t len,
                                               const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum rsm_identity_verdict identity__say(enum rsm_identity_verdict v,
                                               char *why, size_t len,
                                               const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rsm_verrf((int)v, why, len, fmt, ap);
    va_end(ap);
    return v;
}

enum rsm_identity_verdict
rsm_identity_check(const struct rsm_identity_claim *claim, uint64_t asked,
                   uint64_t self, const char *cluster, char *why, size_t len)
{
    const char *theirs = claim->cluster_id ? claim->cluster_id : "";

    if (why != NULL && len > 0)
        why[0] = '\0';
    if (claim->agent_id == 0)
        return identity__say(
            RSM_IDENTITY_MISSING, why, len,
            "the answer names no agent id (an agent older than "
            "identities, or not an agent)");
    if (claim->agent_id == self && asked != self)
        return identity__say(RSM_IDENTITY_SELF, why, len,
                             "answered as agent %" PRIu64
                             " (this agent): the address "
                             "of agent %" PRIu64 " points here",
                             self, asked);
    if (claim->agent_id != asked)
        return identity__say(RSM_IDENTITY_OTHER_AGENT, why, len,
                             "answered as agent %" PRIu64 ", not agent %" PRIu64
                             ": its address points at another member",
                             claim->agent_id, asked);
    if (cluster[0] != '\0' && theirs[0] != '\0' && strcmp(cluster, theirs) != 0)
        return identity__say(RSM_IDENTITY_OTHER_CLUSTER, why, len,
                             "agent %" PRIu64
                             " belongs to cluster %.40s, this group "
                             "is %s",
                             asked, theirs, cluster);
    return RSM_IDENTITY_OK;
}

enum rsm_identity_verdict
rsm_identity_check_addr(const struct rsm_addr *peer, uint64_t asked,
                        const struct rsm_addr *self_api, char *why, size_t len)
{
    char a[RSM_ADDR_STRLEN];

    if (why != NULL && len > 0)
        why[0] = '\0';
    if (self_api->port == 0 || !rsm_addr_equal(peer, self_api))
        return RSM_IDENTITY_OK;
    return identity__say(RSM_IDENTITY_ADDR_IS_SELF, why, len,
                         "the client address of agent %" PRIu64 " (%s) is this "
                         "agent's own",
                         asked, rsm_addr_format(peer, a, sizeof a));
}

const char *rsm_identity_verdict_str(enum rsm_identity_verdict v)
{
    switch (v) {
    case RSM_IDENTITY_OK:
        return "ok";
    case RSM_IDENTITY_MISSING:
        return "missing";
    case RSM_IDENTITY_SELF:
        return "self";
    case RSM_IDENTITY_OTHER_AGENT:
        return "other-agent";
    case RSM_IDENTITY_OTHER_CLUSTER:
        return "other-cluster";
    case RSM_IDENTITY_ADDR_IS_SELF:
        return "address-is-self";
    }
    return "unknown";
}
