"""Personas: one data-built card per segment, rendered as cards in the HTML and the PDF.

::

    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    prof = segments.segment_profiles(view, seg, min_base=params.thresholds.min_base)
    coded = coding.auto_code(verb, book)
    perf = personas.touchpoint_performance_by_segment(resp, params, view, seg)   # optional
    infl = personas.traffic_sources(store, view, seg)                            # optional
    cards = personas.build_personas(prof, view, seg, coded, verb, perf, influences=infl)
    show_text(personas.personas_markdown(cards))

Everything on a card comes from the data: demographics from the single customer view, goals
(positive-valence codes) and challenges (negative-valence codes) from what the segment's own
members say (:func:`cxlib.voice.coding.theme_frequency`, shares of the segment's coded texts),
channels from preferred channels, the touchpoints that matter from the segment's lowest CSAT
and most-mentioned touchpoints, influences from web traffic sources and competitor mentions,
key numbers from :func:`cxlib.quant.segments.segment_profiles`. Only the name is invented: a first
name from a fixed list (Arabic and English, matched to the segment's majority gender) picked
by a stable hash of the segment label, and "the <segment in the singular>".
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cxlib.quant.segments import segment_map
from cxlib.report.display import fmt_ci, fmt_int, fmt_num, fmt_pct, md_escape
from cxlib.voice.coding import base_verbatims, code_label, theme_frequency

__all__ = [
    "Persona",
    "build_personas",
    "persona_markdown",
    "personas_markdown",
    "persona_name",
    "touchpoint_performance_by_segment",
    "traffic_sources",
]

#: first names personas are given (Arabic and English, alternating), by majority gender
FEMALE_NAMES = ("Sara", "Emma", "Noura", "Olivia", "Layla", "Grace", "Reem", "Hannah", "Maha", "Lucy",
                "Dana", "Chloe", "Amal", "Sophie", "Huda", "Zoe")
MALE_NAMES = ("Omar", "James", "Khalid", "Daniel", "Faisal", "Thomas", "Yousef", "Adam", "Ahmed", "Ben",
              "Majed", "Ryan", "Tariq", "Jack", "Saad", "Leo")
#: collective nouns that read oddly as "the family": the name adds a noun ("the family shopper")
_COLLECTIVE = {"family": "family shopper", "household": "household shopper", "couple": "couple",
               "group": "group buyer"}
#: goals and challenges listed per persona (most-mentioned first)
TOP_N = 3

LABELS = {
    "en": {"demographics": "Demographics", "goals": "Goals: what they value", "challenges": "Challenges",
           "channels": "Channels", "touchpoints": "Touchpoints that matter", "influences": "Influences",
           "numbers": "Key numbers", "none": "no clear signal in their comments", "small": "small base"},
    "ar": {"demographics": "الخصائص الديموغرافية", "goals": "الأهداف: ما يقدّرونه", "challenges": "التحديات",
           "channels": "القنوات", "touchpoints": "نقاط التواصل الأهم", "influences": "المؤثرات",
           "numbers": "أرقام رئيسية", "none": "لا توجد إشارة واضحة في تعليقاتهم", "small": "عينة صغيرة"},
}


@dataclass
class Persona:
    """One segment described as a person. Text fields are plain (escape when rendering).

    List fields hold short phrases such as ``"Delivery fast (18% of their comments)"``;
    ``numbers`` holds the key figures and ``data`` the raw values behind the card.
    """

    segment: str
    name: str
    role: str
    demographics: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    challenges: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    touchpoints: list[str] = field(default_factory=list)
    influences: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    small_base: bool = False
    data: dict[str, Any] = field(default_factory=dict)


# --- naming ------------------------------------------------------------------------------


def _stable_index(text: str, n: int) -> int:
    """Index in range(n) from SHA-256 of ``text`` (same in every process and Python version)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % n


