"""IMAP accounts against a real Dovecot: folders, header index, flags both
ways, a second client changing things meanwhile, UIDVALIDITY changes,
offline queue replay, the fallbacks when extensions are hidden, a dropped
connection mid-FETCH, IDLE with --watch, quota, a wrong password."""

import os
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fakeserver  # noqa: E402
import ternlib  # noqa: E402
import wire  # noqa: E402

USERS = {"u%d" % i: "pw%d" % i for i in range(40)}
HIDDEN = "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE"


def msg(n, **kw):
    return ternlib.make_message(n, **kw)


class Account:
    """A Dovecot for the class and an account of its own for each test;
    subclasses choose the server's capabilities and quota."""
    capability = None
    quota = "1G"
    users_taken = 0

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS,
                                      imap_capability=cls.capability,
                                      quota=cls.quota)
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        cls = type(self)
        self.user = "u%d" % cls.next_user
        cls.next_user += 1
        self.t = ternlib.Tern()
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user))
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            try:
                c.logout()
            except Exception:
                pass
        self.t.cleanup()

    # helpers
    def deliver(self, n, folder="INBOX", flags="", **kw):
        return self.dovecot.deliver(msg(n, **kw), user=self.user,
                                    folder=folder, flags=flags)

    def client(self):
        c = self.dovecot.imap(self.user, tls=True)
        self.clients.append(c)
        return c

    def sync(self):
        return self.sync_both()[0]

    def sync_notes(self):
        """Sync; the notes it printed on stderr (tern: acct: ...)."""
        return self.sync_both()[1]

    def sync_both(self):
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode(), r.stderr.decode()

    def ls(self, folder="INBOX"):
        return [line.split("\t") for line in
                self.t.out("ls", "acct/" + folder).splitlines()]

    def folders(self):
        out = {}
        for line in self.t.out("ls", "acct").splitlines():
            f = line.split("\t")
            if len(f) == 3:
                out[f[0]] = (int(f[1]), int(f[2]))
        return out

    def db(self):
        return sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))

    def server_flags(self, c, folder="INBOX"):
        c.select('"%s"' % folder)
        typ, data = c.uid("FETCH", "1:*", "(FLAGS)")
        out = {}
        for item in data:
            if not item:
                continue
            s = item.decode() if isinstance(item, bytes) else item[0].decode()
            uid = int(s.split("UID ")[1].split()[0].rstrip(")"))
            out[uid] = s.split("FLAGS (")[1].split(")")[0]
        return out


