"""Test package (lets test modules import their shared helpers as tests.<folder>.<module>)."""
