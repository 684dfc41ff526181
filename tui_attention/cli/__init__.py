"""The command line, the top layer: one module per subcommand (see `main`)."""

import os

# NumPy's BLAS on one thread unless the user says otherwise, set before NumPy is imported (by
# `.main`): the tutor's products are small, and OpenBLAS starts a busy thread per core with
# NumPy, which costs the tutor's start about 100 ms of CPU on two cores. At 512 words x 1024
# dimensions a key then does its products on the tutor's own thread and still meets its
# target (docs/performance.md, twelfth round).
# The served tutors get the same setting from their server (serve.child).
if "OPENBLAS_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

from .main import COMMANDS, build_parser, main, parse  # noqa: E402

__all__ = ["COMMANDS", "build_parser", "main", "parse"]
