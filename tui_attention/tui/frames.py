"""A frame the terminal shows already is not sent again.

Textual 8 draws a pushed or popped screen in several frames, and some are the same bytes as
the one before (a bare app pushing a modal repeats its full frame three times; the tutor's
help cost 61 KB at 80x24, 31 KB of it repeats). Over a slow link each repeat is seconds of
waiting and, served to a room, bytes for every attendee. Sending a frame twice changes
nothing on a terminal that nothing else wrote to in between: every write of the app goes
through its driver, so a write between the two (a cursor or mouse mode, a bell, a clear on
resuming) or a resize forgets the last frame, and the next is sent whatever it holds.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from textual import events
from textual._compositor import CompositorUpdate
from textual.screen import Screen


class SameFrameOnce:
    """Mixin for an App: `_display` sends a frame only when it differs from the last one sent."""

    _last_frame: str | None = None
    _capturing: list[str] | None = None  # the writes of the frame being drawn
    _watched: tuple[Any, Any] | None = None  # (the driver watched, its own write)

    def _display(self, screen: Screen, renderable: RenderableType | None) -> None:
        driver = self._driver  # type: ignore[attr-defined]
        if not isinstance(renderable, CompositorUpdate) or driver is None:
            super()._display(screen, renderable)  # type: ignore[misc]
            return
        write = self._watch_writes(driver)
        self._capturing = []
        try:
            super()._display(screen, renderable)  # type: ignore[misc]
        finally:
            frame, self._capturing = "".join(self._capturing), None
        if frame and frame != self._last_frame:
            write(frame)
            driver.flush()
        if frame:
            self._last_frame = frame

    def _watch_writes(self, driver: Any) -> Any:
        """The driver's own write. Once watched, its writes are collected while a frame is drawn,
        and any other write forgets the last frame (the terminal may then differ from it)."""
        if self._watched is None or self._watched[0] is not driver:
            write = driver.write

            def watched(data: str) -> None:
                if self._capturing is not None:
                    self._capturing.append(data)
                    return
                self._last_frame = None
                write(data)

            driver.write = watched
            self._watched = (driver, write)
        return self._watched[1]

    async def _on_resize(self, event: events.Resize) -> None:
        self._last_frame = None  # a terminal may redraw or reflow what it shows when resized
        await super()._on_resize(event)  # type: ignore[misc]
