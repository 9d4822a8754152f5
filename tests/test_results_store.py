"""The run's results store: one kernel computes an analysis, another that needs it meanwhile
computes what its notebook asks for next instead of waiting idle, and never deadlocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import nbformat
import pytest

from cxlib.paths import ROOT
from cxlib.report import analyses, context
from cxlib.report.context import RunContext
from cxlib.report.runner import notebook_analyses


@pytest.fixture
def registry(monkeypatch):
    """Fake analyses: ``slow`` blocks until released; the others return who computed them."""
    release = threading.Event()
    started = threading.Event()
    reg = {}

    def add(name, fn):
        reg[name] = analyses.Analysis(name, name, analyses.Needs(), fn)

    def slow(ctx):
        started.set()
        assert release.wait(30), "the test never released slow"
        return {"by": ctx.notebook}

    add("slow", slow)
    for name in ("x", "y", "z"):
        add(name, lambda ctx: {"by": ctx.notebook})
    add("outer", lambda ctx: {"by": ctx.notebook, "slow": ctx.result("slow")["by"]})
    add("broken", lambda ctx: 1 / 0)
    monkeypatch.setattr(analyses, "REGISTRY", reg)
    return release, started


def _ctx(work, name, ahead=()):
    return RunContext(None, None, None, None, None, plan=None, work_dir=work, notebook=name, ahead=tuple(ahead))


def _who(work) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (work / "timings.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out.setdefault(rec["analysis"], []).append(rec["notebook"])
    return out


def _wait_for(path, seconds=30):
    t = time.monotonic()
    while not path.exists():
        assert time.monotonic() - t < seconds, f"{path.name} never appeared"
        time.sleep(0.01)


def _b_asks_while_a_computes_slow(tmp_path, started, b, ask: str):
    """Kernel A starts computing ``slow``; then B asks for ``ask`` (each in a thread). Returns A,
    both threads, and B's answers (filled when B gets it)."""
    a = _ctx(tmp_path, "A")
    ta = threading.Thread(target=a.result, args=("slow",))
    ta.start()
    assert started.wait(30)
    got = {}
    tb = threading.Thread(target=lambda: got.setdefault(ask, b.result(ask)))
    tb.start()
    return a, ta, tb, got


def test_a_waiting_kernel_works_ahead_then_reads_the_result(tmp_path, registry):
    release, started = registry
    b = _ctx(tmp_path, "B", ahead=["slow", "x", "broken", "y"])
    a, ta, tb, got = _b_asks_while_a_computes_slow(tmp_path, started, b, "slow")
    for name in ("x", "y"):  # B computes its next analyses while A holds slow
        _wait_for(tmp_path / "results" / f"{name}.pkl")
    assert (tmp_path / "results" / "broken.failed.json").exists()
    assert tb.is_alive() and "slow" not in got  # nothing left ahead: B now waits for slow
    release.set()
    ta.join(30)
    tb.join(30)
    assert got["slow"] == {"by": "A"}  # read from A's result, not computed again
    assert _who(tmp_path) == {"slow": ["A"], "x": ["B"], "y": ["B"]}
    assert b.result("x") == {"by": "B"} and a.result("y") == {"by": "B"}
    with pytest.raises(context.AnalysisFailed, match="ZeroDivisionError"):
        b.result("broken")  # the failure found ahead is shown where the notebook asks for it


def test_inside_a_computation_a_kernel_waits_and_does_not_work_ahead(tmp_path, registry):
    """While it computes ``outer`` (holding its lock), a kernel needing ``slow`` just waits: work
    ahead only starts from a notebook cell, so held locks are always a chain of dependencies."""
    release, started = registry
    b = _ctx(tmp_path, "B", ahead=["outer", "x"])
    _, ta, tb, got = _b_asks_while_a_computes_slow(tmp_path, started, b, "outer")
    time.sleep(0.5)
    assert not (tmp_path / "results" / "x.pkl").exists()
    release.set()
    ta.join(30)
    tb.join(30)
    assert got["outer"] == {"by": "B", "slow": "A"}
    assert "x" not in _who(tmp_path)


def test_two_kernels_needing_each_others_work_finish(tmp_path, registry):
    """Both kernels ask for what the other computes, each with the other's next analyses ahead."""
    release, started = registry
    a = _ctx(tmp_path, "A", ahead=["slow", "y", "outer", "z"])
    b = _ctx(tmp_path, "B", ahead=["outer", "x", "slow"])
    results = {}
    ta = threading.Thread(target=lambda: results.setdefault("A", [a.result(n) for n in a.ahead]))
    tb = threading.Thread(target=lambda: results.setdefault("B", [b.result(n) for n in b.ahead]))
    ta.start()
    assert started.wait(30)
    tb.start()
    time.sleep(0.3)
    release.set()
    ta.join(30)
    tb.join(30)
    assert not ta.is_alive() and not tb.is_alive()
    assert all(len(v) for v in _who(tmp_path).values()) and all(len(v) == 1 for v in _who(tmp_path).values())
    assert results["A"][0] == results["B"][2] == {"by": "A"}


def test_notebook_analyses_in_first_asked_order(registry):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell('ctx.result("x")'),  # not code
        nbformat.v4.new_code_cell('with ctx.section("y"):\n    v = ctx.result("y")\n    w = ctx.maybe(\'x\')'),
        nbformat.v4.new_code_cell('ctx.result("not_registered")\nctx.result("y")\nctx.shows("z")'),
    ])
    assert notebook_analyses(nb) == ["y", "x"]


def test_the_runner_hint_is_read_by_the_kernel_it_names(tmp_path):
    f = context.ahead_file(tmp_path, os.getpid())
    f.parent.mkdir()
    f.write_text(json.dumps(["funnel", "kpis"]))
    assert context._ahead(tmp_path) == ("funnel", "kpis")
    assert context._ahead(None) == ()
    context.ahead_file(tmp_path, os.getpid()).unlink()
    assert context._ahead(tmp_path) == ()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_kernel_gives_freed_heap_back_after_an_analysis():
    """A kernel keeps the pages of an analysis's freed frames unless told to hand them back; the
    context does after each analysis (at 1M customers two kernels' leftovers added up)."""
    code = textwrap.dedent("""
        import os
        from cxlib.report import context

        def rss():
            return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20

        keep = []
        blocks = [bytes(4000) + bytes([i % 256]) for i in range(60_000)]  # ~240 MB of malloc'd blocks
        keep = blocks[::50]  # a few survive, scattered: the heap cannot shrink from its top
        del blocks
        before = rss()
        context._give_back_memory()
        print(before, rss())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    before, after = map(float, out.stdout.split())
    assert before > 150 and after < before - 120, (before, after)
