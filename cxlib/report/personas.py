"""Persona cards: :class:`cxlib.quant.personas.Persona` data drawn in the report's language.

::

    from cxlib.report import personas as persona_view
    show_text(persona_view.persona_cards(found, tr, market=params.market, currency=params.currency))

Every sentence on a card is a whole entry of ``assets/strings/presentation.yml``
(``pres.persona.*``) with the numbers and the client's values filled in; the client's values
(segments, codes, cities, channels, plans...) go through :meth:`Translator.term`, so the
labels a client gives in ``params`` (``labels: {ar: {...}}``) name them. Only the first name is
invented: a name of the client's market (``params.market``, else from the language: Arabic ->
gulf, English -> international) for the segment's majority gender, chosen by a stable hash of
the segment, never shared by two cards. In English the name is followed by who the persona
is ("Sara, the value seeker", from the segment's label); in any language a label
``"<segment> (persona)"`` in params gives it instead. The cards are drawn by
:func:`cxlib.report.blocks.persona_cards` (one unbreakable card each in the PDF).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

from cxlib.report import blocks
from cxlib.report.display import MISSING, fmt_int, fmt_num, fmt_pct, md_escape
from cxlib.report.i18n import LRI, PDI, Translator, isolate_numbers
from cxlib.voice.coding import code_label

__all__ = ["MARKETS", "card", "descriptor", "first_names", "market_of", "persona_cards", "persona_name"]

MARKETS = ("gulf", "egypt", "levant", "maghreb", "uk", "us", "international")
#: the market of a client that names none, by report language
DEFAULT_MARKET = {"ar": "gulf", "en": "international"}
_ARABIC = re.compile(r"[\u0600-\u06FF]")
#: short runs a line never breaks inside: an isolated number with its interval, "n = 63"
_KEEP = re.compile(f"{LRI}[^{LRI}{PDI}]{{1,24}}{PDI}|\\bn \\\\= [0-9,]+")
#: collective nouns that read oddly as "the family": the role adds a noun ("the family shopper")
_COLLECTIVE = {"family": "family shopper", "household": "household shopper", "couple": "couple",
               "group": "group buyer"}


# --- names ---------------------------------------------------------------------------------


def market_of(market: str | None, language: str) -> str:
    """The client's market (``params.market``), or the default of the report language."""
    if market is None:
        return DEFAULT_MARKET.get(language, "international")
    if market not in MARKETS:
        raise ValueError(f"market {market!r} is not one of {MARKETS}")
    return market


def first_names(tr: Translator, market: str, gender: str) -> list[str]:
    """The first names of ``market`` for ``gender`` ("female"/"male") in the report's language."""
    text = tr(f"pres.persona.names.{market}.{gender}")
    return [n.strip() for n in re.split(r"[,،]", re.sub(f"[{LRI}{PDI}]", "", text)) if n.strip()]


def _stable_index(text: str, n: int) -> int:
    """Index in range(n) from SHA-256 of ``text`` (same in every process and Python version)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % n


def _singular(word: str) -> str:
    low = word.lower()
    if low.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if low.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(word) > 2:
        return word[:-1]
    return word


def descriptor(label: str) -> str:
    """Who an English segment label's persona is: 'Value Seekers' -> 'value seeker';
    'Families' -> 'family shopper'; acronyms kept ('VIP Customers' -> 'VIP customer')."""
    words = re.sub(r"\s+", " ", str(label)).strip().split(" ")
    if not words or not words[0]:
        return "customer"
    words[-1] = _singular(words[-1])
    words = [w.lower() if (w[:1].isupper() and w[1:].islower()) or w.islower() else w for w in words]
    if words[-1].lower() in _COLLECTIVE:
        words[-1] = _COLLECTIVE[words[-1].lower()]
    return " ".join(words)


def persona_name(segment: str, gender: str | None, tr: Translator, *, market: str | None = None,
                 taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A first name of the market for the gender, by a stable hash of ``segment``.

    Names in ``taken`` are skipped (the next one of the list is used), so cards never share a
    name. ``gender=None`` (not recorded, or a tie) picks the list by the same hash.
    """
    market = market_of(market, tr.language)
    if gender not in ("female", "male"):
        gender = ("female", "male")[_stable_index("gender:" + str(segment), 2)]
    names = first_names(tr, market, gender)
    start = _stable_index(str(segment), len(names))
    for i in range(len(names)):
        first = names[(start + i) % len(names)]
        if first not in taken:
            return first
    return names[start]


# --- words -----------------------------------------------------------------------------------


class _Safe(str):
    """Markdown already escaped (and isolated in Arabic): put into a sentence as it is."""

    __slots__ = ()


