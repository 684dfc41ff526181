"""Lines drawn once: a widget asked for lines it has drawn before, from the same source at the
same size and look, gives the lines it kept.

Textual draws a widget's lines anew whenever it is refreshed (`Visual.to_strips`, then style,
border, padding and line filters, line by line), although a learner stepping back and forth
shows the panes' kept drawings again, and the containers and scrollbars at sizes and
positions they had before. The key of a widget's lines (`KeptLines._look`) holds everything
Textual draws them from; lines are kept only when Textual has just drawn them from new content.
"""

from __future__ import annotations

from textual.cache import LRUCache
from textual.content import Content
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip
from textual.visual import Visual
from textual.widget import Widget
from textual.widgets import Static

# Lines kept per widget: a word's nine steps and a few more. Fewer than a pane's drawings
# (`one_frame.MEMO_SIZE`): lines take more memory (a Strip holds its own caches), 13 MB more per
# tutor at 48 each after 400 keys at 64 words, and every kept object is one more for the
# collector to walk.
LOOKS_SIZE = 16


def _title(title: Content | None) -> tuple | None:
    """A border title as what it draws: Content compares by its text alone, not its styles."""
    return None if title is None else (title.plain, tuple(title.spans))


class KeptLines:
    """Mixin for a Widget: `render_lines` gives the lines kept for the same look (`_look`).

    What the lines are drawn from is `_source()`: a Static's Visual (by identity: a kept
    drawing is the same object, and no Visual here changes after it is made), nothing for a
    container (its background and border only), or what a subclass says."""

    _looks: LRUCache | None = None  # lines drawn, by their look
    _body: tuple[tuple, list[Strip]] | None = None  # a container's last lines, by its look but its titles

    def _source(self) -> tuple[Visual | None, object] | None:
        """(the Visual drawn or None, what identifies what the lines are drawn from); None when
        that cannot be told (a widget with its own render())."""
        if isinstance(self, Static) and type(self).render is Static.render:
            visual = self.visual
            return visual, id(visual)
        if not isinstance(self, Static) and type(self).render is Widget.render:
            return None, None  # a container: its background and border only
        return None

    def _look(self, crop: Region) -> tuple[Visual | None, tuple] | None:
        """(the Visual drawn, None for a container; the key of its lines), the key holding
        everything the lines Textual draws for `crop` depend on, as (the look but the titles,
        the title, the subtitle); None when that cannot be told (a selection or a hovered link
        on screen, a widget with its own render()). The key: what the lines are drawn from
        (`_source`), the sizes and scroll offset, the widget's styles (the counter of its CSS
        rules, which moves with any change, and its inline rules), its text style (with the
        colour and text style it inherits), the colours beneath it (its ancestors' backgrounds
        and opacity), the app's line filters and ANSI theme (held, not by id: a theme replaces
        them), and the title and subtitle (text and styles)."""
        source = self._source()
        if source is None:
            return None
        visual, drawn_from = source
        if self.text_selection is not None or self.highlight_link_id:  # type: ignore[attr-defined]
            return None
        styles = self.styles  # type: ignore[attr-defined]
        try:
            # The inline rules by value: a scene shown again, or a box at a height it had before,
            # has the rules it had then (their counter, in _cache_key, has moved on).
            inline = tuple(sorted(styles.inline._rules.items()))
            hash(inline)
        except TypeError:
            inline = styles._cache_key
        app = self.app  # type: ignore[attr-defined]
        untitled = (drawn_from, crop, self.outer_size, self.size, self.scroll_offset,  # type: ignore[attr-defined]
                    styles._updates, styles.base._updates, inline, self.visual_style,  # type: ignore[attr-defined]
                    self.background_colors, self.opacity,  # type: ignore[attr-defined]
                    tuple(self.get_line_filters()), app.ansi_theme, app.native_ansi_color)  # type: ignore[attr-defined]
        return visual, (untitled, _title(self._border_title), _title(self._border_subtitle))  # type: ignore[attr-defined]

    def render_lines(self, crop: Region) -> list[Strip]:
        """Widget.render_lines, kept: the same look (`_look`) gives the lines drawn for it."""
        look = self._look(crop)
        if look is None:
            return super().render_lines(crop)  # type: ignore[misc]
        visual, key = look
        if self._looks is None:
            self._looks = LRUCache(LOOKS_SIZE)
        kept = self._looks.get(key)
        if kept is not None and kept[0] is visual:
            return list(kept[1])
        # Kept only when Textual draws the content now: a widget not refreshed since its look
        # changed (an ancestor's background, say) is drawn from content it drew before.
        fresh = bool(self._dirty_regions)  # type: ignore[attr-defined]
        body = key[0] if visual is None else None  # the look but the titles
        if fresh and body is not None and self._body is not None and self._body[0] == body:
            lines = self._retitled(crop, self._body[1])
        else:
            lines = super().render_lines(crop)  # type: ignore[misc]
        if fresh:
            self._looks.discard(key)  # a recycled id: LRUCache.set keeps an existing key's value
            self._looks.set(key, (visual, lines))
            if body is not None:
                self._body = (body, lines)
        return list(lines)

    def _retitled(self, crop: Region, lines: list[Strip]) -> list[Strip]:
        """Lines drawn without a Visual (a container's) with new titles: the first and last rows
        drawn now, the rows between kept. A title and a subtitle are drawn on the border's top
        and bottom rows only, and a new subtitle (a step counter) would otherwise draw the
        whole box again."""
        lines = list(lines)
        for y in {0, self.outer_size.height - 1} & set(crop.line_range):  # type: ignore[attr-defined]
            lines[y - crop.y] = super().render_lines(Region(crop.x, y, crop.width, 1))[0]  # type: ignore[misc]
        return lines


class KeptScrollBar(KeptLines, ScrollBar):
    """A ScrollBar whose lines are kept by what its bar is drawn from. A grid that scrolls to
    each new word moves its bars on every key, and scrolling back puts them where they were."""

    def _source(self) -> tuple[Visual | None, object] | None:
        bar = self.render()
        if type(bar) is not ScrollBarRender:
            return None
        return None, (bar.virtual_size, bar.window_size, bar.position, bar.thickness, bar.vertical, bar.style)


class KeptScrollBars:
    """Mixin for a scrollable Widget: its scrollbars are `KeptScrollBar`s. Widget creates its
    bars on first use in these two properties; this creates them the same way, of this class."""

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        return self._kept_bar("vertical")

    @property
    def horizontal_scrollbar(self) -> ScrollBar:
        return self._kept_bar("horizontal")

    def _kept_bar(self, name: str) -> ScrollBar:
        """Widget's `{name}_scrollbar`: made on first use, hidden until needed, started as a child."""
        bar = getattr(self, f"_{name}_scrollbar")
        if bar is None:
            bar = KeptScrollBar(vertical=name == "vertical", name=name,
                                thickness=getattr(self, f"scrollbar_size_{name}"))
            bar.display = False
            setattr(self, f"_{name}_scrollbar", bar)
            self.app._start_widget(self, bar)  # type: ignore[attr-defined]
        return bar
