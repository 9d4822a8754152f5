"""End to end: the runner executes every notebook on the demo params and renders the report.

This is the notebook test (every notebook under papermill with the demo params) and the
report test (HTML sections and headline, PDF pages and headline, manifest hashes) in one run.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
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
            "Churn and at-risk customers", "Voice of the customer", "The journey and touchpoint gaps", "SWOT", "Appendix", "Codebook"]


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


def test_report_outputs(report):
    d = report.output_dir
    assert report.period == "2026Q3" and report.renderer == "offline"
    for f in ["report.html", "report.pdf", "report.md", "manifest.json", "run.log"]:
        assert (d / f).is_file(), f
    assert sorted(p.name for p in (d / "notebooks").glob("*.ipynb")) == [p.name for p in runner.notebooks()]
    assert {"kpi_tiles.csv", "ipa.csv", "detractor_themes.csv", "funnel_device.csv", "swot.csv", "at_risk.csv",
            "churn_model.csv", "segment_usefulness.csv", "journey_map.csv", "key_drivers.csv"} <= {
        p.name for p in (d / "tables").glob("*.csv")}
    assert not list(d.parent.glob(".tmp-*")), "temporary run folder left behind"


def test_html_has_sections_headline_and_no_code(report):
    html = (report.output_dir / "report.html").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert s in html, s
    assert html.index("Executive summary") < html.index("Data and method")
    nps = headline_nps(report.period)
    assert f"Net Promoter Score is {nps:+d} in {report.period}" in html
    assert 'src="figures/' not in html and "data:image/png;base64" in html
    assert "open_run" not in html and "params_file" not in html and "db_path" not in html
    assert 'id="TOC"' in html or "toc" in html.lower()
    # the SWOT's planted items, as the stakeholder reads them
    for text in ["Delivery matters to customers but underperforms", "Detractors raise late delivery",
                 "Value Seekers: NPS fell significantly", "FastCart is taking a growing share",
                 "In-store performs well"]:
        assert text in html, text


def test_at_risk_list_is_pseudonymous_and_the_full_list_stays_with_the_analyst(report):
    d = report.output_dir
    html = (d / "report.html").read_text(encoding="utf-8")
    ids = set(pd.read_csv(paths.DATA_DIR / "demo" / "customers.csv")["customer_id"])
    stake = pd.read_csv(d / "tables" / "at_risk.csv")
    assert len(stake) > 0 and "customer_id" not in stake.columns and not set(stake["customer_ref"]) & ids
    assert not any(i in html for i in ids)  # no raw customer id anywhere in the stakeholder HTML
    body = html.split("<body")[1]
    assert not re.search(r"[\w.]+@[\w.]+\.\w+", body)  # no e-mail address either
    assert not re.search(r"\+966[\s-]?5\d|\b05\d{8}\b", body)  # nor a phone number
    assert not (d / "analyst").exists()
    full = pd.read_csv(d.parent / "analyst" / d.name / "at_risk_full.csv")
    assert set(full["customer_id"]) <= ids and len(full) == len(stake)


def test_pdf_has_pages_and_headline(report):
    pdf = PdfReader(str(report.output_dir / "report.pdf"))
    assert len(pdf.pages) >= 5
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages[:4])
    nps = headline_nps(report.period)
    assert f"Net Promoter Score is {nps:+d}" in text.replace("−", "-")


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


def test_saved_notebooks_carry_no_injected_values(report):
    for nb_path in (report.output_dir / "notebooks").glob("*.ipynb"):
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
    assert (reports / "demo" / "last-failed-run" / "run.log").is_file()


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
    assert html.index("acme") < html.index("demo")
    assert 'href="demo/2026Q3/report.html"' in html and 'href="demo/2026Q2/report.pdf"' in html
    assert html.index("demo/2026Q3") < html.index("demo/2026Q2")  # newest first
    assert "last-failed-run" not in html


@pytest.fixture(scope="module")
def report_ar(tmp_path_factory):
    return runner.run_report("demo-ar", renderer="offline", reports_dir=tmp_path_factory.mktemp("reports_ar"),
                             quiet=True)


def test_arabic_report_is_right_to_left_and_in_arabic(report_ar):
    html = (report_ar.output_dir / "report.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    for heading in ["الملخص التنفيذي", "البيانات والمنهجية", "المؤشرات الكمية لتجربة العملاء", "صوت العميل",
                    "رحلة العميل وفجوات نقاط التواصل", "الملحق"]:
        assert heading in html, heading
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
