"""The ``nonrecours`` command. Each sub-command is a thin shell over a library function."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    extracts: bool = typer.Option(False, "--extracts", help="Also write the six agencies' native extracts "
                                  "(with noise and a take-up draw on our rules) to OUT/extracts/."),
    extract_months: int = typer.Option(12, "--extract-months", help="Months covered by the monthly extracts."),
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
    if extracts:
        from nonrecours.synth.extracts import Noise, write_extracts

        written = write_extracts(Path(out) / "truth", Path(out) / "extracts", seed=seed, entitlements="rules",
                                 noise=Noise(months=extract_months))
        _print_outputs("extracts", written.values())


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
    file: Annotated[Path, typer.Argument(help="JSON: a list of situations, or {\"cases\": [{\"situation\": ...}]}.")],
    backend: Annotated[str, typer.Option("--backend", help="polars (default) or duckdb.")] = "polars",
    explain: Annotated[bool, typer.Option("--explain", help="Add a French explanation per unit.")] = False,
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


@app.command()
def ingest(
    agency: str = typer.Option(..., "--agency", help="caf, cnam, france_travail, dgfip, cnav or msa."),
    input: Path = typer.Option(..., "--input", help="The agency's native extract."),
    exchange: Path = typer.Option(..., "--exchange", help="Exchange agreement (TOML): columns allowed, keys."),
    out: Path = typer.Option(..., "--out", help="Workspace: canonical tables, quarantine and report go here."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Your own mapping (YAML/TOML) for this layout."),
    extract_id: str | None = typer.Option(None, "--extract-id", help="Defaults to the file name."),
) -> None:
    """Read one extract: validate, quarantine faulty rows, pseudonymise, write canonical Parquet + report."""
    from nonrecours.connectors import ingest_extract
    from nonrecours.errors import NonRecoursError

    try:
        report = ingest_extract(agency, input, exchange, out, mapping=mapping, extract_id=extract_id)
    except NonRecoursError as exc:  # messages name file, line and column, never a value
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{report.file}: {report.rows_read} rows read, {report.rows_accepted} accepted, "
               f"{report.rows_quarantined} quarantined")
    _print_outputs("ingest", report.outputs.values())


@app.command()
def entitlements(
    workspace: Path = typer.Option(..., "--workspace", help="Workspace of canonical tables (from ingest)."),
    month: str = typer.Option(..., "--month", help="Evaluated month, YYYY-MM."),
    backend: str = typer.Option("polars", "--backend", help="polars or duckdb."),
    out: Path = typer.Option(..., "--out", help="Folder for entitlements, provenance, unknowns, summary."),
) -> None:
    """Evaluate the benefits for a month on a workspace, with what is observed, estimated or unknown."""
    import datetime as dt

    from nonrecours.core.workspace import run_entitlements
    from nonrecours.errors import NonRecoursError

    try:
        m = dt.datetime.strptime(month, "%Y-%m").date()
        paths = run_entitlements(workspace, m, out, backend=backend)
    except ValueError as exc:
        if not isinstance(exc, NonRecoursError):
            typer.echo("error: --month must be YYYY-MM", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except NonRecoursError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _print_outputs("entitlements", paths.values())


@app.command()
def keygen(
    path: Path = typer.Argument(..., help="Where to write the new secret (must not exist)."),
) -> None:
    """Write a new random secret to a key file (mode 600) for an exchange agreement's `file = ...`."""
    from nonrecours.privacy import Secret, write_secret_file

    try:
        written = write_secret_file(path)
    except FileExistsError:
        typer.echo(f"error: {path} exists; a key file is never overwritten", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"error: {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    Secret(written.read_bytes(), origin=f"key file {written}")  # checks it reads back as a valid secret
    typer.echo(f"keygen: wrote {written} (mode 600); keep it out of version control and backups you share")
