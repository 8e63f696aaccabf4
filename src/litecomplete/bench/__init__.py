"""Benchmarks that print numbers; no pass/fail."""
