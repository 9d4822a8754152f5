"""``reports/index.html``: one card per client with its latest report's headline.

The page is built only from what each published report already holds (its ``manifest.json`` and
``tables/kpi_tiles.csv``), never from the client's data: a stakeholder who opens the index sees
exactly the numbers the report shows. Everything taken from a report is HTML-escaped.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import pandas as pd

#: folders under a client's report folder that are not published periods
NOT_PERIODS = frozenset({"analyst", "last-failed-run", "map_history"})
LANGUAGES = {"en": "English", "ar": "العربية (Arabic)"}
ARROWS = {"up": "▲", "down": "▼", "flat": "▶"}


def _periods(client_dir: Path) -> list[Path]:
    """Published periods of one client, newest first (a period folder or its published link)."""
    return sorted((p for p in client_dir.iterdir() if not p.name.startswith(".") and p.name not in NOT_PERIODS
                   and (p / "report.html").exists()), key=lambda p: p.name, reverse=True)


def _manifest(run: Path) -> dict:
    try:
        return json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _number(v: float, unit: str) -> str:
    if unit == "points":
        return f"{v:+.0f}"
    if unit == "%":
        return f"{v:.0f}%"
    return f"{v:.2f}"


def kpi_lines(run: Path) -> list[dict]:
    """The headline KPIs of one published report: label, value, change and whether it is significant.

    Read from the report's own ``tables/kpi_tiles.csv`` (the first-screen tiles); ``[]`` when the
    report has no survey scores (a CRM-only or reviews-only client).
    """
    path = run / "tables" / "kpi_tiles.csv"
    if not path.exists():
        return []
    tiles = pd.read_csv(path)
    out = []
    for t in tiles.itertuples(index=False):
        if t.metric == "csat_mean" and (tiles["metric"] == "csat").any():
            continue  # one CSAT on the index: the top-2-box share the tiles lead with
        unit = str(getattr(t, "unit", "") or "")
        change = getattr(t, "change", math.nan)
        has_change = isinstance(change, float) and not math.isnan(change)
        out.append({
            "label": str(t.label), "value": _number(float(t.value), unit), "n": int(t.n),
            "change": ((f"{change:+.1f} pts" if unit in ("points", "%") else f"{change:+.2f}")
                       if has_change else ""),
            "direction": str(getattr(t, "direction", "") or "") if has_change else "",
            "significant": bool(getattr(t, "significant", False)) if has_change else False,
        })
    return out


def _card(client_dir: Path, runs: list[Path]) -> str:
    e = html.escape
    latest = runs[0]
    m = _manifest(latest)
    name = m.get("name") or client_dir.name
    language = (m.get("params") or {}).get("language", "")
    base = f"{e(client_dir.name)}/{e(latest.name)}"
    links = [f'<a href="{base}/report.html">Report (HTML)</a>']
    if (latest / "report.pdf").exists():
        links.append(f'<a href="{base}/report.pdf">PDF</a>')
    if (latest / "annex.html").exists():
        links.append(f'<a href="{base}/annex.html">Analyst annex</a>')
    if (latest / "annex.pdf").exists():
        links.append(f'<a href="{base}/annex.pdf">Annex PDF</a>')
    prev = m.get("previous_period")
    period = e(str(m.get("period") or latest.name)) + (f" <span class='muted'>vs {e(str(prev))}</span>" if prev else "")
    kpis = kpi_lines(latest)
    if kpis:
        rows = "".join(
            f"<tr><th scope='row' dir='auto'>{e(k['label'])}</th><td class='num'>{e(k['value'])}</td>"
            f"<td class='num {e(k['direction'])}'>{ARROWS.get(k['direction'], '')} {e(k['change'])}"
            f"{' <span class=badge>significant</span>' if k['significant'] else ''}</td>"
            f"<td class='num muted'>n = {k['n']:,}</td></tr>" for k in kpis)
        body = ("<table><thead><tr><th>Measure</th><th>This period</th><th>Change</th><th>Base</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")
    else:
        body = "<p class='muted'>No survey scores in this report (the client gave no survey export).</p>"
    failed = m.get("failed") or []
    warn = (f"<p class='warn'>Published with {len(failed)} section(s) that could not be produced.</p>"
            if failed else "")
    older = "".join(
        f'<li><a href="{e(client_dir.name)}/{e(r.name)}/report.html">{e(r.name)}</a>'
        f' · <a href="{e(client_dir.name)}/{e(r.name)}/report.pdf">PDF</a></li>' for r in runs[1:])
    older = f"<details><summary>Earlier periods ({len(runs) - 1})</summary><ul>{older}</ul></details>" if older else ""
    return (f"<section class='card'><h2 dir='auto'>{e(str(name))}</h2>"
            f"<p class='meta'>Period {period} · {e(LANGUAGES.get(language, language or 'language not recorded'))}"
            f" · <code>{e(client_dir.name)}</code></p>{body}{warn}<p class='links'>{' · '.join(links)}</p>{older}"
            "</section>")


STYLE = ("body{font-family:system-ui,'Noto Sans Arabic',sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
         "color:#1b1b1b}a{color:#1f4e79}.card{border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.25rem;"
         "margin:1rem 0}.card h2{margin:.1rem 0}.meta,.muted{color:#57606a}table{border-collapse:collapse;"
         "width:100%;max-width:40rem;table-layout:fixed}th:first-child{width:40%}th,td{text-align:start;padding:.25rem .5rem;border-bottom:1px solid #eaeef2}"
         ".num{text-align:end;font-variant-numeric:tabular-nums;white-space:nowrap}.up{color:#0b6e4f}"
         ".down{color:#a8452c}.badge{font-size:.75em;border:1px solid currentColor;border-radius:4px;"
         "padding:0 .3em}.warn{color:#8a5300}.links{margin-top:.6rem}"
         "@media (max-width:480px){th,td{padding:.2rem .25rem;font-size:.9rem}}")


def write_index(reports_dir: Path) -> Path:
    """Write ``reports_dir/index.html``: each client's name, latest period (against the previous),
    language, headline KPIs with their change and significance, links to the HTML, PDF and analyst
    annex, and the earlier periods. Runs being built (``.runs``) and failed runs are never listed."""
    cards = []
    for client_dir in sorted(p for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        runs = _periods(client_dir)
        if runs:
            cards.append(_card(client_dir, runs))
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>CX reports</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{STYLE}</style></head>"
            "<body><h1>Customer experience reports</h1>"
            "<p class='muted'>The latest report of each client; ▲▼ change against the previous period, "
            "<span class=badge>significant</span> when the report's test finds the change unlikely to be chance.</p>"
            + ("".join(cards) or "<p>No reports yet: run <code>make reports</code>.</p>") + "</body></html>")
    out = reports_dir / "index.html"
    out.write_text(page, encoding="utf-8")
    return out
