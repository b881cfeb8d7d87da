"""The test harness itself: a real Dovecot starts on loopback with IMAP,
IMAPS, POP3 and POP3S, and the connection layer logs in to each of them
through libcurl (implicit TLS, STARTTLS and plaintext), verifying the
test certificate and refusing what it cannot verify."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

NETPROBE = os.environ.get("TERN_NETPROBE",
                          os.path.join(os.path.dirname(ternlib.TERN),
                                       "tests", "netprobe"))


class Harness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = ternlib.Dovecot(users={"alice": "secret", "bob": "pw b"})
        cls.dc.start()

    @classmethod
    def tearDownClass(cls):
        cls.dc.cleanup()

    def probe(self, proto, port, tls, cafile=None, user="alice",
              password="secret", opts=()):
        r = subprocess.run(
            [NETPROBE] + list(opts) + [proto, "127.0.0.1", str(port), tls,
             cafile or self.dc.cafile, user, password],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        ternlib.check_sanitizers("netprobe", r.stderr)
        return r

    def test_imaps_login(self):
        r = self.probe("imap", self.dc.imaps_port, "on")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"CAPABILITY IMAP4rev1", r.stdout)
        self.assertIn(b"T1 OK", r.stdout)

    def test_pop3s_login(self):
        r = self.probe("pop3", self.dc.pop3s_port, "on")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"UIDL", r.stdout)

    def test_starttls_both(self):
        r = self.probe("imap", self.dc.imap_port, "starttls")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.probe("pop3", self.dc.pop3_port, "starttls")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_plaintext_loopback(self):
        r = self.probe("imap", self.dc.imap_port, "off", user="bob",
                       password="pw b")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"plaintext", r.stderr)  # loopback: no warning

    def test_keepalive(self):
        # Every connection probes a silent peer: gone in about two minutes.
        for proto, port, tls in (("imap", self.dc.imaps_port, "on"),
                                 ("pop3", self.dc.pop3_port, "starttls")):
            r = self.probe(proto, port, tls, opts=["-K"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"keepalive 1 idle 60 intvl 15 cnt 4\n", r.stdout)

    def test_wrong_password(self):
        r = self.probe("imap", self.dc.imaps_port, "on", password="nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"login failed for alice", r.stderr)
        r = self.probe("pop3", self.dc.pop3s_port, "on", password="nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"login failed", r.stderr)

    def test_untrusted_certificate(self):
        # The system trust store does not know the test CA.
        other = ternlib.make_cert(ternlib.tempfile.mkdtemp())[0]
        r = self.probe("imap", self.dc.imaps_port, "on", cafile=other)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not trusted", r.stderr)

    def test_maildir_delivery_is_seen(self):
        self.dc.deliver(ternlib.make_message(1), user="bob")
        self.assertEqual(self.dc.count("bob"), 1)


if __name__ == "__main__":
    ternlib.main()
