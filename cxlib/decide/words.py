"""Words as data: what a decision says, without saying it in a language yet.

Analyses and decisions return :class:`Message` objects (a key of ``assets/strings/*.yml`` and the
values to fill in); the presentation layer renders them in the report's language
(:func:`cxlib.report.i18n.Translator.say`). A value that is itself a label to translate is a
:class:`Term`; one that is client data (a segment name, a brand) stays a plain string.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class Term(str):
    """A label the presentation translates (``Term("Delivery")`` -> the Arabic term)."""

    __slots__ = ()


class Num(str):
    """A number already formatted ("+14"): shown as it is, never escaped or translated."""

    __slots__ = ()


@dataclass(frozen=True)
class Message:
    """A sentence to render: ``key`` in the strings files, with ``values`` filled in."""

    key: str
    values: dict = field(default_factory=dict)

    def __add__(self, other: Message) -> Messages:
        return Messages((self, other))


@dataclass(frozen=True)
class Messages:
    """Several messages rendered one after the other (a sentence and its caveat)."""

    parts: tuple

    def __add__(self, other) -> Messages:
        return Messages((*self.parts, *(other.parts if isinstance(other, Messages) else (other,))))


def p_value(p: float) -> Message:
    """A p-value as the report writes it: 'p < 0.001' or 'p = 0.023'."""
    return Message("p.small") if p < 0.001 else Message("p.value", {"p": float(p)})
