"""How notebooks show results: every table, figure and generated sentence goes through here.

Each ``show_*`` call displays something an analyst sees in JupyterLab *and* tags the output
with ``{"cxlib": {...}}`` metadata, which :func:`cxlib.report.render.assemble` reads to build the
report. Customer text is escaped with :func:`md_escape` before it becomes Markdown, so it
can never turn into HTML or markup in the rendered report.
"""

from __future__ import annotations

import io
import math
import numbers
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MISSING",
    "fmt_ci",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "markdown_table",
    "md_escape",
    "show_figure",
    "show_table",
    "show_text",
]

#: What a missing number is shown as (an en dash).
MISSING = "–"

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
# Every ASCII punctuation character that means something to pandoc or Quarto Markdown.
# Pandoc's markdown (all_symbols_escapable) turns "\x" into a literal x for all of these.
_MD_SPECIALS = set("\\`*_{}[]()<>#+-.!|~^$@&:=\"'%;?/,")
_MD_SPECIALS -= set(",;?/'\"%")  # harmless in running text; keep quotes readable
_WS_RE = re.compile(r"[\r\n\t\f\v\u2028\u2029]+")


def _is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        import pandas as pd

        if x is pd.NA or x is pd.NaT:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(x, float) and math.isnan(x):
        return True
    try:
        return bool(isinstance(x, numbers.Real) and math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def md_escape(text: Any) -> str:
    """Escape any value for Markdown so it is shown literally and can never become markup.

    Backslash-escapes the Markdown specials and ``<``, ``>``, ``&``, ``|``; newlines, tabs
    and other line breaks become single spaces; ``None``/NaN/NA become ``""``.

    >>> md_escape("<b>*hi*</b> | x")
    '\\\\<b\\\\>\\\\*hi\\\\*\\\\</b\\\\> \\\\| x'
    """
    if _is_missing(text):
        return ""
    s = _WS_RE.sub(" ", str(text)).strip()
    return "".join("\\" + ch if ch in _MD_SPECIALS else ch for ch in s)


def fmt_int(x: Any) -> str:
    """Format a count with thousands separators: ``1234 -> "1,234"``; missing -> ``"–"``."""
    if _is_missing(x):
        return MISSING
    return f"{round(float(x)):,}"


def fmt_num(x: Any, digits: int = 1) -> str:
    """Format a number with ``digits`` decimals and thousands separators; missing -> ``"–"``."""
    if _is_missing(x):
        return MISSING
    return f"{float(x):,.{digits}f}"


def fmt_pct(x: Any, digits: int = 0) -> str:
    """Format a proportion as a percentage: ``0.1234 -> "12%"``; missing -> ``"–"``."""
    if _is_missing(x):
        return MISSING
    return f"{float(x) * 100:,.{digits}f}%"


def fmt_ci(lo: Any, hi: Any, digits: int = 1) -> str:
    """Format a confidence interval as ``"[lo, hi]"`` (no line break inside); missing -> ``"–"``.

    The space after the comma is a no-break space, so an interval never wraps in a table.
    """
    if _is_missing(lo) or _is_missing(hi):
        return MISSING
    return f"[{fmt_num(lo, digits)},\u00a0{fmt_num(hi, digits)}]"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"output name {name!r} is not allowed: use lower-case letters, digits, '_' or '-' "
            "(it becomes a file name under tables/ and figures/ and a cross-reference label)."
        )
    return name


_NAMED_FORMATS: dict[str, Callable[[Any], str]] = {
    "int": fmt_int,
    "pct": fmt_pct,
    "pct1": lambda x: fmt_pct(x, 1),
    "num": fmt_num,
    "num0": lambda x: fmt_num(x, 0),
    "num1": lambda x: fmt_num(x, 1),
    "num2": lambda x: fmt_num(x, 2),
    "num3": lambda x: fmt_num(x, 3),
}


