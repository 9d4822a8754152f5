"""Executed notebooks -> one ``report.md`` -> ``report.html`` (self-contained) + ``report.pdf``.

:func:`assemble` reads the notebooks papermill executed and writes one Markdown source with
its figures; :func:`render` then renders that same source with Quarto when it is on PATH, or
with the offline renderer (the pandoc and typst wheels) otherwise. Both paths produce one
self-contained HTML file and one PDF, from the same ``report.md``.

What reaches the report: Markdown cells, and outputs published through :mod:`cxlib.report.display`
(or any ``text/markdown`` / ``image/png`` output). Code, prints, warnings, plain-text and HTML
results are never included (they are counted and logged), and papermill's parameter cells
(which may hold connection strings) are skipped whole.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cxlib import paths
from cxlib.exceptions import RenderError

log = logging.getLogger(__name__)

__all__ = [
    "Assembly",
    "RenderResult",
    "ReportMeta",
    "assemble",
    "assemble_report",
    "font_dir",
    "render",
    "render_offline",
    "render_quarto",
]

ASSETS = paths.ASSETS_DIR
#: Tags of cells that never reach the report (papermill's parameter cells and an opt-out).
SKIP_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell", "cx-skip"})
EXEC_SUMMARY_TAG = "exec-summary"
#: The div class of the first screen (KPI tiles, top findings, top actions): drawn after the
#: title and before the contents.
FIRST_SCREEN = "first-screen"
#: The font the PDF uses: ships with matplotlib and covers Latin and Arabic.
PDF_FONT = "DejaVu Sans"
QUARTO_TIMEOUT = 600  # seconds per quarto render call

_HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_SLUG_RE = re.compile(r"[^a-z0-9_-]+")
#: The report languages; their page furniture (contents, footer, hints) is in
#: assets/strings/presentation.yml.
_LANGUAGES = ("en", "ar")
#: A Markdown block that opens a ``.first-screen`` div (cxlib.report.blocks.first_screen).
_FIRST_SCREEN_RE = re.compile(r"^:{3,}\s*\{[^}\n]*\.first-screen[\s}]")


@dataclass(frozen=True)
class ReportMeta:
    """What the title block and the renderers need to know about one report."""

    title: str
    subtitle: str = ""
    date: str = ""
    language: str = "en"  # "en" | "ar"
    primary_color: str = "#1f4e79"
    accent_color: str = "#d9822b"
    logo: str | Path | None = None
    annex_title: str | None = None  # the title of the analyst annex document

    def __post_init__(self):
        if self.language not in _LANGUAGES:
            raise RenderError(f"report language {self.language!r} is not supported; use one of {sorted(_LANGUAGES)}")
        for what in ("primary_color", "accent_color"):
            if not _HEX_RE.match(str(getattr(self, what))):
                raise RenderError(f"{what} {getattr(self, what)!r} is not a hex colour such as #1f4e79")

    @property
    def rtl(self) -> bool:
        """True when the report reads right to left (Arabic)."""
        return self.language == "ar"

    @classmethod
    def from_params(cls, params, *, title: str | None = None, subtitle: str = "", date: str = "") -> ReportMeta:
        """Build the meta of a client's report from its :class:`cxlib.data.params.Params`."""
        logo = params.branding.logo
        if logo and params.source and not Path(logo).is_absolute():
            logo = str(Path(params.source).parent / logo)
        return cls(
            title=title or params.name,
            subtitle=subtitle,
            date=date,
            language=params.language,
            primary_color=params.branding.primary_color,
            accent_color=params.branding.accent_color,
            logo=logo,
        )


@dataclass
class Assembly:
    """What :func:`assemble_report` wrote and what it left out."""

    path: Path
    figures: list[Path] = field(default_factory=list)
    tables: int = 0
    #: count of dropped outputs by kind (stream, text/plain, text/html, raw-cell, ...)
    dropped: Counter = field(default_factory=Counter)
    #: where each dropped output came from: "notebook.ipynb cell 7: stream"
    dropped_where: list[str] = field(default_factory=list)
    skipped_parameter_cells: int = 0
    #: the analyst annex's Markdown (None when no output went to the annex)
    annex: Path | None = None


@dataclass(frozen=True)
class RenderResult:
    """The rendered outputs of one report."""

    html: Path
    pdf: Path
    renderer_used: str  # "quarto" | "offline"
    seconds: float


# --- assembling -------------------------------------------------------------------------


