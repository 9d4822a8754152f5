"""Shared fixtures: the demo data is generated once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A freshly generated demo data folder (same seed as params/demo.yml)."""
    from cxlib import demo

    out = tmp_path_factory.mktemp("demo")
    demo.generate(out, seed=20261122)
    return out


@pytest.fixture(scope="session")
def demo_ar_run(tmp_path_factory):
    """The Arabic demo report, rendered once for every test that reads it."""
    from cxlib.report import runner

    return runner.run_report("demo-ar", renderer="offline", reports_dir=tmp_path_factory.mktemp("reports_ar"),
                             quiet=True)
