"""What one request costs in machine instructions: steady where timings are not.

    python bench/instructions.py [--path hello] [--tracing off]
    python bench/instructions.py --path routed --against aiohttp   (or asgi)

Runs bench/cost.py twice under valgrind's callgrind (Debian: apt-get install valgrind),
for a short and a longer batch, and divides the difference in instructions by the
difference in requests: startup, imports and warm-up cancel out. Instructions are not
seconds, but on a machine shared with other work they are the same from run to run, so
two versions of sketch can be compared with one run each (it takes a minute or two).
`--against aiohttp` counts aiohttp's request too (the same app, untraced), `--against
asgi` the bare ASGI app's on uvicorn, and prints the ratio: a comparison that does not
move with the machine's load, beside make bench's.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def instructions(
    path: str, tracing: str, requests: int, warmup: int, framework: str = "sketch"
) -> int:
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
            "--framework",
            framework,
        ],  # fmt: skip
        capture_output=True,
        encoding="utf-8",
        check=True,
    ).stderr
    return int(re.search(r"Collected : (\d+)", out).group(1))


def per_request(path: str, tracing: str, requests: int, framework: str = "sketch") -> float:
    """Instructions per request: two runs, the difference over the extra requests."""
    short = instructions(path, tracing, 200, warmup=200, framework=framework)
    long = instructions(path, tracing, 200 + requests, warmup=200, framework=framework)
    return (long - short) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="hello", choices=("hello", "routed"))
    parser.add_argument("--tracing", default="off")
    parser.add_argument("--requests", type=int, default=2000, help="the longer batch")
    parser.add_argument(
        "--against", choices=("aiohttp", "asgi"), help="count its request too (asgi: on uvicorn)"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    if args.against and args.tracing != "off":
        parser.error("--against compares untraced requests: leave --tracing out")
    ours = per_request(args.path, args.tracing, args.requests)
    print(f"{args.path} {args.tracing}: {ours:,.0f} instructions per request")
    if args.against:
        theirs = per_request(args.path, "off", args.requests, framework=args.against)
        print(f"{args.path} on {args.against}: {theirs:,.0f} instructions per request")
        print(f"{args.against} / sketch: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
