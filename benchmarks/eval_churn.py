"""Churn on a real CRM snapshot, beside its baselines; and fitting and scoring at 1M customers.

    CX_EVAL_DATA=../shared/dev-data .venv/bin/python benchmarks/eval_churn.py [--splits 5] [--rows 1000000]

1. ``churn_bank_customers`` (SOURCES.md): churn rate overall and by Geography with Wilson
   intervals (:func:`cxlib.quant.churn_model.churn_rate_by`), checked against the reference
   figures (20.37 %; France 16.15 %, Germany 32.44 %, Spain 16.67 %).
2. Held-out AUC on stratified 80/20 splits (seeds 0..splits-1): the snapshot model
   (:func:`cxlib.quant.churn_model.fit_snapshot_model`, every column, ``model="auto"``,
   fitted on the 80 %, the 20 % scored by :func:`score_frame`) beside a plain logistic
   regression on the same columns (one-hot Geography and Gender, standardised numbers,
   sklearn defaults), the no-skill AUC 0.5 and the levels named in SOURCES.md (plain logit
   about 0.77, gradient boosting about 0.86; issue 13's target 0.85).
3. A synthetic 1M-row snapshot generated here (seeded): seconds to fit (stratified 200k sample)
   and to score every row (batches of 100k). Printed, never asserted.

Reads the data from ``$CX_EVAL_DATA`` and exits 0 with a note when it is absent. Never copies
any of it anywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REFERENCE = {"(all)": 20.37, "France": 16.15, "Germany": 32.44, "Spain": 16.67}


def bank(data: Path) -> pd.DataFrame:
    f = pd.read_csv(data / "churn_bank_customers" / "churn_modelling.csv")
    f["Exited"] = f["Exited"].astype(bool)
    return f


def rates(f: pd.DataFrame) -> bool:
    from cxlib.quant import churn_model as cm

    table = pd.concat([cm.churn_rate_by(f, target="Exited"),
                       cm.churn_rate_by(f, "Geography", target="Exited")], ignore_index=True)
    ok = True
    print("Churn rate (Exited), Wilson 95% interval; reference from SOURCES.md")
    for _, r in table.iterrows():
        pct = round(100 * r["rate"], 2)
        ref = REFERENCE[r["level"]]
        ok &= pct == ref
        print(f"  {r['level']:<8} {pct:6.2f} %  [{100 * r['ci_low']:.2f}, {100 * r['ci_high']:.2f}]"
              f"  n = {r['customers']:>5}  reference {ref:.2f} %  {'ok' if pct == ref else 'DIFFERS'}")
    geo = table[table["attribute"] == "Geography"].iloc[0]
    print(f"  chi-square across Geography: {geo['chi2']:.1f} on {geo['dof']:.0f} df, "
          f"p = {geo['p_value']:.2g}")
    return ok


def plain_logit_auc(train: pd.DataFrame, test: pd.DataFrame, cols: list[str]) -> float:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cats = [c for c in cols if train[c].dtype == object or str(train[c].dtype) in ("str", "string")]
    nums = [c for c in cols if c not in cats]
    pipe = make_pipeline(ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), cats),
                                            ("n", StandardScaler(), nums)]),
                         LogisticRegression(max_iter=1000))
    pipe.fit(train[cols], train["Exited"])
    return float(roc_auc_score(test["Exited"], pipe.predict_proba(test[cols])[:, 1]))


def held_out(f: pd.DataFrame, splits: int) -> float:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from cxlib.quant import churn_model as cm

    cols = ["CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance", "NumOfProducts",
            "HasCrCard", "IsActiveMember", "EstimatedSalary"]
    print("\nHeld-out AUC, stratified 80/20 splits (snapshot model: every column, model='auto')")
    print("  seed  snapshot  (chosen; CV AUC on the 80 %)   plain logit  no skill  fit s  score s")
    ours, plain = [], []
    for seed in range(splits):
        tr, te = train_test_split(f, test_size=0.2, stratify=f["Exited"], random_state=seed)
        t0 = time.perf_counter()
        m = cm.fit_snapshot_model(tr, target="Exited", id_column="CustomerId", seed=seed)
        t1 = time.perf_counter()
        s = cm.score_frame(m, te)
        t2 = time.perf_counter()
        ours.append(float(roc_auc_score(te["Exited"], s["risk"])))
        plain.append(plain_logit_auc(tr, te, cols))
        print(f"  {seed:>4}  {ours[-1]:.4f}    ({m.model}; {m.cv_auc:.4f} [{m.cv_auc_ci[0]:.4f}, "
              f"{m.cv_auc_ci[1]:.4f}])  {plain[-1]:.4f}       0.5000    {t1 - t0:5.1f}  {t2 - t1:6.2f}")
        if seed == 0:
            dropped = ", ".join(f"{r.column} ({r.reason})" for r in m.dropped.itertuples())
            print(f"        dropped: {dropped}")
            print("        permutation importance: " + ", ".join(
                f"{r.predictor} {r.importance:.3f}" for r in m.importance.head(5).itertuples()))
            print(f"        logistic on the same design (CV): "
                  f"{m.comparison.set_index('model').loc['logistic', 'auc']:.4f}; "
                  f"Brier {m.brier:.4f} vs base rate {m.brier_base:.4f}")
    print(f"  mean  {np.mean(ours):.4f}    {'':<32}  {np.mean(plain):.4f}       0.5000")
    print("  levels in SOURCES.md: plain logit about 0.77, gradient boosting about 0.86; "
          "issue 13 target >= 0.85; the fixed CX-signal model measured 0.58 (issue 13)")
    return float(np.mean(ours))


def synthetic(n: int, seed: int = 20261122) -> pd.DataFrame:
    """A CRM snapshot of ``n`` customers with the kinds of column real ones have."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(np.array(["Month-to-month", "One year", "Two year"], dtype=object), n,
                          p=[0.5, 0.3, 0.2])
    payment = rng.choice(np.array(["card", "bank", "cheque", "wallet"], dtype=object), n)
    region = rng.choice(np.array([f"R{i:02d}" for i in range(40)], dtype=object), n)
    tenure = rng.integers(0, 72, n)
    charges = rng.gamma(4, 18, n)
    charges[rng.random(n) < 0.03] = np.nan
    calls = rng.poisson(1.2, n)
    age = rng.integers(18, 90, n)
    senior = age >= 65
    eta = (-2.4 + 1.1 * (contract == "Month-to-month") - 0.025 * tenure + 2.0 * (calls >= 3)
           + 0.8 * (np.abs(age - 50) > 25) + 0.3 * (payment == "cheque"))
    churned = rng.random(n) < 1 / (1 + np.exp(-eta))
    return pd.DataFrame({
        "customer_id": np.char.add("C", np.arange(n).astype(str)).astype(object),
        "contract": contract, "payment": payment, "region": region, "tenure": tenure,
        "monthly_charges": charges, "support_calls": calls, "age": age, "senior": senior,
        "paperless": rng.random(n) < 0.6, "churned": churned})


