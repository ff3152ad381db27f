"""Spam and phishing *templates*: letters with mailer placeholders or spintax, plus spam signals.

Why whole-object: a template is judged as a whole (placeholders, subject, links, brands),
so the extractor only runs when the object fits one window.

A template needs mass-mailer placeholders (`[-email-]`, `%RND_NUM[2,2]%`, `{%FIRSTNAME%}`,
`{{.FirstName}}`, `%%email%%`, `{$name}`, ...) and/or spintax (`{a|b|c}`), and spam signals
(trademarks from `extractors/data/brands.txt`, links, a subject line, lure words). What is
not a template: delivered mail (it carries `Received:` headers or an mbox `From ` line: the
placeholders were already filled in), and ordinary web pages or documentation that use
template syntax without any spam signal. `score` is a sum of weighted signals; `reasons`
lists them so an examiner can check every point.

1.2.0, learnt on clean Debian systems (changelogs, Perl and PHP modules, minified JavaScript,
shell scripts, SQL help tables, exim's and postfix's own files all hold `{a|b}`, `{$name}` and
brand names): a template is a *message*. It needs a message structure -- a header block at
its top (`Subject:`, `From:`, `To:` ...), or an HTML document or fragment that starts with a
tag, or a letter personalised with a known mailer's recipient macro and a link -- and it must
not be a program (a `#!` line, `<?php`, or a text where a quarter of the lines end a statement or open or close a block).
Only then do PHP/Perl-like placeholders, spintax and brands count.

Brands are matched on word boundaries and through obfuscations: letters may be separated by
one non-letter (`V-i-a-g-r-a`), and look-alikes are folded (`1`/`l`/`!`/`|` -> i, `0` -> o,
`3` -> e, `4`/`@` -> a, `5`/`$` -> s).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from itertools import islice
from typing import Iterable, Iterator

from extractors._text import looks_binary, utf16_views
from extractors.base import Extractor, Finding, Source

NAME = "spam_templates"
VERSION = "1.2.0"
THRESHOLD = 3.0
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
MAX_URLS = 50

# Strong placeholder syntaxes: used by mass mailers, rare elsewhere.
_STRONG = re.compile(
    rb"\[-[A-Za-z][A-Za-z0-9_]{1,30}-\]"  # Leaf-PHPMailer style [-email-]
    rb"|%RND_[A-Z_]{1,20}(?:\[\d{1,3},\d{1,3}\])?%"  # %RND_NUM[2,2]%
    rb"|\{%[A-Z][A-Z0-9_]{1,30}%\}"  # {%FIRSTNAME%}
    rb"|\{\{\s?\.[A-Z][A-Za-z0-9_]{1,30}\s?\}\}"  # GoPhish / Go templates {{.FirstName}}
    rb"|%%[A-Za-z][A-Za-z0-9_]{1,30}%%"  # %%email%%
    rb"|##[A-Z][A-Z0-9_]{1,30}##"  # ##EMAIL##
)
# What every `_STRONG` match begins with, each found by a literal scan (`_STRONG` itself is tried at
# every byte): a text that holds none has no strong placeholder. Compiled rather than `in`: `re`'s
# literal search found these two-byte leads about 2.5x faster than `bytes.__contains__` (16 MiB).
_STRONG_LEADS = tuple(re.compile(re.escape(lead)) for lead in (b"[-", b"%RND_", b"{%", b"{{", b"%%", b"##"))
# Weak syntaxes (also PHP/Jinja/Mustache): count only with a mailer field name.
_WEAK = re.compile(rb"\{\$([A-Za-z_]{2,30})\}|\{\{\s?([A-Za-z_]{2,30})\s?\}\}|\$\{([A-Za-z_]{2,30})\}")
_WEAK_LEADS = tuple(re.compile(re.escape(lead)) for lead in (b"{$", b"{{", b"${"))  # as `_STRONG_LEADS`
_MAILER_FIELDS = frozenset(
    "email emailuser emaildomain name firstname first_name lastname last_name fullname username user "
    "date time link url unsubscribe subject company domain recipient to_email receiver random "
    "randomstring randomnumber rnd token phone address".split()
)
_SPINTAX = re.compile(rb"\{[^{}|\r\n]{1,100}(?:\|[^{}|\r\n]{0,100}){1,30}\}")
_SUBJECT = re.compile(rb"(?im)^subject:[ \t]*([^\r\n]{1,300})")
_URL = re.compile(rb"(?:https?|hxxps?)://[^\s\"'<>`{}|\\^]{1,500}", re.IGNORECASE)
_LURE = re.compile(
    rb"(?i)\b(?:unsubscribe|click here|act now|limited time|verify your account|confirm your account|"
    rb"account (?:has been )?suspended|update your (?:account|payment|billing)|winner|congratulations|"
    rb"free (?:gift|trial)|lowest prices?|no prescription|online pharmacy|100% (?:free|guaranteed)|"
    rb"dear (?:customer|user|friend|member)|password expires?|log ?in to (?:your|view)|"
    rb"meds|discount|order now|buy now)\b"
)
_DELIVERED = re.compile(rb"(?im)^(?:received:[ \t]|from [^\s@]+@?[^\s]* (?:mon|tue|wed|thu|fri|sat|sun) )")
# A header block at the top of the text: the first non-blank line is a header field, and the
# block it starts names one of the fields every message has.
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9\-]{0,40}:[ \t][^\r\n]*")
_MESSAGE_FIELDS = frozenset((b"subject", b"from", b"to", b"reply-to", b"x-mailer", b"sender"))
_HTML_START = re.compile(rb"(?i)<(?:!doctype html|html|head|body|table|div|p|center|font|span|a|br|img|meta|!--)[\s>/]")
_CODE_START = (b"#!", b"<?php", b"<?=", b"<?xml")
# Statements and blocks: a line ending in `;` or `{`, or a line that only closes a block
# (spintax lines end in `}` too, so a `}` counts only alone).
_CODE_LINE_END = re.compile(rb"(?:[;{]|^[ \t]*\}[;,)]?)[ \t]*\r?$", re.MULTILINE)
# The same count from scans that each begin with a literal (so `re` skips to it in C; the pattern
# above is tried at every byte): a line has at most one match, so the count is the lines that
# end in `;` or `{` (by their last character) plus the lines that only close a block, less those
# counted twice (`};`). `_FIRST` forms match the text's first line, which no newline leads.
_ENDS_SEMICOLON = re.compile(rb";[ \t]*\r?$", re.MULTILINE)
_ENDS_BRACE = re.compile(rb"\{[ \t]*\r?$", re.MULTILINE)
_CLOSES = re.compile(rb"\n[ \t]*\}[;,)]?[ \t]*\r?$", re.MULTILINE)
_CLOSES_FIRST = re.compile(rb"[ \t]*\}[;,)]?[ \t]*\r?$", re.MULTILINE)
_CLOSES_SEMICOLON = re.compile(rb"\n[ \t]*\};[ \t]*\r?$", re.MULTILINE)
_CLOSES_SEMICOLON_FIRST = re.compile(rb"[ \t]*\};[ \t]*\r?$", re.MULTILINE)
_STYLE = re.compile(rb"(?is)<style\b.*?</style>|<script\b.*?</script>")
# Code samples in an HTML page (documentation): placeholders there are code, not macros.
_CODE_SAMPLES = re.compile(rb"(?is)<pre\b.*?</pre>|<code\b.*?</code>|<script\b.*?</script>")
_GATE = (b"[-", b"%RND_", b"{%", b"{{", b"%%", b"##", b"{$", b"${", b"|")
_FOLD = str.maketrans({"1": "i", "l": "i", "!": "i", "|": "i", "0": "o", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s"})
_ALT = {"i": "[i1l!|]", "o": "[o0]", "e": "[e3]", "a": "[a4@]", "s": "[s5$]", "l": "[l1i|]"}


@dataclass(frozen=True, slots=True)
class SpamTemplateFinding(Finding):
    placeholders: list[str]
    spintax_count: int
    subject: str | None
    urls: list[str]
    brands: list[str]
    score: float
    reasons: list[str]


def _parse_brands(lines: Iterable[str]) -> list[str]:
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def load_brands(extra_path: str | None = None) -> tuple[str, ...]:
    """The shipped brand list plus, optionally, one brand per line from `extra_path`."""
    shipped = resources.files("extractors").joinpath("data/brands.txt").read_text("utf-8")
    brands = _parse_brands(shipped.splitlines())
    if extra_path:
        with open(extra_path, encoding="utf-8") as fh:
            brands += _parse_brands(fh)
    return tuple(dict.fromkeys(brands))


def brand_regex(brands: Iterable[str]) -> re.Pattern[bytes]:
    """One regex for all brands: word boundaries, 1 optional separator between letters."""
    alts = []
    for brand in sorted(set(brands), key=len, reverse=True):
        parts = []
        for ch in brand.lower():
            if ch == " ":
                parts.append(r"[\s\-_.]?")
            elif ch.isalpha():
                parts.append(_ALT.get(ch, re.escape(ch)))
            else:
                parts.append(re.escape(ch))
        alts.append(r"[\-_.*' ]?".join(p for p in parts if p != r"[\s\-_.]?") if " " not in brand else "".join(parts))
    pattern = r"(?<![A-Za-z0-9])(?:" + "|".join(alts) + r")(?![A-Za-z0-9])"
    return re.compile(pattern.encode("ascii"), re.IGNORECASE)


BRANDS = load_brands()
_BRANDS_RE = brand_regex(BRANDS)
_CANON = {}
for _b in BRANDS:
    _CANON.setdefault(re.sub(r"[^a-z]", "", _b.lower().translate(_FOLD)), _b)


# Fast path for the shipped brand list: every brand match starts where the text, folded by one
# C `translate` (case; 1 l ! | -> i; 0 -> o; 3 -> e; 4 @ -> a; 5 $ -> s), shows the brand's first
# two folded letters (a separator may stand between them). Only there is the full regex tried.
_FOLD_BYTES = bytes(
    {"1": ord("i"), "l": ord("i"), "!": ord("i"), "|": ord("i"), "0": ord("o"), "3": ord("e"), "4": ord("a"),
     "@": ord("a"), "5": ord("s"), "$": ord("s")}.get(chr(c).lower(), ord(chr(c).lower()) if c < 128 else c)
    for c in range(256)
)
_SEPARATORS = rb"[\-_.*' \t\r\n\f\v]?"


def _brand_prefix_regex(brands: Iterable[str]) -> re.Pattern[bytes]:
    heads = set()
    for brand in brands:
        letters = [c for c in brand.lower().encode("ascii", "ignore").translate(_FOLD_BYTES) if c != 0x20]
        if len(letters) < 3:
            return re.compile(rb"(?s).")  # a brand too short for a prefix: try everywhere
        heads.add(_SEPARATORS.join(re.escape(bytes([c])) for c in letters[:3]))
    return re.compile(b"|".join(sorted(heads)))


_BRANDS_PREFIX = _brand_prefix_regex(BRANDS)


def _brand_hits(text: bytes, brands_re: re.Pattern[bytes]) -> Iterator[re.Match[bytes]]:
    """`brands_re.finditer(text)`, found faster for the shipped list (same matches, same order)."""
    if brands_re is not _BRANDS_RE:
        yield from brands_re.finditer(text)
        return
    folded = text.translate(_FOLD_BYTES)
    search, match = _BRANDS_PREFIX.search, brands_re.match
    pos = 0
    while True:
        cand = search(folded, pos)
        if cand is None:
            return
        m = match(text, cand.start())
        if m is not None:
            yield m
            pos = max(m.end(), cand.start() + 1)
        else:
            pos = cand.start() + 1  # a prefix may start inside a failed one


def _canonical(hit: bytes) -> str | None:
    key = re.sub(r"[^a-z]", "", hit.decode("latin-1").lower().translate(_FOLD))
    return _CANON.get(key)


_GATE_BYTES = tuple(sorted({bytes([c]) for g in _GATE for c in g}))
_GATE_RES = tuple((g, re.compile(re.escape(g))) for g in _GATE)


def _gate(text: bytes) -> bool:
    """`any(g in text for g in _GATE)`, cheaply: single bytes are found by memchr, and a longer
    needle is only looked for when each of its bytes occurs at all, by `re` (its literal scan
    is ~3x faster than `bytes.__contains__` for two-byte needles)."""
    present = {b for b in _GATE_BYTES if b in text}
    return any(all(bytes([c]) in present for c in g) and (len(g) == 1 or r.search(text) is not None)
               for g, r in _GATE_RES)


def _header_block_at_top(text: bytes) -> bool:
    """True when the text opens with mail header fields and they name a message field."""
    lines = text.lstrip(b"\xef\xbb\xbf\r\n \t").split(b"\n", 40)[:40]
    seen = False
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and seen:
            continue  # a folded header line
        m = _HEADER_LINE.fullmatch(line)
        if m is None:
            return False
        seen = True
        if line.split(b":", 1)[0].lower() in _MESSAGE_FIELDS:
            return True
    return False


def _is_program(text: bytes) -> bool:
    """Source code, scripts and build files: a `#!`/`<?php` opening, or lines ending in `;{}`."""
    head = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(_CODE_START) or b"<?php" in text:
        return True
    body = _STYLE.sub(b"", text) if b"<s" in text or b"<S" in text else text
    lines = body.count(b"\n") + 1
    return lines >= 5 and code_lines(body) * 4 >= lines


def code_lines(text: bytes) -> int:
    """The number of `_CODE_LINE_END` matches in `text`, counted by literal-led scans."""
    def count(pattern: re.Pattern[bytes]) -> int:
        return sum(1 for _ in pattern.finditer(text))

    closes = count(_CLOSES) + (_CLOSES_FIRST.match(text) is not None)
    twice = count(_CLOSES_SEMICOLON) + (_CLOSES_SEMICOLON_FIRST.match(text) is not None)
    return count(_ENDS_SEMICOLON) + count(_ENDS_BRACE) + closes - twice


def message_structure(text: bytes, strong: list[str], has_link: bool) -> str | None:
    """What makes `text` a message (for `reasons`), or None when it is not shaped like one."""
    if _is_program(text):
        return None
    if _header_block_at_top(text):
        return "message headers"
    if _HTML_START.match(text.lstrip(b"\xef\xbb\xbf \t\r\n")):
        return "HTML message body"
    recipient = any(any(f in p.lower() for f in ("name", "email", "user", "recipient", "to")) for p in strong)
    if recipient and has_link:
        return "letter with recipient macros and a link"
    return None


def judge(text: bytes, brands_re: re.Pattern[bytes] = _BRANDS_RE) -> SpamTemplateFinding | None:
    """The template finding for `text` (offset 0), or None when it is not a template."""
    if not _gate(text):
        return None
    strong = list(dict.fromkeys(m.group().decode("ascii") for m in _STRONG.finditer(text))) \
        if any(r.search(text) is not None for r in _STRONG_LEADS) else []
    # At most two spintax groups are counted until the text is known to be a message (the full
    # count is part of the finding): code holds many `{`, and most of it is not a message.
    spintax = sum(1 for _ in islice(_SPINTAX.finditer(text), 2))
    if not strong and spintax < 2 and not (
            any(r.search(text) is not None for r in _WEAK_LEADS) and _WEAK.search(text)):
        return None
    has_link = (b"://" in text and _URL.search(text) is not None) or any(
        f in p.lower() for p in strong for f in ("url", "link"))
    structure = message_structure(text, strong, has_link)
    if structure is None:
        return None
    placeholders = list(strong)
    prose = _CODE_SAMPLES.sub(b"", text) if structure == "HTML message body" else text
    for m in _WEAK.finditer(prose):
        fieldname = (m.group(1) or m.group(2) or m.group(3)).decode("ascii")
        if fieldname.lower() in _MAILER_FIELDS:
            placeholders.append(m.group().decode("ascii"))
    placeholders = list(dict.fromkeys(placeholders))
    if not placeholders and spintax < 2:
        return None
    if spintax:
        spintax = sum(1 for _ in _SPINTAX.finditer(text))
    reasons, score = [structure], 0.0
    if placeholders:
        score += min(3.0, 1.0 + 0.5 * len(placeholders))
        reasons.append(f"{len(placeholders)} mailer placeholder(s)")
    if spintax:
        score += min(2.0, 0.5 * spintax)
        reasons.append(f"{spintax} spintax group(s)")
    signals = 0.0
    m = _SUBJECT.search(text, 0, 1 << 16)
    subject = m.group(1).decode("utf-8", "replace").strip() if m else None
    if subject:
        signals += 0.5
        reasons.append("subject line")
    urls = list(dict.fromkeys(u.group().decode("ascii", "replace").rstrip(".,;:!?)]'\"") for u in _URL.finditer(text)))[:MAX_URLS]
    if urls or any(p.lower().strip("{}. ") in ("url", "link") for p in placeholders):
        signals += 0.5
        reasons.append("link(s)")
    strong = [p.lower() for p in placeholders if _STRONG.fullmatch(p.encode("ascii"))]
    if any(any(f in p for f in ("name", "email", "user", "recipient")) for p in strong) and (
            urls or any(f in p for p in strong for f in ("url", "link"))):
        signals += 1.0
        reasons.append("personalised letter with a link")
    brands = sorted({c for c in (_canonical(b.group()) for b in _brand_hits(text, brands_re)) if c})
    if brands:
        signals += min(2.0, 1.0 * len(brands))
        reasons.append("brand(s): " + ", ".join(brands[:10]))
    lures = {x.group().decode("ascii", "replace").lower() for x in _LURE.finditer(text)}
    if lures:
        signals += min(1.5, 0.5 * len(lures))
        reasons.append("lure words: " + ", ".join(sorted(lures)[:10]))
    score += signals
    if _DELIVERED.search(text, 0, 1 << 16):
        score -= 10.0
        reasons.append("delivered message (Received:/mbox headers): not a template")
    if signals < 1.0 or score < THRESHOLD:
        return None
    return SpamTemplateFinding(0, placeholders, spintax, subject, urls, brands, round(score, 2), reasons)


def extract(data: bytes, source: Source) -> Iterator[SpamTemplateFinding]:
    """At most one finding per object (or per UTF-16 text run), at the start of the text."""
    if len(data) > MAX_TEMPLATE_BYTES:  # a letter template is kilobytes; megabytes are data or archives
        return
    if not looks_binary(data):
        found = judge(data)
        if found is not None:
            yield found
            return
    for view in utf16_views(data):
        if len(view.text) >= 64:
            found = judge(view.text)
            if found is not None:
                yield SpamTemplateFinding(view.offset(0), *[getattr(found, f) for f in
                                          ("placeholders", "spintax_count", "subject", "urls", "brands", "score", "reasons")])
                return


EXTRACTOR = Extractor(
    name=NAME,
    version=VERSION,
    table="spam_templates",
    finding=SpamTemplateFinding,
    extract=extract,
    description="Mass-mailer / phishing templates: placeholders, spintax, brands, score with reasons",
    whole_object=True,
)
