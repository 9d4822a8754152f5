"""Human coding round-trip: stratified sample, coding sheet export (CSV/XLSX), import."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from cxlib.exceptions import DataValidationError
from cxlib.voice import coding_sheet as cs

CODEBOOK = pd.DataFrame({
    "code": ["late_delivery", "rude_staff", "good_value"],
    "theme": ["Delivery", "Staff", "Price"],
    "description": ["Order arrived late", "Rude staff", "Worth the money"],
    "valence": ["negative", "negative", "positive"],
})


def _verbatims() -> pd.DataFrame:
    """Strata (source|language): survey|en 1000, survey|ar 300, call|en 50 customer turns
    (+ 50 agent turns), review|ar 3; plus 20 empty texts."""
    rows = []
    def add(source, lang, k, speaker=None, text="Delivery was late again, order {i}."):
        for _ in range(k):
            i = len(rows)
            rows.append({"verbatim_id": f"V{i:05d}", "source": source, "language": lang,
                         "touchpoint": "delivery", "text": text.format(i=i), "speaker": speaker})
    add("survey", "en", 1000)
    add("survey", "ar", 300, text="التوصيل تأخر كثير {i}")
    add("call", "en", 50, speaker="customer")
    add("call", "en", 50, speaker="agent", text="Agent here, how can I help? {i}")
    add("review", "ar", 3, text="السعر مناسب {i}")
    add("survey", "en", 20, text="   ")
    return pd.DataFrame(rows)


# --- sampling ----------------------------------------------------------------------------


def test_stratified_sample_sizes_per_stratum():
    v = _verbatims()
    s = cs.sample_for_coding(v, n=100, seed=1, min_per_stratum=5)
    # floors 5, 5, 5, 3 (review|ar has only 3) = 18; the other 82 in proportion to the sizes
    # 1000, 300, 50, 3 (of 1353): quotas 60.61, 18.18, 3.03, 0.18 -> 60, 18, 3 (+0 capped);
    # the one left goes to the largest remainder (.61, survey|en).
    sizes = s.groupby(["source", "language"]).size().to_dict()
    assert sizes == {("survey", "en"): 66, ("survey", "ar"): 23, ("call", "en"): 8, ("review", "ar"): 3}
    assert len(s) == 100 and s["verbatim_id"].is_unique
    a = s.attrs
    assert a["allocation"]["survey|en"] == [1000, 66] and a["allocation"]["review|ar"] == [3, 3]
    assert (a["n_verbatims"], a["n_empty_text"], a["n_agent_turns"], a["n_eligible"]) == (1423, 20, 50, 1353)


def test_sample_is_deterministic_and_order_independent():
    v = _verbatims()
    s1 = cs.sample_for_coding(v, n=60, seed=42)
    s2 = cs.sample_for_coding(v.sample(frac=1, random_state=0), n=60, seed=42)
    s3 = cs.sample_for_coding(v, n=60, seed=43)
    assert s1["verbatim_id"].tolist() == s2["verbatim_id"].tolist()
    assert set(s1["verbatim_id"]) != set(s3["verbatim_id"])


def test_sample_excludes_agents_empty_texts_and_given_ids():
    v = _verbatims()
    agents = set(v.loc[v["speaker"] == "agent", "verbatim_id"])
    empty = set(v.loc[v["text"].str.strip() == "", "verbatim_id"])
    first = cs.sample_for_coding(v, n=200, seed=5)
    second = cs.sample_for_coding(v, n=200, seed=5, exclude_ids=first["verbatim_id"])
    for s in (first, second):
        assert not set(s["verbatim_id"]) & (agents | empty)
        assert not s["text"].str.contains("Agent here").any()
    assert not set(first["verbatim_id"]) & set(second["verbatim_id"])
    assert second.attrs["n_excluded_ids"] == 200
    # fewer eligible than n: everything is taken
    assert len(cs.sample_for_coding(v, n=5000)) == 1353
    with pytest.raises(ValueError, match="minimum of 5 per stratum"):
        cs.sample_for_coding(v, n=10)


def test_sample_redacts_personal_data():
    v = _verbatims()
    v.loc[0, "text"] = "Late again, email me at jane.doe@example.com or call +966 55 123 4567"
    s = cs.sample_for_coding(v, n=1353)
    text = s.set_index("verbatim_id").loc["V00000", "text"]
    assert text == "Late again, email me at [email] or call [phone]"


def test_sample_on_demo_data(demo_dir):
    v = pd.read_csv(demo_dir / "verbatims.csv", dtype=str)
    s = cs.sample_for_coding(v, n=200, seed=20261122)
    assert len(s) == 200
    assert (s.groupby(["source", "language"]).size() >= 5).all()
    assert not s["verbatim_id"].isin(v.loc[v["speaker"] == "agent", "verbatim_id"]).any()
    assert s.attrs["n_agent_turns"] > 0


# --- export / import ---------------------------------------------------------------------


def _sample() -> pd.DataFrame:
    s = cs.sample_for_coding(_verbatims(), n=30, seed=3)
    s.loc[0, "text"] = '=HYPERLINK("http://evil.example","click")'
    return s


#: what the coder writes, by sample row: (codes cell, coder cell)
FILL = {
    0: ("late_delivery", "sara"),
    1: ("Late Delivery ; rude_staff", "sara"),
    2: ("GOOD_VALUE, late-delivery", "sara"),
    3: ("", "sara"),  # coded, no code applies
    4: ("rude_staff;;", "omar"),
    5: ("good_value,good_value", "omar"),
    # every other row left blank: not coded yet
}


def _expected(sample: pd.DataFrame) -> list[tuple]:
    ids = sample["verbatim_id"].tolist()
    return [
        (ids[0], "sara", "late_delivery"),
        (ids[1], "sara", "late_delivery"), (ids[1], "sara", "rude_staff"),
        (ids[2], "sara", "good_value"), (ids[2], "sara", "late_delivery"),
        (ids[3], "sara", None),
        (ids[4], "omar", "rude_staff"),
        (ids[5], "omar", "good_value"),
    ]


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [(v, c, None if pd.isna(k) else k) for v, c, k in df[["verbatim_id", "coder", "code"]].itertuples(index=False)]


def _fill_csv(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for i, (codes, coder) in FILL.items():
        df.loc[i, "codes"], df.loc[i, "coder"] = codes, coder
    df.to_csv(path, index=False, encoding="utf-8-sig")


def _fill_xlsx(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["coding"]
    header = [c.value for c in ws[1]]
    ci, wi = header.index("codes") + 1, header.index("coder") + 1
    for i, (codes, coder) in FILL.items():
        ws.cell(row=i + 2, column=ci, value=codes or None)
        ws.cell(row=i + 2, column=wi, value=coder)
    wb.save(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip(tmp_path, suffix):
    sample = _sample()
    path = cs.export_sheet(sample, CODEBOOK, tmp_path / f"round1{suffix}")
    assert path.exists()
    blank = cs.import_sheet(path, CODEBOOK)
    assert blank.empty and blank.attrs["n_not_coded"] == 30
    (_fill_csv if suffix == ".csv" else _fill_xlsx)(path)
    out = cs.import_sheet(path, CODEBOOK)
    assert list(out.columns) == ["verbatim_id", "coder", "code"]
    assert _rows(out) == _expected(sample)
    a = out.attrs
    assert (a["n_rows"], a["n_coded"], a["n_no_code"], a["n_not_coded"]) == (30, 6, 1, 24)


def test_csv_layout_codebook_alongside_and_formula_guard(tmp_path):
    sample = _sample()
    path = cs.export_sheet(sample, CODEBOOK, tmp_path / "s.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads Arabic correctly
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(df.columns) == cs.SHEET_COLUMNS
    assert df["verbatim_id"].tolist() == sample["verbatim_id"].tolist()
    assert (df[["codes", "coder", "notes"]] == "").all().all()
    assert df.loc[0, "text"].startswith("'=HYPERLINK")  # not a live formula
    assert "التوصيل" in " ".join(df["text"])
    book = pd.read_csv(tmp_path / "s.codebook.csv", encoding="utf-8-sig")
    assert list(book.columns) == cs.CODEBOOK_COLUMNS and book["code"].tolist() == CODEBOOK["code"].tolist()


def test_xlsx_layout(tmp_path):
    sample = _sample()
    path = cs.export_sheet(sample, CODEBOOK, tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:2] == ["coding", "codebook"]
    ws = wb["coding"]
    assert [c.value for c in ws[1]] == cs.SHEET_COLUMNS
    assert ws.freeze_panes == "A2" and wb["codebook"].freeze_panes == "A2"
    assert ws.column_dimensions["E"].width == 70  # the text column
    text = ws.cell(row=2, column=5)
    assert text.data_type == "s" and text.value.startswith("=HYPERLINK")  # text, not a formula
    ar_row = 2 + sample["language"].tolist().index("ar")
    assert ws.cell(row=ar_row, column=5).alignment.readingOrder == 2  # right-to-left
    book = wb["codebook"]
    assert [c.value for c in book[1]] == cs.CODEBOOK_COLUMNS
    assert [book.cell(row=i, column=1).value for i in range(2, 5)] == CODEBOOK["code"].tolist()


def test_unknown_code_error_names_file_row_code_and_valid_codes(tmp_path):
    path = cs.export_sheet(_sample(), CODEBOOK, tmp_path / "s.csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    df.loc[0, ["codes", "coder"]] = ["late_delivery", "sara"]
    df.loc[6, ["codes", "coder"]] = ["late_delivry; rude_staff", "sara"]  # typo, spreadsheet row 8
    df.to_csv(path, index=False, encoding="utf-8-sig")
    with pytest.raises(DataValidationError) as e:
        cs.import_sheet(path, CODEBOOK)
    msg = str(e.value)
    assert str(path) in msg
    assert "row 8" in msg and "'late_delivry'" in msg
    assert "late_delivery, rude_staff, good_value" in msg
    assert e.value.failures.loc[0, "row"] == 8


def test_coder_missing_is_an_error_unless_given(tmp_path):
    path = cs.export_sheet(_sample(), CODEBOOK, tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["coding"].cell(row=3, column=6, value="rude_staff")  # codes, no coder
    wb.save(path)
    with pytest.raises(DataValidationError, match=r"row 3, coder: codes are filled but the coder is empty"):
        cs.import_sheet(path, CODEBOOK)
    out = cs.import_sheet(path, CODEBOOK, coder="lina")
    assert _rows(out) == [(_sample()["verbatim_id"].iloc[1], "lina", "rude_staff")]


def test_same_verbatim_twice_for_one_coder_is_an_error(tmp_path):
    sheet = pd.DataFrame({"verbatim_id": ["V1", "V1", "V1"], "codes": ["good_value", "", "rude_staff"],
                          "coder": ["a", "b", "a"]})
    path = tmp_path / "merged.csv"
    sheet.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"row 4.*coded twice by a \(first on row 2\)"):
        cs.import_sheet(path, CODEBOOK)
