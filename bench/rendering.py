"""The second yardstick: each page's own template and context, rendered with no store reads.

For every page the HTTP part times, `add_rendering_pages` asks for it once in process, as the
viewer, and keeps the template and the context it was rendered with (Flask's public
`template_rendered` signal). `GET /rendering/<page>` then renders exactly that again, in the
same app under the same gunicorn, for a request with no login (an anonymous session that
already holds its CSRF token, as the viewer's does): no user to load, no page data to read,
so no store read at all. Its req/s over the reference page's is what
rendering that page allows on this machine: a ratio target it cannot reach cannot be reached by
reading less either, only by showing less.

The view is the stock Flask one (`render_template` with the kept context). It still passes
through the app's own request hooks (sessions, security headers, CSRF token), as every page does.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, render_template, template_rendered
from jinja2 import Template

# Flask adds these to every render itself; the kept context must not carry the capture's.
_PER_REQUEST = ("request", "session", "g", "config")


def capture(app: Flask, client: Any, paths: dict[str, str]) -> dict[str, tuple[str, dict]]:
    """(template name, context) of each page, as the logged-in `client` is shown it."""
    kept: dict[str, tuple[str, dict]] = {}
    current: list[tuple[Template, dict]] = []

    def rendered(sender: Flask, template: Template, context: dict, **extra: Any) -> None:
        current.append((template, context))

    with template_rendered.connected_to(rendered, app):
        for name, path in paths.items():
            current.clear()
            response = client.get(path)
            if response.status_code != 200 or not current:
                raise RuntimeError(f"{path} answered {response.status_code}, nothing to render")
            template, context = current[0]  # the page's own: macros and includes send none
            if template.name is None:
                raise RuntimeError(f"{path} rendered a template without a name")
            kept[name] = (
                template.name,
                {k: v for k, v in context.items() if k not in _PER_REQUEST},
            )
    return kept


def add_rendering_pages(app: Flask, client: Any, paths: dict[str, str]) -> None:
    """`GET /rendering/<page>`: each of `paths` rendered again from what it was rendered with."""
    kept: dict[str, tuple[str, dict]] = {}

    def rendering(page: str) -> str:
        if page not in kept:
            abort(404)
        name, context = kept[page]
        return render_template(name, **context)

    # Routes are added before the app answers its first request (the capture's), as Flask asks.
    app.add_url_rule("/rendering/<page>", "bench_rendering", rendering)
    kept.update(capture(app, client, paths))
