"""Engine benchmark: throughput, peak memory and engine overhead on synthetic uint16 rasters.

Run with ``make bench`` (``.venv/bin/python -m benchmarks``); results go to stdout as a table and
to ``benchmarks/results.json``. See docs/BENCHMARKS.md for the figures and how to read them.
"""
