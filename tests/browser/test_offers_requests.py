"""Publishing an offer in a real browser (issue 4): rows added with and without JavaScript, a
past date refused with everything typed kept, times seen from another zone, phone width.

The clock stands at Mon 23 Nov 2026 12:00 UTC (13:00 in Berlin).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import LiveApp, assert_fits_width, login, screenshot, signup

TITLE = "Python for beginners"
SKILL = "Python"
DESCRIPTION = "Variables, loops and functions, at your pace."


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def dates(page: Page) -> Locator:
    """Every "Date <n>" input of the "Specific dates" list, in order."""
    return page.get_by_label(re.compile(r"^Date \d+$"))


def field_of(control: Locator) -> Locator:
    """The block around one input: its label, hint, the input and the error next to it."""
    return control.locator("xpath=ancestor::*[contains(concat(' ', @class, ' '), ' field ')][1]")


def time_range(page: Page, number: int) -> Locator:
    """The "Time range <number>" group: its "From" and "To" inputs."""
    return page.get_by_role("group", name=f"Time range {number}", exact=True)


def fill_range(page: Page, number: int, start: str, end: str) -> None:
    group = time_range(page, number)
    group.get_by_label("From", exact=True).fill(start)
    group.get_by_label("To", exact=True).fill(end)


def expect_range(page: Page, number: int, start: str, end: str) -> None:
    group = time_range(page, number)
    expect(group.get_by_label("From", exact=True)).to_have_value(start)
    expect(group.get_by_label("To", exact=True)).to_have_value(end)


def fact(card: Locator, term: str) -> Locator:
    """What a card says after one of its terms ("Dates", "Times", "Mode"...)."""
    return card.locator(f"xpath=.//dt[normalize-space()='{term}']/following-sibling::dd[1]")


def publish_button(page: Page) -> Locator:
    # The form starts with a visually hidden copy of this button (so Enter in a text field
    # publishes rather than adding a row); the one a person sees and presses is the last.
    return page.get_by_role("button", name="Publish offer").last


def open_offer_form(page: Page) -> None:
    nav(page).get_by_role("link", name="Offer", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Offer a skill session")


def offer_card(page: Page, title: str) -> Locator:
    """The offer's card in the "Upcoming" block of "Sessions I offer" on /profile."""
    offers = page.get_by_role("region", name="Sessions I offer")
    upcoming = offers.get_by_role("heading", name="Upcoming", exact=True).locator(
        "xpath=following-sibling::*[1]"
    )
    return upcoming.get_by_role("article").filter(
        has=page.get_by_role("heading", name=title, exact=True)
    )


