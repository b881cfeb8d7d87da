"""OAuth 2.0 sign-in: IMAP and POP3 against a real Dovecot whose oauth2
passdb checks tokens with the test authorization server
(tests/lib/oauthserver.py), SMTP against aiosmtpd checking them the same
way; tokens from oauth_token_cmd and from tern login (device grant and
loopback redirect), refresh before expiry and after a refusal, a revoked
sign-in, a server without OAuth, hostile token endpoints, and where a
token must never appear.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import ternlib  # noqa: E402
from oauthserver import HOSTILE, OAuthServer  # noqa: E402
from smtpd import Smtpd  # noqa: E402
import test_ui  # noqa: E402  (its Screen: the client in tmux)

# The oauth_store_cmd of the leak test: keeps stdin in a file and looks
# for the refresh token in the argv of every process while it runs.
STORE = r'''
import os, sys, json
data = sys.stdin.read()
state = json.loads(data)
leak = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            argv = f.read()
    except OSError:
        continue
    for k in ("refresh_token", "access_token"):
        if state.get(k) and state[k].encode() in argv:
            leak.append(pid)
with open(sys.argv[1], "w") as f:
    f.write(data)
if leak:
    with open(sys.argv[1] + ".leak", "w") as f:
        f.write(" ".join(leak))
'''


class OAuthTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.auth = OAuthServer().start()
        cls.dovecot = ternlib.Dovecot(
            users={"alice": "secret", "bob": "secret"},
            oauth2_introspection_url=cls.auth.base + "/introspect").start()
        cls.tmp = tempfile.mkdtemp(prefix="tern-oauth-")

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()
        cls.auth.stop()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.tern = ternlib.Tern()
        self.servers = []
        self.auth.access_life = 3600
        self.auth.slow_down_once = False

    def tearDown(self):
        for s in self.servers:
            s.cleanup()
        self.tern.cleanup()

    # -- setting up ----------------------------------------------------

    def account(self, name, protocol="imap", user="alice", extra="",
                dovecot=None):
        rc = self.tern.account(dovecot or self.dovecot, name=name,
                               protocol=protocol, user=user, extra=extra)
        # No password: the token is all it has.
        return rc.replace('    password "secret"\n', "")

    def smtpd(self, oauth=True, dovecot=None):
        d = dovecot or self.dovecot
        s = Smtpd(tls="starttls", cert=d.cafile,
                  key=os.path.join(d.dir, "key.pem"),
                  oauth_introspect=(self.auth.base + "/introspect"
                                    if oauth else None),
                  user=None if oauth else "alice",
                  password=None if oauth else "secret")
        self.servers.append(s)
        return s.start()

    def state_path(self, name):
        return os.path.join(self.tern.data, "tern", "oauth", name + ".json")

    def login_device(self, name, user="alice", args=()):
        """tern login NAME with the device grant; the test is the person
        who types the code."""
        p = subprocess.Popen([ternlib.TERN, "login", name] + list(args),
                             env=self.tern.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        first = p.stderr.readline().decode()
        second = p.stderr.readline().decode()
        self.assertIn("To sign in to %s, open %s/activate" %
                      (name, self.auth.base), first)
        code = second.split()[-1]
        self.assertTrue(self.auth.approve(code, user), second)
        out, err = p.communicate(timeout=60)
        ternlib.check_sanitizers("tern login", err)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn(b"signed in", err)
        return first + second + err.decode()

    def login_loopback(self, name, tamper=None):
        """tern login NAME with the redirect; the test is the browser."""
        p = subprocess.Popen([ternlib.TERN, "login", name],
                             env=self.tern.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        first = p.stderr.readline().decode()
        self.assertIn("open this address in a browser", first)
        url = p.stderr.readline().decode().strip()
        self.assertTrue(url.startswith(self.auth.base + "/authorize?"), url)
        page = None
        if tamper is None:
            with urllib.request.urlopen(url, timeout=30) as r:
                page = r.read().decode()
        else:
            # Ask the provider without following, then change the
            # redirect's state before delivering it.
            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *a):
                    return None
            opener = urllib.request.build_opener(NoRedirect)
            try:
                opener.open(url, timeout=30)
                self.fail("no redirect")
            except urllib.error.HTTPError as e:
                loc = e.headers["Location"]
            try:
                urllib.request.urlopen(tamper(loc), timeout=30).read()
            except urllib.error.HTTPError as e:
                page = e.read().decode()
        out, err = p.communicate(timeout=60)
        ternlib.check_sanitizers("tern login", err)
        return p.returncode, err.decode(), page

    def grants(self, kind):
        return self.auth.grants.get(kind, 0)

    # -- tests ---------------------------------------------------------

    def test_token_cmd_imap_pop3_smtp(self):
        tokfile = os.path.join(self.tern.dir, "token")
        with open(tokfile, "w") as f:
            f.write(self.auth.issue("alice") + "\nsecond line ignored\n")
        bobfile = os.path.join(self.tern.dir, "bobtoken")
        with open(bobfile, "w") as f:
            f.write(self.auth.issue("bob") + "\n")
        s = self.smtpd()
        cmd = "    auth oauth2\n    oauth_token_cmd \"cat %s\"\n"
        self.tern.write_rc(
            self.account("im", extra=cmd % tokfile +
                         f"    smtp smtp://127.0.0.1:{s.port}\n"
                         "    from alice@example.net\n")
            + self.account("po", protocol="pop3", user="bob",
                           extra=cmd % bobfile)
            + self.tern.account(self.dovecot, name="st", tls="starttls",
                                extra=cmd % tokfile).replace(
                                    '    password "secret"\n', ""))
        raw = ternlib.make_message(1, subject="over oauth")
        self.dovecot.deliver(raw, user="alice")
        self.dovecot.deliver(ternlib.make_message(2, subject="pop oauth"),
                             user="bob")
        self.tern.out("sync", "im", "po", "st")
        self.assertIn("over oauth", self.tern.out("ls", "im/INBOX"))
        self.assertIn("over oauth", self.tern.out("ls", "st/INBOX"))
        self.assertIn("pop oauth", self.tern.out("ls", "po/INBOX"))
        log = self.dovecot.log()
        self.assertIn("method=OAUTHBEARER", log)
        # Sending signs in with the same token.
        self.tern.out("send", "-a", "im", input=(
            b"From: alice@example.net\r\nTo: bob@example.org\r\n"
            b"Subject: sent with a token\r\n\r\nhello\r\n"))
        msgs = s.messages()
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0][0]["authenticated"])
        self.assertIn(b"sent with a token", msgs[0][1])
        # A token command whose token is refused: run again, then the error.
        with open(tokfile, "w") as f:
            f.write("not-a-valid-token\n")
        r = self.tern.run("sync", "im")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"refused the OAuth 2.0 token", r.stderr)
        self.assertNotIn(b"not-a-valid-token", r.stderr)

    def test_config_errors(self):
        self.tern.write_rc(self.account("x", extra="    auth oauth2\n"))
        r = self.tern.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.decode(), r"rc:1: auth oauth2 needs")
        self.tern.write_rc(self.account(
            "x", extra="    auth oauth2\n    oauth_provider microsoft\n"))
        r = self.tern.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"oauth_client_id", r.stderr)
        self.tern.write_rc(self.account(
            "x", extra="    auth oauth2\n    oauth_provider custom\n"
            "    oauth_client_id c\n"))
        r = self.tern.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"oauth_token_url", r.stderr)
        self.tern.write_rc(self.account("x", extra="    auth kerberos\n"))
        r = self.tern.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr.decode(), r"rc:\d+: auth must be")

    def test_device_login_refresh_and_revoke(self):
        s = self.smtpd()
        other = self.tern.account(self.dovecot, name="other",
                                  protocol="pop3", user="bob")
        self.tern.write_rc(
            self.account("dev", extra=self.auth.rc() +
                         f"    smtp smtp://127.0.0.1:{s.port}\n"
                         "    from alice@example.net\n") + other)
        r = self.tern.run("sync", "dev")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"run `tern login dev`", r.stderr)

        # The provider asks for slower polling once: five seconds more.
        self.auth.slow_down_once = True
        polls = self.auth.polls
        t0 = time.time()
        self.login_device("dev")
        self.assertGreaterEqual(time.time() - t0, 6)
        self.assertGreaterEqual(self.auth.polls - polls, 2)
        st = os.stat(self.state_path("dev"))
        self.assertEqual(st.st_mode & 0o777, 0o600)

        self.dovecot.deliver(ternlib.make_message(3, subject="after login"))
        self.tern.out("-v", "sync", "dev")
        self.assertIn("after login", self.tern.out("ls", "dev/INBOX"))

        # A token the server refuses (revoked early) is refreshed once
        # and the login tried again.
        refreshes = self.grants("refresh_token")
        seen = self.auth.introspections
        self.auth.expire_access()
        self.tern.out("sync", "dev")
        self.assertEqual(self.grants("refresh_token"), refreshes + 1)
        self.assertEqual(self.auth.introspections, seen + 2)
        tok = self.tern.out("login", "dev", "--print-token").strip()
        self.assertTrue(self.auth.valid(tok, "alice"))
        self.assertEqual(self.grants("refresh_token"), refreshes + 1)

        # It expires between two syncs (time passes: the kept expiry is
        # moved to within tern's minute of margin): refreshed before the
        # login, which then succeeds at once.
        with open(self.state_path("dev")) as f:
            state = json.load(f)
        state["expires_at"] = int(time.time()) + 30
        with open(self.state_path("dev"), "w") as f:
            json.dump(state, f)
        seen = self.auth.introspections
        self.tern.out("sync", "dev")
        self.assertEqual(self.grants("refresh_token"), refreshes + 2)
        self.assertEqual(self.auth.introspections, seen + 1)
        self.assertNotEqual(
            self.tern.out("login", "dev", "--print-token").strip(), tok)
        refreshes = self.grants("refresh_token")
        # SMTP too.
        self.auth.expire_access()
        r = self.tern.run("send", "-a", "dev", input=(
            b"From: alice@example.net\r\nTo: bob@example.org\r\n"
            b"Subject: after a refresh\r\n\r\nhello\r\n"))
        self.assertEqual(len(s.messages()), 1, (r.stdout, r.stderr))
        self.assertEqual(self.grants("refresh_token"), refreshes + 1)

        # A revoked sign-in: this account stops, the other goes on.
        self.auth.revoke("alice")
        self.dovecot.deliver(ternlib.make_message(4, subject="for bob"),
                             user="bob")
        r = self.tern.run("sync", "dev", "other")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"run `tern login dev`", r.stderr)
        self.assertIn("for bob", self.tern.out("ls", "other/INBOX"))
        r = self.tern.run("login", "dev", "--print-token")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"run `tern login dev`", r.stderr)

    def test_device_login_declined(self):
        self.tern.write_rc(self.account("dev", extra=self.auth.rc()))
        self.auth.deny_device = True
        try:
            r = self.tern.run("login", "dev", timeout=60)
        finally:
            self.auth.deny_device = False
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"the sign-in was declined", r.stderr)
        self.assertFalse(os.path.exists(self.state_path("dev")))

    def test_loopback_login_pop3_and_state(self):
        self.tern.write_rc(self.account(
            "lb", protocol="pop3", user="bob",
            extra=self.auth.rc(device=False)))
        code, err, page = self.login_loopback("lb")
        self.assertEqual(code, 0, err)
        self.assertIn("tern is signed in", page)
        self.assertEqual(self.grants("authorization_code") > 0, True)
        self.dovecot.deliver(ternlib.make_message(5, subject="loopback"),
                             user="bob")
        self.tern.out("sync", "lb")
        self.assertIn("loopback", self.tern.out("ls", "lb/INBOX"))
        self.assertIn("method=OAUTHBEARER", self.dovecot.log())

        # A redirect with a state tern did not make is refused.
        def wrong_state(loc):
            return loc.replace("state=", "state=x")
        code, err, page = self.login_loopback("lb", tamper=wrong_state)
        self.assertEqual(code, 1)
        self.assertIn("state tern did not make", err)
        self.assertIn("wrong state", page)

        # The person said no at the provider: its error, no tokens.
        def refused(loc):
            return re.sub(r"code=[^&]*", "error=access_denied", loc)
        code, err, page = self.login_loopback("lb", tamper=refused)
        self.assertEqual(code, 1)
        self.assertIn("the provider said: access_denied", err)
        self.assertIn("not completed", page)

    def test_store_and_load_commands_keep_tokens_out_of_argv(self):
        store = os.path.join(self.tern.dir, "store.py")
        with open(store, "w") as f:
            f.write(STORE)
        kept = os.path.join(self.tern.dir, "kept.json")
        logf = os.path.join(self.tern.dir, "ui.log")
        self.tern.write_rc(self.account(
            "kc", extra=self.auth.rc() +
            f"    oauth_store_cmd \"{sys.executable} {store} {kept}\"\n"
            f"    oauth_load_cmd \"cat {kept}\"\n"))
        self.login_device("kc")
        self.assertFalse(os.path.exists(self.state_path("kc")))
        with open(kept) as f:
            state = json.load(f)
        self.assertTrue(state["refresh_token"].startswith("rt-"))
        self.assertFalse(os.path.exists(kept + ".leak"))
        r = self.tern.run("-v", "sync", "kc", check=True)
        # A refresh goes through both commands.
        self.auth.expire_access()
        r2 = self.tern.run("-v", "sync", "kc", check=True)
        self.assertFalse(os.path.exists(kept + ".leak"))
        with open(kept) as f:
            self.assertNotEqual(json.load(f)["access_token"],
                                state["access_token"])
        # No token in what tern printed, nor in the store.
        blobs = [r.stdout, r.stderr, r2.stdout, r2.stderr]
        for root, _, files in os.walk(os.path.join(self.tern.data, "tern")):
            for n in files:
                with open(os.path.join(root, n), "rb") as f:
                    blobs.append(f.read())
        if os.path.exists(logf):
            with open(logf, "rb") as f:
                blobs.append(f.read())
        for tok in self.auth.tokens():
            for b in blobs:
                self.assertNotIn(tok.encode(), b)

    def test_server_without_oauth(self):
        plain = ternlib.Dovecot().start()
        try:
            tokfile = os.path.join(self.tern.dir, "token")
            with open(tokfile, "w") as f:
                f.write(self.auth.issue("alice") + "\n")
            s = self.smtpd(oauth=False, dovecot=plain)
            extra = ("    auth oauth2\n"
                     f"    oauth_token_cmd \"cat {tokfile}\"\n"
                     f"    smtp smtp://127.0.0.1:{s.port}\n"
                     "    from alice@example.net\n")
            for proto in ("imap", "pop3"):
                rc = self.account("nomech", protocol=proto, dovecot=plain,
                                  extra=extra)
                self.tern.write_rc(rc)
                r = self.tern.run("sync", "nomech")
                self.assertEqual(r.returncode, 1, proto)
                self.assertIn(b"account nomech", r.stderr)
                self.assertIn(b"offers neither OAUTHBEARER nor XOAUTH2",
                              r.stderr)
            r = self.tern.run("send", "-a", "nomech", input=(
                b"From: alice@example.net\r\nTo: bob@example.org\r\n"
                b"Subject: x\r\n\r\nhello\r\n"))
            self.assertIn(b"offers neither OAUTHBEARER nor XOAUTH2",
                          r.stderr + r.stdout)
            self.assertEqual(s.messages(), [])
        finally:
            plain.cleanup()

    def test_client_shows_login_and_signs_in(self):
        self.tern.write_rc(self.account("dev", extra=self.auth.rc()))
        self.dovecot.deliver(ternlib.make_message(7, subject="in the client"))
        scr = test_ui.Screen(self.tern, width=160, height=30)
        try:
            scr.wait("run `tern login dev`", timeout=20)
            # ^C gives the sign-in up, not the client.
            scr.keys("Y")
            t = scr.wait("and enter the code", timeout=20)
            given_up = [ln for ln in t.splitlines()
                        if "and enter the code" in ln][-1].split()[-1]
            scr.keys("C-c")
            scr.wait("sign-in abandoned. Press Enter", timeout=20)
            scr.keys("Enter")
            scr.wait("sign-in abandoned", timeout=20)
            self.assertNotIn("EXIT=", scr.text())
            # Y hands the terminal to tern login: the URL and the code.
            scr.keys("Y")
            end = time.time() + 20
            while True:
                t = scr.text()
                codes = [ln.split()[-1] for ln in t.splitlines()
                         if "and enter the code" in ln]
                if codes and codes[-1] != given_up:
                    break
                self.assertLess(time.time(), end, t)
                time.sleep(0.05)
            self.assertIn("%s/activate" % self.auth.base, t)
            code = codes[-1]
            self.assertTrue(self.auth.approve(code, "alice"))
            scr.wait("Signed in. Press Enter", timeout=20)
            scr.keys("Enter")
            scr.wait("in the client", timeout=20)
        finally:
            scr.kill()
        with open(scr.log, "rb") as f:
            log = f.read()
        self.assertIn(b"run `tern login dev`", log)
        for tok in self.auth.tokens():
            self.assertNotIn(tok.encode(), log)

    def test_xoauth2_when_oauthbearer_is_not_offered(self):
        only = ternlib.Dovecot(
            oauth2_introspection_url=self.auth.base + "/introspect",
            extra_conf="auth_mechanisms = plain login xoauth2\n").start()
        try:
            tokfile = os.path.join(self.tern.dir, "token")
            with open(tokfile, "w") as f:
                f.write(self.auth.issue("alice") + "\n")
            cmd = f"    auth oauth2\n    oauth_token_cmd \"cat {tokfile}\"\n"
            self.tern.write_rc(
                self.account("x1", dovecot=only, extra=cmd)
                + self.account("x2", protocol="pop3", dovecot=only,
                               extra=cmd))
            self.tern.out("sync", "x1", "x2")
            log = only.log()
            for proto in ("imap", "pop3"):
                self.assertIn("%s-login: Info: Login: user=<alice>, "
                              "method=XOAUTH2" % proto, log)
            self.assertNotIn("method=OAUTHBEARER", log)
            self.assertNotIn("method=PLAIN", log)
        finally:
            only.cleanup()

    def test_hostile_token_endpoints(self):
        os.makedirs(os.path.dirname(self.state_path("h")), mode=0o700,
                    exist_ok=True)
        for kind in sorted(HOSTILE):
            with open(self.state_path("h"), "w") as f:
                json.dump({"refresh_token": "rt-whatever",
                           "access_token": "at-old", "expires_at": 1}, f)
            rc = self.account("h", extra=self.auth.rc().replace(
                "/token\n", "/bad/%s/token\n" % kind))
            self.tern.write_rc(rc)
            r = self.tern.run("login", "h", "--print-token")
            err = r.stderr.decode()
            self.assertEqual(r.returncode, 1, (kind, err))
            self.assertEqual(r.stdout, b"", kind)
            self.assertEqual(len(err.splitlines()), 1, (kind, err))
            self.assertIn("account h", err, kind)
            self.assertLess(len(err), 600, kind)
        # A kept state that is itself garbage: an error, no crash.
        with open(self.state_path("h"), "w") as f:
            f.write('{"refresh_token": ["x"]}')
        r = self.tern.run("login", "h", "--print-token")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"remove it and run `tern login h`", r.stderr)
        # A token endpoint on another host must be https.
        os.unlink(self.state_path("h"))
        with open(self.state_path("h"), "w") as f:
            json.dump({"refresh_token": "rt-whatever", "expires_at": 1}, f)
        self.tern.write_rc(self.account("h", extra=self.auth.rc().replace(
            self.auth.base + "/token", "http://example.org/token")))
        r = self.tern.run("login", "h", "--print-token")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"must be https://", r.stderr)
        # ... also when the name looks like a loopback one.
        self.tern.write_rc(self.account("h", extra=self.auth.rc().replace(
            self.auth.base + "/token", "http://127.0.0.1.example.org/t")))
        r = self.tern.run("login", "h", "--print-token")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"must be https://", r.stderr)
        # https is verified: a server whose certificate no trusted CA
        # signed (Dovecot's TLS port, self-signed) is refused before a
        # byte of the form goes out.
        self.tern.write_rc(self.account("h", extra=self.auth.rc().replace(
            self.auth.base + "/token",
            "https://127.0.0.1:%d/token" % self.dovecot.imaps_port)))
        r = self.tern.run("login", "h", "--print-token")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"certificate is not trusted", r.stderr)


if __name__ == "__main__":
    ternlib.main()
