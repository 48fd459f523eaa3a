"""rsmparse - what the tests and the scripts both read, written once:
Redis's INFO replies, the agents' logfmt log lines, and the poll loop that
waits for either. Used by tests/integration (rsmtest, test_agent),
scripts/chaoslib and scripts/bench (which add this folder to sys.path, as
for resp.py)."""
import re
import time

from resp import RespError

_LOGFMT_FIELD = re.compile(r'([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_info(text):
    """An INFO reply as {field: value} (section headers and blank lines
    skipped; None or "" give {})."""
    out = {}
    for line in (text or "").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


def parse_logfmt(line):
    """One logfmt log line of an agent as a dict ({} unless it has an
    `event` field). Quoted values are unescaped."""
    out = {}
    for k, v in _LOGFMT_FIELD.findall(line):
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[k] = v
    return out if "event" in out else {}


def poll(pred, timeout, what, interval=0.05, error=AssertionError):
    """pred()'s first true value, polled every interval s; connection and
    RESP errors count as "not yet". After timeout s, raise error naming
    what and the last value (or error) seen."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, ConnectionError, RespError) as e:
            last = e
        time.sleep(interval)
    raise error("timed out waiting for %s (last: %r)" % (what, last))
