"""The pure NumPy attention core: no Textual, no Rich, no I/O beyond scenario files."""

from .config import Config, ConfigError
from .scenario import Overrides, build_config, load_scenario
from .trace import Trace, compute

__all__ = ["Config", "ConfigError", "Overrides", "Trace", "build_config", "compute", "load_scenario"]
