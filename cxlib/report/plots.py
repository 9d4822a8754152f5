"""Report charts: tidy frame in, matplotlib :class:`~matplotlib.figure.Figure` out.

Every chart is sized for an A4 page (7.5 in wide, fonts >= 9 pt), labels its axes with
units, and explains what its colours mean in a legend. Figures are created with
:class:`matplotlib.figure.Figure` directly (not through pyplot), so building a chart never
changes global state and notebooks do not display it twice; return it as the last
expression of a cell, or ``fig.savefig(...)``.

Every text a chart draws goes through :func:`shape_text`, so Arabic labels are joined and
laid out right to left.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import Bbox

__all__ = [
    "FIG_WIDTH",
    "FONT_PT",
    "OKABE_ITO",
    "chart_rc",
    "chart_text",
    "chart_words",
    "report_rtl",
    "simulate_cvd",
    "figure_svg",
    "shape_text",
    "native_text_layout",
    "brand_palette",
    "set_theme",
    "kpi_trend_chart",
    "breakdown_chart",
    "ipa_chart",
    "theme_chart",
    "funnel_chart",
    "QUADRANT_COLORS",
]

#: Okabe & Ito's colour-blind-safe colours (2008), by name.
OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}
#: fixed meaning colours of the importance-performance quadrants: orange-red for "fix",
#: blues for "doing well", grey for "low priority"; never red against green
QUADRANT_COLORS: dict[str, str] = {
    "Concentrate here": OKABE_ITO["vermillion"],
    "Keep up the good work": OKABE_ITO["blue"],
    "Low priority": "#8c8c8c",
    "Possible overkill": OKABE_ITO["sky"],
}
#: "worse" and "better" in every chart that judges (journey tiles, KPI changes)
WORSE, BETTER = OKABE_ITO["vermillion"], OKABE_ITO["blue"]

_ARABIC = "[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]"
_GREY = "#b3b3b3"
FIG_WIDTH = 7.5  #: inches: A4 text width, the width of every report chart
FONT_PT = 9  #: pt: the smallest text a chart draws
_WIDTH, _FONT = FIG_WIDTH, FONT_PT

# Machado, Oliveira & Fernandes (2009) colour-vision-deficiency matrices, severity 1.0,
# applied to linear RGB.
_CVD = {
    "protan": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                        [-0.003882, -0.048116, 1.051998]]),
    "deutan": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                        [-0.011820, 0.042940, 0.968881]]),
    "tritan": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                        [0.004733, 0.691367, 0.303900]]),
}


def simulate_cvd(color, kind: str = "deutan") -> tuple[float, float, float]:
    """How ``color`` looks to someone with protanopia, deuteranopia or tritanopia (sRGB 0-1).

    Machado et al. (2009) matrices at full severity, applied in linear RGB. Used to keep
    the palette's colours apart for colour-blind readers.
    """
    if kind not in _CVD:
        raise ValueError(f"kind {kind!r} must be one of {sorted(_CVD)}")
    c = np.array(to_rgb(color))
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = np.clip(_CVD[kind] @ lin, 0, 1)
    srgb = np.where(out <= 0.0031308, 12.92 * out, 1.055 * out ** (1 / 2.4) - 0.055)
    return tuple(float(v) for v in srgb)


def _apart(a, b, min_dist: float = 0.2) -> bool:
    """Whether two colours stay apart for normal, protan and deutan vision (sRGB distance)."""
    pairs = [(np.array(to_rgb(a)), np.array(to_rgb(b)))]
    pairs += [(np.array(simulate_cvd(a, k)), np.array(simulate_cvd(b, k))) for k in ("protan", "deutan")]
    return all(np.linalg.norm(x - y) >= min_dist for x, y in pairs)


def native_text_layout() -> bool:
    """Whether matplotlib shapes and orders complex scripts itself.

    Matplotlib >= 3.11 lays text out with libraqm (HarfBuzz shaping + FriBiDi ordering) in
    every backend (Agg, PDF, PS, SVG paths); ``matplotlib.ft2font`` then exposes
    ``__libraqm_version__``. Older versions draw characters one by one, left to right.
    """
    from matplotlib import ft2font

    return hasattr(ft2font, "__libraqm_version__")


def shape_text(s, *, native: bool | None = None) -> str:
    """Make a label draw correctly in matplotlib: Arabic joined and right to left.

    Without complex-text layout, matplotlib draws characters one by one, left to right, in
    their isolated forms. For a string containing Arabic, the letters are then replaced by
    their joined presentation forms (``arabic_reshaper.reshape``) and the string is put
    into visual order with the Unicode bidirectional algorithm (python-bidi
    ``get_display``). When matplotlib lays text out itself (:func:`native_text_layout`,
    matplotlib >= 3.11) the logical string is already drawn correctly, and pre-shaping it
    would reverse it a second time, so it is returned unchanged. Strings without Arabic are
    always returned unchanged; ``None``/NaN become ``""`` and other objects ``str(obj)``.

    Parameters
    ----------
    s : object
        The label.
    native : bool, optional
        Whether the renderer does its own layout; ``None`` (default) asks matplotlib.
        Pass ``False`` to get the pre-shaped visual string for a renderer without layout.

    Returns
    -------
    str
    """
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return ""
    s = str(s)
    if not re.search(_ARABIC, s):
        return s
    if native is None:
        native = native_text_layout()
    if native:
        return s
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(s))


#: the report language's translator, set by :func:`set_theme` (None = English as written)
_TRANSLATOR = None
#: texts chart_words has already said and shaped (never looked up or shaped a second time)
_SAID: set[str] = set()


def chart_text(s) -> str:
    """A chart text in the report's language (set by :func:`set_theme`), shaped for
    matplotlib, with a literal '$' (not mathtext)."""
    return _t(s)


def chart_words(key: str, **values) -> str:
    """A whole sentence of ``assets/strings`` in the report's language, for a chart.

    Values are filled in before anything is translated (no word-by-word translation); the
    direction isolates the translator puts round numbers are dropped (matplotlib lays the
    line out itself, and DejaVu Sans has no glyph for them); the result is shaped.
    """
    from cxlib.report.i18n import Translator

    tr = _TRANSLATOR if _TRANSLATOR is not None else Translator("en")
    text = tr(key, **values)
    out = shape_text(re.sub("[\u2066-\u2069]", "", text)).replace("$", r"\$")
    _SAID.add(out)
    return out


def report_translator():
    """The translator of the report's language set by :func:`set_theme` (English when none is)."""
    from cxlib.report.i18n import Translator

    return _TRANSLATOR if _TRANSLATOR is not None else Translator("en")


