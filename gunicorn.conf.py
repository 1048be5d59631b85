"""Production server settings, used by the Replit deployment and `make bench`.

`gunicorn -c gunicorn.conf.py main:app`. The app is built in each worker after the fork (no
preload), so no store connection, pool or lock is ever shared between processes.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from skillswap.settings import choose_store_url, replit_url_file
from skillswap.web.logs import redact

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"


def _store_is_local() -> bool:
    """Will the app use SQLite? Decided as the app decides it (settings.choose_store_url);
    the instance folder only names the file, not the kind of store."""
    instance = os.path.join(os.path.dirname(os.path.abspath(__file__)), "instance")
    return choose_store_url(instance, replit_url_file()).startswith("sqlite")


# Sync workers, chosen by measurement (issue 22): 50 people booking one slot at once on the
# small community, 2 cores, SQLite, three rounds each, median p95 of the answers: 2 sync
# workers 126 ms, 4 sync workers 145 ms, 2 workers x 4 threads (gthread) 254 ms. On SQLite a
# request is CPU work, so more workers than cores only take turns, and threads share one
# GIL. On a store across a network (Replit DB, PostgreSQL) a request mostly waits, so two
# workers per core keep the CPU busy. Capped for memory.
_cores = multiprocessing.cpu_count()
workers = int(
    os.environ.get("WEB_CONCURRENCY", _cores if _store_is_local() else min(2 * _cores, 8))
)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 30
graceful_timeout = 20
keepalive = 5
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


class RedactingLogger(Logger):
    """gunicorn's logger with calendar feed secrets taken out of every access-log field."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        found = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in found.items()}


logger_class = RedactingLogger
# Behind Replit's (or any) proxy the app's ProxyFix decides whom to trust (PROXY_FIX_HOPS).
forwarded_allow_ips = "127.0.0.1"
# gunicorn 27 opens a control socket at one path per user by default; two servers on one
# machine (tests, the benchmark's reference app) would fight over it.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """Compile every template before the first request, then move the app, its templates and
    imports (built now, living as long as the worker) out of the cycle collector's sight, so a
    collection walks only what requests create (on a match page that halved the slowest
    requests)."""
    import gc

    from skillswap import compile_templates, start_mail_sender

    app = getattr(worker, "wsgi", None)
    if hasattr(app, "jinja_env"):  # a Flask app (main:app, bench.wsgi:app)
        compile_templates(app)
        # Each worker's sender thread, started after the fork: reminders go out even before
        # the first request (the queue and the claims make several senders safe).
        start_mail_sender(app)
    gc.freeze()