def test_offer_rows_added_by_javascript_a_past_date_refused_then_published(
    live_app: LiveApp, page: Page
) -> None:
    signup(page, live_app.url, "ada")
    open_offer_form(page)
    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Skill", exact=True).fill(SKILL)
    page.get_by_label("Description", exact=True).fill(DESCRIPTION)
    expect(page.get_by_label("Online", exact=True)).to_be_checked()
    # The form shows two date rows and two time-range rows; the buttons add a third of each.
    expect(dates(page)).to_have_count(2)
    dates(page).nth(0).fill("2026-11-20")  # last Friday: in the past
    dates(page).nth(1).fill("2026-12-01")
    page.get_by_role("button", name="Add a date").click()
    expect(dates(page)).to_have_count(3)
    expect(dates(page).nth(2)).to_be_focused()
    expect(dates(page).nth(2)).to_have_value("")
    # Each date is named by its place, as the summary names it: not "Date", "Date", "Date".
    expect(dates(page).nth(2)).to_have_accessible_name("Date 3")
    dates(page).nth(2).fill("2026-12-03")

    fill_range(page, 1, "09:00", "10:00")
    fill_range(page, 2, "14:00", "15:30")
    page.get_by_role("button", name="Add a time range").click()
    third = time_range(page, 3)
    expect(third).to_be_visible()
    expect(third.get_by_label("From", exact=True)).to_be_focused()
    fill_range(page, 3, "18:00", "19:00")
    assert posts == [], "the add-row buttons went to the server although JavaScript is on"

    publish_button(page).click()

    # Refused: the message at the date that caused it and in the summary; nothing lost.
    expect(page).to_have_url(f"{live_app.url}/offer")
    message = "2026-11-20 is in the past; pick a date from today on"
    expect(page.get_by_role("alert")).to_contain_text(message)
    past = dates(page).nth(0)
    expect(field_of(past)).to_contain_text(message)
    expect(past).to_have_accessible_description(re.compile(re.escape(message)))
    expect(past).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Title", exact=True)).to_have_value(TITLE)
    expect(page.get_by_label("Skill", exact=True)).to_have_value(SKILL)
    expect(page.get_by_label("Description", exact=True)).to_have_value(DESCRIPTION)
    expect(dates(page)).to_have_count(3)
    expect(past).to_have_value("2026-11-20")
    expect(dates(page).nth(1)).to_have_value("2026-12-01")
    expect(dates(page).nth(2)).to_have_value("2026-12-03")
    expect_range(page, 1, "09:00", "10:00")
    expect_range(page, 2, "14:00", "15:30")
    expect_range(page, 3, "18:00", "19:00")
    for other in (dates(page).nth(1), dates(page).nth(2)):
        expect(field_of(other).locator(".error")).to_have_count(0)
    screenshot(page, "offer-form-errors-desktop")
    assert live_app.repo.schedule(live_app.repo.find_user("ada").id).offers == {}

    # Fixed: a future date instead, and the offer is published.
    past.fill("2026-12-05")
    publish_button(page).click()
    expect(page).to_have_url(f"{live_app.url}/profile#offers")
    expect(page.get_by_role("status")).to_have_text(
        f"Your offer “{TITLE}” is published with 9 bookable sessions."
    )
    card = offer_card(page, TITLE)
    expect(fact(card, "Skill")).to_have_text("Python")
    expect(fact(card, "Mode")).to_have_text("Online")
    expect(fact(card, "Dates")).to_have_text("Tue 1 Dec 2026; Thu 3 Dec 2026; Sat 5 Dec 2026")
    expect(fact(card, "Times")).to_have_text(
        "09:00–10:00, 14:00–15:30, 18:00–19:00 (Europe/Berlin)"
    )
    expect(card).to_contain_text("First session: Tue 1 Dec 2026, 09:00–10:00 (Europe/Berlin)")
    expect(page.get_by_role("list", name="I can teach")).to_have_text("Python")
    screenshot(page, "profile-offers-desktop")


def test_offer_form_without_javascript_adds_rows_on_the_server(
    live_app: LiveApp, nojs_page: Page
) -> None:
    page = nojs_page
    live_app.add_user("noah", timezone="Europe/Berlin")
    login(page, live_app.url, "noah")
    open_offer_form(page)
    page.get_by_label("Title", exact=True).fill("Sourdough at home")
    page.get_by_label("Skill", exact=True).fill("Baking")
    page.get_by_label("Offline (in person)", exact=True).check()
    dates(page).nth(0).fill("2026-12-01")
    dates(page).nth(1).fill("2026-12-02")
    fill_range(page, 1, "10:00", "12:00")

    with page.expect_navigation():
        page.get_by_role("button", name="Add a date").click()
    # Back where the new row is, not at the top of a long page on a phone.
    expect(page).to_have_url(f"{live_app.url}/offer#dates-2")
    expect(page.get_by_role("alert")).to_have_count(0)  # a new row, not a validation
    expect(dates(page)).to_have_count(3)
    expect(dates(page).nth(2)).to_be_in_viewport()
    expect(dates(page).nth(0)).to_have_value("2026-12-01")
    expect(dates(page).nth(1)).to_have_value("2026-12-02")
    expect(page.get_by_label("Title", exact=True)).to_have_value("Sourdough at home")
    expect(page.get_by_label("Offline (in person)", exact=True)).to_be_checked()
    dates(page).nth(2).fill("2026-12-04")

    fill_range(page, 2, "14:00", "16:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Add a time range").click()
    expect(time_range(page, 3)).to_be_in_viewport()
    expect_range(page, 1, "10:00", "12:00")
    expect_range(page, 2, "14:00", "16:00")
    expect(dates(page).nth(2)).to_have_value("2026-12-04")
    fill_range(page, 3, "17:00", "18:00")

    with page.expect_navigation():
        publish_button(page).click()
    expect(page).to_have_url(f"{live_app.url}/profile#offers")
    expect(page.get_by_role("status")).to_contain_text("published with 9 bookable sessions")
    card = offer_card(page, "Sourdough at home")
    expect(fact(card, "Mode")).to_have_text("Offline")
    expect(fact(card, "Dates")).to_have_text("Tue 1 Dec 2026 – Wed 2 Dec 2026; Fri 4 Dec 2026")
    expect(fact(card, "Times")).to_have_text(
        "10:00–12:00, 14:00–16:00, 17:00–18:00 (Europe/Berlin)"
    )


