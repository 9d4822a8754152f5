"""cxlib.quant.personas on the demo data: one data-built card per segment, checked against
independent counts; deterministic names; escaping; rendering to HTML and PDF."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cxlib.data import engine
from cxlib.quant import personas, segments
from cxlib.quant.personas import Persona
from cxlib.report import render
from cxlib.voice import coding
from tests.helpers import open_demo


@pytest.fixture(scope="module")
def demo(demo_dir):
    mp, params, store, cur, _ = open_demo(demo_dir)
    engine.build_customer_view(store, cur.end)
    view = engine.customer_view(store)
    verb = engine.verbatims(store)
    book = coding.compile_codebook(store.df("codebook"))
    coded = coding.auto_code(verb, book)
    resp = engine.responses(store)
    yield {"store": store, "params": params, "view": view, "verb": verb, "coded": coded, "resp": resp,
           "cur": cur}
    store.close()
    mp.undo()


_BUILT: dict = {}


def built(d):
    """The demo personas (rules segments), built once per module."""
    if "rules" not in _BUILT:
        _BUILT["rules"] = build(d)
    return _BUILT["rules"]


def build(d, spec=None):
    p, view = d["params"], d["view"]
    seg = segments.assign_segments(view, spec or p.segmentation, seed=p.seed)
    prof = segments.segment_profiles(view, seg, min_base=p.thresholds.min_base)
    perf = personas.touchpoint_performance_by_segment(d["resp"], p, view, seg)
    infl = personas.traffic_sources(d["store"], view, seg, as_of=d["cur"].end)
    cards = personas.build_personas(prof, view, seg, d["coded"], d["verb"], perf, influences=infl,
                                    min_base=p.thresholds.min_base, touchpoint_labels=p.touchpoint_labels())
    return seg, prof, perf, infl, cards


def independent_code_counts(d, segment: str) -> tuple[pd.Series, int]:
    """Distinct customer texts of the segment mentioning each code, and the number of texts."""
    v = d["verb"]
    v = v[v["text"].fillna("").str.strip().ne("") & (v["speaker"].isna() | (v["speaker"] == "customer"))]
    ids = set(v.loc[v["segment"] == segment, "verbatim_id"])
    c = d["coded"][d["coded"]["verbatim_id"].isin(ids)].drop_duplicates(["verbatim_id", "code"])
    return c.groupby("code").size(), len(ids)


def test_one_persona_per_segment_with_goals_and_challenges_from_its_themes(demo):
    _, prof, _, _, cards = built(demo)
    assert [c.segment for c in cards] == list(prof["segment"])
    assert len(cards) == demo["view"]["segment"].nunique() == 4
    valence = dict(zip(demo["coded"]["code"], demo["coded"]["valence"], strict=False))
    for card in cards:
        assert card.goals and card.challenges and card.demographics and card.channels and card.numbers
        counts, n_texts = independent_code_counts(demo, card.segment)
        assert card.data["n_texts"] == n_texts
        pos = counts[[valence[c] == "positive" for c in counts.index]].sort_values(ascending=False)
        neg = counts[[valence[c] == "negative" for c in counts.index]].sort_values(ascending=False)
        top_goal, top_challenge = card.data["goals"][0], card.data["challenges"][0]
        assert top_goal["n"] == pos.iloc[0] and top_goal["code"] in pos[pos == pos.iloc[0]].index
        assert top_challenge["n"] == neg.iloc[0] and top_challenge["code"] in neg[neg == neg.iloc[0]].index
        assert top_goal["share"] == pytest.approx(pos.iloc[0] / n_texts)
        assert card.goals[0] == f"{coding.code_label(top_goal['code'])} ({round(100 * top_goal['share'])}% of their comments)"
        assert all(valence[g["code"]] == "positive" for g in card.data["goals"])
        assert all(valence[g["code"]] == "negative" for g in card.data["challenges"])


def test_demographics_channels_and_numbers_match_the_view(demo):
    _, prof, _, _, cards = built(demo)
    view = demo["view"]
    for card in cards:
        g = view[view["segment"] == card.segment]
        dem = card.data["demographics"]
        assert dem["age_median"] == pytest.approx(g["age"].astype(float).median())
        # shares of all members (those who did not state a gender are shown as such)
        assert dem["gender"] == pytest.approx((g["gender"].value_counts().head(3) / len(g)).to_dict())
        assert dem["income_band"][0] == g["income_band"].value_counts().index[0]
        assert list(dem["cities"]) == list(g["city"].value_counts().index[:2])
        ch = g["preferred_channel"].value_counts(normalize=True)
        assert card.channels[0] == f"{ch.index[0]} {round(100 * ch.iloc[0])}%"
        p = prof.set_index("segment").loc[card.segment]
        assert f"NPS {p['nps']:.0f} [" in card.numbers[1]
        assert card.numbers[0].startswith(f"{len(g):,} customers")


def test_touchpoints_that_matter_are_the_lowest_rated_and_most_mentioned(demo):
    _, _, perf, _, cards = built(demo)
    t = demo["resp"][demo["resp"]["survey_type"] == "transactional"]
    for card in cards:
        tt = t[t["segment"] == card.segment].dropna(subset=["csat"])
        means = tt.groupby("touchpoint")["csat"].agg(["mean", "size"])
        means = means[means["size"] >= 30].sort_values("mean")
        low = card.data["touchpoints"]["lowest_rated"][0]
        assert low["touchpoint"] == means.index[0] and low["csat"] == pytest.approx(means["mean"].iloc[0])
        # the demo's planted weak touchpoint is delivery, for every segment
        assert low["touchpoint"] == "delivery" and card.touchpoints[0].startswith("Delivery: CSAT")
        v = demo["verb"][demo["verb"]["segment"] == card.segment]
        vc = v["touchpoint"].value_counts()
        mentioned = [m["touchpoint"] for m in card.data["touchpoints"]["most_mentioned"]]
        rated = {r["touchpoint"] for r in card.data["touchpoints"]["lowest_rated"]}
        assert mentioned == [tp for tp in vc.index if tp not in rated][:2]


def test_influences_come_from_traffic_sources_and_competitor_mentions(demo):
    _, _, _, infl, cards = built(demo)
    assert infl.groupby("segment")["share"].sum().round(9).eq(1).all()
    w = demo["store"].table("web_events").to_pandas()
    w = w[w["event_time"] < demo["cur"].end].dropna(subset=["customer_id"])
    seg_of = demo["view"].set_index("customer_id")["segment"]
    w = w.assign(segment=w["customer_id"].map(seg_of)).drop_duplicates(["customer_id", "source", "session_id"])
    for card in cards:
        ww = w[w["segment"] == card.segment]
        want = ww.groupby(["customer_id", "source"]).size().groupby("source").sum()
        got = infl[infl["segment"] == card.segment].set_index("source")["sessions"]
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
        assert card.influences[0].startswith("arrive online via")
        assert "mention competitors" in card.influences[-1]


def test_names_are_deterministic_unique_and_from_the_fixed_lists(demo):
    a = [c.name for c in build(demo)[-1]]
    b = [c.name for c in build(demo)[-1]]
    assert a == b
    firsts = [n.split(",")[0] for n in a]
    assert len(set(firsts)) == len(firsts)
    assert all(f in personas.FEMALE_NAMES + personas.MALE_NAMES for f in firsts)
    assert a[0].endswith(", the value seeker")
    # a stable hash (not Python's per-process hash()): the same name in every run
    assert personas.persona_name("Value Seekers") == "Olivia, the value seeker"
    assert personas.persona_name("Families") == "Chloe, the family shopper"
    assert personas.persona_name("Value Seekers", taken={"Olivia"}) != "Olivia, the value seeker"
    assert personas._descriptor("VIP Customers") == "VIP customer"


def test_personas_from_cluster_segments_use_the_cluster_labels(demo):
    seg, prof, _, _, cards = build(demo, {"method": "clusters"})
    assert {c.segment for c in cards} == set(seg)
    counts, n_texts = independent_code_counts(
        {**demo, "verb": demo["verb"].assign(segment=demo["verb"]["customer_id"].map(
            segments.segment_map(demo["view"], seg)))}, cards[0].segment)
    assert cards[0].data["n_texts"] == n_texts
    assert cards[0].goals and cards[0].challenges


def card(**kw) -> Persona:
    base = dict(segment="Value <Seekers>", name="Sara, the value seeker", role="31% of customers",
                demographics=["age 37"], goals=["<script>alert(1)</script> (12% of their comments)"],
                challenges=["Late *delivery* | [x](http://evil)"], channels=["web 37%"],
                touchpoints=["Delivery: CSAT 2.7"], influences=[], numbers=["618 customers"])
    base.update(kw)
    return Persona(**base)


def test_persona_markdown_escapes_customer_text():
    md = personas.persona_markdown(card())
    assert md.startswith("::: {.persona}\n### Sara, the value seeker") and md.endswith(":::")
    assert "<script>" not in md and "\\<script\\>alert\\(1\\)\\</script\\>" in md
    assert "\\*delivery\\*" in md and "\\[x\\]\\(http\\:" in md
    assert "Value \\<Seekers\\>" in md
    for label in ("Demographics", "Goals", "Challenges", "Channels", "Touchpoints that matter", "Key numbers"):
        assert f"**{label}" in md
    both = personas.personas_markdown([card(), card(name="Omar, the x")])
    assert both.startswith(":::: {.personas}\n::: {.persona}") and both.rstrip().endswith("::::")
    assert both.count("::: {.persona}") == 2
    assert "no clear signal" in personas.persona_markdown(card(goals=[]))
    assert "small base" in personas.persona_markdown(card(small_base=True))


@pytest.mark.slow
def test_personas_render_as_cards_in_html_and_pdf(demo, tmp_path):
    from pypdf import PdfReader

    cards = build(demo)[-1]  # a fresh copy: this test edits a card
    cards[0].goals.insert(0, "<script>alert(1)</script> (1% of their comments)")
    meta = render.ReportMeta(title="Personas", date="2026Q3")
    md = tmp_path / "report.md"
    md.write_text(render._front_matter(meta) + "\n# Who the customers are\n\n"
                  + personas.personas_markdown(cards) + "\n", encoding="utf-8")
    html_path, pdf_path = render.render_offline(md, meta)
    html = html_path.read_text(encoding="utf-8")
    # pandoc turns a div that starts with a heading into a <section> carrying its classes
    assert 'class="personas"' in html
    assert len(re.findall(r'class="(?:[^"]*\s)?persona(?:\s[^"]*)?"', html)) == len(cards)
    assert "&lt;script&gt;alert" in html and "<script>alert" not in html
    assert ".persona {" in html  # the card styles are embedded
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(str(pdf_path)).pages))
    for c in cards:
        assert c.name in text
    assert "Goals: what they value" in text and "Key numbers" in text


def test_arabic_cards_have_arabic_labels_and_keep_english_values_left_to_right():
    md = personas.persona_markdown(card(), "ar")
    assert "**الأهداف\\: ما يقدّرونه:**" in md and "**Goals" not in md
    assert '- [\\<script\\>alert\\(1\\)\\</script\\> \\(12% of their comments\\)]{dir="ltr"}' in md
    assert "<script>" not in md
    assert '{.persona-role dir="ltr"}' in md
