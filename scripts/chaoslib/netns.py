"""Network namespaces: one per node plus a hub namespace that holds the
bridge (Net), faults on their links (nftables cuts, tc slow links), and
sockets made inside a namespace.

A socket inside a namespace: setns() for the calling thread only, connect,
come back. The socket stays in the namespace it was made in.
"""

import ctypes
import os
import socket
import threading

from resp import Resp

from .common import IP, PREFIX, ip_of, sh

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_ROOT_NS = None  # set by remember_root_ns()
_ns_fds = {}
_ns_lock = threading.Lock()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def ns_connect(ns, host, port, timeout):
    with _ns_lock:
        fd = _ns_fds.get(ns)
        if fd is None:
            fd = _ns_fds[ns] = os.open("/run/netns/" + ns, os.O_RDONLY)
    _setns(fd)
    try:
        return socket.create_connection((host, port), timeout=timeout)
    finally:
        try:
            _setns(_ROOT_NS)
        except OSError:
            os._exit(3)  # a thread stuck in a test namespace: stop at once


def ns_forget(names):
    with _ns_lock:
        for n in names:
            fd = _ns_fds.pop(n, None)
            if fd is not None:
                os.close(fd)


def remember_root_ns():
    """Remember the namespace the suite runs in (the one every thread
    returns to after a connect). Call once, before any dial()."""
    global _ROOT_NS
    _ROOT_NS = os.open("/proc/thread-self/ns/net", os.O_RDONLY)


def dial(ns, host, port, timeout=0.5):
    """A RESP connection to host:port made inside namespace ns."""
    return Resp(sock=ns_connect(ns, host, port, timeout))


class Net:
    """A hub namespace with the bridge, one namespace per node (named after
    the run's tag), joined by veth pairs."""

    def __init__(self, tag):
        self.hub = "%s-%s-hub" % (PREFIX, tag)
        self.ns = {n: "%s-%s-%s" % (PREFIX, tag, n) for n in IP}
        self.made = []
        self.slowed = []

    def up(self):
        sh("ip", "netns", "add", self.hub)
        self.made.append(self.hub)
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for node, ns in self.ns.items():
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.hub, "link", "add", "v" + node, "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.hub, "link", "set", "v" + node, "master", "br0")
            sh("ip", "-n", self.hub, "link", "set", "v" + node, "up")
            sh("ip", "-n", ns, "addr", "add", ip_of(node) + "/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def down(self):
        ns_forget(self.made)
        for ns in reversed(self.made):
            sh("ip", "netns", "del", ns, check=False)
        self.made = []

    def cut(self, node, others, table="cut"):
        """Drop every packet between node and the nodes in others, inside
        node's namespace (both directions: nothing in, nothing out)."""
        ips = ", ".join(ip_of(o) for o in others)
        rules = ("table inet chaos_%s {\n"
                 " chain in {\n  type filter hook input priority 0;\n"
                 "  ip saddr { %s } drop\n }\n"
                 " chain out {\n  type filter hook output priority 0;\n"
                 "  ip daddr { %s } drop\n }\n}\n") % (table, ips, ips)
        sh("ip", "netns", "exec", self.ns[node], "nft", "-f", "-", input=rules)

    def isolate(self, node, table="iso"):
        rules = ("table inet chaos_%s {\n"
                 " chain in {\n  type filter hook input priority 0;\n"
                 "  iifname != \"lo\" drop\n }\n"
                 " chain out {\n  type filter hook output priority 0;\n"
                 "  oifname != \"lo\" drop\n }\n}\n") % table
        sh("ip", "netns", "exec", self.ns[node], "nft", "-f", "-", input=rules)

    def heal(self, node, table):
        sh("ip", "netns", "exec", self.ns[node], "nft", "delete", "table",
           "inet", "chaos_" + table, check=False)

    def slow(self, node, spec):
        sh("ip", "netns", "exec", self.ns[node], "tc", "qdisc", "add", "dev",
           "eth0", "root", *spec)
        self.slowed.append(node)

    def unslow(self):
        for node in self.slowed:
            sh("ip", "netns", "exec", self.ns[node], "tc", "qdisc", "del",
               "dev", "eth0", "root", check=False)
        self.slowed = []


def netem_available(ns):
    p = sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo",
           "root", "netem", "delay", "1ms", check=False)
    if p.returncode == 0:
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "lo",
           "root", check=False)
    return p.returncode == 0
