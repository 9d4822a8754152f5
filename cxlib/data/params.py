"""The one validated parameters object: ``params/<client>.yml`` -> :class:`Params`.

Unknown keys, wrong types and missing files are refused with a message naming the file and
the key (papermill only warns about an unknown parameter; we do not).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cxlib import paths
from cxlib.data.schemas import DATA_TABLES, TABLES
from cxlib.exceptions import ParameterError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: a canonical value a label in the export stands for (``Yes`` -> true, ``Promoter`` -> ...)
Scalar = str | int | float | bool | None


class DateFormat(_Strict):
    """How a date column of an export is written.

    ``format``: one strptime format or a list tried in order (``"%d/%m/%Y %H:%M"``);
    ``dayfirst``: true when the day comes before the month (``31/01/2026``), false when the
    month comes first (``01/31/2026``). With neither, ISO dates are read and a column of
    ``nn/nn/yyyy`` dates is read only when it shows which part is the day (a value above 12);
    a column where every row could be either is refused, never guessed.
    """

    format: str | list[str] | None = None
    dayfirst: bool | None = None


class TableSource(_Strict):
    """Where a canonical table comes from and how to read the export as it is.

    The settings are declarative (the engine applies them while loading): ``columns`` maps an
    export column to a canonical one, or to several (``Stars: [csat, score]``); ``constants``
    sets a canonical column to one value for every row (``source: social``); ``dates`` says how
    a date column is written (``response_time: dayfirst``, or ``{format: "%d/%m/%Y %H:%M"}``);
    ``values`` maps the labels of a column to canonical values (``churned: {"Yes": true,
    "No": false}``, matched ignoring case and surrounding spaces); ``encoding`` is detected
    (UTF-8 with or without BOM, UTF-16) unless declared (``cp1256``, ``latin-1``...).
    """

    file: str
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    constants: dict[str, Scalar] = Field(default_factory=dict)
    dates: dict[str, DateFormat | str] = Field(default_factory=dict)
    values: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    encoding: str = "auto"
    delimiter: str | None = None     # CSV: None = detected
    sheet: str | int | None = None   # Excel only
    #: the line (CSV) or row (Excel) holding the column names, 1 = the first: an export that opens
    #: with a title or a "generated on" line above its header
    header_line: int = Field(default=1, ge=1)
    na_values: list[str] = Field(default_factory=list)  # more cell texts that mean "empty"
    #: how the export writes numbers: "." (12.50, thousands as 1,234) or "," (12,50, thousands as 1.234)
    decimal: Literal[".", ","] = "."
    #: rows breaking the contract: stop the run (default) or leave them out, counted in the report
    invalid_rows: Literal["stop", "exclude"] = "stop"

    @field_validator("dates", mode="before")
    @classmethod
    def _dates(cls, v):
        if not isinstance(v, dict):
            return v
        out = {}
        for col, spec in v.items():
            if isinstance(spec, str):
                low = spec.strip().lower()
                if low in ("dayfirst", "day_first", "day-first", "dmy"):
                    spec = {"dayfirst": True}
                elif low in ("monthfirst", "month_first", "month-first", "mdy"):
                    spec = {"dayfirst": False}
                elif low in ("iso", "auto"):
                    spec = {}
                elif "%" in spec:
                    spec = {"format": spec}
                else:
                    raise ValueError(f"dates.{col}: {spec!r} is not dayfirst, monthfirst, iso or a strptime "
                                     "format such as '%d/%m/%Y %H:%M'")
            out[col] = spec
        return out

    def targets(self) -> dict[str, list[str]]:
        """Export column -> the canonical column(s) it fills."""
        return {k: ([v] if isinstance(v, str) else list(v)) for k, v in self.columns.items()}


Effort = Literal["low", "medium", "high"]


class Touchpoint(_Strict):
    id: str
    label: str
    owner: str
    target_csat: float = Field(4.0, ge=1, le=5)
    effort: Effort = "medium"  # effort to bring it to target (for ranking recommendations)


class Stage(_Strict):
    id: str
    label: str
    touchpoints: list[Touchpoint]


class FunnelStep(_Strict):
    event: str
    label: str
    touchpoint: str | None = None


class Thresholds(_Strict):
    min_base: int = Field(30, ge=1)  # bases below this are flagged and never ranked
    alpha: float = Field(0.05, gt=0, lt=1)
    confidence: float = Field(0.95, gt=0, lt=1)


class Branding(_Strict):
    primary_color: str = "#1f4e79"
    accent_color: str = "#d9822b"
    logo: str | None = None

    @field_validator("primary_color", "accent_color")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not (v.startswith("#") and len(v) in (4, 7)):
            raise ValueError("use a hex colour such as #1f4e79")
        return v


class SwotEdits(_Strict):
    add: list[dict[str, str]] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    reword: dict[str, str] = Field(default_factory=dict)


class Weighting(_Strict):
    """Weight survey responses to the CRM population on these customer columns."""

    variables: list[str] = Field(min_length=1)
    method: Literal["rake", "post_stratify"] = "rake"
    cap: float | None = Field(None, gt=1)  # trim weights above this (then re-rake)


class CodingOptions(_Strict):
    """Reliability thresholds for codes (Krippendorff's alpha) and an optional answer key."""

    reliable: float = Field(0.800, gt=0, le=1)     # alpha at or above: reliable
    tentative: float = Field(0.667, gt=0, le=1)    # alpha at or above: tentative; below: unreliable
    #: a file in data_dir with the true codes (verbatim_id, code), e.g. the demo's; optional
    truth_file: str | None = None
    #: with no codebook table, code the texts with the template's generic bilingual CX codebook
    #: (labelled as such in the report); false leaves themes out
    generic_codebook: bool = True

    @model_validator(mode="after")
    def _order(self) -> CodingOptions:
        if self.tentative > self.reliable:
            raise ValueError("coding.tentative must not exceed coding.reliable")
        return self


class NextAction(_Strict):
    """What to do for an at-risk customer whose main risk driver is this signal."""

    action: str
    owner: str
    effort: Effort = "medium"


class Segmentation(_Strict):
    """Segments: the CRM's own (rules) or clusters learned from behaviour."""

    method: Literal["rules", "clusters"] = "rules"
    column: str = "segment"                  # rules: the customers column holding the segment
    k: int | None = Field(None, ge=2, le=12)  # clusters: fixed k, or None to choose by silhouette
    features: list[str] = Field(default_factory=list)  # clusters: customer-view columns to use


class CrosstabSpec(_Strict):
    """A question (row) by a banner of groups, e.g. nps_group by segment."""

    row: str
    banner: str


class ChurnOptions(_Strict):
    """The churn model: which customer columns predict churn, and which model ranks risk.

    ``predictors`` None uses every usable customers column (ids, constant and leaking columns are
    left out with a note); ``exclude`` names columns never to use (an id, a churn reason).
    ``mode`` snapshot: a CRM snapshot without dates (churned flag and the customer's columns);
    windowed: features measured before a cut-off from dated tables; auto picks windowed when
    churn dates and dated activity exist.
    """

    predictors: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)
    model: Literal["auto", "logistic", "boosting"] = "auto"
    mode: Literal["auto", "snapshot", "windowed"] = "auto"
    horizon_days: int = Field(90, ge=7)
    sample_rows: int = Field(200_000, ge=1_000)  # fit on a stratified sample beyond this many rows


