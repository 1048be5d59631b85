"""The calendar in a real browser: what two people in two zones see in the month and the week,
a session across midnight, moving across a DST change, phone width, keyboard and accessibility.

The accounts and their offers, requests and bookings are made through the app's own forms with
the test client (same app, same store); the browser then looks as each person would.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import (
    SCREENSHOTS,
    LiveApp,
    assert_fits_width,
    login,
    screenshot,
)
from tests.support.app_fixtures import csrf_token
from tests.web.test_bookings import book, booked_id, free_slots, person, publish


def request_skill(client: FlaskClient, day: str, start: str, end: str, skill: str) -> None:
    response = client.post(
        "/request",
        data={
            "csrf_token": csrf_token(client, "/request"),
            "skill": skill,
            "mode": "either",
            "dates-0": day,
            "ranges-0-start": start,
            "ranges-0-end": end,
        },
    )
    assert response.status_code == 302


def offer_id(live_app: LiveApp, username: str) -> str:
    repo = live_app.repo
    (found,) = repo.schedule(repo.find_user(username).id).offers
    return found


def day_cell(page: Page, full_date: str) -> Locator:
    """A day of the month grid, found by its heading as a screen-reader user would."""
    heading = page.get_by_role("heading", name=full_date, exact=False)
    return page.locator("td", has=heading)


def hour_cell(page: Page, day: str, hour: str) -> Locator:
    return page.locator(f'td[data-day="{day}"][data-hour="{hour}"]')


@pytest.fixture
def people(live_app: LiveApp) -> dict[str, FlaskClient]:
    """tess teaches from New York: 1 Dec 09:00-11:00 in hours (14:00-16:00 UTC). leo, in
    Berlin, booked the first hour and asks to learn Cooking on 3 Dec, 14:00-18:00 his time."""
    app = live_app.app
    tess = person(app, "tess", "America/New_York")
    publish(tess)
    leo = person(app, "leo", "Europe/Berlin")
    booked_id(book(leo, "tess", free_slots(leo, "tess")[0]))
    request_skill(leo, "2026-12-03", "14:00", "18:00", "Cooking")
    return {"tess": tess, "leo": leo}


def test_each_kind_on_its_day_and_hour_for_two_zones(
    live_app: LiveApp, people: dict[str, FlaskClient], page: Page, new_page: Callable[..., Page]
) -> None:
    # leo, in Berlin.
    login(page, live_app.url, "leo")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calendar")
    expect(page.get_by_text("Times are in Europe/Berlin")).to_be_visible()
    page.get_by_role("link", name="Next month").click()
    expect(page).to_have_url(f"{live_app.url}/calendar?month=2026-12")
    expect(page.get_by_role("heading", name="December 2026", exact=True)).to_be_visible()

    tuesday = day_cell(page, "Tuesday 1 December 2026")
    expect(tuesday.get_by_role("link")).to_have_text(
        ["Attending: 15:00–16:00 Intro to Python · Python with tess"]
    )
    thursday = day_cell(page, "Thursday 3 December 2026")
    expect(thursday.get_by_role("link")).to_have_text(["Request: 14:00–18:00 Cooking"])
    screenshot(page, "calendar-month-desktop")

    page.get_by_role("link", name="Week 49", exact=True).click()
    expect(page).to_have_url(f"{live_app.url}/calendar?week=2026-W49")
    expect(hour_cell(page, "2026-12-01", "15:00")).to_contain_text("Attending")
    expect(hour_cell(page, "2026-12-01", "15:00")).to_contain_text("Python with tess")
    expect(hour_cell(page, "2026-12-03", "14:00")).to_contain_text("Request: 14:00–18:00")
    expect(hour_cell(page, "2026-12-01", "14:00")).to_have_text("")
    assert_fits_width(page)
    screenshot(page, "calendar-week-desktop")

    # The session links to its place on the dashboard (its lasting address finds the tab).
    session = hour_cell(page, "2026-12-01", "15:00").get_by_role("link")
    href = session.get_attribute("href") or ""
    assert href.startswith("/dashboard/session/")
    session.click()
    anchor = "#booking-" + href.rpartition("/")[2]
    expect(page).to_have_url(f"{live_app.url}/dashboard{anchor}")
    expect(page.locator(anchor)).to_contain_text("Python with tess")

    # tess, in New York: the same session at 09:00 and her free hour at 10:00.
    ny = new_page(timezone_id="America/New_York")
    login(ny, live_app.url, "tess")
    ny.goto(f"{live_app.url}/calendar?month=2026-12")
    expect(ny.get_by_text("Times are in America/New_York")).to_be_visible()
    expect(day_cell(ny, "Tuesday 1 December 2026").get_by_role("link")).to_have_text(
        [
            "Teaching: 09:00–10:00 Intro to Python · Python with leo",
            "Free slot: 10:00–11:00 Intro to Python",
        ]
    )
    ny.goto(f"{live_app.url}/calendar?week=2026-W49")
    expect(hour_cell(ny, "2026-12-01", "09:00")).to_contain_text("Teaching: 09:00–10:00")
    expect(hour_cell(ny, "2026-12-01", "10:00")).to_contain_text("Free slot: 10:00–11:00")
    ny.goto(f"{live_app.url}/calendar?week=2026-W49")
    hour_cell(ny, "2026-12-01", "10:00").get_by_role("link").click()
    expect(ny).to_have_url(f"{live_app.url}/offer/{offer_id(live_app, 'tess')}/edit")

    # After the session, a link in the old form (mail sent before the dashboard had tabs)
    # still finds it: the upcoming tab no longer lists it, so app.js asks its lasting address.
    live_app.clock.set(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))
    page.goto(f"{live_app.url}/profile")  # away first: the same address would not reload
    page.goto(f"{live_app.url}/dashboard{anchor}")
    expect(page).to_have_url(f"{live_app.url}/dashboard/past{anchor}")
    expect(page.locator(anchor)).to_contain_text("Python with tess")


def test_a_session_at_2330_shows_on_both_days(live_app: LiveApp, page: Page) -> None:
    app = live_app.app
    nia = person(app, "nia", "America/New_York")
    publish(nia, start="17:30", end="18:30", minutes="60")  # 23:30-00:30 in Berlin
    leo = person(app, "leo", "Europe/Berlin")
    booked_id(book(leo, "nia", free_slots(leo, "nia")[0]))

    login(page, live_app.url, "leo")
    page.goto(f"{live_app.url}/calendar?month=2026-12")
    expect(day_cell(page, "Tuesday 1 December 2026").get_by_role("link")).to_have_text(
        ["Attending: 23:30–Wed 00:30 Intro to Python · Python with nia"]
    )
    expect(day_cell(page, "Wednesday 2 December 2026").get_by_role("link")).to_have_text(
        ["Attending: Tue 23:30–00:30 Intro to Python · Python with nia"]
    )
    page.goto(f"{live_app.url}/calendar?week=2026-W49")
    expect(hour_cell(page, "2026-12-01", "23:00")).to_contain_text("23:30–Wed 00:30")
    expect(hour_cell(page, "2026-12-02", "00:00")).to_contain_text("Tue 23:30–00:30")


def test_navigating_across_a_dst_change(live_app: LiveApp, new_page: Callable[..., Page]) -> None:
    """Berlin springs forward on Sun 28 Mar 2027, New York two weeks earlier (14 Mar). tess in
    New York books a Berlin teacher's 10:00 on Friday 26 and Monday 29 March: Berlin is UTC+1
    and then UTC+2 while New York stays UTC-4, so they are at 05:00 and then 04:00 in her
    weeks. Each zone's change day has 23 hour rows."""
    app = live_app.app
    bea = person(app, "bea", "Europe/Berlin")
    publish(bea, start="10:00", end="11:00", day="2027-03-26")
    publish(bea, start="10:00", end="11:00", day="2027-03-29", title="Python again")
    tess = person(app, "tess", "America/New_York")
    for slot in free_slots(tess, "bea"):
        booked_id(book(tess, "bea", slot))

    ny = new_page(timezone_id="America/New_York")
    login(ny, live_app.url, "tess")
    ny.goto(f"{live_app.url}/calendar?week=2027-W12")
    expect(ny.get_by_role("heading", name="Week 12: 22–28 March 2027")).to_be_visible()
    expect(hour_cell(ny, "2027-03-26", "05:00")).to_contain_text("Attending: 05:00–06:00")
    ny.get_by_role("link", name="Next week").click()
    expect(ny).to_have_url(f"{live_app.url}/calendar?week=2027-W13")
    expect(hour_cell(ny, "2027-03-29", "04:00")).to_contain_text("Attending: 04:00–05:00")
    for _ in range(3):
        ny.get_by_role("link", name="Previous week").click()
    expect(ny).to_have_url(f"{live_app.url}/calendar?week=2027-W10")
    # New York's own change, Sun 14 Mar 2027: a 23-hour day without 02:00.
    expect(ny.locator('td[data-day="2027-03-14"]')).to_have_count(23)
    expect(hour_cell(ny, "2027-03-14", "02:00")).to_have_count(0)
    expect(ny.get_by_text("23 hours: clocks go forward").first).to_be_visible()

    berlin = new_page()
    login(berlin, live_app.url, "bea")
    berlin.goto(f"{live_app.url}/calendar?month=2027-03")
    day_cell(berlin, "Friday 26 March 2027").get_by_role("link").first.wait_for()
    expect(day_cell(berlin, "Friday 26 March 2027")).to_contain_text("Teaching: 10:00–11:00")
    expect(day_cell(berlin, "Sunday 28 March 2027")).to_contain_text("23 hours")
    berlin.get_by_role("link", name="Week 12", exact=True).click()
    expect(berlin.locator('td[data-day="2027-03-28"]')).to_have_count(23)
    expect(berlin.locator('td[data-day="2027-03-27"]')).to_have_count(24)
    berlin.get_by_role("link", name="Next week").click()
    expect(hour_cell(berlin, "2027-03-29", "10:00")).to_contain_text("Teaching: 10:00–11:00")
    screenshot(berlin, "calendar-week-after-dst-desktop")


