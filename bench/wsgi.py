"""SkillSwap as gunicorn serves it in production, but on the benchmark's fixed clock.

`gunicorn bench.wsgi:app` with the project's gunicorn.conf.py. Everything comes from the
environment as for `main:app` (SKILLSWAP_STORE, SECRET_KEY, RATELIMIT_ENABLED...), except the
clock, which is the generator's `NOW` so the generated future stays the future, and the
instance folder, which is the benchmark's work folder (BENCH_INSTANCE).
"""

from __future__ import annotations

import logging
import os

from bench.generate import NOW
from skillswap import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app({"CLOCK": lambda: NOW, "INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})
