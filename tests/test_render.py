"""assemble() and the offline renderer on a synthetic executed notebook."""

from __future__ import annotations

import base64
import os
import re
import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import (  # noqa: E402
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
)

from cxlib.exceptions import RenderError  # noqa: E402
from cxlib.report import (
    display,  # noqa: E402
    render,
)
from cxlib.report.render import ReportMeta  # noqa: E402

SECRET = "SECRET_CONN_STRING"


def _figure_output(name="nps_trend", caption="NPS by quarter", alt="Line chart of NPS rising"):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2, 3, 4], [10, 15, 19, 23.4], marker="o")
    ax.set_title("NPS")
    png = display.figure_png(fig)
    plt.close(fig)
    data, meta = display.figure_bundle(png, name=name, caption=caption, alt=alt)
    return new_output("display_data", data=data, metadata=meta)


def _table_output(text_col, caption="NPS by touchpoint"):
    df = pd.DataFrame({"Touchpoint": ["Website", text_col, "App"],
                       "NPS": [23.4, -5.0, 41.25], "n": [1234, 88, 310]})
    data, meta = display.table_bundle(df, name="nps_tp", caption=caption,
                                      note="Bases under 30 are flagged.")
    return new_output("display_data", data=data, metadata=meta)


def make_notebook(path, *, language="en", error=False):
    """Write a synthetic executed notebook like papermill leaves behind."""
    ar = language == "ar"
    injected = new_code_cell(f'conn = "{SECRET}"\nclient = "demo"', metadata={"tags": ["injected-parameters"]})
    injected.outputs = [new_output("stream", name="stdout", text=f"{SECRET}\n")]
    heading = new_markdown_cell(
        "# نقاط الاتصال\n\nتقيس هذه الفقرة رضا العملاء عبر رحلة العميل." if ar
        else "# Touchpoints\n\nThis paragraph explains how touchpoints were scored.")
    results = new_code_cell("display.show_figure(fig, ...)\ndisplay.show_table(df, ...)\nprint('noise-print')\n1+1")
    results.outputs = [
        _figure_output(caption="صافي نقاط الترويج حسب الربع" if ar else "NPS by quarter"),
        _table_output("<script>alert(1)</script>" if not ar else "التطبيق <script>alert(1)</script>"),
        new_output("stream", name="stdout", text="noise-print\n"),
        new_output("stream", name="stderr", text="UserWarning: noise-warning\n"),
        new_output("execute_result", data={"text/plain": "noise-plain-2"}, execution_count=3),
        new_output("display_data", data={"text/html": "<b>noise-html</b>", "text/plain": "x"}),
    ]
    if error:
        results.outputs.append(new_output("error", ename="ValueError", evalue="bad column", traceback=[]))
    summary = new_code_cell("display.show_text(summary)", metadata={"tags": ["exec-summary"]})
    summary_text = ("# الملخص التنفيذي\n\nصافي نقاط الترويج الرئيسي +23.4" if ar
                    else "# Executive summary\n\n**Headline NPS +23.4** (up 3.1 points).")
    summary.outputs = [new_output("display_data", data={"text/markdown": summary_text},
                                  metadata={"cxlib": {"kind": "text"}})]
    nb = new_notebook(cells=[injected, heading, results, summary])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def meta_for(language="en", logo=None):
    if language == "ar":
        return ReportMeta(title="تقرير تجربة العملاء", subtitle="العميل التجريبي", date="2026Q3",
                          language="ar", logo=logo)
    return ReportMeta(title="CX report: Demo & Co", subtitle="Demo client", date="2026Q3", logo=logo)


