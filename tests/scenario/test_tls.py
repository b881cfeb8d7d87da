"""TLS fails closed, for IMAP and POP3, through the connection layer.

A scripted server (tests/lib/fakeserver.py) plays what Dovecot will not:
STARTTLS hidden or refused, a PREAUTH greeting, bytes injected after the
STARTTLS reply, a certificate for another host or from an unknown issuer.
It records every byte the client sent, so each test checks that no
credential and no command but the capability query and STARTTLS itself
went out in plaintext, and that the error says why.
"""

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fakeserver  # noqa: E402
import ternlib  # noqa: E402

NETPROBE = os.environ.get("TERN_NETPROBE",
                          os.path.join(os.path.dirname(ternlib.TERN),
                                       "tests", "netprobe"))
USER = "alice"
PASSWORD = "s3cr3t-PW"
SECRETS = (PASSWORD.encode(), USER.encode(),
           base64.b64encode(b"\0" + USER.encode() + b"\0" +
                            PASSWORD.encode()),
           base64.b64encode(USER.encode()), base64.b64encode(
               PASSWORD.encode()))
# All a client may say before TLS: ask for capabilities, ask for TLS.
PLAINTEXT_OK = {"imap": ("CAPABILITY", "STARTTLS"), "pop3": ("CAPA", "STLS")}


