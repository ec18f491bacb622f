"""What one request costs in machine instructions: steady where timings are not.

    python bench/instructions.py [--path hello] [--tracing off]

Runs bench/cost.py twice under valgrind's callgrind (Debian: apt-get install valgrind),
for a short and a longer batch, and divides the difference in instructions by the
difference in requests: startup, imports and warm-up cancel out. Instructions are not
seconds, but on a machine shared with other work they are the same from run to run, so
two versions of sketch can be compared with one run each (it takes a minute or two).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def instructions(path: str, tracing: str, requests: int, warmup: int) -> int:
    """Instructions callgrind counted for a whole run of cost.py."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            str(HERE / "cost.py"),
            "--requests",
            str(requests),
            "--batches",
            "1",
            "--warmup",
            str(warmup),
            "--path",
            path,
            "--tracing",
            tracing,
        ],  # fmt: skip
        capture_output=True,
        encoding="utf-8",
        check=True,
    ).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="hello", choices=("hello", "routed"))
    parser.add_argument("--tracing", default="off")
    parser.add_argument("--requests", type=int, default=2000, help="the longer batch")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    short = instructions(args.path, args.tracing, 200, warmup=200)
    long = instructions(args.path, args.tracing, 200 + args.requests, warmup=200)
    per_request = (long - short) / args.requests
    print(f"{args.path} {args.tracing}: {per_request:,.0f} instructions per request")


if __name__ == "__main__":
    main()
