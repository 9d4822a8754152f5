"""Coding reliability: Krippendorff's alpha, Cohen's kappa, auto-coding vs human, the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from cxlib.exceptions import DataValidationError
from cxlib.voice import coding, reliability

nan = np.nan

#: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: reliability
#: data of 4 observers (rows A-D) x 12 units, nominal values 1-5, missing values (.).
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


# --- Krippendorff's alpha ----------------------------------------------------------------


def test_krippendorff_2011_worked_example_nominal():
    # the paper's result for these data: alpha = 0.743 (= 1 - 39 * 8 / 1216, see below)
    assert round(reliability.krippendorff_alpha(K2011), 3) == 0.743
    assert reliability.krippendorff_alpha(K2011) == pytest.approx(1 - 39 * 8 / 1216, abs=1e-12)


def test_krippendorff_2011_coincidences_by_hand():
    # The paper's coincidence matrix: unit 12 holds one value and is not pairable; each
    # unit u adds 1 / (m_u - 1) per ordered pair of values from different observers.
    # e.g. unit 6 (values 1, 2, 3, 4; m_u = 4) adds 1/3 to every off-diagonal cell among
    # 1..4; unit 2 (2, 2, 3, 2... m_u = 4) adds 1/3 * 3 = 1 to o_23 and o_32, and so on.
    values, o, n_units = reliability._coincidences(K2011)
    assert values.tolist() == [1, 2, 3, 4, 5]
    assert n_units == 11
    t = 1 / 3
    expected = np.array([
        [7, 4 * t, t, t, 0],
        [4 * t, 10, 4 * t, t, 0],
        [t, 4 * t, 8, t, 0],
        [t, t, t, 4, 0],
        [0, 0, 0, 0, 3],
    ])
    assert o == pytest.approx(expected)
    n_c = o.sum(axis=1)
    assert n_c.tolist() == pytest.approx([9, 13, 10, 5, 3])  # n = 40 pairable values
    # nominal: alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k
    off = o.sum() - np.trace(o)
    assert off == pytest.approx(8)
    assert n_c.sum() ** 2 - (n_c**2).sum() == pytest.approx(1216)


@pytest.mark.parametrize(("level", "alpha"), [("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_example_other_levels(level, alpha):
    # the same paper, section C, reports these for the metric levels
    assert round(reliability.krippendorff_alpha(K2011, level=level), 3) == alpha


def test_krippendorff_2011_binary_two_observers():
    # section A of the paper: two observers, ten units, binary data: alpha = 0.095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert round(reliability.krippendorff_alpha([a, b]), 3) == 0.095


def test_alpha_perfect_agreement_is_one_and_labels_may_be_strings():
    assert reliability.krippendorff_alpha([[1, 0, 1, 0, 1], [1, 0, 1, 0, 1]]) == 1.0
    df = pd.DataFrame([["x", "y", None, "z"], ["x", "y", "y", "z"]])
    assert reliability.krippendorff_alpha(df) == 1.0


def test_alpha_small_case_by_hand():
    # A = 1 1 0 0, B = 1 0 0 0. Coincidences: o_00 = 4, o_01 = o_10 = 1, o_11 = 2;
    # n_0 = 5, n_1 = 3, n = 8. alpha = 1 - (n-1) (o_01 + o_10) / (2 n_0 n_1) = 1 - 7*2/30 = 16/30.
    data = [[1, 1, 0, 0], [1, 0, 0, 0]]
    assert reliability.krippendorff_alpha(data) == pytest.approx(16 / 30)
    # a unit coded by one coder only is not pairable and changes nothing
    assert reliability.krippendorff_alpha([[1, 1, 0, 0, 1], [1, 0, 0, 0, nan]]) == pytest.approx(16 / 30)


def test_alpha_undefined_without_variation_or_pairs():
    assert np.isnan(reliability.krippendorff_alpha([[0, 0, 0], [0, 0, 0]]))
    assert np.isnan(reliability.krippendorff_alpha([[1, nan], [nan, 2]]))
    with pytest.raises(ValueError, match="level"):
        reliability.krippendorff_alpha(K2011, level="bogus")


# --- flags -------------------------------------------------------------------------------


def test_flags_at_the_thresholds():
    f = reliability.reliability_flag
    assert f(0.800) == "reliable"
    assert f(0.7999) == "tentative"
    assert f(0.667) == "tentative"
    assert f(0.6669) == "unreliable"
    assert f(-0.2) == "unreliable"
    assert f(nan) == "undefined"
    assert f(0.75, reliable=0.7, tentative=0.6) == "reliable"
    assert f(0.65, reliable=0.7, tentative=0.6) == "tentative"
    s = f(pd.Series([0.9, 0.7, 0.1, nan]))
    assert s.tolist() == ["reliable", "tentative", "unreliable", "undefined"]
    with pytest.raises(ValueError):
        f(0.5, reliable=0.6, tentative=0.7)


# --- codings helpers ---------------------------------------------------------------------


def _random_codings(seed=7, n_units=120, codes=("a", "b", "c", "d"), coders=("ann", "bob"), p_err=0.15):
    """Two coders' multi-label codings on shared units plus some units coded by one only."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        true = [c for c in codes if rng.random() < 0.3]
        for coder in coders:
            if u >= n_units - 10 and coder != coders[0]:
                continue  # the last 10 units: coded by the first coder only
            mine = [c for c in codes if (c in true) != (rng.random() < p_err)]
            rows += [{"verbatim_id": f"U{u:03d}", "coder": coder, "code": c} for c in (mine or [None])]
    return pd.DataFrame(rows)


