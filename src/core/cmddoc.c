/* cmddoc.c - one sentence per command of the client port (see cmddoc.h).
 * Keep it in step with the command table of src/api/api.c: test_cmddoc
 * checks that every command listed by COMMAND LIST has a doc here. */
#include "rsm/cmddoc.h"

#include <stddef.h>
#include <strings.h>

#define OURS RSM_CMDDOC_SINCE_OURS

static const struct rsm_cmddoc docs[] = {
    /* connection */
    {"auth", "Authenticate the connection (with --requirepass-file).", "1.0.0",
     "O(1)"},
    {"hello", "Handshake: the connection's properties, protocol 2 only.",
     "6.0.0", "O(1)"},
    {"ping", "Answer PONG, or the message given.", "1.0.0", "O(1)"},
    {"quit", "Close the connection after the reply.", "1.0.0", "O(1)"},
    {"reset", "Forget the connection's subscriptions, name and login.", "6.2.0",
     "O(1)"},
    {"client", "Commands about the client connection.", "2.4.0", NULL},
    {"client|setname", "Name the connection.", "2.6.9", "O(1)"},
    {"client|getname", "The connection's name, nil if none.", "2.6.9", "O(1)"},
    {"client|id", "The connection's id.", "5.0.0", "O(1)"},
    {"client|setinfo", "Take a client library's name or version (ignored).",
     "7.2.0", "O(1)"},
    {"client|help", "List the CLIENT subcommands.", "5.0.0", "O(1)"},
    {"command", "Describe the commands of this port.", "2.8.13",
     "O(N) where N is the number of commands"},
    {"command|count", "How many commands this port has.", "2.8.13", "O(1)"},
    {"command|list", "The names of every command and subcommand.", "7.0.0",
     "O(N) where N is the number of commands"},
    {"command|docs", "What the commands named (or all of them) do.", "7.0.0",
     "O(N) where N is the number of commands asked"},
    {"command|info", "Arity and flags of the commands named (or all).",
     "2.8.13", "O(N) where N is the number of commands asked"},
    {"command|help", "List the COMMAND subcommands.", "5.0.0", "O(1)"},
    /* introspection */
    {"info", "The agent's state as key:value lines, by section.", "1.0.0",
     "O(1)"},
    {"role", "'sentinel' and the names of the groups watched.", "2.8.12",
     "O(1)"},
    /* pub/sub */
    {"subscribe", "Receive the events published on the channels named.",
     "2.0.0", "O(N) where N is the number of channels"},
    {"unsubscribe", "Stop receiving from the channels named (or all).", "2.0.0",
     "O(N) where N is the number of channels"},
    {"psubscribe", "Receive the events of channels matching the patterns.",
     "2.0.0", "O(N) where N is the number of patterns"},
    {"punsubscribe", "Stop receiving from the patterns named (or all).",
     "2.0.0", "O(N) where N is the number of patterns"},
    /* Sentinel */
    {"sentinel",
     "Sentinel's commands: masters, replicas, agents, failover "
     "and settings.",
     "2.8.4", "Depends on subcommand."},
    {"sentinel|get-master-addr-by-name",
     "IP and port of the master clients should use for the group.", "2.8.4",
     "O(1)"},
    {"sentinel|masters", "Every group's master and its state.", "2.8.4",
     "O(N) where N is the number of groups"},
    {"sentinel|master", "The state of one group's master.", "2.8.4", "O(1)"},
    {"sentinel|replicas", "The replicas of a group's master and their state.",
     "5.0.0", "O(N) where N is the number of replicas"},
    {"sentinel|slaves", "Old name of SENTINEL REPLICAS.", "2.8.0",
     "O(N) where N is the number of replicas"},
    {"sentinel|sentinels", "The other agents of the Raft group.", "2.8.4",
     "O(N) where N is the number of agents"},
    {"sentinel|myid", "This agent's Sentinel run id.", "6.2.0", "O(1)"},
    {"sentinel|ckquorum",
     "Whether the agents can reach the quorum and elect a leader.", "2.8.4",
     "O(1)"},
    {"sentinel|failover",
     "Fail the group over now (a follower sends it on to the leader).", "2.8.4",
     "O(1)"},
    {"sentinel|set",
     "Change a group's down-after-milliseconds, quorum, failover-timeout or "
     "parallel-syncs, through the log.",
     "2.8.4", "O(1)"},
    {"sentinel|reset",
     "Drop what the leader learnt of the matching groups' instances; "
     "returns how many groups matched.",
     "2.8.4", "O(N) where N is the number of groups"},
    {"sentinel|config",
     "Show global settings matching a pattern (GET) or change one (SET).",
     "6.2.0", "O(1)"},
    {"sentinel|monitor",
     "Start watching a new group whose master is at ip:port, through the "
     "log (a follower sends it on to the leader).",
     "2.8.4", "O(1)"},
    {"sentinel|remove",
     "Stop watching a group, through the log (a follower sends it on to "
     "the leader).",
     "2.8.4", "O(1)"},
    {"sentinel|help", "List the SENTINEL subcommands.", "6.2.0", "O(1)"},
    /* ours */
    {"rsm", "The agent's own commands.", OURS, "Depends on subcommand."},
    {"rsm|status", "The agent's whole state as JSON.", OURS, NULL},
    {"rsm|members", "The agents of the Raft group.", OURS, NULL},
    {"rsm|member|add", "Add an agent to the Raft group (leader only).", OURS,
     NULL},
    {"rsm|member|remove", "Remove an agent from the Raft group (leader only).",
     OURS, NULL},
    {"rsm|views", "This agent's view of each master, for the leader's quorum.",
     OURS, NULL},
    {"rsm|leaderview",
     "The acting leader's view of the instances, pushed to "
     "the other agents.",
     OURS, NULL},
    {"rsm|advertise",
     "Where an agent's client and HTTP ports are (leader only).", OURS, NULL},
    {"rsm|history", "Past failovers of a group or of all.", OURS, NULL},
    {"rsm|pause", "No automatic failover of a group (leader only).", OURS,
     NULL},
    {"rsm|resume", "Automatic failover of a group again (leader only).", OURS,
     NULL},
    {"rsm|failover",
     "Manual failover; FORCE may promote a replica that never synced.", OURS,
     NULL},
    {"rsm|switchover", "Planned failover that loses no write (leader only).",
     OURS, NULL},
    {"rsm|help", "List the RSM subcommands.", OURS, NULL},
};

const struct rsm_cmddoc *rsm_cmddoc_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        if (strcasecmp(docs[i].name, name) == 0)
            return &docs[i];
    }
    return NULL;
}
