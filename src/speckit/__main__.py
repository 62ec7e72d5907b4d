"""`python -m speckit` runs the same CLI as the `speckit` console script."""

from speckit.cli.main import entry

if __name__ == "__main__":
    entry()
