"""The release gate: planted personal data is found in every kind of stakeholder file, with
its file, kind and location and a redacted excerpt; a clean report folder has no hit."""

from __future__ import annotations

import base64
import json
import re

import pytest
import typst

from cxlib.paths import ROOT
from cxlib.report import gate

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
CUSTOMER_IDS = ["C00042", "C00043", "42", "7"]  # "42" and "7" are too short to be scanned

SVG_WITH_PHONE = (
    '<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="2">Call +966 55 123 4567</text></svg>'
)
SVG_CLEAN = '<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="2">NPS +14 (n = 740)</text></svg>'


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _png_uri() -> str:
    return "data:image/png;base64," + base64.b64encode(PNG).decode()


def _html(planted: bool) -> str:
    lines = [
        "<!doctype html>",  # 1
        "<html><head><title>Demo report</title></head><body>",  # 2
        "<h1>Customer experience, 2026Q3</h1>",  # 3
        ("<p>Quote: &ldquo;call me on 056.777.8899&rdquo;</p>" if planted  # 4
         else "<p>Quote: &ldquo;call me on [phone]&rdquo;, NPS +14 (p = 0.006)</p>"),
        (f'<img alt="photo sent by ahmed&#64;example.com" src="{_png_uri()}">' if planted  # 5
         else f'<img alt="NPS by segment, 2026-05-12 to 2026-08-31" src="{_png_uri()}">'),
        ('<span title="customer C00042">at risk</span>' if planted  # 6
         else '<span title="customer 42 of 7 segments">at risk</span>'),
        ('<a href="file:///home/analyst/cx/report.html">source</a>' if planted  # 7
         else '<a href="https://example.com/home/report.html">source</a>'),
        f'<img alt="chart" src="{_svg_uri(SVG_WITH_PHONE if planted else SVG_CLEAN)}">',  # 8
        "<table><tr><td>+14</td><td>229</td><td>-37</td><td>1,250.00 SAR</td></tr></table>",  # 9
        "</body></html>",  # 10
    ]
    return "\n".join(lines)


def _markdown(planted: bool) -> str:
    return "\n".join([
        "# Executive summary",  # 1
        "| KPI | This period | Change |",  # 2
        "|---|---|---|",  # 3
        "| NPS | \\+14\\.3 | \\-11\\.2 |",  # 4
        ("> transfer to SA03 8000 0000 6080 1016 7519 please" if planted  # 5
         else "> transfer to [iban] please"),
        ("Data read from /home/analyst/cx/data/demo/customers.csv" if planted  # 6
         else "Data read from data/demo/customers.csv on 12/05/2026 at 10:30"),
        ("Call \\(053\\) 444\\-5566" if planted else "Call the store"),  # 7
    ])


def _csv(planted: bool) -> str:
    rows = ["code,theme,n,share,example"]
    rows.append("late_delivery,Delivery,120,0.04739652870493992,waited 5 days")
    rows.append("card_declined,Payment,12,61.29032258064516,"
                + ('"paid with 4111 1111 1111 1111"' if planted else '"paid with [card]"'))
    rows.append("C00042,Support,3,0.1,x" if planted else "42,Support,3,0.1,x")
    return "\n".join(rows) + "\n"


def _pdf(planted: bool) -> bytes:
    second = "Call me on +966 55 123 4567 please." if planted else "Call the store please."
    source = (
        '#set page(width: 12cm, height: auto)\n'
        'Customer experience report, 2026Q3. NPS +14 (95% CI +8 to +20).\n\n'
        '#table(columns: 4, [Value Seekers], [+14], [229], [−37], [Families], [+16], [166], [−0])\n'
        f'#pagebreak()\n{second}\n'
    )
    return typst.compile(source.encode(), format="pdf")


def _json(planted: bool) -> str:
    value = "call 0551234567" if planted else "call the store"
    return json.dumps({"kpis": {"nps": 14.3, "n": 740},
                       "quotes": [{"text": "ok"}, {"text": value}]}, indent=1)


def _make_report(folder, planted: bool):
    (folder / "tables").mkdir(parents=True)
    (folder / "figures").mkdir()
    (folder / "report.html").write_text(_html(planted), encoding="utf-8")
    (folder / "report.md").write_text(_markdown(planted), encoding="utf-8")
    (folder / "tables" / "themes.csv").write_text(_csv(planted), encoding="utf-8")
    (folder / "report.pdf").write_bytes(_pdf(planted))
    (folder / "figures" / "nps.png").write_bytes(PNG)
    (folder / "figures" / "data.json").write_text(_json(planted), encoding="utf-8")
    notes = (f"built in {ROOT}/reports\nshared from /data/clients/acme/raw" if planted
             else "built from the demo data\nsee tables/themes.csv")
    (folder / "notes.txt").write_text(notes, encoding="utf-8")
    if planted:
        (folder / "export_0551234567.txt").write_text("nothing here\n", encoding="utf-8")
    return folder


EXPECTED = {
    ("report.html", "phone", "line 4"),
    ("report.html", "email", "line 5"),
    ("report.html", "customer_id", "line 6"),
    ("report.html", "absolute_path", "line 7"),
    ("report.html", "phone", "line 8, embedded image/svg+xml, line 1"),
    ("report.md", "iban", "line 5"),
    ("report.md", "absolute_path", "line 6"),
    ("report.md", "phone", "line 7"),
    ("tables/themes.csv", "card", "line 3"),
    ("tables/themes.csv", "customer_id", "line 4"),
    ("report.pdf", "phone", "page 2"),
    ("figures/data.json", "phone", "quotes[1].text, line 1"),
    ("notes.txt", "absolute_path", "line 1"),
    ("notes.txt", "absolute_path", "line 2"),
    ("export_0551234567.txt", "phone", "file name"),
}
PLANTED_DIGITS = ["0567778899", "966551234567", "4111111111111111", "0534445566", "0551234567",
                  "80000000608010167519"]
