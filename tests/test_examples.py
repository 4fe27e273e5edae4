"""The data team's notebook (examples/data_team.ipynb) runs end to end on a small territory, in a kernel of
this very interpreter, and its paired jupytext script says the same thing."""

from __future__ import annotations

import ast
import importlib
import json
import re
import shutil
import sys
import types
from pathlib import Path

import jupytext
import nbformat
import polars as pl
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import nonrecours

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "data_team.ipynb"
SCRIPT = EXAMPLES / "data_team.py"
PERSONS = 1_500  # small territory: the whole notebook in well under a minute
KERNEL = "nonrecours-test"


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source, tuple(c.metadata.get("tags", ()))) for c in nb.cells]


def out_of_sync(notebook: Path, script: Path) -> list[str]:
    """Where the notebook and its paired script differ: cell count, then each differing cell."""
    a, b = _cells(jupytext.read(notebook)), _cells(jupytext.read(script))
    if len(a) != len(b):
        return [f"{notebook.name} has {len(a)} cells, {script.name} {len(b)}"]
    return [f"cell {i}: {x[0]} differs" for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_notebook_and_script_are_in_sync():
    assert out_of_sync(NOTEBOOK, SCRIPT) == []
    nb = jupytext.read(NOTEBOOK)
    assert nb.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert sum(c.cell_type == "code" for c in nb.cells) >= 10


def test_a_changed_cell_is_out_of_sync(tmp_path):
    nb = jupytext.read(NOTEBOOK)
    nb.cells[3].source += "\nprint('edited in the notebook only')"
    edited = tmp_path / NOTEBOOK.name
    nbformat.write(nb, edited)
    assert out_of_sync(edited, SCRIPT) == ["cell 3: code differs"]


def test_committed_notebook_has_no_outputs():
    raw = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in raw["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    nbformat.validate(nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4))


def private_uses(script: Path) -> list[str]:
    """Names the script takes from nonrecours that are not in their module's ``__all__`` (``from m import x``,
    and ``m.x`` where ``m`` is a nonrecours module the script imported)."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    modules: dict[str, types.ModuleType] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nonrecours":
            module = importlib.import_module(node.module)
            for alias in node.names:
                try:  # a sub-package or module of the package
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                except ModuleNotFoundError:
                    value = getattr(module, alias.name, None)
                if isinstance(value, types.ModuleType):
                    modules[alias.asname or alias.name] = value
                elif alias.name not in getattr(module, "__all__", ()):
                    found.append(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "nonrecours" and alias.asname:
                    modules[alias.asname] = importlib.import_module(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
            module = modules[node.value.id]
            if node.attr not in module.__all__:
                found.append(f"{module.__name__}.{node.attr}")
    return found


def test_the_notebook_uses_only_the_public_api(tmp_path):
    assert private_uses(SCRIPT) == []
    probe = tmp_path / "probe.py"
    probe.write_text("from nonrecours import detection\nfrom nonrecours.detection.detect import _adults\n"
                     "detection.read_workspace('ws')\n")
    assert private_uses(probe) == ["nonrecours.detection.detect._adults", "nonrecours.detection.read_workspace"]


def _kernel(tmp_path: Path, env: dict[str, str]) -> KernelManager:
    """A kernel of this interpreter (never whatever `python3` kernel the machine has registered), importing
    the same nonrecours as this test."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    src = str(Path(nonrecours.__file__).resolve().parents[1])
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nonrecours tests", "language": "python",
        "env": {"PYTHONPATH": src, "MPLBACKEND": "module://matplotlib_inline.backend_inline", **env}}))
    ksm = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)


def test_the_kernel_is_this_interpreter_and_a_failing_cell_fails(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys, nonrecours\nprint(sys.executable)\nprint(nonrecours.__file__)"),
        nbformat.v4.new_code_cell("raise ValueError('a cell that fails')"),
        nbformat.v4.new_code_cell("print('never reached')")])
    with pytest.raises(CellExecutionError, match="a cell that fails"):
        NotebookClient(nb, km=_kernel(tmp_path, {}), timeout=60).execute()
    assert nb.cells[0].outputs[0].text.split() == [sys.executable, nonrecours.__file__]
    assert nb.cells[2].outputs == []


@pytest.mark.slow
def test_notebook_runs_on_a_small_territory(tmp_path, demo_result):
    """On a copy of the session's 1,500-person demo (tests/conftest.py): the notebook reads a finished run
    folder; its one other path, ``run_demo`` into an empty folder, is the demo the session built."""
    work = tmp_path / "work"
    shutil.copytree(demo_result.out, work / "run")
    km = _kernel(tmp_path, {"NONRECOURS_EXAMPLE_PERSONS": str(PERSONS), "NONRECOURS_EXAMPLE_DIR": str(work),
                            "NONRECOURS_EXAMPLE_RUN": str(work / "run")})
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # a failing cell raises CellExecutionError naming the cell and the error: the test fails with it
    NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    texts = []
    for c in code:
        for o in c.outputs:
            if o.output_type == "stream":
                texts.append(o.text)
            elif "data" in o:
                texts.append(o.data.get("text/plain", ""))
    text = "\n".join(texts)
    # the run it built, then each step's output
    run = work / "run"
    assert "synthetic run written" not in text  # it read the given run, never built one of its own
    assert (run / "manifest.json").exists() and (run / "workspace" / "quarantine").is_dir()
    assert "invalid NIR check key" in text or "missing NIR" in text  # the quarantine's reasons
    assert text.count("=== claimant ") == 3 and text.count("Conditions :") >= 3
    assert any("image/png" in o.get("data", {}) for c in code for o in c.outputs)  # the commune chart
    opened = re.search(r"(\d+) people for the CAF to contact; (\d+) with a CAF record, (\d+) record numbers opened",
                       text)
    assert opened and int(opened[2]) > 0 and opened[2] == opened[3]  # every CAF record opened with the CAF's key
    assert "refused: outreach_caf.parquet" in text
    # never a NIR on screen: the synthetic truth knows every NIR of the territory
    nirs = set(pl.read_parquet(run / "truth" / "identities.parquet")["nir"].drop_nulls().to_list())
    assert len(nirs) > PERSONS // 2
    shown = set(re.findall(r"\d{13,15}", text))
    assert not shown & nirs and not {n[:13] for n in nirs} & shown
