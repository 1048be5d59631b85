"""Pages, error pages and the headers every response carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from skillswap.store import StoreUnavailable
from tests.support.app_fixtures import AuthActions, Clock, close_app, make_app
from tests.web.test_auth import Page, location, logged_in_as, page, store, user_records

# --- home page -----------------------------------------------------------------------------


def _nav(p: Page):
    return p.all("nav", aria_label="Main")[0]


def _links(node) -> dict[str, str]:
    return {a.text: a.attrs["href"] for a in node.walk() if a.tag == "a"}


def test_home_logged_out_offers_sign_up_and_log_in(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    p = page(response)
    nav = _links(_nav(p))
    assert nav["Sign up"] == "/signup"
    assert nav["Log in"] == "/login"
    assert "Profile" not in nav
    assert "Log out" not in [b.text for b in p.all("button")]
    assert not p.all("form", action="/logout")
    main = _links(p.all("main")[0])
    assert main["Sign up"] == "/signup"
    assert main["Log in"] == "/login"
    assert "Learn from people, teach people" in p.main_text


def test_home_logged_in_welcomes_by_name_with_log_out(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup("ada")
    client.get("/")  # the flash from signup is shown once
    p = page(client.get("/"))
    assert "Welcome back, ada" in p.main_text
    nav = _nav(p)
    assert "Hi, ada" in nav.text
    assert "Sign up" not in _links(nav)
    assert "Log in" not in _links(nav)
    # "Log out" opens the page that asks: the nav has no form (no token signed on every page).
    assert _links(nav)["Log out"] == "/logout"
    assert not [f for f in nav.walk() if f.tag == "form"]


def test_home_logged_in_links_only_to_pages_that_exist(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup("ada")
    p = page(client.get("/"))
    assert _links(_nav(p))["Profile"] == "/profile"
    hrefs = {a.attrs["href"] for a in p.all("a")}
    local = sorted(h for h in hrefs if h.startswith("/"))
    assert local, "the page links somewhere"
    for href in local:
        status = client.get(href).status_code
        assert status in (200, 302), f"{href} answers {status}"
        assert status != 404


def test_home_logged_out_links_all_work(client: FlaskClient) -> None:
    p = page(client.get("/"))
    for href in sorted({a.attrs["href"] for a in p.all("a") if a.attrs["href"].startswith("/")}):
        assert client.get(href).status_code == 200, href


def test_display_name_is_shown_and_escaped(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup("ada")
    s = store(app)
    key = s.keys("user/")[0]
    s.put(key, {**s.get(key), "display_name": "<script>alert(1)</script>Ada"})
    p = page(client.get("/"))
    assert "Welcome back, <script>alert(1)</script>Ada" in p.main_text
    assert "<script>alert(1)" not in p.html
    assert "&lt;script&gt;" in p.html


def test_profile_shows_the_account(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup("ada", timezone="America/New_York")
    response = client.get("/profile")
    assert response.status_code == 200
    text = page(response).main_text
    assert "ada" in text
    assert "America/New_York" in text


def test_static_assets_are_served(client: FlaskClient) -> None:
    p = page(client.get("/"))
    css = [link.attrs["href"] for link in p.all("link", rel="stylesheet")]
    scripts = [s.attrs["src"] for s in p.all("script")]
    assert css and scripts
    for href, kind in [(h, "text/css") for h in css] + [(h, "javascript") for h in scripts]:
        with client.get(href) as response:
            assert response.status_code == 200, href
            assert response.get_data()
            assert kind in response.mimetype


# --- error pages ---------------------------------------------------------------------------


def test_unknown_url_gives_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    p = page(response)
    assert "Page not found" in p.main_text
    assert _links(p.all("main")[0])["Go to the home page"] == "/"
    assert "Traceback" not in p.html
    assert "Not Found</h1>" not in p.html  # not werkzeug's bare page


def test_404_keeps_the_logged_in_nav(client: FlaskClient, auth: AuthActions) -> None:
    auth.signup("ada")
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "Hi, ada" in _nav(page(response)).text


@pytest.mark.parametrize(("method", "path"), [("put", "/login"), ("post", "/"), ("delete", "/")])
def test_wrong_method_gives_a_friendly_405(client: FlaskClient, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert "Not allowed" in page(response).main_text


def test_post_to_an_unknown_url_gives_404(client: FlaskClient) -> None:
    response = client.post("/no/such/page", data={"x": "1"})
    assert response.status_code == 404
    assert "Page not found" in page(response).main_text


def test_too_large_a_form_gives_a_friendly_413(app: Flask, client: FlaskClient) -> None:
    response = client.post("/signup", data={"username": "ada", "email": "x" * (300 * 1024)})
    assert response.status_code == 413
    assert "Too much data" in page(response).main_text
    assert user_records(app) == []


@pytest.fixture
def friendly_app(tmp_path: Path, clock: Clock):
    app = make_app(tmp_path, clock, FRIENDLY_500_IN_TESTS=True)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail 0xdeadbeef")

    @app.get("/store-down")
    def store_down() -> str:
        raise StoreUnavailable("replit db timed out at 10.0.0.7")

    yield app
    store(app).close()


def test_unexpected_error_gives_a_friendly_500(friendly_app: Flask) -> None:
    response = friendly_app.test_client().get("/boom")
    assert response.status_code == 500
    p = page(response)
    assert "Something went wrong on our side" in p.main_text
    for leak in ("Traceback", "RuntimeError", "secret internal detail", "0xdeadbeef"):
        assert leak not in p.html


def test_unexpected_error_is_raised_in_plain_tests(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("visible to the test")

    with pytest.raises(RuntimeError, match="visible to the test"):
        app.test_client().get("/boom")


def test_store_unavailable_in_a_view_gives_503(friendly_app: Flask) -> None:
    response = friendly_app.test_client().get("/store-down")
    assert response.status_code == 503
    p = page(response)
    assert "SkillSwap is briefly unavailable" in p.main_text
    assert "Traceback" not in p.html
    assert "10.0.0.7" not in p.html


def test_store_down_for_a_logged_in_person_gives_503(
    app: Flask, client: FlaskClient, auth: AuthActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.signup("ada")

    def down(*args, **kwargs):
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(store(app), "get", down)
    response = client.get("/profile")
    assert response.status_code == 503
    assert "SkillSwap is briefly unavailable" in page(response).main_text
    assert "Traceback" not in page(response).html
    # A public page still renders (as for a visitor), never a traceback.
    home = client.get("/")
    assert home.status_code in (200, 503)
    assert "Traceback" not in page(home).html


def test_store_down_during_signup_gives_503_and_no_half_account(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.app_fixtures import csrf_token

    token = csrf_token(client, "/signup")
    real_put = store(app).put

    def down(*args, **kwargs):
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(store(app), "put", down)
    response = client.post(
        "/signup",
        data={
            "username": "ada",
            "email": "ada@example.com",
            "password": "correct horse battery",
            "timezone": "UTC",
            "csrf_token": token,
        },
    )
    assert response.status_code == 503
    assert "SkillSwap is briefly unavailable" in page(response).main_text
    monkeypatch.setattr(store(app), "put", real_put)
    assert user_records(app) == []
    assert logged_in_as(client) is None


# --- headers -------------------------------------------------------------------------------

PAGES = ["/", "/signup", "/login", "/profile", "/does-not-exist"]


@pytest.fixture
def logged_in(client: FlaskClient, auth: AuthActions) -> FlaskClient:
    auth.signup("ada")
    client.get("/")  # consume the welcome flash
    return client


def _csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, "no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["anonymous", "ada"])
def test_security_headers_on_every_page(
    app: Flask, auth: AuthActions, client: FlaskClient, path: str, who: str
) -> None:
    if who == "ada":
        auth.signup("ada")
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    csp = _csp(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'self'"]
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    for directive in ("script-src", "style-src"):
        if directive in csp:
            assert "*" not in csp[directive]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http


@pytest.mark.parametrize("path", ["/", "/signup", "/login", "/profile", "/does-not-exist"])
def test_pages_need_no_inline_script_or_style(logged_in: FlaskClient, path: str) -> None:
    """The CSP forbids inline code; a page relying on it would be broken for the person."""
    p = page(logged_in.get(path))
    for script in p.all("script"):
        assert script.attrs.get("src"), "inline <script>"
        assert not script.text
    assert not p.all("style")
    for node in p.root.walk():
        assert "style" not in node.attrs, f"style attribute on <{node.tag}>"
        assert not [a for a in node.attrs if a.startswith("on")], f"event handler on <{node.tag}>"
        for attr in ("href", "src", "action"):
            assert not node.attrs.get(attr, "").lower().startswith("javascript:")


@pytest.mark.parametrize("path", ["/signup", "/login"])
def test_session_cookie_is_httponly_and_lax(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, "the form's CSRF token lives in the session"
    attributes = [a.strip().lower() for a in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "partitioned" not in attributes


def test_hsts_under_https(client: FlaskClient) -> None:
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- Replit --------------------------------------------------------------------------------


REPLIT_ENV = ("REPL_ID", "REPLIT_DEPLOYMENT", "REPLIT_DB_URL", "SESSION_COOKIE_SECURE")


def _replit_app(tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch, deployed: bool):
    for name in (*REPLIT_ENV, "PROXY_FIX_HOPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPL_ID", "test-repl")
    monkeypatch.setenv("SKILLSWAP_REPLIT_URL_FILE", str(tmp_path / "no-replitdb-url"))
    if deployed:
        monkeypatch.setenv("REPLIT_DEPLOYMENT", "1")
    return make_app(tmp_path, clock)


def _session_cookie(response) -> list[str]:
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    return [a.strip().lower() for a in cookie.split(";")]


def test_replit_preview_cookie_and_frame(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _replit_app(tmp_path, clock, monkeypatch, deployed=False)
    try:
        response = app.test_client().get("/signup", base_url="https://localhost")
        attributes = _session_cookie(response)
        assert {"secure", "samesite=none", "partitioned", "httponly"} <= set(attributes)
        ancestors = _csp(response)["frame-ancestors"]
        assert "'self'" in ancestors
        assert any("replit" in a for a in ancestors)
    finally:
        store(app).close()


def test_replit_deployment_cookie_and_frame(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _replit_app(tmp_path, clock, monkeypatch, deployed=True)
    try:
        response = app.test_client().get("/signup", base_url="https://localhost")
        attributes = _session_cookie(response)
        assert {"secure", "samesite=lax", "httponly"} <= set(attributes)
        assert "partitioned" not in attributes
        assert _csp(response)["frame-ancestors"] == ["'self'"]
    finally:
        store(app).close()


def test_replit_trusts_one_proxy_hop(tmp_path: Path, clock: Clock, monkeypatch) -> None:
    app = _replit_app(tmp_path, clock, monkeypatch, deployed=True)
    try:
        response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" in response.headers
    finally:
        store(app).close()


def test_off_replit_forwarded_headers_are_ignored(client: FlaskClient) -> None:
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_logout_redirect_and_login_redirect_are_local(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.signup("ada")
    assert location(auth.logout()) == "/"


def test_pages_name_no_icon_the_site_lacks(client: FlaskClient) -> None:
    """Browsers asked /favicon.ico on every page and got a 404 (an outside probe): the page
    names an empty icon, which the content security policy allows (img-src data:)."""
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="data:,">' in html
    assert "img-src 'self' data:" in client.get("/").headers["Content-Security-Policy"]


# --- the shared macros -----------------------------------------------------------------------


def test_every_page_calls_the_shared_macros_without_importing_them(app: Flask) -> None:
    """They are globals (web/__init__.py _share_macros): an import cost each page 14 µs."""
    templates = Path(app.root_path, "templates")
    importing = [
        str(t.relative_to(templates))
        for t in templates.rglob("*.html")
        if t.parent.name != "mail" and '"_macros.html"' in t.read_text()
    ]
    assert importing == []
    assert callable(app.jinja_env.globals["session_list"])


def test_under_the_reloader_a_changed_macro_file_is_taken_up_again(
    tmp_path: Path, clock: Clock
) -> None:
    app = make_app(tmp_path, clock, TEMPLATES_AUTO_RELOAD=True)
    try:
        shared = app.jinja_env.globals["field"]
        assert app.test_client().get("/login").status_code == 200
        assert app.jinja_env.globals["field"] is shared  # unchanged: the same module
        app.jinja_env.cache.clear()  # as when the file changes: it is loaded again
        assert app.test_client().get("/login").status_code == 200
        assert app.jinja_env.globals["field"] is not shared
    finally:
        close_app(app)
