"""The journey map figure: stage columns, touchpoint swim lanes, the emotion curve on top.

::

    from cxlib.journey.journey_map import emotion_by_stage
    from cxlib.report.journey_figure import journey_map

    emotion = emotion_by_stage(resp, ctx.params)              # the data (an analysis)
    fig = journey_map(ipa, ops, pains, emotion, ctx.params)   # the figure (presentation)

Each touchpoint is a rounded tile in its stage's column and its own lane, coloured by its
mean CSAT on an orange (below target) to blue (above) scale centred on the journey's target
(no red against green), sized by its number of survey responses (area proportional to n),
with the CSAT written inside and, beside it, its top pain point and its key operational
metric. The top panel draws the mean emotion of each stage with its interval. In a
right-to-left report the stages run from right to left and the lane labels sit on the right.
Every sentence the figure writes is a whole sentence of ``assets/strings/presentation.yml``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch, Patch

from cxlib.data.params import Params
from cxlib.report.plots import (
    BETTER,
    FIG_WIDTH,
    FONT_PT,
    WORSE,
    brand_palette,
    chart_rc,
    chart_text,
    chart_words,
    report_rtl,
)

__all__ = ["JOURNEY_CMAP", "journey_map"]

#: diverging, colour-blind safe: orange below the centre, blue above (Okabe-Ito ends)
JOURNEY_CMAP = LinearSegmentedColormap.from_list("cx_orange_blue", [WORSE, "#f4f4f4", BETTER])
_LANE_IN = 0.5  # inches per swim lane
_TILE_MAX = (0.78, 0.86)  # largest tile: share of a column's width, of a lane's height
_TILE_MIN = 0.5  # the smallest tile's side relative to the largest one (area 1:4)
_FONT, _WIDTH = FONT_PT, FIG_WIDTH
_t = chart_text


# --- layout ------------------------------------------------------------------------------------
@dataclass
class _Layout:
    """Where things go: column (x) per stage, lane (y) per touchpoint, lane 0 at the top."""

    stages: list  # (id, label)
    lanes: list  # touchpoint ids, journey order
    x: dict  # touchpoint -> column centre
    y: dict  # touchpoint -> lane centre
    stage_x: list  # column centre of each stage, journey order
    rtl: bool = False


def _layout(params: Params, rtl: bool = False) -> _Layout:
    """Columns left to right, or right to left (first stage on the right) when ``rtl``."""
    stages = [(s.id, s.label) for s in params.journey]
    k = len(stages)
    stage_x = [float(k - 1 - c) if rtl else float(c) for c in range(k)]
    lanes, x, y = [], {}, {}
    for col, st in enumerate(params.journey):
        for tp in st.touchpoints:
            x[tp.id], y[tp.id] = stage_x[col], float(len(lanes))
            lanes.append(tp.id)
    return _Layout(stages, lanes, x, y, stage_x, rtl)


def _wrap(s, width: int) -> str:
    return "\n".join(textwrap.wrap(_t(s), width=width, break_long_words=False)) or _t(s)


def _rows(frame: pd.DataFrame | None, **match) -> dict:
    """``touchpoint -> row dict`` of a per-touchpoint frame (first row per touchpoint)."""
    if frame is None or frame.empty:
        return {}
    f = frame
    for k, v in match.items():
        f = f[f[k] == v] if k in f else f
    return {r["touchpoint"]: r for r in f.drop_duplicates("touchpoint").to_dict("records")}


def _n(row: dict) -> int:
    """A row's base n (0 when missing)."""
    n = row.get("n")
    return int(n) if pd.notna(n) else 0


# --- colour and size ---------------------------------------------------------------------------
def _centre(params: Params, center: float | None) -> float:
    """The colour scale's centre: given, else the journey's median target CSAT, else 3.5."""
    if center is not None:
        return float(center)
    targets = [tp.target_csat for tp in params.touchpoints]
    return float(np.median(targets)) if targets else 3.5


def _centre_label(params: Params, center: float | None) -> str:
    if center is not None:
        return chart_words("pres.map.centre")
    targets = {tp.target_csat for tp in params.touchpoints}
    key = "target" if len(targets) == 1 else ("median_target" if targets else "scale_centre")
    return chart_words("pres.map." + key)


def _norm(values: pd.Series, centre: float) -> TwoSlopeNorm:
    """Diverging norm around ``centre``: equal reach both ways, whole half-points, inside 1-5."""
    v = values.dropna().to_numpy(dtype=float)
    reach = np.max(np.abs(v - centre), initial=0.5)
    reach = np.ceil(reach * 2) / 2
    return TwoSlopeNorm(vcenter=centre, vmin=max(1.0, centre - reach), vmax=min(5.0, centre + reach))


