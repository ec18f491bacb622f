"""How many microseconds of Python per request a throughput target leaves.

    python bench/budget.py [--duration 3] [--rounds 2]

The ceiling protocol (bench/ceiling.py) is run with a busy-wait of 0, 2, 4, ... µs per
request, answering at once and answering in batches (as sketch does), under the same
wrk load as `make bench`, with aiohttp's hello beside it. The table reads as: a server
of this design that spends this much Python per request cannot go faster than this.
Compare with sketch's own cost per request from bench/cost.py.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys

from run import HERE, Target, measure

SPINS = (0, 2, 4, 6, 8, 10, 13, 16, 20, 28, 36)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: `apt-get install wrk` (make bench does it for you)")
    py, ceiling = sys.executable, str(HERE / "ceiling.py")
    aiohttp = Target("aiohttp hello", [py, str(HERE / "hello_app.py"), "aiohttp", "{port}"], "/")
    found = [aiohttp]
    for spin in SPINS:
        for batch in ([], ["--batch"]):
            name = f"{spin} {'batch' if batch else 'now'}"
            found.append(Target(name, [py, ceiling, "{port}", "--spin", str(spin), *batch], "/"))
    for round_number in range(1, args.rounds + 1):
        for target in found:
            measure(target, args.duration, 50)
            print(f"round {round_number}: {target.name:14} {target.rates[-1]:>10,.0f} req/s")
    base = statistics.median(aiohttp.rates)
    print(f"\naiohttp hello: {base:,.0f} req/s\n")
    print(f"{'µs of Python':>12} {'answer now':>12} {'in batches':>12} {'best / aiohttp':>15}")
    for spin in SPINS:
        now = statistics.median(found[1 + 2 * SPINS.index(spin)].rates)
        batched = statistics.median(found[2 + 2 * SPINS.index(spin)].rates)
        print(f"{spin:>12} {now:>12,.0f} {batched:>12,.0f} {max(now, batched) / base:>14.2f}x")


if __name__ == "__main__":
    main()