def scale(rows: int) -> None:
    from cxlib.quant import churn_model as cm

    t0 = time.perf_counter()
    f = synthetic(rows)
    t1 = time.perf_counter()
    print(f"\nSynthetic snapshot: {rows:,} customers, {f.shape[1]} columns, churn "
          f"{f['churned'].mean():.1%} (generated in {t1 - t0:.1f} s)")
    for model in ("logistic", "auto"):
        t1 = time.perf_counter()
        m = cm.fit_snapshot_model(f, seed=1, model=model)
        t2 = time.perf_counter()
        s = cm.score_frame(m, f)
        t3 = time.perf_counter()
        print(f"  model={model:<8} -> {m.model:<8} fit {t2 - t1:6.1f} s (sample {m.n:,}; CV AUC "
              f"{m.cv_auc:.3f})   score all {len(s):,} rows {t3 - t2:6.1f} s   "
              f"drivers from {len(m.driver_candidates)} columns")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", type=int, default=5, help="80/20 splits of the bank snapshot")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic snapshot")
    ap.add_argument("--skip-scale", action="store_true", help="no synthetic timing")
    args = ap.parse_args(argv)
    root = os.environ.get("CX_EVAL_DATA")
    if not root or not (Path(root) / "churn_bank_customers").is_dir():
        print("eval_churn: CX_EVAL_DATA is not set (or has no churn_bank_customers); skipped.")
        return 0
    f = bank(Path(root))
    ok = rates(f)
    held_out(f, args.splits)
    if not args.skip_scale:
        scale(args.rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