RAW = ["056.777.8899", "ahmed@example.com", "C00042", "/home/analyst", "+966 55 123 4567",
       "SA03 8000", "(053) 444", "4111 1111", "0551234567", "/data/clients"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = _make_report(tmp_path_factory.mktemp("planted"), planted=True)
    return gate.scan_outputs(folder, customer_ids=CUSTOMER_IDS, forbidden_paths=["/data/clients/acme"])


def test_every_planted_item_is_found_where_it_is(planted):
    assert {(h.file, h.kind, h.location) for h in planted} == EXPECTED
    assert len(planted) == len(EXPECTED)


def test_excerpts_never_repeat_what_was_found(planted):
    for h in planted:
        assert not any(raw in h.excerpt for raw in RAW), h
        digits = re.sub(r"\D", "", h.excerpt)
        assert not any(d in digits for d in PLANTED_DIGITS), h
    html_phone = next(h for h in planted if (h.file, h.location) == ("report.html", "line 4"))
    assert html_phone.excerpt == "Quote: “call me on [phone]”"
    path = next(h for h in planted if (h.file, h.location) == ("report.html", "line 7"))
    assert path.excerpt == "file://…"


def test_format_hits_names_file_location_and_kind(planted):
    message = gate.format_hits(planted)
    assert message.startswith("15 items that must not reach stakeholders")
    assert "report.html line 4: phone number ('Quote: “call me on [phone]”')" in message
    assert "report.pdf page 2: phone number" in message
    assert "tables/themes.csv line 4: customer id ('[customer],Support,3,0.1,x')" in message
    short = gate.format_hits(planted, limit=2)
    assert short.splitlines()[-1] == "  ... and 13 more"
    assert gate.format_hits([]) == "no personal data, customer ids or absolute paths found"


def test_clean_report_has_no_hit(tmp_path):
    folder = _make_report(tmp_path / "clean", planted=False)
    assert gate.scan_outputs(folder, customer_ids=CUSTOMER_IDS, forbidden_paths=["/data/clients/acme"]) == []


def test_pdf_metadata_is_read_but_its_dates_are_not(tmp_path):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.add_metadata({"/Title": "Report for ahmed@example.com",
                         "/ModDate": "D:20261123203939Z", "/CreationDate": "D:41111111111111Z"})
    with open(tmp_path / "r.pdf", "wb") as f:
        writer.write(f)
    assert [(h.kind, h.location, h.excerpt) for h in gate.scan_outputs(tmp_path)] == [
        ("email", "PDF metadata", "/Title Report for [email]")]


def test_not_scannable_lists_binary_files_and_embedded_images(tmp_path):
    folder = _make_report(tmp_path / "clean", planted=False)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    assert gate.not_scannable(folder) == [
        "broken.pdf (PDF text could not be extracted)",
        "figures/nps.png (binary)",
        "report.html (1 embedded binary image)",
    ]


def test_scan_text_one_line():
    (hit, excerpt), = gate.scan_text("see /tmp/run-1/report.html for ahmed")
    assert hit.kind == "absolute_path" and excerpt == "see /tmp/… for ahmed"
    assert gate.scan_text("NPS +14, 1,250 SAR, 12/05/2026, version 8.4.28") == []


def test_notebook_outputs_images_and_cell_ids_are_not_read_as_numbers(tmp_path):
    nb = {"cells": [{"id": "12345678", "cell_type": "code", "source": ["x = 1\n"],
                     "outputs": [{"data": {"image/png": base64.b64encode(PNG * 40).decode(),
                                           "text/plain": ["<Figure>"]}}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "a.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert gate.scan_outputs(tmp_path) == []
    assert gate.not_scannable(tmp_path) == ["a.ipynb (1 embedded binary image)"]
    nb["cells"][0]["source"] = ["# call 0551234567\n"]
    (tmp_path / "a.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert [(h.kind, h.location) for h in gate.scan_outputs(tmp_path)] == [
        ("phone", "cells[0].source, line 1")]


def test_counts_in_table_cells_are_not_phones_but_phones_in_cells_are(tmp_path):
    """A CSV cell 12568187 (rows in a big client's table) is a count; 0551234567 or +966... is a phone."""
    (tmp_path / "quality.csv").write_text(
        "table,rows,share\nweb_events,12568187,0.35\nsurvey,966551234,1\n", encoding="utf-8")
    assert gate.scan_outputs(tmp_path) == []
    (tmp_path / "quality.csv").write_text(
        "table,contact\nweb_events,0551234567\nsurvey,+966 55 123 4567\n", encoding="utf-8")
    assert [(h.kind, h.location) for h in gate.scan_outputs(tmp_path)] == [
        ("phone", "line 2"), ("phone", "line 3")]
    # an in-page SVG reference is not a word; an attribute with text still is
    (tmp_path / "quality.csv").unlink()
    (tmp_path / "chart.svg").write_text(
        '<svg><use xlink:href="#m1894590619" x="1"/><a href="mailto:ahmed@example.com">x</a></svg>',
        encoding="utf-8")
    assert [h.kind for h in gate.scan_outputs(tmp_path)] == ["email"]
