"""The journey: touchpoint gaps (IPA), key drivers, operations, the journey map's data."""
