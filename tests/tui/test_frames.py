"""What the tutor sends its terminal: a frame the terminal shows already is not sent again
(`tui.frames.SameFrameOnce`; opening help sent its full screen three times over, 61 KB at
80x24), and a prompt waiting for the learner sends nothing (slow-link audit)."""

import asyncio
import os
import pty
import select
import struct
import sys
import time

import fcntl
import termios

from textual import events
from textual._compositor import CompositorUpdate

from tui_attention.tui.frames import SameFrameOnce


class Driver:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def write(self, data: str) -> None:
        self.sent.append(data)

    def flush(self) -> None:
        pass


class Update(CompositorUpdate):
    def __init__(self, text: str) -> None:
        self.text = text


class Drawing:
    """Stands for Textual's App: a frame goes out in several writes, as App._display writes it."""

    def _display(self, screen, renderable) -> None:
        for part in ("<sync>", renderable.text, "</sync>"):
            self._driver.write(part)

    async def _on_resize(self, event) -> None:
        pass


class App(SameFrameOnce, Drawing):
    def __init__(self) -> None:
        self._driver = Driver()


def test_a_frame_like_the_last_is_not_sent_and_any_other_write_forgets_it():
    app = App()
    for text in ("A", "A", "B", "A"):
        app._display(None, Update(text))
    assert app._driver.sent == ["<sync>A</sync>", "<sync>B</sync>", "<sync>A</sync>"]
    app._driver.write("\x1b[?25l")  # the terminal may now differ from the last frame
    app._display(None, Update("A"))
    assert app._driver.sent[-2:] == ["\x1b[?25l", "<sync>A</sync>"]
    asyncio.run(app._on_resize(events.Resize.from_dimensions((80, 24), None)))
    app._display(None, Update("A"))  # a resize: sent again
    assert app._driver.sent[-1] == "<sync>A</sync>" and len(app._driver.sent) == 6


def terminal_bytes(steps: list[tuple[bytes, float]], size=(80, 24)) -> list[int]:
    """For each (key, idle) of `steps`, in one tutor on a pty: the bytes it writes for the key
    until 1.5 s of quiet, then (with `idle` > 0) the bytes it writes in `idle` seconds more."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", XDG_STATE_HOME=os.environ.get("FRAMES_STATE", "/tmp"))
        os.execv(sys.executable, [sys.executable, "-m", "tui_attention"])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))

    def drain(quiet: float, limit: float = 60.0, exactly: bool = False) -> int:
        count, last, start = 0, time.monotonic(), time.monotonic()
        while time.monotonic() - start < (quiet if exactly else limit):
            if not exactly and time.monotonic() - last >= quiet:
                break
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                count, last = count + len(data), time.monotonic()
        return count

    try:
        assert drain(2.0) > 0
        out = []
        for key, idle in steps:
            os.write(fd, key)
            out.append(drain(1.5))
            if idle:
                out.append(drain(idle, exactly=True))
        return out
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def test_help_is_sent_once_and_a_waiting_prompt_sends_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMES_STATE", str(tmp_path))
    # One tutor for every check: help and closing it, the export prompt waiting, the palette waiting.
    opened, closed, _x, x_idle, _g, _p, p_idle = terminal_bytes(
        [(b"?", 0), (b"\x07", 0), (b"x", 1.2), (b"\x07", 0), (b"\x10", 1.2)])
    # Measured at 80x24: opening 60,867 bytes and closing 15,490 with the repeats, 30,216 and
    # 14,897 without. The sum, so that a frame late past the quiet second counts all the same.
    assert opened > 0 and 0 < opened + closed < 62_000, (opened, closed)
    # Slow-link audit: a blinking cursor sent 360 bytes a second from the export prompt, and
    # 1 KB a second from the command palette, while the learner thought.
    assert x_idle == 0 and p_idle == 0, (x_idle, p_idle)
