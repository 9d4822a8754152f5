"""The mapping goal frames the map (method step 1): the whole journey, or a focus.

::

    goal = MappingGoal.from_mapping(raw_params.get("goal"))     # or MappingGoal() for the whole journey
    problems = goal.check(ctx.params, codebook)                  # unknown names, for a ParameterError
    tps = focus_order(snapshot.touchpoints, goal, code="top_pain")   # focus first, marked
    recs = focus_order(recommendations, goal)                        # any frame with a touchpoint column

A focus ("reduce late-delivery complaints") names the touchpoints, stages, themes or codes,
KPIs and method questions it concerns. :func:`focus_order` marks the rows of any tidy frame
that fall in the focus (``in_focus``, with the reason) and moves them first, keeping the
order within each part, so the map, the summary and the recommendations lead with the focus
and keep the rest. For the whole journey every row is in focus and the order is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from cxlib.data.params import Params
from cxlib.exceptions import ParameterError
from cxlib.journey.questions import QUESTION_IDS

__all__ = ["MappingGoal", "focus_order", "focus_touchpoints"]

_LIST_KEYS = ("touchpoints", "stages", "themes", "kpis", "questions")


def _fold(x) -> str:
    return str(x).strip().casefold()


@dataclass(frozen=True)
class MappingGoal:
    """What the map is for (params key ``goal``).

    statement : str or None
        The goal in the client's words ("Reduce late-delivery complaints").
    scope : "whole_journey" or "focus"
        A focus narrows the lead of the map, the summary and the recommendations.
    touchpoints, stages : tuple of str
        Journey ids in focus (a stage brings all its touchpoints).
    themes : tuple of str
        Codebook themes or codes in focus (matched without regard to case).
    kpis : tuple of str
        Metric keys in focus (``nps``, ``csat``, ``ces``, ``late_delivery_rate``,
        ``repeat_contact_rate``...), matched against a frame's KPI column.
    questions : tuple of str
        Method questions in focus (:data:`cxlib.journey.questions.QUESTION_IDS`).
    """

    statement: str | None = None
    scope: Literal["whole_journey", "focus"] = "whole_journey"
    touchpoints: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    kpis: tuple[str, ...] = ()
    questions: tuple[str, ...] = ()

    @property
    def is_focus(self) -> bool:
        return self.scope == "focus"

    @classmethod
    def from_mapping(cls, raw: Mapping | None, source: str = "params goal") -> MappingGoal:
        """A goal from a params mapping; unknown keys or a bad scope raise ParameterError naming the key.

        A mapping that names touchpoints, stages, themes, KPIs or questions without a scope
        is a focus.
        """
        if not raw:
            return cls()
        if not isinstance(raw, Mapping):
            raise ParameterError(f"{source}: expected a mapping (statement, scope, touchpoints, ...).")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ParameterError(f"{source}: unknown key(s) {unknown}; known keys are {sorted(known)}.")
        kw: dict = {}
        for key in _LIST_KEYS:
            v = raw.get(key) or ()
            if isinstance(v, str):
                v = (v,)
            if not isinstance(v, Sequence) or not all(isinstance(x, str) and x.strip() for x in v):
                raise ParameterError(f"{source}.{key}: give a list of names, e.g. [delivery, phone_support].")
            kw[key] = tuple(x.strip() for x in v)
        scope = raw.get("scope") or ("focus" if any(kw.values()) else "whole_journey")
        if scope not in ("whole_journey", "focus"):
            raise ParameterError(f"{source}.scope: {scope!r} is not whole_journey or focus.")
        if scope == "focus" and not any(kw.values()):
            raise ParameterError(f"{source}: a focus must name touchpoints, stages, themes, kpis or questions.")
        statement = raw.get("statement")
        return cls(statement=None if statement is None else str(statement), scope=scope, **kw)

    def check(self, params: Params, codebook: pd.DataFrame | None = None) -> list[str]:
        """Names in the goal that the journey, the codebook or the method does not know (one message each)."""
        out = []
        tps = {tp.id for tp in params.touchpoints}
        stages = {st.id for st in params.journey}
        out += [f"goal.touchpoints: {t!r} is not a journey touchpoint ({', '.join(sorted(tps))})"
                for t in self.touchpoints if t not in tps]
        out += [f"goal.stages: {s!r} is not a journey stage ({', '.join(sorted(stages))})"
                for s in self.stages if s not in stages]
        out += [f"goal.questions: {q!r} is not a method question ({', '.join(QUESTION_IDS)})"
                for q in self.questions if q not in QUESTION_IDS]
        if codebook is not None and self.themes:
            names = {_fold(x) for col in ("theme", "code") if col in codebook for x in codebook[col].dropna()}
            out += [f"goal.themes: {t!r} is neither a theme nor a code of the codebook"
                    for t in self.themes if _fold(t) not in names]
        return out


def focus_touchpoints(goal: MappingGoal, params: Params, pains: pd.DataFrame | None = None,
                      codebook: pd.DataFrame | None = None) -> list[str]:
    """The journey touchpoints in focus, in journey order (all of them for the whole journey).

    A touchpoint is in focus when the goal names it or its stage, or when its top pain point
    (``pains``: touchpoint, code, optional rank and theme; rank 1 when ranked) is a theme or
    code the goal names (a code's theme is read from ``codebook`` when ``pains`` has none).
    """
    ids = [tp.id for tp in params.touchpoints]
    if not goal.is_focus:
        return ids
    stage_of = params.stage_of()
    chosen = {t for t in ids if t in goal.touchpoints or stage_of.get(t) in goal.stages}
    if pains is not None and goal.themes and {"touchpoint", "code"} <= set(pains.columns):
        themes = {_fold(t) for t in goal.themes}
        p = pains[pains["code"].notna()]
        if "rank" in p:
            p = p[p["rank"] == 1]
        theme = p["theme"] if "theme" in p else None
        if theme is None and codebook is not None and {"code", "theme"} <= set(codebook.columns):
            theme = p["code"].map(dict(zip(codebook["code"], codebook["theme"], strict=True)))
        hit = p["code"].map(_fold).isin(themes)
        if theme is not None:
            hit |= theme.map(lambda x: _fold(x) if isinstance(x, str) else "").isin(themes)
        chosen |= set(p.loc[hit, "touchpoint"])
    return [t for t in ids if t in chosen]


def focus_order(frame: pd.DataFrame, goal: MappingGoal, *, touchpoint: str | None = "touchpoint",
                stage: str | None = "stage", theme: str | None = "theme", code: str | None = "code",
                kpi: str | None = None, question: str | None = "question",
                touchpoints: Sequence[str] | None = None) -> pd.DataFrame:
    """``frame`` with ``in_focus`` and ``focus_reason``, rows in focus first (order kept in each part).

    A row is in focus when its ``touchpoint`` column names a touchpoint in focus (the goal's,
    or ``touchpoints`` from :func:`focus_touchpoints` to include stages and pain points), its
    ``stage`` a stage of the goal, its ``theme`` or ``code`` column a theme or code of the goal
    (case-insensitive), its ``kpi`` column a KPI of the goal, or its ``question`` column a
    question of the goal. Columns named here but absent from the frame are ignored.
    ``focus_reason`` lists the matches (``touchpoint;theme``), empty when out of focus.
    For the whole journey every row is in focus, with reason ``whole_journey``.
    """
    out = frame.copy()
    if not goal.is_focus:
        out["in_focus"] = True
        out["focus_reason"] = "whole_journey"
        return out
    tps = set(touchpoints) if touchpoints is not None else set(goal.touchpoints)
    checks = [
        ("touchpoint", touchpoint, {_fold(t) for t in tps}),
        ("stage", stage, {_fold(s) for s in goal.stages}),
        ("theme", theme, {_fold(t) for t in goal.themes}),
        ("theme", code, {_fold(t) for t in goal.themes}),
        ("kpi", kpi, {_fold(k) for k in goal.kpis}),
        ("question", question, {_fold(q) for q in goal.questions}),
    ]
    reasons = pd.Series([[] for _ in range(len(out))], index=out.index, dtype=object)
    for name, col, wanted in checks:
        if not col or col not in out or not wanted:
            continue
        hit = out[col].map(lambda x, w=wanted: isinstance(x, str) and _fold(x) in w)
        for i in out.index[hit.to_numpy(dtype=bool)]:
            if name not in reasons[i]:
                reasons[i].append(name)
    out["in_focus"] = reasons.map(bool).astype(bool)
    out["focus_reason"] = reasons.map(";".join)
    key = (~out["in_focus"]).astype(int)
    return out.iloc[key.argsort(kind="stable")]
