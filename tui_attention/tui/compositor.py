"""Every cell a layout change moves is drawn again, however Textual came to the new layout.

Textual draws most frames in part: the cells of the regions marked dirty. A layout pass
(`Compositor.reflow`) marks the old and new regions of every widget it moved or resized. But
the compositor's map is also rebuilt lazily (`Compositor.full_map`) when a widget asks for
its region while a new widget is waiting to be placed, and that rebuild marks nothing: setting
`display` on a pane asks for its size, which rebuilds the map with the panes' new heights,
and the reflow that follows finds nothing changed. The cells the grown pane now covers keep
what the terminal showed there before (lesson 12's last page: two rows of the E grid of the
page before, inside the text box). This marks what the lazy rebuild moved, as reflow does.
"""

from __future__ import annotations

from textual._compositor import Compositor, CompositorMap


class MovesRepainted(Compositor):
    """A Compositor whose lazy rebuild of its map marks the regions that moved, as reflow does."""

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


class RepaintsMoves:
    """Mixin for a Screen: its compositor is `MovesRepainted`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._compositor = MovesRepainted()
