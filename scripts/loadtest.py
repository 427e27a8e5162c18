"""Load: township staff logging rectifications and browsing, against gunicorn and PostgreSQL.

    .venv/bin/python scripts/loadtest.py            # the figures: 50 users, 60 s, 4 workers; then the hot row
    .venv/bin/python scripts/loadtest.py --small    # CI: 10 users for 8 s on 2 workers, hot row 5 users for 6 s

Bounded and self-contained: it starts a private PostgreSQL (initdb in a temporary folder, on a free
loopback port), migrates it, seeds the demo city and the load's users and units, collects the static
files, starts gunicorn with the production settings on 127.0.0.1, and plays the TLS-terminating
proxy in front of it. Each simulated person signs in first (not timed), then for ``--duration``
seconds, with a short pause between pages: the dashboard, the register (filtered now and then), a
unit of their township, its rectification form, and saves the rectification with a site photo.
Then everything is stopped and removed again.

Printed figures: requests per second, 5xx errors, latency percentiles (overall and per page), and
lost writes: every rectification the server acknowledged (its redirect) must be in the database
exactly once, with its photo, and in the audit trail exactly once under the request id the client
sent. The hot-row run has ``--hot-users`` people edit the same unit: each save must either land
(and be in the audit trail once) or be refused with the conflict message; none may vanish.

Exit status 1 when a figure misses its bound (--min-rps, --max-p95-ms, any error or lost write).
"""

import argparse
import contextlib
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lab  # noqa: E402 (the scripts folder is not a package)


def hot_editor(browser, unit, deadline, think, landed, refused, other, seed):
    """Edit the hot unit's address again and again; the edit form carries the version it was read at."""
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < deadline:
        form = browser.get(f"/units/{unit}/edit/", page="edit form")
        lab.pause(rng, think / 4)
        if form.status != 200 or time.monotonic() >= deadline:
            continue
        n += 1
        fields = dict(lab.post_form(form.text))
        value = f"热点路{browser.name}-{n}号"
        fields["address"] = value
        request_id = browser.next_request_id()
        saved = browser.post(f"/units/{unit}/edit/", list(fields.items()), page="edit save", request_id=request_id)
        if saved.status == 302:
            landed.append((request_id, value))
        elif saved.status == 200 and lab.STALE_EDIT in saved.text:
            refused.append(request_id)
        else:
            other.append((request_id, saved.status, saved.error))
        lab.pause(rng, think)


