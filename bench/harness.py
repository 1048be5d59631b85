"""`python -m bench [--quick]`: generate, load, measure, print the table, write latest.json.

Full run (`make bench`): the small (1,000 people) and large (20,000) communities; figures are
for large unless labelled. Quick run (`make bench-quick`): tiny (300) and small, shorter HTTP
runs; the same targets are checked on its larger size. Exit status: 0 when every measured
target is met or missed only where the page rendered alone, with no store read, misses it too
in the same run (reading less cannot meet it: issue 22's acceptance), 1 when a target is missed
that rendering allows, 2 when the benchmark itself could not run.

Nothing here changes the app: it is measured as it is, through its own create_app, store and
gunicorn configuration, on the generator's fixed clock.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from bench import aging, capacity, flood
from bench import generate as gen
from bench.naive import load_everyone, scan, signature
from skillswap import create_app, services
from skillswap.domain.schedule import Schedule
from skillswap.domain.users import User
from skillswap.repo import Repository
from skillswap.store.sqlite import SQLiteStore
from skillswap.web.common import ZONE_COOKIE
from skillswap.web.requests.routes import PAGE_SIZE as MATCH_PAGE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SECRET = "skillswap-bench-secret"
USER_AGENT = "skillswap-bench"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
LEVELS = ("popular", "mid", "rare")
MiB = 1024 * 1024


def clock() -> datetime:
    return gen.NOW


# --- small helpers --------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def sample(fn: Callable[[], Any], min_n: int, max_n: int, budget: float) -> list[float]:
    """Milliseconds per call: at least `min_n` calls, then more until `max_n` or `budget` s."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < max_n:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        if len(times) >= min_n and time.perf_counter() - started > budget:
            break
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "max_ms": round(max(times), 2) if times else float("nan"),
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gib = round(int(mem) / MiB, 1)
    except (OSError, IndexError, ValueError):
        mem_gib = None
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    )
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit + ("+dirty" if dirty else ""),
    }


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- apps and sessions ----------------------------------------------------------------------


def make_app(store: Any, instance: Path, **extra: Any) -> Flask:
    config = {
        "SECRET_KEY": SECRET,
        "CLOCK": clock,
        "INSTANCE_PATH": str(instance),
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "ALLOW_EMPTY_STORE": True,
        # No background mail sender in the benchmark's own process: its rounds would land in
        # the in-process timings, and a part's sender outlives the part (polling the fake
        # Replit DB after it stopped). gunicorn's workers start theirs, as in production.
        "MAIL_SENDER_THREAD": False,
        # Nobody follows the mails' links here; set, so each app made does not warn that it is
        # not (web/links.py) in the middle of the bench's output.
        "PUBLIC_URL": "http://127.0.0.1:8000",
    }
    if store is not None:
        config["STORE"] = store
    config.update(extra)
    return create_app(config)


