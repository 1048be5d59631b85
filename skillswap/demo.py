"""`flask seed-demo`: a small, believable community to try SkillSwap with.

Thirty people across the world's time zones, with bios, tags and links; offers over the coming
three weeks; learning requests; and past sessions with reviews, so profiles show averages. All
of it goes through the Repository, as the app's own pages would write it. Past sessions are
booked with the repository's clock set back in time, then rated once they have ended.

The same --seed gives the same community (names, times, ratings, feedback) on any store; only
user ids differ, since the repository draws them.

One module over ~300 lines: it is one story told in order (people, offers, the past, the
future); split, a reader would have to page between files to follow one seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app

from skillswap import services
from skillswap.domain.records import Booking, LearnRequest, Offer, StoredSlot
from skillswap.domain.refusals import ScheduleRefusal
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import expand_slots, expand_windows, iso_utc, to_zone
from skillswap.domain.users import User
from skillswap.repo import EmailTaken, Repository, UsernameTaken
from skillswap.repo.reminders import reindex_due
from skillswap.store import Store
from skillswap.web.passwords import hash_password

DEFAULT_PASSWORD = "skillswap-demo"

IN_PERSON = {"Swimming", "Woodworking", "Bike repair", "Tango", "Salsa", "Gardening"}
LANGUAGES = {"Spanish", "Japanese", "German", "French", "Mandarin", "Arabic", "Portuguese",
             "Korean", "Polish", "Italian", "Te reo Māori", "Swahili", "Persian",
             "Vietnamese"}  # fmt: skip
LANGUAGE_TITLES = ["Conversational {s}", "{s} for travellers", "{s} from zero", "{s} chat hour"]
TITLES = ["Intro to {s}", "{s} for beginners", "{s}: bring your questions", "Hands-on {s}"]
HOURS = [("09:00", "11:00"), ("10:00", "12:00"), ("12:00", "14:00"), ("14:00", "16:00"),
         ("17:00", "19:00"), ("18:00", "20:00"), ("19:00", "21:00")]  # fmt: skip
ABOUT_TEACHER = [
    "Patient and clear. I finally get the basics of {s}.",
    "Well prepared, with examples I could follow at home.",
    "Friendly and encouraging, and we went at my pace.",
    "Lots of practical tips. I'd book again.",
    "Explained it three different ways until it clicked.",
    "Good session, though we ran a little short on time at the end.",
    "Sent notes afterwards, which helped a lot.",
    "Learned more in an hour than in a month of videos.",
]
ABOUT_LEARNER = [
    "Came with good questions and had done the prep.",
    "A keen learner, a pleasure to teach.",
    "On time and really engaged.",
    "Picked things up quickly. Looking forward to the next one.",
    "Great energy; we covered everything we planned.",
    "Arrived a little late but made up for it with enthusiasm.",
]
CANCEL_REASONS = ["Something came up at work, sorry!", "I'm ill this week.", ""]


@cache
def demo_people() -> list[dict[str, Any]]:
    """The thirty people (skillswap/data/demo-people.json): name, username, timezone, bio,
    teach, learn, links."""
    text = resources.files("skillswap").joinpath("data/demo-people.json").read_text("utf-8")
    return json.loads(text)


class DemoClock:
    """The repository's clock while seeding: set back to book sessions that are now past."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Summary:
    people: list[User] = field(default_factory=list)
    offers: int = 0
    free_slots: int = 0
    past_sessions: int = 0
    reviews: int = 0
    upcoming: int = 0
    cancelled: int = 0
    requests: int = 0

    @property
    def zones(self) -> int:
        return len({p.timezone for p in self.people})


