"""Atomic writes: a process killed in the middle of a write leaves the old file whole (or none) and at most
a partial file, which the next run removes; Ctrl-C removes its own partial file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from nonrecours.atomic import PARTIAL, atomic_path, clean_partials, write_json, write_parquet

SRC = str(Path(__file__).resolve().parents[1] / "src")
WRITER = """
import sys, time
from nonrecours.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    with open(tmp, "wb") as fh:
        fh.write(b"new" * 1000)
        fh.flush()
        print("writing", flush=True)
        time.sleep(60)
"""


def _writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": SRC})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_during_a_write(tmp_path, sig):
    target = tmp_path / "out" / "table.parquet"
    target.parent.mkdir()
    target.write_bytes(b"old whole file")
    proc = _writer(target)
    proc.send_signal(sig)
    proc.wait(timeout=10)
    assert target.read_bytes() == b"old whole file"  # never half of the new one
    left = list(target.parent.glob(f"*{PARTIAL}*"))
    assert len(left) == 1
    assert clean_partials(tmp_path) == left and not list(target.parent.glob(f"*{PARTIAL}*"))


def test_interrupt_removes_its_partial(tmp_path):
    target = tmp_path / "a.json"
    proc = _writer(target)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=10)
    assert proc.returncode != 0
    assert not target.exists() and not list(tmp_path.iterdir())


def test_writers_are_deterministic(tmp_path):
    frame = pl.DataFrame({"a": [3, 1, 2], "b": ["x", "é", None]})
    one, two = write_parquet(tmp_path / "1.parquet", frame), write_parquet(tmp_path / "2.parquet", frame)
    assert one.read_bytes() == two.read_bytes()
    j1 = write_json(tmp_path / "1.json", {"b": 1, "a": [1.5]})
    j2 = write_json(tmp_path / "2.json", {"a": [1.5], "b": 1})
    assert j1.read_bytes() == j2.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "3.txt") as tmp:
        tmp.write_text("half")
        raise RuntimeError("failed while writing")
    assert not (tmp_path / "3.txt").exists() and not list(tmp_path.glob(f"*{PARTIAL}*"))
