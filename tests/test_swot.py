"""SWOT and executive summary on the demo: read from the run's results, planted findings become
evidenced items and sentences."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
import yaml

import cxlib
from cxlib import paths
from cxlib.decide import summary, swot
from cxlib.decide.words import Message
from cxlib.report.i18n import Translator
from tests.helpers import demo_params_dict

EN = Translator("en")


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
    return swot.Evidence.from_results(ctx.maybe, ctx.period.label, ctx.previous_label)


def say(x) -> str:
    return EN.say(x, markdown=False) if isinstance(x, Message | swot.Term) or hasattr(x, "parts") else str(x)


def test_evidence_is_read_from_the_results_that_ran(ctx, evidence):
    assert {"kpis", "segments", "ipa", "fix_first", "themes", "share", "churn", "abandonment",
            "passives"} <= set(evidence.present())
    assert evidence.kpis is ctx.result("kpis")  # the same object: computed once, never recomputed


def test_planted_findings_are_data_driven_items(ctx, evidence):
    table = swot.build(evidence, ctx.params, ctx.store.df("swot_inputs"))
    items = table.set_index("id")
    expected = {
        "W-tp-delivery": "weakness",             # (1) important and least satisfying
        "W-theme-late-delivery": "weakness",      # (2) over-represented among detractors
        "T-seg-value-seekers": "threat",          # (3) significant NPS fall
        "W-abandon-mobile": "weakness",           # (4) mobile checkout abandonment
        "T-competitor-fastcart": "threat",        # (6) rising share of mentions
        "S-tp-store": "strength",                 # (7) in-store strength
        "T-churn-has-unresolved": "threat",       # (5) unresolved tickets and churn
    }
    for id_, quadrant in expected.items():
        assert id_ in items.index, f"{id_} missing from {list(items.index)}"
        row = items.loc[id_]
        assert row["quadrant"] == quadrant and row["origin"] == "data"
        assert say(row["evidence"]) and row["section"].startswith("sec-") and row["n"] > 0
    assert items.loc["T-seg-value-seekers", "p_value"] < 0.05
    assert [i for i in items.index if i.startswith("S-tp-")] == ["S-tp-store"]
    staff = table[table["origin"] == "staff"]
    assert len(staff) == len(ctx.store.df("swot_inputs"))
    assert all(say(e).startswith("Staff input") for e in staff["evidence"])
    assert list(table["quadrant"].astype(str).unique()) == swot.QUADRANTS


def test_params_edits_add_drop_reword_and_unknown_ids_stated(ctx, evidence):
    edits = {"drop": ["T-churn-has-unresolved", "W-nope"], "reword": {"W-tp-delivery": "Deliveries are too slow."},
             "add": [{"quadrant": "opportunity", "text": "Launch same-day delivery in Riyadh.", "id": "A-same-day"}]}
    params = type(ctx.params).model_validate(ctx.params.model_dump() | {"swot": edits})
    table = swot.build(evidence, params, None)
    items = table.set_index("id")
    assert "T-churn-has-unresolved" not in items.index
    assert items.loc["W-tp-delivery", "text"] == "Deliveries are too slow."
    assert items.loc["W-tp-delivery", "origin"] == "analyst (reworded)"
    assert "CSAT" in say(items.loc["W-tp-delivery", "evidence"])  # evidence kept
    assert items.loc["A-same-day", "origin"] == "analyst" and items.loc["A-same-day", "quadrant"] == "opportunity"
    assert table.attrs["unknown_edits"] == ["W-nope"]  # stated in the report, never silent


def test_findings_are_the_largest_significant_ones_of_every_section(ctx):
    found = summary.findings(ctx.maybe, ctx.params, ctx.period.label, ctx.previous_label)
    text = [EN.say(f.message) for f in found]
    assert text[0].startswith("NPS is")            # the headline first
    assert found[1].kind == "fix_first" and "**Delivery** is the touchpoint to fix first" in text[1]
    assert "model explains" in text[1] and "upper bound" in text[1]  # the uplift with its fit and caveat
    kinds = [f.kind for f in found[2:]]
    assert len(kinds) == 4 and {"theme", "share"} <= set(kinds)  # voice and social heard separately
    assert {"churn_signal", "churn_group"} & set(kinds)            # and churn
    assert {"segment", "abandonment"} & set(kinds)                 # then the strongest of the rest
    joined = " ".join(text)
    assert "**Late delivery**" in joined and "**FastCart**'s share of social mentions moved" in joined
    ranked = [f.z for f in found[2:]]
    assert ranked == sorted(ranked, reverse=True) and all(f.n > 0 for f in found)


def test_headline_never_claims_an_unsupported_change():
    k = pd.DataFrame([{"metric": "nps", "label": "NPS", "unit": "points", "value": 12.4, "ci_low": 5.0, "ci_high": 19.9,
                       "n": 740, "previous_value": 24.9, "change": -12.5, "p_value": 0.003, "significant": True}])
    ev = swot.Evidence("2026Q3", "2026Q2", kpis=k)
    assert EN.say(summary.headline(ev).message) == (
        "NPS is +12 in 2026Q3 (95% CI +5 to +20, n = 740), down 12.5 points from +25 in 2026Q2: a significant "
        "change (p = 0.003).")
    flat = EN.say(summary.headline(dataclasses.replace(
        ev, kpis=k.assign(change=-6.0, p_value=0.21, significant=False))).message)
    assert "no significant change" in flat and "down" not in flat and "(-6.0 points, p = 0.210)" in flat
    none = EN.say(summary.headline(swot.Evidence("2026Q3", None, kpis=k.assign(change=math.nan))).message)
    assert none.endswith("there is no earlier period in the data to compare with.")


def test_theme_items_carry_their_coding_reliability(ctx, evidence):
    assert evidence.code_flags  # the demo has manual codes, so every code has a flag
    flagged = dataclasses.replace(evidence, code_flags={**evidence.code_flags, "late_delivery": "unreliable"})
    row = swot.build(flagged, ctx.params, None).set_index("id").loc["W-theme-late-delivery"]
    assert say(row["evidence"]).endswith("; coding reliability: unreliable")
    plain = swot.build(dataclasses.replace(evidence, code_flags={"late_delivery": "reliable"}), ctx.params, None)
    assert "coding reliability" not in say(plain.set_index("id").loc["W-theme-late-delivery", "evidence"])


def test_a_client_without_churn_or_surveys_gets_no_such_item():
    from cxlib.data.params import Params

    p = Params.model_validate({"client": "x", "name": "x", "data_dir": "data/x",
                               "tables": {"verbatims": {"file": "v.csv"}}})
    ev = swot.Evidence("all", None)
    assert swot.build(ev, p).empty
    assert summary.findings(lambda name: None, p, "all", None) == []
