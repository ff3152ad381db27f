"""Words for numbers: the one place that decides "1 problem" against "2 problems".

Why one helper: a declaration read by a court must not say "1 evidence item(s)" or
"1 names are deleted"; every sentence that puts a number before a noun or a verb asks
here, so singular and plural are right everywhere and tested once.
"""
from __future__ import annotations

IRREGULAR = {
    "is": "are", "was": "were", "has": "have", "does": "do",
    "entry": "entries", "query": "queries", "directory": "directories", "match": "matches",
    "address": "addresses", "library": "libraries", "this": "these", "it": "they",
}


def n(value: int | None) -> str:
    """A count with thousands separators ("1,296")."""
    return f"{int(value or 0):,}"


def plural(word: str) -> str:
    """The plural of one English word or of the last word of a phrase ("evidence item")."""
    head, _, last = word.rpartition(" ")
    if last in IRREGULAR:
        out = IRREGULAR[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        out = last + "es"
    elif last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        out = last[:-1] + "ies"
    else:
        out = last + "s"
    return f"{head} {out}" if head else out


def form(count: int | None, singular: str, plural_form: str | None = None) -> str:
    """The word that agrees with `count` (no number): form(1, "is") -> "is", form(2, "is") -> "are"."""
    if int(count or 0) == 1:
        return singular
    return plural_form if plural_form is not None else plural(singular)


def count(value: int | None, singular: str, plural_form: str | None = None) -> str:
    """Number and noun that agree: count(1, "evidence item") -> "1 evidence item"."""
    return f"{n(value)} {form(value, singular, plural_form)}"


def listing(items: list[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]
