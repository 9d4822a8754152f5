"""Customer segments: the CRM's rule-based segments or clusters of behaviour, their profiles,
and the brief's test of a useful segment.

::

    seg = segments.assign_segments(view, params.segmentation, seed=params.seed)
    prof = segments.segment_profiles(view, seg, min_base=params.thresholds.min_base)
    test = segments.usefulness(prof, view, seg)       # segment, criterion, passed, evidence

``segments`` is a Series aligned on ``view``'s index (one label per customer, name
"segment"). Rules: the params column, missing values labelled ``"(missing)"`` (counted in
``attrs["n_missing"]``). Clusters: k-means (scikit-learn) on standardized behaviour features;
k is params' ``k`` or the k in 2..8 with the best mean silhouette (Rousseeuw 1987), and every
k's silhouette is kept in ``attrs["silhouettes"]`` as the stated criterion.

A useful segment (Kotler's criteria, as the brief states them) is **identifiable** (a rule or
clearly separated cluster defines membership), **reachable** (a channel reaches most of it),
**measurable** (bases large enough to measure NPS and churn) and **worth its cost** (enough
revenue, or an NPS or churn rate significantly different from the other customers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cxlib.exceptions import ParameterError
from cxlib.quant import metrics

__all__ = [
    "DEFAULT_FEATURES",
    "MISSING_SEGMENT",
    "assign_segments",
    "segment_map",
    "segment_profiles",
    "usefulness",
]

#: behaviour columns of the single customer view clustered when params name no features
DEFAULT_FEATURES = ["n_orders", "order_value", "n_sessions", "n_interactions", "tenure_days", "latest_nps"]
#: label of customers whose segment column is empty
MISSING_SEGMENT = "(missing)"
#: ks tried when params do not fix k
K_RANGE = range(2, 9)
#: rows the silhouette is computed on (it is quadratic in rows); a seeded sample above this
SILHOUETTE_SAMPLE = 4000
#: views up to this many customers are clustered on one thread (see _clusters)
SINGLE_THREAD_ROWS = 100_000
#: a cluster whose members' mean silhouette is at least this is "identifiable"
#: (Kaufman & Rousseeuw 1990: above 0.25 a weak but real structure, above 0.5 a reasonable one)
MIN_SILHOUETTE = 0.25
#: reachable: a single preferred channel covers at least this share of the members
REACH_SHARE = 0.40
#: worth its cost: at least this share of all revenue
REVENUE_SHARE = 0.10
#: view columns read as "customer can be contacted" (any truthy value), if one exists
CONTACT_COLUMNS = ("contactable", "marketing_opt_in", "opt_in")

# How a cluster is named from its most distinctive features: feature -> direction ->
# (adjective, noun). A name is the top feature's adjective and the second feature's noun,
# e.g. order_value high + n_orders high = "High-value frequent buyers".
_WORDS: dict[str, dict[str, tuple[str, str]]] = {
    "order_value": {"high": ("High-value", "big spenders"), "low": ("Low-spend", "small spenders")},
    "revenue": {"high": ("High-value", "big spenders"), "low": ("Low-spend", "small spenders")},
    "n_orders": {"high": ("Frequent", "frequent buyers"), "low": ("Occasional", "occasional buyers")},
    "n_sessions": {"high": ("Digitally active", "online browsers"), "low": ("Offline-leaning", "offline shoppers")},
    "n_interactions": {"high": ("Support-heavy", "support seekers"), "low": ("Self-reliant", "self-servers")},
    "tenure_days": {"high": ("Long-standing", "loyalists"), "low": ("New", "newcomers")},
    "latest_nps": {"high": ("Enthusiastic", "promoters"), "low": ("Unhappy", "critics")},
    "unresolved": {"high": ("Unresolved-issue", "open-ticket customers"), "low": ("Issue-free", "trouble-free customers")},
    "late_orders": {"high": ("Delivery-hit", "late-delivery customers"), "low": ("On-time", "on-time customers")},
    "age": {"high": ("Older", "older customers"), "low": ("Younger", "younger customers")},
    "household_size": {"high": ("Large-household", "family shoppers"), "low": ("Single-household", "solo shoppers")},
}


def _words(feature: str, direction: str) -> tuple[str, str]:
    if feature in _WORDS:
        return _WORDS[feature][direction]
    name = feature.replace("_", " ")
    return (f"{direction.capitalize()}-{name}", f"{direction} {name} customers")


# --- assigning ---------------------------------------------------------------------------


def _get(spec: Any, key: str, default: Any) -> Any:
    if spec is None:
        return default
    if isinstance(spec, dict):
        return spec.get(key, default)
    return getattr(spec, key, default)


def assign_segments(view: pd.DataFrame, spec: Any = None, *, seed: int) -> pd.Series:
    """One segment label per customer of the single customer view.

    Parameters
    ----------
    view : DataFrame
        The single customer view (:func:`cxlib.data.engine.customer_view`).
    spec : cxlib.data.params.Segmentation (or a dict with its keys)
        ``method`` "rules" (the ``column`` of the view) or "clusters" (k-means on
        ``features``, default :data:`DEFAULT_FEATURES`, with ``k`` or k chosen by silhouette).
    seed : int
        Random state of k-means and of the silhouette sample (params ``seed``).

    Returns
    -------
    Series
        Aligned on ``view.index``, name "segment". ``attrs``: method; rules: column, n_missing;
        clusters: features, k, k_chosen_by ("params" or "silhouette"), silhouettes {k: mean
        silhouette} (every k tried: the stated criterion), silhouette (of the chosen k),
        silhouette_by_segment {label: mean silhouette of its members}, centroids {label:
        {feature: mean z-score}}, n_imputed {feature: missing values filled with the median}.
    """
    method = _get(spec, "method", "rules")
    if method == "rules":
        column = _get(spec, "column", "segment")
        if column not in view.columns:
            raise ParameterError(f"segmentation.column {column!r} is not a customer-view column; "
                                 f"choose one of {list(view.columns)} in the params file.")
        col = view[column]
        labels = col.astype("object").where(col.notna(), MISSING_SEGMENT).astype("str")
        out = pd.Series(labels.to_numpy(), index=view.index, name="segment", dtype="str")
        out.attrs.update(method="rules", column=column, n_missing=int(col.isna().sum()))
        return out
    if method != "clusters":
        raise ParameterError(f"segmentation.method {method!r} is unknown; use 'rules' or 'clusters'.")
    return _clusters(view, list(_get(spec, "features", None) or DEFAULT_FEATURES), _get(spec, "k", None), seed)


def _matrix(view: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, dict[str, int]]:
    missing = [f for f in features if f not in view.columns]
    if missing:
        raise ParameterError(f"segmentation.features {missing} are not customer-view columns; "
                             f"choose from {list(view.columns)} in the params file.")
    cols, n_imputed = [], {}
    for f in features:
        x = pd.to_numeric(view[f].astype("object") if view[f].dtype == "bool" else view[f], errors="coerce")
        x = x.astype("float64")
        if x.notna().sum() == 0:
            raise ParameterError(f"segmentation feature {f!r} has no numeric values; remove it from "
                                 "segmentation.features in the params file.")
        n_imputed[f] = int(x.isna().sum())
        cols.append(x.fillna(x.median()).to_numpy())
    return np.column_stack(cols), n_imputed


def _silhouette(x: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.metrics import silhouette_score

    size = SILHOUETTE_SAMPLE if len(x) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(x, labels, sample_size=size, random_state=seed))


def _clusters(view: pd.DataFrame, features: list[str], k: int | None, seed: int) -> pd.Series:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_samples
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    raw, n_imputed = _matrix(view, features)
    n = len(raw)
    if n < 3:
        raise ParameterError(f"clustering needs at least 3 customers; the view has {n}.")
    x = StandardScaler().fit_transform(raw)
    x = np.nan_to_num(x)  # constant columns standardize to 0/0

    def fit(kk: int) -> np.ndarray:
        # Small views: one thread. OpenMP threads spin-wait on a busy 2-core machine and made
        # the 2,000-customer demo 30x slower; large views keep scikit-learn's thread pool.
        limit = 1 if n <= SINGLE_THREAD_ROWS else None
        with threadpool_limits(limits=limit):
            return KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(x)

    silhouettes: dict[int, float] = {}
    if k is None:
        fits = {}
        for kk in K_RANGE:
            if kk >= n:
                break
            fits[kk] = fit(kk)
            silhouettes[kk] = _silhouette(x, fits[kk], seed) if len(set(fits[kk])) > 1 else float("nan")
        valid = {kk: s for kk, s in silhouettes.items() if not math.isnan(s)}
        if not valid:
            raise ParameterError("no k in 2..8 gives separable clusters; use method: rules or fix k.")
        k = max(valid, key=lambda kk: (valid[kk], -kk))  # best silhouette; ties -> fewer clusters
        ids, chosen_by = fits[k], "silhouette"
    else:
        if k >= n:
            raise ParameterError(f"segmentation.k = {k} needs more than {k} customers; the view has {n}.")
        ids, chosen_by = fit(k), "params"
        silhouettes[k] = _silhouette(x, ids, seed)
    # name clusters from their most distinctive features (mean z-score of members)
    centroids = {c: x[ids == c].mean(axis=0) for c in sorted(set(ids))}
    names = _names(centroids, features, {c: int((ids == c).sum()) for c in centroids})
    labels = np.array([names[c] for c in ids], dtype=object)
    if n > SILHOUETTE_SAMPLE:
        pick = np.random.default_rng(seed).choice(n, SILHOUETTE_SAMPLE, replace=False)
    else:
        pick = np.arange(n)
    per = silhouette_samples(x[pick], ids[pick])
    by_seg = {names[c]: float(per[ids[pick] == c].mean()) if (ids[pick] == c).any() else float("nan")
              for c in centroids}
    out = pd.Series(labels, index=view.index, name="segment", dtype="str")
    out.attrs.update(
        method="clusters", features=features, k=int(k), k_chosen_by=chosen_by,
        silhouettes={int(kk): float(s) for kk, s in silhouettes.items()},
        silhouette=float(silhouettes[k]), silhouette_by_segment=by_seg,
        centroids={names[c]: {f: float(v) for f, v in zip(features, z, strict=True)} for c, z in centroids.items()},
        n_imputed=n_imputed,
    )
    return out


def _names(centroids: dict[int, np.ndarray], features: list[str], sizes: dict[int, int]) -> dict[int, str]:
    """Deterministic, unique names: top feature's adjective + second feature's noun."""
    names: dict[int, str] = {}
    # larger clusters are named first, so a clash renames the smaller one
    for c in sorted(centroids, key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 6)))):
        z = centroids[c]
        order = sorted(range(len(features)), key=lambda i: (-abs(z[i]), features[i]))
        if abs(z[order[0]]) < 0.25:
            name = "Typical customers"
        elif len(order) == 1:
            name = _words(features[order[0]], "high" if z[order[0]] > 0 else "low")[1].capitalize()
        else:
            a = _words(features[order[0]], "high" if z[order[0]] > 0 else "low")[0]
            b = _words(features[order[1]], "high" if z[order[1]] > 0 else "low")[1]
            name = f"{a} {b}"
        if name in names.values() and len(order) > 2:
            extra = _words(features[order[2]], "high" if z[order[2]] > 0 else "low")[0].lower()
            name = f"{name}, {extra}"
        base, i = name, 2
        while name in names.values():
            name, i = f"{base} ({i})", i + 1
        names[c] = name
    return names


def segment_map(view: pd.DataFrame, segments: pd.Series) -> pd.Series:
    """customer_id -> segment label (to attach segments to responses and verbatims)."""
    _check_aligned(view, segments)
    return pd.Series(segments.to_numpy(), index=view["customer_id"].to_numpy(), name="segment")


def _check_aligned(view: pd.DataFrame, segments: pd.Series) -> None:
    if len(segments) != len(view) or not segments.index.equals(view.index):
        raise ValueError("segments must be aligned on the view's index (the output of assign_segments(view, ...)).")


# --- profiles ----------------------------------------------------------------------------


def _latest_scores(view: pd.DataFrame, segments: pd.Series, responses: pd.DataFrame | None) -> pd.DataFrame:
    """(segment, nps) per customer: each customer's latest relationship NPS."""
    if responses is None:
        if "latest_nps" not in view:
            return pd.DataFrame({"segment": pd.Series(dtype=object), "nps": pd.Series(dtype="float64")})
        s = pd.to_numeric(view["latest_nps"], errors="coerce").astype("float64")
        d = pd.DataFrame({"segment": segments.to_numpy(), "nps": s.to_numpy()})
        return d[d["nps"].notna()]
    r = responses
    r = r[metrics.in_scope(r, "relationship")]
    r = r[r["nps"].notna() & r["customer_id"].notna()]
    if "response_time" in r.columns:
        r = r.sort_values(["customer_id", "response_time"], kind="stable")
    r = r.drop_duplicates("customer_id", keep="last")
    seg = r["customer_id"].map(segment_map(view, segments))
    d = pd.DataFrame({"segment": seg.to_numpy(), "nps": pd.to_numeric(r["nps"]).astype("float64").to_numpy()})
    return d[d["segment"].notna()]


