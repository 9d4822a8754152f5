"""Churn on a client's own columns (snapshot mode), scoring in batches, and churn rate by attribute.

Every fixture is a seeded synthetic CRM snapshot generated here, with planted drivers (a
contract level, a threshold effect of support calls, a U-shaped age effect) and planted
traps (an id column, surnames, a constant, a duplicate, a churn reason recorded after the
churn, a level of three customers, missing charges). References are independent: sklearn
(roc_auc_score, CalibratedClassifierCV, a Pipeline refitted by hand), statsmodels
(proportion_confint), scipy (chi2_contingency) and hand formulas.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from statsmodels.stats.proportion import proportion_confint
from threadpoolctl import threadpool_limits

from cxlib.data.params import NextAction
from cxlib.quant import churn_model as cm


def snapshot(n: int = 2500, seed: int = 42) -> pd.DataFrame:
    """A telecom-like CRM snapshot: churn rises with a month-to-month contract, falls with
    tenure, and jumps at three or more support calls."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.3, 0.45, 0.25])
    tenure = rng.integers(0, 72, n)
    charges = rng.normal(70, 20, n).round(2)
    calls = rng.poisson(1.2, n)
    region = rng.choice(["North", "South", "East", "West"], n).astype(object)
    region[rng.choice(n, 3, replace=False)] = "Islands"
    eta = -2.6 + 1.2 * (contract == "Month-to-month") - 0.02 * tenure + 3.0 * (calls >= 3)
    churned = rng.random(n) < 1 / (1 + np.exp(-eta))
    charges[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "row_no": np.arange(1, n + 1),
        "surname": [f"Name{i}" for i in rng.integers(0, 2000, n)],
        "contract": contract,
        "tenure": tenure,
        "monthly_charges": charges,
        "annual_charges": charges * 12,
        "support_calls": calls,
        "region": region,
        "country": "UK",
        "paperless": rng.random(n) < 0.5,
        "churn_reason": np.where(churned, rng.choice(["price", "service", "moved"], n), None),
        "churned": churned,
    })


