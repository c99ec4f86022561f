"""Find evidence quotes in article text, tolerant of whitespace and quote marks.

The codebook's grounding rule: a span counts as found when it occurs in the
article after whitespace and quote-mark normalisation. Offsets returned here
always point into the ORIGINAL text, so a stored span can be highlighted.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Curly and typographic quote marks fold to their plain ASCII forms.
_QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
_WS = re.compile(r"\s+")


def normalise_for_match(text: str) -> str:
    """The normal form used to compare a quote with the article."""
    return _WS.sub(" ", text.translate(_QUOTE_MAP)).strip()


@lru_cache(maxsize=64)
def _normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Normalise like `normalise_for_match` and keep, per output char, its source index."""
    out: list[str] = []
    index: list[int] = []
    translated = text.translate(_QUOTE_MAP)
    in_ws = False
    for i, ch in enumerate(translated):
        if ch.isspace():
            if not in_ws and out:
                out.append(" ")
                index.append(i)
            in_ws = True
            continue
        in_ws = False
        out.append(ch)
        index.append(i)
    return "".join(out), index


def clean_quote(quote: str) -> str:
    """Strip what models wrap around a quote: outer whitespace, quote marks, ellipses."""
    q = quote.strip()
    for _ in range(2):
        q = q.strip().strip("\"'\u201c\u201d\u2018\u2019").strip()
        q = re.sub(r"^(\.\.\.|\u2026)\s*|\s*(\.\.\.|\u2026)$", "", q)
    return q


def find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Return (start, end) of `quote` in `text` (original offsets), or None.

    Matching ignores differences in whitespace and quote marks only; wording must
    be exact. A trailing full stop on the quote is tolerated because the article
    may continue the sentence differently.
    """
    q = normalise_for_match(clean_quote(quote))
    if not q:
        return None
    norm, index = _normalise_with_map(text)
    for candidate in (q, q.rstrip(".")):
        if not candidate:
            continue
        pos = norm.find(candidate)
        if pos >= 0:
            start = index[pos]
            end = index[pos + len(candidate) - 1] + 1
            return start, end
    return None


def is_grounded(text: str, quote: str) -> bool:
    return find_span(text, quote) is not None