def main_load(args, bench, server, connection):
    people = bench.people(args.users)
    logins = []
    browsers = lab.sign_in(server.port, [p["username"] for p in people], logins)
    took = max(r.started + r.seconds for r in logins) - min(r.started for r in logins)
    lab.log(f"signed in {len(browsers)} users in {took:.1f} s")
    record, acknowledged, refused = [], [], []
    for browser in browsers.values():
        browser.record = record
    photo = lab.photo_jpeg(*args.photo)
    deadline = time.monotonic() + args.duration
    with lab.CpuMeter(server, bench.postgres) as cpu:
        lab.run_threads(
            [
                lambda p=p, i=i: lab.township_user(
                    browsers[p["username"]], p, deadline, args.think, photo, acknowledged, refused, seed=i
                )
                for i, p in enumerate(people)
            ]
        )
    figures = lab.Tally.summary(record)
    writes = lab.written_rectifications(connection, acknowledged)
    checks = lab.integrity(connection, bench.media_root, [p["username"] for p in people])
    counts_ok, counts_text = bench.verify_counts()

    lab.log("")
    lab.log(
        f"== load: {len(people)} township users, {args.duration} s, gunicorn {args.workers} sync workers, "
        f"PostgreSQL {bench.server_version} (private instance), "
        f"pause 0–{2 * args.think:.1f} s between pages, "
        f"photo {args.photo[0]}×{args.photo[1]} ({len(photo) // 1024} KB)"
    )
    lab.log(f"requests           {figures['requests']} in {figures['seconds']:.1f} s = {figures['rps']:.1f} per second")
    lab.log(f"errors (5xx)       {figures['errors_5xx']}   no answer: {figures['no_answer']}")
    lab.log(
        f"latency            p50 {figures['p50_ms']:.0f} ms   p95 {figures['p95_ms']:.0f} ms   "
        f"p99 {figures['p99_ms']:.0f} ms   max {figures['max_ms']:.0f} ms"
    )
    lab.log(
        f"rectifications     acknowledged {writes['acknowledged']}, lost {len(writes['lost'])}, "
        f"doubled {len(writes['doubled'])}, photo audit not exactly once {len(writes['photo_audit_not_once'])}, "
        f"refused {len(refused)}"
    )
    lab.log(
        f"integrity          {checks['rectifications']} rectifications by the load: audit row not exactly once "
        f"{len(checks['audit_not_once'])}, without photo {len(checks['without_photo'])}; photo rows without file "
        f"{len(checks['photo_rows_without_file'])}, orphan files {len(checks['orphan_files'])}, "
        f"partial files {len(checks['partial_files'])}; verify_counts {'ok' if counts_ok else 'FAILED'}"
    )
    lab.log(cpu.report(figures["requests"]))
    lab.log("per page:")
    lab.log(lab.page_table(record, lab.server_cpu(server.log_path)))
    failures = []
    if figures["errors_5xx"] or figures["no_answer"]:
        failures.append(f"{figures['errors_5xx']} errors, {figures['no_answer']} without answer")
    if writes["lost"] or writes["doubled"] or writes["photo_audit_not_once"]:
        failures.append("lost or doubled writes")
    if refused:
        failures.append(f"{len(refused)} rectifications refused: {refused[:3]}")
    if any(checks[k] for k in ("audit_not_once", "without_photo", "photo_rows_without_file", "orphan_files")):
        failures.append(f"integrity: {checks}")
    if checks["partial_files"]:
        failures.append(f"partial files: {checks['partial_files']}")
    if not counts_ok:
        failures.append(f"verify_counts: {counts_text}")
    if writes["acknowledged"] == 0:
        failures.append("no rectification was saved")
    if figures["rps"] < args.min_rps:
        failures.append(f"{figures['rps']:.1f} requests per second < {args.min_rps}")
    if figures["p95_ms"] > args.max_p95_ms:
        failures.append(f"p95 {figures['p95_ms']:.0f} ms > {args.max_p95_ms} ms")
    return failures


