"""A big synthetic client in the canonical schema, for scale tests and benchmarks (issue 14).

:func:`generate` writes one folder (``data/scale`` through the CLI) with, at ``scale=1``:

=====================  ============  ===========================================================
file                   rows          notes
=====================  ============  ===========================================================
customers.csv          1,000,000     a CRM export (CSV), the demo's columns and segments
orders.parquet         ~2,000,000    web, app and store orders; delivery days and ``late``
web_events.parquet     ~21,000,000   ~5M sessions (40 % identified), the demo's funnel and pages
interactions.parquet   ~1,000,000    contacts with reason, department and transfers
survey_responses.csv   ~500,000      relationship NPS (37 %) and transactional CSAT/CES/importance
verbatims.parquet      ~300,000      survey comments, call/chat transcripts, social mentions, reviews
codebook.csv, manual_codes.csv, swot_inputs.csv, map_feedback.csv   small side tables
verbatim_truth.csv     the true codes of every text (never read by the report)
truth.yml              counts, planted parameters and each finding measured while generating
=====================  ============  ===========================================================

Eight quarters, 2024Q4 .. 2026Q3; signups from 2022. Every count scales linearly with ``scale``
(0.05 writes 50,000 customers and ~1M web events in a few seconds). The same ``seed`` and
``scale`` give byte-identical files.

Generation is vectorised (numpy, pyarrow) and streamed: customers are made in blocks of
:data:`BLOCK` with everything that belongs to them (orders, interactions, identified sessions,
survey answers, texts), anonymous sessions in chunks of :data:`SESSION_CHUNK`, and each chunk
is appended to its file (Parquet row groups, CSV batches), so memory stays bounded whatever the
scale (about 1 GB at scale 1).

Planted findings (as the demo's, :mod:`cxlib.demo`; ``truth.yml`` -> ``findings`` holds the
values measured on the generated rows):

1. **weak_important_touchpoint** - delivery: highest stated importance, lowest CSAT.
2. **detractor_theme** - ``late_delivery`` is the code most over-represented among
   detractors' relationship comments.
3. **segment_nps_drop** - Value Seekers' relationship NPS falls ~35 points in 2026Q3
   (quota-controlled per segment and quarter); other segments move < 5 points.
4. **device_abandonment** - mobile checkout abandonment (~0.55) is more than twice desktop's.
5. **churn_signal** - customers with an unresolved contact churn ~3-4x as often.
6. **competitor_threat** - FastCart's share of social mentions rises from 15 % to 35 %.
7. **store_strength** - the store has the highest CSAT.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from cxlib.demo import (
    AGENT_LINES,
    AGENT_NAMES,
    BRAND,
    BRAND_AR,
    CHECKOUT_CONTINUE,
    CODE_QUESTIONS,
    CODEBOOK,
    COMPETITORS,
    CONTACT_REASONS,
    CUSTOMER_FILLER,
    DEVICES,
    EXTRA_PAGES,
    FUNNEL,
    GENERIC,
    MAP_FEEDBACK,
    MIXED,
    NPS_DRIVER_WEIGHT,
    REASON_DEPARTMENT,
    REL_CODE_WEIGHTS,
    SEGMENTS,
    SOCIAL_CODE_WEIGHTS,
    SOCIAL_FORMATS,
    SOURCES_WEB,
    SWOT_ITEMS,
    TEMPLATES,
    TOUCHPOINTS,
    TP_CODES,
    TP_CSAT,
    TP_IMPORTANCE,
    TP_WEIGHT,
    TRANSFER_SHARE,
    session_clock,
)

__all__ = ["FULL", "QUARTERS", "VERSION", "generate", "sizes"]

#: bumped whenever the same seed and scale would give different files (truth.yml records it)
VERSION = 1

# --- sizes and span --------------------------------------------------------------------------

#: rows at scale 1 (sessions: ~4.2 events each, so ~21M web events)
FULL = {"customers": 1_000_000, "sessions": 5_000_000, "orders": 2_000_000, "interactions": 1_000_000,
        "responses": 500_000, "conversations": 10_000, "social": 36_000, "reviews": 4_000}
RELATIONSHIP_SHARE = 0.37     # of survey responses
BLANK_SCORE = {"nps": 0.02, "csat": 0.02, "ces": 0.05}  # answers left blank (kept, counted as excluded)
COMMENT_RATE = 0.40           # survey responses with a comment (each is also a verbatim)
KNOWN_SESSIONS = 0.40         # sessions of identified customers
EXTRA_PAGES_MEAN = 1.45       # non-funnel pages per session (Poisson)
#: survey panel: this share of customers answers surveys PANEL_WEIGHT times as often as the others, so
#: that relationship and transactional answers meet in the same customers (key-driver analysis)
PANEL_SHARE = 0.05
PANEL_WEIGHT = 40.0
BLOCK = 100_000               # customers generated (and written) together
SESSION_CHUNK = 500_000       # anonymous sessions generated together

DAY = 86_400
SPAN_START = int(np.datetime64("2024-10-01T00:00:00", "s").astype("int64"))
SPAN_END = int(np.datetime64("2026-09-30T23:59:59", "s").astype("int64"))
SIGNUP_FROM = int(np.datetime64("2022-01-01", "s").astype("int64"))
SIGNUP_TO = int(np.datetime64("2026-08-31", "s").astype("int64"))
QUARTERS = ["2024Q4", "2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2", "2026Q3"]
_Q_STARTS = ["2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01", "2026-01-01",
             "2026-04-01", "2026-07-01", "2026-10-01"]
QUARTER_BOUNDS = [(int(np.datetime64(a, "s").astype("int64")), int(np.datetime64(b, "s").astype("int64")) - 1)
                  for a, b in zip(_Q_STARTS[:-1], _Q_STARTS[1:], strict=True)]
TRANSFER_CHANGE = int(np.datetime64("2026-07-01", "s").astype("int64"))

SEGMENT_SHARE = [0.26, 0.24, 0.30, 0.20]
#: (promoter share, detractor share) per segment and quarter of the relationship survey
NPS_QUOTA = {
    "Young Professionals": [(0.44 + 0.004 * q, 0.22 - 0.002 * q) for q in range(8)],
    "Families": [(0.40, 0.25 - 0.003 * q) for q in range(8)],
    "Value Seekers": [(0.38, 0.24)] * 7 + [(0.22, 0.45)],
    "Premium Loyalists": [(0.60 + 0.003 * q, 0.11) for q in range(8)],
}
FASTCART_SHARE = [0.15, 0.16, 0.17, 0.19, 0.21, 0.23, 0.25, 0.35]
MEGAMART_SHARE = 0.22
#: churn: yearly background hazard, its log-slopes on the latent NPS driver and effort, segment
#: multipliers; share of customers with an unresolved contact; chance it triggers churn 30-120 days on
CHURN = {"base_per_year": 0.075, "nps_driver": 0.8, "effort": 0.3, "segment": [1.0, 0.9, 1.2, 0.5],
         "flagged": 0.22, "after_unresolved": 0.45, "lag_days": (30, 120), "quiet_days": (0, 90)}
ORDER_RATE = [1.3, 1.5, 1.0, 1.8]     # relative order rate per segment
PLACES = [("Central", "Riyadh", 0.30), ("Central", "Al Kharj", 0.03), ("Western", "Jeddah", 0.20),
          ("Western", "Makkah", 0.08), ("Western", "Madinah", 0.06), ("Eastern", "Dammam", 0.10),
          ("Eastern", "Khobar", 0.07), ("Eastern", "Al Ahsa", 0.04), ("Southern", "Abha", 0.05),
          ("Northern", "Tabuk", 0.04), ("Qassim", "Buraydah", 0.03)]
BANDS = ["<10k SAR", "10-20k SAR", "20-35k SAR", "35k+ SAR"]
BAND_P = [[0.2, 0.45, 0.28, 0.07], [0.15, 0.4, 0.33, 0.12], [0.45, 0.4, 0.12, 0.03], [0.02, 0.15, 0.43, 0.40]]
PLANS = ["basic", "plus", "premium"]
PLAN_P = [[0.5, 0.4, 0.1], [0.5, 0.4, 0.1], [0.8, 0.18, 0.02], [0.05, 0.25, 0.70]]
CHANNELS = ["web", "app", "store", "phone"]
CHANNEL_P = [[0.25, 0.6, 0.1, 0.05], [0.3, 0.35, 0.3, 0.05], [0.35, 0.3, 0.25, 0.1], [0.25, 0.35, 0.3, 0.1]]
PAYMENTS = ["card", "mada", "apple_pay", "cash_on_delivery", "bnpl"]
PAYMENT_P = [[0.3, 0.2, 0.35, 0.05, 0.1], [0.25, 0.35, 0.15, 0.15, 0.1], [0.15, 0.35, 0.1, 0.3, 0.1],
             [0.45, 0.2, 0.3, 0.03, 0.02]]
ORDER_CHANNEL_P = {"web": [0.7, 0.2, 0.1], "app": [0.15, 0.75, 0.1], "store": [0.2, 0.2, 0.6],
                   "phone": [0.4, 0.3, 0.3]}
PRODUCTS = ["Groceries", "Electronics", "Home", "Fashion", "Beauty", "Toys"]
PRODUCT_P = [0.35, 0.12, 0.15, 0.18, 0.12, 0.08]
PRODUCT_AMOUNT = [120, 900, 300, 250, 150, 180]
CONTACT_TOUCHPOINTS = ["phone_support", "chat", "store", "email", "delivery"]
CONTACT_P = [0.35, 0.28, 0.15, 0.08, 0.14]

# --- small helpers ---------------------------------------------------------------------------


def _ids(prefix: str, start: int, n: int, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers start+1 .. start+n, built in Arrow (no Python strings)."""
    nums = pa.array(np.arange(start + 1, start + n + 1, dtype="int64")).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width, "0"), "")


