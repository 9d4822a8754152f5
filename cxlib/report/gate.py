"""The release gate: scan every file going to stakeholders before a report is published.

Usage (in the runner, after rendering and before the publish switch)::

    hits = scan_outputs(stakeholder_dir, customer_ids=customers["customer_id"],
                        forbidden_paths=[data_dir, tmp_dir])
    if hits:   # stop the publish (its own exit code) and keep the last good report
        raise ReleaseGateError(format_hits(hits))
    log(f"not scanned: {not_scannable(stakeholder_dir)}")

What is read
------------
Every file under the folder, recursively, and every file *name*:

- HTML, SVG and XML: text, comments and every attribute value (``alt``, ``title``,
  ``href``...), after unescaping entities; embedded ``data:`` URIs are decoded: SVG, text,
  JSON and CSV payloads are scanned like files, raster images are listed by
  :func:`not_scannable`. Located by line.
- PDF: the text of each page (PDFium through ``pypdfium2``: every character with its
  position, NFKC-normalised so Arabic presentation forms read as letters; a line break where
  the baseline moves, and a horizontal gap wider than 0.6 em, which separates table cells,
  splits a line) and the document metadata (``pypdf``) but its dates. Located by page.
- Markdown (backslash escapes removed), CSV, TSV, JSON (and notebooks: every string and
  number, wherever it is nested, located by its key path; base64 payloads such as image
  outputs and notebook cell ids are skipped), and any other file that is not
  binary, read as UTF-8 (UTF-16 with a byte-order mark). Located by line.
- Binary files (images, fonts, archives: a NUL byte in the first 8 KiB or a known image
  suffix) cannot be read: :func:`not_scannable` lists them, they do not stop a publish.

What is a hit
-------------
``phone``, ``email``, ``card``, ``iban``, ``national_id`` (as found by
:func:`cxlib.voice.redact.find_personal_data`, without its ``long_number`` catch-all: a
table of large totals must not stop a report), ``customer_id`` (a token equal to one of
``customer_ids``) and ``absolute_path`` (``file://``, ``/home/``, ``/root/``, ``/tmp/``,
``/Users/``, ``/var/``, ``/srv/``, ``/opt/``, ``/mnt/``, ``/private/``, ``C:\\``, ``\\\\server\\``,
the project root, the user's home, the Python prefix, the temp folder and every
``forbidden_paths``).

Customer ids: only ids that :func:`cxlib.voice.redact.id_is_matchable` accepts are
scanned: at least one digit and at least 6 characters, or at least 4 characters mixing
letters and digits (``C00042``, ``7590-VHVEG``, ``15634602``). Ids shorter than that, or
without a digit (``42``, ``7``, ``1234``, ``ahmed``), are *not* scanned: they would match
ordinary numbers and words everywhere. Matching is by whole token (letters and digits joined
by ``- _ . / : #``, or a run of its pieces), case-insensitive; the digits of a decimal
(``15634602.5``) are not an id. Numeric ids are indistinguishable from numbers of the same
length, so stakeholder tables should print large numbers with thousands separators.

Each hit carries a redacted excerpt: the personal data itself is replaced by its marker
(``[phone]``...) and an absolute path by its first folder (``/home/…``), so the message
that stops a publish never repeats what it found.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from cxlib.paths import ROOT
from cxlib.voice.redact import TOKENS, CustomerIds, Hit, find_personal_data

#: kinds of hit the gate reports
GATE_KINDS = ("phone", "email", "card", "iban", "national_id", "customer_id", "absolute_path")

_LABELS = {
    "phone": "phone number",
    "email": "email address",
    "card": "payment card number",
    "iban": "IBAN",
    "national_id": "national id number",
    "customer_id": "customer id",
    "absolute_path": "absolute file path",
}

_IMAGE_SUFFIXES = frozenset(
    ".png .jpg .jpeg .gif .webp .bmp .tif .tiff .ico .avif .heic .woff .woff2 .ttf .otf .eot "
    ".zip .gz .parquet .feather .xlsx .docx .pptx".split()
)
_MARKUP_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".svg", ".xml"})
_JSON_SUFFIXES = frozenset({".json", ".ipynb", ".geojson"})
_EXCERPT_CHARS = 40


class GateHit(NamedTuple):
    """One thing that must not reach a stakeholder.

    Attributes
    ----------
    file : str
        Path relative to the scanned folder (POSIX separators).
    kind : str
        One of :data:`GATE_KINDS`.
    excerpt : str
        The text around the hit, with the hit (and any other personal data nearby)
        replaced by markers: never the personal data itself.
    location : str
        ``"line 120"``, ``"page 3"``, ``"cells[4].outputs[0].text"``, ``"file name"``,
        ``"PDF metadata"``...
    """

    file: str
    kind: str
    excerpt: str
    location: str


# --- absolute paths ---------------------------------------------------------------------------

_GENERIC_PATH = (
    r"file:/{2,3}[^\s\"'<>]+"
    r"|(?<![\w.~:/\\-])/(?:home|root|tmp|Users|var|srv|opt|mnt|private)/[^\s\"'<>|,;()\[\]]*"
    r"|(?<![\w\\/])[A-Za-z]:(?:\\\\?|/)[^\s\"'<>|,;()\[\]]+"
    r"|(?<![\w\\])\\\\[\w.$-]+\\[^\s\"'<>|,;()\[\]]+"
)


def _path_regex(forbidden_paths: Iterable) -> re.Pattern:
    literal = {str(ROOT), str(Path.home()), sys.prefix, sys.base_prefix, tempfile.gettempdir()}
    literal |= {str(p) for p in forbidden_paths}
    literal = {p.rstrip("/\\") for p in literal}
    alts = [re.escape(p) + r"(?![\w.-])[^\s\"'<>|,;()\[\]]*"
            for p in sorted(literal, key=len, reverse=True) if len(p) > 1]
    return re.compile("|".join([*alts, _GENERIC_PATH]))


def _path_hits(text: str, regex: re.Pattern) -> list[Hit]:
    return [Hit("absolute_path", m.start(), m.end()) for m in regex.finditer(text)]


def _shown_path(path: str) -> str:
    """Only the first folder of a path is shown: ``/home/…``, ``C:\\…``, ``file://…``."""
    if path.startswith("file:"):
        return "file://…"
    m = re.match(r"([A-Za-z]:[\\/]|\\\\|/[^/\\]*/?)", path)
    return (m.group(1) if m else path[:6]) + "…"


