"""Decisions read from the analyses' results: SWOT, recommendations, summary findings."""
