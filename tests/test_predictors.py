"""cxlib.quant.predictors: screening, fold-safe encoding and the logit that never breaks.

Fixtures are generated here with seeded numpy; references are independent computations
(pandas get_dummies, numpy least squares, a direct statsmodels fit).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxlib.quant import predictors as pr


def _frame(n=600, seed=3):
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]).astype(object)
    plan[:4] = "legacy"  # a rare level: pooled into (other)
    plan[4:40] = None  # missing: its own level (36 >= min_level 10)
    charges = rng.gamma(4, 20, n)
    charges[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({
        "plan": pd.Series(plan, dtype=object),
        "charges": charges,
        "tenure": rng.integers(0, 72, n),
        "active": rng.random(n) < 0.6,
        "signup": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "total_text": [f" {v:.2f}" if i % 25 else " " for i, v in enumerate(rng.gamma(2, 50, n))],
    })


def test_column_kinds_and_numbers():
    f = _frame()
    kinds = {c: pr.column_kind(f[c]) for c in f}
    assert kinds == {"plan": "categorical", "charges": "numeric", "tenure": "numeric",
                     "active": "numeric", "signup": "date", "total_text": "text_number"}
    days = pr.as_numbers(f["signup"], "date")
    assert days[0] == (f["signup"][0] - pd.Timestamp("1970-01-01")).days
    txt = pr.as_numbers(f["total_text"], "text_number")
    assert np.isnan(txt[0]) and txt[1] == pytest.approx(float(f["total_text"][1]))
    assert set(np.unique(pr.as_numbers(f["active"]))) == {0.0, 1.0}
    assert pr.column_kind(pd.Series(["a", "b", None])) == "categorical"
    assert pr.column_kind(pd.Series([True, None, False], dtype=object)) == "numeric"


def test_encoder_matches_get_dummies_with_pooling_missing_and_reference():
    f = _frame()
    kinds = {"plan": "categorical", "charges": "numeric", "active": "numeric"}
    enc = pr.DesignEncoder(kinds, min_level=10).fit(f)
    # levels: largest first, (other) and (missing) last; reference = the largest real level
    assert enc.levels_["plan"] == ["basic", "plus", "pro", pr.OTHER, pr.MISSING]
    assert enc.reference_["plan"] == "basic"
    d = enc.transform(f)
    expected = pd.get_dummies(f["plan"].fillna(pr.MISSING).replace("legacy", pr.OTHER),
                              prefix="plan", prefix_sep="=", dtype=float).drop(columns="plan=basic")
    for col in expected:
        np.testing.assert_array_equal(d[col].to_numpy(), expected[col].to_numpy())
    med = np.nanmedian(f["charges"])
    assert enc.medians_["charges"] == med
    np.testing.assert_allclose(d["charges"], f["charges"].fillna(med))
    np.testing.assert_array_equal(d["charges=(missing)"], f["charges"].isna().astype(float))
    assert enc.flag_["active"] and enc.reference_["active"] == 0.0
    assert list(d.columns) == enc.design_["name"].tolist()
    # a declared reference is honoured
    enc2 = pr.DesignEncoder(kinds, references={"plan": "pro"}, min_level=10).fit(f)
    assert enc2.reference_["plan"] == "pro" and "plan=pro" not in enc2.transform(f).columns


def test_encoder_unseen_levels_go_to_other_or_reference():
    f = _frame()
    enc = pr.DesignEncoder({"plan": "categorical"}, min_level=10).fit(f)
    new = pd.DataFrame({"plan": ["never-seen", "legacy", None, "plus"]})
    codes, unseen = enc.level_codes(new, "plan")
    lv = enc.levels_["plan"]
    assert [lv[c] for c in codes] == [pr.OTHER, pr.OTHER, pr.MISSING, "plus"]
    assert unseen == 1  # "legacy" was seen (pooled), "never-seen" was not
    # without an (other) level an unseen value is the reference (all-zero dummies)
    g = pd.DataFrame({"plan": ["a"] * 30 + ["b"] * 20})
    enc2 = pr.DesignEncoder({"plan": "categorical"}, min_level=5).fit(g)
    d = enc2.transform(pd.DataFrame({"plan": ["c", "b"]}))
    assert d.to_numpy().tolist() == [[0.0], [1.0]]
    codes = pr.DesignEncoder({"plan": "categorical", "x": "numeric"}, output="codes", min_level=5)
    out = codes.fit(g.assign(x=1.5)).transform(pd.DataFrame({"plan": ["b", "zz"], "x": [np.nan, 2]}))
    assert out.shape == (2, 2) and out[0, 0] == 1.0 and out[1, 0] == 0.0 and np.isnan(out[0, 1])


def test_dependent_columns_finds_duplicates_totals_and_constants():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 200))
    x = pd.DataFrame({"a": a, "b": b, "a_copy": 2 * a + 1, "const": 5.0, "total": a + b, "c": c})
    dep = pr.dependent_columns(x).set_index("name")
    assert list(dep.index) == ["a_copy", "const", "total"]
    assert dep.loc["a_copy", "reason"] == "collinear" and dep.loc["a_copy", "related"] == "a"
    assert dep.loc["total", "related"] == "a, b"
    assert dep.loc["const", "reason"] == "constant"
    # a near-dependence above the tolerance is kept, and its R^2 is the least-squares R^2
    noisy = a + b + 1e-3 * c
    kept = pr.dependent_columns(np.column_stack([a, b, noisy]), ["a", "b", "n"])
    assert kept.empty
    dep2 = pr.dependent_columns(np.column_stack([a, b, noisy]), ["a", "b", "n"], tol=1e-3)
    design = np.column_stack([np.ones(200), a, b])
    fit = np.linalg.lstsq(design, noisy, rcond=None)[0]
    r2 = 1 - ((noisy - design @ fit) ** 2).sum() / ((noisy - noisy.mean()) ** 2).sum()
    assert dep2.loc[0, "r2"] == pytest.approx(r2, rel=1e-9)


def _logit_data(n=800, seed=5):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(2, n))
    d = (rng.random(n) < 0.3).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.8 * x1 - 0.5 * x2 + 1.0 * d)))).astype(float)
    return pd.DataFrame({"x1": x1, "x2": x2, "d": d}), y


def test_logit_equals_statsmodels_and_survives_duplicates_and_separation():
    x, y = _logit_data()
    lm = pr.LogitModel().fit(x, y)
    ref = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
    np.testing.assert_allclose(lm.params_.to_numpy(), ref.params.to_numpy(), rtol=1e-7)
    odds = lm.odds_ratios().set_index("term")
    ci = np.exp(ref.conf_int())
    assert odds.loc["d", "ci_low"] == pytest.approx(ci.loc["d", 0], rel=1e-7)
    assert odds.loc["x1", "p_value"] == pytest.approx(ref.pvalues["x1"], rel=1e-6)
    # a duplicated column and a constant one: the same fit, noted, no LinAlgError
    x2 = x.assign(x1_again=x["x1"], const=1.0)
    lm2 = pr.LogitModel().fit(x2, y)
    np.testing.assert_allclose(lm2.params_[["Intercept", "x1", "x2", "d"]], lm.params_, rtol=1e-7)
    assert set(lm2.dropped_["name"]) == {"x1_again", "const"}
    np.testing.assert_allclose(lm2.predict_proba(x2)[:, 1], lm.predict_proba(x)[:, 1], rtol=1e-7)
    # a dummy whose rows all churned has no finite odds ratio: dropped as separated
    sep = np.zeros(len(y))
    sep[np.flatnonzero(y == 1)[:6]] = 1.0
    lm3 = pr.LogitModel().fit(x.assign(sep=sep), y)
    row = lm3.dropped_.set_index("name").loc["sep"]
    assert row["reason"] == "separated" and row["r2"] == 6
    assert lm3.method_ == "mle"


def test_logit_falls_back_to_ridge_on_numeric_separation():
    x, _ = _logit_data()
    y = (x["x1"] > 0.2).astype(float).to_numpy()  # x1 separates the outcome completely
    lm = pr.LogitModel().fit(x, y)
    assert lm.method_ == "ridge" and lm.result_ is None
    p = lm.predict_proba(x)[:, 1]
    assert np.isfinite(p).all() and ((p > 0.5) == (y == 1)).mean() > 0.95
    assert lm.odds_ratios()["ci_low"].isna().all()


def test_screen_drops_ids_names_constants_leaks_and_duplicates():
    rng = np.random.default_rng(11)
    n = 1500
    y = (rng.random(n) < 0.25).astype(float)
    surnames = np.array([f"Name{i}" for i in rng.integers(0, 900, n)], dtype=object)
    f = pd.DataFrame({
        "row_number": np.arange(1, n + 1),
        "code": [f"K{i:05d}" for i in range(n)],
        "surname": surnames,
        "country": rng.choice(["FR", "DE", "ES"], n),
        "always": "yes",
        "empty": pd.Series([None] * n, dtype=object),
        "age": rng.integers(18, 80, n),
        "age_months": 0.0,
        "reason": np.where(y == 1, rng.choice(["price", "service"], n), None),
        "churn_date": np.where(y == 1, pd.Timestamp("2025-05-01"), pd.NaT),
    })
    f["age_months"] = f["age"] * 12
    f["churn_date"] = pd.to_datetime(f["churn_date"])
    s = pr.screen_predictors(f, y)
    reasons = s.dropped.set_index("column")["reason"].to_dict()
    assert reasons == {"row_number": "id_like", "code": "id_like", "surname": "name_like",
                       "always": "constant", "empty": "empty", "reason": "leakage",
                       "churn_date": "leakage", "age_months": "collinear"}
    d = s.dropped.set_index("column")
    assert d.loc["reason", "statistic"] >= 0.98 and d.loc["age_months", "related"] == "age"
    assert d.loc["surname", "statistic"] < 0.5
    assert s.kinds == {"country": "categorical", "age": "numeric"}
    assert s.univariate.set_index("column").loc["country", "kept"]
    with pytest.raises(ValueError, match="not columns"):
        pr.screen_predictors(f, y, predictors=["age", "no_such_column"])
    # declared predictors are screened too; an excluded column is never a candidate
    s2 = pr.screen_predictors(f, y, predictors=["age", "always"], exclude=["age"])
    assert list(s2.kinds) == [] and s2.dropped["column"].tolist() == ["always"]