def test_phone_shows_the_month_as_a_day_list(
    live_app: LiveApp, people: dict[str, FlaskClient], phone_page: Page
) -> None:
    page = phone_page
    login(page, live_app.url, "leo")
    page.goto(f"{live_app.url}/calendar?month=2026-12")
    assert_fits_width(page)
    # Only days that hold something are listed, each under its date.
    days = page.locator("td.cal-day:visible")
    expect(days).to_have_count(2)
    expect(days.nth(0)).to_contain_text("Tue 1 Dec")
    expect(days.nth(0)).to_contain_text("Attending: 15:00–16:00 Intro to Python · Python with tess")
    expect(days.nth(1)).to_contain_text("Thu 3 Dec")
    expect(page.locator("thead")).to_be_hidden()
    screenshot(page, "calendar-month-phone")

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page).to_have_url(f"{live_app.url}/calendar?week=2026-W49")
    assert_fits_width(page)
    expect(page.locator("table.cal-week")).to_be_hidden()
    tuesday = page.get_by_role("region", name="Tuesday 1 December 2026")
    expect(tuesday.get_by_role("link")).to_have_text(
        ["Attending: 15:00–16:00 Intro to Python · Python with tess"]
    )
    screenshot(page, "calendar-week-phone")

    page.goto(f"{live_app.url}/profile")
    expect(page.get_by_role("heading", name="This week")).to_be_visible()
    assert_fits_width(page)


