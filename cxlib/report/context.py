"""What a notebook opens first: validated params, the run's data store, the period, the plan and
the results of the run's analyses, computed once.

``ctx.result(name)`` returns an analysis result: from the run's results folder when another
notebook already computed it, else computed now (and saved for the others). ``with
ctx.section(name):`` wraps the cell that shows it: an analysis the plan leaves out is skipped
silently (the data-and-method section lists it with what it would need), and an analysis or
presentation that fails on the data shows a boxed note in its place, is recorded for the run's
log and exit code, and never takes the report down.
"""

from __future__ import annotations

import fcntl
import json
import os
import pickle
import secrets
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cxlib import paths
from cxlib.data import engine
from cxlib.data.io import Store, load_store, open_store
from cxlib.data.params import Params, load_params
from cxlib.data.periods import Period
from cxlib.exceptions import ReportError


class NotInReport(Exception):  # noqa: N818 - control flow, not an error
    """The plan leaves this analysis out (the report lists it under "Not in this report")."""


class AnalysisFailed(ReportError):
    """An analysis could not be produced from the data (its section shows a boxed note)."""


@dataclass
class RunContext:
    """Everything one notebook run needs, built once from the parameters cell."""

    params: Params
    store: Store
    period: Period
    previous: Period | None
    output_dir: Path | None
    plan: object = None                       # cxlib.report.plan.Plan
    catalog: object = None                    # cxlib.report.plan.Catalog
    work_dir: Path | None = None              # the run's work folder (results, failures), None in JupyterLab
    notebook: str = ""
    #: the analyses this notebook will ask for, in its order (the runner's hint, see :meth:`result`)
    ahead: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict)
    _holding: int = 0  # results locks this kernel holds (an analysis being computed, and its inputs)
    _failed: dict = field(default_factory=dict)
    _data: dict = field(default_factory=dict)

    # --- periods ------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """The reporting period and the previous one (when it has data), oldest first."""
        return [p.label for p in self.window]

    @property
    def window(self) -> list[Period]:
        """The previous period (when it has data) and the reporting period."""
        return [p for p in (self.previous, self.period) if p is not None]

    @property
    def previous_label(self) -> str | None:
        return self.previous.label if self.previous is not None else None

    @property
    def thresholds(self):
        return self.params.thresholds

    @property
    def tr(self):
        """The report's words in the client's language."""
        from cxlib.report.i18n import Translator

        if "_tr" not in self._data:
            self._data["_tr"] = Translator(self.params.language, labels=self.params.labels)
        return self._data["_tr"]

    @property
    def warnings(self) -> list:
        """What the names in params point at that the data never shows (stated in the report)."""
        return self._data.get("_warnings", [])

    @property
    def map_history_dir(self) -> Path | None:
        """Where this client's journey maps are kept from run to run (None in JupyterLab)."""
        d = self._data.get("_map_history")
        return Path(d) if d else None

    def shows(self, section: str) -> bool:
        """Whether any analysis of ``section`` is in the report (its heading is shown then)."""
        from cxlib.report import analyses

        return any(a.section == section and self.runs(a.name) for a in analyses.REGISTRY.values())

    # --- shared pulls (cached per kernel) -------------------------------------------------
    def data(self, key: str, make):
        """A frame several analyses use (responses, texts...), made once per kernel."""
        if key not in self._data:
            self._data[key] = make()
        return self._data[key]

    # --- results ---------------------------------------------------------------------------
    def runs(self, name: str) -> bool:
        """Whether the plan includes analysis ``name``."""
        return self.plan is None or self.plan.runs(name)

    def gives(self, name: str) -> bool:
        """Whether analysis ``name`` has a result to show: in the plan, and not left out on the data
        (:class:`NotInReport`) nor failed (its own cell shows the failure). Computes it if needed."""
        try:
            self.result(name)
        except (NotInReport, AnalysisFailed):
            return False
        return True

    def _results_dir(self) -> Path | None:
        if self.work_dir is None:
            return None
        d = self.work_dir / "results"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def result(self, name: str):
        """The result of analysis ``name``: computed once per run, shared between notebooks.

        Raises :class:`NotInReport` when the plan leaves it out and :class:`AnalysisFailed` when it
        failed (here or in another notebook of the run).
        """

        if name in self._cache:
            return self._cache[name]
        if name in self._failed:
            raise AnalysisFailed(self._failed[name])
        if not self.runs(name):
            raise NotInReport(name)
        d = self._results_dir()
        if d is None:
            return self._compute(name, None)
        # one kernel computes an analysis; another that needs it meanwhile works ahead, then reads it
        with open(d / f".{name}.lock", "w") as lock:
            self._acquire(lock, name, d)
            self._holding += 1
            try:
                done, failed = d / f"{name}.pkl", d / f"{name}.failed.json"
                if done.exists():
                    self._cache[name] = pickle.loads(done.read_bytes())
                    return self._cache[name]
                if failed.exists():
                    self._failed[name] = json.loads(failed.read_text())["error"]
                    raise AnalysisFailed(self._failed[name])
                return self._compute(name, d)
            finally:
                self._holding -= 1
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _acquire(self, lock, name: str, d: Path) -> None:
        """Take the lock of result ``name``; while another kernel holds it (computing it), compute
        the next analyses this notebook will ask for (:attr:`ahead`) instead of waiting idle.

        Working ahead happens only when this kernel holds no other results lock (a notebook cell
        asked, not an analysis being computed): each kernel's held locks then always form a chain
        of true dependencies, so two kernels can never wait for each other. What is computed
        ahead is saved and read as usual: the results do not depend on who computed them first.
        """
        if self._holding:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            if not self._work_ahead(name, d):
                fcntl.flock(lock, fcntl.LOCK_EX)
                return

    def _work_ahead(self, waiting_for: str, d: Path) -> bool:
        """Compute one analysis of :attr:`ahead` that nobody has computed or is computing; False
        when there is none."""
        for cand in self.ahead:
            if (cand == waiting_for or cand in self._cache or cand in self._failed or not self.runs(cand)
                    or (d / f"{cand}.pkl").exists() or (d / f"{cand}.failed.json").exists()):
                continue
            with open(d / f".{cand}.lock", "w") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # the other kernel is on it
                self._holding += 1
                try:
                    if not ((d / f"{cand}.pkl").exists() or (d / f"{cand}.failed.json").exists()):
                        try:
                            self._compute(cand, d)
                        except (NotInReport, AnalysisFailed):
                            pass  # recorded; the cell that asks for it shows it
                finally:
                    self._holding -= 1
                    fcntl.flock(lock, fcntl.LOCK_UN)
            return True
        return False

    def _compute(self, name: str, d: Path | None):
        from cxlib.report import analyses

        t = time.perf_counter()
        try:
            value = analyses.REGISTRY[name].compute(self)
        except (NotInReport, AnalysisFailed) as e:
            if isinstance(e, NotInReport):
                raise
            self._record_failure(name, f"builds on a part that failed: {e}", "")
            raise AnalysisFailed(self._failed[name]) from None
        except Exception as e:  # noqa: BLE001 - any failure on the data is reported, not fatal
            self._record_failure(name, f"{type(e).__name__}: {e}", traceback.format_exc())
            raise AnalysisFailed(self._failed[name]) from None
        self._cache[name] = value
        if d is not None:
            tmp = d / f".{name}.{os.getpid()}.tmp"
            tmp.write_bytes(pickle.dumps(value))
            tmp.replace(d / f"{name}.pkl")
            secs = time.perf_counter() - t
            self._release_memory()
            self._log_timing(name, secs)
        return value

    def maybe(self, name: str):
        """The result of ``name``, or None when it is not in the report or failed."""
        try:
            return self.result(name)
        except (NotInReport, AnalysisFailed):
            return None

    def _record_failure(self, name: str, error: str, tb: str) -> None:
        self._failed[name] = error
        d = self._results_dir()
        record = {"analysis": name, "notebook": self.notebook, "error": error, "traceback": tb}
        if d is not None:
            (d / f"{name}.failed.json").write_text(json.dumps(record, ensure_ascii=False))
        if tb:
            print(f"[cxlib] {name} failed:\n{tb}", file=sys.stderr)

    def _log_timing(self, name: str, secs: float) -> None:
        """One line of ``timings.jsonl``: the analysis, its seconds, and this kernel's memory after it
        (``rss_gb``) and at its highest so far (``peak_gb``), to find what a big client's memory goes to."""
        if self.work_dir is not None:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB on Linux
            try:
                rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 ** 3
            except (OSError, ValueError, IndexError):  # not Linux
                rss = None
            line = {"analysis": name, "seconds": round(secs, 3), "notebook": self.notebook, "pid": os.getpid(),
                    "rss_gb": None if rss is None else round(rss, 3), "peak_gb": round(peak, 3),
                    "engine_gb": self._engine_gb()}
            with open(self.work_dir / "timings.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")

    def _release_memory(self) -> None:
        """After an analysis under the runner: DuckDB's cached blocks dropped, the freed heap handed back."""
        if self.store is not None:
            self.store.release_memory()
        _give_back_memory()

    def _engine_gb(self) -> float | None:
        """What DuckDB holds in this process (its buffer pool: cached table blocks and query state)."""
        if self.store is None or self.store.backend != "duckdb":
            return None
        try:
            got = self.store.db.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
        except Exception:  # noqa: BLE001 - a log line never fails an analysis
            return None
        return round((got or 0) / 1024 ** 3, 3)

    @contextmanager
    def section(self, name: str):
        """Wrap the cell that shows analysis ``name``.

        Skipped silently when the plan leaves it out; a failure (of the analysis or of showing
        it) becomes a boxed note in the report, a line in the run log and exit code 5.
        """
        from cxlib.report.display import show_failure

        try:
            yield
        except NotInReport:
            return
        except AnalysisFailed as e:
            show_failure(name, str(e), self.params.language)
        except Exception as e:  # noqa: BLE001 - showing a result failed: report it, go on
            self._record_failure(f"{name}.show", f"{type(e).__name__}: {e}", traceback.format_exc())
            show_failure(name, f"{type(e).__name__}: {e}", self.params.language)


