"""End to end: the runner executes every notebook on the demo params and renders the report.

This is the notebook test (every notebook under papermill with the demo params) and the
report test (HTML sections and headline, PDF pages and headline, manifest hashes) in one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from pypdf import PdfReader

from cxlib import paths
from cxlib.__main__ import main
from cxlib.exceptions import NotebookError
from cxlib.report import runner

pytestmark = pytest.mark.slow

SECTIONS = ["Executive summary", "Data and method", "Who the customers are", "Quantitative CX",
            "Churn and at-risk customers", "Voice of the customer", "The journey and touchpoint gaps", "SWOT",
            "Recommendations"]
ANNEX = ["Appendix", "Codebook", "Quantitative CX: full tables", "Churn: full tables and model checks"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    result = runner.run_report("demo", renderer="offline", reports_dir=out, quiet=True)
    return result


def headline_nps(period: str) -> int:
    """NPS for the period computed straight from the raw file (independent of cxlib.quant.metrics)."""
    r = pd.read_csv(paths.DATA_DIR / "demo" / "survey_responses.csv", parse_dates=["response_time"])
    r = r[(r["survey_type"] == "relationship") & r["nps"].notna()]
    r = r[r["response_time"].dt.to_period("Q").astype(str) == period]
    return round(100 * ((r["nps"] >= 9).mean() - (r["nps"] <= 6).mean()))


def analyst_dir(report) -> Path:
    return report.output_dir.parent / "analyst" / report.output_dir.name


def test_report_outputs(report):
    d = report.output_dir
    assert report.period == "2026Q3" and report.renderer == "offline" and report.failed == []
    for f in ["report.html", "report.pdf", "manifest.json"]:
        assert (d / f).is_file(), f
    a = analyst_dir(report)
    for f in ["run.log", "source/report.md", "at_risk_full.csv"]:  # the analyst side
        assert (a / f).is_file(), f
    assert sorted(p.name for p in (a / "notebooks").glob("*.ipynb")) == [p.name for p in runner.notebooks()]
    assert not (d / "notebooks").exists() and not (d / "run.log").exists() and not (d / "report.md").exists()
    assert {"kpi_tiles.csv", "ipa.csv", "detractor_themes.csv", "funnel.csv", "swot.csv", "at_risk_by_driver.csv",
            "churn_model.csv", "segment_usefulness.csv", "journey_map.csv", "key_drivers.csv",
            "journey_questions.csv"} <= {
        p.name for p in (d / "tables").glob("*.csv")}
    # published by an atomic switch of a link: the period name points at one finished run folder
    assert d.is_symlink() and Path(d.resolve()).parent.parent.name == ".runs"
    assert len([p for p in (d.parent / ".runs").iterdir()]) == 1, "stale run folders left behind"


def test_html_has_sections_headline_and_no_code(report):
    html = (report.output_dir / "report.html").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert s in html, s
    annex = (report.output_dir / "annex.html").read_text(encoding="utf-8")
    for s in ANNEX:
        assert s in annex and s not in html, s
    assert "annex.html" in html  # the report points to its annex
    assert html.index("Executive summary") < html.index("Data and method")
    nps = headline_nps(report.period)
    assert f"NPS is {nps:+d} in {report.period}" in html.replace("−", "-")
    assert 'src="figures/' not in html and "data:image/svg+xml" in html
    assert "open_run" not in html and "params_file" not in html and "db_path" not in html
    assert 'id="TOC"' in html or "toc" in html.lower()
    # no Markdown escape shows through (a caption escaped twice read "checkout\\_start")
    for doc in (html, annex):
        text = re.sub(r"<(script|style)\b.*?</\1>", "", doc, flags=re.S)
        assert not re.findall(r"\\[_*#\[\]`]", text), re.findall(r".{0,30}\\[_*#\[\]`].{0,30}", text)[:3]
    assert "checkout_start and purchase" in html
    # the SWOT's planted items: the grid shows three per quadrant, the annex every item
    planted = ["Delivery matters to customers but underperforms", "Detractors raise Late delivery",
               "Value Seekers: NPS fell significantly", "FastCart is taking a growing share",
               "In-store performs well", "mobile users abandon the funnel"]
    for text in planted:
        assert text in annex, text
    assert sum(text in html for text in planted) >= 4


def test_stakeholder_folder_holds_no_customer_id_no_personal_data_and_no_absolute_path(report):
    from cxlib.report import gate

    d = report.output_dir
    ids = set(pd.read_csv(paths.DATA_DIR / "demo" / "customers.csv")["customer_id"])
    assert gate.scan_outputs(d, customer_ids=ids, forbidden_paths=[paths.ROOT]) == []
    stake = pd.read_csv(d / "tables" / "at_risk_by_driver.csv")
    assert len(stake) > 0 and not ({"customer_id", "customer_ref"} & set(stake.columns))
    for f in d.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".csv", ".json", ".svg"):
            text = f.read_text(encoding="utf-8", errors="replace")
            assert str(paths.ROOT) not in text, f
            assert not any(i in text for i in ids if len(i) >= 6), f
    full = pd.read_csv(analyst_dir(report) / "at_risk_full.csv")
    assert set(full["customer_id"]) <= ids and len(full) >= 1


def test_pdf_has_pages_and_headline(report):
    pdf = PdfReader(str(report.output_dir / "report.pdf"))
    assert len(pdf.pages) >= 5
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages[:4])
    nps = headline_nps(report.period)
    assert f"NPS is {nps:+d}" in text.replace("−", "-")


@pytest.mark.parametrize("which", ["en", "ar"])
def test_stakeholder_pdf_is_short_and_opens_with_the_answer(which, report, report_ar):
    """Issue 12: the stakeholder PDF within 14 pages; page 1 holds the KPI tiles (NPS, CSAT, CES
    by name), the top findings and the top actions before the contents; every summary claim
    carries its base."""
    r = report if which == "en" else report_ar
    pdf = PdfReader(str(r.output_dir / "report.pdf"))
    assert len(pdf.pages) <= 14, len(pdf.pages)
    first = pdf.pages[0].extract_text() or ""
    # the metric names: NPS, CSAT, CES (in Arabic their Arabic names, whose words pypdf keeps whole)
    for name in (("NPS", "CSAT", "CES") if which == "en" else ("صافي", "الترويج", "الرضا", "الجهد")):
        assert name in first, name
    if which == "en":
        assert first.index("CES") < first.index("Top findings") < first.index("Top actions")
        assert first.index("Top actions") < first.index("Contents")
    md = (analyst_dir(r) / "source" / "report.md").read_text(encoding="utf-8")
    box = md[md.index("::: {.top-findings}"):]
    box = box[:box.index("\n:::\n")]
    claims = [ln for ln in box.splitlines() if re.match(r"\d+\. ", ln)]
    assert len(claims) >= 5  # headline, fix first and the strongest of the other sections
    for c in claims:
        assert re.search(r"n = [\d,]+", c), c  # its base, labelled


def test_manifest_lists_every_input_with_its_hash(report):
    m = json.loads((report.output_dir / "manifest.json").read_text())
    params = yaml.safe_load((paths.PARAMS_DIR / "demo.yml").read_text())
    assert {i["table"] for i in m["inputs"]} == set(params["tables"])
    for i in m["inputs"]:
        path = paths.ROOT / i["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == i["sha256"]
    assert m["seed"] == params["seed"] and m["renderer"] == "offline" and m["period"] == "2026Q3"
    assert m["versions"]["pandas"] and m["params"]["client"] == "demo"
    assert set(m["timings_seconds"]) >= {"load_and_validate", "render", "total"}
    assert set(m["analyses"].values()) <= {"ran", "not in report"} and m["failed"] == []
    assert m["analyses"]["kpis"] == "ran" and "recommend" in m["not_in_report"]
    assert str(paths.ROOT) not in json.dumps(m)


def test_saved_notebooks_carry_no_injected_values(report):
    for nb_path in (analyst_dir(report) / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and all("db_path" not in c.source for c in injected)


def _notebook_dir(tmp_path: Path, failing_source: str) -> Path:
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    shutil.copy(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb", nb_dir)
    nb = nbformat.read(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb", as_version=4)
    nb.cells = nb.cells[:3] + [nbformat.v4.new_code_cell(failing_source)]
    nbformat.write(nb, nb_dir / "02_broken.ipynb")
    return nb_dir


def test_failed_notebook_leaves_previous_report_untouched(tmp_path):
    reports = tmp_path / "reports"
    old = reports / "demo" / "2026Q3"
    old.mkdir(parents=True)
    (old / "report.html").write_text("OLD GOOD REPORT")
    nb_dir = _notebook_dir(tmp_path, "raise ValueError('planted failure')")
    with pytest.raises(NotebookError) as e:
        runner.run_report("demo", renderer="offline", reports_dir=reports, nb_dir=nb_dir, quiet=True)
    msg = str(e.value)
    assert "02_broken.ipynb failed in cell 4 (\"raise ValueError('planted failure')\")" in msg, msg
    assert "ValueError: planted failure" in msg
    assert (old / "report.html").read_text() == "OLD GOOD REPORT"
    assert sorted(p.name for p in old.iterdir()) == ["report.html"]
    assert (reports / "demo" / "last-failed-run" / "analyst" / "run.log").is_file()


def test_stalled_cell_times_out(tmp_path, monkeypatch):
    params_dir = tmp_path / "params"
    params_dir.mkdir()
    raw = yaml.safe_load((paths.PARAMS_DIR / "demo.yml").read_text())
    raw["runner"]["cell_timeout"] = 10
    (params_dir / "demo.yml").write_text(yaml.safe_dump(raw))
    monkeypatch.setattr(paths, "PARAMS_DIR", params_dir)
    nb_dir = _notebook_dir(tmp_path, "import time\ntime.sleep(120)")
    with pytest.raises(NotebookError, match=r"02_broken.ipynb.*timeout|02_broken.ipynb.*Timeout"):
        runner.run_report("demo", renderer="offline", reports_dir=tmp_path / "r", nb_dir=nb_dir, quiet=True)


def test_unknown_notebook_parameter_refused(tmp_path):
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    nb = nbformat.read(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb", as_version=4)
    nb.cells[1].source += "\nconnection_string = None"
    nbformat.write(nb, nb_dir / "01_x.ipynb")
    with pytest.raises(Exception, match=r"declares \['connection_string'\]"):
        runner.check_notebook_parameters([nb_dir / "01_x.ipynb"])


def test_declared_parameters_read_as_papermill_reads_them_without_importing_it(tmp_path):
    import papermill as pm

    for nb in runner.notebooks():  # the same names as papermill's own inspection
        assert runner.declared_parameters(nb) == set(pm.inspect_notebook(str(nb))), nb.name
    nb = nbformat.read(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb", as_version=4)
    nb.cells[1].source += "\nlimit: int = 3  # annotated\nx.y = 1"
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    assert runner.declared_parameters(tmp_path / "01_x.ipynb") == set(pm.inspect_notebook(str(tmp_path / "01_x.ipynb")))
    # the check runs on the main thread while the kernels' threads import nbclient and jupyter_client:
    # it must not import them (two threads importing one package at once failed a report run)
    code = ("import sys; from cxlib.report import runner; runner.check_notebook_parameters(runner.notebooks()); "
            "print(sorted(m for m in ('papermill', 'nbclient', 'jupyter_client') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=paths.ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_run_log_states_data_warnings_in_words():
    from cxlib.decide.words import Message

    lines = runner.warning_lines([Message("warn.no_segment", {}), Message("warn.funnel_unseen", {"event": "cart"})])
    assert lines[0].startswith("  warning: The customers table has no segment column"), lines
    assert "cart" in lines[1] and "warn." not in " ".join(lines) and "{" not in " ".join(lines)


def test_cli_exit_codes(capsys):
    assert main(["report", "--client", "../etc"]) == 2
    assert "not allowed" in capsys.readouterr().err
    assert main(["report", "--client", "demo", "--period", "2031Q1", "--renderer", "offline"]) == 2
    assert "outside the data" in capsys.readouterr().err


def test_dead_kernel_is_reported_not_hung(tmp_path):
    nb_dir = _notebook_dir(tmp_path, "import os\nos._exit(1)")
    with pytest.raises(NotebookError, match=r"02_broken.ipynb stopped: DeadKernelError"):
        runner.run_report("demo", renderer="offline", reports_dir=tmp_path / "r", nb_dir=nb_dir, quiet=True)


def test_notebook_runs_with_its_own_defaults_as_in_jupyterlab(tmp_path):
    """An analyst opening a notebook runs it without the runner: defaults load the demo."""
    import papermill as pm

    out = tmp_path / "01.ipynb"
    pm.execute_notebook(str(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb"), str(out), kernel_name="cxlib",
                        cwd=str(paths.NOTEBOOKS_DIR), progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    shown = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if o.get("metadata", {}).get("cxlib")]
    names = {o["metadata"]["cxlib"].get("name") for o in shown}
    assert names >= {"data_sources", "segment_profile", "segment_nps"}


def test_index_lists_every_client_and_period(tmp_path):
    for client, period in [("demo", "2026Q3"), ("demo", "2026Q2"), ("acme", "2026Q3")]:
        d = tmp_path / client / period
        d.mkdir(parents=True)
        (d / "report.html").write_text("x")
    (tmp_path / "acme" / "last-failed-run").mkdir()  # not a report: no report.html
    html = runner.write_index(tmp_path).read_text()
    (tmp_path / "demo" / ".runs" / "run-1-2" / "report").mkdir(parents=True)  # a run being built
    (tmp_path / "demo" / ".runs" / "run-1-2" / "report" / "report.html").write_text("x")
    html = runner.write_index(tmp_path).read_text()
    assert ".runs" not in html and "run-1-2" not in html
    assert html.index("acme") < html.index("demo")
    assert 'href="demo/2026Q3/report.html"' in html and 'href="demo/2026Q2/report.pdf"' in html
    assert html.index("demo/2026Q3") < html.index("demo/2026Q2")  # newest first
    assert "last-failed-run" not in html


@pytest.fixture(scope="module")
def report_ar(demo_ar_run):
    return demo_ar_run


def test_arabic_report_is_right_to_left_and_in_arabic(report_ar):
    html = (report_ar.output_dir / "report.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    for heading in ["الملخص التنفيذي", "البيانات والمنهجية", "المؤشرات الكمية لتجربة العملاء", "صوت العميل",
                    "رحلة العميل وفجوات نقاط التواصل"]:
        assert heading in html, heading
    assert "الملحق" in (report_ar.output_dir / "annex.html").read_text(encoding="utf-8")
    assert html.index("الملخص التنفيذي") < html.index("البيانات والمنهجية")
    assert "Executive summary" not in html and "Who the customers are" not in html
    assert "ركّز هنا" in html  # table categories translated (IPA quadrant)
    pdf = PdfReader(str(report_ar.output_dir / "report.pdf"))
    text = " ".join((p.extract_text() or "") for p in pdf.pages[:3])
    assert len(pdf.pages) >= 5 and re.search(r"[\u0600-\u06FF]{4}", text)


def test_arabic_swot_has_the_planted_items_in_arabic(report_ar):
    swot = pd.read_csv(report_ar.output_dir / "tables" / "swot.csv").set_index("id")
    assert {"W-tp-delivery", "T-seg-value-seekers", "T-competitor-fastcart", "S-tp-store"} <= set(swot.index)
    plain = swot.loc["T-competitor-fastcart", "text"].replace("\u2066", "").replace("\u2069", "")
    assert plain.startswith("تستحوذ FastCart على حصة")
    assert "الرضا" in swot.loc["W-tp-delivery", "evidence"]


def _one_section(tmp_path: Path, source: str) -> Path:
    """A notebook folder: the data notebook and one notebook with ``source`` after the setup cell."""
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    shutil.copy(paths.NOTEBOOKS_DIR / "01_data_quality.ipynb", nb_dir)
    nb = nbformat.read(paths.NOTEBOOKS_DIR / "02_metrics.ipynb", as_version=4)
    nb.cells = nb.cells[:3] + [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, nb_dir / "02_one.ipynb")
    return nb_dir


def test_a_failing_section_is_a_boxed_note_the_report_is_published_and_the_cli_says_5(tmp_path, monkeypatch):
    nb_dir = _one_section(tmp_path, 'with ctx.section("kpis"):\n    k = ctx.result("kpis")\n'
                                    '    raise ValueError("planted failure while showing the KPIs")')
    reports = tmp_path / "reports"
    result = runner.run_report("demo", renderer="offline", reports_dir=reports, nb_dir=nb_dir, quiet=True)
    assert [f["analysis"] for f in result.failed] == ["kpis.show"]
    html = " ".join((result.output_dir / "report.html").read_text(encoding="utf-8").split())
    assert "This part could not be produced" in html and "the analysis failed on this data" in html
    assert "planted failure" not in html  # the reader gets words, the log gets the error
    log = (reports / "demo" / "analyst" / "2026Q3" / "run.log").read_text()
    assert "ValueError: planted failure while showing the KPIs" in log and "Traceback" in log
    m = json.loads((result.output_dir / "manifest.json").read_text())
    assert m["analyses"]["kpis"] == "failed"
    monkeypatch.setattr(paths, "REPORTS_DIR", reports)
    monkeypatch.setattr(paths, "NOTEBOOKS_DIR", nb_dir)
    assert main(["report", "--client", "demo", "--renderer", "offline"]) == 5
    assert (reports / "demo" / "last-exit-code").read_text().strip() == "5"


def test_release_gate_stops_a_phone_number_and_keeps_the_last_good_report(tmp_path):
    nb_dir = _one_section(tmp_path, 'show_text("Call the customer back on 056.777.8899 today")')
    reports = tmp_path / "reports"
    old = reports / "demo" / "2026Q3"
    old.mkdir(parents=True)
    (old / "report.html").write_text("OLD GOOD REPORT")
    from cxlib.exceptions import ReleaseGateError

    with pytest.raises(ReleaseGateError) as e:
        runner.run_report("demo", renderer="offline", reports_dir=reports, nb_dir=nb_dir, quiet=True)
    assert "phone" in str(e.value) and "report.html" in str(e.value) and "056.777.8899" not in str(e.value)
    assert (old / "report.html").read_text() == "OLD GOOD REPORT"
    assert (reports / "demo" / "last-failed-run" / "analyst" / "run.log").is_file()


def test_a_data_error_keeps_its_log_and_partial_outputs(tmp_path, monkeypatch):
    params_dir, data = tmp_path / "params", tmp_path / "data" / "acme"
    params_dir.mkdir()
    data.mkdir(parents=True)
    (data / "s.csv").write_text("when,nps\n2026-01-01T10:00:00+03:00,5\n2026-01-02T10:00:00-05:00,abc\n")
    (params_dir / "acme.yml").write_text(yaml.safe_dump({"client": "acme", "name": "Acme", "data_dir": str(data),
        "tables": {"survey_responses": {"file": "s.csv", "columns": {"when": "response_time"}}}}))
    monkeypatch.setattr(paths, "PARAMS_DIR", params_dir)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    from cxlib.exceptions import DataValidationError

    with pytest.raises(DataValidationError) as e:
        runner.run_report("acme", renderer="offline", reports_dir=tmp_path / "r", quiet=True)
    assert "column 'nps', line 3: not a number (e.g. 'abc')" in str(e.value)  # mixed offsets are no crash
    log = tmp_path / "r" / "acme" / "last-failed-run" / "analyst" / "run.log"
    assert log.is_file() and "not a number" in log.read_text()


def test_stale_run_folders_are_cleaned_and_never_listed(tmp_path):
    client = tmp_path / "demo"
    dead = client / ".runs" / "run-1-999999"  # a killed run: its pid is gone
    (dead / "report").mkdir(parents=True)
    (dead / "report" / "report.html").write_text("half built")
    live = client / ".runs" / "run-2-1"  # pid 1 is alive and it is recent: another run in progress
    live.mkdir(parents=True)
    assert runner.clean_runs(client) == [dead]
    assert not dead.exists() and live.exists()
    assert "half built" not in runner.write_index(tmp_path).read_text()


def test_index_cards_show_name_period_language_kpis_and_links(tmp_path):
    """The index reads each report's own manifest and KPI tiles: name, period vs previous, language,
    headline KPIs with change and significance, links to HTML, PDF and annex; text is escaped."""
    import json

    d = tmp_path / "acme" / "2026Q3"
    (d / "tables").mkdir(parents=True)
    for f in ("report.html", "report.pdf", "annex.html"):
        (d / f).write_text("x")
    (d / "manifest.json").write_text(json.dumps({"name": "Acme <Gulf>", "period": "2026Q3",
                                                 "previous_period": "2026Q2", "params": {"language": "ar"},
                                                 "failed": []}))
    pd.DataFrame([
        {"metric": "nps", "label": "NPS", "unit": "points", "value": 14.3, "n": 740, "change": -11.2,
         "direction": "down", "significant": True},
        {"metric": "csat", "label": "CSAT (top-2-box %)", "unit": "%", "value": 60.1, "n": 1250, "change": -2.8,
         "direction": "flat", "significant": False},
        {"metric": "csat_mean", "label": "CSAT (mean)", "unit": "score", "value": 3.7, "n": 1250, "change": 0.1,
         "direction": "flat", "significant": False},
    ]).to_csv(d / "tables" / "kpi_tiles.csv", index=False)
    crm = tmp_path / "crm-only" / "2026Q3"
    crm.mkdir(parents=True)
    (crm / "report.html").write_text("x")
    page = runner.write_index(tmp_path).read_text()
    card = page[page.index("Acme"):page.index("crm-only")]
    assert "Acme &lt;Gulf&gt;" in card and "<Gulf>" not in page
    assert "2026Q3" in card and "vs 2026Q2" in card and "العربية" in card
    assert "+14" in card and "▼ -11.2 pts" in card and card.count("significant</span>") == 1
    assert "60%" in card and "CSAT (mean)" not in card and "n = 1,250" in card
    assert 'href="acme/2026Q3/annex.html"' in card and 'href="acme/2026Q3/report.pdf"' in card
    assert "No survey scores" in page[page.index("crm-only"):]


def test_a_warm_kernel_forgets_one_notebooks_variables_before_the_next(tmp_path):
    """A warm kernel runs notebooks one after another; each starts with an empty namespace (one
    notebook's frames never stay in memory through the next) and no saved notebook shows the reset."""
    from cxlib.data.params import load_params

    params = load_params(paths.PARAMS_DIR / "demo.yml")
    first, second = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("big = list(range(1000))")]), first)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "assert 'big' not in globals(), 'the previous notebook left its variables'")]), second)
    kernel = runner.WarmKernel(params, runner._Log(tmp_path / "run.log", quiet=True), tmp_path, 120)
    try:
        kernel.execute(first, tmp_path / "a.out.ipynb", {})
        kernel.execute(second, tmp_path / "b.out.ipynb", {})  # raises NotebookError if `big` was kept
    finally:
        kernel.shutdown()
    for out in ("a.out.ipynb", "b.out.ipynb"):
        cells = nbformat.read(tmp_path / out, as_version=4).cells
        assert not any("reset" in c.source for c in cells), out


