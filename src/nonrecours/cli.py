"""The ``nonrecours`` command. Each sub-command is a thin shell over a library function.

One style for every sub-command: errors are one line on stderr (``nonrecours: error: ...``), never a
traceback, never a value from the data (messages come from ``nonrecours.errors``, which name files, rows and
columns only), and the exit code says what kind of failure it was:

====  ====================================================================================================
code  meaning
====  ====================================================================================================
0     success
1     unexpected error (a bug: rerun with ``--verbose`` for the traceback, and report it)
2     usage or configuration error (bad option, run.toml, agreement, mapping; missing file; folder in use)
3     input data invalid or a control failed (unreadable extract, schema fault, failed situation)
4     privacy or key error (missing or weak key, a column the agreement does not allow)
5     rules or engine error (malformed rule, missing parameter for a month, backend failure)
6     audit trail broken (``audit verify``: chain or output hash mismatch)
7     empty extract: no record after its header (``ingest``, ``run``); nothing ingested unless allowed
130   interrupted (Ctrl-C; 143 for SIGTERM); outputs already written stay whole, a rerun restarts cleanly
141   the reader of the output closed it (``nonrecours ... --help | head``): the rest of the output is dropped
      silently, as a Unix command killed by SIGPIPE (128 + 13) would
====  ====================================================================================================

Logging is configured once, here: warnings on stderr through rich, ``--verbose`` for progress details and
tracebacks of unexpected errors, ``--quiet`` for errors only on stderr (no progress display, no warning; the
command's result is still printed on stdout). A run also logs to
``run.log`` in its run folder.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperGroup, TyperOption

from nonrecours import errors

try:  # recent typer vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import ClickException

__all__ = ["EXIT_CODES", "app", "exit_code"]

log = logging.getLogger("nonrecours")

EXIT_CODES: dict[type[BaseException], int] = {
    errors.ConfigError: 2,
    errors.ConnectorError: 3,
    errors.SchemaError: 3,
    errors.SituationError: 3,
    errors.PrivacyError: 4,
    errors.RuleError: 5,
    errors.EngineError: 5,
    errors.AuditError: 6,
    errors.RunConflictError: 2,
    errors.ControlError: 3,
    errors.EmptyExtractError: 7,
    FileNotFoundError: 2,
    FileExistsError: 2,
    IsADirectoryError: 2,
    NotADirectoryError: 2,
    PermissionError: 2,
}
"""Exception class → exit code; the most specific class listed in an exception's MRO wins."""


def exit_code(exc: BaseException) -> int:
    """The exit code of ``exc`` (1 for anything unexpected)."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, errors.NonRecoursError):
        if exc.filename:
            return f"{exc.filename}: {exc.strerror}"
        # Polars' and DuckDB's carry no filename attribute, their message names the path
        text = " ".join(str(exc).split())
        return exc.strerror or text or type(exc).__name__
    if isinstance(exc, errors.NonRecoursError):
        # one line per mistake (a configuration may hold several), each on one line
        return "\n".join(" ".join(line.split()) for line in str(exc).splitlines() if line.strip()) \
            or type(exc).__name__
    # --verbose is the program's option, before the command (« simulate --verbose » is refused)
    return (f"unexpected {type(exc).__name__}; rerun as « nonrecours --verbose COMMAND ... » for the traceback and "
            "report it")


_QUOTED = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'")
_LONG_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9][0-9 .\-]{3,}[0-9](?![0-9A-Za-z])")
_LONG_LIST = re.compile(r"\[[^\[\]\n]{24,}\]")


def scrubbed(message: str) -> str:
    """A library's exception message without the values it may quote: Polars' failed cast lists the values of
    the column (« [{"1 85 01…","DUVAL",null}, …] », an outside tester's Parquet file, 7 December 2026) and the
    README asks for the ``--verbose`` traceback of a bug in a report. Quoted text, numbers of five digits or more
    (a NIR, spaced or not, a record number) and long bracketed lists become « … »; types, column positions and the
    code's own frames stay, which is what a bug report needs."""
    out = _LONG_LIST.sub("[…]", message)
    out = _QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[0], out)
    return _LONG_NUMBER.sub("…", out)


def _print_bug(exc: BaseException) -> None:
    """The traceback of an unexpected error, each message of its chain scrubbed (``scrubbed``); no locals."""
    from rich.traceback import Traceback

    trace = Traceback.extract(type(exc), exc, exc.__traceback__)
    for stack in trace.stacks:
        stack.exc_value = scrubbed(stack.exc_value)
        stack.notes = [scrubbed(n) for n in stack.notes]
    _stderr().print(Traceback(trace))


def _stderr() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


PIPE_CLOSED = 141
"""Exit code when the reader of the output closed it early (128 + SIGPIPE, what a shell reports for a Unix
command that SIGPIPE ended): not a failure of the command, so no message and not 1 (a bug)."""


def _closed_pipe(exc: BaseException | None) -> bool:
    """``exc``, or an exception it was raised while handling (click and rich turn a broken pipe into
    ``SystemExit(1)``), is a write to a pipe whose reader is gone."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            return True
        exc = exc.__context__
    return False


def _drop_output() -> int:
    """Point stdout at /dev/null, so that flushing what is left at exit raises nothing (Python's documented
    recipe for SIGPIPE), and return the exit code of a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test runner's capture): nothing left to flush
        pass
    return PIPE_CLOSED


def tidy_help(text: str | None) -> str | None:
    """A docstring as ``--help`` shows it: each paragraph on one line (the terminal wraps it; the docstring's own
    line breaks, made for the source's width, otherwise show as ragged lines), Rich markup escaped (a
    ``[section]`` of run.toml stays visible). A paragraph starting with ``\b`` is kept as written (click's
    convention)."""
    if not text:
        return text
    from rich.markup import escape

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else escape(" ".join(line.strip() for line in p.splitlines()))
                       for p in paragraphs)


