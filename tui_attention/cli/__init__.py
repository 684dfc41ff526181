"""The command line, the top layer: one module per subcommand (see `main`)."""

from .main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