def test_to_matrix_common_units_and_counts():
    cod = _random_codings()
    m = reliability.to_matrix(cod, codes=["a", "b", "c", "d", "never"])
    assert set(m) == {"ann", "bob"}
    assert m["ann"].shape == (110, 5) and m["ann"].index.equals(m["bob"].index)
    assert m["ann"]["never"].sum() == 0
    assert m["ann"].attrs["n_units_left_out"] == 10
    own = reliability.to_matrix(cod, common=False)
    assert own["ann"].shape[0] == 120 and own["bob"].shape[0] == 110
    with pytest.raises(DataValidationError, match=r"not in the code list.*valid codes"):
        reliability.to_matrix(cod, codes=["a", "b"])


def test_blank_coder_is_an_error_naming_rows():
    cod = pd.DataFrame({"verbatim_id": ["V1", "V2"], "coder": ["a", " "], "code": ["x", "y"]})
    with pytest.raises(DataValidationError, match=r"'coder' is empty on 1 row\(s\) \(file rows 3\)"):
        reliability.to_matrix(cod)


# --- Cohen's kappa -----------------------------------------------------------------------


def test_kappa_equals_sklearn_per_code():
    cod = _random_codings()
    k = reliability.cohen_kappa_by_code(cod, "ann", "bob")
    m = reliability.to_matrix(cod, coders=["ann", "bob"])
    assert k.attrs["n_units"] == 110 and k.attrs["n_only_a"] == 10 and k.attrs["n_only_b"] == 0
    for row in k.itertuples():
        a, b = m["ann"][row.code].to_numpy(), m["bob"][row.code].to_numpy()
        assert row.kappa == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)
        assert row.agreement == pytest.approx((a == b).mean())
        assert row.n_units == 110
    # each coder flips each decision with p = .15, prevalence ~.3: p_o = .85^2 + .15^2 = .745,
    # marginals ~.36, p_e ~ .36^2 + .64^2 = .539, kappa ~ (.745 - .539) / .461 = .45
    assert 0.3 < k["kappa"].mean() < 0.6


def test_kappa_hand_computed_and_undefined():
    # code x: A = 1 1 0 0, B = 1 0 0 0 -> p_o = 3/4, p_e = .5*.25 + .5*.75 = .5, kappa = .5
    cod = pd.DataFrame({
        "verbatim_id": ["1", "2", "3", "4", "1", "2", "3", "4"],
        "coder": ["A"] * 4 + ["B"] * 4,
        "code": ["x", "x", None, "", "x", None, None, None],
    })
    k = reliability.cohen_kappa_by_code(cod, "A", "B", codes=["x", "unused"]).set_index("code")
    assert k.loc["x", "kappa"] == pytest.approx(0.5)
    assert k.loc["x", "expected"] == pytest.approx(0.5)
    assert k.loc["x", "prevalence"] == pytest.approx(3 / 8)
    assert np.isnan(k.loc["unused", "kappa"]) and "p_e = 1" in k.loc["unused", "note"]


# --- alpha per code and pooled -----------------------------------------------------------