def test_keyboard_reaches_navigation_and_items(
    live_app: LiveApp, people: dict[str, FlaskClient], page: Page
) -> None:
    login(page, live_app.url, "leo")
    page.goto(f"{live_app.url}/calendar?month=2026-12")
    reached: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        text = page.evaluate("() => document.activeElement.textContent")
        reached.append(" ".join(text.split()))
    assert "‹ Previous month" in reached
    assert "Next month ›" in reached
    assert "Attending: 15:00–16:00 Intro to Python · Python with tess" in reached
    # Focus is visible: the outline from style.css is drawn.
    page.get_by_role("link", name="Next month").focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_app.url}/calendar?month=2027-01")


# --- accessibility -------------------------------------------------------------------------

HAND_CHECKS = """() => {
  const problems = [];
  const name = el => (el.getAttribute('aria-label') || el.textContent || '').trim();
  if (!document.documentElement.lang) problems.push('html has no lang');
  if (!document.title.trim()) problems.push('page has no title');
  const ids = {};
  document.querySelectorAll('[id]').forEach(el => { ids[el.id] = (ids[el.id] || 0) + 1; });
  Object.entries(ids).forEach(([id, n]) => { if (n > 1) problems.push('duplicate id ' + id); });
  document.querySelectorAll('a, button').forEach(el => {
    if (!name(el)) problems.push('unnamed ' + el.outerHTML.slice(0, 80));
  });
  document.querySelectorAll('[aria-labelledby]').forEach(el => {
    el.getAttribute('aria-labelledby').split(/\\s+/).forEach(id => {
      if (!document.getElementById(id)) problems.push('aria-labelledby to missing ' + id);
    });
  });
  document.querySelectorAll('table').forEach(table => {
    if (!table.querySelector('th[scope=col]')) problems.push('table without column headers');
    const label = table.getAttribute('aria-labelledby') || table.querySelector('caption');
    if (!label) problems.push('table without a name');
  });
  document.querySelectorAll('td.cal-day').forEach(td => {
    if (!td.querySelector('h3')) problems.push('day without a heading ' + td.id);
  });
  let last = 0;
  document.querySelectorAll('h1, h2, h3, h4, h5, h6').forEach(h => {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) problems.push('heading skips to ' + h.outerHTML.slice(0, 60));
    last = level;
  });
  // Text contrast (WCAG AA, 4.5:1) against the first opaque background behind it.
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] === 1)) return c;
    }
    return [255, 255, 255];
  };
  document.querySelectorAll('main *').forEach(el => {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) return;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || el.closest('.visually-hidden')) return;
    const fg = lum(rgb(style.color));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) problems.push(`contrast ${ratio.toFixed(2)} ${el.outerHTML.slice(0, 60)}`);
  });
  return problems;
}"""


