"""Sampling a benchmarked server with py-spy (not a project dependency: ``.venv/bin/pip install py-spy``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ("start_py_spy",)


def start_py_spy(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """Record ``pid`` for ``seconds`` into ``output``: a flame graph for ``.svg``, else collapsed stacks.

    ``--gil`` keeps only the samples of the thread holding the GIL: one gateway process is bound by the GIL, so what
    holds it is what costs throughput.

    Raises:
        SystemExit: py-spy is not installed.
    """
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        raise SystemExit("profiling needs py-spy: .venv/bin/pip install py-spy (not a project dependency)")
    output_format = "flamegraph" if output.suffix == ".svg" else "raw"
    command = [py_spy, "record", "--pid", str(pid), "--duration", f"{max(1, int(seconds))}", "--rate", "200"]
    command += ["--gil", "--nonblocking", "--format", output_format, "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)