class Seeder:
    def __init__(self, store: Store, now: datetime, password_hash: str, seed: int) -> None:
        self.now = now
        self.clock = DemoClock(now)
        self.repo = Repository(store, self.clock)
        self.rng = random.Random(seed)
        self.password_hash = password_hash
        self.summary = Summary()

    def _id(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _at(self, moment: datetime) -> None:
        self.clock.now = min(moment, self.now)  # nothing is written "in the future"

    def _days(self, user: User, offsets: list[int]) -> list[date]:
        today = to_zone(self.now, ZoneInfo(user.timezone)).date()
        return [today + timedelta(days=n) for n in sorted(offsets)]

    # --- people --------------------------------------------------------------------------

    def people(self) -> list[User]:
        for n, person in enumerate(demo_people()):
            self._at(self.now - timedelta(days=60) + timedelta(hours=7 * n))
            user = self._claim(person["username"], person["timezone"])
            user.display_name, user.bio = person["name"], person["bio"]
            user.teach, user.learn = list(person["teach"]), list(person["learn"])
            user.links = list(person["links"])
            self.repo.save_profile(user)
            self.repo.index_teach_tags(user.id, [], user.teach)
            self.summary.people.append(user)
        return self.summary.people

    def _claim(self, username: str, zone: str) -> User:
        """The person's username, or with a number after it when --force meets a taken one."""
        for n in range(1, 100):
            name = username if n == 1 else f"{username}{n}"
            try:
                return self.repo.create_user(
                    name, f"{name}@example.com", self.password_hash, zone, verified=True
                )
            except (UsernameTaken, EmailTaken):
                continue
        raise click.ClickException(f"Could not find a free username like {username!r}.")

    # --- offers and bookings -------------------------------------------------------------

    def offer(self, user: User, skill: str, offsets: list[int], created: datetime) -> Offer:
        start, end = self.rng.choice(HOURS)
        ranges = [(time.fromisoformat(start), time.fromisoformat(end))]
        days = self._days(user, offsets)
        slots = expand_slots(days, ranges, ZoneInfo(user.timezone), 60)
        titles = LANGUAGE_TITLES if skill in LANGUAGES else TITLES
        offline = skill in IN_PERSON
        offer = Offer(
            id=self._id(),
            owner=user.id,
            user=user.username,
            title=self.rng.choice(titles).format(s=skill),
            skill=skill,
            description=(
                f"One hour of {skill} with {user.display_name.split()[0]}. "
                + ("We meet in person; I'll message you the place." if offline else "On video.")
            ),
            mode="offline" if offline else "online",
            timezone=user.timezone,
            dates=[d.isoformat() for d in days],
            time_ranges=[[start, end]],
            timestamp=iso_utc(created),
            session_minutes=60,
            custom_dates=[d.isoformat() for d in days],
            slots=[StoredSlot.of(s) for s in slots],
            updated=iso_utc(created),
        )
        self._at(created)
        services.offers.save_offer(self.repo, offer)
        self.summary.offers += 1
        return offer

    def book(self, teacher: User, learner: User, offer: Offer, when: datetime) -> Booking | None:
        """Book the first of the offer's slots both people are free for, at `when`."""
        self._at(when)
        taken = self.repo.schedule(teacher.id).booked_slot_ids(offer.id)
        for stored in offer.slots:
            if stored.id in taken or stored.as_slot().start <= when:
                continue
            booking = Booking(
                id=self._id(),
                teacher=teacher.id,
                teacher_name=teacher.username,
                learner=learner.id,
                learner_name=learner.username,
                offer_id=offer.id,
                slot_id=stored.id,
                title=offer.title,
                skill=offer.skill,
                mode=offer.mode,
                start=stored.start,
                end=stored.end,
                created=iso_utc(when),
            )
            try:
                return services.booking.book(self.repo, booking)
            except ScheduleRefusal:
                continue  # one of them is busy then: try the next slot
        return None

    def learners_of(self, skill: str, teacher: User, people: list[User]) -> list[User]:
        """People who want to learn `skill` first, then anyone else, in a seeded order."""
        key = normalise_skill(skill)
        keen = [p for p in people if key in {normalise_skill(t) for t in p.learn}]
        others = [p for p in people if p not in keen]
        self.rng.shuffle(keen)
        self.rng.shuffle(others)
        return [p for p in keen + others if p.id != teacher.id]

    # --- the community's history and plans ----------------------------------------------

    def past_sessions(self, people: list[User]) -> None:
        for teacher in self.rng.sample(people, 18):
            skill = self.rng.choice(teacher.teach)
            offsets = self.rng.sample(range(-26, -2), 3)
            offer = self.offer(teacher, skill, offsets, self.now - timedelta(days=40))
            for learner in self.learners_of(skill, teacher, people)[: self.rng.choice([1, 2, 2])]:
                booked = self.book(teacher, learner, offer, self.now - timedelta(days=35))
                if booked is not None:
                    self.summary.past_sessions += 1
                    self.rate(booked)

    def rate(self, booking: Booking) -> None:
        """Most people rate both ways; some only one way (still hidden), a few not at all."""
        who = self.rng.choices(["both", "learner", "teacher", "none"], [75, 10, 5, 10])[0]
        when = booking.end_at + timedelta(hours=self.rng.randint(1, 40))
        if who in ("both", "learner"):
            self._review(booking, booking.learner, ABOUT_TEACHER, [10, 9, 8, 7, 6], when)
        if who in ("both", "teacher"):
            when += timedelta(hours=self.rng.randint(1, 30))
            self._review(booking, booking.teacher, ABOUT_LEARNER, [10, 9, 8, 7], when)

    def _review(
        self, booking: Booking, rater: str, texts: list[str], ratings: list[int], when: datetime
    ) -> None:
        rating = self.rng.choices(ratings, [30, 35, 20, 10, 5][: len(ratings)])[0]
        feedback = self.rng.choice(texts).format(s=booking.skill) if self.rng.random() < 0.8 else ""
        self._at(when)
        services.booking.review(self.repo, rater, booking.id, rating, feedback)
        self.summary.reviews += 1

    def upcoming(self, people: list[User]) -> None:
        offers: list[tuple[User, Offer]] = []
        for user in people:
            for skill in self.rng.sample(user.teach, self.rng.choice([1, 1, 2])):
                created = self.now - timedelta(days=self.rng.randint(1, 9))
                offsets = self.rng.sample(range(1, 22), self.rng.randint(3, 5))
                offers.append((user, self.offer(user, skill, offsets, created)))
        for teacher, offer in self.rng.sample(offers, 12):
            learner = self.learners_of(offer.skill, teacher, people)[0]
            when = self.now - timedelta(hours=self.rng.randint(1, 20))
            booked = self.book(teacher, learner, offer, when)
            if booked is None:
                continue
            self.summary.upcoming += 1
            if self.rng.random() < 0.2:
                self._at(when + timedelta(hours=1))
                services.booking.cancel(
                    self.repo, learner.id, booked.id, self.rng.choice(CANCEL_REASONS)
                )
                self.summary.cancelled += 1
        moment = self.now
        self.summary.free_slots = sum(
            len(self.repo.schedule(p.id).free_slots(moment)) for p in people
        )

    def requests(self, people: list[User]) -> None:
        wishes = [
            (user, skill)
            for user in self.rng.sample(people, 20)
            for skill in self.rng.sample(user.learn, self.rng.choice([1, 1, 2]))
        ]
        for user, skill in wishes:
            start, end = self.rng.choice(HOURS)
            ranges = [(time.fromisoformat(start), time.fromisoformat(end))]
            days = self._days(user, self.rng.sample(range(1, 15), 4))
            windows = expand_windows(days, ranges, ZoneInfo(user.timezone))
            created = self.now - timedelta(days=self.rng.randint(0, 5), hours=3)
            self._at(created)
            services.offers.save_request(
                self.repo,
                LearnRequest(
                    id=self._id(),
                    owner=user.id,
                    user=user.username,
                    skill=skill,
                    mode=self.rng.choice(["either", "online"]),
                    timezone=user.timezone,
                    dates=[d.isoformat() for d in days],
                    time_ranges=[[start, end]],
                    timestamp=iso_utc(created),
                    custom_dates=[d.isoformat() for d in days],
                    windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
                ),
            )
            self.summary.requests += 1


def seed_demo(store: Store, now: datetime, password_hash: str, seed: int = 1) -> Summary:
    """Fill `store` with the demo community as of `now` (aware UTC)."""
    seeder = Seeder(store, now.replace(second=0, microsecond=0), password_hash, seed)
    people = seeder.people()
    seeder.past_sessions(people)
    seeder.upcoming(people)
    seeder.requests(people)
    return seeder.summary


def register(app: Flask) -> None:
    @app.cli.command("seed-demo")
    @click.option("--seed", default=1, show_default=True, help="Same seed, same community.")
    @click.option("--force", is_flag=True, help="Add the demo people to a store that has users.")
    @click.option("--password", default=DEFAULT_PASSWORD, show_default=True,
                  help="The one password every demo account gets.")  # fmt: skip
    def seed_demo_command(seed: int, force: bool, password: str) -> None:
        """Fill an empty store with a demo community: people, offers, sessions, reviews."""
        store: Store = current_app.extensions["skillswap.store"]
        clock: Callable[[], datetime] = current_app.extensions["skillswap.clock"]
        existing = len(store.keys("user/"))
        if existing and not force:
            raise click.ClickException(
                f"This store already has {existing} user{'s' if existing != 1 else ''}; "
                "seed-demo only fills an empty one. Use --force to add the demo people anyway."
            )
        click.echo(f"Seeding the demo community into the {store.name} store…")
        summary = seed_demo(store, clock(), hash_password(password), seed)
        # The sessions were written straight to the store: their reminders too, at once.
        reindex_due(store, current_app.config["REMINDER_OFFSETS"], clock())
        click.echo(
            f"Done: {len(summary.people)} people in {summary.zones} time zones; "
            f"{summary.offers} offers with {summary.free_slots} free sessions ahead; "
            f"{summary.past_sessions} past sessions with {summary.reviews} reviews; "
            f"{summary.upcoming} upcoming bookings ({summary.cancelled} cancelled); "
            f"{summary.requests} learning requests."
        )
        examples = ", ".join(p.username for p in summary.people[:3])
        click.echo(f"Log in as any of them (for example {examples}) with the password: {password}")