def real_login(app: Flask, username: str) -> FlaskClient:
    """Log in as a browser does (GET the form, POST it): full argon2 verification."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"login": username, "password": gen.PASSWORD, "next": "", "csrf_token": token},
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")
    return client


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def started_session(app: Flask, user: User) -> tuple[str, str]:
    """(session cookie, CSRF form token) for `user`, made by the app's own login code path
    (`auth.start_session`: clear, permanent, Flask-Login's login_user) and its CSRF token
    generator, minus the password check: 50 argon2 verifications would cost ~10 s of CPU."""
    from skillswap.web.auth.routes import start_session

    # From where gunicorn will see the racers, or session protection would mark every session
    # not fresh on its first request and re-send its cookie.
    with app.test_request_context(
        "/", headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
    ):
        start_session(user)
        token = generate_csrf()
        value = app.session_interface.get_signing_serializer(app).dumps(dict(session))  # type: ignore[attr-defined]
    return value, token


def session_client(app: Flask, uid: str) -> FlaskClient:
    """A test client logged in as `uid` through `started_session` (no argon2 cost)."""
    with app.app_context():
        user = app.extensions["skillswap.repo"].get_user(uid)
    cookie, _ = started_session(app, user)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    client.set_cookie("session", cookie)
    return client


# --- 1. generate and load ---------------------------------------------------------------------


@dataclass
class Built:
    name: str
    users: int
    db: Path
    meta: dict[str, Any]
    figures: dict[str, Any]
    community: gen.Community | None


def build(name: str, work: Path, keep: bool) -> Built:
    log(f"generating {name} ({gen.SIZES[name]} users)")
    t0 = time.perf_counter()
    community = gen.generate(gen.SIZES[name])
    generated = time.perf_counter() - t0
    db = work / f"{name}.db"
    store = SQLiteStore(str(db))
    t0 = time.perf_counter()
    keys = gen.load(store, community)
    loaded = time.perf_counter() - t0
    stats = store.stats()
    store.close()
    figures = {
        **community.counts(),
        "keys": keys,
        "bytes": stats.bytes,
        "generate_s": round(generated, 1),
        "load_s": round(loaded, 1),
        "candidates": {lv: community.meta["skills"][lv]["candidates"] for lv in LEVELS},
    }
    log(f"{name}: generated in {generated:.1f}s, loaded {keys} keys in {loaded:.1f}s")
    return Built(name, gen.SIZES[name], db, community.meta, figures, community if keep else None)


# --- 2. match latency in process --------------------------------------------------------------


def sample_in_turns(
    fns: dict[str, Callable[[], Any]], min_n: int, max_n: int, budget: float
) -> dict[str, list[float]]:
    """Milliseconds per call of each function, called in turns (`sample` for each, `budget`
    seconds each). This VM's speed drifts by a fifth or more within minutes: taken in turns,
    a drift slows them alike, and their ratio measures the code, not the minute."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    started = time.perf_counter()
    for n in range(1, max_n + 1):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
        if n >= min_n and time.perf_counter() - started > budget * len(fns):
            break
    return times


def match_latency(builts: list[Built], quick: bool) -> dict[str, dict[str, Any]]:
    """Each size's match figures, by level. The communities' calls for one level are timed
    in turns (`sample_in_turns`): the target compares their p95s."""
    from tests.support.counting_store import CountingStore

    stores = {b.name: CountingStore(SQLiteStore(str(b.db))) for b in builts}
    repos = {name: Repository(store, clock) for name, store in stores.items()}
    questions: dict[str, dict[str, tuple[str, list, str]]] = {}
    for b in builts:
        viewer = b.meta["viewer"]["id"]
        schedule = repos[b.name].schedule(viewer)
        questions[b.name] = {
            level: (
                b.meta["skills"][level]["key"],
                schedule.requests[b.meta["skills"][level]["request_id"]].window_instants(),
                viewer,
            )
            for level in LEVELS
        }

    def app_match(name: str, level: str) -> Callable[[], tuple[list, bool]]:
        key, windows, viewer = questions[name][level]
        # What the match page asks for: its first page, and whether a next one follows.
        return lambda: services.matching.match_page(
            repos[name], key, windows, "either", viewer, MATCH_PAGE
        )

    # Like a gunicorn worker (gunicorn.conf.py), keep what was built before the first request
    # (here: the generated communities) out of the cycle collector's walks while timing.
    gc.collect()
    gc.freeze()
    timed: dict[str, dict[str, tuple]] = {b.name: {} for b in builts}
    for level in LEVELS:
        calls = {b.name: app_match(b.name, level) for b in builts}
        for name, call in calls.items():
            stores[name].reset()
            found = call()  # warm-up, and the call the round trips are counted on
            timed[name][level] = (found, stores[name].total, stores[name].keys_read)
        times = sample_in_turns(calls, 5, 200, 1.0 if quick else 4.0)
        for name in calls:
            timed[name][level] += (times[name],)
    gc.unfreeze()
    out = {b.name: _match_figures(b, repos[b.name], timed[b.name], quick) for b in builts}
    for store in stores.values():
        store.close()
    return out


def _match_figures(built: Built, repo: Repository, timed: dict[str, tuple], quick: bool) -> dict:
    """One size's figures: the timed calls beside the naive matcher's, and whether every
    answer equals the naive one."""
    out: dict[str, Any] = {}
    viewer = built.meta["viewer"]["id"]
    schedule = repo.schedule(viewer)
    # The naive matcher = read everyone + filter. Reading is the same for every skill, so it is
    # timed once a size and added to each skill's timed filter.
    t0 = time.perf_counter()
    everyone = load_everyone(repo.store, viewer)
    load_ms = (time.perf_counter() - t0) * 1000
    for level in LEVELS:
        info = built.meta["skills"][level]
        windows = schedule.requests[info["request_id"]].window_instants()
        found, calls, docs, app_times = timed[level]

        def naive(key: str = info["key"], w: list = windows) -> list:
            return scan(everyone, clock(), key, w, "either", viewer)

        base = naive()
        naive_times = [load_ms + ms for ms in sample(naive, 2, 20, 0.3 if quick else 1.0)]
        everything = services.matching.find_teachers(
            repo, info["key"], windows, "either", exclude=viewer
        )
        # Both the page and the whole answer (every teacher, confirmed) must equal the scan's.
        page, more = found
        same = (
            signature(base[:MATCH_PAGE]) == signature(page)
            and more == (len(base) > MATCH_PAGE)
            and signature(base) == signature(everything)
        )
        app_s, naive_s = summary(app_times), summary(naive_times)
        out[level] = {
            "skill": info["label"],
            "candidates": info["candidates"],
            "matches": len(base),
            "store_calls": calls,
            "docs_read": docs,
            "app": app_s,
            "naive": naive_s,
            "naive_load_ms": round(load_ms, 1),
            "speedup_p50": round(naive_s["p50_ms"] / app_s["p50_ms"], 1),
            "same_answer": same,
        }
        log(
            f"match {built.name}/{level}: app p50 {app_s['p50_ms']} ms p95 {app_s['p95_ms']} ms,"
            f" naive p50 {naive_s['p50_ms']} ms ({len(base)} matches, same={same})"
        )
    return out


# --- 3. round trips per page --------------------------------------------------------------------


def pages(meta: dict[str, Any], level: str = "popular") -> dict[str, str]:
    teacher = meta["teacher"]["username"]
    return {
        "home": "/",
        "search": f"/?q={meta['search']}",
        "profile": "/profile",
        "user": f"/user/{teacher}",
        "match": f"/request/{meta['skills'][level]['request_id']}",
        "book": f"/book/{teacher}",
        "dashboard": "/dashboard",
        # The dashboard's other tabs: the past two weeks' sessions, the newest reviews.
        "dashboard_past": "/dashboard/past",
        "dashboard_reviews": "/dashboard/reviews",
        "calendar": "/calendar",
        "profile_edit": "/profile/edit",
    }


def http_pages(meta: dict[str, Any]) -> dict[str, str]:
    """The pages the HTTP part times, with both match pages named by their skill."""
    named = {("match_popular" if k == "match" else k): v for k, v in pages(meta).items()}
    return {**named, "match_mid": pages(meta, "mid")["match"]}


# Throughput targets: req/s as a share of the reference page's. A form with the zone picker
# is heavier; search and matching do real work per request.
HTTP_TARGETS = {
    "home": 0.5,
    "user": 0.5,
    "dashboard": 0.5,
    "book": 0.5,
    "profile": 0.5,
    "calendar": 0.5,
    "profile_edit": 0.25,
    "search": 0.35,
    "match_popular": 0.35,
}
PROFILED_REQUESTS = 30
PROFILE_LINES = 15


def page_profile(client: FlaskClient, path: str) -> list[str]:
    """The top of a cProfile of a page in process: where its time goes, so the next person
    need not rerun the benchmark to find out."""
    for _ in range(5):
        client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILED_REQUESTS):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # The app's own functions by cumulative time (the framework's wrappers would fill the top),
    # then every function by its own time.
    stats.sort_stats("cumulative").print_stats("skillswap/", PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    return [line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "") for line in lines]


