"""Moves between an IMAP account on a real Dovecot and local folders: the
local copy is committed before the server copy goes, server quota and
message counts follow, copies leave the server alone, and moves made
offline finish at the next sync."""

import mailbox
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

USERS = {"u%d" % i: "pw%d" % i for i in range(12)}
BIG = "".join("%06d quota filler line of a largish message\n" % i
              for i in range(2000))  # about 100 KB


class LocalImap(unittest.TestCase):
    next_user = 0

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS, quota="1G")
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        cls = type(self)
        self.user = "u%d" % cls.next_user
        cls.next_user += 1
        self.t = ternlib.Tern()
        self.rc_online = self.t.account(self.dovecot, name="acct",
                                        user=self.user)
        self.t.write_rc(self.rc_online)
        self.raw = {}
        for n in (1, 2, 3):
            self.raw[n] = ternlib.make_message(n, body=BIG)
            self.dovecot.deliver(self.raw[n], user=self.user, flags="S")
        self.sync()

    def tearDown(self):
        self.t.cleanup()

    def sync(self):
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode() + r.stderr.decode()

    def ls(self, spec):
        return [line.split("\t") for line in
                self.t.out("ls", spec).splitlines()]

    def raws(self, folder):
        db = ternlib.store_db(self.t.data)
        try:
            return [bytes(r[0]) for r in db.execute(
                "SELECT " + ternlib.BODY + " FROM message m JOIN body b ON"
                " b.message_id = m.id JOIN folder f ON f.id = m.folder_id"
                " JOIN account a ON a.id = f.account_id WHERE"
                " a.name = 'local' AND f.name = ? ORDER BY m.date, m.id",
                (folder,))]
        finally:
            db.close()

    def quota_used(self):
        c = self.dovecot.imap(self.user, tls=True)
        try:
            typ, data = c.getquotaroot("INBOX")
            self.assertEqual(typ, "OK")
            for item in data[1]:
                words = item.decode().replace("(", " ").replace(
                    ")", " ").split()
                if "STORAGE" in words:
                    return int(words[words.index("STORAGE") + 1])
            self.fail("no STORAGE in %r" % data)
        finally:
            c.logout()

    def uids(self):
        return [r[0] for r in self.ls("acct/INBOX")]

    def test_move_to_local_frees_quota(self):
        before = self.quota_used()
        self.assertGreater(before, 250)
        u = self.uids()
        self.assertEqual(len(u), 3)
        self.t.out("mv", "acct/INBOX", u[0], u[1], "local/Saved")
        # Committed locally, whole, before the server is touched.
        self.assertEqual(self.raws("Saved"), [self.raw[1], self.raw[2]])
        self.assertEqual([r[1] for r in self.ls("local/Saved")], ["S", "S"])
        self.assertEqual(self.uids(), [u[2]])
        self.assertEqual(self.dovecot.count(self.user), 3)
        self.sync()
        self.assertEqual(self.dovecot.count(self.user), 1)
        self.assertLess(self.quota_used(), before - 150)
        self.assertEqual([r[4] for r in self.ls("acct/INBOX")],
                         ["Message 3"])
        self.assertEqual(len(self.ls("local/Saved")), 2)

    def test_copy_leaves_the_server_alone(self):
        before = self.quota_used()
        u = self.uids()
        self.t.out("cp", "acct/INBOX", u[1], "local/Copies")
        self.assertEqual(self.raws("Copies"), [self.raw[2]])
        self.sync()
        self.assertEqual(self.dovecot.count(self.user), 3)
        self.assertEqual(self.quota_used(), before)
        self.assertEqual(self.uids(), u)

    def test_offline_move_finishes_at_next_sync(self):
        u = self.uids()
        # The server is unreachable: nothing can be downloaded.
        self.t.write_rc(self.rc_online.replace(
            "port %d" % self.dovecot.imaps_port, "port 9"))
        r = self.t.run("mv", "acct/INBOX", u[0], "local/Later", check=True)
        self.assertIn(b"queued", r.stderr)
        self.assertEqual(self.raws("Later"), [])
        self.assertEqual(self.uids(), u)
        self.assertEqual(self.t.run("sync", "acct").returncode, 1)
        self.assertEqual(self.raws("Later"), [])
        # Back online: downloaded, committed, then removed from the server.
        self.t.write_rc(self.rc_online)
        self.sync()
        self.assertEqual(self.raws("Later"), [self.raw[1]])
        self.assertEqual(self.dovecot.count(self.user), 2)
        self.assertEqual(self.uids(), u[1:])

    def test_offline_move_of_a_message_deleted_meanwhile(self):
        u = self.uids()
        self.t.write_rc(self.rc_online.replace(
            "port %d" % self.dovecot.imaps_port, "port 9"))
        self.t.out("mv", "acct/INBOX", u[0], u[1], "local/Later")
        self.t.write_rc(self.rc_online)
        # Another client removes the first one before tern is back.
        base = self.dovecot.maildir(self.user)
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(base, sub)):
                with open(os.path.join(base, sub, name), "rb") as f:
                    if f.read() == self.raw[1]:
                        os.unlink(os.path.join(base, sub, name))
        self.sync()
        self.sync()
        self.assertEqual(self.raws("Later"), [self.raw[2]])
        self.assertEqual(self.dovecot.count(self.user), 1)
        self.assertEqual(self.uids(), u[2:])

    def test_move_to_local_and_back(self):
        u = self.uids()
        self.t.out("mv", "acct/INBOX", u[0], "local/Out")
        self.sync()
        self.assertEqual(self.dovecot.count(self.user), 2)
        before = self.quota_used()
        uid = self.ls("local/Out")[0][0]
        r = self.t.run("mv", "local/Out", uid, "acct/INBOX", check=True)
        self.assertIn(b"queued", r.stderr)
        # Until the server has accepted it, the local copy stays; and it
        # shows in the IMAP folder at once, readable there.
        self.assertEqual(self.raws("Out"), [self.raw[1]])
        rows = {r[4]: r[0] for r in self.ls("acct/INBOX")}
        self.assertEqual(sorted(rows),
                         ["Message 1", "Message 2", "Message 3"])
        self.assertEqual(self.t.run("cat", "--raw", "acct/INBOX",
                                    rows["Message 1"]).stdout, self.raw[1])
        self.sync()
        self.assertEqual(self.raws("Out"), [])
        self.assertEqual(self.dovecot.count(self.user), 3)
        self.assertGreater(self.quota_used(), before + 50)
        rows = self.ls("acct/INBOX")
        self.assertEqual(sorted(r[4] for r in rows),
                         ["Message 1", "Message 2", "Message 3"])
        # The server's UIDs now, and still once each after another sync.
        self.assertTrue(all(int(r[0]) < 0xF0000000 for r in rows), rows)
        self.sync()
        self.assertEqual(len(self.ls("acct/INBOX")), 3)
        # The same bytes and flags as before the round trip.
        p = os.path.join(self.t.dir, "back.mbox")
        self.t.out("export", "acct/INBOX", "--mbox", p)
        self.t.out("import", "local/Check", p)
        self.assertEqual(sorted(self.raws("Check")),
                         sorted(self.raw.values()))
        self.assertEqual([r[1] for r in rows], ["S", "S", "S"])

    def test_copy_to_new_imap_folder_and_import(self):
        u = self.uids()
        self.t.out("cp", "acct/INBOX", u[0], "local/Keep")
        uid = self.ls("local/Keep")[0][0]
        self.t.out("cp", "local/Keep", uid, "acct/Archive")
        extra = [ternlib.make_message(n, body="imported %d\n" % n)
                 for n in (50, 51)]
        md = os.path.join(self.t.dir, "md")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        for i, raw in enumerate(extra):
            with open(os.path.join(md, "cur", "%d.x:2,F" % i), "wb") as f:
                f.write(raw)
        self.assertIn("2 messages queued",
                      self.t.out("import", "acct/INBOX", md))
        self.sync()
        self.assertEqual(self.raws("Keep"), [self.raw[1]])
        self.assertEqual(self.dovecot.count(self.user, "Archive"), 1)
        self.assertEqual(self.dovecot.count(self.user), 5)
        flags = sorted(r[1] for r in self.ls("acct/INBOX"))
        self.assertEqual(flags, ["F", "F", "S", "S", "S"])
        # Importing again: the server has them now, nothing is queued.
        self.assertIn("0 messages queued",
                      self.t.out("import", "acct/INBOX", md))

    def test_export_downloads_missing_bodies(self):
        # The sync indexed headers only; export fetches the bodies.
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM message WHERE"
                                    " has_body = 1").fetchone()[0], 0)
        db.close()
        p = os.path.join(self.t.dir, "acct.mbox")
        self.assertIn("3 messages exported",
                      self.t.out("export", "acct/INBOX", "--mbox", p))
        self.t.out("import", "local/Restored", p)
        self.assertEqual(self.raws("Restored"),
                         [self.raw[1], self.raw[2], self.raw[3]])
        self.assertEqual([r[1] for r in self.ls("local/Restored")],
                         ["S", "S", "S"])

    def logins(self):
        with open(os.path.join(self.dovecot.dir, "dovecot.log")) as f:
            return f.read().count("Login: user=<%s>" % self.user)

    def test_export_of_an_account_logs_in_once(self):
        # Bodies are downloaded one after another on one connection,
        # from one folder and then the next.
        work = [ternlib.make_message(n, body=BIG) for n in (4, 5)]
        for raw in work:
            self.dovecot.deliver(raw, user=self.user, folder="Work")
        self.sync()
        before = self.logins()
        self.assertGreater(before, 0)
        d = os.path.join(self.t.dir, "backup")
        self.assertIn("5 messages exported",
                      self.t.out("export", "acct", "--maildir", d))
        self.assertEqual(self.logins(), before + 1)
        got = {}
        for name, md in (("INBOX", mailbox.Maildir(d, create=False)),
                         ("Work", mailbox.Maildir(d, create=False)
                          .get_folder("Work"))):
            got[name] = sorted(md.get_bytes(k) for k in md.keys())
        self.assertEqual(got["INBOX"], sorted(
            self.raw[n] for n in (1, 2, 3)))
        self.assertEqual(got["Work"], sorted(work))
        # A backup reads the mail but leaves it unread on the server.
        c = self.dovecot.imap(self.user, tls=True)
        try:
            c.select("Work", readonly=True)
            typ, data = c.fetch("1:*", "(FLAGS)")
        finally:
            c.logout()
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)
        for item in data:
            self.assertNotIn(b"\\Seen", item)
        # The next command, in a process of its own, logs in again.
        self.assertIn("Message 4", self.t.out(
            "cat", "acct/Work", self.ls("acct/Work")[0][0]))


if __name__ == "__main__":
    ternlib.main()
