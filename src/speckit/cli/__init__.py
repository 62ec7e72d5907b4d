"""Command-line interface: thin commands that call one core function each."""
