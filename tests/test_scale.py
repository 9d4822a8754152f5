"""The scale generator (cxlib.demo.scale): shape, row counts, planted findings, determinism.

Scale 0.05 (50,000 customers, ~1M web events) is generated once for the module; the findings are
measured again from the written files with DuckDB, independently of the counts the generator
kept, and compared with both the planted values and truth.yml.
"""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

from cxlib import paths
from cxlib.data.schemas import TABLES
from cxlib.demo import scale
from tests.helpers import ROOT

SCALE = 0.05


@pytest.fixture(scope="module")
def scale_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "scale"
    scale.generate(out, scale=SCALE, seed=7)
    return out


@pytest.fixture(scope="module")
def db(scale_dir):
    con = duckdb.connect()
    for table, name in scale.FILES.items():
        path = scale_dir / name
        reader = f"read_parquet('{path}')" if name.endswith(".parquet") else f"read_csv('{path}', header=true)"
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {reader}")
    yield con
    con.close()


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_files_and_columns_follow_the_canonical_schema(scale_dir, db):
    for table, name in scale.FILES.items():
        assert (scale_dir / name).is_file(), name
        if table in TABLES:
            cols = [r[0] for r in db.execute(f"DESCRIBE {table}").fetchall()]
            canonical = set(TABLES[table].schema.columns)
            assert set(cols) <= canonical, (table, set(cols) - canonical)
            assert set(TABLES[table].required) <= set(cols)
    for side in ("codebook.csv", "manual_codes.csv", "swot_inputs.csv", "map_feedback.csv", "truth.yml"):
        assert (scale_dir / side).is_file()
    # the big tables are Parquet and written in several row groups (bounded memory)
    assert pq.ParquetFile(scale_dir / "web_events.parquet").num_row_groups >= 2


def test_row_counts_scale_with_the_factor(scale_dir, db):
    truth = yaml.safe_load((scale_dir / "truth.yml").read_text())
    n = {t: _count(db, t) for t in ("customers", "orders", "web_events", "interactions", "survey_responses",
                                    "verbatims")}
    assert {t: truth["counts"][t] for t in n} == n
    assert n["customers"] == 50_000
    assert n["survey_responses"] == 25_000
    assert 0.95e6 <= n["web_events"] <= 1.15e6           # ~21M at scale 1
    assert 0.95e5 <= n["orders"] <= 1.05e5                # ~2M
    assert 0.45e5 <= n["interactions"] <= 0.55e5          # ~1M
    assert 1.35e4 <= n["verbatims"] <= 1.65e4             # ~300k
    assert db.execute("SELECT count(DISTINCT session_id) FROM web_events").fetchone()[0] == 250_000
    assert db.execute("SELECT count(DISTINCT customer_id) = count(*) FROM customers").fetchone()[0]
    # ids link: every order, contact and response names a known customer
    for t in ("orders", "interactions", "survey_responses"):
        assert db.execute(f"SELECT count(*) FROM {t} WHERE customer_id NOT IN (SELECT customer_id FROM customers)"
                          ).fetchone()[0] == 0
    span = db.execute("SELECT min(event_time), max(event_time) FROM web_events").fetchone()
    assert str(span[0]) >= "2024-10-01" and str(span[1]) < "2026-10-01"
    assert scale.sizes(1)["customers"] == 1_000_000 and scale.sizes(0.1)["sessions"] == 500_000