def hot_row(args, bench, server, connection):
    hot = bench.plan["hot"]
    users = hot["users"][: args.hot_users]
    record = []
    browsers = lab.sign_in(server.port, users, record)
    record.clear()
    landed, refused, other = [], [], []
    deadline = time.monotonic() + args.hot_duration
    lab.run_threads(
        [
            lambda b=b, i=i: hot_editor(b, hot["unit"], deadline, args.think, landed, refused, other, seed=100 + i)
            for i, b in enumerate(browsers.values())
        ]
    )
    ids = [rid for rid, _value in landed] + refused
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT request_id, address, count(*) FROM enterprises_historicalenterprise "
            "WHERE id = %s AND request_id = ANY(%s) GROUP BY request_id, address",
            [hot["unit"], ids],
        )
        audit = {}
        for request_id, address, n in cursor.fetchall():
            audit.setdefault(request_id, []).append((address, n))
        cursor.execute("SELECT version, address FROM enterprises_enterprise WHERE id = %s", [hot["unit"]])
        version, address = cursor.fetchone()
        cursor.execute(
            "SELECT address FROM enterprises_historicalenterprise WHERE id = %s ORDER BY version DESC, history_id DESC "
            "LIMIT 1",
            [hot["unit"]],
        )
        (latest_audited,) = cursor.fetchone()
    landed_once = [rid for rid, value in landed if audit.get(rid) == [(value, 1)]]
    refused_written = [rid for rid in refused if rid in audit]
    saves = len(landed) + len(refused) + len(other)
    figures = lab.Tally.summary(record)
    lab.log("")
    lab.log(f"== hot row: {len(users)} users editing the same unit for {args.hot_duration} s")
    lab.log(
        f"saves              {saves}: landed {len(landed)}, refused with the conflict message {len(refused)}, "
        f"other answers {len(other)}, lost {saves - len(landed) - len(refused) - len(other)}"
    )
    lab.log(
        f"audit              landed saves with exactly one history row carrying their request id and value: "
        f"{len(landed_once)}/{len(landed)}; refused saves that left a history row: {len(refused_written)}"
    )
    lab.log(
        f"version            {hot['version']} → {version} (expected {hot['version'] + len(landed)}); "
        f"current address is the last audited one: {address == latest_audited}"
    )
    lab.log(
        f"requests           {figures['requests']} = {figures['rps']:.1f} per second, p95 {figures['p95_ms']:.0f} ms, "
        f"5xx {figures['errors_5xx']}"
    )
    failures = []
    if other:
        failures.append(f"hot row: {len(other)} saves neither landed nor refused with a message: {other[:3]}")
    if len(landed_once) != len(landed) or refused_written:
        failures.append("hot row: audit trail does not match the answers")
    if version != hot["version"] + len(landed) or address != latest_audited:
        failures.append("hot row: the unit's version does not count the landed saves")
    if not landed or not refused:
        failures.append("hot row: expected both landed and refused saves (is the load concurrent?)")
    if figures["errors_5xx"]:
        failures.append(f"hot row: {figures['errors_5xx']} errors")
    return failures


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--think", type=float, default=0.25, help="mean pause between pages, seconds (default 0.25)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo city size (seed_demo --scale, default 1)")
    parser.add_argument("--photo", type=lambda s: tuple(map(int, s.split("x"))), default=(1024, 768))
    parser.add_argument("--hot-users", type=int, default=10)
    parser.add_argument("--hot-duration", type=float, default=30)
    parser.add_argument("--only", choices=["load", "hot"], help="run one part only")
    parser.add_argument("--logs", metavar="DIR", help="keep the gunicorn and PostgreSQL logs in DIR")
    parser.add_argument("--min-rps", type=float, default=100.0)
    parser.add_argument("--max-p95-ms", type=float, default=500.0)
    parser.add_argument(
        "--small",
        action="store_true",
        help="the CI size: 10 users for 8 s on 2 workers, hot row 5 users for 6 s, a small city",
    )
    args = parser.parse_args(argv)
    if args.small:
        args.users, args.duration, args.workers, args.scale = 10, 8, 2, 0.05
        args.hot_users, args.hot_duration = 5, 6
        # A shared CI machine: the bounds catch a collapse, not a few per cent.
        args.min_rps, args.max_p95_ms = min(args.min_rps, 15.0), max(args.max_p95_ms, 2000.0)
    return args


def units_needed(args):
    """Enough units that nobody runs out: at most one rectification per five pages."""
    return max(10, int(args.duration / max(args.think, 0.05) / 5) + 10)


def run(bench, args):
    """The load (and the hot row) on a prepared bench; prints the figures, returns what failed."""
    failures = []
    with bench.gunicorn(args.workers) as server, contextlib.closing(bench.connect()) as connection:
        lab.log(f"gunicorn: {lab.HOST}:{server.port}, {args.workers} workers")
        if args.only in (None, "load"):
            failures += main_load(args, bench, server, connection)
        if args.only in (None, "hot"):
            failures += hot_row(args, bench, server, connection)
    errors = [line for line in server.log_path.read_text(errors="replace").splitlines() if '"level": "ERROR"' in line]
    if errors:
        failures.append(f"{len(errors)} errors in the server log, first: {errors[0][:500]}")
    return failures


def main(argv=None):
    args = parse_args(argv)
    bench = lab.Bench(
        scale=args.scale,
        users=args.users,
        units_per_user=units_needed(args),
        hot_users=args.hot_users,
        keep_logs=args.logs,
    )
    return lab.run_bench(bench, run, args, "all figures hold")


if __name__ == "__main__":
    sys.exit(main())