def _term(s) -> str:
    """A name (a column, a group) as a term of the report's language, unshaped (for chart_words)."""
    return report_translator().term(s) if isinstance(s, str) else s


def _axis_name(column) -> str:
    """A column named on an axis or a legend title: its term in the report's language (English:
    'preferred_channel' -> 'Preferred channel'; a client's own header as written)."""
    if not isinstance(column, str):
        return column
    tr = report_translator()
    out = tr.label(column)
    return out[:1].upper() + out[1:] if not tr.rtl and out[:1].islower() else out


def chart_rc() -> dict:
    """The rcParams of every report chart (fonts >= 9 pt, DejaVu Sans for Latin and Arabic)."""
    return _rc()


def report_rtl() -> bool:
    """Whether the report language set by :func:`set_theme` reads right to left."""
    return _TRANSLATOR is not None and bool(getattr(_TRANSLATOR, "rtl", False))


def _t(s) -> str:
    """A chart text in the report's language, shaped, with a literal '$' (not mathtext)."""
    if isinstance(s, str) and s in _SAID:
        return s
    if _TRANSLATOR is not None and isinstance(s, str):
        s = _TRANSLATOR.term(s)
    return shape_text(s).replace("$", r"\$")


def _rc() -> dict:
    return {
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "xtick.labelsize": _FONT,
        "ytick.labelsize": _FONT,
        "legend.fontsize": _FONT,
        "legend.title_fontsize": _FONT,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "sans-serif"],
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
    }


def brand_palette(branding=None, n: int = 8) -> list[str]:
    """The chart palette: the brand's primary and accent colours, then colour-blind-safe ones.

    Parameters
    ----------
    branding : cxlib.data.params.Branding, optional
        Anything with ``primary_color`` and ``accent_color``; defaults to ``Branding()``.
    n : int, default 8
        Number of colours.

    Returns
    -------
    list of str
        Hex colours.
    """
    if branding is None:
        from cxlib.data.params import Branding

        branding = Branding()
    out = [branding.primary_color, branding.accent_color]
    # Okabe-Ito colours (no green: a line never has to be told from a red one), then darker
    # and lighter greys; each kept only if it stays apart from those already chosen for
    # normal, protan and deutan vision.
    o = OKABE_ITO
    candidates = [o["sky"], o["purple"], o["vermillion"], o["blue"], o["orange"], "#7a7a7a",
                  o["black"], "#b8b8b8", "#8a5a00", "#3d8fbf"]
    for c in candidates:
        if len(out) >= max(n, 2):
            break
        if all(_apart(c, d) for d in out):
            out.append(c)
    for c in candidates:  # a brand that crowds the palette: fill up with what is left
        if len(out) >= max(n, 2):
            break
        if c not in out:
            out.append(c)
    return out[: max(n, 2)]


def set_theme(branding=None, translator=None) -> list[str]:
    """Apply the report's seaborn theme (whitegrid, brand palette, A4-legible fonts).

    This sets matplotlib's global rcParams (as :func:`seaborn.set_theme` does) for the charts
    an analyst draws by hand in a notebook, and the language of every chart's titles, axis
    labels and legends (one report, one language, like the rcParams).

    Parameters
    ----------
    branding : cxlib.data.params.Branding, optional
    translator : cxlib.i18n.Translator, optional
        The report's language; None keeps the English labels.

    Returns
    -------
    list of str
        The palette (hex colours), primary colour first.
    """
    global _TRANSLATOR
    _TRANSLATOR = translator if translator is not None and translator.language != "en" else None
    palette = brand_palette(branding)
    sns.set_theme(context="notebook", style="whitegrid", palette=palette, rc=_rc())
    return palette


