"""Entry point: `python main.py` (Replit's Run button, `make run`) and `gunicorn main:app`."""

from __future__ import annotations

import logging
import os

from skillswap import compile_templates, create_app, refuse_to_abandon_data

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
app = create_app()
# Here, not in create_app: `flask --app skillswap import` must be able to fill an empty store.
refuse_to_abandon_data(app)

if __name__ == "__main__":
    # Replit must bind every interface so its proxy can reach us; locally stay on loopback.
    host = os.environ.get("HOST", "0.0.0.0" if os.environ.get("REPL_ID") else "127.0.0.1")
    compile_templates(app)
    app.run(host=host, port=int(os.environ.get("PORT", "5000")), debug=False)
