"""The ``nonrecours`` command. Each sub-command is a thin shell over a library function."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="nonrecours",
    help="Find people probably entitled to a benefit who do not receive it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """nonrecours: detection of non-take-up from agencies' extracts."""
