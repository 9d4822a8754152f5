"""Data contracts: every table rejects a broken file with file, column, lines and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib.data import engine
from cxlib.data.io import load_store, read_raw, validate_table
from cxlib.data.schemas import TABLES
from cxlib.exceptions import DataValidationError
from tests.helpers import copy_demo, demo_params_dict, params_for

FILES = {
    "customers": "customers.csv", "orders": "orders.csv", "web_events": "web_events.parquet",
    "interactions": "interactions.csv", "survey_responses": "survey_responses.csv",
    "verbatims": "verbatims.csv", "codebook": "codebook.csv", "manual_codes": "manual_codes.csv",
    "swot_inputs": "swot_inputs.csv",
}

# table -> (column to break, bad value, expected words in the message)
BREAKS = {
    "customers": ("revenue", "-5", "greater_than_or_equal_to(0)"),
    "orders": ("order_time", "31/31/2026", "not a date"),
    "web_events": ("event_time", "yesterday", "not a date"),
    "interactions": ("resolved", "maybe", "not a boolean"),
    "survey_responses": ("nps", "11", "less_than_or_equal_to(10)"),
    "verbatims": ("source", "fax", "isin"),
    "codebook": ("valence", "angry", "isin"),
    "manual_codes": ("coder", None, "not_nullable"),
    "swot_inputs": ("quadrant", "risk", "isin"),
}


@pytest.mark.parametrize("table", list(TABLES))
def test_each_contract_rejects_a_broken_file(demo_dir, table):
    path = demo_dir / FILES[table]
    df = read_raw(path)
    validate_table(df, table, path)  # the clean file passes
    column, bad, expected = BREAKS[table]
    broken = df.copy()
    broken[column] = broken[column].astype(object)
    broken.loc[[1, 4], column] = bad
    with pytest.raises(DataValidationError) as e:
        validate_table(broken, table, path)
    msg = str(e.value)
    assert str(path) in msg and f"column '{column}'" in msg and expected in msg and "Fix:" in msg
    where = "lines 3, 6" if path.suffix == ".csv" else "rows 2, 5"
    assert where in msg, msg
    assert e.value.failures["rows"].iloc[0] == [2, 5]


def test_every_problem_reported_at_once(demo_dir):
    path = demo_dir / "survey_responses.csv"
    df = read_raw(path)
    df.loc[0, "nps"] = "abc"          # not a number
    df.loc[1, "nps"] = "11"           # out of range (still checked although row 0 is not a number)
    df.loc[2, "response_id"] = df.loc[3, "response_id"]  # duplicate id
    df = df.drop(columns=["csat"])    # missing column
    with pytest.raises(DataValidationError) as e:
        validate_table(df, "survey_responses", path)
    msg = str(e.value)
    assert "column 'nps', line 2: not a number (e.g. 'abc')" in msg
    assert "column 'nps', line 3: less_than_or_equal_to(10)" in msg
    assert "column 'response_id', lines 4, 5: field_uniqueness" in msg and "duplicate" in msg
    assert "column 'csat' is missing" in msg and "tables.survey_responses.columns" in msg


def test_transactional_needs_touchpoint_reported_once(demo_dir):
    path = demo_dir / "survey_responses.csv"
    df = read_raw(path)
    i = df.index[df["survey_type"] == "transactional"][0]
    df.loc[i, "touchpoint"] = None
    with pytest.raises(DataValidationError) as e:
        validate_table(df, "survey_responses", path)
    assert str(e.value).count("a transactional response needs a touchpoint") == 1
    assert f"line {i + 2}:" in str(e.value)


def test_column_mapping_and_excel(demo_dir, tmp_path, monkeypatch):
    data = copy_demo(demo_dir, tmp_path / "client")
    cust = pd.read_csv(data / "customers.csv").rename(columns={"customer_id": "CustID", "segment": "Segment Name"})
    cust.to_excel(data / "crm.xlsx", index=False)
    tables = demo_params_dict()["tables"]
    tables["customers"] = {"file": "crm.xlsx", "columns": {"CustID": "customer_id", "Segment Name": "segment"}}
    params = params_for(data, monkeypatch, tables=tables)
    store = load_store(params)
    seg = store.db.execute("SELECT count(DISTINCT segment) FROM customers").fetchone()[0]
    assert seg == 4
    assert {i.table for i in store.inputs} == set(TABLES)
    assert all(len(i.sha256) == 64 for i in store.inputs)


def test_load_store_collects_errors_from_all_tables(demo_dir, tmp_path, monkeypatch):
    data = copy_demo(demo_dir, tmp_path / "client")
    for name, col, val in [("orders.csv", "amount", "lots"), ("interactions.csv", "handling_minutes", "-3")]:
        df = pd.read_csv(data / name, dtype=str)
        df.loc[0, col] = val
        df.to_csv(data / name, index=False)
    with pytest.raises(DataValidationError) as e:
        load_store(params_for(data, monkeypatch))
    msg = str(e.value)
    assert "orders.csv" in msg and "interactions.csv" in msg
    assert set(e.value.failures["table"]) == {"orders", "interactions"}


def test_engine_views(demo_dir, tmp_path, monkeypatch):
    params = params_for(demo_dir, monkeypatch)
    store = load_store(params)
    cur, prev = engine.resolve_period(store, None)
    assert (cur.label, prev.label) == ("2026Q3", "2026Q2")
    engine.build_customer_view(store, cur.end)
    cv = engine.customer_view(store)
    customers = pd.read_csv(demo_dir / "customers.csv")
    assert len(cv) == len(customers) and cv["customer_id"].is_unique
    # independent check of one aggregate: unresolved interactions per customer
    inter = pd.read_csv(demo_dir / "interactions.csv", parse_dates=["interaction_time"])
    inter = inter[inter["interaction_time"] < cur.end]
    unresolved = (~inter["resolved"].astype(str).str.lower().eq("true")).groupby(inter["customer_id"]).sum()
    got = cv.set_index("customer_id")["unresolved"]
    assert (got.reindex(unresolved.index) == unresolved).all()
    # funnel: sessions reaching each step never increase along the funnel
    f = engine.funnel(store, params, cur)
    assert set(f["device"]) >= {"desktop", "mobile"}
    assert (f.groupby("device")["sessions"].diff().dropna() <= 0).all()
    ab = engine.abandonment(f, "checkout_start", "purchase").set_index("device")
    assert ab.loc["mobile", "rate"] >= 2 * ab.loc["desktop", "rate"]
    r = engine.responses(store, [cur.label])
    assert set(r["period"]) == {cur.label} and r["segment"].notna().mean() > 0.9


def test_data_quality_counts_future_and_unknown_customers(demo_dir, tmp_path, monkeypatch):
    data = copy_demo(demo_dir, tmp_path / "client")
    df = pd.read_csv(data / "orders.csv", dtype=str)
    df.loc[0, "order_time"] = "2031-01-01 10:00:00"
    df.loc[1, "customer_id"] = "C99999"
    df.to_csv(data / "orders.csv", index=False)
    store = load_store(params_for(data, monkeypatch))
    q = engine.data_quality(store, now=pd.Timestamp("2026-11-22")).set_index("table")
    assert q.loc["orders", "future_dated"] == 1 and q.loc["orders", "unmatched_customer"] == 1
    assert q.loc["orders", "rows"] == len(df)  # reported, not dropped
    assert q.loc["survey_responses", "future_dated"] == 0
