"""Data: params, contracts, loading into the engine, periods."""
