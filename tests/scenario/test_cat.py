"""tern cat: messages put into the store (as a sync would) shown decoded,
with --raw as exact bytes, hostile control characters made visible, the
user's HTML filter, bodies fetched from a real Dovecot on demand, and the
errors for a body that is not downloaded."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

CORPUS = os.path.join(ternlib.SRCDIR, "tests", "data", "mime")
STOREPUT = os.environ.get("TERN_STOREPUT",
                          os.path.join(ternlib.SRCDIR, "build", "tests",
                                       "storeput"))

HOSTILE = (
    b"From: =?utf-8?q?Mallory_=1B[2J?= <m@example.com>\r\n"
    b"To: victim@example.com\r\n"
    b"Subject: =?utf-8?q?=1B]0;owned=07_=E2=80=AEfdp.exe?= \x1b[31mraw\r\n"
    b"Date: Mon, 3 Mar 2025 12:00:00 +0000\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n"
    b"\r\n"
    b"--b\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Before \x1b[2J\x1b]0;title\x07 after \xe2\x80\xae reversed \xc2\x9b C1\r\n"
    b"--b\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b"Content-Disposition: attachment;\r\n"
    b" filename*=utf-8''..%2F..%2Fevil%1B[0m%E2%80%AEtxt.sh\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"cm0gLXJmIH4K\r\n"
    b"--b--\r\n")


def three_attachments(n=1, big=None):
    """A text part and three attachments (parts 2, 3 and 4); big, if
    given, is the bytes of the third."""
    import base64
    files = [("a.txt", b"first file\n"), ("b.txt", b"second file\n"),
             ("c.bin", big if big is not None else b"\x00third\xff")]
    out = [b"From: Bob <bob@example.org>\r\nTo: a@example.com\r\n"
           b"Subject: Three files %d\r\n"
           b"Date: Mon, 3 Mar 2025 12:00:00 +0000\r\n"
           b"Message-ID: <three%d@example.org>\r\n"
           b"MIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=sep\r\n\r\n"
           b"--sep\r\nContent-Type: text/plain\r\n\r\n"
           b"See the three files.\r\n" % (n, n)]
    for name, data in files:
        enc = base64.encodebytes(data).replace(b"\n", b"\r\n")
        out.append(b"--sep\r\nContent-Type: application/octet-stream\r\n"
                   b"Content-Disposition: attachment; filename=%s\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n%s"
                   % (name.encode(), enc))
    out.append(b"--sep--\r\n")
    return b"".join(out), files


def corpus(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


class Cat(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        # Ports nobody listens on: a fetch has to fail.
        port = ternlib.free_ports(1)[0]
        self.t.write_rc(
            "set html_filter = \"tr a-z A-Z\"\n"
            "account home\n protocol pop3\n host 127.0.0.1\n"
            " port %d\n tls off\n user u\n passcmd true\n"
            "account work\n protocol imap\n host 127.0.0.1\n"
            " port %d\n tls off\n user u\n passcmd true\n" % (port, port))
        self.datadir = os.path.join(self.t.data, "tern")

    def tearDown(self):
        self.t.cleanup()

    def put(self, account, protocol, folder, raw, *opts):
        path = os.path.join(self.t.dir, "msg-%d.eml" % len(os.listdir(
            self.t.dir)))
        with open(path, "wb") as f:
            f.write(raw)
        r = subprocess.run([STOREPUT, self.datadir, account, protocol,
                            folder] + list(opts) + [path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.unlink(path)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode().strip()

    def test_plain_and_raw(self):
        raw = corpus("crlf-qp-latin1.eml")
        uid = self.put("home", "pop3", "INBOX", raw)
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertEqual(out,
                         "Date: Mon, 3 Mar 2025 12:00:00 +0100\n"
                         "From: Fran\u00e7ois <f@example.fr>\n"
                         "To: a@example.com\n"
                         "Subject: \u201cSmart\u201d quotes\n"
                         "\n"
                         "Caf\u00e9 cr\u00e8me \u201cbr\u00fbl\u00e9e\u201d"
                         " costs 5\u20ac.\n"
                         "This line is soft broken across two.\n"
                         "A broken escape =ZZ stays, and = is an equals "
                         "sign.\n"
                         "Trailing spaces are padding.\n")
        r = self.t.run("cat", "--raw", "home/INBOX", uid)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, raw)
        # The listing agrees with what the envelope indexed.
        self.assertIn("\tFran\u00e7ois <f@example.fr>\t\u201cSmart\u201d "
                      "quotes\n", self.t.out("ls", "home/INBOX"))

    def test_attachments_and_forward(self):
        uid = self.put("home", "pop3", "INBOX", corpus("nested.eml"))
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertIn("Body text of the outer message.\n", out)
        self.assertIn("[-- Attachment 2: R\u00e9sum\u00e9 of 2024.pdf "
                      "(application/pdf, 180 B) --]\n", out)
        self.assertIn("[-- Forwarded message 3 --]\n", out)
        self.assertIn("From: Carol <carol@example.org>\n", out)
        self.assertIn("[-- Attachment 3.2: notes.txt (text/plain, 10 B) "
                      "--]\n", out)
        out = self.t.out("cat", "--headers", "home/INBOX", uid)
        self.assertIn("MIME-Version: 1.0\n", out)

    def save(self, uid, n, spec="home/INBOX"):
        d = os.path.join(self.t.dir, "save-%s" % n)
        os.makedirs(d, exist_ok=True)
        r = subprocess.run([ternlib.TERN, "cat", "--save", str(n), spec,
                            uid], cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=self.t.env(),
                           timeout=300)
        ternlib.check_sanitizers("tern cat --save", r.stderr)
        return r, d

    def test_attachment_numbers_are_the_ones_shown(self):
        raw, files = three_attachments()
        uid = self.put("home", "pop3", "INBOX", raw)
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertIn("\nSee the three files.\n", out)
        for k, (name, _) in enumerate(files):
            self.assertIn("[-- Attachment %d: %s " % (k + 2, name), out)
        # The number shown is the number to type.
        for k, (name, data) in enumerate(files):
            r, d = self.save(uid, k + 2)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.decode().strip(), "./" + name)
            with open(os.path.join(d, name), "rb") as f:
                self.assertEqual(f.read(), data)
        # Part 1 is the text, part 5 does not exist.
        for n in (1, 5):
            r, d = self.save(uid, n)
            self.assertEqual(r.returncode, 2)  # a refusal: tern(1)
            self.assertIn(b"has no attachment %d; its attachments are "
                          b"2, 3, 4" % n, r.stderr)
            self.assertEqual(os.listdir(d), [])
        r, _ = self.save(uid, "x")
        self.assertEqual(r.returncode, 2)

    def test_save_a_big_attachment(self):
        # 30 MB, whose bytes cover every value; saved exactly.
        big = bytes(range(256)) * (30 * 1024 * 1024 // 256) + b"tail"
        raw, _ = three_attachments(big=big)
        # From a pack file (POP3), and from the database (an import).
        for spec, uid in (("home/INBOX",
                           self.put("home", "pop3", "INBOX", raw, "--pack")),
                          ("local/Big", None)):
            if uid is None:
                mbox = os.path.join(self.t.dir, "big.mbox")
                with open(mbox, "wb") as f:
                    f.write(b"From bob@example.org Mon Mar  3 12:00:00 2025"
                            b"\n" + raw + b"\n")
                self.t.out("import", "local/Big", mbox)
                uid = self.t.out("ls", "local/Big").split("\t")[0]
            out = self.t.out("cat", spec, uid)
            self.assertIn("[-- Attachment 4: c.bin (application/"
                          "octet-stream, 30 MiB) --]", out)
            r, d = self.save(uid, 4, spec)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(d, "c.bin"), "rb") as f:
                self.assertEqual(f.read(), big)
            os.unlink(os.path.join(d, "c.bin"))

    def test_hostile(self):
        uid = self.put("home", "pop3", "INBOX", HOSTILE)
        r = self.t.run("cat", "home/INBOX", uid)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        # Nothing that a terminal would act on.
        for bad in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xe2\x80\xae", b"\r"):
            self.assertNotIn(bad, out)
        text = out.decode()
        self.assertIn("From: Mallory ^[[2J <m@example.com>\n", text)
        self.assertIn("Subject: ^[]0;owned^G <U+202E>fdp.exe ^[[31mraw\n",
                      text)
        self.assertIn("Before ^[[2J^[]0;title^G after <U+202E> reversed "
                      "<U+009B> C1\n", text)
        self.assertIn("[-- Attachment 2: ../../evil^[[0m<U+202E>txt.sh "
                      "(application/octet-stream, 9 B) --]\n", text)
        # The index columns are made visible by ls as well.
        ls = self.t.run("ls", "home/INBOX").stdout
        self.assertNotIn(b"\x1b", ls)
        self.assertNotIn(b"\xe2\x80\xae", ls)
        # --raw is the exact bytes, escapes and all: the user asked.
        self.assertEqual(self.t.run("cat", "--raw", "home/INBOX",
                                    uid).stdout, HOSTILE)

    def test_html_filter_and_builtin(self):
        uid = self.put("home", "pop3", "INBOX", corpus("html-only.eml"))
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertIn("<H1>WELCOME</H1>", out)
        self.t.write_rc("account home\n protocol pop3\n host h\n user u\n"
                        " passcmd true\n")
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertIn("Welcome\n\nFish & chips", out)
        self.assertIn("[1] https://example.com/article\n", out)
        self.assertNotIn("alert", out)

    def test_header_past_the_limit_is_a_note(self):
        # 300 KiB of header fields: those past what tern reads are
        # counted in a note, not shown as the body; --raw keeps them.
        lines = [b"From: Alice <a@example.org>", b"Subject: padded"]
        size, late = 0, 0
        while size < 300 * 1024:
            if size >= 256 * 1024:
                late += 1
            line = b"X-Pad-%d: %s" % (len(lines), b"a" * 290)
            lines.append(line)
            size = sum(len(x) + 2 for x in lines)
        raw = b"\r\n".join(lines) + b"\r\nX-Last: 1\r\n\r\nThe text.\r\n"
        late += 1
        uid = self.put("home", "pop3", "INBOX", raw)
        out = self.t.out("cat", "home/INBOX", uid)
        self.assertIn("From: Alice <a@example.org>\n", out)
        self.assertIn("[-- %d more header lines not shown" % late, out)
        self.assertTrue(out.endswith("\n\nThe text.\n"), out[-300:])
        self.assertNotIn("X-Pad", out)
        self.assertNotIn("X-Last", out)
        out = self.t.out("cat", "--headers", "home/INBOX", uid)
        self.assertIn("X-Pad-2: a", out)
        self.assertIn("[-- %d more header lines not shown" % late, out)
        self.assertNotIn("X-Last", out)
        self.assertTrue(out.endswith("\n\nThe text.\n"), out[-300:])
        r = self.t.run("cat", "--raw", "home/INBOX", uid, check=True)
        self.assertEqual(r.stdout, raw)

    def test_local_folder(self):
        uid = self.put("local", "local", "Archive", corpus("simple.eml"))
        out = self.t.out("cat", "local/Archive", uid)
        self.assertIn("Subject: Lunch?\n\nShall we meet at noon?\n", out)

    def test_not_downloaded(self):
        # POP3 has no way to fetch one message later: say what to do.
        uid = self.put("home", "pop3", "INBOX", corpus("simple.eml"),
                       "--no-body")
        r = self.t.run("cat", "home/INBOX", uid)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(),
                         "tern: message %s of home/INBOX is not downloaded;"
                         " run tern sync home when online\n" % uid)
        self.assertEqual(r.stdout, b"")
        # IMAP would fetch it, but the server is not there: exit 1.
        uid = self.put("work", "imap", "INBOX", corpus("simple.eml"),
                       "--no-body", "--uid", "7")
        self.assertEqual(uid, "7")
        r = self.t.run("cat", "work/INBOX", "7")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"message 7 of work/INBOX is not downloaded",
                      r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_errors(self):
        self.assertEqual(self.t.run("cat").returncode, 2)
        self.assertEqual(self.t.run("cat", "home/INBOX").returncode, 2)
        r = self.t.run("cat", "home/INBOX", "abc")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"'abc' is not a UID", r.stderr)
        self.assertEqual(self.t.run("cat", "--bogus", "home/INBOX",
                                    "1").returncode, 2)
        self.assertEqual(self.t.run("cat", "nobody/INBOX", "1").returncode,
                         2)
        self.assertEqual(self.t.run("cat", "home", "1").returncode, 2)
        r = self.t.run("cat", "home/INBOX", "99")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no message 99 in home/INBOX", r.stderr)
        r = self.t.run("cat", "home/Nope", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no folder 'Nope'", r.stderr)
        uid = self.put("home", "pop3", "INBOX", corpus("simple.eml"))
        r = self.t.run("cat", "--save", "3", "home/INBOX", uid)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"attachment", r.stderr)


class CatImap(unittest.TestCase):
    """A header-only IMAP index entry: cat fetches the body, then it is
    readable offline."""

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users={"alice": "secret1"})
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        self.t = ternlib.Tern()

    def tearDown(self):
        self.t.cleanup()

    def test_fetch_on_demand(self):
        raw = corpus("nested.eml")
        self.dovecot.deliver(raw)
        self.t.write_rc(self.t.account(self.dovecot, name="work"))
        self.t.out("sync", "work")
        lines = self.t.out("ls", "work/INBOX").splitlines()
        self.assertEqual(len(lines), 1)
        uid = lines[0].split("\t")[0]
        out = self.t.out("cat", "work/INBOX", uid)
        self.assertIn("Body text of the outer message.\n", out)
        self.assertIn("[-- Attachment 3.2: notes.txt", out)
        got = self.t.run("cat", "--raw", "work/INBOX", uid).stdout
        self.assertEqual(got.replace(b"\r\n", b"\n"), raw)
        # Offline now: the body is in the store.
        self.t.write_rc(self.t.account(self.dovecot, name="work", port=1))
        out2 = self.t.out("cat", "work/INBOX", uid)
        self.assertEqual(out2, out)


if __name__ == "__main__":
    sys.exit(ternlib.main())
