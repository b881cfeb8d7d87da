"""tern search with patterns against a real Dovecot.

A generated corpus in quoted-printable, base64, Latin-1, KOI8-R,
ISO-2022-JP and HTML alone, with attachments: what the store finds for a
word is what Python's email package says a reader sees (folded for case
and diacritics), never what only an attachment's bytes hold. The same
mailbox read by a POP3 account (every body in the store) and an IMAP
account (no body in the store: the server answers) gives the same
answers to the same patterns. Malformed patterns exit 2 and name the
column; an account's folders and every account are searched from the
store, each line after its folder. A store from before the index is
indexed at the first search, and a kill mid-way loses nothing done."""

import base64
import email
import email.policy
import os
import quopri
import random
import re
import sqlite3
import sys
import unicodedata
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

USERS = {"p%d" % i: "pw%d" % i for i in range(4)}

# Words and the charsets that can carry them.
WORDS = {
    "latin": ["bientôt", "Hélène", "café", "Über", "élève", "naïve"],
    "cyrillic": ["Встреча", "завтра", "письмо"],
    "japanese": ["テスト", "会議"],
    "ascii": ["zanzibar", "project", "meeting", "quarterly"],
}
SECRET = "geheimnisvoll"


def fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return s.casefold()


def tokens(s):
    return set(re.findall(r"\w+", fold(s)))


def b2047(text, charset):
    return "=?%s?B?%s?=" % (charset,
                            base64.b64encode(text.encode(charset)).decode())


