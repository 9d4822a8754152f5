"""Multiple-testing adjustment: Holm computed in cxlib equals statsmodels' ``multipletests``."""

import gc

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from cxlib.quant.multiple import adjust_pvalues, holm


@pytest.mark.parametrize("seed", range(20))
def test_holm_equals_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    p = rng.uniform(0, 1, n) ** rng.uniform(0.2, 3)  # many tiny p-values in some draws
    p[rng.random(n) < 0.2] = p[0]  # ties
    if seed % 4 == 0:
        p[: n // 2] = rng.choice([0.0, 1.0, 0.05], n // 2)  # the edges
    np.testing.assert_array_equal(holm(p), multipletests(p, method="holm")[1])


def test_worked_example():
    """Holm (1979) by hand: sorted 0.01, 0.02, 0.03, 0.5 times 4, 3, 2, 1 = .04, .06, .06 (running
    max), .5; returned in the input order."""
    np.testing.assert_allclose(holm([0.5, 0.03, 0.01, 0.02]), [0.5, 0.06, 0.04, 0.06])
    assert holm([0.4, 0.6]).tolist() == [0.8, 0.8]  # 2 x 0.4, then max(0.8, 0.6); capped at 1 below
    assert holm([0.7, 0.9]).tolist() == [1.0, 1.0]


def test_nan_is_not_a_test_and_other_methods_go_to_statsmodels():
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan])
    got = adjust_pvalues(p, "holm")
    assert np.isnan(got[[1, 4]]).all()
    np.testing.assert_array_equal(got[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="holm")[1])
    bh = adjust_pvalues(p, "fdr_bh")
    np.testing.assert_array_equal(bh[[0, 2, 3]], multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])
    np.testing.assert_array_equal(adjust_pvalues(p, None), p)
    assert np.isnan(adjust_pvalues(np.array([np.nan]), "holm")).all()
    assert holm(np.array([])).size == 0


def test_holm_does_not_collect_the_heap(monkeypatch):
    """The reason for computing Holm here: statsmodels' Holm runs ``gc.collect()`` on every call."""
    calls = []
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or 0)
    adjust_pvalues(np.array([0.01, 0.2, 0.03]), "holm")
    assert calls == []
    multipletests(np.array([0.01, 0.2, 0.03]), method="holm")
    assert len(calls) == 1  # if statsmodels drops it, this module can go back to calling it