def test_kernels_share_the_cores_instead_of_each_taking_all_of_them(tmp_path, monkeypatch):
    """Side-by-side kernels get cores // workers math-library threads each (two kernels on two
    cores: one each), an analyst's own setting wins, and a kernel really starts with them."""
    from cxlib.data.params import load_params

    env = runner.kernel_env(2, cores=2, base={"PATH": "/bin"})
    assert {v: env[v] for v in runner.BLAS_THREAD_VARS} == dict.fromkeys(runner.BLAS_THREAD_VARS, "1")
    assert runner.kernel_env(2, cores=8, base={})["OPENBLAS_NUM_THREADS"] == "4"
    assert runner.kernel_env(4, cores=2, base={})["OMP_NUM_THREADS"] == "1"
    assert runner.kernel_env(2, cores=2, base={"OMP_NUM_THREADS": "3"})["OMP_NUM_THREADS"] == "3"

    for var in runner.BLAS_THREAD_VARS:
        monkeypatch.delenv(var, raising=False)
    params = load_params(paths.PARAMS_DIR / "demo.yml")
    nb = tmp_path / "a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nassert os.environ.get('OPENBLAS_NUM_THREADS') == '1', os.environ.get('OPENBLAS_NUM_THREADS')")]), nb)
    kernel = runner.WarmKernel(params, runner._Log(tmp_path / "run.log", quiet=True), tmp_path, 120,
                               runner.kernel_env(2, cores=2))
    try:
        kernel.execute(nb, tmp_path / "a.out.ipynb", {})  # raises NotebookError when the kernel lacks it
    finally:
        kernel.shutdown()


