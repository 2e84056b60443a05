"""tinyc: compile small neural networks to bit-exact, heap-free C for microcontrollers."""

__version__ = "0.1.0"
