"""`python -m cascade_core` is the `cascade` command."""

from cascade_core.cli import main

if __name__ == "__main__":
    main()
