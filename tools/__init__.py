"""Deterministic tools, grouped by domain; they import only ``harness``."""
