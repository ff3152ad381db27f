"""Redaction of secrets for reports: a masked form plus a salted hash, never the secret.

Why a salted hash: counsel need to say "the same password appears on E1 and E2" without
the password being in a filed document; an unsalted hash of a short password is reversed
by a dictionary in seconds, so the salt (32 random bytes, one per case, kept in
CASE/report/.salt with mode 0600 and never printed) makes the tag useless outside the case.
The salt is reused on every re-render so the report stays byte-identical.
"""
from __future__ import annotations

import hashlib
import re
import secrets as _random
from dataclasses import dataclass
from pathlib import Path

from caseformat.atomic import make_dir, write_bytes

SALT_FILE = ".salt"
SALT_BYTES = 32
MASK = "*****"  # fixed width: the length of the secret is never shown
TAG_HEX = 16
MIN_EDGE_LENGTH = 8  # shorter secrets show no characters at all
MIN_SCRUB_LENGTH = 4  # known secrets at least this long are removed from free text

# Free-text patterns that carry secrets: URL userinfo passwords, key=value passwords,
# and PEM private key blocks (key material never appears at all, not even masked).
_URL_PW = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^\s/:@]*:)([^\s/@]+)(@)")
_KV_PW = re.compile(r"(?i)((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key)\s*[=:]\s*)([^\s&;,'\"]+)")
# a password typed on a command line (shell histories, cron lines): `mysql -uroot -pSecret`,
# `mysqldump --password=Secret`, `sshpass -p Secret ssh ...`
_CLI_PW = re.compile(r"(\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]*?\s-p)([^\s-][^\s]*)"
                     r"|(\bsshpass\s+-p\s*)(\S+)")
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
KEY_MATERIAL = "[key material withheld]"


def load_salt(report_dir: Path) -> bytes:
    """The case's salt, created on first use (0600) and reused afterwards."""
    make_dir(report_dir)
    path = report_dir / SALT_FILE
    try:
        data = path.read_bytes()
        if len(data) == SALT_BYTES:
            return data
    except FileNotFoundError:
        pass
    data = _random.token_bytes(SALT_BYTES)
    write_bytes(path, data)
    return data


@dataclass(frozen=True)
class Redactor:
    """Shows secrets masked (or in full when `reveal`), and scrubs known secrets from free text."""

    salt: bytes
    reveal: bool = False
    # secret values of this case, to scrub from free text: a set, or a lookup with
    # `starting_with(prefixes)` and `holding_mask()` (reports.render.KnownSecrets) for a case
    # whose secrets are too many to hold
    known: frozenset[str] | object = frozenset()

    def tag(self, secret: str) -> str:
        """Salted hash: equal secrets give equal tags within one case only."""
        return hashlib.sha256(self.salt + secret.encode("utf-8", "surrogatepass")).hexdigest()[:TAG_HEX]

    def mask(self, secret: str) -> str:
        if len(secret) >= MIN_EDGE_LENGTH:
            return secret[0] + MASK + secret[-1]
        return MASK

    def secret(self, secret: str | None) -> str:
        """How a secret column value is shown in the report."""
        if secret is None:
            return ""
        if _PEM.search(secret):
            return KEY_MATERIAL
        if self.reveal:
            return secret
        if secret == "":
            return "(empty)"
        return f"{self.mask(secret)} #{self.tag(secret)}"

    def text(self, text: str | None, scrub_known: bool = True) -> str:
        """Free text (contexts, values, members) with secret-bearing parts masked.

        `scrub_known` also removes this case's known secret values wherever they occur;
        turn it off for identifiers (usernames, addresses) that must stay readable.
        """
        if text is None:
            return ""
        text = _PEM.sub(KEY_MATERIAL, text)
        if self.reveal:
            return text
        text = _URL_PW.sub(lambda m: m.group(1) + MASK + m.group(3), text)
        text = _KV_PW.sub(lambda m: m.group(1) + MASK, text)
        text = _CLI_PW.sub(lambda m: (m.group(1) or m.group(3)) + MASK, text)
        for value in self._scrub_candidates(text) if scrub_known else ():
            if value in text:
                text = text.replace(value, MASK)
        return text

    def _scrub_candidates(self, text: str) -> list[str]:
        """Known secrets that occur in `text`, longest first (so a secret containing another
        is removed whole), found through an index of their first characters: one dict lookup
        per position instead of one substring search per known secret."""
        if isinstance(self.known, (frozenset, set)):
            by_prefix, with_mask = self._scrub_index
        else:  # a lookup over the case's tables (reports.render.KnownSecrets): asked per text
            windows = sorted({text[i:i + MIN_SCRUB_LENGTH] for i in range(len(text) - MIN_SCRUB_LENGTH + 1)})
            by_prefix = {}
            for value in self.known.starting_with(windows) if windows else ():
                if len(value) >= MIN_SCRUB_LENGTH:
                    by_prefix.setdefault(value[:MIN_SCRUB_LENGTH], []).append(value)
            with_mask = self.known.holding_mask()
        found: set[str] = set()
        for i in range(len(text) - MIN_SCRUB_LENGTH + 1):
            for value in by_prefix.get(text[i:i + MIN_SCRUB_LENGTH], ()):
                if text.startswith(value, i):
                    found.add(value)
        if not found and MASK[0] not in text:
            return []  # nothing is replaced, so no secret holding a MASK character can appear
        # Secrets that hold a MASK character may appear once MASK is put in, so they are tried
        # too, in their place in the order; they come presorted, and the sort is of tuples.
        keyed = with_mask + [(-len(v), v) for v in found if MASK[0] not in v]
        return [v for _, v in sorted(keyed)]

    @property
    def _scrub_index(self) -> tuple[dict[str, list[str]], list[tuple[int, str]]]:
        """Built on first use and unordered: a case has 10^5 secrets and a report scrubs a few
        hundred texts, so only those found in a text are sorted."""
        cached = self.__dict__.get("_scrub")
        if cached is None:
            by_prefix: dict[str, list[str]] = {}
            for value in self.known:
                if len(value) >= MIN_SCRUB_LENGTH:
                    by_prefix.setdefault(value[:MIN_SCRUB_LENGTH], []).append(value)
            with_mask = sorted((-len(v), v) for v in self.known if len(v) >= MIN_SCRUB_LENGTH and MASK[0] in v)
            cached = (by_prefix, with_mask)
            object.__setattr__(self, "_scrub", cached)
        return cached