def _mode(s: pd.Series) -> tuple[Any, float]:
    vc = s.dropna().astype("str").value_counts()
    if vc.empty:
        return None, float("nan")
    vc = vc.sort_index(kind="stable").sort_values(ascending=False, kind="stable")  # ties: alphabetical
    return vc.index[0], float(vc.iloc[0] / len(s))


def segment_profiles(view: pd.DataFrame, segments: pd.Series, *, responses: pd.DataFrame | None = None,
                     confidence: float = 0.95, min_base: int = 30) -> pd.DataFrame:
    """Who each segment is, in numbers.

    Per segment: customers, share (of all customers), revenue_per_customer (mean CRM
    ``revenue``), revenue_share (of all revenue), nps with its adjusted-Wald interval
    (:func:`cxlib.quant.metrics.nps`) over each member's latest relationship score (``view.latest_nps``,
    or the latest relationship response in ``responses`` when given) and its base nps_n,
    churn_rate (of members with a known churn flag, churn_n), top_channel (most common
    preferred channel) and top_channel_share (of members), top_region and top_region_share,
    small_base (nps_n < min_base). Sorted by customers, largest first. ``attrs``: confidence,
    min_base, nps_source.
    """
    _check_aligned(view, segments)
    scores = _latest_scores(view, segments, responses)
    revenue = (pd.to_numeric(view["revenue"], errors="coerce") if "revenue" in view
               else pd.Series(np.nan, index=view.index))
    total_rev = float(revenue.sum())
    rows = []
    narrow = view[[c for c in ("churned", "preferred_channel", "region") if c in view]]  # not a copy of every column
    for seg, g in narrow.groupby(segments.to_numpy(), sort=True):
        n = metrics.nps(scores.loc[scores["segment"] == seg, "nps"], confidence)
        churn = g["churned"].dropna().astype(bool) if "churned" in g else pd.Series(dtype=bool)
        ch, ch_share = _mode(g["preferred_channel"]) if "preferred_channel" in g else (None, float("nan"))
        rg, rg_share = _mode(g["region"]) if "region" in g else (None, float("nan"))
        rev = revenue.loc[g.index].astype("float64")
        rows.append({
            "segment": seg, "customers": len(g), "share": len(g) / len(view),
            "revenue_per_customer": float(rev.mean()),
            "revenue_share": float(rev.sum() / total_rev) if total_rev else float("nan"),
            "nps": n.value, "nps_ci_low": n.ci_low, "nps_ci_high": n.ci_high, "nps_n": n.n,
            "churn_rate": float(churn.mean()) if len(churn) else float("nan"), "churn_n": len(churn),
            "top_channel": ch, "top_channel_share": ch_share, "top_region": rg, "top_region_share": rg_share,
            "small_base": n.n < min_base,
        })
    out = pd.DataFrame(rows).sort_values(["customers", "segment"], ascending=[False, True]).reset_index(drop=True)
    out.attrs.update(confidence=confidence, min_base=min_base,
                     nps_source="view.latest_nps" if responses is None else "responses (latest relationship)")
    return out


