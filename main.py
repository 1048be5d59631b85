"""Entry point: `python main.py` (Replit's Run button, `make run`) and `gunicorn main:app`."""

from __future__ import annotations

import logging
import os

from werkzeug.serving import WSGIRequestHandler

from skillswap import compile_templates, create_app, refuse_to_abandon_data, start_mail_sender
from skillswap.web.logs import RedactFeedTokens


class QuietRequestHandler(WSGIRequestHandler):
    """The development server, naming no versions in its Server header."""

    def version_string(self) -> str:
        return "SkillSwap"


logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
# Here, not in create_app: `flask --app skillswap import` must be able to fill an empty store.
refuse_to_abandon_data(app)

if __name__ == "__main__":
    # Replit must bind every interface so its proxy can reach us; locally stay on loopback.
    host = os.environ.get("HOST", "0.0.0.0" if os.environ.get("REPL_ID") else "127.0.0.1")
    compile_templates(app)
    # Reminders and retries go out from a thread of this process (README: Mail).
    start_mail_sender(app)
    # The development server logs each request line: no feed secrets in them.
    logging.getLogger("werkzeug").addFilter(RedactFeedTokens())
    app.run(
        host=host,
        port=int(os.environ.get("PORT", "5000")),
        debug=False,
        request_handler=QuietRequestHandler,
    )
