"""Loading exports as delivered: contracts, read settings, encodings, dates, exclusions counted."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest
import yaml

from cxlib.data import engine
from cxlib.data.io import detect_encoding, load_store
from cxlib.data.params import Params
from cxlib.data.schemas import TABLES
from cxlib.exceptions import DataValidationError, ParameterError
from tests.helpers import copy_demo, params_for

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
    "interactions": ("resolved", "maybe", "not true/false"),
    "survey_responses": ("nps", "11", "less_than_or_equal_to(10)"),
    "verbatims": ("source", "fax", "isin"),
    "codebook": ("valence", "angry", "isin"),
    "manual_codes": ("coder", "", "not_nullable"),
    "swot_inputs": ("quadrant", "risk", "isin"),
}


def client(tmp_path, monkeypatch, tables: dict, **extra) -> Params:
    """Params for a client folder of ``tables``: name -> (frame | bytes, file name, settings)."""
    from cxlib import paths

    data = tmp_path / "data" / "acme"
    data.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    spec = {}
    for name, (content, file, settings) in tables.items():
        path = data / file
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif file.endswith(".parquet"):
            content.to_parquet(path, index=False)
        elif file.endswith(".xlsx"):
            content.to_excel(path, index=False)
        else:
            content.to_csv(path, index=False)
        spec[name] = {"file": file, **settings}
    raw = {"client": "acme", "name": "Acme", "data_dir": str(data), "tables": spec, **extra}
    return Params.model_validate(raw)


def survey(n=40, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"Date": pd.date_range("2026-01-03", periods=n, freq="2D").strftime("%d/%m/%Y %H:%M"),
                         "Score": rng.integers(0, 11, n).astype(str), "Stage": rng.choice(["Buy", "Use"], n),
                         "Comment": rng.choice(["great service", "late again", ""], n)})


@pytest.mark.parametrize("table", list(FILES))
def test_each_contract_rejects_a_broken_file(demo_dir, tmp_path, monkeypatch, table):
    data = copy_demo(demo_dir, tmp_path / "client")
    path = data / FILES[table]
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
    column, bad, expected = BREAKS[table]
    df[column] = df[column].astype(str)
    df.loc[[1, 4], column] = bad
    df.to_parquet(path, index=False) if path.suffix == ".parquet" else df.to_csv(path, index=False)
    only = {table: {"file": FILES[table]}}
    if table in ("codebook", "manual_codes", "swot_inputs"):
        only["verbatims"] = {"file": "verbatims.csv"}
    with pytest.raises(DataValidationError) as e:
        load_store(params_for(data, monkeypatch, tables=only))
    msg = str(e.value)
    assert FILES[table] in msg and f"column '{column}'" in msg and expected in msg and "Fix:" in msg, msg
    where = "lines 3, 6" if path.suffix == ".csv" else "rows 2, 5"
    assert where in msg, msg
    assert e.value.failures["lines"].iloc[0] == ([3, 6] if path.suffix == ".csv" else [2, 5])


def test_every_problem_reported_at_once(tmp_path, monkeypatch):
    df = pd.DataFrame({"response_id": ["a", "b", "c", "c"], "nps": ["abc", "11", "5", "inf"],
                       "survey_type": ["relationship"] * 4, "response_time": ["2026-01-01"] * 4})
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {}),
                                       "customers": (pd.DataFrame({"id": ["1"]}), "c.csv", {})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    msg = str(e.value)
    assert "column 'nps', line 2: not a number (e.g. 'abc')" in msg
    assert "column 'nps', line 3: less_than_or_equal_to(10)" in msg
    assert "column 'nps', line 5: not a finite number" in msg
    assert "column 'response_id', lines 4, 5: field_uniqueness" in msg and "duplicate" in msg
    # the customers file of the same run is reported too: no customer_id column
    assert "c.csv" in msg and "column 'customer_id' is missing" in msg and "tables.customers.columns" in msg


def test_spark_engine_without_spark_says_why_and_the_fix(tmp_path, monkeypatch):
    """engine.backend pyspark where pyspark or Java is missing: a params error before any file is
    read, with the reason and both fixes (install, or go back to DuckDB)."""
    from cxlib.data import spark

    p = client(tmp_path, monkeypatch, {"survey_responses": (survey(), "s.csv", {})},
               engine={"backend": "pyspark", "master": "local[2]"})
    monkeypatch.setattr(spark, "unavailable", lambda: "no Java runtime (install Java 17)")
    with pytest.raises(ParameterError) as e:
        load_store(p)
    assert "engine.backend pyspark cannot run: no Java runtime" in str(e.value)
    assert "engine.backend: duckdb" in str(e.value)


def test_read_settings_mapping_constants_values_and_two_targets(tmp_path, monkeypatch):
    reviews = pd.DataFrame({"Stars": ["5", "1", "4"], "Review": ["love it", "broken", "ok"],
                            "Would recommend?": ["Yes", "No", "yes "], "Branch": ["Riyadh", "Jeddah", "Riyadh"]})
    p = client(tmp_path, monkeypatch, {"survey_responses": (reviews, "r.csv", {
        "columns": {"Stars": ["csat", "importance"], "Review": "comment", "Would recommend?": "recommend"},
        "constants": {"survey_type": "transactional", "touchpoint": "store"},
        "values": {"recommend": {"Yes": True, "No": False}}})})
    s = load_store(p)
    got = s.df("survey_responses")
    assert got["csat"].tolist() == [5, 1, 4] and got["importance"].tolist() == [5, 1, 4]
    assert got["recommend"].tolist() == [True, False, True]
    assert set(got["touchpoint"]) == {"store"} and set(got["survey_type"]) == {"transactional"}
    assert got["Branch"].tolist() == ["Riyadh", "Jeddah", "Riyadh"]  # extra column kept under its name
    assert got["response_id"].tolist() == ["r2", "r3", "r4"]  # generated from the lines
    assert any(n.kind == "key_generated" for n in s.notes)


def test_unknown_mapping_column_is_named_with_a_suggestion(tmp_path, monkeypatch):
    p = client(tmp_path, monkeypatch, {"survey_responses": (survey(), "s.csv", {
        "columns": {"Scores": "nps", "Date": "response_time"}, "dates": {"response_time": "dayfirst"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "maps 'Scores', which the file does not have (did you mean 'Score'?)" in str(e.value)


def test_dayfirst_declared_detected_and_ambiguous_refused(tmp_path, monkeypatch):
    df = survey()
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps", "Comment": "comment"}})})
    s = load_store(p)  # 17/01/2026 etc. show the day comes first
    got = s.df("survey_responses")["response_time"]
    assert (got == pd.to_datetime(df["Date"], format="%d/%m/%Y %H:%M")).all()
    assert [n.kind for n in s.notes if n.column == "response_time"] == ["dates_dayfirst"]
    # every date with day and month <= 12: refused, never guessed
    amb = df.head(5).assign(Date=["01/02/2026 10:00", "03/04/2026 11:00", "05/06/2026 09:00",
                                  "07/08/2026 10:00", "09/10/2026 10:00"])
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (amb, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p2)
    assert "could be day-first or month-first" in str(e.value) and "dayfirst" in str(e.value)
    # declared: read as said
    p3 = client(tmp_path, monkeypatch, {"survey_responses": (amb, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": "monthfirst"}})})
    assert load_store(p3).df("survey_responses")["response_time"].iloc[0] == pd.Timestamp("2026-01-02 10:00")
    p4 = client(tmp_path, monkeypatch, {"survey_responses": (amb, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": "%d/%m/%Y %H:%M"}})})
    assert load_store(p4).df("survey_responses")["response_time"].iloc[0] == pd.Timestamp("2026-02-01 10:00")


def test_two_digit_years_are_this_century_not_the_year_18(tmp_path, monkeypatch):
    """31/12/18 detected day-first is 2018-12-31 (it was read as the year 18 by %Y, before %y)."""
    df = survey(6).assign(Date=["31/12/18", "15/01/19 10:30", "02/02/19", "13/03/2019", "01/04/19", "28/05/19 23:59"])
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}})})
    got = load_store(p).df("survey_responses")["response_time"]
    assert got.tolist() == [pd.Timestamp(x) for x in ("2018-12-31", "2019-01-15 10:30", "2019-02-02", "2019-03-13",
                                                      "2019-04-01", "2019-05-28 23:59")]


def test_a_declared_four_digit_year_on_two_digit_cells_is_refused_not_read_as_the_year_18(tmp_path, monkeypatch):
    df = survey(4).assign(Date=["31/12/18", "15/01/2019", "02/02/19", "13/03/2019"])
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": "%d/%m/%Y"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    msg = str(e.value)
    assert "column 'response_time', lines 2, 4: a year before 1900 (e.g. '31/12/18', '02/02/19')" in msg, msg
    assert "'%d/%m/%y'" in msg  # the fix: two-digit years are %y
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": {"format": ["%d/%m/%y", "%d/%m/%Y"]}}})})
    got = load_store(p2).df("survey_responses")["response_time"]
    assert got.dt.year.tolist() == [2018, 2019, 2019, 2019]


def test_dates_with_month_names_read_undeclared(tmp_path, monkeypatch):
    """Exports writing the month's name (31-Jul-18 in a product-review export, a social export's
    'Tue Oct 31 23:36:20 +0300 2017') are read without a declared format; anything else still fails."""
    cells = ["31-Jul-18", "Jul 31, 2018", "31 July 2018 10:30", "Tue Oct 31 23:36:20 +0300 2017",
             "2018-08-01T09:00:00Z", "1-Jan-05", "Mon, 05 Feb 2018 08:00:00 +0000"]
    want = ["2018-07-31", "2018-07-31", "2018-07-31 10:30", "2017-10-31 20:36:20", "2018-08-01 09:00", "2005-01-01",
            "2018-02-05 08:00"]
    df = survey(len(cells)).assign(Date=cells)
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}})})
    got = load_store(p).df("survey_responses")["response_time"]
    assert got.tolist() == [pd.Timestamp(x) for x in want]
    bad = survey(3).assign(Date=["31-Jul-18", "31 Jully 2018", "someday"])
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (bad, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p2)
    assert "column 'response_time', lines 3, 4: not a date (e.g. '31 Jully 2018', 'someday')" in str(e.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1256", "latin-1"])
def test_encodings_detected(tmp_path, monkeypatch, encoding):
    text = "الخدمة ممتازة" if encoding != "latin-1" else "très bien café"
    csv = f"id,comment,nps\n1,{text},9\n2,second,3\n".encode(encoding)
    p = client(tmp_path, monkeypatch, {"survey_responses": (csv, "s.csv", {"columns": {"id": "response_id"}})})
    s = load_store(p)
    got = s.df("survey_responses")
    assert got["comment"].iloc[0] == text and got["nps"].tolist() == [9, 3]


def test_declared_encoding_wrong_names_line_and_fix(tmp_path, monkeypatch):
    csv = "id,comment\n1,ok\n2,الخدمة\n".encode("cp1256")
    p = client(tmp_path, monkeypatch, {"survey_responses": (csv, "s.csv", {"encoding": "utf-8"})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "line 3" in str(e.value) and "encoding" in str(e.value) and "cp1256" in str(e.value)


def test_zip_saved_as_csv_is_named(tmp_path, monkeypatch):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.csv", "a,b\n1,2\n")
    p = client(tmp_path, monkeypatch, {"survey_responses": (buf.getvalue(), "s.csv", {})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "zip archive" in str(e.value) and "Fix" in str(e.value)


def test_detect_encoding_reports_bom_and_detection(tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(codecs.BOM_UTF8 + b"a\n1\n")
    assert detect_encoding(f) == ("utf-8-sig", "bom")
    f.write_bytes("a\nالخدمة ممتازة جدا والتوصيل سريع\n".encode("cp1256"))
    enc, how = detect_encoding(f)
    assert how == "detected" and "1256" in enc


def test_future_dated_rows_excluded_and_counted(tmp_path, monkeypatch):
    df = survey(10).assign(Date=["2026-01-01 10:00"] * 8 + ["2031-01-01 10:00", "2030-05-05 09:00"])
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}})})
    s = load_store(p, now=pd.Timestamp("2026-11-22"))
    assert len(s.df("survey_responses")) == 8
    note = [n for n in s.notes if n.kind == "future_dated"][0]
    assert note.rows == 2 and note.excluded and note.column == "response_time"
    q = engine.data_quality(s).set_index("table")
    assert q.loc["survey_responses", "excluded"] == 2 and q.loc["survey_responses", "rows"] == 8


def test_invalid_rows_excluded_when_asked_and_counted(tmp_path, monkeypatch):
    df = pd.DataFrame({"nps": ["5", "x", "12", "9"], "when": ["2026-01-01"] * 4})
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"when": "response_time"}, "invalid_rows": "exclude"})})
    s = load_store(p)
    assert s.df("survey_responses")["nps"].tolist() == [5, 9]
    kinds = {(n.column, n.rows) for n in s.notes if n.kind == "invalid_excluded"}
    assert kinds == {("nps", 1)} | {("nps", 1)} and sum(i.excluded for i in s.inputs) == 2


def test_timezone_offsets_converted_and_stated(tmp_path, monkeypatch):
    df = pd.DataFrame({"nps": ["5", "9"], "when": ["2026-01-01T10:00:00+03:00", "2026-01-01T10:00:00Z"]})
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {"columns": {"when": "response_time"}})})
    s = load_store(p)
    got = s.df("survey_responses")["response_time"].tolist()
    assert got == [pd.Timestamp("2026-01-01 07:00"), pd.Timestamp("2026-01-01 10:00")]
    assert any(n.kind == "timezone_utc" and n.rows == 2 for n in s.notes)


def test_language_detected_and_values_beyond_en_ar(tmp_path, monkeypatch):
    df = pd.DataFrame({"text": ["good", "ممتاز", "good جدا", "👍👍", "ok"], "lang": ["en", "ar", "mixed", "none", None]})
    p = client(tmp_path, monkeypatch, {"verbatims": (df, "v.csv", {"columns": {"lang": "language"}})})
    got = load_store(p).df("verbatims")
    assert got["language"].tolist() == ["en", "ar", "mixed", "none", "en"]
    p2 = client(tmp_path, monkeypatch, {"verbatims": (df[["text"]], "v.csv", {})})
    assert load_store(p2).df("verbatims")["language"].tolist() == ["en", "ar", "mixed", "none", "en"]


def test_excel_and_parquet_with_typed_columns(tmp_path, monkeypatch):
    cust = pd.DataFrame({"CustID": ["a", "b"], "Joined": pd.to_datetime(["2025-01-02", "2025-03-04"]),
                         "Monthly Charges": [29.5, 70.0], "Churn": ["Yes", "No"]})
    p = client(tmp_path, monkeypatch, {"customers": (cust, "crm.xlsx", {
        "columns": {"CustID": "customer_id", "Joined": "signup_date", "Churn": "churned"}})})
    got = load_store(p).df("customers")
    assert got["churned"].tolist() == [True, False]
    assert got["signup_date"].tolist() == list(cust["Joined"])
    assert got["Monthly Charges"].tolist() == [29.5, 70.0]
    p2 = client(tmp_path, monkeypatch, {"customers": (cust, "crm.parquet", {
        "columns": {"CustID": "customer_id", "Joined": "signup_date", "Churn": "churned"}})})
    got2 = load_store(p2).df("customers")
    assert got2["churned"].tolist() == [True, False] and got2["Monthly Charges"].dtype.kind == "f"


def test_a_params_file_with_one_table_is_enough_but_not_zero(tmp_path, monkeypatch):
    p = client(tmp_path, monkeypatch, {"verbatims": (pd.DataFrame({"text": ["hi"]}), "v.csv", {})})
    assert load_store(p).has("texts")
    with pytest.raises(Exception) as e:
        client(tmp_path, monkeypatch, {"codebook": (pd.DataFrame({"code": ["x"], "patterns_en": ["x"]}),
                                                    "c.csv", {})})
    assert "no data table" in str(e.value)


def test_bad_date_format_spec_in_params():
    with pytest.raises(Exception) as e:
        Params.model_validate({"client": "x", "name": "x", "data_dir": "data/x",
                               "tables": {"verbatims": {"file": "v.csv", "dates": {"verbatim_time": "weird"}}}})
    assert "dayfirst, monthfirst, iso or a strptime format" in str(e.value)


def test_arrow_pulls_give_the_frames_of_duckdb_and_ibis(demo_dir, monkeypatch):
    """customer_view (through Arrow) = DuckDB's own .df() of the table, dtypes and all (nullable
    integers and booleans where values are missing); engine.to_pandas = Ibis' to_pandas."""
    store = load_store(params_for(demo_dir, monkeypatch))
    cur, _ = engine.resolve_period(store, None)
    engine.build_customer_view(store, cur.end)
    want = store.db.execute('SELECT * FROM "customer_view"').df()
    got = engine.customer_view(store)
    assert any(isinstance(t, pd.Int64Dtype) for t in want.dtypes)  # the case that needs the mapping
    pd.testing.assert_frame_equal(got, want)
    sql = ("SELECT 1::BIGINT a, NULL::BIGINT b, DATE '2026-01-02' d, NULL::BOOLEAN f, 2::HUGEINT h "
           "UNION ALL SELECT NULL, 3, NULL, true, NULL")
    pd.testing.assert_frame_equal(engine.duckdb_frame(store, sql), store.db.execute(sql).df())
    t = store.table("orders")
    expr = t.group_by("customer_id").aggregate(n=t.count(), last=t.order_time.max(), late=t.late.cast("int64").sum())
    pd.testing.assert_frame_equal(engine.to_pandas(store, expr, order_by="customer_id"),
                                  expr.order_by("customer_id").to_pandas())
    store.close()


