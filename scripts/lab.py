"""The bench the load and fault scripts stand on: a private PostgreSQL, gunicorn, simulated people.

Nothing here talks to anything but 127.0.0.1, and everything it starts it stops again:

- ``PrivatePostgres``: a throwaway cluster (initdb) in a temporary folder, on a free port and its
  own socket folder, so that stopping and restarting it disturbs no other user of the machine;
- ``Gunicorn``: the production settings (DEBUG off, hashed static files, JSON request log) on a
  free loopback port, behind which the scripts play the TLS-terminating proxy (X-Forwarded-Proto);
- ``Browser``: one signed-in person (cookies, CSRF token, a request id of our own on every request,
  so that each acknowledged write can be found again in the audit trail);
- ``python scripts/lab.py setup``: creates the load's users and units in the database DATABASE_URL
  names (run by the scripts, with Django, in a child process).

Run with the project's interpreter: ``.venv/bin/python scripts/loadtest.py`` (see docs/deployment.md).
"""

import contextlib
import dataclasses
import html.parser
import http.client
import io
import json
import math
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # the only address these scripts ever connect to
PASSWORD = "yace-mima-2018-load"  # the load's users' password (a throwaway database)
FRIENDLY_503 = "系统暂时无法使用"  # the title of templates/503.html
STALE_EDIT = "保存未成功：该单位已被他人修改"  # the conflict notice of the unit edit form
PHOTO_REFUSED = "照片未能保存"  # the form error when the media volume is full


