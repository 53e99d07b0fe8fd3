"""Entry point wrapper of the task scripts: a bad input or environment ends with one clear line, not a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from bertft_utils.errors import UsageError

TRACEBACK_VARIABLE = "BERTFT_TRACEBACK"


def run_cli(main: Callable[[], None]) -> None:
    """Run `main`; errors that describe bad input or a bad environment (UsageError: a flag, file, line and what to
    do; OSError: a path, the disk; ImportError: a missing optional extra) are printed as one line and exit with
    status 1. BERTFT_TRACEBACK=1 shows the traceback instead. Anything else, an internal ValueError included, is a
    bug: its traceback is shown."""
    try:
        main()
    except (UsageError, OSError, ImportError) as error:
        if os.environ.get(TRACEBACK_VARIABLE):
            raise
        print(f"error: {error}\n(set {TRACEBACK_VARIABLE}=1 to see where it was raised)", file=sys.stderr)
        sys.exit(1)
