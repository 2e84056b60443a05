"""`python -m tinyc` is the `tinyc` command."""

from tinyc.cli import main

main()