def font_dir() -> Path:
    """The folder of TrueType fonts the PDF uses (matplotlib's DejaVu fonts)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _words(meta: ReportMeta, key: str) -> str:
    """A piece of page furniture (contents title, footer, hints) in the report's language."""
    from cxlib.report.i18n import Translator

    return Translator(meta.language)(key)


def _md_escape(text: str) -> str:
    from cxlib.report.display import md_escape

    return md_escape(text)


def _yaml_str(s: str) -> str:
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(str(s), ensure_ascii=False)


def _attr_str(s: str) -> str:
    s = re.sub(r"\s+", " ", str(s)).strip()
    return s.replace("\\", "/").replace('"', "'")


def _logo_name(meta: ReportMeta) -> str | None:
    if not meta.logo:
        return None
    suffix = Path(meta.logo).suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".svg", ".gif"):
        raise RenderError(f"logo {meta.logo} must be a .png, .jpg, .svg or .gif file")
    return f"figures/logo{suffix}"


def _css_text(meta: ReportMeta) -> str:
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    root = f":root {{ --cx-primary: {meta.primary_color}; --cx-accent: {meta.accent_color}; }}\n"
    return css + "\n/* client branding */\n" + root


def _write_support_files(out_dir: Path, meta: ReportMeta) -> None:
    """Write assets/report.css, the Quarto typst header and the logo next to report.md."""
    (out_dir / "assets").mkdir(parents=True, exist_ok=True)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    (out_dir / "assets" / "report.css").write_text(_css_text(meta), encoding="utf-8")
    header = (
        f'#let cx-primary = rgb("{meta.primary_color}")\n'
        "#set table(stroke: none, inset: (x: 5pt, y: 4pt), "
        "fill: (x, y) => if y == 0 { cx-primary } else if calc.even(y) { luma(243) } else { none })\n"
        "#show table.cell.where(y: 0): set text(fill: white, weight: \"bold\")\n"
        "#show table: set text(size: 8.5pt)\n"
        "#show figure: set block(breakable: true)\n"
        "#show heading: set text(fill: cx-primary)\n"
    )
    (out_dir / "assets" / "quarto-header.typ").write_text(header, encoding="utf-8")
    name = _logo_name(meta)
    if name:
        src = Path(meta.logo)
        if not src.is_file():
            raise RenderError(f"logo file {src} does not exist; fix branding.logo in the params file")
        shutil.copyfile(src, out_dir / name)


def _front_matter(meta: ReportMeta) -> str:
    lang = meta.language
    logo = _logo_name(meta)
    lines = [
        "---",
        f"title: {_yaml_str(_md_escape(meta.title))}",
    ]
    if meta.subtitle:
        lines.append(f"subtitle: {_yaml_str(_md_escape(meta.subtitle))}")
    if meta.date:
        lines.append(f"date: {_yaml_str(_md_escape(meta.date))}")
    lines += [f"lang: {lang}"]
    if meta.rtl:
        lines.append("dir: rtl")
    lines += [
        "toc: true",
        "toc-depth: 2",
        f"toc-title: {_yaml_str(_words(meta, 'pres.toc'))}",
        # Quarto reads this block (`quarto render report.md`); the offline renderer passes
        # the equivalent options in code (see render_offline).
        "format:",
        "  html:",
        "    embed-resources: true",
        "    toc: true",
        "    toc-depth: 2",
        "    number-sections: false",
        "    css: assets/report.css",
        "    fig-responsive: true",
        "    echo: false",
        "    code-tools: false",
    ]
    if logo:
        img = f'<img class="cx-logo" src="{logo}" alt="logo">'
        lines += ["    include-before-body:", f"      text: {_yaml_str(img)}"]
    lines += [
        "  typst:",
        "    toc: true",
        "    toc-depth: 1",  # the PDF lists sections only
        "    papersize: a4",
        "    margin:",
        "      x: 2cm",
        "      y: 2.2cm",
        "    fontsize: 10pt",
        f"    mainfont: {_yaml_str(PDF_FONT)}",
        "    font-paths:",
        f"      - {_yaml_str(str(font_dir()))}",
        "    echo: false",
        "    include-in-header: assets/quarto-header.typ",
        "---",
        "",
    ]
    return "\n".join(lines)