def _give_back_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``), as a kernel does not
    on its own: after the frames of one analysis are freed, their pages stayed with the kernel, and
    two kernels' leftovers added up (at 1M customers, 3.69 -> 3.43 GB for the report's process
    tree). Elsewhere than glibc, nothing."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def ahead_file(work: Path, pid: int) -> Path:
    """Where the runner lists the analyses of the notebook that kernel ``pid`` runs next."""
    return work / "ahead" / f"{pid}.json"


def _ahead(work: Path | None) -> tuple[str, ...]:
    f = ahead_file(work, os.getpid()) if work is not None else None
    return tuple(json.loads(f.read_text())) if f is not None and f.exists() else ()


def _work_dir(db_path) -> Path | None:
    return Path(db_path).parent if db_path else None


def open_run(params_file: str | Path, period: str | None = None, output_dir: str | Path | None = None,
             db_path: str | Path | None = None, *, notebook: str = "") -> RunContext:
    """Open a run from a notebook's parameters.

    Under the runner ``db_path`` names the DuckDB database it already loaded and validated, with
    the plan and the results folder beside it; in JupyterLab (no ``db_path``) the inputs are
    loaded and validated here, in memory, and the plan is built on the spot. With
    ``engine.backend: pyspark`` the store reads the run's Parquet folder and starts Spark only if
    an engine step runs here (under the runner every result is already computed).
    """
    from cxlib.report import analyses, plan

    params = load_params(params_file)
    work = _work_dir(db_path) if db_path and Path(db_path).exists() else None
    if work is not None:
        store = open_store(params, db_path)
        meta = json.loads((work / "run.json").read_text())
        current = _period(meta["period"])
        previous = _period(meta["previous"]) if meta["previous"] else None
        cat = plan.Catalog.from_json(meta["catalog"])
        the_plan = plan.Plan.load(work / "plan.json")
    else:
        store = load_store(params)
        current, previous = engine.resolve_period(store, period or params.period)
        engine.build_customer_view(store, None if current.is_all else current.end)
        cat = plan.catalog(store, current, previous)
        the_plan = plan.build_plan(analyses.REGISTRY.values(), cat)
    from cxlib.decide.words import Message

    if work is not None:
        warnings = [Message(w["key"], w["values"]) for w in meta.get("warnings", [])]
    else:
        from cxlib.report.checks import check_names

        warnings = check_names(store, params).warnings
    out = Path(output_dir) if output_dir else None
    if out is not None:
        (out / "tables").mkdir(parents=True, exist_ok=True)
    ctx = RunContext(params, store, current, previous, out, the_plan, cat, work, notebook,
                     ahead=_ahead(work))
    ctx._data["_warnings"] = warnings
    if work is not None:
        ctx._data["_map_history"] = meta.get("map_history")
    return ctx