class Base(Account):
    """Tests every server variant runs; subclasses choose the server."""

    def test_index_folders_and_no_bodies(self):
        for i in range(1, 31):
            self.deliver(i, flags="S" if i % 3 == 0 else "")
        self.deliver(100, folder="Archive", subject="=?utf-8?q?caf=C3=A9?=")
        self.dovecot.maildir(self.user, "Entw&APw-rfe")
        out = self.sync()
        self.assertIn("31 new", out)
        f = self.folders()
        self.assertEqual(f["INBOX"], (30, 20))
        self.assertEqual(f["Archive"], (1, 1))
        self.assertIn("Entwürfe", f)
        rows = self.ls()
        self.assertEqual(len(rows), 30)
        self.assertEqual(rows[0][4], "Message 1")
        self.assertEqual(rows[2][1], "S")
        self.assertEqual(rows[0][3], "Bob <bob@example.org>")
        self.assertEqual(self.ls("Archive")[0][4], "café")
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM body")
                         .fetchone()[0], 0)
        self.assertEqual(db.execute(
            "SELECT count(*) FROM message WHERE size > 0 AND "
            "internaldate > 0 AND message_id LIKE '<msg%'").fetchone()[0],
            31)
        db.close()
        self.assertIn("0 new", self.sync())
        self.assertEqual(len(self.ls()), 30)

    def test_second_client_changes(self):
        for i in range(1, 11):
            self.deliver(i)
        self.sync()
        c = self.client()
        c.select("INBOX")
        c.uid("STORE", "2", "+FLAGS", "(\\Seen \\Flagged)")
        c.uid("STORE", "3", "+FLAGS", "($Label1)")
        c.uid("STORE", "4", "+FLAGS", "(\\Deleted)")
        c.expunge()
        self.deliver(11)
        self.deliver(12)
        out = self.sync()
        self.assertIn("2 new", out)
        self.assertIn("1 removed", out)
        rows = {int(r[0]): r for r in self.ls()}
        self.assertEqual(sorted(rows), [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12])
        self.assertEqual(rows[2][1], "FS")
        db = self.db()
        self.assertEqual(db.execute(
            "SELECT keywords FROM message WHERE uid = 3").fetchone()[0],
            "$Label1")
        db.close()
        # Flags removed by the other client come back too.
        c.uid("STORE", "2", "-FLAGS", "(\\Flagged)")
        self.sync()
        rows = {int(r[0]): r for r in self.ls()}
        self.assertEqual(rows[2][1], "S")

    def test_nested_folders_use_the_server_delimiter(self):
        # Dovecot's Maildir nests with '.'; tern's names nest with '/'.
        self.deliver(1)
        self.deliver(2, folder="Archive.2023")
        self.sync()
        names = self.folders()
        self.assertIn("Archive/2023", names)
        self.assertNotIn("Archive.2023", names)
        self.assertEqual(self.ls("Archive/2023")[0][4], "Message 2")
        self.t.out("folder", "create", "acct/Archive/2024")
        self.t.out("mv", "acct/INBOX", "1", "Archive/2024")
        self.sync()
        c = self.client()
        listed = b" ".join(c.list()[1])
        self.assertIn(b"Archive.2024", listed)
        self.assertNotIn(b"Archive/2024", listed)
        self.assertEqual(len(self.server_flags(c, "Archive.2024")), 1)
        self.assertEqual(self.server_flags(c), {})
        self.assertEqual([r[4] for r in self.ls("Archive/2024")],
                         ["Message 1"])
        # Rename and delete reach the nested server folder too.
        self.t.out("folder", "rename", "acct/Archive/2023", "Archive/Old")
        self.t.out("folder", "delete", "--force", "acct/Archive/2024")
        self.sync()
        listed = b" ".join(c.list()[1])
        self.assertIn(b"Archive.Old", listed)
        self.assertNotIn(b"Archive.2023", listed)
        self.assertNotIn(b"Archive.2024", listed)
        self.assertEqual(len(self.server_flags(c, "Archive.Old")), 1)
        names = self.folders()
        self.assertIn("Archive/Old", names)
        self.assertNotIn("Archive/2024", names)

    def test_copy_within_the_account(self):
        # The copy shows in the target at once; the sync sends one COPY
        # per message and the copies take the server's UIDs. The source
        # stays, on the server and in the store.
        self.dovecot.maildir(self.user, "Archive")
        self.deliver(1)
        self.deliver(2, flags="F")
        self.sync()
        self.t.out("cat", "acct/INBOX", "1")  # one body stored, one not
        self.t.out("cp", "acct/INBOX", "1", "2", "Archive")
        self.assertEqual(sorted(r[4] for r in self.ls("Archive")),
                         ["Message 1", "Message 2"])
        self.sync()
        c = self.client()
        self.assertEqual(sorted(self.server_flags(c)), [1, 2])
        arch = self.server_flags(c, "Archive")
        self.assertEqual(len(arch), 2)
        self.assertIn("\\Flagged", arch[max(arch)])
        rows = self.ls("Archive")
        self.assertEqual(sorted(int(r[0]) for r in rows), sorted(arch))
        self.assertEqual(sorted(r[4] for r in rows),
                         ["Message 1", "Message 2"])
        for r in rows:
            self.assertIn("Subject: " + r[4],
                          self.t.out("cat", "acct/Archive", r[0]))
        self.assertEqual(len(self.ls()), 2)
        # Another sync changes nothing: no copy sent twice.
        self.sync()
        self.assertEqual(len(self.server_flags(c, "Archive")), 2)
        self.assertEqual(len(self.ls("Archive")), 2)

    def test_offline_queue_replay(self):
        self.dovecot.maildir(self.user, "Archive")
        for i in range(1, 7):
            self.deliver(i)
        self.sync()
        # Offline: no server in the rc.
        self.t.out("flag", "acct/INBOX", "1", "+SF")
        self.t.out("mv", "acct/INBOX", "2", "Archive")
        self.t.out("flag", "acct/INBOX", "3", "+S")
        self.t.out("flag", "acct/INBOX", "5", "+T")
        self.t.out("purge", "acct/INBOX")
        # Applied to the store at once.
        rows = {int(r[0]): r for r in self.ls()}
        self.assertEqual(rows[1][1], "FS")
        self.assertNotIn(2, rows)
        self.assertNotIn(5, rows)
        # Meanwhile another client expunges message 3.
        c = self.client()
        c.select("INBOX")
        c.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
        c.expunge()
        err = self.sync_notes()
        self.assertIn("tern: acct: ", err)
        self.assertIn("dropped", err)
        flags = self.server_flags(c)
        self.assertEqual(sorted(flags), [1, 4, 6])
        self.assertIn("\\Flagged", flags[1])
        self.assertIn("\\Seen", flags[1])
        arch = self.server_flags(c, "Archive")
        self.assertEqual(len(arch), 1)
        self.assertEqual([r[4] for r in self.ls("Archive")], ["Message 2"])
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 0)
        db.close()
        rows = {int(r[0]): r for r in self.ls()}
        self.assertEqual(sorted(rows), [1, 4, 6])

    def test_uidvalidity_change(self):
        self.dovecot.maildir(self.user, "Lists")
        for i in range(1, 4):
            self.deliver(i, folder="Lists")
        self.sync()
        db = self.db()
        mid = db.execute("SELECT m.id FROM message m JOIN folder f ON "
                         "f.id = m.folder_id WHERE f.name = 'Lists' AND "
                         "m.uid = 2").fetchone()[0]
        db.execute("INSERT INTO body (message_id, raw) VALUES (?, ?)",
                   (mid, msg(2)))
        db.execute("UPDATE message SET has_body = 1 WHERE id = ?", (mid,))
        db.commit()
        old = db.execute("SELECT uidvalidity FROM folder WHERE name = "
                         "'Lists'").fetchone()[0]
        db.close()
        # Recreate the mailbox: new UIDVALIDITY, the same messages.
        c = self.client()
        c.delete("Lists")
        time.sleep(1.1)  # Dovecot's UIDVALIDITY is a time stamp
        c.create("Lists")
        for i in (3, 2, 1, 4):
            c.append("Lists", None, None, msg(i))
        err = self.sync_notes()
        self.assertIn("tern: acct: Lists: UIDVALIDITY changed", err)
        db = self.db()
        new = db.execute("SELECT uidvalidity FROM folder WHERE name = "
                         "'Lists'").fetchone()[0]
        self.assertNotEqual(old, new)
        rows = db.execute(
            "SELECT m.uid, m.subject, m.has_body, m.uidvalidity FROM "
            "message m JOIN folder f ON f.id = m.folder_id WHERE "
            "f.name = 'Lists' ORDER BY m.uid").fetchall()
        self.assertEqual([r[1] for r in rows],
                         ["Message 3", "Message 2", "Message 1",
                          "Message 4"])
        self.assertEqual([r[2] for r in rows], [0, 1, 0, 0])
        self.assertTrue(all(r[3] == new for r in rows))
        self.assertEqual(db.execute(
            "SELECT count(*) FROM body").fetchone()[0], 1)
        db.close()
        c.select("Lists")
        self.assertEqual(c.search(None, "ALL")[1][0].split(),
                         [b"1", b"2", b"3", b"4"])

    def test_move_and_create_on_server_side(self):
        c = self.client()
        c.create("Work")
        for i in range(1, 4):
            self.deliver(i)
        self.sync()
        self.assertIn("Work", self.folders())
        self.t.out("mv", "acct/INBOX", "1", "3", "Work")
        self.sync()
        self.assertEqual([r[4] for r in self.ls("Work")],
                         ["Message 1", "Message 3"])
        self.assertEqual([r[4] for r in self.ls()], ["Message 2"])
        c.select("INBOX")
        self.assertEqual(len(c.search(None, "ALL")[1][0].split()), 1)
        c.rename("Work", "Job")
        self.sync()
        f = self.folders()
        self.assertIn("Job", f)
        self.assertNotIn("Work", f)
        # Into a folder the server does not have yet.
        self.t.out("mv", "acct/INBOX", "2", "Brand-New")
        out, err = self.sync_both()
        self.assertNotIn("kept queued", out + err)
        self.assertEqual([r[4] for r in self.ls("Brand-New")],
                         ["Message 2"])
        self.assertEqual(self.ls(), [])

    def test_changes_in_other_folders(self):
        self.dovecot.maildir(self.user, "Work")
        for i in range(1, 4):
            self.deliver(i, folder="Work")
        self.deliver(9)
        self.sync()
        self.assertIn("0 new", self.sync())
        c = self.client()
        c.select("Work")
        c.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
        c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
        c.expunge()
        self.deliver(4, folder="Work")
        out = self.sync()
        self.assertIn("1 new", out)
        self.assertIn("1 removed", out)
        rows = {int(r[0]): r[1] for r in self.ls("Work")}
        self.assertEqual(rows, {1: "F", 3: "-", 4: "-"})
        self.assertEqual(len(self.ls()), 1)

    def test_body_on_demand(self):
        raw = msg(1, body="Hello body\n")
        self.dovecot.deliver(raw, user=self.user)
        self.deliver(2)
        self.sync()
        tool = os.path.join(os.path.dirname(ternlib.TERN), "tests",
                            "imapfetch")

        def fetch(uid):
            return subprocess.run([tool, self.t.rc, "acct/INBOX", str(uid)],
                                  env=self.t.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=60)
        r = fetch(1)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout, raw)
        rows = {int(x[0]): x for x in self.ls()}
        self.assertEqual((rows[1][1], rows[2][1]), ("S", "-"))
        flags = self.server_flags(self.client())
        self.assertIn("\\Seen", flags[1])
        self.assertNotIn("\\Seen", flags[2])
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM body")
                         .fetchone()[0], 1)
        db.close()
        # tern cat fetches through the same driver call.
        self.assertEqual(self.t.run("cat", "--raw", "acct/INBOX", "2",
                                    check=True).stdout, msg(2))
        self.assertIn("\\Seen", self.server_flags(self.client())[2])
        self.deliver(3)
        self.sync()
        # Offline: what is stored reads, the rest fails and says so.
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, port=1))
        self.assertEqual(fetch(1).stdout, raw)
        r = fetch(3)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot connect", r.stderr.decode())
        r = self.t.run("cat", "acct/INBOX", "3")
        self.assertEqual(r.returncode, 1)

    def test_offline_move_shows_in_target(self):
        self.dovecot.maildir(self.user, "Archive")
        for i in range(1, 4):
            self.deliver(i)
        self.sync()
        self.t.out("cat", "acct/INBOX", "2")  # its body is stored now
        subject = {r[0]: r[4] for r in self.ls()}["2"]
        self.t.out("mv", "acct/INBOX", "2", "Archive")
        # At once, before any sync: gone from INBOX, listed in Archive,
        # and readable there from the store.
        self.assertNotIn("2", [r[0] for r in self.ls()])
        rows = self.ls("Archive")
        self.assertEqual([r[4] for r in rows], [subject])
        self.assertIn(subject,
                      self.t.out("cat", "acct/Archive", rows[0][0]))
        self.sync()
        # Reconciled: the server's UID, one copy on both sides.
        rows = self.ls("Archive")
        self.assertEqual([r[4] for r in rows], [subject])
        self.assertLess(int(rows[0][0]), 0xF0000000)
        c = self.client()
        self.assertEqual(sorted(self.server_flags(c, "Archive")), [1])
        self.assertEqual(sorted(self.server_flags(c)), [1, 3])
        self.sync()
        self.assertEqual(len(self.ls("Archive")), 1)

    def test_queued_folder_operations(self):
        c = self.client()
        c.create("Old")
        c.create("Gone")
        self.sync()
        db = self.db()
        acct = db.execute("SELECT id FROM account WHERE name = 'acct'"
                          ).fetchone()[0]
        for op, folder, arg in (("create", "Neu & Café", None),
                                ("rename", "Old", "Older"),
                                ("delete", "Gone", None),
                                ("delete", "Never-was", None)):
            db.execute("INSERT INTO pending (account_id, op, folder, arg,"
                       " created) VALUES (?, ?, ?, ?, 0)",
                       (acct, op, folder, arg))
        db.commit()
        db.close()
        out, err = self.sync_both()
        # Deleting a folder the server does not have is already done
        # (its answer may have been lost): no complaint.
        self.assertNotIn("Never-was", out + err)
        f = self.folders()
        self.assertIn("Neu & Café", f)
        self.assertIn("Older", f)
        self.assertNotIn("Old", f)
        self.assertNotIn("Gone", f)
        names = b" ".join(c.list()[1])
        self.assertIn(b"Neu &- Caf&AOk-", names)
        self.assertNotIn(b'"Gone"', names)
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 0)
        db.close()


    def test_counts_say_what_changed(self):
        """A sync reports what changed, not what it read: nothing after
        nothing changed (with or without CONDSTORE), and one flag update
        for one flag changed by another client."""
        for i in range(1, 6):
            self.deliver(i)
        self.assertIn("5 new, 0 flag updates, 0 removed", self.sync())
        self.assertIn("0 new, 0 flag updates, 0 removed", self.sync())
        c = self.client()
        c.select("INBOX")
        c.uid("STORE", "2", "+FLAGS", "(\\Flagged)")
        self.assertIn("0 new, 1 flag updates, 0 removed", self.sync())
        self.assertIn("0 new, 0 flag updates, 0 removed", self.sync())

    def test_parent_folder_is_listed(self):
        """A parent the server lists (P of P/Sub, \\Noselect on Dovecot's
        Maildir++) is listed by tern too, and stays after its child is
        renamed."""
        c = self.client()
        delim = c.list('""', '""')[1][0].decode().split('"')[1]
        c.create("Parent%sChild" % delim)
        self.sync()
        f = self.folders()
        self.assertIn("Parent", f)
        self.assertIn("Parent/Child", f)
        c.rename("Parent%sChild" % delim, "Parent%sKid" % delim)
        self.sync()
        f = self.folders()
        self.assertIn("Parent", f)
        self.assertIn("Parent/Kid", f)
        self.assertNotIn("Parent/Child", f)
        self.assertEqual(f["Parent"], (0, 0))

    def test_watch_sees_new_mail_in_other_folders(self):
        """New mail in a folder other than INBOX arrives while watching:
        through NOTIFY where offered (the whole pass is then ten minutes
        away), else through the pass over every folder."""
        c = self.client()
        c.create("Lists")
        self.deliver(1)
        self.t.out("ls", "acct")
        notify = b"NOTIFY" in c.capability()[1][0].split()
        p = subprocess.Popen([ternlib.TERN, "sync", "--watch", "acct"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.t.env({"TERN_ALL_FOLDERS":
                                             "600" if notify else "2"}))
        try:
            deadline = time.time() + 20
            while time.time() < deadline and "Lists" not in self.folders():
                time.sleep(0.1)
            self.assertIn("Lists", self.folders())
            time.sleep(0.5)  # watching now
            c.append("Lists", None, None, msg(7))
            while time.time() < deadline and not self.ls("Lists"):
                time.sleep(0.1)
            self.assertIsNone(p.poll(), p.stderr.read().decode()
                              if p.poll() is not None else "")
            self.assertEqual(len(self.ls("Lists")), 1)
            self.assertEqual(self.folders()["Lists"], (1, 1))
        finally:
            p.terminate()
            p.communicate(timeout=10)


class FullServer(Base, unittest.TestCase):
    """Dovecot with CONDSTORE, QRESYNC, MOVE, UIDPLUS, ESEARCH, IDLE."""

    def test_wrong_password(self):
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user, password="nope"))
        r = self.t.run("sync", "acct")
        self.assertEqual(r.returncode, 1)
        self.assertIn("login failed", r.stderr.decode())

    def test_only_named_folders(self):
        for f in ("Work", "Spam", "Old Stuff"):
            self.dovecot.maildir(self.user, f)
            self.deliver(1, folder=f)
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user,
                                       extra='    folders Work "Old Stuff"\n'))
        self.sync()
        self.assertEqual(sorted(self.folders()), ["INBOX", "Old Stuff",
                                                  "Work"])

    def test_quota(self):
        self.deliver(1, body="x" * 300000)
        self.sync()
        out = self.t.out("ls", "acct")
        self.assertRegex(out, r"quota: \d+(\.\d)? KiB of 1 GiB")

    def test_dropped_mid_fetch(self):
        for i in range(1, 401):
            self.deliver(i)
        # TLS passes through; the first connection is cut 60000 bytes
        # into what the server sent.
        proxy = wire.Proxy(self.dovecot.imaps_port, raw=True,
                           rules=[wire.cut_bytes(60000, conn=1)])
        try:
            self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                           user=self.user, port=proxy.port))
            err = self.sync_notes()
            self.assertIn("tern: acct: reconnected after: ", err)
            self.assertEqual(proxy.accepted, 2)
        finally:
            proxy.stop()
        db = self.db()
        self.assertEqual(db.execute(
            "SELECT count(*), count(DISTINCT uid) FROM message")
            .fetchone(), (400, 400))
        db.close()
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user))
        self.assertIn("0 new", self.sync())

    def test_watch_idle(self):
        self.deliver(1)
        # Two processes creating a new store at once race on its schema:
        # make it first.
        self.t.out("ls", "acct")
        p = subprocess.Popen([ternlib.TERN, "sync", "--watch", "acct"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.t.env())
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    if len(self.ls()) == 1:
                        break
                except AssertionError:
                    pass
                time.sleep(0.1)
            self.deliver(2)
            while time.time() < deadline:
                if len(self.ls()) == 2:
                    break
                time.sleep(0.1)
            self.assertIsNone(p.poll(), p.stderr.read().decode()
                              if p.poll() is not None else "")
            self.assertEqual(len(self.ls()), 2)
        finally:
            p.terminate()
            p.communicate(timeout=10)


    def test_three_syncs_at_once(self):
        # One sync of an account at a time: a message queued for the
        # server goes there once, not once per tern sync.
        for i in range(1, 401):
            self.deliver(i)
        self.sync()
        mbox = os.path.join(self.t.dir, "one.mbox")
        with open(mbox, "wb") as f:
            f.write(b"From a@example.org Thu Jan  1 00:00:00 2026\n" +
                    msg(900, subject="Queued once").replace(b"\r\n", b"\n")
                    + b"\n")
        self.t.out("import", "acct/INBOX", mbox)
        for i in range(401, 601):
            self.deliver(i)
        runs = self.t.syncs_at_once("acct")
        for status, out, err in runs:
            self.assertEqual(status, 0, err)
        self.assertEqual(runs[0][2], "")
        waited = [err for _, _, err in runs if err]
        self.assertGreaterEqual(len(waited), 1)
        for err in waited:
            self.assertEqual(err, "tern: acct: waiting for another sync of "
                                  "this account to finish\n")
        # The first brought the 200 and the queued one; the others none.
        self.assertIn("acct: 201 new,", runs[0][1])
        for _, out, _ in runs[1:]:
            self.assertIn("acct: 0 new,", out)
        c = self.client()
        c.select("INBOX")
        typ, data = c.search(None, "SUBJECT", '"Queued once"')
        self.assertEqual(len(data[0].split()), 1)
        self.assertEqual(len(self.ls()), 601)
        uids = [r[0] for r in self.ls()]
        self.assertEqual(len(uids), len(set(uids)))


    def test_sync_while_a_watch_idles(self):
        # A watch holds the account's sync lock while it waits with IDLE;
        # a tern sync of the account waits for it, and the watch lets go
        # instead of keeping it for ever, then goes on.
        self.deliver(1)
        self.t.out("ls", "acct")
        err = os.path.join(self.t.dir, "watch.err")
        with open(err, "wb") as ef:
            p = subprocess.Popen([ternlib.TERN, "sync", "--watch", "acct"],
                                 stdout=subprocess.DEVNULL, stderr=ef,
                                 env=self.t.env())
        try:
            deadline = time.time() + 20
            while len(self.ls()) < 1 or not self.t.sync_lock_held():
                self.assertLess(time.time(), deadline)
                time.sleep(0.1)
            self.deliver(2)
            r = self.t.run("sync", "acct", timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, b"tern: acct: waiting for another "
                                       b"sync of this account to finish\n")
            # Message 2 came by IDLE or by this sync, once.
            self.assertEqual(len(self.ls()), 2)
            # The watch takes the account back and indexes new mail.
            self.deliver(3)
            while len(self.ls()) < 3:
                self.assertLess(time.time(), deadline + 30)
                time.sleep(0.1)
            self.assertIsNone(p.poll())
            with open(err) as f:
                self.assertEqual(f.read(), "tern: acct is being synced by "
                                 "another tern; trying again shortly\n")
        finally:
            p.terminate()
            p.wait(timeout=10)


class HiddenExtensions(Base, unittest.TestCase):
    """No CONDSTORE, QRESYNC, MOVE, UIDPLUS or ESEARCH: the fallbacks."""
    capability = HIDDEN

    def test_expunge_without_uidplus_spares_others(self):
        for i in range(1, 5):
            self.deliver(i)
        self.sync()
        c = self.client()
        c.select("INBOX")
        c.uid("STORE", "4", "+FLAGS", "(\\Deleted)")  # not ours
        self.t.out("flag", "acct/INBOX", "1", "+T")
        self.t.out("purge", "acct/INBOX")
        err = self.sync_notes()
        self.assertIn("left flagged deleted", err)
        flags = self.server_flags(c)
        self.assertEqual(sorted(flags), [1, 2, 3, 4])
        # It waits in the queue until it is the only deleted message.
        c.uid("STORE", "4", "-FLAGS", "(\\Deleted)")
        self.assertNotIn("left flagged deleted", self.sync_notes())
        self.assertEqual(sorted(self.server_flags(c)), [2, 3, 4])
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 0)
        db.close()


