"""The Arabic demo report is Arabic throughout (issue 12, part 4).

``demo-ar`` is rendered as a scheduler would (offline renderer). Every Latin-script word a reader
sees, in the HTML (text, image descriptions and the words drawn in the charts) and in the PDF,
must be client data: the brand and competitor names, the customers' own comments and the staff's
own words as given (quoted, never translated), the client's file names, or one of the few
symbols the report keeps in every language (the metric names NPS, CSAT and CES, the currency
code, n and p, period labels such as 2026Q3). Everything else the client names in Arabic
through ``labels.ar`` in ``params/demo-ar.yml``, and the template in ``assets/strings``.

The journey map's stages run right to left, the first stage on the right.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from collections import Counter
from html.parser import HTMLParser

import pandas as pd
import pytest

from cxlib.data.params import load_params

pytestmark = pytest.mark.slow

CLIENT = "demo-ar"
#: symbols every language keeps: the metric names, the currency code, n and p
KEPT = {"NPS", "CSAT", "CES", "SAR", "n", "p"}
#: a period label; a quarter may run into the next table cell's number in the PDF's text ("2026Q1358")
PERIOD = re.compile(r"(?<![0-9])\d{4}Q[1-4]|(?<![0-9])\d{4}(?:-\d{2})?(?![0-9])")
#: file names and paths (the client's exports, the analyst's files): names, not words
FILE = re.compile(r"[A-Za-z0-9_<>./-]*\.(?:csv|xlsx|parquet|json|yml|html|pdf)(?![A-Za-z])|analyst/[A-Za-z0-9_<>./-]*")
LATIN = re.compile(r"[A-Za-z]+")
ISOLATES = re.compile("[\u2066-\u2069\u200e\u200f\u202a-\u202e\u061c]")


class _Visible(HTMLParser):
    """The text a reader sees: text nodes (no script or style), image descriptions, and the
    words drawn in the embedded SVG charts (matplotlib writes each drawn text as a comment)."""

    def __init__(self):
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []
        self.charts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        a = dict(attrs)
        for key in ("alt", "aria-label"):
            if a.get(key):
                self.parts.append(" " + a[key] + " ")
        src = a.get("src") or ""
        if src.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
            self.charts.append(html.unescape(" ".join(re.findall(r"<!-- (.*?) -->", svg)
                                                      + re.findall(r"<text[^>]*>([^<]*)</text>", svg))))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", ISOLATES.sub("", text))
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"'))


@pytest.fixture(scope="module")
def report(demo_ar_run):
    from pypdf import PdfReader

    res = demo_ar_run
    params = load_params(CLIENT)
    docs = {}  # the stakeholder report, and the analyst annex when the report has one
    for name in ("report", "annex"):
        if (res.output_dir / f"{name}.html").is_file():
            page = (res.output_dir / f"{name}.html").read_text(encoding="utf-8")
            v = _Visible()
            v.feed(page)
            pdf = "\n".join(p.extract_text() or "" for p in PdfReader(str(res.output_dir / f"{name}.pdf")).pages)
            docs[name] = {"html": page, "visible": " ".join(v.parts), "charts": " ".join(v.charts), "pdf": pdf}
    texts = []  # what customers and staff wrote, shown as they wrote it
    for table, col in (("verbatims", "text"), ("swot_inputs", "text"), ("map_feedback", "comment")):
        if table in params.tables:
            texts += pd.read_csv(params.table_path(table), usecols=[col])[col].dropna().astype(str).tolist()
    return {"params": params, "dir": res.output_dir, **docs["report"], "docs": docs, "texts": texts}


def _allowed_words(params) -> set[str]:
    names = [params.brand or "", *params.competitors]
    return KEPT | {w for n in names for w in LATIN.findall(n)}


def _latin_words(text: str, allowed: set[str]) -> Counter:
    """Latin-script words of ``text`` that are not allowed, with a little context each."""
    text = FILE.sub(" ", PERIOD.sub(" ", text))
    for name in (t for t in allowed if " " in t):
        text = text.replace(name, " ")
    found = Counter()
    for m in LATIN.finditer(text):
        if m.group(0) not in allowed:
            found[(m.group(0), text[max(0, m.start() - 40):m.end() + 40].strip())] += 1
    return found


def _glued(word: str, allowed: set[str]) -> bool:
    """Whether ``word`` is allowed words run together: the PDF's text loses the gap between table
    cells, so adjacent headers such as the brands' ("FastCartMegaMartSouqly") come out as one word."""
    ok = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        ok[end] = any(ok[start] and word[start:end] in allowed for start in range(end))
    return ok[-1]


