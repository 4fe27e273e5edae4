"""benchmarks/commits.py: the commit every benchmark records, on a throwaway git checkout."""

from __future__ import annotations

import subprocess

from tests.benches import load_bench


def _git(path, *args):  # type: ignore[no-untyped-def]
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_recorded_names_the_code_measured(tmp_path):
    commits = load_bench("commits")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "m.py").write_text("x = 1\n")
    (repo / "README.md").write_text("r\n")
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "one")
    head = _git(repo, "rev-parse", "HEAD")
    short = commits.commit(repo)
    assert head.startswith(short) and 7 <= len(short) < len(head)
    assert commits.commit(repo, short=False) == head
    assert commits.commit(repo, changes_in="src") == short  # nothing changed
    (repo / "README.md").write_text("edited\n")
    assert commits.commit(repo, changes_in="src") == short  # a change elsewhere is not the code's
    (repo / "src" / "m.py").write_text("x = 2\n")
    assert commits.commit(repo, changes_in="src") == f"{short}+src changes"
    assert commits.commit(repo, "no-such-branch") == commits.UNKNOWN
    assert commits.commit(tmp_path / "not-a-checkout") == commits.UNKNOWN  # never an empty string