class CondstoreOnly(Base, unittest.TestCase):
    """CONDSTORE without QRESYNC: CHANGEDSINCE and a search for vanished."""
    capability = HIDDEN + " CONDSTORE UIDPLUS ESEARCH"


class FullMailbox(Account, unittest.TestCase):
    """A server that refuses for now (over quota), and without QRESYNC,
    so that every sync compares the whole folder with the store."""
    capability = HIDDEN + " UIDPLUS"
    quota = "4k"

    def fill(self):
        """Seven messages of 700 bytes in INBOX, past the quota, and an
        empty Archive; synced."""
        self.dovecot.maildir(self.user, "Archive")
        for i in range(1, 8):
            self.deliver(i, body="x" * 600 + "\n")
        self.sync()

    def make_room(self, c):
        """Messages 3 to 7 expunged on the server: under the quota."""
        c.select("INBOX")
        c.uid("STORE", "3:7", "+FLAGS", "(\\Deleted)")
        c.expunge()

    def test_refused_copy_and_move_stay_shown_while_they_wait(self):
        # A copy and a move the server refuses (over quota) stay queued,
        # and shown in their target, through the sync of that folder:
        # they are not the server's to take back. Once there is room
        # they are sent, once, and take the server's UIDs.
        self.fill()
        self.t.out("cp", "acct/INBOX", "1", "Archive")
        self.t.out("mv", "acct/INBOX", "2", "Archive")
        err = self.sync_notes()
        self.assertEqual(err.count("kept queued"), 2, err)
        self.assertIn("Quota exceeded", err)
        rows = self.ls("Archive")
        self.assertEqual(sorted(r[4] for r in rows),
                         ["Message 1", "Message 2"])
        for r in rows:
            self.assertGreaterEqual(int(r[0]), 0xF0000000)
        db = self.db()
        self.assertEqual(db.execute("SELECT op FROM pending ORDER BY id")
                         .fetchall(), [("copy",), ("move",)])
        db.close()
        # Room again: both go, and the rows take the server's UIDs.
        c = self.client()
        self.make_room(c)
        self.sync()
        self.assertEqual(sorted(self.server_flags(c)), [1])
        arch = self.server_flags(c, "Archive")
        self.assertEqual(len(arch), 2)
        rows = self.ls("Archive")
        self.assertEqual(sorted((int(r[0]), r[4]) for r in rows),
                         list(zip(sorted(arch), ["Message 1", "Message 2"])))
        self.assertEqual([r[4] for r in self.ls()], ["Message 1"])
        db = self.db()
        self.assertEqual(db.execute("SELECT count(*) FROM pending")
                         .fetchone()[0], 0)
        db.close()

    def test_refused_copy_survives_its_target_recreated(self):
        # The target is deleted and made again (a new UIDVALIDITY) while
        # a copy to it waits: the sync rebuilds the folder's index, and
        # the copy still waiting stays shown, then lands once.
        self.fill()
        self.t.out("cp", "acct/INBOX", "1", "Archive")
        c = self.client()
        self.assertEqual(c.delete("Archive")[0], "OK")
        self.assertEqual(c.create("Archive")[0], "OK")
        err = self.sync_notes()
        self.assertIn("kept queued", err)
        self.assertIn("UIDVALIDITY changed", err)
        self.assertEqual([r[4] for r in self.ls("Archive")], ["Message 1"])
        self.make_room(c)
        self.sync()
        arch = self.server_flags(c, "Archive")
        self.assertEqual(len(arch), 1)
        self.assertEqual([(int(r[0]), r[4]) for r in self.ls("Archive")],
                         [(min(arch), "Message 1")])