def log(message):
    print(message, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def percentile(values, share):
    """Nearest-rank percentile (share in 0..100) of a list of numbers; None for an empty list."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


# --- PostgreSQL ------------------------------------------------------------------------------------


def _postgres_bindir():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    return None


def postgres_available():
    return _postgres_bindir() is not None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: initdb'd into a temporary folder, removed by ``close()``.

    As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
    """

    def __init__(self):
        self.bindir = _postgres_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.base = Path(tempfile.mkdtemp(prefix="siwu-pg-"))
        self.data = self.base / "data"
        self.port = free_port()
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.owner:
            os.chown(self.base, self.owner.pw_uid, self.owner.pw_gid)

    def _run(self, program, *args, check=True):
        command = [str(self.bindir / program), *map(str, args)]
        if self.owner:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")
        return result

    def init(self):
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8")
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                f"\nlisten_addresses = '{HOST}'\nport = {self.port}\nunix_socket_directories = '{self.base}'\n"
                "max_connections = 200\n"
            )
        self.start()
        return self

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", self.base / "server.log", "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def server_pids(self):
        """The postmaster and its children (backends, background workers)."""
        try:
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [postmaster, *_children(postmaster)]

    def url(self, name):
        return f"postgres://postgres@{HOST}:{self.port}/{name}"

    def create_database(self, name):
        import psycopg2

        connection = psycopg2.connect(host=HOST, port=self.port, user="postgres", dbname="postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.url(name)

    def close(self):
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(database_url):
    """A psycopg2 connection (autocommit) for the scripts' own checks."""
    import psycopg2

    parts = urllib.parse.urlsplit(database_url)
    connection = psycopg2.connect(
        host=parts.hostname, port=parts.port, user=parts.username, dbname=parts.path.lstrip("/"), connect_timeout=5
    )
    connection.autocommit = True
    return connection


# --- Django and gunicorn ---------------------------------------------------------------------------


def production_env(*, database_url, media_root, static_root, port=None, workers=4):
    """The environment of a production server on loopback (docs/deployment.md)."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "STATIC_ROOT": str(static_root),
        "GUNICORN_BIND": f"{HOST}:{port or 0}",
        "GUNICORN_WORKERS": str(workers),
        "LOG_LEVEL": "WARNING",
        "REQUEST_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }


def manage(env, *args, timeout=600):
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare_database(env, *, scale, users, units_per_user, hot_users=0):
    """Migrate, seed the demo city at ``scale``, add the load's users and units; returns the plan."""
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--scale", str(scale))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "setup", str(users), str(units_per_user), str(hot_users)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"setup failed:\n{result.stdout}{result.stderr}")
    # Fresh statistics, as autovacuum would gather them a minute later: planned on the empty tables'
    # estimates, the register's query joins every open rectification to each listed unit (40 ms).
    with contextlib.closing(connect(env["DATABASE_URL"])) as connection, connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return json.loads(result.stdout)


def collect_static(env):
    manage(env, "collectstatic", "--noinput")


def _children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (2nd field) is in parentheses and may contain spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(pids):
    """User + system CPU seconds the processes ``pids`` have used so far (gone ones count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_cpu_seconds():
    """CPU seconds every process on the machine has used so far (busy time from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the CPU went during a run: the servers, PostgreSQL, this script, everything else."""

    def __init__(self, server, postgres):
        self.server, self.postgres = server, postgres

    def _sample(self):
        return {
            "gunicorn": cpu_seconds(self.server.worker_pids()),
            "postgres": cpu_seconds(self.postgres.server_pids()),
            "driver": time.process_time(),
            "machine": machine_cpu_seconds(),
            "wall": time.monotonic(),
        }

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *exc):
        self.after = self._sample()
        self.used = {key: self.after[key] - self.before[key] for key in self.before}
        self.used["others"] = max(
            0.0, self.used["machine"] - self.used["gunicorn"] - self.used["postgres"] - self.used["driver"]
        )

    def report(self, requests):
        used, cores = self.used, os.cpu_count()
        ms = {key: used[key] * 1000 / max(requests, 1) for key in ("gunicorn", "postgres", "driver")}
        served = ms["gunicorn"] + ms["postgres"]
        return (
            f"CPU per request    gunicorn {ms['gunicorn']:.1f} ms + PostgreSQL {ms['postgres']:.1f} ms"
            f" (+ this script {ms['driver']:.1f} ms); {cores} CPUs, busy "
            f"{used['machine'] / used['wall'] / cores:.0%} of the run, other programs "
            f"{used['others'] / used['wall']:.2f} CPUs; the server alone could take about "
            f"{cores * 1000 / served:.0f} requests per second on these CPUs"
        )


class Gunicorn:
    """gunicorn with gunicorn.conf.py and the production settings, on a free loopback port."""

    def __init__(self, env, log_path):
        self.port = free_port()
        self.env = {**env, "GUNICORN_BIND": f"{HOST}:{self.port}"}
        self.log_path = Path(log_path)
        self.process = None

    def start(self, timeout=60):
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the server's life)
        self.process = subprocess.Popen(
            [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log_path}")
            if Browser(self.port, timeout=5).get("/health/", page="health").status == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def worker_pids(self):
        return sorted(_children(self.process.pid))

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        workers = self.worker_pids()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            for pid in [self.process.pid, *workers]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@contextlib.contextmanager
def small_volume(path, size):
    """A tmpfs of ``size`` (e.g. "16m") mounted at ``path``; yields None when we may not mount one."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    try:
        yield path if mounted.returncode == 0 else None
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


class Bench:
    """What every run stands on, prepared once and removed afterwards.

    A private PostgreSQL with the demo city at ``scale`` and ``users`` township staff (each with
    ``units_per_user`` open units of their township), ``hot_users`` more around one unit; the static
    files collected as production serves them; a media folder, on a tmpfs of ``media_size`` when
    asked (and allowed); the production environment for gunicorn.
    """

    def __init__(self, *, scale, users, units_per_user, hot_users=0, media_size=None, keep_logs=None):
        self.scale, self.users, self.units_per_user, self.hot_users = scale, users, units_per_user, hot_users
        self.media_size = media_size
        self.keep_logs = keep_logs
        self._servers = 0

    def __enter__(self):
        started = time.monotonic()
        self._stack = contextlib.ExitStack()
        try:
            self.scratch = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="siwu-lab-")))
            self.postgres = self._stack.enter_context(PrivatePostgres())
            self.media_root = self.scratch / "media"
            self.volume = (
                self._stack.enter_context(small_volume(self.media_root, self.media_size)) if self.media_size else None
            )
            (self.media_root / "evidence").mkdir(parents=True, exist_ok=True)
            self.postgres.init()
            self.url = self.postgres.create_database("siwu_load")
            self.env = production_env(
                database_url=self.url, media_root=self.media_root, static_root=self.scratch / "static"
            )
            self.plan = prepare_database(
                self.env,
                scale=self.scale,
                users=self.users,
                units_per_user=self.units_per_user,
                hot_users=self.hot_users,
            )
            collect_static(self.env)
            with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                self.server_version = cursor.fetchone()[0].split()[0]
        except BaseException:
            self._stack.close()
            raise
        self._free = list(self.plan["users"])
        log(
            f"prepared in {time.monotonic() - started:.0f} s: PostgreSQL {self.server_version} (private, "
            f"{HOST}:{self.postgres.port}), demo city at scale {self.scale:g}, {self.users} township users"
            + (f", media on a {self.media_size} tmpfs" if self.volume else "")
        )
        return self

    def __exit__(self, *exc):
        if self.keep_logs:
            Path(self.keep_logs).mkdir(parents=True, exist_ok=True)
            for path in [*self.scratch.glob("*.log"), self.postgres.base / "server.log"]:
                with contextlib.suppress(OSError):
                    shutil.copy(path, Path(self.keep_logs) / f"{path.stem}-{self.postgres.port}.log")
        self._stack.close()

    def people(self, n):
        """``n`` township users nobody has used yet (each run needs its own units)."""
        if n > len(self._free):
            raise RuntimeError(f"the bench has {len(self._free)} unused users, {n} wanted")
        taken, self._free = self._free[:n], self._free[n:]
        return taken

    def gunicorn(self, workers):
        self._servers += 1
        env = {**self.env, "GUNICORN_WORKERS": str(workers)}
        return Gunicorn(env, self.scratch / f"gunicorn-{self._servers}.log")

    def connect(self):
        return connect(self.url)

    def verify_counts(self):
        return verify_counts(self.env)


