"""SkillSwap as gunicorn serves it in production, but on the benchmark's fixed clock.

`gunicorn bench.wsgi:app` with the project's gunicorn.conf.py. Everything comes from the
environment as for `main:app` (SKILLSWAP_STORE, SECRET_KEY, RATELIMIT_ENABLED...), except the
clock, which is the generator's `NOW` so the generated future stays the future, and the
instance folder, which is the benchmark's work folder (BENCH_INSTANCE). With BENCH_RENDERING
(JSON: the viewer's id and the pages' paths) it also serves `/rendering/<page>`, each page's
template and context rendered with no store reads (bench/rendering.py).
"""

from __future__ import annotations

import json
import logging
import os

from bench.generate import NOW
from skillswap import create_app

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app({"CLOCK": lambda: NOW, "INSTANCE_PATH": os.environ["BENCH_INSTANCE"]})

if os.environ.get("BENCH_RENDERING"):
    from bench.harness import session_client
    from bench.rendering import add_rendering_pages

    wanted = json.loads(os.environ["BENCH_RENDERING"])
    add_rendering_pages(app, session_client(app, wanted["viewer"]), wanted["paths"])