def figure_svg(fig) -> str:
    """Render a figure to SVG text for the HTML report (sharp at any zoom, e.g. on a phone).

    Text is drawn as outlines (``svg.fonttype = "path"``), so the SVG looks the same without
    the fonts and Arabic stays shaped; ids are stable (``svg.hashsalt``) and no date is
    written, so the same figure gives the same file. :func:`cxlib.report.display.show_figure`
    publishes it with its rasterized PNG (:func:`cxlib.report.display.svg_png`) for notebooks;
    the report uses the SVG.
    """
    import io

    import matplotlib as mpl

    buf = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "path", "svg.hashsalt": "cxlib", "svg.image_inline": True}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def _figure(height: float) -> tuple[Figure, object]:
    """A whitegrid figure 7.5 in wide, created without touching global state."""
    import matplotlib as mpl

    with mpl.rc_context(_rc()), sns.axes_style("whitegrid"):
        fig = Figure(figsize=(_WIDTH, height), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    return fig, ax


def _require(df: pd.DataFrame, cols: list[str], chart: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{chart} needs a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(
            f"{chart}: the frame has no column(s) {missing}; it has {list(df.columns)}. "
            f"Pass the output of the matching cxlib analysis."
        )
    if df.empty:
        raise ValueError(f"{chart}: the frame is empty; there is nothing to draw.")


def _legend_below(ax, handles, ncol: int | None = None, title: str | None = None):
    """The figure's legend, under the plot (constrained layout makes room for it)."""
    ncol = ncol or min(len(handles), 3)
    for h in handles:  # legend labels in the report's language
        h.set_label(_t(h.get_label()))
    return ax.figure.legend(handles=handles, loc="outside lower center", ncol=ncol,
                            frameon=False, title=_t(title) if title else None,
                            fontsize=_FONT)


def _fmt(values: pd.Series, metric: str | None) -> str:
    if metric in ("csat", "ces_easy"):
        return "{:.0f}%"
    if metric in ("csat_mean", "ces"):
        return "{:.2f}"
    if metric == "nps":
        return "{:.0f}"
    finite = values[np.isfinite(values)]
    return "{:.2f}" if len(finite) and finite.abs().max() < 10 else "{:.0f}"


# --------------------------------------------------------------------------------------
def kpi_trend_chart(trend_df: pd.DataFrame, metric_label: str, *, by: str | None = None,
                    min_base: int = 30, confidence: float = 0.95, palette=None,
                    significant=None) -> Figure:
    """KPI over periods: a line with its confidence band per group (or one line).

    Parameters
    ----------
    trend_df : DataFrame
        Output of :func:`cxlib.quant.metrics.trend`: ``period, [by], value, ci_low, ci_high,
        small_base`` (``n`` optional).
    metric_label : str
        Y-axis label with its unit, e.g. ``"NPS (points)"``.
    by : str, optional
        Group column; inferred when the frame has exactly one column besides the known ones.
    min_base : int, default 30
        Used in the legend ("hollow = n < min_base").
    confidence : float, default 0.95
        Used in the legend of the band.
    palette : list of colours, optional
        Defaults to :func:`brand_palette`.
    significant : bool or collection of group names, optional
        Lines whose last change (latest period vs the one before) is statistically
        significant: their last point gets a ring and the legend explains it. ``True`` for
        the single line of an ungrouped chart.

    Returns
    -------
    Figure
        Hollow markers are small bases; the shaded band is the confidence interval.
    """
    _require(trend_df, ["period", "value", "ci_low", "ci_high", "small_base"], "kpi_trend_chart")
    if significant is True:
        significant = {None}
    significant = set(significant or ())
    known = {"period", "metric", "label", "unit", "value", "ci_low", "ci_high", "n",
             "excluded", "small_base", "rank"}
    if by is None:
        extra = [c for c in trend_df.columns if c not in known]
        if len(extra) > 1:
            raise ValueError(f"kpi_trend_chart: pass by= (one of {extra}) to say which column "
                             "holds the groups.")
        by = extra[0] if extra else None
    elif by not in trend_df.columns:
        raise ValueError(f"kpi_trend_chart: no column {by!r}; columns are {list(trend_df.columns)}")
    palette = palette or brand_palette()
    periods = list(dict.fromkeys(trend_df["period"].astype(str)))
    xpos = {p: i for i, p in enumerate(periods)}
    groups = list(dict.fromkeys(trend_df[by])) if by else [None]

    fig, ax = _figure(3.6)
    handles = []
    for i, g in enumerate(groups):
        d = trend_df if g is None else trend_df[trend_df[by] == g]
        x = d["period"].astype(str).map(xpos).to_numpy(dtype=float)
        order = np.argsort(x)
        x = x[order]
        y, lo, hi = (d[c].to_numpy(dtype=float)[order] for c in ("value", "ci_low", "ci_high"))
        small = d["small_base"].to_numpy(dtype=bool)[order]
        color = palette[i % len(palette)]
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.plot(x, y, color=color, linewidth=2)
        ax.scatter(x[~small], y[~small], s=36, color=color, zorder=3)
        ax.scatter(x[small], y[small], s=36, facecolors="white", edgecolors=color,
                   linewidths=1.5, zorder=3)
        if g in significant and len(x):
            ax.scatter(x[-1:], y[-1:], s=170, facecolors="none", edgecolors="#222222",
                       linewidths=1.6, zorder=4)
        if g is not None:
            handles.append(Line2D([], [], color=color, linewidth=2, label=_t(g)))
    if significant:
        handles.append(Line2D([], [], color="#222222", marker="o", markersize=11, markerfacecolor="none",
                              linestyle="", label="significant change vs previous period"))
    handles += [
        Line2D([], [], color="#555555", marker="o", linestyle="", label=chart_words("pres.chart.base_ok", min_base=min_base)),
        Line2D([], [], color="#555555", marker="o", markerfacecolor="white", linestyle="",
               label=chart_words("pres.chart.small_base", min_base=min_base)),
        Patch(facecolor="#555555", alpha=0.15, label=chart_words("pres.chart.ci", level=f"{confidence:.0%}")),
    ]
    ax.set_xticks(range(len(periods)), [_t(p) for p in periods],
                  rotation=45 if len(periods) > 8 else 0)
    ax.set_xlim(-0.3, len(periods) - 0.7)
    ax.set_xlabel(_t("Period"))
    ax.set_ylabel(_t(metric_label))
    ax.set_title(chart_words("pres.chart.by_period_and", metric=_term(metric_label), by=_term(by)) if by
                 else chart_words("pres.chart.by_period", metric=_term(metric_label)))
    _legend_below(ax, handles, ncol=min(len(handles), 4), title=_axis_name(by) if by else None)
    return fig


# --------------------------------------------------------------------------------------
def breakdown_chart(breakdown_df: pd.DataFrame, by: str, metric_label: str, *,
                    min_base: int = 30, confidence: float = 0.95, palette=None) -> Figure:
    """Horizontal bars of a metric per group with confidence-interval error bars.

    Groups are drawn in the frame's order, first at the top (``breakdown`` sorts best
    first). Small bases are grey and labelled ``"n<{min_base}"``; each bar carries its value.

    Parameters
    ----------
    breakdown_df : DataFrame
        Output of :func:`cxlib.quant.metrics.breakdown`: ``[by], value, ci_low, ci_high, n,
        small_base`` (``metric`` optional, used to format the values).
    by : str
        Group column.
    metric_label : str
        X-axis label with its unit, e.g. ``"NPS (points)"``.
    min_base : int, default 30
    confidence : float, default 0.95
    palette : list of colours, optional

    Returns
    -------
    Figure
    """
    _require(breakdown_df, [by, "value", "ci_low", "ci_high", "n", "small_base"],
             "breakdown_chart")
    palette = palette or brand_palette()
    d = breakdown_df.reset_index(drop=True)
    k = len(d)
    y = np.arange(k)[::-1].astype(float)
    val, lo, hi = (d[c].to_numpy(dtype=float) for c in ("value", "ci_low", "ci_high"))
    small = d["small_base"].to_numpy(dtype=bool)
    metric = d["metric"].iloc[0] if "metric" in d.columns else None
    fmt = _fmt(d["value"].astype(float), metric)
    colors = np.where(small, _GREY, palette[0])

    fig, ax = _figure(1.6 + 0.38 * k)
    ax.barh(y, np.nan_to_num(val), color=colors, height=0.65)
    ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(val)
    ax.errorbar(val[ok], y[ok], xerr=[val[ok] - lo[ok], hi[ok] - val[ok]], fmt="none",
                ecolor="#333333", elinewidth=1.2, capsize=3)
    ax.axvline(0, color="#333333", linewidth=0.8)
    span_lo = float(np.nanmin(np.r_[lo, val, 0.0]))
    span_hi = float(np.nanmax(np.r_[hi, val, 0.0]))
    rng = max(span_hi - span_lo, 1e-9)
    for yi, v, lo_, h, s in zip(y, val, lo, hi, small, strict=True):
        txt = "n/a" if not np.isfinite(v) else fmt.format(v)
        if s:
            txt += f"  (n<{min_base})"
        if np.isfinite(v) and v < 0:  # label beyond the bar's end and its interval, on the left
            xt, dx, ha = (lo_ if np.isfinite(lo_) else v), -4, "right"
        else:
            xt, dx, ha = (max(h, v) if np.isfinite(h) else np.nan_to_num(v)), 4, "left"
        ax.annotate(_t(txt), (xt, yi), xytext=(dx, 0), textcoords="offset points",
                    va="center", ha=ha, fontsize=_FONT, color="#222222")
    ax.set_yticks(y, [chart_words("pres.chart.group_n", group=_term(g), n=f"{int(n):,}")
                      for g, n in zip(d[by], d["n"], strict=True)])
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlim(span_lo - (0.30 if np.nanmin(np.r_[val, 0.0]) < 0 else 0.05) * rng,
                span_hi + (0.30 if np.nanmax(np.r_[val, 0.0]) > 0 or small.any() else 0.05) * rng)
    ax.set_xlabel(_t(metric_label))
    ax.set_ylabel(_t(_axis_name(by)))
    ax.set_title(chart_words("pres.chart.by", metric=_term(metric_label), by=_term(by)))
    ax.grid(axis="y", visible=False)
    handles = [
        Patch(color=palette[0], label=chart_words("pres.chart.base_ok", min_base=min_base)),
        Patch(color=_GREY, label=chart_words("pres.chart.small_not_ranked", min_base=min_base)),
        Line2D([], [], color="#333333", marker="|", markersize=8, linestyle="-",
               label=chart_words("pres.chart.ci", level=f"{confidence:.0%}")),
    ]
    _legend_below(ax, handles)
    return fig


# --------------------------------------------------------------------------------------
def _box_gap(box: Bbox, px: float, py: float, r: float) -> float:
    """Distance (pixels) from a text box to the edge of a round marker at (px, py), radius r."""
    dx = max(box.x0 - px, 0.0, px - box.x1)
    dy = max(box.y0 - py, 0.0, py - box.y1)
    return max(math.hypot(dx, dy) - r, 0.0)


def _place_labels(fig: Figure, ax, xs, ys, labels, sizes) -> list:
    """Direct labels for a scatter, repelled from each other and from every marker.

    Each point (largest first) tries positions on rings of growing distance in 16 directions
    and takes the nearest one whose box hits no placed label, no marker and stays inside the
    axes. A label that is not right beside its point, or that sits nearer another point than
    its own, gets a thin leader line to its point (an ``arrow_patch`` with gid
    ``"leader:<label>"``), so no label can be read as naming the wrong dot.
    """
    fig.get_layout_engine().execute(fig)  # freeze the final axes position first
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    axbox = ax.get_window_extent(renderer)
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    radii = [math.sqrt(s) / 2 * to_px for s in sizes]
    obstacles = [Bbox.from_extents(px - r, py - r, px + r, py + r)
                 for (px, py), r in zip(pts, radii, strict=True)]
    angles = [k * math.pi / 8 for k in (0, 2, 6, 4, 1, 3, 5, 7, 15, 13, 11, 9, 8, 10, 12, 14)]
    texts = [None] * len(labels)
    for i in np.argsort(-np.asarray(sizes), kind="stable"):
        r_pt = math.sqrt(sizes[i]) / 2
        chosen = None
        for dist in (4, 10, 18, 28, 40, 54, 70):
            for a in angles:
                ox = math.cos(a) * (r_pt + dist)
                oy = math.sin(a) * (r_pt + dist)
                ha = "left" if ox > 1 else "right" if ox < -1 else "center"
                va = "bottom" if oy > 1 else "top" if oy < -1 else "center"
                t = ax.annotate(_t(labels[i]), (xs[i], ys[i]), xytext=(ox, oy),
                                textcoords="offset points", ha=ha, va=va, fontsize=_FONT,
                                color="#222222", zorder=4, gid=f"label:{labels[i]}")
                bb = t.get_window_extent(renderer).expanded(1.04, 1.12)
                inside = (bb.x0 >= axbox.x0 and bb.x1 <= axbox.x1 and bb.y0 >= axbox.y0
                          and bb.y1 <= axbox.y1)
                if inside and not any(bb.overlaps(o) for o in obstacles):
                    chosen = (t, dist, ox, oy)
                    break
                t.remove()
            if chosen is not None:
                break
        if chosen is None:  # nothing free: above-right, with a leader line
            ox, oy = r_pt + 12, r_pt + 12
            t = ax.annotate(_t(labels[i]), (xs[i], ys[i]), xytext=(ox, oy), textcoords="offset points",
                            fontsize=_FONT, color="#222222", zorder=4, gid=f"label:{labels[i]}")
            chosen = (t, 99, ox, oy)
        t, dist, ox, oy = chosen
        box = t.get_window_extent(renderer)
        own = _box_gap(box, *pts[i], radii[i])
        nearer = any(_box_gap(box, *pts[j], radii[j]) < own + 2 for j in range(len(labels)) if j != i)
        if dist > 4 or nearer:
            t.remove()
            t = ax.annotate(_t(labels[i]), (xs[i], ys[i]), xytext=(ox, oy), textcoords="offset points",
                            ha=t.get_ha(), va=t.get_va(), fontsize=_FONT, color="#222222", zorder=4,
                            gid=f"label:{labels[i]}",
                            arrowprops=dict(arrowstyle="-", color="#666666", lw=0.7,
                                            shrinkA=1, shrinkB=r_pt + 1))
            t.arrow_patch.set_gid(f"leader:{labels[i]}")
        obstacles.append(box)
        texts[i] = t
    fig.set_layout_engine("none")  # keep the positions the labels were checked against
    return texts


def ipa_chart(ipa_df: pd.DataFrame, *, title: str = "Importance vs performance by touchpoint"
              ) -> Figure:
    """Importance-performance analysis (IPA) scatter with crosshairs and named quadrants.

    Points are sized by base ``n`` and coloured by quadrant (fixed colours,
    :data:`QUADRANT_COLORS`); labels are placed greedily so they do not overlap each other or
    the points.

    Parameters
    ----------
    ipa_df : DataFrame
        ``label, performance`` (mean CSAT 1-5), ``importance`` (mean 1-5), ``quadrant`` (one
        of :data:`QUADRANT_COLORS`), ``n``, ``crosshair_performance``,
        ``crosshair_importance`` (scalars repeated on every row).
    title : str

    Returns
    -------
    Figure

    References
    ----------
    Martilla, J. A., & James, J. C. (1977). Importance-performance analysis. *Journal of
    Marketing*, 41(1), 77-79.
    """
    cols = ["label", "performance", "importance", "quadrant", "n", "crosshair_performance",
            "crosshair_importance"]
    _require(ipa_df, cols, "ipa_chart")
    unknown = sorted(set(ipa_df["quadrant"].dropna()) - set(QUADRANT_COLORS))
    if unknown:
        raise ValueError(f"ipa_chart: unknown quadrant(s) {unknown}; use {list(QUADRANT_COLORS)}")
    d = ipa_df.reset_index(drop=True)
    xs, ys = d["performance"].to_numpy(dtype=float), d["importance"].to_numpy(dtype=float)
    n = d["n"].to_numpy(dtype=float)
    sizes = 40 + 260 * n / max(np.nanmax(n), 1)
    cx, cy = float(d["crosshair_performance"].iloc[0]), float(d["crosshair_importance"].iloc[0])

    fig, ax = _figure(5.6)
    ax.scatter(xs, ys, s=sizes, c=[QUADRANT_COLORS.get(q, _GREY) for q in d["quadrant"]],
               alpha=0.85, edgecolors="white", linewidths=0.8, zorder=3)
    ax.axvline(cx, color="#555555", linestyle="--", linewidth=1)
    ax.axhline(cy, color="#555555", linestyle="--", linewidth=1)
    pad_x = max(0.35 * (np.nanmax(xs) - np.nanmin(xs)), 0.25)
    pad_y = max(0.35 * (np.nanmax(ys) - np.nanmin(ys)), 0.25)
    ax.set_xlim(min(np.nanmin(xs), cx) - pad_x, max(np.nanmax(xs), cx) + pad_x)
    ax.set_ylim(min(np.nanmin(ys), cy) - pad_y, max(np.nanmax(ys), cy) + pad_y)
    corners = {"Concentrate here": (0.01, 0.99, "left", "top"),
               "Keep up the good work": (0.99, 0.99, "right", "top"),
               "Low priority": (0.01, 0.01, "left", "bottom"),
               "Possible overkill": (0.99, 0.01, "right", "bottom")}
    for q, (fx, fy, ha, va) in corners.items():
        ax.text(fx, fy, _t(q), transform=ax.transAxes, ha=ha, va=va, fontsize=10,
                fontweight="bold", color=QUADRANT_COLORS[q], alpha=0.9)
    ax.set_xlabel(_t("Performance: mean CSAT (1-5)"))
    ax.set_ylabel(_t("Importance: mean stated importance (1-5)"))
    ax.set_title(_t(title))
    handles = [Line2D([], [], marker="o", linestyle="", color=c, markersize=8, label=_t(q))
               for q, c in QUADRANT_COLORS.items()]
    handles.append(Line2D([], [], color="#555555", linestyle="--",
                          label=chart_words("pres.chart.crosshairs", performance=f"{cx:.2f}",
                                            importance=f"{cy:.2f}")))
    handles.append(Line2D([], [], marker="o", linestyle="", color="#999999", markersize=5,
                          label="point size: number of responses"))
    _legend_below(ax, handles, ncol=2)
    _place_labels(fig, ax, xs, ys, list(d["label"]), list(sizes))
    return fig


# --------------------------------------------------------------------------------------
def theme_chart(df: pd.DataFrame, *, label: str | None = None, palette=None,
                title: str = "Themes among detractors and promoters") -> Figure:
    """Grouped horizontal bars: each theme's share among detractors vs among promoters.

    Themes are sorted by their share among detractors (largest at the top); a theme whose
    difference is significant is marked with ``*`` after its name.

    Parameters
    ----------
    df : DataFrame
        ``label`` (or ``theme`` / ``code``), ``share_detractors``, ``share_promoters``
        (0-1), ``significant`` (bool).
    label : str, optional
        The label column; default the first of ``label``, ``theme``, ``code`` present.
    palette : list of colours, optional
        Detractors use the accent colour (``palette[1]``), promoters the primary one.
    title : str

    Returns
    -------
    Figure
    """
    if label is None:
        label = next((c for c in ("label", "theme", "code") if c in getattr(df, "columns", [])),
                     "label")
    _require(df, [label, "share_detractors", "share_promoters", "significant"], "theme_chart")
    palette = palette or brand_palette()
    d = df.sort_values("share_detractors", ascending=False, kind="stable").reset_index(drop=True)
    k = len(d)
    y = np.arange(k)[::-1].astype(float)
    det = 100 * d["share_detractors"].to_numpy(dtype=float)
    pro = 100 * d["share_promoters"].to_numpy(dtype=float)
    sig = d["significant"].fillna(False).to_numpy(dtype=bool)
    h = 0.38
    fig, ax = _figure(1.8 + 0.5 * k)
    ax.barh(y + h / 2, np.nan_to_num(det), height=h, color=palette[1], label="Detractors (0-6)")
    ax.barh(y - h / 2, np.nan_to_num(pro), height=h, color=palette[0], label="Promoters (9-10)")
    for yy, vals in ((y + h / 2, det), (y - h / 2, pro)):
        for yi, v in zip(yy, vals, strict=True):
            ax.annotate("n/a" if not np.isfinite(v) else f"{v:.0f}%", (np.nan_to_num(v), yi),
                        xytext=(3, 0), textcoords="offset points", va="center", ha="left",
                        fontsize=_FONT)
    ax.set_yticks(y, [_t(lbl) + (" *" if s else "") for lbl, s in zip(d[label], sig, strict=True)])
    top = float(np.nanmax(np.r_[det, pro, 1.0]))
    ax.set_xlim(0, top * 1.18)
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlabel(_t("Share of respondents in the group mentioning the theme (%)"))
    ax.set_ylabel(_t("Theme"))
    ax.set_title(_t(title))
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=palette[1], label=_t("Detractors (0-6)")),
               Patch(color=palette[0], label=_t("Promoters (9-10)")),
               Line2D([], [], linestyle="", label=_t("* significant difference"))]
    _legend_below(ax, handles)
    return fig