# --- excerpts -------------------------------------------------------------------------------


def _excerpt(text: str, hits: list[Hit], hit: Hit) -> str:
    """The text around ``hit`` with every hit inside the window replaced by its marker."""
    lo, hi = max(0, hit.start - _EXCERPT_CHARS), min(len(text), hit.end + _EXCERPT_CHARS)
    for h in hits:  # never cut a hit in half: widen the window to cover it
        if h.start < lo < h.end:
            lo = h.start
        if h.start < hi < h.end:
            hi = h.end
    parts, pos = [], lo
    for h in hits:
        if h.end <= lo or h.start >= hi:
            continue
        parts.append(text[pos:h.start])
        parts.append(_shown_path(text[h.start:h.end]) if h.kind == "absolute_path" else TOKENS[h.kind])
        pos = h.end
    parts.append(text[pos:hi])
    body = re.sub(r"\s+", " ", "".join(parts)).strip()
    return ("…" if lo > 0 else "") + body + ("…" if hi < len(text) else "")


def _merge(pii: list[Hit], paths: list[Hit]) -> list[Hit]:
    """Personal-data hits inside a path are reported as the path (and vice versa kept apart)."""
    out = list(paths)
    for h in pii:
        if not any(p.start <= h.start and h.end <= p.end for p in paths):
            out.append(h)
    out.sort(key=lambda h: (h.start, -h.end))
    merged: list[Hit] = []
    for h in out:
        if merged and h.start < merged[-1].end:
            continue
        merged.append(h)
    return merged


