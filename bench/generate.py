"""Deterministic, realistic SkillSwap communities for the benchmark (and the tests).

`generate(users, seed)` builds a community in memory with the app's own domain dataclasses and
key functions, as of a fixed instant `NOW` (the app under test gets the same instant as its
CLOCK, so every run sees the same "future"). `load(store, community)` writes it through the
store contract's bulk path (`put_many`), never through HTTP.

What a community looks like (all drawn from one `random.Random(seed)`):

- ~300 skills (`SKILLS`) whose popularity follows a Zipf-Mandelbrot law, weight 1/(rank+2);
  the rank order is a seeded shuffle of the list, so the most popular skill depends on the seed.
- Users with a display name, a bio, an IANA time zone from ~25 weighted zones, 1-5 teach tags
  and 1-5 (other) learn tags drawn by popularity; about 30 % have one learning request.
- 0-10 offers a user (about 5 on average), each for one of their teach skills: 1-4 dates in the
  four weeks before `NOW` (a third of them) or the eight weeks after it, 1-3 time ranges a date
  between 07:00 and 22:00 in the owner's zone, cut into 30-90 minute sessions or kept whole.
- 20 % of past slots are booked, each with reviews (the learner's always, the teacher's nine
  times in ten); 5 % of future slots are booked too, so dashboards have upcoming sessions. No
  teacher or learner is ever booked twice at one time.
- One "viewer" (the user with the most bookings among the first hundred) has three learning
  requests, for the most popular, a mid-ranked and a rare skill, each a one-week window
  (08:00-21:00 on the seven days from tomorrow, in the viewer's zone).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from skillswap.domain.records import Booking, LearnRequest, Offer, Review, StoredSlot
from skillswap.domain.schedule import Schedule
from skillswap.domain.skill_index import build_skill_index
from skillswap.domain.skills import normalise_skill
from skillswap.domain.times import (
    NonexistentWallTime,
    Slot,
    expand_windows,
    iso_utc,
    overlaps,
    parse_iso_utc,
    wall_to_utc,
)
from skillswap.domain.users import User
from skillswap.repo.indexes import search_records, slot_index_records, weekly_slot_buckets
from skillswap.repo.keys import email_key, schedule_key, skill_key, user_key, username_key
from skillswap.store import Store

#: The benchmark's "now": a Monday noon UTC. The app under test gets it as its CLOCK.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEED = 20261123
SIZES = {"tiny": 300, "small": 1_000, "large": 20_000}
PASSWORD = "bench password 1234"
# argon2id of PASSWORD with argon2-cffi's default (production) parameters, fixed so that a
# community is byte-for-byte reproducible (a fresh hash would carry a fresh salt).
PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$l4AlKNt1CWMIJx00q3hvfw"
    "$ttT2GBG66tLKxD02/8JQ5U5ujCtakw2bp7dQQ8/mW/Y"
)
PAST_DAYS = 28
FUTURE_DAYS = 56  # "offers over the next 8 weeks"
PAST_BOOKED = 0.20
FUTURE_BOOKED = 0.05
ZIPF_S, ZIPF_Q = 1.0, 2.0
MID_RANK, RARE_RANK = 150, 290
_norm = functools.lru_cache(maxsize=None)(normalise_skill)
_zone = functools.lru_cache(maxsize=None)(ZoneInfo)

_GROUPS = {
    "code": "Python, JavaScript, TypeScript, Rust, Go, Java, Kotlin, Swift, C, C++, C#, Ruby, "
    "PHP, SQL, Haskell, Elixir, Scala, R, MATLAB, Bash scripting, Git, Docker, Kubernetes, "
    "Linux administration, React, Vue.js, Django, Flask, Excel formulas, Machine learning, "
    "Data visualisation, Web accessibility, Unit testing, Regular expressions",
    "languages": "English conversation, Spanish, French, German, Italian, Portuguese, Dutch, "
    "Swedish, Norwegian, Danish, Finnish, Polish, Czech, Greek, Turkish, Russian, Ukrainian, "
    "Arabic, Hebrew, Persian, Hindi, Bengali, Urdu, Tamil, Mandarin Chinese, Cantonese, "
    "Japanese, Korean, Vietnamese, Thai, Indonesian, Tagalog, Swahili, Yoruba, Amharic, "
    "Irish, Welsh, Latin, Ancient Greek, British Sign Language, American Sign Language, "
    "Esperanto",
    "music": "Guitar, Bass guitar, Ukulele, Piano, Keyboard improvisation, Violin, Viola, "
    "Cello, Double bass, Flute, Clarinet, Saxophone, Trumpet, Trombone, Drums, Hand drums, "
    "Harmonica, Accordion, Banjo, Mandolin, Harp, Singing, Choir singing, Music theory, "
    "Songwriting, Music production, DJing, Ear training, Sight reading, Beatboxing",
    "sport": "Yoga, Pilates, Running technique, Swimming, Cycling maintenance, Rock climbing, "
    "Bouldering, Tennis, Table tennis, Badminton, Squash, Golf, Chess, Go (board game), Boxing, "
    "Judo, Karate, Brazilian jiu-jitsu, Fencing, Skateboarding, Surfing, Kayaking, Sailing, "
    "Skiing, Snowboarding, Ice skating, Football skills, Basketball, Volleyball, Juggling",
    "craft": "Knitting, Crochet, Sewing, Embroidery, Quilting, Weaving, Pottery, Woodworking, "
    "Wood carving, Furniture restoration, Leatherwork, Jewellery making, Bookbinding, "
    "Calligraphy, Origami, Candle making, Soap making, Stained glass, Screen printing, "
    "Upholstery, Basket weaving, Macramé, Bike repair, Electronics soldering, 3D printing, "
    "Home repair, Plumbing basics, Car maintenance, Gardening, Beekeeping",
    "food": "Cooking basics, Italian cooking, Indian cooking, Thai cooking, Japanese cooking, "
    "Mexican cooking, Vegan cooking, Baking bread, Sourdough, Pastry, Cake decorating, "
    "Fermentation, Cheese making, Coffee brewing, Latte art, Tea tasting, Wine tasting, "
    "Cocktail mixing, Knife skills, Meal prep, Barbecue, Dumpling making, Pasta making, "
    "Chocolate tempering, Food photography",
    "arts": "Drawing, Sketching, Watercolour, Oil painting, Acrylic painting, Digital "
    "illustration, Figure drawing, Portrait painting, Comics, Animation, Photography, Film "
    "photography, Photo editing, Video editing, Filmmaking, Graphic design, Typography, UI "
    "design, Interior design, Fashion design, Creative writing, Poetry, Screenwriting, "
    "Storytelling, Improv theatre, Acting, Stand-up comedy, Dance, Salsa, Tango, Ballet, "
    "Hip-hop dance, Magic tricks",
    "mind": "Mathematics, Statistics, Calculus, Linear algebra, Physics, Chemistry, Biology, "
    "Astronomy, Geology, Economics, Philosophy, History, Art history, Psychology, Logic, "
    "Speed reading, Memory techniques, Study skills, Essay writing, Debating",
    "work": "Public speaking, Presentation skills, Negotiation, Project management, Agile "
    "coaching, Product management, Marketing, SEO, Copywriting, Social media, Bookkeeping, "
    "Personal finance, Investing basics, Tax returns, CV writing, Interview practice, "
    "Leadership, Time management, Sales, Customer service, Entrepreneurship, Spreadsheets, "
    "Touch typing, UX research, Technical writing",
    "life": "Meditation, Mindfulness, Nutrition, Strength training, Stretching, First aid, "
    "Sign language basics, Parenting, Dog training, Houseplants, Minimalism, Sustainable "
    "living, Map reading, Camping, Foraging, Birdwatching, Astrophotography, Genealogy, "
    "Tarot history, Rubik's cube, Tai chi, Qigong, Breathwork, Sleep hygiene, Home brewing, "
    "Perfume making, Lock picking, Knot tying, Celestial navigation, Wild swimming, Urban "
    "sketching, Podcasting",
}


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


SKILLS: list[str] = [s.strip() for group in _GROUPS.values() for s in group.split(",")]

FIRST = _words(
    "Ada Alan Amara Ana Anil Aroha Ayesha Bea Ben Carlos Chen Chloe Dara David Diego Elena Emeka "
    "Emma Farah Felix Fatima Grace Hana Hugo Ines Ivan Jamal Jin Joao Julia Kai Kenji Lara Leila "
    "Liam Lucia Maya Mei Mohammed Nadia Nia Noah Olga Omar Priya Rafael Rosa Sam Sara Sofia Tariq "
    "Tom Uma Valentina Wei Yara Yusuf Zoe Zanele Mateo"
)
LAST = _words(
    "Smith Garcia Muller Rossi Dubois Kowalski Nowak Silva Santos Kim Lee Park Nguyen Tanaka Sato "
    "Chen Wang Li Singh Patel Khan Ahmed Okafor Mensah Hansen Johansson Novak Ivanova Cohen Levi "
    "Haddad Yilmaz Costa Moreau Fischer Weber Brown Jones Taylor Wilson Murphy Kelly Walsh Ortiz "
    "Lopez Martin Bernard Schmidt Horvat Popescu Nakamura Suzuki Mendes Alves Adeyemi Kariuki"
)
ZONES = [
    ("Europe/London", 8),
    ("Europe/Berlin", 7),
    ("Europe/Paris", 5),
    ("Europe/Madrid", 4),
    ("Europe/Warsaw", 3),
    ("Europe/Istanbul", 2),
    ("America/New_York", 9),
    ("America/Chicago", 5),
    ("America/Denver", 2),
    ("America/Los_Angeles", 6),
    ("America/Toronto", 3),
    ("America/Mexico_City", 3),
    ("America/Bogota", 2),
    ("America/Sao_Paulo", 4),
    ("Asia/Kolkata", 7),
    ("Asia/Dubai", 2),
    ("Asia/Singapore", 2),
    ("Asia/Shanghai", 3),
    ("Asia/Tokyo", 3),
    ("Asia/Manila", 2),
    ("Asia/Jakarta", 2),
    ("Australia/Sydney", 3),
    ("Pacific/Auckland", 1),
    ("Africa/Lagos", 3),
    ("Africa/Nairobi", 2),
    ("Africa/Johannesburg", 2),
    ("UTC", 1),
]
CITIES = _words(
    "Lisbon Leeds Lagos Lima Lyon Pune Osaka Oslo Austin Accra Bristol Bogotá Cork Cairo Denver "
    "Dublin Hanoi Kraków Manila Nairobi Porto Quito Seoul Toronto Utrecht Valencia Wellington"
)
ROLES = _words(
    "Nurse, Software developer, Teacher, Student, Retired engineer, Chef, Designer, Accountant, "
    "Musician, Librarian, Gardener, Data analyst, Carpenter, Parent of two, Translator, "
    "Researcher, Barista, Paramedic, Architect, Journalist",
    ", ",
)
FEEDBACK = [
    "Clear and patient, thank you!",
    "Great session, learned a lot.",
    "Well prepared and friendly.",
    "Good pace, would book again.",
    "Helpful tips I can use straight away.",
    "We ran a bit over time but it was worth it.",
    "Punctual and kind.",
    "",
]
RATINGS = [(10, 25), (9, 25), (8, 20), (7, 12), (6, 8), (5, 4), (4, 3), (3, 1), (2, 1), (1, 1)]


@dataclass
class Community:
    """A generated community: records by user, the derived skill index and what the benchmark
    needs to know about it (`meta`)."""

    users: list[User]
    schedules: dict[str, Schedule]
    skills: dict[str, dict[str, Any]]  # normalised skill -> skill index document
    meta: dict[str, Any] = field(default_factory=dict)

    def items(self, weekly_slots: bool = True) -> Iterator[tuple[str, Any]]:
        """Every key and value, as the repository would have written them: the slot index
        laid out as the target store's repository lays it out (`weekly_slot_buckets`)."""
        for user in self.users:
            yield username_key(user.username), {"uid": user.id}
            yield email_key(user.email), {"uid": user.id}
            yield user_key(user.id), user_doc(user)
            yield schedule_key(user.id), schedule_doc(self.schedules[user.id])
        for key, doc in self.skills.items():
            yield skill_key(key), doc
        yield from self.slot_index(weekly_slots).items()
        if weekly_slots:  # stores with keys to spare keep search cards too (RepositoryBase)
            people = ((u, self.schedules[u.id]) for u in self.users)
            yield from search_records(people, self.skills, NOW).items()

    def slot_index(self, weekly: bool) -> dict[str, dict]:
        return slot_index_records(((u, self.schedules[u.id]) for u in self.users), NOW, weekly)

    def counts(self) -> dict[str, int]:
        offers = [o for s in self.schedules.values() for o in s.offers.values()]
        teaching = [
            b for s in self.schedules.values() for b in s.bookings.values() if b.teacher == s.owner
        ]
        return {
            "users": len(self.users),
            "offers": len(offers),
            "slots": sum(len(o.slots) for o in offers),
            "requests": sum(len(s.requests) for s in self.schedules.values()),
            "bookings": len(teaching),
            "reviews": sum(len(b.reviews) for b in teaching),
            "skills": len(self.skills),
        }


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def user_doc(user: User) -> dict[str, Any]:
    """`user.to_dict()`, without `asdict`'s deep copies (the records are not changed later)."""
    return _fields(user)