def test_planted_findings_measured_from_the_files(scale_dir, db):
    truth = yaml.safe_load((scale_dir / "truth.yml").read_text())["findings"]
    # device abandonment: sessions reaching checkout without a purchase (all quarters)
    ab = dict(db.execute("""
        SELECT device, 1 - count(*) FILTER (WHERE bought) / count(*) FROM (
          SELECT session_id, any_value(device) AS device, bool_or(event = 'purchase') AS bought
          FROM web_events GROUP BY session_id HAVING bool_or(event = 'checkout_start'))
        GROUP BY device""").fetchall())
    assert ab["mobile"] > 2 * ab["desktop"]
    assert ab == pytest.approx(truth["device_abandonment"]["abandonment"], abs=1e-4)
    # segment NPS drop: Value Seekers fall > 25 points into 2026Q3, the others move < 10
    nps = dict(((s, q), v) for s, q, v in db.execute("""
        SELECT c.segment, year(r.response_time) || 'Q' || quarter(r.response_time),
               100 * (avg((nps >= 9)::INT) - avg((nps <= 6)::INT))
        FROM survey_responses r JOIN customers c USING (customer_id)
        WHERE survey_type = 'relationship' AND nps IS NOT NULL GROUP BY ALL""").fetchall())
    change = {s: nps[(s, "2026Q3")] - nps[(s, "2026Q2")] for s, _ in nps}
    assert change["Value Seekers"] < -25
    assert all(abs(v) < 10 for s, v in change.items() if s != "Value Seekers")
    assert change["Value Seekers"] == pytest.approx(truth["segment_nps_drop"]["change"]["Value Seekers"], abs=1e-3)
    # weak and important touchpoint (delivery), store strongest
    tp = db.execute("""SELECT touchpoint, avg(csat), avg(importance) FROM survey_responses
                       WHERE survey_type = 'transactional' AND csat IS NOT NULL GROUP BY touchpoint""").fetchall()
    assert min(tp, key=lambda r: r[1])[0] == "delivery" and max(tp, key=lambda r: r[2])[0] == "delivery"
    assert max(tp, key=lambda r: r[1])[0] == "store"
    # churn signal: an unresolved contact triples churn
    with_u, without = db.execute("""
        SELECT avg(churned::INT) FILTER (WHERE u), avg(churned::INT) FILTER (WHERE NOT u) FROM (
          SELECT c.churned, c.customer_id IN (SELECT customer_id FROM interactions WHERE NOT resolved) AS u
          FROM customers c)""").fetchone()
    assert with_u > 2.5 * without
    # detractor theme: late delivery, by the answer key
    top = db.execute("""
        WITH c AS (SELECT r.response_id, r.nps FROM survey_responses r
                   WHERE r.survey_type = 'relationship' AND r.comment IS NOT NULL),
             n AS (SELECT count(*) FILTER (WHERE nps <= 6) AS det, count(*) FILTER (WHERE nps >= 9) AS pro FROM c)
        SELECT t.code, count(*) FILTER (WHERE c.nps <= 6) / any_value(n.det)
                     - count(*) FILTER (WHERE c.nps >= 9) / any_value(n.pro) AS gap
        FROM verbatims v JOIN c USING (response_id) JOIN verbatim_truth t USING (verbatim_id), n
        WHERE t.code IS NOT NULL GROUP BY t.code ORDER BY gap DESC LIMIT 1
    """).fetchone()
    assert top[0] == "late_delivery" == truth["detractor_theme"]["code"]
    # competitor threat: FastCart's share of social mentions rises to ~35 %
    share = dict(db.execute("""SELECT year(verbatim_time) || 'Q' || quarter(verbatim_time), avg((brand = 'FastCart')::INT)
                               FROM verbatims WHERE source = 'social' GROUP BY 1""").fetchall())
    assert share["2026Q3"] > share["2026Q2"] + 0.05 > share["2024Q4"] + 0.05


def test_loads_clean_through_cxlib(scale_dir, monkeypatch):
    """The files pass the loader's contracts with nothing left out (as params/scale.yml reads them)."""
    from cxlib.data.io import load_store
    from cxlib.data.params import Params

    monkeypatch.setattr(paths, "DATA_DIR", scale_dir.parent)
    raw = yaml.safe_load((ROOT / "params" / "scale.yml").read_text())
    params = Params.model_validate(raw | {"data_dir": str(scale_dir)})
    store = load_store(params)
    try:
        assert {i.table for i in store.inputs} == set(params.tables)
        assert all(i.excluded == 0 for i in store.inputs)
        assert not [n for n in store.notes if n.excluded]
    finally:
        store.close()


def test_same_seed_same_bytes(tmp_path):
    a, b, c = (tmp_path / x for x in "abc")
    scale.generate(a, scale=0.01, seed=11)
    scale.generate(b, scale=0.01, seed=11)
    scale.generate(c, scale=0.01, seed=12)
    assert scale.fingerprint(a) == scale.fingerprint(b)
    assert scale.fingerprint(a) != scale.fingerprint(c)


def test_make_demo_data_scale_writes_the_big_client(tmp_path, monkeypatch, capsys):
    """`make demo-data SCALE=x` runs `python -m cxlib demo-data --scale x`: the scale client only, in data/scale."""
    from cxlib import paths
    from cxlib.__main__ import main

    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    assert main(["demo-data", "--scale", "0.002", "--seed", "5"]) == 0
    truth = yaml.safe_load((tmp_path / "scale" / "truth.yml").read_text())
    assert truth["scale"] == 0.002 and truth["seed"] == 5
    assert (tmp_path / "scale" / "customers.csv").is_file() or any((tmp_path / "scale").glob("customers.*"))
    assert not (tmp_path / "demo").exists()  # the demo and examples are left alone
    assert "scale 0.002 written" in capsys.readouterr().out
