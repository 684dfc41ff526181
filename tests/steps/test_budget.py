"""A scenario too big for the memory at hand is refused in one line, not by MemoryError."""

import subprocess
import sys

import numpy as np
import pytest

from tui_attention.core import Overrides, build_config, compute
from tui_attention.core.config import ConfigError
from tui_attention.core.tensors import trace_bytes, trace_tensors
from tui_attention.steps.budget import INTERACTIVE_BYTES, check_fits


@pytest.mark.parametrize("n, d, heads", [(5, 4, 1), (7, 6, 3), (3, 8, 2)])
def test_trace_bytes_is_what_a_trace_holds(n, d, heads):
    config = build_config(None, Overrides(sentence=" ".join(f"w{i}" for i in range(n)), d_model=d, d_k=d + 1,
                                          d_v=d + 2, heads=heads))
    arrays = trace_tensors(compute(config))
    assert trace_bytes(config) == sum(a.size for a in arrays.values()) * np.dtype(np.float64).itemsize


def big(n=600, d=256, heads=8):
    return build_config(None, Overrides(sentence=" ".join(f"w{i}" for i in range(n)), d_model=d, d_k=d, d_v=d,
                                        heads=heads))


def test_the_tutor_keeps_to_its_interactive_cap():
    config = big()
    assert trace_bytes(config) > INTERACTIVE_BYTES
    with pytest.raises(ConfigError, match=r"needs about \d+ MB of arrays and the tutor keeps to 128 MB"):
        check_fits(config, interactive=True)
    check_fits(config, interactive=False)
    check_fits(build_config(None), interactive=True)


def test_under_an_address_space_limit_trace_refuses_in_one_line():
    words = " ".join(f"w{i}" for i in range(1024))
    args = ["trace", "--sentence", words, "--d-model", "256", "--d-k", "256", "--d-v", "256", "--heads", "16"]
    done = subprocess.run(["prlimit", "--as=" + str(768 * 2**20), sys.executable, "-m", "tui_attention", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-500:]
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot take that much memory" in done.stderr


def test_can_reserve_answers_to_the_address_space_limit():
    import resource

    from tui_attention.infra.memory import can_reserve

    assert can_reserve(64 * 2**20)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, hard))
        assert not can_reserve(8 * 2**30)
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