def _ink(rgba) -> str:
    """Black or white text, whichever reads better on ``rgba``."""
    r, g, b = to_rgb(rgba)
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "white"


def _scale(n: float, n_max: float) -> float:
    """Tile side relative to the largest tile: area proportional to n, floored at _TILE_MIN."""
    return max(_TILE_MIN, float(np.sqrt(n / n_max))) if n_max > 0 else 1.0


# --- drawing pieces ----------------------------------------------------------------------------
def _draw_lanes(ax, lay: _Layout, labels: dict, owners: dict, ns: dict) -> None:
    """Alternate lane shading, stage column separators, lane labels (touchpoint, owner, n)."""
    for i in range(0, len(lay.lanes), 2):
        ax.axhspan(i - 0.5, i + 0.5, color="#f2f2f2", zorder=0, linewidth=0)
    for c in range(1, len(lay.stages)):
        ax.axvline(c - 0.5, color="#d0d0d0", linewidth=0.8, zorder=0)
    ax.set_yticks(range(len(lay.lanes)),
                  [_t(labels[tp]) + ns.get(tp, "") + "\n" + _wrap(owners[tp], 22)
                   for tp in lay.lanes],
                  fontsize=_FONT)
    ax.set_xticks(lay.stage_x, [_wrap(lbl, 10) for _, lbl in lay.stages],
                  fontsize=_FONT, fontweight="bold")
    ax.tick_params(axis="x", top=False, bottom=False, labeltop=True, labelbottom=False)
    # lane labels at the reading start: the left, or the right in a right-to-left report
    ax.tick_params(axis="y", left=False, right=False, labelleft=not lay.rtl, labelright=lay.rtl)
    ax.set_xlim(-0.5, len(lay.stages) - 0.5)
    ax.set_ylim(len(lay.lanes) - 0.5, -0.5)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)


def _draw_tile(ax, tp: str, x: float, y: float, size: tuple, color, small: bool) -> None:
    """One rounded tile centred on (x, y); dashed edge for a small base."""
    w, h = size
    tile = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                          facecolor=color, edgecolor="#333333", linewidth=1.0,
                          linestyle="--" if small else "-", zorder=3, mutation_aspect=1 / 1.6)
    tile.set_gid(f"tile:{tp}")
    ax.add_patch(tile)


def _tile_value(ax, tp: str, x: float, y: float, value: float, color, size: float = _FONT + 1) -> None:
    ax.text(x, y, f"{value:.1f}", ha="center", va="center", fontsize=size,
            fontweight="bold", color=_ink(color), zorder=4, gid=f"value:{tp}")


def _ops_lines(ops: dict | None) -> list[str]:
    """The touchpoint's key operational metrics in a few words."""
    if not ops:
        return []
    parts = []
    for col, key in (("late_rate", "late"), ("drop_off", "drop"), ("resolution_rate", "resolved")):
        if pd.notna(ops.get(col)):
            parts.append(chart_words("pres.map." + key, share=f"{ops[col]:.0%}"))
    return parts[:2]


def _note(pain: dict | None, ops: dict | None, n: int, min_base: int) -> str:
    """Text beside a tile: top pain point (share of texts), operations, small-base flag."""
    lines = []
    if pain and isinstance(pain.get("label"), str):
        lines.append(chart_words("pres.map.top_pain", label=chart_text(pain["label"]),
                                 share=f"{pain['share']:.0%}"))
    lines += _ops_lines(ops)
    if 0 < n < min_base:
        lines.append(chart_words("pres.map.small", n=n))
    return "\n".join(_wrap_words(s, 40) for s in lines)


def _wrap_words(s: str, width: int) -> str:
    """Wrap a sentence that is already in the report's language (not translated again)."""
    return "\n".join(textwrap.wrap(s, width=width, break_long_words=False)) or s


def _tile_note(ax, tp: str, x: float, y: float, w: float, text: str, right: bool) -> None:
    if not text:
        return
    gap = w / 2 + 0.08
    ax.text(x + gap if right else x - gap, y, text, ha="left" if right else "right", va="center",
            fontsize=_FONT, color="#222222", zorder=4, linespacing=1.1, gid=f"label:{tp}")


def _no_data(ax, tp: str, x: float, y: float) -> None:
    ax.text(x, y, chart_words("pres.map.no_data"), ha="center", va="center", fontsize=_FONT,
            color="#666666", zorder=4, gid=f"value:{tp}")  # no italic: DejaVu's has no Arabic