def test_engine_views_on_demo(demo_dir, monkeypatch):
    params = params_for(demo_dir, monkeypatch)
    store = load_store(params)
    cur, prev = engine.resolve_period(store, None)
    assert (cur.label, prev.label) == ("2026Q3", "2026Q2")
    engine.build_customer_view(store, cur.end)
    cv = engine.customer_view(store)
    customers = pd.read_csv(demo_dir / "customers.csv")
    assert len(cv) == len(customers) and cv["customer_id"].is_unique
    inter = pd.read_csv(demo_dir / "interactions.csv", parse_dates=["interaction_time"])
    inter = inter[inter["interaction_time"] < cur.end]
    unresolved = (~inter["resolved"].astype(str).str.lower().eq("true")).groupby(inter["customer_id"]).sum()
    got = cv.set_index("customer_id")["unresolved"]
    assert (got.reindex(unresolved.index) == unresolved).all()
    f = engine.funnel(store, params, cur)
    assert set(f["device"]) >= {"desktop", "mobile"}
    assert (f.groupby("device")["sessions"].diff().dropna() <= 0).all()
    ab = engine.abandonment(f, "checkout_start", "purchase").set_index("device")
    assert ab.loc["mobile", "rate"] >= 2 * ab.loc["desktop", "rate"]
    r = engine.responses(store, [cur])
    assert set(r["period"]) == {cur.label} and r["segment"].notna().mean() > 0.9
    assert set(TABLES) - {i.table for i in store.inputs} == set()  # the demo gives every table