def _slug(text: str) -> str:
    s = _SLUG_RE.sub("-", text.lower()).strip("-_")
    return s or "nb"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _cxlib_meta(output) -> dict:
    md = output.get("metadata", {}) or {}
    got = md.get("cxlib")
    if isinstance(got, dict):
        return got
    for v in md.values():  # metadata keyed by mime type
        if isinstance(v, dict) and isinstance(v.get("cxlib"), dict):
            return v["cxlib"]
    return {}


class _Builder:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.used_names: set[str] = set()
        self.assembly = Assembly(path=out_dir / "report.md")

    def unique(self, name: str) -> str:
        base, n = name, 2
        while name in self.used_names:
            name = f"{base}-{n}"
            n += 1
        if name != base:
            log.warning("figure name %r used twice; the second is saved as %r", base, name)
        self.used_names.add(name)
        return name

    def figure(self, png_b64: str | None, name: str, caption: str, alt: str, svg: str | None = None) -> str:
        """Save a figure (PNG, and SVG when given) and return its Markdown image.

        With an SVG the report uses it (sharp at any zoom on a phone, vector in the PDF); the
        PNG is kept beside it for anyone who wants a bitmap.
        """
        name = self.unique(name)
        path = self.out_dir / "figures" / f"{name}.png"
        if png_b64 is not None:
            try:
                path.write_bytes(base64.b64decode(_text(png_b64)))
            except (ValueError, TypeError) as e:
                raise RenderError(f"figure {name!r}: image/png output is not valid base64 ({e})") from None
            self.assembly.figures.append(path)
        if svg is not None:
            text = _text(svg)
            if "<script" in text.lower() or "<svg" not in text.lower():
                raise RenderError(f"figure {name!r}: image/svg+xml output is not a plain SVG image")
            path = path.with_suffix(".svg")
            path.write_text(text, encoding="utf-8")
            self.assembly.figures.append(path)
        src = f"figures/{path.name}"
        pdf_width = _pdf_width(text, tall=name.startswith("journey_map")) if svg is not None else None
        if caption:
            attrs = f"#fig-{name}"
            if pdf_width:
                attrs += f' cx-pdf-width="{pdf_width}%"'

            if alt:
                attrs += f' fig-alt="{_attr_str(alt)}"'
            return f"![{_md_escape(caption)}]({src}){{{attrs}}}"
        alt_attr = f'{{fig-alt="{_attr_str(alt)}"}}' if alt else ""
        return f"![]({src}){alt_attr}"

    def drop(self, where: str, kind: str) -> None:
        self.assembly.dropped[kind] += 1
        self.assembly.dropped_where.append(f"{where}: {kind}")

    def cell_blocks(self, cell, nb_name: str, stem: str, index: int) -> list[tuple[str, bool]]:
        """The cell's report blocks, each with whether it goes to the annex (an output marked
        ``annex``, or a cell tagged ``annex``)."""
        where = f"{nb_name} cell {index}" + (f" (id {cell.get('id')})" if cell.get("id") else "")
        self.cell_tags = set(cell.get("metadata", {}).get("tags", []) or [])
        if cell.cell_type == "markdown":
            src = _text(cell.source).strip()
            return [(src, "annex" in self.cell_tags)] if src else []
        if cell.cell_type != "code":
            self.drop(where, f"{cell.cell_type}-cell")
            return []
        blocks = []
        for k, out in enumerate(cell.get("outputs", [])):
            otype = out.get("output_type")
            if otype == "error":
                ename, evalue = out.get("ename", "Error"), out.get("evalue", "")
                raise RenderError(
                    f"{where} failed with {ename}: {evalue}. Fix the notebook (or its data) and "
                    "run the report again; no report was written from a failed notebook."
                )
            if otype == "stream":
                self.drop(where, f"stream:{out.get('name', 'stdout')}")
                continue
            if otype not in ("display_data", "execute_result"):
                self.drop(where, str(otype))
                continue
            data = out.get("data", {}) or {}
            cx = _cxlib_meta(out)
            kind = cx.get("kind")
            self.annex = bool(cx.get("annex")) or "annex" in self.cell_tags
            if "markdown" in cx:  # the report's Markdown (the notebook shows a DataFrame or plain text)
                if kind == "table":
                    self.assembly.tables += 1
                text = _text(cx["markdown"]).strip()
                if text:
                    blocks.append((text, self.annex))
                continue
            if kind == "figure" and ("image/png" in data or "image/svg+xml" in data):
                name = _slug(str(cx.get("name") or f"{stem}-{index}-{k}"))
                blocks.append((self.figure(data.get("image/png"), name, str(cx.get("caption", "")),
                                           str(cx.get("alt", "")), svg=data.get("image/svg+xml")), self.annex))
            elif "text/markdown" in data:
                if kind == "table":
                    self.assembly.tables += 1
                text = _text(data["text/markdown"]).strip()
                if text:
                    blocks.append((text, self.annex))
            elif "image/png" in data:
                blocks.append((self.figure(data["image/png"], f"{stem}-cell{index}-{k + 1}", "", ""), self.annex))
            else:
                mimes = sorted(data) or ["empty"]
                self.drop(where, "+".join(m for m in mimes))
        return blocks


