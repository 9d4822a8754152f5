"""Markdown builders for the report's first screen and its recurring blocks.

Each builder is a pure function: plain arguments (or the small dataclasses below) in, a
pandoc Markdown string out, made of fenced divs (``::: {.kpi}``) and bracketed spans
(``[23]{.kpi-value}``). The HTML stylesheet (``assets/report.css``) and the PDF filter
(``assets/report.lua`` + ``report.typ``) draw them: KPI tiles in a row, a 2x2 SWOT grid,
boxed notes. Nothing here imports an analysis; a notebook turns analysis results into
these arguments and publishes the Markdown with :func:`cxlib.report.display.show_text`::

    from cxlib.report import blocks
    tiles = blocks.tiles_from_kpis(kpis, tr=tr)          # metrics.kpi_tiles() output
    show_text(blocks.first_screen(
        blocks.kpi_tiles(tiles, tr=tr),
        blocks.top_findings([blocks.Finding(s, base="740 responses") for s in sentences], tr=tr),
        blocks.top_actions([blocks.Action("Fix delivery slots", owner="Logistics")], tr=tr),
    ))

Every string a builder receives is treated as text a client or customer may have written:
it is escaped with :func:`cxlib.report.display.md_escape` (and, in an Arabic report, its
left-to-right runs are wrapped in direction isolates), so it can never become markup. Wrap a
string in :class:`Md` to pass Markdown you built and escaped yourself (bold, a link).

The words the blocks add ("Significant change", "Top findings", the SWOT quadrant names)
come from ``assets/strings/presentation.yml`` through :class:`cxlib.report.i18n.Translator`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cxlib.report.display import MISSING, md_escape
from cxlib.report.i18n import Translator, isolate_numbers

__all__ = [
    "Action",
    "Finding",
    "Md",
    "MissingAnalysis",
    "Persona",
    "SwotItem",
    "Tile",
    "first_screen",
    "kpi_tiles",
    "not_in_report",
    "note_box",
    "persona_cards",
    "swot_grid",
    "tiles_from_kpis",
    "top_actions",
    "top_findings",
]

#: The class of the div that :func:`cxlib.report.render.assemble` and the templates put first.
FIRST_SCREEN = "first-screen"
UP, DOWN = "\u25b2", "\u25bc"  # ▲ ▼


class Md(str):
    """Markdown the caller built and escaped itself: the builders insert it unchanged."""

    __slots__ = ()


def _tr(tr: Translator | None) -> Translator:
    return tr if tr is not None else Translator("en")


def _text(s, tr: Translator) -> str:
    """A caller's string as safe Markdown: escaped, Latin runs isolated in right-to-left text."""
    if isinstance(s, Md):
        return str(s)
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return ""
    s = str(s)
    return md_escape(isolate_numbers(s) if tr.rtl else s)


def _words(tr: Translator, key: str, **values) -> str:
    """One of our own sentences (presentation.yml) with the caller's values escaped.

    The values are put in after the translator has isolated the sentence's own numbers, so an
    escaped value ("\\-12") is never cut by an isolate after its backslash.
    """
    tokens = {k: chr(0xE000 + i) for i, k in enumerate(values)}
    out = tr(key, **tokens)
    for k, v in values.items():
        out = out.replace(tokens[k], str(v) if isinstance(v, _Raw) else _text(v, tr))
    return out


class _Raw(str):
    """A value already escaped and isolated: inserted into a sentence as it is."""

    __slots__ = ()


def _iso(s: str, tr: Translator) -> str:
    """A number we formatted, isolated in right-to-left text so '+23' does not become '23+'."""
    return isolate_numbers(s) if tr.rtl else s


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _num(x: float, digits: int, signed: bool = False) -> str:
    if _missing(x):
        return MISSING
    s = f"{float(x):+,.{digits}f}" if signed else f"{float(x):,.{digits}f}"
    return s.replace("-", "\u2212")  # a real minus sign: never split from its digits


