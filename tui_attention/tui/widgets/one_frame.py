"""One frame per key: a widget whose size the screen's layout changed is drawn at that size in
the same frame, without asking for a second layout.

Textual's full layout pass gives every widget its new region and then sets its `virtual_size`
reactive, which is declared `layout=True`: a widget whose size changed asks for one more
layout, and the key costs two layouts and two frames. For widgets whose virtual size is
their size (or whose scrollbars `_scroll_update` sets in the same call), that second pass
finds nothing new. Textual's own scroll path updates sizes the same way (`layout=False`).

And no layout a key does not need: a pane's new content lays the screen out again only when
it takes a different number of lines (`OneFrame.update`), and a Rich Group or Table is drawn
once per key (`Drawn`), not once to be measured and again to be shown.

And no drawing twice: a pane (or container) asked for lines it has drawn before, from the same
Visual at the same size and look, gives the lines it kept (`kept_lines.KeptLines`), and a
learner stepping back and forth shows the panes' kept drawings again (`unchanged`).
"""

from __future__ import annotations

import weakref

from textual.cache import LRUCache
from rich.protocol import is_renderable
from rich.text import Text
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.visual import RichVisual, Visual, visualize
from textual.widget import Widget
from textual.widgets import Static

from .kept_lines import KeptLines
from .render import KEPT_WIDTHS


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


def same(new: tuple, kept: tuple | None) -> bool:
    """Whether show() is called with what it was last shown: values compared by value, objects
    (a Trace, a Step, a Concealed) by identity. The steps are cached per trace, so the same step
    is the same object, and a pane shown it again has nothing new to draw."""
    if kept is None or len(new) != len(kept):
        return False
    for x, h in zip(new, kept):
        if isinstance(h, weakref.ref):
            if h() is not x:
                return False
        elif not (h is x or (isinstance(x, _PLAIN) and type(x) is type(h) and x == h)):
            return False
    return True


MEMO_SIZE = 48  # drawings kept per pane: a step's nine steps, or the words a learner goes back over


class Drawn(RichVisual):
    """A Rich renderable (a Group, a Table) drawn once per width and style. Textual's RichVisual
    renders it twice per key: once to count its lines for the layout, once to draw them."""

    _drawn: LRUCache | None = None  # (width, style) -> strips, at the last KEPT_WIDTHS

    def _strips(self, width: int, style) -> list:
        key = (width, style)
        if self._drawn is None:
            self._drawn = LRUCache(KEPT_WIDTHS)
        strips = self._drawn.get(key)
        if strips is None:
            # No renderable here reads the console's height: one drawing serves every height.
            strips = super().render_strips(width, None, style, None)  # type: ignore[arg-type]
            self._drawn.set(key, strips)
        return strips

    def get_height(self, rules, width: int) -> int:
        return len(self._strips(width, self._widget.visual_style))

    def render_strips(self, width: int, height: int | None, style, options) -> list:
        strips = self._strips(width, style)
        return strips if height is None else strips[:height]