def round_trips(built: Built, work: Path) -> dict[str, Any]:
    from tests.support.counting_store import CountingStore

    store = CountingStore(SQLiteStore(str(built.db)))
    app = make_app(store, work / f"instance-rt-{built.name}")
    client = session_client(app, built.meta["viewer"]["id"])
    out = {}
    for name, path in pages(built.meta).items():
        store.reset()
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        out[name] = {"calls": store.total, "docs_read": store.keys_read, "log": store.summary()}
    store.close()
    return out


# --- 4. HTTP ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing Debian's package (apt-get install -y wrk)")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update", "-q"], env=env, check=False)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed")
    return found


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _WRK_UNITS[match.group(2)]


def run_wrk(wrk: str, url: str, seconds: int, cookie: str | None) -> dict[str, Any]:
    """wrk on one URL; `cookie`: the Cookie header to send, if any."""
    cmd = [wrk, "-t2", "-c16", f"-d{seconds}s", "--latency", "--timeout", "30s"]
    cmd += ["-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": round(_ms(p50.group(1)), 2) if p50 else float("nan"),
        "p99_ms": round(_ms(p99.group(1)), 2) if p99 else float("nan"),
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in socket.groups()) if socket else 0,
    }


def settle(url: str, cookie: str | None) -> None:
    """Warm the page up with one request, and wait until the server has answered every
    request a previous wrk run left queued (sync workers serve them in turn)."""
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    requests.get(url, headers=headers, timeout=300).close()


def kept_session(url: str, cookie: str) -> str:
    """`cookie` plus the session cookie a browser keeps from `url`, once the answers stop
    changing it (Flask-Login marks an anonymous session not fresh on its second request). A
    page with a form makes its CSRF token once per session: without the session sent back,
    every request would make a new token and send a new cookie, work the logged-in page
    (whose session holds its token) never does."""
    session = ""
    for _ in range(3):
        sent = f"{cookie}; session={session}" if session else cookie
        response = requests.get(
            url, headers={"User-Agent": USER_AGENT, "Cookie": sent}, timeout=300
        )
        response.close()
        if not response.cookies.get("session"):
            break
        session = response.cookies["session"]
    return f"{cookie}; session={session}" if session else cookie


def worker_peaks(master: int) -> dict[int, int]:
    """VmHWM (peak resident set) in bytes of every child of the gunicorn master."""
    peaks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peaks[int(entry.name)] = int(fields["VmHWM"].split()[0]) * 1024
    return peaks