# --- KPI tiles ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    """One KPI tile: the value, its interval, the change and whether it is significant, the base.

    ``value=None`` draws a "not measured" tile (``reason`` says why); ``previous=None`` (or a
    missing ``change``) says "no previous period". ``suffix`` follows every number ("%");
    ``signed`` writes "+23" (NPS). ``higher_is_better`` decides which significant change is
    drawn as an improvement (blue) and which as a decline (orange).
    """

    label: str
    value: float | None = None
    ci: tuple[float, float] | None = None
    change: float | None = None
    previous: str | None = None
    significant: bool = False
    n: int | None = None
    base: str | None = None
    suffix: str = ""
    digits: int = 0
    signed: bool = False
    higher_is_better: bool = True
    small_base: bool = False
    reason: str | None = None
    confidence: float = 0.95

    @property
    def measured(self) -> bool:
        return not _missing(self.value)

    @property
    def trend(self) -> str:
        """"better", "worse" (significant changes only) or "flat"."""
        if not self.significant or _missing(self.change) or self.change == 0:
            return "flat"
        return "better" if (self.change > 0) == self.higher_is_better else "worse"


def _tile(t: Tile, tr: Translator) -> str:
    label = f"[{_text(t.label, tr)}]{{.kpi-label}}"
    if not t.measured:
        parts = [label, f"[{tr('pres.tile.not_measured')}]{{.kpi-na}}"]
        if t.reason:
            parts.append(f"[{_text(t.reason, tr)}]{{.kpi-reason}}")
        return "::: {.kpi .kpi-missing}\n" + "\n\n".join(parts) + "\n:::"
    value = _num(t.value, t.digits, t.signed) + t.suffix
    parts = [label, f"[{_iso(value, tr)}]{{.kpi-value}}"]
    if t.ci is not None and not (_missing(t.ci[0]) or _missing(t.ci[1])):
        parts.append("[" + tr("pres.tile.ci", level=f"{t.confidence:.0%}",
                              lo=_num(t.ci[0], t.digits, t.signed) + t.suffix,
                              hi=_num(t.ci[1], t.digits, t.signed) + t.suffix) + "]{.kpi-ci}")
    if t.previous is None or _missing(t.change):
        parts.append(f"[{tr('pres.tile.no_previous')}]{{.kpi-change .kpi-none}}")
    else:
        arrow = UP if t.change > 0 else DOWN if t.change < 0 else "="
        change = _iso(_num(t.change, max(t.digits, 1), signed=True), tr)
        line = _words(tr, "pres.tile.change", arrow=_Raw(arrow), change=_Raw(change), previous=t.previous)
        badge = ("[" + tr("pres.tile.sig") + "]{.kpi-badge .kpi-sig}" if t.significant
                 else "[" + tr("pres.tile.not_sig") + "]{.kpi-badge .kpi-notsig}")
        parts.append(f"[{line}]{{.kpi-change}} {badge}")
    if t.n is not None:
        what = t.base if t.base is not None else tr("pres.tile.responses")
        base = _words(tr, "pres.tile.base", n=_Raw(_iso(f"{int(t.n):,}", tr)), what=what)
        if t.small_base:
            base += " · " + tr("pres.tile.small_base")
        parts.append(f"[{base}]{{.kpi-base}}")
    cls = ".kpi .kpi-" + t.trend + (" .kpi-small" if t.small_base else "")
    return f"::: {{{cls}}}\n" + "\n\n".join(parts) + "\n:::"


def kpi_tiles(tiles: Sequence[Tile], *, tr: Translator | None = None) -> str:
    """A row of KPI tiles (``:::: {.kpis}`` of ``::: {.kpi}``), first tile at the reading start.

    Markdown of one tile::

        ::: {.kpi .kpi-better}
        [NPS]{.kpi-label}

        [+23]{.kpi-value}

        [95% interval +18 to +28]{.kpi-ci}

        [▲ +3.1 vs 2026Q2]{.kpi-change} [Significant change]{.kpi-badge .kpi-sig}

        [Base: 740 responses]{.kpi-base}
        :::

    ``.kpi-better`` / ``.kpi-worse`` / ``.kpi-flat`` (and ``.kpi-missing``, ``.kpi-small``)
    let the stylesheet colour the change; the arrow and the badge carry the meaning without
    colour.
    """
    tr = _tr(tr)
    if not tiles:
        return ""
    inner = "\n\n".join(_tile(t, tr) for t in tiles)
    return f":::: {{.kpis}}\n{inner}\n::::"


def tiles_from_kpis(kpis, *, tr: Translator | None = None, previous: str | None = None,
                    confidence: float = 0.95, base: str | None = None) -> list[Tile]:
    """Tiles from :func:`cxlib.quant.metrics.kpi_tiles` output (read by column name only).

    Columns used: ``metric, label, unit, value, ci_low, ci_high, n, change, significant,
    small_base`` (``n_previous`` = 0 or a missing ``change`` means no previous period).
    ``previous`` names the previous period ("2026Q2"). Labels go through ``tr.term``.
    """
    tr = _tr(tr)
    out = []
    for r in kpis.to_dict("records"):
        unit = r.get("unit", "")
        pct, score = unit == "%", unit == "score"
        has_prev = previous is not None and not _missing(r.get("change")) and (r.get("n_previous") or 0) > 0
        value = r.get("value")
        out.append(Tile(
            label=tr.term(r.get("label", r.get("metric", ""))),
            value=None if _missing(value) or (r.get("n") or 0) == 0 else float(value),
            ci=(r.get("ci_low"), r.get("ci_high")),
            change=r.get("change") if has_prev else None,
            previous=previous if has_prev else None,
            significant=bool(r.get("significant", False)),
            n=None if _missing(r.get("n")) else int(r["n"]),
            base=base,
            suffix="%" if pct else "",
            digits=2 if score else 0,
            signed=r.get("metric") == "nps",
            small_base=bool(r.get("small_base", False)),
            confidence=confidence,
            reason=None if not _missing(value) and (r.get("n") or 0) else (
                tr("pres.tile.out_of_scope", n=int(r["out_of_scope"])) if not _missing(r.get("out_of_scope"))
                and int(r.get("out_of_scope") or 0) > 0 else tr("pres.tile.no_data")),
        ))
    return out


# --- findings and actions -------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A finding in plain words, the base it rests on, and where the evidence is."""

    text: str
    base: str | None = None
    section: str | None = None  # an anchor such as "sec-journey" (linked as "Details")