def test_the_runner_caps_every_math_library_it_will_use(tmp_path):
    """On Spark the runner fits the models itself, capped as a kernel is: SciPy's own OpenBLAS
    included, which a fresh process loads only with the analysis stack (then uncapped if the
    cap came first). Checked in a fresh interpreter: the libraries an analysis loads all run 1 thread."""
    import subprocess
    import sys

    code = ("import json, threadpoolctl\n"
            "from cxlib.report import runner\n"
            "with runner.capped_math_threads(1):\n"
            "    import scipy.optimize, scipy.stats, sklearn.linear_model, statsmodels.stats.proportion\n"
            "    info = threadpoolctl.threadpool_info()\n"
            "print(json.dumps([[i['filepath'], i['num_threads']] for i in info]))")
    env = {k: v for k, v in os.environ.items() if k not in runner.BLAS_THREAD_VARS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    libs = json.loads(out.stdout)
    assert any("scipy" in path for path, _ in libs), libs  # SciPy's OpenBLAS is loaded and listed
    assert {n for _, n in libs} == {1}, libs


def test_started_kernels_have_imported_the_stack_and_kept_no_names(tmp_path):
    """start_kernels warms each kernel (the analysis stack imported while the runner loads the
    inputs) and leaves its namespace empty for the first notebook."""
    from cxlib.data.params import load_params

    params = load_params(paths.PARAMS_DIR / "demo.yml")
    nb = tmp_path / "01_a.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import sys\nassert all(m in sys.modules for m in {runner.WARM_IMPORTS!r})\nassert 'cxlib' not in dir()")]),
        nb)
    started = runner.start_kernels([nb], params, runner._Log(tmp_path / "run.log", quiet=True), 120)
    try:
        kernels = started.result()
        assert len(kernels) == 1
        kernels[0].execute(nb, tmp_path / "out.ipynb", {})  # raises NotebookError if either assert fails
    finally:
        runner.stop_kernels(started)
    runner.stop_kernels(started)  # a second stop does nothing