def _width(n: int) -> int:
    return max(5, len(str(int(n))))


def _rows_pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A category per row, drawn from the row's own probability vector ``probs[rows]``."""
    cum = np.cumsum(np.asarray(probs, dtype=float), axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] > cum[rows]).sum(axis=1), cum.shape[1] - 1)


def _weighted(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    """``n`` keys of ``weights`` drawn in proportion to their weights (object array)."""
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _uniform_in(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One uniform epoch second in each [lo, hi)."""
    return (lo + rng.random(len(lo)) * np.maximum(hi - lo - 1, 1)).astype("int64")


def _stamp(secs: np.ndarray, unit: str = "ms") -> pa.Array:
    secs = np.asarray(secs, dtype="int64")
    return pa.array(secs * 1000, type=pa.timestamp("ms")) if unit == "ms" else pa.array(secs, type=pa.timestamp("s"))


def _text_time(secs: np.ndarray, fmt: str = "%Y-%m-%d %H:%M:%S", mask: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as text (for CSV exports); masked rows empty."""
    arr = pa.array(np.asarray(secs, dtype="int64"), type=pa.timestamp("s"),
                   mask=None if mask is None else np.asarray(mask, dtype=bool))
    return pc.strftime(arr, format=fmt)


def _strings(values: np.ndarray) -> pa.Array:
    """An object array of str/None as an Arrow string array."""
    return pa.array(values, type=pa.string())


def _categories(codes: np.ndarray, names: list[str], mask: np.ndarray | None = None) -> pa.Array:
    """Category indices as a plain string column (dictionary-built, stored as text)."""
    idx = pa.array(np.asarray(codes, dtype="int32"), mask=mask)
    return pa.DictionaryArray.from_arrays(idx, pa.array(names, type=pa.string())).cast(pa.string())


def _quarter_of(secs: np.ndarray) -> np.ndarray:
    starts = np.array([lo for lo, _ in QUARTER_BOUNDS])
    return np.searchsorted(starts, secs, side="right") - 1


# --- texts -----------------------------------------------------------------------------------


class _Sentences:
    """Every phrasing of every code per language, expanded once, drawn vectorised."""

    def __init__(self):
        self.pools: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for code, langs in TEMPLATES.items():
            for lang, temps in langs.items():
                sents, weights = [], []
                for t in temps:
                    w = 0.45 if t.startswith("~") else 1.0
                    t = t.lstrip("~")
                    if "{" in t:
                        variants = list(dict.fromkeys(t.format(n=n, m=m, agent=a) for n in range(2, 7)
                                                      for m in (20, 25, 30, 40, 45, 60) for a in AGENT_NAMES))
                    else:
                        variants = [t]
                    sents += variants
                    weights += [w / len(variants)] * len(variants)
                if lang == "ar" and code in MIXED:  # Arabic with English words, ~3 %
                    total = sum(weights)
                    sents += MIXED[code]
                    weights += [0.03 * total / len(MIXED[code])] * len(MIXED[code])
                p = np.array(weights)
                self.pools[(code, lang)] = (np.array(sents, dtype=object), p / p.sum())
        for lang, gen in GENERIC.items():
            self.pools[("", lang)] = (np.array(gen, dtype=object), np.full(len(gen), 1 / len(gen)))

    def say(self, rng: np.random.Generator, codes: np.ndarray, langs: np.ndarray) -> np.ndarray:
        """One sentence per row for its code ("" = a generic sentence) in its language."""
        out = np.empty(len(codes), dtype=object)
        key = np.char.add(np.char.add(codes.astype(str), "|"), langs.astype(str))
        for k in np.unique(key):
            code, lang = k.split("|")
            ix = np.flatnonzero(key == k)
            sents, p = self.pools[(code, lang)]
            out[ix] = sents[rng.choice(len(sents), size=len(ix), p=p)]
        return out

    def compose(self, rng: np.random.Generator, first: np.ndarray, second: np.ndarray,
                langs: np.ndarray, order_ref: float = 0.5) -> np.ndarray:
        """A text per row: a sentence for its first code, one for its second (None = none), and
        (for ``order_ref`` of them) an order number, so that most texts are unique as real ones are."""
        a = self.say(rng, first, langs)
        has2 = np.array([c is not None for c in second], dtype=bool)
        b = np.empty(len(first), dtype=object)
        if has2.any():
            b[has2] = self.say(rng, second[has2].astype(str), langs[has2])
        ref = rng.random(len(first)) < order_ref
        num = rng.integers(100_000, 1_000_000, len(first))
        out = np.empty(len(first), dtype=object)
        for i in range(len(first)):
            t = a[i] if b[i] is None else f"{a[i]} {b[i]}"
            if ref[i]:
                t = f"{t} Order {num[i]}." if langs[i] == "en" else f"{t} طلب رقم {num[i]}."
            out[i] = t
        return out


def _draw_codes(rng: np.random.Generator, weights: dict, n: int, p_second: float = 0.25):
    """A first code per row ("" = none) and sometimes a second, different one (None = none)."""
    first = _weighted(rng, weights, n)
    second = _weighted(rng, {k: v for k, v in weights.items() if k}, n)
    keep = (rng.random(n) < p_second) & (first != "") & (second != first)
    return first, np.where(keep, second, None)


def _pii(rng: np.random.Generator, lang: str) -> str:
    """A phone number, an e-mail address or a card number, as a customer writes it."""
    kind = int(rng.integers(3))
    if kind == 0:
        d = "".join(map(str, rng.integers(0, 10, 9)))
        num = f"+966 5{d[0]} {d[1:4]} {d[4:8]}"
        return f"You can call me back on {num}." if lang == "en" else f"رقمي {num} اتصلوا علي."
    if kind == 1:
        mail = ["ahmed.k", "noura.s", "m.alharbi", "reem88", "f.otaibi"][int(rng.integers(5))] + "@example.com"
        return f"My email is {mail}." if lang == "en" else f"إيميلي {mail}"
    card = "4" + " ".join("".join(map(str, rng.integers(0, 10, 4))) for _ in range(4))[1:]
    return f"I paid with card {card}." if lang == "en" else f"دفعت بالبطاقة {card}"


def _add_pii(rng: np.random.Generator, texts: np.ndarray, langs: np.ndarray, share: float) -> None:
    for i in np.flatnonzero(rng.random(len(texts)) < share):
        if texts[i] is not None:
            texts[i] = f"{texts[i]} {_pii(rng, str(langs[i]))}"


# --- writers ---------------------------------------------------------------------------------

SCHEMAS = {
    "customers": pa.schema([("customer_id", pa.string()), ("signup_date", pa.string()), ("segment", pa.string()),
                            ("age", pa.int64()), ("gender", pa.string()), ("region", pa.string()),
                            ("city", pa.string()), ("income_band", pa.string()), ("household_size", pa.int64()),
                            ("plan", pa.string()), ("preferred_channel", pa.string()),
                            ("payment_method", pa.string()), ("language", pa.string()), ("revenue", pa.float64()),
                            ("churned", pa.bool_()), ("churn_date", pa.string())]),
    "orders": pa.schema([("order_id", pa.string()), ("customer_id", pa.string()),
                         ("order_time", pa.timestamp("ms")), ("amount", pa.float64()), ("channel", pa.string()),
                         ("product", pa.string()), ("delivery_days", pa.float64()), ("late", pa.bool_())]),
    "web_events": pa.schema([("session_id", pa.string()), ("customer_id", pa.string()),
                             ("event_time", pa.timestamp("ms")), ("event", pa.string()), ("device", pa.string()),
                             ("source", pa.string())]),
    "interactions": pa.schema([("interaction_id", pa.string()), ("customer_id", pa.string()),
                               ("interaction_time", pa.timestamp("ms")), ("touchpoint", pa.string()),
                               ("channel", pa.string()), ("resolved", pa.bool_()),
                               ("handling_minutes", pa.float64()), ("department", pa.string()),
                               ("transfers", pa.int64()), ("reason", pa.string())]),
    "survey_responses": pa.schema([("response_id", pa.string()), ("customer_id", pa.string()),
                                   ("response_time", pa.string()), ("survey_type", pa.string()),
                                   ("touchpoint", pa.string()), ("nps", pa.int64()), ("csat", pa.int64()),
                                   ("ces", pa.int64()), ("importance", pa.int64()), ("comment", pa.string()),
                                   ("language", pa.string())]),
    "verbatims": pa.schema([("verbatim_id", pa.string()), ("source", pa.string()), ("customer_id", pa.string()),
                            ("verbatim_time", pa.timestamp("ms")), ("touchpoint", pa.string()),
                            ("text", pa.string()), ("language", pa.string()), ("response_id", pa.string()),
                            ("conversation_id", pa.string()), ("speaker", pa.string()), ("brand", pa.string()),
                            ("score", pa.float64())]),
    "verbatim_truth": pa.schema([("verbatim_id", pa.string()), ("code", pa.string())]),
}
#: canonical table -> file name (CSV for the exports that usually arrive as CSV)
FILES = {"customers": "customers.csv", "orders": "orders.parquet", "web_events": "web_events.parquet",
         "interactions": "interactions.parquet", "survey_responses": "survey_responses.csv",
         "verbatims": "verbatims.parquet", "verbatim_truth": "verbatim_truth.csv"}


class _Out:
    """One appending writer per table (Parquet row groups or CSV batches) and the id counters."""

    def __init__(self, out_dir: Path, widths: dict[str, int]):
        self.dir, self.widths = out_dir, widths
        self.writers: dict = {}
        self.rows = dict.fromkeys(FILES, 0)

    def write(self, table: str, columns: dict) -> None:
        columns = {k: pa.array(v, from_pandas=True) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
                   for k, v in columns.items()}  # NaN -> missing, as an export leaves the cell empty
        t = pa.table(columns, schema=SCHEMAS[table])
        if table not in self.writers:
            path = self.dir / FILES[table]
            self.writers[table] = (pacsv.CSVWriter(path, t.schema) if path.suffix == ".csv"
                                   else pq.ParquetWriter(path, t.schema, compression="zstd"))
        self.writers[table].write_table(t)
        self.rows[table] += t.num_rows

    def next_ids(self, table: str, prefix: str, n: int) -> pa.Array:
        """Ids for the next ``n`` rows of ``table`` (numbered on from the rows written so far)."""
        return _ids(prefix, self.rows[table], n, self.widths[table])

    def close(self) -> None:
        for w in self.writers.values():
            w.close()


class _Truth:
    """Counts gathered while generating, from which every planted finding is measured."""

    def __init__(self):
        nq, ns, nt = len(QUARTERS), len(SEGMENTS), len(TOUCHPOINTS)
        self.nps = np.zeros((ns, nq, 3), dtype="int64")          # promoters, detractors, n
        self.csat = np.zeros((nt, 3))                            # sum csat, sum importance, n
        self.theme = {"detractor": {}, "promoter": {}}           # code -> comments
        self.theme_n = {"detractor": 0, "promoter": 0}
        self.checkout = np.zeros((len(DEVICES), 2), dtype="int64")  # reached checkout_start, purchased
        self.churn = np.zeros((2, 2), dtype="int64")             # [flagged] -> n, churned
        self.social = np.zeros((len(QUARTERS), 2), dtype="int64")  # mentions, FastCart

    def findings(self) -> dict:
        r4 = lambda x: round(float(x), 4)  # noqa: E731
        csat = self.csat[:, 0] / self.csat[:, 2]
        imp = self.csat[:, 1] / self.csat[:, 2]
        by_tp = {tp: {"csat": r4(csat[i]), "importance": r4(imp[i]), "n": int(self.csat[i, 2])}
                 for i, tp in enumerate(TOUCHPOINTS)}
        nps = 100 * (self.nps[..., 0] - self.nps[..., 1]) / np.maximum(self.nps[..., 2], 1)
        seg = {s: {q: r4(nps[i, j]) for j, q in enumerate(QUARTERS)} for i, s in enumerate(SEGMENTS)}
        share = {c: {k: r4(n / max(self.theme_n[k], 1)) for k, n in (("detractor", self.theme["detractor"].get(c, 0)),
                                                                      ("promoter", self.theme["promoter"].get(c, 0)))}
                 for c in CODEBOOK}
        gap = {c: r4(v["detractor"] - v["promoter"]) for c, v in share.items()}
        aband = {d: r4(1 - self.checkout[i, 1] / max(self.checkout[i, 0], 1)) for i, d in enumerate(DEVICES)}
        churn = {"rate_with_unresolved": r4(self.churn[1, 1] / max(self.churn[1, 0], 1)),
                 "rate_without": r4(self.churn[0, 1] / max(self.churn[0, 0], 1)),
                 "n_with_unresolved": int(self.churn[1, 0]), "n_without": int(self.churn[0, 0])}
        churn["ratio"] = r4(churn["rate_with_unresolved"] / max(churn["rate_without"], 1e-9))
        fast = {q: r4(self.social[j, 1] / max(self.social[j, 0], 1)) for j, q in enumerate(QUARTERS)}
        return {
            "weak_important_touchpoint": {"touchpoint": "delivery", "by_touchpoint": by_tp},
            "detractor_theme": {"code": max(gap, key=gap.get), "difference": gap, "shares": share},
            "segment_nps_drop": {"segment": "Value Seekers", "nps": seg,
                                 "change": {s: r4(nps[i, -1] - nps[i, -2]) for i, s in enumerate(SEGMENTS)}},
            "device_abandonment": {"device": "mobile", "abandonment": aband},
            "churn_signal": churn,
            "competitor_threat": {"brand": "FastCart", "share": fast},
            "store_strength": {"touchpoint": max(by_tp, key=lambda t: by_tp[t]["csat"])},
        }


# --- customers and everything that belongs to them ----------------------------------------------


def _customers(rng: np.random.Generator, n: int) -> dict:
    """Attributes, latent experience and the churn process of ``n`` customers (indices 0..n-1)."""
    seg = rng.choice(4, size=n, p=SEGMENT_SHARE)
    place = rng.choice(len(PLACES), size=n, p=[p[2] for p in PLACES])
    age = np.clip(np.round(rng.normal(np.array([29, 40, 38, 46])[seg], np.array([4, 7, 12, 9])[seg])), 18, 80)
    signup = (SIGNUP_FROM + rng.random(n) * (SIGNUP_TO - SIGNUP_FROM)).astype("int64") // DAY * DAY
    start = np.maximum(signup, SPAN_START)
    z = rng.normal(size=(n, len(TOUCHPOINTS)))
    w = np.array([NPS_DRIVER_WEIGHT[tp] for tp in TOUCHPOINTS])
    drive = z @ w / np.sqrt((w ** 2).sum())
    effort = z.sum(axis=1) / np.sqrt(len(TOUCHPOINTS))
    risk = np.exp(-CHURN["nps_driver"] * drive - CHURN["effort"] * effort) * np.array(CHURN["segment"])[seg]
    t_base = start + rng.exponential(1.0, n) / (CHURN["base_per_year"] * risk / (365.25 * DAY))
    flagged = rng.random(n) < CHURN["flagged"]
    t_u = _uniform_in(rng, start, np.full(n, SPAN_END))
    early = flagged & (t_base < t_u)
    t_u[early] = _uniform_in(rng, start[early], np.maximum(t_base[early], start[early] + DAY).astype("int64"))
    trig = flagged & (rng.random(n) < np.minimum(CHURN["after_unresolved"] * np.sqrt(risk), 0.9))
    t_trig = np.where(trig, t_u + rng.uniform(*CHURN["lag_days"], n) * DAY, np.inf)
    t_churn = np.minimum(t_base, t_trig)
    churned = t_churn < SPAN_END
    churn_day = np.where(churned, np.maximum(np.where(churned, t_churn, 0).astype("int64") // DAY * DAY,
                                             start // DAY * DAY + 7 * DAY), 0)
    end = np.where(churned, churn_day, SPAN_END).astype("int64")
    by_trigger = trig & (t_trig <= t_base)
    quiet = np.where(by_trigger, t_u + rng.uniform(0, 14, n) * DAY,
                     end - rng.uniform(*CHURN["quiet_days"], n) * DAY)
    quiet = np.where(churned, np.clip(quiet, start + DAY, end), end).astype("int64")
    return {"n": n, "seg": seg, "place": place, "age": age.astype("int64"), "signup": signup, "start": start,
            "end": end, "quiet": quiet, "z": z, "drive": drive, "flagged": flagged, "t_u": t_u,
            "churned": churned, "churn_day": churn_day,
            "age_na": rng.random(n) < 0.01, "gender": (rng.random(n) < 0.52).astype("int64"),
            "gender_na": rng.random(n) < 0.02,
            "band": _rows_pick(rng, np.array(BAND_P), seg), "band_na": rng.random(n) < 0.03,
            "household": np.minimum(np.array([0, 3, 1, 2])[seg] + 1 + rng.poisson(np.array([0.6, 1.5, 2.0, 1.0])[seg]), 12),
            "plan": _rows_pick(rng, np.array(PLAN_P), seg), "channel": _rows_pick(rng, np.array(CHANNEL_P), seg),
            "payment": _rows_pick(rng, np.array(PAYMENT_P), seg),
            "lang": np.where(rng.random(n) < 0.30, "ar", "en").astype(object),
            "panel": rng.random(n) < PANEL_SHARE}


def _orders(rng, c: dict, target: int):
    """Orders of a block: (customer index, epoch second, columns) with ~``target`` rows."""
    active = np.maximum(c["quiet"] - c["start"], 0) / (365.25 * DAY)
    lam = np.array(ORDER_RATE)[c["seg"]] * active
    lam *= target / max(lam.sum(), 1e-9)
    idx = np.repeat(np.arange(c["n"]), rng.poisson(lam))
    t = _uniform_in(rng, c["start"][idx], c["quiet"][idx])
    chan = _rows_pick(rng, np.array([ORDER_CHANNEL_P[k] for k in CHANNELS]), c["channel"][idx])
    prod = rng.choice(len(PRODUCTS), size=len(idx), p=PRODUCT_P)
    amount = np.round(np.array(PRODUCT_AMOUNT)[prod] * rng.lognormal(-0.1, 0.45, len(idx)), 2)
    z_del = c["z"][idx, TOUCHPOINTS.index("delivery")]
    days = rng.gamma(2.2, 1.0, len(idx)) + 0.4 - 0.6 * z_del + 0.3 * (t >= QUARTER_BOUNDS[5][0])
    days = np.clip(np.round(days), 0, 30)
    store = chan == 2
    return idx, t, {"amount": amount, "channel": chan, "product": prod,
                    "delivery_days": np.where(store, np.nan, days), "late": ~store & (days > 3)}


def _interactions(rng, c: dict, target: int):
    """Support contacts of a block; flagged customers have unresolved ones (the first at ``t_u``)."""
    frac = np.maximum(c["end"] - c["start"], DAY) / (SPAN_END - SPAN_START)
    lam = np.where(c["flagged"], 1.8, 0.75) * frac
    lam *= target / max(lam.sum(), 1e-9)
    n_int = np.where(c["flagged"], np.maximum(1, rng.poisson(lam)), rng.poisson(lam))
    idx = np.repeat(np.arange(c["n"]), n_int)
    first = np.r_[0, np.cumsum(n_int)[:-1]][n_int > 0]
    t = _uniform_in(rng, c["start"][idx], c["end"][idx])
    unresolved = c["flagged"][idx] & (rng.random(len(idx)) < 0.35)
    later = _uniform_in(rng, c["t_u"][idx], c["end"][idx])
    t = np.where(unresolved, later, t)
    lead = first[c["flagged"][idx[first]]]
    unresolved[lead] = True
    t[lead] = c["t_u"][idx[lead]]
    t = np.minimum(t, c["end"][idx] - 1)
    tp = rng.choice(len(CONTACT_TOUCHPOINTS), size=len(idx), p=CONTACT_P)
    chan_names = ["phone", "chat", "store", "email"]
    chan = np.array([0, 1, 2, 3, 0])[tp]
    chan = np.where((tp == 4) & (rng.random(len(idx)) >= 0.6), 1, chan)
    minutes = np.array([9.0, 13.0, 12.0, 18.0])[chan] * rng.lognormal(0, 0.5, len(idx)) * np.where(unresolved, 1.4, 1.0)
    minutes = np.where(rng.random(len(idx)) < 0.02, np.nan, np.round(minutes, 1))
    reasons = sorted({r for w in CONTACT_REASONS.values() for r in w})
    reason = np.empty(len(idx), dtype="int64")
    for k, name in enumerate(CONTACT_TOUCHPOINTS):
        ix = np.flatnonzero(tp == k)
        w = CONTACT_REASONS[name]
        reason[ix] = [reasons.index(r) for r in _weighted(rng, w, len(ix))]
    after = t >= TRANSFER_CHANGE
    p_tr = np.array([TRANSFER_SHARE[name] for name in CONTACT_TOUCHPOINTS])[tp, after.astype(int)]
    transfers = np.where(rng.random(len(idx)) < p_tr, 1 + rng.poisson(0.5, len(idx)), 0)
    departments = sorted(set(REASON_DEPARTMENT.values()))
    dept = np.array([departments.index(REASON_DEPARTMENT[r]) for r in reasons])[reason]
    return idx, t, {"touchpoint": tp, "channel": chan, "channel_names": chan_names, "resolved": ~unresolved,
                    "handling_minutes": minutes, "reason": reason, "reasons": reasons, "department": dept,
                    "departments": departments, "transfers": transfers}


def _sessions(rng, n: int, t0: np.ndarray, customer: pa.Array | None, ids: pa.Array, truth: _Truth) -> dict:
    """Web events of ``n`` sessions starting at ``t0``: a prefix of the funnel plus other pages."""
    device = rng.choice(3, size=n, p=[0.37, 0.55, 0.08])
    source = rng.choice(5, size=n, p=[0.32, 0.22, 0.18, 0.10, 0.18])
    boost = np.array([0.0, 0.03, -0.03, 0.05, 0.02])[source]
    p = np.empty((n, 5))
    p[:, 0], p[:, 1], p[:, 2] = 0.78, 0.50 + boost, 0.60 + boost
    cont = np.array([CHECKOUT_CONTINUE[d] for d in DEVICES])
    p[:, 3], p[:, 4] = cont[device, 0], cont[device, 1]
    depth = 1 + np.cumprod(rng.random((n, 5)) < p, axis=1).sum(axis=1)
    for d in range(len(DEVICES)):
        on = device == d
        truth.checkout[d] += [int((depth[on] >= 4).sum()), int((depth[on] >= 6).sum())]
    n_extra = rng.poisson(EXTRA_PAGES_MEAN, n)
    sess_f = np.repeat(np.arange(n), depth)
    step = np.arange(len(sess_f)) - np.repeat(np.r_[0, np.cumsum(depth)[:-1]], depth)
    sess_x = np.repeat(np.arange(n), n_extra)
    sess = np.r_[sess_f, sess_x]
    key = np.r_[step + 0.5 * rng.random(len(sess_f)), 0.5 + rng.random(len(sess_x)) * depth[sess_x]]
    event = np.r_[step, len(FUNNEL) + rng.choice(len(EXTRA_PAGES), size=len(sess_x), p=[0.3, 0.3, 0.15, 0.15, 0.1])]
    order, sess, cum = session_clock(sess, key, rng)
    event = event[order]
    take = pa.array(sess)
    return {"session_id": ids.take(take),
            "customer_id": customer.take(take) if customer is not None else pa.nulls(len(sess), pa.string()),
            "event_time": _stamp(np.minimum(t0[sess] + cum, SPAN_END)),
            "event": _categories(event, FUNNEL + EXTRA_PAGES),
            "device": _categories(device[sess], DEVICES), "source": _categories(source[sess], SOURCES_WEB)}


def _nps_scores(rng, drive: np.ndarray, cells: np.ndarray, quota: dict) -> np.ndarray:
    """0-10 scores: within each cell the lowest ``drive`` are detractors, the highest promoters."""
    order = np.lexsort((drive, cells))
    sc = cells[order]
    starts = np.r_[0, np.flatnonzero(sc[1:] != sc[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(sc)])
    rank = np.arange(len(sc)) - np.repeat(starts, sizes)
    u = (rank + 0.5) / np.repeat(sizes, sizes)
    p_pro = np.array([quota[x][0] for x in sc])
    p_det = np.array([quota[x][1] for x in sc])
    det_cdf = np.cumsum([0.04, 0.03, 0.05, 0.08, 0.12, 0.28, 0.40])
    det_score = np.minimum(np.searchsorted(det_cdf, u / np.maximum(p_det, 1e-9)), 6)
    mid = (u - p_det) / np.maximum(1 - p_det - p_pro, 1e-9)
    top = (u - (1 - p_pro)) / np.maximum(p_pro, 1e-9)
    s = np.where(u < p_det, det_score, np.where(u >= 1 - p_pro, np.where(top < 0.5, 9, 10), np.where(mid < 0.45, 7, 8)))
    out = np.empty(len(drive), dtype="int64")
    out[order] = s
    return out


def _surveys(rng, c: dict, frac: float, total: int) -> dict:
    """Relationship and transactional responses of a block's customers, per quarter."""
    n_rel = round(total * RELATIONSHIP_SHARE * frac / len(QUARTERS))
    n_tx = round(total * (1 - RELATIONSHIP_SHARE) * frac / len(QUARTERS))
    parts = {"c": [], "t": [], "q": [], "rel": []}
    weight = np.where(c["panel"], PANEL_WEIGHT, 1.0)
    for qi, (lo, hi) in enumerate(QUARTER_BOUNDS):
        pool = np.flatnonzero(np.minimum(c["end"], hi) - np.maximum(c["start"], lo) > DAY)
        if not len(pool):
            continue
        w = weight[pool]
        # weighted sampling without replacement (Gumbel top-k), then with replacement
        keys = np.log(w) + rng.gumbel(size=len(pool))
        k = min(n_rel, len(pool))
        rel = pool[np.argpartition(-keys, k - 1)[:k]] if k else pool[:0]
        tx = pool[rng.choice(len(pool), size=n_tx, replace=True, p=w / w.sum())]
        for who, is_rel in ((rel, True), (tx, False)):
            parts["c"].append(who)
            parts["t"].append(_uniform_in(rng, np.maximum(c["start"][who], lo), np.minimum(c["end"][who], hi)))
            parts["q"].append(np.full(len(who), qi))
            parts["rel"].append(np.full(len(who), is_rel))
    who, t, q, rel = (np.concatenate(parts[k]) for k in ("c", "t", "q", "rel"))
    order = np.lexsort((who, t))
    who, t, q, rel = who[order], t[order], q[order], rel[order]
    n = len(who)
    seg = c["seg"][who]
    nps = np.full(n, -1)
    ri = np.flatnonzero(rel)
    quota = {s * 10 + k: NPS_QUOTA[SEGMENTS[s]][k] for s in range(4) for k in range(len(QUARTERS))}
    nps[ri] = _nps_scores(rng, c["drive"][who[ri]] + rng.normal(0, 0.8, len(ri)), seg[ri] * 10 + q[ri], quota)
    tpw = np.array([TP_WEIGHT[tp] for tp in TOUCHPOINTS])
    tp = np.where(rel, -1, rng.choice(len(TOUCHPOINTS), size=n, p=tpw / tpw.sum()))
    tpc = np.maximum(tp, 0)
    mu = np.array([TP_CSAT[x] for x in TOUCHPOINTS])[tpc] - 0.1 * (q >= 4) * (tpc == TOUCHPOINTS.index("delivery"))
    sd = np.array([0.95 if x == "delivery" else 0.6 if x == "store" else 0.75 for x in TOUCHPOINTS])[tpc]
    latent = (mu + np.array([0.0, -0.05, -0.08, 0.12])[seg] + sd * c["z"][who, tpc]
              + rng.normal(0, 0.55, n))
    csat = np.clip(np.round(latent), 1, 5).astype("int64")
    ces = np.clip(np.round(4.3 + 1.1 * (latent - 3.6) + rng.normal(0, 0.9, n)), 1, 7).astype("int64")
    imp = np.clip(np.round(np.array([TP_IMPORTANCE[x] for x in TOUCHPOINTS])[tpc] + rng.normal(0, 0.7, n)),
                  1, 5).astype("int64")
    blank = rng.random((3, n)) < np.array([[BLANK_SCORE["nps"]], [BLANK_SCORE["csat"]], [BLANK_SCORE["ces"]]])
    return {"who": who, "t": t, "q": q, "rel": rel, "nps": nps, "tp": tp, "csat": csat, "ces": ces, "imp": imp,
            "nps_na": ~rel | blank[0], "csat_na": rel | blank[1], "ces_na": rel | blank[2]}


def _comments(rng, s: dict, c: dict, sentences: _Sentences, truth: _Truth):
    """Comments of the survey responses that have one: (row mask, texts, first code, second code)."""
    n = len(s["who"])
    has = rng.random(n) < COMMENT_RATE
    first = np.full(n, "", dtype=object)
    second = np.full(n, None, dtype=object)
    rel = s["rel"]
    cat = np.where(s["nps"] >= 9, "promoter", np.where(s["nps"] >= 7, "passive", "detractor"))
    vs_last = (c["seg"][s["who"]] == SEGMENTS.index("Value Seekers")) & (s["q"] == len(QUARTERS) - 1)
    for name in ("detractor", "passive", "promoter"):
        for special in (False, True):
            ix = np.flatnonzero(has & rel & (cat == name) & (vs_last == special))
            if not len(ix):
                continue
            w = dict(REL_CODE_WEIGHTS[name])
            if special and name == "detractor":
                w["price_high"] += 0.10
                w["competitor_switch"] += 0.06
            first[ix], second[ix] = _draw_codes(rng, w, len(ix))
    for k, tpname in enumerate(TOUCHPOINTS):
        ix = np.flatnonzero(has & ~rel & (s["tp"] == k))
        if not len(ix):
            continue
        neg, pos = TP_CODES[tpname]
        cs = s["csat"][ix]
        bad = (cs <= 2) | ((cs == 3) & (rng.random(len(ix)) < 0.6))
        none = ~bad & (rng.random(len(ix)) < 0.1)
        first[ix] = np.where(bad, _weighted(rng, neg, len(ix)), np.where(none, "", _weighted(rng, pos, len(ix))))
    ix = np.flatnonzero(has)
    langs = c["lang"][s["who"][ix]]
    texts = sentences.compose(rng, first[ix].astype(str), second[ix], langs)
    _add_pii(rng, texts, langs, 0.01)
    for name in ("detractor", "promoter"):
        on = has & rel & (cat == name)
        truth.theme_n[name] += int(on.sum())
        for col in (first, second):
            vals, counts = np.unique(col[on & np.array([x not in (None, "") for x in col])].astype(str),
                                     return_counts=True)
            for v, k in zip(vals, counts, strict=True):
                truth.theme[name][v] = truth.theme[name].get(v, 0) + int(k)
    return has, texts, first[ix], second[ix]


def _transcripts(rng, inter_idx: np.ndarray, inter: dict, t: np.ndarray, c: dict, n_conv: int,
                 sentences: _Sentences) -> list[tuple]:
    """Turns of ``n_conv`` calls and chats: (interaction row, turn, speaker, text, codes)."""
    cand = np.flatnonzero(np.isin(inter["channel"], [0, 1]))
    if not len(cand) or not n_conv:
        return []
    pick = np.sort(rng.choice(cand, size=min(n_conv, len(cand)), replace=False))
    out = []
    for row in pick:
        lang = str(c["lang"][inter_idx[row]])
        resolved = bool(inter["resolved"][row])
        if resolved:
            main = [str(_weighted(rng, {"late_delivery": 0.35, "damaged_item": 0.15, "checkout_problem": 0.1,
                                        "app_crash": 0.1, "long_wait": 0.1, "price_high": 0.05,
                                        "product_quality_bad": 0.15}, 1)[0])]
        else:
            main = ["issue_unresolved"]
            if rng.random() < 0.6:
                main.append(str(_weighted(rng, {"late_delivery": 0.5, "long_wait": 0.3, "damaged_item": 0.2}, 1)[0]))
        agent = AGENT_NAMES[int(rng.integers(len(AGENT_NAMES)))]
        order_no = str(int(rng.integers(100000, 999999)))
        said = [(str(sentences.say(rng, np.array([m]), np.array([lang]))[0]), [m]) for m in main]
        if rng.random() < 0.10:
            said.append((_pii(rng, lang), []))
        n_turns = int(rng.integers(4, 9))
        lines = AGENT_LINES[lang]
        for k in range(n_turns):
            if k % 2 == 0:
                kind = ("greeting" if k == 0 else "closing" if k >= n_turns - 2 else "probe" if k == 2
                        else "fix" if resolved else "escalate")
                opts = lines[kind]
                out.append((row, k, "agent", opts[int(rng.integers(len(opts)))].format(agent=agent), []))
            else:
                if said:
                    text, codes = said.pop(0)
                else:
                    f = CUSTOMER_FILLER[lang]
                    text, codes = f[int(rng.integers(len(f)))].format(order=order_no), []
                if rng.random() < 0.015:
                    text, codes = None, []
                out.append((row, k, "customer", text, codes))
    return out


def _block(rng, b: int, i0: int, n: int, counts: dict, out: _Out, sentences: _Sentences, truth: _Truth,
           manual: list) -> None:
    """Customers i0 .. i0+n-1 and everything that belongs to them, appended to the files."""
    frac = n / counts["customers"]
    c = _customers(rng, n)
    cid = _ids("C", i0, n, out.widths["customers"])
    truth.churn[1] += [int(c["flagged"].sum()), int((c["flagged"] & c["churned"]).sum())]
    truth.churn[0] += [int((~c["flagged"]).sum()), int((~c["flagged"] & c["churned"]).sum())]

    # orders (and revenue)
    oi, ot, o = _orders(rng, c, round(counts["orders"] * frac))
    order = np.lexsort((oi, ot))
    oi, ot = oi[order], ot[order]
    o = {k: v[order] for k, v in o.items()}
    out.write("orders", {
        "order_id": out.next_ids("orders", "O", len(oi)), "customer_id": cid.take(pa.array(oi)),
        "order_time": _stamp(ot), "amount": o["amount"], "channel": _categories(o["channel"], ["web", "app", "store"]),
        "product": _categories(o["product"], PRODUCTS), "delivery_days": o["delivery_days"], "late": o["late"]})
    revenue = np.round(np.bincount(oi, weights=o["amount"], minlength=n), 2)

    # interactions (and a few transcripts of them)
    ii, it, x = _interactions(rng, c, round(counts["interactions"] * frac))
    order = np.lexsort((ii, it))
    ii, it = ii[order], it[order]
    x = {k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in x.items()}
    iid = out.next_ids("interactions", "I", len(ii))
    out.write("interactions", {
        "interaction_id": iid, "customer_id": cid.take(pa.array(ii)), "interaction_time": _stamp(it),
        "touchpoint": _categories(x["touchpoint"], CONTACT_TOUCHPOINTS),
        "channel": _categories(x["channel"], x["channel_names"]), "resolved": x["resolved"],
        "handling_minutes": x["handling_minutes"], "department": _categories(x["department"], x["departments"]),
        "transfers": x["transfers"], "reason": _categories(x["reason"], x["reasons"])})

    # identified web sessions, spread over each customer's active time
    n_known = round(counts["sessions"] * KNOWN_SESSIONS * frac)
    active = np.maximum(np.minimum(c["quiet"], SPAN_END - 3600) - c["start"], 1).astype(float)
    who = np.sort(rng.choice(n, size=n_known, p=active / active.sum()))
    t0 = _uniform_in(rng, c["start"][who], np.minimum(c["quiet"][who], SPAN_END - 3600))
    for lo in range(0, n_known, SESSION_CHUNK):
        hi = min(lo + SESSION_CHUNK, n_known)
        ids = out.next_ids("sessions", "S", hi - lo)
        out.rows["sessions"] += hi - lo
        ev = _sessions(rng, hi - lo, t0[lo:hi], cid.take(pa.array(who[lo:hi])), ids, truth)
        out.write("web_events", ev)

    # survey responses, their comments (also verbatims), transcripts
    s = _surveys(rng, c, frac, counts["responses"])
    has, texts, first, second = _comments(rng, s, c, sentences, truth)
    rid = out.next_ids("survey_responses", "R", len(s["who"]))
    comment = np.full(len(s["who"]), None, dtype=object)
    comment[has] = texts
    for k in range(4):
        for qi in range(len(QUARTERS)):
            on = ~s["nps_na"] & (c["seg"][s["who"]] == k) & (s["q"] == qi)
            truth.nps[k, qi] += [int((s["nps"][on] >= 9).sum()), int((s["nps"][on] <= 6).sum()), int(on.sum())]
    for k in range(len(TOUCHPOINTS)):
        on = (s["tp"] == k) & ~s["csat_na"]
        truth.csat[k] += [s["csat"][on].sum(), s["imp"][on].sum(), on.sum()]
    rel = s["rel"]
    out.write("survey_responses", {
        "response_id": rid, "customer_id": cid.take(pa.array(s["who"])), "response_time": _text_time(s["t"]),
        "survey_type": _categories(np.where(rel, 0, 1), ["relationship", "transactional"]),
        "touchpoint": _categories(np.maximum(s["tp"], 0), TOUCHPOINTS, mask=rel),
        "nps": pa.array(s["nps"], mask=s["nps_na"]), "csat": pa.array(s["csat"], mask=s["csat_na"]),
        "ces": pa.array(s["ces"], mask=s["ces_na"]), "importance": pa.array(s["imp"], mask=rel),
        "comment": _strings(comment), "language": _strings(c["lang"][s["who"]])})

    ix = np.flatnonzero(has)
    score = np.where(rel[ix], s["nps"][ix], s["csat"][ix]).astype(float)
    score[np.where(rel[ix], s["nps_na"][ix], s["csat_na"][ix])] = np.nan
    vid = out.next_ids("verbatims", "V", len(ix))
    out.write("verbatims", {
        "verbatim_id": vid, "source": pa.array(["survey"] * len(ix), pa.string()),
        "customer_id": cid.take(pa.array(s["who"][ix])), "verbatim_time": _stamp(s["t"][ix]),
        "touchpoint": _categories(np.maximum(s["tp"][ix], 0), TOUCHPOINTS, mask=rel[ix]),
        "text": _strings(texts), "language": _strings(c["lang"][s["who"][ix]]),
        "response_id": rid.take(pa.array(ix)), "conversation_id": pa.nulls(len(ix), pa.string()),
        "speaker": pa.array(["customer"] * len(ix), pa.string()), "brand": pa.nulls(len(ix), pa.string()),
        "score": score})
    _write_truth(out, vid, first, second)
    if b == 0:
        take = np.flatnonzero(rng.random(len(ix)) < min(1.0, 400 / max(len(ix), 1)))
        vids = vid.to_pylist()
        manual += [(vids[i], "survey", str(c["lang"][s["who"][ix[i]]]), [x for x in (first[i], second[i]) if x])
                   for i in take]

    turns = _transcripts(rng, ii, x, it, c, round(counts["conversations"] * frac), sentences)
    if turns:
        rows = np.array([r[0] for r in turns])
        k = np.array([r[1] for r in turns])
        speaker = np.array([r[2] for r in turns], dtype=object)
        text = np.array([r[3] for r in turns], dtype=object)
        call = x["channel"][rows] == 0
        vid = out.next_ids("verbatims", "V", len(turns))
        out.write("verbatims", {
            "verbatim_id": vid, "source": _categories(np.where(call, 0, 1), ["call", "chat"]),
            "customer_id": cid.take(pa.array(ii[rows])),
            "verbatim_time": _stamp(np.minimum(it[rows] + 35 * k, SPAN_END)),
            "touchpoint": _categories(np.where(call, 0, 1), ["phone_support", "chat"]),
            "text": _strings(text), "language": _strings(c["lang"][ii[rows]]),
            "response_id": pa.nulls(len(turns), pa.string()), "conversation_id": iid.take(pa.array(rows)),
            "speaker": _strings(speaker), "brand": pa.nulls(len(turns), pa.string()),
            "score": pa.nulls(len(turns), pa.float64())})
        codes = [r[4] for r in turns]
        _write_truth(out, vid, np.array([cs[0] if cs else "" for cs in codes], dtype=object),
                     np.array([cs[1] if len(cs) > 1 else None for cs in codes], dtype=object))
        if b == 0:
            vids = vid.to_pylist()
            cust = np.flatnonzero((speaker == "customer") & np.array([t is not None for t in text]))
            for i in cust[rng.random(len(cust)) < min(1.0, 200 / max(len(cust), 1))]:
                manual.append((vids[i], "call" if call[i] else "chat", str(c["lang"][ii[rows[i]]]), codes[i]))

    # the customers themselves, last: their revenue is the sum of their orders
    churn_text = _text_time(c["churn_day"], "%Y-%m-%d", mask=~c["churned"])
    out.write("customers", {
        "customer_id": cid, "signup_date": _text_time(c["signup"], "%Y-%m-%d"),
        "segment": _categories(c["seg"], SEGMENTS), "age": pa.array(c["age"], mask=c["age_na"]),
        "gender": _categories(c["gender"], ["female", "male"], mask=c["gender_na"]),
        "region": _categories(c["place"], [p[0] for p in PLACES]), "city": _categories(c["place"], [p[1] for p in PLACES]),
        "income_band": _categories(c["band"], BANDS, mask=c["band_na"]), "household_size": c["household"],
        "plan": _categories(c["plan"], PLANS), "preferred_channel": _categories(c["channel"], CHANNELS),
        "payment_method": _categories(c["payment"], PAYMENTS), "language": _strings(c["lang"]),
        "revenue": revenue, "churned": c["churned"], "churn_date": churn_text})


def _write_truth(out: _Out, vid: pa.Array, first: np.ndarray, second: np.ndarray) -> None:
    """The true codes of texts, long format (an empty code = none applies)."""
    ids = np.array(vid.to_pylist(), dtype=object)
    two = np.array([x is not None and x != "" for x in second], dtype=bool)
    code = np.where(first == "", None, first)
    out.write("verbatim_truth", {"verbatim_id": _strings(np.r_[ids, ids[two]]),
                                 "code": _strings(np.r_[code, second[two]])})


def _anonymous_sessions(rng, n: int, out: _Out, truth: _Truth) -> None:
    for lo in range(0, n, SESSION_CHUNK):
        m = min(SESSION_CHUNK, n - lo)
        t0 = _uniform_in(rng, np.full(m, SPAN_START), np.full(m, SPAN_END - 3600))
        ids = out.next_ids("sessions", "S", m)
        out.rows["sessions"] += m
        out.write("web_events", _sessions(rng, m, np.sort(t0), None, ids, truth))


def _social_and_reviews(rng, counts: dict, out: _Out, sentences: _Sentences, truth: _Truth, manual: list) -> None:
    """Social mentions with per-quarter brand quotas (FastCart's share rises), and reviews."""
    per_q = np.full(len(QUARTERS), counts["social"] // len(QUARTERS))
    per_q[: counts["social"] % len(QUARTERS)] += 1
    brand, t = [], []
    for qi, ((lo, hi), n) in enumerate(zip(QUARTER_BOUNDS, per_q, strict=True)):
        k_fast, k_mega = round(FASTCART_SHARE[qi] * n), round(MEGAMART_SHARE * n)
        b = np.array(["FastCart"] * k_fast + ["MegaMart"] * k_mega + [BRAND] * (n - k_fast - k_mega), dtype=object)
        brand.append(b[rng.permutation(n)])
        t.append(np.sort(_uniform_in(rng, np.full(n, lo), np.full(n, hi))))
        truth.social[qi] += [n, k_fast]
    brand, t = np.concatenate(brand), np.concatenate(t)
    n = len(brand)
    lang = np.where(rng.random(n) < 0.35, "ar", "en").astype(object)
    first = np.full(n, "", dtype=object)
    second = np.full(n, None, dtype=object)
    for b, w in SOCIAL_CODE_WEIGHTS.items():
        ix = np.flatnonzero(brand == b)
        first[ix], second[ix] = _draw_codes(rng, w, len(ix), p_second=0.1)
    body = sentences.compose(rng, first.astype(str), second, lang, order_ref=0.0)
    text = np.empty(n, dtype=object)
    fmt_i = rng.integers(0, 12, n)
    ar_name = rng.random(n) < 0.5
    for i in range(n):
        fmts = SOCIAL_FORMATS[lang[i]]
        name = BRAND_AR[brand[i]] if lang[i] == "ar" and ar_name[i] else brand[i]
        text[i] = fmts[fmt_i[i] % len(fmts)].format(b=name, s=body[i])
    _add_pii(rng, text, lang, 0.006)
    text[rng.random(n) < 0.01] = None  # image-only posts
    valence = {c: v[1] for c, v in CODEBOOK.items()}
    pos = np.array([(valence.get(a) == "positive") + (valence.get(b) == "positive") for a, b in zip(first, second, strict=True)])
    neg = np.array([(valence.get(a) == "negative") + (valence.get(b) == "negative") for a, b in zip(first, second, strict=True)])
    score = np.clip(np.round(np.where(pos > neg, 0.6, np.where(neg > pos, -0.6, 0.0)) + rng.normal(0, 0.25, n), 2), -1, 1)
    vid = out.next_ids("verbatims", "V", n)
    out.write("verbatims", {
        "verbatim_id": vid, "source": pa.array(["social"] * n, pa.string()), "customer_id": pa.nulls(n, pa.string()),
        "verbatim_time": _stamp(t), "touchpoint": pa.array(["social_media"] * n, pa.string()),
        "text": _strings(text), "language": _strings(lang), "response_id": pa.nulls(n, pa.string()),
        "conversation_id": pa.nulls(n, pa.string()), "speaker": pa.nulls(n, pa.string()),
        "brand": _strings(brand), "score": score})
    _write_truth(out, vid, first, second)
    vids = vid.to_pylist()
    for i in np.flatnonzero(rng.random(n) < min(1.0, 100 / max(n, 1))):
        if text[i] is not None:
            manual.append((vids[i], "social", str(lang[i]), [x for x in (first[i], second[i]) if x]))

    # reviews: app and product, 1-5 stars
    n = counts["reviews"]
    t = np.sort(_uniform_in(rng, np.full(n, SPAN_START), np.full(n, SPAN_END)))
    tp = np.where(rng.random(n) < 0.5, "app", "product").astype(object)
    stars = rng.choice(5, size=n, p=[0.18, 0.12, 0.15, 0.25, 0.30]) + 1
    lang = np.where(rng.random(n) < 0.35, "ar", "en").astype(object)
    first = np.empty(n, dtype=object)
    for name in ("app", "product"):
        ix = np.flatnonzero(tp == name)
        neg, pos = TP_CODES[name]
        bad = (stars[ix] <= 2) | ((stars[ix] == 3) & (rng.random(len(ix)) < 0.5))
        first[ix] = np.where(bad, _weighted(rng, neg, len(ix)), _weighted(rng, pos, len(ix)))
    none = np.full(n, None, dtype=object)
    text = sentences.compose(rng, first.astype(str), none, lang, order_ref=0.0)
    vid = out.next_ids("verbatims", "V", n)
    out.write("verbatims", {
        "verbatim_id": vid, "source": pa.array(["review"] * n, pa.string()), "customer_id": pa.nulls(n, pa.string()),
        "verbatim_time": _stamp(t), "touchpoint": _strings(tp), "text": _strings(text), "language": _strings(lang),
        "response_id": pa.nulls(n, pa.string()), "conversation_id": pa.nulls(n, pa.string()),
        "speaker": pa.nulls(n, pa.string()), "brand": pa.array([BRAND] * n, pa.string()),
        "score": stars.astype(float)})
    _write_truth(out, vid, first, none)


# --- side tables -----------------------------------------------------------------------------


def _side_tables(rng, out_dir: Path, manual: list) -> None:
    """Codebook, two coders' manual codes (each right ~90 %), SWOT inputs and map feedback."""
    import pandas as pd

    pd.DataFrame([{"code": c, "theme": v[0], "description": v[2], "valence": v[1], "patterns_en": v[3],
                   "patterns_ar": v[4], "question": CODE_QUESTIONS.get(c)} for c, v in CODEBOOK.items()]
                 ).to_csv(out_dir / "codebook.csv", index=False, lineterminator="\n")
    strata: dict = {}
    for vid, src, lang, codes in manual:
        strata.setdefault((src, lang), []).append((vid, codes))
    picked = []
    for key in sorted(strata):
        items = strata[key]
        for j in rng.choice(len(items), size=min(20, len(items)), replace=False):
            picked.append(items[j])
    picked.sort()
    all_codes = list(CODEBOOK)
    rows = []
    for vid, true in picked:
        for coder in ("coder_a", "coder_b"):
            codes = list(true)
            if rng.random() < 0.10:
                if codes and rng.random() < 0.5:
                    codes.pop(int(rng.integers(len(codes))))
                else:
                    extra = [c for c in all_codes if c not in codes]
                    codes.append(extra[int(rng.integers(len(extra)))])
            rows += [{"verbatim_id": vid, "coder": coder, "code": c} for c in (codes or [None])]
    pd.DataFrame(rows, columns=["verbatim_id", "coder", "code"]).to_csv(
        out_dir / "manual_codes.csv", index=False, lineterminator="\n")
    pd.DataFrame([{"item_id": i, "quadrant": q, "text": t, "source": "Staff workshop 2026-09", "contributor_role": r}
                  for i, q, t, r in SWOT_ITEMS]).to_csv(out_dir / "swot_inputs.csv", index=False, lineterminator="\n")
    fb = pd.DataFrame(MAP_FEEDBACK, columns=["item_id", "stage", "touchpoint", "agrees", "exists", "comment", "role",
                                             "source"])
    fb["exists"] = fb["exists"].astype("boolean")
    fb.to_csv(out_dir / "map_feedback.csv", index=False, lineterminator="\n")


# --- entry point -----------------------------------------------------------------------------


def sizes(scale: float) -> dict[str, int]:
    """Rows (sessions, conversations...) generated at ``scale``."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return {k: max(1, round(v * scale)) for k, v in FULL.items()}


def generate(out_dir: Path, scale: float = 1.0, seed: int = 20261123) -> dict:
    """Write the synthetic client at ``scale`` (1 = 1M customers, ~21M web events) into ``out_dir``.

    Returns the truth dict (also written to ``truth.yml``): seed, scale, row counts and the
    planted findings as measured on the rows written. The same seed and scale give the same
    bytes. Files of an earlier run in ``out_dir`` are replaced.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = sizes(scale)
    widths = {"customers": _width(counts["customers"]), "orders": _width(3 * counts["orders"]),
              "interactions": _width(3 * counts["interactions"]), "sessions": _width(counts["sessions"]),
              "survey_responses": _width(2 * counts["responses"]),
              "verbatims": _width(4 * counts["responses"] + 10 * counts["conversations"] + counts["social"])}
    out = _Out(out_dir, widths)
    out.rows["sessions"] = 0
    truth, sentences, manual = _Truth(), _Sentences(), []
    try:
        for b, i0 in enumerate(range(0, counts["customers"], BLOCK)):
            n = min(BLOCK, counts["customers"] - i0)
            _block(np.random.default_rng([seed, 1, b]), b, i0, n, counts, out, sentences, truth, manual)
        n_anon = counts["sessions"] - out.rows["sessions"]
        _anonymous_sessions(np.random.default_rng([seed, 2]), n_anon, out, truth)
        _social_and_reviews(np.random.default_rng([seed, 3]), counts, out, sentences, truth, manual)
    finally:
        out.close()
    _side_tables(np.random.default_rng([seed, 4]), out_dir, manual)
    result = {
        "seed": int(seed), "scale": float(scale), "generator": "cxlib.demo.scale", "version": VERSION,
        "span": {"start": "2024-10-01", "end": "2026-09-30", "quarters": QUARTERS},
        "brand": BRAND, "competitors": COMPETITORS,
        "counts": {t: int(out.rows[t]) for t in FILES} | {"sessions": int(out.rows["sessions"])},
        "findings": truth.findings(),
    }
    (out_dir / "truth.yml").write_text(
        "# Planted findings of the scale client (cxlib.demo.scale; the report never reads this).\n"
        + yaml.safe_dump(result, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return result


def fingerprint(out_dir: Path) -> str:
    """SHA-256 over every file the generator wrote (names and bytes), for determinism checks."""
    h = hashlib.sha256()
    for f in sorted(Path(out_dir).iterdir()):
        if f.is_file():
            h.update(f.name.encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def main(argv=None) -> None:
    from cxlib import paths

    ap = argparse.ArgumentParser(prog="python -m cxlib.demo.scale", description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1 = 1M customers, ~21M web events (default 1)")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--out", type=Path, default=paths.DATA_DIR / "scale")
    args = ap.parse_args(argv)
    import time

    t = time.perf_counter()
    truth = generate(args.out, scale=args.scale, seed=args.seed)
    rows = ", ".join(f"{k} {v:,}" for k, v in truth["counts"].items())
    print(f"scale {args.scale:g} written to {args.out} in {time.perf_counter() - t:.1f}s: {rows}")


if __name__ == "__main__":
    main()
