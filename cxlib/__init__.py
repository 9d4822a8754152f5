"""cxlib: customer-experience analytics for the report template."""

__version__ = "0.1.0"
