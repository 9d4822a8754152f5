"""Params: one validated object; unknown keys, wrong types and missing files are refused."""

from __future__ import annotations

import pytest
import yaml

from cxlib import paths
from cxlib.data.params import load_params
from cxlib.exceptions import ParameterError
from tests.helpers import ROOT, demo_params_dict


def write(tmp_path, raw) -> str:
    p = tmp_path / "client.yml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return str(p)


def test_demo_params_load():
    p = load_params(ROOT / "params" / "demo.yml", check_files=False)
    assert p.client == "demo" and p.language == "en"
    assert [s.id for s in p.journey][:2] == ["discover", "research"]
    assert len(p.touchpoints) == 11 and p.stage_of()["delivery"] == "receive"
    assert p.thresholds.min_base == 30


def test_unknown_key_refused(tmp_path):
    raw = demo_params_dict()
    raw["colour_scheme"] = "blue"
    with pytest.raises(ParameterError, match=r"colour_scheme: unknown key"):
        load_params(write(tmp_path, raw), check_files=False)


def test_nested_unknown_and_wrong_type_both_reported(tmp_path):
    raw = demo_params_dict()
    raw["thresholds"]["min_bse"] = 10
    raw["thresholds"]["alpha"] = "five percent"
    with pytest.raises(ParameterError) as e:
        load_params(write(tmp_path, raw), check_files=False)
    msg = str(e.value)
    assert "thresholds.min_bse: unknown key" in msg and "thresholds.alpha" in msg
    assert "client.yml" in msg


def test_unknown_table_refused_and_one_data_table_enough(tmp_path):
    raw = demo_params_dict()
    raw["tables"]["tweets"] = {"file": "x.csv"}
    with pytest.raises(ParameterError, match=r"unknown table\(s\) \['tweets'\]"):
        load_params(write(tmp_path, raw), check_files=False)
    minimal = {"client": "acme", "name": "Acme", "data_dir": "data/acme",
               "tables": {"survey_responses": {"file": "export.csv"}}}
    p = load_params(write(tmp_path, minimal), check_files=False)
    assert p.journey == [] and p.funnel == [] and p.breakdowns is None and p.period_unit == "quarter"
    minimal["tables"] = {"codebook": {"file": "codebook.csv"}}
    with pytest.raises(ParameterError, match="no data table"):
        load_params(write(tmp_path, minimal), check_files=False)


def test_missing_input_file_named(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    (tmp_path / "c").mkdir()
    raw = demo_params_dict() | {"data_dir": str(tmp_path / "c")}
    with pytest.raises(ParameterError, match=r"tables.customers.file: .*customers.csv not found"):
        load_params(write(tmp_path, raw))


@pytest.mark.parametrize("name", ["../etc", "Demo", "a/b", ".hidden", ""])
def test_client_name_cannot_escape(name):
    with pytest.raises(ParameterError, match="not allowed"):
        paths.check_client_name(name)


def test_data_dir_and_every_path_cannot_escape(tmp_path):
    raw = demo_params_dict() | {"data_dir": "../../etc"}
    with pytest.raises(ParameterError, match="outside"):
        load_params(write(tmp_path, raw), check_files=False)
    raw = demo_params_dict()
    raw["branding"]["logo"] = "../../../x.svg"
    raw["tables"]["customers"]["file"] = "../other-client/customers.csv"
    with pytest.raises(ParameterError) as e:
        load_params(write(tmp_path, raw), check_files=False)
    assert "branding.logo" in str(e.value) and "tables.customers.file" in str(e.value)


def test_duplicate_touchpoint_refused(tmp_path):
    raw = demo_params_dict()
    raw["journey"][1]["touchpoints"].append(dict(raw["journey"][0]["touchpoints"][0]))
    with pytest.raises(ParameterError, match=r"web_search.*more than one journey stage"):
        load_params(write(tmp_path, raw), check_files=False)


def test_missing_params_file_message():
    with pytest.raises(ParameterError, match="does not exist"):
        load_params("no-such-client")


def test_engine_defaults_to_duckdb_and_takes_spark_settings(tmp_path):
    """``engine``: DuckDB unless params say pyspark; a master URL and spark.* settings are kept."""
    assert load_params(ROOT / "params" / "demo.yml", check_files=False).engine.backend == "duckdb"
    raw = demo_params_dict()
    raw["engine"] = {"backend": "pyspark", "master": "spark://10.0.0.5:7077",
                     "conf": {"spark.executor.memory": "8g", "spark.sql.shuffle.partitions": 64}}
    e = load_params(write(tmp_path, raw), check_files=False).engine
    assert (e.backend, e.master, e.conf["spark.executor.memory"]) == ("pyspark", "spark://10.0.0.5:7077", "8g")


@pytest.mark.parametrize("engine, words", [
    ({"backend": "spark"}, ["engine.backend", "'spark' is not an engine", "duckdb", "pyspark"]),
    ({"backend": "pyspark", "mastr": "local[2]"},
     ["engine.mastr: unknown key", "backend", "master (e.g. local[2])", "conf"]),
    ({"backend": "pyspark", "conf": {"executor.memory": "8g"}},
     ["engine.conf", "['executor.memory'] are not Spark properties", "spark.executor.memory"]),
    ({"backend": "pyspark", "master": "local [2]"}, ["engine.master", "not a Spark master URL", "local[*]"]),
])
def test_engine_mistakes_name_the_key_and_the_fix(tmp_path, engine, words):
    raw = demo_params_dict()
    raw["engine"] = engine
    with pytest.raises(ParameterError) as e:
        load_params(write(tmp_path, raw), check_files=False)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_engine_memory_limit_defaults_and_is_checked(tmp_path):
    """engine.memory_limit caps DuckDB in every process of a run (2GB unless params say otherwise)."""
    from cxlib.data.params import Params

    base = {"client": "x", "name": "x", "data_dir": "data/x", "tables": {"verbatims": {"file": "v.csv"}}}
    assert Params.model_validate(base).engine.memory_limit == "2GB"
    assert Params.model_validate(base | {"engine": {"memory_limit": "512MB"}}).engine.memory_limit == "512MB"
    with pytest.raises(Exception, match="is not a memory size"):
        Params.model_validate(base | {"engine": {"memory_limit": "lots"}})
    from cxlib.data.io import connect

    db = connect(None, "512MB")
    assert db.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "488.2 MiB"  # 512 MB in MiB