def check_accessibility(page: Page) -> None:
    problems = page.evaluate(HAND_CHECKS)
    assert problems == [], "\n".join(problems)
    # axe-core when the project installs it (axe-playwright-python); the hand checks above
    # always run.
    if importlib.util.find_spec("axe_playwright_python"):
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_calendar_pages_pass_accessibility_checks(
    live_app: LiveApp,
    people: dict[str, FlaskClient],
    request: pytest.FixtureRequest,
    device: str,
) -> None:
    page: Page = request.getfixturevalue("page" if device == "desktop" else "phone_page")
    login(page, live_app.url, "leo")
    pages = {
        "month": "/calendar?month=2026-12",
        "week": "/calendar?week=2026-W49",
        "fall-back-week": "/calendar?week=2026-W43",  # the 25-hour Sunday, its empty cells
    }
    for name, path in pages.items():
        page.goto(f"{live_app.url}{path}")
        assert_fits_width(page)
        check_accessibility(page)
        if name == "fall-back-week":
            screenshot(page, f"calendar-{name}-{device}")
    live_app.clock.set(datetime(2026, 12, 1, 8, tzinfo=UTC))  # the week of leo's session
    page.goto(f"{live_app.url}/profile")
    week = page.get_by_role("region", name="This week")
    expect(
        week.get_by_role("link", name="Attending: 15:00–16:00 Intro to Python · Python with tess")
    ).to_be_visible()
    check_accessibility(page)
    screenshot(page, f"profile-this-week-{device}")
    week.screenshot(path=str(SCREENSHOTS / f"profile-this-week-block-{device}.png"))