def _tidy_commands(command: Any) -> None:
    from rich.markup import escape

    if getattr(command, "_tidied", False):  # escaped once: a second escape would show its backslashes
        return
    command._tidied = True
    command.help = tidy_help(command.help)
    for param in getattr(command, "params", ()):  # an option's "[detection]" or "nonrecours[spark]" stays visible
        if getattr(param, "help", None):
            param.help = escape(param.help)
    for sub in getattr(command, "commands", {}).values():
        _tidy_commands(sub)


_SIGINT = [False]
"""Whether a Ctrl-C reached the running command (:func:`_on_sigint`)."""


_SIGNUM = [int(signal.SIGINT)]
"""The signal that interrupted the command: its exit code is 128 + it (130 for Ctrl-C, 143 for SIGTERM)."""


def _on_sigint(signum: int, frame: Any) -> None:
    """Python's own Ctrl-C handler (it raises KeyboardInterrupt), remembering the interrupt: a library may take the
    KeyboardInterrupt over and raise its own error instead (DuckDB 2, a query in the main thread interrupted, raises
    ``RuntimeError('Query interrupted')``), which must still end the command as interrupted (130), not as a bug.
    SIGTERM (a batch scheduler stopping the job) takes the same way: the run's cleanup runs, its lock is let go and
    the command says so (it ended at once, 143 without a word, its lock and staging left: found probing the monthly
    operations from the docs alone, 5 December 2026)."""
    _SIGINT[0] = True
    _SIGNUM[0] = signum
    signal.default_int_handler(signal.SIGINT, frame)


_WHOLE = "files already written are whole, a rerun restarts cleanly"
"""What an interrupted command tells of its files, whichever way it was interrupted."""
_FORCED = f"nonrecours: interrupted (Ctrl-C twice: stopped at once); {_WHOLE}\n".encode()


def _second_ctrl_c_ends(read_fd: int) -> None:
    """In a thread of its own: end the process (130) at the command's second Ctrl-C. DuckDB 2.0.1 sometimes takes a
    query's first KeyboardInterrupt and goes on (measured: 10 queries in 30, the handler run once, never again while
    the query ran), so the main thread may never act on a Ctrl-C; this thread, woken by the signal's byte on
    Python's wakeup fd, does not need it. Ends at the pipe's end (the command's)."""
    seen = 0
    try:
        while data := os.read(read_fd, 512):
            seen += data.count(bytes([signal.SIGINT]))
            if seen >= 2:
                os.write(2, _FORCED)
                os._exit(130)  # files are written whole then renamed: a rerun restarts cleanly (tests/test_run.py)
    finally:
        os.close(read_fd)


