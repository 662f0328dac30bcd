"""``python -m sw``: see sw.cli."""

import sys

from .cli import main

sys.exit(main())
