"""Bodies on demand against a real Dovecot: showing a big IMAP message
downloads its header, structure and text parts only; an attachment is
downloaded alone when it is saved, byte-exact; what was opened stays
readable offline; nested multiparts, forwarded messages, single-part
messages, and X-Tern-Part fields a message carries itself."""

import base64
import os
import re
import random
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import fakeserver  # noqa: E402
import ternlib  # noqa: E402
import test_ui  # noqa: E402


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def msg(subject, ctype, body, extra=""):
    text = ("From: Bob <bob@example.org>\r\nTo: alice@example.net\r\n"
            "Subject: %s\r\nDate: Mon, 3 Mar 2025 12:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n%sMIME-Version: 1.0\r\n"
            "Content-Type: %s\r\n\r\n%s"
            % (subject, subject.replace(" ", "."), extra, ctype, body))
    return text.encode()


RND = random.Random(4)
BIG = RND.randbytes(5 * 1024 * 1024)
ZIP = RND.randbytes(100 * 1024)
PDF = RND.randbytes(90 * 1024)

BIGMSG = msg("Big one", "multipart/mixed; boundary=\"xx\"",
             "--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             "Hello big world.\r\n"
             "--xx\r\nContent-Type: application/octet-stream\r\n"
             "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--xx--\r\n"
             % b64(BIG))

INNER = ("From: Carol <carol@example.org>\r\nSubject: Inner\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n"
         "--in\r\nContent-Type: text/plain\r\n\r\nInner text here.\r\n"
         "--in\r\nContent-Type: application/pdf; name=\"inner.pdf\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--in--\r\n"
         % b64(PDF))

NESTED = msg("Nested one", "multipart/mixed; boundary=\"out\"",
             "--out\r\n"
             "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
             "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             "Plain alternative caf=C3=A9.\r\n"
             "--alt\r\nContent-Type: text/html\r\n\r\n"
             "<p>HTML alternative</p>\r\n--alt--\r\n"
             "--out\r\nContent-Type: message/rfc822\r\n\r\n%s\r\n"
             "--out\r\nContent-Type: application/zip\r\n"
             "Content-Disposition: attachment; filename=\"outer.zip\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--out--\r\n"
             % (INNER, b64(ZIP)))

LINES = "".join("Line %d of a long plain text.\r\n" % i
                for i in range(1, 4001))
SINGLE_TEXT = msg("Single text", "text/plain; charset=utf-8", LINES)

SINGLE_PDF = msg("Single pdf", "application/pdf; name=\"doc.pdf\"",
                 b64(PDF) + "\r\n",
                 extra="Content-Transfer-Encoding: base64\r\n")

INJECT = msg("Injected", "multipart/mixed; boundary=\"ij\"",
             "--ij\r\nContent-Type: text/plain\r\n"
             "X-Tern-Part: 1; size=5\r\n\r\n"
             "Text that must show.\r\nX-Tern-Part: 2; size=1\r\n"
             "--ij\r\nContent-Type: application/zip\r\n"
             "x-tern-part : 7; size=9\r\n"
             "Content-Disposition: attachment; filename=\"z.zip\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--ij--\r\n"
             % b64(ZIP), extra="X-Tern-Part: 1; size=3\r\n")