def test_an_answer_without_a_survey_type_counts_nowhere_as_relationship_nps(tmp_path, monkeypatch):
    """A blank survey_type is no relationship answer: not in the NPS tile (as before) and not the
    customer view's latest NPS (which took blanks for relationship answers)."""
    from cxlib.quant import metrics

    cust = pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["A", "B"]})
    resp = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r4"], "customer_id": ["c1", "c1", "c2", "c2"],
                         "response_time": ["2026-01-05", "2026-01-10", "2026-01-06", "2026-01-07"],
                         "survey_type": ["relationship", "", "", "transactional"], "touchpoint": ["", "", "", "app"],
                         "nps": ["9", "2", "3", "1"]})
    p = client(tmp_path, monkeypatch, {"customers": (cust, "c.csv", {}), "survey_responses": (resp, "r.csv", {})})
    store = load_store(p)
    engine.build_customer_view(store, pd.Timestamp("2026-02-01"))
    view = engine.customer_view(store).set_index("customer_id")
    assert view.loc["c1", "latest_nps"] == 9 and pd.isna(view.loc["c2", "latest_nps"])
    tiles = metrics.kpi_tiles(store.df("survey_responses").assign(period="p"), "p", None, metrics=("nps",))
    assert (tiles["n"].iloc[0], tiles["out_of_scope"].iloc[0]) == (1, 3)


def test_unknown_funnel_step_is_undefined_not_full_conversion(demo_dir, monkeypatch):
    raw = __import__("tests.helpers", fromlist=["demo_params_dict"]).demo_params_dict()
    funnel = raw["funnel"][:3] + [{"event": "never_happens", "label": "Ghost"}] + raw["funnel"][3:]
    params = params_for(demo_dir, monkeypatch, funnel=funnel)
    store = load_store(params)
    cur, _ = engine.resolve_period(store, None)
    f = engine.funnel(store, params, cur)
    ghost = f[f["event"] == "never_happens"]
    after = f[f["step_order"] == ghost["step_order"].iloc[0] + 1]
    assert (ghost["sessions"] == 0).all() and after["step_conversion"].isna().all()
    assert engine.funnel_unseen(f) == ["never_happens"]


def test_weighting_variables_checked(demo_dir, monkeypatch):
    store = load_store(params_for(demo_dir, monkeypatch))
    with pytest.raises(ParameterError):
        engine.population_counts(store, ["segment", "shoe_size"])


def test_an_empty_table_is_a_data_error_at_once(tmp_path, monkeypatch):
    p = client(tmp_path, monkeypatch, {"customers": (b"customer_id,segment\n", "c.csv", {})})
    with pytest.raises(DataValidationError, match=r"c.csv: the customers table is empty: it has a header but no data"):
        load_store(p)
    df = pd.DataFrame({"nps": ["5"], "when": ["2031-01-01"]})
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {"columns": {"when": "response_time"}})})
    with pytest.raises(DataValidationError, match=r"all 1 of its rows were left out"):
        load_store(p2, now=pd.Timestamp("2026-11-22"))