# --- segments: (location, text) per file type ----------------------------------------------

_DATA_URI_RE = re.compile(
    r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[^;,\s\"']*)*)(?P<b64>;base64)?,"
    r"(?P<payload>[A-Za-z0-9+/=%._~!$&*\-:@\s]*)"
)


class _Embedded(NamedTuple):
    mime: str
    text: str | None  # decoded text, or None for a binary payload


def _strip_data_uris(text: str, found: list[_Embedded]) -> str:
    """Replace each ``data:`` URI by ``data:…`` and collect its decoded payload."""

    def repl(m: re.Match) -> str:
        mime = (m.group("mime") or "text/plain").lower()
        payload = m.group("payload")
        raw: bytes | None
        if m.group("b64"):
            try:
                raw = base64.b64decode(re.sub(r"\s+", "", payload), validate=False)
            except (binascii.Error, ValueError):
                raw = None
        else:
            raw = unquote(payload).encode("utf-8", "surrogatepass")
        textual = mime.startswith("text/") or mime.endswith(("+xml", "/xml", "/json", "/csv", "/javascript"))
        decoded = None
        if raw is not None and textual:
            decoded = raw.decode("utf-8", "replace")
        found.append(_Embedded(mime, decoded))
        return "data:…"

    return _DATA_URI_RE.sub(repl, text)


#: attributes that hold geometry, styling or structure, never words: an SVG path's numbers are
#: not a card number (the text a chart draws is in its labels, drawn as outlines: see not_scannable)
_GEOMETRY_ATTRS = frozenset({
    "d", "points", "transform", "viewbox", "x", "y", "x1", "x2", "y1", "y2", "dx", "dy", "cx", "cy", "r", "rx",
    "ry", "width", "height", "style", "fill", "stroke", "stroke-width", "stroke-dasharray", "stroke-dashoffset",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-opacity", "fill-opacity", "opacity",
    "font-size", "font-family", "font-weight", "font-style", "clip-path", "offset", "gradienttransform",
    "patterntransform", "patternunits", "gradientunits", "preserveaspectratio", "version", "xmlns",
    "xmlns:xlink", "xmlns:svg", "id", "class", "colspan", "rowspan", "transform-origin", "mask", "filter",
    "stop-color", "stop-opacity", "fill-rule", "clip-rule", "marker-start", "marker-mid", "marker-end",
    "letter-spacing", "word-spacing", "text-anchor", "dominant-baseline", "baseline-shift", "vector-effect",
    "paint-order", "overflow", "clippathunits", "display", "visibility", "font-stretch", "font-variant",
})


def _words(name: str, value: str | None) -> bool:
    """Whether an attribute value can carry words a reader sees: not geometry or styling, and not a
    reference to an element of the same document (matplotlib's ``xlink:href="#m1894590619"``)."""
    n = name.lower()
    return bool(value) and n not in _GEOMETRY_ATTRS and not (n in ("href", "xlink:href") and value.startswith("#"))


#: a table cell that is a count or a measure: no leading 0 or +, no separators (a phone or an id has them)
_NUMBER_CELL = re.compile(r"(?<![^,])-?[1-9]\d*(?:\.\d+)?(?![^,])")
#: what a plain number in a table can look like but is not (customer ids are still checked)
_NUMBER_KINDS = frozenset({"phone", "national_id"})


def _number_cells(line: str) -> set[tuple[int, int]]:
    """Spans of the cells of a CSV line that are plain numbers (``12568187`` rows, ``0.35`` a share)."""
    return {m.span() for m in _NUMBER_CELL.finditer(line)}


class _MarkupText(HTMLParser):
    """Text, comments and word-bearing attribute values of HTML/SVG/XML with their line numbers;
    ``data:`` URIs are taken out of each value and kept with the line they were on. Geometry and
    styling (:data:`_GEOMETRY_ATTRS`, ``<style>`` blocks) are not words and are not scanned."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.segments: list[tuple[int, str]] = []
        self.embedded: list[tuple[int, _Embedded]] = []
        self._in_style = 0

    def _add(self, text: str) -> None:
        line = self.getpos()[0]
        found: list[_Embedded] = []
        text = _strip_data_uris(text, found)
        self.embedded += [(line, e) for e in found]
        for i, part in enumerate(text.split("\n")):
            if part.strip():
                self.segments.append((line + i, part))

    def handle_starttag(self, tag, attrs):
        if tag == "style":
            self._in_style += 1
        for name, value in attrs:
            if _words(name, value):
                self._add(value)

    def handle_startendtag(self, tag, attrs):
        for name, value in attrs:
            if _words(name, value):
                self._add(value)

    def handle_endtag(self, tag):
        if tag == "style" and self._in_style:
            self._in_style -= 1

    def handle_data(self, data):
        if not self._in_style:
            self._add(data)

    def handle_comment(self, data):
        self._add(data)

    def handle_pi(self, data):
        self._add(data)

    def unknown_decl(self, data):
        self._add(data)


def _markup_segments(text: str, where: str = "") -> Iterator[tuple[str, str]]:
    parser = _MarkupText()
    parser.feed(text)
    parser.close()
    for line, seg in parser.segments:
        yield f"{where}line {line}", seg
    for line, e in parser.embedded:
        yield from _embedded_segments([e], f"{where}line {line}, ")


def _embedded_segments(embedded: list[_Embedded], where: str) -> Iterator[tuple[str, str]]:
    for e in embedded:
        if e.text is None:
            continue
        inner = f"{where}embedded {e.mime}, "
        if "svg" in e.mime or "html" in e.mime or "xml" in e.mime:
            yield from _markup_segments(e.text, inner)
        else:
            yield from _line_segments(e.text, inner)


def _line_segments(text: str, where: str = "", markdown: bool = False) -> Iterator[tuple[str, str]]:
    for n, line in enumerate(text.splitlines(), start=1):
        embedded: list[_Embedded] = []
        line = _strip_data_uris(line, embedded)
        if markdown:
            line = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", line)
        if line.strip():
            yield f"{where}line {n}", line
        yield from _embedded_segments(embedded, f"{where}line {n}, ")


_NOTEBOOK_CELL_ID = re.compile(r"(?:^|\.)cells\[\d+\]\.id$")
_BASE64_RE = re.compile(r"[A-Za-z0-9+/=\s]+")


def _is_base64_blob(text: str) -> bool:
    """A long base64 payload (a notebook's image/png output): binary, not text."""
    return len(text) > 256 and _BASE64_RE.fullmatch(text) is not None


def _json_segments(obj, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{path}.{k}" if path else str(k)
            yield f"key {key}", str(k)
            yield from _json_segments(v, key)
    elif isinstance(obj, list):
        if obj and all(isinstance(x, str) for x in obj):  # notebook sources: one string
            yield from _line_segments("".join(obj), f"{path or 'root'}, ")
        else:
            for i, v in enumerate(obj):
                yield from _json_segments(v, f"{path}[{i}]")
    elif isinstance(obj, str):
        if _is_base64_blob(obj) or _NOTEBOOK_CELL_ID.search(path):
            return
        yield from _line_segments(obj, f"{path or 'root'}, ")
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield path or "root", repr(obj) if isinstance(obj, float) else str(obj)


#: a horizontal gap between two characters wider than this many ems ends a cell (a word space is
#: ~0.25 em; table cells are 10 pt apart): reading each cell on its own keeps "+14  229  -37" (three
#: cells) from looking like one phone number. A number split by a wide gap inside a justified line
#: is missed here, but the same text is in the HTML, which is read node by node.
_PDF_CELL_EM = 0.6


def _pdf_page_lines(textpage) -> Iterator[str]:
    """The cells of one PDF page in reading order: its characters (PDFium's order, with the
    spaces and line ends PDFium infers) cut where the baseline moves by more than half a
    character's size or where two characters are more than :data:`_PDF_CELL_EM` apart.

    Positions come from each character's loose box (the font's ascent to descent, so one line's
    characters share it) and font size.
    """
    import ctypes

    import pypdfium2.raw as pdfium_c

    cur: list[str] = []
    prev = None  # (left, right, bottom, size) of the last visible character
    left, bottom, right, top = (ctypes.c_double() for _ in range(4))
    rect = pdfium_c.FS_RECTF()

    def flush():
        text = "".join(cur).encode("utf-16", "surrogatepass").decode("utf-16", "replace").strip()
        cur.clear()
        return text

    for i in range(pdfium_c.FPDFText_CountChars(textpage)):
        ch = chr(pdfium_c.FPDFText_GetUnicode(textpage, i))
        if ch in "\r\n":
            if (text := flush()):
                yield text
            prev = None
            continue
        if ch.isspace():
            cur.append(" ")
            continue
        if pdfium_c.FPDFText_GetLooseCharBox(textpage, i, rect):
            box = (rect.left, rect.right, rect.bottom)
        elif pdfium_c.FPDFText_GetCharBox(textpage, i, left, right, bottom, top):
            box = (left.value, right.value, bottom.value)
        else:  # no position: keep the character in the cell it came with
            cur.append(ch)
            continue
        size = pdfium_c.FPDFText_GetFontSize(textpage, i) or 1.0
        if prev is not None:
            em = max(size, prev[3])
            gap = max(box[0] - prev[1], prev[0] - box[1])  # either direction: right-to-left runs too
            if abs(box[2] - prev[2]) > em / 2 or gap > _PDF_CELL_EM * em:
                if (text := flush()):
                    yield text
        cur.append(ch)
        prev = (*box, size)
    if (text := flush()):
        yield text


def _pdf_segments(path: Path) -> Iterator[tuple[str, str]]:
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    reader = PdfReader(path)
    for key, value in (reader.metadata or {}).items():
        if key not in ("/CreationDate", "/ModDate"):  # D:20261123203939Z is a timestamp
            yield "PDF metadata", f"{key} {value}"
    doc = pdfium.PdfDocument(path)
    try:
        for n in range(len(doc)):
            page = doc[n]
            textpage = page.get_textpage()
            try:
                for cell in _pdf_page_lines(textpage.raw):
                    yield f"page {n + 1}", unicodedata.normalize("NFKC", cell)
            finally:
                textpage.close()
                page.close()
    finally:
        doc.close()


def _pdf_opens(path: Path) -> bool:
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(path)
        try:
            if len(doc):
                page = doc[0]
                page.get_textpage().close()
                page.close()
        finally:
            doc.close()
        return True
    except Exception:  # any PDFium failure means the file could not be read  # noqa: BLE001
        return False


def _read_text(path: Path) -> str | None:
    """The file as text, or None if it is binary."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8-sig", "replace")


def _is_binary_suffix(path: Path) -> bool:
    return path.suffix.lower() in _IMAGE_SUFFIXES


def _segments(path: Path) -> Iterator[tuple[str, str]] | None:
    """(location, text) pairs of one file, or None when it cannot be read."""
    suffix = path.suffix.lower()
    if _is_binary_suffix(path):
        return None
    if suffix == ".pdf":
        try:
            return iter(list(_pdf_segments(path)))
        except Exception:  # any pypdf failure means the file could not be read  # noqa: BLE001
            return None
    text = _read_text(path)
    if text is None:
        return None
    if suffix in _MARKUP_SUFFIXES:
        return _markup_segments(text)
    if suffix in _JSON_SUFFIXES:
        try:
            return _json_segments(json.loads(text))
        except ValueError:
            return _line_segments(text)
    return _line_segments(text, markdown=suffix in (".md", ".qmd", ".markdown"))


# --- public API -------------------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def scan_text(text: str, *, ids: CustomerIds | None = None,
              paths: re.Pattern | None = None) -> list[tuple[Hit, str]]:
    """Hits in one piece of text with their redacted excerpts (the gate's rule for one line).

    Parameters
    ----------
    text : str
        One line, page line or markup node.
    ids : CustomerIds, optional
        Prepared customer ids.
    paths : re.Pattern, optional
        Absolute-path pattern; default: the generic roots, the project root, the home,
        Python and temp folders.
    """
    regex = paths or _path_regex(())
    pii = find_personal_data(text, ids=ids, long_numbers=False)
    hits = _merge(pii, _path_hits(text, regex))
    return [(h, _excerpt(text, hits, h)) for h in hits]


def scan_outputs(folder: Path, *, customer_ids=None, forbidden_paths=()) -> list[GateHit]:
    """Scan every stakeholder file under ``folder`` for personal data, customer ids and
    absolute paths.

    Parameters
    ----------
    folder : Path
        The folder that will be published (the stakeholder folder of one report).
    customer_ids : iterable or CustomerIds, optional
        Every customer id in the client's data (a million is fine); see the module
        docstring for which ids are scanned.
    forbidden_paths : iterable of str or Path
        More absolute paths that must not appear (the data folder, the run's temp folder).

    Returns
    -------
    list of GateHit
        In file order, then location order. Empty when the folder is fit to publish.
        Files that cannot be read are not hits: see :func:`not_scannable`.
    """
    folder = Path(folder)
    ids = customer_ids if isinstance(customer_ids, CustomerIds) or customer_ids is None \
        else CustomerIds(customer_ids)
    regex = _path_regex(forbidden_paths)
    hits: list[GateHit] = []
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        for h, excerpt in scan_text(rel, ids=ids, paths=regex):
            hits.append(GateHit(rel, h.kind, excerpt, "file name"))
        segments = _segments(path)
        if segments is None:
            continue
        csv_table = path.suffix.lower() == ".csv"
        for location, text in segments:
            numbers = _number_cells(text) if csv_table else set()
            for h, excerpt in scan_text(text, ids=ids, paths=regex):
                if h.kind in _NUMBER_KINDS and any(a <= h.start and h.end <= b for a, b in numbers):
                    continue  # a count of 12,568,187 rows is not a phone number
                hits.append(GateHit(rel, h.kind, excerpt, location))
    return hits


def not_scannable(folder: Path) -> list[str]:
    """Files (and raster images embedded in HTML/Markdown) whose text the gate cannot read:
    list them in the run log so an analyst knows what was not checked."""
    folder = Path(folder)
    out: list[str] = []
    for path in _files(folder):
        rel = path.relative_to(folder).as_posix()
        if _is_binary_suffix(path) or (path.suffix.lower() != ".pdf" and _read_text(path) is None):
            out.append(f"{rel} (binary)")
            continue
        if path.suffix.lower() == ".pdf":
            if not _pdf_opens(path):
                out.append(f"{rel} (PDF text could not be extracted)")
            continue
        text = _read_text(path) or ""
        embedded: list[_Embedded] = []
        _strip_data_uris(text, embedded)
        n = sum(e.text is None for e in embedded)
        if path.suffix.lower() in _JSON_SUFFIXES:  # notebook image outputs
            n += sum(_is_base64_blob(m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text))
        if n:
            out.append(f"{rel} ({n} embedded binary image{'s' if n > 1 else ''})")
    return out


def format_hits(hits: list[GateHit], *, limit: int = 20) -> str:
    """One readable message for the runner: a head line (count, kinds, files), then one line
    per hit such as ``report.html line 120: phone number ('call me on [phone] today')``; at
    most ``limit`` hits, then ``... and N more``."""
    if not hits:
        return "no personal data, customer ids or absolute paths found"
    lines = [f"{h.file} {h.location}: {_LABELS.get(h.kind, h.kind)} ({h.excerpt!r})"
             for h in hits[:limit]]
    if len(hits) > limit:
        lines.append(f"... and {len(hits) - limit} more")
    kinds = sorted({h.kind for h in hits})
    files = sorted({h.file for h in hits})
    head = (f"{len(hits)} item{'s' if len(hits) > 1 else ''} that must not reach stakeholders "
            f"({', '.join(_LABELS[k] for k in kinds)}) in {', '.join(files)}:")
    return "\n".join([head, *("  " + line for line in lines)])
