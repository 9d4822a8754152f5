"""One error hierarchy for the template: every failure a user can cause is a ReportError."""

from __future__ import annotations


class ReportError(Exception):
    """Base class of every error the template raises on purpose."""


class ParameterError(ReportError):
    """A params file is missing, malformed, or names something that does not exist."""


class DataValidationError(ReportError):
    """An input table breaks its data contract (file, column, rows and fix are in the message)."""

    def __init__(self, message: str, failures=None):
        super().__init__(message)
        #: tidy DataFrame of failure cases (table, file, column, check, rows, fix), if any
        self.failures = failures


class PeriodError(ReportError):
    """The requested period is malformed, outside the data, or has no data."""


class NotebookError(ReportError):
    """A notebook failed, timed out or its kernel died while the runner executed it."""


class RenderError(ReportError):
    """The renderer (Quarto or the offline pandoc/typst path) could not produce an output."""


class ReleaseGateError(ReportError):
    """A file going to stakeholders holds personal data or a customer id; nothing was published."""