def _is_dip(y: np.ndarray, i: int) -> bool:
    """Whether point i lies below its neighbours' mean (its label then goes underneath)."""
    nb = [y[j] for j in (i - 1, i + 1) if 0 <= j < len(y) and np.isfinite(y[j])]
    return bool(nb) and y[i] < np.mean(nb)


def _draw_emotion(ax, emotion: pd.DataFrame, lay: _Layout, color: str, conf: float) -> None:
    """Mean emotion per stage with its interval band, a zero line, labelled points."""
    e = emotion.set_index("stage").reindex([s for s, _ in lay.stages])
    x = np.asarray(lay.stage_x, dtype=float)
    y, lo, hi = (e[c].to_numpy(dtype=float) for c in ("emotion", "ci_low", "ci_high"))
    ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0)
    ax.axhline(0, color="#555555", linewidth=0.9, linestyle="--")
    ax.plot(x, y, color=color, linewidth=2, marker="o", markersize=6, gid="emotion")
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        if np.isfinite(yi):
            below = _is_dip(y, i)
            ax.annotate(f"{yi:+.2f}", (xi, yi), xytext=(0, -8 if below else 7),
                        textcoords="offset points", ha="center", va="top" if below else "baseline",
                        fontsize=_FONT, color="#222222")
    basis = str(e["basis"].dropna().iloc[0]) if e["basis"].notna().any() else "csat"
    ax.set_ylabel(chart_words("pres.map.emotion_axis"), fontsize=_FONT)
    if lay.rtl:
        ax.yaxis.set_label_position("right")
        ax.yaxis.tick_right()
    ax.set_ylim(-1.05, 1.05)
    ax.set_yticks([-1, 0, 1], ["-1", "0", "+1"])
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    key = "pres.map.emotion_sentiment" if basis == "sentiment" else "pres.map.emotion_csat"
    ax.set_title(chart_words(key), fontsize=_FONT + 1, loc="right" if lay.rtl else "left")


def _colorbar(fig, ax, norm: TwoSlopeNorm, centre: float, centre_label: str, label: str) -> None:
    sm = ScalarMappable(norm=norm, cmap=JOURNEY_CMAP)
    cb = fig.colorbar(sm, ax=ax, location="bottom", shrink=0.55, aspect=30, pad=0.01)
    cb.set_label(label, fontsize=_FONT)
    ticks = sorted({norm.vmin, centre, norm.vmax})
    cb.set_ticks(ticks, labels=[f"{t:.1f}" + (f" ({centre_label})" if t == centre else "")
                                for t in ticks])
    cb.ax.tick_params(labelsize=_FONT)
    cb.ax.set_gid("colorbar")


def _size_handles(n_max: float, lane_pts: float) -> list:
    """Legend keys for tile size: squares for a large and a small n, in survey responses."""
    refs = sorted({int(round(n_max, -1)) or int(n_max), int(round(n_max / 4, -1)) or 1}, reverse=True)
    return [Line2D([], [], linestyle="", marker="s", markerfacecolor="#bbbbbb",
                   markeredgecolor="#333333", markersize=lane_pts * _TILE_MAX[1] * _scale(r, n_max),
                   label=chart_words("pres.map.responses", n=f"{r:,}")) for r in refs]


def _legend(fig, n_max: float, lane_pts: float, color: str, conf: float, min_base: int) -> None:
    handles = _size_handles(n_max, lane_pts) + [
        Patch(facecolor="white", edgecolor="#333333", linestyle="--",
              label=chart_words("pres.map.dashed", min_base=min_base)),
        Patch(facecolor=color, alpha=0.18, label=chart_words("pres.map.band", conf=f"{conf:.0%}")),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False,
               fontsize=_FONT, title=chart_words("pres.map.legend"), title_fontsize=_FONT, columnspacing=1.5,
               handletextpad=0.6, handlelength=2.6, handleheight=2.6, labelspacing=1.9)


# --- the figure --------------------------------------------------------------------------------
def _new_figure(n_lanes: int) -> tuple[Figure, object, object]:
    height = 2.9 + _LANE_IN * n_lanes
    fig = Figure(figsize=(_WIDTH, height), layout="constrained")
    FigureCanvasAgg(fig)
    ax_e, ax_m = fig.subplots(2, 1, sharex=True, height_ratios=[1.35, _LANE_IN * n_lanes])
    return fig, ax_e, ax_m


