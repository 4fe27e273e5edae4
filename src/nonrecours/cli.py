"""The ``nonrecours`` command. Each sub-command is a thin shell over a library function."""

from __future__ import annotations

from pathlib import Path

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


@app.command()
def synth(
    persons: int = typer.Option(20_000, "--persons", help="Number of persons to generate."),
    seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives byte-identical tables."),
    out: Path = typer.Option(..., "--out", help="Output folder; tables go to OUT/truth/."),
    territory: str = typer.Option("cahors", "--territory", help="cahors (default) or france."),
    end_month: str = typer.Option("2026-06", "--end-month", help="Last month of the 24-month window (YYYY-MM)."),
) -> None:
    """Build a reproducible synthetic population and write its true situations as Parquet."""
    import datetime as dt

    from nonrecours.errors import NonRecoursError
    from nonrecours.synth import generate

    try:
        year, month = (int(x) for x in end_month.split("-"))
        paths = generate(persons, seed, out, territory=territory, end_month=dt.date(year, month, 1))
    except (ValueError, NonRecoursError) as exc:
        raise typer.BadParameter(str(exc)) from None
    _print_outputs("synth", paths.values())


@app.command()
def demo(
    out: Path = typer.Option(Path("nonrecours-demo"), "--out", help="Folder for every output of the run."),
    persons: int = typer.Option(20_000, "--persons", help="Size of the synthetic territory."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Run the main job on the embedded default: synthetic Cahors territory, local files, DuckDB."""
    from nonrecours.demo import run_demo

    report = run_demo(out, persons=persons, seed=seed)
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"nonrecours demo: outputs under {report.out}")
    for col in ("stage", "file", "rows"):
        table.add_column(col)
    for stage, path, rows in report.outputs:
        table.add_row(stage, str(path.relative_to(report.out)), f"{rows:,}")
    console.print(table)
    for label, text in report.facts:
        console.print(f"[bold]{label}[/bold]: {text}")


@app.command()
def simulate(
    file: Path = typer.Argument(..., help="JSON: a list of situations, or {\"cases\": [{\"situation\": ...}]}."),
    backend: str = typer.Option("polars", "--backend", help="polars (default) or duckdb."),
    explain: bool = typer.Option(False, "--explain", help="Add a French explanation per unit."),
) -> None:
    """Compute RSA, prime d'activité, ASPA and CSS for household situations; JSON on stdout, the
    situations that could not be computed on stderr (id, field, error)."""
    from nonrecours.simulation.runner import simulate_file

    try:
        records, errors = simulate_file(file, backend=backend, explain=explain)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    import json
    import sys

    sys.stdout.write(json.dumps(records, ensure_ascii=False, indent=1) + "\n")
    if errors:
        sys.stderr.write(json.dumps({"errors": errors}, ensure_ascii=False, indent=1) + "\n")


def _print_outputs(stage: str, paths: object) -> None:
    from rich.console import Console

    console = Console()
    for path in paths:  # type: ignore[attr-defined]
        console.print(f"{stage}: wrote {path}")