def assemble_report(notebooks: list[Path], out_dir: Path, meta: ReportMeta) -> Assembly:
    """Like :func:`assemble` but returns the details (figures written, outputs dropped)."""
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = out_dir / "figures"
    if figs.exists():
        for old in [*figs.glob("*.png"), *figs.glob("*.svg")]:
            old.unlink()
    _write_support_files(out_dir, meta)
    b = _Builder(out_dir)
    front: list[str] = []
    body: list[str] = []
    annex: list[str] = []
    for nb_path in map(Path, notebooks):
        try:
            nb = nbformat.read(nb_path, as_version=4)
        except Exception as e:  # noqa: BLE001 - any unreadable notebook is one clear error
            raise RenderError(f"cannot read executed notebook {nb_path}: {e}") from None
        stem = _slug(nb_path.stem)
        for i, cell in enumerate(nb.cells, start=1):
            tags = set(cell.get("metadata", {}).get("tags", []) or [])
            if tags & SKIP_TAGS:
                b.assembly.skipped_parameter_cells += 1
                continue
            blocks = b.cell_blocks(cell, nb_path.name, stem, i)
            for block, to_annex in blocks:
                if to_annex:
                    annex.append(block)
                elif EXEC_SUMMARY_TAG in tags or _FIRST_SCREEN_RE.match(block):
                    front.append(block)  # a .first-screen block (cxlib.report.blocks.first_screen) moves up
                else:
                    body.append(block)
    if front:  # one .first-screen div: the renderers draw it before the contents
        front = [f"::::::: {{.{FIRST_SCREEN}}}", *front, ":::::::"]
    text = _front_matter(meta) + "\n" + "\n\n".join(front + body) + "\n"
    b.assembly.path.write_text(text, encoding="utf-8")
    if annex:  # the analyst annex: full tables, checks and methods, its own document
        from dataclasses import replace

        annex_meta = replace(meta, title=meta.annex_title or meta.title, subtitle=meta.subtitle)
        b.assembly.annex = out_dir / "annex.md"
        b.assembly.annex.write_text(_front_matter(annex_meta) + "\n" + "\n\n".join(annex) + "\n", encoding="utf-8")
    a = b.assembly
    if a.dropped:
        log.info("assemble: left %d output(s) out of the report (%s); show results with "
                 "cxlib.report.display to include them", sum(a.dropped.values()),
                 ", ".join(f"{k}: {v}" for k, v in sorted(a.dropped.items())))
    return a


def assemble(notebooks: list[Path], out_dir: Path, meta: ReportMeta) -> Path:
    """Turn executed notebooks into ``out_dir/report.md`` (+ ``figures/``); return its path.

    Parameter cells are skipped, Markdown cells copied, code never included; cxlib figures
    become ``![caption](figures/name.png){#fig-name fig-alt="..."}``, Markdown outputs are
    copied, other images saved under generated names; prints, warnings, plain-text and HTML
    results are dropped and counted (logged). Cells tagged ``exec-summary``, and outputs that
    are a ``.first-screen`` div (:func:`cxlib.report.blocks.first_screen`), move to the front,
    inside one ``.first-screen`` div that the offline renderer draws before the contents.
    An ``error`` output raises :class:`RenderError` naming the notebook and cell.
    """
    return assemble_report(notebooks, out_dir, meta).path


# --- rendering --------------------------------------------------------------------------


def _pandoc(md: Path, out: Path, args: list[str]) -> None:
    """Run the pandoc of the ``pypandoc-binary`` wheel on ``md`` (``args[0]`` is the output
    format) in ``md``'s folder. A child process with its own working folder, not
    ``pypandoc.convert_file(cworkdir=...)``, which changes the whole process's working folder and
    so races with another document rendered at the same time."""
    import pypandoc

    cmd = [pypandoc.get_pandoc_path(), str(md), f"--to={args[0]}", f"--output={out}", *args[1:]]
    try:
        proc = subprocess.run(cmd, cwd=md.parent, capture_output=True, text=True, check=False)
    except OSError as e:
        raise RenderError(f"pandoc could not render {md.name} to {out.name}: {e}") from None
    if proc.returncode != 0:
        raise RenderError(f"pandoc could not render {md.name} to {out.name}: {proc.stderr.strip()[-2000:]}")