# --- simulated people ------------------------------------------------------------------------------


@dataclass
class Response:
    page: str
    method: str
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    seconds: float
    started: float
    request_id: str
    text: str = ""
    location: str = ""
    error: str = ""
    friendly: bool = False  # a 503 with the page templates/503.html, or the form's "photo not saved"


class FormParser(html.parser.HTMLParser):
    """The fields a browser would submit from each <form method="post"> of a page, in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self._form, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form["fields"].append((a["name"], a.get("value", "on")))
            elif kind not in {"submit", "button", "file", "image", "reset"}:
                self._form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["chosen"] if self._select["chosen"] is not None else self._select["first"]
            if chosen is not None:
                self._form["fields"].append((self._select["name"], chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form["fields"].append((self._textarea[0], self._textarea[1].lstrip("\n")))
            self._textarea = None


def post_form(page_html):
    """The fields of the page's main form: the last POST form (the header's forms come first)."""
    parser = FormParser()
    parser.feed(page_html)
    forms = [f for f in parser.forms if f["method"] == "post"]
    return list(forms[-1]["fields"]) if forms else []


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(str(value).encode() + b"\r\n")
    for name, filename, content_type, content in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class Browser:
    """One person's browser behind the TLS-terminating proxy: cookies, CSRF, our own request ids."""

    def __init__(self, port, *, name="anon", timeout=30, record=None):
        self.port = port
        self.name = name
        self.timeout = timeout
        self.cookies = {}
        self.record = record if record is not None else []
        self._seq = 0

    def next_request_id(self):
        self._seq += 1
        return f"{self.name}-{self._seq}-{secrets.token_hex(4)}"

    def _headers(self, method):
        headers = {
            "Host": f"{HOST}:{self.port}",
            "X-Forwarded-Proto": "https",
            "Accept-Language": "zh-hans",
            "User-Agent": "siwu-load/1",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = f"https://{HOST}:{self.port}"
            headers["Referer"] = f"https://{HOST}:{self.port}/"
        return headers

    def _remember(self, message):
        for header in message.get_all("Set-Cookie") or ():
            cookie = SimpleCookie()
            cookie.load(header)
            for key, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def request(self, method, path, *, page, fields=None, files=None, request_id=None):
        request_id = request_id or self.next_request_id()
        headers = self._headers(method)
        headers["X-Request-ID"] = request_id
        body = None
        if method == "POST":
            if files:
                body, headers["Content-Type"] = _multipart(fields or [], files)
            else:
                body = urllib.parse.urlencode(fields or []).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            self._remember(answer.msg)
            response = Response(
                page,
                method,
                answer.status,
                time.monotonic() - started,
                started,
                request_id,
                text,
                answer.getheader("Location", ""),
            )
        except (OSError, http.client.HTTPException) as exc:
            response = Response(page, method, 0, time.monotonic() - started, started, request_id, error=repr(exc))
        finally:
            connection.close()
        response.friendly = response.status == 503 and (FRIENDLY_503 in response.text or PHOTO_REFUSED in response.text)
        # The record keeps no page bodies: a minute of load would hold hundreds of megabytes.
        self.record.append(dataclasses.replace(response, text=""))
        return response

    def get(self, path, *, page, request_id=None):
        return self.request("GET", path, page=page, request_id=request_id)

    def post(self, path, fields, *, page, files=None, request_id=None):
        return self.request("POST", path, page=page, fields=fields, files=files, request_id=request_id)

    def rectify(self, pk, fields, photo):
        """Submit unit ``pk``'s rectification form with ``fields`` and one photo: (request id, answer)."""
        request_id = self.next_request_id()
        answer = self.post(
            f"/units/{pk}/rectify/",
            list(fields.items()),
            files=[("photos", "现场照片.jpg", "image/jpeg", photo)],
            page="rectify save",
            request_id=request_id,
        )
        return request_id, answer

    def login(self, username, password=PASSWORD):
        form = self.get("/accounts/login/", page="login form")
        fields = dict(post_form(form.text))
        fields.update(username=username, password=password)
        answer = self.post("/accounts/login/", list(fields.items()), page="login")
        if answer.status != 302:
            raise RuntimeError(f"{username} could not sign in: HTTP {answer.status} {answer.error}")
        return self


def photo_jpeg(width=1024, height=768, seed=1):
    """A photo-like JPEG (gradients and grain, as a phone's would compress), made with Pillow."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle([x, y, x + rng.randrange(40, 400), y + rng.randrange(40, 300)], fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, grain, 0.12)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


# --- what the people do ----------------------------------------------------------------------------


def pause(rng, think):
    if think > 0:
        time.sleep(rng.uniform(0, 2 * think))


def township_user(browser, person, deadline, think, photo, acknowledged, refused, seed):
    """One township staff member's minute: browse, open a unit, rectify it with a photo, repeat."""
    rng = random.Random(seed)
    units = list(person["units"])
    searches = ["", "", "?status=open", "?status=rectified", "?q=%E5%8E%8B%E6%B5%8B"]  # q=压测

    def more():
        return time.monotonic() < deadline

    while more():
        browser.get("/", page="dashboard")
        pause(rng, think)
        if not more():
            break
        browser.get("/units/" + rng.choice(searches), page="register")
        pause(rng, think)
        if not more():
            break
        if not units:
            browser.get(f"/townships/{person['township']}/", page="township")
            pause(rng, think)
            continue
        pk = units.pop()
        browser.get(f"/units/{pk}/", page="unit")
        pause(rng, think)
        if not more():
            break
        form = browser.get(f"/units/{pk}/rectify/", page="rectify form")
        pause(rng, think)
        if form.status != 200 or not more():
            continue
        fields = dict(post_form(form.text))
        fields["method"] = rng.choice(["closed", "relocated", "upgraded"])
        fields["note"] = "压测：现场核查已整治"
        request_id, saved = browser.rectify(pk, fields, photo)
        if saved.status == 302:
            acknowledged.append((request_id, pk, person["username"]))
            browser.get(saved.location, page="unit")
        else:
            refused.append((request_id, pk, saved.status))
        pause(rng, think)


def run_bench(bench, run, args, done):
    """Run ``run(bench, args)`` (a list of failures) inside ``bench``; print the verdict; exit status."""
    if not postgres_available():
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) are needed: apt-get install postgresql")
    started = time.monotonic()
    with bench:
        failures = run(bench, args)
    log("")
    log(f"finished in {time.monotonic() - started:.0f} s")
    if failures:
        log("FAILED:\n  " + "\n  ".join(failures))
        return 1
    log(done)
    return 0