def test_assemble_orders_and_filters(tmp_path):
    nb = make_notebook(tmp_path / "01_touchpoints.ipynb")
    a = render.assemble_report([nb], tmp_path / "out", meta_for())
    md = a.path.read_text(encoding="utf-8")
    body = md.split("\n---\n", 1)[1]
    # cells tagged exec-summary move up, inside the .first-screen div the renderers draw first
    assert body.lstrip().startswith("::::::: {.first-screen}\n\n# Executive summary")
    assert body.index(":::::::\n\n# Touchpoints") > body.index("Headline NPS")
    for bad in (SECRET, "noise-print", "noise-warning", "noise-plain", "noise-html", "show_table", "conn ="):
        assert bad not in md
    assert "![NPS by quarter](figures/nps_trend.png){#fig-nps_trend fig-alt=" in md
    assert (tmp_path / "out" / "figures" / "nps_trend.png").read_bytes().startswith(b"\x89PNG")
    assert r"\<script\>alert\(1\)\</script\>" in md
    assert "{#tbl-nps_tp}" in md
    assert a.dropped["stream:stdout"] == 1 and a.dropped["stream:stderr"] == 1
    assert sum(a.dropped.values()) == 4
    assert a.skipped_parameter_cells == 1
    # the Quarto options live in the front matter
    assert "embed-resources: true" in md and "typst:" in md and "lang: en" in md


def test_untagged_image_gets_generated_name(tmp_path):
    cell = new_code_cell("plt.show()")
    png = base64.b64decode(_figure_output()["data"]["image/png"])
    cell.outputs = [new_output("display_data", data={"image/png": base64.b64encode(png).decode()})]
    nb = new_notebook(cells=[cell])
    nbformat.write(nb, tmp_path / "x.ipynb")
    md = render.assemble([tmp_path / "x.ipynb"], tmp_path / "out", meta_for()).read_text()
    assert re.search(r"!\[\]\(figures/x-cell1-1\.png\)", md)
    assert (tmp_path / "out" / "figures" / "x-cell1-1.png").is_file()


def test_error_output_raises_naming_the_cell(tmp_path):
    nb = make_notebook(tmp_path / "02_drivers.ipynb", error=True)
    with pytest.raises(RenderError, match=r"02_drivers\.ipynb cell 3.*ValueError: bad column"):
        render.assemble([nb], tmp_path / "out", meta_for())


def test_quarto_requested_but_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    md = tmp_path / "report.md"
    md.write_text("# x\n")
    with pytest.raises(RenderError, match="(?s)quarto-cli.*--renderer offline"):
        render.render(md, meta_for(), renderer="quarto")


def test_bad_colour_and_language_refused():
    with pytest.raises(RenderError, match="hex colour"):
        ReportMeta(title="x", primary_color="red;}</style>")
    with pytest.raises(RenderError, match="language"):
        ReportMeta(title="x", language="fr")


def _pdf_text(path):
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return len(reader.pages), "\n".join(p.extract_text() or "" for p in reader.pages)


@pytest.mark.slow
def test_render_offline_english(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)  # "auto" must pick offline here
    logo = tmp_path / "logo.png"
    logo.write_bytes(base64.b64decode(_figure_output()["data"]["image/png"]))
    nb = make_notebook(tmp_path / "01_touchpoints.ipynb")
    meta = meta_for(logo=logo)
    md = render.assemble([nb], tmp_path / "out", meta)
    res = render.render(md, meta)
    assert res.renderer_used == "offline"
    html = res.html.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert 'src="figures/' not in html and "<script" not in html.lower().replace("&lt;script", "")
    assert 'nav id="TOC"' in html
    assert "Headline NPS +23.4" in html
    # the executive summary is drawn before the contents, and is no longer in the body
    assert html.index('class="first-screen"') < html.index('nav id="TOC"')
    assert "Headline NPS" not in html.split('<main id="content">', 1)[1]
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert SECRET not in html and "noise-print" not in html
    assert 'alt="Line chart of NPS rising"' in html
    assert 'dir="rtl"' not in html
    pages, text = _pdf_text(res.pdf)
    assert pages >= 1
    assert "Headline NPS" in text
    assert SECRET not in text


@pytest.mark.slow
def test_render_offline_arabic(tmp_path):
    nb = make_notebook(tmp_path / "01_touchpoints.ipynb", language="ar")
    meta = meta_for("ar")
    md = render.assemble([nb], tmp_path / "out", meta)
    html_path, pdf_path = render.render_offline(md, meta)
    html = html_path.read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "الملخص التنفيذي" in html
    pages, text = _pdf_text(pdf_path)
    assert pages >= 1
    arabic = re.findall(r"[\u0600-\u06FF\uFB50-\uFDFF\uFE70-\uFEFF]", text)
    assert len(arabic) > 20, text[:500]