def build(n, rnd):
    """Message n: its bytes; its subject is "#n ..." to tell them apart."""
    kind = ["qp-latin1", "b64-utf8", "koi8r", "iso2022jp", "html",
            "plain"][n % 6]
    if kind == "qp-latin1":
        pool, charset = WORDS["latin"] + WORDS["ascii"], "iso-8859-1"
    elif kind == "koi8r":
        pool, charset = WORDS["cyrillic"] + WORDS["ascii"], "koi8-r"
    elif kind == "iso2022jp":
        pool, charset = WORDS["japanese"] + WORDS["ascii"], "iso-2022-jp"
    else:
        pool = WORDS["latin"] + WORDS["cyrillic"] + WORDS["ascii"]
        charset = "utf-8"
    words = rnd.sample(pool, 3)
    subj_word = rnd.choice(pool)
    subject = "#%d %s" % (n, subj_word)
    body = "Hello, %s and %s.\nSee you %s.\n" % tuple(words)
    sender = rnd.choice(["Hélène Dupont <helene@example.fr>",
                         "Bob <bob@example.org>",
                         "Иван <ivan@example.ru>"])
    name, addr = sender.split(" <")
    from_hdr = "%s <%s" % (b2047(name, "utf-8"), addr)
    date = email.utils.formatdate(1704110400 + n * 86400 * 3)
    head = ("From: %s\nTo: alice@example.net\nSubject: %s\nDate: %s\n"
            "Message-ID: <pat%d@example.org>\nMIME-Version: 1.0\n"
            % (from_hdr, b2047(subject, "utf-8"), date, n))
    if kind == "qp-latin1":
        part = ("Content-Type: text/plain; charset=iso-8859-1\n"
                "Content-Transfer-Encoding: quoted-printable\n\n"
                + quopri.encodestring(body.encode(charset)).decode())
    elif kind == "b64-utf8":
        part = ("Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(body.encode()).decode())
    elif kind == "koi8r":
        part = ("Content-Type: text/plain; charset=koi8-r\n"
                "Content-Transfer-Encoding: 8bit\n\n"
                + body.encode(charset).decode("latin-1"))
    elif kind == "iso2022jp":
        part = ("Content-Type: text/plain; charset=iso-2022-jp\n"
                "Content-Transfer-Encoding: 7bit\n\n"
                + body.encode(charset).decode("ascii"))
    elif kind == "html":
        part = ("Content-Type: text/html; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n\n"
                + base64.encodebytes(
                    ("<html><body><p>" + body.replace("\n", "<br>")
                     + "</p></body></html>").encode()).decode())
    else:
        part = ("Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\n" + body)
    if n % 4 == 0:
        # An attachment: its name is seen, its bytes are not.
        att = base64.encodebytes(("%s %s\n" % (SECRET, "zanzibar"))
                                 .encode()).decode()
        text = (head + "Content-Type: multipart/mixed; boundary=\"BB\"\n\n"
                "--BB\n" + part + "\n--BB\n"
                "Content-Type: application/octet-stream\n"
                "Content-Disposition: attachment; filename=\"plan-%d.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n%s--BB--\n"
                % (n, att))
    else:
        text = head + part
    if n % 5 == 0:
        text = text.replace("MIME-Version", "X-Colour: blue\nMIME-Version", 1)
    raw = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return raw.encode("latin-1") if kind == "koi8r" else raw.encode()


def seen_text(raw):
    """What a reader sees, by Python's email package: sender, subject and
    the text parts (HTML without its tags), attachments by name."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = [str(msg["from"]), str(msg["subject"])]
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            out.append(part.get_filename() or "")
        elif part.get_content_type() == "text/html":
            out.append(re.sub(r"<[^>]*>", " ", part.get_content()))
        elif part.get_content_maintype() == "text":
            out.append(part.get_content())
    return "\n".join(out)


class PatternTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS)
        cls.dovecot.start()
        cls.t = ternlib.Tern()
        cls.t.write_rc(
            cls.t.account(cls.dovecot, name="pop", protocol="pop3",
                          user="p0", extra="    keep yes\n")
            + cls.t.account(cls.dovecot, name="imap", user="p0")
            + cls.t.account(cls.dovecot, name="other", protocol="pop3",
                            user="p1"))
        rnd = random.Random(7)
        cls.corpus = {}
        for n in range(1, 61):
            raw = build(n, rnd)
            cls.corpus[n] = raw
            cls.dovecot.deliver(raw, user="p0")
        cls.dovecot.deliver(ternlib.make_message(
            1, subject="elsewhere zanzibar"), user="p1")
        cls.t.out("sync")

    @classmethod
    def tearDownClass(cls):
        cls.t.cleanup()
        cls.dovecot.cleanup()

    def search(self, *args, status=0):
        r = self.t.run("search", *args)
        self.assertEqual(r.returncode, status, r.stderr.decode())
        return r

    def subjects(self, scope, pattern):
        r = self.search(scope, pattern)
        nums = set()
        for line in r.stdout.decode().splitlines():
            m = re.match(r"#(\d+) ", line.split("\t")[4])
            self.assertTrue(m, line)
            nums.add(int(m.group(1)))
        return nums

    def test_words_as_a_reader_sees_them(self):
        seen = {n: tokens(seen_text(raw)) for n, raw in self.corpus.items()}
        words = [w for pool in WORDS.values() for w in pool]
        for w in words + [SECRET]:
            want = {n for n, toks in seen.items() if tokens(w) <= toks}
            for query in {w, w.upper(), fold(w)}:
                got = self.subjects("pop/INBOX", query)
                self.assertEqual(got, want, "%s (%s)" % (query, w))
        self.assertEqual(self.subjects("pop/INBOX", SECRET), set())
        # Some words must be there at all for the test to mean anything.
        self.assertTrue(self.subjects("pop/INBOX", "bientot"))
        self.assertTrue(self.subjects("pop/INBOX", "встреча"))
        self.assertTrue(self.subjects("pop/INBOX", "テスト"))

    def test_server_answers_as_the_store(self):
        # POP3 kept every body in the store; the IMAP account has none,
        # so its server answers what its envelopes cannot.
        patterns = [
            "~b zanzibar", "~s project", "~f bob", "~f bob | ~s meeting",
            "~b project !~f bob", "!~b zanzibar", "~b meeting ~b project",
            "~d 2024-02-01-2024-03-31", "~d -2024-01-31", "~z >1K",
            "~z <1K ~b quarterly", "~h \"X-Colour: blue\"",
            "~B quarterly", "~t alice ~s zanzibar",
            "(~s project | ~s meeting) ~b zanzibar", "~x nothing",
        ]
        for p in patterns:
            store = self.subjects("pop/INBOX", p)
            server = self.subjects("imap/INBOX", p)
            self.assertEqual(server, store, p)
        self.assertTrue(self.subjects("pop/INBOX", "~b zanzibar"))
        # An attachment's name is text the store shows and the server's
        # BODY does not search (it is in the part's header).
        self.assertEqual(self.subjects("pop/INBOX", "~b plan"),
                         {n for n in self.corpus if n % 4 == 0})

    def test_phrases_and_prefixes(self):
        seen = {n: fold(seen_text(raw)) for n, raw in self.corpus.items()}
        want = {n for n, t in seen.items() if "see you" in t}
        self.assertEqual(self.subjects("pop/INBOX", '"see you"'), want)
        self.assertEqual(self.subjects("pop/INBOX", '"you see"'), set())
        want = {n for n, t in seen.items()
                if re.search(r"\bquart\w*", t)}
        self.assertEqual(self.subjects("pop/INBOX", "quart*"), want)
        self.assertTrue(want)

    def test_malformed_patterns(self):
        for pattern, col in [("~F ~q", 4), ("(~f bob", 1), ("~s", 1),
                             ("~f bob |", 8), ("~d 2024-13-01", 4),
                             ("~s \"open", 4), ("Über )", 6)]:
            r = self.search("pop/INBOX", pattern, status=2)
            err = r.stderr.decode()
            self.assertIn("column %d:" % col, err, pattern)
            self.assertEqual(len(err.splitlines()), 1, err)
            self.assertEqual(r.stdout, b"")
        # Without a scope too.
        r = self.search("~F ~q", status=2)
        self.assertIn("column 4:", r.stderr.decode())

    def test_scopes(self):
        # One folder: tern ls lines. An account, or every account: the
        # folder in front.
        r = self.search("pop/INBOX", "zanzibar")
        lines = r.stdout.decode().splitlines()
        self.assertTrue(lines)
        self.assertTrue(all(len(line.split("\t")) == 5 for line in lines))
        r = self.search("pop", "zanzibar")
        acct = r.stdout.decode().splitlines()
        self.assertEqual(len(acct), len(lines))
        self.assertTrue(all(line.startswith("pop/INBOX\t")
                            for line in acct))
        self.assertEqual([line.split("\t", 1)[1] for line in acct], lines)
        r = self.search("zanzibar")
        every = r.stdout.decode().splitlines()
        self.assertIn("other/INBOX", {line.split("\t")[0] for line in every})
        self.assertEqual(sum(line.startswith("pop/INBOX\t")
                             for line in every), len(lines))
        # Several words are one pattern: each must match.
        both = self.subjects("pop/INBOX", "zanzibar project")
        r = self.search("pop/INBOX", "zanzibar", "project")
        self.assertEqual(len(r.stdout.decode().splitlines()), len(both))
        self.assertEqual(
            both, self.subjects("pop/INBOX", "zanzibar")
            & self.subjects("pop/INBOX", "project"))
        self.search("nosuch/INBOX", "x", status=2)


class MigrationTest(unittest.TestCase):
    """A store from before the index: indexed at the first search, and a
    kill -9 mid-way loses nothing done; the next search goes on."""

    def test_old_store_killed_and_resumed(self):
        dovecot = ternlib.Dovecot(users={"m0": "pw0"})
        dovecot.start()
        t = ternlib.Tern()
        try:
            t.write_rc(t.account(dovecot, name="pop", protocol="pop3",
                                 user="m0"))
            for n in range(1, 701):
                body = "común %d\n" % n + ("rare\n" if n % 100 == 0 else "")
                dovecot.deliver(ternlib.make_message(
                    n, subject="old %d" % n, body=body), user="m0")
            t.out("sync")
            path = os.path.join(t.data, "tern", "tern.db")
            db = sqlite3.connect(path)
            db.executescript(
                "DROP TRIGGER fts_stale; DROP TRIGGER fts_top_gone;"
                "DROP TRIGGER fts_moved;"
                "DROP TRIGGER fts_refiled;"
                "DROP TABLE fts; DROP TABLE fts_doc; DROP TABLE fts_state;"
                "PRAGMA user_version = 10;")
            db.close()
            # Killed in the third batch of the fill.
            r = t.run("search", "pop/INBOX", "rare",
                      env={"TERN_FAULT": "fts-fill:3"})
            self.assertEqual(r.returncode, -9, r.stderr)
            db = sqlite3.connect(path)
            done = db.execute("SELECT count(*) FROM fts_doc").fetchone()[0]
            filled = db.execute("SELECT value FROM fts_state"
                                " WHERE name = 'filled'").fetchone()[0]
            db.close()
            self.assertEqual(done, 512)
            self.assertGreater(filled, 0)
            r = t.run("search", "pop/INBOX", "rare")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(
                [line.split("\t")[4] for line in
                 r.stdout.decode().splitlines()],
                ["old %d" % n for n in range(100, 701, 100)])
            self.assertEqual(len(t.out("search", "pop/INBOX", "comun")
                                 .splitlines()), 700)
            # A sync migrates an old store and leaves the filling to the
            # first search (or to the client, in the background).
            db = sqlite3.connect(path)
            db.executescript(
                "DROP TRIGGER fts_stale; DROP TRIGGER fts_top_gone;"
                "DROP TRIGGER fts_moved;"
                "DROP TRIGGER fts_refiled;"
                "DROP TABLE fts; DROP TABLE fts_doc; DROP TABLE fts_state;"
                "PRAGMA user_version = 10;")
            db.close()
            t.out("sync")
            db = sqlite3.connect(path)
            self.assertEqual(
                db.execute("SELECT count(*) FROM fts_doc").fetchone()[0], 0)
            db.close()
            self.assertEqual(len(t.out("search", "pop/INBOX", "rare")
                                 .splitlines()), 7)
            db = sqlite3.connect(path)
            self.assertEqual(
                db.execute("SELECT count(*) FROM fts_doc").fetchone()[0], 700)
            self.assertEqual(db.execute("SELECT value FROM fts_state"
                                        " WHERE name = 'filled'")
                             .fetchone()[0],
                             db.execute("SELECT max(id) FROM message")
                             .fetchone()[0])
            db.close()
        finally:
            t.cleanup()
            dovecot.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
