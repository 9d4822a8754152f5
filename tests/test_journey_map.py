"""cxlib.journey.journey_map: the emotion curve's numbers and a legible journey map figure."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from scipy import stats

from cxlib.data.params import load_params
from cxlib.journey import gaps as journey
from cxlib.journey import journey_map, operations
from cxlib.report import journey_figure
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def params():
    return load_params(ROOT / "params" / "demo.yml", check_files=False)


def _t_ci(x, conf=0.95):
    x = np.asarray(x, dtype=float)
    return stats.t.interval(conf, df=len(x) - 1, loc=x.mean(), scale=stats.sem(x))


# --- emotion_by_stage ----------------------------------------------------------------------------
def test_emotion_from_csat_by_hand(params):
    resp = pd.DataFrame({
        "survey_type": ["transactional"] * 8 + ["relationship"],
        "touchpoint": ["web_search", "web_search", "web_search", "social_media", "delivery",
                       "delivery", "kiosk", "store", None],
        "csat": [5, 4, 3, 1, 1, 2, 5, None, None],
    })
    e = journey_map.emotion_by_stage(resp, params)
    assert list(e.columns) == journey_map.EMOTION_COLUMNS
    assert list(e["stage"]) == [s.id for s in params.journey]
    assert (e["basis"] == "csat").all()
    d = e.set_index("stage")
    discover = [(5 - 3) / 2, (4 - 3) / 2, 0.0, (1 - 3) / 2]  # web search and social media
    assert d.loc["discover", "emotion"] == pytest.approx(0.125) == pytest.approx(np.mean(discover))
    assert d.loc["discover", "n"] == 4
    assert (d.loc["discover", "ci_low"], d.loc["discover", "ci_high"]) == tuple(
        pytest.approx(v) for v in _t_ci(discover))
    assert d.loc["receive", "emotion"] == pytest.approx(-0.75) and d.loc["receive", "n"] == 2
    assert d.loc["buy", "n"] == 0 and np.isnan(d.loc["buy", "emotion"])  # store had no CSAT
    assert np.isnan(d.loc["buy", "ci_low"])
    assert e.attrs["n_without_stage"] == 1  # the kiosk response


def test_emotion_from_sentiment_aligned_on_the_index(params):
    verb = pd.DataFrame({"touchpoint": ["phone_support", "chat", "chat", "email", None, "app"]},
                        index=[10, 11, 12, 13, 14, 15])
    sent = pd.Series([0.2, -0.4, 0.1, -1.0, 0.9, 0.5, 0.3],
                     index=[15, 11, 12, 13, 14, 10, 99])  # shuffled; 99 is no verbatim
    e = journey_map.emotion_by_stage(verb, params, sentiment=sent).set_index("stage")
    assert (e["basis"] == "sentiment").all()
    support = [0.5, -0.4, 0.1]  # phone_support (index 10) and chat (11, 12)
    assert e.loc["support", "emotion"] == pytest.approx(np.mean(support))
    assert e.loc["support", "n"] == 3
    assert (e.loc["support", "ci_low"], e.loc["support", "ci_high"]) == tuple(
        pytest.approx(v) for v in _t_ci(support))
    assert e.loc["research", "emotion"] == pytest.approx(0.2) and e.loc["research", "n"] == 1
    assert np.isnan(e.loc["research", "ci_low"])  # n = 1: no interval
    assert e.loc["renew", "emotion"] == pytest.approx(-1.0)
    with pytest.raises(TypeError, match="Series"):
        journey_map.emotion_by_stage(verb, params, sentiment=[0.1] * 6)


# --- the figure ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def inputs(params):
    """Hand-built inputs: website has no responses, email a small base, long pain labels."""
    rng = np.random.default_rng(7)
    means = {"web_search": 4.1, "social_media": 3.8, "app": 3.7, "store": 4.6, "checkout": 3.6,
             "delivery": 2.6, "product": 4.1, "phone_support": 3.5, "chat": 3.8, "email": 3.9}
    sizes = {"store": 240, "delivery": 200, "email": 12}
    rows = []
    for tp, m in means.items():
        n = sizes.get(tp, 90)
        csat = np.clip(np.round(rng.normal(m, 0.9, n)), 1, 5).astype(int)
        rows += [("transactional", tp, c) for c in csat]
    resp = pd.DataFrame(rows, columns=["survey_type", "touchpoint", "csat"]).assign(importance=4)
    perf, _ = journey.touchpoint_performance(resp, params)
    ops = pd.DataFrame({"touchpoint": [tp.id for tp in params.touchpoints]})
    for col in operations.OPS_COLUMNS[5:]:
        ops[col] = np.nan
    ops.loc[ops["touchpoint"] == "delivery", ["late_rate", "resolution_rate"]] = [0.31, 0.8]
    ops.loc[ops["touchpoint"] == "checkout", "drop_off"] = 0.42
    ops.loc[ops["touchpoint"].isin(["phone_support", "chat", "store"]), "resolution_rate"] = 0.78
    pains = pd.DataFrame({
        "touchpoint": ["delivery", "product", "chat", "website", "web_search"],
        "rank": 1,
        "label": ["Late delivery", "Product quality bad and not as described on the product page",
                  "Issue unresolved", "Checkout problem", "Price high"],
        "share": [0.36, 0.16, 0.08, 0.12, 0.06],
    })
    emotion = journey_map.emotion_by_stage(resp, params)
    return perf, ops, pains, emotion


@pytest.fixture(scope="module")
def fig(inputs, params):
    f = journey_figure.journey_map(*inputs, params)
    f.canvas.draw()
    return f


def _map_axes(fig):
    return next(ax for ax in fig.axes if any((p.get_gid() or "").startswith("tile:") for p in ax.patches))


def _tiles(fig):
    return {p.get_gid()[5:]: p for p in _map_axes(fig).patches if (p.get_gid() or "").startswith("tile:")}


def _gid_texts(fig, prefix):
    return {t.get_gid(): t for t in fig.findobj(Text) if (t.get_gid() or "").startswith(prefix)}


def test_map_is_a4_legible_with_one_tile_per_touchpoint_with_data(fig, inputs, params):
    perf = inputs[0]
    assert isinstance(fig, Figure)
    assert fig.get_figwidth() == pytest.approx(7.5)
    assert fig.get_figheight() <= 9.0  # 11 touchpoints in 7 stages
    with_data = perf.loc[perf["n"] > 0, "touchpoint"]
    assert len(with_data) == 10
    assert set(_tiles(fig)) == set(with_data)
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 9]
    assert not small, f"text below 9 pt: {small}"


def test_tiles_sit_in_their_stage_column_and_lane(fig, params):
    tiles = _tiles(fig)
    for col, st in enumerate(params.journey):
        for tp in st.touchpoints:
            if tp.id in tiles:
                b = tiles[tp.id].get_bbox()
                assert b.x0 < col < b.x1
                lane = [t.id for t in params.touchpoints].index(tp.id)
                assert b.y0 < lane < b.y1


def test_tile_colour_and_size_encode_csat_and_volume(fig, inputs):
    perf = inputs[0].set_index("touchpoint")
    tiles = _tiles(fig)
    r, _, b, _ = tiles["delivery"].get_facecolor()
    assert r > 0.5 > b  # low CSAT: red
    r, _, b, _ = tiles["store"].get_facecolor()
    assert b > r  # high CSAT: blue
    area = {tp: p.get_width() * p.get_height() for tp, p in tiles.items()}
    assert perf.loc["store", "n"] > perf.loc["delivery", "n"] > perf.loc["chat", "n"]
    assert area["store"] > area["delivery"] > area["chat"]
    assert tiles["email"].get_linestyle() == "--"  # small base
    values = _gid_texts(fig, "value:")
    assert values["value:delivery"].get_text() == f"{perf.loc['delivery', 'performance']:.1f}"
    assert "no survey" in values["value:website"].get_text()


def test_colour_bar_and_emotion_curve(fig, inputs, params):
    cbar = [ax for ax in fig.axes if ax.get_gid() == "colorbar"]
    assert len(cbar) == 1
    assert cbar[0].get_xlabel() == "Mean CSAT (1-5)"
    assert any("target" in t.get_text() for t in cbar[0].get_xticklabels())
    line = next(ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "emotion")
    x, y = line.get_data()
    assert len(x) == len(params.journey) == 7
    np.testing.assert_allclose(y, inputs[3]["emotion"].to_numpy(dtype=float))
    emo_ax = line.axes
    assert any(np.allclose(ln.get_ydata(), 0) for ln in emo_ax.get_lines() if ln is not line)
    assert emo_ax.collections  # the interval band
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert any("responses" in s for s in legend) and any("interval" in s for s in legend)


def test_pain_and_operations_written_beside_tiles(fig):
    labels = _gid_texts(fig, "label:")
    assert "Late delivery (36%)" in labels["label:delivery"].get_text()
    assert "31% of orders late" in labels["label:delivery"].get_text()
    assert "42% of sessions drop off" in labels["label:checkout"].get_text()
    assert "small base" in labels["label:email"].get_text()
    assert max(len(line) for line in labels["label:product"].get_text().split("\n")) <= 40  # wrapped


def test_no_two_labels_or_tiles_overlap_and_labels_stay_in_the_map(fig):
    renderer = fig.canvas.get_renderer()
    texts = {**_gid_texts(fig, "label:"), **_gid_texts(fig, "value:")}
    boxes = {gid: t.get_window_extent(renderer) for gid, t in texts.items()}
    for (a, ba), (b, bb) in itertools.combinations(boxes.items(), 2):
        assert not ba.overlaps(bb), f"{a} overlaps {b}"
    for tp, tile in _tiles(fig).items():
        tb = tile.get_window_extent(renderer)
        vb = boxes[f"value:{tp}"]
        assert tb.x0 < vb.x0 and vb.x1 < tb.x1 and tb.y0 < vb.y0 and vb.y1 < tb.y1, f"{tp} value outside its tile"
        for gid, bx in boxes.items():
            if gid != f"value:{tp}":
                assert not tb.overlaps(bx), f"{gid} overlaps the tile of {tp}"
    ax_box = _map_axes(fig).get_window_extent(renderer)
    for gid, bx in boxes.items():
        assert ax_box.x0 <= bx.x0 and bx.x1 <= ax_box.x1, f"{gid} leaves the map"
    fig_box = fig.bbox
    for lg in fig.legends:
        lb = lg.get_window_extent(renderer)
        assert fig_box.x0 <= lb.x0 and lb.x1 <= fig_box.x1


def test_map_needs_performance_columns(inputs, params):
    perf, ops, pains, emotion = inputs
    with pytest.raises(ValueError, match="performance"):
        journey_figure.journey_map(perf.drop(columns="performance"), ops, pains, emotion, params)
    bare = journey_figure.journey_map(perf, None, None, emotion, params)  # ops and pains optional
    assert len(_tiles(bare)) == 10


def test_rtl_map_runs_stages_right_to_left(inputs, params):
    f = journey_figure.journey_map(*inputs, params, rtl=True)
    f.canvas.draw()
    n = len(params.journey)
    tiles = _tiles(f)
    b = tiles[params.journey[0].touchpoints[0].id].get_bbox()
    assert b.x0 < n - 1 < b.x1  # the first stage's tiles are in the rightmost column
    ax = _map_axes(f)
    stage_x = [t.get_position()[0] for t in ax.get_xticklabels()]
    assert stage_x == sorted(stage_x, reverse=True) and stage_x[0] == n - 1  # journey order: right to left
    renderer = f.canvas.get_renderer()
    lanes = [t for t in ax.get_yticklabels() if t.get_visible() and t.get_text()]
    map_box = ax.get_window_extent(renderer)
    assert lanes and all(t.get_window_extent(renderer).x0 >= map_box.x1 - 1 for t in lanes)  # lane labels right
    line = next(ln for a in f.axes for ln in a.get_lines() if ln.get_gid() == "emotion")
    assert list(line.get_xdata()) == sorted(line.get_xdata(), reverse=True)
    ltr = journey_figure.journey_map(*inputs, params, rtl=False)
    assert [t.get_position()[0] for t in _map_axes(ltr).get_xticklabels()] == list(range(n))
