"""Run a client's report: validate, execute the notebooks, render, and publish atomically.

The run is built in a temporary folder beside its destination and moved into
``reports/<client>/<period>/`` only when every step succeeded, so a failed run never
replaces the last good report. Every run writes ``run.log`` and ``manifest.json``.
"""

from __future__ import annotations

import json
import os
import platform
import re
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
    """Where the report went, how long each step took, and the parts that could not be produced."""

    output_dir: Path
    period: str
    renderer: str
    timings: dict[str, float] = field(default_factory=dict)
    failed: list[dict] = field(default_factory=list)


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


def declared_parameters(nb_path: Path) -> set[str]:
    """The names the notebook's ``parameters`` cell (the first code cell tagged so, as papermill
    reads it) assigns. Read with :mod:`ast`, not papermill: the runner's main thread checks this
    while the kernels' threads import nbclient and jupyter_client, and importing those packages
    from two threads at once can fail ("partially initialized module")."""
    import ast

    nb = nbformat.read(nb_path, as_version=4)
    cell = next((c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return set()
    names = set()
    for node in ast.parse(cell.source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def warning_lines(warnings) -> list[str]:
    """The run log's lines for the data warnings (messages), in English words as the report says them."""
    if not warnings:
        return []
    from cxlib.report.i18n import Translator

    en = Translator("en")
    return [f"  warning: {en.say(w, markdown=False)}" for w in warnings]


def check_notebook_parameters(nb_paths: list[Path]) -> None:
    """Refuse to run unless every notebook declares exactly the parameters the runner injects."""
    problems = []
    for nb in nb_paths:
        declared = declared_parameters(nb)
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


class WarmKernel:
    """One Jupyter kernel that executes several notebooks in turn (a shared warm start).

    Starting a kernel and importing the analysis stack costs seconds per notebook; a kernel per
    worker, reused, pays it once. Each notebook opens its own run context in its setup cell, and
    results are shared through the run's results folder, so nothing a notebook needs comes from
    the one before it.
    """

    def __init__(self, params: Params, log: _Log, cwd: Path, timeout: int, env: dict[str, str] | None = None):
        from concurrent.futures import ThreadPoolExecutor

        from jupyter_core.utils import run_sync

        # one thread owns the kernel: it starts it, runs every notebook on it and shuts it down, so the
        # kernel's asyncio objects always live on the same event loop (jupyter_core's per-thread runner)
        self._thread = ThreadPoolExecutor(max_workers=1)
        self.km = _quiet_kernel_manager(log.path)(kernel_name=_kernel(params))
        launch = {"cwd": str(cwd)} | ({"env": env} if env is not None else {})
        self._thread.submit(run_sync(self.km.start_kernel), **launch).result()
        self.params, self.log, self.timeout = params, log, timeout

    def warm(self, modules: tuple[str, ...]) -> None:
        """Import ``modules`` in the kernel (then empty its namespace), on the kernel's own thread."""
        self._thread.submit(self._warm, modules).result()

    def _warm(self, modules: tuple[str, ...]) -> None:
        from nbclient import NotebookClient

        # then gc.freeze(): the imported modules' objects leave the collector's reach, so each later
        # collection (the reset between notebooks, statsmodels' own) walks only what notebooks made
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("\n".join(f"import {m}" for m in modules)),
                                              nbformat.v4.new_code_cell(_RESET_SOURCE + "\n_gc.freeze()")])
        NotebookClient(nb, km=self.km, timeout=self.timeout, allow_errors=False).execute()

    def execute(self, src: Path, dst: Path, parameters: dict) -> float:
        """Run :meth:`_execute` on the kernel's own thread."""
        return self._thread.submit(self._execute, src, dst, parameters).result()

    def _execute(self, src: Path, dst: Path, parameters: dict) -> float:
        """Execute ``src`` with ``parameters`` injected, save it to ``dst``; raise NotebookError
        naming the notebook and the cell (as the analyst numbers them) when a cell fails."""
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        t = time.perf_counter()
        nb = inject_parameters(nbformat.read(src, as_version=4), parameters)
        self._tell_ahead(nb, parameters)
        # a warm kernel runs several notebooks: the last cell empties its namespace, so one notebook's
        # frames do not stay in memory through the next (at 1M customers that was ~1 GB a kernel)
        nb.cells.append(nbformat.v4.new_code_cell(_RESET_SOURCE, metadata={"tags": [_RESET_TAG]}))
        timeout = self.timeout
        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False,
                                resources={"metadata": {"path": str(src.parent)}})
        try:
            try:
                client.execute()
            finally:
                nb.cells = [c for c in nb.cells if _RESET_TAG not in c.get("metadata", {}).get("tags", [])]
        except CellExecutionError as e:
            _save(nb, dst)
            number, first_line = _source_cell(dst, 0)
            raise NotebookError(
                f"{src.name} failed in cell {number} ({first_line!r}): {e.ename}: {e.evalue}\n"
                f"The executed notebook with the traceback is {_relative(dst)}.") from None
        except Exception as e:  # dead kernel, a cell past its time limit, a kernel that never started
            _save(nb, dst)
            kind = type(e).__name__
            hint = (f" (cell time limit {timeout}s; set runner.cell_timeout in params)"
                    if "Timeout" in kind or "timed out" in str(e).lower() else "")
            raise NotebookError(f"{src.name} stopped: {kind}: {e}{hint}. Partial output: {_relative(dst)}.") from None
        _save(nb, dst)
        secs = time.perf_counter() - t
        self.log(f"  {src.name} done in {secs:.1f}s")
        return secs

    def _tell_ahead(self, nb, parameters: dict) -> None:
        """List, for this kernel, the analyses the notebook will ask for (:func:`notebook_analyses`):
        a kernel waiting for a result another kernel is computing computes these meanwhile
        (:meth:`cxlib.report.context.RunContext.result`)."""
        from cxlib.report.context import ahead_file

        pid = getattr(self.km.provisioner, "pid", None)
        if pid is None or not parameters.get("db_path"):
            return
        f = ahead_file(Path(parameters["db_path"]).parent, pid)
        f.parent.mkdir(exist_ok=True)
        f.write_text(json.dumps(notebook_analyses(nb)))

    def shutdown(self) -> None:
        """Stop the kernel (a second call does nothing)."""
        from jupyter_core.utils import run_sync

        if getattr(self, "_closed", False):
            return
        self._closed = True

        def stop():
            try:
                run_sync(self.km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001 - a kernel already dead needs no shutdown
                pass

        try:
            self._thread.submit(stop).result(timeout=60)
        finally:
            self._thread.shutdown(wait=False)


_ASKS_RE = re.compile(r"""ctx\.(?:section|result|maybe)\(\s*["']([A-Za-z0-9_]+)["']""")


def notebook_analyses(nb) -> list[str]:
    """The analyses a notebook asks for (``ctx.section/result/maybe("name")`` in its code cells),
    in the order it first asks, registered analyses only."""
    from cxlib.report.analyses import REGISTRY

    names = (m.group(1) for c in nb.cells if c.cell_type == "code" for m in _ASKS_RE.finditer(c.source))
    return [n for n in dict.fromkeys(names) if n in REGISTRY]


#: the math libraries' thread pools (OpenBLAS, MKL, OpenMP: scikit-learn's and SciPy's solvers)
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def kernel_env(workers: int, cores: int | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The kernels' environment: each kernel's math libraries get ``max(1, cores // workers)``
    threads, unless the environment already sets them.

    Kernels run side by side; with a BLAS pool of one thread per core in each, ``workers`` kernels
    ask for ``workers x cores`` threads, and a solver that calls BLAS many times on small vectors
    (L-BFGS-B in the sentiment model) then spends its time waiting for the other kernel's spinning
    threads: the demo's sentiment fit took 6.8 s with 2 threads per kernel and 3.8 s with 1 on
    2 cores.
    """
    env = dict(os.environ if base is None else base)
    threads = str(max(1, (cores or os.cpu_count() or 1) // max(1, workers)))
    for var in BLAS_THREAD_VARS:
        env.setdefault(var, threads)
    return env


_RESET_TAG = "cx-reset"
_RESET_SOURCE = "get_ipython().run_line_magic('reset', '-f')\nimport gc as _gc\n_gc.collect()"


def inject_parameters(nb, parameters: dict):
    """Insert the run's parameters after the cell tagged ``parameters`` (as papermill does: a cell
    tagged ``injected-parameters`` whose assignments override the defaults)."""
    lines = ["# Parameters injected by the runner"] + [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    idx = next((i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), -1)
    nb.cells.insert(idx + 1, cell)
    return nb


def _save(nb, dst: Path) -> None:
    nbformat.write(nb, dst)
    _redact_injected(dst)


def cell_timeout(params: Params, rows: int = 0) -> int:
    """Seconds a notebook cell may run: params ``runner.cell_timeout``, or (auto) 600 s plus a second
    for every 20,000 input rows, so a big client is never cut at a fixed cliff."""
    t = params.runner.cell_timeout
    return t if isinstance(t, int) else int(600 + rows / 20_000)


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


def notebook_phase(nb: Path) -> int:
    """A notebook's phase: 1 (sections, run side by side) or 2 (read every section's results:
    the summary and SWOT), from its metadata ``cxlib.phase``."""
    try:
        meta = nbformat.read(nb, as_version=4).metadata.get("cxlib", {})
    except (OSError, ValueError):
        return 1
    return int(meta.get("phase", 1))


#: what every notebook imports first; warm kernels import it while the runner loads the inputs
WARM_IMPORTS = ("cxlib", "cxlib.report.analyses", "cxlib.report.display", "cxlib.report.plots", "cxlib.report.tables",
                "cxlib.quant.metrics", "cxlib.quant.churn_model", "cxlib.voice.sentiment", "cxlib.voice.assist",
                "cxlib.journey.journey_map")


def kernel_workers(nbs: list[Path], params: Params) -> int:
    """How many warm kernels run the notebooks: ``runner.workers`` (0 = one per core), at most one
    per phase-1 notebook."""
    first = [nb for nb in nbs if notebook_phase(nb) == 1]
    return max(1, min(params.runner.workers or os.cpu_count() or 1, len(first) or 1))


def start_kernels(nbs: list[Path], params: Params, log: _Log, timeout: int | None = None):
    """Start the warm kernels in the background, each importing :data:`WARM_IMPORTS`: a Future of
    the list of kernels. The runner starts them before it loads the inputs, so the kernels' start-up
    and imports (seconds each) overlap the loading instead of following it."""
    from concurrent.futures import ThreadPoolExecutor

    workers = kernel_workers(nbs, params)
    env = kernel_env(workers)

    def one(_):
        kernel = WarmKernel(params, log, nbs[0].parent, timeout or cell_timeout(params), env)
        try:
            kernel.warm(WARM_IMPORTS)
        except Exception:  # noqa: BLE001 - a failed warm-up only loses the head start; the notebook reports errors
            pass
        return kernel

    def start():
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(one, i) for i in range(workers)]
        kernels = [f.result() for f in futures if f.exception() is None]
        failed = [f.exception() for f in futures if f.exception() is not None]
        if failed:
            for k in kernels:
                k.shutdown()
            raise failed[0]
        return kernels

    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cx-kernels")
    started = background.submit(start)
    background.shutdown(wait=False)  # the start goes on; whoever needs the kernels waits on the Future
    return started


def stop_kernels(started) -> None:
    """Shut down kernels from :func:`start_kernels` (waits for them to have started)."""
    try:
        kernels = started.result()
    except Exception:  # noqa: BLE001 - nothing started, nothing to stop
        return
    for k in kernels:
        k.shutdown()


def previous_timings(client_dir: Path) -> dict[str, float]:
    """Seconds each notebook took in the client's most recent published report (its manifest's
    ``timings_seconds``), by notebook stem; {} when there is none."""
    manifests = [p for p in Path(client_dir).glob("*/manifest.json") if p.is_file()]
    if not manifests:
        return {}
    try:
        timings = json.loads(max(manifests, key=lambda p: p.stat().st_mtime).read_text())["timings_seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {k.split(":", 1)[1]: float(v) for k, v in timings.items()
            if k.startswith("notebook:") and isinstance(v, int | float)}


def longest_first(nbs: list[Path], seconds: dict[str, float]) -> list[Path]:
    """``nbs`` with the slowest first by ``seconds`` (a notebook not timed yet counts as slowest;
    ties keep file order): side-by-side kernels then finish together instead of one waiting on
    the last long notebook (longest-processing-time scheduling)."""
    return sorted(nbs, key=lambda nb: -seconds.get(nb.stem, float("inf")))


def execute_all(nbs: list[Path], out_dir: Path, parameters: dict, params: Params, log: _Log,
                timeout: int | None = None, started=None, seconds: dict[str, float] | None = None) -> dict[str, float]:
    """Execute the notebooks: phase 1 side by side on ``runner.workers`` warm kernels (0 = one per
    core), then phase 2 (the notebooks that read the others' results) on one of them.

    A notebook that crashes outside its guarded sections stops the run (exit 3); the others of its
    phase finish first so the log shows them. ``started`` takes kernels from :func:`start_kernels`
    (their cell time limit becomes ``timeout``); they are shut down at the end either way.
    ``seconds`` (notebook stem -> seconds of an earlier run) orders each phase longest first.
    """
    import queue
    from concurrent.futures import ThreadPoolExecutor

    timings: dict[str, float] = {}
    phases = {nb: notebook_phase(nb) for nb in nbs}
    workers = kernel_workers(nbs, params)
    log(f"executing {len(nbs)} notebooks on {workers} warm kernel(s)")
    kernels = []
    try:
        if started is None:
            started = start_kernels(nbs, params, log, timeout)
        kernels = started.result()
        for k in kernels:
            k.timeout = timeout or k.timeout
        for phase in sorted(set(phases.values())):
            todo: queue.Queue = queue.Queue()
            for nb in longest_first([nb for nb in nbs if phases[nb] == phase], seconds or {}):
                todo.put(nb)
            errors: list[BaseException] = []

            def work(kernel: WarmKernel, todo=todo, errors=errors) -> None:
                while not errors:
                    try:
                        nb = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        timings[f"notebook:{nb.stem}"] = kernel.execute(nb, out_dir / nb.name, parameters)
                    except BaseException as e:  # noqa: BLE001 - raised below, after the others stop
                        errors.append(e)

            active = kernels if phase == 1 else kernels[:1]
            with ThreadPoolExecutor(max_workers=len(active)) as pool:
                list(pool.map(work, active))
            if errors:
                raise errors[0]
    finally:
        for k in kernels:
            k.shutdown()
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


def _versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of Python, the packages of :data:`MANIFEST_PACKAGES` and ``extra``, and Quarto."""
    out = {"python": platform.python_version()}
    for pkg in MANIFEST_PACKAGES + extra:
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
    """Generate the demo data when a demo or example client's files are missing (fresh clone)."""
    if not all(path.is_file() for t in params.tables for _, path in params.table_parts(t)):
        from cxlib.demo import examples

        examples.ensure(params)


def prepare(params: Params, db_path: Path, period: str | None, log=print, map_history: Path | None = None,
            *, keep_open: bool = False):
    """Load and validate the inputs, choose the period, build the customer view, check the names
    in params and plan the analyses; write what the notebooks need beside the database.

    Raises a :class:`ReportError` (exit 2) for any data, params or period problem, before any
    notebook runs, with the same message whatever would have run first. ``keep_open`` leaves the
    store open in ``Prepared.store`` (the caller closes it) instead of closing it.
    """
    from cxlib.report import analyses, checks, plan
    from cxlib.report.context import period_json

    store = load_store(params, db_path)
    ok = False
    try:
        current, previous = engine.resolve_period(store, period or params.period)
        engine.build_customer_view(store, None if current.is_all else current.end)
        names = checks.check_names(store, params)
        if not (period or params.period):
            names.warnings += checks.period_warnings(store, current)
        if names.errors:
            raise ParameterError("params name(s) the data does not have:\n  - " + "\n  - ".join(names.errors))
        cat = plan.catalog(store, current, previous)
        the_plan = plan.build_plan(analyses.REGISTRY.values(), cat)
        inputs, notes = store.inputs, store.notes
        ids = customer_ids(store)
        ok = True
    finally:
        if not (ok and keep_open):
            store.close()
    work = db_path.parent
    the_plan.save(work / "plan.json")
    (work / "run.json").write_text(json.dumps({
        "period": period_json(current), "previous": period_json(previous), "catalog": cat.to_json(),
        "warnings": [{"key": w.key, "values": w.values} for w in names.warnings],
        "map_history": str(map_history) if map_history else None}, ensure_ascii=False, default=str))
    return Prepared(current, previous, the_plan, names, inputs, notes, ids, store=store if keep_open else None,
                    catalog=cat)


def compute_results(prep: Prepared, params: Params, work: Path, log, map_history: Path | None = None,
                    threads: int | None = None) -> float:
    """Compute every analysis the plan runs, in this process, into the run's results folder.

    This is how a run on Spark works (``engine.backend: pyspark``): one Spark application, the
    runner's, does every engine step; the notebooks then run as usual, and each ``ctx.result``
    reads the pickled result instead of computing it, so no kernel starts a JVM of its own (a
    kernel that does need the engine still can: its store starts Spark on first use, on the same
    Parquet folder). Failures are recorded exactly as a notebook records them (the section shows
    its boxed note). ``threads`` caps the math libraries' thread pools as :func:`kernel_env` caps
    the kernels', so the models fit exactly as they would in a kernel (a solver's sums, and so its
    last digits, depend on how many threads share them). Returns the seconds spent.
    """
    from contextlib import nullcontext

    from cxlib.report.context import RunContext

    t = time.perf_counter()
    ctx = RunContext(params, prep.store, prep.period, prep.previous, None, prep.plan, prep.catalog, work,
                     notebook="runner")
    ctx._data["_warnings"] = prep.names.warnings
    ctx._data["_map_history"] = str(map_history) if map_history else None
    took = {}
    with capped_math_threads(threads) if threads else nullcontext():
        for name, status in prep.plan.statuses.items():
            if status.runs:
                t1 = time.perf_counter()
                ctx.maybe(name)
                took[name] = time.perf_counter() - t1
    secs = time.perf_counter() - t
    slowest = ", ".join(f"{n} {s:.1f}s" for n, s in sorted(took.items(), key=lambda x: -x[1])[:5])
    log(f"analyses computed on {params.engine.backend} ({params.engine.master}) in {secs:.1f}s; slowest: {slowest}")
    return secs


def capped_math_threads(threads: int):
    """A context in which every math library runs ``threads`` threads, as in a kernel (:func:`kernel_env`).

    The analysis stack (:data:`WARM_IMPORTS`) is imported first: ``threadpool_limits`` caps the
    libraries loaded when it is entered, and SciPy brings its own OpenBLAS, which a kernel caps
    through its environment whenever it loads. Loaded later, inside the context, it would run
    with every core, and the sentiment model's solver would sum in another order (its last
    digits, and a few held-out labels, then differed from a DuckDB run's).
    """
    import importlib

    from threadpoolctl import threadpool_limits

    for module in WARM_IMPORTS:
        importlib.import_module(module)
    return threadpool_limits(limits=threads)


@dataclass
class Prepared:
    """What :func:`prepare` found before any notebook runs."""

    period: object
    previous: object
    plan: object
    names: object
    inputs: list
    notes: list
    customer_ids: set = field(default_factory=set, repr=False)
    store: object = field(default=None, repr=False)  # the open store (``keep_open``), else None
    catalog: object = field(default=None, repr=False)


def customer_ids(store) -> set[str]:
    """Every customer id in the client's data (the release gate checks that none reaches a stakeholder)."""
    ids: set[str] = set()
    for table in ("customers", "orders", "web_events", "interactions", "survey_responses", "verbatims"):
        if store.has(table) and store.has_column(table, "customer_id"):
            t = store.table(table)
            found = t.filter(t.customer_id.notnull()).select(id=t.customer_id.cast("string")).distinct()
            ids.update(found.to_pyarrow().column("id").to_pylist())
    return ids


def release_gate(folder: Path, ids: set[str], forbidden: list, log) -> None:
    """Scan every file going to stakeholders; any personal data, customer id or absolute path stops
    the publish (:class:`ReleaseGateError`, exit 6) and the last good report stays."""
    from cxlib.exceptions import ReleaseGateError
    from cxlib.report import gate

    t = time.perf_counter()
    hits = gate.scan_outputs(folder, customer_ids=ids, forbidden_paths=forbidden)
    skipped = gate.not_scannable(folder)
    log(f"release gate: {len(hits)} hit(s) in {time.perf_counter() - t:.1f}s"
        + (f"; not scannable: {', '.join(skipped[:10])}" if skipped else ""))
    if hits:
        raise ReleaseGateError("the release gate stopped the publish: a file going to stakeholders holds "
                               "personal data, a customer id or a server path; the last good report is "
                               "unchanged.\n" + gate.format_hits(hits))


def collect_failures(work: Path) -> list[dict]:
    """The analyses (or their presentation) that failed during the run, with their tracebacks."""
    out = []
    for f in sorted((work / "results").glob("*.failed.json")) if (work / "results").exists() else []:
        out.append(json.loads(f.read_text()))
    return out


def _link(target: Path, link: Path) -> None:
    """Point ``link`` at ``target`` atomically (readers see the old report or the new one)."""
    tmp = link.with_name(f".link-{link.name}-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.exists() and not link.is_symlink():  # a real folder from an older run: keep it, then switch
        link.rename(link.parent / ".runs" / f"previous-{link.name}-{os.getpid()}")
    os.replace(tmp, link)


def publish(run_dir: Path, final: Path) -> None:
    """Make ``run_dir/report`` the report of its period with one atomic switch of a symlink, then
    remove the run folders no longer linked (old reports, abandoned runs)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    (final.parent / ".runs").mkdir(exist_ok=True)
    _link(run_dir / "report", final)
    clean_runs(final.parent)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True


def clean_runs(client_dir: Path, keep_seconds: float = 3600) -> list[Path]:
    """Remove run folders that no period links to and whose process is gone (or that are older
    than ``keep_seconds``): the debris of killed or superseded runs. Returns what was removed."""
    runs = client_dir / ".runs"
    if not runs.exists():
        return []
    linked = {Path(os.path.realpath(p)).parent for p in client_dir.iterdir() if p.is_symlink()}
    removed = []
    for d in runs.iterdir():
        if not d.is_dir() or d.resolve() in {x.resolve() for x in linked}:
            continue
        pid = int(d.name.rsplit("-", 1)[-1]) if d.name.rsplit("-", 1)[-1].isdigit() else 0
        old = time.time() - d.stat().st_mtime > keep_seconds
        if not pid or not _alive(pid) or old:
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _relative(path: str | Path) -> str:
    """``path`` relative to the project root (a relative path is taken from the root, never from
    the working folder); the bare file name when it lies outside the root."""
    p = Path(path)
    if not p.is_absolute():
        p = paths.ROOT / p
    try:
        return str(p.resolve().relative_to(paths.ROOT))
    except ValueError:
        return p.name


def run_report(client: str, period: str | None = None, renderer: str = "auto", *,
               reports_dir: Path | None = None, nb_dir: Path | None = None, quiet: bool = False) -> RunResult:
    """Produce ``reports/<client>/<period>/`` (report.html, report.pdf, tables, figures, manifest)
    and ``reports/<client>/analyst/<period>/`` (executed notebooks, run log, identifiable lists).

    Raises a :class:`ReportError` subclass naming what failed; the previous report is untouched and
    the failed run's log and partial outputs are kept in ``reports/<client>/last-failed-run/``.
    Analyses that fail on the data do not stop the run: they show a boxed note in their section,
    are listed in ``RunResult.failed`` and the manifest, and the CLI exits with 5.
    """
    from cxlib.report import render
    from cxlib.report.plan import describe_needs

    paths.check_client_name(client)
    reports_dir = reports_dir or paths.REPORTS_DIR
    client_dir = paths.inside(reports_dir, reports_dir / client, "client report folder")
    (client_dir / ".runs").mkdir(parents=True, exist_ok=True)
    clean_runs(client_dir)
    run_dir = client_dir / ".runs" / f"run-{int(time.time())}-{os.getpid()}"
    out = run_dir / "report"
    analyst = run_dir / "analyst"
    work = run_dir / "work"
    for d in (out, analyst, work):
        d.mkdir(parents=True, exist_ok=True)
    log = _Log(analyst / "run.log", quiet=quiet)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    started = None  # the warm kernels, until execute_all takes them over
    try:
        t = time.perf_counter()
        params = load_params(client, check_files=False)
        nbs = notebooks(nb_dir)
        if not nbs:
            raise ParameterError(f"no notebooks (NN_name.ipynb) in {nb_dir or paths.NOTEBOOKS_DIR}")
        # the kernels start and import while the rest is checked and the inputs load
        started = start_kernels(nbs, params, log)
        ensure_demo_data(params)
        params = load_params(client)
        check_notebook_parameters(nbs)
        log(f"client {client}: params {_relative(params.source)} valid; {len(nbs)} notebooks")
        db_path = work / "cx.duckdb"
        spark = params.engine.backend == "pyspark"
        prep = prepare(params, db_path, period, log, map_history=client_dir / "map_history", keep_open=spark)
        current, previous, the_plan, names, inputs, notes = (prep.period, prep.previous, prep.plan, prep.names,
                                                             prep.inputs, prep.notes)
        timings["load_and_validate"] = time.perf_counter() - t
        if spark:  # one Spark application computes every result; the kernels read them
            try:
                threads = int(kernel_env(kernel_workers(nbs, params))["OPENBLAS_NUM_THREADS"])  # as in a kernel
                timings["analyses"] = compute_results(prep, params, work, log, client_dir / "map_history", threads)
            finally:
                prep.store.close()
        log(f"inputs validated ({sum(i.rows for i in inputs):,} rows in {len(inputs)} tables); period "
            f"{current.label}" + (f" vs {previous.label}" if previous else " (no previous period with data)"))
        for s in the_plan.skipped():
            log(f"  not in this report: {s.name} (needs {describe_needs(s.reasons)})")
        for line in warning_lines(names.warnings):
            log(line)

        nb_out = analyst / "notebooks"
        nb_out.mkdir()
        parameters = {"params_file": str(params.source), "period": current.label,
                      "output_dir": str(out), "db_path": str(db_path)}
        t = time.perf_counter()
        timings.update(execute_all(nbs, nb_out, parameters, params, log,
                                   cell_timeout(params, sum(i.rows for i in inputs)), started,
                                   previous_timings(client_dir)))
        started = None
        timings["notebooks"] = time.perf_counter() - t
        failed = collect_failures(work)
        for f in failed:
            log(f"  FAILED analysis {f['analysis']} ({f.get('notebook') or 'notebook'}): {f['error']}\n{f['traceback']}")

        t = time.perf_counter()
        from cxlib.report.i18n import Translator, isolate_numbers

        tr = Translator(params.language)
        meta = render.ReportMeta(
            title=tr("title", name=params.name),
            subtitle=(tr("subtitle.all") if current.is_all
                      else tr("subtitle", period=current.label, previous=previous.label) if previous
                      else tr("subtitle.noprev", period=current.label)),
            date=(isolate_numbers if tr.rtl else str)(datetime.now(UTC).strftime("%Y-%m-%d")),
            language=params.language, primary_color=params.branding.primary_color,
            accent_color=params.branding.accent_color,
            logo=str(params.logo_path) if params.branding.logo else None,
            annex_title=tr("annex.title", name=params.name),
        )
        assembly = render.assemble_report([nb_out / nb.name for nb in nbs], out, meta)
        timings["assemble"] = time.perf_counter() - t
        t = time.perf_counter()
        from dataclasses import replace

        documents = [(assembly.path, meta)]
        if assembly.annex is not None:
            documents.append((assembly.annex, replace(meta, title=meta.annex_title)))
        result = render.render_all(documents, renderer=renderer)[0]
        timings["render"] = time.perf_counter() - t
        log(f"rendered with {result.renderer_used}: {result.html.name}, {result.pdf.name}")
        source = analyst / "source"  # the Markdown both renderers read, and its support files
        source.mkdir(exist_ok=True)
        for name in ("report.md", "annex.md", "assets", "_quarto.yml", "report_files"):
            if (out / name).exists():
                (out / name).rename(source / name)
        if (out / "analyst").exists():  # identifiable lists written by notebooks go to the analyst side
            for f in (out / "analyst").rglob("*"):
                if f.is_file():
                    dest = analyst / f.relative_to(out / "analyst")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    f.replace(dest)
            shutil.rmtree(out / "analyst")
        timings["total"] = time.perf_counter() - t_all
        manifest = {
            "client": client, "name": params.name, "period": current.label,
            "previous_period": previous.label if previous else None,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "renderer": result.renderer_used, "seed": params.seed, "git_commit": _git_commit(),
            "params_file": _relative(params.source) if params.source else None,
            "params": params.model_dump(mode="json", exclude={"source", "data_dir"}),
            "inputs": [{"table": i.table, "path": _relative(i.path), "sha256": i.sha256, "rows": i.rows,
                        "columns": i.columns, "encoding": i.encoding, "excluded": i.excluded} for i in inputs],
            "load_notes": [{k: v for k, v in vars(n).items() if k != "file"} for n in notes],
            "analyses": {name: ("failed" if any(f["analysis"] in (name, f"{name}.show") for f in failed) else
                                "ran" if s.runs else "not in report")
                         for name, s in the_plan.statuses.items()},
            "not_in_report": {s.name: describe_needs(s.reasons) for s in the_plan.skipped()},
            "failed": [{"analysis": f["analysis"], "error": f["error"]} for f in failed],
            "warnings": [{"key": w.key, "values": w.values} for w in names.warnings],
            "notebooks": [nb.name for nb in nbs],
            "outputs": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
            "versions": _versions(("pyspark",) if params.engine.backend == "pyspark" else ()),
            "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str))
        release_gate(out, prep.customer_ids, [paths.ROOT, run_dir, params.data_path], log)
        final = client_dir / current.label
        shutil.rmtree(work, ignore_errors=True)
        dest = client_dir / "analyst" / current.label
        if dest.exists() or dest.is_symlink():
            shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        log(f"done in {timings['total']:.1f}s -> {final.relative_to(paths.ROOT) if final.is_relative_to(paths.ROOT) else final}"
            + (f"; {len(failed)} part(s) could not be produced (exit 5)" if failed else ""))
        analyst.rename(dest)
        publish(run_dir, final)
        return RunResult(final, current.label, result.renderer_used, timings, failed=failed)
    except BaseException as e:
        if started is not None:
            stop_kernels(started)
        if isinstance(e, KeyboardInterrupt | SystemExit) and not isinstance(e, ReportError):
            _keep_failed(client_dir, run_dir, log, f"interrupted: {type(e).__name__}")
            raise
        import traceback

        if not isinstance(e, ReportError):
            log(f"FAILED (unexpected): {type(e).__name__}: {e}\n{traceback.format_exc()}")
        failed_dir = _keep_failed(client_dir, run_dir, log, str(e) if isinstance(e, ReportError) else "")
        note = f"\nRun log and partial outputs: {_relative(failed_dir)}"
        if isinstance(e, ReportError):
            e.args = (str(e).replace(str(run_dir), str(failed_dir)) + note,)
            raise
        raise ReportError(f"the run stopped unexpectedly: {type(e).__name__}: {e}{note}") from e


def _keep_failed(client_dir: Path, run_dir: Path, log, message: str) -> Path:
    """Keep a failed run's log and partial outputs in ``last-failed-run/`` (replacing the last one)."""
    if message:
        log(f"FAILED: {message}")
    failed = client_dir / "last-failed-run"
    shutil.rmtree(failed, ignore_errors=True)
    if run_dir.exists():
        shutil.rmtree(run_dir / "work", ignore_errors=True)
        run_dir.rename(failed)
    return failed


def run_all(period: str | None = None, renderer: str = "auto", reports_dir: Path | None = None) -> dict[str, str]:
    """Render every client in params/; one failing client does not stop the others.

    Each value is ``"ok: <folder>"``, ``"exit 5: <folder> (parts ...)"`` or ``"exit N: <first line>"``.
    """
    from cxlib.__main__ import EXIT_CODES, EXIT_PARTIAL

    results: dict[str, str] = {}
    for f in sorted(paths.PARAMS_DIR.glob("*.yml")):
        client = f.stem
        try:
            r = run_report(client, period, renderer, reports_dir=reports_dir)
            results[client] = (f"exit {EXIT_PARTIAL}: {r.output_dir} (could not produce: "
                               f"{', '.join(x['analysis'] for x in r.failed)})" if r.failed else f"ok: {r.output_dir}")
        except ReportError as e:
            code = next((c for cls, c in EXIT_CODES.items() if isinstance(e, cls)), 1)
            results[client] = f"exit {code}: {str(e).splitlines()[0]}"
            print(f"{client}: FAILED\n{e}", file=sys.stderr)
    write_index(reports_dir or paths.REPORTS_DIR)
    return results


def write_index(reports_dir: Path) -> Path:
    """``reports/index.html`` (see :func:`cxlib.report.index.write_index`)."""
    from cxlib.report import index

    return index.write_index(reports_dir)
