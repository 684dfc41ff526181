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


def run_fresh(code: str, tmp_path: Path) -> str:
    """Run `code` in a fresh Python (so that only what it imports is loaded), with the state and
    config folders in tmp_path; its stdout, after checking it exited 0."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


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
    out = run_fresh(code, tmp_path)
    assert "FIRST ['tui_attention.lessons.controller']" in out, out
    assert "LESSON True" in out and "tui_attention.lessons.parser" in out, out


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
    out = run_fresh(code, tmp_path)
    assert "FIRST []" in out, out
    assert "EXPORTED True" in out, out
    assert "| " in (tmp_path / "trace.md").read_text(encoding="utf-8")


def test_the_first_screen_loads_no_writer_until_it_writes(tmp_path):
    # TOML is written only when a scenario is saved, CSV only by the dashboard's answer table:
    # neither loads before the first screen, and each loads when it is used.
    code = (
        "import asyncio, sys\n"
        "from tui_attention.tui.app import AttentionApp\n"
        "async def run():\n"
        "    app = AttentionApp()\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await pilot.pause()\n"
        "        print('FIRST', 'tomli_w' in sys.modules, 'csv' in sys.modules)\n"
        "        from tui_attention.core.scenario import dumps_scenario\n"
        "        from tui_attention.infra.channel import answers_csv\n"
        "        print('TOML', '\"gusta\",' in dumps_scenario(app.state.config), 'tomli_w' in sys.modules)\n"
        "        print('CSV', answers_csv([{'session': 'a1'}]).splitlines()[1].startswith('a1,'),"
        " 'csv' in sys.modules)\n"
        "asyncio.run(run())\n"
    )
    out = run_fresh(code, tmp_path)
    assert "FIRST False False" in out, out
    assert "TOML True True" in out, out
    assert "CSV True True" in out, out
