"""Real-export shapes, end to end: each example client renders from its export and a params file alone.

For every shape (a survey export, a CRM snapshot, dated and undated reviews, a social export, an
Arabic/English review export) the report is built through the runner, and the tests check what a
new user would: the reference figures are exact (computed here with pandas straight from the raw
export), the planted finding is found, the analyses the data cannot support are listed with what
they would need, and nothing in the report comes from a table the client did not give.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from cxlib import paths
from cxlib.data.io import load_store
from cxlib.data.params import load_params
from cxlib.demo import examples
from cxlib.report import analyses, runner

pytestmark = pytest.mark.slow


def _data(client):
    params = load_params(client, check_files=False)
    runner.ensure_demo_data(params)
    return params.data_path


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return tmp_path_factory.mktemp("example-reports")


def render(client, reports, period=None):
    _data(client)
    return runner.run_report(client, period, renderer="offline", reports_dir=reports, quiet=True)


def csv(result, name) -> pd.DataFrame:
    return pd.read_csv(result.output_dir / "tables" / f"{name}.csv")


def manifest(result) -> dict:
    return json.loads((result.output_dir / "manifest.json").read_text())


def html(result) -> str:
    return " ".join((result.output_dir / "report.html").read_text(encoding="utf-8").split())


def ran_only_on_given_tables(result, given: set[str]) -> None:
    """Every analysis that ran needs only tables the client gave (texts and the customer view derive
    from them); every analysis that needs another table is listed as not in the report."""
    m = manifest(result)
    derived = {"texts": {"verbatims", "survey_responses"}, "customer_view": {"customers"}}
    for name, status in m["analyses"].items():
        needs = set(analyses.REGISTRY[name].needs.tables)
        ok = all(t in given or (derived.get(t, set()) & given) for t in needs)
        if not ok:
            assert status == "not in report", (name, status)
            assert name in m["not_in_report"]
    assert m["failed"] == [], m["failed"]


def nps(scores) -> float:
    s = pd.to_numeric(pd.Series(scores), errors="coerce").dropna()
    return 100 * ((s >= 9).mean() - (s <= 6).mean())


# --- a survey export alone --------------------------------------------------------------------


@pytest.fixture(scope="module")
def survey(reports):
    return render("example-survey", reports)


def _raw_survey():
    raw = pd.read_csv(_data("example-survey") / "survey_export.csv", dtype=str, keep_default_na=False)
    raw["when"] = pd.to_datetime(raw["Date Submitted"], format="%d/%m/%Y %H:%M")
    raw["nps"] = pd.to_numeric(raw.iloc[:, 2], errors="coerce")
    return raw


def test_survey_export_nps_overall_and_by_stage_are_exact(survey):
    raw = _raw_survey()
    q3 = raw[(raw["when"] >= "2026-07-01") & (raw["when"] < "2026-10-01")]
    k = csv(survey, "kpi_tiles").set_index("metric")
    assert k.loc["nps", "value"] == pytest.approx(nps(q3["nps"]), abs=1e-9)
    assert k.loc["nps", "n"] == q3["nps"].notna().sum() and k.loc["nps", "excluded"] == q3["nps"].isna().sum()
    by = csv(survey, "scores_by_stage")
    by = by[by["metric"] == "nps"].set_index("stage")["value"]
    ref = q3.groupby("Journey Stage")["nps"].apply(nps)
    assert by.sort_index().to_numpy() == pytest.approx(ref.sort_index().to_numpy(), abs=1e-9)
    assert by.idxmin() == examples.TRUTH["example-survey"]["weakest_stage"]


def test_survey_export_finds_the_detractor_theme_and_the_falling_region(survey):
    themes = csv(survey, "detractor_themes")
    top = themes[themes["significant"]].sort_values("difference", ascending=False).iloc[0]
    assert "billing" in (top["theme"] + top["code"]).lower()
    change = csv(survey, "change_by_region").set_index("Region")
    assert change.loc["Central", "significant_holm"] and change.loc["Central", "change"] < -20
    text = html(survey)
    assert "Central" in text and "moved from" in text  # in the summary, with its base


def test_survey_export_leaves_out_what_it_cannot_support_and_says_why(survey):
    ran_only_on_given_tables(survey, {"survey_responses"})
    m = manifest(survey)
    assert "customers" in m["not_in_report"]["churn_model"]
    assert "funnel" in m["not_in_report"]["funnel"]
    text = html(survey)
    assert "Not in this report" in text and "The churn model" in text
    assert 'id="sec-churn"' not in text and 'id="sec-customers"' not in text  # no empty sections
    names = {p.stem for p in (survey.output_dir / "tables").glob("*.csv")}
    assert not names & {"churn_model", "at_risk_by_driver", "segment_profile", "funnel", "touchpoints"}


def test_a_custom_range_is_exact_and_compared_with_the_range_before(reports):
    r = render("example-survey", reports, period="2026-01-01..2026-03-31")
    raw = _raw_survey()
    inside = raw[(raw["when"] >= "2026-01-01") & (raw["when"] < "2026-04-01")]
    k = csv(r, "kpi_tiles").set_index("metric")
    assert r.period == "2026-01-01..2026-03-31"
    assert k.loc["nps", "value"] == pytest.approx(nps(inside["nps"]), abs=1e-9)
    before = raw[(raw["when"] >= "2025-10-03") & (raw["when"] < "2026-01-01")]  # the 90 days before
    assert k.loc["nps", "previous_value"] == pytest.approx(nps(before["nps"]), abs=1e-9)


# --- a CRM snapshot alone, no dates -----------------------------------------------------------


@pytest.fixture(scope="module")
def crm(reports):
    return render("example-crm", reports)


def test_crm_snapshot_churn_by_contract_is_exact_with_wilson_intervals(crm):
    from statsmodels.stats.proportion import proportion_confint

    raw = pd.read_csv(_data("example-crm") / "crm_snapshot.csv")
    assert crm.period == "all"
    t = csv(crm, "churn_by_attribute")
    t = t[t["attribute"] == "Contract"].set_index("level")
    ref = raw.groupby("Contract")["Churn"].apply(lambda s: (s == "Yes").mean())
    assert t["rate"].sort_index().to_numpy() == pytest.approx(ref.sort_index().to_numpy(), abs=1e-12)
    row = t.loc["Month-to-month"]
    lo, hi = proportion_confint(row["churned"], row["customers"], method="wilson")
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert t["rate"].idxmax() == examples.TRUTH["example-crm"]["riskiest_contract"]


def test_crm_snapshot_models_churn_on_the_clients_columns(crm):
    checks = csv(crm, "churn_model_checks").set_index("check")
    auc = checks.loc[checks.index.str.contains("AUC") & ~checks.index.str.contains("no skill"), "value"]
    assert auc.max() > 0.75  # planted: contract, tenure and fibre drive churn
    drivers = csv(crm, "churn_model")
    assert drivers["predictor"].astype(str).str.contains("Contract|tenure").any()
    assert (crm.output_dir / "tables" / "at_risk_by_driver.csv").is_file()
    ran_only_on_given_tables(crm, {"customers"})
    assert "kpis" in manifest(crm)["not_in_report"] and 'id="sec-metrics"' not in html(crm)


def test_crm_snapshot_report_describes_only_the_data_it_has(crm):
    """The words around the numbers fit a CRM snapshot: the bases are its customers, the model
    finds associations without forecasting a horizon, and no section claims orders, web visits,
    support contacts or surveys the client did not give."""
    raw = pd.read_csv(_data("example-crm") / "crm_snapshot.csv")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html(crm)))
    assert f"It rests on the {len(raw):,} customers of the CRM export" in text
    assert "cannot forecast when customers leave" in text
    assert "Profiled from the CRM export: one row per customer." in text
    for claim in ("next 90 days", "support contacts", "late deliveries", "web activity", "0 survey responses",
                  "retention by signup cohort", "warning signal"):
        assert claim not in text, claim


def test_crm_snapshot_report_profiles_the_customers_at_a_glance(crm):
    """'Who the customers are' held one sentence for a CRM export: it now shows each attribute's
    largest groups or a number's median and range, against the raw file; the annex's bands are
    the readable bands of churn by attribute, in order (they were quantile intervals such as
    '(-0.001, 2.0]' sorted by size)."""
    raw = pd.read_csv(_data("example-crm") / "crm_snapshot.csv")
    glance = csv(crm, "customer_glance").set_index("attribute")
    assert glance.loc["tenure", "median"] == raw["tenure"].median()
    assert (glance.loc["tenure", "low"], glance.loc["tenure", "high"]) == (raw["tenure"].min(), raw["tenure"].max())
    assert glance.loc["Contract", "groups"] == raw["Contract"].nunique() and glance.loc["Contract", "kind"] == "groups"
    assert (glance["recorded"] == 1).all()  # the snapshot has no blanks
    # segments by contract are in the report, so the glance is in the annex
    assert 'id="tbl-customer_glance"' not in html(crm)
    annex = (crm.output_dir / "annex.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", annex))
    share = raw["Contract"].value_counts(normalize=True)
    top = " · ".join(f"{k} ({v * 100:.0f}%)" for k, v in share.items())
    assert f"Contract 100% {top}" in text, top
    assert (f"Tenure 100% median {raw['tenure'].median():,.0f}, from {raw['tenure'].min()} to "
            f"{raw['tenure'].max()}") in text
    profile = csv(crm, "customer_profile")
    bands = profile[profile["attribute"] == "tenure"]["level"].tolist()
    assert not any(b.startswith("(") for b in bands)
    lows = [float(re.match(r"\[?([\d.]+)", b).group(1)) for b in bands]
    assert lows == sorted(lows) and len(bands) >= 4  # in order, not by size
    t = profile[profile["attribute"] == "tenure"]
    assert t["customers"].sum() == len(raw)


def test_a_crm_snapshot_without_segments_shows_the_glance_in_the_report(tmp_path, monkeypatch):
    """Without segments, 'Who the customers are' would hold one sentence: the glance is in the report."""
    import yaml

    _data("example-crm")
    raw = yaml.safe_load((paths.PARAMS_DIR / "example-crm.yml").read_text())
    raw.pop("segmentation")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "example-crm.yml").write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(paths, "PARAMS_DIR", tmp_path / "params")
    r = runner.run_report("example-crm", None, renderer="offline", reports_dir=tmp_path / "reports", quiet=True)
    page = html(r)
    assert 'id="tbl-customer_glance"' in page
    assert page.index('id="sec-customers"') < page.index('id="tbl-customer_glance"') < page.index('id="sec-churn"')


# --- reviews ----------------------------------------------------------------------------------


def test_dated_reviews_csat_mean_and_recommend_share_over_the_whole_file(reports):
    r = render("example-reviews", reports, period="all")
    raw = pd.read_csv(_data("example-reviews") / "reviews.csv")
    k = csv(r, "kpi_tiles").set_index("metric")
    assert k.loc["csat", "value"] == pytest.approx(100 * (raw["Rating"] >= 4).mean(), abs=1e-9)
    assert k.loc["csat_mean", "value"] == pytest.approx(raw["Rating"].mean(), abs=1e-12)
    rec = csv(r, "recommend_share").iloc[0]
    assert rec["value"] == pytest.approx(100 * (raw["Would you recommend us?"] == "Yes").mean(), abs=1e-9)
    by = csv(r, "scores_by_branch")
    means = by[by["metric"] == "csat_mean"].set_index("Branch")["value"]
    assert means.idxmin() == examples.TRUTH["example-reviews"]["weakest_branch"]
    assert means.to_dict() == pytest.approx(raw.groupby("Branch")["Rating"].mean().to_dict())
    ran_only_on_given_tables(r, {"survey_responses"})


def test_undated_reviews_cover_the_whole_file_and_skip_trends(reports):
    r = render("example-reviews-undated", reports)
    raw = pd.read_csv(_data("example-reviews-undated") / "reviews.tsv", sep="\t")
    assert r.period == "all"
    k = csv(r, "kpi_tiles").set_index("metric")
    assert k.loc["csat_mean", "value"] == pytest.approx(raw["Rating"].mean(), abs=1e-12)
    m = manifest(r)
    assert "dates" in m["not_in_report"]["kpi_trends"] or "periods" in m["not_in_report"]["kpi_trends"]
    by = csv(r, "scores_by_variation")
    assert by[by["metric"] == "csat_mean"].set_index("variation")["value"].idxmin() == "Mini"
    assert "the whole file" in html(r)
    assert "The whole file (no comparison over time)" in html(r)  # the subtitle, not the label "all"
    # reviews carry no NPS: what they talk about and their tone lead the voice section, with intervals
    from statsmodels.stats.proportion import proportion_confint

    text = html(r)
    assert "What customers talk about, and in what tone" in text
    shares = csv(r, "theme_shares")
    written = int(raw["Review Text"].fillna("").str.strip().ne("").sum())  # the base: reviews with text
    assert shares["share"].is_monotonic_decreasing and (shares["base"] == written).all()
    top = shares.iloc[0]
    lo, hi = proportion_confint(top["n_mentions"], top["base"], method="wilson")
    assert (top["ci_low"], top["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    tone = csv(r, "tone").set_index("label")
    assert tone["n"].sum() == tone["base"].iloc[0] and tone["share"].sum() == pytest.approx(1)
    lo, hi = proportion_confint(tone.loc["negative", "n"], tone.loc["negative", "base"], method="wilson")
    assert tone.loc["negative", "ci_low"] == pytest.approx(lo) and tone.loc["negative", "ci_high"] == pytest.approx(hi)
    assert "crosshairs" not in text  # the journey's importance-performance text only where it is drawn


# --- a social export, no survey ---------------------------------------------------------------


def test_social_export_share_of_voice_and_the_growing_competitor(reports):
    r = render("example-social", reports)
    raw = pd.read_csv(_data("example-social") / "mentions.csv")
    when = pd.to_datetime(raw["created_at"], utc=True).dt.tz_convert(None)
    q = when.dt.to_period("Q").astype(str)
    share = csv(r, "mention_share").set_index(["brand", "period"])
    for brand in ("@ourtel", "@zoomtel"):
        ref = ((raw["author_handle"] == brand) & (q == r.period)).sum() / (q == r.period).sum()
        assert share.loc[(brand, r.period), "share"] == pytest.approx(ref, abs=1e-12)
    swot = csv(r, "swot")
    assert swot["id"].str.contains("T-competitor-zoomtel").any()
    ran_only_on_given_tables(r, {"verbatims"})
    assert "kpis" in manifest(r)["not_in_report"]
    text = html(r)  # texts only: the bases name what there is and say what there is not, never "0 responses"
    assert "customer texts in that period; there are no survey responses or ratings." in text
    assert "0 survey responses" not in text
    # the journey method's ten questions: none answerable from mentions, so one sentence, the rows in the annex
    assert "These data answer none of them" in text and "Not enough evidence" not in text
    assert not (r.output_dir / "tables" / "journey_questions.csv").exists()
    annex = (r.output_dir / "annex.html").read_text(encoding="utf-8")
    assert "Does the customer know what to expect, and when?" in annex and annex.count("Not enough evidence") >= 10


# --- Arabic / English reviews: an Arabic report -------------------------------------------------


def test_arabic_reviews_give_an_arabic_report_with_mixed_and_emoji_texts(reports):
    r = render("example-reviews-ar", reports, period="all")
    raw = pd.read_csv(_data("example-reviews-ar") / "app_reviews.csv", encoding="utf-8-sig")
    k = csv(r, "kpi_tiles").set_index("metric")
    assert k.loc["csat_mean", "value"] == pytest.approx(raw["rating"].mean(), abs=1e-12)
    page = (r.output_dir / "report.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in page and "الملخص التنفيذي" in page and "Executive summary" not in page
    assert "الملف كاملًا (بلا مقارنة عبر الزمن)" in page and "، all" not in page  # the period "all" in Arabic
    assert set(raw["lang"]) == {"ar", "en", "mixed", "none"}  # loaded as they are, nothing refused
    themes = csv(r, "theme_frequency_by_source")
    assert re.search("deliver|توصيل|wait", " ".join(themes["theme"].astype(str)), re.I)
    ran_only_on_given_tables(r, {"survey_responses"})


# --- onboarding: check and new-client on every shape ---------------------------------------------


@pytest.mark.parametrize("shape", examples.SHAPES)
def test_new_client_drafts_params_that_check_and_match_the_example(shape, tmp_path, monkeypatch):
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    expected = load_params(paths.ROOT / "params" / f"{shape}.yml", check_files=False)
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "PARAMS_DIR", tmp_path / "params")
    (tmp_path / "params").mkdir()
    examples.generate(shape, tmp_path / "data" / "newco")
    path, summary = draft_params("newco")
    text = path.read_text(encoding="utf-8")
    assert "# guess" in text and summary.startswith("newco: 1 table(s)")
    ok, report = check_client("newco")
    assert ok, report
    assert "in the report" in report and "not in the report" in report
    if "interactions" not in expected.tables:  # English article before a vowel
        assert "needs an interactions table" in report and "a interactions" not in report
    drafted = load_params(path, check_files=False)
    assert set(drafted.tables) == set(expected.tables)
    for table, (src,) in expected.tables.items():  # the draft maps what the hand-written example maps
        got = drafted.tables[table][0].targets()
        for export, canon in src.targets().items():
            if canon[0] in ("survey_type",):
                continue
            assert got.get(export) == canon, (shape, export, got)


@pytest.fixture
def newco(tmp_path, monkeypatch):
    """An empty client folder data/newco (and a params folder) in a project at ``tmp_path``."""
    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "PARAMS_DIR", tmp_path / "params")
    (tmp_path / "params").mkdir()
    (tmp_path / "data" / "newco").mkdir(parents=True)
    return tmp_path / "data" / "newco"


def _labelled_export(n: int = 120, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A survey platform's export as written: the NPS ends labelled ('10 - Extremely likely'), satisfaction
    in words (English, and Arabic with diacritics), day-first dates with dots, semicolons."""
    rng = np.random.default_rng(seed)
    nps = rng.integers(0, 11, n)
    csat = rng.integers(1, 6, n)
    ends = {0: "0 - Not at all likely", 10: "10 - Extremely likely"}
    words = {1: "Very dissatisfied", 2: "Dissatisfied", 3: "Neutral", 4: "Satisfied", 5: "Very satisfied"}
    arabic = {1: "غير راضٍ جداً", 2: "غير راضٍ", 3: "محايد", 4: "راضٍ", 5: "راضٍ جداً"}
    when = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 170 * 24 * 60, n), unit="m")
    df = pd.DataFrame({"Response ID": np.arange(1, n + 1), "Submitted": when.strftime("%d.%m.%Y %H:%M"),
                       "How likely are you to recommend us?": [ends.get(x, str(x)) for x in nps],
                       "Overall satisfaction": [(words if i % 2 else arabic)[x] for i, x in enumerate(csat)],
                       "Comments": rng.choice(["Great service", "التوصيل متأخر جدا", "", "Staff were rude"], n)})
    return df, nps, csat


