"""`tui/compositor.MovesRepainted`: a layout reached through the compositor's lazy rebuild of
its map (a widget asking for its region while the map is out of date) still tells every
widget it resized or showed, as a reflow does."""

from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from tests.support.tui_helpers import quiet
from tui_attention.tui.compositor import RepaintsMoves


class Probe(Static):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.heights: list[int] = []
        self.shown = 0

    def on_resize(self, event) -> None:
        self.heights.append(event.size.height)

    def on_show(self) -> None:
        self.shown += 1


class Panes(RepaintsMoves, Screen):
    def compose(self):
        yield Probe("resized", id="resized")
        yield Probe("shown", id="shown")


class PanesApp(App):
    def on_mount(self) -> None:
        self.push_screen(Panes())


async def test_a_height_set_before_a_lazy_rebuild_of_the_map_still_resizes_the_widget():
    # The lesson 2 matrix page at 80x24, one opening in twenty: the P grid got its new height
    # in a map rebuilt lazily, so the reflow after it found nothing changed and sent no Resize,
    # and the grid never scrolled to the current word's row.
    app = PanesApp()
    async with app.run_test(size=(40, 20)) as pilot:
        await quiet(app, pilot)
        screen = app.screen
        resized, shown = screen.query_one("#resized", Probe), screen.query_one("#shown", Probe)
        shown.display = False
        await quiet(app, pilot)
        before = shown.shown
        resized.styles.height = 7
        shown.display = True
        # What a scroll leaves behind (reflow_visible), and a widget then asking for its region:
        screen._compositor._full_map_invalidated = True
        screen.find_widget(resized)
        await quiet(app, pilot)
        assert resized.region.height == 7
        assert resized.heights[-1:] == [7], resized.heights
        assert shown.shown > before