@dataclass(frozen=True)
class Action:
    """An action, who owns it, and (optionally) its expected effect and the reason."""

    text: str
    owner: str | None = None
    impact: str | None = None
    why: str | None = None


def _anchor(section: str) -> str:
    s = section.lstrip("#")
    if not s or any(c in s for c in " ()[]{}<>\"'\\"):
        raise ValueError(f"section anchor {section!r} must be an id such as 'sec-journey'")
    return s


def top_findings(findings: Iterable[Finding | str], *, tr: Translator | None = None,
                 title: str | None = None, limit: int = 3) -> str:
    """The top findings as a numbered list in a ``::: {.top-findings}`` box.

    Markdown::

        ::: {.top-findings}
        [Top findings]{.block-title}

        1. NPS fell 8 points, a significant change. [Base: 740 responses]{.finding-base} [Details](#sec-metrics){.finding-link}
        :::
    """
    tr = _tr(tr)
    items = [f if isinstance(f, Finding) else Finding(f) for f in findings][:limit]
    lines = []
    for i, f in enumerate(items, start=1):
        line = f"{i}. {_text(f.text, tr)}"
        if f.base:
            line += " [" + _words(tr, "pres.finding.base", base=f.base) + "]{.finding-base}"
        if f.section:
            line += f" [{tr('pres.finding.details')}](#{_anchor(f.section)}){{.finding-link}}"
        lines.append(line)
    if not lines:
        lines = [f"[{tr('pres.findings.none')}]{{.finding-none}}"]
    head = f"[{_text(title, tr) if title else tr('pres.findings.title')}]{{.block-title}}"
    return "::: {.top-findings}\n" + head + "\n\n" + "\n".join(lines) + "\n:::"


