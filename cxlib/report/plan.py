"""The run's plan: which analyses the client's data allows, and what the others would need.

Every analysis declares what it needs (:class:`Needs`): tables, columns with values, params
(a funnel, a journey, brands...), dated data, a previous period, several periods for a trend,
other analyses it builds on. :func:`catalog` describes what the loaded data holds, once, from the
engine; :func:`build_plan` checks every analysis against it. An analysis whose needs are not met
is left out of the report and listed, with its reasons, in the "Not in this report" part of the
data-and-method section and in the manifest. Nothing is ever computed from a table the client did
not give.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cxlib.data import engine
from cxlib.data.io import Store
from cxlib.data.periods import Period

#: the params a need may name, and how to tell they are set
_PARAMS = {
    "funnel": lambda p: len(p.funnel) >= 2,
    "journey": lambda p: bool(p.journey),
    "weighting": lambda p: p.weighting is not None,
    "crosstabs": lambda p: bool(p.crosstabs),
    "brands": lambda p: bool(p.brand) or bool(p.competitors),
    "competitors": lambda p: bool(p.competitors),
}


@dataclass(frozen=True)
class Needs:
    """What an analysis needs from the data and the params.

    ``columns`` are ``"table.column"`` names that must hold at least one value; each group in
    ``any_of`` needs at least one of its columns; ``dated`` tables must have dates; ``periods``
    is the number of periods with data a trend needs; ``previous`` asks for a previous period
    with data; ``results`` are other analyses it builds on; ``min_rows`` maps
    ``"table.column"`` to the least number of values worth analysing.
    """

    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    any_of: tuple[tuple[str, ...], ...] = ()
    params: tuple[str, ...] = ()
    dated: tuple[str, ...] = ()
    periods: int = 0
    previous: bool = False
    results: tuple[str, ...] = ()
    min_rows: tuple[tuple[str, int], ...] = ()
    codebook: bool = False  # a codebook table, or the generic one (params coding.generic_codebook)


@dataclass
class TableFacts:
    rows: int
    values: dict[str, int]          # column -> non-empty values
    dated: bool = False
    periods: int = 0                # distinct periods (params unit) with data
    in_period: int = 0              # rows in the reporting period (all rows when undated or 'all')
    in_previous: int = 0


@dataclass
class Catalog:
    """What the loaded data holds: tables, non-empty columns, dates and period coverage."""

    tables: dict[str, TableFacts]
    period: str
    previous: str | None
    params_set: dict[str, bool]
    generic_codebook: bool

    def values(self, table: str, column: str) -> int:
        t = self.tables.get(table)
        return 0 if t is None else t.values.get(column, 0)

    def to_json(self) -> dict:
        return {"tables": {k: asdict(v) for k, v in self.tables.items()}, "period": self.period,
                "previous": self.previous, "params_set": self.params_set,
                "generic_codebook": self.generic_codebook}

    @classmethod
    def from_json(cls, d: dict) -> Catalog:
        return cls({k: TableFacts(**v) for k, v in d["tables"].items()}, d["period"], d["previous"],
                   d["params_set"], d["generic_codebook"])


#: tables the catalog describes (canonical tables plus the derived texts and customer view)
_DESCRIBED = ("customers", "orders", "web_events", "interactions", "survey_responses", "verbatims", "texts",
              "codebook", "manual_codes", "swot_inputs", "map_feedback", "customer_view")


def catalog(store: Store, period: Period, previous: Period | None) -> Catalog:
    """Describe the loaded data with one aggregate query per table."""
    tables: dict[str, TableFacts] = {}
    unit = store.params.period_unit
    for name in _DESCRIBED:
        if not store.has(name):
            continue
        t = store.table(name)
        cols = list(t.columns)
        counts = t.aggregate([t.count().name("_rows")] + [t[c].count().name(f"_n{i}") for i, c in enumerate(cols)])
        row = counts.to_pyarrow().to_pylist()[0]
        facts = TableFacts(rows=int(row["_rows"]), values={c: int(row[f"_n{i}"]) for i, c in enumerate(cols)})
        if facts.rows == 0:  # an empty derived table (e.g. texts when every comment is blank) is no table
            continue
        tcol = engine.time_column(store, name)
        facts.in_period = facts.rows
        if tcol and facts.values.get(tcol, 0) > 0:
            facts.dated = True
            t = store.table(name)
            facts.periods = int(t.filter(t[tcol].notnull()).aggregate(
                n=engine.unit_label(t[tcol], unit).nunique()).to_pandas()["n"].iloc[0])
            facts.in_period = engine.rows_in(store, name, period)
            facts.in_previous = engine.rows_in(store, name, previous) if previous is not None else 0
        tables[name] = facts
    p = store.params
    return Catalog(tables, period.label, previous.label if previous else None,
                   {k: bool(f(p)) for k, f in _PARAMS.items()},
                   bool(p.coding.generic_codebook))


@dataclass
class Status:
    """One analysis in the plan: runs, or is left out with the reasons (what it would need)."""

    name: str
    section: str
    runs: bool
    reasons: list[dict] = field(default_factory=list)  # {"kind": table|column|param|dated|periods|previous|result|rows|codebook, ...}


@dataclass
class Plan:
    statuses: dict[str, Status]

    def runs(self, name: str) -> bool:
        s = self.statuses.get(name)
        return bool(s and s.runs)

    def skipped(self) -> list[Status]:
        return [s for s in self.statuses.values() if not s.runs]

    def to_json(self) -> dict:
        return {k: asdict(v) for k, v in self.statuses.items()}

    @classmethod
    def from_json(cls, d: dict) -> Plan:
        return cls({k: Status(**v) for k, v in d.items()})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> Plan:
        return cls.from_json(json.loads(path.read_text()))


def check(needs: Needs, cat: Catalog, ran: dict[str, bool]) -> list[dict]:
    """The unmet needs of one analysis (empty when it can run)."""
    out: list[dict] = []
    for t in needs.tables:
        if t not in cat.tables:
            out.append({"kind": "table", "table": t})
    for c in needs.columns:
        t, col = c.split(".", 1)
        if t in cat.tables and cat.values(t, col) == 0:
            out.append({"kind": "column", "table": t, "column": col})
    for group in needs.any_of:
        if not any(cat.values(*c.split(".", 1)) > 0 for c in group):
            out.append({"kind": "any_column", "columns": list(group)})
    for p in needs.params:
        if not cat.params_set.get(p, False):
            out.append({"kind": "param", "param": p})
    for t in needs.dated:
        if t in cat.tables and not cat.tables[t].dated:
            out.append({"kind": "dated", "table": t})
    if needs.periods:
        dated = [cat.tables[t].periods for t in (needs.dated or needs.tables) if t in cat.tables]
        if dated and max(dated) < needs.periods:
            out.append({"kind": "periods", "periods": needs.periods})
    if needs.previous and cat.previous is None:
        out.append({"kind": "previous"})
    for c, n in needs.min_rows:
        t, col = c.split(".", 1)
        have = cat.values(t, col) if col != "*" else (cat.tables[t].rows if t in cat.tables else 0)
        if t in cat.tables and 0 < have < n:
            out.append({"kind": "rows", "table": t, "column": col, "have": have, "need": n})
    if needs.codebook and "codebook" not in cat.tables and not cat.generic_codebook:
        out.append({"kind": "codebook"})
    for r in needs.results:
        if not ran.get(r, False):
            out.append({"kind": "result", "result": r})
    return out


def build_plan(registry, cat: Catalog) -> Plan:
    """Check every registered analysis, in order (an analysis may build on earlier ones)."""
    statuses: dict[str, Status] = {}
    ran: dict[str, bool] = {}
    for a in registry:
        reasons = check(a.needs, cat, ran)
        # a missing result is only worth naming when the analysis has no more basic reason
        if any(r["kind"] != "result" for r in reasons):
            reasons = [r for r in reasons if r["kind"] != "result"] or reasons
        statuses[a.name] = Status(a.name, a.section, not reasons, reasons)
        ran[a.name] = not reasons
    return Plan(statuses)


def describe_needs(reasons: list[dict]) -> str:
    """The reasons in plain English (for the manifest and logs; the report translates them)."""
    words = []
    for r in reasons:
        k = r["kind"]
        if k == "table":
            words.append(f"{'an' if r['table'][:1] in 'aeiou' else 'a'} {r['table']} table")
        elif k == "column":
            words.append(f"values in {r['table']}.{r['column']}")
        elif k == "any_column":
            words.append("values in one of " + ", ".join(r["columns"]))
        elif k == "param":
            words.append(f"'{r['param']}' in params")
        elif k == "dated":
            words.append(f"dates in {r['table']}")
        elif k == "periods":
            words.append(f"data in at least {r['periods']} periods")
        elif k == "previous":
            words.append("a previous period with data")
        elif k == "rows":
            words.append(f"at least {r['need']} values in {r['table']}.{r['column']} (has {r['have']})")
        elif k == "codebook":
            words.append("a codebook")
        elif k == "result":
            words.append(f"the {r['result']} analysis")
    return "; ".join(words)
