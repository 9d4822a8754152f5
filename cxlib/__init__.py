"""cxlib: customer-experience analytics for the report template.

The public surface is small: :func:`open_run` gives a notebook its validated params, data
store and period; the analysis modules (``metrics``, ``coding``, ``journey``, ``swot``,
``engine``) are pure functions from tidy frames to tidy frames; ``display`` shows results;
``runner`` and ``render`` make the report.
"""

from cxlib.data.params import Params, load_params
from cxlib.exceptions import (
    DataValidationError,
    NotebookError,
    ParameterError,
    PeriodError,
    RenderError,
    ReportError,
)
from cxlib.report.context import RunContext, open_run, start
from cxlib.report.i18n import Translator

__version__ = "0.1.0"

__all__ = [
    "DataValidationError", "NotebookError", "ParameterError", "Params", "PeriodError", "RenderError",
    "ReportError", "RunContext", "Translator", "load_params", "open_run", "start",
]