def _formatter(spec: Callable[[Any], str] | str) -> Callable[[Any], str]:
    if callable(spec):
        return spec
    if spec in _NAMED_FORMATS:
        return _NAMED_FORMATS[spec]
    if isinstance(spec, str) and ("{" in spec):
        return lambda x: MISSING if _is_missing(x) else spec.format(x)
    if isinstance(spec, str):  # a format spec such as ",.2f"
        return lambda x: MISSING if _is_missing(x) else format(x, spec)
    raise TypeError(f"format {spec!r} must be a callable, a format spec or one of {sorted(_NAMED_FORMATS)}")


def _default_cell(x: Any) -> str:
    if _is_missing(x):
        return MISSING
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return fmt_int(x)
    if isinstance(x, numbers.Real):
        return fmt_num(x, 1)
    if hasattr(x, "strftime"):
        try:
            return x.strftime("%Y-%m-%d") if not getattr(x, "hour", 0) else x.strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return str(x)
    return str(x)


def _column_default(col) -> Callable[[Any], str]:
    """Float columns get one shared number of decimals (by magnitude); others _default_cell."""
    import pandas as pd

    if pd.api.types.is_float_dtype(col):
        vals = pd.to_numeric(col, errors="coerce").abs().dropna()
        top = float(vals.max()) if len(vals) else 0.0
        digits = 1 if top >= 10 else 2 if top >= 1 else 3
        return lambda x: fmt_num(x, digits)
    return _default_cell


