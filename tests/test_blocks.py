"""cxlib.report.blocks: the Markdown of the first screen and the recurring blocks."""

from __future__ import annotations

import pandas as pd
import pypandoc
import pytest

from cxlib.report import blocks
from cxlib.report.i18n import LRI, PDI, Translator

EN, AR = Translator("en"), Translator("ar")


def _html(md: str) -> str:
    return pypandoc.convert_text(md, "html5", format="markdown")


def test_tile_says_value_interval_change_badge_and_base():
    t = blocks.Tile("NPS", 23.4, (18.2, 28.5), -8.1, "2026Q2", True, 740, signed=True)
    md = blocks.kpi_tiles([t], tr=EN)
    assert md.startswith(":::: {.kpis}\n::: {.kpi .kpi-worse}")  # NPS up = better; it fell, significantly
    for part in ("[NPS]{.kpi-label}", "[+23]{.kpi-value}", "[95% interval +18 to +28]{.kpi-ci}",
                 "[▼ −8.1 vs 2026Q2]{.kpi-change}", "[Significant change]{.kpi-badge .kpi-sig}",
                 "[Base: 740 responses]{.kpi-base}"):
        assert part in md
    html = _html(md)
    assert '<span class="kpi-value">+23</span>' in html and 'class="kpi kpi-worse"' in html


def test_tiles_without_previous_period_or_measure():
    md = blocks.kpi_tiles([blocks.Tile("CSAT", 81.0, (79, 83), suffix="%"),
                           blocks.Tile("CES", None, reason="No CES question in the survey")], tr=EN)
    assert "[No previous period to compare with]{.kpi-change .kpi-none}" in md
    assert "::: {.kpi .kpi-missing}\n[CES]{.kpi-label}\n\n[Not measured]{.kpi-na}" in md
    assert "No CES question in the survey" in md
    flat = blocks.kpi_tiles([blocks.Tile("CSAT", 81, change=1.2, previous="Q2", significant=False)], tr=EN)
    assert ".kpi-flat" in flat and "Not a significant change" in flat and "▲ +1.2" in flat


def test_customer_text_is_escaped_everywhere():
    evil = "<script>alert(1)</script> *x* [l](http://e) {.c}"
    md = "\n\n".join([
        blocks.kpi_tiles([blocks.Tile(evil, 1.0, n=3, base=evil)], tr=EN),
        blocks.top_findings([blocks.Finding(evil, base=evil)], tr=EN),
        blocks.top_actions([blocks.Action(evil, owner=evil, impact=evil)], tr=EN),
        blocks.swot_grid([blocks.SwotItem(evil, evil)], [evil], [], [], tr=EN),
        blocks.note_box(evil, kind="missing", tr=EN),
        blocks.not_in_report([(evil, evil)], tr=EN),
        blocks.persona_cards([blocks.Persona(evil, evil, evil, goals=[evil])], tr=EN),
    ])
    html = _html(md)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<em>x</em>" not in html and 'href="http://e"' not in html and 'class="c"' not in html
    assert blocks.top_findings([blocks.Md("**bold**")], tr=EN).count("**bold**") == 1  # Md: as given


def test_arabic_blocks_isolate_numbers_without_breaking_escapes():
    md = blocks.top_findings([blocks.Finding("انخفض -12 نقطة", base="740 إجابة")], tr=AR)
    assert "أهم النتائج" in md
    assert f"{LRI}\\-12{PDI}" in md  # the isolate wraps the escaped run, never splits "\-"
    tiles = blocks.kpi_tiles([blocks.Tile("NPS", 23, (18, 28), -8.0, "2026Q2", True, 740, signed=True)], tr=AR)
    assert f"[{LRI}+23{PDI}]{{.kpi-value}}" in tiles and "مقارنةً بـ" in tiles and "الأساس" in tiles
    html = _html(tiles)
    assert "\\" not in html  # no escape left visible


def test_findings_and_actions_limit_base_and_links():
    md = blocks.top_findings([blocks.Finding(f"F{i}", base=f"{i} responses", section="sec-journey")
                              for i in range(5)], tr=EN)
    assert md.count("{.finding-base}") == 3 and "1. F0" in md and "F3" not in md
    assert "[Details](#sec-journey){.finding-link}" in md
    with pytest.raises(ValueError, match="anchor"):
        blocks.top_findings([blocks.Finding("x", section="bad anchor)")], tr=EN)
    acts = blocks.top_actions([blocks.Action("Fix slots", owner="Logistics")], tr=EN)
    assert "1. Fix slots [Owner: Logistics]{.action-owner}" in acts
    assert "No action is recommended" in blocks.top_actions([], tr=EN)


def test_swot_grid_four_quadrants_and_limit():
    md = blocks.swot_grid([f"s{i}" for i in range(6)], ["w"], [], ["t"], tr=EN, limit=4)
    html = _html(md)
    for q in ("strengths", "weaknesses", "opportunities", "threats"):
        assert f'class="swot-q swot-{q}"' in html
    assert "s3" in md and "s4" not in md
    assert "Nothing in the data this period." in md  # the empty quadrant says so


def test_notes_first_screen_and_not_in_report():
    assert "[This part could not be produced]{.note-title}" in blocks.note_box("no ids", kind="missing", tr=EN)
    assert "[Note]{.note-title}" in blocks.note_box("fyi", tr=EN)
    with pytest.raises(ValueError):
        blocks.note_box("x", kind="warning")
    assert blocks.not_in_report([], tr=EN) == ""
    assert "- **Churn**: needs customer ids" in blocks.not_in_report([("Churn", "customer ids")], tr=EN)
    fs = blocks.first_screen("a", "", "b", title="Summary", tr=EN)
    assert fs == "::::: {.first-screen}\n# Summary {#sec-summary .unlisted}\n\na\n\nb\n:::::"


def test_tiles_from_kpi_tiles_output():
    kpis = pd.DataFrame([
        dict(metric="nps", label="NPS", unit="points", value=23.4, ci_low=18.0, ci_high=28.5, n=740,
             n_previous=700, change=-8.1, significant=True, small_base=False),
        dict(metric="csat", label="CSAT (top-2-box %)", unit="%", value=81.0, ci_low=79.0, ci_high=83.0,
             n=12, n_previous=0, change=float("nan"), significant=False, small_base=True),
        dict(metric="ces", label="CES", unit="score", value=float("nan"), ci_low=float("nan"),
             ci_high=float("nan"), n=0, n_previous=0, change=float("nan"), significant=False, small_base=True),
    ])
    nps, csat, ces = blocks.tiles_from_kpis(kpis, tr=EN, previous="2026Q2")
    assert nps.signed and nps.previous == "2026Q2" and nps.trend == "worse"
    assert csat.suffix == "%" and csat.previous is None and csat.small_base
    assert not ces.measured and ces.reason
    md = blocks.kpi_tiles([nps, csat, ces], tr=EN)
    assert "small base, read with care" in md and "Not measured" in md
    # a CSAT asked on relationship responses only: not measured, and the tile says why (not "no answers")
    out = kpis.assign(out_of_scope=[0, 0, 0])
    out.loc[2, "out_of_scope"] = 150
    (*_, ces2) = blocks.tiles_from_kpis(out, tr=EN, previous="2026Q2")
    assert not ces2.measured and ces2.reason.startswith("150 answers are on the other survey type"), ces2.reason
    assert ces.reason == EN("pres.tile.no_data")
