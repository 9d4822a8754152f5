"""Redaction: speed and recall on generated texts, and what it removes from real text.

    .venv/bin/python benchmarks/eval_redact.py [--n 100000] [--sample 40]
    CX_EVAL_DATA=../shared/dev-data .venv/bin/python benchmarks/eval_redact.py

1. Generated texts (seeded): ``--n`` English and Arabic sentences; 10 % carry one planted
   item (a phone of a region of ``PHONE_REGIONS`` in one of several formats and digit
   scripts, a card, an IBAN, a Saudi id, a plain or obfuscated email), the rest carry
   only numbers that must survive (years, prices, dates, times, percentages, scores,
   counts). Both :func:`cxlib.voice.redact.redact_series` and the hand-written regexes it
   replaced (copied below as the baseline) run on the same texts; printed: texts/s, the
   share of planted items removed (no digit of a planted number, no ``@``/``at``-``dot``
   email left) and the share of ordinary texts changed. Then the same with a set of one
   million customer ids.
2. With ``CX_EVAL_DATA`` set: every real text column of the development data (reviews,
   tweets, support requests; see its SOURCES.md), the share of texts with any redaction,
   the kinds, and a printed sample of what was removed, to read by eye. Nothing is written.

Timings vary with the machine and its load; they are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import phonenumbers
from stdnum import iban, luhn

from cxlib.voice import redact as rd

# --- the baseline: the hand-written regexes cxlib.voice.coding used before redact.py -----------

_SEP = r"[\s\-]?"
_BASELINE = (
    (re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"), "[email]"),
    (re.compile(r"(?<![\w+])(?:\+|[0٠۰]{2}(?=[9٩۹][6٦۶]{2}))\d(?:" + _SEP + r"\(?\d\)?){7,14}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d(?:" + _SEP + r"\d){12,18}(?!\d)"), "[card]"),
    (re.compile(r"(?<!\d)[0٠۰][5٥۵]\d(?:" + _SEP + r"\d){7}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d{10}(?!\d)"), "[id]"),
)


def baseline_redact_series(s: pd.Series) -> pd.Series:
    for regex, repl in _BASELINE:
        s = s.str.replace(regex, repl, regex=True)
    return s


# --- generated texts ----------------------------------------------------------------------------

EN = ("the delivery was late again and nobody called me back about my order please fix the app "
      "checkout keeps failing support agent was kind store staff helpful prices went up").split()
AR = ("التوصيل تأخر مرة ثانية وما أحد رد علي بخصوص الطلب التطبيق يعلق عند الدفع الموظف كان "
      "متعاون الأسعار ارتفعت الفرع نظيف خدمة العملاء ممتازة").split()
AR_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _ordinary(rng) -> str:
    k = rng.integers(0, 8)
    return [
        lambda: str(rng.integers(1990, 2031)),
        lambda: f"SAR {rng.integers(1, 99_999):,}.{rng.integers(0, 100):02d}",
        lambda: f"{rng.integers(1, 9_999)} ريال",
        lambda: f"{rng.integers(1, 29):02d}/{rng.integers(1, 13):02d}/{rng.integers(2020, 2027)}",
        lambda: f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}",
        lambda: f"{rng.integers(0, 1000) / 10}%",
        lambda: f"NPS {rng.integers(-100, 101):+d}",
        lambda: f"{rng.integers(1, 500)} orders",
    ][k]()


def _phone(rng) -> str:
    region = rd.PHONE_REGIONS[rng.integers(len(rd.PHONE_REGIONS))]
    kind = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)[rng.integers(2)]
    ex = phonenumbers.example_number_for_type(region, kind)
    nat = str(ex.national_number)
    candidate = phonenumbers.parse(f"+{ex.country_code}{nat[:-3]}{rng.integers(0, 1000):03d}")
    number = candidate if phonenumbers.is_valid_number(candidate) else ex
    fmt = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
           phonenumbers.PhoneNumberFormat.NATIONAL)[rng.integers(3)]
    text = phonenumbers.format_number(number, fmt)
    if rng.random() < 0.3 and len(re.findall(r"[ \-]", text)) >= 2:  # one dot alone reads as a decimal
        text = re.sub(r"[ \-]", ".", text)
    script = rng.integers(3)
    return text.translate(AR_DIGITS) if script == 1 else text.translate(FA_DIGITS) if script == 2 else text


def _card(rng) -> str:
    body = "4" + "".join(str(d) for d in rng.integers(0, 10, 14))
    digits = body + luhn.calc_check_digit(body)
    sep = [" ", "-", ".", ""][rng.integers(4)]
    return sep.join(digits[i:i + 4] for i in range(0, 16, 4))


def _iban(rng) -> str:
    bban = "".join(str(d) for d in rng.integers(0, 10, 20))
    number = "SA00" + bban
    number = "SA" + iban.calc_check_digits(number) + bban
    return iban.format(number) if rng.random() < 0.5 else number


def _email(rng) -> str:
    name = ["ahmed", "sara.k", "m_ali", "noura99"][rng.integers(4)]
    return [f"{name}@example.com", f"{name} at example dot com", f"{name} [at] example [dot] com",
            f"{name}(at)example(dot)com", f"{name} على example نقطة com"][rng.integers(5)]


def _saudi_id(rng) -> str:
    body = str(rng.integers(1, 3)) + "".join(str(d) for d in rng.integers(0, 10, 8))
    return body + luhn.calc_check_digit(body)


MAKERS = {"phone": _phone, "card": _card, "iban": _iban, "email": _email, "national_id": _saudi_id}


def generate(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` texts: text, planted kind (or ''), planted item."""
    rng = np.random.default_rng(seed)
    kinds = list(MAKERS)
    rows = []
    for _ in range(n):
        words = AR if rng.random() < 0.5 else EN
        body = [words[i] for i in rng.integers(0, len(words), rng.integers(5, 14))]
        for _ in range(rng.integers(0, 3)):
            body.insert(int(rng.integers(0, len(body) + 1)), _ordinary(rng))
        kind, item = "", ""
        if rng.random() < 0.10:
            kind = kinds[rng.integers(len(kinds))]
            item = MAKERS[kind](rng)
            body.insert(int(rng.integers(0, len(body) + 1)), item)
        rows.append((" ".join(body), kind, item))
    return pd.DataFrame(rows, columns=["text", "kind", "item"])