def run_threads(targets):
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def sign_in(port, usernames, record, prefix=""):
    browsers = {name: Browser(port, name=f"{prefix}{name}", record=record) for name in usernames}
    run_threads([lambda b=b, n=n: b.login(n) for n, b in browsers.items()])
    missing = [n for n, b in browsers.items() if "sessionid" not in b.cookies]
    if missing:
        raise RuntimeError(f"could not sign in: {missing}")
    return browsers


# --- what the server answered: figures -------------------------------------------------------------


@dataclass
class Tally:
    responses: list = field(default_factory=list)

    def between(self, start, end):
        return [r for r in self.responses if start <= r.started < end]

    @staticmethod
    def summary(responses):
        if not responses:
            return {"requests": 0}
        first = min(r.started for r in responses)
        last = max(r.started + r.seconds for r in responses)
        ms = [r.seconds * 1000 for r in responses if r.status]
        return {
            "requests": len(responses),
            "seconds": last - first,
            "rps": len(responses) / (last - first) if last > first else 0.0,
            "errors_5xx": sum(1 for r in responses if r.status >= 500),
            "no_answer": sum(1 for r in responses if r.status == 0),
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms) if ms else None,
        }


def server_cpu(log_path):
    """{request id: CPU ms} from the server's JSON request log (core.ops.RequestIdMiddleware)."""
    found = {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        if line.startswith("{") and '"cpu_ms"' in line:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                found[entry.get("request_id")] = entry["cpu_ms"]
    return found


def page_table(responses, cpu=None):
    """Per page: requests, p50 / p95 / max ms seen by the client, median server CPU ms, statuses."""
    cpu = cpu or {}
    pages = {}
    for r in responses:
        pages.setdefault(f"{r.method} {r.page}", []).append(r)
    lines = [f"  {'page':<24}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'cpu ms':>9}  statuses"]
    for name, rows in sorted(pages.items(), key=lambda item: -len(item[1])):
        ms = [r.seconds * 1000 for r in rows]
        cpu_ms = percentile([cpu[r.request_id] for r in rows if r.request_id in cpu], 50)
        statuses = {}
        for r in rows:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        seen = ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items()))
        cpu_text = f"{cpu_ms:>9.1f}" if cpu_ms is not None else f"{'-':>9}"
        lines.append(
            f"  {name:<24}{len(rows):>7}{percentile(ms, 50):>9.0f}{percentile(ms, 95):>9.0f}{max(ms):>9.0f}"
            f"{cpu_text}  {seen}"
        )
    return "\n".join(lines)