def test_all_blank_comments_leave_the_voice_analyses_out(tmp_path, monkeypatch):
    from cxlib.report import analyses, plan

    df = pd.DataFrame({"nps": ["5", "9", "10"], "comment": ["", " ", None], "when": ["2026-01-01"] * 3})
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {"columns": {"when": "response_time"}})})
    s = load_store(p)
    cur, prev = engine.resolve_period(s, None)
    the_plan = plan.build_plan(analyses.REGISTRY.values(), plan.catalog(s, cur, prev))
    assert the_plan.runs("kpis") and not the_plan.runs("coding") and not the_plan.runs("sentiment")
    assert the_plan.statuses["coding"].reasons[0] == {"kind": "table", "table": "texts"}


@pytest.mark.parametrize("by", [None, "segment", "touchpoint"])
def test_score_counts_in_the_engine_give_the_row_level_trend(demo_dir, monkeypatch, by):
    """Counts summed in DuckDB + from_counts equal metrics.trend on the response rows, interval and all."""
    from cxlib.quant import metrics

    store = load_store(params_for(demo_dir, monkeypatch))
    rows = engine.responses(store, None, "month")
    rows = rows[rows["period"].notna()]
    counts = engine.score_counts(store, (by,) if by else (), None, "month")
    assert counts["period"].nunique() >= 6
    for metric in ("nps", "csat", "csat_mean", "ces"):
        want = metrics.trend(rows, metric, by=by)
        got = metrics.from_counts(counts, metric, by=by)
        assert len(got) == len(want) > 0, metric
        assert (got["n"].to_numpy() == want["n"].to_numpy()).all(), metric
        assert (got["excluded"].to_numpy() == want["excluded"].to_numpy()).all(), metric
        for col in ("value", "ci_low", "ci_high"):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-9,
                                       atol=1e-9, equal_nan=True, err_msg=f"{metric} {col}")
        assert got[["period", *([by] if by else [])]].astype(str).equals(
            want[["period", *([by] if by else [])]].astype(str))


def test_lines_and_file_order_hold_in_a_big_file(tmp_path, monkeypatch):
    """The loader numbers the lines of a table by its rows' positions, read in parallel by DuckDB:
    beyond the first row groups (122,880 rows each) the lines named, the rows left out and the
    order kept must still be the file's."""
    n = 300_000
    ids = [f"r{i:06d}" for i in range(n)]
    df = pd.DataFrame({"response_id": ids, "nps": ["7"] * n, "when": ["2026-01-01 10:00"] * n})
    df.loc[[150_000, 299_990], "nps"] = ["x", "12"]        # lines 150,002 and 299,992 of the CSV
    df.loc[[200_000, 250_000], "when"] = "2031-01-01 10:00"  # future-dated: left out
    settings = {"columns": {"when": "response_time"}}
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", settings)})
    with pytest.raises(DataValidationError) as e:
        load_store(p, now=pd.Timestamp("2026-11-22"))
    assert "line 150002: not a number" in str(e.value) and "line 299992: less_than" in str(e.value), str(e.value)
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.parquet", settings)})
    with pytest.raises(DataValidationError) as e:
        load_store(p, now=pd.Timestamp("2026-11-22"))
    assert "row 150001: not a number" in str(e.value) and "row 299991: less_than" in str(e.value), str(e.value)
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", settings | {"invalid_rows": "exclude"})})
    s = load_store(p, now=pd.Timestamp("2026-11-22"))
    kept = s.df("survey_responses")["response_id"].tolist()
    assert kept == [i for k, i in enumerate(ids) if k not in (150_000, 200_000, 250_000, 299_990)]
    assert s.inputs[0].excluded == 4


def test_store_has_and_columns_answer_as_ibis_does():
    """``Store.has``/``columns`` ask DuckDB's catalog directly; they must agree with Ibis's
    ``list_tables`` and table schemas (tables, views, temporary views, registered frames)."""
    import duckdb
    import ibis

    from cxlib.data.io import Store
    from cxlib.data.params import load_params

    db = duckdb.connect()
    db.execute("CREATE TABLE a AS SELECT 1 AS x, 'b' AS y")
    db.execute("CREATE VIEW v AS SELECT 2 AS z")
    db.execute("CREATE TEMP VIEW tv AS SELECT 3 AS w")
    db.register("reg", pd.DataFrame({"q": [1]}))
    store = Store(db, load_params("demo"))
    con = ibis.duckdb.from_connection(db)
    listed = con.list_tables()
    assert sorted(listed) == ["a", "reg", "tv", "v"]
    for name in listed:
        assert store.has(name) and store.columns(name) == list(con.table(name).columns), name
    assert not store.has("A") and not store.has("nope") and store.columns("nope") == []
    assert list(store.table("a").columns) == ["x", "y"]  # kept by the store ...
    store.save_table("a", con.table("v"))  # ... and forgotten when the store replaces the table
    assert list(store.table("a").columns) == ["z"]


def _crm_and_survey(seed: int = 7):
    """A CRM of 40 customers and 600 responses: some from customers the CRM lacks, some with their
    own region, every score value and blanks, both survey types and an untyped row."""
    rng = np.random.default_rng(seed)
    n = 600
    crm = pd.DataFrame({"customer_id": [f"c{i:02d}" for i in range(40)],
                        "segment": rng.choice(["Value", "Loyal", "New"], 40),
                        "region": rng.choice(["North", "South"], 40)})
    crm.loc[[3, 4], "segment"] = None
    kind = rng.choice(["relationship", "transactional", ""], n, p=[.45, .45, .1])
    nps = rng.integers(0, 11, n).astype(object)
    csat = rng.integers(1, 6, n).astype(object)
    ces = rng.integers(1, 8, n).astype(object)
    for col in (nps, csat, ces):
        col[rng.random(n) < .15] = ""
    resp = pd.DataFrame({
        "response_id": [f"r{i:04d}" for i in range(n)],
        "customer_id": rng.choice([f"c{i:02d}" for i in range(48)], n),  # c40..c47: not in the CRM
        "response_time": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 540, n), unit="D"),
        "survey_type": kind, "touchpoint": "delivery", "nps": nps, "csat": csat, "ces": ces,
        "region": np.where(rng.random(n) < .2, "Abroad", ""),   # the response's own region, where it has one
    })
    return crm, resp


def test_responses_are_joined_with_their_customers_once_at_load(tmp_path, monkeypatch):
    """load_store builds the responses' left join with the CRM once; every breakdown reads it, and
    gives what the join made per query gives (the fallback for a store built elsewhere)."""
    crm, resp = _crm_and_survey()
    p = client(tmp_path, monkeypatch, {"customers": (crm, "c.csv", {}), "survey_responses": (resp, "s.csv", {})},
               period_unit="quarter")
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    assert store.has(engine.RESPONSES_TABLE)
    joined = store.df(engine.RESPONSES_TABLE).set_index("response_id").sort_index()
    assert len(joined) == len(resp)  # a left join: no response lost or repeated
    want_seg = resp.set_index("response_id")["customer_id"].map(crm.set_index("customer_id")["segment"])
    assert (joined["segment"].fillna("-") == want_seg.sort_index().fillna("-")).all()
    own = resp.set_index("response_id")["region"].sort_index()
    assert (joined.loc[own == "Abroad", "region"] == "Abroad").all()  # the response's own value kept
    assert joined.loc[own != "Abroad", "region"].isna().all()          # never filled from the CRM
    unknown = ~resp.set_index("response_id").sort_index()["customer_id"].isin(crm["customer_id"])
    assert unknown.sum() > 0 and joined.loc[unknown, "segment"].isna().all()
    # the packed score key decodes to the row's own scores
    dec = engine._decode_keys(joined["_score_key"])
    for col in ("nps", "csat", "ces"):
        assert (dec[col].fillna(-9).to_numpy() == joined[col].astype("Float64").fillna(-9).to_numpy()).all(), col
    assert (dec["survey_type"].fillna("") == joined["survey_type"].fillna("")).all()
    # responses(): the canonical columns, the CRM's attributes, no helper column
    rows = engine.responses(store)
    assert not [c for c in rows.columns if c.startswith("_")] and "segment" in rows and len(rows) == len(resp)
    cases = [((), None, None), (("segment",), None, None), (("segment", "touchpoint"), None, "month"),
             (("segment",), ["2025Q2", "2026Q1"], None), ((), None, "year")]
    with_table = [engine.score_counts(store, by, window, unit) for by, window, unit in cases]
    store.db.execute(f"DROP TABLE {engine.RESPONSES_TABLE}")
    store._tables.clear()
    assert not store.has(engine.RESPONSES_TABLE)
    for got, (by, window, unit) in zip(with_table, cases, strict=True):
        again = engine.score_counts(store, by, window, unit)
        pd.testing.assert_frame_equal(got, again, check_dtype=False)


