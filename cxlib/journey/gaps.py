"""Journey and touchpoint gaps: performance per touchpoint, importance-performance analysis.

::

    perf, unmapped = touchpoint_performance(responses, params)   # every journey touchpoint
    quad = ipa(perf)                                             # quadrants, gaps, fix_rank
    fix_first(quad, top=5)                                       # what to fix first

Importance-performance analysis (IPA) follows Martilla & James (1977), "Importance-
Performance Analysis", Journal of Marketing 41(1): touchpoints are placed on a grid of
stated importance against performance (CSAT), split by crosshairs, and those that matter
much but perform poorly ("Concentrate here") are fixed first. Touchpoints with a base below
``params.thresholds.min_base`` are shown and flagged but never ranked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from cxlib.data.params import Params
from cxlib.quant.metrics import in_scope

CONCENTRATE = "Concentrate here"
KEEP_UP = "Keep up the good work"
LOW_PRIORITY = "Low priority"
OVERKILL = "Possible overkill"
QUADRANT_ORDER = [CONCENTRATE, KEEP_UP, LOW_PRIORITY, OVERKILL]

PERF_COLUMNS = [
    "stage", "stage_label", "touchpoint", "label", "owner", "target_csat", "n_responses", "n",
    "performance", "perf_ci_low", "perf_ci_high", "csat_t2b", "importance", "importance_n",
    "small_base",
]


def t_interval(mean, sd, n, confidence):
    """Student t interval ``mean ± t_{(1+c)/2, n-1} · sd / sqrt(n)``; NaN where n < 2."""
    mean, sd, n = (np.asarray(x, dtype=float) for x in (mean, sd, n))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(n >= 2, n - 1, np.nan)
        half = stats.t.ppf((1 + confidence) / 2, df) * sd / np.sqrt(n)
    return mean - half, mean + half


def touchpoint_performance(responses: pd.DataFrame, params: Params) -> tuple[pd.DataFrame, list[str]]:
    """Performance (CSAT) and stated importance of every journey touchpoint.

    From transactional survey responses (``survey_type == "transactional"``), per touchpoint:
    ``performance`` = mean CSAT (1-5) over ``n`` responses with a CSAT, with a Student t
    interval at ``params.thresholds.confidence`` (``mean ± t·s/√n``, NaN for n < 2);
    ``csat_t2b`` = share of CSAT 4-5 ("top two boxes"); ``importance`` = mean stated
    importance (1-5) over ``importance_n`` responses; ``small_base`` = n < min_base.

    Parameters
    ----------
    responses : DataFrame
        Survey responses (SurveyResponses contract): survey_type, touchpoint, csat, importance.
    params : Params
        The journey (stages, touchpoints, owners, target CSAT) and thresholds.

    Returns
    -------
    perf : DataFrame
        One row for EVERY touchpoint in ``params.journey``, in journey order (n = 0 and NaN
        scores for touchpoints without responses): stage, stage_label, touchpoint, label,
        owner, target_csat, n_responses (transactional responses at the touchpoint, with or
        without CSAT), n, performance, perf_ci_low, perf_ci_high, csat_t2b, importance,
        importance_n, small_base.
    unmapped : list of str
        Touchpoint ids found in transactional responses but not in the journey (sorted);
        their responses are not in ``perf`` - add them to the params file's journey.
        ``perf.attrs["n_unmapped_responses"]`` counts those responses and
        ``perf.attrs["n_without_touchpoint"]`` transactional responses with no touchpoint.
    """
    conf = params.thresholds.confidence
    t = responses.loc[in_scope(responses, "transactional")]
    tp_col = t["touchpoint"].astype("str")
    csat = pd.to_numeric(t["csat"], errors="coerce").astype(float)
    imp = pd.to_numeric(t["importance"], errors="coerce").astype(float)
    d = pd.DataFrame({"touchpoint": tp_col.to_numpy(), "csat": csat.to_numpy(), "imp": imp.to_numpy()})
    d["t2b"] = np.where(d["csat"].notna(), (d["csat"] >= 4).astype(float), np.nan)
    g = d.groupby("touchpoint", dropna=True)
    agg = pd.DataFrame(
        {
            "n_responses": g.size(),
            "n": g["csat"].count(),
            "performance": g["csat"].mean(),
            "sd": g["csat"].std(ddof=1),
            "csat_t2b": g["t2b"].mean(),
            "importance": g["imp"].mean(),
            "importance_n": g["imp"].count(),
        }
    )
    journey = pd.DataFrame(
        [
            {
                "stage": st.id, "stage_label": st.label, "touchpoint": tp.id, "label": tp.label,
                "owner": tp.owner, "target_csat": float(tp.target_csat),
            }
            for st in params.journey
            for tp in st.touchpoints
        ]
    )
    perf = journey.merge(agg, left_on="touchpoint", right_index=True, how="left")
    for col in ("n_responses", "n", "importance_n"):
        perf[col] = perf[col].fillna(0).astype(int)
    perf["perf_ci_low"], perf["perf_ci_high"] = t_interval(perf["performance"], perf["sd"], perf["n"], conf)
    perf["small_base"] = perf["n"] < params.thresholds.min_base
    known = set(journey["touchpoint"])
    unmapped_mask = d["touchpoint"].notna() & ~d["touchpoint"].isin(known)
    unmapped = sorted(d.loc[unmapped_mask, "touchpoint"].unique().tolist())
    perf = perf[PERF_COLUMNS].reset_index(drop=True)
    perf.attrs["n_unmapped_responses"] = int(unmapped_mask.sum())
    perf.attrs["n_without_touchpoint"] = int(d["touchpoint"].isna().sum())
    return perf, unmapped


def _scaled(x: pd.Series) -> pd.Series:
    """1-5 score on a 0-100 scale: ``(x - 1) / 4 * 100``."""
    return (x - 1) / 4 * 100


def ipa(perf: pd.DataFrame, crosshair: str = "mean") -> pd.DataFrame:
    """Importance-performance analysis: quadrant, gap and fix-first rank per touchpoint.

    Crosshairs
        ``"mean"``: mean importance and mean performance over touchpoints with an adequate
        base (not ``small_base``, both scores present), unweighted across touchpoints;
        ``"scale_mid"``: 3 and 3 (the midpoint of both 1-5 scales). Reported in
        crosshair_importance and crosshair_performance.
    Quadrants (Martilla & James 1977)
        importance >= c_I and performance < c_P: "Concentrate here";
        importance >= c_I and performance >= c_P: "Keep up the good work";
        importance < c_I and performance < c_P: "Low priority";
        importance < c_I and performance >= c_P: "Possible overkill".
        Missing scores (no responses) give no quadrant.
    Gap
        ``gap = importance_scaled - performance_scaled`` with ``(x - 1) / 4 * 100`` for both
        1-5 scales (0-100 points; positive = matters more than it performs).
    Rank
        ``fix_rank`` 1..k: "Concentrate here" touchpoints first by gap (largest first), then
        the other touchpoints by gap. Small bases and touchpoints without scores are never
        ranked (NaN); ``note`` says why.

    Parameters
    ----------
    perf : DataFrame
        From :func:`touchpoint_performance` (needs touchpoint, importance, performance,
        small_base; other columns such as label, n, owner, target_csat are kept).

    Returns
    -------
    DataFrame
        ``perf``'s columns plus crosshair_importance, crosshair_performance, quadrant,
        importance_scaled, performance_scaled, gap, fix_rank (nullable Int64), note.
    """
    out = perf.copy().reset_index(drop=True)
    scored = out["importance"].notna() & out["performance"].notna()
    adequate = scored & ~out["small_base"].astype(bool)
    if crosshair == "mean":
        c_imp = float(out.loc[adequate, "importance"].mean()) if adequate.any() else np.nan
        c_perf = float(out.loc[adequate, "performance"].mean()) if adequate.any() else np.nan
    elif crosshair == "scale_mid":
        c_imp, c_perf = 3.0, 3.0
    else:
        raise ValueError(f"crosshair must be 'mean' or 'scale_mid', not {crosshair!r}")
    out["crosshair_importance"] = c_imp
    out["crosshair_performance"] = c_perf
    high = out["importance"] >= c_imp
    good = out["performance"] >= c_perf
    quadrant = np.select(
        [high & ~good, high & good, ~high & ~good, ~high & good],
        [CONCENTRATE, KEEP_UP, LOW_PRIORITY, OVERKILL],
        default="",
    )
    out["quadrant"] = pd.Series(quadrant, dtype="str").where(scored & pd.notna(c_imp))
    out["importance_scaled"] = _scaled(out["importance"])
    out["performance_scaled"] = _scaled(out["performance"])
    out["gap"] = out["importance_scaled"] - out["performance_scaled"]
    rankable = adequate & out["quadrant"].notna()
    order = (
        out.loc[rankable]
        .assign(_first=lambda x: (x["quadrant"] != CONCENTRATE).astype(int), _pos=lambda x: x.index)
        .sort_values(["_first", "gap", "_pos"], ascending=[True, False, True])
        .index
    )
    out["fix_rank"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    out.loc[order, "fix_rank"] = np.arange(1, len(order) + 1)
    n = out["n"] if "n" in out else pd.Series(np.nan, index=out.index)
    note = np.where(
        ~scored, "no data",
        np.where(out["small_base"].astype(bool), "small base (n=" + n.astype("Int64").astype("str") + "): not ranked", ""),
    )
    out["note"] = pd.Series(note, dtype="str")
    return out


def fix_first(ipa_df: pd.DataFrame, top: int = 5, uplift: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fix-first list: the ``top`` ranked touchpoints of :func:`ipa`, rank 1 first.

    ``gap_to_target = target_csat - performance`` (CSAT points still to gain; negative =
    already above target). Unranked touchpoints (small base, no data) never appear. With
    ``uplift`` (:func:`cxlib.journey.drivers.uplift_table`) each row also carries the estimated NPS
    uplift from reaching the target, with its interval.

    Returns
    -------
    DataFrame
        rank, touchpoint, label, owner, performance, target_csat, gap_to_target, importance,
        quadrant, gap, n (+ uplift, uplift_ci_low, uplift_ci_high, share_of_r2).
    """
    r = ipa_df[ipa_df["fix_rank"].notna()].sort_values("fix_rank").head(top)
    out = pd.DataFrame(
        {
            "rank": r["fix_rank"].astype(int).to_numpy(),
            "touchpoint": r["touchpoint"].to_numpy(),
            "label": r["label"].to_numpy(),
            "owner": r["owner"].to_numpy(),
            "performance": r["performance"].to_numpy(dtype=float),
            "target_csat": r["target_csat"].to_numpy(dtype=float),
            "gap_to_target": (r["target_csat"] - r["performance"]).to_numpy(dtype=float),
            "importance": r["importance"].to_numpy(dtype=float),
            "quadrant": r["quadrant"].to_numpy(),
            "gap": r["gap"].to_numpy(dtype=float),
            "n": r["n"].to_numpy() if "n" in r else np.nan,
        }
    )
    if uplift is not None:
        cols = ["touchpoint", "uplift", "uplift_ci_low", "uplift_ci_high", "share_of_r2"]
        out = out.merge(uplift[cols], on="touchpoint", how="left")
    return out