class HostileServer(unittest.TestCase):
    """A scripted server sends what no real one would: tern stops with a
    protocol error, allocates nothing it claims, and keeps the store."""

    def test_mailbox_names_go_back_as_the_server_spelled_them(self):
        # Modified UTF-7 that does not survive a decode and encode: each
        # is sent back byte for byte, at the sync and at a later fetch.
        names = [b"&AOk", b"&-&", b"x&Jjo", b"a\x1bb"]
        hdr = b"Subject: hi\r\n\r\n"
        fetch = (b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 5 INTERNALDATE "
                 b'"01-Jan-2024 00:00:00 +0000" BODY[HEADER.FIELDS (DATE)] '
                 b"{%d}\r\n" % len(hdr) + hdr + b")\r\n")
        lst = b'* LIST () "/" INBOX\r\n' + b"".join(
            b'* LIST () "/" "%s"\r\n' % n for n in names)
        server = fakeserver.FakeImap(fetch, list_reply=lst)
        t = ternlib.Tern()
        try:
            t.write_rc(server.rc())
            r = t.run("sync", "fake", timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            selects = [c.split(" ", 2)[2] for c in server.commands
                       if c.split(" ")[1].upper() == "SELECT"]
            for n in names:
                self.assertIn('"%s"' % n.decode(), selects)
            self.assertNotIn('"&AOk-"', selects)
            # The folder shows decoded; a fetch later selects the
            # server's name, from the store.
            self.assertEqual(len(t.out("ls", "fake/é").splitlines()), 1)
            del server.commands[:]
            t.run("cat", "fake/é", "1", timeout=60)
            selects = [c.split(" ", 2)[2] for c in server.commands
                       if c.split(" ")[1].upper() == "SELECT"]
            self.assertEqual(selects, ['"&AOk"'])
        finally:
            server.close()
            t.cleanup()

    def run_against(self, reply):
        server = fakeserver.FakeImap(reply)
        t = ternlib.Tern()
        try:
            t.write_rc(server.rc())
            r = t.run("sync", "fake", timeout=60)
            self.listing = t.run("ls", "fake/INBOX").stdout.decode()
            return r.returncode, r.stderr.decode()
        finally:
            server.close()
            t.cleanup()

    def test_hostile_fetch_replies(self):
        cases = [
            b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (DATE)] "
            b"{99999999999999}\r\n",
            b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (DATE)] {-1}\r\n",
            b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (DATE)] {2000000}\r\n" +
            b"x" * 2000000 + b")\r\n",
            b"* 1 FETCH " + b"(" * 100000 + b")" * 100000 + b"\r\n",
            b"* 1 FETCH (UID 1 FLAGS (\\Seen \"unterminated\r\n",
            b"* 1 FETCH (UID 1 X " + b"y" * (10 * 1024 * 1024) + b")\r\n",
        ]
        for reply in cases:
            status, err = self.run_against(reply)
            self.assertEqual(status, 1, err)
            self.assertIn("protocol error", err)

    def test_harmless_oddities(self):
        # Literal+ size, NIL, odd spacing, an unknown item: all accepted.
        status, err = self.run_against(
            b"* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 10 X-UNKNOWN NIL"
            b" BODY[HEADER.FIELDS (SUBJECT)] {15+}\r\nSubject: hi\r\n\r\n)"
            b"\r\n")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.listing.split("\t")[1::3], ["S", "hi\n"])


if __name__ == "__main__":
    ternlib.main()
