/* tlsctx.c - rsm-agent's TLS contexts (rsm/tls.h): which ones the flags
 * need, which subsystem gets which, and their reload on SIGHUP.
 *
 *   server       --tls-api (client port), --tls-http (HTTP port): clients
 *                verified as --tls-auth-clients says
 *   raft-server  --tls-raft, incoming Raft connections: a certificate is
 *                required
 *   client       --tls-redis (links to Redis), --tls-raft (outgoing Raft
 *                connections)
 *
 * All are made of the same files (--tls-cert-file, --tls-key-file, the
 * CAs, --tls-protocols, --tls-ciphersuites). OpenSSL is loaded only when
 * a context is made, so an agent without TLS never maps it. A context is
 * only referred to by the subsystems' configs; sessions hold their own
 * reference to the SSL_CTX, so a reload never breaks a live connection. */
#include "agent.h"
#include "rsm/err.h"

#include <stdio.h>

/* One context of the agent, for the loops below. */
struct agent_tls_slot {
    const char *name; /* in the logs: context=<name> */
    struct rsm_tls **ctx;
};

static void agent__tls_slots(struct agent *a, struct agent_tls_slot out[3])
{
    out[0] = (struct agent_tls_slot){"server", &a->tls_server};
    out[1] = (struct agent_tls_slot){"raft-server", &a->tls_raft_server};
    out[2] = (struct agent_tls_slot){"client", &a->tls_client};
}

/* A context of a->set.tls's files for side/auth; logs start-failed with
 * the reason (which names the file) if it cannot be made. */
static int agent__tls_make(struct agent *a, const char *name,
                           enum rsm_tls_side side,
                           enum rsm_tls_auth_clients auth, struct rsm_tls **out)
{
    struct rsm_tls_config cfg = a->set.tls;
    char err[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE];
    int rv;

    cfg.side = side;
    cfg.auth_clients = auth;
    rv = rsm_tls_create(&cfg, out, err, sizeof err);
    if (rv != 0)
        rsm_log(RSM_LOG_ERROR, "start-failed", "context=%s error=%s detail=%s",
                name, rsm_log_quote(rsm_strerror(rv), q, sizeof q / 2),
                rsm_log_quote(err, q + sizeof q / 2, sizeof q / 2));
    return rv;
}

int agent_tls_create(struct agent *a)
{
    struct settings *s = &a->set;
    int rv = 0;

    /* the server contexts first: a TLS port without a certificate is the
     * likeliest mistake, and theirs is the message that says so */
    if (s->tls_api || s->tls_http)
        rv = agent__tls_make(a, "server", RSM_TLS_SERVER, s->tls.auth_clients,
                             &a->tls_server);
    if (rv == 0 && s->tls_raft)
        rv = agent__tls_make(a, "raft-server", RSM_TLS_SERVER, RSM_TLS_AUTH_YES,
                             &a->tls_raft_server);
    if (rv == 0 && (s->tls_redis || s->tls_raft || s->tls_api))
        rv = agent__tls_make(a, "client", RSM_TLS_CLIENT, RSM_TLS_AUTH_YES,
                             &a->tls_client);
    if (rv != 0) {
        agent_tls_free(a);
        return rv;
    }
    if (s->tls_redis)
        s->mon.redis_tls = a->tls_client;
    if (s->tls_api) {
        s->api.limits.tls = a->tls_server; /* limits_set by settings.c */
        /* the agents' own links to each other's client ports */
        s->mon.agent_tls = a->tls_client;
        s->adv.agent_tls = a->tls_client;
    }
    if (s->tls_raft) {
        s->node.raft_tls_server = a->tls_raft_server;
        s->node.raft_tls_client = a->tls_client;
    }
    /* --tls-http: main.c's agent__start_http() reads a->tls_server */
    return 0;
}

void agent_tls_reload(struct agent *a)
{
    struct agent_tls_slot slots[3];
    char err[RSM_ERRMSG_SIZE], q[2 * RSM_ERRMSG_SIZE];
    bool any = false;

    agent__tls_slots(a, slots);
    for (int i = 0; i < 3; i++) {
        if (*slots[i].ctx == NULL)
            continue;
        any = true;
        if (rsm_tls_reload(*slots[i].ctx, err, sizeof err) != 0) {
            rsm_log(RSM_LOG_ERROR, "tls-reload-failed",
                    "context=%s error=%s kept=old", slots[i].name,
                    rsm_log_quote(err, q, sizeof q));
            continue;
        }
        rsm_log(RSM_LOG_INFO, "tls-reloaded", "context=%s cert_file=%s",
                slots[i].name,
                rsm_log_quote(a->set.tls.cert_file ? a->set.tls.cert_file : "",
                              q, sizeof q));
    }
    if (!any)
        rsm_log(RSM_LOG_INFO, "tls-reload-skipped", "reason=%s",
                rsm_log_quote("no TLS in use", q, sizeof q));
}

void agent_tls_free(struct agent *a)
{
    struct agent_tls_slot slots[3];

    agent__tls_slots(a, slots);
    for (int i = 0; i < 3; i++) {
        rsm_tls_free(*slots[i].ctx);
        *slots[i].ctx = NULL;
    }
}