def test_new_client_reads_labelled_scores_as_their_numbers(newco):
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    df, nps_true, csat_true = _labelled_export()
    df.to_csv(newco / "export.csv", sep=";", index=False)
    path, _ = draft_params("newco")
    drafted = load_params(path, check_files=False)
    (src,) = drafted.tables["survey_responses"]
    assert src.targets()["How likely are you to recommend us?"] == ["nps"]
    assert src.targets()["Overall satisfaction"] == ["csat"]  # not taken for a web event ("...action")
    assert src.values["nps"] == {"0 - Not at all likely": 0, "10 - Extremely likely": 10}
    assert src.values["csat"]["غير راضٍ جداً"] == 1 and src.values["csat"]["Very satisfied"] == 5
    ok, report = check_client("newco")
    assert ok, report
    got = load_store(load_params(path)).df("survey_responses")
    got = got.iloc[np.argsort(got["response_id"].astype(int).to_numpy())]
    assert got["nps"].tolist() == nps_true.tolist() and got["csat"].tolist() == csat_true.tolist()
    # one survey asking NPS and satisfaction: no survey type, so both measures count every answer
    # (declared relationship, its CSAT was in no figure and the tiles read 'not measured')
    assert "survey_type" not in src.constants and "not transactional responses" not in report
    from cxlib.quant import metrics

    kpis = metrics.kpi_tiles(got.assign(period="p"), "p", None, metrics=("nps", "csat")).set_index("metric")
    assert kpis.loc["csat", "n"] == len(csat_true) and kpis.loc["nps", "n"] == len(nps_true)
    assert kpis.loc["csat", "value"] == pytest.approx(100 * (csat_true >= 4).mean())
    assert kpis.loc["nps", "value"] == pytest.approx(100 * ((nps_true >= 9).mean() - (nps_true <= 6).mean()))


