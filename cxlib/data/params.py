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
from cxlib.exceptions import ParameterError
from cxlib.data.schemas import TABLES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableSource(_Strict):
    """Where a canonical table comes from and how the export's columns map onto it."""

    file: str
    #: export column name -> canonical column name
    columns: dict[str, str] = Field(default_factory=dict)
    sheet: str | int | None = None  # Excel only


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


class RunnerOptions(_Strict):
    cell_timeout: int = Field(600, ge=10)  # seconds per notebook cell
    workers: int = Field(0, ge=0)          # notebooks executed side by side; 0 = one per core
    kernel: str = "cxlib"


class Params(_Strict):
    client: str
    name: str
    language: Literal["en", "ar"] = "en"
    seed: int = 20261122
    data_dir: str
    period: str | None = None  # e.g. 2026Q3; None = latest complete quarter
    tables: dict[str, TableSource]
    journey: list[Stage]
    funnel: list[FunnelStep]
    breakdowns: list[str] = Field(default_factory=lambda: ["segment", "region"])
    brand: str = "Our brand"
    competitors: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Thresholds()
    weighting: Weighting | None = None
    coding: CodingOptions = CodingOptions()
    segmentation: Segmentation = Segmentation()
    #: churn-risk driver (a customer-view signal or model term) -> next best action and owner
    next_best_actions: dict[str, NextAction] = Field(default_factory=dict)
    at_risk_top: int = Field(50, ge=1)  # customers listed in the at-risk table
    crosstabs: list[CrosstabSpec] = Field(default_factory=lambda: [CrosstabSpec(row="nps_group", banner="segment")])
    branding: Branding = Branding()
    swot: SwotEdits = SwotEdits()
    runner: RunnerOptions = RunnerOptions()
    #: path of the params file itself (set by the loader, not written in YAML)
    source: str | None = None

    @field_validator("client")
    @classmethod
    def _client(cls, v: str) -> str:
        try:
            return paths.check_client_name(v)
        except ParameterError as e:
            raise ValueError(str(e)) from None

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: dict[str, TableSource]) -> dict[str, TableSource]:
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; known tables are {sorted(TABLES)}")
        missing = sorted(t for t, (_, required, _) in TABLES.items() if required and t not in v)
        if missing:
            raise ValueError(f"required table(s) {missing} have no entry")
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

    def table_path(self, table: str) -> Path:
        return paths.inside(self.data_path, self.data_path / self.tables[table].file, f"{table}.file")

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
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ParameterError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: expected a mapping of keys at the top level.")
    raw["source"] = str(path.resolve())
    try:
        params = Params.model_validate(raw)
    except ValidationError as e:
        raise ParameterError(_format_pydantic(e, path)) from None
    if check_files:
        missing = [
            f"  - tables.{t}.file: {params.table_path(t)} not found"
            for t in params.tables
            if not params.table_path(t).is_file()
        ]
        if missing:
            raise ParameterError(
                f"{path}: input file(s) missing:\n" + "\n".join(missing)
                + "\nFix the path in the params file or put the export there"
                + (" (run `make demo-data` for the demo)." if params.client.startswith("demo") else ".")
            )
    return params
