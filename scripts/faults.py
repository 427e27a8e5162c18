"""Faults under load: the database restarted, a worker killed, the media volume full.

    .venv/bin/python scripts/faults.py            # 20 township users on 4 workers; database down 10 s
    .venv/bin/python scripts/faults.py --small    # CI: 8 users on 2 workers; database down 3 s

Self-contained like scripts/loadtest.py: a private PostgreSQL (which it may stop and start without
disturbing anyone), gunicorn with the production settings on 127.0.0.1, simulated township staff
browsing and saving rectifications with photos. Evidence photos go to a small tmpfs of their own
(the media-full check fills it; without the right to mount one, that check is skipped).

1. Database restart: the load runs, the database stops (fast shutdown: open transactions are cut
   off), stays down, and starts again. While it is down every answer must be the friendly 503 page
   (or a page served before the stop); the health endpoint says 503; afterwards the service must
   recover by itself within --recover-within seconds, with no partial write: every rectification
   whole (its audit row, its photo, its file), every acknowledged one present, counts consistent.
2. Worker killed: SIGKILL to one gunicorn worker in the middle of the load. At most the request it
   was serving goes unanswered; the other workers keep answering, and gunicorn starts a new one.
3. Media full: with the volume full, saving a rectification with a photo answers the form again
   with a message (503), and leaves no record, no audit row and no file; once there is room, the
   same save lands.

Exit status 1 when a check fails.
"""

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lab  # noqa: E402 (the scripts folder is not a package)

# The evidence volume: room for every photo the runs save, small enough to fill in a moment.
MEDIA_SIZE = "256m"


def ok(response):
    return response.status and response.status < 500


class Load:
    """Township users running in the background until stopped; their answers in ``record``."""

    def __init__(self, server, people, think, photo):
        self.record, self.acknowledged, self.refused = [], [], []
        self.browsers = lab.sign_in(server.port, [p["username"] for p in people], [])
        for browser in self.browsers.values():
            browser.record = self.record
        self.people, self.think, self.photo = people, think, photo

    def run(self, seconds, seed=0):
        deadline = time.monotonic() + seconds
        targets = [
            lambda p=p, i=i: lab.township_user(
                self.browsers[p["username"]],
                p,
                deadline,
                self.think,
                self.photo,
                self.acknowledged,
                self.refused,
                seed=seed + i,
            )
            for i, p in enumerate(self.people)
        ]
        thread = threading.Thread(target=lab.run_threads, args=(targets,), daemon=True)
        thread.start()
        return thread


def probe_health(port, stop, found):
    browser = lab.Browser(port, name="probe", timeout=5, record=found)
    while not stop.is_set():
        browser.get("/health/", page="health")
        time.sleep(0.25)


def whole(bench, connection, load, *, tolerate_orphans=False):
    """The no-partial-writes checks; returns (failures, a line to print)."""
    writes = lab.written_rectifications(connection, load.acknowledged)
    checks = lab.integrity(connection, bench.media_root, [p["username"] for p in load.people])
    counts_ok, counts_text = bench.verify_counts()
    failures = []
    if writes["lost"] or writes["doubled"] or writes["photo_audit_not_once"]:
        failures.append(f"acknowledged writes lost or doubled: {writes}")
    if checks["audit_not_once"] or checks["without_photo"] or checks["photo_rows_without_file"]:
        failures.append(f"partial writes: {checks}")
    if checks["partial_files"]:
        failures.append(f"half-written files: {checks['partial_files']}")
    if checks["orphan_files"] and not tolerate_orphans:
        failures.append(f"orphan files: {checks['orphan_files']}")
    if not counts_ok:
        failures.append(f"verify_counts: {counts_text}")
    line = (
        f"writes             acknowledged {writes['acknowledged']}, lost {len(writes['lost'])}, "
        f"doubled {len(writes['doubled'])}; {checks['rectifications']} rectifications: audit row not once "
        f"{len(checks['audit_not_once'])}, without photo {len(checks['without_photo'])}; photo rows without file "
        f"{len(checks['photo_rows_without_file'])}, orphan files {len(checks['orphan_files'])}, half-written files "
        f"{len(checks['partial_files'])}; verify_counts {'ok' if counts_ok else 'FAILED'}"
    )
    return failures, line


