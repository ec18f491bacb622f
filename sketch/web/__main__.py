"""`python -m sketch.web module:factory`, as `python -m aiohttp.web` (sketch/cli.py)."""

from ..cli import main

main()
