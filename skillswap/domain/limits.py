"""Every ceiling on what one person can make SkillSwap store, in one place.

Forms take their numbers from here and the rules check them where the data changes, so a person
at a limit is told which one and what to do, and nothing is written. Data already over a limit
(made before it existed) is kept: only additions are refused.

Why these numbers (the arithmetic is in the README's "Limits" section):

- MAX_FUTURE_SLOTS 2,000: a tutor teaching every day 09:00-21:00 in 30-minute sessions two
  months ahead publishes 61 x 24 = 1,464. At about 90 bytes a slot that is 180 KB of a
  person's document, and it bounds one person's rows in any piece of a skill's slot index.
- MAX_SLOTS_PER_OFFER 1,500: that tutor's two months fit in one offer (60 days x 24).
- MAX_OPEN_OFFERS 30, MAX_OPEN_REQUESTS 20: offers and requests with something still ahead.
  A request keeps its windows (up to 60 dates x 10 ranges, ~30 KB), hence the lower number.
- MAX_UPCOMING_ATTENDING 100: sessions booked as a learner and not over yet.
- MAX_SKILL_KEY_BYTES 120: a skill's index key after normalisation, in UTF-8 bytes, so
  `slots/<skill>/<week>/<piece>` always fits every backend's 1,000-byte key limit (40 typed
  characters can normalise to 720: U+FDFA is 18 characters under NFKC).
- SLOT_PIECE_ROWS 20,000: rows in one piece of a skill's slot index (~1.3 MB at 65 bytes a row);
  a full piece spills into a numbered overflow piece. The benchmark's busiest week of its
  busiest skill at 20,000 people holds 10,306 rows, so only a flood ever spills.
- SCHEDULE_GROWTH_SHARE 0.8: changes that add to a person's document (offers, requests,
  bookings) stop at 80 % of the store's value limit; the rest is kept for what completes a
  change already begun (confirming a hold, copying a cancel, a review, a notification).
- LATE_WINDOW 90 days, MAX_LATE_WEEKS 14: late cancels and moves are counted per week in the
  person's live document (never a scan of history); the weeks that reach into the last 90
  days are at most 14, so each kind of counter holds at most 14 numbers.
- A session moving to another time holds at most one move in flight (domain/reschedule.py),
  so a document's moves are bounded by its bookings.
- Waitlists (domain/waitlist.py, issue 21): MAX_WAITING_PER_SKILL 20 people in one teacher's
  line for one skill (the issue's bound: a longer line would wait weeks of 2-hour holds);
  MAX_WAITLISTS_PER_LEARNER 10 lines one person is in (the issue's bound: nobody can hog
  every popular teacher); MAX_WAITING_PER_TEACHER 100 entries in one teacher's document,
  whatever the number of skills, and MAX_WAITLIST_WINDOWS 30 windows an entry keeps (~1.5 KB):
  together at most ~150 KB of a teacher's document. WAITLIST_HOLD 2 hours: the issue's
  example, long enough to see a mail, short enough that a line of 20 moves within two days.
"""

from __future__ import annotations

from datetime import timedelta

from skillswap.domain.refusals import LimitReached

MAX_FUTURE_SLOTS = 2_000
MAX_SLOTS_PER_OFFER = 1_500
MAX_OPEN_OFFERS = 30
MAX_OPEN_REQUESTS = 20
MAX_UPCOMING_ATTENDING = 100
MAX_NOTIFICATIONS = 50
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_LINKS = 5
MAX_SKILL_KEY_BYTES = 120
SLOT_PIECE_ROWS = 20_000
SCHEDULE_GROWTH_SHARE = 0.8
# Replit DB's 5,000 keys and 50 MiB are product rules: at 90 % of either, sign-ups and new
# offers stop (the README says how to move to PostgreSQL).
STORE_CEILING_SHARE = 0.9

# History (DESIGN.md "Bounds"): a person's live document holds what is upcoming and the recent
# past; older records move to archive documents of at most ARCHIVE_PIECE_BYTES each.
REVIEW_WINDOW = timedelta(days=14)  # reviews close (and hidden ones show) 14 days after a session
LIVE_PAST = timedelta(days=30)
# Archiving waits until something is this much older than LIVE_PAST, so it runs about weekly
# per person rather than after every session.
ARCHIVE_SLACK = timedelta(days=7)
ARCHIVE_PIECE_BYTES = 1024 * 1024
# Where archive pieces are shared by everyone (Replit DB), each person's weekly batch rewrites
# the quarter's last piece: smaller pieces keep that write small, at a few more keys a year.
SHARED_ARCHIVE_PIECE_BYTES = 256 * 1024
MAX_HIGHLIGHTS = 20  # reviews received in archived sessions that profiles keep showing