def markdown_table(
    df,
    formats: Mapping[str, Callable[[Any], str] | str] | None = None,
    align: Mapping[str, str] | None = None,
) -> str:
    """Return ``df`` as a pandoc pipe table; every header and cell is escaped with :func:`md_escape`.

    ``formats`` maps a column to a callable (e.g. :func:`fmt_pct`), a named format (``"int"``,
    ``"pct"``, ``"pct1"``, ``"num"``, ``"num0"``..``"num3"``), a ``str.format`` template
    (``"{:.1f} pts"``) or a format spec (``",.2f"``). Numeric columns are right-aligned and
    others left-aligned unless ``align`` maps a column to ``"left"``, ``"right"`` or
    ``"center"``. The index is dropped (``reset_index()`` first to keep it).
    """
    import pandas as pd

    formats = dict(formats or {})
    align = dict(align or {})
    unknown = sorted(set(formats) - set(map(str, df.columns)))
    if unknown:
        raise KeyError(f"formats name column(s) {unknown} that the table does not have")
    cols = list(df.columns)
    header, rule, body = [], [], []
    for c in cols:
        key = str(c)
        a = align.get(key)
        if a is None:
            numeric = pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
            a = "right" if numeric else "left"
        if a not in ("left", "right", "center"):
            raise ValueError(f"align for column {key!r} must be 'left', 'right' or 'center', not {a!r}")
        header.append(md_escape(key) or " ")
        # text columns use pandoc's default alignment, i.e. the start of the line (right in RTL)
        rule.append(a)
    fmts = [(_formatter(formats[str(c)]) if str(c) in formats else _column_default(df[c])) for c in cols]
    for row in df.itertuples(index=False, name=None):
        body.append([MISSING if _is_missing(v) else (md_escape(f(v)) or " ")
                     for f, v in zip(fmts, row, strict=True)])
    # Dash counts set pandoc's relative column widths (HTML and typst) once a table is wider
    # than a line. A column gets its longest cell (capped, so long text wraps), but never less
    # than its longest unbreakable word (header words count 1.2x: they are bold), plus two for
    # the cell padding; a column narrower than a word it holds would overflow in the PDF.
    def visible(t: str) -> int:
        return len(t.replace("\\", ""))

    need, want = [], []
    for i, h in enumerate(header):
        cells = [r[i] for r in body]
        longest = max([visible(c) for c in cells] or [0])
        token = max([visible(w) for c in cells for w in c.split(" ")] or [0])  # no-break spaces hold
        word = max((math.ceil(1.2 * visible(w)) for w in h.split()), default=3)
        need.append(max(3, word, token) + 2)
        want.append(max(need[-1], min(longest, 30) + 2))
    # A line holds about 90 characters of table text: when the wish list is wider, the columns
    # of long text give way (down to their longest word), never the short fixed ones.
    widths, excess = want, sum(want) - max(90, sum(need))
    if excess > 0:
        slack = [w - n for w, n in zip(want, need, strict=True)]
        total = sum(slack)
        widths = [w - round(excess * s / total) for w, s in zip(want, slack, strict=True)]
    rule = [{"left": "-" * w, "right": "-" * (w - 1) + ":", "center": ":" + "-" * (w - 2) + ":"}[a]
            for a, w in zip(rule, widths, strict=True)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


# --- publishing ---------------------------------------------------------------------------


def _publish(data: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Send one display_data bundle to the front end (JupyterLab / papermill's notebook)."""
    from IPython.display import display

    display(data, raw=True, metadata=metadata)


def _write_csv(df, out_dir: str | Path | None, name: str) -> Path | None:
    if out_dir is None or df is None:
        return None
    tables = Path(out_dir) / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    path = tables / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


def table_bundle(df, *, name: str, caption: str, formats=None, note: str | None = None,
                 align=None, annex: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the (data, metadata) display bundle :func:`show_table` publishes (no side effects).

    JupyterLab shows the table as a DataFrame (HTML, with its caption); the report's pandoc
    Markdown rides in the metadata (``cxlib.markdown``), so no pandoc syntax shows in a notebook.
    """
    import html as _html

    _check_name(name)
    parts = [markdown_table(df, formats=formats, align=align), "", f": {md_escape(caption)} {{#tbl-{name}}}"]
    if note:
        parts += ["", f"::: {{.table-note}}\n{note}\n:::"]
    text = "\n".join(parts) + "\n"
    shown = df.to_html(index=False, escape=True, na_rep=MISSING) if hasattr(df, "to_html") else _html.escape(str(df))
    data = {"text/html": f"<p><b>{_html.escape(str(caption))}</b></p>{shown}", "text/plain": f"{caption}\n{df!r}"}
    meta = {"cxlib": {"kind": "table", "name": name, "caption": caption, "markdown": text, "annex": bool(annex)}}
    return data, meta


def show_table(df, *, name: str, caption: str, out_dir: str | Path | None = None,
               formats=None, note: str | None = None, align=None, data=None, annex: bool = False) -> None:
    """Show ``df`` as a captioned report table (and save it as ``out_dir/tables/{name}.csv``).

    ``caption`` is plain text (escaped here); ``note`` is Markdown written by the notebook
    (escape any customer text in it with :func:`md_escape`). ``formats``/``align`` are as in
    :func:`markdown_table`. The CSV holds ``data`` (the raw result behind a formatted table)
    when given, else ``df``.
    """
    bundle, meta = table_bundle(df, name=name, caption=caption, formats=formats, note=note, align=align,
                                annex=annex)
    _write_csv(df if data is None else data, out_dir, name)
    _publish(bundle, meta)


def figure_png(fig, dpi: int = 150) -> bytes:
    """Render a matplotlib figure to PNG bytes (``bbox_inches="tight"``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


#: the typst page that rasterizes one SVG at its own size (``sys.inputs.svg``)
_SVG_PAGE = '#set page(width: auto, height: auto, margin: 0pt)\n#image(bytes(sys.inputs.svg), format: "svg")\n'


def svg_png(svg: str, ppi: int = 150) -> bytes:
    """Rasterize an SVG to PNG bytes at ``ppi`` (typst's SVG renderer, resvg): the same pixels
    size as ``figure_png(fig, dpi=ppi)`` of the figure the SVG came from, without drawing the
    figure a second time (a matplotlib draw is most of a chart's cost)."""
    import typst

    return typst.compile(_SVG_PAGE.encode(), format="png", ppi=ppi, sys_inputs={"svg": svg})


def figure_bundle(png: bytes, *, name: str, caption: str, alt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Build the (data, metadata) display bundle :func:`show_figure` publishes (no side effects)."""
    import base64

    _check_name(name)
    if not alt or not str(alt).strip():
        raise ValueError(f"figure {name!r} needs alt text describing what it shows (for screen readers)")
    data = {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": f"<figure {name}: {caption}>"}
    meta = {"cxlib": {"kind": "figure", "name": name, "caption": caption, "alt": alt}}
    return data, meta


def show_figure(fig, *, name: str, caption: str, alt: str, data=None,
                out_dir: str | Path | None = None, annex: bool = False) -> None:
    """Show a matplotlib figure as a captioned report figure, then close it.

    The figure is drawn once, to SVG (the report uses it: vector text stays legible at phone
    width); the PNG that JupyterLab shows is that SVG rasterized at 150 ppi (:func:`svg_png`);
    ``alt`` describes the figure for screen readers;
    ``data`` (the DataFrame plotted) is saved as ``out_dir/tables/{name}.csv`` when ``out_dir`` is
    given, so every chart's numbers ship with the report.
    """
    import matplotlib.pyplot as plt

    from cxlib.report.plots import figure_svg

    try:
        _check_name(name)
        svg = figure_svg(fig)
        bundle, meta = figure_bundle(svg_png(svg), name=name, caption=caption, alt=alt)
        bundle["image/svg+xml"] = svg
        meta["cxlib"]["annex"] = bool(annex)
        _write_csv(data, out_dir, name)
    finally:
        plt.close(fig)
    _publish(bundle, meta)


_PANDOC_ONLY = re.compile(r"\s*\{#[\w-]+(?:\s+\.[\w-]+)*\}|^:{3,}.*$|\[([^\]]*)\]\{\.[^}]*\}", re.MULTILINE)


def plain_markdown(markdown: str) -> str:
    """The Markdown a notebook shows: the report's pandoc extras (heading ids, fenced divs, classed
    spans) taken out, their text kept."""
    return _PANDOC_ONLY.sub(lambda m: m.group(1) or "", markdown).strip()


def show_text(markdown: str, *, annex: bool = False) -> None:
    """Show generated narrative (Markdown, customer text already escaped by the caller).

    ``annex`` sends it to the analyst annex instead of the stakeholder report.
    """
    if not isinstance(markdown, str):
        raise TypeError("show_text takes a Markdown string; format numbers with fmt_* first")
    shown = plain_markdown(markdown)
    _publish({"text/markdown": shown, "text/plain": shown},
             {"cxlib": {"kind": "text", "markdown": markdown, "annex": bool(annex)}})


def note_markdown(text: str, kind: str = "info", language: str = "en") -> str:
    """A boxed note (:func:`cxlib.report.blocks.note_box`): ``kind`` "failed" for a part that could
    not be produced, "info" or "warning" for a neutral note. ``text`` is Markdown (escape customer
    text first)."""
    from cxlib.report.blocks import Md, note_box
    from cxlib.report.i18n import Translator

    if kind not in ("info", "failed", "warning"):
        raise ValueError(f"note kind must be info, failed or warning, not {kind!r}")
    return note_box(Md(text), kind="missing" if kind == "failed" else "info", tr=Translator(language))


def show_note(text: str, kind: str = "info", language: str | None = None, *, annex: bool = False) -> None:
    """Show a boxed note in the report (see :func:`note_markdown`); ``language`` defaults to the
    language of the run open in this kernel."""
    md = note_markdown(text, kind, language or _LANGUAGE[0])
    _publish({"text/markdown": plain_markdown(md), "text/plain": text},
             {"cxlib": {"kind": "note", "markdown": md, "annex": bool(annex)}})


#: the report language of the run open in this kernel (set by cxlib.start)
_LANGUAGE = ["en"]


def show_failure(analysis: str, error: str, language: str = "en") -> None:
    """The boxed note shown where an analysis could not be produced from the data.

    The reader sees which part is missing and that the run log has the details; the error
    itself (which may quote data) goes to the log, not the report.
    """
    from cxlib.report.i18n import Translator

    tr = Translator(language)
    title = tr("an." + analysis) if tr.has("an." + analysis) else md_escape(analysis)
    show_note(tr("failed.note", what=title), "failed", language)
