"""One command-line style: one exit-code map, one-line errors without traceback, --version, flags
without a type in --help, Ctrl-C as 130."""

from __future__ import annotations

import contextlib
import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nonrecours import __version__, errors
from nonrecours.cli import EXIT_CODES, app, exit_code

SRC = str(Path(__file__).resolve().parents[1] / "src")

runner = CliRunner()


def test_every_error_class_has_its_exit_code():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.NonRecoursError)]
    assert len(classes) >= 14
    for cls in classes:
        if cls is errors.NonRecoursError:
            continue
        assert exit_code(cls.__new__(cls)) in {2, 3, 4, 5, 6, 7}, cls
    assert exit_code(errors.KeyMaterialError("x")) == 4  # a KeyError, but a privacy error first
    assert exit_code(errors.ExtractError("bad", file="f.csv", line=2)) == 3
    assert exit_code(errors.EmptyExtractError("no record", file="f.csv")) == 7  # its own code, not 3
    assert exit_code(errors.RunConflictError("x")) == 2 and exit_code(errors.AuditError("x")) == 6
    assert exit_code(RuntimeError("bug")) == 1 and exit_code(FileNotFoundError()) == 2
    assert set(EXIT_CODES.values()) <= {2, 3, 4, 5, 6, 7}


def test_version_and_help():
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"nonrecours {__version__}"
    for args in (["--help"], ["synth", "--help"], ["simulate", "--help"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0 and "<bool>" not in res.output and "--help" in res.output


def test_help_shows_each_paragraph_unbroken():
    """A docstring's line breaks (the source's width) do not show in --help: each paragraph is one text the
    terminal wraps, and Rich markup in it stays literal."""
    from nonrecours.cli import tidy_help

    doc = "First line\n    goes on.\n\n    Second [ablation]\n    paragraph.\n\n    \b\n    kept\n    as is"
    assert tidy_help(doc) == "First line goes on.\n\nSecond \\[ablation] paragraph.\n\n\b\nkept\nas is"
    res = CliRunner(env={"COLUMNS": "1000"}).invoke(app, ["ingest", "--help"])
    lines = [line for line in res.output.splitlines() if "Exit codes (the command line's one map)" in line]
    assert res.exit_code == 0 and len(lines) == 1 and lines[0].rstrip().endswith("used, with a warning.")


def test_an_options_help_keeps_its_brackets():
    """Rich read "[detection]" and "nonrecours[spark]" in an option's help as markup and dropped them: detect's
    --config said "its benefits,  and  (and, on DuckDB...". Asked twice in one process, never escaped twice."""
    for _ in range(2):
        res = CliRunner(env={"COLUMNS": "1000"}).invoke(app, ["detect", "--help"])
        assert res.exit_code == 0
        assert "[thresholds] and [detection]" in res.output and "nonrecours[spark]" in res.output, res.output
        assert "\\[" not in res.output


def test_a_reader_that_closes_the_output_ends_the_command_quietly():
    """``nonrecours ... --help | head``: the reader goes before the help is written. No "Broken pipe" error and
    not 1 (a bug): 141, as a Unix command that SIGPIPE ended."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[1] / "src")
    for args in (["--help"], ["ingest", "--help"]):
        read, write = os.pipe()
        os.close(read)  # the reader is gone before anything is written: every write fails with EPIPE
        try:
            done = subprocess.run([sys.executable, "-c", "from nonrecours.cli import app; app()", *args],
                                  stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                                  env={**os.environ, "PYTHONPATH": src})
        finally:
            os.close(write)
        assert (done.returncode, done.stderr) == (141, ""), args


@pytest.mark.parametrize(("args", "code", "text"), [
    (["bogus"], 2, "nonrecours: No such command 'bogus'"),
    (["synth", "--out", "x", "--end-month", "2026-13"], 2, "month number must be 01 to 12"),
    (["synth", "--out", "x", "--persons", "0"], 2, "--persons"),
    (["--verbose", "--quiet", "keygen", "k"], 2, "exclude each other"),
    (["simulate", "does-not-exist.json"], 2, "nonrecours: error: does-not-exist.json: No such file"),
    (["ingest", "--agency", "kaf", "--input", "x", "--exchange", "y", "--out", "z"], 2,
     "nonrecours: error: unknown agency kaf"),
])
def test_bad_arguments_give_one_line_and_a_code(args, code, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == code, res.output
    assert text in res.output
    assert "Traceback" not in res.output and "╭" not in res.output
    assert len([line for line in res.output.splitlines() if "error" in line.lower()]) <= 1


def test_a_librarys_missing_file_is_named():
    """Polars' FileNotFoundError has no filename attribute: its message names the path (the class alone was printed,
    « nonrecours: error: FileNotFoundError », for a truth folder given wrong to ``evaluate``)."""
    import polars as pl

    from nonrecours.cli import _message

    with pytest.raises(FileNotFoundError) as err:
        pl.read_parquet("no-truth/take_up.parquet")
    assert "no-truth/take_up.parquet" in _message(err.value)
    assert _message(FileNotFoundError(2, "No such file or directory", "x.json")) == "x.json: No such file or directory"


def test_unexpected_error_and_interrupt(tmp_path, monkeypatch):
    import nonrecours.simulation.runner as runner_module

    path = tmp_path / "cases.json"
    path.write_text("[]")

    def boom(*a, **k):
        raise RuntimeError("a value that must not be printed")

    monkeypatch.setattr(runner_module, "simulate_file", boom)
    res = runner.invoke(app, ["simulate", str(path)])
    assert res.exit_code == 1 and "unexpected RuntimeError" in res.output
    assert "must not be printed" not in res.output and "Traceback" not in res.output

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner_module, "simulate_file", interrupted)
    res = runner.invoke(app, ["simulate", str(path)])
    assert res.exit_code == 130 and "interrupted" in res.output


@pytest.mark.parametrize("command", [
    ["detect", "--workspace", "ws", "--month", "2026-06", "--out", "out"],
    ["entitlements", "--workspace", "ws", "--month", "2026-06", "--out", "out"],
    ["ablation", "run.toml"],
    ["simulate", "cases.json"],
])
def test_backend_option_checked_before_any_work(command, tmp_path, monkeypatch):
    """--backend accepts polars, duckdb and spark; an unknown name, or spark without Java (or PySpark), is a
    usage error (exit 2) naming what to install, before any file is read."""
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, [*command, "--backend", "sparks"])
    assert res.exit_code == 2 and "unknown backend 'sparks'" in res.output and "spark" in res.output
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    res = runner.invoke(app, [*command, "--backend", "spark"])
    assert res.exit_code == 2, res.output
    assert "no Java runtime found" in res.output and "default-jre-headless" in res.output


def test_detect_passes_spark_to_the_engine(tmp_path, monkeypatch):
    import importlib
    from types import SimpleNamespace

    detect_module = importlib.import_module("nonrecours.detection.detect")  # the package exports a detect()

    seen = {}

    def fake_run_detect(workspace, month, out, *, backend, config=None, engine_config=None):
        seen["backend"] = backend
        return SimpleNamespace(summary={"flags_by_benefit_grade": {}}), {}

    monkeypatch.setattr(detect_module, "run_detect", fake_run_detect)
    res = runner.invoke(app, ["detect", "--workspace", str(tmp_path), "--month", "2026-06", "--out",
                              str(tmp_path / "out"), "--backend", "spark"])
    assert res.exit_code == 0, res.output
    assert seen == {"backend": "spark"}


def test_the_demo_printout_shows_every_path_whole_in_a_narrow_terminal(tmp_path, monkeypatch, capsys):
    """The demo lists every file it wrote; a long workspace path wraps in an 80-column terminal instead of
    ending in an ellipsis (``france_travail-france_travail.parqu…`` was unreadable)."""
    from nonrecours.cli import _print_demo
    from nonrecours.demo import DemoReport

    report = DemoReport(tmp_path)
    names = ["workspace/return_tokens/france_travail-france_travail.parquet", "extracts/caf.dat", "run.toml"]
    for i, name in enumerate(names):
        report.outputs.append(("ingest", tmp_path / name, 1_000 * i or None))
    monkeypatch.setenv("COLUMNS", "80")
    _print_demo(report)
    out = capsys.readouterr().out
    assert "…" not in out
    cells = "".join(line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 4)
    for name in names:
        assert name in cells, (name, out)
    assert "1,000" in out


_DUCKDB_INTERRUPTED = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a Ctrl-C, even under a shell that ignores it (SIG_IGN)
import duckdb
import nonrecours.simulation.runner as runner_module
from nonrecours.cli import app

def long_query(*a, **k):
    con = duckdb.connect()
    print("querying", flush=True)
    con.execute("SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 3").fetchall()

runner_module.simulate_file = long_query
app(["simulate", sys.argv[1]])
"""


@contextlib.contextmanager
def _simulate_in_child(code: str, tmp_path: Path, started: str) -> Iterator[subprocess.Popen]:
    """``code`` (a ``nonrecours simulate`` with its work replaced) in a child process, once it printed ``started``;
    killed on the way out whatever happened."""
    path = tmp_path / "cases.json"
    path.write_text("[]")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == started
        yield proc
    finally:
        proc.kill()


def test_an_interrupt_a_library_turns_into_its_own_error_is_still_an_interrupt(tmp_path):
    """Ctrl-C during a DuckDB query run in the main thread: DuckDB takes the KeyboardInterrupt over and raises
    ``RuntimeError('Query interrupted')``; the command still ends as interrupted (130), not as a bug (1). In a
    child process, the signal sent from here once its query has started, again every five seconds until the child
    ends, as a user presses Ctrl-C again: a single one was seen lost twice under two busy workers (DuckDB's own
    checks may take the signal before its query runs, and the query then ran to the 120 s timeout). Sent every
    half second, one arrived once while the interrupted command was already ending, its handler given back (the
    suite at twice its usual time, 6 December 2026): Python then ends on the signal (-2), a user's Ctrl-C during
    the exit, not what this test checks."""
    import signal
    import time

    with _simulate_in_child(_DUCKDB_INTERRUPTED, tmp_path, "querying") as proc:
        deadline = time.monotonic() + 120
        sent = time.monotonic() - 4.5  # the first half a second after the query started
        while proc.poll() is None and time.monotonic() < deadline:
            if time.monotonic() - sent >= 5:
                proc.send_signal(signal.SIGINT)
                sent = time.monotonic()
            time.sleep(0.1)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "nonrecours: interrupted" in err and "error" not in err


def test_an_ignored_interrupt_stays_ignored(tmp_path):
    """A shell's background job starts with Ctrl-C ignored (SIG_IGN): the command must not take it back, neither
    while it runs nor after."""
    code = ("import signal, sys\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "import nonrecours.simulation.runner as runner_module\n"
            "from nonrecours.cli import app\n"
            "seen = []\n"
            "def fake(*a, **k):\n"
            "    seen.append(signal.getsignal(signal.SIGINT))\n"
            "    return [], []\n"
            "runner_module.simulate_file = fake\n"
            "try:\n    app(['simulate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print(seen == [signal.SIG_IGN], signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    path = tmp_path / "cases.json"
    path.write_text("[]")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "True True", (done.stdout, done.stderr)


_SWALLOWS_INTERRUPTS = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import nonrecours.simulation.runner as runner_module
from nonrecours.cli import app

def stuck(*a, **k):  # a library that takes every KeyboardInterrupt and goes on (DuckDB 2.0.1, now and then)
    said = False
    while True:
        try:  # (the line printed inside: a Ctrl-C right after it is taken too)
            if not said:
                said = True
                print("working", flush=True)
            time.sleep(60)
        except KeyboardInterrupt:
            pass

runner_module.simulate_file = stuck
app(["simulate", sys.argv[1]])
"""


_SWALLOWS_ONE_INTERRUPT = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import nonrecours.simulation.runner as runner_module
from nonrecours.cli import app

def finishes(*a, **k):  # a library that takes the KeyboardInterrupt and ends its work (DuckDB 2.0.1, now and then)
    try:
        print("working", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        pass
    return [], []

runner_module.simulate_file = finishes
app(["simulate", sys.argv[1]])
"""


def test_a_ctrl_c_a_library_took_still_ends_the_command_as_interrupted(tmp_path):
    """The Ctrl-C taken by a library that then ends its work normally: the command goes to its end (its files
    whole), then says it was interrupted (130), not a success the user did not let it reach (0)."""
    import signal

    with _simulate_in_child(_SWALLOWS_ONE_INTERRUPT, tmp_path, "working") as proc:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "nonrecours: interrupted;" in err and "Traceback" not in err


_CUT_IMPORT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, sys.argv[2])
import nonrecours.simulation.runner as runner_module
from nonrecours import cli

def body(*a, **k):
    print("command body ran", flush=True)
    return [], []

runner_module.simulate_file = body
cli._LOADED_WHOLE = ("loads_slowly",)
print("started", flush=True)
cli.app(["simulate", sys.argv[1]])
"""

_LOADS_SLOWLY = """
import os, signal, time
os.kill(os.getpid(), signal.SIGINT)  # a Ctrl-C while the module loads
total = sum(range(100_000))  # Python code, where a KeyboardInterrupt would be raised at once
time.sleep(0.2)
print("module loaded whole", flush=True)
"""


def test_a_ctrl_c_while_a_native_module_loads_waits_for_its_end(tmp_path):
    """A Ctrl-C during the import of a module that must not be cut (DuckDB's extension aborts the process:
    ``cli._LOADED_WHOLE``) is held until the module is loaded, then ends the command as interrupted (130) before
    its work begins."""
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "loads_slowly.py").write_text(_LOADS_SLOWLY)
    path = tmp_path / "cases.json"
    path.write_text("[]")
    done = subprocess.run([sys.executable, "-c", _CUT_IMPORT, str(path), str(tmp_path / "mods")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": SRC})
    assert done.returncode == 130, done.stderr
    assert done.stdout.splitlines() == ["started", "module loaded whole"], done.stdout
    assert "nonrecours: interrupted;" in done.stderr and "Traceback" not in done.stderr


def test_the_modules_that_must_load_whole_are_imported_at_module_level_only():
    """No function of the package imports a module of ``cli._LOADED_WHOLE`` (DuckDB): imported in the middle of
    a library caller's work, a Ctrl-C there would abort the process, out of the command line's reach."""
    import ast

    from nonrecours import cli

    inside: list[str] = []
    for path in sorted(Path(SRC, "nonrecours").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for sub in ast.walk(node):
                    names = ([a.name for a in sub.names] if isinstance(sub, ast.Import)
                             else [sub.module or ""] if isinstance(sub, ast.ImportFrom) else [])
                    inside += [f"{path.name}:{sub.lineno}" for n in names
                               if n.split(".")[0] in cli._LOADED_WHOLE]
    assert not inside, inside


def test_a_second_ctrl_c_ends_a_command_a_library_keeps_running(tmp_path):
    """The first Ctrl-C taken by a library that goes on: the second ends the process at once, 130."""
    import signal
    import time

    with _simulate_in_child(_SWALLOWS_INTERRUPTS, tmp_path, "working") as proc:
        proc.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert proc.poll() is None  # one Ctrl-C, taken by the library: still running
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "nonrecours: interrupted (Ctrl-C twice: stopped at once)" in err


def test_a_bugs_verbose_traceback_quotes_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """--verbose prints a bug's traceback for a report, but a library's message may list the values it failed on
    (Polars' failed cast of a Parquet column: « [{"<NIR>","DUVAL",null}, …] », an outside tester, 7 December
    2026): the messages of the chain are printed without them; the type and the code's frames stay."""
    import nonrecours.cli as cli
    import nonrecours.privacy as privacy

    # the values written backwards: the traceback shows the code's lines, which must not hold them either
    nir, spaced, names = "211007316440492"[::-1], "731 64 40 49 2"[::-1], ["LAVUD", "NITRAM", "NEIBULGROZ"]
    duval, martin, zorg = (n[::-1] for n in names)

    def boom(path: Path) -> None:
        try:
            raise ValueError(f'row "{spaced} 001 12" of {zorg!r}')
        except ValueError as inner:
            raise RuntimeError(f"conversion from struct[3] to str failed in column 'nir' for 2 out of 2 values: "
                               f'[{{"{nir}","{duval}",null}}, {{"{nir[::-1]}","{martin}",null}}]') from inner

    monkeypatch.setattr(privacy, "write_secret_file", boom)
    res = CliRunner().invoke(app, ["--verbose", "keygen", "k"])
    text = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert res.exit_code == 1 and "RuntimeError" in text and "ValueError" in text and "struct[3]" in text
    for value in (nir, nir[::-1], spaced, duval, martin, zorg):
        assert value not in text, value
    monkeypatch.setattr(cli, "_VERBOSE", [False])
    res = CliRunner().invoke(app, ["keygen", "k"])
    assert res.exit_code == 1 and "Traceback" not in res.output and duval not in res.output