def schedule_doc(schedule: Schedule) -> dict[str, Any]:
    """`schedule.to_doc()`, several times faster; the generator's test checks they agree."""
    offers = {}
    for key, offer in schedule.offers.items():
        doc = _fields(offer)
        doc["slots"] = [_fields(s) for s in offer.slots]
        offers[key] = doc
    bookings = {}
    for key, booking in schedule.bookings.items():
        doc = _fields(booking)
        doc["reviews"] = {k: _fields(r) for k, r in booking.reviews.items()}
        bookings[key] = doc
    doc = {
        "offers": offers,
        "requests": {k: _fields(r) for k, r in schedule.requests.items()},
        "bookings": bookings,
        "notifications": [_fields(n) for n in schedule.notifications],
        "due": schedule.due_map(),
    }
    # The sections written only when they hold something (history, archiving).
    for name in Schedule.SECTIONS:
        if name not in doc and (value := getattr(schedule, name)):
            doc[name] = value
    return doc


def zipf_weights(count: int, s: float = ZIPF_S, q: float = ZIPF_Q) -> list[float]:
    return [1.0 / (rank + q) ** s for rank in range(1, count + 1)]


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _pick_distinct(
    rng: random.Random, population: list[str], cum_weights: list[float], k: int, avoid: set[str]
) -> list[str]:
    chosen: list[str] = []
    while len(chosen) < k:
        (skill,) = rng.choices(population, cum_weights=cum_weights)
        if skill not in chosen and skill not in avoid:
            chosen.append(skill)
    return chosen


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _username(rng: random.Random, first: str, last: str, taken: set[str]) -> str:
    base = f"{first}{rng.choice(['', '_', '-', '.'])}{last}".lower().replace(".", "")
    name = base[:26]
    n = 1
    while name in taken:
        n += 1
        name = f"{base[:26]}{n}"
    taken.add(name)
    return name