def _unraisable(previous: Any) -> Any:
    """``sys.unraisablehook`` for the command's time: Python runs the Ctrl-C handler at any point, a finalizer
    included (a generator closed as an error leaves its loop), where the KeyboardInterrupt cannot propagate: it is
    printed as « Exception ignored » and lost. Such a one is not printed (the command ends as interrupted, 130,
    whatever else happens: :data:`_SIGINT`); any other goes to ``previous``."""
    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _SIGINT[0]:
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def _sigint_remembered() -> Iterator[None]:
    """:func:`_on_sigint` for the command's time, and a second Ctrl-C that ends it at once
    (:func:`_second_ctrl_c_ends`), only where Python's default handler is in place (the main thread): a Ctrl-C the
    process ignores (``SIG_IGN``, as a shell gives a background job) stays ignored, and a handler the caller set
    stays theirs."""
    _SIGINT[0] = False
    _SIGNUM[0] = signal.SIGINT
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable(previous_hook)
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=_second_ctrl_c_ends, args=(read_fd,), name="nonrecours-ctrl-c", daemon=True).start()
    signal.signal(signal.SIGINT, _on_sigint)
    term = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    if term:
        signal.signal(signal.SIGTERM, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if term:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.unraisablehook = previous_hook
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the thread reads the pipe's end and stops


_LOADED_WHOLE = ("duckdb",)
"""Modules a Ctrl-C must not cut in the middle of their loading: DuckDB's extension (nanobind) creates its enums in
Python as it loads, and a KeyboardInterrupt raised there aborts the process (« Critical nanobind error », SIGABRT)
instead of ending the command as interrupted: seen once in CI (a ``run`` interrupted at its first CSV, which
imported DuckDB lazily) and once in 140 interrupts under load (tests/test_run.py). The only such extension
installed (its error text looked for in every shared object of the environment, 4 December 2026). The modules
that use DuckDB import it as they load, never in the middle of their work, so that a caller of the library (a
notebook's Ctrl-C) is not cut there either; the command line imports those modules lazily, hence this."""


def _load_whole() -> None:
    """Import :data:`_LOADED_WHOLE` with a Ctrl-C held back until the import is over, then handed to the handler it
    was for (the command's: it ends as interrupted). Loaded here, first thing in the command, every later
    ``import duckdb`` finds it loaded; about 0.1 s, which a command using DuckDB would spend anyway. Outside the
    main thread, or under a handler that is not a Python function (Ctrl-C ignored), a plain import."""
    wanted = [m for m in _LOADED_WHOLE if m not in sys.modules]
    handler = signal.getsignal(signal.SIGINT)
    hold = bool(wanted) and callable(handler) and threading.current_thread() is threading.main_thread()
    held: list[Any] = []
    if hold:
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        for name in wanted:
            importlib.import_module(name)
    finally:
        if hold:
            signal.signal(signal.SIGINT, handler)
    if held:
        handler(signal.SIGINT, held[0])  # type: ignore[operator]  # (``hold``: callable)


def _interrupted() -> NoReturn:
    how = "" if _SIGNUM[0] == signal.SIGINT else f" ({signal.Signals(_SIGNUM[0]).name})"
    _stderr().print(f"nonrecours: interrupted{how}; {_WHOLE}", markup=False)
    raise typer.Exit(128 + _SIGNUM[0]) from None


class _Group(TyperGroup):
    """Every sub-command's failures go through one map and one printing style."""

    def invoke(self, ctx: Any) -> Any:
        with _sigint_remembered():
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            _load_whole()
            done = super().invoke(ctx)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except KeyboardInterrupt:
            _interrupted()
        except Exception as exc:
            if _SIGINT[0]:  # the interrupt turned into a library's own error on its way up
                _interrupted()
            if _closed_pipe(exc):  # the reader of the output is gone: not an error, main ends quietly
                raise
            code = exit_code(exc)
            if code == 1 and _VERBOSE[0]:  # the traceback a bug report carries: its messages without data
                _print_bug(exc)
            for line in _message(exc).splitlines():
                _stderr().print(f"nonrecours: error: {line}", markup=False)
            raise typer.Exit(code) from None
        if _SIGINT[0]:  # a Ctrl-C a finalizer or a library took (DuckDB 2.0.1 now and then, a query in the main
            _interrupted()  # thread): the command went on to its end, the user asked it to stop
        return done

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        _tidy_commands(self)
        try:
            rv = super().main(args=args, prog_name=prog_name or "nonrecours", complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except SystemExit as exc:  # click's and rich's own handling of a broken pipe exits 1
            if not _closed_pipe(exc):
                raise
            code = _drop_output()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            code = _drop_output()
        except ClickException as exc:
            if not exc.format_message().strip():  # no arguments: the help was shown
                code = exc.exit_code
                if standalone_mode:
                    sys.exit(code)
                return code
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else "nonrecours"  # type: ignore[attr-defined]
            _stderr().print(f"{where}: {' '.join(exc.format_message().split())} (see {where} --help)",
                            markup=False)
            code = exc.exit_code
        except typer.Abort:
            _stderr().print("nonrecours: interrupted", markup=False)
            code = 130
        if standalone_mode:
            sys.exit(code)
        return code


# Flags take no value: typer shows `<bool>` after them in --help; show nothing instead.
_display_type_rich = TyperOption.display_type_rich


def _flag_type(self: Any, ctx: Any) -> str | None:
    return None if getattr(self, "is_flag", False) else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

app = typer.Typer(
    name="nonrecours",
    cls=_Group,
    help="Find people probably entitled to a benefit who do not receive it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_VERBOSE = [False]


def setup_logging(verbosity: int) -> None:
    """Configure the ``nonrecours`` logger once: rich on stderr at WARNING (INFO with --verbose,
    ERROR with --quiet). Idempotent: a second call only changes the level."""
    from rich.logging import RichHandler

    from nonrecours import progress

    _VERBOSE[0] = verbosity > 0
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    handler = next((h for h in log.handlers if getattr(h, "_nonrecours_cli", False)), None)
    if handler is None:
        handler = RichHandler(console=_stderr(), show_path=False, rich_tracebacks=False, markup=False)
        handler._nonrecours_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    handler.setLevel(level)
    log.setLevel(min(level, logging.INFO))  # the run's log file records INFO whatever the console shows
    if verbosity >= 0:
        progress.enable(_stderr())
    else:
        progress.disable()


def _version(value: bool) -> None:
    if value:
        from nonrecours import __version__

        typer.echo(f"nonrecours {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail, tracebacks of bugs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display nor warnings on stderr: errors "
                                        "only there; the command's result (its summary, simulate's JSON) is still "
                                        "printed on stdout.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """nonrecours: detection of non-take-up from agencies' extracts."""
    if verbose and quiet:
        raise typer.BadParameter("--verbose and --quiet exclude each other")
    setup_logging(1 if verbose else -1 if quiet else 0)


def _month(value: str) -> Any:
    from nonrecours.config import parse_month

    try:
        return parse_month(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r}: {exc}") from None


def _backend(value: str | None) -> str | None:
    """``--backend``: a known engine backend usable here (Spark: its extra and Java installed), checked before
    any work; the message names what to install."""
    if value is None:
        return None
    from nonrecours.engine import check_backend

    try:
        check_backend(value)
    except errors.EngineError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None
    return value


BACKEND_HELP = "polars, duckdb or spark (extra nonrecours[spark] and Java 17+)"


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


OraclePython = Annotated[Path | None, typer.Option(
    "--oracle-python", envvar="NONRECOURS_ORACLE_PYTHON",
    help="Python of the oracle environment (openfisca-france 176.1.8), for --truth-engine openfisca.")]
OracleWorkers = Annotated[int, typer.Option(
    "--oracle-workers", min=1, help="OpenFisca processes computing each batch at once (one per spare core).")]
"""The oracle options of ``synth`` and ``demo`` (an OpenFisca-labelled truth), written once."""


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Output folder; tables go to OUT/truth/.")],
    persons: Annotated[int, typer.Option("--persons", min=1, help="Number of persons to generate.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives byte-identical tables.")] = 1,
    territory: Annotated[str, typer.Option("--territory", help="cahors (default) or france.")] = "cahors",
    end_month: Annotated[str, typer.Option("--end-month", help="Last month of the window (24 months; "
                                                         "from January of N-3 with --extracts) (YYYY-MM).")
                         ] = "2026-06",
    extracts: Annotated[bool, typer.Option("--extracts", help="Also write the six agencies' native extracts "
                                           "(with noise and a take-up draw on our rules) to OUT/extracts/.")
                        ] = False,
    extract_months: Annotated[int, typer.Option("--extract-months", min=1,
                                                help="Months covered by the monthly extracts.")] = 12,
    truth_engine: Annotated[str, typer.Option(
        "--truth-engine", help="What labels entitlement before the take-up draw (with --extracts): rules (ours) "
        "or openfisca (OpenFisca-France in the oracle's own Python, so a score also measures the rules).")
    ] = "rules",
    oracle_python: OraclePython = None,
    oracle_workers: OracleWorkers = 1,
) -> None:
    """Build a reproducible synthetic population and write its true situations as Parquet."""
    from nonrecours.progress import stage
    from nonrecours.synth import generate, tax_window
    from nonrecours.synth.extracts import TRUTH_ENGINES

    if truth_engine not in TRUTH_ENGINES:
        raise errors.ConfigError(f"--truth-engine is one of {', '.join(TRUTH_ENGINES)}, not {truth_engine!r}")
    if truth_engine != "rules" and not extracts:
        raise errors.ConfigError("--truth-engine labels the entitlement of the take-up draw: it needs --extracts")
    if truth_engine == "openfisca":  # checked before generating: a missing oracle fails at once
        from nonrecours.simulation.openfisca_process import open_oracle
        from nonrecours.simulation.openfisca_process import oracle_python as check_oracle

        oracle_python = check_oracle(oracle_python)
    month = _month(end_month)
    with stage(f"synth: {persons:,} persons ({territory})"):
        # with the extracts, the truth covers income years N-3 to N-1 in full (the DGFiP extract carries them)
        paths = generate(persons, seed, out, territory=territory, end_month=month,
                         months=tax_window(month) if extracts else 24)
    _print_outputs("synth", paths.values())
    if extracts:
        from nonrecours.synth.extracts import Noise, write_extracts

        oracle = open_oracle(oracle_python, workers=oracle_workers) if truth_engine == "openfisca" else None
        try:
            with stage(f"extracts: the six agencies' extracts (entitlement labelled by {truth_engine})"):
                written = write_extracts(Path(out) / "truth", Path(out) / "extracts", seed=seed,
                                         entitlements=truth_engine,  # type: ignore[arg-type]
                                         noise=Noise(months=extract_months), oracle=oracle)
        finally:
            if oracle is not None:
                oracle.close()
        if oracle is not None and oracle.seconds:
            _out().print(f"openfisca: {oracle.households:,} households in {oracle.seconds:,.1f} s "
                         f"({oracle.households / oracle.seconds:,.0f} households/s, loading "
                         f"{oracle.load_seconds:.1f} s)", markup=False)
        _print_outputs("extracts", written.values())


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for every output of the run.")] = Path("nonrecours-demo"),
    persons: Annotated[int, typer.Option("--persons", min=1, help="Size of the synthetic territory.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the territory and the extracts.")] = 1,
    without: Annotated[list[str] | None, typer.Option(
        "--without", help="An agency whose extract is written but left out of the run (repeatable).")] = None,
    truth_engine: Annotated[str, typer.Option(
        "--truth-engine", help="What labels the truth's entitlement: rules (ours) or openfisca (OpenFisca-France "
        "in the oracle's own Python: the evaluation then also measures the rules).")] = "rules",
    oracle_python: OraclePython = None,
    oracle_workers: OracleWorkers = 1,
    ablation: Annotated[bool, typer.Option(
        "--ablation/--no-ablation", help="Measure the value of each exchange in the run (detection rerun "
        "without each agency, against the synthetic truth).")] = True,
) -> None:
    """Run the main job on the embedded default: synthetic Cahors territory, local files, DuckDB.

    Writes the territory, the extracts of the six agencies and the DRM, an exchange agreement, key files
    and a run.toml under OUT, then runs `nonrecours run OUT/run.toml`."""
    from nonrecours.demo import run_demo
    from nonrecours.synth.extracts import TRUTH_ENGINES

    if truth_engine not in TRUTH_ENGINES:
        raise errors.ConfigError(f"--truth-engine is one of {', '.join(TRUTH_ENGINES)}, not {truth_engine!r}")
    oracle = None
    if truth_engine == "openfisca":
        from nonrecours.simulation.openfisca_process import open_oracle

        oracle = open_oracle(oracle_python, workers=oracle_workers)
    try:
        report = run_demo(out, persons=persons, seed=seed, without=tuple(without or ()), truth_engine=truth_engine,
                          oracle=oracle, ablation=ablation)
    finally:
        if oracle is not None:
            oracle.close()
    _print_demo(report)


def _print_demo(report: Any) -> None:
    """Every file the demo wrote, with its rows; a path too long for the terminal wraps, never cut short."""
    from rich.table import Table

    console = _out()
    table = Table(title=f"nonrecours demo: every file written under {report.out}")
    for col, justify in (("stage", "left"), ("file", "left"), ("rows", "right")):
        table.add_column(col, justify=justify, overflow="fold", min_width=5)  # type: ignore[arg-type]
    for stage_name, path, rows in report.outputs:
        table.add_row(stage_name, str(path.relative_to(report.out)), "" if rows is None else f"{rows:,}")
    console.print(table)
    for label, text in report.facts:
        console.print(f"[bold]{label}[/bold]: {text}")
    console.print(f"Rerun the job alone with: nonrecours run {report.out / 'run.toml'}", markup=False)


def _summary(report: Any) -> None:
    from rich.table import Table

    table = Table(title=f"nonrecours run: {report.out} (configuration {report.config_hash[:12]})")
    for col, justify in (("stage", "left"), ("status", "left"), ("rows in", "right"), ("rows out", "right"),
                         ("files", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for s in report.stages:
        table.add_row(s.name, s.status, "" if s.rows_in is None else f"{s.rows_in:,}",
                      "" if s.rows_out is None else f"{s.rows_out:,}", f"{len(s.outputs):,}")
    _out().print(table)
    for s in report.stages:
        if s.note:
            _out().print(f"{s.name}: {s.note}", markup=False)
    _out().print(f"manifest: {report.manifest}; check it with: nonrecours audit verify {report.out}", markup=False)


@app.command("run")
def run_command(
    config: Annotated[Path, typer.Argument(help="The run configuration (run.toml).")],
) -> None:
    """Run the batch job of a configuration: ingest, rules, detection, outputs; manifest and audit log."""
    from nonrecours.run import run_file

    _summary(run_file(config))


@app.command()
def ablation(
    config: Annotated[Path, typer.Argument(help="The run configuration (run.toml) of a finished run.")],
    month: Annotated[str | None, typer.Option("--month", help="YYYY-MM; default: every month of the run.")] = None,
    truth: Annotated[Path | None, typer.Option("--truth", help="Synthetic truth folder (take_up.parquet) for "
                                               "precision and recall; default: the run's truth/ if any.")] = None,
    backend: Annotated[str | None, typer.Option("--backend", callback=_backend,
                                                help=BACKEND_HELP + " for the reruns; default: the run's "
                                                "(polars is faster on small workspaces).")] = None,
) -> None:
    """Answer 1, measured: detection rerun without each agency's data (and with the CAF alone).

    Reads the run's workspace and detection (and the scenarios its ablation stage stored, while the workspace
    is the one the manifest records); writes detection/YYYY-MM/exchange_value.parquet (as measured) and
    publishes outputs/YYYY-MM/answer1_exchange_value (Parquet, CSV) under the statistics' secrecy: per scenario
    and benefit, flags, flags gained and lost against every agency, precision and recall (against the truth when
    there is one, else against the full run) and their change; refreshes the headline's recall with the CAF
    alone.
    """
    import json

    import polars as pl

    from nonrecours.atomic import write_parquet
    from nonrecours.audit.manifest import MANIFEST
    from nonrecours.config import load_config
    from nonrecours.outputs.ablation import EXCHANGE_VALUE, RAW_EXCHANGE_VALUE, ablation_month, stored_scenarios
    from nonrecours.outputs.answers import secret_answers, summary_grades, with_caf_recall
    from nonrecours.outputs.report import REPORT, write_report
    from nonrecours.outputs.writers import write_table
    from nonrecours.progress import stage

    cfg = load_config(config)
    folder = cfg.output
    months = [_month(month)] if month else cfg.months
    truth = truth or cfg.ablation.truth or (folder / "truth" if (folder / "truth" / "take_up.parquet").exists()
                                            else None)
    for m in months:
        if not (folder / "detection" / f"{m:%Y-%m}" / "flags.parquet").exists():
            raise errors.ConfigError(f"no detection for {m:%Y-%m} in {folder}: run `nonrecours run {config}` first")
        # the scenarios the run's ablation stage detected on this very workspace are read, not detected again
        stored = stored_scenarios(folder, m, cfg)
        with stage(f"ablation {m:%Y-%m}: detection without each agency"
                   + (f" ({len(stored)} scenarios as the run's ablation stage detected them)" if stored else "")):
            table = ablation_month(folder, m, cfg, backend=backend, truth=truth, stored=stored)
        dest, det = folder / "outputs" / f"{m:%Y-%m}", folder / "detection" / f"{m:%Y-%m}"
        paths = {"measured": write_parquet(det / f"{RAW_EXCHANGE_VALUE}.parquet", table)}
        # published under the run's statistics' secrecy, as the outputs stage publishes it (no statistics: no
        # benefit's figure)
        stats = pl.read_parquet(dest / "statistics.parquet") if (dest / "statistics.parquet").exists() else None
        summary = json.loads((det / "summary.json").read_text()) if (det / "summary.json").exists() else None
        shown = secret_answers({EXCHANGE_VALUE: table}, stats, summary_grades(summary, det),
                               threshold=cfg.thresholds.suppression)[EXCHANGE_VALUE]
        paths.update(write_table(shown, dest, EXCHANGE_VALUE))
        if (dest / "headline.parquet").exists():
            # the headline's recall with the CAF alone comes from this table; its other figures stay as the outputs
            # stage published them (answer 3 as published hides the flags the headline would be summed from)
            lead = with_caf_recall(pl.read_parquet(dest / "headline.parquet"), shown)
            paths.update({f"headline.{k}": v for k, v in write_table(lead, dest, "headline").items()})
        if (dest / REPORT).exists() and (folder / MANIFEST).exists():  # the report shows this table too
            paths["report"] = write_report(folder, m, run_info=json.loads((folder / MANIFEST).read_text()))
        _out().print(f"ablation {m:%Y-%m} (reference: {'truth' if truth is not None else 'the full run'})",
                     markup=False)
        for r in table.sort("benefit", "scenario").iter_rows(named=True):
            p = "—" if r["precision"] is None else f"{r['precision']:.1%}"
            rc = "—" if r["recall"] is None else f"{r['recall']:.1%}"
            _out().print(f"  {r['benefit']:<18} {r['scenario']:<22} flags {r['flags']:>6}  +{r['flags_gained']:<5} "
                         f"-{r['flags_lost']:<5} precision {p:>6}  recall {rc:>6}", markup=False)
        _print_outputs("ablation", paths.values())


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="The run configuration (run.toml).")],
) -> None:
    """Check a configuration and its extracts' layouts (headers, record types, encodings, a sample of
    rows) without running anything."""
    from rich.table import Table

    from nonrecours.run import validate as check

    checks = check(config)
    table = Table(title=f"nonrecours validate: {config}")
    for col in ("agency", "file", "format", "encoding", "rows sampled", "faulty rows"):
        table.add_column(col, overflow="fold")  # a name too long for the terminal wraps, never cut short
    for c in checks:
        table.add_row(c.agency, c.file, c.format, c.encoding, f"{c.rows_sampled:,}",
                      f"{c.rows_faulty:,}")
    _out().print(table)
    for c in checks:
        for note in c.adaptations:
            _out().print(f"{c.file}: {note} (read so at ingest)", markup=False)
        for fault, n in c.faults_sampled.items():
            _out().print(f"{c.file}: {n:,} × {fault} (quarantined at ingest)", markup=False)
    from nonrecours.config import load_config
    from nonrecours.schemas.benefits import by_asked, payers_missing

    cfg = load_config(config, check_files=False)  # read and checked whole by ``check`` above
    for b in by_asked(cfg.benefits):  # a payer with no extract: its payments known in part, no rate published
        if missing := payers_missing(b, map(str, cfg.agencies)):
            _out().print(f"note: no extract of {', '.join(missing)}, which pays {b} too: its payments will be "
                         "known in part and its rates not published", markup=False)
    refused = [f"{c.file}: {why}" for c in checks for why in c.refused]
    if refused:
        from nonrecours.errors import ControlError

        raise ControlError("the run would stop: " + "; ".join(refused))
    _out().print("configuration, agreement, keys and layouts are valid", markup=False)


audit_app = typer.Typer(help="Audit trail of a run folder: verify it, list or purge expired outputs.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")
_KEY_HELP = "The audit key file (default: the one the manifest names)."


def _key(key: Path | None) -> Any:
    from nonrecours.privacy import KeySource

    return None if key is None else KeySource(file=key)


@audit_app.command("verify")
def audit_verify(
    folder: Annotated[Path, typer.Argument(help="A run folder.")],
    key: Annotated[Path | None, typer.Option("--key", help=_KEY_HELP)] = None,
) -> None:
    """Check the audit log's chain, the manifest and every output's hash; name what broke (exit 6)."""
    from nonrecours.audit import verify_run

    counts = verify_run(folder, _key(key))
    _out().print(f"audit: {counts['entries']} log entries chained, {counts['outputs']} outputs match the "
                 f"manifest ({counts['purged']} purged for retention)", markup=False)


@audit_app.command("expired")
def audit_expired(
    folder: Annotated[Path, typer.Argument(help="A run folder.")],
    purge_: Annotated[bool, typer.Option("--purge", help="Remove the expired outputs (recorded in the log).")
                      ] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date to judge on (YYYY-MM-DD; default today).")
                     ] = None,
    key: Annotated[Path | None, typer.Option("--key", help=_KEY_HELP)] = None,
) -> None:
    """List the outputs older than the exchange agreement's retention period; --purge removes them."""
    import datetime as dt

    from nonrecours.audit import expired, purge

    when = None
    if as_of is not None:
        try:
            when = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(), tzinfo=dt.UTC)
        except ValueError:
            raise typer.BadParameter(f"{as_of!r}: a date is written YYYY-MM-DD", param_hint="--as-of") from None
    items = (purge if purge_ else expired)(folder, as_of=when, key=_key(key))
    console = _out()
    for item in items:
        console.print(f"{'purged' if purge_ else 'expired'}: {item.path} (retention of {item.retention_days} days "
                      f"from the extract of {item.written:%Y-%m-%d})", markup=False)
    console.print(f"audit: {len(items)} output(s) {'purged' if purge_ else 'past their retention period'}",
                  markup=False)


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="JSON: a list of situations, or {\"cases\": [{\"situation\": ...}]}.")],
    backend: Annotated[str, typer.Option("--backend", callback=_backend,
                                         help=BACKEND_HELP + "; default polars.")] = "polars",
    explain: Annotated[bool, typer.Option("--explain", help="Add a French explanation per unit.")] = False,
) -> None:
    """Compute every benefit of the catalogue (RSA, prime d'activité, ASPA, CSS, housing aid...) per situation.

    JSON on stdout; the situations that could not be computed on stderr (id, field, error), exit code 3 if any."""
    from nonrecours.progress import stage
    from nonrecours.simulation.runner import dumps, simulate_file

    with stage(f"simulate: {file.name} ({backend})"):
        records, failed = simulate_file(file, backend=backend, explain=explain)
    sys.stdout.write((dumps(records) + b"\n").decode("utf-8"))
    if failed:
        sys.stderr.write((dumps({"errors": failed}) + b"\n").decode("utf-8"))
        _stderr().print(f"nonrecours: error: {len(failed)} of {len(failed) + len(records)} situations "
                        "could not be computed (listed above)", markup=False)
        raise typer.Exit(3)