# --------------------------------------------------------------------------------------
def funnel_chart(funnel_df: pd.DataFrame, *, palette=None,
                 title: str = "Funnel conversion by device") -> Figure:
    """Conversion through the funnel steps, grouped horizontal bars per device.

    Steps run top to bottom in ``step_order``; each bar is the share of the device's
    funnel-starting sessions that reached the step, labelled with that percentage.

    Parameters
    ----------
    funnel_df : DataFrame
        ``step_order, label, device, sessions, share_of_start`` (0-1).
    palette : list of colours, optional
    title : str

    Returns
    -------
    Figure
    """
    _require(funnel_df, ["step_order", "label", "device", "sessions", "share_of_start"],
             "funnel_chart")
    palette = palette or brand_palette()
    steps = (funnel_df[["step_order", "label"]].drop_duplicates("step_order")
             .sort_values("step_order").reset_index(drop=True))
    devices = sorted(funnel_df["device"].astype(str).unique())
    k, m = len(steps), len(devices)
    h = 0.8 / m
    fig, ax = _figure(1.8 + 0.22 * k * m + 0.15 * k)
    centers = np.arange(k)[::-1].astype(float)
    for j, dev in enumerate(devices):
        sub = funnel_df[funnel_df["device"].astype(str) == dev].set_index("step_order")
        share = 100 * sub["share_of_start"].reindex(steps["step_order"]).to_numpy(dtype=float)
        yy = centers + 0.4 - h * (j + 0.5)
        ax.barh(yy, np.nan_to_num(share), height=h * 0.92, color=palette[j % len(palette)])
        for yi, v in zip(yy, share, strict=True):
            ax.annotate("n/a" if not np.isfinite(v) else f"{v:.0f}%", (np.nan_to_num(v), yi),
                        xytext=(3, 0), textcoords="offset points", va="center", ha="left",
                        fontsize=_FONT)
    ax.set_yticks(centers, [_t(s) for s in steps["label"]])
    ax.set_xlim(0, 115)
    ax.set_ylim(-0.6, k - 0.4)
    ax.set_xlabel(_t("Sessions reaching the step (% of sessions that started the funnel)"))
    ax.set_ylabel(_t("Funnel step"))
    ax.set_title(_t(title))
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=palette[j % len(palette)], label=_t(dev))
               for j, dev in enumerate(devices)]
    _legend_below(ax, handles, ncol=min(m, 4), title="Device")
    return fig


