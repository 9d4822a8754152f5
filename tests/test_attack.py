"""Tests that attack: random exports against the loader (hypothesis), and kill -9 during a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cxlib.data.io import NA_TOKENS, load_store
from cxlib.exceptions import DataValidationError, ReportError
from tests.test_io import client

GOOD = st.integers(0, 10).map(str)
BLANK = st.sampled_from(["", " ", "NA", "n/a", "null", "-", "None"])
BAD = st.sampled_from(["abc", "11", "-1", "7.5", "inf", "1e308", "NaN5", "٣x", "12,5"])
DATES = st.sampled_from(["2026-01-05", "2026-02-10 10:00", "2026-03-01T09:00:00+03:00", "yesterday", "",
                         "2026-13-01", "2031-01-01"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.one_of(GOOD, BLANK, BAD), DATES), min_size=1, max_size=12))
@example(rows=[("0", "2026-01-05"), ("", "")])  # a blank row: left out and counted (found by hypothesis)
@example(rows=[("n/a", ""), ("7", "2026-02-10 10:00"), (" ", "")])
def test_loader_loads_exactly_the_valid_rows_or_names_every_bad_line(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("h")
    mp = pytest.MonkeyPatch()
    try:
        frame = pd.DataFrame(rows, columns=["nps", "when"])
        p = client(tmp, mp, {"survey_responses": (frame, "s.csv", {"columns": {"when": "response_time"}})})
        try:
            store = load_store(p, now=pd.Timestamp("2026-11-22"))
        except DataValidationError as e:  # the only failure allowed, naming the file, column and lines
            msg = str(e)
            assert "s.csv" in msg and ("column 'nps'" in msg or "column 'response_time'" in msg
                                       or "is empty" in msg), msg
            assert "Fix" in msg
            return
        except ReportError as e:  # pragma: no cover - any other report error would still be named
            raise AssertionError(f"unexpected {type(e).__name__}: {e}") from e
        got = store.df("survey_responses")
        future = frame["when"].eq("2031-01-01")
        # a row whose every cell is empty or a no-value token holds no record: left out and counted
        empty = frame["nps"].str.strip().str.lower().isin(NA_TOKENS) & frame["when"].eq("")
        kept = frame[~future & ~empty]
        valid = kept["nps"].str.strip().isin([str(i) for i in range(11)])
        assert got["nps"].notna().sum() == valid.sum()      # every valid score, nothing invented
        assert got["nps"].isna().sum() == (~valid).sum()    # blanks kept as missing, counted
        assert sorted(got["nps"].dropna().astype(int)) == sorted(kept.loc[valid, "nps"].astype(int))
        assert len(got) + sum(i.excluded for i in store.inputs) == len(frame)  # no row dropped silently
    finally:
        mp.undo()


@pytest.mark.slow
def test_kill_during_a_run_never_leaves_a_missing_or_half_report(tmp_path):
    """Runs the small survey example in a child process and kills it (SIGKILL) at several moments: the
    period's report is always the last complete one, and the next run cleans the debris."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from cxlib import paths
        from cxlib.report import runner
        reports = Path({str(tmp_path / 'reports')!r})
        runner.run_report("example-survey", renderer="offline", reports_dir=reports, quiet=True)
    """))
    # a native crash in the child prints where it happened (pytest shows it when the test fails)
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONFAULTHANDLER": "1"}

    def run(kill_after: float | None):
        proc = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True)
        if kill_after is None:
            code = proc.wait(timeout=600)
            if code < 0:  # died by a signal nobody sent (CI saw one SIGSEGV while loading the inputs): once more
                print(f"uncontrolled run ended by signal {-code}; running it again", file=sys.stderr)
                code = subprocess.Popen([sys.executable, str(script)], env=env, start_new_session=True).wait(timeout=600)
            assert code == 0
            return
        time.sleep(kill_after)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    run(None)
    final = tmp_path / "reports" / "example-survey" / "2026Q3"
    first = os.path.realpath(final)
    assert (final / "report.html").is_file()
    for delay in (1.0, 4.0, 8.0):
        run(delay)
        assert final.is_symlink() and (final / "report.html").is_file() and (final / "manifest.json").is_file()
        assert os.path.realpath(final) in (first, os.path.realpath(final))  # the old one, or a finished new one
    run(None)
    runs = [p for p in (tmp_path / "reports" / "example-survey" / ".runs").iterdir()]
    assert runs == [final.resolve().parent], runs  # killed runs' folders were cleaned