def test_alpha_by_code_and_overall_match_the_matrix_computation():
    cod = _random_codings(coders=("ann", "bob", "cy"))
    out = reliability.alpha_by_code(cod)
    own = reliability.to_matrix(cod, common=False)
    units = sorted(set(own["ann"].index) | set(own["bob"].index) | set(own["cy"].index))
    for row in out.itertuples():
        data = [own[c][row.code].reindex(units).to_numpy(float) for c in ("ann", "bob", "cy")]
        assert row.alpha == pytest.approx(reliability.krippendorff_alpha(data))
        assert row.flag == reliability.reliability_flag(row.alpha)
    assert out.attrs["n_units_single"] == 10  # the last 10 units: one coder only
    assert (out["n_units"] == 110).all()
    pooled = np.stack([own[c].reindex(units).to_numpy(float).ravel() for c in ("ann", "bob", "cy")])
    ov = reliability.alpha_overall(cod)
    assert ov.alpha == pytest.approx(reliability.krippendorff_alpha(pooled))
    assert ov.n_units == 110 and ov.n_decisions == 440 and ov.n_units_single == 10
    assert "pooled binary" in ov.method


def test_alpha_two_coders_perfect_agreement_per_code():
    cod = _random_codings(p_err=0.0)
    cod = cod[cod["coder"] == "ann"]
    both = pd.concat([cod, cod.assign(coder="bob")])
    out = reliability.alpha_by_code(both)
    assert (out["alpha"] == 1.0).all() and (out["flag"] == "reliable").all()
    assert reliability.alpha_overall(both).alpha == 1.0


# --- auto vs human -----------------------------------------------------------------------


def _auto_from(cod, coder, codes, seed=3, p_err=0.1):
    """An 'auto-coder': a noisy copy of one coder, in auto_code's long format."""
    rng = np.random.default_rng(seed)
    m = reliability.to_matrix(cod, codes, coders=[coder], common=False)[coder]
    flip = rng.random(m.shape) < p_err
    pred = np.where(flip, 1 - m.to_numpy(), m.to_numpy())
    r, c = np.nonzero(pred)
    return pd.DataFrame({"verbatim_id": m.index[r], "code": np.array(codes)[c]}), m, pred


def test_auto_vs_human_equals_sklearn():
    cod = _random_codings()
    codes = ["a", "b", "c", "d"]
    auto, ref, pred = _auto_from(cod, "ann", codes)
    out = reliability.auto_vs_human(auto, cod, coder="ann", codes=codes).set_index("code")
    y = ref.to_numpy()
    p, r, f, s = precision_recall_fscore_support(y, pred, average=None, zero_division=np.nan)
    assert out.loc[codes, "precision"].to_numpy() == pytest.approx(p)
    assert out.loc[codes, "recall"].to_numpy() == pytest.approx(r)
    assert out.loc[codes, "f1"].to_numpy() == pytest.approx(f)
    assert out.loc[codes, "support"].tolist() == s.tolist()
    pm, rm, fm, _ = precision_recall_fscore_support(y, pred, average="micro")
    assert (out.loc["micro", "precision"], out.loc["micro", "recall"], out.loc["micro", "f1"]) == pytest.approx((pm, rm, fm))
    assert (out.loc[codes, "n_units"] == 120).all()


def test_auto_vs_consensus_excludes_disagreements():
    cod = _random_codings()
    codes = ["a", "b", "c", "d"]
    auto, _, _ = _auto_from(cod, "ann", codes)
    out = reliability.auto_vs_human(auto, cod, codes=codes).set_index("code")
    m = reliability.to_matrix(cod, codes)
    agree = m["ann"] == m["bob"]
    assert out.loc[codes, "n_excluded"].tolist() == (~agree).sum().tolist()
    assert out.loc[codes, "n_units"].tolist() == agree.sum().tolist()
    assert out.attrs["n_units_single"] == 10 and out.attrs["n_excluded"] == int((~agree).to_numpy().sum())
    # per code, equal to sklearn on the decisions where the coders agree
    pred = reliability.to_matrix(
        pd.concat([auto.assign(coder="auto"), cod[cod["coder"] == "ann"].assign(code=None, coder="auto")]),
        codes, common=False)["auto"].reindex(m["ann"].index)
    for c in codes:
        keep = agree[c].to_numpy()
        p, r, f, _ = precision_recall_fscore_support(m["ann"][c].to_numpy()[keep], pred[c].to_numpy()[keep],
                                                     average="binary", zero_division=np.nan)
        assert (out.loc[c, "precision"], out.loc[c, "recall"], out.loc[c, "f1"]) == pytest.approx((p, r, f))


