"""Data contracts: one pandera schema per canonical table, and what each table minimally needs.

A client's export is mapped onto these column names by the read settings of its params file
(:class:`cxlib.data.params.TableSource`: column mapping, constants, date formats, value labels),
then loaded and checked in the engine by :func:`cxlib.data.io.load_store`, which compiles the
checks declared here (types, ranges, allowed values, uniqueness, required values) into queries
and reports every problem at once with the file, column, lines and fix.

Real exports rarely carry every column: only the columns in :attr:`Contract.required` must be
present for a table to load. Every other canonical column is optional; an analysis that needs
one declares it, and the report lists the analyses left out with what they would need.
Columns the export has beyond the canonical ones are kept (typed as numbers when every value is
a number) and can be named in params (breakdowns, churn predictors, crosstabs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

#: language of a text: English, Arabic, both in one text, or no letters at all (emoji, numbers)
LANGUAGES = ["en", "ar", "mixed", "none"]
SURVEY_TYPES = ["relationship", "transactional"]
VALENCES = ["positive", "negative", "neutral"]
SOURCES = ["survey", "call", "chat", "social", "review", "staff", "email", "complaint", "other"]
SPEAKERS = ["customer", "agent"]
QUADRANTS = ["strength", "weakness", "opportunity", "threat"]


class _Base(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False  # client exports carry extra columns; they are kept, not rejected


class Customers(_Base):
    """One row per customer (CRM). Only the id is required: a churn snapshot often has no dates."""

    customer_id: Series[str] = pa.Field(unique=True)
    signup_date: Optional[Series[pd.Timestamp]] = pa.Field(nullable=True)
    segment: Optional[Series[str]] = pa.Field(nullable=True)
    age: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=16, le=110, nullable=True)
    gender: Optional[Series[str]] = pa.Field(nullable=True)
    region: Optional[Series[str]] = pa.Field(nullable=True)
    city: Optional[Series[str]] = pa.Field(nullable=True)
    income_band: Optional[Series[str]] = pa.Field(nullable=True)
    household_size: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=1, le=30, nullable=True)
    plan: Optional[Series[str]] = pa.Field(nullable=True)
    preferred_channel: Optional[Series[str]] = pa.Field(nullable=True)
    payment_method: Optional[Series[str]] = pa.Field(nullable=True)
    language: Optional[Series[str]] = pa.Field(isin=LANGUAGES, nullable=True)
    revenue: Optional[Series[float]] = pa.Field(ge=0, nullable=True)
    churned: Optional[Series[bool]] = pa.Field(nullable=True)
    churn_date: Optional[Series[pd.Timestamp]] = pa.Field(nullable=True)


class Orders(_Base):
    """One row per order."""

    order_id: Optional[Series[str]] = pa.Field(unique=True)
    customer_id: Series[str]
    order_time: Series[pd.Timestamp]
    amount: Optional[Series[float]] = pa.Field(ge=0, nullable=True)
    channel: Optional[Series[str]] = pa.Field(nullable=True)
    product: Optional[Series[str]] = pa.Field(nullable=True)
    delivery_days: Optional[Series[float]] = pa.Field(ge=0, le=365, nullable=True)
    late: Optional[Series[bool]] = pa.Field(nullable=True)


class WebEvents(_Base):
    """One row per web/app event; anonymous sessions have no customer_id."""

    session_id: Series[str]
    customer_id: Optional[Series[str]] = pa.Field(nullable=True)
    event_time: Series[pd.Timestamp]
    event: Series[str]
    device: Optional[Series[str]] = pa.Field(nullable=True)
    source: Optional[Series[str]] = pa.Field(nullable=True)


class Interactions(_Base):
    """One row per support ticket, call, chat or visit."""

    interaction_id: Optional[Series[str]] = pa.Field(unique=True)
    customer_id: Optional[Series[str]] = pa.Field(nullable=True)
    interaction_time: Series[pd.Timestamp]
    touchpoint: Optional[Series[str]] = pa.Field(nullable=True)
    channel: Optional[Series[str]] = pa.Field(nullable=True)
    resolved: Optional[Series[bool]] = pa.Field(nullable=True)
    handling_minutes: Optional[Series[float]] = pa.Field(ge=0, le=24 * 60, nullable=True)
    department: Optional[Series[str]] = pa.Field(nullable=True)
    transfers: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, le=100, nullable=True)
    reason: Optional[Series[str]] = pa.Field(nullable=True)


class SurveyResponses(_Base):
    """One row per survey response or rated review: NPS 0-10, CSAT (or stars) 1-5, CES 1-7.

    A survey platform export usually has no customer id and no survey type; a review export
    maps its stars to ``csat`` and its text to ``comment``; ``recommend`` holds a
    would-recommend flag when the export has one.
    """

    response_id: Optional[Series[str]] = pa.Field(unique=True)
    customer_id: Optional[Series[str]] = pa.Field(nullable=True)
    response_time: Optional[Series[pd.Timestamp]] = pa.Field(nullable=True)
    survey_type: Optional[Series[str]] = pa.Field(isin=SURVEY_TYPES, nullable=True)
    stage: Optional[Series[str]] = pa.Field(nullable=True)
    touchpoint: Optional[Series[str]] = pa.Field(nullable=True)
    nps: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, le=10, nullable=True)
    csat: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=1, le=5, nullable=True)
    ces: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=1, le=7, nullable=True)
    importance: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=1, le=5, nullable=True)
    recommend: Optional[Series[bool]] = pa.Field(nullable=True)
    comment: Optional[Series[str]] = pa.Field(nullable=True)
    language: Optional[Series[str]] = pa.Field(isin=LANGUAGES, nullable=True)

    @pa.dataframe_check(error="a transactional response needs a touchpoint")
    def transactional_has_touchpoint(cls, df: pd.DataFrame) -> Series[bool]:
        if "survey_type" not in df or "touchpoint" not in df:
            return pd.Series(True, index=df.index)
        return ~((df["survey_type"] == "transactional") & df["touchpoint"].isna())


class Verbatims(_Base):
    """Free text: survey comments, call/chat transcripts (one row per turn), social mentions, reviews."""

    verbatim_id: Optional[Series[str]] = pa.Field(unique=True)
    source: Optional[Series[str]] = pa.Field(isin=SOURCES, nullable=True)
    customer_id: Optional[Series[str]] = pa.Field(nullable=True)
    verbatim_time: Optional[Series[pd.Timestamp]] = pa.Field(nullable=True)
    touchpoint: Optional[Series[str]] = pa.Field(nullable=True)
    text: Series[str] = pa.Field(nullable=True)
    language: Optional[Series[str]] = pa.Field(isin=LANGUAGES, nullable=True)
    response_id: Optional[Series[str]] = pa.Field(nullable=True)  # survey comments: the response
    conversation_id: Optional[Series[str]] = pa.Field(nullable=True)
    speaker: Optional[Series[str]] = pa.Field(isin=SPEAKERS, nullable=True)
    brand: Optional[Series[str]] = pa.Field(nullable=True)
    score: Optional[Series[float]] = pa.Field(nullable=True)  # a score or label that came with the text


class Codebook(_Base):
    """Themes and codes with English and Arabic regular-expression patterns."""

    code: Series[str] = pa.Field(unique=True)
    theme: Optional[Series[str]] = pa.Field(nullable=True)
    description: Optional[Series[str]] = pa.Field(nullable=True)
    valence: Optional[Series[str]] = pa.Field(isin=VALENCES, nullable=True)
    patterns_en: Optional[Series[str]] = pa.Field(nullable=True)
    patterns_ar: Optional[Series[str]] = pa.Field(nullable=True)
    examples: Optional[Series[str]] = pa.Field(nullable=True)
    question: Optional[Series[str]] = pa.Field(nullable=True)


class ManualCodes(_Base):
    """Analyst coding: one row per (verbatim, coder, code); code empty = coded, no code applies."""

    verbatim_id: Series[str]
    coder: Series[str]
    code: Series[str] = pa.Field(nullable=True)


class SwotInputs(_Base):
    """SWOT items from staff workshops."""

    item_id: Optional[Series[str]] = pa.Field(unique=True)
    quadrant: Series[str] = pa.Field(isin=QUADRANTS)
    text: Series[str]
    source: Optional[Series[str]] = pa.Field(nullable=True)
    contributor_role: Optional[Series[str]] = pa.Field(nullable=True)


class MapFeedback(_Base):
    """Staff or focus-group feedback on the journey map (method step 6: validate the map)."""

    item_id: Optional[Series[str]] = pa.Field(unique=True)
    stage: Optional[Series[str]] = pa.Field(nullable=True)
    touchpoint: Optional[Series[str]] = pa.Field(nullable=True)
    agrees: Series[bool] = pa.Field(nullable=True)
    comment: Optional[Series[str]] = pa.Field(nullable=True)
    role: Optional[Series[str]] = pa.Field(nullable=True)


@dataclass(frozen=True)
class Contract:
    """What the loader needs to know about one canonical table beyond its column types."""

    model: type[_Base]
    #: the column that dates a row (periods); None for undated tables
    time: str | None = None
    #: the row id; when the export has none it is made from the file line ("r<line>")
    key: str | None = None
    #: at least one of these columns must be present for the table to be useful
    one_of: tuple[str, ...] = ()
    #: what one row is, for messages
    row: str = "row"

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def required(self) -> list[str]:
        """Columns the table cannot load without."""
        return [n for n, c in self.schema.columns.items() if c.required and n != self.key]


#: canonical table -> its contract. Every table is optional; a report needs at least one.
TABLES: dict[str, Contract] = {
    "customers": Contract(Customers, "signup_date", None, row="customer"),
    "orders": Contract(Orders, "order_time", "order_id", row="order"),
    "web_events": Contract(WebEvents, "event_time", None, row="web event"),
    "interactions": Contract(Interactions, "interaction_time", "interaction_id", row="interaction"),
    "survey_responses": Contract(SurveyResponses, "response_time", "response_id",
                                 one_of=("nps", "csat", "ces", "comment", "recommend"), row="response"),
    "verbatims": Contract(Verbatims, "verbatim_time", "verbatim_id", row="text"),
    "codebook": Contract(Codebook, None, None, one_of=("patterns_en", "patterns_ar", "examples"), row="code"),
    "manual_codes": Contract(ManualCodes, None, None, row="manual code"),
    "swot_inputs": Contract(SwotInputs, None, "item_id", row="SWOT item"),
    "map_feedback": Contract(MapFeedback, None, "item_id", one_of=("stage", "touchpoint"), row="feedback item"),
}

#: tables that describe customers' experience (a report needs at least one of them)
DATA_TABLES = ("customers", "orders", "web_events", "interactions", "survey_responses", "verbatims")


def column_kind(table: str, column: str) -> str | None:
    """The canonical type of a column: 'string', 'int', 'float', 'bool', 'timestamp' (None if not canonical)."""
    col = TABLES[table].schema.columns.get(column)
    if col is None:
        return None
    dtype = str(col.dtype).lower()
    if dtype.startswith("int"):
        return "int"
    if dtype.startswith("float"):
        return "float"
    if dtype.startswith("bool"):
        return "bool"
    if dtype.startswith("datetime"):
        return "timestamp"
    return "string"


def column_checks(table: str, column: str) -> dict:
    """The value checks declared for a column: ``{"min": .., "max": .., "isin": [..], "unique": bool,
    "nullable": bool}`` (pandera's ``ge``/``le``/``isin``/``unique``/``nullable``)."""
    col = TABLES[table].schema.columns[column]
    out: dict = {"unique": bool(col.unique), "nullable": bool(col.nullable)}
    for check in col.checks:
        stats = check.statistics or {}
        if check.name in ("greater_than_or_equal_to", "in_range") and "min_value" in stats:
            out["min"] = stats["min_value"]
        if check.name in ("less_than_or_equal_to", "in_range") and "max_value" in stats:
            out["max"] = stats["max_value"]
        if check.name == "isin":
            out["isin"] = list(stats["allowed_values"])
    return out
