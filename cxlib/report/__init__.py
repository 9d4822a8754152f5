"""Presentation and running: display, tables, plots, words (i18n), rendering, the runner."""

import sys

# nbformat (the runner, the renderer) validates notebooks with jsonschema, which imports
# rfc3987_syntax, a grammar built at import (~1 s), only to offer an "iri" format check that notebook
# validation never uses; without it jsonschema leaves that one check out (an ImportError it handles)
sys.modules.setdefault("rfc3987_syntax", None)