def mention_share_chart(share_df: pd.DataFrame, *, min_base: int = 30, palette=None) -> Figure:
    """Each brand's share of social mentions per period (%, with Wilson bands).

    Takes :func:`cxlib.voice.coding.mention_share` output; the base of a share is the period's
    total mentions of the listed brands.
    """
    _require(share_df, ["brand", "period", "share", "ci_low", "ci_high", "total"], "mention_share_chart")
    t = share_df.assign(value=share_df["share"] * 100, ci_low=share_df["ci_low"] * 100,
                        ci_high=share_df["ci_high"] * 100, n=share_df["total"],
                        small_base=share_df["total"] < min_base)
    return kpi_trend_chart(t, "Share of mentions (%)", by="brand", min_base=min_base, palette=palette)


# --------------------------------------------------------------------------------------
def retention_chart(curves_df: pd.DataFrame, *, palette=None, max_cohorts: int = 6,
                    title: str = "Retention by signup cohort", layout: str = "auto") -> Figure:
    """Share of a signup cohort still a customer, by months since signup, with bands.

    One curve per cohort (the ``max_cohorts`` largest when there are more, in chronological
    order; the legend title says so), each with its confidence band. Hollow markers show
    months whose at-risk base is small (``small_base``). ``layout="panels"`` (the default
    ``"auto"`` above three cohorts) draws small multiples, one panel per cohort with the
    others in grey behind it, so the bands never overlap into one smear; ``"overlay"`` puts
    every cohort on one chart.

    Parameters
    ----------
    curves_df : DataFrame
        Output of :func:`cxlib.quant.retention.retention_curves` for one group: ``cohort, month,
        retained, ci_low, ci_high`` (0-1), with ``cohort_size`` or ``at_risk`` and,
        optionally, ``small_base``. ``attrs["confidence"]`` and ``attrs["min_cohort"]``
        are used in the legend.
    palette : list of colours, optional
    max_cohorts : int, default 6
    title : str
    layout : {"auto", "panels", "overlay"}

    Returns
    -------
    Figure
    """
    _require(curves_df, ["cohort", "month", "retained", "ci_low", "ci_high"], "retention_chart")
    if curves_df.duplicated(["cohort", "month"]).any():
        raise ValueError("retention_chart: several rows per cohort and month; draw one group at "
                         "a time (filter the frame on its 'by' column).")
    palette = palette or brand_palette()
    d = curves_df.copy()
    cohorts = list(dict.fromkeys(d["cohort"].astype(str)))
    d["cohort"] = d["cohort"].astype(str)
    if "cohort_size" in d.columns:
        sizes = d.groupby("cohort")["cohort_size"].first()
    elif "at_risk" in d.columns:
        sizes = d.sort_values("month").groupby("cohort")["at_risk"].first()
    else:
        sizes = pd.Series(np.nan, index=cohorts)
    shown = cohorts
    if len(cohorts) > max_cohorts:
        top = set(sizes.sort_values(ascending=False, kind="stable").index[:max_cohorts])
        shown = [c for c in cohorts if c in top]
    shown = sorted(shown)
    conf = curves_df.attrs.get("confidence", 0.95)
    min_base = curves_df.attrs.get("min_cohort", 30)

    months = d["month"].to_numpy(dtype=float)
    low = float(np.nanmin(100 * d.loc[d["cohort"].isin(shown), "ci_low"].to_numpy(dtype=float)))
    step = 3 if np.nanmax(months) > 12 else 1
    panels = layout == "panels" or (layout == "auto" and len(shown) > 3)
    if layout not in ("auto", "panels", "overlay"):
        raise ValueError(f"retention_chart: layout {layout!r} must be 'auto', 'panels' or 'overlay'")
    import matplotlib as mpl

    ncols = min(3, len(shown)) if panels else 1
    nrows = math.ceil(len(shown) / ncols) if panels else 1
    with mpl.rc_context(_rc()), sns.axes_style("whitegrid"):
        fig = Figure(figsize=(_WIDTH, 2.3 * nrows + 1.3 if panels else 4.2), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    curves = {}
    for c in shown:
        g = d[d["cohort"] == c].sort_values("month")
        curves[c] = (g["month"].to_numpy(dtype=float),
                     *(100 * g[k].to_numpy(dtype=float) for k in ("retained", "ci_low", "ci_high")),
                     g["small_base"].fillna(False).to_numpy(dtype=bool) if "small_base" in g.columns
                     else np.zeros(len(g), dtype=bool))
    handles, any_small = [], False
    for i, c in enumerate(shown):
        ax = axes[i] if panels else axes[0]
        x, y, lo, hi, small = curves[c]
        color = palette[i % len(palette)]
        if panels:  # the other cohorts, thin and grey, for comparison
            for o in shown:
                if o != c:
                    ax.plot(curves[o][0], curves[o][1], color="#c4c4c4", linewidth=1, zorder=1)
        ax.fill_between(x, lo, hi, color=color, alpha=0.18 if panels else 0.12, linewidth=0)
        ax.plot(x, y, color=color, linewidth=2.2, zorder=3)
        if small.any():
            any_small = True
            ax.scatter(x[small], y[small], s=22, facecolors="white", edgecolors=color,
                       linewidths=1.2, zorder=4)
        n = sizes.get(c, np.nan)
        label = chart_words("pres.chart.group_n", group=_term(c), n=f"{int(n):,}") if pd.notna(n) else _t(c)
        if panels:
            ax.set_title(label, fontsize=_FONT + 1, color=color, fontweight="bold")
        handles.append(Line2D([], [], color=color, linewidth=2, label=label))
    for ax in axes[len(shown):]:
        ax.set_visible(False)
    if panels:
        handles.append(Line2D([], [], color="#c4c4c4", linewidth=1, label="other cohorts, for comparison"))
    handles.append(Patch(facecolor="#555555", alpha=0.15, label=chart_words("pres.chart.ci", level=f"{conf:.0%}")))
    if any_small:
        handles.append(Line2D([], [], color="#555555", marker="o", markerfacecolor="white",
                              linestyle="", label=chart_words("pres.chart.at_risk_small", min_base=min_base)))
    ax0 = axes[0]
    ax0.set_xlim(0, max(float(np.nanmax(months)), 1.0))
    ax0.set_ylim(max(0.0, low - 5), 101)
    ax0.set_xticks(np.arange(0, np.nanmax(months) + 1, step))
    if panels:
        # on the middle panel of the last row (a figure-wide x label would sit on the legend below)
        last = (nrows - 1) * ncols
        axes[last + (len(shown) - last - 1) // 2].set_xlabel(_t("Months since signup"), fontsize=_FONT + 1)
        fig.supylabel(_t("Customers retained (%)"), fontsize=_FONT + 1)
        fig.suptitle(_t(title), fontsize=11)
    else:
        ax0.set_xlabel(_t("Months since signup"))
        ax0.set_ylabel(_t("Customers retained (%)"))
        ax0.set_title(_t(title))
    legend_title = "Signup cohort"
    if len(shown) < len(cohorts):
        legend_title = chart_words("pres.chart.cohorts", k=len(shown), m=len(cohorts))
    _legend_below(ax0, handles, ncol=min(len(handles), 4), title=legend_title)
    return fig


def churn_trend_chart(churn_df: pd.DataFrame, *, by: str | None = None, palette=None,
                      min_base: int | None = None) -> Figure:
    """Quarterly churn rate (%) with Wilson confidence bands, one line per group.

    Parameters
    ----------
    churn_df : DataFrame
        Output of :func:`cxlib.quant.retention.churn_by_period`: ``period, [by], active_start,
        rate, ci_low, ci_high`` (0-1), ``small_base`` optional.
    by : str, optional
        The group column, when the frame was computed with ``by=``.
    palette : list of colours, optional
    min_base : int, optional
        Small-base threshold when the frame has no ``small_base`` column (default from
        ``attrs["min_base"]``, else 30).

    Returns
    -------
    Figure
        Hollow markers are quarters with a small base of customers active at the start.
    """
    _require(churn_df, ["period", "active_start", "rate", "ci_low", "ci_high"],
             "churn_trend_chart")
    if by is not None and by not in churn_df.columns:
        raise ValueError(f"churn_trend_chart: no column {by!r}; columns are {list(churn_df.columns)}")
    if by is None and churn_df["period"].duplicated().any():
        raise ValueError("churn_trend_chart: several rows per period; pass by= (the group column).")
    min_base = min_base or churn_df.attrs.get("min_base", 30)
    small = (churn_df["small_base"] if "small_base" in churn_df.columns
             else churn_df["active_start"] < min_base)
    t = pd.DataFrame({"period": churn_df["period"].astype(str)})
    if by:
        t[by] = churn_df[by].to_numpy()
    t = t.assign(value=100 * churn_df["rate"].to_numpy(dtype=float),
                 ci_low=100 * churn_df["ci_low"].to_numpy(dtype=float),
                 ci_high=100 * churn_df["ci_high"].to_numpy(dtype=float),
                 n=churn_df["active_start"].to_numpy(), small_base=small.to_numpy(dtype=bool))
    return kpi_trend_chart(t, "Churn rate (% of active customers)", by=by, min_base=min_base,
                           confidence=churn_df.attrs.get("confidence", 0.95), palette=palette)


def trend_grid(trend_df: pd.DataFrame, facet: str, *, value_label: str = "", ncols: int = 3,
               min_base: int = 30, confidence: float = 0.95, significant=None, sharey: bool = True,
               facet_labels: dict | None = None, palette=None) -> Figure:
    """Small multiples: one small trend panel (line, interval band) per ``facet`` value.

    Takes :func:`cxlib.quant.metrics.trend` output with a ``by`` column named ``facet`` (e.g.
    touchpoint), or several metrics' trends stacked with a ``facet`` column (then pass
    ``sharey=False``). Hollow markers are small bases; ``significant`` (facet values) rings
    the last point of panels whose latest change is significant. Panels follow the order of
    ``facet_labels`` (e.g. the journey), then any other values.
    """
    _require(trend_df, ["period", facet, "value", "ci_low", "ci_high", "small_base"], "trend_grid")
    import matplotlib as mpl

    color = (palette or brand_palette())[0]
    significant = set(significant or ())
    facet_labels = facet_labels or {}
    present = list(dict.fromkeys(trend_df[facet]))
    groups = [k for k in facet_labels if k in present] + [g for g in present if g not in facet_labels]
    periods = list(dict.fromkeys(sorted(trend_df["period"].astype(str))))
    xpos = {p: i for i, p in enumerate(periods)}
    nrows = math.ceil(len(groups) / ncols)
    with mpl.rc_context(_rc()), sns.axes_style("whitegrid"):
        fig = Figure(figsize=(_WIDTH, 1.9 * nrows + 0.9), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=sharey, squeeze=False).ravel()
    for ax, g in zip(axes, groups, strict=False):
        d = trend_df[trend_df[facet] == g].assign(_x=lambda t: t["period"].astype(str).map(xpos)).sort_values("_x")
        x = d["_x"].to_numpy(dtype=float)
        y, lo, hi = (d[c].to_numpy(dtype=float) for c in ("value", "ci_low", "ci_high"))
        small = d["small_base"].to_numpy(dtype=bool)
        ax.fill_between(x, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.plot(x, y, color=color, linewidth=1.8)
        ax.scatter(x[~small], y[~small], s=18, color=color, zorder=3)
        ax.scatter(x[small], y[small], s=18, facecolors="white", edgecolors=color, zorder=3)
        if g in significant and len(x):
            ax.scatter(x[-1:], y[-1:], s=90, facecolors="none", edgecolors="#222222", linewidths=1.4, zorder=4)
        ax.set_title(_t(facet_labels.get(g, g)), fontsize=_FONT + 1)
        ax.set_xticks([0, len(periods) - 1], [_t(periods[0]), _t(periods[-1])])
        ax.tick_params(labelsize=_FONT)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    if value_label:
        fig.supylabel(_t(value_label), fontsize=_FONT + 1)
    handles = [Patch(facecolor=color, alpha=0.15, label=chart_words("pres.chart.ci", level=f"{confidence:.0%}")),
               Line2D([], [], color=color, marker="o", markerfacecolor="white", linestyle="",
                      label=chart_words("pres.chart.small_base", min_base=min_base))]
    if significant:
        handles.append(Line2D([], [], color="#222222", marker="o", markersize=9, markerfacecolor="none",
                              linestyle="", label="significant change vs previous period"))
    for h in handles:
        h.set_label(_t(h.get_label()))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=_FONT)
    return fig