def _text(s, tr: Translator) -> _Safe:
    """A client's value (a label, a city) as safe Markdown, Latin runs isolated in Arabic."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return _Safe("")
    s = str(s)
    if not tr.rtl:
        return _Safe(md_escape(s))
    if not _ARABIC.search(s):  # a Latin value ("<10k SAR", "paid search") stays whole, left to right
        return _Safe(f"{LRI}{md_escape(s)}{PDI}" if s.strip() else "")
    return _Safe(md_escape(isolate_numbers(s)))


def _say(tr: Translator, key: str, **values) -> _Safe:
    """A whole sentence of the strings, as safe Markdown.

    Numbers (plain strings) are formatted into the sentence before the translator isolates its
    left-to-right runs, so "n = 63" or "−23 [−33, −13]" stay whole in Arabic; the sentence is
    then escaped; :class:`_Safe` values (client labels, sentences made here) go in last, as they are.
    """
    tokens = {k: chr(0xE000 + i) for i, k in enumerate(values) if isinstance(values[k], _Safe)}
    out = _KEEP.sub(lambda m: m.group(0).replace(" ", "\u00a0"),
                    md_escape(tr(key, **{k: tokens.get(k, v) for k, v in values.items()})))
    for k, tok in tokens.items():
        out = out.replace(tok, values[k])
    return _Safe(out)


def _term(value, tr: Translator) -> _Safe:
    return _text(tr.term(str(value)), tr)


def _pct(x, digits: int = 0) -> str:
    return fmt_pct(x, digits)


def _join(items: Sequence[str], tr: Translator) -> _Safe:
    return _Safe(tr("pres.persona.comma").join(items))


def _and(items: Sequence[str], tr: Translator) -> _Safe:
    if len(items) < 2:
        return _Safe("".join(items))
    return _say(tr, "pres.persona.and", first=_join(items[:-1], tr), last=_Safe(items[-1]))


def _sep(parts: Sequence[str], tr: Translator) -> _Safe:
    return _Safe(tr("pres.persona.sep").join(parts))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _role(p, tr: Translator) -> _Safe:
    parts = [_say(tr, "pres.persona.role.share", share=_pct(p.share))]
    r = p.spend_ratio
    if not _missing(r):
        if 0.9 <= r <= 1.1:
            parts.append(_say(tr, "pres.persona.role.spend_same"))
        elif r > 1:
            parts.append(_say(tr, "pres.persona.role.spend_more", ratio=fmt_num(r, 1)))
        else:
            parts.append(_say(tr, "pres.persona.role.spend_less", pct=_pct(r)))
    if p.plan:
        parts.append(_say(tr, "pres.persona.role.plan", plan=_term(p.plan[0], tr)))
    if p.top_channel:
        parts.append(_say(tr, "pres.persona.role.channel", channel=_term(p.top_channel, tr)))
    if not _missing(p.tenure_months):
        parts.append(_say(tr, "pres.persona.role.tenure", months=fmt_num(p.tenure_months, 0)))
    return _sep(parts, tr)


def _demographics(p, tr: Translator) -> _Safe:
    parts = []
    if p.age:
        a = {k: fmt_num(v, 0) for k, v in p.age.items()}
        parts.append(_say(tr, "pres.persona.demo.age", median=a["median"], q1=a["q1"], q3=a["q3"],
                          lo=a["min"], hi=a["max"]))
    if p.gender:
        g = [_say(tr, "pres.persona.demo.gender", share=_pct(s), gender=_term(v, tr)) for v, s in p.gender]
        if p.gender_not_stated >= 0.005:
            g.append(_say(tr, "pres.persona.demo.not_stated", share=_pct(p.gender_not_stated)))
        parts.append(_join(g, tr))
    if not _missing(p.household_median):
        parts.append(_say(tr, "pres.persona.demo.household", n=fmt_num(p.household_median, 0)))
    if p.income_band:
        parts.append(_say(tr, "pres.persona.demo.income", band=_term(p.income_band[0], tr),
                          share=_pct(p.income_band[1])))
    if p.cities:
        cities = [_say(tr, "pres.persona.value_share", value=_term(c, tr), share=_pct(s)) for c, s in p.cities]
        parts.append(_say(tr, "pres.persona.demo.cities", cities=_and(cities, tr)))
    return _sep(parts, tr)


def _theme_label(code: str, tr: Translator) -> _Safe:
    """A code as the client names it: its params label (by code or by reader label), else ours."""
    out = tr.term(code)
    return _text(out if out != code else tr.term(code_label(code)), tr)


def _themes(p, valence: str, tr: Translator) -> list[_Safe]:
    items = p.goals if valence == "positive" else p.challenges
    if not items:
        if p.n_texts == 0:
            return [_say(tr, "pres.persona.theme.no_texts")]
        return [_say(tr, "pres.persona.theme.no_goal" if valence == "positive" else "pres.persona.theme.no_challenge")]
    out = []
    for t in items:
        label = _theme_label(t.code, tr)
        if p.theme_basis == "lift" and not _missing(t.share_other):
            d = 1 if min(t.share, t.share_other) < 0.1 else 0  # small shares: 1.1% and 0.8% differ
            out.append(_say(tr, "pres.persona.theme", label=label, share=_pct(t.share, d),
                            other=_pct(t.share_other, d)))
        else:
            out.append(_say(tr, "pres.persona.theme.single", label=label, share=_pct(t.share)))
    return out


def _touchpoints(p, tr: Translator) -> list[_Safe]:
    out = []
    for i, t in enumerate(p.touchpoints_low):
        out.append(_say(tr, "pres.persona.tp.lowest" if i == 0 else "pres.persona.tp.second",
                        touchpoint=_term(t["label"], tr), csat=fmt_num(t["csat"], 2), n=fmt_int(t["n"])))
    for t in p.touchpoints_mentioned:
        out.append(_say(tr, "pres.persona.tp.mentioned", touchpoint=_term(t["label"], tr), share=_pct(t["share"])))
    return out


def _influences(p, tr: Translator) -> _Safe:
    parts = []
    if p.traffic_sources:
        src = [_say(tr, "pres.persona.value_pct", value=_term(s, tr), share=_pct(v)) for s, v in p.traffic_sources[:3]]
        parts.append(_say(tr, "pres.persona.infl.sources", sources=_join(src, tr)))
    if not _missing(p.competitor_share):
        parts.append(_say(tr, "pres.persona.infl.competitors", share=_pct(p.competitor_share)))
    return _sep(parts, tr)


def _numbers(p, tr: Translator, currency: str | None) -> _Safe:
    parts = [_say(tr, "pres.persona.num.customers", n=fmt_int(p.customers), share=_pct(p.share))]
    if p.n_texts:
        parts.append(_say(tr, "pres.persona.num.comments", n=fmt_int(p.n_texts)))
    if _missing(p.nps):
        parts.append(_say(tr, "pres.persona.num.no_nps"))
    else:
        ci = (MISSING if _missing(p.nps_ci_low) or _missing(p.nps_ci_high)
              else f"[{_signed(p.nps_ci_low)}, {_signed(p.nps_ci_high)}]")
        parts.append(_say(tr, "pres.persona.num.nps", nps=_signed(p.nps), ci=ci, n=fmt_int(p.nps_n)))
    if not _missing(p.churn_rate):
        parts.append(_say(tr, "pres.persona.num.churn", rate=_pct(p.churn_rate)))
    if not _missing(p.revenue_per_customer):
        amount = fmt_int(p.revenue_per_customer)
        if currency:
            amount = _say(tr, "pres.persona.num.amount", amount=amount, currency=_term(currency, tr))
        parts.append(_say(tr, "pres.persona.num.revenue", amount=amount, share=_pct(p.revenue_share)))
    return _sep(parts, tr)


def _signed(x: float) -> str:
    """An NPS as the report writes it: +26, −23 (a real minus sign), 0."""
    s = f"{float(x):+,.0f}"
    return "0" if s in ("+0", "-0") else s.replace("-", "\u2212")


def _bullets(items: list[str]) -> list[blocks.Md]:
    return [blocks.Md(i) for i in items]


def card(p, tr: Translator, *, name: str, currency: str | None = None) -> blocks.Persona:
    """One :class:`cxlib.quant.personas.Persona` as a :class:`cxlib.report.blocks.Persona`
    (escaped Markdown, Latin runs isolated in Arabic); ``name`` is its first name."""
    segment = tr.term(p.segment)
    own = tr.term(f"{p.segment} (persona)")
    if own != f"{p.segment} (persona)":
        heading = tr("pres.persona.name", name=name, descriptor=own)
    elif tr.language == "en":
        heading = tr("pres.persona.name", name=name, descriptor=descriptor(segment))
    else:
        heading = name
    channels = _join([_say(tr, "pres.persona.value_pct", value=_term(c, tr), share=_pct(s))
                      for c, s in p.channels], tr)
    # the touchpoints and influences follow the channels, each under its own label
    extra = []
    tps = _touchpoints(p, tr)
    if tps:
        extra.append(f"**{tr('pres.persona.touchpoints')}:**\n\n" + "\n".join(f"- {t}" for t in tps))
    infl = _influences(p, tr)
    if infl:
        extra.append(f"**{tr('pres.persona.influences')}:** {infl}")
    if extra:
        channels = "\n\n".join([channels or MISSING, *extra])
    return blocks.Persona(
        name=heading, segment=segment, role=blocks.Md(_role(p, tr)),
        demographics=blocks.Md(_demographics(p, tr)),
        goals=_bullets(_themes(p, "positive", tr)), challenges=_bullets(_themes(p, "negative", tr)),
        channels=blocks.Md(channels), numbers=blocks.Md(_numbers(p, tr, currency)), small_base=p.small_base,
    )


def persona_cards(personas: Sequence, tr: Translator | None = None, *, market: str | None = None,
                  currency: str | None = None) -> str:
    """The persona cards (``:::: {.personas}``) for :func:`cxlib.quant.personas.build_personas`
    output, in ``tr``'s language, names from ``market`` (``params.market``; None = from the
    language), amounts in ``currency`` (``params.currency``)."""
    tr = tr if tr is not None else Translator("en")
    taken: set[str] = set()
    cards = []
    for p in personas:
        name = persona_name(p.segment, p.majority_gender, tr, market=market, taken=taken)
        taken.add(name)
        cards.append(card(p, tr, name=name, currency=currency))
    return blocks.persona_cards(cards, tr=tr)