# --- checks on the database afterwards -------------------------------------------------------------


def written_rectifications(connection, acknowledged):
    """For acknowledged rectification saves [(request_id, unit_pk, username)]: lost and doubled ones.

    Acknowledged means the server answered the POST with its redirect. Each must be one alive
    rectification row of that unit by that user, with one audit row ("+") carrying the request id,
    and one photo whose audit row carries it too.
    """
    ids = [rid for rid, _pk, _user in acknowledged]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT request_id, count(*) FROM enterprises_historicalrectification "
            "WHERE history_type = '+' AND request_id = ANY(%s) GROUP BY request_id",
            [ids],
        )
        audit = dict(cursor.fetchall())
        cursor.execute(
            "SELECT request_id, count(*) FROM enterprises_historicalrectificationphoto "
            "WHERE history_type = '+' AND request_id = ANY(%s) GROUP BY request_id",
            [ids],
        )
        photo_audit = dict(cursor.fetchall())
        cursor.execute(
            "SELECT r.enterprise_id, u.username, count(*) FROM enterprises_rectification r "
            "JOIN auth_user u ON u.id = r.created_by_id WHERE r.deleted_at IS NULL "
            "AND r.enterprise_id = ANY(%s) GROUP BY r.enterprise_id, u.username",
            [[pk for _rid, pk, _user in acknowledged]],
        )
        rows = {(pk, user): n for pk, user, n in cursor.fetchall()}
    lost = [a for a in acknowledged if rows.get((a[1], a[2]), 0) == 0 or audit.get(a[0], 0) == 0]
    doubled = [a for a in acknowledged if rows.get((a[1], a[2]), 0) > 1 or audit.get(a[0], 0) > 1]
    without_photo = [a for a in acknowledged if photo_audit.get(a[0], 0) != 1]
    return {"acknowledged": len(acknowledged), "lost": lost, "doubled": doubled, "photo_audit_not_once": without_photo}


