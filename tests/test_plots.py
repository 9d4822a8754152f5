"""cxlib.report.plots: every chart returns a labelled, A4-legible Figure; Arabic labels draw right."""

from __future__ import annotations

import itertools

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from cxlib.data.params import Branding
from cxlib.quant import metrics
from cxlib.report import plots

AR = "تأخير التوصيل"  # "late delivery"


def _texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _check_legible(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() == pytest.approx(7.5)
    small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 9]
    assert not small, f"text below 9 pt: {small}"
    fig.canvas.draw()  # renders without error


def _bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for lg in fig.legends for t in lg.get_texts()]


# --------------------------------------------------------------------------------------
def test_set_theme_uses_brand_colours():
    with mpl.rc_context():
        pal = plots.set_theme(Branding(primary_color="#112233", accent_color="#aa5500"))
        assert pal[:2] == ["#112233", "#aa5500"] and len(pal) == 8
        assert len(set(pal)) == 8
        cycle = [to_hex(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
        assert cycle[:2] == ["#112233", "#aa5500"]
        assert mpl.rcParams["axes.grid"] is True
        assert mpl.rcParams["xtick.labelsize"] >= 9


def test_kpi_trend_chart_groups_bands_and_hollow_small_bases():
    tr = pd.DataFrame({
        "period": ["2026Q1", "2026Q2", "2026Q3"] * 2,
        "segment": ["A"] * 3 + ["B"] * 3,
        "metric": "nps",
        "value": [10, 12, 8, -5, 0, 3.0],
        "ci_low": [2, 4, 0, -20, -15, -10.0],
        "ci_high": [18, 20, 16, 10, 15, 16.0],
        "n": [100, 90, 95, 40, 20, 45],
        "small_base": [False, False, False, False, True, False],
    })
    fig = plots.kpi_trend_chart(tr, "NPS (points)")
    _check_legible(fig)
    ax = fig.axes[0]
    assert ax.get_title() == "NPS (points) by period and segment"
    assert ax.get_ylabel() == "NPS (points)" and ax.get_xlabel() == "Period"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026Q1", "2026Q2", "2026Q3"]
    assert len(ax.lines) == 2                    # one line per group
    assert len(ax.collections) == 6              # band + filled + hollow points per group
    hollow = ax.collections[5]                   # group B's small-base points
    assert len(hollow.get_offsets()) == 1 and tuple(hollow.get_offsets()[0]) == (1.0, 0.0)
    assert to_hex(hollow.get_facecolor()[0]) == "#ffffff"
    legend = _legend_texts(fig)
    assert {"A", "B", "n < 30 (small base)", "95% confidence interval"} <= set(legend)
    single = plots.kpi_trend_chart(metrics.trend(_responses(), "csat"), "CSAT top-2-box (%)")
    assert len(single.axes[0].lines) == 1
    assert single.axes[0].get_title() == "CSAT top-2-box (%) by period"


def _responses() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 300
    return pd.DataFrame({
        "period": rng.choice(["2026Q2", "2026Q3"], n),
        "survey_type": "transactional",
        "csat": rng.integers(1, 6, n),
        "nps": pd.array([pd.NA] * n, dtype="Int64"),
        "ces": rng.integers(1, 8, n),
    })


def test_breakdown_chart_bars_error_bars_and_small_bases():
    b = pd.DataFrame({
        "segment": ["Families", "Students", AR],
        "metric": "nps",
        "value": [35.0, -12.0, 50.0],
        "ci_low": [25.0, -25.0, 10.0],
        "ci_high": [44.0, 2.0, 80.0],
        "n": [200, 150, 12],
        "small_base": [False, False, True],
        "rank": [1.0, 2.0, np.nan],
    })
    fig = plots.breakdown_chart(b, "segment", "NPS (points)", min_base=20)
    _check_legible(fig)
    ax = fig.axes[0]
    assert ax.get_title() == "NPS (points) by segment"
    assert ax.get_xlabel() == "NPS (points)" and ax.get_ylabel() == "Segment"
    bars = _bars(ax)
    assert len(bars) == 3
    assert [round(bar.get_width(), 6) for bar in bars] == [35.0, -12.0, 50.0]
    assert to_hex(bars[2].get_facecolor()) == "#b3b3b3"          # small base greyed
    assert to_hex(bars[0].get_facecolor()) == "#1f4e79"
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["35", "-12", "50  (n<20)"]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["Families (n=200)", "Students (n=150)", f"{AR} (n=12)"]
    assert "n < 20: small base, not ranked" in _legend_texts(fig)
    # error bars: one segment per bar, spanning the interval
    segs = ax.collections[0].get_segments()
    assert sorted((s[0][0], s[1][0]) for s in segs) == [(-25.0, 2.0), (10.0, 80.0), (25.0, 44.0)]
    with pytest.raises(ValueError, match="no column"):
        plots.breakdown_chart(b.drop(columns="ci_low"), "segment", "NPS")


def _ipa(k=9, seed=5):
    rng = np.random.default_rng(seed)
    perf = rng.uniform(3.4, 4.2, k)
    imp = rng.uniform(3.5, 4.5, k)
    perf[1], imp[1] = perf[0] + 0.01, imp[0] + 0.01  # two nearly coincident points
    cp, ci = perf.mean(), imp.mean()
    quad = np.where(imp >= ci, np.where(perf < cp, "Concentrate here", "Keep up the good work"),
                    np.where(perf < cp, "Low priority", "Possible overkill"))
    labels = ["Website", "Mobile app", "Call centre", "Delivery", "Store", "Chat", "Email",
              "الفواتير", "Returns"][:k]
    return pd.DataFrame({"label": labels, "performance": perf, "importance": imp,
                         "quadrant": quad, "n": rng.integers(20, 400, k),
                         "crosshair_performance": cp, "crosshair_importance": ci})


def test_ipa_chart_quadrants_crosshairs_sizes_and_non_overlapping_labels():
    d = _ipa()
    fig = plots.ipa_chart(d)
    _check_legible(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Performance: mean CSAT (1-5)"
    assert ax.get_ylabel() == "Importance: mean stated importance (1-5)"
    corner = {t.get_text() for t in ax.texts if t.get_transform() == ax.transAxes}
    assert corner == set(plots.QUADRANT_COLORS)
    xs = [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == "--"]
    assert xs[0] == pytest.approx(d["crosshair_performance"].iloc[0])
    pts = ax.collections[0]
    assert len(pts.get_offsets()) == len(d)
    order = np.argsort(d["n"].to_numpy())
    assert np.all(np.diff(pts.get_sizes()[order]) >= 0)  # bigger base, bigger point
    names = [a for a in ax.texts if a.get_text() in set(d["label"])]
    assert sorted(a.get_text() for a in names) == sorted(d["label"])
    _check_leaders(fig, ax, d)
    r = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(r) for a in names]
    for b1, b2 in itertools.combinations(boxes, 2):
        assert not b1.overlaps(b2)
    axbox = ax.get_window_extent(r)
    assert all(axbox.contains(b.x0, b.y0) and axbox.contains(b.x1, b.y1) for b in boxes)
    with pytest.raises(ValueError, match="unknown quadrant"):
        plots.ipa_chart(d.assign(quadrant="Fix"))


def _gap(box, px, py, r) -> float:
    dx = max(box.x0 - px, 0.0, px - box.x1)
    dy = max(box.y0 - py, 0.0, py - box.y1)
    return max(float(np.hypot(dx, dy)) - r, 0.0)


def _check_leaders(fig, ax, d) -> int:
    """Every label away from its point, or nearer another point than its own, has a leader
    line (an arrow patch) to its point; returns how many labels have one."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    scatter = ax.collections[0]
    pts = ax.transData.transform(scatter.get_offsets())
    radii = np.sqrt(scatter.get_sizes()) / 2 * fig.dpi / 72.0
    labels = list(d["label"])
    names = [a for a in ax.texts if a.get_text() in set(labels)]
    led = 0
    for a in names:
        i = labels.index(a.get_text())
        box = Text.get_window_extent(a, r)  # the text alone, not its leader line
        gaps = [_gap(box, px, py, rr) for (px, py), rr in zip(pts, radii, strict=True)]
        own, other = gaps[i], min(g for j, g in enumerate(gaps) if j != i)
        if own > 12 or other <= own + 2:
            assert a.arrow_patch is not None, f"{a.get_text()} is displaced without a leader line"
        if a.arrow_patch is not None:
            led += 1
            assert a.arrow_patch.get_gid() == f"leader:{a.get_text()}"
            assert a.xy == (d["performance"].iloc[i], d["importance"].iloc[i])  # drawn to its own point
    return led


def test_ipa_labels_in_a_crowd_get_leader_lines():
    rng = np.random.default_rng(11)
    k = 14
    d = pd.DataFrame({"label": [f"Touchpoint {i}" for i in range(k)],
                      "performance": 3.8 + rng.normal(0, 0.04, k), "importance": 4.0 + rng.normal(0, 0.04, k),
                      "n": rng.integers(20, 400, k)})
    d = d.assign(quadrant="Low priority", crosshair_performance=3.0, crosshair_importance=3.0)
    fig = plots.ipa_chart(d)
    ax = fig.axes[0]
    assert _check_leaders(fig, ax, d) >= 3  # a crowd cannot be labelled in place
    boxes = [Text.get_window_extent(a, fig.canvas.get_renderer()) for a in ax.texts
             if a.get_text().startswith("Touch")]
    assert len(boxes) == k
    for b1, b2 in itertools.combinations(boxes, 2):
        assert not b1.overlaps(b2)


def test_theme_chart_grouped_bars_and_significance_marks():
    df = pd.DataFrame({"label": ["Price", "Late delivery", AR],
                       "share_detractors": [0.05, 0.42, 0.10],
                       "share_promoters": [0.08, 0.05, 0.02],
                       "significant": [False, True, True]})
    fig = plots.theme_chart(df)
    _check_legible(fig)
    ax = fig.axes[0]
    assert ax.get_title() == "Themes among detractors and promoters"
    assert "(%)" in ax.get_xlabel()
    assert len(_bars(ax)) == 6
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == ["Late delivery *", f"{AR} *", "Price"]  # by share among detractors
    assert sorted(t.get_text() for t in ax.texts) == sorted(
        ["42%", "10%", "5%", "5%", "2%", "8%"])
    assert "* significant difference" in _legend_texts(fig)


def test_funnel_chart_bars_per_device_with_percentages():
    rows = []
    for dev, keep in (("desktop", 0.8), ("mobile", 0.5)):
        share = 1.0
        for i, step in enumerate(["Product", "Cart", "Checkout", "Paid"]):
            rows.append(dict(step_order=i, label=step, device=dev,
                             sessions=int(1000 * share), share_of_start=share))
            share *= keep
    fig = plots.funnel_chart(pd.DataFrame(rows).sample(frac=1, random_state=1))
    _check_legible(fig)
    ax = fig.axes[0]
    assert ax.get_title() == "Funnel conversion by device"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Product", "Cart", "Checkout", "Paid"]
    assert len(_bars(ax)) == 8
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(["100%", "80%", "64%", "51%", "100%", "50%", "25%", "12%"])
    assert set(_legend_texts(fig)) == {"desktop", "mobile"}


# --------------------------------------------------------------------------------------
def test_shape_text_reshapes_arabic_and_leaves_english_alone():
    from arabic_reshaper import reshape
    from bidi import get_display

    assert plots.shape_text("Late delivery (n=30)") == "Late delivery (n=30)"
    assert plots.shape_text("Late delivery", native=False) == "Late delivery"
    assert plots.shape_text(None) == "" and plots.shape_text(float("nan")) == ""
    shaped = plots.shape_text(AR, native=False)
    assert shaped != AR and len(shaped) == len(AR)
    assert shaped == get_display(reshape(AR))
    # joined presentation forms (U+FB50-U+FEFF) replace the base letters (U+0600-U+06FF)
    assert all(not "\u0600" <= c <= "\u06ff" for c in shaped)
    assert any("\ufe70" <= c <= "\ufeff" for c in shaped)
    # visual order: the logical string's first letter (teh) is drawn last, on the right
    assert shaped[-1] in "\ufe95\ufe97"  # teh, isolated or initial form


def test_shape_text_agrees_with_matplotlibs_own_layout():
    from matplotlib import _text_helpers, font_manager
    from matplotlib.ft2font import LoadFlags

    if not plots.native_text_layout():  # old matplotlib: pre-shaping is what draws it right
        assert plots.shape_text(AR) == plots.shape_text(AR, native=False)
        return
    # matplotlib >= 3.11 shapes and orders Arabic itself: pre-shaping would reverse it twice
    assert plots.shape_text(AR) == AR
    font = font_manager.get_font(font_manager.findfont("DejaVu Sans"))

    def outline(glyph):
        font.load_glyph(glyph, flags=LoadFlags.NO_HINTING)
        return np.asarray(font.get_path()[0])

    for word in (AR, "شكرا"):
        native = [item.glyph_index for item in _text_helpers.layout(word, font)]
        manual = [font.get_char_index(ord(c)) for c in plots.shape_text(word, native=False)]
        assert len(native) == len(manual)
        assert all(np.array_equal(outline(a), outline(b)) for a, b in zip(native, manual, strict=True))


def test_trend_chart_rings_significant_changes():
    import pandas as pd

    from cxlib.report import plots

    t = pd.DataFrame({"period": ["2026Q1", "2026Q2"] * 2, "segment": ["A", "A", "B", "B"],
                      "value": [10, 20, 30, 5], "ci_low": [5, 15, 25, 0], "ci_high": [15, 25, 35, 10],
                      "small_base": False})
    plain = plots.kpi_trend_chart(t, "NPS", by="segment")
    marked = plots.kpi_trend_chart(t, "NPS", by="segment", significant={"B"})
    assert len(marked.axes[0].collections) == len(plain.axes[0].collections) + 1
    ring = marked.axes[0].collections[-1]
    assert ring.get_offsets().tolist() == [[1.0, 5.0]]  # B's last point
    labels = [t.get_text() for t in marked.legends[0].get_texts()]
    assert "significant change vs previous period" in labels


def test_trend_grid_one_panel_per_facet_with_rings():
    import pandas as pd

    from cxlib.report import plots

    rows = [(p, tp, v) for tp, base in [("delivery", 2.7), ("store", 4.6), ("app", 3.7), ("chat", 3.8)]
            for p, v in [("2026Q1", base), ("2026Q2", base + 0.1), ("2026Q3", base - 0.3)]]
    t = pd.DataFrame(rows, columns=["period", "touchpoint", "value"]).assign(
        ci_low=lambda d: d["value"] - 0.2, ci_high=lambda d: d["value"] + 0.2, small_base=False)
    fig = plots.trend_grid(t, "touchpoint", value_label="CSAT", significant={"delivery"},
                           facet_labels={"delivery": "Delivery"})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4 and len(fig.axes) == 6  # 2 x 3 grid, two panels hidden
    assert [ax.get_title() for ax in visible] == ["Delivery", "store", "app", "chat"]
    assert len(visible[0].collections) == len(visible[1].collections) + 1  # the ring
    assert visible[1].get_lines()[0].get_ydata().tolist() == pytest.approx([4.6, 4.7, 4.3])


# --------------------------------------------------------------------------------------
def _hue(c) -> tuple[float, float]:
    import colorsys

    r, g, b = mpl.colors.to_rgb(c)
    h, _, sat = colorsys.rgb_to_hls(r, g, b)
    return h * 360, sat


def _red(c) -> bool:
    h, sat = _hue(c)
    return sat > 0.3 and (h >= 345 or h <= 20)


def _green(c) -> bool:
    h, sat = _hue(c)
    return sat > 0.3 and 75 <= h <= 170


@pytest.mark.parametrize("colors", [
    plots.brand_palette(), list(plots.QUADRANT_COLORS.values()),
    [plots.WORSE, plots.BETTER],
    plots.brand_palette(Branding(primary_color="#c0392b", accent_color="#1f4e79")),
], ids=["default palette", "IPA quadrants", "worse/better", "red brand"])
def test_palettes_never_pair_red_with_green_and_stay_apart_for_colour_blind_readers(colors):
    assert not any(_red(a) and _green(b) or _green(a) and _red(b)
                   for a, b in itertools.combinations(colors, 2)), colors
    for a, b in itertools.combinations(colors, 2):
        for kind in ("protan", "deutan"):
            da, db = np.array(plots.simulate_cvd(a, kind)), np.array(plots.simulate_cvd(b, kind))
            assert np.linalg.norm(da - db) > 0.12, (a, b, kind)


def test_cvd_simulation_matches_reference_values():
    # pure red and green look alike (olive/yellow) to a deuteranope; white and black do not change
    r, g = np.array(plots.simulate_cvd("#ff0000", "deutan")), np.array(plots.simulate_cvd("#00ff00", "deutan"))
    assert r[2] < 0.1 and g[2] < 0.3 and abs(r[0] - r[1]) < 0.35
    assert plots.simulate_cvd("#ffffff", "protan") == pytest.approx((1, 1, 1), abs=0.02)
    assert plots.simulate_cvd("#000000", "deutan") == pytest.approx((0, 0, 0), abs=1e-9)


def test_retention_small_multiples_one_panel_per_cohort():
    rows = []
    for i, c in enumerate(["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]):
        for k in range(7):
            s = (1 - 0.02 * (i + 1)) ** k
            rows.append({"cohort": c, "month": k, "retained": s, "ci_low": s * 0.9, "ci_high": min(1.0, s * 1.05),
                         "cohort_size": 100 + 10 * i})
    fig = plots.retention_chart(pd.DataFrame(rows))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 5
    assert [ax.get_title() for ax in visible][0] == "2025Q1 (n=100)"
    assert len(visible[0].collections) == 1  # its own band only: bands never overlap
    assert fig.get_supylabel() == "Customers retained (%)"
    over = plots.retention_chart(pd.DataFrame(rows), layout="overlay")
    assert len([ax for ax in over.axes if ax.get_visible()]) == 1


def test_figure_svg_is_vector_and_stable():
    fig = plots.kpi_trend_chart(pd.DataFrame({"period": ["Q1", "Q2"], "value": [1.0, 2.0], "ci_low": [0, 1.0],
                                              "ci_high": [2, 3.0], "small_base": False}), "NPS (points)")
    a, b = plots.figure_svg(fig), plots.figure_svg(fig)
    assert a.lstrip().startswith("<?xml") and "<svg" in a and "<text" not in a  # text as outlines
    assert a == b