def render_offline(md: Path, meta: ReportMeta, *, support: bool = True) -> tuple[Path, Path]:
    """Render ``report.md`` with the pandoc and typst wheels; return ``(html_path, pdf_path)``.

    HTML: standalone, self-contained (images, stylesheet and logo inlined), table of contents,
    cxlib's stylesheet with the client's colours, ``dir="rtl"`` for Arabic. PDF: pandoc's typst
    writer with cxlib's template (A4, title block, outline, page numbers, zebra tables), then
    typst with matplotlib's DejaVu fonts (Latin and Arabic glyphs).
    """
    import typst

    md = Path(md).resolve()
    out_dir = md.parent
    if support:  # False: the caller wrote them (documents rendered side by side share them)
        _write_support_files(out_dir, meta)
    html, typ, pdf = (out_dir / f"{md.stem}.html", out_dir / f"{md.stem}.typ", out_dir / f"{md.stem}.pdf")
    common = [
        "--from=markdown",
        "--standalone",
        "--toc",
        "--toc-depth=2",
        f"--resource-path={out_dir}",
        f"--lua-filter={ASSETS / 'report.lua'}",
        f"--metadata=toc-title:{_words(meta, 'pres.toc')}",
        f"--variable=footer-text:{_words(meta, 'pres.footer')}",
        # report.lua: lift the first screen into the template, hints under wide tables/figures
        "--metadata=cx-offline:true",
        f"--metadata=cx-scroll-hint:{_words(meta, 'pres.scroll_hint')}",
        f"--metadata=cx-figure-hint:{_words(meta, 'pres.figure_hint')}",
    ]
    logo = _logo_name(meta)
    if logo:
        common += [f"--variable=logo:{logo}", "--variable=logo-alt:logo"]
    _pandoc(md, html, [
        "html5", *common,
        "--embed-resources",
        f"--template={ASSETS / 'report.html'}",
        "--css=assets/report.css",
        f"--metadata=pagetitle:{meta.title}",
    ])
    _pandoc(md, typ, [
        "typst", *[a for a in common if a != "--toc-depth=2"], "--toc-depth=1",  # the PDF lists sections only
        f"--template={ASSETS / 'report.typ'}",
        f"--variable=cx-primary:{meta.primary_color}",
        f"--variable=cx-accent:{meta.accent_color}",
        f"--variable=mainfont:{PDF_FONT}",
        *(["--variable=rtl:true"] if meta.rtl else []),
    ])
    # pandoc writes figure captions as "caption: [\n    text\n  ]"; the leading space would
    # show as a double space after "Figure 1:".
    src = typ.read_text(encoding="utf-8")
    typ.write_text(re.sub(r"caption: \[\n\s+", "caption: [", src), encoding="utf-8")
    try:
        typst.compile(str(typ), output=str(pdf), root=str(out_dir), font_paths=[str(font_dir())])
    except Exception as e:  # noqa: BLE001 - typst raises its own error types
        raise RenderError(f"typst could not compile {typ} to PDF (kept for debugging): {e}") from None
    typ.unlink()  # intermediate; kept only when typst fails
    return html, pdf


#: the PDF's text width (A4, 2 cm margins) and the tallest a chart may print, in points
PDF_TEXT_WIDTH_PT = 482.0
PDF_MAX_FIGURE_PT = {"chart": 300.0, "tall": 560.0}


def _pdf_width(svg: str, tall: bool = False) -> int | None:
    """The width (% of the text width) at which an SVG chart prints in the PDF no taller than
    :data:`PDF_MAX_FIGURE_PT` (about a third of a page; the journey map may take most of one),
    or None to print it as it is. Read from the SVG root's ``width``/``height`` in points."""
    m = re.search(r"<svg[^>]*?\swidth=\"([\d.]+)(pt)?\"[^>]*?\sheight=\"([\d.]+)(pt)?\"", svg[:2000])
    if not m:
        return None
    w, h = float(m.group(1)), float(m.group(3))
    if w <= 0 or h <= 0:
        return None
    printed_w = min(w, PDF_TEXT_WIDTH_PT)
    limit = PDF_MAX_FIGURE_PT["tall" if tall else "chart"]
    if printed_w * h / w <= limit:
        return None
    return max(65, int(100 * limit * w / h / PDF_TEXT_WIDTH_PT))  # never so small its labels blur