class Memo:
    """The last `size` things built, each under the signature it was built for (what `same`
    compares: values by value, objects by identity, held by weak reference)."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._cache: LRUCache = LRUCache(size)

    @staticmethod
    def _key(signature: tuple) -> tuple:
        # Hashable: objects by id, checked with `same` on a hit, so a recycled id is a miss.
        return tuple(x if isinstance(x, _PLAIN) else id(x) for x in signature)

    def get(self, signature: tuple) -> object | None:
        hit = self._cache.get(self._key(signature))
        return hit[1] if hit is not None and same(signature, hit[0]) else None

    def put(self, signature: tuple, value: object) -> None:
        key = self._key(signature)
        self._cache.discard(key)  # LRUCache.set keeps an existing key's value (a recycled id)
        self._cache.set(key, (tuple(_held(x) for x in signature), value))


class OneFrame(KeptLines):
    """Mixin: take a new size from the screen's layout without requesting another layout; and
    `unchanged(signature)`, so that a pane shown what it shows already is not drawn again, and
    one shown something it drew a few keys ago shows that drawing again (no Rich rendering:
    the drawing keeps its strips) rather than building it anew."""

    _signature: tuple | None = None
    _memo: Memo | None = None  # the pane's last drawings, by signature
    _recording: tuple | None = None  # the signature of the drawing being built, until update() takes it
    _height: tuple[int, int] | None = None  # (content width, lines) of the last update()

    _content: object = None

    @property
    def content(self) -> object:
        """What update() was last given (as Static.content), not the Visual drawn from it."""
        if self._content is None:
            return super().content  # type: ignore[misc]  # what the constructor was given
        return self._content

    @content.setter
    def content(self, content: object) -> None:
        self.update(content)

    def update(self, content: object = "", *, layout: bool = True, visual: Visual | None = None) -> Visual:
        """Static.update that lays out only when the content's height changes: the panes' widths
        come from the screen, not from their content, so the same number of lines at the same
        width takes the same room. `visual`: what an earlier update drew of this same content,
        shown again. Returns the Visual shown."""
        self._content = content
        if visual is None:
            if not isinstance(content, (str, Text, Visual)) and is_renderable(content):
                content = Drawn(self, content)  # type: ignore[arg-type]
            visual = visualize(self, content, markup=self._render_markup)  # type: ignore[attr-defined]
        if self._recording is not None:
            self.remember(self._drawing(self._content, visual))
        width = self.content_size.width  # type: ignore[attr-defined]
        skipped = False
        if layout and width:
            height = (width, visual.get_height(self.styles, width))  # type: ignore[attr-defined]
            layout = height != self._height
            skipped = not layout
            self._height = height
        super().update(visual, layout=layout)  # type: ignore[misc]
        if skipped:
            self._forget_sizes()
        return visual

    def _forget_sizes(self) -> None:
        """What Textual's layout request does to its caches, without the layout: box models and
        arrangements cached at other widths were measured with the old content, and a later
        layout at one of those widths must not reuse them."""
        self._layout_updates += 1  # type: ignore[attr-defined]  # part of the box model cache's key
        for ancestor in self.ancestors:  # type: ignore[attr-defined]
            if not isinstance(ancestor, Widget):
                break
            ancestor._clear_arrangement_cache()
            ancestor._layout_updates += 1
            if not ancestor.styles.auto_dimensions:
                break

    def unchanged(self, *signature) -> bool:
        """True when there is nothing to build: show() was last called with the same arguments,
        or was called with them a few keys ago and that drawing is shown again. Otherwise
        remembers them, and the drawing that update() (or `remember`) is given next.

        The signature holds everything the drawing depends on, the width it is drawn for
        included when it depends on it (a Rich renderable is drawn at the width the pane gets,
        whatever it is: `Drawn`)."""
        if same(signature, self._signature):
            return True
        self._signature = tuple(_held(x) for x in signature)
        if self._memo is None:
            self._memo = Memo()
        drawing = self._memo.get(signature)
        if drawing is not None:
            self._recording = None
            self._redraw(drawing)  # type: ignore[arg-type]
            return True
        self._recording = signature
        return False

    def remember(self, drawing: tuple) -> None:
        """Keep `drawing` (`_drawing`'s) for the signature `unchanged` was last given."""
        if self._recording is not None and self._memo is not None:
            self._memo.put(self._recording, drawing)
        self._recording = None

    def _drawing(self, content: object, visual: Visual) -> tuple:
        """What a pane's show() sets: its border's title and subtitle, its classes, its content
        and the Visual drawn of it."""
        return self.border_title, self.border_subtitle, frozenset(self.classes), content, visual  # type: ignore[attr-defined]

    def _redraw(self, drawing: tuple) -> None:
        title, subtitle, classes, content, visual = drawing
        if (self.border_title, self.border_subtitle) != (title, subtitle):  # type: ignore[attr-defined]
            self.border_title, self.border_subtitle = title, subtitle  # type: ignore[attr-defined]
        if frozenset(self.classes) != classes:  # type: ignore[attr-defined]
            self.set_classes(classes)  # type: ignore[attr-defined]
        self._show_drawn(content, visual)

    def _show_drawn(self, content: object, visual: Visual) -> None:
        """Show a kept drawing's content (a pane whose text is a child's puts it there)."""
        self.update(content, visual=visual)

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


class Row(OneFrame, Horizontal):
    """A Horizontal container that lays out once per frame."""


class Column(OneFrame, Vertical):
    """A Vertical container that lays out once per frame."""


class FrameStatic(OneFrame, Static):
    """A Static that lays out once per frame. (Not named Label: CSS matches a widget by every
    class name in its MRO, and Textual's `Label { width: auto }`, loaded once a form shows a
    Label, would size it to its longest line.)"""


class Scroll(OneFrame, VerticalScroll):
    """A VerticalScroll that lays out once per frame (its scrollbars update in the same call)."""
