"""Data contracts: one pandera schema per canonical table.

A client's export is mapped onto these column names by the ``columns`` mapping of its params
file, then validated lazily (every problem at once) by :func:`cxlib.data.io.validate_table`.
Extra columns are kept; missing required columns, wrong types and out-of-range values fail.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

LANGUAGES = ["en", "ar"]
SURVEY_TYPES = ["relationship", "transactional"]
VALENCES = ["positive", "negative", "neutral"]
SOURCES = ["survey", "call", "chat", "social", "review", "staff"]
SPEAKERS = ["customer", "agent"]
QUADRANTS = ["strength", "weakness", "opportunity", "threat"]


class _Base(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False  # client exports carry extra columns; they are kept, not rejected


class Customers(_Base):
    """One row per customer (CRM)."""

    customer_id: Series[str] = pa.Field(unique=True)
    signup_date: Series[pd.Timestamp]
    segment: Series[str]
    age: Series[pd.Int64Dtype] = pa.Field(ge=16, le=110, nullable=True)
    gender: Optional[Series[str]] = pa.Field(nullable=True)
    region: Series[str]
    city: Optional[Series[str]] = pa.Field(nullable=True)
    income_band: Optional[Series[str]] = pa.Field(nullable=True)
    household_size: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=1, le=30, nullable=True)
    plan: Series[str]
    preferred_channel: Series[str]
    payment_method: Optional[Series[str]] = pa.Field(nullable=True)
    language: Optional[Series[str]] = pa.Field(isin=LANGUAGES, nullable=True)
    revenue: Series[float] = pa.Field(ge=0)
    churned: Series[bool]
    churn_date: Series[pd.Timestamp] = pa.Field(nullable=True)


class Orders(_Base):
    """One row per order."""

    order_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    order_time: Series[pd.Timestamp]
    amount: Series[float] = pa.Field(ge=0)
    channel: Series[str]
    product: Series[str]
    delivery_days: Series[float] = pa.Field(ge=0, le=365, nullable=True)
    late: Series[bool]


class WebEvents(_Base):
    """One row per web/app event; anonymous sessions have no customer_id."""

    session_id: Series[str]
    customer_id: Series[str] = pa.Field(nullable=True)
    event_time: Series[pd.Timestamp]
    event: Series[str]
    device: Series[str]
    source: Series[str]


class Interactions(_Base):
    """One row per support ticket, call, chat or visit."""

    interaction_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    interaction_time: Series[pd.Timestamp]
    touchpoint: Series[str]
    channel: Series[str]
    resolved: Series[bool]
    handling_minutes: Series[float] = pa.Field(ge=0, le=24 * 60, nullable=True)


class SurveyResponses(_Base):
    """One row per survey response (relationship NPS or transactional CSAT/CES per touchpoint)."""

    response_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str] = pa.Field(nullable=True)
    response_time: Series[pd.Timestamp]
    survey_type: Series[str] = pa.Field(isin=SURVEY_TYPES)
    touchpoint: Series[str] = pa.Field(nullable=True)
    nps: Series[pd.Int64Dtype] = pa.Field(ge=0, le=10, nullable=True)
    csat: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, nullable=True)
    ces: Series[pd.Int64Dtype] = pa.Field(ge=1, le=7, nullable=True)
    importance: Series[pd.Int64Dtype] = pa.Field(ge=1, le=5, nullable=True)
    comment: Series[str] = pa.Field(nullable=True)
    language: Series[str] = pa.Field(isin=LANGUAGES, nullable=True)

    @pa.dataframe_check(error="a transactional response needs a touchpoint")
    def transactional_has_touchpoint(cls, df: pd.DataFrame) -> Series[bool]:
        return ~((df["survey_type"] == "transactional") & df["touchpoint"].isna())


class Verbatims(_Base):
    """Free text from surveys, call/chat transcripts (one row per turn), social mentions, reviews."""

    verbatim_id: Series[str] = pa.Field(unique=True)
    source: Series[str] = pa.Field(isin=SOURCES)
    customer_id: Series[str] = pa.Field(nullable=True)
    verbatim_time: Series[pd.Timestamp]
    touchpoint: Series[str] = pa.Field(nullable=True)
    text: Series[str] = pa.Field(nullable=True)
    language: Series[str] = pa.Field(isin=LANGUAGES, nullable=True)
    response_id: Optional[Series[str]] = pa.Field(nullable=True)  # survey comments: the response
    conversation_id: Optional[Series[str]] = pa.Field(nullable=True)
    speaker: Optional[Series[str]] = pa.Field(isin=SPEAKERS, nullable=True)
    brand: Optional[Series[str]] = pa.Field(nullable=True)
    score: Optional[Series[float]] = pa.Field(nullable=True)


class Codebook(_Base):
    """Themes and codes with English and Arabic regular-expression patterns."""

    code: Series[str] = pa.Field(unique=True)
    theme: Series[str]
    description: Series[str]
    valence: Series[str] = pa.Field(isin=VALENCES)
    patterns_en: Series[str] = pa.Field(nullable=True)
    patterns_ar: Series[str] = pa.Field(nullable=True)


class ManualCodes(_Base):
    """Analyst coding: one row per (verbatim, coder, code); code empty = coded, no code applies."""

    verbatim_id: Series[str]
    coder: Series[str]
    code: Series[str] = pa.Field(nullable=True)


class SwotInputs(_Base):
    """SWOT items from staff workshops."""

    item_id: Series[str] = pa.Field(unique=True)
    quadrant: Series[str] = pa.Field(isin=QUADRANTS)
    text: Series[str]
    source: Series[str]
    contributor_role: Series[str] = pa.Field(nullable=True)


#: table name -> (schema, required?, the time column used for periods or None)
TABLES: dict[str, tuple[type[_Base], bool, str | None]] = {
    "customers": (Customers, True, "signup_date"),
    "orders": (Orders, True, "order_time"),
    "web_events": (WebEvents, True, "event_time"),
    "interactions": (Interactions, True, "interaction_time"),
    "survey_responses": (SurveyResponses, True, "response_time"),
    "verbatims": (Verbatims, True, "verbatim_time"),
    "codebook": (Codebook, True, None),
    "manual_codes": (ManualCodes, False, None),
    "swot_inputs": (SwotInputs, False, None),
}
