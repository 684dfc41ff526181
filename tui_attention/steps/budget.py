"""Whether a scenario fits: its arrays against the memory this process may use.

Computing a Trace peaks at about 1.4 times `trace_bytes(config)` (measured: 722 MB of
arrays for 1024 tokens, d = 256 and 16 heads peaked at 994 MB resident). A scenario
whose peak this process cannot reserve (`infra.memory.can_reserve`: its address-space
limit, the machine's available memory) is refused in one line instead of dying of
MemoryError; the tutor also keeps to `INTERACTIVE_BYTES`, beyond which a step takes
seconds to compute and a shared workshop machine slows for everyone.
"""

from __future__ import annotations

from tui_attention.core.config import Config, ConfigError
from tui_attention.core.tensors import trace_bytes
from tui_attention.i18n import _
from tui_attention.infra.memory import can_reserve

PEAK_FACTOR = 1.5
INTERACTIVE_BYTES = 128 * 2**20  # 512 tokens, d = 256, 8 heads: computed in about half a second here


def check_fits(config: Config, *, interactive: bool) -> None:
    """ConfigError (one line) if `config`'s trace would not fit; `interactive` adds the tutor's cap."""
    need = trace_bytes(config)
    if interactive and need > INTERACTIVE_BYTES:
        limit = _("the tutor keeps to {limit} MB so that every step answers at once").format(
            limit=INTERACTIVE_BYTES // 2**20)
    elif not can_reserve(int(need * PEAK_FACTOR)):
        limit = _("this process cannot take that much memory")
    else:
        return
    raise ConfigError(_("this scenario needs about {need} MB of arrays and {limit}; use fewer words, "
                        "smaller d_model, d_k, d_v or fewer heads").format(need=-(-need // 2**20), limit=limit))