@pytest.mark.slow
def test_render_all_side_by_side_gives_what_one_at_a_time_gives(tmp_path, monkeypatch):
    """The report and its annex rendered side by side: the same HTML and PDF text as each
    rendered alone, in the order asked."""
    from dataclasses import replace

    monkeypatch.setattr(shutil, "which", lambda name: None)
    docs = {}
    for run in ("alone", "together"):
        out = tmp_path / run
        nb = make_notebook(tmp_path / f"01_{run}.ipynb")
        md = render.assemble([nb], out, meta_for())
        annex = shutil.copy(md, out / "annex.md")
        docs[run] = [(md, meta_for()), (annex, replace(meta_for(), title="Annex"))]
    alone = [render.render(md, meta) for md, meta in docs["alone"]]
    cwd = os.getcwd()
    together = render.render_all(docs["together"])
    assert os.getcwd() == cwd  # pandoc runs in each document's folder without moving the process
    assert [r.html.name for r in together] == ["report.html", "annex.html"]
    for a, b in zip(alone, together, strict=True):
        assert b.renderer_used == "offline"
        assert a.html.read_text(encoding="utf-8") == b.html.read_text(encoding="utf-8")
        assert _pdf_text(a.pdf) == _pdf_text(b.pdf)
    assert "Annex" in together[1].html.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto is not installed on this machine")
def test_render_quarto_same_source(tmp_path):
    """On machines with Quarto: the same report.md renders through Quarto to both outputs."""
    nb = make_notebook(tmp_path / "01_touchpoints.ipynb")
    meta = meta_for()
    md = render.assemble([nb], tmp_path / "out", meta)
    res = render.render(md, meta, renderer="auto")
    assert res.renderer_used == "quarto"
    html = res.html.read_text(encoding="utf-8")
    assert "Headline NPS +23.4" in html and "&lt;script&gt;" in html and SECRET not in html
    assert 'src="figures/' not in html  # embed-resources: one self-contained file
    pages, text = _pdf_text(res.pdf)
    assert pages >= 1 and "Headline NPS" in text


@pytest.mark.slow
def test_customer_quotes_are_escaped_and_redacted_in_the_rendered_html(tmp_path):
    """The real quote path (representative_quotes -> quotes_markdown -> assemble -> pandoc):
    tags arrive as text, e-mails, phone numbers and cards as placeholders."""
    from cxlib.report import tables
    from cxlib.voice import coding

    verb = pd.DataFrame({
        "verbatim_id": ["V1", "V2", "V3"], "source": "survey", "touchpoint": "delivery", "speaker": None,
        "language": ["en", "en", "ar"],
        "text": ["My order was late again <script>alert(1)</script> write to me at sara.k@example.com",
                 "Late delivery, call me on +966 55 123 4567 or card 4111 1111 1111 1111 please",
                 "الطلب متأخر جدا، رقمي 0551234567"],
    })
    coded = pd.DataFrame({"verbatim_id": ["V1", "V2", "V3"], "code": "late_delivery", "theme": "Delivery",
                          "valence": "negative"})
    book = pd.DataFrame({"code": ["late_delivery"], "description": ["Order arrived late <b>bold</b>"]})
    md_text = tables.quotes_markdown(["late_delivery"], lambda c: coding.representative_quotes(verb, coded, c, n=3),
                                     type("Book", (), {"table": book})())
    cell = new_code_cell("show_text(...)")
    cell.outputs = [new_output("display_data", data={"text/markdown": md_text, "text/plain": ""},
                               metadata={"cxlib": {"kind": "text"}})]
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Voice"), cell]), tmp_path / "v.ipynb")
    meta = meta_for()
    html = render.render(render.assemble([tmp_path / "v.ipynb"], tmp_path / "out", meta), meta, "offline").html
    page = html.read_text(encoding="utf-8")
    body = page.split("<body")[1]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body and "<b>bold</b>" not in body
    assert "sara.k@example.com" not in body and "[email]" in body
    assert "123 4567" not in body and "0551234567" not in body and body.count("[phone]") == 2
    assert "4111" not in body and "[card]" in body
    assert "الطلب متأخر جدا" in body  # the Arabic quote itself survives
