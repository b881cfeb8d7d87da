"""The test harness itself: a real Dovecot starts on loopback with IMAP,
IMAPS, POP3 and POP3S, and the connection layer logs in to each of them
through libcurl (implicit TLS, STARTTLS and plaintext), verifying the
test certificate and refusing what it cannot verify. The cutting proxy
breaks a connection where it is told to, and the namespace fixture lays
mail out as Courier does."""

import imaplib
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
import wire  # noqa: E402

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


class Proxy(unittest.TestCase):
    """The proxy between imaplib and Dovecot: each way of breaking a
    connection does what tests rely on."""

    @classmethod
    def setUpClass(cls):
        cls.dc = ternlib.Dovecot(users={"p": "pp"}).start()

    @classmethod
    def tearDownClass(cls):
        cls.dc.cleanup()

    def setUp(self):
        self.proxy = wire.Proxy(self.dc.imap_port)
        self.addCleanup(self.proxy.stop)

    def client(self):
        c = imaplib.IMAP4("127.0.0.1", self.proxy.port, timeout=10)
        self.addCleanup(c.sock.close)
        c.login("p", "pp")
        return c

    def test_cut_after_the_reply_with_rst(self):
        # The server creates the folder; the client hears a reset.
        self.proxy.add(wire.cut(1, at="reply", how="rst", match="CREATE"))
        c = self.client()
        with self.assertRaises((ConnectionResetError, imaplib.IMAP4.abort)):
            c.create("Done")
        self.assertIn("Done", self.dc.folders("p"))
        self.assertTrue(self.proxy.commands[-1].endswith("CREATE Done"))
        self.assertEqual(self.proxy.events[0][1:3], ("rst", "reply"))

    def test_cut_before_the_command_with_fin(self):
        self.proxy.add(wire.cut(1, at="command", how="fin", match="CREATE"))
        c = self.client()
        with self.assertRaises(imaplib.IMAP4.abort):
            c.create("Never")
        self.assertNotIn("Never", self.dc.folders("p"))

    def test_nth_command_counts_commands_not_literals(self):
        # An APPEND's message lines are not commands: the 2nd APPEND is
        # cut, the first stored.
        self.proxy.add(wire.cut(2, at="command", how="fin",
                                match=r"^\S+ APPEND"))
        c = self.client()
        c.append("INBOX", None, None, ternlib.make_message(1, body=(
            "a1 NOOP\r\n" * 3)))
        with self.assertRaises(imaplib.IMAP4.abort):
            c.append("INBOX", None, None, ternlib.make_message(2))
        self.assertEqual(len(self.dc.messages("p")), 1)

    def test_blackhole_keeps_the_socket_open(self):
        self.proxy.add(wire.blackhole(1, at="answered", match="NOOP"))
        c = self.client()
        c.noop()  # answered, then silence
        c.sock.settimeout(1)
        c.send(b"x1 NOOP\r\n")
        with self.assertRaises(socket.timeout):
            c.sock.recv(100)  # no reply, no FIN (b""), no RST

    def test_rewrite_a_reply(self):
        self.proxy.add(wire.rewrite_reply(
            r'SELECT "?INBOX', lambda tag, line: tag + b" NO refused\r\n"))
        c = self.client()
        self.assertEqual(c.select("INBOX")[0], "NO")
        self.assertEqual(c.list()[0], "OK")
        self.assertEqual(c.select("INBOX")[0], "NO")  # every time


class Namespace(unittest.TestCase):
    def test_courier_layout(self):
        dc = ternlib.Dovecot(users={"n": "pn"}, namespace="INBOX.").start()
        self.addCleanup(dc.cleanup)
        dc.deliver(ternlib.make_message(1), user="n", folder="Old")
        c = dc.imap("n")
        self.assertEqual(c.create("Top")[0], "NO")  # outside the prefix
        self.assertEqual(c.create("INBOX.New")[0], "OK")
        c.logout()
        self.assertEqual(dc.folders("n"), ["INBOX", "INBOX.New", "INBOX.Old"])
        self.assertEqual([m for _, m, _ in dc.messages("n", "INBOX.Old")],
                         ["<msg1.%d@example.org>" % os.getpid()])


if __name__ == "__main__":
    ternlib.main()
