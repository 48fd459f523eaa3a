/* node_peers.c - member addresses of the Raft node (node.h): the peer list
 * of --peers ("1=host:port[/api],...") and one member's address as it is
 * stored in the Raft configuration ("host:raftport[/apiport]"). */
#include "node_int.h"
#include "rsm/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int rsm_node_parse_member_addr(const char *text, uint16_t default_api_port,
                               struct rsm_member *m, char *errmsg,
                               size_t errlen)
{
    char buf[MEMBER_STRLEN];
    struct rsm_addr raft;
    uint16_t api = default_api_port;
    char *slash;
    int rv;

    if (text == NULL || *text == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty address");
    if (strlen(text) >= sizeof buf)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "address too long");
    memcpy(buf, text, strlen(text) + 1);
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        rv = rsm_addr_parse_port(slash + 1, "API port", &api, errmsg, errlen);
        if (rv != 0)
            return rv;
    }
    rv = rsm_addr_parse(buf, &raft, errmsg, errlen);
    if (rv != 0)
        return rv;
    m->raft = raft;
    m->api = raft;
    m->api.port = api;
    m->api_given = slash != NULL;
    m->voter = true;
    return 0;
}

char *rsm_node_format_member(const struct rsm_member *m, char *buf, size_t len)
{
    char raft[RSM_ADDR_STRLEN];

    rsm_addr_format(&m->raft, raft, sizeof raft);
    if (m->api_given)
        snprintf(buf, len, "%s/%u", raft, (unsigned)m->api.port);
    else
        snprintf(buf, len, "%s", raft);
    return buf;
}

/* Parse "id=addr" (already trimmed, NUL-terminated) into *m. */
static int node__parse_peer_item(const char *item, uint16_t default_api_port,
                                 struct rsm_member *m, char *errmsg,
                                 size_t errlen)
{
    const char *eq = strchr(item, '=');
    char why[RSM_ERRMSG_SIZE];

    if (eq == NULL)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        "peer '%s': expected id=host:port[/apiport]", item);
    size_t idlen = (size_t)(eq - item);

    if (rsm_member_id_parse(item, idlen, &m->id) != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen,
                        idlen > 0 && strspn(item, "0") == idlen
                            ? "peer '%s': id 0 is not allowed"
                            : "peer '%s': id must be a positive number",
                        item);
    if (rsm_node_parse_member_addr(eq + 1, default_api_port, m, why,
                                   sizeof why) != 0)
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "peer '%s': %s", item, why);
    return 0;
}

static int node__check_unique(const struct rsm_member *peers, unsigned n,
                              char *errmsg, size_t errlen)
{
    char a[RSM_ADDR_STRLEN];

    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = 0; j < i; j++) {
            if (peers[i].id == peers[j].id)
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "duplicate peer id %llu",
                                (unsigned long long)peers[i].id);
            if (rsm_addr_equal(&peers[i].raft, &peers[j].raft))
                return rsm_errf(RSM_EINVAL, errmsg, errlen,
                                "peers %llu and %llu have the same address %s",
                                (unsigned long long)peers[j].id,
                                (unsigned long long)peers[i].id,
                                rsm_addr_format(&peers[i].raft, a, sizeof a));
        }
    }
    return 0;
}

int rsm_node_parse_peers(const char *text, uint16_t default_api_port,
                         struct rsm_node_config *cfg, char *errmsg,
                         size_t errlen)
{
    struct rsm_member peers[RSM_MAX_AGENTS];
    char item[MEMBER_STRLEN + 24];
    unsigned n = 0, pos = 0;
    const char *p = text;
    int rv;

    if (text == NULL || *text == '\0')
        return rsm_errf(RSM_EINVAL, errmsg, errlen, "empty peer list");
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        pos++;
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == 0)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "empty peer at position %u", pos);
        if (len >= sizeof item)
            return rsm_errf(RSM_EINVAL, errmsg, errlen,
                            "peer at position %u is too long", pos);
        if (n == RSM_MAX_AGENTS)
            return rsm_errf(RSM_EINVAL, errmsg, errlen, "more than %d peers",
                            RSM_MAX_AGENTS);
        memcpy(item, p, len);
        item[len] = '\0';
        rv = node__parse_peer_item(item, default_api_port, &peers[n], errmsg,
                                   errlen);
        if (rv != 0)
            return rv;
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    rv = node__check_unique(peers, n, errmsg, errlen);
    if (rv != 0)
        return rv;
    memcpy(cfg->peers, peers, n * sizeof peers[0]);
    cfg->n_peers = n;
    return 0;
}
