"""Two-way ratings and what they add up to: 1-10 with optional feedback, one per person per
session, from the session's end until 14 days after it. A review stays hidden from the person
reviewed until they have reviewed too, or the 14 days are over, and a hidden review counts
nowhere (fair reviews: nobody rates in retaliation). Averages and "sessions taught/attended"
add the archived history's counters to the live window (domain/archive.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from skillswap.domain.attendance import LiveTally, reported_no_show
from skillswap.domain.limits import REVIEW_WINDOW
from skillswap.domain.records import Booking, Rating, Reliability, Review, ShownReview, Stats
from skillswap.domain.refusals import NotParticipant, ReviewRefused
from skillswap.domain.times import iso_utc

RATING_MIN, RATING_MAX = 1, 10
MAX_FEEDBACK = 1000


class ReviewRules:
    """Mixed into Schedule: reviews on one person's copies of their sessions."""

    owner: str
    bookings: dict[str, Booking]
    counters: dict[str, int]
    highlights: list[dict]
    reliability_record: Callable[..., Reliability]
    live_tally: Callable[[datetime], LiveTally]

    def add_review(
        self, booking_id: str, rater: str, rating: int, feedback: str, now: datetime
    ) -> Booking:
        booking = self.bookings.get(booking_id)
        if booking is None or rater not in (booking.teacher, booking.learner):
            raise NotParticipant("Only the two people in a session can rate it.")
        if booking.status != "confirmed":
            raise ReviewRefused("A cancelled session cannot be rated.")
        if now < booking.end_at:
            raise ReviewRefused("You can rate this session once it has ended.")
        if now >= booking.end_at + REVIEW_WINDOW:
            raise ReviewRefused(
                "Reviews of this session closed 14 days after it ended, so it can no longer "
                "be rated."
            )
        if rater in booking.reviews:
            raise ReviewRefused("You have already rated this session.")
        if reported_no_show(booking, rater):
            raise ReviewRefused(
                "You reported that this session did not take place, so you cannot rate it."
            )
        if not RATING_MIN <= rating <= RATING_MAX:
            raise ReviewRefused(f"Choose a rating from {RATING_MIN} to {RATING_MAX}.")
        if len(feedback) > MAX_FEEDBACK:
            raise ReviewRefused(f"Keep feedback to {MAX_FEEDBACK} characters.")
        booking.reviews[rater] = Review(rating, feedback, iso_utc(now))
        return booking

    def received_reviews(self, now: datetime) -> list[tuple[Booking, Review]]:
        """Reviews of this person that may be shown (fair reviews), newest first. Averages,
        profiles and dashboards all use this: a hidden review counts nowhere."""
        found = []
        for b in self.bookings.values():
            other = b.other(self.owner)
            if b.status == "confirmed" and b.review_visible(other, now):
                found.append((b, b.reviews[other]))
        found.sort(key=lambda pair: pair[1].created, reverse=True)
        return found

    def latest_reviews(
        self, received: list[tuple[Booking, Review]], limit: int
    ) -> list[ShownReview]:
        """The newest reviews of this person that may be shown: the live ones (`received`:
        received_reviews(now)), then those kept from archived sessions, at most `limit`."""
        shown = [
            ShownReview(b.skill, r.rating, r.feedback, r.created, b.role(self.owner))
            for b, r in received[:limit]
        ]
        shown += [
            ShownReview(h["skill"], h["rating"], h["feedback"], h["created"], h.get("role", ""))
            for h in self.highlights[: limit - len(shown)]
        ]
        return shown

    def given_reviews(self) -> list[tuple[Booking, Review]]:
        found = [
            (b, b.reviews[self.owner]) for b in self.bookings.values() if self.owner in b.reviews
        ]
        found.sort(key=lambda pair: pair[1].created, reverse=True)
        return found

    def hidden_reviews(self, now: datetime) -> int:
        """Reviews of this person still waiting for their own rating (or 14 days)."""
        hidden = 0
        for b in self.bookings.values():
            other = b.other(self.owner)
            if other in b.reviews and not b.review_visible(other, now):
                hidden += 1
        return hidden

    def stats(
        self,
        now: datetime,
        received: list[tuple[Booking, Review]] | None = None,
        tally: LiveTally | None = None,
        *,
        ranking: bool = True,
    ) -> Stats:
        """Sessions taught and attended, and the average of the reviews that may be shown
        (`received`: received_reviews(now), `tally`: live_tally(now), when the caller has
        them already): the archived history's counters plus the live window, counted now.
        With the reliability record ranking uses, unless `ranking` is False (pages show the
        figures alone, and a profile its own record, invitations included)."""
        counters = self.counters
        tally = tally if tally is not None else self.live_tally(now)
        taught = counters.get("taught", 0) + tally.taught
        attended = counters.get("attended", 0) + tally.attended
        rating = self.rating(now, received)
        if not ranking:
            return Stats(taught, attended, rating.rating_count, rating.rating_average)
        record = self.reliability_record(now, invitations=False, tally=tally)
        return Stats(taught, attended, rating.rating_count, rating.rating_average, record)

    def rating(self, now: datetime, received: list[tuple[Booking, Review]] | None = None) -> Rating:
        """The average of the reviews that may be shown, archived ones included (`received`:
        received_reviews(now), when the caller has them): all a booking page shows of a
        teacher's figures, without the sessions counted."""
        # Reviews exist only after a confirmed session ended, so no further filter is needed.
        if received is None:
            received = self.received_reviews(now)
        counters = self.counters
        count = counters.get("rating_count", 0) + len(received)
        total = counters.get("rating_sum", 0) + sum(review.rating for _, review in received)
        return Rating.of(count, total)
