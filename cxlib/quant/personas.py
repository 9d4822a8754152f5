"""Personas: one segment described from the data, as numbers, shares and codes.

::

    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    prof = segments.segment_profiles(view, seg, min_base=params.thresholds.min_base)
    coded = coding.auto_code(verb, book)
    perf = personas.touchpoint_performance_by_segment(resp, params, view, seg)   # optional
    infl = personas.traffic_sources(store, view, seg)                            # optional
    found = personas.build_personas(prof, view, seg, coded, verb, perf, influences=infl)

Everything here is data: demographics from the single customer view, goals (positive-valence
codes) and challenges (negative-valence codes) chosen by how much more the segment's members
mention them than the other segments' members (the lift, with both shares and their bases),
channels from preferred channels, the touchpoints that matter from the segment's lowest CSAT
and most-mentioned touchpoints, influences from web traffic sources and competitor mentions,
key numbers from :func:`cxlib.quant.segments.segment_profiles`. The card itself (a name that
fits the client's market, the sentences in the report's language) is drawn by
:mod:`cxlib.report.personas`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from cxlib.quant.metrics import proportion_change
from cxlib.quant.segments import segment_map
from cxlib.voice.coding import base_verbatims, theme_frequency

__all__ = [
    "MIN_LIFT",
    "MIN_MENTIONS",
    "TOP_N",
    "Persona",
    "ThemeLift",
    "build_personas",
    "majority_gender",
    "theme_lift",
    "touchpoint_performance_by_segment",
    "traffic_sources",
]

#: goals and challenges kept per persona (largest lift first)
TOP_N = 3
#: a code needs at least this many of the segment's texts to be one of its goals or challenges
MIN_MENTIONS = 5
#: ... and to be mentioned at least this many times as often as by the other segments
MIN_LIFT = 1.1

_FEMALE = {"female", "f", "woman", "women", "أنثى", "انثى", "إناث", "اناث", "امرأة", "نساء"}
_MALE = {"male", "m", "man", "men", "ذكر", "ذكور", "رجل", "رجال"}


@dataclass(frozen=True)
class ThemeLift:
    """How often a segment mentions a code, against the other segments.

    ``share = n / base`` over the segment's coded texts; ``share_other = n_other / base_other``
    over the other segments' texts; ``lift = share / share_other`` (inf when the others never
    mention it; NaN when there are no other segments). ``p_value`` is the two-proportion z-test
    of the two shares (:func:`cxlib.quant.metrics.proportion_change`).
    """

    code: str
    theme: str
    valence: str
    n: int
    base: int
    share: float
    n_other: int
    base_other: int
    share_other: float
    lift: float
    p_value: float
    significant: bool


@dataclass
class Persona:
    """One segment as data (no words): what a persona card is drawn from.

    Shares are proportions (0-1); pairs are ``(value, share)`` with the client's own values
    (channels, cities, plans...), largest first. ``goals`` and ``challenges`` hold
    :class:`ThemeLift` rows (codes, not labels). ``touchpoints_low`` lists the lowest-rated
    touchpoints ``{"touchpoint", "label", "csat", "n"}``, ``touchpoints_mentioned`` the most
    mentioned others ``{"touchpoint", "label", "n", "share"}``.
    """

    segment: str
    customers: int
    share: float
    small_base: bool
    majority_gender: str | None = None  # "female", "male" or None (not known / tied)
    # key numbers
    nps: float = math.nan
    nps_ci_low: float = math.nan
    nps_ci_high: float = math.nan
    nps_n: int = 0
    churn_rate: float = math.nan
    revenue_per_customer: float = math.nan
    revenue_share: float = math.nan
    spend_ratio: float = math.nan  # revenue per customer / mean revenue of all customers
    # role
    plan: tuple[str, float] | None = None
    top_channel: str | None = None
    tenure_months: float = math.nan
    # demographics
    age: dict[str, float] = field(default_factory=dict)  # median, q1, q3, min, max
    gender: list[tuple[str, float]] = field(default_factory=list)
    gender_not_stated: float = 0.0
    household_median: float = math.nan
    income_band: tuple[str, float] | None = None
    cities: list[tuple[str, float]] = field(default_factory=list)
    # what they say
    n_texts: int = 0
    goals: list[ThemeLift] = field(default_factory=list)
    challenges: list[ThemeLift] = field(default_factory=list)
    theme_basis: str = "lift"  # "lift" (against the other segments) or "share" (one segment only)
    # reach
    channels: list[tuple[str, float]] = field(default_factory=list)
    touchpoints_low: list[dict] = field(default_factory=list)
    touchpoints_mentioned: list[dict] = field(default_factory=list)
    traffic_sources: list[tuple[str, float]] = field(default_factory=list)
    competitor_share: float = math.nan  # share of their texts that mention a competitor


# --- inputs ------------------------------------------------------------------------------


#: the single customer view's columns a persona reads (the key, demographics, plan, channel, revenue, tenure)
VIEW_COLUMNS = ("customer_id", "age", "gender", "household_size", "income_band", "city", "plan",
                "preferred_channel", "revenue", "tenure_days")


def touchpoint_performance_by_segment(responses: pd.DataFrame, params, view: pd.DataFrame,
                                      segments: pd.Series) -> pd.DataFrame:
    """:func:`cxlib.journey.gaps.touchpoint_performance` per segment (responses joined by customer).

    Returns the performance frame with a leading ``segment`` column (every journey touchpoint
    for every segment; ``small_base`` marks n < params min_base).
    """
    from cxlib.journey.gaps import touchpoint_performance

    seg = responses["customer_id"].map(segment_map(view, segments))
    parts = []
    for s in sorted(pd.unique(segments.dropna())):
        perf, _ = touchpoint_performance(responses[(seg == s).to_numpy()], params)
        parts.append(perf.assign(segment=s))
    out = pd.concat(parts, ignore_index=True)
    return out[["segment"] + [c for c in out.columns if c != "segment"]]


def traffic_sources(store, view: pd.DataFrame, segments: pd.Series, *, as_of=None) -> pd.DataFrame:
    """Where each segment's web sessions come from (organic, social, email...): an influence.

    Sessions (distinct session ids per customer and source, events without a customer or a
    source left out) are counted in the engine and summed per segment there: each customer's
    segment goes to the engine as a small table of codes, and only one row per segment and source
    comes back (web events never come into pandas, nor a row per customer). Returns segment,
    source, sessions, share (of the segment's sessions), sorted by segment then sessions.
    """
    import ibis

    member = segment_map(view, segments)  # customer_id -> segment (checks the alignment)
    w = store.table("web_events")
    w = w.filter(w.customer_id.notnull() & w.source.notnull())
    if as_of is not None:
        w = w.filter(w.event_time < pd.Timestamp(as_of))
    codes, labels = pd.factorize(member, sort=True)  # -1: no segment
    keep = codes >= 0
    members = ibis.memtable(pd.DataFrame({"_cid": member.index.to_numpy()[keep].astype(object),
                                          "_seg": codes[keep].astype("int64")}))
    per = w.group_by(["customer_id", "source"]).aggregate(sessions=w.session_id.nunique())
    per = per.inner_join(members, per.customer_id == members._cid)
    out = per.group_by(["_seg", "source"]).aggregate(sessions=per.sessions.sum()).to_pandas()
    out.insert(0, "segment", pd.Series(labels, dtype=object).take(out.pop("_seg").to_numpy()).to_numpy())
    out["sessions"] = out["sessions"].astype("int64")
    out["share"] = out["sessions"] / out.groupby("segment")["sessions"].transform("sum")
    out = out.sort_values(["segment", "sessions", "source"], ascending=[True, False, True])
    return out[["segment", "source", "sessions", "share"]].reset_index(drop=True)


# --- pieces ------------------------------------------------------------------------------


def _missing(x) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _shares(s: pd.Series, top: int = 3) -> list[tuple[str, float]]:
    """The ``top`` most common values with their share of all rows (missing rows count in the base)."""
    vc = s.dropna().astype("str").value_counts()
    vc = vc.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return [(str(k), float(v / len(s))) for k, v in vc.head(top).items()] if len(s) else []


def _gender_key(value) -> str | None:
    v = str(value).strip().lower()
    return "female" if v in _FEMALE else "male" if v in _MALE else None


def majority_gender(values: pd.Series) -> str | None:
    """"female" or "male": the more common of the two among ``values`` (English or Arabic
    spellings: female/F/أنثى, male/M/ذكر); None when neither is recorded or they tie."""
    keys = values.dropna().map(_gender_key).value_counts()
    f, m = int(keys.get("female", 0)), int(keys.get("male", 0))
    return None if f == m else "female" if f > m else "male"


def _demographics(p: Persona, g: pd.DataFrame) -> None:
    if "age" in g:
        age = pd.to_numeric(g["age"], errors="coerce").dropna().astype(float)
        if len(age):
            q1, med, q3 = age.quantile([0.25, 0.5, 0.75])
            p.age = {"median": float(med), "q1": float(q1), "q3": float(q3),
                     "min": float(age.min()), "max": float(age.max())}
    if "gender" in g:
        p.gender = _shares(g["gender"], 3)
        p.gender_not_stated = float(g["gender"].isna().mean()) if len(g) else 0.0
        p.majority_gender = majority_gender(g["gender"])
    if "household_size" in g:
        hh = pd.to_numeric(g["household_size"], errors="coerce").dropna()
        if len(hh):
            p.household_median = float(hh.median())
    if "income_band" in g:
        sh = _shares(g["income_band"], 1)
        p.income_band = sh[0] if sh else None
    if "city" in g:
        p.cities = _shares(g["city"], 2)


def theme_lift(freq: pd.DataFrame, bases: pd.Series, *, confidence: float = 0.95) -> pd.DataFrame:
    """Each segment's share of texts mentioning each code, against the other segments' share.

    Parameters
    ----------
    freq : DataFrame
        :func:`cxlib.voice.coding.theme_frequency` by ``segment`` at code level (segment, theme,
        code, valence, n_mentions).
    bases : Series
        Coded-base texts per segment (segment -> count): every segment, also those whose
        members mention no code.

    Returns
    -------
    DataFrame
        segment, code, theme, valence, n, base, share, n_other, base_other, share_other, lift,
        p_value, significant: one row per segment and code mentioned anywhere.
    """
    cols = ["segment", "code", "theme", "valence", "n", "base", "share", "n_other", "base_other",
            "share_other", "lift", "p_value", "significant"]
    if freq.empty or bases.empty:
        return pd.DataFrame(columns=cols)
    codes = freq.drop_duplicates("code").set_index("code")[["theme", "valence"]]
    n = freq.pivot_table(index="segment", columns="code", values="n_mentions", aggfunc="sum", fill_value=0)
    n = n.reindex(index=bases.index, fill_value=0)
    total_n, total_base = n.sum(axis=0), int(bases.sum())
    rows = []
    for seg in bases.index:
        base = int(bases[seg])
        base_other = total_base - base
        for code in n.columns:
            k = int(n.at[seg, code])
            k_other = int(total_n[code]) - k
            share = k / base if base else math.nan
            share_other = k_other / base_other if base_other else math.nan
            if base_other == 0 or base == 0:
                lift, pv = math.nan, math.nan
            else:
                lift = share / share_other if share_other > 0 else (math.inf if k else math.nan)
                pv = float(proportion_change(k, base, k_other, base_other, confidence).p_value)
            rows.append({"segment": seg, "code": code, "theme": codes.at[code, "theme"],
                         "valence": codes.at[code, "valence"], "n": k, "base": base, "share": share,
                         "n_other": k_other, "base_other": base_other, "share_other": share_other,
                         "lift": lift, "p_value": pv,
                         "significant": bool(not _missing(pv) and pv < 1 - confidence)})
    return pd.DataFrame(rows, columns=cols)


def _pick(lift: pd.DataFrame, seg, valence: str, top: int, min_mentions: int, basis: str,
          min_lift: float) -> list[ThemeLift]:
    f = lift[(lift["segment"] == seg) & (lift["valence"] == valence) & (lift["n"] >= min_mentions)]
    if basis == "lift":  # what this segment raises more than the others do
        f = f[f["lift"] >= min_lift].sort_values(["lift", "n", "code"], ascending=[False, False, True])
    else:  # one segment: nothing to compare with, its most mentioned codes
        f = f.sort_values(["n", "code"], ascending=[False, True])
    return [ThemeLift(code=str(r.code), theme=str(r.theme), valence=str(r.valence), n=int(r.n), base=int(r.base),
                      share=float(r.share), n_other=int(r.n_other), base_other=int(r.base_other),
                      share_other=float(r.share_other), lift=float(r.lift), p_value=float(r.p_value),
                      significant=bool(r.significant))
            for r in f.head(top).itertuples()]


def _touchpoints(p: Persona, seg, verb: pd.DataFrame, perf: pd.DataFrame | None, min_base: int,
                 labels: dict[str, str]) -> None:
    seen = set()
    if perf is not None and not perf.empty:
        q = perf[(perf["segment"] == seg) & (perf["n"] >= min_base) & perf["performance"].notna()]
        for r in q.sort_values(["performance", "touchpoint"]).head(2).itertuples():
            p.touchpoints_low.append({"touchpoint": r.touchpoint, "label": labels.get(r.touchpoint, r.label),
                                      "csat": float(r.performance), "n": int(r.n)})
            seen.add(r.touchpoint)
    v = verb[verb["segment"] == seg]
    if "touchpoint" in v and len(v):
        vc = v["touchpoint"].dropna().astype("str").value_counts()
        vc = vc.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        for tp, n in vc.items():
            if len(p.touchpoints_mentioned) >= 2:
                break
            if tp not in seen:
                p.touchpoints_mentioned.append({"touchpoint": tp, "label": labels.get(tp, tp), "n": int(n),
                                                "share": float(n / len(v))})


def _texts(verbatims: pd.DataFrame, view: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Verbatims of known customers with the segment of the current segmentation."""
    v = verbatims.drop(columns=["segment"], errors="ignore")
    seg = v["customer_id"].map(segment_map(view, segments)) if "customer_id" in v else pd.Series(dtype="str")
    return v.assign(segment=seg.to_numpy())


def _value(p: pd.Series, key: str) -> float:
    x = p.get(key, math.nan)
    return math.nan if _missing(x) else float(x)


# --- building ----------------------------------------------------------------------------


def build_personas(profiles: pd.DataFrame, view: pd.DataFrame, segments: pd.Series, coded: pd.DataFrame,
                   verbatims: pd.DataFrame, perf_by_segment: pd.DataFrame | None = None, *,
                   min_base: int = 30, influences: pd.DataFrame | None = None,
                   touchpoint_labels: dict[str, str] | None = None, top: int = TOP_N,
                   min_mentions: int = MIN_MENTIONS, min_lift: float = MIN_LIFT) -> list[Persona]:
    """One :class:`Persona` per segment of ``profiles`` (in its order), built from the data.

    Parameters
    ----------
    profiles : DataFrame
        From :func:`cxlib.quant.segments.segment_profiles` (key numbers, channel, region).
    view, segments : DataFrame, Series
        The single customer view and the labels from :func:`cxlib.quant.segments.assign_segments`.
    coded, verbatims : DataFrame
        :func:`cxlib.voice.coding.auto_code` output and the verbatims it coded. Each verbatim gets the
        segment of its customer under ``segments`` (texts without a known customer, e.g.
        social mentions, belong to no segment). Goals are the positive-valence codes, challenges
        the negative ones, that the segment mentions more often than the other segments do (lift
        of at least ``min_lift``, in at least ``min_mentions`` of its texts), largest lift first,
        at most ``top`` each (:func:`theme_lift`); none when nothing stands out. With a single
        segment they are its most mentioned codes.
    perf_by_segment : DataFrame, optional
        From :func:`touchpoint_performance_by_segment`: adds the two lowest-rated touchpoints
        (bases >= ``min_base`` only) to the most-mentioned ones.
    influences : DataFrame, optional
        From :func:`traffic_sources` (segment, source, share): the top web traffic sources.
        Competitor mentions (codes of a theme named like "Competition") are always measured.
    touchpoint_labels : dict, optional
        Touchpoint id -> the client's label (``params.touchpoint_labels()``).

    Returns
    -------
    list of Persona
        Data only; :func:`cxlib.report.personas.persona_cards` draws them.
    """
    labels = dict(touchpoint_labels or {})
    verb = _texts(verbatims, view, segments)
    bases_df = base_verbatims(verb, "text", ("customer",))  # the texts theme shares are over
    bases = bases_df["segment"].value_counts().reindex(list(profiles["segment"]), fill_value=0)
    if coded is None or coded.empty or "theme" not in coded or verb.empty:  # no text coded: no themes to tell
        freq = pd.DataFrame(columns=["segment", "code", "theme", "valence", "n_mentions", "base", "share"])
        by_theme = pd.DataFrame(columns=["segment", "theme", "n_mentions", "base", "share"])
    else:
        freq = theme_frequency(coded, verb, by="segment", level="code", missing_label=None)
        freq = freq[freq["segment"].notna()]
        by_theme = theme_frequency(coded, verb, by="segment", level="theme", missing_label=None)
    lift = theme_lift(freq, bases)
    basis = "lift" if (bases > 0).sum() > 1 else "share"
    avg_rev = float(pd.to_numeric(view["revenue"], errors="coerce").mean()) if "revenue" in view else math.nan
    seg_arr = segments.to_numpy()
    out: list[Persona] = []
    for _, prof in profiles.iterrows():
        seg = prof["segment"]
        g = view[seg_arr == seg]
        n_texts = int(bases.get(seg, 0))
        rev = _value(prof, "revenue_per_customer")
        p = Persona(
            segment=str(seg), customers=int(prof["customers"]), share=float(prof["share"]),
            small_base=bool(prof["small_base"]) or n_texts < min_base,
            nps=_value(prof, "nps"), nps_ci_low=_value(prof, "nps_ci_low"), nps_ci_high=_value(prof, "nps_ci_high"),
            nps_n=int(prof["nps_n"]) if not _missing(prof.get("nps_n")) else 0,
            churn_rate=_value(prof, "churn_rate"), revenue_per_customer=rev,
            revenue_share=_value(prof, "revenue_share"),
            spend_ratio=rev / avg_rev if avg_rev and avg_rev > 0 and not _missing(rev) else math.nan,
            top_channel=None if _missing(prof.get("top_channel")) else str(prof["top_channel"]),
            n_texts=n_texts, theme_basis=basis,
        )
        _demographics(p, g)
        if "plan" in g:
            sh = _shares(g["plan"], 1)
            p.plan = sh[0] if sh else None
        if "tenure_days" in g:
            t = pd.to_numeric(g["tenure_days"], errors="coerce").median()
            p.tenure_months = math.nan if _missing(t) else float(t) / 30.44
        p.goals = _pick(lift, seg, "positive", top, min_mentions, basis, min_lift)
        p.challenges = _pick(lift, seg, "negative", top, min_mentions, basis, min_lift)
        p.channels = _shares(g["preferred_channel"], 3) if "preferred_channel" in g else []
        _touchpoints(p, seg, verb, perf_by_segment, min_base, labels)
        if influences is not None and not influences.empty:
            f = influences[influences["segment"] == seg].sort_values(["share", "source"], ascending=[False, True])
            p.traffic_sources = [(str(s), float(v)) for s, v in zip(f["source"], f["share"], strict=True)]
        if n_texts:
            comp = by_theme[(by_theme["segment"] == seg)
                            & by_theme["theme"].astype("str").str.lower().str.startswith("compet")]
            p.competitor_share = float(comp["n_mentions"].sum() / n_texts) if len(comp) else 0.0
        out.append(p)
    return out