def _singular(word: str) -> str:
    w = word
    low = w.lower()
    if low.endswith("ies") and len(w) > 4:
        return w[:-3] + ("Y" if w[-3:].isupper() else "y")
    if low.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(w) > 2:
        return w[:-1]
    return w


def _descriptor(segment: str) -> str:
    """'Value Seekers' -> 'value seeker'; 'Families' -> 'family shopper'; acronyms kept."""
    words = re.sub(r"\s+", " ", str(segment)).strip().split(" ")
    if not words or not words[0]:
        return "customer"
    words[-1] = _singular(words[-1])
    words = [w.lower() if (w[:1].isupper() and w[1:].islower()) or w.islower() else w for w in words]
    last = words[-1].lower()
    if last in _COLLECTIVE:
        words[-1] = _COLLECTIVE[last]
    return " ".join(words)


def persona_name(segment: str, female: bool = True, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Deterministic persona name: a first name by a stable hash of the label, then the role word.

    ``persona_name("Value Seekers")`` is always the same, e.g. "Maha, the value seeker". Names
    in ``taken`` are skipped (the next one in the list is used), so cards never share a name.
    """
    names = FEMALE_NAMES if female else MALE_NAMES
    start = _stable_index(str(segment), len(names))
    for i in range(len(names)):
        first = names[(start + i) % len(names)]
        if first not in taken:
            break
    return f"{first}, the {_descriptor(segment)}"


# --- inputs ------------------------------------------------------------------------------


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

    Sessions are counted per customer and source in the engine (web events never come into
    pandas); the small per-customer table is joined to the segments here. Returns segment,
    source, sessions, share (of the segment's sessions), sorted by segment then sessions.
    """
    w = store.table("web_events")
    w = w.filter(w.customer_id.notnull())
    if as_of is not None:
        w = w.filter(w.event_time < pd.Timestamp(as_of))
    per = w.group_by(["customer_id", "source"]).aggregate(sessions=w.session_id.nunique()).to_pandas()
    per["segment"] = per["customer_id"].map(segment_map(view, segments))
    per = per[per["segment"].notna()]
    out = per.groupby(["segment", "source"], as_index=False)["sessions"].sum()
    out["share"] = out["sessions"] / out.groupby("segment")["sessions"].transform("sum")
    out = out.sort_values(["segment", "sessions", "source"], ascending=[True, False, True])
    return out.reset_index(drop=True)


# --- building ----------------------------------------------------------------------------


def _pct(x) -> str:
    return fmt_pct(x)


def _shares(s: pd.Series, top: int = 3) -> list[tuple[str, float]]:
    vc = s.dropna().astype("str").value_counts()
    vc = vc.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return [(str(k), float(v / len(s))) for k, v in vc.head(top).items()] if len(s) else []


def _demographics(g: pd.DataFrame) -> tuple[list[str], dict[str, Any]]:
    lines, data = [], {}
    if "age" in g:
        age = pd.to_numeric(g["age"], errors="coerce").dropna().astype(float)
        if len(age):
            q1, med, q3 = age.quantile([0.25, 0.5, 0.75])
            data.update(age_median=float(med), age_q1=float(q1), age_q3=float(q3),
                        age_min=float(age.min()), age_max=float(age.max()))
            lines.append(f"age {med:.0f} (middle half {q1:.0f}–{q3:.0f}; range {age.min():.0f}–{age.max():.0f})")
    if "gender" in g:
        sh = _shares(g["gender"], 3)
        data["gender"] = dict(sh)
        unknown = float(g["gender"].isna().mean()) if len(g) else 0.0
        if sh:
            lines.append(", ".join(f"{_pct(v)} {k}" for k, v in sh)
                         + (f", {_pct(unknown)} not stated" if unknown >= 0.005 else ""))
    if "household_size" in g:
        hh = pd.to_numeric(g["household_size"], errors="coerce").dropna()
        if len(hh):
            data["household_median"] = float(hh.median())
            lines.append(f"household of {fmt_num(hh.median(), 0)} (median)")
    if "income_band" in g:
        sh = _shares(g["income_band"], 1)
        if sh:
            data["income_band"] = sh[0]
            lines.append(f"income mostly {sh[0][0]} ({_pct(sh[0][1])})")
    if "city" in g:
        sh = _shares(g["city"], 2)
        data["cities"] = dict(sh)
        if sh:
            lines.append("lives in " + " and ".join(f"{k} ({_pct(v)})" for k, v in sh))
    return lines, data


def _themes(freq: pd.DataFrame, seg: str, valence: str, top: int) -> list[dict[str, Any]]:
    f = freq[(freq["segment"] == seg) & (freq["valence"] == valence)]
    f = f.sort_values(["n_mentions", "code"], ascending=[False, True]).head(top)
    return [{"code": r.code, "theme": r.theme, "label": code_label(r.code), "n": int(r.n_mentions),
             "base": int(r.base), "share": float(r.share)} for r in f.itertuples()]


def _touchpoints(seg: str, verb: pd.DataFrame, perf: pd.DataFrame | None, min_base: int,
                 labels: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    lines, data = [], {"lowest_rated": [], "most_mentioned": []}
    seen = set()
    if perf is not None and not perf.empty:
        p = perf[(perf["segment"] == seg) & (perf["n"] >= min_base) & perf["performance"].notna()]
        p = p.sort_values(["performance", "touchpoint"]).head(2)
        for i, r in enumerate(p.itertuples()):
            labels.setdefault(r.touchpoint, r.label)
            data["lowest_rated"].append({"touchpoint": r.touchpoint, "csat": float(r.performance), "n": int(r.n)})
            rank = "their lowest rated" if i == 0 else "their 2nd lowest"
            lines.append(f"{r.label}: CSAT {fmt_num(r.performance, 2)} of 5, {rank} (n\u00a0=\u00a0{fmt_int(r.n)})")
            seen.add(r.touchpoint)
    v = verb[(verb["segment"] == seg)]
    if "touchpoint" in v and len(v):
        vc = v["touchpoint"].dropna().astype("str").value_counts()
        vc = vc.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
        for tp, n in vc.items():
            if len(data["most_mentioned"]) >= 2:
                break
            if tp in seen:
                continue
            share = n / len(v)
            data["most_mentioned"].append({"touchpoint": tp, "n": int(n), "share": float(share)})
            lines.append(f"{labels.get(tp, tp.replace('_', ' ').capitalize())}: "
                         f"the subject of {_pct(share)} of their comments")
    return lines, data


def _texts(verbatims: pd.DataFrame, view: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Verbatims of known customers with the segment of the current segmentation."""
    v = verbatims.drop(columns=["segment"], errors="ignore")
    seg = v["customer_id"].map(segment_map(view, segments)) if "customer_id" in v else pd.Series(dtype="str")
    return v.assign(segment=seg.to_numpy())


def build_personas(profiles: pd.DataFrame, view: pd.DataFrame, segments: pd.Series, coded: pd.DataFrame,
                   verbatims: pd.DataFrame, perf_by_segment: pd.DataFrame | None = None, *,
                   min_base: int = 30, influences: pd.DataFrame | None = None,
                   touchpoint_labels: dict[str, str] | None = None, top: int = TOP_N) -> list[Persona]:
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
        social mentions, belong to no segment). Goals are the ``top`` positive-valence codes
        the segment mentions most, challenges the ``top`` negative ones, each with its share
        of the segment's coded-base texts (:func:`cxlib.voice.coding.theme_frequency`).
    perf_by_segment : DataFrame, optional
        From :func:`touchpoint_performance_by_segment`: adds the two lowest-rated touchpoints
        (bases >= ``min_base`` only) to the most-mentioned ones.
    influences : DataFrame, optional
        From :func:`traffic_sources` (segment, source, share): the top web traffic sources.
        Competitor mentions (codes of a theme named like "Competition") are always added.
    touchpoint_labels : dict, optional
        Touchpoint id -> reader label (``params.touchpoint_labels()``).
    """
    labels = dict(touchpoint_labels or {})
    verb = _texts(verbatims, view, segments)
    if coded is None or coded.empty or "theme" not in coded or verb.empty:  # no text coded: no themes to tell
        freq = pd.DataFrame(columns=["segment", "code", "theme", "valence", "n_mentions", "base", "share"])
    else:
        freq = theme_frequency(coded, verb, by="segment", level="code", missing_label=None)
        freq = freq[freq["segment"].notna()]
    bases = base_verbatims(verb, "text", ("customer",))  # the texts theme shares are over
    seg_arr = segments.to_numpy()
    out: list[Persona] = []
    taken: set[str] = set()
    for _, p in profiles.iterrows():
        seg = p["segment"]
        g = view[seg_arr == seg]
        demo_lines, demo = _demographics(g)
        female = demo.get("gender", {}).get("female", 0) >= demo.get("gender", {}).get("male", 0)
        name = persona_name(seg, female=female, taken=taken)
        taken.add(name.split(",")[0])
        goals = _themes(freq, seg, "positive", top)
        challenges = _themes(freq, seg, "negative", top)
        n_texts = int((bases["segment"] == seg).sum())

        def phrase(t: dict[str, Any]) -> str:
            return f"{t['label']} ({_pct(t['share'])} of their comments)"

        channels = _shares(g["preferred_channel"], 3) if "preferred_channel" in g else []
        tp_lines, tp_data = _touchpoints(seg, verb, perf_by_segment, min_base, labels)
        infl_lines, infl_data = [], {}
        if influences is not None and not influences.empty:
            f = influences[influences["segment"] == seg].sort_values(["share", "source"], ascending=[False, True])
            infl_data["traffic_sources"] = dict(zip(f["source"], f["share"], strict=True))
            if len(f):
                infl_lines.append("arrive online via " + ", ".join(
                    f"{str(s).replace('_', ' ')} {_pct(v)}" for s, v in zip(f["source"].head(3), f["share"].head(3),
                                                                           strict=True)))
        comp = freq[(freq["segment"] == seg) & freq["theme"].astype("str").str.lower().str.startswith("compet")]
        if n_texts:
            comp_share = float(comp["n_mentions"].sum() / n_texts) if len(comp) else 0.0
            infl_data["competitor_mentions_share"] = comp_share
            infl_lines.append(f"mention competitors in {_pct(comp_share)} of their comments")
        nps_txt = (f"NPS {fmt_num(p['nps'], 0)} {fmt_ci(p['nps_ci_low'], p['nps_ci_high'], 0)} (n\u00a0=\u00a0{fmt_int(p['nps_n'])})"
                   if not _missing(p["nps"]) else "NPS –")
        numbers = [f"{fmt_int(p['customers'])} customers ({_pct(p['share'])})", nps_txt,
                   f"churn {_pct(p['churn_rate'])}"]
        if not _missing(p["revenue_per_customer"]):
            numbers.append(f"revenue per customer {fmt_int(p['revenue_per_customer'])} "
                           f"({_pct(p['revenue_share'])} of revenue)")
        role = _role(p, g, view)
        out.append(Persona(
            segment=str(seg), name=name, role=role, demographics=demo_lines,
            goals=[phrase(t) for t in goals], challenges=[phrase(t) for t in challenges],
            channels=[f"{k} {_pct(v)}" for k, v in channels], touchpoints=tp_lines, influences=infl_lines,
            numbers=numbers, small_base=bool(p["small_base"]) or n_texts < min_base,
            data={"demographics": demo, "goals": goals, "challenges": challenges, "n_texts": n_texts,
                  "channels": dict(channels), "touchpoints": tp_data, "influences": infl_data,
                  "profile": {k: (v.item() if hasattr(v, "item") else v) for k, v in p.items()}},
        ))
    return out


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def _role(p: pd.Series, g: pd.DataFrame, view: pd.DataFrame) -> str:
    """One line from the data: size, spend vs average, plan, main channel, loyalty."""
    parts = [f"{_pct(p['share'])} of customers"]
    avg = float(pd.to_numeric(view["revenue"]).mean()) if "revenue" in view else float("nan")
    if avg > 0 and not _missing(p["revenue_per_customer"]):
        ratio = p["revenue_per_customer"] / avg
        parts.append("spends about the average" if 0.9 <= ratio <= 1.1
                     else f"spends {ratio:.1f}× the average" if ratio > 1
                     else f"spends {_pct(ratio)} of the average")
    if "plan" in g:
        sh = _shares(g["plan"], 1)
        if sh:
            parts.append(f"mostly on the {sh[0][0]} plan")
    if p["top_channel"] is not None and not _missing(p["top_channel"]):
        parts.append(f"prefers {p['top_channel']}")
    if "tenure_days" in g:
        t = pd.to_numeric(g["tenure_days"], errors="coerce").median()
        if not _missing(t):
            parts.append(f"a customer for {t / 30.44:.0f} months (median)")
    return "; ".join(parts)


# --- rendering ---------------------------------------------------------------------------


_ARABIC_RE = re.compile(r"[\u0600-\u06FF]")


def _value(text: str, rtl: bool) -> str:
    """Escaped value; in an Arabic card, text without Arabic letters is kept left-to-right."""
    v = md_escape(text)
    return f'[{v}]{{dir="ltr"}}' if rtl and v and not _ARABIC_RE.search(str(text)) else v


def _line(label: str, items: list[str], empty: str, rtl: bool = False) -> str:
    body = _value("; ".join(items), rtl) if items else f"*{md_escape(empty)}*"
    return f"**{md_escape(label)}:** {body}"


def _bullets(label: str, items: list[str], empty: str, rtl: bool = False) -> str:
    if not items:
        return f"**{md_escape(label)}:** *{md_escape(empty)}*"
    return f"**{md_escape(label)}:**\n\n" + "\n".join(f"- {_value(i, rtl)}" for i in items)


def persona_markdown(p: Persona, language: str = "en") -> str:
    """One persona as a fenced ``::: {.persona}`` card; every value escaped with md_escape.

    The heading is an unnumbered, un-listed level-3 heading (not in the table of contents).
    ``language="ar"`` gives Arabic field labels; values without Arabic letters (the data's
    English phrases, numbers) are then marked left-to-right so they keep their word order.
    """
    lab = LABELS.get(language, LABELS["en"])
    rtl = language == "ar"
    ltr = ' dir="ltr"' if rtl else ""
    flag = f" *({md_escape(lab['small'])})*" if p.small_base else ""
    parts = [
        "::: {.persona}",
        f"### {md_escape(p.name)} {{.unnumbered .unlisted}}",
        "",
        f"[{md_escape(p.segment)}]{{.persona-segment}}{flag}",
        "",
        f"[{md_escape(p.role)}]{{.persona-role{ltr}}}",
        "",
        _line(lab["demographics"], p.demographics, "–", rtl),
        "",
        _bullets(lab["goals"], p.goals, lab["none"], rtl),
        "",
        _bullets(lab["challenges"], p.challenges, lab["none"], rtl),
        "",
        _line(lab["channels"], p.channels, "–", rtl),
        "",
        _bullets(lab["touchpoints"], p.touchpoints, "–", rtl),
        "",
    ]
    if p.influences:
        parts += [_line(lab["influences"], p.influences, "–", rtl), ""]
    parts += [_line(lab["numbers"], p.numbers, "–", rtl), ":::"]
    return "\n".join(parts)


def personas_markdown(personas: list[Persona], language: str = "en") -> str:
    """All personas in a ``:::: {.personas}`` block: a responsive grid of cards in the HTML
    (two per row on a desktop, one on a phone) and one unbreakable framed card each in the PDF."""
    inner = "\n\n".join(persona_markdown(p, language) for p in personas)
    return f":::: {{.personas}}\n{inner}\n::::\n"
