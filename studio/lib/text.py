"""Untrusted text (container output, test messages, model replies) made storable everywhere.

PostgreSQL rejects NUL in text and `\\u0000` in JSONB, so an output such as `before\\0after` used to
end an episode with "cannot be converted to text". Such code points are replaced by a visible
escape (`\\x00`), as are lone surrogates (undecodable bytes) that no UTF-8 column can hold.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """The same value with every string in it storable (dicts, lists and tuples are walked)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if m.group() == "\x00" else f"\\u{ord(m.group()):04x}",
                               value) if _UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(storable(v) for v in value)
    return value