def top_actions(actions: Iterable[Action], *, tr: Translator | None = None,
                title: str | None = None, limit: int = 3) -> str:
    """The top actions, each with its owner, in a ``::: {.top-actions}`` box.

    Markdown::

        ::: {.top-actions}
        [Top actions]{.block-title}

        1. Fix delivery slots [Owner: Logistics]{.action-owner} [+4 NPS points]{.action-impact}
        :::
    """
    tr = _tr(tr)
    lines = []
    for i, a in enumerate(list(actions)[:limit], start=1):
        line = f"{i}. {_text(a.text, tr)}"
        if a.owner:
            line += " [" + _words(tr, "pres.action.owner", owner=a.owner) + "]{.action-owner}"
        if a.impact:
            line += f" [{_text(a.impact, tr)}]{{.action-impact}}"
        if a.why:
            line += f" [{_text(a.why, tr)}]{{.action-why}}"
        lines.append(line)
    if not lines:
        lines = [f"[{tr('pres.actions.none')}]{{.finding-none}}"]
    head = f"[{_text(title, tr) if title else tr('pres.actions.title')}]{{.block-title}}"
    return "::: {.top-actions}\n" + head + "\n\n" + "\n".join(lines) + "\n:::"


def first_screen(*blocks: str, title: str | None = None, tr: Translator | None = None) -> str:
    """Wrap the tiles, top findings and top actions in the ``.first-screen`` div.

    The offline renderer lifts every ``.first-screen`` div out of the body and draws it
    after the title and before the contents (HTML) or the outline (PDF). ``title`` (plain
    text) becomes a level-1 heading ``{#sec-summary}`` inside it.
    """
    tr = _tr(tr)
    parts = [b.strip() for b in blocks if b and b.strip()]
    if title:
        parts.insert(0, f"# {_text(title, tr)} {{#sec-summary .unlisted}}")
    return f"::::: {{.{FIRST_SCREEN}}}\n" + "\n\n".join(parts) + "\n:::::"


# --- SWOT ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SwotItem:
    """One SWOT item and the evidence behind it (a number with its base, a source)."""

    text: str
    evidence: str | None = None


_QUADRANTS = ("strengths", "weaknesses", "opportunities", "threats")


def swot_grid(strengths: Sequence[SwotItem | str], weaknesses: Sequence[SwotItem | str],
              opportunities: Sequence[SwotItem | str], threats: Sequence[SwotItem | str], *,
              tr: Translator | None = None, limit: int = 4) -> str:
    """A SWOT as a 2x2 grid: strengths and weaknesses (internal) on top, opportunities and
    threats (external) below; at most ``limit`` items per quadrant (the rest belong in the
    annex table).

    Markdown::

        :::: {.swot}
        ::: {.swot-q .swot-strengths}
        [Strengths]{.swot-title} [internal, helps]{.swot-hint}

        - Store CSAT 4.6 [CSAT 4.6 (n = 240)]{.swot-evidence}
        :::
        ... weaknesses, opportunities, threats
        ::::
    """
    tr = _tr(tr)
    out = []
    for q, items in zip(_QUADRANTS, (strengths, weaknesses, opportunities, threats), strict=True):
        lines = []
        for it in list(items)[:limit]:
            it = it if isinstance(it, SwotItem) else SwotItem(it)
            line = f"- {_text(it.text, tr)}"
            if it.evidence:
                line += f" [{_text(it.evidence, tr)}]{{.swot-evidence}}"
            lines.append(line)
        body = "\n".join(lines) if lines else f"[{tr('pres.swot.empty')}]{{.swot-empty}}"
        head = f"[{tr('pres.swot.' + q)}]{{.swot-title}} [{tr('pres.swot.' + q + '.hint')}]{{.swot-hint}}"
        out.append(f"::: {{.swot-q .swot-{q}}}\n{head}\n\n{body}\n:::")
    return ":::: {.swot}\n" + "\n\n".join(out) + "\n::::"


