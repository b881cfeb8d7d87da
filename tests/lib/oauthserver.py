"""An OAuth 2.0 authorization server for the tests, on 127.0.0.1.

Standard library only (http.server in a thread). It plays the provider:

  POST /device      the device authorization endpoint (RFC 8628 3.1)
  POST /token       the token endpoint: device_code, authorization_code
                    (PKCE S256 checked) and refresh_token grants
  GET  /authorize   the authorization endpoint; the test is the browser:
                    it answers 302 to the redirect_uri with code and state
                    for the user it is told, as if that user had agreed
  POST /approve     a person typing the device code: user_code, user
  POST /introspect  RFC 7662, what Dovecot's oauth2 passdb and the SMTP
                    server ask: {"active": true, "username": ...}
  POST /bad/KIND/token  hostile token endpoints (see HOSTILE)

Access tokens live access_life seconds. revoke(user) makes every refresh
token and access token of a user worthless, as a password change does.
Counters (grants, introspections) let a test see what tern asked for.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT_ID = "tern-test-client"

# Hostile answers of /bad/KIND/token: (status, content type, body).
HOSTILE = {
    "huge": (200, "application/json",
             b'{"access_token":"' + b"a" * (1024 * 1024) + b'"}'),
    "malformed": (200, "application/json", b'{"access_token": "abc", '),
    "html": (502, "text/html",
             b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "wrongtype": (200, "application/json",
                  b'{"access_token": 12345, "token_type": "Bearer", '
                  b'"expires_in": "soon"}'),
    "missing": (200, "application/json",
                b'{"token_type": "Bearer", "expires_in": 3600}'),
    "array": (200, "application/json", b'["access_token", "x"]'),
    "nul": (200, "application/json",
            b'{"access_token": "ab\\u0000cd", "token_type": "Bearer"}'),
    "deep": (200, "application/json", b"[" * 3000 + b"]" * 3000),
    "badtype": (200, "application/json",
                b'{"access_token": "abc", "token_type": "mac"}'),
    "empty": (200, "application/json", b""),
}


class OAuthServer:
    def __init__(self, access_life=3600, interval=1):
        self.access_life = access_life
        self.interval = interval
        self.lock = threading.Lock()
        self.access = {}    # token -> [user, expires_at]
        self.refresh = {}   # token -> user
        self.devices = {}   # device_code -> dict
        self.codes = {}     # code -> dict
        self.grants = {}    # grant_type -> count
        self.introspections = 0
        self.slow_down_once = False
        self.deny_device = False
        self.polls = 0
        self.seen_forms = []  # every form body received, for leak checks
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = None

    # --- what the tests use -------------------------------------------

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.thread is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()

    def rc(self, device=True):
        """The rc keys of a custom provider on this server."""
        text = ("    auth oauth2\n"
                "    oauth_provider custom\n"
                f"    oauth_client_id {CLIENT_ID}\n"
                f"    oauth_token_url {self.base}/token\n"
                f"    oauth_auth_url {self.base}/authorize\n"
                "    oauth_scope \"mail offline_access\"\n")
        if device:
            text += f"    oauth_device_url {self.base}/device\n"
        return text

    def issue(self, user, life=None):
        """An access token for user, as pizauth or oama would hold."""
        with self.lock:
            return self._access(user, life)

    def revoke(self, user):
        with self.lock:
            for t in [t for t, u in self.refresh.items() if u == user]:
                del self.refresh[t]
            for t in [t for t, v in self.access.items() if v[0] == user]:
                del self.access[t]

    def expire_access(self):
        """Every access token expires now (the refresh tokens stay)."""
        with self.lock:
            for v in self.access.values():
                v[1] = 0

    def valid(self, token, user=None):
        with self.lock:
            v = self.access.get(token)
            return (v is not None and v[1] > time.time()
                    and (user is None or v[0] == user))

    def approve(self, user_code, user):
        with self.lock:
            for d in self.devices.values():
                if d["user_code"] == user_code:
                    d["user"] = user
                    return True
        return False

    def tokens(self):
        """Every token issued, for leak checks."""
        with self.lock:
            return list(self.access) + list(self.refresh)

    # --- inside -------------------------------------------------------

    def _access(self, user, life=None):
        t = "at-" + secrets.token_urlsafe(24)
        self.access[t] = [user, time.time() + (life or self.access_life)]
        return t

    def _token_answer(self, user):
        at = self._access(user)
        rt = "rt-" + secrets.token_urlsafe(24)
        self.refresh[rt] = user
        return 200, {"access_token": at, "token_type": "Bearer",
                     "expires_in": self.access_life, "refresh_token": rt}

    def _grant(self, f):
        g = f.get("grant_type", "")
        self.grants[g] = self.grants.get(g, 0) + 1
        if f.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        if g == "refresh_token":
            user = self.refresh.get(f.get("refresh_token"))
            if user is None:
                return 400, {"error": "invalid_grant",
                             "error_description": "token revoked"}
            at = self._access(user)
            return 200, {"access_token": at, "token_type": "Bearer",
                         "expires_in": self.access_life}
        if g == "urn:ietf:params:oauth:grant-type:device_code":
            self.polls += 1
            d = self.devices.get(f.get("device_code"))
            if d is None:
                return 400, {"error": "invalid_grant"}
            if self.deny_device:
                return 400, {"error": "access_denied"}
            if self.slow_down_once:
                self.slow_down_once = False
                return 400, {"error": "slow_down"}
            if d["user"] is None:
                return 400, {"error": "authorization_pending"}
            del self.devices[f["device_code"]]
            return self._token_answer(d["user"])
        if g == "authorization_code":
            c = self.codes.pop(f.get("code"), None)
            if c is None or c["redirect_uri"] != f.get("redirect_uri"):
                return 400, {"error": "invalid_grant"}
            v = f.get("code_verifier", "").encode()
            ch = base64.urlsafe_b64encode(
                hashlib.sha256(v).digest()).rstrip(b"=").decode()
            if ch != c["challenge"]:
                return 400, {"error": "invalid_grant",
                             "error_description": "PKCE verifier"}
            return self._token_answer(c["user"])
        return 400, {"error": "unsupported_grant_type"}

    def _handler(self):
        server = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, obj=None, ctype="application/json",
                      raw=None, headers=()):
                body = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that stopped reading a huge answer

            def _form(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n).decode()
                server.seen_forms.append(data)
                return dict(urllib.parse.parse_qsl(data))

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                if u.path == "/authorize":
                    # The browser of a user who agrees at once.
                    user = q.get("login_hint") or "alice"
                    if (q.get("client_id") != CLIENT_ID
                            or q.get("code_challenge_method") != "S256"
                            or not q.get("code_challenge")):
                        return self._send(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    with server.lock:
                        server.codes[code] = {
                            "challenge": q["code_challenge"],
                            "redirect_uri": q["redirect_uri"],
                            "user": user}
                    loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": q.get("state", "")})
                    return self._send(302, {}, headers=[("Location", loc)])
                if u.path == "/introspect":
                    return self._introspect(q.get("token"))
                self._send(404, {"error": "not_found"})

            def _introspect(self, token):
                with server.lock:
                    server.introspections += 1
                    v = server.access.get(token or "")
                    ok = v is not None and v[1] > time.time()
                if not ok:
                    return self._send(200, {"active": False})
                return self._send(200, {"active": True, "username": v[0]})

            def do_POST(self):
                path = urllib.parse.urlsplit(self.path).path
                f = self._form()
                if path == "/token":
                    with server.lock:
                        status, obj = server._grant(f)
                    return self._send(status, obj)
                if path == "/device":
                    if f.get("client_id") != CLIENT_ID:
                        return self._send(401, {"error": "invalid_client"})
                    dc = secrets.token_urlsafe(24)
                    uc = "%04d-%04d" % (secrets.randbelow(10000),
                                        secrets.randbelow(10000))
                    with server.lock:
                        server.devices[dc] = {"user_code": uc, "user": None}
                    return self._send(200, {
                        "device_code": dc, "user_code": uc,
                        "verification_uri": server.base + "/activate",
                        "expires_in": 600, "interval": server.interval})
                if path == "/approve":
                    ok = server.approve(f.get("user_code"), f.get("user"))
                    return self._send(200 if ok else 404, {})
                if path == "/introspect":
                    tok = f.get("token")
                    auth = self.headers.get("Authorization", "")
                    if tok is None and auth.startswith("Bearer "):
                        tok = auth[7:]
                    return self._introspect(tok)
                if path.startswith("/bad/") and path.endswith("/token"):
                    kind = path.split("/")[2]
                    status, ctype, body = HOSTILE[kind]
                    return self._send(status, ctype=ctype, raw=body)
                self._send(404, {"error": "not_found"})

        return H
