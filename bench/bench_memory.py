"""Promise 8 at full size: a 1,000,000-recipient campaign and the worker's memory.

Runs the suite's memory test (campaigns/tests/test_promise_memory.py) with a million
recipients and 40 s of sending instead of its small default, on PostgreSQL (DATABASE_URL, as
for the suite: pytest-django makes test_<name>). Prints the test's figures; last line:
RESULT recipients=… sent=… settled_mb=… highest_mb=… peak_mb=…

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postroom make bench-memory
    .venv/bin/python bench/bench_memory.py --recipients 200000 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "campaigns/tests/test_promise_memory.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=40.0)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("bench-memory needs PostgreSQL: set DATABASE_URL=postgres://…")
    env = {
        **os.environ,
        "POSTROOM_MEMORY_TEST_RECIPIENTS": str(args.recipients),
        "POSTROOM_MEMORY_TEST_SECONDS": str(args.seconds),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", TEST, "-s", "-q", "-p", "no:randomly", "-o", "timeout=0"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    output = run.stdout + run.stderr
    figures = [line for line in output.splitlines() if line.startswith(("promise 8:", "RESULT"))]
    if run.returncode != 0 or not figures:
        print(output[-4000:])
        sys.exit(run.returncode or 1)
    print("\n".join(sorted(figures, key=lambda line: line.startswith("RESULT"))))


if __name__ == "__main__":
    main()