def test_new_client_stacks_a_review_export_and_a_social_export(newco):
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    folder = newco
    rng = np.random.default_rng(11)
    pd.DataFrame({"review_text": rng.choice(["The delivery was late again", "Great staff, quick service"], 60),
                  "posted": pd.date_range("2026-01-02", periods=60, freq="D").strftime("%Y-%m-%d")}
                 ).to_csv(folder / "app_reviews.csv", index=False)
    pd.DataFrame({"tweet_text": rng.choice(["@acme still no reply to my complaint", "@acme thanks for the fix"], 40),
                  "created_at": pd.date_range("2026-01-05", periods=40, freq="D").strftime("%Y-%m-%d"),
                  "inbound": [True, False] * 20}  # the customer's tweets and the brand's replies
                 ).to_csv(folder / "tweets.csv", index=False)
    path, summary = draft_params("newco")
    assert "tweets.csv: verbatims (40 rows" in summary and "stacked" in summary
    parts = load_params(path, check_files=False).tables["verbatims"]
    assert [(s.file, s.constants.get("source")) for s in parts] == [("app_reviews.csv", "review"), ("tweets.csv", "social")]
    assert parts[1].targets()["inbound"] == ["speaker"]
    assert parts[1].values["speaker"] == {"False": "agent", "True": "customer"}
    ok, report = check_client("newco")
    assert ok, report
    assert "params and 1 table(s) valid (2 files)" in report
    # a file of labels beside the texts (ids, a split, a category) is no text export to stack
    pd.DataFrame({"id": range(50), "split": ["train", "test"] * 25, "category": ["food", "service"] * 25}
                 ).to_csv(folder / "labels.csv", index=False)
    _, summary = draft_params("newco", force=True)
    assert "labels.csv: not used" in summary, summary


