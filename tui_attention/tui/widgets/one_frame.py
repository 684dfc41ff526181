"""One frame per key: a widget whose size the screen's layout changed is drawn at that size in
the same frame, without asking for a second layout.

Textual's full layout pass gives every widget its new region and then sets its `virtual_size`
reactive, which is declared `layout=True`: a widget whose size changed asks for one more
layout, and the key costs two layouts and two frames. For widgets whose virtual size is
their size (or whose scrollbars `_scroll_update` sets in the same call), that second pass
finds nothing new. Textual's own scroll path updates sizes the same way (`layout=False`).
"""

from __future__ import annotations

import weakref

from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widgets import Static


_PLAIN = (int, float, str, bool, tuple, frozenset, type(None))


def _held(x: object) -> object:
    """What a signature keeps of x: a value itself, an object by weak reference (a pane must not
    keep a replaced trace, 44 MiB at 512 x 1024, alive until it is shown again)."""
    if isinstance(x, _PLAIN):
        return x
    try:
        return weakref.ref(x)
    except TypeError:
        return x


def same(new: tuple, held: tuple | None) -> bool:
    """Whether show() is called with what it was last shown: values compared by value, objects
    (a Trace, a Step, a Concealed) by identity. The steps are cached per trace, so the same step
    is the same object, and a pane shown it again has nothing new to draw."""
    if held is None or len(new) != len(held):
        return False
    for x, h in zip(new, held):
        if isinstance(h, weakref.ref):
            if h() is not x:
                return False
        elif not (h is x or (isinstance(x, _PLAIN) and type(x) is type(h) and x == h)):
            return False
    return True


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
        self._signature = tuple(_held(x) for x in signature)
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
