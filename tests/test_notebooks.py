"""The notebooks in notebooks/ (issue 7): committed without outputs, and they run top to bottom
against the bundled samples (a failing cell fails the test)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 120


def test_the_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} >= {"post_mortem.ipynb", "fleet_scan.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs: strip them"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"
        assert "attachments" not in cell or not cell.attachments, f"{path.name} cell {i} has attachments"
    assert "widgets" not in nb.metadata


def _run(path: Path, cwd: Path, monkeypatch):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from nbclient import NotebookClient
    # the kernel imports this checkout's loganalyzer (the notebooks also put it first on sys.path)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()          # raises CellExecutionError when a cell fails
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{path.name} cell {i}: {out.get('ename')}: {out.get('evalue')}"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in out.text, f"{path.name} cell {i} printed a traceback:\n{out.text}"
    return nb


def _text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def _images(nb) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))


def test_post_mortem_runs_from_the_notebooks_folder(monkeypatch):
    nb = _run(ROOT / "notebooks" / "post_mortem.ipynb", ROOT / "notebooks", monkeypatch)
    text = _text(nb)
    assert "dconn-keepalive-timeout" in text
    assert "0x7fd78402e550" in text                    # the dconn client it follows
    assert "RPC_CLIENT_DISPOSE" in text
    assert _images(nb) >= 1                            # the timeline


def test_fleet_scan_runs_from_the_repo_root(monkeypatch):
    nb = _run(ROOT / "notebooks" / "fleet_scan.ipynb", ROOT, monkeypatch)
    text = _text(nb)
    for cause in ("dconn-keepalive-timeout", "domain-exists", "lock-timeout", "cancelled"):
        assert cause in text
    for host in ("hv01", "hv02", "hv03", "hv04"):
        assert host in text
    assert _images(nb) >= 1                            # the counts (and the timeline)