# Reminders (domain/reminders.py). At most this many times before a session (REMINDER_OFFSETS).
MAX_REMINDER_OFFSETS = 4
# The due index: one bucket per hour (per day where keys are scarce) of reminders, each entry
# about 100 bytes. A bucket piece holds at most DUE_PIECE_ENTRIES (~400 KB) and a full one
# spills into a numbered piece, up to DUE_MAX_PIECES: 100,000 reminders in one hour (or day).
# Beyond that a session's reminders are not indexed (logged), and the booking still stands.
DUE_PIECE_ENTRIES = 4_000
DUE_MAX_PIECES = 25
# Late cancels and moves (domain/teacher_rules.py): counted per week, shown for the last 90 days.
LATE_WINDOW = timedelta(days=90)
MAX_LATE_WEEKS = 14
# Waitlists (domain/waitlist.py): see the docstring above for why.
MAX_WAITING_PER_SKILL = 20
MAX_WAITING_PER_TEACHER = 100
MAX_WAITLISTS_PER_LEARNER = 10
MAX_WAITLIST_WINDOWS = 30
WAITLIST_HOLD = timedelta(hours=2)


class PieceFull(Exception):
    """Adding to a piece of a shared document (a slot-index bucket, an archive) would pass its
    bound: what was being added goes to another piece. Not a refusal: nobody is told."""


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def check_growth(
    before: int, after: int, limit: int, what: str, advice: str, field: str = ""
) -> None:
    """Refuse a change that takes a count over `limit`, unless it does not grow it (data over
    a limit that is new is kept, and may shrink)."""
    if after > limit and after > before:
        raise LimitReached(f"{what} {advice}", field)


def check_future_slots(before: int, after: int) -> None:
    check_growth(
        before,
        after,
        MAX_FUTURE_SLOTS,
        f"You can have at most {MAX_FUTURE_SLOTS:,} future sessions published; this would "
        f"make {after:,}.",
        "Publish fewer dates or time ranges, or delete an offer you no longer need.",
        "dates",
    )


def check_slots_per_offer(before: int, after: int) -> None:
    check_growth(
        before,
        after,
        MAX_SLOTS_PER_OFFER,
        f"One offer can hold at most {MAX_SLOTS_PER_OFFER:,} sessions; this one would have "
        f"{after:,}.",
        "Pick fewer dates or time ranges, or longer sessions, or split it into two offers.",
        "dates",
    )


def check_open_offers(open_now: int) -> None:
    if open_now >= MAX_OPEN_OFFERS:
        raise LimitReached(
            f"You already have {_plural(open_now, 'open offer')}, the most SkillSwap keeps "
            f"at once ({MAX_OPEN_OFFERS}). Add these times to one of them, or delete one you "
            "no longer need.",
            "title",
        )


def check_open_requests(open_now: int) -> None:
    if open_now >= MAX_OPEN_REQUESTS:
        raise LimitReached(
            f"You already have {_plural(open_now, 'open request')}, the most SkillSwap keeps "
            f"at once ({MAX_OPEN_REQUESTS}). Delete one you no longer need first.",
            "skill",
        )


def check_upcoming_attending(upcoming: int) -> None:
    if upcoming >= MAX_UPCOMING_ATTENDING:
        raise LimitReached(
            f"You have {_plural(upcoming, 'upcoming session')} booked, the most SkillSwap "
            f"keeps at once ({MAX_UPCOMING_ATTENDING}). Book more once some have taken place."
        )


def check_waitlist(in_line: int, in_document: int, skill: str) -> None:
    """One more person joining a teacher's line for `skill`."""
    if in_line >= MAX_WAITING_PER_SKILL:
        raise LimitReached(
            f"This teacher's waitlist for {skill} is full ({MAX_WAITING_PER_SKILL} people "
            "are waiting). Try another teacher, or check back later."
        )
    if in_document >= MAX_WAITING_PER_TEACHER:
        raise LimitReached(
            f"This teacher has {MAX_WAITING_PER_TEACHER} people waiting already, the most "
            "SkillSwap keeps for one teacher. Try another teacher, or check back later."
        )


def waitlists_full(count: int) -> str:
    return (
        f"You are on {_plural(count, 'waitlist')}, the most SkillSwap keeps at once "
        f"({MAX_WAITLISTS_PER_LEARNER}). Leave one on your dashboard first."
    )


def growth_budget(max_value_bytes: int) -> int:
    """Bytes a person's document may grow to through new offers, requests and bookings."""
    return int(max_value_bytes * SCHEDULE_GROWTH_SHARE)


SCHEDULE_FULL = (
    "Your schedule holds as much as SkillSwap can store for one person, so nothing was saved. "
    "Delete offers or requests you no longer need, or wait until past sessions have moved to "
    "your history (a month after they end)."
)
TEACHER_FULL = (
    "This teacher's schedule is full, so it cannot take another booking right now. Nothing "
    "was booked; try another teacher or time."
)

OTHER_FULL = (
    "The other person's schedule is full, so this could not be saved for both of you. Nothing "
    "was changed; please try again later."
)


def skill_key_problem(key: str) -> str | None:
    """Why a skill's normalised key cannot be stored, or None."""
    if len(key.encode("utf-8")) > MAX_SKILL_KEY_BYTES:
        return (
            "This skill name is too long once written out in full (some characters expand "
            "into several): use a shorter name"
        )
    return None
