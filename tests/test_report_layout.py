"""The rendered report people read: first screen before the contents, sidebar, scroll containers,
SWOT grid, right-to-left Arabic, tile values in the PDF, no heading stranded at a page foot.

One sample report per language (tests/report_sample.py: an executed notebook with every block,
tables and SVG figures, through ``render.assemble`` and the offline renderer)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from cxlib.report import render
from tests import report_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["en", "ar"])
def rendered(request, tmp_path_factory):
    lang = request.param
    md, meta = report_sample.build(tmp_path_factory.mktemp(f"sample-{lang}"), lang)
    res = render.render(md, meta, renderer="offline")
    return lang, md, res


class _Tree(HTMLParser):
    """Start tags in document order, with their classes, ids and nesting (class stack)."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict, tuple[str, ...]]] = []
        self.stack: list[tuple[str, set]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        outer = tuple(c for _, cls in self.stack for c in cls)
        self.tags.append((tag, a, outer))
        if tag not in ("img", "input", "br", "hr", "meta", "link", "col"):
            self.stack.append((tag, set((a.get("class") or "").split())))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def _tree(html: str) -> _Tree:
    t = _Tree()
    t.feed(html)
    return t


def _index(tree: _Tree, pred) -> int:
    return next(i for i, (tag, a, _) in enumerate(tree.tags) if pred(tag, a))


def _has_class(cls):
    return lambda tag, a: cls in (a.get("class") or "").split()


def test_first_screen_comes_before_the_contents_and_the_body(rendered):
    lang, md, res = rendered
    text = md.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    assert body.lstrip().startswith("::::::: {.first-screen}")  # moved up from the last cell
    tree = _tree(res.html.read_text(encoding="utf-8"))
    first = _index(tree, _has_class("first-screen"))
    tiles = _index(tree, _has_class("kpis"))
    findings = _index(tree, _has_class("top-findings"))
    actions = _index(tree, _has_class("top-actions"))
    toc = _index(tree, lambda tag, a: a.get("id") == "TOC")
    main = _index(tree, lambda tag, a: tag == "main")
    assert first < tiles < findings < actions < toc < main
    # lifted out of the body: nothing of the first screen is left inside <main>
    assert not any("kpi" in (a.get("class") or "") for _, a, outer in tree.tags if "cx-layout" in outer
                   and tree.tags.index((_, a, outer)) > main)
    kpis = [a for _, a, _ in tree.tags if "kpi" in (a.get("class") or "").split()]
    assert len(kpis) == 4
    assert sum("kpi-missing" in a["class"] for a in kpis) == 1  # the tile that says "not measured"


def test_contents_sidebar_and_phone_toggle(rendered):
    lang, _, res = rendered
    html = res.html.read_text(encoding="utf-8")
    tree = _tree(html)
    nav = next(a for tag, a, _ in tree.tags if a.get("id") == "TOC")
    assert tag_is_sidebar(nav)
    # the phone's collapsible list: a checkbox and its label before the nav, no script
    toggle = _index(tree, lambda tag, a: tag == "input" and a.get("id") == "cx-toc-toggle")
    label = _index(tree, lambda tag, a: tag == "label" and a.get("for") == "cx-toc-toggle")
    assert toggle < label < _index(tree, lambda tag, a: a.get("id") == "TOC")
    assert "<script" not in html.lower()
    css = (res.html.parent / "assets" / "report.css").read_text(encoding="utf-8")
    assert re.search(r"nav#TOC \{[^}]*position: sticky", css)
    assert re.search(r"\.cx-toc-toggle:checked ~ nav#TOC \{ display: block; \}", css)


def tag_is_sidebar(nav: dict) -> bool:
    return "cx-toc" in (nav.get("class") or "").split() and nav.get("role") == "doc-toc"


def test_tables_and_figures_sit_in_scroll_containers(rendered):
    lang, _, res = rendered
    tree = _tree(res.html.read_text(encoding="utf-8"))
    tables = [outer for tag, _, outer in tree.tags if tag == "table"]
    assert len(tables) >= 2
    assert all("cx-scroll" in outer and "table-wrap" in outer for outer in tables)
    # the ten-column table carries a written hint under its scroll area
    wide = [a for _, a, _ in tree.tags if "very-wide" in (a.get("class") or "")]
    assert len(wide) == 1
    hints = [a for _, a, outer in tree.tags if "scroll-hint" in (a.get("class") or "") and "very-wide" in outer]
    assert hints
    imgs = [(a, outer) for tag, a, outer in tree.tags if tag == "img" and "figure-wrap" in outer]
    assert len(imgs) == 11 and all("cx-scroll" in outer for _, outer in imgs)
    assert all(a["src"].startswith("data:image/svg+xml;base64,") for a, _ in imgs)  # vector figures


def test_swot_grid_has_four_quadrants_in_order(rendered):
    lang, _, res = rendered
    tree = _tree(res.html.read_text(encoding="utf-8"))
    quads = [a["class"].split()[1] for _, a, outer in tree.tags
             if "swot-q" in (a.get("class") or "").split() and "swot" in outer]
    assert quads == ["swot-strengths", "swot-weaknesses", "swot-opportunities", "swot-threats"]


def test_direction_and_language(rendered):
    lang, _, res = rendered
    html = res.html.read_text(encoding="utf-8")
    head = html[:300]
    if lang == "ar":
        assert 'dir="rtl"' in head and 'lang="ar"' in head
        assert "المحتويات" in html and "أهم النتائج" in html and "نقاط القوة" in html
    else:
        assert 'dir="rtl"' not in html and "Top findings" in html and "Strengths" in html


_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _pages(pdf):
    from pypdf import PdfReader

    return [_CONTROLS.sub("", p.extract_text() or "") for p in PdfReader(str(pdf)).pages]


def _has_words(page: str, phrase: str) -> bool:
    """Every word of ``phrase`` is on the page (pypdf may reorder or glue Arabic words)."""
    return all(w in page for w in phrase.split())


def _same_letters(a: str, b: str) -> bool:
    """The same letters, in any order (an Arabic line comes out of pypdf reordered, and a final
    letter's glyph may be mapped back with a stray mark: "خالد" extracts as "دّخال")."""
    def letters(t: str) -> list[str]:
        return sorted(re.sub(r"[\s\u064b-\u065f\u0670\u2066-\u2069\u200e\u200f\u202a-\u202e]", "", t))
    return letters(a) == letters(b)


def test_pdf_first_page_holds_the_tiles_findings_and_actions(rendered):
    lang, _, res = rendered
    pages = _pages(res.pdf)
    assert len(pages) >= 6  # a multi-page sample, so the page-foot check below means something
    first = pages[0]
    for value in ("+23", "81%", "5.42"):
        assert value in first, (value, first[:400])
    contents = "المحتويات" if lang == "ar" else "Contents"
    if lang == "en":
        assert first.index("Top findings") < first.index("Top actions") < first.index(contents)
    else:  # Arabic text comes out of pypdf reordered: presence only
        assert _has_words(first, "أهم النتائج") and _has_words(first, "أهم الإجراءات")
        assert contents in first


def _last_line(page: str) -> str:
    lines = [ln.strip() for ln in page.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not re.fullmatch(r"\d+\s*/\s*\d+", ln)]  # the page number
    return lines[-1] if lines else ""


def test_no_heading_is_the_last_line_of_a_pdf_page(rendered):
    lang, _, res = rendered
    heads = report_sample.headings(lang)
    pages = _pages(res.pdf)
    stranded = [(i + 1, _last_line(p)) for i, p in enumerate(pages[:-1])
                if any(_same_letters(_last_line(p), h) for h in heads)]
    assert not stranded, stranded


def test_persona_cards_are_never_split_across_pages(rendered):
    lang, _, res = rendered
    names = [n for n, _, _ in report_sample.W[lang]["personas"]]
    pages = _pages(res.pdf)
    for k, name in enumerate(names):
        where = [i for i, p in enumerate(pages) if any(_same_letters(ln, name) for ln in p.splitlines())]
        assert len(where) == 1, (name, where)
        # the card's last line (its challenges, numbered per card) is on the page of its name
        assert report_sample.challenge(lang, k).split()[-1] in pages[where[0]]
