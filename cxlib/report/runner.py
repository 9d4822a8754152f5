"""Run a client's report: validate, execute the notebooks, render, and publish atomically.

The run is built in a temporary folder beside its destination and moved into
``reports/<client>/<period>/`` only when every step succeeded, so a failed run never
replaces the last good report. Every run writes ``run.log`` and ``manifest.json``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import nbformat

from cxlib import paths
from cxlib.data import engine
from cxlib.data.io import load_store
from cxlib.data.params import Params, load_params
from cxlib.exceptions import NotebookError, ParameterError, ReportError

#: the parameters every notebook must declare in its cell tagged "parameters"
NOTEBOOK_PARAMETERS = ("params_file", "period", "output_dir", "db_path")
#: packages whose versions go into the manifest
MANIFEST_PACKAGES = ("cxlib", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "seaborn",
                     "matplotlib", "duckdb", "ibis-framework", "pandera", "papermill", "pypandoc-binary",
                     "typst", "pydantic")


@dataclass
class RunResult:
    """Where the report went and how long each step took."""

    output_dir: Path
    period: str
    renderer: str
    timings: dict[str, float] = field(default_factory=dict)


class _Log:
    """Progress to stdout and to run.log, with elapsed seconds."""

    def __init__(self, path: Path, quiet: bool = False):
        self.path, self.quiet, self.t0 = path, quiet, time.perf_counter()
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, msg: str) -> None:
        line = f"[{time.perf_counter() - self.t0:6.1f}s] {msg}"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        if not self.quiet:
            print(line, flush=True)


def notebooks(nb_dir: Path | None = None) -> list[Path]:
    """The report notebooks in run order (``NN_name.ipynb``)."""
    return sorted((nb_dir or paths.NOTEBOOKS_DIR).glob("[0-9][0-9]_*.ipynb"))


def check_notebook_parameters(nb_paths: list[Path]) -> None:
    """Refuse to run unless every notebook declares exactly the parameters the runner injects."""
    import papermill as pm

    problems = []
    for nb in nb_paths:
        declared = set(pm.inspect_notebook(str(nb)))
        missing = set(NOTEBOOK_PARAMETERS) - declared
        extra = declared - set(NOTEBOOK_PARAMETERS)
        if missing:
            problems.append(f"{nb.name}: parameters cell lacks {sorted(missing)}")
        if extra:
            problems.append(f"{nb.name}: parameters cell declares {sorted(extra)}, which the runner never sets;"
                            " put settings in params/<client>.yml instead")
    if problems:
        raise ParameterError("notebook parameters do not match the runner:\n  - " + "\n  - ".join(problems))


def _quiet_kernel_manager(log_path: Path):
    """A kernel manager whose kernel writes its own stderr (start-up notices) to run.log."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            with open(log_path, "a", encoding="utf-8") as err:  # the child keeps its own copy
                kw["stderr"] = err
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager


def _kernel(params: Params) -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return params.runner.kernel if params.runner.kernel in specs else "python3"