def _print_outputs(stage: str, paths: Any) -> None:
    console = _out()
    for path in paths:
        console.print(f"{stage}: wrote {path}", markup=False)


@app.command()
def ingest(
    agency: Annotated[str, typer.Option("--agency", help="caf, cnam, france_travail, dgfip, cnav, msa or drm.")],
    input: Annotated[Path, typer.Option("--input", help="The agency's native extract.")],
    exchange: Annotated[Path, typer.Option("--exchange", help="Exchange agreement (TOML): columns allowed, keys.")],
    out: Annotated[Path, typer.Option("--out", help="Workspace: canonical tables, quarantine and report go here.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Your own mapping (YAML/TOML) for this layout.")
                       ] = None,
    extract_id: Annotated[str | None, typer.Option("--extract-id", help="Defaults to the file name.")] = None,
    extract_date: Annotated[str | None, typer.Option(
        "--extract-date", help="YYYY-MM-DD; defaults to the file's header record, else its modification date.")
    ] = None,
    max_quarantined: Annotated[float, typer.Option(
        "--max-quarantined", min=0.0, max=1.0, help="Exit 3 when a larger share of rows is quarantined.")] = 0.10,
    allow_empty: Annotated[bool, typer.Option(
        "--allow-empty", help="Accept an extract with no record (the agency has nothing to send); else exit 7.")
    ] = False,
) -> None:
    """Read one extract: validate, quarantine faulty rows, pseudonymise, write canonical Parquet + report.

    Exit codes (the command line's one map): 0 ok; 2 usage or configuration; 3 the extract is invalid (nothing
    ingested), or it was ingested but a file-level control failed or more than --max-quarantined of its rows
    were quarantined (the report says which); 4 a key error; 7 the extract holds no record (a header only: nothing
    ingested, the previous extract of this id kept; --allow-empty accepts it); 130 interrupted (nothing of this
    run is kept). Without --extract-date nor a header date, the file's modification date is used, with a warning.
    """
    import datetime as dt

    from nonrecours.connectors import ingest_extract
    from nonrecours.progress import stage

    try:
        date = dt.date.fromisoformat(extract_date) if extract_date else None
    except ValueError:
        raise typer.BadParameter("YYYY-MM-DD", param_hint="--extract-date") from None
    with stage(f"ingest: {agency} {input.name}"):
        report = ingest_extract(agency, input, exchange, out, mapping=mapping, extract_id=extract_id,
                                extract_date=date, allow_empty=allow_empty)
    if report.extract_date_source == "file":
        _stderr().print(f"warning: {report.file}: no --extract-date and no date in the file: its modification date "
                     f"{report.extract_date} is used (wrong for a copied file: it sets the retention period)",
                     markup=False)
    blank = f" ({report.blank_lines:,} blank lines skipped: no record)" if report.blank_lines else ""
    _out().print(f"{report.file}: {report.rows_read:,} rows read, {report.rows_accepted:,} accepted, "
                 f"{report.rows_quarantined:,} quarantined{blank}", markup=False)
    for what, n in report.repaired.items():
        _out().print(f"repaired: {what}: {n:,} values", markup=False)
    if report.return_tokens is not None:
        _out().print(f"return tokens: {report.return_tokens:,} (person, record) pairs under {agency}'s own key "
                     f"{report.return_key_id}", markup=False)
    _print_outputs("ingest", report.outputs.values())
    if report.controls:
        raise errors.ControlError(f"{report.file}: ingested, but a file-level control failed: "
                                  + "; ".join(report.controls))
    share = report.rows_quarantined / report.rows_read if report.rows_read else 0.0
    if share > max_quarantined:
        raise errors.ControlError(f"{report.file}: ingested, but {share:.1%} of the rows were quarantined "
                                  f"(limit {max_quarantined:.1%})")


