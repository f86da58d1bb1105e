"""The command-line layer: Typer commands, rich rendering and JSON output. The only code that prints."""
