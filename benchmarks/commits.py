"""The commit a benchmark measured, told one way by every script: a results file says which code its figures are of.

``commit()`` is what the scripts record (``"commit"`` in their results); it never records an empty string: outside
a git checkout, or for a revision git does not know, it says ``unknown``. Uncommitted changes are named when asked
(``changes_in``, a path such as ``src``): figures of a tree being edited are not the commit's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["UNKNOWN", "commit"]

ROOT = Path(__file__).resolve().parents[1]
UNKNOWN = "unknown"


def _git(checkout: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def commit(checkout: str | Path = ROOT, rev: str = "HEAD", *, short: bool = True,
           changes_in: str | None = None) -> str:
    """``rev``'s commit in the git checkout at ``checkout`` (this project's by default; short form unless ``short``
    is false), ``unknown`` when git cannot tell; with ``changes_in``, followed by ``+<path> changes`` when tracked
    files under that path differ from the commit."""
    sha = _git(Path(checkout), "rev-parse", *(["--short"] if short else []), "--verify", "--quiet", f"{rev}^{{commit}}")
    if not sha:
        return UNKNOWN
    if changes_in is not None and _git(Path(checkout), "status", "--porcelain", "--untracked-files=no", "--",
                                       changes_in):
        return f"{sha}+{changes_in} changes"
    return sha