def _draw_touchpoint(ax, tp: str, x: float, y: float, row: dict, n_max: int, norm,
                     min_base: int) -> float:
    """One touchpoint's tile and CSAT (or a "no responses" mark); returns the tile's width."""
    value, n = float(row.get("performance", np.nan)), _n(row)
    if not np.isfinite(value) or n == 0:
        _no_data(ax, tp, x, y)
        return 0.95  # the mark's width, in columns
    s = _scale(n, n_max)
    color = JOURNEY_CMAP(norm(value))
    _draw_tile(ax, tp, x, y, (_TILE_MAX[0] * s, _TILE_MAX[1] * s), color, n < min_base)
    _tile_value(ax, tp, x, y, value, color, _FONT if s < 0.7 else _FONT + 1)
    return _TILE_MAX[0] * s


def _draw_tiles(ax, lay: _Layout, perf: dict, pains: dict, ops: dict, norm, min_base: int) -> int:
    """Every touchpoint's tile and, beside it (towards the emptier side), its note; returns max n."""
    n_max = max([_n(r) for r in perf.values()] + [0])
    for tp in lay.lanes:
        x, y, row = lay.x[tp], lay.y[tp], perf.get(tp, {})
        w = _draw_touchpoint(ax, tp, x, y, row, n_max, norm, min_base)
        note = _note(pains.get(tp), ops.get(tp), _n(row), min_base)
        _tile_note(ax, tp, x, y, w, note, right=x < (len(lay.stages) - 1) / 2)
    return n_max


def journey_map(perf: pd.DataFrame, ops: pd.DataFrame | None, pains: pd.DataFrame | None,
                emotion: pd.DataFrame, params: Params, *, center: float | None = None,
                title: str | None = None, rtl: bool | None = None) -> Figure:
    """The journey map: stage columns, touchpoint swim lanes, emotion curve across the top.

    Parameters
    ----------
    perf : DataFrame
        :func:`cxlib.journey.gaps.touchpoint_performance` (or :func:`cxlib.journey.gaps.ipa`) output:
        touchpoint, performance (mean CSAT 1-5), n, label, owner.
    ops : DataFrame or None
        :func:`cxlib.journey.operations.touchpoint_operations` output (late_rate, drop_off,
        resolution_rate... written beside the tile).
    pains : DataFrame or None
        :func:`cxlib.journey.operations.pain_points` output (its rank-1 code is written beside the tile).
    emotion : DataFrame
        :func:`cxlib.journey.journey_map.emotion_by_stage` output.
    params : Params
        The journey (column and lane order), ``thresholds.min_base`` and ``confidence``, branding.
    center : float, optional
        The colour scale's centre (default: the median of the touchpoints' target CSAT, or 3.5).
    title : str, optional
        Plain text in the report's language (default: "Customer journey map", translated).
    rtl : bool, optional
        Stages from right to left, lane labels on the right; default: the report language
        set by :func:`cxlib.report.plots.set_theme` (or ``params.language == "ar"``).

    Returns
    -------
    Figure
        7.5 in wide, 2.9 in + 0.5 in per touchpoint high. Tiles are patches with gid
        ``"tile:<touchpoint>"``; their texts have gid ``"value:<touchpoint>"`` (CSAT) and
        ``"label:<touchpoint>"`` (pain point, operations).
    """
    for col in ("touchpoint", "performance", "n"):
        if col not in perf:
            raise ValueError(f"journey_map: perf has no column {col!r}; pass touchpoint_performance() output.")
    if rtl is None:
        rtl = report_rtl() or getattr(params, "language", "en") == "ar"
    lay = _layout(params, rtl)
    centre = _centre(params, center)
    norm = _norm(perf["performance"], centre)
    color = brand_palette(params.branding)[0]
    th = params.thresholds
    labels = {tp.id: tp.label for tp in params.touchpoints}
    owners = {tp.id: tp.owner for tp in params.touchpoints}
    with mpl.rc_context(chart_rc()), sns.axes_style("white"):
        fig, ax_e, ax_m = _new_figure(len(lay.lanes))
        _draw_emotion(ax_e, emotion, lay, color, th.confidence)
        ns = {tp: " " + chart_words("pres.map.lane_n", n=_n(r)) for tp, r in _rows(perf).items() if _n(r)}
        _draw_lanes(ax_m, lay, labels, owners, ns)
        n_max = _draw_tiles(ax_m, lay, _rows(perf), _rows(pains, rank=1), _rows(ops), norm,
                            th.min_base)
        _colorbar(fig, ax_m, norm, centre, _centre_label(params, center), chart_words("pres.map.csat_axis"))
        _legend(fig, n_max, _LANE_IN * 72, color, th.confidence, th.min_base)
        fig.suptitle(chart_text(title) if title else chart_words("pres.map.title"), fontsize=_FONT + 3,
                     x=0.98 if rtl else 0.02, ha="right" if rtl else "left")
    return fig
