"""rsmparse - the text formats the tests and scripts read, parsed once:
Redis's INFO replies and the agents' logfmt log lines. Used by
tests/integration (rsmtest, test_agent), scripts/chaoslib and
scripts/bench (which add this folder to sys.path, as for resp.py)."""
import re

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