class Abandonment(_Strict):
    """The funnel steps between which abandonment is measured (events of params ``funnel``)."""

    start: str
    end: str


class RunnerOptions(_Strict):
    #: seconds a notebook cell may run; "auto" = 600 s plus one per 20,000 input rows
    cell_timeout: int | Literal["auto"] = "auto"
    workers: int = Field(0, ge=0)          # notebooks executed side by side; 0 = one per core
    kernel: str = "cxlib"


#: the engines a client's data can run on
BACKENDS = ("duckdb", "pyspark")


class EngineOptions(_Strict):
    """Where the engine steps run: DuckDB on this machine (the default) or Spark.

    ``backend: pyspark`` loads and validates the exports in DuckDB as always, then hands the
    validated tables to Spark as Parquet and runs every engine step there (:mod:`cxlib.data.spark`).
    ``master`` is Spark's master URL: ``local[2]`` (two cores of this machine), ``local[*]``,
    ``spark://host:7077``, ``yarn`` or ``k8s://...``; ``conf`` sets Spark properties
    (``spark.executor.memory: 8g``). Both are ignored with ``backend: duckdb``.
    ``memory_limit`` caps DuckDB's memory in every process of a run (the runner while loading,
    each kernel): DuckDB spills to disk beyond it instead of growing (``2GB`` by default: a
    1M-customer client loads at the same speed with a 2.3 GB peak instead of 4.5 GB).
    """

    backend: str = "duckdb"
    master: str = "local[*]"
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    memory_limit: str = "2GB"

    @field_validator("memory_limit")
    @classmethod
    def _memory_limit(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", str(v).strip(), re.IGNORECASE):
            raise ValueError(f"{v!r} is not a memory size; write it like 2GB, 512MB or 8GiB")
        return str(v).strip()

    @field_validator("backend")
    @classmethod
    def _backend(cls, v: str) -> str:
        if v not in BACKENDS:
            raise ValueError(f"{v!r} is not an engine; use duckdb (one machine, the default) or pyspark "
                             "(Spark: local[*] on this machine or a cluster's master URL in engine.master)")
        return v

    @field_validator("master")
    @classmethod
    def _master(cls, v: str) -> str:
        if not v.strip() or " " in v.strip():
            raise ValueError(f"{v!r} is not a Spark master URL; use local[*], local[2], spark://host:7077, "
                             "yarn or k8s://https://host:443")
        return v.strip()

    @field_validator("conf")
    @classmethod
    def _conf(cls, v: dict) -> dict:
        bad = sorted(k for k in v if not str(k).startswith("spark."))
        if bad:
            raise ValueError(f"{bad} are not Spark properties; Spark's settings start with 'spark.' "
                             "(e.g. spark.executor.memory: 8g, spark.sql.shuffle.partitions: 8)")
        return v


class Params(_Strict):
    client: str
    name: str
    language: Literal["en", "ar"] = "en"
    seed: int = 20261122
    data_dir: str
    #: None = the latest complete period of the data (or the whole file when it has no dates);
    #: a quarter 2026Q3, a month 2026-07, a year 2026, a range 2026-01-01..2026-03-31, or all
    period: str | None = None
    #: the unit of the default period and of trends
    period_unit: Literal["quarter", "month", "year"] = "quarter"
    #: per canonical table, its export: one source, or a list of sources whose rows are stacked (a
    #: review export and a social export as verbatims, one export per month); a ``file`` with ``*``
    #: or ``?`` names every matching file, read with the same settings
    tables: dict[str, list[TableSource]]
    journey: list[Stage] = Field(default_factory=list)
    funnel: list[FunnelStep] = Field(default_factory=list)
    abandonment: Abandonment | None = None
    #: the journey touchpoint that orders' delivery days and late flags describe (None: no such touchpoint)
    delivery_touchpoint: str | None = None
    #: columns to break scores down by; None = every mapped attribute the data has
    breakdowns: list[str] | None = None
    brand: str | None = None
    competitors: list[str] = Field(default_factory=list)
    currency: str | None = None  # e.g. SAR; shown with every amount
    #: what the report calls the client's own values in each language (segments, codes, touchpoints,
    #: brands, actions...): {ar: {"Value Seekers": "الباحثون عن القيمة"}, en: {...}}
    labels: dict[Literal["en", "ar"], dict[str, str]] = Field(default_factory=dict)
    #: the market the client's customers live in (persona names and details fit it); None = from the language
    market: Literal["gulf", "egypt", "levant", "maghreb", "uk", "us", "international"] | None = None
    thresholds: Thresholds = Thresholds()
    weighting: Weighting | None = None
    coding: CodingOptions = CodingOptions()
    segmentation: Segmentation = Segmentation()
    churn: ChurnOptions = ChurnOptions()
    #: what the map is for: {statement, scope: whole_journey|focus, touchpoints, stages, themes, kpis,
    #: questions} (cxlib.journey.goal.MappingGoal); None = the whole journey
    goal: dict | None = None
    #: how the method's questions are answered (cxlib.journey.questions.QuestionSettings): repeat_days,
    #: effort_max, help_events, code_questions, reason_questions, thresholds, min_base
    journey_questions: dict = Field(default_factory=dict)
    #: paths that end in churn or abandonment: {steps: 2, lookback_days: 180, window_days: 365}
    journey_paths: dict = Field(default_factory=dict)
    #: churn-risk driver (a customer-view signal or model term) -> next best action and owner
    next_best_actions: dict[str, NextAction] = Field(default_factory=dict)
    at_risk_top: int = Field(50, ge=1)  # customers listed in the at-risk table
    crosstabs: list[CrosstabSpec] = Field(default_factory=list)
    branding: Branding = Branding()
    swot: SwotEdits = SwotEdits()
    runner: RunnerOptions = RunnerOptions()
    #: the engine every aggregation runs in: {backend: duckdb | pyspark, master: "local[2]", conf: {...}}
    engine: EngineOptions = EngineOptions()
    #: path of the params file itself (set by the loader, not written in YAML)
    source: str | None = None

    @field_validator("client")
    @classmethod
    def _client(cls, v: str) -> str:
        try:
            return paths.check_client_name(v)
        except ParameterError as e:
            raise ValueError(str(e)) from None

    @field_validator("tables", mode="before")
    @classmethod
    def _one_or_more(cls, v):
        """A table given as one source (a mapping) is a list of one."""
        if isinstance(v, dict):
            return {k: ([x] if isinstance(x, dict | TableSource) else x) for k, x in v.items()}
        return v

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: dict[str, list[TableSource]]) -> dict[str, list[TableSource]]:
        empty = sorted(k for k, x in v.items() if not x)
        if empty:
            raise ValueError(f"table(s) {empty} list no source; give a file for each")
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; known tables are {sorted(TABLES)}")
        if not set(v) & set(DATA_TABLES):
            raise ValueError(f"no data table: give at least one of {list(DATA_TABLES)} (a survey export, a CRM "
                             "snapshot, reviews, social posts...)")
        return v

    @model_validator(mode="after")
    def _journey_ids_unique(self) -> Params:
        ids = [tp.id for st in self.journey for tp in st.touchpoints]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"touchpoint id(s) {dupes} appear in more than one journey stage")
        return self

    # --- derived helpers -------------------------------------------------------------
    @property
    def data_path(self) -> Path:
        """The client's data folder (always inside data/)."""
        return paths.inside(paths.DATA_DIR, paths.ROOT / self.data_dir, "data_dir")

    @property
    def logo_path(self) -> Path | None:
        """The branding logo: a file inside the client's data folder (or None)."""
        if not self.branding.logo:
            return None
        return paths.inside(self.data_path, self.data_path / self.branding.logo, "branding.logo")

    def table_path(self, table: str) -> Path:
        """The (first) file of ``table``; :meth:`table_parts` lists them all."""
        return self.table_parts(table)[0][1]

    def table_parts(self, table: str) -> list[tuple[TableSource, Path]]:
        """Every file of ``table`` with the settings it is read with, in the order given (the
        matches of a ``*``/``?`` pattern sorted by name); a pattern matching nothing stays as
        written, so that the missing-file check names it."""
        out = []
        for i, src in enumerate(self.tables[table]):
            what = f"tables.{table}.file" if len(self.tables[table]) == 1 else f"tables.{table}[{i}].file"
            pattern = self.data_path / src.file
            if any(ch in src.file for ch in "*?["):
                paths.inside(self.data_path, pattern.parent, what)
                hits = sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())
                out += [(src, paths.inside(self.data_path, h, what)) for h in hits] or [(src, pattern)]
            else:
                out.append((src, paths.inside(self.data_path, pattern, what)))
        return out

    @property
    def touchpoints(self) -> list[Touchpoint]:
        return [tp for st in self.journey for tp in st.touchpoints]

    def touchpoint_labels(self) -> dict[str, str]:
        return {tp.id: tp.label for tp in self.touchpoints}

    def stage_of(self) -> dict[str, str]:
        return {tp.id: st.id for st in self.journey for tp in st.touchpoints}


