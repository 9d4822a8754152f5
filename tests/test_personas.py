"""Personas: the data (cxlib.quant.personas) checked against independent counts on the demo, and
the cards (cxlib.report.personas) in English and Arabic: names of the client's market and the
segment's majority gender, goals and challenges that differ from segment to segment, client
text escaped, Latin runs and numbers kept whole in Arabic, cards never split across PDF pages."""

from __future__ import annotations

import ast
import math
import re

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cxlib import paths
from cxlib.data import engine
from cxlib.quant import personas, segments
from cxlib.quant.personas import MIN_LIFT, MIN_MENTIONS, Persona, ThemeLift
from cxlib.report import personas as cards_view
from cxlib.report import render
from cxlib.report.i18n import LRI, PDI, Translator
from cxlib.voice import coding
from tests.helpers import open_demo

ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def demo(demo_dir):
    mp, params, store, cur, _ = open_demo(demo_dir)
    engine.build_customer_view(store, cur.end)
    view = engine.customer_view(store)
    verb = engine.verbatims(store, [cur])  # the texts of the reporting period, as the analysis uses
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
    found = personas.build_personas(prof, view, seg, d["coded"], d["verb"], perf, influences=infl,
                                    min_base=p.thresholds.min_base, touchpoint_labels=p.touchpoint_labels())
    return seg, prof, perf, infl, found


def test_personas_read_only_their_view_columns(demo):
    """The report pulls only :data:`personas.VIEW_COLUMNS` of the customer view (memory at 1M
    customers): the personas are the same as from the whole view."""
    d = demo
    seg, prof, perf, infl, found = built(d)
    few = engine.customer_view(d["store"], personas.VIEW_COLUMNS)
    assert list(few.columns) == [c for c in d["view"].columns if c in personas.VIEW_COLUMNS]
    assert len(few.columns) < len(d["view"].columns) / 2
    p = d["params"]
    again = personas.build_personas(prof, few, seg, d["coded"], d["verb"],
                                    personas.touchpoint_performance_by_segment(d["resp"], p, few, seg),
                                    influences=personas.traffic_sources(d["store"], few, seg, as_of=d["cur"].end),
                                    min_base=p.thresholds.min_base, touchpoint_labels=p.touchpoint_labels())
    assert repr(again) == repr(found) and len(found) >= 3