def _report(found: Counter, where: str) -> str:
    words = Counter()
    for (w, _), k in found.items():
        words[w] += k
    lines = [f"{len(words)} Latin-script words in the {where} that are not client data:"]
    for w, k in words.most_common(60):
        ctx = next(c for (x, c) in found if x == w)
        lines.append(f"  {w} ({k}x): ...{ctx}...")
    return "\n".join(lines)


@pytest.mark.parametrize("doc", ["report", "annex"])
def test_the_html_has_no_latin_word_but_client_data(report, doc):
    if doc not in report["docs"]:
        pytest.skip(f"no {doc}.html")
    d = report["docs"][doc]
    allowed = _allowed_words(report["params"])
    text = _norm(d["visible"] + " " + d["charts"])
    # the customers' and the staff's own words are quoted as they gave them
    for t in sorted({_norm(t).strip() for t in report["texts"]}, key=len, reverse=True):
        if len(t) > 3:
            text = text.replace(t, " ")
    found = _latin_words(text, allowed)
    assert not found, _report(found, f"{doc}.html")


@pytest.mark.parametrize("doc", ["report", "annex"])
def test_the_pdf_has_no_latin_word_but_client_data(report, doc):
    if doc not in report["docs"]:
        pytest.skip(f"no {doc}.pdf")
    allowed = _allowed_words(report["params"])
    # the PDF's text comes out line by line: words of the quoted comments are allowed one by one
    quoted = {w for t in report["texts"] for w in LATIN.findall(_norm(t))}
    found = _latin_words(_norm(report["docs"][doc]["pdf"]), allowed | quoted)
    found = Counter({k: v for k, v in found.items() if not _glued(k[0], allowed)})
    assert not found, _report(found, f"{doc}.pdf")


def test_the_check_sees_english(report):
    """The report's own words are Arabic, and the check does see an English word."""
    assert "الملخص التنفيذي" in report["visible"] and "صافي الترويج" in report["visible"]
    found = _latin_words("Late delivery: Souqly n = 3 (2026Q3, customers.csv)", _allowed_words(report["params"]))
    assert sorted(w for w, _ in found) == ["Late", "delivery"]


def test_persona_cards_are_arabic_with_gulf_names(report):
    from cxlib.report import personas as view
    from cxlib.report.i18n import Translator

    tr = Translator("ar", labels=report["params"].labels)
    cards = re.findall(r'class="[^"]*\bpersona\b[^"]*".*?</h3>', report["html"], flags=re.S)
    assert len(cards) == 4
    names = set(view.first_names(tr, "gulf", "female")) | set(view.first_names(tr, "gulf", "male"))
    heads = [re.sub(r"<[^>]+>", "", c.rsplit("<h3", 1)[1].split(">", 1)[1]) for c in cards]
    assert all(re.split("[،,]", _norm(h))[0].strip() in names for h in heads), heads


def test_the_journey_map_runs_right_to_left(report):
    from cxlib.report.plots import shape_text

    params = report["params"]
    svg = (report["dir"] / "figures" / "journey_map.svg").read_text(encoding="utf-8")
    xs = []
    for stage in params.journey:
        want = {stage.label, shape_text(stage.label)}
        for m in re.finditer(r"<!-- (.*?) -->\s*<g [^>]*transform=\"translate\(([-\d.]+) ", svg):
            if m.group(1) in want:
                xs.append(float(m.group(2)))
                break
        else:
            raise AssertionError(f"stage {stage.label!r} not found among the map's labels")
    assert xs == sorted(xs, reverse=True) and xs[0] > xs[-1], xs
