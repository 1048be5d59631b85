"""Sign up, log out, log in, and the ways those forms go wrong, at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    PASSWORD,
    LiveApp,
    assert_fits_width,
    login,
    screenshot,
    signup,
)


@pytest.fixture(params=["desktop", "phone"])
def device(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def screen(request: pytest.FixtureRequest, device: str) -> Page:
    """The desktop page, or the phone one: each test runs at both widths."""
    return request.getfixturevalue("page" if device == "desktop" else "phone_page")


def field(page: Page, label: str):
    """The block holding a form field: its label, hint, input and the error next to it."""
    return page.locator(".field", has=page.get_by_label(label, exact=True))


def test_signup_logout_login(live_app: LiveApp, screen: Page, device: str) -> None:
    page = screen
    signup(page, live_app.url, "ada", email="ada@example.com")

    expect(page).to_have_url(f"{live_app.url}/profile")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("ada")
    # The card under the name, not the whole page: the page also has a time-zone <select>
    # listing every zone, so "Europe/Berlin" appears in it whatever the account's zone is.
    summary = page.locator("section", has=heading)
    expect(summary).to_contain_text("@ada")
    # app.js filled the hidden field from the browser's Intl zone; the store holds it too.
    expect(summary).to_contain_text("Europe/Berlin")
    assert live_app.repo.find_user("ada").timezone == "Europe/Berlin"
    assert_fits_width(page)
    screenshot(page, f"profile-{device}")

    # "Log out" in the nav opens the page that asks; its button logs out.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log out").click()
    expect(page).to_have_url(f"{live_app.url}/logout")
    assert_fits_width(page)
    screenshot(page, f"logout-{device}")
    with page.expect_navigation():
        page.get_by_role("main").get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_app.url}/")
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Sign up")).to_be_visible()
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(nav.get_by_role("link", name="Log out")).to_have_count(0)

    nav.get_by_role("link", name="Log in").click()
    expect(page).to_have_url(f"{live_app.url}/login")
    page.get_by_label("Username or email", exact=True).fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    assert_fits_width(page)
    screenshot(page, f"login-{device}")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_app.url}/profile")
    expect(page.get_by_role("heading", level=1)).to_have_text("ada")
    expect(page.get_by_role("link", name="Log out")).to_be_visible()


def test_wrong_password_keeps_the_username(live_app: LiveApp, screen: Page, device: str) -> None:
    live_app.add_user("grace")

    login(screen, live_app.url, "grace", password="not the password")

    expect(screen).to_have_url(f"{live_app.url}/login")
    expect(screen.get_by_role("alert")).to_contain_text("Invalid username or password")
    expect(screen.get_by_label("Username or email", exact=True)).to_have_value("grace")
    expect(screen.get_by_label("Password", exact=True)).to_have_value("")
    assert_fits_width(screen)
    screenshot(screen, f"login-error-{device}")
    expect(screen.get_by_role("link", name="Log out")).to_have_count(0)


def test_duplicate_username_is_explained_next_to_the_field(
    live_app: LiveApp, screen: Page, device: str
) -> None:
    live_app.add_user("grace")

    signup(screen, live_app.url, "grace", email="someone.else@example.com")

    expect(screen).to_have_url(f"{live_app.url}/signup")
    expect(field(screen, "Username")).to_contain_text("That username is taken; try another")
    expect(screen.get_by_label("Username", exact=True)).to_have_value("grace")
    expect(screen.get_by_label("Email", exact=True)).to_have_value("someone.else@example.com")
    expect(field(screen, "Email").locator(".error")).to_have_count(0)
    assert_fits_width(screen)
    screenshot(screen, f"signup-errors-{device}")
    assert live_app.repo.find_user("someone.else@example.com") is None


def test_tampered_csrf_token_saves_nothing_and_keeps_the_input(
    live_app: LiveApp, screen: Page, device: str
) -> None:
    signup(screen, live_app.url, "mallory", email="mallory@example.com", submit=False)
    screen.evaluate(
        """() => {
            document.querySelector('form[action$="/signup"] input[name="csrf_token"]')
                .value = "garbage";
        }"""
    )
    with screen.expect_navigation():
        screen.get_by_role("button", name="Sign up").click()

    expect(screen).to_have_url(f"{live_app.url}/signup")
    expect(screen.get_by_role("alert")).to_contain_text("This form had expired")
    expect(screen.get_by_label("Username", exact=True)).to_have_value("mallory")
    expect(screen.get_by_label("Email", exact=True)).to_have_value("mallory@example.com")
    expect(screen.get_by_role("link", name="Log out")).to_have_count(0)
    assert_fits_width(screen)
    screenshot(screen, f"signup-expired-{device}")
    assert live_app.repo.find_user("mallory") is None

    login(screen, live_app.url, "mallory")
    expect(screen).to_have_url(f"{live_app.url}/login")
    expect(screen.get_by_role("alert")).to_contain_text("Invalid username or password")
