"""The benchmark's yardstick: a minimal Flask app rendering a 50-item Jinja list.

Served by the same gunicorn settings as SkillSwap (`gunicorn bench.reference_app:app`), it says
what this machine, this Python and this server can do for a trivial page, so SkillSwap's pages
are reported as a ratio to it rather than as bare requests per second.
"""

from __future__ import annotations

from flask import Flask, render_template
from jinja2 import DictLoader

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<ul>{% for item in items %}
  <li id="item-{{ item.id }}"><strong>{{ item.name }}</strong> {{ item.detail }}</li>
{% endfor %}</ul></body></html>"""

ITEMS = [{"id": i, "name": f"Item {i}", "detail": f"Detail number {i} & more"} for i in range(50)]

app = Flask(__name__)
# A template compiled once and cached, as SkillSwap's file templates are.
app.jinja_loader = DictLoader({"list.html": PAGE})  # type: ignore[assignment]


@app.get("/")
@app.get("/login")  # the launcher waits for /login to answer 200, as it does for SkillSwap
def index() -> str:
    return render_template("list.html", title="Reference", items=ITEMS)
