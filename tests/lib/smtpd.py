"""A real SMTP server for the tests: Debian's aiosmtpd on loopback.

Smtpd starts this file as a program with /usr/bin/python3 (where Debian's
python3-aiosmtpd lives), on a free port of 127.0.0.1. Every message it
accepts is written to its directory as N.eml (the exact bytes received)
and N.json (envelope sender and recipients) before the server answers
250, so a test sees exactly what was delivered, and how many times.

Options: a user and password to require AUTH (PLAIN and LOGIN, also over
plain connections); an OAuth 2.0 introspection URL (tests/lib/
oauthserver.py) to require AUTH XOAUTH2 or OAUTHBEARER with a token that
endpoint calls active for the user, as Dovecot's oauth2 passdb does;
STARTTLS (required before anything else) or implicit TLS with a
certificate; recipients to refuse with 550, or to defer with
450 (greylisting: try again later); and misbehaviour a
real server gives only when things break: "drop" closes the connection
after storing a message, before the reply; "stall" stores it and never
replies.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

SERVER_PYTHON = "/usr/bin/python3"


class Smtpd:
    """The server as a child process; start(), stop(), messages()."""

    def __init__(self, port=None, user=None, password=None, refuse=(),
                 tls=None, cert=None, key=None, after_data=None, defer=(),
                 oauth_introspect=None):
        self.dir = tempfile.mkdtemp(prefix="tern-smtpd-")
        self.port = port or _free_port()
        self.user, self.password = user, password
        self.refuse = list(refuse)
        self.defer = list(defer)
        self.tls, self.cert, self.key = tls, cert, key
        self.after_data = after_data
        self.oauth_introspect = oauth_introspect
        self.proc = None

    def start(self):
        args = [SERVER_PYTHON, os.path.abspath(__file__), "--port",
                str(self.port), "--dir", self.dir]
        if self.user:
            args += ["--auth", "%s:%s" % (self.user, self.password)]
        for r in self.refuse:
            args += ["--refuse", r]
        for r in self.defer:
            args += ["--defer", r]
        if self.tls:
            args += ["--tls", self.tls, "--cert", self.cert, "--key",
                     self.key]
        if self.after_data:
            args += ["--after-data", self.after_data]
        if self.oauth_introspect:
            args += ["--oauth-introspect", self.oauth_introspect]
        log = open(os.path.join(self.dir, "server.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("the SMTP server did not start:\n%s"
                                   % self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError("the SMTP server is not listening:"
                                       "\n%s" % self.log())
                time.sleep(0.05)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def cleanup(self):
        self.stop()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log"),
                      errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def messages(self):
        """[(envelope dict, raw bytes)] in the order received."""
        out = []
        names = sorted((n for n in os.listdir(self.dir)
                        if n.endswith(".json")),
                       key=lambda n: int(n.split(".")[0]))
        for n in names:
            with open(os.path.join(self.dir, n)) as f:
                env = json.load(f)
            with open(os.path.join(self.dir, n[:-5] + ".eml"), "rb") as f:
                out.append((env, f.read()))
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.cleanup()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(argv):
    import asyncio
    import ssl
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--auth")
    ap.add_argument("--refuse", action="append", default=[])
    ap.add_argument("--defer", action="append", default=[])
    ap.add_argument("--tls", choices=["starttls", "implicit"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--after-data", choices=["drop", "stall"])
    ap.add_argument("--oauth-introspect")
    o = ap.parse_args(argv)
    counter = [len([n for n in os.listdir(o.dir) if n.endswith(".json")])]

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address,
                              rcpt_options):
            if address in o.refuse:
                return "550 5.1.1 <%s>: Recipient address rejected: " \
                       "User unknown in local recipient table" % address
            if address in o.defer:
                return "450 4.2.0 <%s>: Recipient address rejected: " \
                       "Greylisted, try again later" % address
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"

        async def handle_DATA(self, server, session, envelope):
            counter[0] += 1
            base = os.path.join(o.dir, str(counter[0]))
            with open(base + ".eml.tmp", "wb") as f:
                f.write(envelope.original_content)
            os.rename(base + ".eml.tmp", base + ".eml")
            with open(base + ".json.tmp", "w") as f:
                json.dump({"mail_from": envelope.mail_from,
                           "rcpt_tos": envelope.rcpt_tos,
                           "authenticated": bool(getattr(
                               session, "authenticated", False))}, f)
            os.rename(base + ".json.tmp", base + ".json")
            if o.after_data == "drop":
                server.transport.close()
            elif o.after_data == "stall":
                await asyncio.sleep(3600)
            return "250 2.0.0 Ok: queued as %d" % counter[0]

    def token_user(token):
        import urllib.parse
        import urllib.request
        data = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(o.oauth_introspect, data, 10) as r:
            ans = json.load(r)
        return ans.get("username") if ans.get("active") is True else None

    if o.oauth_introspect:
        import base64

        def parse_kv(blob):
            kv = {}
            for part in blob.split(b"\x01"):
                if b"=" in part:
                    k, v = part.split(b"=", 1)
                    kv[k.decode()] = v.decode()
            return kv

        async def check(server, user, auth):
            if not auth.startswith("Bearer "):
                return False
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(None, token_user, auth[7:])
            return got is not None and got == user

        async def auth_XOAUTH2(self, server, args):
            blob = (base64.b64decode(args[1]) if len(args) > 1
                    else await server.challenge_auth(""))
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
            kv = parse_kv(blob)
            if await check(server, kv.get("user"), kv.get("auth", "")):
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        async def auth_OAUTHBEARER(self, server, args):
            blob = (base64.b64decode(args[1]) if len(args) > 1
                    else await server.challenge_auth(""))
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
            gs2, _, rest = blob.partition(b"\x01")
            user = None
            for f in gs2.split(b","):
                if f.startswith(b"a="):
                    user = f[2:].decode()
            kv = parse_kv(rest)
            if await check(server, user, kv.get("auth", "")):
                return AuthResult(success=True)
            # RFC 7628 3.2.2: an error as a challenge, the client's
            # ^A, then the failure.
            await server.challenge_auth(json.dumps(
                {"status": "invalid_token", "schemes": "bearer"}))
            return AuthResult(success=False, handled=False)

        Handler.auth_XOAUTH2 = auth_XOAUTH2
        Handler.auth_OAUTHBEARER = auth_OAUTHBEARER

    kw = {"hostname": "tern-test", "decode_data": False}
    if o.oauth_introspect and not o.auth:
        kw.update(authenticator=lambda *a: AuthResult(success=False),
                  auth_required=True, auth_require_tls=False)
    if o.auth:
        user, password = o.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            if (isinstance(data, LoginPassword)
                    and data.login == user.encode()
                    and data.password == password.encode()):
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        kw.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=False)
    server_ssl = None
    if o.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(o.cert, o.key)
        if o.tls == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        else:
            server_ssl = ctx

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(Handler(), **kw), "127.0.0.1", o.port,
        ssl=server_ssl, reuse_address=True))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    serve(sys.argv[1:])
