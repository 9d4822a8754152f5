"""A sample report built through the real path: an executed notebook (as papermill leaves it)
with the first-screen blocks, tables, SVG figures, persona cards, a SWOT grid and notes, then
``render.assemble``. Used by the layout tests and to look at the result:

    .venv/bin/python -m tests.report_sample /tmp/sample        # en/ and ar/ under it
    ../shared/tools/look-at-report /tmp/sample/en
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

from cxlib.report import blocks, display, plots, render  # noqa: E402
from cxlib.report.i18n import Translator  # noqa: E402

W = {
    "en": {
        "title": "CX report: Demo & Co", "summary": "Executive summary",
        "data": "Data and method", "who": "Who the customers are", "quant": "Satisfaction and loyalty",
        "journey": "The journey", "voice": "Voice of the customer", "churn": "Churn and at-risk customers",
        "swot": "SWOT", "appendix": "Appendix",
        "para": ("Every input was validated before any number in this report was computed. "
                 "The table lists each source, its size and its time span; records that could not "
                 "be linked to a known customer are kept and counted here. "),
        "f1": "NPS fell 8 points to +23, a significant change, driven by late deliveries.",
        "f2": "Mobile checkout abandonment is 54% against 14% on desktop.",
        "f3": "The competitor's share of social mentions rose from 25% to 35%.",
        "a1": "Fix delivery slot promises", "a2": "Simplify mobile checkout", "a3": "Answer competitor price claims",
        "o1": "Logistics", "o2": "Digital", "o3": "Marketing",
        "tp": ["Website", "Mobile app", "Checkout", "Delivery", "Call centre", "Chat", "Store"],
        "personas": [("Noura", "Young families", "Busy parent, Riyadh"), ("Khalid", "Value seekers", "Student, Jeddah"),
                     ("Fahad", "Loyal regulars", "Engineer, Dammam"), ("Sara", "New customers", "Teacher, Riyadh")],
        "goal": "Gets the order on the promised day", "chal": "Late deliveries with no update",
    },
    "ar": {
        "title": "تقرير تجربة العملاء", "summary": "الملخص التنفيذي",
        "data": "البيانات والمنهجية", "who": "من هم العملاء", "quant": "الرضا والولاء",
        "journey": "رحلة العميل", "voice": "صوت العميل", "churn": "فقدان العملاء والعملاء المعرّضون",
        "swot": "تحليل سوات", "appendix": "الملحق",
        "para": ("تم التحقق من كل ملف مدخل قبل حساب أي رقم في هذا التقرير. يعرض الجدول كل مصدر "
                 "وحجمه وفترته الزمنية، والسجلات التي تعذّر ربطها بعميل معروف تُحفظ وتُحصى هنا. "),
        "f1": "انخفض صافي نقاط الترويج 8 نقاط إلى +23، وهو تغيّر دالّ إحصائيًا سببه تأخر التوصيل.",
        "f2": "نسبة التخلي عن الدفع على الجوال 54% مقابل 14% على الحاسوب.",
        "f3": "ارتفعت حصة المنافس من الإشارات في وسائل التواصل من 25% إلى 35%.",
        "a1": "الوفاء بمواعيد التوصيل", "a2": "تبسيط الدفع على الجوال", "a3": "الرد على عروض أسعار المنافس",
        "o1": "الخدمات اللوجستية", "o2": "القنوات الرقمية", "o3": "التسويق",
        "tp": ["الموقع", "التطبيق", "الدفع", "التوصيل", "مركز الاتصال", "المحادثة", "المتجر"],
        "personas": [("نورة", "العائلات الشابة", "أم عاملة، الرياض"), ("خالد", "الباحثون عن القيمة", "طالب، جدة"),
                     ("فهد", "العملاء الدائمون", "مهندس، الدمام"), ("سارة", "العملاء الجدد", "معلمة، الرياض")],
        "goal": "يصل الطلب في اليوم الموعود", "chal": "تأخر التوصيل دون إشعار",
    },
}
#: every heading the sample writes (level 1 and 2), for the stranded-heading check
SECTIONS = ("data", "who", "quant", "journey", "voice", "churn", "swot", "appendix")


def _md(text: str):
    return new_output("display_data", data={"text/markdown": text, "text/plain": text},
                      metadata={"cxlib": {"kind": "text"}})


def _table(df, name, caption, note=None):
    data, meta = display.table_bundle(df, name=name, caption=caption, note=note)
    return new_output("display_data", data=data, metadata=meta)


def _figure(fig, name, caption):
    svg = plots.figure_svg(fig)
    data, meta = display.figure_bundle(display.figure_png(fig, dpi=60), name=name, caption=caption,
                                       alt=f"Chart: {caption}")
    data["image/svg+xml"] = svg
    return new_output("display_data", data=data, metadata=meta)


def _cell(*outputs):
    c = new_code_cell("...")
    c.outputs = list(outputs)
    return c


def challenge(language: str, k: int) -> str:
    """Persona k's challenge, ending in a number of its own (found again in the PDF text)."""
    return f"{W[language]['chal']} {101 + k}"


