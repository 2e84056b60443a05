"""Defaults shared by the CLI and the library (kept apart so the CLI imports nothing heavy)."""

DEFAULT_INPUTS = 20  # random inputs per pair, on top of the all-zero input
DEFAULT_SEED = 0
