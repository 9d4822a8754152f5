"""cxlib.report.display: escaping, number formats, tables and the display bundles notebooks publish."""

from __future__ import annotations

import base64
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pypandoc  # noqa: E402
import pytest  # noqa: E402

from cxlib.report import display  # noqa: E402
from cxlib.report.display import fmt_ci, fmt_int, fmt_num, fmt_pct, markdown_table, md_escape

XSS = "<script>alert(1)</script>"


def to_html(md: str) -> str:
    return pypandoc.convert_text(md, "html", format="markdown")


def test_md_escape_script_becomes_text():
    esc = md_escape(XSS)
    assert "<" not in esc.replace("\\<", "") and ">" not in esc.replace("\\>", "")
    html = to_html(esc)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html


@pytest.mark.parametrize(
    "text, shown",
    [
        ("a | b", "a | b"),
        ("*not bold* and __not__", "*not bold* and __not__"),
        ("line one\nline two\r\nthree", "line one line two three"),
        ("# not a heading", "# not a heading"),
        ("[link](http://x)", "[link](http://x)"),
        ("Tom & Jerry &amp;", "Tom &amp; Jerry &amp;amp;"),
        ("50% off, $5 @me ~x~ ^y^", "50% off, $5 @me ~x~ ^y^"),
        ("back\\slash", "back\\slash"),
        ("مرحبا <b>", "مرحبا &lt;b&gt;"),
    ],
)
def test_md_escape_renders_literally(text, shown):
    html = to_html(md_escape(text)).strip()
    assert html == f"<p>{shown}</p>"


def test_md_escape_missing_and_newlines():
    assert md_escape(None) == ""
    assert md_escape(float("nan")) == ""
    assert md_escape(pd.NA) == ""
    assert "\n" not in md_escape("a\nb\n\nc")
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("**x**") == "\\*\\*x\\*\\*"


def test_formatters():
    assert fmt_int(1234) == "1,234"
    assert fmt_int(1234567.4) == "1,234,567"
    assert fmt_pct(0.1234) == "12%"
    assert fmt_pct(0.1234, digits=1) == "12.3%"
    assert fmt_num(3.14159) == "3.1"
    assert fmt_num(-1234.5, digits=2) == "-1,234.50"
    assert fmt_ci(1.234, 5.678) == "[1.2,\u00a05.7]"
    for missing in (None, float("nan"), pd.NA):
        assert fmt_int(missing) == fmt_pct(missing) == fmt_num(missing) == "–"
    assert fmt_ci(None, 2) == "–"


def test_markdown_table_parses_as_html_table_with_escaped_text():
    df = pd.DataFrame({
        "Touchpoint": [XSS, "a | b", None],
        "NPS": [23.4, -5.0, math.nan],
        "n": [1234, 5, 7],
        "share": [0.1234, 0.5, None],
    })
    md = markdown_table(df, formats={"share": fmt_pct, "n": "int"})
    lines = md.splitlines()
    # text default (start), numbers right; dashes = column width (pandoc's relative widths):
    # the longest cell without its escapes ("<script>alert(1)</script>", 25), a bold header
    # word at 1.2x ("NPS" -> 4, "share" -> 6), or the longest number ("1,234"), plus 2 padding
    rule = lines[1].strip("|").split("|")
    assert [r.endswith(":") for r in rule] == [False, True, True, True]
    assert [len(r) for r in rule] == [27, 6, 7, 8]
    html = to_html(md)
    assert html.count("<table") == 1 and html.count("<tr") == 4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "<td style=\"text-align: right;\">1,234</td>" in html
    assert ">a | b</td>" in html
    assert ">12%</td>" in html and ">23.4</td>" in html and ">–</td>" in html


def test_markdown_table_rejects_unknown_format_column():
    with pytest.raises(KeyError, match="nope"):
        markdown_table(pd.DataFrame({"a": [1]}), formats={"nope": "int"})


def _shell_capture(fn):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    with capture_output() as cap:
        fn()
    return cap.outputs


def test_show_table_writes_csv_and_publishes_metadata(tmp_path):
    df = pd.DataFrame({"Touchpoint": ["Web", XSS], "NPS": [23.4, 10.0]})
    outputs = _shell_capture(lambda: display.show_table(
        df, name="nps_by_tp", caption="NPS by touchpoint", out_dir=tmp_path, note="Small bases flagged."))
    assert len(outputs) == 1
    out = outputs[0]
    meta = out.metadata["cxlib"]
    assert {k: meta[k] for k in ("kind", "name", "caption", "annex")} == {
        "kind": "table", "name": "nps_by_tp", "caption": "NPS by touchpoint", "annex": False}
    md = meta["markdown"]  # the report's pandoc Markdown rides in the metadata ...
    assert ": NPS by touchpoint {#tbl-nps_by_tp}" in md and "Small bases flagged." in md
    assert XSS not in md
    shown = out.data["text/html"]  # ... while JupyterLab shows a DataFrame, with no pandoc syntax
    assert "<table" in shown and "{#tbl-" not in shown and ":::" not in shown
    assert XSS not in shown and "&lt;script&gt;" in shown
    saved = pd.read_csv(tmp_path / "tables" / "nps_by_tp.csv")
    assert saved["Touchpoint"].tolist() == ["Web", XSS]  # raw values, not escaped