def test_auto_vs_truth_without_coder_column_and_undefined_precision():
    truth = pd.DataFrame({"verbatim_id": ["1", "1", "2", "3", "4"], "code": ["x", "y", "x", None, "y"]})
    auto = pd.DataFrame({"verbatim_id": ["1", "2", "3", "9"], "code": ["x", "y", "x", "x"]})
    out = reliability.auto_vs_human(auto, truth, codes=["x", "y", "z"]).set_index("code")
    # x: tp 1 (V1), fp 1 (V3), fn 1 (V2); y: tp 0, fp 1 (V2), fn 2 (V1, V4); z: nothing
    assert out.loc["x", ["tp", "fp", "fn"]].tolist() == [1, 1, 1]
    assert out.loc["y", ["tp", "fp", "fn"]].tolist() == [0, 1, 2]
    assert out.loc["x", "f1"] == pytest.approx(0.5) and out.loc["y", "f1"] == 0.0
    assert np.isnan(out.loc["z", "precision"]) and np.isnan(out.loc["z", "recall"])
    assert out.loc["micro", ["tp", "fp", "fn"]].tolist() == [1, 2, 3]
    assert out.attrs["reference"] == "coder truth" and out.attrs["n_auto_outside"] == 1


# --- the report on the demo data ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_report(demo_dir):
    read = lambda name: pd.read_csv(demo_dir / name, dtype=str)  # noqa: E731
    book = coding.compile_codebook(pd.read_csv(demo_dir / "codebook.csv"), source="codebook.csv")
    auto = coding.auto_code(read("verbatims.csv"), book)
    return reliability.reliability_report(read("manual_codes.csv"), auto, read("verbatim_truth.csv"),
                                          codebook=book), book


def test_reliability_report_on_demo(demo_report):
    rep, book = demo_report
    per = rep.per_code
    assert per["code"].tolist() == book.codes
    for col in ("kappa", "alpha", "flag", "small_base", "precision", "recall", "f1", "f1_truth", "theme"):
        assert col in per.columns
    assert rep.counts["n_units_manual"] == 200 and rep.counts["n_units_both"] == 200
    assert rep.counts["coders"] == ["coder_a", "coder_b"]
    # each coder is right ~90 % of the time: kappa above 0.6 for most codes
    assert (per["kappa"] > 0.6).mean() >= 0.75
    # the demo's patterns recover ~0.9 of the true codes at high precision
    assert (per["f1_truth"] > 0.8).mean() >= 0.8
    assert 0.85 <= rep.auto_micro_truth["recall"] <= 0.95
    assert rep.auto_micro_truth["precision"] > 0.9
    assert rep.counts["n_units_truth"] > 10_000
    assert 0.7 <= rep.overall.alpha <= 0.95
    assert rep.overall.flag == reliability.reliability_flag(rep.overall.alpha)
    assert 0 < rep.counts["n_excluded_decisions"] < 100
    # flags follow alpha and the thresholds; rare codes are marked as small bases
    assert (per["flag"] == reliability.reliability_flag(per["alpha"])).all()
    assert set(rep.unreliable_codes) == set(per.loc[per["alpha"] < 0.667, "code"])
    assert rep.flags()["late_delivery"] == per.set_index("code").loc["late_delivery", "flag"]
    assert "Krippendorff" in rep.method_text()


def test_reliability_report_thresholds_are_arguments(demo_report, demo_dir):
    rep, book = demo_report
    read = lambda name: pd.read_csv(demo_dir / name, dtype=str)  # noqa: E731
    auto = coding.auto_code(read("verbatims.csv"), book)
    strict = reliability.reliability_report(read("manual_codes.csv"), auto, codebook=book,
                                            reliable=0.95, tentative=0.9)
    assert (strict.per_code["flag"] == reliability.reliability_flag(strict.per_code["alpha"], 0.95, 0.9)).all()
    assert (strict.per_code["flag"] == "reliable").sum() < (rep.per_code["flag"] == "reliable").sum()
    assert "f1_truth" not in strict.per_code.columns and strict.auto_micro_truth == {}