def _format_pydantic(err: ValidationError, source: Path) -> str:
    lines = [f"{source}: {err.error_count()} problem(s) in the params file:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key; remove it or fix its spelling (no notebook reads it)"
            if e["loc"][:1] == ("engine",) and len(e["loc"]) == 2:
                msg += "; engine takes backend (duckdb or pyspark), master (e.g. local[2]) and conf (spark.* settings)"
        elif e["type"] == "missing":
            msg = "required key is missing; add it"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def params_file(client: str) -> Path:
    paths.check_client_name(client)
    return paths.PARAMS_DIR / f"{client}.yml"


def load_params(source: str | Path, *, check_files: bool = True) -> Params:
    """Load and validate a params file (a client name or a path to a YAML file).

    Raises :class:`ParameterError` naming the file and every bad key; with ``check_files``
    every table's input file must exist.
    """
    path = Path(source)
    if path.suffix not in (".yml", ".yaml"):
        path = params_file(str(source))
    if not path.is_file():
        raise ParameterError(
            f"params file {path} does not exist; create it (copy params/demo.yml) or check the client name."
        )
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as e:
        raise ParameterError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: expected a mapping of keys at the top level.")
    raw["source"] = str(path.resolve())
    try:
        params = Params.model_validate(raw)
    except ValidationError as e:
        raise ParameterError(_format_pydantic(e, path)) from None
    escapes = []
    for key, get in ([(f"tables.{t}.file", lambda t=t: params.table_parts(t)) for t in params.tables]
                     + [("branding.logo", lambda: params.logo_path),
                        ("coding.truth_file", lambda: params.coding.truth_file and paths.inside(
                            params.data_path, params.data_path / params.coding.truth_file, "coding.truth_file"))]):
        try:
            get()
        except ParameterError as e:
            escapes.append(f"  - {key}: {e}")
    if escapes:
        raise ParameterError(f"{path}: path(s) outside the client's data folder:\n" + "\n".join(escapes)
                             + "\nEvery file a params file names must be inside its data_dir.")
    if check_files:
        missing = [
            f"  - tables.{t}.file: {path} not found" + (" (no file matches the pattern)" if "*" in str(path)
                                                         or "?" in str(path) else "")
            for t in params.tables
            for _, path in params.table_parts(t)
            if not path.is_file()
        ]
        if missing:
            raise ParameterError(
                f"{path}: input file(s) missing:\n" + "\n".join(missing)
                + "\nFix the path in the params file or put the export there"
                + (" (run `make demo-data` for the demo)." if params.client.startswith("demo") else ".")
            )
    return params