def _removed(item: str, kind: str, out: str) -> bool:
    if kind == "email":
        return "example" not in out
    digits = re.sub(r"\D", "", item.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)))
    out_digits = re.sub(r"\D", "", out.translate(str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)))
    return digits[-6:] not in out_digits


def bench_generated(n: int) -> None:
    t = time.perf_counter()
    df = generate(n)
    print(f"generated {n:,} texts ({df['text'].nunique():,} distinct, {(df['kind'] != '').sum():,} "
          f"with a planted item) in {time.perf_counter() - t:.1f}s")
    s = df["text"].astype("str")
    planted = df["kind"] != ""
    for name, fn in (("redact_series", rd.redact_series), ("baseline regexes", baseline_redact_series)):
        t = time.perf_counter()
        out = fn(s)
        secs = time.perf_counter() - t
        removed = [_removed(i, k, o) for i, k, o in zip(df.loc[planted, "item"], df.loc[planted, "kind"],
                                                        out[planted], strict=True)]
        by_kind = pd.Series(removed, index=df.loc[planted, "kind"]).groupby(level=0).mean()
        changed = (out[~planted] != s[~planted]).mean()
        print(f"  {name:17s} {n / secs:9,.0f} texts/s ({secs:.1f}s)  planted items removed "
              f"{np.mean(removed):.1%} ({', '.join(f'{k} {v:.0%}' for k, v in by_kind.items())}); "
              f"ordinary texts changed {changed:.2%}")

    ids = rd.CustomerIds(f"C{i:07d}" for i in range(1_000_000))
    sample = s.iloc[: min(n, 20_000)] + " from C0123456"
    t = time.perf_counter()
    out = rd.redact_series(sample, ids=ids)
    secs = time.perf_counter() - t
    print(f"  with 1,000,000 customer ids: {len(sample) / secs:,.0f} texts/s; "
          f"ids removed {(~out.str.contains('C0123456')).mean():.1%}")


# --- real text ----------------------------------------------------------------------------------

SOURCES = {
    "ar_elsahar_multidomain_reviews/reviews.csv": "text",
    "ar_astd_tweets/astd_tweets.csv": "text",
    "en_amazon_alexa_reviews/reviews.csv": "text",
    "en_banking77_intents/queries.csv": "text",
    "en_customer_support_twitter/spotifycares_inbound_requests.csv": "text",
    "en_customer_support_twitter/twcs_sample.csv": "text",
    "en_semeval2014_absa/sentences.csv": "text",
    "en_uci_sentiment_labelled_sentences/sentences.csv": "text",
}


def eval_real(root: Path, sample: int) -> None:
    rng = np.random.default_rng(11)
    total = n_any = 0
    kinds: Counter = Counter()
    shown: list[tuple[str, str, str]] = []
    t = time.perf_counter()
    for rel, col in SOURCES.items():
        path = root / rel
        if not path.exists():
            print(f"  {rel}: missing, skipped")
            continue
        texts = pd.read_csv(path, dtype=str, usecols=[col])[col].dropna()
        hits = [rd.find_personal_data(x) for x in texts]
        n = sum(bool(h) for h in hits)
        k = Counter(h.kind for hs in hits for h in hs)
        print(f"  {rel}: {len(texts):,} texts, {n:,} with a redaction ({n / max(len(texts), 1):.2%}): {dict(k)}")
        total, n_any = total + len(texts), n_any + n
        kinds += k
        for x, hs in zip(texts, hits, strict=True):
            for h in hs:
                lo, hi = max(0, h.start - 25), min(len(x), h.end + 25)
                shown.append((rel.split("/")[0], h.kind, (x[lo:h.start] + "⟦" + x[h.start:h.end] + "⟧"
                                                         + x[h.end:hi]).replace("\n", " ")))
    secs = time.perf_counter() - t
    print(f"  all: {total:,} texts, {n_any:,} with a redaction ({n_any / max(total, 1):.2%}), "
          f"{dict(kinds)}; {total / secs:,.0f} texts/s")
    if shown:
        pick = rng.choice(len(shown), size=min(sample, len(shown)), replace=False)
        print(f"  a random sample of {len(pick)} of the {len(shown)} redacted items (⟦what was removed⟧):")
        for i in sorted(pick):
            src, kind, ctx = shown[i]
            print(f"    [{src}] {kind:12s} {ctx}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="generated texts (default 100000)")
    ap.add_argument("--sample", type=int, default=40, help="real redactions to print (default 40)")
    args = ap.parse_args()
    print("1. generated texts")
    bench_generated(args.n)
    root = os.environ.get("CX_EVAL_DATA")
    if not root:
        print("2. real text: CX_EVAL_DATA is not set, skipped")
        return
    print(f"2. real text from {root}")
    eval_real(Path(root), args.sample)


if __name__ == "__main__":
    main()
