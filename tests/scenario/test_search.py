"""tern search against a real Dovecot: a match in a body the store never
downloaded is found on the server, the union with the store's matches has
no duplicates, non-ASCII and quoted text, the fallback to the store alone
when the server cannot be reached, a server match not yet indexed, and
every folder of an account searched on the server too."""

import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fakeserver  # noqa: E402
import ternlib  # noqa: E402

USERS = {"s%d" % i: "pw%d" % i for i in range(10)}


class SearchTest(unittest.TestCase):
    """Dovecot as it is: ESEARCH answers, LITERAL+ literals."""
    capability = None

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS,
                                      imap_capability=cls.capability)
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        cls = type(self)
        self.user = "s%d" % cls.next_user
        cls.next_user += 1
        self.t = ternlib.Tern()
        self.t.write_rc(self.t.account(self.dovecot, user=self.user))

    def tearDown(self):
        self.t.cleanup()

    def deliver(self, n, **kw):
        self.dovecot.deliver(ternlib.make_message(n, **kw), user=self.user)

    def search(self, text, folder="INBOX"):
        r = self.t.run("search", "acct/" + folder, text)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        rows = [line.split("\t") for line in r.stdout.decode().splitlines()]
        return rows, r.stderr.decode()

    def test_body_only_match_from_server(self):
        self.deliver(1, subject="Plans", body="the zanzibar meeting\n")
        self.deliver(2, subject="Other", body="nothing here\n")
        self.deliver(3, subject="zanzibar trip", body="see subject\n")
        self.t.out("sync")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        self.assertEqual(
            db.execute("SELECT count(*) FROM body").fetchone()[0], 0)
        db.close()
        rows, err = self.search("Zanzibar")
        # Message 1 only through the server (its body is not stored),
        # message 3 both ways: listed once.
        self.assertEqual([r[4] for r in rows], ["Plans", "zanzibar trip"])
        self.assertEqual(len(rows[0]), 5)
        self.assertNotIn("offline", err)
        rows, err = self.search("no such words anywhere")
        self.assertEqual(rows, [])

    def test_non_ascii_and_quotes(self):
        self.deliver(1, subject="Menu", body="crème brûlée for dessert\n")
        self.deliver(2, subject="Quote", body='he said "hi there" twice\n')
        self.deliver(3, subject="Plain", body="creme brulee\n")
        self.t.out("sync")
        rows, err = self.search("brûlée")
        self.assertEqual([r[4] for r in rows], ["Menu"], err)
        rows, err = self.search('"hi there"')
        self.assertEqual([r[4] for r in rows], ["Quote"], err)
        rows, err = self.search("back\\slash")
        self.assertEqual(rows, [], err)

    def test_offline_searches_the_store(self):
        self.deliver(1, subject="alpha one", body="bodyword\n")
        self.deliver(2, subject="beta", body="bodyword\n")
        self.t.out("sync")
        port = ternlib.free_ports(1)[0]
        self.t.write_rc(self.t.account(self.dovecot, user=self.user)
                        .replace("port %d" % self.dovecot.imaps_port,
                                 "port %d" % port))
        rows, err = self.search("alpha")
        self.assertEqual([r[4] for r in rows], ["alpha one"])
        self.assertIn("offline: searched the store only", err)
        rows, err = self.search("bodyword")
        self.assertEqual(rows, [])
        self.assertIn("offline: searched the store only", err)

    def test_not_yet_indexed(self):
        self.deliver(1, subject="first", body="common\n")
        self.t.out("sync")
        self.deliver(2, subject="second", body="common\n")
        rows, err = self.search("common")
        self.assertEqual([r[4] for r in rows], ["first"])
        self.assertIn("2\t(not yet indexed; run tern sync)", err)
        self.t.out("sync")
        rows, err = self.search("common")
        self.assertEqual([r[4] for r in rows], ["first", "second"])

    def test_account_wide(self):
        # Every folder of the account: the server answers for bodies the
        # store never saw, each line after its folder.
        self.deliver(1, subject="Plans", body="the okapi meeting\n")
        self.deliver(2, subject="Other", body="nothing here\n")
        self.dovecot.deliver(ternlib.make_message(
            3, subject="Filed", body="okapi again\n"), user=self.user,
            folder="Archive")
        self.t.out("sync")
        r = self.t.run("search", "acct", "~b okapi")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split("\t") for line in r.stdout.decode().splitlines()]
        self.assertEqual(sorted((x[0], x[5]) for x in rows),
                         [("acct/Archive", "Filed"), ("acct/INBOX", "Plans")])
        self.assertNotIn(b"offline", r.stderr)
        # Offline: the store alone, said once.
        port = ternlib.free_ports(1)[0]
        self.t.write_rc(self.t.account(self.dovecot, user=self.user)
                        .replace("port %d" % self.dovecot.imaps_port,
                                 "port %d" % port))
        r = self.t.run("search", "acct", "~b okapi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr.count(b"offline: searched the store only"),
                         1)
        r = self.t.run("search", "acct", "~s filed")
        self.assertEqual([line.split("\t")[0] for line in
                          r.stdout.decode().splitlines()], ["acct/Archive"])

    def test_usage_and_pop3(self):
        r = self.t.run("search", "acct/INBOX")
        self.assertEqual(r.returncode, 2)
        # An account alone is every folder of it, from the store.
        r = self.t.run("search", "acct", "x")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.t.run("search", "nosuch/INBOX", "x")
        self.assertEqual(r.returncode, 2)
        self.t.write_rc(self.t.account(self.dovecot, name="pop",
                                       protocol="pop3", user=self.user))
        self.deliver(1, subject="popped", body="onlybody\n")
        self.t.out("sync")
        r = self.t.run("search", "pop/INBOX", "onlybody")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("popped", r.stdout.decode())
        self.assertNotIn(b"offline", r.stderr)


class CharsetRefused(unittest.TestCase):
    def test_search_again_without_charset(self):
        # A server that knows no UTF-8 CHARSET (BADCHARSET) is asked
        # again without one; what it finds is not in the store yet.
        server = fakeserver.FakeImap(b"", badcharset=True)
        t = ternlib.Tern()
        try:
            t.write_rc(server.rc())
            r = t.run("search", "fake/INBOX", "hello", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"")
            self.assertIn(b"1\t(not yet indexed; run tern sync)", r.stderr)
            self.assertNotIn(b"offline", r.stderr)
            searches = [c for c in server.commands
                        if c.split(" ")[1:3] == ["UID", "SEARCH"]]
            self.assertEqual(len(searches), 2, searches)
            self.assertIn("CHARSET UTF-8", searches[0])
            self.assertNotIn("CHARSET", searches[1])
            # A bare word is from, subject or body.
            self.assertIn('OR OR FROM "hello" SUBJECT "hello" BODY "hello"',
                          searches[1])
            self.assertTrue(any(c.split(" ")[1] == "EXAMINE"
                                for c in server.commands))
        finally:
            server.close()
            t.cleanup()


class PlainSearchTest(SearchTest):
    """Without ESEARCH and LITERAL+: plain SEARCH answers, and a literal
    waits for the server's go-ahead."""
    capability = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE"


if __name__ == "__main__":
    ternlib.main()