def test_show_figure_writes_csv_publishes_png_and_closes(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    data = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    outputs = _shell_capture(lambda: display.show_figure(
        fig, name="trend", caption="Trend", alt="A rising line", data=data, out_dir=tmp_path))
    assert len(outputs) == 1
    out = outputs[0]
    assert out.metadata["cxlib"] == {"kind": "figure", "name": "trend", "caption": "Trend", "alt": "A rising line",
                                     "annex": False}
    assert base64.b64decode(out.data["image/png"]).startswith(b"\x89PNG")
    assert (tmp_path / "tables" / "trend.csv").is_file()
    assert not plt.fignum_exists(fig.number)
    assert out.data["image/svg+xml"].lstrip().startswith(("<?xml", "<svg"))


def test_the_png_is_the_svg_rasterized_like_a_matplotlib_png():
    """show_figure draws once (SVG) and rasterizes it: same pixel size as matplotlib's own
    150-dpi PNG of the figure and nearly the same pixels."""
    import io

    import numpy as np
    from PIL import Image

    from cxlib.report.plots import figure_svg

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot([1, 2, 3], [3, 1, 4], lw=3)
    ax.set_title("NPS by quarter")
    direct = np.asarray(Image.open(io.BytesIO(display.figure_png(fig, dpi=150))).convert("L"), dtype=float)
    via_svg = np.asarray(Image.open(io.BytesIO(display.svg_png(figure_svg(fig), ppi=150))).convert("L"), dtype=float)
    plt.close(fig)
    assert abs(direct.shape[0] - via_svg.shape[0]) <= 2 and abs(direct.shape[1] - via_svg.shape[1]) <= 2
    h, w = min(direct.shape[0], via_svg.shape[0]), min(direct.shape[1], via_svg.shape[1])
    assert np.abs(direct[:h, :w] - via_svg[:h, :w]).mean() < 8  # grey levels 0-255: anti-aliasing only


def test_show_text_publishes_markdown():
    outputs = _shell_capture(lambda: display.show_text("**NPS** is 23"))
    assert outputs[0].data["text/markdown"] == "**NPS** is 23"
    assert outputs[0].metadata["cxlib"]["kind"] == "text"


def test_bundles_without_a_shell():
    data, meta = display.table_bundle(pd.DataFrame({"a": [1]}), name="t1", caption="Cap <x>")
    assert meta["cxlib"]["kind"] == "table" and "Cap \\<x\\>" in meta["cxlib"]["markdown"]
    assert "Cap &lt;x&gt;" in data["text/html"]
    data, meta = display.figure_bundle(b"\x89PNG fake", name="f-1", caption="c", alt="a")
    assert meta["cxlib"]["name"] == "f-1" and "image/png" in data


@pytest.mark.parametrize("bad", ["Has Caps", "../etc", "a/b", "", "x.y", "naïve", None, "-lead"])
def test_bad_names_rejected(bad, tmp_path):
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(ValueError, match="not allowed"):
        display.show_table(df, name=bad, caption="c", out_dir=tmp_path)
    fig = plt.figure()
    with pytest.raises(ValueError, match="not allowed"):
        display.show_figure(fig, name=bad, caption="c", alt="a", out_dir=tmp_path)
    assert not plt.fignum_exists(fig.number)
    assert not (tmp_path / "tables").exists()


def test_figure_needs_alt_text():
    with pytest.raises(ValueError, match="alt text"):
        display.figure_bundle(b"png", name="f", caption="c", alt=" ")


def test_wide_tables_shrink_long_text_columns_not_short_ones():
    long = "Call back within 48 hours and close the open ticket"
    df = pd.DataFrame({"Customer ref": ["ee10cd2e9c"], "Action": [long], "Driver": [long], "Owner": [long]})
    rule = markdown_table(df).splitlines()[1].strip("|").split("|")
    widths = [len(r) for r in rule]
    assert widths[0] == 12  # "ee10cd2e9c" / "Customer" (8 x 1.2 -> 10) + 2: never squeezed
    assert abs(sum(widths) - 90) <= 2  # the long-text columns gave way to fit a line (rounding)
    assert max(widths[1:]) - min(widths[1:]) <= 1 and min(widths[1:]) >= len("ticket") + 2