def test_new_york_offer_is_seen_in_berlin_time(
    live_app: LiveApp, page: Page, new_page: Callable[..., Page]
) -> None:
    new_york = new_page(timezone_id="America/New_York")
    signup(new_york, live_app.url, "nia")
    expect(new_york.get_by_text("time zone America/New_York")).to_be_visible()
    open_offer_form(new_york)
    expect(new_york.get_by_text("Times are in your time zone, America/New_York.")).to_be_visible()
    new_york.get_by_label("Title", exact=True).fill("Piano basics")
    new_york.get_by_label("Skill", exact=True).fill("Piano")
    dates(new_york).nth(0).fill("2026-12-01")
    fill_range(new_york, 1, "09:00", "10:00")
    publish_button(new_york).click()
    card = offer_card(new_york, "Piano basics")
    expect(fact(card, "Date")).to_have_text("Tue 1 Dec 2026")
    expect(fact(card, "Time")).to_have_text("09:00–10:00 (America/New_York)")
    expect(card).to_contain_text("First session: Tue 1 Dec 2026, 09:00–10:00 (America/New_York)")

    # A viewer in Berlin, where 09:00 in New York is 15:00.
    signup(page, live_app.url, "bea")
    page.goto(f"{live_app.url}/user/nia")
    free = page.get_by_role("region", name="Free to teach")
    expect(free).to_contain_text("Times in Europe/Berlin.")
    expect(free.get_by_role("listitem")).to_have_text(
        ["Tue 1 Dec 2026, 15:00–16:00 (Europe/Berlin) · Piano · Online"]
    )
    expect(free.get_by_role("link", name="Book a session")).to_be_visible()


def test_offer_form_and_profile_fit_a_phone(live_app: LiveApp, phone_page: Page) -> None:
    page = phone_page
    signup(page, live_app.url, "pia")
    open_offer_form(page)
    assert_fits_width(page)

    publish_button(page).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Title: Give your session a title")
    expect(summary).to_contain_text("Skill: Which skill will you teach?")
    expect(summary).to_contain_text("Add at least one date")
    expect(summary).to_contain_text("Add at least one time range")
    expect(page.get_by_label("Title", exact=True)).to_have_accessible_description(
        re.compile("Give your session a title")
    )
    assert_fits_width(page)
    screenshot(page, "offer-form-errors-phone")

    page.get_by_label("Title", exact=True).fill("Guitar chords")
    page.get_by_label("Skill", exact=True).fill("Guitar")
    dates(page).nth(0).fill("2026-11-24")
    dates(page).nth(1).fill("2026-11-26")
    fill_range(page, 1, "18:00", "19:00")
    fill_range(page, 2, "19:30", "20:30")
    publish_button(page).click()
    card = offer_card(page, "Guitar chords")
    expect(fact(card, "Dates")).to_have_text("Tue 24 Nov 2026; Thu 26 Nov 2026")
    expect(fact(card, "Times")).to_have_text("18:00–19:00, 19:30–20:30 (Europe/Berlin)")
    assert_fits_width(page)
    screenshot(page, "profile-offers-phone")


def test_a_repeat_changed_back_sends_no_hidden_dates(live_app: LiveApp, page: Page) -> None:
    """The server refuses first and last dates with no repeat chosen (without JavaScript
    they show whatever the choice); with it, hidden ones are not sent, so a person who
    typed them and then chose "Only the dates I list" is not refused for fields unseen."""
    signup(page, live_app.url, "ada")
    open_offer_form(page)
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Skill", exact=True).fill(SKILL)
    page.get_by_label("Weekdays (Mon–Fri)").check()
    page.get_by_label("First date").fill("2026-12-28")
    page.get_by_label("Last date").fill("2027-01-08")
    page.get_by_label("Only the dates I list").check()
    expect(page.get_by_label("First date")).to_be_hidden()
    dates(page).nth(0).fill("2026-12-01")
    fill_range(page, 1, "10:00", "11:00")
    publish_button(page).click()
    expect(page).to_have_url(re.compile(r"/profile#offers$"))