def start(params_file: str | Path, period: str | None = None, output_dir: str | Path | None = None,
          db_path: str | Path | None = None) -> RunContext:
    """The one call a notebook makes after its parameters cell: open the run, set the chart theme
    and the report language (``ctx.tr`` for words, ``ctx.output_dir`` for outputs)."""
    from cxlib.report import display, plots

    ctx = open_run(params_file, period, output_dir, db_path)
    display._LANGUAGE[0] = ctx.params.language
    plots.set_theme(ctx.params.branding, ctx.tr)
    return ctx


def _period(d: dict) -> Period:
    import pandas as pd

    return Period(d["label"], pd.Timestamp(d["start"]) if d["start"] else None,
                  pd.Timestamp(d["end"]) if d["end"] else None, d["kind"])


def period_json(p: Period | None) -> dict | None:
    if p is None:
        return None
    return {"label": p.label, "kind": p.kind, "start": str(p.start) if p.start is not None else None,
            "end": str(p.end) if p.end is not None else None}


def pseudonym_salt(client: str) -> str:
    """The secret that turns customer ids into stable pseudonyms (HMAC) in stakeholder outputs.

    ``CXLIB_PSEUDONYM_SALT`` if set; otherwise a random salt made once per client and kept in
    ``reports/<client>/analyst/.salt`` (never in a report or the manifest), so a customer
    keeps the same reference from run to run.
    """
    if os.environ.get("CXLIB_PSEUDONYM_SALT"):
        return os.environ["CXLIB_PSEUDONYM_SALT"]
    path = paths.REPORTS_DIR / paths.check_client_name(client) / "analyst" / ".salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