def integrity(connection, media_root, usernames):
    """No partial writes among the load users' rectifications, and no file without its row.

    - every rectification has exactly one creation row ("+") in the audit trail;
    - every rectification has its photo (the load always sends one), every photo row its file;
    - no evidence file lies on disk that no row names, and no half-written one (.partial-*).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, (SELECT count(*) FROM enterprises_historicalrectification h "
            "WHERE h.id = r.id AND h.history_type = '+'), "
            "(SELECT count(*) FROM enterprises_rectificationphoto p WHERE p.rectification_id = r.id) "
            "FROM enterprises_rectification r JOIN auth_user u ON u.id = r.created_by_id WHERE u.username = ANY(%s)",
            [list(usernames)],
        )
        rows = cursor.fetchall()
        # Inspection and finding-completion photos share the evidence folder.
        cursor.execute(
            "SELECT image FROM enterprises_rectificationphoto UNION ALL SELECT image FROM inspections_inspectionphoto "
            "UNION ALL SELECT image FROM inspections_findingphoto"
        )
        named = {name for (name,) in cursor.fetchall()}
    on_disk, partial = set(), []
    for path in (Path(media_root) / "evidence").rglob("*"):
        if path.is_file():
            relative = path.relative_to(media_root).as_posix()
            if path.name.startswith(".partial-"):
                partial.append(relative)
            else:
                on_disk.add(relative)
    return {
        "rectifications": len(rows),
        "audit_not_once": [r[0] for r in rows if r[1] != 1],
        "without_photo": [r[0] for r in rows if r[2] == 0],
        "photo_rows_without_file": sorted(named - on_disk),
        "orphan_files": sorted(on_disk - named),
        "partial_files": partial,
    }


def verify_counts(env):
    """manage.py verify_counts: the maintained daily counts equal a recount of the register."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "verify_counts"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result.returncode == 0, (result.stdout + result.stderr).strip()


# --- setup (runs with Django, in a child process) -------------------------------------------------


def _setup(users, units_per_user, hot_users):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "siwu.settings")
    import datetime

    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from simple_history.utils import bulk_create_with_history

    from campaign.models import Township, UserProfile
    from enterprises.models import Enterprise

    townships = list(Township.objects.order_by("pk"))
    staff = Group.objects.get_or_create(name="township_staff")[0]
    # One hash for everyone (they share the password): hashing it per user would take minutes.
    password = make_password(PASSWORD)
    identified_on = datetime.date(2018, 6, 1)
    plan = {"users": [], "hot": None}
    with transaction.atomic():
        for i in range(users):
            township = townships[i % len(townships)]
            user = User.objects.create(username=f"load{i:03d}", password=password, first_name=f"压测{i:03d}")
            user.groups.add(staff)
            UserProfile.objects.create(user=user, township=township)
            units = [
                Enterprise(
                    name=f"压测单位{i:03d}-{k:03d}",
                    township=township,
                    address=f"压测路{k}号",
                    unlicensed=True,
                    identified_on=identified_on,
                    created_by=user,
                )
                for k in range(units_per_user)
            ]
            created = bulk_create_with_history(units, Enterprise, batch_size=500, default_user=user)
            plan["users"].append({"username": user.username, "township": township.pk, "units": [u.pk for u in created]})
        if hot_users:
            township = townships[0]
            hot = Enterprise.objects.create(
                name="热点单位", township=township, address="热点路1号", unlicensed=True, identified_on=identified_on
            )
            names = []
            for i in range(hot_users):
                user = User.objects.create(username=f"hot{i:02d}", password=password, first_name=f"热点{i:02d}")
                user.groups.add(staff)
                UserProfile.objects.create(user=user, township=township)
                names.append(user.username)
            plan["hot"] = {"unit": hot.pk, "users": names, "version": hot.version}
    json.dump(plan, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "setup":
        _setup(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: lab.py setup USERS UNITS_PER_USER HOT_USERS (run by loadtest.py and faults.py)")
