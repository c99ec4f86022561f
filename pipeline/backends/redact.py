"""Masking of API keys before anything is stored or shown.

`redact(text)` masks the keys this process has read (`register_secret`) and
anything shaped like an `sk-...` key; call logs, stored errors and the response
cache's parameters all go through it.
"""

from __future__ import annotations

import re

_SECRET_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{8,})")
# Key values this process has read (whatever their shape): masked wherever they appear.
_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 8:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Mask the keys in use, and anything that looks like an API key, before it is stored or shown."""
    text = _SECRET_PATTERN.sub("sk-***", text)
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text
