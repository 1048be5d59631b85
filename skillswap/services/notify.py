"""Mail about sessions: booked, moved, cancelled, reviewed, and the reminders before and after.

The workflows (services/booking.py, the web views) finish their change first and then call one
hook here; a hook never raises, so nothing about a booking depends on mail. Each mail goes to
both people (to whoever of them may be mailed: a confirmed address, that kind of mail left on),
in each one's name and zone, with a one-click unsubscribe link (RFC 8058). Booking, move and
cancel mails carry a calendar invite (domain/ics.py): REQUEST with the booking's UID and
SEQUENCE, CANCEL with the same UID and a higher SEQUENCE, so calendar apps add, update and
remove the event.

| hook                                   | mail                          | who               |
|----------------------------------------|-------------------------------|-------------------|
| booking_confirmed(booking)             | booking_confirmed + REQUEST   | both              |
| booking_changed(booking, was_start, .) | booking_changed + REQUEST     | both              |
| booking_cancelled(booking)             | booking_cancelled + CANCEL    | both (the people  |
|                                        |                               | still there)      |
| review_received(booking, rater)        | review_received               | the one reviewed  |
| send_reminders(now)                    | session_reminder,             | both, when due    |
|                                        | review_reminder               |                   |

Reminders are found through the due index (repo/reminders.py), which the booking hooks keep:
a booking adds its reminders, a move replaces them, a cancel takes them out. Each reminder is
claimed in the person's own copy of the session before it is sent (domain/reminders.py), so
senders racing in several processes or machines send it once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from skillswap.domain import ics
from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.records import Booking
from skillswap.domain.reminders import (
    REVIEW_KINDS,
    DueEntry,
    before_kind,
    claim,
    deadline,
    due_entries,
    offset_of,
)
from skillswap.domain.reviews import RATING_MAX
from skillswap.domain.users import MAIL_CHOICE_OF, User, may_mail, wants_mail
from skillswap.domain.waitlist import HOLD_END, HOLD_MAIL
from skillswap.mail import CalendarInvite, Mailer, Outcome, make_token, read_token
from skillswap.repo import Repository
from skillswap.repo.keys import schedule_key
from skillswap.services import upkeep, waitlist
from skillswap.services.mail import MailSender, Reminded, mail_person

log = logging.getLogger("skillswap.mail")

#: `links(endpoint, **values)`: an absolute URL of a page (web/links.py builds it).
LinkMaker = Callable[..., str]
UNSUBSCRIBE = "unsubscribe"  # the purpose of unsubscribe tokens (mail/tokens.py)
#: Due-index pieces one round of reminders reads at most; the rest wait for the next round.
PIECES_PER_ROUND = 24


# --- one-click unsubscribe ------------------------------------------------------------------


def unsubscribe_token(secret: str, user: User, choice: str, now: datetime) -> str:
    """A signed link token that turns `choice` off for `user`, without a login, for a year
    (mail/tokens.py: MAX_AGE). Turning mail off twice does no harm, so it is not single use."""
    return make_token(secret, UNSUBSCRIBE, f"{user.id} {choice}", user.id, now)


def read_unsubscribe(secret: str, token: str, repo: Repository, now: datetime) -> tuple[User, str]:
    """The person and the kind of mail an unsubscribe token is for; raises BadToken (its
    kinds ExpiredToken, StaleToken: the account is gone) for anything else."""
    found: list[User] = []

    def fingerprint(subject: str) -> str | None:
        uid = subject.partition(" ")[0]
        user = repo.get_user(uid)
        found[:] = [user] if user is not None else []
        return user.id if user is not None else None

    token_read = read_token(secret, UNSUBSCRIBE, token, fingerprint_of=fingerprint, now=now)
    choice = token_read.subject.partition(" ")[2]
    return found[0], choice


@contextlib.contextmanager
def never_fails(what: str) -> Iterator[None]:
    """Mail must not fail what it is about: the booking is done, whatever happens here."""
    try:
        yield
    except Exception:
        log.exception("%s: not sent (the change it is about stands)", what)


class Notifier:
    """Mail about sessions, for one app: its repository, mailer, background sender (None:
    pages send at once), links, secret key and reminder times."""

    def __init__(
        self,
        repo: Repository,
        mailer: Mailer,
        sender: MailSender | None,
        links: LinkMaker,
        secret: str,
        offsets: tuple[timedelta, ...],
    ) -> None:
        self.repo = repo
        self.mailer = mailer
        self.sender = sender
        self.links = links
        self.secret = secret
        self.offsets = offsets

    # --- hooks: called once a change is done ----------------------------------------------

    def booking_confirmed(self, booking: Booking) -> None:
        """A session was booked: both people get a mail with an invite (REQUEST), and its
        reminders join the due index. Not when it is cancelled already: the teacher's account
        deletion may cancel it, and mail that, between the booking and this call, and a
        "Booked" after the "Cancelled" would be the learner's last word on it."""
        now = self.repo.clock()
        with never_fails(f"booking mail for {booking.id}"):
            copy = self.repo.schedule(booking.learner).bookings.get(booking.id)
            if copy is None or not copy.active:
                return
        with never_fails(f"booking mail for {booking.id}"):
            self.repo.index_reminders(due_entries(booking, self.offsets, now))
        with never_fails(f"booking mail for {booking.id}"):
            self._tell_both(booking, "booking_confirmed", {}, now)

    def booking_changed(self, booking: Booking, was_start: str, was_end: str, by: str) -> None:
        """A session moved to another time (`booking` as it is now; `booking.sequence`
        raised by the move; `by`: who moved it): both people get a mail with the updated
        invite (REQUEST, same UID, higher SEQUENCE), and the reminders move with it."""
        now = self.repo.clock()
        before = replace(booking, start=was_start, end=was_end)
        with never_fails(f"move mail for {booking.id}"):
            self.repo.unindex_reminders(due_entries(before, self.offsets, now))
            self.repo.index_reminders(due_entries(booking, self.offsets, now))
        with never_fails(f"move mail for {booking.id}"):
            extra = {
                "was_start": before.start_at,
                "was_end": before.end_at,
                "by": by,
                "note": booking.moved.get("note", ""),  # the mover's message
            }
            self._tell_both(booking, "booking_changed", extra, now)

    def booking_cancelled(self, booking: Booking, only: str | None = None) -> None:
        """A session was cancelled (`booking` the cancelled copy): both people (or `only`
        that one) get a mail with the reason and a CANCEL for their calendar, and its
        reminders leave the due index."""
        now = self.repo.clock()
        with never_fails(f"cancel mail for {booking.id}"):
            self.repo.unindex_reminders(due_entries(booking, self.offsets, now))
        with never_fails(f"cancel mail for {booking.id}"):
            extra = {"reason": booking.cancel_reason, "by": booking.cancelled_by}
            newest = replace(booking, sequence=self._newest_sequence(booking))
            self._tell_both(newest, "booking_cancelled", extra, now, only)

    def _newest_sequence(self, booking: Booking) -> int:
        """The highest sequence either copy of the session has: a cancel made on a copy that
        had not yet taken a move (services/reschedule.py) must still be newer, for both
        people's calendars, than the invite the move sent."""
        docs = self.repo.store.get_many(
            [schedule_key(booking.teacher), schedule_key(booking.learner)]
        )
        found = [booking.sequence]
        for doc in docs.values():
            copy = (doc.get("bookings") or {}).get(booking.id) or {}
            found.append(int(copy.get("sequence") or 0))
        return max(found)

    def review_received(self, booking: Booking, rater: str) -> None:
        """`rater` reviewed the session: the other person is told. The rating and words show
        only where the review does (domain/records.py: review_visible): until the person has
        rated too, the mail says a review is waiting for their own."""
        now = self.repo.clock()
        with never_fails(f"review mail for {booking.id}"):
            reviewed = booking.other(rater)
            people = self.repo.get_users([rater, reviewed])
            user = people.get(reviewed)
            review = booking.reviews.get(rater)
            if user is None or review is None:
                return
            visible = reviewed in booking.reviews
            context = self._session(booking, reviewed, people) | {
                "reviewer_name": self._name(people, rater, booking),
                "visible": visible,
                "rating": review.rating if visible else None,
                "rating_max": RATING_MAX,
                "comment": review.feedback if visible else "",
                "closes_at": booking.end_at + REVIEW_WINDOW,
                "rate_link": self.links("bookings.review", booking_id=booking.id),
                # Where the review itself is shown: the dashboard's reviews tab.
                "reviews_link": self.links("dashboard.recent_reviews"),
            }
            self._mail(user, "review_received", context, now)

    # --- reminders ---------------------------------------------------------------------------

    def send_reminders(self, now: datetime) -> Reminded:
        """Send the reminders due at `now` from the due index, oldest hour first, and drop
        those whose moment passed while no sender ran (domain/reminders.py: deadline)."""
        report = Reminded()
        wanted = {before_kind(offset) for offset in self.offsets}
        with upkeep.after(self.repo):
            for key, entries in self.repo.due_pieces(now, PIECES_PER_ROUND):
                done = set()
                for entry in entries:
                    if entry.moment_at > now:
                        continue  # later this hour
                    if entry.kind in (HOLD_MAIL, HOLD_END):
                        # A waitlist hold (services/waitlist.py): never too late to pass on.
                        with never_fails(f"waitlist hold {entry.ref}"):
                            self.waitlist_hold(entry, now)
                            done.add(entry.ref)
                        continue
                    if offset_of(entry.kind) and entry.kind not in wanted:
                        done.add(entry.ref)  # REMINDER_OFFSETS no longer has this one
                    elif now >= deadline(entry.kind, entry.moment_at):
                        done.add(entry.ref)
                        report.late += 1
                        log.info("reminder %s dropped: its moment passed", entry.ref)
                    else:
                        # A failure (the store or a template) leaves the entry for the next
                        # round, until its deadline; the claims keep what did go out from
                        # going twice.
                        with never_fails(f"reminder {entry.ref}"):
                            report.sent += self.remind(entry, now)
                            done.add(entry.ref)
                self.repo.drop_due(key, done)
        return report

    def waitlist_hold(self, entry: DueEntry, now: datetime) -> None:
        """A hold's due entry: mail its holder (once, claimed in the teacher's document), or
        at its end pass it on (and so tell the next in line)."""
        if entry.kind == HOLD_END:
            waitlist.settle(self.repo, entry.teacher)
            return
        hold = self.repo.change_schedule(
            entry.teacher, lambda s: s.claim_hold_mail(entry.booking_id, now)
        )
        if hold is None or hold.learner != entry.learner:
            return
        people = self.repo.get_users([hold.learner, entry.teacher])
        user, teacher = people.get(hold.learner), people.get(entry.teacher)
        offer = self.repo.schedule(entry.teacher).offers.get(hold.offer_id)
        if user is None or offer is None:
            return
        context = {
            "skill": hold.skill,
            # Named as every mail names people; the link by username, as links do.
            "teacher_name": teacher.name if teacher is not None else offer.user,
            "start": hold.start_at,
            "end": hold.end_at,
            "until": hold.until_at,
            "link": self.links(
                "bookings.show", username=offer.user, skill=hold.skill_key, slot=hold.ref
            ),
        }
        self._mail(user, "waitlist_hold", context, now, direct=True)

    def remind(self, entry: DueEntry, now: datetime) -> int:
        """Send one due reminder to each of the session's people who may get it and has not:
        claimed in their own copy first (atomic), then mailed. Returns how many went."""
        kind = "review_reminder" if entry.kind in REVIEW_KINDS else "session_reminder"
        people = self.repo.get_users([entry.teacher, entry.learner])
        sent = 0
        for uid in (entry.teacher, entry.learner):
            user = people.get(uid)
            if user is None or not may_mail(user, kind, user.email) or not wants_mail(user, kind):
                continue
            booking = self.repo.change_schedule(
                uid, lambda s: claim(s, entry.booking_id, entry.kind, entry.moment, now)
            )
            if booking is None or self._cancelled_for_other(booking, uid):
                continue
            context = self._session(booking, uid, people)
            if kind == "review_reminder":
                closes = booking.end_at + REVIEW_WINDOW
                context |= {
                    "closes_at": closes,
                    "closing": entry.kind != "rate",
                    "link": self.links("bookings.review", booking_id=booking.id),
                }
            # Sent from here (a background sender or cron), so straight to the transport.
            if self._mail(user, kind, context, now, direct=True) is not None:
                sent += 1
        return sent

    def _cancelled_for_other(self, booking: Booking, uid: str) -> bool:
        """Whether the other person's copy is cancelled already: a cancel copies itself to the
        second document a moment after the first, and no reminder should slip in between."""
        other = booking.other(uid)
        doc = self.repo.store.get(schedule_key(other)) or {}
        copy = (doc.get("bookings") or {}).get(booking.id)
        return bool(copy) and copy.get("status") == "cancelled"

    # --- building and sending ----------------------------------------------------------------

    @staticmethod
    def _name(people: dict[str, User], uid: str, booking: Booking) -> str:
        user = people.get(uid)
        if user is not None:
            return user.name
        return booking.teacher_name if uid == booking.teacher else booking.learner_name

    def _session(self, booking: Booking, uid: str, people: dict[str, User]) -> dict[str, Any]:
        """What every mail about a session says, for `uid`: what, with whom, when, a link."""
        return {
            "title": booking.title or booking.skill,
            "skill": booking.skill,
            "mode": ics.MODES.get(booking.mode, booking.mode.capitalize()),
            "other_name": self._name(people, booking.other(uid), booking),
            "teaching": uid == booking.teacher,
            "start": booking.start_at,
            "end": booking.end_at,
            "link": self._session_link(booking.id),
        }

    def _session_link(self, booking_id: str) -> str:
        # A mail is read long after it is sent: this address finds the session's tab then.
        return self.links("dashboard.session_link", booking_id=booking_id)

    def _tell_both(
        self,
        booking: Booking,
        kind: str,
        extra: dict[str, Any],
        now: datetime,
        only: str | None = None,
    ) -> None:
        people = self.repo.get_users([booking.teacher, booking.learner])
        names = {uid: user.name for uid, user in people.items()}
        for uid in (booking.teacher, booking.learner):
            user = people.get(uid)
            if only is not None and uid != only:
                continue
            if user is None:
                continue  # their account is gone (deleted, which may be what cancelled it)
            context = self._session(booking, uid, people) | extra
            if "by" in extra:
                context["by_you"] = extra["by"] == uid
            self._mail(user, kind, context, now, invite=self._invite(booking, user, names, now))

    def _invite(
        self, booking: Booking, user: User, names: dict[str, str], now: datetime
    ) -> CalendarInvite:
        links = ics.EventLinks(
            profile=lambda username: self.links("profile.public", username=username),
            session=self._session_link,
        )
        invitee = ics.Invitee(user.name, user.email, self.mailer.sender)
        event = ics.booking_event(booking, user.id, names, now, links, invitee)
        calendar, method = ics.invite(booking, event)
        return CalendarInvite(calendar, method)

    def _mail(
        self,
        user: User,
        kind: str,
        context: dict[str, Any],
        now: datetime,
        *,
        invite: CalendarInvite | None = None,
        direct: bool = False,
    ) -> Outcome | None:
        """One mail to `user`, with its unsubscribe link and headers; None when they may not
        get it. `direct`: sent now rather than through the background sender (the sender's own
        rounds)."""
        if not may_mail(user, kind, user.email) or not wants_mail(user, kind):
            return None
        choice = MAIL_CHOICE_OF[kind]
        url = self.links(
            "unsubscribe.confirm", token=unsubscribe_token(self.secret, user, choice, now)
        )
        headers = {
            # RFC 8058: mail apps show an "Unsubscribe" button and POST this to the URL.
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        return mail_person(
            self.mailer,
            None if direct else self.sender,
            user,
            kind,
            {**context, "unsubscribe_url": url},
            headers=headers,
            invite=invite,
        )
