"""The command line's entry point sets Polars' allocator for a batch run before Polars loads, and keeps a setting
the user made (``nonrecours.__main__``)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points

from nonrecours.__main__ import ALLOCATOR

_PROBE = """
import os, sys
sys.argv = ["nonrecours", "--version"]
import nonrecours.__main__ as entry
try:
    entry.main()
except SystemExit:
    pass
import polars
print("CONF=" + os.environ["_RJEM_MALLOC_CONF"])
"""


def _conf(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, env=env,
                          check=True)
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("CONF=")]
    return line.removeprefix("CONF=")


def test_the_command_line_sets_the_batch_allocator_after_polars_own() -> None:
    """Polars prefixes its interactive defaults; ours follow them, so jemalloc keeps ours (the last of a key)."""
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    conf = _conf(env)
    assert conf.endswith("," + ALLOCATOR)
    assert conf.startswith("dirty_decay_ms:500,")


def test_a_setting_of_the_user_is_kept() -> None:
    env = {**os.environ, "_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}
    conf = _conf(env)
    assert conf.endswith(",dirty_decay_ms:0,muzzy_decay_ms:0")
    assert ALLOCATOR not in conf


def test_the_console_script_is_this_entry_point() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "nonrecours"]
    assert script.value == "nonrecours.__main__:main"