@app.command()
def entitlements(
    workspace: Path = typer.Option(..., "--workspace", help="Workspace of canonical tables (from ingest)."),
    month: str = typer.Option(..., "--month", help="Evaluated month, YYYY-MM."),
    backend: str = typer.Option("polars", "--backend", callback=_backend, help=BACKEND_HELP + "."),
    out: Path = typer.Option(..., "--out", help="Folder for entitlements, provenance, unknowns, summary."),
) -> None:
    """Evaluate the benefits for a month on a workspace, with what is observed, estimated or unknown."""
    from nonrecours.core import CoreConfig
    from nonrecours.core.workspace import run_entitlements
    from nonrecours.schemas.benefits import CATALOGUE

    # every benefit of the catalogue (the core's default targets are the first four: the ASI, the ARS and the
    # chèque énergie were left out without a word; found probing the commands from the docs alone, 5 December 2026)
    targets = tuple(dict.fromkeys(rule for b in CATALOGUE for rule in b.rules))
    # the month as every command reads it; errors exit with their class's code and message, as detect's
    paths = run_entitlements(workspace, _month(month), out, backend=backend, config=CoreConfig(targets=targets))
    _print_outputs("entitlements", paths.values())


@app.command()
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the new secret (must not exist).")],
) -> None:
    """Write a new random secret to a key file (mode 600) for an exchange agreement's `file = ...`."""
    from nonrecours.privacy import Secret, write_secret_file

    try:
        written = write_secret_file(path)
    except FileExistsError:
        raise errors.ConfigError(f"{path} exists; a key file is never overwritten") from None
    Secret(written.read_bytes(), origin=f"key file {written}")  # checks it reads back as a valid secret
    _out().print(f"keygen: wrote {written} (mode 600); keep it out of version control and backups you share",
                 markup=False)


