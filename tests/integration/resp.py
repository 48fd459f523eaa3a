"""resp - the one RESP2 client of the tests and the scripts (stdlib only).

    from resp import Resp, RespError

    with Resp(port) as c:                      # 127.0.0.1, 2 s timeout
        c.call("SET", "k", "v")                # "OK"; an error reply raises
    with Resp(sock=s, password="pw") as c:     # over a socket made elsewhere
        ...                                    # (e.g. inside a namespace)

    c.send("INFO", "replication")              # pipelining: send, then read
    c.send("CONFIG", "GET", "maxmemory")
    info = c.read()
    conf = c.read(raise_errors=False)          # an error reply as a value

Replies: simple strings and bulk strings as str (bulk decoded as UTF-8,
undecodable bytes replaced), integers as int, arrays as lists, null bulk
and null array as None, an error reply as a RespError (raised by read()
and call(), returned as a value by read(raise_errors=False)). A closed
connection or a reply that is not RESP raises ConnectionError (an OSError).

encode_reply() and Status are the other side, for the fake servers of
the tests (fakeredis.py, test_identity.py's fake agent).

Used by tests/integration/rsmtest.py (and through it by the tests),
tests/integration/test_minicluster.py, scripts/chaoslib,
scripts/container-test.py and the benchmarks in scripts/bench/; the
scripts put tests/integration on sys.path to import it.
"""

import socket

HOST = "127.0.0.1"


class RespError(Exception):
    """An error reply (-ERR ...); str(e) is the text after the '-'."""


def encode(*args):
    """A command as RESP: an array of bulk strings (bytes are sent as they
    are, anything else as the UTF-8 of str())."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Status(str):
    """A simple string reply (+OK) for encode_reply(); a plain str is a
    bulk string."""


def encode_reply(value):
    """A reply as a server sends it, for the tests' fake servers: Status ->
    simple string, str or bytes -> bulk string, int -> integer, None ->
    null bulk string, RespError -> error, list or tuple -> array."""
    if isinstance(value, Status):
        return b"+%s\r\n" % value.encode()
    if isinstance(value, RespError):
        return b"-%s\r\n" % str(value).encode()
    if isinstance(value, (str, bytes)):
        b = value.encode() if isinstance(value, str) else value
        return b"$%d\r\n%s\r\n" % (len(b), b)
    if isinstance(value, int):
        return b":%d\r\n" % value
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, (list, tuple)):
        return b"*%d\r\n" % len(value) + b"".join(
            encode_reply(v) for v in value)
    raise TypeError("no RESP reply for %r" % (value,))


def read_reply(f):
    """One reply from a binary file object (socket.makefile("rb")), error
    replies returned as RespError values, also inside arrays."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode(errors="replace")
    if t == b"-":
        return RespError(rest.decode(errors="replace"))
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        if len(data) != n + 2:
            raise ConnectionError("connection closed")
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ConnectionError("bad RESP reply %r" % line)


def first_error(reply):
    """The first RespError in a reply (depth first), or None."""
    if isinstance(reply, RespError):
        return reply
    if isinstance(reply, list):
        for r in reply:
            e = first_error(r)
            if e is not None:
                return e
    return None


class Resp:
    """One connection: to host:port (timeout in seconds, for the connect
    and every read), or over sock, a connected socket that it then owns.
    With a password, AUTH is the first command."""

    def __init__(self, port=None, host=HOST, timeout=2.0, password=None,
                 sock=None):
        if sock is None:
            sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = sock
        self.f = sock.makefile("rb")
        if password is not None:
            try:
                self.call("AUTH", password)
            except BaseException:
                self.close()
                raise

    def close(self):
        for x in (self.f, self.sock):
            try:
                x.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *args):
        """Send one command; its reply is for a later read()."""
        self.sock.sendall(encode(*args))

    def send_many(self, cmds):
        """Send commands (each a sequence of arguments) in one write."""
        self.sock.sendall(b"".join(encode(*c) for c in cmds))

    def read(self, raise_errors=True):
        """The next reply. An error reply, or an array holding one, raises
        RespError once the whole reply is read (the connection stays
        usable); with raise_errors=False it is returned as a value."""
        r = read_reply(self.f)
        if raise_errors:
            e = first_error(r)
            if e is not None:
                raise e
        return r

    def call(self, *args):
        """Send one command and read its reply (an error reply raises)."""
        self.send(*args)
        return self.read()


def call(port, *args, host=HOST, timeout=2.0, password=None):
    """One command on a new connection; the reply."""
    with Resp(port, host=host, timeout=timeout, password=password) as c:
        return c.call(*args)
