"""Test helpers: params for a data folder outside data/ (tests redirect paths.DATA_DIR)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from cxlib import paths
from cxlib.data.params import Params

ROOT = Path(__file__).resolve().parent.parent


def demo_params_dict() -> dict:
    return yaml.safe_load((ROOT / "params" / "demo.yml").read_text())


def params_for(data_dir: Path, monkeypatch, **overrides) -> Params:
    """The demo params pointed at ``data_dir`` (allowed by redirecting paths.DATA_DIR)."""
    monkeypatch.setattr(paths, "DATA_DIR", data_dir.parent)
    raw = demo_params_dict()
    raw.update(data_dir=str(data_dir), source=str(ROOT / "params" / "demo.yml"), **overrides)
    return Params.model_validate(raw)


def copy_demo(demo_dir: Path, dest: Path) -> Path:
    shutil.copytree(demo_dir, dest)
    return dest


def open_demo(demo_dir: Path):
    """(monkeypatch, params, store, period, previous) on a generated demo folder; undo the
    monkeypatch when done (module fixtures: ``mp.undo()`` after ``yield``)."""
    import pytest

    from cxlib.data import engine
    from cxlib.data.io import load_store

    mp = pytest.MonkeyPatch()
    params = params_for(demo_dir, mp)
    store = load_store(params)
    cur, prev = engine.resolve_period(store, None)
    return mp, params, store, cur, prev