@app.command()
def detect(
    workspace: Path = typer.Option(..., "--workspace", help="Workspace of canonical tables (from ingest)."),
    month: str = typer.Option(..., "--month", help="Evaluated month, YYYY-MM."),
    out: Path = typer.Option(..., "--out", help="Folder for flags.parquet, units.parquet and summary.json."),
    backend: str | None = typer.Option(None, "--backend", callback=_backend, help=BACKEND_HELP + "; default: "
                                       "the run.toml's with --config, else polars."),
    config: Path | None = typer.Option(None, "--config", help=(
        "A run.toml: detect with its benefits, [thresholds] and [detection] (and, on DuckDB, its memory_limit "
        "and spill_dir), as its run's detection stage does; its files need not be here.")),
) -> None:
    """Find units probably entitled to a benefit of the catalogue that receive nothing (or too little)."""
    from nonrecours.detection.detect import run_detect
    from nonrecours.progress import stage

    settings, engine = None, None
    if config is not None:
        from nonrecours.config import load_config
        from nonrecours.run import detection_config, engine_config

        cfg = load_config(config, check_files=False)  # ConfigError (exit 2) naming the key, line and column
        backend = backend or _backend(cfg.backend)
        settings = detection_config(cfg)
        engine = engine_config(cfg.model_copy(update={"backend": backend}))
    backend = backend or "polars"
    with stage(f"detect {month} ({backend})"):
        run, paths = run_detect(workspace, _month(month), out, backend=backend, config=settings,
                                engine_config=engine)
    for benefit, grades in run.summary["flags_by_benefit_grade"].items():
        _out().print(f"{benefit}: " + ", ".join(f"{g} {n}" for g, n in grades.items()), markup=False)
    _print_outputs("detect", paths.values())