def independent_code_counts(d, labels: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Distinct customer texts mentioning each code per segment, and the texts per segment."""
    v = d["verb"].assign(segment=d["verb"]["customer_id"].map(segments.segment_map(d["view"], labels)))
    v = v[v["text"].fillna("").str.strip().ne("") & (v["speaker"].isna() | (v["speaker"] == "customer"))]
    v = v[v["segment"].notna()]
    c = d["coded"].drop_duplicates(["verbatim_id", "code"]).merge(v[["verbatim_id", "segment"]], on="verbatim_id")
    return c.groupby(["segment", "code"]).size().unstack(fill_value=0), v["segment"].value_counts()


# --- the data -------------------------------------------------------------------------------


def test_the_analysis_returns_data_and_never_imports_the_report_layer():
    tree = ast.parse((paths.ROOT / "cxlib" / "quant" / "personas.py").read_text(encoding="utf-8"))
    mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in mods if m and m.startswith("cxlib.report")]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and any(a.name.startswith("_") for a in n.names)]


def test_goals_and_challenges_are_the_codes_each_segment_mentions_more_than_the_others(demo):
    seg, prof, _, _, found = built(demo)
    assert [p.segment for p in found] == list(prof["segment"]) and len(found) == 4
    counts, bases = independent_code_counts(demo, seg)
    valence = dict(zip(demo["coded"]["code"], demo["coded"]["valence"], strict=False))
    for p in found:
        assert p.n_texts == bases[p.segment] and p.theme_basis == "lift"
        n, base = counts.loc[p.segment], bases[p.segment]
        n_other, base_other = counts.drop(index=p.segment).sum(), bases.sum() - base
        lift = (n / base) / (n_other / base_other)
        for kind, items in (("positive", p.goals), ("negative", p.challenges)):
            ok = [c for c in counts.columns if valence[c] == kind and n[c] >= MIN_MENTIONS and lift[c] >= MIN_LIFT]
            want = sorted(ok, key=lambda c: (-lift[c], -n[c], c))[:3]
            assert [t.code for t in items] == want, (p.segment, kind)
            for t in items:
                assert (t.n, t.base, t.n_other, t.base_other) == (n[t.code], base, n_other[t.code], base_other)
                assert t.share == pytest.approx(n[t.code] / base)
                assert t.share_other == pytest.approx(n_other[t.code] / base_other)
                assert t.lift == pytest.approx(lift[t.code]) and t.lift >= MIN_LIFT
                assert 0 <= t.p_value <= 1 and t.significant == (t.p_value < 0.05)


def test_each_persona_has_its_own_goals_and_challenges(demo):
    found = built(demo)[-1]
    for kind in ("goals", "challenges"):
        lists = [tuple(t.code for t in getattr(p, kind)) for p in found if getattr(p, kind)]
        assert len(lists) >= 2 and len(set(lists)) == len(lists), kind
    # a code one segment raises more than the rest cannot be raised more than the rest by all of them
    for code in {t.code for p in found for t in p.goals + p.challenges}:
        assert sum(code in [t.code for t in p.goals + p.challenges] for p in found) < len(found)


def test_one_segment_has_nothing_to_compare_with_so_its_most_mentioned_codes_are_kept(demo):
    view = demo["view"]
    one = pd.Series("All customers", index=view.index)
    prof = segments.segment_profiles(view, one)
    (p,) = personas.build_personas(prof, view, one, demo["coded"], demo["verb"])
    assert p.theme_basis == "share" and p.goals and p.challenges
    assert all(math.isnan(t.lift) for t in p.goals + p.challenges)
    assert [t.n for t in p.challenges] == sorted((t.n for t in p.challenges), reverse=True)


def test_demographics_channels_and_numbers_match_the_view(demo):
    _, prof, _, _, found = built(demo)
    view = demo["view"]
    for p in found:
        g = view[view["segment"] == p.segment]
        assert p.customers == len(g) and p.share == pytest.approx(len(g) / len(view))
        assert p.age["median"] == pytest.approx(g["age"].astype(float).median())
        assert dict(p.gender) == pytest.approx((g["gender"].value_counts().head(3) / len(g)).to_dict())
        assert p.majority_gender == g["gender"].value_counts().index[0]
        assert p.income_band[0] == g["income_band"].value_counts().index[0]
        assert [c for c, _ in p.cities] == list(g["city"].value_counts().index[:2])
        ch = g["preferred_channel"].value_counts(normalize=True)
        assert p.channels[0] == (ch.index[0], pytest.approx(ch.iloc[0]))
        row = prof.set_index("segment").loc[p.segment]
        assert (p.nps, p.nps_n) == (pytest.approx(row["nps"]), row["nps_n"])
        assert p.spend_ratio == pytest.approx(g["revenue"].mean() / view["revenue"].mean())


def test_touchpoints_that_matter_are_the_lowest_rated_and_most_mentioned(demo):
    found = built(demo)[-1]
    t = demo["resp"][demo["resp"]["survey_type"] == "transactional"]
    for p in found:
        tt = t[t["segment"] == p.segment].dropna(subset=["csat"])
        means = tt.groupby("touchpoint")["csat"].agg(["mean", "size"])
        means = means[means["size"] >= 30].sort_values("mean")
        low = p.touchpoints_low[0]
        assert low["touchpoint"] == means.index[0] and low["csat"] == pytest.approx(means["mean"].iloc[0])
        # the demo's planted weak touchpoint is delivery, for every segment
        assert low["touchpoint"] == "delivery" and low["label"] == "Delivery"
        v = demo["verb"][demo["verb"]["segment"] == p.segment]
        rated = {r["touchpoint"] for r in p.touchpoints_low}
        mentioned = [m["touchpoint"] for m in p.touchpoints_mentioned]
        assert mentioned == [tp for tp in v["touchpoint"].value_counts().index if tp not in rated][:2]


def test_influences_come_from_traffic_sources_and_competitor_mentions(demo):
    _, _, _, infl, found = built(demo)
    assert infl.groupby("segment")["share"].sum().round(9).eq(1).all()
    w = demo["store"].table("web_events").to_pandas()
    w = w[w["event_time"] < demo["cur"].end].dropna(subset=["customer_id"])
    seg_of = demo["view"].set_index("customer_id")["segment"]
    w = w.assign(segment=w["customer_id"].map(seg_of)).drop_duplicates(["customer_id", "source", "session_id"])
    for p in found:
        ww = w[w["segment"] == p.segment]
        want = ww.groupby(["customer_id", "source"]).size().groupby("source").sum()
        got = infl[infl["segment"] == p.segment].set_index("source")["sessions"]
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
        assert p.traffic_sources[0][0] == want.sort_values(ascending=False).index[0]
        assert 0 <= p.competitor_share < 0.2


def test_personas_from_cluster_segments_use_the_cluster_labels(demo):
    seg, _, _, _, found = build(demo, {"method": "clusters"})
    assert {p.segment for p in found} == set(seg)
    _, bases = independent_code_counts(demo, seg)
    assert [p.n_texts for p in found] == [bases[p.segment] for p in found]


# --- the cards -------------------------------------------------------------------------------


AR = {"Value <Seekers>": "الباحثون عن القيمة", "Late delivery": "تأخّر التوصيل", "Good value": "قيمة جيدة",
      "female": "أنثى", "web": "الموقع", "Riyadh": "الرياض", "basic": "الأساسية", "SAR": "ريال",
      "Delivery": "التوصيل", "organic": "بحث طبيعي"}


def persona(**kw) -> Persona:
    base = dict(segment="Value <Seekers>", customers=618, share=0.31, small_base=False, majority_gender="female",
                nps=-23.0, nps_ci_low=-33.0, nps_ci_high=-13.0, nps_n=220, churn_rate=0.29,
                revenue_per_customer=1507.0, revenue_share=0.22, spend_ratio=0.7, plan=("basic", 0.6),
                top_channel="web", tenure_months=22.0,
                age={"median": 37, "q1": 29, "q3": 46, "min": 18, "max": 67}, gender=[("female", 0.51)],
                household_median=4.0, income_band=("<10k *SAR*", 0.47), cities=[("Riyadh", 0.28)], n_texts=491,
                goals=[ThemeLift("good_value", "Price", "positive", 60, 491, 0.122, 150, 1400, 0.107, 1.14, 0.3, False)],
                challenges=[ThemeLift("late_delivery", "Delivery", "negative", 54, 491, 0.11, 98, 1400, 0.07,
                                      1.57, 0.01, True)],
                channels=[("web", 0.37)], touchpoints_low=[{"touchpoint": "delivery", "label": "Delivery", "csat": 2.63,
                                                            "n": 63}],
                traffic_sources=[("organic", 0.32)], competitor_share=0.03)
    base.update(kw)
    return Persona(**base)


def test_english_card_says_whole_sentences_and_escapes_client_text():
    md = cards_view.persona_cards([persona(segment="Value <Seekers>")], Translator("en"), currency="SAR")
    assert md.startswith(":::: {.personas}\n::: {.persona}\n### ") and md.rstrip().endswith("::::")
    assert re.search(r"### \w+, the value \\<Seekers\\> \{", md)
    assert "[Value \\<Seekers\\>]{.persona-segment}" in md
    assert "income mostly \\<10k \\*SAR\\* \\(47%\\)" in md  # client text escaped, never markup
    assert "Late delivery\\: 11\\.0% of their comments \\(other customers\\: 7\\.0%\\)" in md
    assert "NPS −23 \\[−33, −13\\] \\(n\u00a0\\=\u00a0220\\)" in md and "1,507 SAR" in md
    for key in ("demographics", "channels", "numbers", "goals", "challenges", "touchpoints", "influences"):
        assert f"**{Translator('en')('pres.persona.' + key)}:**" in md


def test_nothing_stands_out_is_said_not_left_blank():
    md = cards_view.persona_cards([persona(goals=[], challenges=[])], Translator("en"))
    assert "nothing positive they mention more often than other customers" in md
    assert "no complaint they raise more often than other customers" in md
    assert "small base" in cards_view.persona_cards([persona(small_base=True)], Translator("en"))


def test_arabic_card_is_arabic_with_the_clients_labels_and_numbers_kept_whole():
    tr = Translator("ar", labels={"ar": AR})
    md = cards_view.persona_cards([persona()], tr, currency="SAR")
    # every word is Arabic but the income band the client left unlabelled (kept as given)
    visible = re.sub(r"\{[^}]*\}|\(n.\\=.|[\u2066-\u2069]", " ", md.replace("\\<10k \\*SAR\\*", ""))
    assert not [w for w in LATIN_WORD.findall(visible)], visible
    assert "[الباحثون عن القيمة]{.persona-segment}" in md
    assert "تأخّر التوصيل" in md and "الرياض" in md and "ريال" in md
    # a whole run stays one isolate, unbroken: "n = 63", an NPS with its interval, "<10k" left to right
    nb = "\u00a0"
    assert f"{LRI}n{nb}\\={nb}63{PDI}" in md and f"{LRI}−23{nb}\\[−33,{nb}−13\\]{PDI}" in md
    assert f"{LRI}\\<10k \\*SAR\\*{PDI}" in md
    # an Arabic name of the Gulf for a segment that is mostly women
    first = re.search(r"### (\S+)", md).group(1)
    assert first in cards_view.first_names(tr, "gulf", "female")


def test_names_fit_the_market_and_the_majority_gender_and_never_repeat():
    ar, en = Translator("ar"), Translator("en")
    for market in cards_view.MARKETS:
        for g in ("female", "male"):
            a, e = cards_view.first_names(ar, market, g), cards_view.first_names(en, market, g)
            assert len(a) == len(e) >= 10 and len(set(a)) == len(a)
            assert all(ARABIC.search(n) for n in a) and not any(ARABIC.search(n) for n in e)
    assert cards_view.market_of(None, "ar") == "gulf" and cards_view.market_of(None, "en") == "international"
    with pytest.raises(ValueError, match="market"):
        cards_view.market_of("mars", "en")
    n1 = cards_view.persona_name("Value Seekers", "male", ar, market="egypt")
    assert n1 == cards_view.persona_name("Value Seekers", "male", ar, market="egypt")  # a stable hash
    assert n1 in cards_view.first_names(ar, "egypt", "male")
    assert cards_view.persona_name("Value Seekers", "male", ar, market="egypt", taken={n1}) != n1
    found = [persona(segment=s, majority_gender="male") for s in ("A", "B", "C", "D", "E", "F")]
    names = re.findall(r"### (\S+)", cards_view.persona_cards(found, ar, market="levant"))
    assert len(set(names)) == 6 and all(n in cards_view.first_names(ar, "levant", "male") for n in names)
    # English: the name, then who the persona is; a params label "<segment> (persona)" wins
    assert cards_view.descriptor("Families") == "family shopper"
    assert cards_view.descriptor("VIP Customers") == "VIP customer"
    md = cards_view.persona_cards([persona(segment="Families")], Translator("en"), market="uk")
    assert re.search(r"### \w+, the family shopper", md)
    tr = Translator("ar", labels={"ar": {"Families (persona)": "من العائلات"}})
    assert re.search(r"### \S+، من العائلات", cards_view.persona_cards([persona(segment="Families")], tr))


@pytest.mark.slow
def test_cards_render_whole_on_one_pdf_page_each_in_both_languages(demo, tmp_path):
    from pypdf import PdfReader

    found = built(demo)[-1]
    for lang in ("en", "ar"):
        tr = Translator(lang)
        md_text = tr("personas.h") + "\n\n" + cards_view.persona_cards(found, tr, market="gulf", currency="SAR")
        cell = new_code_cell("show_text(...)")
        cell.outputs = [new_output("display_data", data={"text/markdown": md_text, "text/plain": ""},
                                   metadata={"cxlib": {"kind": "text"}})]
        nb = tmp_path / lang / "01_customers.ipynb"
        nb.parent.mkdir()
        # a long page before the cards, so that some card starts low on a page
        filler = new_markdown_cell("# " + tr("personas.h").splitlines()[0].strip("# ") + "\n\n"
                                   + "\n\n".join(["x " * 80] * 9))
        nbformat.write(new_notebook(cells=[filler, cell]), nb)
        meta = render.ReportMeta(title="Personas", date="2026Q3", language=lang)
        res = render.render(render.assemble([nb], tmp_path / lang / "out", meta), meta, "offline")
        html = res.html.read_text(encoding="utf-8")
        assert len(re.findall(r'class="(?:[^"]*\s)?persona(?:\s[^"]*)?"', html)) == len(found)
        pages = [re.sub(r"\s+", " ", p.extract_text() or "") for p in PdfReader(str(res.pdf)).pages]
        firsts = [n.split(",")[0].split("،")[0].strip() for n in re.findall(r"### ([^{]+?) \{", md_text)]
        assert len(firsts) == len(found) and all(sum(f in t for t in pages) == 1 for f in firsts)
        # a card is never split: the bullets on a page are those of the cards whose name is on it
        cards = md_text.split("::: {.persona}")[1:]
        bullets = {f: c.count("\n- ") for f, c in zip(firsts, cards, strict=True)}
        for t in pages:
            assert t.count("•") == sum(n for f, n in bullets.items() if f in t), (lang, t[:300])
        assert sum(t.count("•") for t in pages) == sum(bullets.values())
