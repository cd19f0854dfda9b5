"""The bottom layer: the thin harness and what everything stands on (imports nothing else of
kettle).
"""