class TLS(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-tls-")
        cls.certs = fakeserver.Certs(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def probe(self, proto, tls, cert="good", cafile=None, verify=True,
              **server):
        """Run netprobe against a fake server; (result, server)."""
        srv = fakeserver.FakeServer(proto, getattr(self.certs, cert),
                                    user=USER, password=PASSWORD, **server)
        with srv:
            r = subprocess.run(
                [NETPROBE] + ([] if verify else ["-k"]) +
                [proto, "127.0.0.1", str(srv.port), tls,
                 cafile or self.certs.good[0], USER, PASSWORD],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        ternlib.check_sanitizers("netprobe", r.stderr)
        self.assertEqual(srv.errors, [])
        return r, srv

    def assert_refused(self, r, srv, proto, why, hello_only=False):
        """Exit 1, a message containing why, nothing secret sent at all,
        and nothing in plaintext but the capability query and STARTTLS
        (with hello_only: nothing but a TLS ClientHello)."""
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 1, err)
        self.assertIn(why, err)
        self.assertEqual(len(srv.conns), 1)
        self.assertEqual(srv.logins, 0)
        c = srv.conns[0]
        for s in SECRETS:
            self.assertNotIn(s, c.sent_everything())
        if hello_only:
            self.assertTrue(c.plain.startswith(b"\x16\x03"), c.plain)
            return
        for line in c.plain.split(b"\r\n"):
            if not line:
                continue
            words = line.decode(errors="replace").split()
            cmd = words[1] if proto == "imap" and len(words) > 1 else words[0]
            self.assertIn(cmd.upper(), PLAINTEXT_OK[proto],
                          "sent in plaintext: %r" % line)

    def assert_ok(self, r, srv, proto):
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(srv.logins, 1)
        c = srv.conns[0]
        for s in SECRETS:
            self.assertNotIn(s, c.plain)
        # The recorder works: the login went, inside TLS.
        self.assertIn(SECRETS[2], c.secure)

    # The control: a well-behaved server, STARTTLS and implicit TLS.

    def test_starttls_works(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "starttls")
                self.assert_ok(r, srv, proto)
                self.assertTrue(srv.conns[0].plain)

    def test_implicit_tls_works(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "on", implicit_tls=True)
                self.assert_ok(r, srv, proto)
                self.assertEqual(srv.conns[0].plain, b"")

    # STARTTLS stripped, refused, impossible.

    def test_starttls_hidden(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "starttls",
                                    advertise_starttls=False)
                self.assert_refused(r, srv, proto, "does not offer")

    def test_starttls_refused(self):
        for proto, word in (("imap", "NO STARTTLS"), ("pop3", "-ERR")):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "starttls", starttls="refuse")
                self.assert_refused(r, srv, proto, "refused")
                self.assertIn(word, r.stderr.decode())

    def test_preauth_greeting(self):
        # CVE-2020-14093: a PREAUTH greeting leaves no moment for STARTTLS;
        # going on would run the session in plaintext.
        r, srv = self.probe("imap", "starttls", greeting="preauth")
        self.assert_refused(r, srv, "imap", "PREAUTH")

    def test_preauth_without_starttls_offer(self):
        r, srv = self.probe("imap", "starttls", greeting="preauth",
                            advertise_starttls=False)
        self.assert_refused(r, srv, "imap", "PREAUTH")

    # Response injection (CVE-2021-22947 and the USENIX 2021 study).

    def test_injection_after_starttls_reply(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "starttls", starttls="inject")
                self.assert_refused(r, srv, proto, "response injection")

    def test_injection_in_a_later_packet(self):
        # Plaintext where the TLS handshake should be: the handshake fails.
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "starttls",
                                    starttls="inject-late")
                self.assert_refused(r, srv, proto, "TLS handshake failed")

    def test_plaintext_server_for_implicit_tls(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.probe(proto, "on")
                self.assert_refused(r, srv, proto, "TLS handshake failed",
                                    hello_only=True)

    # Certificates.

    def test_wrong_host_certificate(self):
        # Trusted (it is its own cafile), but for wrong.example.
        for proto, tls in (("imap", "on"), ("imap", "starttls"),
                           ("pop3", "on"), ("pop3", "starttls")):
            with self.subTest(proto=proto, tls=tls):
                r, srv = self.probe(proto, tls, cert="wrong_host",
                                    cafile=self.certs.wrong_host[0],
                                    implicit_tls=tls == "on")
                self.assert_refused(r, srv, proto, "for another host name")

    def test_untrusted_certificate(self):
        for proto, tls in (("imap", "on"), ("pop3", "starttls")):
            with self.subTest(proto=proto, tls=tls):
                r, srv = self.probe(proto, tls, cert="untrusted",
                                    implicit_tls=tls == "on")
                self.assert_refused(r, srv, proto, "not trusted")
                self.assertIn("self-signed", r.stderr.decode())

    def test_no_cafile_uses_system_store(self):
        # Without cafile the test certificate is unknown: refused.
        r, srv = self.probe("imap", "on", cafile="-", implicit_tls=True)
        self.assert_refused(r, srv, "imap", "not trusted")

    def test_no_system_store_is_named(self):
        # A minimal system without ca-certificates: the system's store is
        # hidden by an empty directory in a mount namespace of our own.
        # tern says what is missing, not "cannot read cafile : ...".
        srv = fakeserver.FakeServer("imap", self.certs.good,
                                    user=USER, password=PASSWORD,
                                    implicit_tls=True)
        unshare = ["unshare", "-m"] if os.getuid() == 0 else \
            ["unshare", "-r", "-m"]
        hide = ("for d in /etc/ssl/certs /usr/lib/ssl/certs; do "
                "[ -d \"$d\" ] && mount -t tmpfs tmpfs \"$d\"; done; "
                "[ ! -e /etc/ssl/certs/ca-certificates.crt ] || exit 99; "
                "exec \"$@\"")
        with srv:
            r = subprocess.run(
                unshare + ["sh", "-c", hide, "sh", NETPROBE, "imap",
                           "127.0.0.1", str(srv.port), "on", "-", USER,
                           PASSWORD],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        ternlib.check_sanitizers("netprobe", r.stderr)
        err = r.stderr.decode(errors="replace")
        self.assertNotEqual(r.returncode, 99, "the store is still there")
        self.assertEqual(r.returncode, 1, err)
        self.assertIn("no system certificates", err)
        self.assertIn("install ca-certificates or set cafile", err)
        self.assertNotIn("cafile :", err)
        self.assertEqual(srv.logins, 0)

    def test_bad_cafile(self):
        # A cafile that is missing or holds no certificate is an error, not
        # a silent fall-back to no verification or to the system store.
        for ca in ("/nonexistent/ca.pem", "/dev/null", self.certs.good[1]):
            with self.subTest(cafile=ca):
                r, srv = self.probe("imap", "on", cafile=ca,
                                    implicit_tls=True)
                self.assert_refused(r, srv, "imap", "cannot read cafile",
                                    hello_only=bool(srv.conns[0].plain))

    def test_verify_off_is_loud(self):
        # tls_verify no connects to an untrusted server, and says so on
        # every connection.
        for proto, tls in (("imap", "on"), ("pop3", "starttls")):
            with self.subTest(proto=proto, tls=tls):
                for _ in range(2):
                    r, srv = self.probe(proto, tls, cert="untrusted",
                                        verify=False,
                                        implicit_tls=tls == "on")
                    self.assert_ok(r, srv, proto)
                    self.assertIn(b"tls_verify is off", r.stderr)
                    self.assertIn(b"NOT checked", r.stderr)

    def test_scripted_answers_after_login(self):
        # What the protocol engines build on: a scripted reply after login,
        # and a connection cut in the middle of a literal.
        r, srv = self.probe("imap", "on", implicit_tls=True, script={
            "CAPABILITY": lambda c, tag, line: (
                c.send("* CAPABILITY IMAP4rev1 X-SCRIPTED\r\n"
                       "%s OK done\r\n" % tag) if tag == "T1" else
                c.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR\r\n"
                       "%s OK done\r\n" % tag))})
        self.assert_ok(r, srv, "imap")
        self.assertIn(b"X-SCRIPTED", r.stdout)
        self.assertEqual(srv.commands[-1], "T1 CAPABILITY")

        def cut(c, tag, line):
            if tag != "T1":
                c.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK\r\n"
                       % tag)
                return None
            c.send("* 1 FETCH (BODY[] {1000}\r\nonly a part")
            return fakeserver.HANGUP

        r, srv = self.probe("imap", "on", implicit_tls=True,
                            script={"CAPABILITY": cut})
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"connection closed by the server", r.stderr)
        # POP3: libcurl asks CAPA before login, netprobe after it; the
        # second answer stops in the middle of the multi-line reply.
        calls = []

        def capa(c, tag, line):
            calls.append(line)
            if len(calls) == 1:
                c.send("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n")
                return None
            c.send("+OK\r\nX-SCRIPTED\r\n")
            return fakeserver.HANGUP

        r, srv = self.probe("pop3", "on", implicit_tls=True,
                            script={"CAPA": capa})
        self.assertEqual(r.returncode, 1)
        self.assertEqual(srv.logins, 1)
        self.assertIn(b"connection closed by the server", r.stderr)

    def test_verify_on_is_quiet(self):
        r, srv = self.probe("imap", "on", implicit_tls=True)
        self.assert_ok(r, srv, "imap")
        self.assertEqual(r.stderr, b"")