class Bodies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot()
        cls.dovecot.start()
        for m in (BIGMSG, NESTED, SINGLE_TEXT, SINGLE_PDF, INJECT):
            cls.dovecot.deliver(m)

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        # Each test opens messages afresh: none is seen yet.
        c = self.dovecot.imap("alice")
        c.select("INBOX")
        c.store("1:*", "-FLAGS", "(\\Seen)")
        c.logout()
        self.t = ternlib.Tern()
        self.rc = self.t.account(self.dovecot, name="work")
        self.t.write_rc(self.rc)
        self.t.out("sync", "work")
        self.db = os.path.join(self.t.data, "tern", "tern.db")
        self.uids = {}
        for line in self.t.out("ls", "work/INBOX").splitlines():
            f = line.split("\t")
            self.uids[f[4]] = f[0]

    def tearDown(self):
        self.t.cleanup()

    def offline(self):
        self.t.write_rc(self.rc.replace(
            "port %d" % self.dovecot.imaps_port, "port 1"))

    def store_bytes(self):
        return sum(os.path.getsize(self.db + x) for x in ("", "-wal")
                   if os.path.exists(self.db + x))

    def parts(self, subject):
        with sqlite3.connect(self.db) as c:
            rows = c.execute(
                "SELECT p.section, length(p.data) FROM part p JOIN message m"
                " ON m.id = p.message_id WHERE m.uid = ?",
                (int(self.uids[subject]),)).fetchall()
            body = c.execute(
                "SELECT has_body FROM message WHERE uid = ?",
                (int(self.uids[subject]),)).fetchone()[0]
        return dict(rows), body

    def server_flags(self, subject):
        c = self.dovecot.imap("alice")
        try:
            c.select("INBOX", readonly=True)
            typ, data = c.uid("FETCH", self.uids[subject], "(FLAGS)")
            return data[0].decode()
        finally:
            c.logout()

    def save(self, subject, n, expect_ok=True):
        d = tempfile.mkdtemp(dir=self.t.dir)
        r = subprocess.run([ternlib.TERN, "cat", "--save", str(n),
                            "work/INBOX", self.uids[subject]], cwd=d,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.t.env(), timeout=120)
        ternlib.check_sanitizers("tern cat --save", r.stderr)
        if not expect_ok:
            return r
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(d, r.stdout.decode().strip())
        with open(path, "rb") as f:
            return f.read(), os.path.basename(path)

    def test_big_attachment_on_demand_then_offline(self):
        before = self.store_bytes()
        self.assertNotIn("\\Seen", self.server_flags("Big one"))
        out = self.t.out("cat", "work/INBOX", self.uids["Big one"])
        self.assertIn("Subject: Big one\n", out)
        self.assertIn("\nHello big world.\n", out)
        self.assertIn("[-- Attachment 2: big.bin (application/octet-stream,"
                      " 5.0 MiB, not downloaded) --]", out)
        # Far less than the 5 MB attachment came in; no part row for it.
        self.assertLess(self.store_bytes() - before, 512 * 1024)
        parts, has_body = self.parts("Big one")
        self.assertEqual(set(parts), {"VIEW"})
        self.assertEqual(has_body, 0)
        # Opening it marked it seen on the server and in the store.
        self.assertIn("\\Seen", self.server_flags("Big one"))
        self.assertIn("\tS\t", "\t" + [
            x for x in self.t.out("ls", "work/INBOX").splitlines()
            if x.endswith("Big one")][0])
        # Saved alone, byte-exact.
        data, name = self.save("Big one", 2)
        self.assertEqual(name, "big.bin")
        self.assertEqual(data, BIG)
        parts, has_body = self.parts("Big one")
        self.assertEqual(set(parts), {"VIEW", "2"})
        self.assertEqual(has_body, 0)
        # Offline: the text and the saved attachment are still there.
        self.offline()
        out2 = self.t.out("cat", "work/INBOX", self.uids["Big one"])
        self.assertEqual(out2, out.replace("5.0 MiB, not downloaded", "5 MiB"))
        data, _ = self.save("Big one", 2)
        self.assertEqual(data, BIG)
        # The store's search finds the text of the view, offline too.
        r = self.t.run("search", "work/INBOX", "big world")
        self.assertEqual([x.split("\t")[0] for x in
                          r.stdout.decode().splitlines()],
                         [self.uids["Big one"]], r.stderr)
        # --raw needs the exact bytes, which were never downloaded.
        r = self.t.run("cat", "--raw", "work/INBOX", self.uids["Big one"])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot be fetched now", r.stderr)

    def test_raw_is_still_the_whole_message(self):
        self.t.out("cat", "work/INBOX", self.uids["Big one"])
        r = self.t.run("cat", "--raw", "work/INBOX", self.uids["Big one"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, BIGMSG)
        parts, has_body = self.parts("Big one")
        self.assertEqual(has_body, 1)

    def test_nested(self):
        out = self.t.out("cat", "work/INBOX", self.uids["Nested one"])
        self.assertIn("Plain alternative caf\u00e9.\n", out)
        self.assertNotIn("HTML alternative", out)
        self.assertIn("[-- Forwarded message 2 --]\n", out)
        self.assertIn("From: Carol <carol@example.org>\n", out)
        self.assertIn("Subject: Inner\n", out)
        self.assertIn("Inner text here.\n", out)
        self.assertIn("[-- Attachment 2.2: inner.pdf (application/pdf, "
                      "90 KiB, not downloaded) --]", out)
        self.assertIn("[-- Attachment 3: outer.zip (application/zip, "
                      "100 KiB, not downloaded) --]", out)
        parts, _ = self.parts("Nested one")
        self.assertEqual(set(parts), {"VIEW"})
        self.assertLess(parts["VIEW"], 4096)
        data, name = self.save("Nested one", "2.2")
        self.assertEqual((data, name), (PDF, "inner.pdf"))
        data, name = self.save("Nested one", 3)
        self.assertEqual((data, name), (ZIP, "outer.zip"))
        self.assertEqual(set(self.parts("Nested one")[0]),
                         {"VIEW", "2.2", "3"})

    def test_single_part_messages(self):
        out = self.t.out("cat", "work/INBOX", self.uids["Single text"])
        self.assertIn("\nLine 1 of a long plain text.\n", out)
        self.assertIn("\nLine 4000 of a long plain text.\n", out)
        out = self.t.out("cat", "work/INBOX", self.uids["Single pdf"])
        self.assertIn("[-- Attachment 1: doc.pdf (application/pdf, 90 KiB, "
                      "not downloaded) --]", out)
        self.assertEqual(set(self.parts("Single pdf")[0]), {"VIEW"})
        data, name = self.save("Single pdf", 1)
        self.assertEqual((data, name), (PDF, "doc.pdf"))

    def test_injected_field_is_not_believed(self):
        out = self.t.out("cat", "work/INBOX", self.uids["Injected"])
        self.assertIn("\nText that must show.\nX-Tern-Part: 2; size=1\n",
                      out)
        self.assertIn("[-- Attachment 2: z.zip (application/zip, 100 KiB, "
                      "not downloaded) --]", out)
        self.assertEqual(out.count("not downloaded"), 1)
        data, _ = self.save("Injected", 2)
        self.assertEqual(data, ZIP)
        self.assertEqual(set(self.parts("Injected")[0]), {"VIEW", "2"})
        # What the server holds is still the message as sent.
        r = self.t.run("cat", "--raw", "work/INBOX", self.uids["Injected"])
        self.assertEqual(r.stdout, INJECT)

    def test_pager_saves_an_attachment_not_downloaded(self):
        s = test_ui.Screen(self.t)
        try:
            s.wait("work/INBOX", timeout=20)
            s.wait("Injected")
            s.keys("/")
            s.wait("Search")
            s.literal("Injected")
            s.keys("Enter")
            s.wait_cursor("Injected")
            s.keys("Enter")
            s.wait("Text that must show.", timeout=20)
            s.wait("z.zip (application/zip, 100 KiB, not downloaded)")
            self.assertEqual(set(self.parts("Injected")[0]), {"VIEW"})
            out = os.path.join(self.t.dir, "saved")
            os.makedirs(out)
            s.keys("S")
            s.wait("Save into directory:")
            s.keys("C-u")
            s.literal(out)
            s.keys("Enter")
            s.wait("Saved to", timeout=20)
            # The pager shows it downloaded now.
            s.wait("z.zip (application/zip, 100 KiB) --]")
            with open(os.path.join(out, "z.zip"), "rb") as f:
                self.assertEqual(f.read(), ZIP)
            self.assertEqual(set(self.parts("Injected")[0]), {"VIEW", "2"})
            s.keys("q")
            s.keys("q")
            s.wait("EXIT=0")
        finally:
            s.kill()

    def test_bad_attachment_number(self):
        r = self.save("Big one", 5, expect_ok=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"has no attachment 5; its attachment is 2",
                      r.stderr)
        # The text is part 1: no attachment of that number.
        r = self.save("Big one", 1, expect_ok=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"has no attachment 1", r.stderr)


def literal(data):
    return b"{%d}\r\n" % len(data) + data


def deep_message(depth):
    """depth multiparts nested, the text innermost, and an attachment
    big enough that the message is shown by its structure."""
    body = ("Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Deep down here.\r\n")
    for i in range(depth):
        body = ("Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                "--b%d\r\n%s\r\n--b%d--\r\n" % (i, i, body, i))
    head, rest = body.split("\r\n\r\n", 1)
    ctype = head[len("Content-Type: "):]
    outer = ("--top\r\nContent-Type: %s\r\n\r\n%s\r\n"
             "--top\r\nContent-Type: application/zip\r\n"
             "Content-Disposition: attachment; filename=\"pad.zip\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--top--\r\n"
             % (ctype, rest, b64(ZIP)))
    return msg("Deep one", "multipart/mixed; boundary=\"top\"", outer)


class DeepStructure(unittest.TestCase):
    """A BODYSTRUCTURE nested deeper than the response parser reads
    (Dovecot sends it whole): the message is fetched whole and parsed
    here, as it reads over POP3."""

    def test_deeply_nested_message_opens(self):
        with ternlib.Dovecot() as dovecot:
            dovecot.deliver(deep_message(70))
            t = ternlib.Tern()
            try:
                t.write_rc(t.account(dovecot, name="work"))
                t.out("sync", "work")
                uid = t.out("ls", "work/INBOX").split("\t")[0]
                r = t.run("cat", "work/INBOX", uid)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(b"Subject: Deep one", r.stdout)
                self.assertIn(b"pad.zip", r.stdout)
                # The whole message is stored: it reads offline too,
                # byte for byte.
                t.write_rc(t.account(dovecot, name="work").replace(
                    "port %d" % dovecot.imaps_port, "port 1"))
                r = t.run("cat", "--raw", "work/INBOX", uid)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, deep_message(70))
            finally:
                t.cleanup()


class BadStructure(unittest.TestCase):
    """A BODYSTRUCTURE no server should send: the message is fetched whole
    instead, and shown."""

    def test_falls_back_to_the_whole_message(self):
        raw = BIGMSG
        header = raw[:raw.index(b"\r\n\r\n") + 4]

        def reply(line):
            if b"HEADER.FIELDS" in line:
                return (b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE %d "
                        b"BODY[HEADER.FIELDS (SUBJECT)] " % len(raw) +
                        literal(header) + b")\r\n")
            if b"BODYSTRUCTURE" in line:
                return (b'* 1 FETCH (UID 1 BODYSTRUCTURE (("text" "plain" '
                        b'NIL NIL NIL "7bit" 99999999999999999999 1) '
                        b'"mixed") BODY[HEADER] ' + literal(header) +
                        b")\r\n")
            if b"BODY.PEEK[]" in line:
                return b"* 1 FETCH (UID 1 BODY[] " + literal(raw) + b")\r\n"
            return b""

        server = fakeserver.FakeImap(reply)
        t = ternlib.Tern()
        try:
            t.write_rc(server.rc())
            t.out("sync", "fake", timeout=60)
            out = t.out("cat", "fake/INBOX", "1", timeout=60)
            self.assertIn("\nHello big world.\n", out)
            self.assertIn("[-- Attachment 2: big.bin (application/"
                          "octet-stream, 5 MiB) --]", out)
            fetches = [c for c in server.commands if "UID FETCH" in c]
            self.assertIn("BODYSTRUCTURE", fetches[-2])
            self.assertIn("BODY.PEEK[]", fetches[-1])
            r = t.run("cat", "--raw", "fake/INBOX", "1")
            self.assertEqual(r.stdout, raw)
        finally:
            server.close()
            t.cleanup()


class KeptConnection(unittest.TestCase):
    """Bodies downloaded one after another (an export) share one
    connection; one the server closed in between is not used again."""

    @staticmethod
    def raw(uid):
        return (b"From: a@example.org\r\nSubject: Number %d\r\n\r\n"
                b"Body %d.\r\n" % (uid, uid))

    def reply(self, line):
        uids = [int(x) for x in re.findall(rb"UID FETCH (\d+)(?::(\d+))?",
                                           line)[0] if x]
        if b"HEADER.FIELDS" in line:
            return b"".join(
                b"* %d FETCH (UID %d FLAGS () RFC822.SIZE %d "
                b"BODY[HEADER.FIELDS (SUBJECT)] " % (u, u, len(self.raw(u))) +
                literal(b"Subject: Number %d\r\n\r\n" % u) + b")\r\n"
                for u in range(uids[0], uids[-1] + 1))
        if b"BODY.PEEK[]" in line:
            return (b"* %d FETCH (UID %d BODY[] " % (uids[0], uids[0]) +
                    literal(self.raw(uids[0])) + b")\r\n")
        return b""

    def export(self, bye=False, drop=False):
        server = fakeserver.FakeImap(self.reply, exists=3, bye_after_body=bye,
                                   drop_after_body=drop)
        t = ternlib.Tern()
        try:
            t.write_rc(server.rc())
            t.out("sync", "fake", timeout=60)
            synced = server.logins
            p = os.path.join(t.dir, "out.mbox")
            self.assertIn("3 messages exported",
                          t.out("export", "fake/INBOX", "--mbox", p,
                                timeout=60))
            with open(p, "rb") as f:
                mbox = f.read()
            for u in (1, 2, 3):
                self.assertIn(b"Subject: Number %d\r\n\r\nBody %d.\r\n"
                              % (u, u), mbox)
            return server.logins - synced
        finally:
            server.close()
            t.cleanup()

    def test_one_login_for_an_export(self):
        self.assertEqual(self.export(bye=False), 1)

    def test_a_connection_the_server_closed_is_not_reused(self):
        self.assertEqual(self.export(bye=True), 3)

    def test_a_kept_connection_gone_unseen_is_replaced(self):
        # Each download after the first finds its kept connection dead
        # only when it asks, and goes on over a new one.
        self.assertEqual(self.export(drop=True), 3)


if __name__ == "__main__":
    sys.exit(ternlib.main())
