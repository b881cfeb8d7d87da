"""A first sync of an IMAP account: the newest messages of INBOX come
first (committed and shown before the folder list and the rest of the
index), and a first sync cut or killed anywhere in that order resumes
with every message exactly once.

The client's screen while the rest of the index is held back needs a
server that pauses on command: a scripted one (tests/lib/fakeserver.py).
Everything else runs against a real Dovecot, through a proxy that cuts
the connection where the test says."""

import os
import re
import sqlite3
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ternlib  # noqa: E402
import wire  # noqa: E402
from fakeserver import FakeServer, ScriptedImap  # noqa: E402
from test_ui import UiCase  # noqa: E402

M = ternlib.make_message


def verbs(commands):
    """Command lines without their tags."""
    return [c.split(" ", 1)[1] for c in commands if " " in c]


def store(t, sql, *args):
    c = sqlite3.connect(os.path.join(t.data, "tern", "tern.db"), timeout=10)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def inbox_uids(t, account):
    return sorted(int(line.split("\t")[0]) for line in
                  t.out("ls", account + "/INBOX").splitlines())


class FirstScreen(UiCase):
    """The client on a first start: the newest messages on screen while
    the server holds back the rest of the index, then the rest."""

    def test_newest_on_screen_then_the_rest(self):
        n = 1500
        srv = ScriptedImap(range(1, n + 1), list_reply=(
            b'* LIST () "/" INBOX\r\n* LIST () "/" Archive\r\n'))
        srv.hold = threading.Event()
        self.addCleanup(srv.close)
        self.addCleanup(srv.hold.set)
        self.t.write_rc(srv.rc())
        s = self.start()
        # The newest message under the cursor, its 99 predecessors stored
        # with it, and the folder list that came after them.
        s.wait_cursor("m%d" % n, timeout=30)
        t = s.wait(" Archive", timeout=20)
        # The worker told the client, which did not wait for its next
        # look at the store.
        self.assertIn("stored fake", self.log_events())
        self.assertIn("fake/INBOX  [100 msgs", t)
        self.assertEqual(store(self.t, "SELECT min(uid), max(uid), count(*)"
                                        " FROM message"),
                         [(n - 99, n, 100)])
        # The order on the wire: INBOX's newest by message number, the
        # LIST, then the rest of INBOX on the same SELECT (held).
        v = verbs(srv.commands)
        sel = [i for i, c in enumerate(v) if c.startswith("SELECT")]
        fetch = [i for i, c in enumerate(v) if c.startswith("FETCH")]
        lst = [i for i, c in enumerate(v) if c.startswith("LIST")]
        uidf = [i for i, c in enumerate(v) if c.startswith("UID FETCH")]
        self.assertEqual(len(sel), 1, v)
        self.assertEqual(len(fetch), 1, v)
        self.assertTrue(v[fetch[0]].startswith("FETCH %d:%d " % (n - 99, n)),
                        v)
        self.assertTrue(sel[0] < fetch[0] < lst[-1] < uidf[0], v)
        # The rest fills in.
        srv.hold.set()
        s.wait("fake/INBOX  [%d msgs" % n, timeout=60)
        self.assertEqual(store(self.t, "SELECT count(*), count(DISTINCT uid)"
                               " FROM message m JOIN folder f ON"
                               " f.id = m.folder_id WHERE f.name = 'INBOX'"),
                         [(n, n)])
        self.assertEqual(inbox_uids(self.t, "fake"), list(range(1, n + 1)))
        s.keys("q")
        s.wait("EXIT=0")


