"""Compiled Cython kernels of the reference runtime (built from cython_kernels/*.pyx by setup.py)."""