def u_shaped(n: int = 3000, seed: int = 8) -> pd.DataFrame:
    """Churn high at both ends of age: a linear logit cannot rank it, boosting can."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    plan = rng.choice(["a", "b", "c"], n)
    eta = -2.5 + 3.0 * (np.abs(age - 50) > 22) + 0.3 * (plan == "c")
    return pd.DataFrame({"customer_id": np.arange(n), "age": age, "plan": plan,
                         "churned": rng.random(n) < 1 / (1 + np.exp(-eta))})


@pytest.fixture(scope="module")
def fitted():
    f = snapshot()
    return {"frame": f, "auto": cm.fit_snapshot_model(f, seed=1),
            "boost": cm.fit_snapshot_model(f, seed=1, model="boosting")}


# --------------------------------------------------------------------------------------
# planted findings and notes
# --------------------------------------------------------------------------------------
def test_planted_drivers_recovered(fitted):
    m = fitted["auto"]
    odds = m.odds_ratios.set_index("term")
    m2m = odds.loc["contract=Month-to-month"]
    # planted OR exp(1.2) = 3.3 against the largest contract, "One year"
    assert m2m["reference"] == "One year" and m2m["ci_low"] > 1
    assert m2m["ci_low"] < np.exp(1.2) < m2m["ci_high"]
    assert odds.loc["tenure", "ci_high"] < 1  # planted -0.02 per month
    assert odds.loc["support_calls", "ci_low"] > 1
    assert odds.loc["contract=Two year", "ci_low"] < 1 < odds.loc["contract=Two year", "ci_high"]
    imp = fitted["boost"].importance
    assert imp.loc[0, "predictor"] == "support_calls" and imp.loc[0, "rank"] == 1
    assert imp.set_index("predictor").loc["contract", "rank"] == 2
    assert fitted["boost"].drivers is imp and m.drivers is m.odds_ratios


def test_unusable_columns_are_dropped_with_notes(fitted):
    m = fitted["auto"]
    whole = m.dropped[m.dropped["level"].isna()].set_index("column")
    assert whole["reason"].to_dict() == {
        "row_no": "id_like", "surname": "name_like", "country": "constant",
        "churn_reason": "leakage", "annual_charges": "collinear"}
    assert whole.loc["annual_charges", "related"] == "monthly_charges"
    assert whole.loc["churn_reason", "statistic"] == pytest.approx(1.0)
    # the three Islands customers are pooled into (other); none churned: no finite odds ratio
    levels = m.dropped[m.dropped["level"].notna()]
    assert levels[["column", "level", "reason", "statistic"]].values.tolist() == [
        ["region", "(other)", "separated", 3.0]]
    assert m.kinds == {"contract": "categorical", "tenure": "numeric",
                       "monthly_charges": "numeric", "support_calls": "numeric",
                       "region": "categorical", "paperless": "numeric"}
    assert "customer_id" not in m.univariate["column"].tolist()  # the id column is no candidate
    assert "monthly_charges=(missing)" in m.odds_ratios["term"].tolist()


def test_level_present_in_one_fold_only_is_handled():
    f = snapshot()
    m = cm.fit_snapshot_model(f, seed=3, model="logistic", min_level=1, n_boot=50)
    islands = f.index[f["region"] == "Islands"]
    assert "Islands" in m.training_levels["region"]
    folds = m.fold_of.loc[islands]
    assert 1 <= folds.nunique() <= 3  # absent from the training part of the other folds
    assert np.isfinite(m.oof).all() and m.cv_auc > 0.7
    sep = m.dropped[m.dropped["level"] == "Islands"]
    assert sep["reason"].tolist() == ["separated"]
    scored = cm.score_frame(m, f.assign(region=np.where(f.index < 5, "Atlantis", f["region"])))
    assert scored.attrs["unseen_levels"]["region"] == 5
    assert scored["risk"].between(0, 1).all()


def test_auto_prefers_boosting_only_when_it_ranks_better(fitted):
    m = fitted["auto"]
    # planted threshold: boosting a little better, but its gain's interval includes zero
    diff, lo, hi = m.auc_difference
    assert m.model == "logistic" and m.selection == "boosting not better"
    assert lo < 0 < hi and diff == pytest.approx(
        m.comparison.set_index("model").loc["boosting", "auc"] - m.cv_auc)
    u = cm.fit_snapshot_model(u_shaped(), seed=2, n_boot=100)
    comp = u.comparison.set_index("model")
    assert u.model == "boosting" and u.selection == "boosting ranks better"
    assert u.auc_difference[1] > 0
    assert comp.loc["boosting", "auc"] > comp.loc["logistic", "auc"] + 0.1
    assert comp.loc["boosting", "chosen"] and u.cv_auc == comp.loc["boosting", "auc"]
    assert u.importance.loc[0, "predictor"] == "age"


# --------------------------------------------------------------------------------------
# checks against independent computations
# --------------------------------------------------------------------------------------
def test_cross_validation_matches_a_hand_refit(fitted):
    f, m = fitted["frame"], fitted["auto"]
    y = f["churned"].astype(int).to_numpy()
    x = f[m.predictors]
    oof = np.zeros(len(y))
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=1)
    base = np.zeros(len(y))
    for tr, te in skf.split(x, y):
        pipe = clone(m.logit).fit(x.iloc[tr], y[tr])  # encoder refitted on the training part
        oof[te] = pipe.predict_proba(x.iloc[te])[:, 1]
        base[te] = y[tr].mean()
    np.testing.assert_allclose(m.oof.to_numpy(), oof, rtol=1e-9)
    assert m.cv_auc == pytest.approx(roc_auc_score(y, oof), rel=1e-12)
    assert m.brier == pytest.approx(brier_score_loss(y, oof), rel=1e-12)
    assert m.brier_base == pytest.approx(brier_score_loss(y, base), rel=1e-12)
    assert m.brier < m.brier_base
    comp = m.comparison.set_index("model")
    assert comp.loc["no skill", "auc"] == 0.5 and comp.loc["no skill", "brier"] == m.brier_base
    assert m.cv_auc_ci[0] < m.cv_auc < m.cv_auc_ci[1]
    assert m.base_rate == pytest.approx(y.mean())
    checks = m.summary().set_index("check")
    assert checks.loc["AUC, no skill", "value"] == 0.5
    lo, hi = proportion_confint(y.sum(), len(y), method="wilson")
    assert checks.loc["Churn rate (base rate)", "ci_low"] == pytest.approx(lo)
    assert checks.loc["Churn rate (base rate)", "ci_high"] == pytest.approx(hi)
    assert m.calibration["n"].sum() == len(y) and m.calibration["observed"].sum() == y.sum()


def test_boosting_probabilities_are_platt_calibrated_out_of_fold(fitted):
    f, m = fitted["frame"], fitted["boost"]
    y = f["churned"].astype(int).to_numpy()
    x = f[m.predictors]
    skf = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=1).split(x, y))
    raw = np.zeros(len(y))
    with threadpool_limits(1):  # as the model does on small tables
        for tr, te in skf:
            raw[te] = clone(m.boost).fit(x.iloc[tr], y[tr]).decision_function(x.iloc[te])
    expected = np.zeros(len(y))
    for tr, te in skf:
        a, b = cm.platt_scaling(raw[tr], y[tr])
        expected[te] = 1 / (1 + np.exp(a * raw[te] + b))
    np.testing.assert_allclose(m.oof.to_numpy(), expected, rtol=1e-9)
    assert m.platt == pytest.approx(cm.platt_scaling(raw, y))
    # calibrated: mean predicted close to the churn rate in every decile
    cal = m.calibration
    assert (abs(cal["mean_predicted"] - cal["observed_rate"]) < 0.08).all()


def test_platt_scaling_equals_sklearn_sigmoid_calibration():
    rng = np.random.default_rng(4)
    s = rng.normal(size=3000) * 2
    y = (rng.random(3000) < 1 / (1 + np.exp(-(0.7 * s - 1)))).astype(int)
    est = LogisticRegression().fit(s[:, None], y)
    est.coef_[:] = 1.0
    est.intercept_[:] = 0.0  # decision_function(x) = x
    ref = CalibratedClassifierCV(FrozenEstimator(est), method="sigmoid").fit(s[:, None], y)
    a, b = cm.platt_scaling(s, y)
    mine = 1 / (1 + np.exp(a * s + b))
    np.testing.assert_allclose(mine, ref.predict_proba(s[:, None])[:, 1], atol=1e-5)
    assert a == pytest.approx(-0.7, abs=0.1) and b == pytest.approx(1.0, abs=0.15)


def test_weighted_bootstrap_equals_resampling_rows():
    rng = np.random.default_rng(9)
    y = (rng.random(500) < 0.3).astype(int)
    p = np.round(rng.random(500) + 0.3 * y, 1)  # many ties
    got = cm._bootstrap_aucs(y, [p], np.random.default_rng(1), 40)[:, 0]
    ref_rng = np.random.default_rng(1)
    want = []
    for _ in range(40):
        ix = ref_rng.integers(0, 500, 500)
        want.append(roc_auc_score(y[ix], p[ix]))
    np.testing.assert_allclose(got, want, rtol=1e-12)


# --------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["auto", "boost"])
def test_batch_scoring_equals_unbatched(fitted, which):
    f, m = fitted["frame"], fitted[which]
    whole = cm.score_frame(m, f, keep=("region",))
    batched = cm.score_frame(m, f, batch_size=97, keep=("region",))
    pd.testing.assert_frame_equal(whole, batched)
    assert whole["customer_id"].tolist() == f["customer_id"].tolist()
    np.testing.assert_allclose(whole["risk"], m.predict(f), rtol=1e-12)
    assert whole["region"].tolist() == f["region"].tolist()
    none = whole["main_driver"] == "none"
    assert (whole.loc[none, "driver_contribution"] == 0).all()
    assert (whole.loc[~none, "driver_contribution"] > 0).all()


def test_logistic_drivers_are_the_largest_contribution(fitted):
    f, m = fitted["frame"], fitted["auto"]
    s = cm.score_customers(m, f)
    contrib = s[[f"contrib_{c}" for c in m.predictors]].to_numpy()
    beta = m.result.params
    baseline = beta["Intercept"] + float((m.references * beta[m.references.index]).sum())
    np.testing.assert_allclose(contrib.sum(axis=1) + baseline, s["log_odds"], rtol=1e-9)
    top = contrib.argmax(axis=1)
    has = s["main_driver"] != "none"
    assert (np.array(m.predictors)[top][has] == s.loc[has, "driver_predictor"]).all()
    row = f.set_index("customer_id").loc[s["customer_id"]]
    by = s.set_index(s.index)
    m2m = by["main_driver"] == "contract=Month-to-month"
    assert m2m.sum() > 50 and (row.loc[m2m.to_numpy(), "contract"] == "Month-to-month").all()
    calls = by["driver_predictor"] == "support_calls"
    med = m.references["support_calls"]
    keys = np.where(row.loc[calls.to_numpy(), "support_calls"] >= med, "support_calls:high",
                    "support_calls:low")
    assert (by.loc[calls, "main_driver"].to_numpy() == keys).all()
    assert by.loc[calls, "main_driver"].eq("support_calls:high").all()  # OR > 1: only high raises
    assert set(by.loc[by["driver_predictor"] == "paperless", "main_driver"]) <= {"paperless"}
    miss = by["main_driver"] == "monthly_charges:missing"
    assert row.loc[miss.to_numpy(), "monthly_charges"].isna().all()


def test_boosting_driver_is_the_fall_when_set_to_reference(fitted):
    f, m = fitted["frame"], fitted["boost"]
    part = f.iloc[:40]
    s = cm.score_frame(m, part)
    enc, est = m.boost.named_steps["design"], m.boost.named_steps["boost"]
    a, b = m.platt
    codes = enc.transform(part[m.predictors])
    contrib = np.zeros((len(part), len(m.predictors)))
    with threadpool_limits(1):
        logit = -(a * est.decision_function(codes) + b)
        for j, col in enumerate(m.predictors):
            if col not in m.driver_candidates:
                continue
            alt = codes.copy()
            ref = enc.reference_[col]
            alt[:, j] = enc.levels_[col].index(ref) if m.kinds[col] == "categorical" else ref
            contrib[:, j] = logit + (a * est.decision_function(alt) + b)
    np.testing.assert_allclose(s["log_odds"], logit, rtol=1e-12)
    best = contrib.max(axis=1)
    np.testing.assert_allclose(s["driver_contribution"], np.clip(best, 0, None), atol=1e-12)
    has = best > 0
    assert (s.loc[has, "driver_predictor"].to_numpy()
            == np.array(m.predictors)[contrib.argmax(axis=1)][has]).all()
    assert set(m.driver_candidates) <= set(m.importance.loc[m.importance["importance"] > 0,
                                                            "predictor"])


def test_at_risk_looks_up_full_key_then_column(fitted):
    f, m = fitted["frame"], fitted["auto"]
    scored = cm.score_frame(m, f)
    rules = {"contract=Month-to-month": NextAction(action="Offer a 12-month plan", owner="Retention"),
             "support_calls": NextAction(action="Call back the customer", owner="Support")}
    params = SimpleNamespace(at_risk_top=100, next_best_actions=rules)
    stake, analyst = cm.at_risk(scored, params, salt="s")
    assert len(stake) == 100 and stake["risk"].is_monotonic_decreasing
    for _, r in analyst.iterrows():
        if r["driver_key"] == "contract=Month-to-month":
            assert r["next_best_action"] == "Offer a 12-month plan"
        elif r["driver_key"].startswith("support_calls"):
            assert r["next_best_action"] == "Call back the customer"
        else:
            assert r["next_best_action"] == "Review manually"
    assert analyst["driver_key"].str.startswith("support_calls").sum() > 10
    assert stake["segment"].isna().all() and "customer_id" not in stake.columns
    unruled = ~analyst["driver_key"].isin(list(rules)) & ~analyst["driver_key"].str.startswith(
        "support_calls")
    assert stake.attrs["review_manually"] == int(unruled.sum())


# --------------------------------------------------------------------------------------
# scale and bad input
# --------------------------------------------------------------------------------------
def test_large_tables_are_fitted_on_a_stratified_sample():
    f = snapshot(n=4000, seed=5)
    m = cm.fit_snapshot_model(f, seed=1, model="logistic", sample_rows=1500, n_boot=30)
    rate = f["churned"].mean()
    assert m.n == 1500 and m.n_labelled == 4000 and m.attrs["sampled"]
    assert abs(m.events - 1500 * rate) <= 1
    assert m.base_rate == pytest.approx(rate)
    assert m.oof.index.isin(f.index).all() and m.oof.index.is_unique
    assert m.attrs["n_boot_valid"] == 30
    assert m.summary().set_index("check").loc["Customers in the model sample", "value"] == 1500


def test_bad_input_gets_its_promised_error():
    f = snapshot(n=400)
    with pytest.raises(ValueError, match="no target column 'left'"):
        cm.fit_snapshot_model(f, target="left", seed=1)
    bad = f.assign(churned=f["churned"].map({True: "yes", False: "maybe"}))
    with pytest.raises(ValueError, match="'churned' must be yes/no.*maybe"):
        cm.fit_snapshot_model(bad, seed=1)
    with pytest.raises(ValueError, match="not columns of the customers table"):
        cm.fit_snapshot_model(f, predictors=["tenure", "plan_name"], seed=1)
    with pytest.raises(ValueError, match="no usable predictor"):
        cm.fit_snapshot_model(f, predictors=["country", "row_no"], seed=1)
    with pytest.raises(ValueError, match="model must be"):
        cm.fit_snapshot_model(f, model="forest", seed=1)
    with pytest.raises(ValueError, match="too few"):
        cm.fit_snapshot_model(f.head(40), seed=1)
    # yes/no text and unknown targets are accepted; unknown rows are counted, not fitted
    text = f.assign(churned=f["churned"].map({True: "Yes", False: "No"}).where(f.index >= 10))
    m = cm.fit_snapshot_model(text, model="logistic", seed=1, n_boot=20)
    assert m.attrs["unlabelled"] == 10 and m.n == 390


def test_compare_models_side_by_side(fitted):
    table = cm.compare_models({"snapshot": fitted["auto"], "boosting": fitted["boost"]})
    assert table["model"].tolist() == ["snapshot", "boosting", "no skill"]
    assert table.loc[0, "auc"] == fitted["auto"].cv_auc and table.loc[2, "auc"] == 0.5
    assert table.loc[1, "ranking_model"] == "boosting"


# --------------------------------------------------------------------------------------
# churn rate by attribute
# --------------------------------------------------------------------------------------
def test_churn_rate_by_matches_hand_computation():
    f = pd.DataFrame({
        "geo": ["FR"] * 50 + ["DE"] * 40 + ["ES"] * 10 + [None] * 5,
        "churned": [True] * 8 + [False] * 42 + [True] * 13 + [False] * 27 + [True] * 2
                   + [False] * 8 + [True, False, False, False, False],
    })
    r = cm.churn_rate_by(f, "geo", min_base=30).set_index("level")
    assert r.index.tolist() == ["DE", "ES", "FR", "(missing)"]
    assert r.loc["FR", ["customers", "churned"]].tolist() == [50, 8]
    assert r.loc["DE", "rate"] == pytest.approx(13 / 40)
    lo, hi = proportion_confint(13, 40, alpha=0.05, method="wilson")
    assert (r.loc["DE", "ci_low"], r.loc["DE", "ci_high"]) == pytest.approx((lo, hi))
    # Wilson by hand: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, n, p = stats.norm.ppf(0.975), 50, 8 / 50
    mid, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert r.loc["FR", "ci_low"] == pytest.approx((mid - half) / (1 + z * z / n))
    assert r.loc["FR", "ci_high"] == pytest.approx((mid + half) / (1 + z * z / n))
    assert r["small_base"].tolist() == [False, True, False, True]
    # Pearson chi-square by hand over the four levels
    obs = np.array([[27, 13], [8, 2], [42, 8], [4, 1]], dtype=float)
    exp = obs.sum(axis=1, keepdims=True) * obs.sum(axis=0, keepdims=True) / obs.sum()
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert r["chi2"].iloc[0] == pytest.approx(chi2)
    assert r["dof"].iloc[0] == 3 and r["p_value"].iloc[0] == pytest.approx(stats.chi2.sf(chi2, 3))
    overall = cm.churn_rate_by(f)
    assert overall[["attribute", "level", "customers", "churned"]].values.tolist() == [
        ["(all)", "(all)", 105, 24]]
    assert np.isnan(overall.loc[0, "chi2"])


def test_churn_rate_by_numeric_bands_are_readable_and_complete():
    rng = np.random.default_rng(2)
    f = pd.DataFrame({"age": rng.integers(18, 93, 5000), "balance": rng.gamma(2, 40000, 5000),
                      "products": rng.integers(1, 5, 5000), "churned": rng.random(5000) < 0.2})
    f.loc[:9, "balance"] = np.nan
    r = cm.churn_rate_by(f, ["age", "balance", "products"], bands=5)
    age = r[r["attribute"] == "age"]
    assert age["customers"].sum() == 5000 and len(age) == 5
    assert age["level"].iloc[0].startswith("18–") and age["level"].iloc[-1].endswith("–92")
    lows = age["low"].to_numpy()
    for (_, row), nxt in zip(age.iterrows(), list(lows[1:]) + [None], strict=True):
        inside = (f["age"] >= row["low"]) & ((f["age"] < nxt) if nxt is not None else True)
        assert inside.sum() == row["customers"]
    bal = r[r["attribute"] == "balance"]
    assert bal["level"].iloc[-1] == "(missing)" and bal["customers"].iloc[-1] == 10
    edges = bal["low"].iloc[1:-1]
    assert all(float(f"{e:.2g}") == e for e in edges)  # two significant digits
    assert bal["level"].iloc[1].startswith("[") and bal["customers"].sum() == 5000
    prod = r[r["attribute"] == "products"]
    assert prod["level"].tolist() == ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match="not columns"):
        cm.churn_rate_by(f, "plan")