def test_new_client_maps_a_source_and_a_language_written_in_the_exports_words(newco):
    """A review export's 'source' column names the site ('Yelp'), its 'Language' says 'English': read as
    the template's values (a column named like a canonical one is read as it, so it failed the check)."""
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    texts = ["Food was cold and late", "الخدمة ممتازة والتوصيل سريع", "Très bon service", "Great staff"]
    pd.DataFrame({"review": texts * 10, "source": ["Yelp", "Google", "TripAdvisor", "Fax"] * 10,
                  "Language": ["English", "Arabic", "French", "English"] * 10}
                 ).to_csv(newco / "reviews.csv", index=False)
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["verbatims"]
    assert src.values["source"] == {"Fax": "other", "Google": "review", "TripAdvisor": "review", "Yelp": "review"}
    assert src.values["language"] == {"Arabic": "ar", "English": "en", "French": None}
    ok, report = check_client("newco")
    assert ok, report
    got = load_store(load_params(path)).df("verbatims")
    assert got["language"].tolist()[:4] == ["en", "ar", "en", "en"]  # French: detected from its (Latin) script


def test_new_client_reads_a_qualtrics_export_by_its_question_texts(newco):
    """Columns named Q1, Q2 under which Qualtrics writes the question: the NPS is found by its question,
    the question and import-id lines are left out, the check passes."""
    import csv as _csv

    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    rng = np.random.default_rng(4)
    rows = [["StartDate", "ResponseId", "Q1_NPS_GROUP", "Q1", "Q2"],
            ["Start Date", "Response ID", "Q1 - Group", "How likely are you to recommend Acme to a friend?",
             "What is the main reason for your score?"],
            ['{"ImportId":"startDate"}', '{"ImportId":"_recordId"}', '{"ImportId":"QID1_NPS_GROUP"}',
             '{"ImportId":"QID1"}', '{"ImportId":"QID2_TEXT"}']]
    scores = rng.integers(0, 11, 80)
    for i, x in enumerate(scores):
        rows.append([f"2026-02-{i % 28 + 1:02d} 09:30:00", f"R_{i:04d}", "Promoter" if x >= 9 else "Detractor",
                     str(x), rng.choice(["The delivery was late again", "Friendly staff and a fair price"])])
    with open(newco / "export.csv", "w", newline="", encoding="utf-8-sig") as f:
        _csv.writer(f).writerows(rows)
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["survey_responses"]
    assert src.targets()["Q1"] == ["nps"] and src.targets()["Q2"] == ["comment"]
    ok, report = check_client("newco")
    assert ok, report
    assert "question texts and import ids" in report
    got = load_store(load_params(path)).df("survey_responses")
    assert got["nps"].tolist() == scores.tolist()