_QUARTO_HELP = (
    "Quarto is not installed (no `quarto` on PATH). Install it on a connected machine with "
    "`pip install quarto-cli` (or `conda install -c conda-forge quarto`, or a system Quarto "
    "from quarto.org), or render without it: `--renderer offline` produces the same HTML and "
    "PDF with the pandoc and typst wheels."
)


def render_quarto(md: Path, meta: ReportMeta) -> tuple[Path, Path]:
    """Render ``report.md`` with Quarto (``quarto render --to html`` and ``--to typst``).

    Returns ``(html_path, pdf_path)`` next to ``report.md``; raises :class:`RenderError` with
    Quarto's output if it fails or times out.
    """
    quarto = shutil.which("quarto")
    if not quarto:
        raise RenderError(_QUARTO_HELP)
    md = Path(md).resolve()
    _write_support_files(md.parent, meta)
    for to in ("html", "typst"):
        cmd = [quarto, "render", md.name, "--to", to]
        try:
            proc = subprocess.run(cmd, cwd=md.parent, capture_output=True, text=True,
                                  timeout=QUARTO_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"`{' '.join(cmd[1:])}` timed out after {QUARTO_TIMEOUT} s") from None
        if proc.returncode != 0:
            tail = (proc.stdout[-2000:] + "\n" + proc.stderr[-4000:]).strip()
            raise RenderError(f"`quarto {' '.join(cmd[1:])}` failed (exit {proc.returncode}):\n{tail}")
    html, pdf = md.with_suffix(".html"), md.with_suffix(".pdf")
    for p in (html, pdf):
        if not p.is_file():
            raise RenderError(f"quarto finished but {p} was not written")
    return html, pdf


def _resolve_renderer(renderer: str) -> str:
    if renderer not in ("auto", "quarto", "offline"):
        raise RenderError(f"renderer {renderer!r} is unknown; use auto, quarto or offline")
    if renderer == "auto":
        renderer = "quarto" if shutil.which("quarto") else "offline"
    if renderer == "quarto" and not shutil.which("quarto"):
        raise RenderError(_QUARTO_HELP)
    return renderer


def render_all(documents: list[tuple[Path, ReportMeta]], renderer: str = "auto") -> list[RenderResult]:
    """Render several documents of one folder (the report and its annex), as :func:`render` does.

    The offline renderer renders them side by side (pandoc runs as a child process and typst
    outside the interpreter, so two documents take little more than the longer one); Quarto
    renders them one after the other (one project folder). Results in ``documents`` order.
    """
    from concurrent.futures import ThreadPoolExecutor

    renderer = _resolve_renderer(renderer)
    if renderer == "quarto" or len(documents) < 2:
        return [render(md, meta, renderer) for md, meta in documents]
    support: dict[Path, ReportMeta] = {}  # each folder's files, from its first document's meta
    for md, meta in documents:
        support.setdefault(Path(md).resolve().parent, meta)
    for folder, meta in support.items():  # written once, before any document reads them
        _write_support_files(folder, meta)

    def one(doc):
        md, meta = doc
        t0 = time.perf_counter()
        html, pdf = render_offline(Path(md), meta, support=False)
        return RenderResult(html=html, pdf=pdf, renderer_used="offline", seconds=time.perf_counter() - t0)

    with ThreadPoolExecutor(max_workers=len(documents)) as pool:
        return list(pool.map(one, documents))


def render(md: Path, meta: ReportMeta, renderer: str = "auto") -> RenderResult:
    """Render ``report.md`` to HTML and PDF with ``renderer`` = ``"auto"``, ``"quarto"`` or ``"offline"``.

    ``"auto"`` uses Quarto when ``quarto`` is on PATH and the offline renderer otherwise.
    """
    renderer = _resolve_renderer(renderer)
    t0 = time.perf_counter()
    html, pdf = (render_quarto if renderer == "quarto" else render_offline)(Path(md), meta)
    seconds = time.perf_counter() - t0
    log.info("rendered %s and %s with %s in %.1f s", html.name, pdf.name, renderer, seconds)
    return RenderResult(html=html, pdf=pdf, renderer_used=renderer, seconds=seconds)
