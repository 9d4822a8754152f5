"""The journey map's data: the emotion of each journey stage, for the curve across the map.

::

    emotion = emotion_by_stage(resp, ctx.params)              # CSAT-based, or pass sentiment=

The figure itself (stage columns, touchpoint swim lanes, the emotion curve on top) is
presentation and lives in :func:`cxlib.report.journey_figure.journey_map`.
"""

from __future__ import annotations

import pandas as pd

from cxlib.data.params import Params
from cxlib.journey.gaps import t_interval
from cxlib.quant.metrics import in_scope

__all__ = ["EMOTION_COLUMNS", "emotion_by_stage"]

EMOTION_COLUMNS = ["stage", "stage_label", "emotion", "ci_low", "ci_high", "n", "basis"]


# --- emotion by stage -------------------------------------------------------------------------
def emotion_by_stage(verbatims_or_responses: pd.DataFrame, params: Params,
                     sentiment: pd.Series | None = None) -> pd.DataFrame:
    """Mean "emotion" (-1 negative .. +1 positive) of each journey stage, for the emotion curve.

    Basis ``"sentiment"`` (``sentiment`` given)
        ``verbatims_or_responses`` are verbatims and ``sentiment`` one score per verbatim
        (-1..1), aligned on their index; a verbatim's stage is its touchpoint's stage.
    Basis ``"csat"`` (default)
        ``verbatims_or_responses`` are survey responses; each transactional response's
        CSAT (1-5) is rescaled to ``(csat - 3) / 2`` (1 -> -1, 3 -> 0, 5 -> +1) and
        counted in its touchpoint's stage.

    ``emotion`` is the mean over the stage's scored rows, with a Student t interval
    (``mean ± t·s/√n`` at ``params.thresholds.confidence``; NaN for n < 2).

    Returns
    -------
    DataFrame
        One row per stage in journey order: stage, stage_label, emotion, ci_low, ci_high,
        n, basis (NaN emotion and n = 0 for a stage without scores). ``attrs``:
        n_without_stage (scored rows whose touchpoint is missing or not in the journey).
    """
    df = verbatims_or_responses
    if sentiment is not None:
        if not isinstance(sentiment, pd.Series):
            raise TypeError("sentiment must be a pandas Series aligned on the verbatims' index.")
        score, basis = pd.to_numeric(sentiment.reindex(df.index), errors="coerce"), "sentiment"
    else:
        df = df[in_scope(df, "transactional")]
        score, basis = (pd.to_numeric(df["csat"], errors="coerce") - 3) / 2, "csat"
    stage = df["touchpoint"].map(params.stage_of())
    d = pd.DataFrame({"stage": stage, "score": score.astype(float)}).dropna(subset=["score"])
    g = d.dropna(subset=["stage"]).groupby("stage")["score"]
    agg = pd.DataFrame({"emotion": g.mean(), "sd": g.std(ddof=1), "n": g.count()})
    out = pd.DataFrame({"stage": [s.id for s in params.journey],
                        "stage_label": [s.label for s in params.journey]})
    out = out.merge(agg, left_on="stage", right_index=True, how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    out["ci_low"], out["ci_high"] = t_interval(out["emotion"], out["sd"], out["n"],
                                                params.thresholds.confidence)
    out["basis"] = basis
    out = out[EMOTION_COLUMNS].reset_index(drop=True)
    out.attrs["n_without_stage"] = int(d["stage"].isna().sum())
    return out
