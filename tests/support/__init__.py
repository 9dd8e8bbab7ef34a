"""Helpers shared by cross-service tests (import as `tests.support.<module>`)."""