# --- usefulness --------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _p(p: float) -> str:
    return "p = –" if p is None or math.isnan(p) else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")


def usefulness(profiles: pd.DataFrame, view: pd.DataFrame, segments: pd.Series, *,
               responses: pd.DataFrame | None = None, min_base: int | None = None,
               alpha: float = 0.05) -> pd.DataFrame:
    """The brief's test of a useful segment: four criteria per segment, each with its evidence.

    - **identifiable**: rules - membership is the params column (fails for the "(missing)"
      group); clusters - the members' mean silhouette is at least 0.25 (Kaufman & Rousseeuw).
    - **reachable**: one preferred channel covers >= 40% of members, or (if the view has a
      ``contactable``/``marketing_opt_in``/``opt_in`` column) >= 40% can be contacted.
    - **measurable**: NPS base >= ``min_base`` and churn known for >= ``min_base`` members.
    - **worth its cost**: revenue share >= 10%, or churn significantly different from the
      rest (two-proportion z-test, statsmodels ``proportions_ztest``), or NPS significantly
      different from the rest (:func:`cxlib.quant.metrics.nps_change`), at ``alpha``.

    Returns a tidy frame: segment, criterion, passed, evidence (plain text), in the order of
    ``profiles``. ``min_base`` defaults to ``profiles.attrs["min_base"]`` (else 30).
    """
    from statsmodels.stats.proportion import proportions_ztest

    _check_aligned(view, segments)
    min_base = int(min_base if min_base is not None else profiles.attrs.get("min_base", 30))
    method = segments.attrs.get("method", "rules")
    scores = _latest_scores(view, segments, responses)
    seg_arr = segments.to_numpy()
    churned = view["churned"] if "churned" in view else pd.Series(np.nan, index=view.index)
    known = churned.notna().to_numpy()
    churn_val = churned.fillna(False).astype(bool).to_numpy()
    contact = next((c for c in CONTACT_COLUMNS if c in view.columns), None)
    rows = []
    for _, p in profiles.iterrows():
        seg = p["segment"]
        inside = seg_arr == seg
        # identifiable
        if method == "clusters":
            s = segments.attrs.get("silhouette_by_segment", {}).get(seg, float("nan"))
            ok = bool(s >= MIN_SILHOUETTE)
            ev = (f"k-means cluster on {', '.join(segments.attrs.get('features', []))}; members' mean "
                  f"silhouette {s:.2f} ({'>=' if ok else '<'} {MIN_SILHOUETTE}); overall "
                  f"{segments.attrs.get('silhouette', float('nan')):.2f} at k = {segments.attrs.get('k')}")
        else:
            column = segments.attrs.get("column", "segment")
            ok = seg != MISSING_SEGMENT
            ev = (f"membership is the CRM column '{column}' = '{seg}'" if ok
                  else f"no value in the CRM column '{column}': members cannot be identified")
        rows.append((seg, "identifiable", ok, ev))
        # reachable
        ch_share = p["top_channel_share"]
        ok = bool(ch_share >= REACH_SHARE) if not pd.isna(ch_share) else False
        ev = f"{_pct(ch_share)} prefer {p['top_channel']} ({'>=' if ok else '<'} {_pct(REACH_SHARE)})"
        if contact is not None:
            c_share = float(view.loc[inside, contact].fillna(False).astype(bool).mean())
            ok = ok or c_share >= REACH_SHARE
            ev += f"; {_pct(c_share)} contactable ('{contact}')"
        rows.append((seg, "reachable", ok, ev))
        # measurable
        n_nps, n_churn = int(p["nps_n"]), int((inside & known).sum())
        ok = n_nps >= min_base and n_churn >= min_base
        ev = (f"NPS base {n_nps} ({'>=' if n_nps >= min_base else '<'} {min_base}); churn known "
              f"for {n_churn} ({'>=' if n_churn >= min_base else '<'} {min_base})")
        rows.append((seg, "measurable", ok, ev))
        # worth its cost
        rev_ok = bool(p["revenue_share"] >= REVENUE_SHARE)
        a_in, a_out = inside & known, ~inside & known
        x1, n1, x2, n2 = int(churn_val[a_in].sum()), int(a_in.sum()), int(churn_val[a_out].sum()), int(a_out.sum())
        churn_p = float("nan")
        if n1 and n2 and 0 < x1 + x2 < n1 + n2:
            churn_p = float(proportions_ztest([x1, x2], [n1, n2])[1])
        churn_sig = bool(churn_p < alpha)
        mine = scores.loc[scores["segment"] == seg, "nps"]
        rest = scores.loc[scores["segment"] != seg, "nps"]
        nps_ch = metrics.nps_change(mine, rest, 1 - alpha)
        nps_sig = bool(nps_ch.p_value < alpha) if not math.isnan(nps_ch.p_value) else False
        ok = rev_ok or churn_sig or nps_sig
        churn_rest = x2 / n2 if n2 else float("nan")
        ev = (f"revenue share {_pct(p['revenue_share'])} ({'>=' if rev_ok else '<'} {_pct(REVENUE_SHARE)}); "
              f"churn {_pct(p['churn_rate'])} vs {_pct(churn_rest)} for the rest ({_p(churn_p)}); "
              f"NPS {nps_ch.diff:+.0f} points vs the rest ({_p(nps_ch.p_value)})"
              if not math.isnan(nps_ch.diff) else
              f"revenue share {_pct(p['revenue_share'])}; churn {_pct(p['churn_rate'])} vs "
              f"{_pct(churn_rest)} for the rest ({_p(churn_p)}); NPS not comparable")
        rows.append((seg, "worth its cost", ok, ev))
    out = pd.DataFrame(rows, columns=["segment", "criterion", "passed", "evidence"])
    out["passed"] = out["passed"].astype(bool)
    out.attrs.update(min_base=min_base, alpha=alpha, method=method)
    return out

