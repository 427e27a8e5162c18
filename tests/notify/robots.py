"""A local HTTP server on 127.0.0.1 that plays the 钉钉 and 企业微信 group robot endpoints.

It checks what the real ones check (the access token or key, the 加签 timestamp and signature, the
JSON payload's ``msgtype`` and fields) and answers like them (HTTP 200 with ``errcode``). It keeps
every request, and accepts each ``Idempotency-Key`` once (an endpoint that honours the key): a
second request with a key it accepted is counted as a duplicate. ``script`` makes the next answers
fail; ``hold`` keeps the n-th request waiting until the test lets it go (or kills its sender).
"""

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "tok-123"
SECRET = "SEC0123456789abcdef"
WECOM_KEY = "wk-456"


def expected_sign(timestamp):
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RobotServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []  # (path, headers, payload, problem or None)
        self.accepted = {}  # idempotency key → payload
        self.duplicates = []
        self.script = []  # next answers: (http status, errcode) pairs
        self.hold_at = None  # the n-th request (1-based) waits for self.release
        self.held = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                server.handle(self, raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def dingtalk_url(self):
        return f"{self.base}/robot/send?access_token={TOKEN}"

    @property
    def wecom_url(self):
        return f"{self.base}/cgi-bin/webhook/send?key={WECOM_KEY}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- checking a request as the real endpoint would -------------------------------------------

    def problem(self, path, query, payload):
        if path == "/robot/send":
            if query.get("access_token") != [TOKEN]:
                return 300001, "token is not exist"
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            if not timestamp or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
                return 310000, "sign not match: timestamp"
            if sign != expected_sign(timestamp):  # parse_qs already URL-decoded it
                return 310000, "sign not match"
            kind = payload.get("msgtype")
            if kind == "markdown":
                body = payload.get("markdown") or {}
                if not body.get("title") or not body.get("text"):
                    return 40035, "markdown needs title and text"
            elif kind == "text":
                if not (payload.get("text") or {}).get("content"):
                    return 40035, "text needs content"
            else:
                return 40008, "msgtype not supported"
            return None
        if path == "/cgi-bin/webhook/send":
            if query.get("key") != [WECOM_KEY]:
                return 93000, "invalid webhook url"
            kind = payload.get("msgtype")
            if kind not in ("text", "markdown") or not (payload.get(kind) or {}).get("content"):
                return 40008, "invalid message type"
            return None
        return 404, "not found"

    def handle(self, handler, raw):
        url = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(url.query)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = {}
        problem = self.problem(url.path, query, payload)
        key = handler.headers.get("Idempotency-Key")
        with self.lock:
            self.requests.append((url.path, dict(handler.headers), payload, problem))
            number = len(self.requests)
            scripted = self.script.pop(0) if self.script and problem is None else None
        if self.hold_at == number:
            self.held.set()
            self.release.wait(30)
        if scripted:
            status, errcode = scripted
            return self.answer(handler, status, {"errcode": errcode, "errmsg": "scripted failure"})
        if problem:
            return self.answer(handler, 200, {"errcode": problem[0], "errmsg": problem[1]})
        with self.lock:
            if key in self.accepted:
                self.duplicates.append(key)
            else:
                self.accepted[key] = payload
        return self.answer(handler, 200, {"errcode": 0, "errmsg": "ok"})

    @staticmethod
    def answer(handler, status, body):
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the sender went away (killed mid-send)
            pass