def test_notebooks_run_longest_first_by_the_last_published_report(tmp_path):
    """The last published manifest's notebook times order the next run (slowest first, new
    notebooks first, ties in file order); no report yet or a broken manifest: file order."""
    import json

    nbs = [tmp_path / f"{n}.ipynb" for n in ("01_a", "02_b", "03_c", "04_d")]
    assert runner.longest_first(nbs, {}) == nbs
    client = tmp_path / "acme"
    assert runner.previous_timings(client) == {}
    (client / "2026Q2").mkdir(parents=True)
    (client / "2026Q2" / "manifest.json").write_text(json.dumps({"timings_seconds": {
        "notebook:01_a": 2.0, "notebook:02_b": 9.5, "notebook:03_c": 4.0, "notebooks": 20.0, "total": 30.0}}))
    seconds = runner.previous_timings(client)
    assert seconds == {"01_a": 2.0, "02_b": 9.5, "03_c": 4.0}
    assert [nb.stem for nb in runner.longest_first(nbs, seconds)] == ["04_d", "02_b", "03_c", "01_a"]
    (client / "2026Q2" / "manifest.json").write_text("{not json")
    assert runner.previous_timings(client) == {}


def test_manifest_paths_are_from_the_project_root_whatever_the_working_folder(tmp_path, monkeypatch):
    """Input paths (kept relative to the root) are written relative to the root even when the
    process works in another folder; a file outside the root gives its name only."""
    monkeypatch.chdir(tmp_path)
    assert runner._relative("data/demo/customers.csv") == "data/demo/customers.csv"
    assert runner._relative(paths.ROOT / "data" / "demo" / "orders.csv") == "data/demo/orders.csv"
    assert runner._relative(tmp_path / "elsewhere.csv") == "elsewhere.csv"