def http_figures(built: Built, work: Path, quick: bool) -> dict[str, Any]:
    from tests.support.gunicorn_server import GunicornServer

    wrk = ensure_wrk()
    seconds = 2 if quick else 10
    env = {"SECRET_KEY": SECRET, "RATELIMIT_ENABLED": "false", "GUNICORN_ACCESS_LOG": "-"}
    out: dict[str, Any] = {"seconds_per_page": seconds, "connections": 16, "workers": 2}

    # The reference page runs beside the app, in turns with the pages: each page (and its
    # rendering alone) is measured between two reference runs, and its ratio is to their
    # mean. A VM's speed drifts by a fifth within minutes: with one reference run before and
    # one after all the pages, the same code's /user ratio was 0.47 in one run, 0.56 in another.
    reference_server = GunicornServer(
        env, work / "reference.log", workers=2, app="bench.reference_app:app"
    )
    reference_seconds = max(seconds // 3, 1)
    references: list[dict[str, Any]] = []

    def reference() -> float:
        if not references:  # a fresh server's first second runs slow: not a yardstick
            run_wrk(wrk, reference_server.url + "/", 1, None)
        settle(reference_server.url + "/", None)
        references.append(run_wrk(wrk, reference_server.url + "/", reference_seconds, None))
        return references[-1]["rps"]

    def in_turns(*runs: tuple[str, int, str | None]) -> list[dict[str, Any]]:
        """wrk on each (url, seconds, cookie), between two reference runs."""
        before = references[-1]["rps"] if references else reference()
        results = []
        for url, run_seconds, cookie in runs:
            settle(url, cookie)
            results.append(run_wrk(wrk, url, run_seconds, cookie))
            settle(url, cookie)  # what wrk left queued is answered before the next run
        yardstick = (before + reference()) / 2
        for run in results:
            run["reference_rps"] = round(yardstick, 1)
            run["ratio"] = round(run["rps"] / yardstick, 3) if yardstick else 0.0
        return results

    store = SQLiteStore(str(built.db))
    app = make_app(store, work / "instance-login")
    viewer = built.meta["viewer"]
    cookie = "session=" + cookie_of(real_login(app, viewer["username"]))
    with app.app_context():
        zone = app.extensions["skillswap.repo"].get_user(viewer["id"]).timezone
    targets = http_pages(built.meta)
    app_env = {
        **env,
        "SKILLSWAP_STORE": f"sqlite:///{built.db}",
        "BENCH_INSTANCE": str(work / "instance-http"),
        "PYTHONPATH": str(ROOT),
        # Each targeted page's rendering alone, served beside it (bench/rendering.py).
        "BENCH_RENDERING": json.dumps(
            {"viewer": viewer["id"], "paths": {k: targets[k] for k in HTTP_TARGETS}}
        ),
    }
    server = GunicornServer(app_env, work / "gunicorn.log", workers=2, app="bench.wsgi:app")
    try:
        reference_server.start()
        server.start()
        master = server._process.pid  # type: ignore[union-attr]
        # The rendering alone: no login (so no store read), the viewer's zone from the cookie
        # anonymous visitors' browsers set: the same times written the same way; and the
        # anonymous session the first answer sets, so its CSRF token is made once, as the
        # viewer's was.
        rendering_cookie = kept_session(
            server.url + f"/rendering/{next(iter(HTTP_TARGETS))}", f"{ZONE_COOKIE}={zone}"
        )
        results = {}
        for name, path in targets.items():
            runs = [(server.url + path, seconds, cookie)]
            if name in HTTP_TARGETS:
                runs.append(
                    (server.url + f"/rendering/{name}", max(seconds // 2, 1), rendering_cookie)
                )
            results[name], *alone = in_turns(*runs)
            if alone:
                results[name]["rendering"] = alone[0]
            log(
                f"http {name}: {results[name]['rps']} req/s p99 {results[name]['p99_ms']} ms, "
                f"ratio {results[name]['ratio']}"
                + (f"; rendering alone {alone[0]['ratio']}" if alone else "")
            )
        out["pages"] = results
        settle(server.url + "/login", None)
        peaks = worker_peaks(master)
        out["worker_peak_rss_mib"] = round(max(peaks.values()) / MiB, 1) if peaks else None
        out["booking"] = booking_race(built, app, server.url)
        peaks = worker_peaks(master)
        out["worker_peak_rss_after_booking_mib"] = (
            round(max(peaks.values()) / MiB, 1) if peaks else None
        )
        out["server_log_errors"] = sum(
            server.log_tail(lines=10**7).count(sign)
            for sign in ("Traceback", "[ERROR]", "WORKER TIMEOUT")
        )
    finally:
        server.stop()
        reference_server.stop()
        store.close()
    out["reference_runs"] = [r["rps"] for r in references]
    out["reference_rps"] = round(sum(out["reference_runs"]) / len(references), 1)
    missed = [
        name
        for name, limit in HTTP_TARGETS.items()
        if name in out["pages"] and out["pages"][name]["ratio"] < limit
    ]
    if missed:
        store = SQLiteStore(str(built.db))
        client = session_client(
            make_app(store, work / "instance-profile"), built.meta["viewer"]["id"]
        )
        out["profiles"] = {name: page_profile(client, targets[name]) for name in missed}
        store.close()
    return out


# --- 5. booking contention ------------------------------------------------------------------


def booking_race(built: Built, app: Flask, base: str, racers: int = 50) -> dict[str, Any]:
    community = built.community
    assert community is not None
    slot = built.meta["teacher"]["first_free"]
    teacher = built.meta["teacher"]["username"]
    learners = gen.free_learners(
        community, slot["start"], slot["end"], built.meta["teacher"]["id"], racers
    )
    sessions = [started_session(app, user) for user in learners]
    barrier = threading.Barrier(racers)
    outcomes: list[dict[str, Any]] = [{} for _ in range(racers)]
    form_slot = f"{slot['offer_id']}:{slot['slot_id']}"

    host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80

    def race(i: int, barrier: threading.Barrier | None = barrier) -> None:
        # Raw sockets, connected and with the request encoded before the barrier: the clock
        # then measures the server (queueing included), not 50 Python clients sharing a GIL.
        cookie, token = sessions[i]
        body = urlencode({"csrf_token": token, "skill": slot["skill"], "slot": form_slot})
        request = (
            f"POST /book/{teacher} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: session={cookie}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
        ).encode()
        try:
            with socket.create_connection((host, port), timeout=60) as conn:
                if barrier:
                    barrier.wait(60)
                t0 = time.perf_counter()
                conn.sendall(request)
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
                ms = (time.perf_counter() - t0) * 1000
        except OSError as exc:
            outcomes[i] = {"status": 0, "error": str(exc), "ms": 0.0}
            return
        head, _, text = b"".join(chunks).decode("utf-8", "replace").partition("\r\n\r\n")
        status_line, *header_lines = head.split("\r\n")
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        outcomes[i] = {
            "status": int(status_line.split()[1]) if len(status_line.split()) > 1 else 0,
            "location": headers.get("Location", ""),
            "refused": "just booked by someone else" in text,
            "ms": ms,
        }

    threads = [threading.Thread(target=race, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    successes = sum(
        1 for o in outcomes if o["status"] == 302 and "/dashboard" in o.get("location", "")
    )
    refusals = sum(1 for o in outcomes if o["status"] == 409 and o.get("refused"))
    latencies = [o["ms"] for o in outcomes if o["status"]]
    # Service time: the same request alone, one at a time, now that the slot is taken (the
    # path 49 of the 50 racers took): what each racer cost the server without the queue.
    alone = []
    for i in range(1, 21):
        race(i, None)
        alone.append(outcomes[i]["ms"])
    store = SQLiteStore(str(built.db))
    teacher_schedule = Schedule.from_doc(
        built.meta["teacher"]["id"], store.get(f"schedule/{built.meta['teacher']['id']}")
    )
    store.close()
    held = [
        b
        for b in teacher_schedule.bookings.values()
        if b.active and b.offer_id == slot["offer_id"] and b.slot_id == slot["slot_id"]
    ]
    result = {
        "racers": racers,
        "successes": successes,
        "refusals": refusals,
        "errors": racers - successes - refusals,
        "bookings_in_store": len(held),
        **{k: v for k, v in summary(latencies).items() if k != "n"},
        "service_p50_ms": summary(alone)["p50_ms"],
    }
    log(f"booking race: {result}")
    return result


# --- 6. Replit DB -------------------------------------------------------------------------------


# The fake Replit DB runs in its own process, as the real one runs on another machine: in the
# app's process its HTTP handling would share the app's GIL and be timed as the app's.
FAKE_REPLITDB_SERVER = """
import sys
from tests.support.fake_replitdb import FakeReplitDB
fake = FakeReplitDB()
fake.start()
print(fake.url, flush=True)
for line in sys.stdin:  # "latency <seconds>" or "reset" lines, until the harness closes stdin
    if line.startswith("reset"):
        fake.reset()
    else:
        fake.latency = float(line.split()[1])
    print("ok", flush=True)
fake.stop()
"""


def replit_figures(built: Built, work: Path, quick: bool) -> dict[str, Any]:
    assert built.community is not None
    server = subprocess.Popen(
        [sys.executable, "-c", FAKE_REPLITDB_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert server.stdin is not None and server.stdout is not None
    stdin, stdout = server.stdin, server.stdout

    def send(command: str) -> None:
        stdin.write(command + "\n")
        stdin.flush()
        assert stdout.readline().strip() == "ok"

    try:
        fake_url = stdout.readline().strip()
        out = _replit_figures(built, work, quick, fake_url, lambda s: send(f"latency {s}"))
        if not quick:
            send("latency 0")
            send("reset")
            out["aged"] = capacity.figures(
                work, lambda db: _replit_store_stats(db, work, fake_url), log
            )
        return out
    finally:
        server.stdin.close()
        server.wait(30)


def _replit_store_stats(db: Path, work: Path, fake_url: str) -> dict[str, Any]:
    """Copy the SQLite file `db` into the (empty) fake Replit DB, then `flask store-stats`."""
    from skillswap.store.replit import ReplitStore

    url_file = work / "replitdb-url-aged"
    url_file.write_text(fake_url + "\n", encoding="utf-8")
    lock = work / "replitdb-aged.lock"
    source = SQLiteStore(str(db))
    target = ReplitStore(url_file=str(url_file), lock_path=str(lock))
    keys = source.keys("")
    for start in range(0, len(keys), 500):
        target.put_many(source.get_many(keys[start : start + 500]))
    source.close()
    target.close()
    app = make_app(
        None,
        work / "instance-replit-aged",
        STORE_URL="replit",
        REPLIT_URL_FILE=str(url_file),
        REPLIT_LOCK_PATH=str(lock),
    )
    result = app.test_cli_runner().invoke(args=["store-stats"])
    app.extensions["skillswap.store"].close()
    return {
        "keys": int(re.search(r"keys: (\d+)", result.output).group(1)),  # type: ignore[union-attr]
        "bytes": int(re.search(r"bytes: (\d+)", result.output).group(1)),  # type: ignore[union-attr]
        "store_stats": result.output.strip().splitlines(),
    }


def _replit_figures(
    built: Built, work: Path, quick: bool, fake_url: str, set_latency: Callable[[float], None]
) -> dict[str, Any]:
    from skillswap.store.replit import ReplitStore

    assert built.community is not None
    url_file = work / "replitdb-url"
    url_file.write_text(fake_url + "\n", encoding="utf-8")
    lock = work / "replitdb.lock"
    loader = ReplitStore(url_file=str(url_file), lock_path=str(lock))
    t0 = time.perf_counter()
    gen.load(loader, built.community, batch=200)
    loaded = time.perf_counter() - t0
    loader.close()
    app = make_app(
        None,
        work / "instance-replit",
        STORE_URL="replit",
        REPLIT_URL_FILE=str(url_file),
        REPLIT_LOCK_PATH=str(lock),
    )
    if quick:
        # What the 90 % check reads (one key listing and the write ledger): the exact
        # `flask store-stats` reads every value, seconds the quick run does not have.
        used = app.extensions["skillswap.store"].usage()
        keys, size = used.keys, used.bytes
        shown = [f"usage (the capacity check's ledger): {keys} keys, {size} bytes"]
    else:
        result = app.test_cli_runner().invoke(args=["store-stats"])
        keys = int(re.search(r"keys: (\d+)", result.output).group(1))  # type: ignore[union-attr]
        size = int(re.search(r"bytes: (\d+)", result.output).group(1))  # type: ignore[union-attr]
        shown = result.output.strip().splitlines()
    client = session_client(app, built.meta["viewer"]["id"])
    set_latency(0.010)
    out: dict[str, Any] = {
        "size": built.name,
        "load_s": round(loaded, 1),
        "keys": keys,
        "bytes": size,
        "store_stats": shown,
        "latency_ms": 10,
    }
    paths = {"dashboard": "/dashboard", "home": "/"}
    for level in LEVELS:
        paths[f"match_{level}"] = f"/request/{built.meta['skills'][level]['request_id']}"
    for name, path in paths.items():

        def get(p: str = path) -> None:
            response = client.get(p)
            assert response.status_code == 200, (p, response.status_code)

        get()
        out[name] = summary(sample(get, 3, 30, 1.5 if quick else 4.0))
        log(f"replit {name}: p50 {out[name]['p50_ms']} ms")
    app.extensions["skillswap.store"].close()
    return out


# --- targets and the table ------------------------------------------------------------------


@dataclass
class Target:
    name: str
    value: float | None
    limit: float
    op: str  # "<=", ">=", "=="
    unit: str = ""
    # An HTTP ratio's page rendered alone in the same run (bench/rendering.py): when that
    # misses the limit too, reading less cannot meet it, only showing less.
    rendering: float | None = None

    @property
    def rendering_misses(self) -> bool:
        return not self.met and self.rendering is not None and self.rendering < self.limit

    @property
    def met(self) -> bool:
        if self.value is None or self.value != self.value:  # None or NaN
            return False
        return {
            "<=": self.value <= self.limit,
            ">=": self.value >= self.limit,
            "==": self.value == self.limit,
        }[self.op]

    def row(self) -> str:
        value = "n/a" if self.value is None else f"{self.value:g}"
        verdict = "met" if self.met else "**MISSED**"
        if self.rendering_misses:
            verdict += f" (rendering alone: {self.rendering:g}, missed too)"
        return (
            f"| {self.name} | {value}{self.unit} | {self.op} {self.limit:g}{self.unit} | "
            f"{verdict} |"
        )


def targets(results: dict[str, Any], quick: bool) -> list[Target]:
    big, small = results["sizes_run"][-1], results["sizes_run"][0]
    out: list[Target] = []
    if "large" in results["communities"]:
        out.append(
            Target(
                "load large into SQLite", results["communities"]["large"]["load_s"], 120, "<=", " s"
            )
        )
    match = results.get("match", {})
    if big in match:
        out.append(
            Target(
                f"match p95, popular skill ({big})",
                match[big]["popular"]["app"]["p95_ms"],
                10,
                "<=",
                " ms",
            )
        )
        if small in match:
            ratio = (
                match[big]["popular"]["app"]["p95_ms"] / match[small]["popular"]["app"]["p95_ms"]
            )
            out.append(
                Target(f"match p95 {big}/{small}, popular skill", round(ratio, 2), 1.5, "<=")
            )
        for level in LEVELS:
            same = 1 if all(match[s][level]["same_answer"] for s in match) else 0
            out.append(Target(f"match {level}: same answer as naive", same, 1, "=="))
    rt = results.get("round_trips", {})
    if big in rt and small in rt:
        for page in rt[big]:
            out.append(Target(f"round trips {page} ({big})", rt[big][page]["calls"], 6, "<="))
            diff = rt[big][page]["calls"] - rt[small][page]["calls"]
            out.append(Target(f"round trips {page}: {big} − {small}", diff, 0, "=="))
    http = results.get("http")
    if http:
        for page, limit in HTTP_TARGETS.items():
            if page in http["pages"]:
                result = http["pages"][page]
                alone = result.get("rendering")
                out.append(
                    Target(
                        f"HTTP {page} / reference",
                        result["ratio"],
                        limit,
                        ">=",
                        rendering=alone["ratio"] if alone else None,
                    )
                )
        booking = http["booking"]
        out.append(Target("booking race successes", booking["successes"], 1, "=="))
        out.append(
            Target("booking race clear refusals", booking["refusals"], booking["racers"] - 1, "==")
        )
        out.append(Target("booking race errors", booking["errors"], 0, "=="))
        out.append(Target("booking race p95", booking["p95_ms"], 100, "<=", " ms"))
        out.append(
            Target(
                f"worker peak RSS after HTTP ({big})",
                http["worker_peak_rss_mib"],
                150,
                "<=",
                " MiB",
            )
        )
    replit = results.get("replit")
    if replit:
        out.append(
            Target(
                "Replit p50 /dashboard (10 ms/request)",
                replit["dashboard"]["p50_ms"],
                100,
                "<=",
                " ms",
            )
        )
        for level in LEVELS:
            out.append(
                Target(
                    f"Replit p50 match {level}",
                    replit[f"match_{level}"]["p50_ms"],
                    100,
                    "<=",
                    " ms",
                )
            )
        out.append(Target(f"Replit keys ({replit['size']})", replit["keys"], 5000, "<="))
        out.append(
            Target(
                f"Replit bytes ({replit['size']})",
                round(replit["bytes"] / MiB, 2),
                50,
                "<=",
                " MiB",
            )
        )
        if "aged" in replit:
            out += [Target(*check) for check in capacity.targets(replit["aged"])]
    if "flood" in results:
        out += [Target(*check) for check in flood.targets(results["flood"])]
    if "aging" in results:
        out += [Target(*check) for check in aging.targets(results["aging"])]
    # Quick: its HTTP part alone (ten pages, nine renderings alone, the reference between
    # them) takes about 45 s; the whole ran 68 s before the reference ran in turns, 70 s after.
    limit = 90 if quick else 600
    out.append(Target("total run time", round(results["elapsed_s"], 1), limit, "<=", " s"))
    return out


def table(results: dict[str, Any], checks: list[Target]) -> str:
    m = results["machine"]
    lines = [
        f"SkillSwap benchmark ({'quick' if results['quick'] else 'full'}), {results['date']}",
        f"Machine: {m['cores']} cores, {m['cpu_model']}, {m['memory_gib']} GiB, Python "
        f"{m['python']}, commit {m['commit']}; load average before {results['load_before']}, "
        f"after {results['load_after']}",
        "",
        "| community | users | offers | slots | bookings | reviews | keys | MiB | generate "
        "| load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in results["communities"].items():
        lines.append(
            f"| {name} | {c['users']} | {c['offers']} | {c['slots']} | {c['bookings']} | "
            f"{c['reviews']} | {c['keys']} | {c['bytes'] / MiB:.1f} | {c['generate_s']} s | "
            f"{c['load_s']} s |"
        )
    lines += [
        "",
        "Match latency, in process, SQLite, one-week window (match_page vs naive scan;"
        " the sizes timed in turns):",
        "",
        "| size | skill | teachers | matches | calls | docs read | p50 ms | p95 ms | naive p50 ms "
        "| speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, levels in results.get("match", {}).items():
        for level, f in levels.items():
            lines.append(
                f"| {size} | {level}: {f['skill']} | {f['candidates']} | {f['matches']} | "
                f"{f['store_calls']} | {f['docs_read']} | {f['app']['p50_ms']} | "
                f"{f['app']['p95_ms']} | {f['naive']['p50_ms']} | {f['speedup_p50']}× |"
            )
    rt = results.get("round_trips", {})
    if rt:
        sizes = list(rt)
        lines += [
            "",
            "Store round trips per page (calls / documents read):",
            "",
            "| page | " + " | ".join(sizes) + " |",
            "|---|" + "---|" * len(sizes),
        ]
        for page in rt[sizes[0]]:
            cells = [f"{rt[s][page]['calls']} / {rt[s][page]['docs_read']}" for s in sizes]
            lines.append(f"| {page} | " + " | ".join(cells) + " |")
    http = results.get("http")
    if http:
        lines += [
            "",
            f"HTTP ({results['sizes_run'][-1]}): gunicorn, {http['workers']} sync workers, wrk "
            f"16 connections, {http['seconds_per_page']} s a page; the reference page in turns "
            f"with them, {min(http['reference_runs'])}–{max(http['reference_runs'])} req/s "
            "(each ratio is to the mean of the reference runs just before and after it):",
            "",
            "| page | req/s | p50 ms | p99 ms | ratio to reference | rendering alone: ratio "
            "| non-2xx/3xx |",
            "|---|---|---|---|---|---|---|",
        ]
        for page, f in http["pages"].items():
            alone = f.get("rendering")
            errors = sum(r["non_2xx"] + r["socket_errors"] for r in (f, alone) if r)
            lines.append(
                f"| {page} | {f['rps']} | {f['p50_ms']} | {f['p99_ms']} | {f['ratio']} | "
                f"{alone['ratio'] if alone else '–'} | {errors} |"
            )
        b = http["booking"]
        lines += [
            "",
            f"Booking race: {b['racers']} concurrent POSTs for one slot: {b['successes']} booked, "
            f"{b['refusals']} refused, {b['errors']} errors, {b['bookings_in_store']} booking in "
            f"the store; latency p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms, max {b['max_ms']} ms; "
            f"service time alone (one request at a time) p50 {b.get('service_p50_ms')} ms.",
            f"Worker peak RSS (VmHWM): {http['worker_peak_rss_mib']} MiB after the page runs, "
            f"{http['worker_peak_rss_after_booking_mib']} MiB after the race.",
        ]
    replit = results.get("replit")
    if replit:
        lines += [
            "",
            f"Replit DB (fake server, {replit['latency_ms']} ms a request, {replit['size']}): "
            f"{replit['keys']} keys, {replit['bytes'] / MiB:.1f} MiB; p50 / p95 ms: "
            + ", ".join(
                f"{k} {v['p50_ms']} / {v['p95_ms']}"
                for k, v in replit.items()
                if isinstance(v, dict) and "p50_ms" in v
            ),
        ]
    if replit and "aged" in replit:
        lines += ["", "Replit DB, the capacity community aged one year (`flask store-stats`):", ""]
        lines += [f"    {line}" for line in replit["aged"]["store_stats"]]
    fl = results.get("flood")
    if fl:
        page = fl["other_teacher_page"]
        lines += [
            "",
            f"Flood (HTTP, 2 workers, empty store): {fl['accounts']} accounts posted the "
            f"largest one-week offer of one skill until refused: {fl['posts']} answers, "
            f"{fl['answers_5xx']} of them ≥ 500, {fl['refusals_at_limit']} refusals at the "
            f"future-sessions limit, in {fl['flood_s']} s; the week's index is "
            f"{fl['pieces']} pieces, the largest {fl['largest_piece_rows']} rows; another "
            f"teacher found: {f'on page {page}' if page else 'NO'}.",
        ]
    ag = results.get("aging")
    if ag:
        lines += [
            "",
            "Aged tutors, in process (p50 ms per request; live document KiB):",
            "",
            "| tutor | years | live KiB | archive pieces | " + " | ".join(aging.PAGES) + " |",
            "|---|---|---|---|" + "---|" * len(aging.PAGES),
        ]
        for kind, ages in ag.items():
            for years, f in ages.items():
                cells = " | ".join(str(f["p50_ms"][page]) for page in aging.PAGES)
                lines.append(
                    f"| {kind} | {years} | {f['live_kib']} | {f['archive_pieces']} | {cells} |"
                )
    lines += ["", "| target | value | limit | |", "|---|---|---|---|"]
    lines += [t.row() for t in checks]
    missed = [t for t in checks if not t.met]
    lines += ["", f"{len(checks) - len(missed)} of {len(checks)} targets met."]
    beyond = [t for t in missed if t.rendering_misses]
    if beyond:
        lines[-1] += (
            f" Of the {len(missed)} missed, {len(beyond)} cannot be met by reading less: "
            "the page rendered alone, with no store read, misses the limit too."
        )
    if missed and run_status(checks) == 0:
        lines[-1] += " The run passes: no miss is one that reading less could meet."
    return "\n".join(lines)


def run_status(checks: list[Target]) -> int:
    """0 when every target is met or missed only where its page rendered alone misses it too
    (reading less cannot meet it), else 1."""
    return 0 if all(t.met or t.rendering_misses for t in checks) else 1


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny + small, short HTTP runs")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["match", "round-trips", "http", "replit", "flood", "aging"],
        help="leave out a part (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sizes = ("tiny", "small") if args.quick else ("small", "large")
    results: dict[str, Any] = {
        "quick": args.quick,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": loadavg(),
        "seed": gen.SEED,
        "now": gen.NOW.isoformat(),
        "sizes_run": list(sizes),
        "sizes": {s: gen.SIZES[s] for s in sizes},
        "communities": {},
    }
    work = Path(tempfile.mkdtemp(prefix="skillswap-bench-"))
    try:
        built = {}
        for size in sizes:
            built[size] = build(size, work, keep=size == sizes[-1] or size == "small")
            results["communities"][size] = built[size].figures
            results["communities"][size]["meta"] = built[size].meta
        if "match" not in args.skip:
            results["match"] = match_latency([built[s] for s in sizes], args.quick)
        if "round-trips" not in args.skip:
            results["round_trips"] = {s: round_trips(built[s], work) for s in sizes}
        if "http" not in args.skip:
            results["http"] = http_figures(built[sizes[-1]], work, args.quick)
        for size in sizes:
            if size != "small":
                built[size].community = None  # free the large community before Replit
        if "replit" not in args.skip:
            results["replit"] = replit_figures(built["small"], work, args.quick)
        built.clear()
        if "flood" not in args.skip:
            env = {"SECRET_KEY": SECRET, "RATELIMIT_ENABLED": "false", "GUNICORN_ACCESS_LOG": "-"}
            results["flood"] = flood.figures(work, env, ROOT)
            log(f"flood: {results['flood']}")
        if "aging" not in args.skip:
            results["aging"] = aging.figures(work, args.quick, make_app, session_client, log)
    except Exception as exc:
        log(f"the benchmark failed: {exc!r}")
        raise
    finally:
        if args.keep:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["load_after"] = loadavg()
    checks = targets(results, args.quick)
    results["targets"] = [
        {
            "name": t.name,
            "value": t.value,
            "op": t.op,
            "limit": t.limit,
            "met": t.met,
            **({"rendering_alone": t.rendering} if t.rendering is not None else {}),
        }
        for t in checks
    ]
    text = table(results, checks)
    results["table"] = text
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return run_status(checks)
