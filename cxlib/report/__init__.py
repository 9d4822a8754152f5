"""Presentation and running: display, tables, plots, words (i18n), rendering, the runner."""
