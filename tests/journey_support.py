"""Shared by the journey-method tests: the demo run opened once per test session, and small stores."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import duckdb
import pandas as pd

from cxlib.data.io import Store


class DemoRun(NamedTuple):
    params: object
    store: Store
    cur: object
    prev: object
    verbatims: pd.DataFrame
    coded: pd.DataFrame


@lru_cache(maxsize=2)
def demo_run(demo_dir: Path) -> DemoRun:
    """The generated demo loaded into a store, its two last quarters, and the coded verbatims of both.

    The data folder redirection is undone as soon as the tables are loaded (nothing later reads files).
    """
    from cxlib.voice import coding
    from tests.helpers import open_demo

    mp, params, store, cur, prev = open_demo(Path(demo_dir))
    mp.undo()
    verb = store.df("verbatims")
    t = pd.to_datetime(verb["verbatim_time"])
    verb = verb[(t >= prev.start) & (t < cur.end)].reset_index(drop=True)
    coded = coding.auto_code(verb, coding.compile_codebook(store.df("codebook")))
    return DemoRun(params, store, cur, prev, verb, coded)


def read_demo(demo_dir: Path, name: str) -> pd.DataFrame:
    """A demo table straight from its file, dates parsed (the independent side of a comparison)."""
    demo_dir = Path(demo_dir)
    if name == "web_events":
        return pd.read_parquet(demo_dir / "web_events.parquet")
    df = pd.read_csv(demo_dir / f"{name}.csv")
    for col in ("interaction_time", "order_time", "response_time", "verbatim_time", "signup_date", "churn_date"):
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


def store_of(params, **tables: pd.DataFrame) -> Store:
    """A store holding only the given tables (a client who brought just those)."""
    db = duckdb.connect(":memory:")
    for name, df in tables.items():
        db.register("_incoming", df)
        db.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _incoming')
        db.unregister("_incoming")
    return Store(db=db, params=params)