def test_score_counts_equal_a_pandas_count_of_the_rows(tmp_path, monkeypatch):
    """The histogram's sums, against the definitions counted directly on the export in pandas."""
    crm, resp = _crm_and_survey(11)
    p = client(tmp_path, monkeypatch, {"customers": (crm, "c.csv", {}), "survey_responses": (resp, "s.csv", {})},
               period_unit="quarter")
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    got = engine.score_counts(store, ("segment",))
    r = resp.copy()
    r["segment"] = r["customer_id"].map(crm.set_index("customer_id")["segment"]).fillna("(not recorded)")
    r["period"] = r["response_time"].dt.year.astype(str) + "Q" + r["response_time"].dt.quarter.astype(str)
    for col in ("nps", "csat", "ces"):
        r[col] = pd.to_numeric(r[col].replace("", np.nan))
    rows = []
    for (period, seg), g in r.groupby(["period", "segment"]):
        rel, tx = g[g["survey_type"] == "relationship"], g[g["survey_type"] == "transactional"]
        row = {"period": period, "segment": seg, "nps_rows": len(rel), "nps_n": rel["nps"].notna().sum(),
               "nps_sum": rel["nps"].sum(), "nps_sumsq": (rel["nps"] ** 2).sum(),
               "nps_pro": (rel["nps"] >= 9).sum(), "nps_det": (rel["nps"] <= 6).sum()}
        for col, cut, name in (("csat", 4, "csat_top"), ("ces", 5, "ces_easy")):
            row |= {f"{col}_rows": len(tx), f"{col}_n": tx[col].notna().sum(), f"{col}_sum": tx[col].sum(),
                    f"{col}_sumsq": (tx[col] ** 2).sum(), name: (tx[col] >= cut).sum()}
        rows.append(row)
    want = pd.DataFrame(rows)[got.columns]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


def test_a_score_outside_its_scale_is_never_packed(tmp_path, monkeypatch):
    """A store built without validation (a score of 12): no packed key, and the counts still hold it."""
    import duckdb

    from cxlib.data.io import Store

    crm, resp = _crm_and_survey(3)
    p = client(tmp_path, monkeypatch, {"customers": (crm, "c.csv", {}), "survey_responses": (resp, "s.csv", {})},
               period_unit="quarter")
    db = duckdb.connect()
    r = resp.replace("", None).astype({"nps": "Int64", "csat": "Int64", "ces": "Int64"})
    r.loc[0, ["nps", "survey_type"]] = [12, "relationship"]
    db.register("_r", r)
    db.execute("CREATE TABLE survey_responses AS SELECT * FROM _r")
    db.register("_c", crm)
    db.execute("CREATE TABLE customers AS SELECT * FROM _c")
    store = Store(db=db, params=p)
    engine.build_responses(store)
    assert "_score_key" not in store.columns(engine.RESPONSES_TABLE)
    counts = engine.score_counts(store, ("segment",), ["all"])
    rel = r[r["survey_type"] == "relationship"]
    assert counts["nps_sum"].sum() == rel["nps"].sum() and counts["nps_pro"].sum() == (rel["nps"] >= 9).sum()


def test_a_comment_over_several_lines_loads_beside_a_short_row(tmp_path, monkeypatch):
    """A quoted comment with new lines in it after 1,500 one-line rows (as in a real social export),
    and a row missing its last cells: DuckDB's parallel CSV reader refuses the two together; the
    loader reads every row."""
    body = ('response_id,nps,comment,when\n' + 'r0,7\n'
            + "".join(f"r{i},8,plain comment {i},2026-01-04\n" for i in range(1, 1500))
            + 'r1500,9,"Great app.\nBut the delivery\n\nwas late",2026-01-02\n')
    p = client(tmp_path, monkeypatch, {"survey_responses": (body.encode(), "s.csv",
                                                            {"columns": {"when": "response_time"}})})
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    df = store.df("survey_responses").set_index("response_id")
    assert len(df) == 1501 and df.loc["r1500", "comment"] == "Great app.\nBut the delivery\n\nwas late"
    assert pd.isna(df.loc["r0", "comment"]) and df.loc["r1499", "comment"] == "plain comment 1499"


def test_a_declared_format_with_a_time_zone_gives_utc_times(tmp_path, monkeypatch):
    """A social export's 'Tue Oct 31 23:36:20 +0000 2017' read with its declared format (%z): the
    times come out in UTC without a zone, like every other date, and the period resolves."""
    df = pd.DataFrame({"id": ["t1", "t2", "t3"], "text": ["slow app", "love it", "crashes"],
                       "created_at": ["Tue Oct 31 23:36:20 +0000 2017", "Wed Nov 01 01:10:00 +0200 2017",
                                      "Sat Dec 30 08:00:00 -0500 2017"]})
    settings = {"columns": {"id": "verbatim_id", "created_at": "verbatim_time"},
                "dates": {"verbatim_time": "%a %b %d %H:%M:%S %z %Y"}, "constants": {"source": "social"}}
    p = client(tmp_path, monkeypatch, {"verbatims": (df, "v.csv", settings)})
    store = load_store(p, now=pd.Timestamp("2026-11-22"))
    got = store.df("verbatims").set_index("verbatim_id")["verbatim_time"]
    assert got.dt.tz is None
    assert got.tolist() == [pd.Timestamp("2017-10-31 23:36:20"), pd.Timestamp("2017-10-31 23:10:00"),
                            pd.Timestamp("2017-12-30 13:00:00")]
    assert engine.resolve_period(store, "2017Q4")[0].label == "2017Q4"
    assert engine.resolve_period(store, None)[0].label == "all"  # 2017Q4 unfinished (last text Dec 30)


