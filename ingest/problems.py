"""How a library's exception becomes the one line an examiner reads."""
from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """The last non-empty line of the message: TSK and libewf put the cause there."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else exc.__class__.__name__