def execute_notebook(src: Path, dst: Path, parameters: dict, params: Params, log: _Log) -> float:
    """Execute one notebook with papermill; raise NotebookError naming the notebook and cell."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    t = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src), str(dst), parameters=parameters, kernel_name=_kernel(params),
            execution_timeout=params.runner.cell_timeout, progress_bar=False,
            cwd=str(src.parent), log_output=False, report_mode=False,
            kernel_manager_class=_quiet_kernel_manager(log.path),
        )
    except PapermillExecutionError as e:
        number, first_line = _source_cell(dst, e.cell_index)
        raise NotebookError(
            f"{src.name} failed in cell {number} ({first_line!r}): {e.ename}: {e.evalue}\n"
            f"The executed notebook with the traceback is {dst}."
        ) from None
    except Exception as e:  # dead kernel, timeout, kernel that never started
        kind = type(e).__name__
        hint = (f" (per-cell timeout {params.runner.cell_timeout}s; raise runner.cell_timeout in params)"
                if "Timeout" in kind or "timed out" in str(e).lower() else "")
        raise NotebookError(f"{src.name} stopped: {kind}: {e}{hint}. Partial output: {dst}.") from None
    finally:
        _redact_injected(dst)
    secs = time.perf_counter() - t
    log(f"  {src.name} done in {secs:.1f}s")
    return secs


def _source_cell(executed: Path, index: int) -> tuple[int, str]:
    """Number the failing cell as the analyst sees it in the source notebook (1-based, not
    counting the cells papermill adds) and give its first line."""
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except (OSError, ValueError):
        return index + 1, ""
    added = {"injected-parameters", "papermill-error-cell-tag"}
    own = [c for c in cells if not added & set(c.get("metadata", {}).get("tags", []))]
    for number, cell in enumerate(own, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = cell.source.strip().splitlines()
            return number, (lines[0][:80] if lines else "")
    return index + 1, ""


def execute_all(nbs: list[Path], out_dir: Path, parameters: dict, params: Params, log: _Log) -> dict[str, float]:
    """Execute the notebooks, ``runner.workers`` at a time (0 = one per core).

    The notebooks only read the run's database, so they are independent and can run side by
    side; the first failure stops the ones not yet started and is raised.
    """
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

    workers = params.runner.workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(nbs)))
    log(f"executing {len(nbs)} notebooks, {workers} at a time")
    timings: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(execute_notebook, nb, out_dir / nb.name, parameters, params, log): nb for nb in nbs}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        failed = [f for f in done if f.exception() is not None]
        if failed:
            wait(pending)
            raise failed[0].exception()
        for f, nb in futures.items():
            timings[f"notebook:{nb.stem}"] = f.result()
    return timings


def _redact_injected(nb_path: Path) -> None:
    """Replace papermill's injected-parameters cell so saved notebooks carry no parameter values."""
    if not nb_path.exists():
        return
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = "# Parameters injected by the runner; see manifest.json."
    nbformat.write(nb, nb_path)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in MANIFEST_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    quarto = shutil.which("quarto")
    if quarto:
        try:
            out["quarto"] = subprocess.run([quarto, "--version"], capture_output=True, text=True,
                                           timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return out


def _git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True,
                           timeout=10)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def ensure_demo_data(params: Params) -> None:
    """Generate the demo data when a demo client's files are missing (fresh clone)."""
    if params.client.startswith("demo") and not all(params.table_path(t).is_file() for t in params.tables):
        from cxlib import demo

        demo.generate(params.data_path, seed=params.seed)


