"""`python -m bench [--quick]`: see bench/harness.py."""

from __future__ import annotations

import sys
import traceback

from bench.harness import main

try:
    status = main()
except KeyboardInterrupt:
    status = 130
except Exception:
    traceback.print_exc()
    print("the benchmark could not run to the end (exit status 2)", file=sys.stderr)
    status = 2
sys.exit(status)