def _nps_export(seed: int, n: int, date_format: str, comments: list[str]) -> pd.DataFrame:
    """A seeded survey platform export: response ids, dates, the NPS question, a comment."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Response ID": [f"R_{i:03d}" for i in range(n)],
                         "Submitted": (pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(n), unit="D"))
                         .strftime(date_format),
                         "How likely are you to recommend us to a friend?": rng.integers(0, 11, n),
                         "Comment": rng.choice(comments, n)})


def test_new_client_reads_a_spreadsheet_export_ending_in_blank_and_totals_rows(newco):
    """An analyst's spreadsheet saved as CSV: a blank row and a totals row (the mean NPS, 4.98) at its
    end. Before, the totals row hid the NPS column from the draft (not a whole number) and the blank
    row failed the check; now the draft maps the NPS and the check passes, stating both rows."""
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    df = _nps_export(6, 90, "%d/%m/%Y %H:%M", ["Late delivery", "Great staff", ""])
    scores = df["How likely are you to recommend us to a friend?"].to_numpy()
    tail = pd.DataFrame([{c: "" for c in df.columns},
                         {"Response ID": "Total", "How likely are you to recommend us to a friend?": scores.mean()}])
    pd.concat([df.astype(object), tail]).to_csv(newco / "survey.csv", index=False)
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["survey_responses"]
    assert src.targets()["How likely are you to recommend us to a friend?"] == ["nps"]
    ok, report = check_client("newco")
    assert ok, report
    assert "note: survey_responses: line 92: every cell empty, left out (1 rows)" in report
    assert "note: survey_responses: line 93: a totals row closing the export" in report
    assert load_store(load_params(path)).df("survey_responses")["nps"].tolist() == scores.tolist()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_new_client_reads_an_export_under_a_title(newco, suffix):
    """A BI tool's export opens with its heading and a blank line above the column names. Before, the
    draft found no table in it and the check read the heading as the only column; now the draft
    declares header_line: 3, the check passes, and every answer is read."""
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    df = _nps_export(7, 60, "%Y-%m-%d %H:%M", ["Late delivery", "Great staff", "Fine"])
    scores = df["How likely are you to recommend us to a friend?"].to_numpy()
    if suffix == ".csv":
        body = df.to_csv(index=False)
        (newco / "survey.csv").write_text("NPS survey - responses, generated 2026-05-01\n\n" + body, encoding="utf-8")
    else:
        with pd.ExcelWriter(newco / "survey.xlsx") as w:
            pd.DataFrame([["NPS survey - responses, generated 2026-05-01"]]).to_excel(w, index=False, header=False)
            df.to_excel(w, index=False, startrow=2)
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["survey_responses"]
    assert src.header_line == 3 and src.targets()["How likely are you to recommend us to a friend?"] == ["nps"]
    ok, report = check_client("newco")
    assert ok, report
    assert load_store(load_params(path)).df("survey_responses")["nps"].tolist() == scores.tolist()


def test_new_client_detects_decimal_commas(newco):
    """A European orders export (semicolons, 1.234,56): the draft declares decimal: "," and the amounts
    load as their numbers; an export with decimal points, or thousands commas alone, is left as it is."""
    from cxlib.data.draft import _decimal_mark, draft_params
    from cxlib.report.onboard import check_client

    amounts = ["12,50", "1.234,56", "7", "0,99", "45,00"]
    pd.DataFrame({"Order ID": [f"o{i}" for i in range(5)], "Customer ID": ["c1", "c2", "c1", "c3", "c2"],
                  "Order date": ["05/01/2026"] * 5, "Amount": amounts}).to_csv(newco / "orders.csv", sep=";", index=False)
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["orders"]
    assert src.decimal == ","
    ok, report = check_client("newco")
    assert ok, report
    assert load_store(load_params(path)).df("orders")["amount"].tolist() == [12.5, 1234.56, 7.0, 0.99, 45.0]
    assert _decimal_mark(pd.DataFrame({"a": ["12.50", "7"], "b": ["1,5", "2"]})) == "."  # points somewhere
    assert _decimal_mark(pd.DataFrame({"a": ["1,234", "7"]})) == "."                     # thousands: either way
    assert _decimal_mark(pd.DataFrame({"a": ["4,5", "3"], "b": ["x", "y"]})) == ","


def test_new_client_maps_an_export_with_arabic_column_names(newco):
    """An Arabic survey export names its columns in Arabic (with hamza forms and ta marbuta): mapped as
    the English names are, and the check passes."""
    from cxlib.data.draft import draft_params
    from cxlib.report.onboard import check_client

    rng = np.random.default_rng(8)
    n = 90
    when = pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 80 * 24 * 60, n), unit="m")
    nps = rng.integers(0, 11, n)
    pd.DataFrame({"رقم الاستجابة": [f"A{i}" for i in range(n)], "تاريخ الإجابة": when.strftime("%d/%m/%Y %H:%M"),
                  "ما مدى احتمال أن توصي بنا لصديق؟": nps, "تقييم الخدمة": rng.integers(1, 6, n),
                  "ملاحظاتك": rng.choice(["التوصيل متأخر جدا", "خدمة ممتازة وسريعة", "الأسعار مرتفعة"], n),
                  "هل توصي بنا؟": rng.choice(["نعم", "لا"], n)}
                 ).to_csv(newco / "استبيان.csv", index=False, encoding="utf-8-sig")
    path, _ = draft_params("newco")
    (src,) = load_params(path, check_files=False).tables["survey_responses"]
    assert src.targets() == {"ما مدى احتمال أن توصي بنا لصديق؟": ["nps"], "تقييم الخدمة": ["csat"],
                             "ملاحظاتك": ["comment"], "هل توصي بنا؟": ["recommend"],
                             "تاريخ الإجابة": ["response_time"], "رقم الاستجابة": ["response_id"]}
    ok, report = check_client("newco")
    assert ok, report
    got = load_store(load_params(path)).df("survey_responses")
    assert got["nps"].tolist() == nps.tolist()


@pytest.mark.parametrize(("values", "lo", "hi", "want"), [
    (["1", "5", "3"], 1, 5, {}),                                              # plain numbers
    (["11 - Extremely likely", "3"], 0, 10, None),                            # a label out of range
    (["Strongly agree", "Agree", "Disagree"], 1, 5, None),                    # not a satisfaction scale
    (["Satisfied", "Somewhat satisfied"], 1, 5, None),                        # two words for one point
    (["1 (Poor)", "2", "5 (Excellent)"], 1, 5, {"1 (Poor)": 1, "5 (Excellent)": 5}),
])
def test_scale_labels_are_read_only_when_unambiguous(values, lo, hi, want):
    from cxlib.data.draft import _scale_map

    assert _scale_map(pd.Series(values), lo, hi) == want


def test_check_reports_every_problem_at_once(tmp_path, monkeypatch):
    from cxlib.report.onboard import check_client

    monkeypatch.setattr(paths, "ROOT", tmp_path)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(paths, "PARAMS_DIR", tmp_path / "params")
    (tmp_path / "params").mkdir()
    examples.generate("example-survey", tmp_path / "data" / "newco")
    (tmp_path / "params" / "newco.yml").write_text(
        "client: newco\nname: N\ndata_dir: data/newco\nbreakdowns: [Regoin]\n"
        "tables:\n  survey_responses:\n    file: survey_export.csv\n    columns: {Date Submitted: response_time, Scor: nps}\n")
    ok, report = check_client("newco")
    assert not ok
    assert "maps 'Scor', which the file does not have" in report  # the mapping problem named
    assert "Columns found: Response ID, Date Submitted" in report


def test_every_example_is_listed_for_make_demo_data():
    assert set(examples.SHAPES) == {p.stem for p in paths.PARAMS_DIR.glob("example-*.yml")}
    assert np.all([s in examples.TRUTH for s in examples.SHAPES])


@pytest.mark.parametrize("columns, flag, inverted", [
    (["CustomerId", "IsActiveMember", "Age", "Exited"], "Exited", False),   # a bank CRM snapshot's order
    (["CustomerId", "Exited", "IsActiveMember"], "Exited", False),
    (["CustomerId", "Age", "IsActiveMember"], "IsActiveMember", True),
    (["CustomerId", "Inactive"], "Inactive", False),
])
def test_the_churn_flag_is_preferred_to_an_active_flag(tmp_path, columns, flag, inverted):
    from cxlib.data.draft import guess_file

    rng = np.random.default_rng(4)
    df = pd.DataFrame({c: (rng.integers(0, 2, 200) if c != "CustomerId" and c != "Age"
                           else rng.integers(18, 80, 200) if c == "Age" else range(1000, 1200)) for c in columns})
    path = tmp_path / "crm.csv"
    df.to_csv(path, index=False)
    g = guess_file(path)
    assert g.table == "customers" and g.columns[flag] == "churned"
    assert g.values["churned"] == ({"0": True, "1": False} if inverted else {"0": False, "1": True})


def test_a_row_number_is_not_a_churn_breakdown():
    """A CRM snapshot's RowNumber (1..n) or a numeric account number is no attribute to band churn by;
    ages, balances and salaries are, even when every salary differs."""
    from cxlib.report.analyses import breakdown_columns_crm

    rng = np.random.default_rng(8)
    n = 500
    view = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "RowNumber": np.arange(1, n + 1),
                         "AccountNo": rng.permutation(n) + 15_600_000, "Age": rng.integers(18, 90, n),
                         "Balance": np.where(rng.random(n) < .4, 0.0, rng.normal(9e4, 3e4, n).round(2)),
                         "EstimatedSalary": rng.uniform(1e4, 2e5, n).round(2),
                         "Geography": rng.choice(["France", "Spain", "Germany"], n), "churned": rng.random(n) < .2})
    assert breakdown_columns_crm(view) == ["Age", "Balance", "EstimatedSalary", "Geography"]