def database_restart(args, bench, server, load, connection):
    postgres = bench.postgres
    lab.log("")
    lab.log(
        f"== database restart: {len(load.people)} users; the database stops after {args.before} s, "
        f"stays down {args.down} s, then starts again; {args.after} s more"
    )
    stop_probe, health = threading.Event(), []
    prober = threading.Thread(target=probe_health, args=(server.port, stop_probe, health), daemon=True)
    prober.start()
    users = load.run(args.before + args.down + args.after, seed=0)
    time.sleep(args.before)
    connection.close()
    t_stop = time.monotonic()
    postgres.stop("fast")
    t_down = time.monotonic()
    time.sleep(args.down)
    t_starting = time.monotonic()
    postgres.start()
    t_up = time.monotonic()  # pg_ctl returns a moment after the database accepts connections
    users.join()
    stop_probe.set()
    prober.join()

    record = load.record
    before = [r for r in record if r.started + r.seconds < t_stop]
    during = [r for r in record if r.started >= t_down and r.started + r.seconds <= t_starting]
    after = [r for r in record if r.started >= t_up]
    unclean = [r for r in record if not ok(r) and not r.friendly]
    not_ok_after = [r for r in after if not ok(r)]
    recovered_after = max((r.started + r.seconds for r in not_ok_after), default=t_up) - t_up
    health_down = [r.status for r in health if t_down <= r.started and r.started + r.seconds <= t_starting]
    health_back = next((r.started + r.seconds - t_up for r in health if r.started >= t_up and r.status == 200), None)
    saves_503 = [r for r in record if r.page == "rectify save" and r.status == 503]

    lab.log(
        f"requests           {len(record)}: before the stop {len(before)} (not ok: "
        f"{sum(not ok(r) for r in before)}), while down {len(during)}, after the restart {len(after)}"
    )
    for r in during:
        if ok(r):
            lab.log(
                f"  answered while down: {r.method} {r.page} {r.status} request {r.request_id}, sent "
                f"{r.started - t_down:+.3f} s after the stop, took {r.seconds:.3f} s"
            )
    lab.log(
        f"while down         {sum(r.friendly for r in during)} friendly 503 pages, "
        f"{sum(ok(r) for r in during)} ok {sorted({(r.page, r.status) for r in during if ok(r)})}, "
        f"other {sum(not ok(r) and not r.friendly for r in during)}; "
        f"health {sorted(set(health_down))}"
    )
    lab.log(f"unclean answers    {len(unclean)} (5xx without the friendly page, or no answer at all)")
    lab.log(
        f"recovery           every request succeeds {recovered_after:.1f} s after the database is back; "
        f"health 200 again after {health_back if health_back is None else round(health_back, 1)} s"
    )
    lab.log(f"saves refused      {len(saves_503)} rectification saves answered 503 while the database was away")
    connection = bench.connect()
    failures, line = whole(bench, connection, load)
    lab.log(line)
    if unclean:
        failures.append(f"unclean answers: {[(r.page, r.status, r.error) for r in unclean[:5]]}")
    if not during or not any(r.friendly for r in during):
        failures.append("no request met the database down (is the load running?)")
    if any(s != 503 for s in health_down) or not health_down:
        failures.append(f"health while down: {health_down}")
    if recovered_after > args.recover_within or health_back is None or health_back > args.recover_within:
        failures.append(f"no recovery within {args.recover_within} s")
    if not any(ok(r) and r.page == "rectify save" for r in after):
        failures.append("no rectification saved after the restart")
    if any(not ok(r) for r in before):
        failures.append("errors before the fault")
    return failures, connection


def worker_killed(args, bench, server, load, connection):
    lab.log("")
    workers = server.worker_pids()
    lab.log(
        f"== worker killed: {len(load.people)} users on workers {workers}; one is killed (SIGKILL) after "
        f"{args.before} s; {args.after} s more"
    )
    start = len(load.record)
    users = load.run(args.before + args.after, seed=1000)
    time.sleep(args.before)
    victim = workers[0]
    t_kill = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = None
    while time.monotonic() - t_kill < args.after:
        now = server.worker_pids()
        if victim not in now and len(now) == len(workers):
            replaced = time.monotonic() - t_kill
            break
        time.sleep(0.05)
    users.join()
    record = load.record[start:]
    failed = [r for r in record if not ok(r)]
    served_next_2s = [r for r in record if ok(r) and t_kill <= r.started + r.seconds <= t_kill + 2]
    lab.log(
        f"requests           {len(record)}; failed {len(failed)} "
        f"{[(r.page, r.status, r.error[:60]) for r in failed][:3]}"
    )
    lab.log(
        f"the others         answered {len(served_next_2s)} requests in the 2 s after the kill; "
        f"a new worker in {replaced if replaced is None else round(replaced, 2)} s "
        f"({server.worker_pids()})"
    )
    # A worker killed between writing a photo and committing leaves that file behind: garbage, not
    # a record without its photo. It is reported, not failed.
    failures, line = whole(bench, connection, load, tolerate_orphans=True)
    lab.log(line)
    if len(failed) > 1:
        failures.append(f"{len(failed)} requests failed; at most the killed worker's one may")
    if not served_next_2s:
        failures.append("nothing was served right after the kill")
    if replaced is None:
        failures.append("gunicorn did not replace the killed worker")
    return failures