def publish(tmp: Path, final: Path) -> None:
    """Move the finished run into place, replacing the previous report only now."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".old-{final.name}-{os.getpid()}")
    if final.exists():
        final.rename(old)
    try:
        tmp.rename(final)
    except OSError:
        if old.exists():
            old.rename(final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def run_report(client: str, period: str | None = None, renderer: str = "auto", *,
               reports_dir: Path | None = None, nb_dir: Path | None = None, quiet: bool = False) -> RunResult:
    """Produce ``reports/<client>/<period>/`` (report.html, report.pdf, notebooks, tables, manifest).

    Raises a :class:`ReportError` subclass naming what failed; the previous report is untouched.
    """
    from cxlib.report import render

    paths.check_client_name(client)
    reports_dir = reports_dir or paths.REPORTS_DIR
    client_dir = paths.inside(reports_dir, reports_dir / client, "client report folder")
    tmp = client_dir / f".tmp-{os.getpid()}-{int(time.time())}"
    log = _Log(tmp / "run.log", quiet=quiet)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    try:
        t = time.perf_counter()
        params = load_params(client, check_files=False)
        ensure_demo_data(params)
        params = load_params(client)
        nbs = notebooks(nb_dir)
        if not nbs:
            raise ParameterError(f"no notebooks (NN_name.ipynb) in {nb_dir or paths.NOTEBOOKS_DIR}")
        check_notebook_parameters(nbs)
        log(f"client {client}: params {params.source} valid; {len(nbs)} notebooks")
        db_path = tmp / "work" / "cx.duckdb"
        db_path.parent.mkdir(parents=True, exist_ok=True)
        store = load_store(params, db_path)
        current, previous = engine.resolve_period(store, period or params.period)
        engine.build_customer_view(store, current.end)
        inputs = store.inputs
        store.close()
        timings["load_and_validate"] = time.perf_counter() - t
        log(f"inputs validated ({sum(i.rows for i in inputs):,} rows in {len(inputs)} tables); "
            f"period {current.label} vs {previous.label}")

        nb_out = tmp / "notebooks"
        nb_out.mkdir()
        parameters = {"params_file": str(params.source), "period": current.label,
                      "output_dir": str(tmp), "db_path": str(db_path)}
        t = time.perf_counter()
        timings.update(execute_all(nbs, nb_out, parameters, params, log))
        timings["notebooks"] = time.perf_counter() - t

        t = time.perf_counter()
        from cxlib.report.i18n import Translator, isolate_numbers

        tr = Translator(params.language)
        meta = render.ReportMeta(
            title=tr("title", name=params.name),
            subtitle=tr("subtitle", period=current.label, previous=previous.label),
            date=(isolate_numbers if tr.rtl else str)(datetime.now(UTC).strftime("%Y-%m-%d")),
            language=params.language, primary_color=params.branding.primary_color,
            accent_color=params.branding.accent_color,
            logo=str(params.data_path / params.branding.logo) if params.branding.logo else None,
        )
        md = render.assemble([nb_out / nb.name for nb in nbs], tmp, meta)
        timings["assemble"] = time.perf_counter() - t
        t = time.perf_counter()
        result = render.render(md, meta, renderer=renderer)
        timings["render"] = time.perf_counter() - t
        log(f"rendered with {result.renderer_used}: {result.html.name}, {result.pdf.name}")
        shutil.rmtree(tmp / "work", ignore_errors=True)
        timings["total"] = time.perf_counter() - t_all
        manifest = {
            "client": client, "name": params.name, "period": current.label, "previous_period": previous.label,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "renderer": result.renderer_used, "seed": params.seed, "git_commit": _git_commit(),
            "params_file": str(Path(params.source).relative_to(paths.ROOT)) if params.source else None,
            "params": params.model_dump(mode="json", exclude={"source"}),
            "inputs": [{"table": i.table, "path": str(Path(i.path).relative_to(paths.ROOT))
                        if Path(i.path).is_relative_to(paths.ROOT) else i.path,
                        "sha256": i.sha256, "rows": i.rows, "columns": i.columns} for i in inputs],
            "notebooks": [nb.name for nb in nbs],
            "outputs": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
            "versions": _versions(), "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        final = client_dir / current.label
        log(f"done in {timings['total']:.1f}s -> {final}")
        publish(tmp, final)
        if (final / "analyst").exists():  # identifiable lists stay out of the stakeholder folder
            dest = client_dir / "analyst" / current.label
            shutil.rmtree(dest, ignore_errors=True)
            dest.parent.mkdir(parents=True, exist_ok=True)
            (final / "analyst").rename(dest)
        return RunResult(final, current.label, result.renderer_used, timings)
    except ReportError as e:
        log(f"FAILED: {e}")
        failed = client_dir / "last-failed-run"
        shutil.rmtree(failed, ignore_errors=True)
        if tmp.exists():
            shutil.rmtree(tmp / "work", ignore_errors=True)
            tmp.rename(failed)
        e.args = (str(e).replace(str(tmp), str(failed)) + f"\nRun log and partial outputs: {failed}",)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def run_all(period: str | None = None, renderer: str = "auto", reports_dir: Path | None = None) -> dict[str, str]:
    """Render every client in params/; one failing client does not stop the others."""
    results: dict[str, str] = {}
    for f in sorted(paths.PARAMS_DIR.glob("*.yml")):
        client = f.stem
        try:
            r = run_report(client, period, renderer, reports_dir=reports_dir)
            results[client] = f"ok: {r.output_dir}"
        except ReportError as e:
            results[client] = f"failed: {str(e).splitlines()[0]}"
            print(f"{client}: FAILED\n{e}", file=sys.stderr)
    write_index(reports_dir or paths.REPORTS_DIR)
    return results


def write_index(reports_dir: Path) -> Path:
    """``reports/index.html``: every client and period with links to its HTML and PDF."""
    import html

    items = []
    for client_dir in sorted(p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        runs = sorted((p for p in client_dir.iterdir() if (p / "report.html").exists()), reverse=True)
        if not runs:
            continue
        links = "".join(
            f'<li><a href="{html.escape(client_dir.name)}/{html.escape(r.name)}/report.html">{html.escape(r.name)}</a>'
            f' · <a href="{html.escape(client_dir.name)}/{html.escape(r.name)}/report.pdf">PDF</a></li>'
            for r in runs
        )
        items.append(f"<section><h2>{html.escape(client_dir.name)}</h2><ul>{links}</ul></section>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CX reports</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
            "a{color:#1f4e79}</style></head><body><h1>Customer experience reports</h1>"
            + ("".join(items) or "<p>No reports yet: run <code>make reports</code>.</p>") + "</body></html>")
    out = reports_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
