"""The ``byod`` command line: one Typer app per command group."""
