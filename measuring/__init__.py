"""The instruments the specification, its tests and the benchmarks share.

Each concept is defined here once: what Python this is (``build``), bounded waits for threads
and processes (``waiting``), and CPU-bound work sized by time, the cores it used, the cores
this machine gives now and the speed-up over sequential code (``cpu``). This package
imports nothing from ``tests``, ``spec`` or ``benchmarks``; they all import from it.
"""
