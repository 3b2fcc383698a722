"""`python -m backend.cli`: the `toolpress` command."""

import sys

from backend.cli import main

sys.exit(main())