def headings(language: str) -> list[str]:
    w = W[language]
    out = []
    for s in SECTIONS:
        out += [w[s]] + [f"{w[s]} {k}" for k in (1, 2)]
    return out


def build_notebook(path: Path, language: str = "en") -> Path:
    """Write the sample's executed notebook."""
    tr = Translator(language)
    plots.set_theme(None, tr)
    w = W[language]
    rng = np.random.default_rng(4)
    tp = w["tp"]
    cells = []
    t = pd.DataFrame({"period": ["2025Q4", "2026Q1", "2026Q2", "2026Q3"], "value": [20, 25, 31, 23.0],
                      "small_base": False}).assign(ci_low=lambda d: d["value"] - 8, ci_high=lambda d: d["value"] + 8)
    trend_fig = plots.kpi_trend_chart(t, "NPS (points)")
    for k, sec in enumerate(SECTIONS):
        trend_out = _figure(trend_fig, f"trend-{sec}", "NPS by quarter")
        cells.append(new_markdown_cell(f"# {w[sec]} {{#sec-{sec}}}\n\n" + w["para"] * (1 + k % 3)))
        for j in (1, 2):
            outs = []
            if sec == "data" and j == 1:
                outs.append(_table(pd.DataFrame({"Source": ["survey", "orders", "web <b>events</b>"],
                                                 "Rows": [1234, 56789, 1234567], "Period": ["2026Q3"] * 3}),
                                   "sources", "Data sources", note="Counts before exclusions."))
                outs.append(_md(blocks.note_box("Weights are from the 2025 census.", tr=tr)))
                outs.append(_md(blocks.not_in_report([("Churn model", "customer ids with a churned flag and dates"),
                                                      ("Share of voice", "a social-listening export")], tr=tr)))
            elif sec == "who" and j == 1:
                outs.append(_md(blocks.persona_cards([
                    blocks.Persona(name=n, segment=s, role=r, demographics="35-44, SAR 15,000 a month",
                                   goals=[w["goal"], w["goal"] + " 2"], challenges=[challenge(language, i)],
                                   channels="App, WhatsApp", numbers="NPS +12 (n = 220)")
                    for i, (n, s, r) in enumerate(w["personas"])], tr=tr)))
            elif sec == "quant" and j == 1:
                t = pd.DataFrame({"period": ["2025Q4", "2026Q1", "2026Q2", "2026Q3"] * 2,
                                  "segment": [w["personas"][0][1]] * 4 + [w["personas"][1][1]] * 4,
                                  "value": [20, 25, 31, 23, 5, 8, 2, -9.0], "small_base": False})
                t["ci_low"], t["ci_high"] = t["value"] - 8, t["value"] + 8
                outs.append(_figure(plots.kpi_trend_chart(t, "NPS (points)", by="segment"), "nps_trend",
                                    "NPS by quarter"))
                wide = pd.DataFrame({c: rng.integers(0, 999, 7) for c in
                                     ["NPS now", "n", "NPS before", "n before", "Change", "CSAT %", "CES (1-7)",
                                      "Late orders %", "Contacts per order"]})
                wide.insert(0, "Touchpoint", tp)
                outs.append(_table(wide, "wide", "Every touchpoint, every measure"))
            elif sec == "journey" and j == 1:
                ipa = pd.DataFrame({"label": tp, "performance": rng.uniform(3.2, 4.4, 7),
                                    "importance": rng.uniform(3.4, 4.6, 7), "n": rng.integers(30, 400, 7)})
                cp, ci = ipa["performance"].mean(), ipa["importance"].mean()
                ipa["quadrant"] = np.where(ipa["importance"] >= ci,
                                           np.where(ipa["performance"] < cp, "Concentrate here", "Keep up the good work"),
                                           np.where(ipa["performance"] < cp, "Low priority", "Possible overkill"))
                ipa = ipa.assign(crosshair_performance=cp, crosshair_importance=ci)
                outs.append(_figure(plots.ipa_chart(ipa), "ipa", "Importance and performance"))
            elif sec == "voice" and j == 1:
                themes = pd.DataFrame({"label": tp[:5], "share_detractors": rng.uniform(0, .5, 5),
                                       "share_promoters": rng.uniform(0, .3, 5), "significant": [True, False] * 2 + [True]})
                outs.append(_figure(plots.theme_chart(themes), "themes", "Themes"))
            elif sec == "churn" and j == 1:
                outs.append(_md(blocks.note_box("The CRM export has no dates, so churn by period cannot be computed.",
                                                kind="missing", tr=tr)))
            elif sec == "swot" and j == 1:
                outs.append(_md(blocks.swot_grid(
                    [blocks.SwotItem(f"{tp[6]} CSAT 4.6", "CSAT 4.6 (n = 240)"), blocks.SwotItem(tp[0], "NPS +31")],
                    [blocks.SwotItem(f"{tp[3]}: 31% late", "orders n = 5,120"), blocks.SwotItem(tp[2], "54% abandon")],
                    [blocks.SwotItem(w["a3"], "staff workshop")],
                    [blocks.SwotItem(w["f3"], "mentions n = 1,830")], tr=tr)))
            if j == 1:
                cells.append(new_markdown_cell(f"## {w[sec]} {j}\n\n" + w["para"] * (1 + k % 4)))
            else:  # a heading right above a tall figure: where a heading is most easily stranded
                cells.append(new_markdown_cell(w["para"] * (k % 4) + f"\n\n## {w[sec]} {j}"))
                outs.insert(0, trend_out)
            if outs:
                cells.append(_cell(*outs))
    tiles = [
        blocks.Tile("NPS", 23.0, (18.0, 28.0), -8.1, "2026Q2", True, 740, signed=True),
        blocks.Tile("CSAT", 81.0, (79.0, 83.0), 1.2, "2026Q2", False, 512, suffix="%"),
        blocks.Tile("CES", 5.42, (5.31, 5.53), 0.21, "2026Q2", True, 498, digits=2),
        blocks.Tile(tr.term("Share of voice") if language == "en" else "حصة الإشارات", None,
                    reason="No social-listening export" if language == "en" else "لا يوجد ملف إشارات اجتماعية"),
    ]
    first = blocks.first_screen(
        blocks.kpi_tiles(tiles, tr=tr),
        blocks.top_findings([blocks.Finding(w["f1"], base="740", section="sec-quant"),
                             blocks.Finding(w["f2"], base="9,812", section="sec-journey"),
                             blocks.Finding(w["f3"], base="1,830", section="sec-voice")], tr=tr),
        blocks.top_actions([blocks.Action(w["a1"], w["o1"]), blocks.Action(w["a2"], w["o2"]),
                            blocks.Action(w["a3"], w["o3"])], tr=tr),
        title=w["summary"], tr=tr)
    cells.append(_cell(_md(first)))  # last, as the summary notebook is: assemble moves it up
    nb = new_notebook(cells=cells)
    nbformat.write(nb, path)
    plots.set_theme(None, None)
    return path


def meta_for(language: str) -> render.ReportMeta:
    return render.ReportMeta(title=W[language]["title"], subtitle="Demo", date="2026Q3", language=language)


def build(out_dir: Path, language: str = "en") -> tuple[Path, render.ReportMeta]:
    """Write the notebook and assemble ``out_dir/report.md``; return it and its meta."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = build_notebook(out_dir / "sample.ipynb", language)
    meta = meta_for(language)
    return render.assemble([nb], out_dir, meta), meta


if __name__ == "__main__":  # pragma: no cover - a tool for looking at the sample
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cx-sample")
    for lang in ("en", "ar"):
        md, meta = build(root / lang, lang)
        res = render.render(md, meta, renderer="offline")
        print(res.html, res.pdf)
