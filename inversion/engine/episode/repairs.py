"""One repair script for several faults laid in a row: each layer's repair, outermost (last laid)
first, under a `# fault N: family` line. The built-in agent finishes with it, and validation's
*every layer matters* runs it with one layer left out (`skip`). Plain Python, no Django."""

from __future__ import annotations

from typing import Any

HEADER = "#!/bin/bash\nset -e\n"


def body(repair: str) -> str:
    """A repair script without its shebang and `set -e` line."""
    text = repair or ""
    for prefix in ("#!/bin/bash\n", "set -e\n"):
        text = text.removeprefix(prefix)
    return text.rstrip("\n") + "\n"


def combined(layers: list[dict[str, Any]], skip: int | None = None) -> str:
    """The repairs of every layer ({family or category, repair}) but `skip`, outermost first."""
    parts = [f"# fault {i + 1}: {layer.get('family') or layer.get('category') or '?'}\n{body(layer.get('repair', ''))}"
             for i, layer in reversed(list(enumerate(layers))) if i != skip]
    return HEADER + "".join(parts)
