"""Data: the event contract, ingestion, serialization into per-user text, splits, built-in data."""
