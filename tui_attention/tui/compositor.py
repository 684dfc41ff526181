"""Every cell a layout change moves is drawn again, and every widget it resizes or shows is
told so, however Textual came to the new layout.

Textual draws most frames in part: the cells of the regions marked dirty. A layout pass
(`Compositor.reflow`) marks the old and new regions of every widget it moved or resized, and
returns the widgets it showed and resized, which the screen sends `Show` and `Resize`. But
the compositor's map is also rebuilt lazily (`Compositor.full_map`) when a widget asks for
its region while a new widget is waiting to be placed, and that rebuild marks nothing and
tells no one: setting `display` on a pane asks for its size, which rebuilds the map with the
panes' new heights, and the reflow that follows finds nothing changed. So

- the cells the grown pane now covers kept what the terminal showed there before (lesson
  12's last page: two rows of the E grid of the page before, inside the text box);
- a grid given a new height got no `Resize`, so it never scrolled to the current word's row
  for its new height (lesson 2's matrix page at 80x24: rows 1-2 in view, the word on row 3,
  about one opening in twenty).

This marks what the lazy rebuild moved, as reflow does, and has reflow report the widgets
shown or resized since the last reflow, not since the lazy rebuild.
"""

from __future__ import annotations

from textual._compositor import Compositor, CompositorMap, ReflowResult
from textual.geometry import Size
from textual.widget import Widget


class MovesRepainted(Compositor):
    """A Compositor whose lazy rebuild of its map marks the regions that moved, as reflow does,
    and whose reflow reports what changed since the last reflow."""

    _reflowed: CompositorMap | None = None  # the map as the last reflow left it

    @property
    def full_map(self) -> CompositorMap:
        if self.root is None or not self._full_map_invalidated:
            return super().full_map
        old = self._full_map or {}
        new = super().full_map
        if self.size.region not in self._dirty_regions:
            moved = (geometry.clip.intersection(geometry.region) for _, geometry in new.items() ^ old.items())
            self._dirty_regions.update(region for region in moved if region)
        return new

    def reflow(self, parent: Widget, size: Size) -> ReflowResult:
        result = super().reflow(parent, size)
        before, after = self._reflowed, self._full_map
        self._reflowed = after
        if before is None:
            return result
        # (A scroll's reflow_visible moves widgets but never resizes one: sizes compare true.)
        shown = result.shown | (after.keys() - before.keys())
        resized = result.resized | {
            widget for widget, geometry in after.items()
            if widget in before and before[widget].region.size != geometry.region.size}
        return ReflowResult(hidden=result.hidden, shown=shown, resized=resized)


class RepaintsMoves:
    """Mixin for a Screen: its compositor is `MovesRepainted`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = MovesRepainted()