# --- notes ---------------------------------------------------------------------------------
def note_box(text: str, *, kind: str = "info", tr: Translator | None = None,
             title: str | None = None) -> str:
    """A boxed note. ``kind="missing"``: "This part could not be produced: <text>" (the
    reason); ``kind="info"``: a neutral box headed ``title`` (default "Note").

    Markdown::

        ::: {.note-box .note-missing}
        [This part could not be produced]{.note-title}

        The survey export has no customer ids, so churn cannot be linked to experience.
        :::
    """
    if kind not in ("info", "missing"):
        raise ValueError(f"note kind {kind!r} must be 'info' or 'missing'")
    tr = _tr(tr)
    head = _text(title, tr) if title else tr("pres.note." + kind)
    return f"::: {{.note-box .note-{kind}}}\n[{head}]{{.note-title}}\n\n{_text(text, tr)}\n:::"


@dataclass(frozen=True)
class MissingAnalysis:
    """An analysis the report does not have, and what the client would need to give for it."""

    analysis: str
    needs: str


def not_in_report(items: Iterable[MissingAnalysis | tuple[str, str]], *,
                  tr: Translator | None = None) -> str:
    """The "Not in this report" box: each missing analysis and what it would need.

    Markdown::

        ::: {.not-in-report}
        [Not in this report]{.block-title}

        - **Churn and at-risk customers**: needs a customer file with a churned flag and dates
        :::

    Returns ``""`` when nothing is missing.
    """
    tr = _tr(tr)
    lines = []
    for it in items:
        it = it if isinstance(it, MissingAnalysis) else MissingAnalysis(*it)
        lines.append(f"- **{_text(it.analysis, tr)}**" + _words(tr, "pres.missing.needs", needs=it.needs))
    if not lines:
        return ""
    return f"::: {{.not-in-report}}\n[{tr('pres.missing.title')}]{{.block-title}}\n\n" + "\n".join(lines) + "\n:::"


# --- persona cards -------------------------------------------------------------------------
@dataclass(frozen=True)
class Persona:
    """What a persona card shows (all plain text; lists are bullet lists)."""

    name: str
    segment: str
    role: str = ""
    demographics: str = ""
    goals: Sequence[str] = field(default_factory=tuple)
    challenges: Sequence[str] = field(default_factory=tuple)
    channels: str = ""
    numbers: str = ""
    small_base: bool = False


def _persona(p: Persona, tr: Translator) -> str:
    parts = [f"### {_text(p.name, tr)} {{.unnumbered .unlisted}}",
             f"[{_text(p.segment, tr)}]{{.persona-segment}}"
             + (f" *({tr('pres.tile.small_base')})*" if p.small_base else "")]
    if p.role:
        parts.append(f"[{_text(p.role, tr)}]{{.persona-role}}")
    for key, val in (("demographics", p.demographics), ("channels", p.channels), ("numbers", p.numbers)):
        if val:
            parts.append(f"**{tr('pres.persona.' + key)}:** {_text(val, tr)}")
    for key, vals in (("goals", p.goals), ("challenges", p.challenges)):
        if vals:
            parts.append(f"**{tr('pres.persona.' + key)}:**\n\n" + "\n".join(f"- {_text(v, tr)}" for v in vals))
    return "::: {.persona}\n" + "\n\n".join(parts) + "\n:::"


def persona_cards(personas: Sequence[Persona], *, tr: Translator | None = None) -> str:
    """Persona cards in a ``:::: {.personas}`` grid (two per row on a desktop, one on a phone;
    one unbreakable framed card each in the PDF). Same Markdown classes as
    :func:`cxlib.quant.personas.personas_markdown`, which the stylesheet and filter also draw."""
    tr = _tr(tr)
    return ":::: {.personas}\n" + "\n\n".join(_persona(p, tr) for p in personas) + "\n::::"