def _ranges(rng: random.Random, minutes: int | None) -> list[tuple[time, time]]:
    """1-3 non-overlapping ranges, one in each of the chosen bands of the day."""
    bands = sorted(rng.sample([7, 12, 17], rng.choices([1, 2, 3], weights=[50, 35, 15])[0]))
    lengths = [60, 90, 120, 180] if minutes in (None, 30, 60) else [90, 180]
    out = []
    for band in bands:
        length = rng.choice(lengths)
        start = band * 60 + 30 * rng.randrange(0, (300 - length) // 30 + 1)
        end = start + length
        out.append((time(start // 60, start % 60), time(end // 60, end % 60)))
    return out


def _dates(rng: random.Random, today: date, past: bool) -> list[date]:
    count = rng.choices([1, 2, 3, 4], weights=[35, 30, 20, 15])[0]
    if past:
        low, high = -PAST_DAYS, -1
    else:
        low, high = 0, FUTURE_DAYS - 1
    first = today + timedelta(days=rng.randint(low, high))
    weekly = rng.random() < 0.5
    days = [first]
    for _ in range(count - 1):
        step = 7 if weekly else rng.randint(1, 6)
        nxt = days[-1] + timedelta(days=step)
        if (nxt - today).days > high:
            break
        days.append(nxt)
    return days


def fast_slots(
    dates: list[date], ranges: list[tuple[time, time]], zone: ZoneInfo, minutes: int | None
) -> list[StoredSlot]:
    """What `expand_slots` gives, stored, for the generator's ranges (07:00-22:00, so never
    across a DST change), about five times faster. The generator's test checks they agree."""
    step = timedelta(minutes=minutes) if minutes else None
    out: list[StoredSlot] = []
    for day in dates:
        for start, end in ranges:
            begin = wall_to_utc(day, start, zone)
            finish = wall_to_utc(day, end, zone)
            offset = begin.astimezone(zone).utcoffset() or timedelta(0)
            a, b = begin.replace(tzinfo=None), finish.replace(tzinfo=None)
            pieces = [(a, b)] if step is None else []
            piece = a
            while step is not None and piece + step <= b:
                pieces.append((piece, piece + step))
                piece += step
            for p, q in pieces:
                ls, le = p + offset, q + offset
                slot_id = f"{ls.date().isoformat()}T{ls:%H%M}-{le:%H%M}"
                out.append(StoredSlot(slot_id, p.isoformat() + "Z", q.isoformat() + "Z"))
    out.sort(key=lambda s: (s.start, s.end, s.id))
    return out


def _offer(rng: random.Random, user: User, skill: str, today: date, past: bool) -> Offer | None:
    zone = _zone(user.timezone)
    minutes = rng.choices([None, 30, 45, 60, 90], weights=[30, 10, 10, 40, 10])[0]
    ranges = _ranges(rng, minutes)
    dates = _dates(rng, today, past)
    try:
        slots = fast_slots(dates, ranges, zone, minutes)
    except NonexistentWallTime:
        return None
    if not slots:
        return None
    label = skill if rng.random() < 0.9 else skill.lower()
    first_start = parse_iso_utc(slots[0].start)
    created = min(NOW - timedelta(minutes=5), first_start - timedelta(days=rng.randint(1, 14)))
    return Offer(
        id=_hex(rng),
        owner=user.id,
        user=user.username,
        title=rng.choice(
            [
                f"{label} for beginners",
                f"{label} with {user.name.split()[0]}",
                f"Practise {label.lower()} together",
                f"{label}: questions answered",
                f"Intermediate {label.lower()}",
            ]
        ),
        skill=label,
        description=rng.choice(
            [
                f"Relaxed one-to-one {label.lower()} session. Bring your questions.",
                f"I have {rng.randint(2, 20)} years of experience with {label.lower()} and "
                "enjoy helping people get started.",
                "We can go at your pace; tell me beforehand what you would like to cover.",
                "",
            ]
        ),
        mode=rng.choices(["online", "offline"], weights=[70, 30])[0],
        timezone=user.timezone,
        dates=[d.isoformat() for d in dates],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
        timestamp=iso_utc(created),
        session_minutes=minutes,
        custom_dates=[d.isoformat() for d in dates],
        slots=slots,
        updated=iso_utc(created),
    )


def _request(
    rng: random.Random,
    user: User,
    skill: str,
    days: list[date],
    ranges: list[tuple[time, time]],
    created: datetime,
    request_id: str | None = None,
) -> LearnRequest:
    zone = _zone(user.timezone)
    windows = expand_windows(days, ranges, zone)
    return LearnRequest(
        id=request_id or _hex(rng),
        owner=user.id,
        user=user.username,
        skill=skill,
        mode=rng.choice(["online", "offline", "either", "either"]),
        timezone=user.timezone,
        dates=[d.isoformat() for d in days],
        time_ranges=[[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in ranges],
        timestamp=iso_utc(created),
        custom_dates=[d.isoformat() for d in days],
        windows=[[iso_utc(a), iso_utc(b)] for a, b in windows],
    )


def _review(rng: random.Random, end: datetime) -> Review:
    latest = max(end, NOW - timedelta(minutes=1))
    delay = timedelta(minutes=rng.randint(5, 3 * 24 * 60))
    created = min(end + delay, latest)
    rating = rng.choices([r for r, _ in RATINGS], weights=[w for _, w in RATINGS])[0]
    return Review(rating, rng.choice(FEEDBACK), iso_utc(created))


def generate(users: int, seed: int = SEED) -> Community:
    """A community of `users` people as of `NOW`; the same arguments give the same records."""
    rng = random.Random(seed)
    order = SKILLS[:]
    rng.shuffle(order)  # rank order: order[0] is the most popular skill
    cum = _cumulative(zipf_weights(len(order)))
    zone_names = [z for z, _ in ZONES]
    zone_cum = _cumulative([float(w) for _, w in ZONES])
    today = NOW.date()
    taken: set[str] = set()

    people: list[User] = []
    for _ in range(users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = _username(rng, first, last, taken)
        teach = _pick_distinct(rng, order, cum, rng.randint(1, 5), set())
        learn = _pick_distinct(rng, order, cum, rng.randint(1, 5), set(teach))
        city = rng.choice(CITIES)
        people.append(
            User(
                id=_hex(rng),
                username=name,
                email=f"{name}@example.org",
                password_hash=PASSWORD_HASH,
                timezone=rng.choices(zone_names, cum_weights=zone_cum)[0],
                display_name=f"{first} {last}",
                bio=(
                    f"{rng.choice(ROLES)} in {city}. Happy to share what I know about "
                    f"{teach[0].lower()}; currently learning {learn[0].lower()}."
                ),
                teach=teach,
                learn=learn,
                links=[f"https://example.org/{name}"] if rng.random() < 0.3 else [],
                created=iso_utc(NOW - timedelta(days=rng.randint(30, 700))),
            )
        )

    schedules = {u.id: Schedule(u.id) for u in people}
    by_id = {u.id: u for u in people}
    learners_of: dict[str, list[str]] = {}
    for user in people:
        for tag in user.learn:
            learners_of.setdefault(_norm(tag), []).append(user.id)

    # Offers: about a third in the past four weeks, the rest over the next eight.
    for user in people:
        for _ in range(rng.randint(0, 10)):
            skill = user.teach[0] if rng.random() < 0.5 else rng.choice(user.teach)
            offer = _offer(rng, user, skill, today, past=rng.random() < 1 / 3)
            if offer is not None:
                schedules[user.id].offers[offer.id] = offer

    # Learning requests: three in ten people ask for one of their learn tags, for a week.
    for user in people:
        if rng.random() < 0.3:
            start = today + timedelta(days=rng.randint(0, FUTURE_DAYS - 7))
            days = [start + timedelta(days=n) for n in range(rng.choice([1, 3, 7]))]
            start_hour = rng.choice([8, 10, 13, 17])
            ranges = [(time(start_hour), time(start_hour + rng.choice([2, 3, 4])))]
            learn_request = _request(
                rng, user, rng.choice(user.learn), days, ranges, NOW - timedelta(days=1)
            )
            schedules[user.id].requests[learn_request.id] = learn_request

    # Bookings: never two at one time for anybody.
    busy: dict[str, list[tuple[datetime, datetime]]] = {u.id: [] for u in people}
    uids = [u.id for u in people]

    def free(uid: str, slot: Slot) -> bool:
        return not any(overlaps(slot.start, slot.end, a, b) for a, b in busy[uid])

    now_iso = iso_utc(NOW)  # stored instants compare correctly as strings
    for user in people:
        schedule = schedules[user.id]
        for offer in list(schedule.offers.values()):
            for stored in offer.slots:
                if stored.end <= now_iso:
                    chance, past = PAST_BOOKED, True
                elif stored.start > now_iso:
                    chance, past = FUTURE_BOOKED, False
                else:
                    continue
                if rng.random() >= chance:
                    continue
                slot = stored.as_slot()
                if not free(user.id, slot):
                    continue
                pool = learners_of.get(_norm(offer.skill)) or uids
                for _ in range(3):
                    learner = rng.choice(pool)
                    if learner != user.id and free(learner, slot):
                        break
                else:
                    continue
                busy[user.id].append((slot.start, slot.end))
                busy[learner].append((slot.start, slot.end))
                other = by_id[learner]
                booking = Booking(
                    id=_hex(rng),
                    teacher=user.id,
                    teacher_name=user.username,
                    learner=learner,
                    learner_name=other.username,
                    offer_id=offer.id,
                    slot_id=stored.id,
                    title=offer.title,
                    skill=offer.skill,
                    mode=offer.mode,
                    start=stored.start,
                    end=stored.end,
                    created=iso_utc(
                        min(NOW, slot.start - timedelta(hours=rng.randint(2, 24 * 10)))
                    ),
                    status="confirmed",
                )
                if past:
                    booking.reviews[learner] = _review(rng, slot.end)
                    if rng.random() < 0.9:
                        booking.reviews[user.id] = _review(rng, slot.end)
                schedule.bookings[booking.id] = booking
                schedules[learner].bookings[booking.id] = replace(
                    booking, reviews=dict(booking.reviews)
                )

    # The viewer: three one-week requests, for a popular, a mid and a rare skill.
    viewer = max(people[:100], key=lambda u: len(schedules[u.id].bookings))
    levels = {"popular": order[0], "mid": order[MID_RANK], "rare": order[RARE_RANK]}
    week = [today + timedelta(days=n) for n in range(1, 8)]
    requests = {}
    for level, skill in levels.items():
        learn_request = _request(
            rng, viewer, skill, week, [(time(8), time(21))], NOW - timedelta(hours=1)
        )
        learn_request.mode = "either"
        schedules[viewer.id].requests[learn_request.id] = learn_request
        requests[level] = learn_request.id

    # As the app keeps them: slots that have started leave the live documents (each offer
    # remembers when it ends).
    for schedule in schedules.values():
        schedule.drop_past_slots(NOW)
    skills = build_skill_index((u, schedules[u.id]) for u in people)
    community = Community(people, schedules, skills)
    community.meta = {
        "seed": seed,
        "now": iso_utc(NOW),
        "viewer": {"id": viewer.id, "username": viewer.username},
        "skills": {
            level: {
                "key": normalise_skill(skill),
                "label": skill,
                "rank": order.index(skill),
                "candidates": _candidates(skills, normalise_skill(skill)),
                "request_id": requests[level],
            }
            for level, skill in levels.items()
        },
        "teacher": _sample_teacher(community, normalise_skill(order[0]), viewer.id),
        "search": normalise_skill(order[0])[:4],
    }
    return community


def _candidates(skills: dict[str, dict[str, Any]], key: str) -> int:
    doc = skills.get(key) or {"teachers": {}, "taggers": {}}
    return len(set(doc["teachers"]) | set(doc["taggers"]))


def _sample_teacher(community: Community, key: str, viewer: str) -> dict[str, Any]:
    """A typical teacher of the popular skill: the median (by free slots) of those with five or
    more free future slots. Their profile and booking page are benchmarked."""
    doc = community.skills[key]
    rows = []
    for uid in sorted(set(doc["teachers"]) | set(doc["taggers"])):
        if uid == viewer:
            continue
        free = community.schedules[uid].free_slots(NOW)
        if len(free) >= 5:
            rows.append((len(free), uid))
    rows.sort()
    count, uid = rows[len(rows) // 2]
    user = next(u for u in community.users if u.id == uid)
    offer, slot = community.schedules[uid].free_slots(NOW)[0]
    return {
        "id": uid,
        "username": user.username,
        "free_slots": count,
        "first_free": {
            "offer_id": offer.id,
            "slot_id": slot.id,
            "start": iso_utc(slot.start),
            "end": iso_utc(slot.end),
            "skill": offer.skill_key,
        },
    }


def free_learners(community: Community, start: str, end: str, exclude: str, count: int) -> list:
    """`count` users free at [start, end) (no booking overlapping it), other than `exclude`."""
    a, b = parse_iso_utc(start), parse_iso_utc(end)
    chosen = []
    for user in community.users:
        if user.id == exclude:
            continue
        if all(not overlaps(a, b, s, e) for s, e in community.schedules[user.id].busy()):
            chosen.append(user)
            if len(chosen) == count:
                break
    return chosen


def load(store: Store, community: Community, batch: int = 2000) -> int:
    """Write every record through `put_many`, `batch` keys at a time; returns the key count."""
    pending: dict[str, Any] = {}
    written = 0
    for key, value in community.items(weekly_slot_buckets(store)):
        pending[key] = value
        if len(pending) >= batch:
            store.put_many(pending)
            written += len(pending)
            pending = {}
    if pending:
        store.put_many(pending)
        written += len(pending)
    return written