def test_release_memory_drops_cached_blocks_of_a_database_file(tmp_path, monkeypatch):
    """A kernel's store drops the blocks DuckDB cached while reading (read again when needed); the
    memory limit is the configured one after; an in-memory database is left alone."""
    from cxlib.data.io import Store, connect

    n = 400_000
    rng = np.random.default_rng(5)  # text that does not compress: tens of MB of blocks
    df = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "nps": np.arange(n) % 11,
                       "comment": [f"{a:x}{b:x}" for a, b in rng.integers(0, 2 ** 62, (n, 2))]})
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.parquet", {})}, engine={"memory_limit": "1GB"})
    load_store(p, tmp_path / "cx.duckdb").close()
    store = Store(db=connect(tmp_path / "cx.duckdb", "1GB", read_only=True), params=p)

    def cached_mb():
        return store.db.execute("SELECT sum(memory_usage_bytes) / 2 ** 20 FROM duckdb_memory()").fetchone()[0]

    assert store.db.execute("SELECT count(DISTINCT comment) FROM survey_responses").fetchone()[0] == n
    before = cached_mb()
    store.release_memory(above_mb=before + 1)  # less than asked: kept
    assert cached_mb() == before
    store.release_memory(above_mb=1)
    assert before > 5 and cached_mb() < before / 4, (before, cached_mb())
    assert store.db.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "953.6 MiB"  # 1 GB
    assert store.db.execute("SELECT sum(nps) FROM survey_responses").fetchone()[0] == int(df["nps"].sum())
    mem = load_store(p)  # in memory: its tables are its only copy
    mem.release_memory()
    assert mem.df("survey_responses")["nps"].sum() == df["nps"].sum()


# --- several files for one table: stacked, each checked on its own ------------------------------


def _files(tmp_path, monkeypatch, files: dict[str, pd.DataFrame], tables: dict) -> Params:
    """Params for a client folder holding ``files`` (name -> frame, written as CSV) and ``tables`` as given."""
    from cxlib import paths

    data = tmp_path / "data" / "acme"
    data.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path / "data")
    for name, df in files.items():
        df.to_csv(data / name, index=False)
    return Params.model_validate({"client": "acme", "name": "Acme", "data_dir": str(data), "tables": tables})


def test_texts_read_html_character_references_as_the_characters_typed(tmp_path, monkeypatch):
    """A tweet export (Twitter's API) writes '&' as '&amp;' and '<' as '&lt;': the texts that are
    coded and quoted hold what the customer typed, from verbatims and survey comments alike."""
    from cxlib.data import engine

    tweets = pd.DataFrame({"tweet_id": ["1", "2", "3", "4", "5", "6"],
                           "tweet": ["Premium &amp; family plan gone", "&lt;3 the new app", "AT&amp;T &gt; you",
                                     "he said &quot;soon&quot; &#39;ok&#39;", "&amp;lt; stays one level", "R&D & more"]})
    survey = pd.DataFrame({"id": ["r1", "r2"], "Score": ["3", "9"], "Comment": ["fees &amp; delays", "fine"]})
    p = _files(tmp_path, monkeypatch, {"tweets.csv": tweets, "survey.csv": survey}, {
        "verbatims": {"file": "tweets.csv", "columns": {"tweet": "text"}, "constants": {"source": "social"}},
        "survey_responses": {"file": "survey.csv", "columns": {"id": "response_id", "Score": "nps", "Comment": "comment"}}})
    s = load_store(p)
    engine.build_texts(s)
    got = sorted(s.df("texts")["text"])
    assert got == sorted(["Premium & family plan gone", "<3 the new app", "AT&T > you", 'he said "soon" \'ok\'',
                          "&lt; stays one level", "R&D & more", "fees & delays", "fine"])
    assert s.df("verbatims")["text"].tolist() == tweets["tweet"].tolist()  # the loaded table keeps the export as given


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_export_under_a_title_names_the_header_line(tmp_path, monkeypatch, suffix):
    """A heading and a blank line above the column names: undeclared, the check names the line of the
    names and the setting; declared (header_line: 3), the rows load and a bad answer is named by its
    own line in the file."""
    head = ["Response ID", "Date", "Score"]
    rows = [[f"R{i}", f"2026-01-{i + 1:02d}", str(i % 11)] for i in range(8)]
    bad = [r[:] for r in rows]
    bad[5][2] = "eleven"  # file line 9: title, blank, names, then R0 on line 4

    def write(rows, p):
        path = p.data_path / ("s" + suffix)
        if suffix == ".csv":
            path.write_text("Survey export, Q1\n\n" + "\n".join(",".join(r) for r in [head, *rows]) + "\n",
                            encoding="utf-8")
        else:
            with pd.ExcelWriter(path) as w:
                pd.DataFrame([["Survey export, Q1"]]).to_excel(w, index=False, header=False)
                pd.DataFrame(rows, columns=head).to_excel(w, index=False, startrow=2)

    cols = {"Response ID": "response_id", "Date": "response_time", "Score": "nps"}
    p = _files(tmp_path, monkeypatch, {}, {"survey_responses": {"file": "s" + suffix, "columns": cols}})
    write(rows, p)
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "the column names are on line 3, under 2 lines of title" in str(e.value)
    assert "header_line: 3" in str(e.value) and "more fields" not in str(e.value) and "missing" not in str(e.value)
    p = _files(tmp_path, monkeypatch, {}, {"survey_responses": {"file": "s" + suffix, "columns": cols,
                                                                "header_line": 3}})
    assert load_store(p).df("survey_responses")["response_id"].tolist() == [r[0] for r in rows]
    write(bad, p)
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "column 'nps', line 9: not a number" in str(e.value)


