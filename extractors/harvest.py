"""Is a file a harvested address list? A whole-file judgement over its `emails` findings.

Why a separate pure function: the decision needs every address of the file, while
extractors see one window at a time. The pipeline calls `judge_harvest_list` once per file,
after all windows, with that file's normalised addresses (duplicates included) and its size.

Rule (documented in the report): a file is a harvest list when addresses dominate it:
at least `MIN_UNIQUE` distinct addresses, and addresses (plus one separator byte each)
make up at least `MIN_DENSITY` of the file's bytes. A mailbox or a web page quoting a few
dozen addresses fails the density test; a one-address-per-line dump passes it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

MIN_UNIQUE = 10
MIN_DENSITY = 0.25
TOP_DOMAINS = 10


@dataclass(frozen=True, slots=True)
class HarvestList:
    addresses: int  # addresses found, duplicates included
    unique: int  # distinct addresses
    distinct_domains: int
    top_domains: list[str]  # up to 10, by count (descending) then name
    density: float  # share of the file's bytes that are addresses (+1 separator each)


def judge_harvest_list(addresses: Sequence[str], object_size: int) -> HarvestList | None:
    """A `HarvestList` summary when the addresses dominate the file, else None."""
    if not addresses or object_size <= 0:
        return None
    unique = set(addresses)
    if len(unique) < MIN_UNIQUE:
        return None
    covered = sum(len(a.encode("utf-8")) + 1 for a in addresses)
    density = min(1.0, covered / object_size)
    if density < MIN_DENSITY:
        return None
    domains = Counter(a.rpartition("@")[2] for a in addresses)
    top = sorted(domains.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_DOMAINS]
    return HarvestList(
        addresses=len(addresses),
        unique=len(unique),
        distinct_domains=len(domains),
        top_domains=[d for d, _ in top],
        density=round(density, 4),
    )
