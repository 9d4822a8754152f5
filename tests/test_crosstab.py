"""cxlib.quant.crosstab against a hand-worked table, statsmodels' z-test and corrections."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from cxlib.quant.crosstab import crosstab, nps_group
from cxlib.report.tables import format_crosstab

GROUPS = ["promoter", "passive", "detractor"]


def _table(cols: dict[str, tuple[int, int, int]]) -> pd.DataFrame:
    """Respondents from {segment: (promoters, passives, detractors)}."""
    rows = [(seg, g) for seg, counts in cols.items()
            for g, k in zip(GROUPS, counts, strict=True) for _ in range(k)]
    df = pd.DataFrame(rows, columns=["segment", "nps_group"])
    df["nps_group"] = pd.Categorical(df["nps_group"], categories=GROUPS, ordered=True)
    return df


# Budget (A) 60/20/20, Standard (B) 40/30/30, Premium (C) 20/30/50, each base 100
HAND = {"Budget": (60, 20, 20), "Standard": (40, 30, 30), "Premium": (20, 30, 50)}
ORDER = ["Budget", "Standard", "Premium"]


def test_hand_built_3x3_letters():
    # Pooled z-tests, n = 100 per column (p = pooled share, se = sqrt(p(1-p)(2/100))):
    #   promoter  A-B .6/.4 z=2.828 p=.00468 | A-C .6/.2 z=5.774 p=7.7e-9 | B-C .4/.2 z=3.086 p=.00203
    #   passive   A-B .2/.3 z=-1.633 p=.1025 | A-C same            | B-C equal z=0 p=1
    #   detractor A-B .2/.3 z=-1.633 p=.1025 | A-C .2/.5 z=-4.447 p=8.7e-6 | B-C .3/.5 z=-2.887 p=.00389
    # Benjamini-Hochberg over the 9 p-values (sorted, p*9/rank, made monotone):
    #   7.7e-9 -> 6.9e-8, 8.7e-6 -> 3.9e-5, .00203 -> .0061, .00389 -> .0084 (= min with
    #   .00468*9/5), .00468 -> .0084, then .1025*9/8 = .115 ... 1: five tests significant.
    # Letters: promoter A beats B and C ("BC"), B beats C ("C"); detractor C beats A and B.
    ct = crosstab(_table(HAND), "nps_group", "segment", banner_order=ORDER)
    cells = ct.cells.set_index(["row_value", "banner_value"])
    assert list(ct.bases["letter"]) == ["A", "B", "C"]
    assert list(ct.bases["base"]) == [100, 100, 100]
    letters = cells["higher_than"].to_dict()
    assert letters == {
        ("promoter", "Budget"): "BC", ("promoter", "Standard"): "C", ("promoter", "Premium"): "",
        ("passive", "Budget"): "", ("passive", "Standard"): "", ("passive", "Premium"): "",
        ("detractor", "Budget"): "", ("detractor", "Standard"): "", ("detractor", "Premium"): "AB",
    }
    assert cells.loc[("promoter", "Budget"), "column_pct"] == pytest.approx(60.0)
    assert cells.loc[("detractor", "Premium"), "count"] == pytest.approx(50.0)
    t = ct.tests.set_index(["row_value", "col_i", "col_j"])
    assert len(t) == 9 and int(t["significant"].sum()) == 5
    assert t.loc[("promoter", "A", "B"), "z"] == pytest.approx(0.2 / math.sqrt(0.25 * 0.02))
    assert t.loc[("promoter", "A", "B"), "p_value"] == pytest.approx(0.004678, abs=1e-5)
    assert t.loc[("detractor", "A", "C"), "z"] == pytest.approx(-0.3 / math.sqrt(0.35 * 0.65 * 0.02))
    assert t.loc[("passive", "B", "C"), "p_value"] == pytest.approx(1.0)
    assert t.loc[("promoter", "A", "B"), "p_adjusted"] == pytest.approx(0.004678 * 9 / 5, abs=1e-5)
    assert t.loc[("detractor", "A", "B"), "p_adjusted"] == pytest.approx(0.10247 * 9 / 8, abs=1e-4)
    assert t.loc[("detractor", "B", "C"), "higher"] == "C"
    assert ct.tests.attrs == {"correction": "fdr_bh", "alpha": 0.05}


@pytest.mark.parametrize("correction", ["fdr_bh", "holm"])
def test_p_values_match_statsmodels(correction):
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"segment": rng.choice(["N", "E", "S", "W"], 900),
                       "channel": rng.choice(["app", "web", "phone"], 900, p=[.5, .3, .2])})
    df.loc[df["segment"] == "S", "channel"] = rng.choice(["app", "web", "phone"],
                                                         (df["segment"] == "S").sum(),
                                                         p=[.3, .3, .4])
    ct = crosstab(df, "channel", "segment", correction=correction)
    assert len(ct.tests) == 3 * 6
    for t in ct.tests.itertuples():
        xi = ((df["segment"] == t.banner_i) & (df["channel"] == t.row_value)).sum()
        xj = ((df["segment"] == t.banner_j) & (df["channel"] == t.row_value)).sum()
        ni, nj = (df["segment"] == t.banner_i).sum(), (df["segment"] == t.banner_j).sum()
        z, p = proportions_ztest([xi, xj], [ni, nj])
        assert t.z == pytest.approx(z) and t.p_value == pytest.approx(p)
        assert (t.n_i, t.n_j) == (ni, nj)
    adj = multipletests(ct.tests["p_value"], method=correction)[1]
    assert np.allclose(ct.tests["p_adjusted"], adj)
    assert (ct.tests["significant"] == (adj < 0.05)).all()
    assert ct.tests["significant"].any()  # segment S really differs
    # no correction: adjusted = raw
    raw = crosstab(df, "channel", "segment", correction=None)
    assert np.allclose(raw.tests["p_adjusted"], raw.tests["p_value"])


def test_small_base_columns_are_shown_but_never_tested():
    # a fourth column D with 20 respondents, all promoters: it would "win" if tested
    df = _table({**HAND, "Tiny": (20, 0, 0)})
    ct = crosstab(df, "nps_group", "segment", banner_order=ORDER + ["Tiny"], min_base=30)
    bases = ct.bases.set_index("letter")
    assert bool(bases.loc["D", "small_base"]) and bases.loc["D", "base"] == 20
    assert not ct.tests[["col_i", "col_j"]].isin(["D"]).any().any()
    assert len(ct.tests) == 9  # only A, B, C pairs
    tiny = ct.cells[ct.cells["letter"] == "D"]
    assert (tiny["higher_than"] == "").all() and tiny["small_base"].all()
    assert tiny.set_index("row_value").loc["promoter", "column_pct"] == pytest.approx(100.0)
    assert not ct.cells["higher_than"].str.contains("D").any()
    out = format_crosstab(ct, "NPS group")
    assert out.iloc[-1]["Tiny (D)"] == "20 ⚠"
    assert "⚠ marks a base below 30" in ct.note


def test_weighted_crosstab_uses_effective_n():
    # X: 20 "yes" weighted 2 and 20 "no" weighted 1 -> share 40/60 = 2/3,
    #    n_eff = 60^2 / (20*4 + 20*1) = 36;  Y: 10 yes, 30 no, weights 1 -> 0.25, n_eff 40.
    df = pd.DataFrame({"segment": ["X"] * 40 + ["Y"] * 40,
                       "top2": [True] * 20 + [False] * 20 + [True] * 10 + [False] * 30})
    w = pd.Series([2.0] * 20 + [1.0] * 60, index=df.index)
    ct = crosstab(df, "top2", "segment", weights=w)
    cells = ct.cells.set_index(["row_value", "banner_value"])
    assert cells.loc[(True, "X"), "count"] == pytest.approx(40.0)
    assert cells.loc[(True, "X"), "column_pct"] == pytest.approx(100 * 2 / 3)
    assert cells.loc[(True, "X"), "base"] == 40
    assert cells.loc[(True, "X"), "base_effective"] == pytest.approx(36.0)
    pool = (36 * 2 / 3 + 40 * 0.25) / 76
    z = (2 / 3 - 0.25) / math.sqrt(pool * (1 - pool) * (1 / 36 + 1 / 40))
    t = ct.tests.set_index("row_value").loc[True]
    assert t["z"] == pytest.approx(z) and (t["n_i"], t["n_j"]) == (pytest.approx(36), 40)
    assert t["p_value"] == pytest.approx(2 * stats.norm.sf(z))
    # the same weighted shares tested on the raw base n = 40 would overstate significance
    pool40 = (40 * 2 / 3 + 40 * 0.25) / 80
    z40 = (2 / 3 - 0.25) / math.sqrt(pool40 * (1 - pool40) * (2 / 40))
    assert t["z"] < z40 - 0.05  # 3.65 vs 3.74
    out = format_crosstab(ct)
    assert list(out.iloc[-1]) == ["Base (n)", "40 (eff. 36)", "40 (eff. 40)"]
    assert "effective base" in ct.note


def test_missing_answers_and_weights_are_excluded_and_counted():
    df = _table(HAND)
    df["nps_group"] = df["nps_group"].astype(object)
    df.loc[[0, 1], "nps_group"] = None          # two Budget rows without an answer
    w = pd.Series(1.0, index=df.index)
    w.iloc[-1] = np.nan                          # one Premium row not weighted
    ct = crosstab(df, "nps_group", "segment", weights=w, banner_order=ORDER)
    b = ct.bases.set_index("banner_value")
    assert b.loc["Budget", "base"] == 98 and b.loc["Budget", "excluded"] == 2
    assert b.loc["Premium", "base"] == 99 and b.loc["Premium", "excluded"] == 1
    assert ct.excluded == 3


def test_format_crosstab_strings_and_base_row():
    ct = crosstab(_table(HAND), "nps_group", "segment", banner_order=ORDER)
    out = format_crosstab(ct, row_label="NPS group", banner_label="Segment")
    assert list(out.columns) == ["NPS group", "Budget (A)", "Standard (B)", "Premium (C)"]
    assert out.columns.name == "Segment"
    assert out.iloc[0].tolist() == ["promoter", "60% BC", "40% C", "20%"]
    assert out.iloc[1].tolist() == ["passive", "20%", "30%", "30%"]
    assert out.iloc[2].tolist() == ["detractor", "20%", "30%", "50% AB"]
    assert out.iloc[3].tolist() == ["Base (n)", "100", "100", "100"]
    assert out.attrs["note"] == ct.note == (
        "Letters mark a column percentage significantly higher than the lettered column "
        "(two-proportion z-test, Benjamini-Hochberg corrected, alpha 0.05).")
    # a single-letter cell as the issue shows it: "45% B"
    df = _table({"North": (45, 30, 25), "South": (25, 35, 40)})
    out = format_crosstab(crosstab(df, "nps_group", "segment"))
    assert out.loc[0, "North (A)"] == "45% B" and out.loc[0, "South (B)"] == "25%"
    holm = crosstab(df, "nps_group", "segment", correction="holm", alpha=0.01)
    assert "Holm corrected, alpha 0.01" in holm.note


def test_nps_group_and_bad_input():
    g = nps_group(pd.Series([10, 9, 8, 7, 6, 0, None], dtype="Int64"))
    assert g.tolist()[:6] == ["promoter", "promoter", "passive", "passive", "detractor",
                              "detractor"]
    assert pd.isna(g.iloc[6]) and list(g.cat.categories) == GROUPS
    df = _table(HAND)
    with pytest.raises(ValueError, match="banner 'region': no such column"):
        crosstab(df, "nps_group", "region")
    with pytest.raises(ValueError, match="correction must be one of"):
        crosstab(df, "nps_group", "segment", correction="bonferroni")
