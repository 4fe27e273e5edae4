"""OpenFisca-France in its own Python interpreter, driven as a subprocess: this package never imports it (AGPL).

The oracle is the test-only environment of the rules (``tests/oracle/environment.py`` creates it, pinned to
openfisca-france :data:`OPENFISCA_FRANCE`); the user names its interpreter (``--oracle-python PATH`` or
``NONRECOURS_ORACLE_PYTHON``). :class:`OpenFiscaProcess` checks that interpreter's openfisca-france version,
starts our runner (``tests/oracle/openfisca_runner.py`` of the source tree, or ``NONRECOURS_ORACLE_RUNNER``) in
``--stream`` mode, so the tax-benefit system is loaded once, and sends it batches of web-API situations: the
runner merges each batch into one vectorised simulation and applies the ASPA/ASI nationality correction
(docs/oracle_disagreements.md). An instance is an :data:`Oracle` (situations in, results out, same order).

:func:`famille_values` reads the famille values of requested variables back from the results, and
:func:`our_benefits` names OpenFisca's variables as our benefits (one place for that correspondence).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from nonrecours.errors import ConfigError, EngineError
from nonrecours.simulation.export_openfisca import YEARLY

__all__ = ["LABEL_VARIABLES", "OPENFISCA_FRANCE", "PYTHON_ENV", "RUNNER_ENV", "OpenFiscaPool", "OpenFiscaProcess",
           "Oracle", "famille_values", "open_oracle", "oracle_python", "our_benefits"]

Oracle = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
OPENFISCA_FRANCE = "176.1.8"
"""The openfisca-france version the oracle is pinned to (tests/oracle/environment.py installs it)."""
PYTHON_ENV = "NONRECOURS_ORACLE_PYTHON"
RUNNER_ENV = "NONRECOURS_ORACLE_RUNNER"
_SOURCE_RUNNER = Path(__file__).resolve().parents[3] / "tests" / "oracle" / "openfisca_runner.py"
LABEL_VARIABLES: tuple[str, ...] = ("rsa", "ppa", "aspa", "cmu_c", "css_participation_forfaitaire")
"""The famille variables that label entitlement to the benefits detection covers (see :func:`our_benefits`)."""


def oracle_python(python: str | Path | None = None) -> Path:
    """The oracle's interpreter (``python``, else ``NONRECOURS_ORACLE_PYTHON``), checked to hold the pinned
    openfisca-france; a :class:`ConfigError` says what is missing and how to get it."""
    value = python or os.environ.get(PYTHON_ENV)
    how = (f"create it with `python tests/oracle/environment.py` (a virtual environment with "
           f"openfisca-france=={OPENFISCA_FRANCE}) and give its bin/python")
    if not value:
        raise ConfigError(f"labelling with OpenFisca needs the oracle's Python: give --oracle-python PATH or set "
                          f"{PYTHON_ENV}; {how}")
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"oracle Python {path} does not exist; {how}")
    probe = subprocess.run([str(path), "-c", "import importlib.metadata as m; print(m.version('openfisca-france'))"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise ConfigError(f"oracle Python {path} has no openfisca-france installed; {how}")
    version = probe.stdout.strip()
    if version != OPENFISCA_FRANCE:
        raise ConfigError(f"oracle Python {path} holds openfisca-france {version}, the oracle is pinned to "
                          f"{OPENFISCA_FRANCE}; {how}")
    return path


def _runner(runner: str | Path | None) -> Path:
    path = Path(runner or os.environ.get(RUNNER_ENV) or _SOURCE_RUNNER)
    if not path.is_file():
        raise ConfigError(f"the OpenFisca runner {path} is not there: it lives in the source tree "
                          f"(tests/oracle/openfisca_runner.py, outside the package); set {RUNNER_ENV} to it")
    return path


class OpenFiscaProcess:
    """One OpenFisca-France runner process; call it with a batch of situations, close it when done.

    ``households`` and ``seconds`` add up what it computed and how long the calls took (the rate of the oracle,
    loading excluded: ``load_seconds``)."""

    def __init__(self, python: str | Path | None = None, runner: str | Path | None = None, *,
                 wait: bool = True) -> None:
        self.python = oracle_python(python)
        self.runner = _runner(runner)
        self.households = 0
        self.seconds = 0.0
        self.load_seconds = 0.0
        self._err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._started = time.perf_counter()
        self._proc = subprocess.Popen([str(self.python), str(self.runner), "--stream"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._err,  # a file: a pipe could fill and block
                                      text=True, encoding="utf-8")
        self._ready = False
        self._send([])  # the tax-benefit system is loaded before the first batch: load it now, timed apart
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the runner has loaded the tax-benefit system (several processes load at once)."""
        if not self._ready:
            self._receive(0)
            self._ready = True
            self.load_seconds = time.perf_counter() - self._started

    def _failure(self) -> EngineError:
        code = self._proc.wait()
        self._err.seek(0)
        tail = "\n".join(self._err.read().splitlines()[-12:])
        return EngineError(f"the OpenFisca runner {self.runner.name} stopped (exit {code}):\n{tail}")

    def _send(self, situations: list[dict[str, Any]]) -> None:
        if self._proc.poll() is not None or self._proc.stdin is None:
            raise self._failure()
        try:
            self._proc.stdin.write(json.dumps(situations) + "\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._failure() from None

    def _receive(self, n: int) -> list[dict[str, Any]]:
        line = self._proc.stdout.readline() if self._proc.stdout is not None else ""
        if not line:
            raise self._failure()
        results = json.loads(line)
        if len(results) != n:
            raise EngineError(f"the OpenFisca runner answered {len(results)} results for {n} situations")
        return results

    def __call__(self, situations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.wait_ready()
        started = time.perf_counter()
        self._send(list(situations))
        results = self._receive(len(situations))
        self.seconds += time.perf_counter() - started
        self.households += len(situations)
        return results

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._err.close()

    def __enter__(self) -> OpenFiscaProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



class OpenFiscaPool:
    """Several runner processes (one per core to spare): each batch is cut in ``workers`` parts computed at
    once, the results put back in order. The same :data:`Oracle` interface and counters as one process."""

    def __init__(self, python: str | Path | None = None, runner: str | Path | None = None, *,
                 workers: int = 2) -> None:
        if workers < 1:
            raise ConfigError("the oracle needs at least one worker")
        started = time.perf_counter()
        self.processes: list[OpenFiscaProcess] = []
        try:
            for _ in range(workers):  # started together: they load the tax-benefit system at the same time
                self.processes.append(OpenFiscaProcess(python, runner, wait=False))
            for proc in self.processes:
                proc.wait_ready()
        except BaseException:
            self.close()
            raise
        self.load_seconds = time.perf_counter() - started
        self.households = 0
        self.seconds = 0.0

    def __call__(self, situations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from concurrent.futures import ThreadPoolExecutor

        started = time.perf_counter()
        n = len(self.processes)
        size = -(-len(situations) // n) if situations else 0
        parts = [list(situations[k * size:(k + 1) * size]) for k in range(n)] if size else [[] for _ in range(n)]
        with ThreadPoolExecutor(n) as pool:  # each thread waits on its process's pipe
            answers = list(pool.map(lambda pair: pair[0](pair[1]), zip(self.processes, parts, strict=True)))
        self.seconds += time.perf_counter() - started
        self.households += len(situations)
        return [r for answer in answers for r in answer]

    def close(self) -> None:
        for proc in self.processes:
            proc.close()

    def __enter__(self) -> OpenFiscaPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_oracle(python: str | Path | None = None, runner: str | Path | None = None, *,
                workers: int = 1) -> OpenFiscaProcess | OpenFiscaPool:
    """One runner process, or a pool of ``workers``."""
    return OpenFiscaProcess(python, runner) if workers == 1 else OpenFiscaPool(python, runner, workers=workers)


def famille_values(index: pl.DataFrame, situations: Sequence[Mapping[str, Any]], results: Sequence[Mapping[str, Any]],
                   requested: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """One row per famille of ``index`` (famille_id, position, famille, menage, period YYYY-MM) with the
    requested values: famille variables as they are, ménage variables of its ménage, individu variables
    summed over its members; a variable defined for a year (:data:`YEARLY`) read at the period's year. A value the
    situation states (a paid benefit of the month, ``export_situations(paid_this_month=True)``) is not in the
    results: it is read from the situation."""
    fam_vars = tuple(requested.get("familles", ()))
    ind_vars = tuple(requested.get("individus", ()))
    men_vars = tuple(requested.get("menages", ()))
    cols: dict[str, list[Any]] = {"famille_id": [], **{v: [] for v in (*fam_vars, *ind_vars, *men_vars)}}
    for fid, pos, key, mkey, per in index.select("famille_id", "position", "famille", "menage", "period").iter_rows():
        res, sit = results[pos], situations[pos]
        cols["famille_id"].append(fid)
        for v in fam_vars:
            cols[v].append(_value_of(res, sit, "familles", key, v, per))
        for v in men_vars:  # one famille per ménage in the export (a hosted famille is its own ménage)
            cols[v].append(_value_of(res, sit, "menages", mkey, v, per))
        members = sit["familles"][key]["parents"] + sit["familles"][key].get("enfants", [])
        for v in ind_vars:
            cols[v].append(sum(_value_of(res, sit, "individus", p, v, per) for p in members))
    return pl.DataFrame(cols, schema_overrides={"famille_id": index.schema["famille_id"]})


def _value_of(result: Mapping[str, Any], situation: Mapping[str, Any], plural: str, eid: str, v: str,
              period: str) -> Any:
    """``v`` of entity ``eid`` at ``period`` (its year for a :data:`YEARLY` variable): computed, or as the situation
    states it."""
    computed = result[plural][eid]
    return (computed if v in computed else situation[plural][eid])[v][period[:4] if v in YEARLY else period]


def our_benefits(values: pl.DataFrame) -> pl.DataFrame:
    """OpenFisca's :data:`LABEL_VARIABLES` named as our benefits: rsa, ppa, aspa (amounts), css_free (the
    CSS without participation, ``cmu_c``), css_participation and its monthly amount
    (``css_participation_forfaitaire`` > 0), of the variables ``values`` holds (a labelling pass may ask some)."""
    have = set(values.columns)
    css = ([pl.col("cmu_c").cast(pl.Boolean).alias("css_free")] if "cmu_c" in have else []) + (
        [(pl.col("css_participation_forfaitaire") > 0).alias("css_participation"),
         pl.col("css_participation_forfaitaire").cast(pl.Float64).alias("css_participation_monthly")]
        if "css_participation_forfaitaire" in have else [])
    return values.with_columns(
        *css, *(pl.col(b).cast(pl.Float64) for b in ("rsa", "ppa", "aspa") if b in have),
    ).drop("cmu_c", "css_participation_forfaitaire", strict=False)
