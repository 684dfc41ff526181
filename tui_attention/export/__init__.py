"""Export what the tutor computes: npz, a folder of csv, Markdown tables, or a NumPy script.

    formats   export_trace and the npz, csv and md writers
    labels    row and column labels of each tensor
    script    the standalone NumPy script (py)
"""

from .formats import FORMATS, SUFFIXES, ExportError, export_trace, suggested_name, to_csv_files, to_markdown
from .labels import tensor_labels
from .script import to_script

__all__ = ["FORMATS", "SUFFIXES", "ExportError", "export_trace", "suggested_name", "tensor_labels", "to_csv_files",
           "to_markdown", "to_script"]
