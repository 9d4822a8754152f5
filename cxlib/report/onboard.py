"""``make check CLIENT=x``: every problem of a client's params and files at once, and the plan.

Runs what a report run does before its notebooks (params, every table, the period, the names in
params, the plan) and prints all of it: the problems (file, column, rows, fix), the warnings the
report will state, what the report will contain and what it will leave out, with what each
missing part would need.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cxlib.exceptions import ReportError


def check_client(client: str, period: str | None = None) -> tuple[bool, str]:
    """(ok, text): ok is False when a problem would stop the report (exit 2)."""
    from cxlib.data.params import load_params
    from cxlib.report.plan import describe_needs
    from cxlib.report.runner import ensure_demo_data, prepare

    lines: list[str] = []
    try:
        params = load_params(client, check_files=False)
        ensure_demo_data(params)
        params = load_params(client)
    except ReportError as e:
        return False, f"PROBLEMS in the params file:\n{e}"
    with tempfile.TemporaryDirectory(prefix="cxlib-check-") as tmp:
        try:
            prep = prepare(params, Path(tmp) / "cx.duckdb", period)
            current, previous, plan, names, inputs, notes = (prep.period, prep.previous, prep.plan, prep.names,
                                                             prep.inputs, prep.notes)
        except ReportError as e:
            return False, f"PROBLEMS (fix them, then run the check again):\n{e}"
    n_tables = len({i.table for i in inputs})
    lines.append(f"{client}: params and {n_tables} table(s) valid"
                 + (f" ({len(inputs)} files)" if len(inputs) > n_tables else ""))
    for i in inputs:
        extra = f", {i.excluded:,} left out" if i.excluded else ""
        lines.append(f"  {i.table:<17} {i.rows:>10,} rows  {i.path} ({i.encoding}{extra})")
    for n in notes:
        where = f"{n.table}.{n.column}" if n.column else n.table
        lines.append(f"  note: {where}: {n.detail}" + (f" ({n.rows:,} rows)" if n.rows else ""))
    lines.append(f"period: {current.label}" + (f", compared with {previous.label}" if previous else
                                                ", no previous period with data to compare with"))
    if names.warnings:
        from cxlib.report.i18n import Translator

        tr = Translator("en")
        lines.append("warnings (the report states them):")
        lines += [f"  - {tr.say(w)}" for w in names.warnings]
    runs = [s.name for s in plan.statuses.values() if s.runs]
    lines.append(f"in the report ({len(runs)}): {', '.join(runs)}")
    skipped = plan.skipped()
    if skipped:
        lines.append(f"not in the report ({len(skipped)}):")
        lines += [f"  - {s.name}: needs {describe_needs(s.reasons)}" for s in skipped]
    return True, "\n".join(lines)
