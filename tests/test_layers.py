"""The layout itself: the import contracts hold, the light commands never load Textual,
and no module grows past one idea's worth of lines."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tui_attention"


def test_import_contracts_hold():
    """cli > tui | serve > lessons | export > steps > core | infra > i18n, and no cycles (pyproject.toml)."""
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    assert exe, "import-linter is part of the test extra"
    done = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and "5 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("argv", [
    ["trace", "--format", "json"],
    ["trace", "--heads", "2"],
    ["export", "--format", "md", "-"],
    ["lessons"],
])
def test_light_commands_never_import_textual_or_rich(argv, tmp_path):
    code = (
        "import sys\n"
        "from tui_attention.cli import main\n"
        f"code = main({argv!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "raise SystemExit(code or (3 if loaded else 0))\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOADED []" in done.stderr


def test_no_module_is_over_600_lines_but_the_matrix_grid():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert set(long) <= {"tui/widgets/matrix_grid.py"}, long


def test_the_first_screen_imports_no_lesson_module_until_a_lesson_opens(tmp_path):
    # Start-up pays only for what the first screen needs (issue 12): the lesson files' parser,
    # the reference language, the answers and the progress file come with the first lesson.
    code = (
        "import asyncio, sys\n"
        "from tui_attention.tui.app import AttentionApp\n"
        "def lessons():\n"
        "    return sorted(m for m in sys.modules if m.startswith('tui_attention.lessons.'))\n"
        "async def run():\n"
        "    app = AttentionApp()\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await pilot.pause()\n"
        "        print('FIRST', lessons())\n"
        "        await pilot.press('L')\n"
        "        await pilot.pause()\n"
        "        await pilot.press('enter')\n"
        "        await pilot.pause()\n"
        "        print('LESSON', app.lesson.active, lessons())\n"
        "asyncio.run(run())\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "FIRST ['tui_attention.lessons.controller']" in done.stdout, done.stdout
    assert "LESSON True" in done.stdout and "tui_attention.lessons.parser" in done.stdout, done.stdout


def test_the_first_screen_imports_no_export_module_until_an_export(tmp_path):
    # The export package (npz, csv, Markdown, the NumPy script) comes with the first export.
    code = (
        "import asyncio, sys\n"
        "from tui_attention.tui.app import AttentionApp\n"
        "def export():\n"
        "    return sorted(m for m in sys.modules if m.startswith('tui_attention.export'))\n"
        "async def run():\n"
        "    app = AttentionApp()\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await pilot.pause()\n"
        "        print('FIRST', export())\n"
        "        await pilot.press('x')\n"
        "        await pilot.pause()\n"
        "        await pilot.press('ctrl+u', *'trace.md', 'enter')\n"
        "        for _ in range(20):\n"
        "            await pilot.pause()\n"
        "        print('EXPORTED', 'tui_attention.export.formats' in export())\n"
        "asyncio.run(run())\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "FIRST []" in done.stdout, done.stdout
    assert "EXPORTED True" in done.stdout, done.stdout
    assert "| " in (tmp_path / "trace.md").read_text(encoding="utf-8")
