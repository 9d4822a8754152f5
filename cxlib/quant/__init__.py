"""Quantitative analyses: metrics, weighting, crosstabs, retention, churn, segments, personas."""
