"""benchmarks/eval_text.py: skips cleanly without the evaluation data; its codebooks compile."""

from __future__ import annotations

import importlib.util

import pytest

from tests.helpers import ROOT


@pytest.fixture(scope="module")
def ev():
    spec = importlib.util.spec_from_file_location("eval_text", ROOT / "benchmarks" / "eval_text.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("value", [None, "/nonexistent/dev-data"])
def test_skips_with_exit_0_without_data(ev, monkeypatch, capsys, value):
    if value is None:
        monkeypatch.delenv("CX_EVAL_DATA", raising=False)
    else:
        monkeypatch.setenv("CX_EVAL_DATA", value)
    assert ev.main([]) == 0
    assert "Skipping" in capsys.readouterr().out


def test_eval_codebooks_compile_and_banking_rules(ev):
    from cxlib.voice import coding

    book = coding.compile_codebook(ev.RESTAURANT_CODEBOOK)
    assert book.codes == ["food", "service", "ambience", "price"] and (book.table["valence"] == "neutral").all()
    bank = coding.compile_codebook(ev.BANKING_CODEBOOK)
    assert bank.codes == ev.BANKING_THEMES and coding.code_examples(bank)["code"].nunique() == 8
    assert ev.banking_theme("new_card_please") == "cards" and ev.banking_theme("my_top_up_problem") == "top_up"
    assert ev.banking_theme("stolen_phone_and_card") == "security" and ev.banking_theme("something_else") == "account"
    assert set(ev.GENERIC_TO_SEMEVAL) <= set(coding.load_generic_codebook().codes)
