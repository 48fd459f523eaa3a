"""A strict check of the Prometheus text exposition format (0.0.4), for the
agent's /metrics.

parse(text) returns {family: Family} or raises FormatError naming the line.
It enforces what Prometheus' own parser needs and a bit more:
  - every line is "# HELP name text", "# TYPE name type", another comment,
    a sample "name{labels} value [timestamp]", or empty; the text ends with
    a newline;
  - metric and label names match the grammar; label values are quoted with
    only \\\\, \\" and \\n escapes; no label twice in one sample;
  - values are floats (or +Inf, -Inf, NaN), timestamps integers;
  - one HELP and one TYPE per family, both before its samples, and all the
    samples of a family together; no series twice;
  - counters are named *_total (and never negative); a histogram has, per
    label set, le-ordered cumulative buckets ending with le="+Inf", whose
    count equals _count, and a _sum.
second_opinion(text) also runs prometheus_client's parser when it is
installed (Debian python3-prometheus-client), else returns None.
"""

import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class FormatError(Exception):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.help = None
        self.type = None
        self.samples = []  # (name, {labels}, value)

    def get(self, name=None, **labels):
        """The value of the one sample with these labels (None if none)."""
        name = name or self.name
        for n, ls, v in self.samples:
            if n == name and all(ls.get(k) == str(x) for k, x in
                                 labels.items()):
                return v
        return None


def _value(s, where):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise FormatError("%s: bad value %r" % (where, s))


def _labels(s, where):
    """Parse 'a="x",b="y"' (the inside of the braces)."""
    out = {}
    i = 0
    while i < len(s):
        m = re.match(r"\s*([^=\s]+)\s*=\s*\"", s[i:])
        if not m:
            raise FormatError("%s: bad label list %r" % (where, s))
        key = m.group(1)
        if not LABEL.match(key):
            raise FormatError("%s: bad label name %r" % (where, key))
        if key in out:
            raise FormatError("%s: label %r twice" % (where, key))
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                raise FormatError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise FormatError("%s: bad escape \\%s" % (where, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise FormatError("%s: newline in label value" % where)
            else:
                val.append(c)
                i += 1
        out[key] = "".join(val)
        rest = s[i:].lstrip()
        if rest.startswith(","):
            i = len(s) - len(rest) + 1
        elif rest == "":
            break
        else:
            raise FormatError("%s: junk after label %r" % (where, key))
    return out


def _family_of(name, families):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[:-len(suffix)]
            f = families.get(base)
            if f is not None and f.type in ("histogram", "summary"):
                return f
    return families.get(name)


def parse(text):
    if text and not text.endswith("\n"):
        raise FormatError("the text does not end with a newline")
    families = {}
    order = []
    seen = set()
    closed = set()
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % no
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    raise FormatError("%s: bad metric name %r" % (where, name))
                f = families.get(name)
                if f is None:
                    f = families[name] = Family(name)
                    order.append(name)
                if f.samples:
                    raise FormatError("%s: %s of %s after its samples" %
                                      (where, parts[1], name))
                if parts[1] == "HELP":
                    if f.help is not None:
                        raise FormatError("%s: second HELP for %s" %
                                          (where, name))
                    f.help = parts[3] if len(parts) > 3 else ""
                else:
                    if f.type is not None:
                        raise FormatError("%s: second TYPE for %s" %
                                          (where, name))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise FormatError("%s: bad TYPE line" % where)
                    f.type = parts[3]
                if current is not None and current is not f:
                    closed.add(current.name)
                current = f
            continue
        m = re.match(r"([^{\s]+)(\{(.*)\})?\s+(\S+)(\s+(-?\d+))?\s*\Z", line)
        if not m:
            raise FormatError("%s: not a sample: %r" % (where, line))
        name = m.group(1)
        if not NAME.match(name):
            raise FormatError("%s: bad metric name %r" % (where, name))
        labels = _labels(m.group(3), where) if m.group(3) else {}
        value = _value(m.group(4), where)
        f = _family_of(name, families)
        if f is None or f.type is None:
            raise FormatError("%s: sample %s without TYPE" % (where, name))
        if f.name in closed or (current is not None and current is not f):
            raise FormatError("%s: samples of %s are not together" %
                              (where, f.name))
        current = f
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise FormatError("%s: series %s%s twice" % (where, name, labels))
        seen.add(key)
        f.samples.append((name, labels, value))
    for name in order:
        _check_family(families[name])
    return families


def _check_family(f):
    if f.type is None:
        raise FormatError("%s: no TYPE" % f.name)
    if f.help is None:
        raise FormatError("%s: no HELP" % f.name)
    if f.type == "counter":
        if not f.name.endswith("_total"):
            raise FormatError("counter %s is not named *_total" % f.name)
        for _, _, v in f.samples:
            if v < 0 or math.isnan(v):
                raise FormatError("counter %s has value %r" % (f.name, v))
    if f.type == "histogram":
        _check_histogram(f)


def _check_histogram(f):
    series = {}
    for name, labels, v in f.samples:
        rest = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
        s = series.setdefault(rest, {"buckets": [], "sum": None,
                                     "count": None})
        if name == f.name + "_bucket":
            if "le" not in labels:
                raise FormatError("%s: bucket without le" % f.name)
            s["buckets"].append((_value(labels["le"], f.name), v))
        elif name == f.name + "_sum":
            s["sum"] = v
        elif name == f.name + "_count":
            s["count"] = v
        else:
            raise FormatError("%s: stray sample %s" % (f.name, name))
    for rest, s in series.items():
        b = s["buckets"]
        if not b or b[-1][0] != math.inf:
            raise FormatError("%s%s: no +Inf bucket last" % (f.name, rest))
        for (le1, c1), (le2, c2) in zip(b, b[1:]):
            if not le1 < le2:
                raise FormatError("%s%s: buckets out of order" %
                                  (f.name, rest))
            if c2 < c1:
                raise FormatError("%s%s: buckets not cumulative" %
                                  (f.name, rest))
        if s["count"] is None or s["sum"] is None:
            raise FormatError("%s%s: no _count or _sum" % (f.name, rest))
        if s["count"] != b[-1][1]:
            raise FormatError("%s%s: _count %r != +Inf bucket %r" %
                              (f.name, rest, s["count"], b[-1][1]))


def second_opinion(text):
    """prometheus_client's parse of text as {name: type}, or None when the
    library is not installed. Raises whatever it raises on bad text."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        # Debian's package lives outside a virtualenv's or pyenv's path.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            from prometheus_client.parser import \
                text_string_to_metric_families
        except ImportError:
            return None
        finally:
            sys.path.remove("/usr/lib/python3/dist-packages")
    out = {}
    for fam in text_string_to_metric_families(text):
        out[fam.name] = fam.type
        for s in fam.samples:
            float(s.value)
    return out
