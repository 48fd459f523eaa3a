"""The summary table, one row per fault type and one for all runs."""

import statistics

from .common import FAULTS


def table(results):
    cols = ("fault", "runs", "failovers", "wrong", "2-master max s",
            "2-writable max s", "acked", "lost async", "lost other", "heal median s",
            "heal max s", "violations")
    rows = []
    for f in FAULTS + ("all",):
        rs = [r for r in results if f == "all" or r["fault"] == f]
        if not rs:
            continue
        heals = [r["heal_s"] for r in rs if r["heal_s"] is not None]
        rows.append((f, len(rs), sum(r["failovers"] for r in rs),
                     sum(r["wrong"] for r in rs),
                     "%.2f" % max(r["two_master_s"] for r in rs),
                     "%.2f" % max(r.get("two_writable_s", 0.0) for r in rs),
                     sum(r["acked"] for r in rs),
                     sum(r["lost_async"] for r in rs),
                     sum(r["lost_other"] for r in rs),
                     "%.2f" % statistics.median(heals) if heals else "-",
                     "%.2f" % max(heals) if heals else "-",
                     sum(1 for r in rs if r["violations"])))
    widths = [max(len(str(x)) for x in col) for col in zip(cols, *rows)]
    lines = ["  ".join(str(c).rjust(w) if k else str(c).ljust(w)
                       for k, (c, w) in enumerate(zip(row, widths)))
             for row in [cols] + rows]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)
