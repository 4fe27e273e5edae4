"""Demo runs shared across the suite (built once per session; tests copy them before any change). One synthetic
territory of 1,500 persons (seed 4) is made once, by ``demo_result``: the demo itself on DuckDB, for the demo's
own tests, detection's scoring and the outputs on a demo workspace. Its truth, extracts, agreement and keys are
run again on Polars with the ``[ablation]`` stage (``demo_run``: the run and audit tests, the one run that
measures the ablation), and on Polars without it (``quick_run``: the tests that rerun a whole run). Making the
territory is the largest part of a demo (the truth's entitlements for 13 months), so it is made once.

Each of the three is built once per session, not once per pytest-xdist worker (``_built_once``): a worker that
needs one another is building waits for it and reads it, instead of spending its core on the same run (the two
workers used to build all three each, a third of the suite's time on two cores)."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings

from nonrecours.atomic import file_sha256, write_bytes
from nonrecours.audit import read_manifest

# no timing assertion in a test (the suite runs on shared, loaded machines): Hypothesis's default deadline of
# 200 ms per example failed a DuckDB literal test at 278 ms under load ("unreliable test timings")
settings.register_profile("nonrecours", deadline=None)
settings.load_profile("nonrecours")


T = TypeVar("T")


def _built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> T:
    """``build(folder)``'s result, built once per test session. Under pytest-xdist the session's temporary folder
    (the parent of each worker's, new for each session) is shared: the first worker to ask builds under a file
    lock there and pickles the result beside the folder (written whole, then renamed: a worker killed while
    writing leaves no half file); the others wait on the lock and unpickle it. A build that raised leaves a
    marker naming the error's type: the other workers fail at once, with it, instead of building again in turn.
    Alone (no xdist worker), the folder is the session's own, as any fixture's."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return build(tmp_path_factory.mktemp(name))
    root = tmp_path_factory.getbasetemp().parent
    folder, result, failed = root / name, root / f"{name}.pickle", root / f"{name}.failed"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if failed.exists():
                pytest.fail(f"the session's {name} failed to build on another worker: {failed.read_text()}")
            if result.exists():
                return pickle.loads(result.read_bytes())
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                value = build(folder)
            except BaseException as exc:
                failed.write_text(type(exc).__name__)
                raise
            write_bytes(result, pickle.dumps(value))
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_again(source: Path, out: Path, backend: str, *, ablation: bool,
               edit: Callable[[str], str] | None = None) -> Path:
    """``source``'s truth, extracts, agreement and keys run again under ``out`` with this backend (a finished run
    folder, as ``nonrecours run`` leaves it); ``edit``: applied to the run.toml's text before the run."""
    from nonrecours.config import load_config
    from nonrecours.demo import write_run_config
    from nonrecours.run import run
    from nonrecours.synth.extracts import extract_date

    for name in ("truth", "extracts", "keys"):
        shutil.copytree(source / name, out / name)
    shutil.copy2(source / "exchange.toml", out / "exchange.toml")
    extracts = {a: out / "extracts" / Path(f).name
                for a, spec in load_config(source / "run.toml").agencies.items() for f in spec.files}
    month = read_manifest(source)["config"]["months"][0]
    config = write_run_config(out, extracts, month, backend, ablation=ablation,
                              extract_date=extract_date(dt.date.fromisoformat(f"{month}-01")))
    if edit is not None:
        config.write_text(edit(config.read_text(encoding="utf-8")), encoding="utf-8")
    run(load_config(config))
    return out


@pytest.fixture(scope="session")
def run_again() -> Callable[..., Path]:
    """``_run_again``, for a test module's own rerun of a demo (its settings changed by ``edit``)."""
    return _run_again


@pytest.fixture(scope="session")
def demo_run(demo_result, tmp_path_factory) -> Path:
    """The demo's territory (``demo_result``: 1,500 persons) run on Polars with its ``[ablation]`` stage (the
    DuckDB run is ``demo_result``'s)."""
    return _built_once(tmp_path_factory, "demo-run",
                       lambda out: _run_again(demo_result.out, out, "polars", ablation=True))


@pytest.fixture
def run_copy(demo_run, tmp_path) -> Path:
    """A private copy of the demo run folder (key files keep their mode 600)."""
    return Path(shutil.copytree(demo_run, tmp_path / "run", symlinks=False))


@pytest.fixture(scope="session")
def quick_run(demo_run, tmp_path_factory) -> Path:
    """``demo_run``'s extracts, agreement and keys run again without the ``[ablation]``: a finished run folder
    cheap enough to rerun (a fifth of the run with its eight more detections). For the tests of rerunning
    itself (identity, restart after a kill, the run lock); the DuckDB rerun is tested on ``demo_result`` and the
    ablation stage on ``demo_run``."""
    return _built_once(tmp_path_factory, "quick-run",
                       lambda out: _run_again(demo_run, out, "polars", ablation=False))


@pytest.fixture
def quick_copy(quick_run, tmp_path) -> Path:
    """A private copy of ``quick_run`` (key files keep their mode 600)."""
    return Path(shutil.copytree(quick_run, tmp_path / "run", symlinks=False))


def output_hashes(folder: Path) -> dict[str, str]:
    """Every output of the manifest, and the manifest itself, by path → SHA-256 read from disk."""
    hashes = {o["path"]: file_sha256(folder / o["path"]) for o in read_manifest(folder)["outputs"]}
    hashes["manifest.json"] = file_sha256(folder / "manifest.json")
    return hashes


@pytest.fixture(scope="session")
def demo_result(tmp_path_factory) -> Any:
    """The demo's result (its outputs and facts) on 1,500 persons, with no secret in the environment (the demo
    makes its key files). Read only: a test that writes into it copies the folder first."""
    from nonrecours.demo import run_demo

    def build(out: Path) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("NONRECOURS_EXCHANGE_SECRET", raising=False)
            # the value of each exchange (eight more detections) is measured in ``demo_run``, on this territory
            return run_demo(out, persons=1_500, seed=4, ablation=False)

    return _built_once(tmp_path_factory, "demo-1500", build)


def pytest_configure(config: pytest.Config) -> None:
    """OpenFisca's answers kept in the pytest cache dir (tests/oracle/environment.run_oracle), keyed by the
    situations sent, the pinned OpenFisca versions and the runner's source: a rerun does not recompute them.
    ``-p no:cacheprovider`` (or a preset NONRECOURS_ORACLE_CACHE) leaves it as it is.

    Under ``--dist loadfile``, pytest-xdist (3.x) deals the files out by their number of tests, most first, unless
    told ``--no-loadscope-reorder``: that order put the files of one to four tests last, the Spark and OpenFisca
    ones among them (the longest of the suite, the other worker idle meanwhile), and files needing a demo run early
    on both workers (one waiting on the other's build). Set here, the files go out in the order of
    :func:`pytest_collection_modifyitems`."""
    import os

    from tests.oracle.environment import CACHE_ENV

    cache = getattr(config, "cache", None)
    if cache is not None and CACHE_ENV not in os.environ:
        os.environ[CACHE_ENV] = str(cache.mkdir("openfisca-oracle"))
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


DEMO_FIXTURES = ("quick_run", "demo_run", "demo_result")
"""The session's demo runs, each needing the next: a test file using one waits for its build (``_built_once``)."""


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Test files in an order that keeps both xdist workers busy to the end (pytest-xdist deals them out in this
    order, the next file to the first worker nearly done with its own: ``pytest_configure``), each file's tests
    together and in their order:

    0. the file needing the most demo runs (its worker builds them all: ``_built_once``);
    1. the files with a test marked ``slow`` and no demo run (Spark, OpenFisca, the DuckDB reference cases...):
       the other worker runs them while the first builds, instead of waiting on the lock for the same runs;
    2. the files with a slow test needing a demo run (built by then);
    3. the other files needing one;
    4. every other file: the short ones, last, so that neither worker is left with a long file alone at the end.
    """
    def need(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        return next((len(DEMO_FIXTURES) - i for i, f in enumerate(DEMO_FIXTURES) if f in names), 0)

    files: dict[str, int] = {}
    slow: set[str] = set()
    for item in items:
        path = str(item.path)
        files[path] = max(files.get(path, 0), need(item))
        if item.get_closest_marker("slow") is not None:
            slow.add(path)
    first = max(files, key=lambda p: files[p], default=None)  # the first file needing the most
    rank = {p: (0 if p == first and files[p] else (2 if files[p] else 1) if p in slow else 3 if files[p] else 4)
            for p in files}
    items.sort(key=lambda item: rank[str(item.path)])  # stable: each file's tests keep their order
