"""Create (or reuse) the oracle virtual environment and run OpenFisca-France in it as a subprocess.

``ensure_oracle()`` creates ``<project>/.oracle-venv`` (gitignored) with ``openfisca-france==176.1.8``
pinned, reusing it when it already holds that version; ``run_oracle(situations)`` sends web-API situations
to ``openfisca_runner.py`` in that environment and returns its results. Any failure raises
:class:`OracleUnavailable` (tests must fail, never skip, when the oracle cannot be installed).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

from nonrecours.simulation.openfisca_process import OPENFISCA_FRANCE

__all__ = ["CACHE_ENV", "OPENFISCA_FRANCE", "REFERENCE_CASES", "OracleUnavailable", "ensure_oracle", "run_oracle"]

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = PROJECT / ".oracle-venv"
OPENFISCA_CORE = "44.7.1"
"""The core version pip resolves for openfisca-france 176.1.8 on Python 3.11 (pinned for reproducibility)."""
RUNNER = Path(__file__).resolve().parent / "openfisca_runner.py"
_CASES = Path("shared") / "reference" / "cases" / "openfisca_public.json"
REFERENCE_CASES = next((p / _CASES for p in PROJECT.parents if (p / _CASES).exists()), PROJECT.parent / _CASES)
"""The public reference cases beside the checkout (``../shared``, or higher up for a git worktree); the tests
that read them fail, never skip, when the file is not there."""


class OracleUnavailable(RuntimeError):
    """The oracle environment could not be created or the runner failed."""


def _python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed(path: Path) -> bool:
    py = _python(path)
    if not py.exists():
        return False
    probe = subprocess.run(
        [str(py), "-c", "import importlib.metadata as m; print(m.version('openfisca-france'), "
                        "m.version('openfisca-core'))"], capture_output=True, text=True, check=False)
    return probe.returncode == 0 and probe.stdout.split() == [OPENFISCA_FRANCE, OPENFISCA_CORE]


def ensure_oracle(path: str | Path | None = None) -> Path:
    """The oracle environment's python, creating the environment when absent or not at the pinned versions."""
    path = Path(path or os.environ.get("NONRECOURS_ORACLE_VENV") or DEFAULT_VENV)
    if _installed(path):
        return _python(path)
    # pytest-xdist's workers may get here together: one creates the environment, the others wait and reuse it
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _python(path) if _installed(path) else _create(path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _create(path: Path) -> Path:
    """Create the environment at ``path`` and install the pinned versions (under :func:`ensure_oracle`'s lock)."""
    try:
        venv.EnvBuilder(with_pip=True, clear=path.exists()).create(path)
    except Exception as exc:  # venv reports many kinds of OS errors
        raise OracleUnavailable(f"cannot create the oracle environment at {path}: {exc}") from exc
    cmd = [str(_python(path)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           f"openfisca-france=={OPENFISCA_FRANCE}", f"openfisca-core=={OPENFISCA_CORE}"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not _installed(path):
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        raise OracleUnavailable(f"pip could not install openfisca-france=={OPENFISCA_FRANCE}:\n{tail}")
    return _python(path)


CACHE_ENV = "NONRECOURS_ORACLE_CACHE"
"""A folder where results are kept (the test session sets it inside the pytest cache dir): OpenFisca loads for
~10 s and computes for tens of seconds, for answers that cannot change while its inputs, its pinned versions
and our runner stay the same."""


def _cache_file(text: str) -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return None
    key = hashlib.sha256()
    for part in (OPENFISCA_FRANCE, OPENFISCA_CORE, RUNNER.read_text(encoding="utf-8"), text):
        key.update(part.encode("utf-8") + b"\0")
    return Path(folder) / f"{key.hexdigest()}.json"


_STREAMS: dict[Path, Any] = {}
"""One streaming runner per oracle interpreter, kept for the rest of this Python process (closed at exit)."""


def _stream(python: Path) -> Any:
    """The runner in ``--stream`` mode for ``python``, started on first use: OpenFisca's tax-benefit system loads
    once for every uncached call of a test session (seconds each), not once per call. Each call is still its
    own batch, computed exactly as a separate runner would compute it."""
    from nonrecours.errors import ConfigError, EngineError
    from nonrecours.simulation.openfisca_process import OpenFiscaProcess

    proc = _STREAMS.get(python)
    if proc is None or proc._proc.poll() is not None:  # first use, or the runner stopped after a failure
        try:
            proc = OpenFiscaProcess(python, RUNNER)
        except (ConfigError, EngineError) as exc:  # the version check, or the runner died while loading
            raise OracleUnavailable(f"the OpenFisca runner could not start: {exc}") from exc
        _STREAMS[python] = proc
        atexit.register(proc.close)
    return proc


def run_oracle(situations: list[dict[str, Any]], python: Path | None = None, *, cache: bool = True
               ) -> list[dict[str, Any]]:
    """Results of OpenFisca-France (with our one correction) for web-API situations, in the same order; kept in
    ``$NONRECOURS_ORACLE_CACHE`` when set, keyed by the input, the pinned versions and the runner's source.
    Computed by one runner kept for the process (:func:`_stream`); ``cache=False``, for what times OpenFisca
    itself, loading included: always computed, by a runner of its own."""
    text = json.dumps(situations)
    cached = _cache_file(text) if cache else None
    if cached is not None and cached.exists():
        return json.loads(cached.read_text(encoding="utf-8"))
    python = python or ensure_oracle()
    if cache:
        from nonrecours.errors import EngineError

        try:
            out = json.dumps(_stream(python)(situations))
        except EngineError as exc:  # the runner stopped: its stderr's tail is in the message
            raise OracleUnavailable(f"the OpenFisca runner failed:\n{exc}") from exc
    else:
        with tempfile.TemporaryDirectory(prefix="nonrecours-oracle-") as tmp:
            src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
            src.write_text(text, encoding="utf-8")
            done = subprocess.run([str(python), str(RUNNER), "--input", str(src), "--output", str(dst)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                tail = "\n".join(done.stderr.splitlines()[-20:])
                raise OracleUnavailable(f"the OpenFisca runner failed:\n{tail}")
            out = dst.read_text(encoding="utf-8")
    if cached is not None:  # written whole then renamed: a parallel or interrupted run never reads half a file
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(f".{os.getpid()}.part")
        part.write_text(out, encoding="utf-8")
        part.replace(cached)
    return json.loads(out)


if __name__ == "__main__":
    print(ensure_oracle(sys.argv[1] if len(sys.argv) > 1 else None))
