"""flag, mv and purge on the store: applied at once, all or nothing, and
for IMAP accounts queued for the server."""

import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

RC = ("account home\n protocol pop3\n host 127.0.0.1\n user u\n"
      " passcmd true\n"
      "account work\n protocol imap\n host 127.0.0.1\n user u\n"
      " passcmd true\n")


class Ops(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.t.write_rc(RC)
        self.t.out("ls", "home")  # creates the store and the accounts
        self.t.out("ls", "work")
        self.db = sqlite3.connect(os.path.join(self.t.data, "tern",
                                               "tern.db"))

    def tearDown(self):
        self.db.close()
        self.t.cleanup()

    def insert(self, account, subject, uid=None, flags=0, date=1700000000):
        c = self.db.cursor()
        fid = c.execute("SELECT f.id FROM folder f JOIN account a ON "
                        "a.id = f.account_id WHERE a.name = ? AND "
                        "f.name = 'INBOX'", (account,)).fetchone()[0]
        c.execute("INSERT INTO message (folder_id, uid, uidvalidity, flags,"
                  " date, from_, subject) VALUES (?, ?, 7, ?, ?, ?, ?)",
                  (fid, uid if uid is not None else -1, flags, date,
                   "Bob <bob@example.org>", subject))
        mid = c.lastrowid
        if uid is None:
            c.execute("UPDATE message SET uid = id WHERE id = ?", (mid,))
            uid = mid
        self.db.commit()
        return uid

    def ls(self, spec):
        return [line.split("\t") for line in
                self.t.out("ls", spec).splitlines()]

    def test_flag_local(self):
        a = self.insert("home", "one")
        b = self.insert("home", "two", date=1700000100)
        self.t.out("flag", "home/INBOX", str(a), str(b), "+SF")
        self.t.out("flag", "home/INBOX", str(b), "-F")
        rows = self.ls("home/INBOX")
        self.assertEqual([r[1] for r in rows], ["FS", "S"])
        self.assertEqual(rows[0][2], "2023-11-14 22:13")
        self.assertEqual(rows[0][3], "Bob <bob@example.org>")
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM pending").fetchone()[0], 0)

    def test_flag_unknown_uid_changes_nothing(self):
        a = self.insert("home", "one")
        r = self.t.run("flag", "home/INBOX", str(a), "999", "+S")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no message 999", r.stderr)
        for args in (("flag", "home/Nope", "1", "+S"),
                     ("mv", "home/Nope", "1", "INBOX"),
                     ("purge", "home/Nope")):
            r = self.t.run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(b"no folder 'Nope'", r.stderr)
        self.assertEqual(self.ls("home/INBOX")[0][1], "-")
        r = self.t.run("flag", "home/INBOX", str(a), "+Q")
        self.assertEqual(r.returncode, 2)

    def test_move_and_purge_local(self):
        a = self.insert("home", "one")
        b = self.insert("home", "two")
        self.t.out("mv", "home/INBOX", str(a), "Archive")
        self.assertEqual([r[0] for r in self.ls("home/Archive")], [str(a)])
        self.assertEqual([r[0] for r in self.ls("home/INBOX")], [str(b)])
        self.assertIn("Archive\t1\t1", self.t.out("ls", "home"))
        self.t.out("flag", "home/INBOX", str(b), "+T")
        self.t.out("purge", "home/INBOX")
        self.assertEqual(self.ls("home/INBOX"), [])
        self.assertEqual(len(self.ls("home/Archive")), 1)

    def test_imap_changes_are_queued_in_order(self):
        u = self.insert("work", "one", uid=41)
        self.t.out("flag", "work/INBOX", str(u), "+S")
        self.t.out("flag", "work/INBOX", str(u), "+T")
        self.t.out("purge", "work/INBOX")
        rows = self.db.execute("SELECT op, folder, uidvalidity, uid, arg "
                               "FROM pending ORDER BY id").fetchall()
        self.assertEqual(rows, [("flags", "INBOX", 7, 41, "+S"),
                                ("flags", "INBOX", 7, 41, "+T"),
                                ("expunge", "INBOX", 7, 41, None)])
        self.assertEqual(self.ls("work/INBOX"), [])

    def test_imap_move_is_queued(self):
        u = self.insert("work", "one", uid=5)
        self.t.out("mv", "work/INBOX", str(u), "work/Archive")
        rows = self.db.execute("SELECT op, folder, uid, arg FROM pending"
                               ).fetchall()
        self.assertEqual(rows, [("move", "INBOX", 5, "Archive")])

    def test_control_characters_are_visible(self):
        self.insert("home", "evil \x1b]0;pwned\x07 \u202etxt.exe")
        out = self.t.out("ls", "home/INBOX")
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\u202e", out)
        self.assertIn("^[]0;pwned^G <U+202E>txt.exe", out)

    def test_usage_errors(self):
        self.assertEqual(self.t.run("flag", "home/INBOX").returncode, 2)
        self.assertEqual(self.t.run("flag", "home", "1", "+S").returncode, 2)
        self.assertEqual(self.t.run("mv", "home/INBOX", "x", "A").returncode,
                         2)
        self.assertEqual(self.t.run("flag", "nope/INBOX", "1", "+S"
                                    ).returncode, 2)


if __name__ == "__main__":
    ternlib.main()