def media_full(server, person, connection, media_root, photo):
    lab.log("")
    lab.log("== media full: the evidence volume is filled, then a rectification with a photo is saved")
    browser = lab.Browser(server.port, name="full").login(person["username"])
    pk = person["units"][0]
    filler = Path(media_root) / "filler.bin"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        # Megabytes while they fit, then smaller pieces until not one byte more does.
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(descriptor, b"\0" * size):
                    pass
    finally:
        os.close(descriptor)
    free = os.statvfs(media_root).f_bavail * os.statvfs(media_root).f_frsize
    files_before = sorted(p.name for p in (Path(media_root) / "evidence").rglob("*") if p.is_file())

    def save():
        form = browser.get(f"/units/{pk}/rectify/", page="rectify form")
        fields = dict(lab.post_form(form.text))
        fields["method"] = "closed"
        return browser.rectify(pk, fields, photo)

    request_id, answer = save()
    dashboard = browser.get("/", page="dashboard")
    files_after = sorted(p.name for p in (Path(media_root) / "evidence").rglob("*") if p.is_file())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM enterprises_rectification WHERE enterprise_id = %s", [pk])
        (rows,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM enterprises_historicalrectification WHERE request_id = %s", [request_id])
        (audit,) = cursor.fetchone()
    lab.log(
        f"disk full          {free} bytes free; the save answered {answer.status}, "
        f"message shown: {lab.PHOTO_REFUSED in answer.text}; rectification rows {rows}, audit rows {audit}, "
        f"new files {len(set(files_after) - set(files_before))}; the dashboard meanwhile: {dashboard.status}"
    )
    failures = []
    if answer.status != 503 or lab.PHOTO_REFUSED not in answer.text:
        failures.append(f"media full: answered {answer.status} {answer.error} without the message")
    if rows or audit or set(files_after) != set(files_before):
        failures.append("media full: something was written")
    if dashboard.status != 200:
        failures.append("media full: other pages stopped working")
    filler.unlink()
    request_id, answer = save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM enterprises_historicalrectificationphoto "
            "WHERE request_id = %s AND history_type = '+'",
            [request_id],
        )
        (photos,) = cursor.fetchone()
    lab.log(f"room again         the same save answered {answer.status}; its photo audit rows {photos}")
    if answer.status != 302 or photos != 1:
        failures.append("media full: the save did not land once there was room")
    return failures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.25)
    parser.add_argument("--scale", type=float, default=0.2, help="demo city size (seed_demo --scale)")
    parser.add_argument("--before", type=float, default=8, help="seconds of load before each fault")
    parser.add_argument("--down", type=float, default=10, help="seconds the database stays down")
    parser.add_argument("--after", type=float, default=15, help="seconds of load after each fault")
    parser.add_argument("--recover-within", type=float, default=5.0)
    parser.add_argument("--logs", metavar="DIR", help="keep the gunicorn and PostgreSQL logs in DIR")
    parser.add_argument("--small", action="store_true", help="the CI size")
    args = parser.parse_args(argv)
    if args.small:
        args.users, args.workers, args.scale = 8, 2, 0.05
        args.before, args.down, args.after = 2, 3, 4
    return args


def run(bench, args):
    """The three faults on a prepared bench; prints what happened, returns what failed."""
    people = bench.people(args.users + 1)
    failures = []
    photo = lab.photo_jpeg()
    connection = bench.connect()
    try:
        with bench.gunicorn(args.workers) as server:
            lab.log(f"gunicorn: {lab.HOST}:{server.port}, {args.workers} workers")
            load = Load(server, people[: args.users], args.think, photo)
            found, connection = database_restart(args, bench, server, load, connection)
            failures += found
            failures += worker_killed(args, bench, server, load, connection)
            if bench.volume:
                failures += media_full(server, people[-1], connection, bench.media_root, photo)
            else:
                lab.log("\n== media full: skipped (this process may not mount a tmpfs)")
    finally:
        connection.close()
    return failures


def main(argv=None):
    args = parse_args(argv)
    bench = lab.Bench(
        scale=args.scale, users=args.users + 1, units_per_user=60, media_size=MEDIA_SIZE, keep_logs=args.logs
    )
    return lab.run_bench(bench, run, args, "all checks hold")


if __name__ == "__main__":
    sys.exit(main())
