"""The IMAP engine and POP3 against misbehaving servers and crashes: odd
untagged responses in the middle of the header index, a connection cut in
a literal, impossible literal sizes, kill -9 during an index of a thousand
and more messages and during the replay of queued changes, invalid UIDLs."""

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from fakeserver import FakePOP3, ScriptedImap, uidset  # noqa: E402


def error_lines(err):
    """The lines of stderr that are not notes: the engine's retries after a
    dropped connection are notes ("reconnected after: ..."), the failure
    that ended the sync is the error."""
    return [line for line in err.strip().splitlines()
            if ": reconnected after: " not in line]


class HostileIndex(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.srv = ScriptedImap([1, 2, 3])
        self.t.write_rc(self.srv.rc())

    def tearDown(self):
        self.srv.close()
        self.t.cleanup()

    def sync(self):
        r = self.t.run("sync", "fake", timeout=60)
        return r.returncode, r.stderr.decode()

    def uids(self):
        out = self.t.out("ls", "fake/INBOX")
        uids = [int(line.split("\t")[0]) for line in out.splitlines()]
        self.assertEqual(len(uids), len(set(uids)), out)
        return sorted(uids)

    def assertProtocolError(self, status, err):
        self.assertEqual(status, 1, err)
        self.assertIn("protocol error", err)
        self.assertEqual(len(error_lines(err)), 1, err)

    def test_fetch_beyond_exists(self):
        self.assertEqual(self.sync(), (0, ""))
        self.srv.uids += [4, 5]
        self.srv.mode = "beyond"
        self.assertProtocolError(*self.sync())
        self.assertNotIn(9999, self.uids())
        self.srv.mode = "good"
        self.assertEqual(self.sync()[0], 0)
        self.assertEqual(self.uids(), [1, 2, 3, 4, 5])

    def test_expunge_in_the_middle_of_the_index(self):
        self.srv.uids += [4, 5]
        self.srv.mode = "expunge"
        status, err = self.sync()
        self.assertEqual(status, 0, err)
        self.assertTrue(set(self.uids()) >= {1, 3, 4, 5})
        self.srv.mode = "good"
        self.assertEqual(self.sync()[0], 0)
        self.assertEqual(self.uids(), [1, 3, 4, 5])

    def test_cut_in_a_literal_then_a_clean_sync(self):
        self.srv.uids = list(range(1, 51))
        self.srv.mode = "cut"
        status, err = self.sync()
        self.assertEqual(status, 1, err)
        self.assertEqual(len(error_lines(err)), 1, err)
        self.assertEqual(len(set(self.uids())), len(self.uids()))
        self.srv.mode = "good"
        self.assertEqual(self.sync(), (0, ""))
        self.assertEqual(self.uids(), list(range(1, 51)))

    def test_impossible_literal_sizes(self):
        self.assertEqual(self.sync(), (0, ""))
        before = self.t.out("ls", "fake/INBOX")
        self.srv.uids += [4]
        for size in (b"18446744073709551616", b"18446744073709551615",
                     b"99999999999999999999999", b"-5", b"-0",
                     b"4294967296", b"3000000"):
            self.srv.mode = (b"* 4 FETCH (UID 4 BODY[HEADER.FIELDS (DATE)]"
                             b" {" + size + b"}\r\n" + b"x" * 100)
            status, err = self.sync()
            self.assertProtocolError(status, err)
            self.assertEqual(self.t.out("ls", "fake/INBOX"), before)


class PlainSearchImap(ScriptedImap):
    """A server without ESEARCH: a UID SEARCH is answered with one
    "* SEARCH" line of every UID in the range asked for. Headers exist
    only for the first three messages (the rest went while the index was
    fetched), so a test of the search need not wait for a huge index."""

    CAPS = b"IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE AUTH=PLAIN"

    def imap_greet(self, c):
        c.send(b"* OK [CAPABILITY %s] ready\r\n" % self.CAPS)

    def imap_command(self, c, tag, key, words, line):
        btag = tag.encode()
        if key == "CAPABILITY":
            c.send(b"* CAPABILITY %s\r\n%s OK done\r\n" % (self.CAPS, btag))
        elif key in ("AUTHENTICATE", "LOGIN"):
            c.send(b"%s OK logged in\r\n" % btag)
        elif key == "UID SEARCH":
            sets = uidset(words[-1]) if words[-2].upper() == "UID" else \
                [(1, 10 ** 9)]
            found = [u for u in self.uids
                     if any(lo <= u <= hi for lo, hi in sets)]
            c.send(b"* SEARCH " + b" ".join(b"%d" % u for u in found) +
                   b"\r\n" + btag + b" OK done\r\n")
        elif key == "UID FETCH" and b"HEADER" in line.upper():
            self.uids, keep = self.uids[:3], self.uids
            try:
                return self.header_fetch(c, btag, uidset(words[3]))
            finally:
                self.uids = keep
        else:
            return super().imap_command(c, tag, key, words, line)
        return None


class HugeFolder(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.srv = PlainSearchImap([1, 2, 3])
        self.t.write_rc(self.srv.rc())

    def tearDown(self):
        self.srv.close()
        self.t.cleanup()

    def test_search_of_600000_uids_without_esearch(self):
        # One "* SEARCH" answer for them all would be 600,000 items, more
        # than the parser takes from a server: tern asks in windows.
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.srv.uids = [1, 2, 3] + list(range(5, 1200004, 2))
        first = len(self.srv.commands)
        r = self.t.run("sync", "fake", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The resync's searches (the first sync's own came before).
        searches = [x for x in self.srv.commands[first:]
                    if " UID SEARCH " in x]
        self.assertEqual([x.split(" ", 1)[1] for x in searches],
                         ["UID SEARCH UID 1:250000",
                          "UID SEARCH UID 250001:500000",
                          "UID SEARCH UID 500001:750000",
                          "UID SEARCH UID 750001:1000000",
                          "UID SEARCH UID 1000001:*"], searches)
        out = self.t.out("ls", "fake/INBOX")
        self.assertEqual(sorted(line.split("\t")[0]
                                for line in out.splitlines()),
                         ["1", "2", "3"])


class KilledResync(unittest.TestCase):
    """kill -9 at the engine's fault points against a real Dovecot."""

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users={"k1": "p1", "k2": "p2",
                                            "k3": "p3"})
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        self.t = ternlib.Tern()

    def tearDown(self):
        self.t.cleanup()

    def use(self, user):
        self.user = user
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=user))

    def sync(self, env=None):
        return self.t.run("sync", "acct", env=env, timeout=120)

    def db(self):
        return sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))

    def test_kill9_mid_index(self):
        self.use("k1")
        n = 1500
        for i in range(1, n + 1):
            self.dovecot.deliver(ternlib.make_message(i), user="k1")
        r = self.sync({"TERN_FAULT": "imap-after-batch:1"})
        self.assertEqual(r.returncode, -9, r.stderr)
        db = self.db()
        # The newest 100 (committed before the rest) and one batch of the
        # index were: the newest messages.
        self.assertEqual(db.execute("SELECT count(*), min(uid) FROM message")
                         .fetchone(), (1100, n - 1099))
        db.close()
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        uids = [int(line.split("\t")[0]) for line in
                self.t.out("ls", "acct/INBOX").splitlines()]
        self.assertEqual(sorted(uids), list(range(1, n + 1)))
        self.assertEqual(self.dovecot.count("k1"), n)
        self.assertIn("0 new", self.sync().stdout.decode())

    def test_store_full_mid_index(self):
        # The index of 1,500 messages is stored by the writer thread;
        # its first commit outgrows RLIMIT_FSIZE (EFBIG, as on a full
        # disk). The sync fails with the store's error, the store stays
        # whole, and the next sync brings every message exactly once.
        self.use("k3")
        n = 1500
        for i in range(1, n + 1):
            self.dovecot.deliver(ternlib.make_message(i), user="k3")
        self.t.out("ls", "acct")  # the store exists, its WAL index too

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (96 * 1024,) * 2)

        r = subprocess.run([ternlib.TERN, "sync", "acct"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.t.env(), timeout=120, preexec_fn=limit)
        ternlib.check_sanitizers("tern sync", r.stderr)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"store", r.stderr)
        db = self.db()
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0],
                         "ok")
        stored = db.execute("SELECT count(*) FROM message").fetchone()[0]
        db.close()
        self.assertLess(stored, n)
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        db = self.db()
        self.assertEqual(db.execute(
            "SELECT count(*), count(DISTINCT uid) FROM message").fetchone(),
            (n, n))
        db.close()

    def test_kill9_in_the_replay(self):
        self.use("k2")
        for i, flags in ((1, ""), (2, ""), (3, "S")):
            self.dovecot.deliver(ternlib.make_message(i), user="k2",
                                 flags=flags)
        self.assertEqual(self.sync().returncode, 0)
        self.t.out("flag", "acct/INBOX", "1", "+F")
        self.t.out("flag", "acct/INBOX", "2", "+S")
        self.t.out("flag", "acct/INBOX", "3", "-S")
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 3)
        db.close()
        r = self.sync({"TERN_FAULT": "imap-after-replay:1"})
        self.assertEqual(r.returncode, -9, r.stderr)
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        flags = {uid: f for uid, _, f in
                 self.dovecot.messages("k2", "INBOX")}
        self.assertEqual(flags, {1: {"\\Flagged"}, 2: {"\\Seen"}, 3: set()})
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 0)
        db.close()
        rows = {int(r.split("\t")[0]): r.split("\t")[1] for r in
                self.t.out("ls", "acct/INBOX").splitlines()}
        self.assertEqual(rows, {1: "F", 2: "S", 3: "-"})