def test_lines_with_more_fields_than_the_header_are_a_problem_not_text_cut_short(tmp_path, monkeypatch):
    """A one-column export of tweets holding ';' ('&amp;') was read with ';' as its delimiter: every
    such tweet lost what followed its first ';' into a column no mapping takes, without a word. A
    comma export whose text holds an unquoted comma did the same. Both are now problems naming the
    lines and the fix; with the delimiter declared the texts are whole."""
    one = "tweet\nPremium &amp; family plan gone\nplain\nAT&amp;T &gt; you\n"
    p = client(tmp_path, monkeypatch, {"verbatims": (one.encode(), "t.csv", {"columns": {"tweet": "text"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "lines 2, 4: more fields than the header's 1 when read with the delimiter ';'" in str(e.value)
    assert "tables.verbatims.delimiter" in str(e.value)
    p = client(tmp_path, monkeypatch, {"verbatims": (one.encode(), "t.csv", {"columns": {"tweet": "text"},
                                                                            "delimiter": ","})})
    assert load_store(p).df("verbatims")["text"].tolist() == ["Premium &amp; family plan gone", "plain",
                                                               "AT&amp;T &gt; you"]
    two = "id,comment\n1,fine\n2,slow, then cold\n3,ok\n4,\"quoted, whole\"\n"
    p = client(tmp_path, monkeypatch, {"verbatims": (two.encode(), "c.csv", {"columns": {"id": "verbatim_id",
                                                                                        "comment": "text"}})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "line 3: more fields than the header's 2 when read with the delimiter ','" in str(e.value)


def test_a_review_export_and_a_social_export_stack_into_one_texts_table(tmp_path, monkeypatch):
    reviews = pd.DataFrame({"Review": ["late again", "great staff", "cold food"], "Stars": ["1", "5", "2"]})
    tweets = pd.DataFrame({"tweet": ["@brand no reply for days", "love the app"], "handle": ["@brand", "@brand"]})
    p = _files(tmp_path, monkeypatch, {"reviews.csv": reviews, "tweets.csv": tweets}, {"verbatims": [
        {"file": "reviews.csv", "columns": {"Review": "text", "Stars": "score"}, "constants": {"source": "review"}},
        {"file": "tweets.csv", "columns": {"tweet": "text", "handle": "brand"}, "constants": {"source": "social"}}]})
    s = load_store(p)
    got = s.df("verbatims")
    assert got["text"].tolist() == [*reviews["Review"], *tweets["tweet"]]  # in the order given, every row
    assert got["source"].tolist() == ["review"] * 3 + ["social"] * 2
    assert got["verbatim_id"].tolist() == ["v1-2", "v1-3", "v1-4", "v2-2", "v2-3"]  # file and line: unique
    assert got["score"].tolist()[:3] == [1, 5, 2] and got["score"].isna().tolist()[3:] == [True, True]
    assert got["brand"].isna().tolist() == [True] * 3 + [False] * 2
    assert [(i.table, i.path.rsplit("/", 1)[-1], i.rows) for i in s.inputs] == [
        ("verbatims", "reviews.csv", 3), ("verbatims", "tweets.csv", 2)]
    assert not s.has("verbatims__part1") and not s.has("verbatims__part2")


def test_monthly_exports_named_by_a_pattern_are_read_with_one_setting(tmp_path, monkeypatch):
    jan, feb, mar = survey(5, seed=1), survey(4, seed=2), survey(3, seed=3)
    settings = {"columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": "dayfirst"}}
    p = _files(tmp_path, monkeypatch, {"survey_2026-02.csv": feb, "survey_2026-01.csv": jan, "survey_2026-03.csv": mar,
                                       "notes.csv": jan}, {"survey_responses": {"file": "survey_2026-*.csv", **settings}})
    store = load_store(p)
    got = store.df("survey_responses")
    assert got["nps"].tolist() == [int(x) for x in [*jan["Score"], *feb["Score"], *mar["Score"]]]  # by file name
    # the sources table: each file with its own rows and dates, not the stacked table's
    q = engine.data_quality(store).set_index("file")
    for name, df in (("survey_2026-01.csv", jan), ("survey_2026-02.csv", feb), ("survey_2026-03.csv", mar)):
        dates = pd.to_datetime(df["Date"], format="%d/%m/%Y %H:%M")
        assert q.loc[name, "rows"] == len(df) and q.loc[name, "first"] == str(dates.min().date())
        assert q.loc[name, "last"] == str(dates.max().date())
    assert got["response_id"].str.startswith(("r1-", "r2-", "r3-")).all() and got["response_id"].is_unique
    missing = {"survey_responses": {"file": "survey_2025-*.csv", **settings}}
    with pytest.raises(ParameterError, match=r"survey_2025-\*\.csv not found \(no file matches the pattern\)"):
        from cxlib.data.params import load_params

        f = tmp_path / "acme.yml"
        f.write_text(yaml.safe_dump({"client": "acme", "name": "Acme", "data_dir": str(p.data_path), "tables": missing}))
        load_params(f)


def test_files_of_one_table_are_checked_each_and_their_ids_across(tmp_path, monkeypatch):
    a = pd.DataFrame({"id": ["A1", "A2"], "text": ["late", "cold"]})
    b = pd.DataFrame({"id": ["B1", "A2"], "text": ["rude", "slow"]})
    bad = pd.DataFrame({"id": ["C1"], "text": ["fine"], "channel": ["fax"]})
    spec = {"columns": {"id": "verbatim_id", "text": "text"}}
    p = _files(tmp_path, monkeypatch, {"a.csv": a, "b.csv": b}, {"verbatims": [{"file": "a.csv", **spec},
                                                                              {"file": "b.csv", **spec}]})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "share 1 verbatim_id value(s), such as 'A2'" in str(e.value) and "a.csv" in str(e.value)
    p2 = _files(tmp_path, monkeypatch, {"c.csv": bad}, {"verbatims": [
        {"file": "a.csv", **spec}, {"file": "c.csv", "columns": {"id": "verbatim_id", "text": "text", "channel": "source"}}]})
    with pytest.raises(DataValidationError) as e:
        load_store(p2)
    assert "c.csv: the verbatims table breaks its contract" in str(e.value) and "'fax'" in str(e.value)


def test_a_default_period_that_leaves_most_rows_out_is_warned_about(tmp_path, monkeypatch):
    from cxlib.report import checks

    def dated(days: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"Date": days, "Score": ["9"] * len(days)})

    q1 = [f"2026-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in (5, 20)] + ["2026-03-31"]  # Q1 to its last day
    spring = [f"2026-{m:02d}-{d:02d}" for m in (4, 5) for d in range(1, 28)]            # Q2, not to its end
    settings = {"columns": {"Date": "response_time", "Score": "nps"}}
    p = client(tmp_path, monkeypatch, {"survey_responses": (dated(q1 + spring), "s.csv", settings)})
    store = load_store(p)
    current, _ = engine.resolve_period(store, None)
    (w,) = checks.period_warnings(store, current)
    assert current.label == "2026Q1" and w.key == "warn.period_most_after"
    assert (w.values["inside"], w.values["after"], w.values["next"]) == ("7", "54", "2026Q2")
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (dated(q1 + spring[:5]), "s.csv", settings)})
    store2 = load_store(p2)
    assert checks.period_warnings(store2, engine.resolve_period(store2, None)[0]) == []


def test_files_whose_extra_column_cannot_share_one_type_are_refused_by_name(tmp_path, monkeypatch):
    # typed exports (Parquet): a true/false column in one, dates in the other
    p = _files(tmp_path, monkeypatch, {}, {"verbatims": [
        {"file": "a.parquet", "columns": {"text": "text"}}, {"file": "b.parquet", "columns": {"text": "text"}}]})
    pd.DataFrame({"text": ["late", "cold"], "checked": [True, False]}).to_parquet(p.data_path / "a.parquet")
    pd.DataFrame({"text": ["rude", "slow"], "checked": pd.to_datetime(["2026-01-03", "2026-01-04"])}
                 ).to_parquet(p.data_path / "b.parquet")
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    msg = str(e.value)
    assert "the files of the verbatims table cannot be stacked" in msg and "a.parquet" in msg and "b.parquet" in msg, msg
    assert "Fix: give a column the same kind of values in every file" in msg
    # numbers in one file and words in the other stack as text
    c = pd.DataFrame({"text": ["fine"], "checked": ["later"]})
    p2 = _files(tmp_path, monkeypatch, {"c.csv": c, "d.csv": pd.DataFrame({"text": ["ok"], "checked": ["7"]})},
                {"verbatims": [{"file": "c.csv", "columns": {"text": "text"}}, {"file": "d.csv", "columns": {"text": "text"}}]})
    assert load_store(p2).df("verbatims")["checked"].tolist() == ["later", "7"]


def _qualtrics(n: int = 12, bad_line: int | None = None) -> list[list[str]]:
    """A Qualtrics export as it writes it: column codes, then question texts, then import ids, then answers."""
    rows = [["StartDate", "ResponseId", "Q1", "Q2"],
            ["Start Date", "Response ID", "How likely are you to recommend us?", "Why?"],
            ['{"ImportId":"startDate","timeZone":"UTC"}', '{"ImportId":"_recordId"}', '{"ImportId":"QID1"}',
             '{"ImportId":"QID2_TEXT"}']]
    for i in range(n):
        rows.append([f"2026-01-{i + 1:02d} 10:00:00", f"R_{i}", str(i % 11), "fine"])
    if bad_line:
        rows[bad_line - 1][2] = "eleven"
    return rows


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_qualtrics_export_leaves_out_its_question_and_import_id_lines(tmp_path, monkeypatch, suffix):
    import csv as _csv

    settings = {"columns": {"StartDate": "response_time", "Q1": "nps", "Q2": "comment"}}

    def write(rows, name):
        p = _files(tmp_path, monkeypatch, {}, {"survey_responses": {"file": name, **settings}})
        if suffix == ".csv":
            with open(p.data_path / name, "w", newline="", encoding="utf-8") as f:
                _csv.writer(f).writerows(rows)
        else:
            pd.DataFrame(rows[1:], columns=rows[0]).to_excel(p.data_path / name, index=False)
        return p

    s = load_store(write(_qualtrics(), "q" + suffix))
    got = s.df("survey_responses")
    assert got["nps"].tolist() == [i % 11 for i in range(12)]
    assert got["response_id"].tolist()[:2] == ["r4", "r5"]  # numbered by their own lines, under the three above
    (note,) = [n for n in s.notes if n.kind == "header_rows"]
    assert note.rows == 2 and "lines 2, 3" in note.detail
    with pytest.raises(DataValidationError) as e:  # a bad answer is named by its line in the file
        load_store(write(_qualtrics(bad_line=9), "b" + suffix))
    assert "column 'nps', line 9: not a number (e.g. 'eleven')" in str(e.value)


def test_a_surveymonkey_export_leaves_out_its_answer_type_line(tmp_path, monkeypatch):
    import csv as _csv

    nps_q = "How likely is it that you would recommend Acme to a friend or colleague?"
    rows = [["Respondent ID", "Start Date", nps_q, "What is the primary reason for your score?"],
            ["", "", "Response", "Open-Ended Response"]]
    rows += [[str(1000 + i), f"01/{i + 1:02d}/2026 10:00:00 AM", str(i % 11), "ok"] for i in range(9)]
    p = _files(tmp_path, monkeypatch, {}, {"survey_responses": {
        "file": "sm.csv", "columns": {"Respondent ID": "response_id", nps_q: "nps", "Start Date": "response_time"},
        "dates": {"response_time": "%m/%d/%Y %I:%M:%S %p"}}})
    with open(p.data_path / "sm.csv", "w", newline="", encoding="utf-8") as f:
        _csv.writer(f).writerows(rows)
    s = load_store(p)
    got = s.df("survey_responses")
    assert got["nps"].tolist() == [i % 11 for i in range(9)] and got["response_id"].iloc[0] == "1000"
    (note,) = [n for n in s.notes if n.kind == "answer_type_row"]
    assert note.rows == 1 and "line 2" in note.detail


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_empty_rows_and_a_closing_totals_row_are_left_out_and_stated(tmp_path, monkeypatch, suffix):
    """A spreadsheet export with blank rows (every cell empty) and a totals row at its end: before, the
    blank row failed the check ('response_id ... not_nullable'); now both are left out, counted, and
    a bad answer after them is still named by its line in the file."""
    import csv as _csv

    head = ["Response ID", "Date", "Score", "Comment"]
    rows = [[f"R{i}", f"2026-01-{i + 1:02d}", str(i % 11), "fine"] for i in range(10)]
    rows.insert(4, ["", "", "", ""])                       # file line 6 (under the header, 4 records)
    rows += [["", "", "", ""], ["Total", "", "4.5", ""]]  # file lines 13 and 14
    p = _files(tmp_path, monkeypatch, {}, {"survey_responses": {
        "file": "s" + suffix, "columns": {"Response ID": "response_id", "Date": "response_time", "Score": "nps"}}})

    def write(rows):
        if suffix == ".csv":
            with open(p.data_path / ("s" + suffix), "w", newline="", encoding="utf-8") as f:
                _csv.writer(f).writerows([head, *rows])
        else:  # a blank Excel row: cells never written (line 6) or holding a space (line 13); after the
            # last record, rows only formatted (a sheet's unused rows), which are no rows of the file
            import openpyxl
            from openpyxl.styles import PatternFill

            frame = pd.DataFrame(rows, columns=head)
            frame.iloc[len(frame) - 2] = frame.iloc[len(frame) - 2].replace("", " ")
            path = p.data_path / ("s" + suffix)
            frame.replace("", None).to_excel(path, index=False)
            wb = openpyxl.load_workbook(path)
            for r in range(wb.active.max_row + 1, wb.active.max_row + 6):
                wb.active.cell(row=r, column=2).fill = PatternFill("solid", fgColor="FFFF00")
            wb.save(path)

    write(rows)
    s = load_store(p)
    got = s.df("survey_responses")
    assert got["response_id"].tolist() == [f"R{i}" for i in range(10)] and got["nps"].tolist() == [i % 11 for i in range(10)]
    notes = {n.kind: n for n in s.notes}
    assert notes["empty_rows"].rows == 2 and notes["empty_rows"].excluded
    assert notes["empty_rows"].detail == "lines 6, 13: every cell empty, left out"
    assert notes["summary_rows"].rows == 1 and notes["summary_rows"].detail.startswith("line 14: a totals row")
    assert (s.inputs[0].rows, s.inputs[0].excluded) == (10, 3)  # counted with the rows left out
    bad = [r[:] for r in rows]
    bad[7][2] = "eleven"  # R6 on file line 9: after the blank row, still named by its own line
    write(bad)
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    assert "column 'nps', line 9: not a number (e.g. 'eleven')" in str(e.value)
    # a row labelled 'Total' with records after it is a record, not a closing total
    write([["Total", "2026-01-20", "7", "named so"], *rows[:3]])
    assert load_store(p).df("survey_responses")["response_id"].tolist() == ["Total", "R0", "R1", "R2"]


def test_numbers_written_with_decimal_commas(tmp_path, monkeypatch):
    """A European export: semicolons, amounts as 1.234,56. Undeclared, the check says so and names the
    setting; declared (decimal: ","), amounts and extra columns read as their numbers."""
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3", "o4"], "customer_id": ["c1", "c1", "c2", "c3"],
                           "order_time": ["2026-01-05"] * 4, "amount": ["12,50", "1.234,56", "7", "0,5"],
                           "weight_kg": ["1,5", "2", "0,25", "3"]})
    raw = orders.to_csv(index=False, sep=";").encode()
    p = client(tmp_path, monkeypatch, {"orders": (raw, "o.csv", {})})
    with pytest.raises(DataValidationError) as e:
        load_store(p)
    msg = str(e.value)
    assert "column 'amount', lines 2, 3, 5: not a number (e.g. '12,50', '1.234,56', '0,5')" in msg, msg
    assert 'declare tables.orders.decimal: "," in params' in msg
    p2 = client(tmp_path, monkeypatch, {"orders": (raw, "o.csv", {"decimal": ","})})
    got = load_store(p2).df("orders")
    assert got["amount"].tolist() == [12.5, 1234.56, 7.0, 0.5]
    assert got["weight_kg"].tolist() == [1.5, 2.0, 0.25, 3.0]  # an extra column, typed as a number too


def test_scores_no_figure_uses_are_named_with_their_count(tmp_path, monkeypatch):
    """One survey asking NPS and overall satisfaction, declared relationship: its CSAT is in the data but
    in no figure (CSAT is computed on transactional responses); the check says so with the count."""
    from cxlib.report import checks

    df = survey(20).assign(Sat=[str(1 + i % 5) for i in range(20)])
    p = client(tmp_path, monkeypatch, {"survey_responses": (df, "s.csv", {
        "columns": {"Date": "response_time", "Score": "nps", "Sat": "csat"}, "dates": {"response_time": "dayfirst"},
        "constants": {"survey_type": "relationship"}})})
    (w,) = checks.scope_warnings(load_store(p))
    assert (w.key, w.values["score"], w.values["n"], w.values["scope"]) == ("warn.score_out_of_scope", "CSAT", "20",
                                                                            "transactional")
    p2 = client(tmp_path, monkeypatch, {"survey_responses": (df, "s2.csv", {
        "columns": {"Date": "response_time", "Score": "nps"}, "dates": {"response_time": "dayfirst"},
        "constants": {"survey_type": "relationship"}})})
    assert checks.scope_warnings(load_store(p2)) == []
