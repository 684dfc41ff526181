"""The collector settings a tutor process takes when its first app is made (infra/collector.py)."""

import subprocess
import sys

CHECK = """
import gc
from tui_attention.infra.collector import YOUNG_THRESHOLD
before = gc.get_freeze_count()
from tui_attention.tui.app import AttentionApp
AttentionApp()
frozen = gc.get_freeze_count()
assert before == 0 and frozen > 10_000, (before, frozen)  # the imported modules' objects
assert gc.get_threshold()[0] == YOUNG_THRESHOLD
kept = [[k] for k in range(5_000)]  # objects made after start-up
AttentionApp()
# A second app freezes nothing more: made one after another (the tests), each app's garbage
# stays collectable.
assert gc.get_freeze_count() == frozen, (gc.get_freeze_count(), frozen)
print("OK")
"""


def test_the_first_app_freezes_start_up_once_and_the_young_generation_waits_longer(tmp_path):
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120,
                          env={"XDG_STATE_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "OK", done.stderr[-2000:]
