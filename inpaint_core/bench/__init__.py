"""Benchmarks: fill quality per mask-ratio bin (quality.py) and speed, FLOPs and efficiency (speed.py, flops.py).

Library code only: the functions return data; `inpaint_core/cli/bench.py` formats and prints it.
"""
