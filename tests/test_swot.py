"""SWOT and executive summary on the demo data: planted findings become evidenced items."""

from __future__ import annotations

import math

import pytest
import yaml

import cxlib
from cxlib import paths
from cxlib.decide import summary, swot
from cxlib.exceptions import ParameterError
from tests.helpers import demo_params_dict


@pytest.fixture(scope="module")
def ctx(demo_dir, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(paths, "DATA_DIR", demo_dir.parent)
    f = tmp_path_factory.mktemp("params") / "demo.yml"
    f.write_text(yaml.safe_dump(demo_params_dict() | {"data_dir": str(demo_dir)}))
    yield cxlib.open_run(f)
    mp.undo()


@pytest.fixture(scope="module")
def evidence(ctx):
    return swot.gather(ctx)


def test_planted_findings_are_data_driven_items(ctx, evidence):
    table = swot.build(evidence, ctx.params, ctx.store.df("swot_inputs"))
    items = table.set_index("id")
    expected = {
        "W-tp-delivery": "weakness",             # (1) important and least satisfying
        "W-theme-late-delivery": "weakness",      # (2) over-represented among detractors
        "T-seg-value-seekers": "threat",          # (3) significant NPS fall
        "T-competitor-fastcart": "threat",        # (6) rising share of mentions
        "S-tp-store": "strength",                 # (7) in-store strength
        "T-churn-has-unresolved": "threat",       # (5) unresolved tickets and churn
    }
    for id_, quadrant in expected.items():
        assert id_ in items.index, f"{id_} missing from {list(items.index)}"
        row = items.loc[id_]
        assert row["quadrant"] == quadrant and row["origin"] == "data"
        assert row["evidence"] and row["section"].startswith("sec-") and row["n"] > 0
    assert items.loc["T-seg-value-seekers", "p_value"] < 0.05
    # the store strength is the only touchpoint strength: checkout/product are below target
    assert [i for i in items.index if i.startswith("S-tp-")] == ["S-tp-store"]
    # staff input merged and labelled
    staff = table[table["origin"] == "staff"]
    assert len(staff) == len(ctx.store.df("swot_inputs")) and staff["evidence"].str.startswith("Staff input").all()
    # quadrants in order, data items before staff items within a quadrant
    assert list(table["quadrant"].astype(str).unique()) == swot.QUADRANTS


def test_params_edits_add_drop_reword(ctx, evidence):
    edits = {"drop": ["T-churn-has-unresolved"], "reword": {"W-tp-delivery": "Deliveries are too slow."},
             "add": [{"quadrant": "opportunity", "text": "Launch same-day delivery in Riyadh.", "id": "A-same-day"}]}
    params = type(ctx.params).model_validate(ctx.params.model_dump() | {"swot": edits})
    table = swot.build(evidence, params, None).set_index("id")
    assert "T-churn-has-unresolved" not in table.index
    assert table.loc["W-tp-delivery", "text"] == "Deliveries are too slow."
    assert table.loc["W-tp-delivery", "origin"] == "analyst (reworded)"
    assert "CSAT" in table.loc["W-tp-delivery", "evidence"]  # evidence kept
    assert table.loc["A-same-day", "origin"] == "analyst" and table.loc["A-same-day", "quadrant"] == "opportunity"
    bad = type(ctx.params).model_validate(ctx.params.model_dump() | {"swot": {"drop": ["W-nope"]}})
    with pytest.raises(ParameterError, match=r"W-nope"):
        swot.build(evidence, bad, None)


def test_findings_sentences(evidence):
    text = " ".join(summary.findings(evidence))
    assert "**Delivery** is the touchpoint to fix first" in text
    assert "**Late delivery**" in text
    assert "NPS among **Value Seekers** fell" in text


def test_change_sentence_significant_and_not():
    kw = dict(label="NPS", value=12.4, ci_low=5.0, ci_high=19.9, n=740, previous=24.9, period="2026Q3",
              previous_label="2026Q2")
    sig = summary.change_sentence(change=-12.5, p_value=0.003, significant=True, **kw)
    assert sig == ("NPS is +12 in 2026Q3 (95% CI +5 to +20, n = 740), down 12.5 points from +25 in 2026Q2: "
                   "a significant change (p = 0.003).")
    flat = summary.change_sentence(change=-6.0, p_value=0.21, significant=False, **kw)
    assert "no significant change" in flat and "down" not in flat and "(-6.0 points, p = 0.210)" in flat
    none = summary.change_sentence(change=math.nan, p_value=math.nan, significant=False, **kw)
    assert none.endswith("there is no 2026Q2 figure to compare with.")


def test_theme_items_carry_their_coding_reliability(ctx, evidence):
    import dataclasses

    assert evidence.code_flags  # the demo has manual codes, so every code has a flag
    flagged = dataclasses.replace(evidence, code_flags={**evidence.code_flags, "late_delivery": "unreliable"})
    row = swot.build(flagged, ctx.params, None).set_index("id").loc["W-theme-late-delivery"]
    assert row["evidence"].endswith("; coding reliability: unreliable")
    plain = swot.build(dataclasses.replace(evidence, code_flags={"late_delivery": "reliable"}), ctx.params, None)
    assert "coding reliability" not in plain.set_index("id").loc["W-theme-late-delivery", "evidence"]