@app.command()
def evaluate(
    run: Path = typer.Option(..., "--run", help="Output folder of a detect run."),
    truth: Path = typer.Option(..., "--truth", help="Synthetic truth folder (with take_up.parquet)."),
    agreement: Path | None = typer.Option(None, "--agreement", help="Exchange agreement used at ingest "
                                          "(default: exchange.toml beside the truth folder)."),
    out: Path | None = typer.Option(None, "--out", help="Where to write evaluation.md/json (default: --run; for a "
                                    "run's detection/YYYY-MM, the run's evaluation/YYYY-MM, as the demo)."),
) -> None:
    """Score a detection run against the synthetic truth (precision, recall, rates, amounts)."""
    from nonrecours.detection import evaluate_run, render_markdown, write_evaluation

    score = evaluate_run(run, truth, agreement or truth.parent / "exchange.toml")
    _out().print(render_markdown(score), markup=False)
    _print_outputs("evaluate", write_evaluation(score, out or _evaluation_folder(run)).values())


def _evaluation_folder(run: Path) -> Path:
    """Where ``evaluate`` writes by default: beside a ``detect`` folder's own files, but outside a run's audited
    folders (its ``detection/YYYY-MM`` is in the manifest: two files more there made ``audit verify`` fail and the
    next run set them aside, an outside tester, 6 December 2026): the run's ``evaluation/YYYY-MM``, as the demo."""
    from nonrecours.audit.manifest import MANIFEST

    folder = run.resolve()
    if folder.parent.name == "detection" and (folder.parent.parent / MANIFEST).is_file():
        return folder.parent.parent / "evaluation" / folder.name
    return run


outreach_app = typer.Typer(help="Outreach lists: an agency opens its own list, or replays a row in OpenFisca.",
                            no_args_is_help=True)
app.add_typer(outreach_app, name="outreach")


def _file_to_write(path: Path | None, option: str, example: str) -> None:
    """Refuse, before any work, an ``option`` naming a folder or a file in no folder: the write beside it failed at
    the end naming its hidden temporary file (« /tmp/.od.partial-3117: Is a directory », an outside tester,
    6 December 2026)."""
    if path is None:
        return
    if path.is_dir():
        raise errors.ConfigError(f"{option} {path} is a folder: give the path of the file to write, such as "
                                 f"{path / example}")
    if not path.parent.is_dir():
        raise errors.ConfigError(f"{option} {path}: no folder {path.parent} to write it in")


