"""The benchmark still runs end to end: a short run of bench/ on SQLite, public and signed-in
scenarios, the large data seeded. It checks that every cell was served without errors and that
every acknowledged nomination was stored; it asserts no timing (the figures are bench/'s job).

Slow: skipped unless LOAD_TESTS is set."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if not os.environ.get("LOAD_TESTS"):
    pytest.skip("set LOAD_TESTS=1 to run the load and crash tests", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_benchmark_run_serves_every_cell(tmp_path: Path) -> None:
    figures = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--db",
            "sqlite",
            "--workers",
            "1",
            "--concurrency",
            "1,16",
            "--duration",
            "1",
            "--scenarios",
            "home,nominate,results,sheet",
            "--json",
            str(figures),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cells = json.loads(figures.read_text())["cells"]
    measured = {(cell["scenario"], cell["concurrency"]) for cell in cells}
    for scenario in ("base_page", "base_flow", "home", "nominate", "results", "sheet"):
        assert {(scenario, 1), (scenario, 16)} <= measured, scenario
    for cell in cells:
        # Named by what failed first: the whole cell is too long for pytest to show its end.
        what = (cell["scenario"], cell["concurrency"], cell["load"].get("error_kinds"))
        assert cell["load"]["completed"] > 0, what
        assert cell["load"]["errors"] == 0, what
        if cell["scenario"] in ("nominate", "base_flow"):
            assert cell["stored"] == cell["load"]["acknowledged"] > 0, cell
    # The table and the targets were printed.
    assert "Targets (issue 7)" in done.stdout


def test_the_batch_intake_benchmark_imports_every_row_once(tmp_path: Path) -> None:
    figures = tmp_path / "intake.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.intake", "--rows", "200", "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    cells = {cell["cell"]: cell for cell in json.loads(figures.read_text())}
    # Each cell checks its own count: the portal's stores 200 rows once, none the second time.
    assert set(cells) == {"baseline, 200 rows", "portal, 200 rows"}
    assert "nothing stored" in done.stdout


def test_a_short_run_of_the_vote_benchmark_counts_every_vote_once() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.vote", "--quick", "--votes", "100", "--concurrency", "16"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "counted 100 of 100 (every vote counted once)" in done.stdout
    for line in ("baseline insert", "vote cast", "vote confirm"):
        assert line in done.stdout
        assert "failed 0" in done.stdout.split(line)[1].split("\n")[0]