class InvalidUidls(unittest.TestCase):
    """A POP3 listing with UIDLs RFC 1939 does not allow: such messages
    are known by their content, none is lost, none deleted unstored."""

    BAD = ["x" * 71, "a\x1bb", "", "u\x7f", "t\x01"]

    def setUp(self):
        self.t = ternlib.Tern()
        msgs = [("good1", ternlib.make_message(1))]
        msgs += [(u, ternlib.make_message(i + 2))
                 for i, u in enumerate(self.BAD)]
        msgs.append(("good2", ternlib.make_message(9)))
        self.fake = FakePOP3(msgs)

    def tearDown(self):
        self.fake.close()
        self.t.cleanup()

    def stored(self):
        db = ternlib.store_db(self.t.data)
        try:
            return sorted(bytes(r[0]) for r in db.execute(
                "SELECT " + ternlib.BODY + " FROM body b"))
        finally:
            db.close()

    def sync(self):
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip(), r.stderr.decode()

    def test_keep_no(self):
        raws = sorted(m for _, m in self.fake.messages)
        self.t.write_rc(self.fake.rc("fake"))
        out, err = self.sync()
        self.assertEqual(out, "fake: 7 new, 7 removed from server")
        self.assertEqual(err.count("has an invalid UIDL"), len(self.BAD))
        self.assertNotIn("\x1b", err)
        self.assertEqual(self.stored(), raws)
        # Each DELE came after its message was stored: every one listed
        # was downloaded first, and nothing is left on the server.
        log = self.fake.commands
        deles = [int(l.split()[1]) for l in log if l.startswith("DELE")]
        retrs = [int(l.split()[1]) for l in log if l.startswith("RETR")]
        self.assertEqual(sorted(deles), list(range(1, 8)))
        self.assertEqual(sorted(retrs), list(range(1, 8)))
        self.assertEqual(self.fake.messages, [])
        out, _ = self.sync()
        self.assertEqual(out, "fake: 0 new, 0 removed from server")

    def test_keep_yes(self):
        self.t.write_rc(self.fake.rc("fake", "    keep yes\n"))
        out, err = self.sync()
        # keep yes cannot tell a message it has from a new one without a
        # UIDL: those stay on the server, said so, and are not fetched
        # again and again.
        self.assertEqual(out, "fake: 2 new, 0 removed from server")
        self.assertEqual(err.count("has an invalid UIDL"), len(self.BAD))
        self.assertEqual(err.count("no usable UIDL; left on the server"),
                         len(self.BAD))
        out, _ = self.sync()
        self.assertEqual(out, "fake: 0 new, 0 removed from server")
        self.assertEqual(self.stored(), sorted(
            [self.fake.messages[0][1], self.fake.messages[-1][1]]))
        self.assertFalse([l for l in self.fake.commands if l.startswith("DELE")])
        self.assertEqual(len(self.fake.messages), 7)


if __name__ == "__main__":
    ternlib.main()
