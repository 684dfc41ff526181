"""One frame per key: a widget whose size the screen's layout changed is drawn at that size in
the same frame, without asking for a second layout.

Textual's full layout pass gives every widget its new region and then sets its `virtual_size`
reactive, which is declared `layout=True`: a widget whose size changed asks for one more
layout, and the key costs two layouts and two frames. For widgets whose virtual size is
their size (or whose scrollbars `_scroll_update` sets in the same call), that second pass
finds nothing new. Textual's own scroll path updates sizes the same way (`layout=False`).
"""

from __future__ import annotations

from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widgets import Static


_PLAIN = (int, float, str, bool, tuple, frozenset, type(None))


def same(a: tuple, b: tuple | None) -> bool:
    """Whether two show() signatures are the same: values compared by value, objects (a Trace, a
    Step, a Concealed) by identity. The steps are cached per trace, so the same step is the same
    object, and a pane shown it again has nothing new to draw."""
    return b is not None and len(a) == len(b) and all(
        x is y or (isinstance(x, _PLAIN) and type(x) is type(y) and x == y) for x, y in zip(a, b))


class OneFrame:
    """Mixin: take a new size from the screen's layout without requesting another layout; and
    `unchanged(signature)`, so that a pane shown what it shows already is not drawn again."""

    _signature: tuple | None = None

    def unchanged(self, *signature) -> bool:
        """True when show() was last called with the same arguments at the same width: nothing
        to draw. Otherwise remembers them."""
        signature = (*signature, self.content_size.width)  # type: ignore[attr-defined]
        if same(signature, self._signature):
            return True
        self._signature = signature
        return False

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


class Row(OneFrame, Horizontal):
    """A Horizontal container that lays out once per frame."""


class Column(OneFrame, Vertical):
    """A Vertical container that lays out once per frame."""


class Label(OneFrame, Static):
    """A Static that lays out once per frame."""


class Scroll(OneFrame, VerticalScroll):
    """A VerticalScroll that lays out once per frame (its scrollbars update in the same call)."""
