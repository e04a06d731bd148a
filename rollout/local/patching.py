"""One place that replaces moto internals, so every seam can be undone and audited.

Each seam names the moto attributes it replaces through `Patches.replace`; the
contract tests in tests/local check that those attributes still exist with the
signatures we rely on, so a moto upgrade that moves them fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_INHERITED = object()


class Patches:
    """Replaced attributes, restored in reverse order by `undo`."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, new: Any) -> Callable[..., Any]:
        """Set `owner.name = new`; returns the original so the new one can delegate."""
        if not hasattr(owner, name):
            raise RuntimeError(
                f"moto changed: {getattr(owner, '__qualname__', owner)}.{name} no longer exists"
            )
        original = getattr(owner, name)
        # Restore exactly what `owner` itself held: a staticmethod stays a staticmethod, and
        # an attribute it only inherited is deleted again rather than copied onto it.
        self._saved.append((owner, name, vars(owner).get(name, _INHERITED)))
        setattr(owner, name, new)
        return original

    def add(self, owner: Any, name: str, new: Any) -> None:
        """Give `owner` an attribute moto lacks; if moto has it now, the seam must be rethought."""
        if hasattr(owner, name):
            raise RuntimeError(
                f"moto changed: {getattr(owner, '__qualname__', owner)}.{name} exists now"
            )
        self._saved.append((owner, name, _INHERITED))
        setattr(owner, name, new)

    def undo(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
