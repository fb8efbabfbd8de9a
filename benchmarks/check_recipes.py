"""Time `tfcompress check` on every recipe under configs/ (issue 12: under 30 s each).

    python benchmarks/check_recipes.py --records docs/runs/check_recipes

Each recipe is checked against a fresh temporary output directory, in its own process (as a
user runs it: Python and TensorFlow start-up included). A recipe whose inputs are not on this
machine (a run not trained yet) fails its check with one error line; that line is recorded.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def check(recipe, output_dir):
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfcompress.cli",
            "check",
            "--config",
            str(recipe),
            "--output-dir",
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    errors = [line for line in result.stderr.splitlines() if line.startswith("tfcompress")]
    return {"exit": result.returncode, "seconds": round(seconds, 1), "error": errors[:1]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", required=True)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for recipe in sorted((ROOT / "configs").rglob("*.yaml")):
            name = str(recipe.relative_to(ROOT))
            results[name] = check(recipe, Path(scratch) / name.replace("/", "_"))
            print(name, results[name], flush=True)
    passed = [r["seconds"] for r in results.values() if r["exit"] == 0]
    summary = {
        "recipes": len(results),
        "checked_ok": len(passed),
        "max_seconds_ok": max(passed, default=None),
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    records = Path(args.records)
    records.mkdir(parents=True, exist_ok=True)
    (records / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(passed)} of {len(results)} recipes checked; slowest {summary['max_seconds_ok']} s")


if __name__ == "__main__":
    main()