class Scripted(unittest.TestCase):
    """The newest-first step on servers that do not do what Dovecot
    does: no CONDSTORE (so no sync ever records a complete state), and a
    refusal of the FETCH by message number."""

    def setUp(self):
        self.t = ternlib.Tern()
        self.addCleanup(self.t.cleanup)

    def test_only_a_first_sync_fetches_the_newest_first(self):
        srv = ScriptedImap(range(1, 301))
        self.addCleanup(srv.close)
        self.t.write_rc(srv.rc())
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("FETCH 201:300 ", " ".join(verbs(srv.commands)))
        self.assertEqual(inbox_uids(self.t, "fake"), list(range(1, 301)))
        # The store has INBOX's messages: a later sync goes straight to
        # the LIST and the folder's sync.
        del srv.commands[:]
        srv.uids += [301, 302]
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        v = verbs(srv.commands)
        self.assertFalse([c for c in v if c.startswith("FETCH")], v)
        self.assertEqual(inbox_uids(self.t, "fake"), list(range(1, 303)))

    def test_refused_newest_is_left_to_the_folder_sync(self):
        class Refusing(ScriptedImap):
            def imap_command(self, c, tag, key, words, line):
                if key == "FETCH":
                    c.send(b"%s NO not by number today\r\n" % tag.encode())
                    return None
                return super().imap_command(c, tag, key, words, line)

        srv = Refusing(range(1, 201))
        self.addCleanup(srv.close)
        self.t.write_rc(srv.rc())
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.assertIn("200 new", r.stdout.decode())
        self.assertEqual(inbox_uids(self.t, "fake"), list(range(1, 201)))

    def test_a_server_that_lists_nothing_still_syncs(self):
        # OK to every command: a SELECT without UIDVALIDITY, an empty
        # LIST. The newest-first step does not fail a sync that works
        # without it: there is nothing to sync.
        srv = FakeServer("imap", timeout=None)
        srv.start()
        self.addCleanup(srv.close)
        self.t.write_rc(srv.rc(extra="    tls_verify no\n"))
        r = self.t.run("sync", "fake", timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("0 new", r.stdout.decode())
        v = verbs(srv.commands)
        self.assertTrue([c for c in v if c.startswith("SELECT")], v)
        self.assertEqual(self.t.out("ls", "fake"), "")


USERS = {"c%d" % i: "pw%d" % i for i in range(12)}


class FirstSync(ternlib.ProxiedDovecotCase):
    """A first sync against a real Dovecot, through a proxy; each test a
    user of its own with 300 messages in INBOX and one in Archive."""

    N = 300

    USERS = USERS

    def setUp(self):
        self.user = self.next_user("c")
        for n in range(1, self.N + 1):
            self.dovecot.deliver(M(n), user=self.user)
        self.dovecot.deliver(M(1000, subject="Archived"), user=self.user,
                             folder="Archive")
        self.proxy.clear()
        self.t = ternlib.Tern()
        self.addCleanup(self.t.cleanup)
        self.t.write_rc(self.t.account(self.dovecot, name="a",
                                       user=self.user, tls="off",
                                       port=self.proxy.port))

    def sync(self, env=None):
        return self.t.run("sync", "a", env=env, timeout=120)

    def inbox_state(self):
        """(uidvalidity, uidnext, highestmodseq) the store has for
        INBOX."""
        return store(self.t, "SELECT uidvalidity, uidnext, highestmodseq"
                     " FROM folder f JOIN account a ON a.id = f.account_id"
                     " WHERE a.name = 'a' AND f.name = 'INBOX'")[0]

    def assertComplete(self, uids=None):
        """Every message of the server once in the store, and INBOX's
        state recorded as complete."""
        want = uids or list(range(1, self.N + 1))
        self.assertEqual(inbox_uids(self.t, "a"), want)
        rows = [r.split("\t")[4] for r in
                self.t.out("ls", "a/Archive").splitlines()]
        self.assertEqual(rows, ["Archived"])
        server = self.dovecot.messages(self.user)
        uidvalidity, uidnext, modseq = self.inbox_state()
        self.assertEqual(uidnext, server[-1][0] + 1)
        self.assertGreater(modseq, 0)
        self.assertRegex(self.sync().stdout.decode(), r"\b0 new")

    def test_order_on_the_wire(self):
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        v = verbs(self.proxy.commands)
        inbox = [i for i, c in enumerate(v)
                 if re.match(r'SELECT "?INBOX"?$', c)]
        fetch = [i for i, c in enumerate(v) if c.startswith("FETCH ")]
        lst = [i for i, c in enumerate(v) if c.startswith("LIST")]
        rest = [i for i, c in enumerate(v) if c.startswith("UID FETCH")]
        # One SELECT of INBOX for its newest and its rest, the LIST in
        # between.
        self.assertEqual(len(inbox), 1, v)
        self.assertEqual(len(fetch), 1, v)
        self.assertTrue(v[fetch[0]].startswith(
            "FETCH %d:%d " % (self.N - 99, self.N)), v)
        self.assertTrue(inbox[0] < fetch[0] < lst[0] < rest[0], v)
        self.assertIn("%d new" % (self.N + 1), r.stdout.decode())
        # A second sync is no first sync.
        self.proxy.clear()
        self.assertComplete()
        self.assertFalse([c for c in verbs(self.proxy.commands)
                          if c.startswith("FETCH ")])

    def test_killed_after_the_newest(self):
        r = self.sync({"TERN_FAULT": "imap-after-newest:1"})
        self.assertEqual(r.returncode, -9, r.stderr)
        # The newest 100, nothing else; INBOX's state not recorded as
        # complete (a later sync must not take the partial index for
        # the folder), no folder list yet.
        self.assertEqual(store(self.t, "SELECT min(uid), max(uid), count(*)"
                                        " FROM message"),
                         [(self.N - 99, self.N, 100)])
        uidvalidity, uidnext, modseq = self.inbox_state()
        self.assertEqual((uidnext, modseq), (0, 0))
        self.assertNotIn("Archive", self.t.out("ls", "a"))
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%d new" % (self.N - 100 + 1), r.stdout.decode())
        self.assertComplete()

    def cut(self, how, match, responses):
        self.proxy.add(wire.cut(1, at="reply", how=how, match=match,
                                responses=responses))
        r = self.sync()
        self.assertEqual(len(self.proxy.events), 1,
                         "the proxy cut nothing: %r" % self.proxy.commands)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertComplete()

    def test_cut_in_the_newest(self):
        self.cut("rst", r"^\S+ FETCH \d", 40)

    def test_cut_after_the_newest(self):
        self.cut("fin", r"UID FETCH .*HEADER", 120)

    def test_newest_by_number_when_uids_have_gaps(self):
        # Most of the newest UIDs expunged: the newest 100 messages are
        # not the UIDs below UIDNEXT.
        c = self.dovecot.imap(self.user)
        try:
            c.select("INBOX")
            gone = [u for u in range(101, self.N + 1) if u % 5]
            c.uid("STORE", ",".join(map(str, gone)), "+FLAGS.SILENT",
                  "(\\Deleted)")
            c.expunge()
        finally:
            c.logout()
        left = [u for u in range(1, self.N + 1) if u <= 100 or u % 5 == 0]
        r = self.sync({"TERN_FAULT": "imap-after-newest:1"})
        self.assertEqual(r.returncode, -9, r.stderr)
        self.assertEqual([u for (u,) in store(
            self.t, "SELECT uid FROM message ORDER BY uid")], left[-100:])
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertComplete(left)


if __name__ == "__main__":
    unittest.main()
