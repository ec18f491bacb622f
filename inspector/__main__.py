"""`python -m inspector ...`: see inspector/cli.py."""

import sys

from .cli import main

sys.exit(main())
