"""Public-suffix checks with tldextract's bundled snapshot only (never fetched).

`suffix_list_urls=()` and `cache_dir=None` make tldextract use the snapshot shipped inside
the package, so no extractor can cause network traffic (a test runs under a socket guard).
"""
from __future__ import annotations

from functools import lru_cache

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str | None:
    """`example.co.uk` for `www.example.co.uk`; None when there is no real public suffix."""
    r = _EXTRACT(host, include_psl_private_domains=False)
    if not r.suffix or not r.domain:
        return None
    return f"{r.domain}.{r.suffix}"


def tlds() -> frozenset[str]:
    """Last labels of every public suffix in the bundled snapshot (lower case, ASCII/IDN)."""
    out = set()
    for s in _EXTRACT.tlds:
        last = s.rsplit(".", 1)[-1].lower()
        try:
            out.add(last.encode("idna").decode("ascii") if not last.isascii() else last)
        except UnicodeError:
            continue
    return frozenset(out)