class ThroughTern(unittest.TestCase):
    """The same through tern sync: the rc's tls and tls_verify reach the
    connection layer of both protocol engines."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tern-tls-")
        cls.certs = fakeserver.Certs(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def sync(self, proto, tls, verify="yes", cert="good", **server):
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        # An empty mailbox, for the sessions that get that far.
        script = {"UIDL": "+OK\r\n.\r\n", "STAT": "+OK 0 0\r\n",
                  "LIST": "+OK\r\n.\r\n"} if proto == "pop3" else {}
        srv = fakeserver.FakeServer(proto, getattr(self.certs, cert),
                                    user=USER, password=PASSWORD,
                                    script=script, **server)
        with srv:
            t.write_rc("account acct\n protocol %s\n host 127.0.0.1\n"
                       " port %d\n tls %s\n tls_verify %s\n cafile %s\n"
                       " user %s\n password %s\n"
                       % (proto, srv.port, tls, verify, self.certs.good[0],
                          USER, PASSWORD))
            r = t.run("sync", "acct", timeout=60)
        self.assertEqual(srv.errors, [])
        return r, srv

    def test_stripped_starttls(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.sync(proto, "starttls",
                                   advertise_starttls=False)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(b"tern: acct: ", r.stderr)
                self.assertIn(b"does not offer", r.stderr)
                self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
                for s in SECRETS:
                    self.assertNotIn(s, srv.conns[0].sent_everything())

    def test_preauth(self):
        r, srv = self.sync("imap", "starttls", greeting="preauth")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"PREAUTH", r.stderr)
        self.assertEqual(srv.commands, ["A001 CAPABILITY"])

    def test_verify_off_warns_and_on_refuses(self):
        for proto in ("imap", "pop3"):
            with self.subTest(proto=proto):
                r, srv = self.sync(proto, "on", verify="no",
                                   cert="untrusted", implicit_tls=True)
                self.assertIn(b"tls_verify is off", r.stderr)
                if proto == "pop3":
                    # A note of the account's sync, as the client shows
                    # it too.
                    self.assertRegex(r.stderr, rb"(?m)^tern: acct: WARNING: "
                                     rb"127\.0\.0\.1:\d+: tls_verify is off")
                self.assertEqual(srv.logins, 1)
                self.assertEqual(r.returncode, 0, r.stderr)
                r, srv = self.sync(proto, "on", cert="untrusted",
                                   implicit_tls=True)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(b"not trusted", r.stderr)
                self.assertNotIn(b"tls_verify", r.stderr)
                self.assertEqual(srv.logins, 0)


if __name__ == "__main__":
    ternlib.main()