@outreach_app.command("open")
def outreach_open(
    list_path: Annotated[Path, typer.Argument(metavar="LIST", help="The agency's outreach list (.parquet or .csv).")],
    agency: Annotated[str, typer.Option("--agency", help="Whose list this is: caf, cnam, france_travail, dgfip, "
                                        "cnav or msa (the lead agency of outreach_<agency>).")],
    key: Annotated[Path, typer.Option("--key", help="The agency's own return-token secret (mode-600 key file).")],
    exchange: Annotated[Path | None, typer.Option("--exchange", help="Exchange agreement (TOML) the list was "
                                                  "issued under; default: the packaged one.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the opened list (mode 600: it holds "
                                             "record numbers), never inside a run folder; default: LIST's name "
                                             "with '-opened' before the suffix, in the current folder.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file --out names (or the default one) when it "
                                        "exists; without it an existing file is refused (exit 2).")] = False,
) -> None:
    """Turn the return tokens of a list back into the agency's own record numbers, locally."""
    _file_to_write(out, "--out", f"{list_path.stem}-opened{list_path.suffix}")
    from nonrecours.audit.manifest import MANIFEST
    from nonrecours.outputs.outreach import open_outreach
    from nonrecours.outputs.writers import write_french_csv, write_parquet
    from nonrecours.privacy import derive_return_key, load_agreement, load_secret
    from nonrecours.schemas.codes import AGENCIES

    contacting = [a for a in AGENCIES if a not in ("drm", "synth")]
    if agency not in contacting:
        raise errors.ConfigError(f"unknown agency {agency}; expected one of {', '.join(contacting)}")
    target = out or Path.cwd() / f"{list_path.stem}-opened{list_path.suffix}"
    if target.exists() and not force:  # an earlier opened list (record numbers: NIRs for the CNAM) was silently
        # replaced (an outside tester, 6 December 2026): refused before any work, as a usage error
        raise errors.ConfigError(f"{target} exists (an earlier opened list?): give another --out, or --force to "
                                 "replace it")
    terms = load_agreement(exchange or Path(__file__).parent / "connectors" / "exchange.toml")
    secret = load_secret(key)
    try:
        opened = open_outreach(list_path, derive_return_key(secret, agency, terms.exchange_id, terms.purpose))
    except (errors.NonRecoursError, OSError):  # their messages name the file and row, never a token or record
        raise
    except Exception as exc:  # a reader's message may quote cells: say only what failed
        raise errors.SchemaError(f"{list_path.name} cannot be read as an outreach list "
                                 f"({type(exc).__name__})") from None
    run_folder = next((f for f in target.resolve().parents if (f / MANIFEST).is_file()), None)
    if run_folder is not None:  # the run's outputs are audited and leave the CAF: record numbers (NIRs for the
        # CNAM) written beside them broke `audit verify` and went wherever the folder goes (found probing, 5 Dec.)
        raise errors.ConfigError(f"{target.name} would be written inside the run folder {run_folder}, whose files "
                                 "are audited and shared: an opened list holds the agency's record numbers; give "
                                 "--out outside it")
    previous = os.umask(0o077)  # the record numbers are the agency's own: readable by its user only, as a key
    try:
        (write_parquet if target.suffix == ".parquet" else write_french_csv)(opened, target)
    finally:
        os.umask(previous)
    numbers = opened.get_column("record_id").is_not_null().sum()
    failed = opened.get_column("token_error").drop_nulls()
    # a row without a token (has_record false: the agency holds no record of the person) opens to nothing
    _out().print(f"outreach open: {opened.height:,} rows for agency {agency}, {numbers:,} record numbers opened "
                 f"({opened.height - numbers - len(failed):,} rows without a record at {agency}"
                 + (f", {len(failed):,} whose token does not open" if len(failed) else "")
                 + f"), written to {target}", markup=False)
    if len(failed):  # kept in the list with the reason; named here by their place, never by the token
        _stderr().print(f"nonrecours: error: {len(failed):,} tokens did not open, kept with the reason in column "
                        f"token_error of {target.name}; first: {failed[0]}", markup=False)
        raise typer.Exit(3)


@outreach_app.command("situation")
def outreach_situation(
    list_path: Annotated[Path, typer.Argument(metavar="LIST", help="An outreach list (outreach_<agency>.csv or "
                                              ".parquet) with openfisca/<agency>.jsonl beside it.")],
    situation_id: Annotated[str, typer.Argument(metavar="SITUATION_ID", help="The row's situation_id column.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON there instead of printing it.")] = None,
    month: Annotated[str | None, typer.Option("--month", metavar="YYYY-MM", help=(
        "The row's situation of that month: a yearly benefit judged on the payment due (the ARS of last August) "
        "is replayed in that month's situation; default: the latest month the row's flags were judged at."))] = None,
) -> None:
    """Print a row's OpenFisca situation: the JSON to POST to the web API's /calculate to replay the case."""
    _file_to_write(out, "--out", f"{situation_id}.json")
    from nonrecours.atomic import atomic_path
    from nonrecours.outputs.situations import read_situation, situation_entries

    entries = situation_entries(list_path, situation_id)
    famille, situation = read_situation(list_path, situation_id, month)
    entry = next(e for e in entries if e["famille"] == famille and e["situation"] == situation)
    text = json.dumps(situation, ensure_ascii=False, indent=2)
    if out is None:
        typer.echo(text)
    else:
        with atomic_path(out) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
    others = [str(e["month"]) for e in entries if e is not entry]
    typer.echo(f"outreach situation: {situation_id}, the situation of {entry['month']}; the row's famille is "
               f"{famille} (read {', '.join(entry['benefits'] or [])} at familles.{famille} in the answer, at "
               f"{entry['month']}, the ARS and the chèque énergie at its year)"
               + (f"; the row also has the situation of {', '.join(others)} (--month)" if others else "")
               + (f", written to {out}" if out else ""), err=True)
