"""Local folders, moves between accounts, and mbox/Maildir export and
import: exact bytes and flags both ways, duplicates skipped, bad files
refused with nothing imported or half-written."""

import mailbox
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402

RC = ("account home\n protocol pop3\n host 127.0.0.1\n user u\n"
      " passcmd true\n"
      "account work\n protocol imap\n host 127.0.0.1\n port 9\n"
      " tls off\n user u\n passcmd true\n")


def lf(raw):
    return raw.replace(b"\r\n", b"\n")


class Local(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.t.write_rc(RC)
        self.t.out("ls", "local")
        self.db = ternlib.store_db(self.t.data)
        self.tmp = self.t.dir

    def tearDown(self):
        self.db.close()
        self.t.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def folders(self, account):
        return [line.split("\t")[0] for line in
                self.t.out("ls", account).splitlines()]

    def ls(self, spec):
        return [line.split("\t") for line in
                self.t.out("ls", spec).splitlines()]

    def raws(self, account, folder):
        """The stored bytes of a folder's messages, in ls order."""
        return [bytes(r[0]) for r in self.db.execute(
            "SELECT " + ternlib.BODY + " FROM message m"
            " JOIN body b ON b.message_id = m.id"
            " JOIN folder f ON f.id = m.folder_id JOIN account a"
            " ON a.id = f.account_id WHERE a.name = ? AND f.name = ?"
            " ORDER BY m.date, m.id", (account, folder))]

    def write_mbox(self, name, messages, flags=None):
        """An mbox written by Python's mailbox module (mboxo)."""
        p = self.path(name)
        mb = mailbox.mbox(p)
        for i, raw in enumerate(messages):
            m = mailbox.mboxMessage(raw)
            if flags and flags[i]:
                m.set_flags(flags[i])
            mb.add(m)
        mb.flush()
        mb.close()
        return p

    def messages(self, n, start=1, crlf=False):
        out = []
        for i in range(start, start + n):
            raw = ternlib.make_message(i, body="Line one of %d.\n" % i)
            out.append(raw if crlf else lf(raw))
        return out

    # -- folders --------------------------------------------------------

    def test_folders_create_rename_delete_nest(self):
        self.t.out("folder", "create", "local/Archive")
        self.t.out("folder", "create", "local/Archive/2024")
        self.t.out("folder", "create", "local/Archive/2024/Q1")
        self.assertEqual(self.folders("local"),
                         ["INBOX", "Archive", "Archive/2024",
                          "Archive/2024/Q1"])
        # Refusals are usage errors (tern(1)): the command must change.
        r = self.t.run("folder", "create", "local/Archive")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"already exists", r.stderr)
        for bad in ("local/a//b", "local/a/../b", "local/a\x01"):
            r = self.t.run("folder", "create", bad)
            self.assertEqual(r.returncode, 2, bad)
        # Renaming moves what is nested under it.
        self.t.out("folder", "rename", "local/Archive", "Old")
        self.assertEqual(self.folders("local"),
                         ["INBOX", "Old", "Old/2024", "Old/2024/Q1"])
        self.t.out("folder", "rename", "local/Old/2024", "local/Y2024")
        self.assertEqual(self.folders("local"),
                         ["INBOX", "Old", "Y2024", "Y2024/Q1"])
        r = self.t.run("folder", "rename", "local/Old", "Y2024")
        self.assertEqual(r.returncode, 2)
        r = self.t.run("folder", "rename", "local/Old", "Old/Sub")
        self.assertEqual(r.returncode, 2)
        r = self.t.run("folder", "rename", "local/Nope", "Other")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no folder 'Nope'", r.stderr)
        # INBOX stays; a folder with mail needs --force.
        r = self.t.run("folder", "delete", "local/INBOX")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"INBOX cannot be deleted", r.stderr)
        self.t.out("import", "local/Old", self.write_mbox(
            "a.mbox", self.messages(2)))
        r = self.t.run("folder", "delete", "local/Old")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--force", r.stderr)
        self.assertIn("Old", self.folders("local"))
        self.t.out("folder", "delete", "--force", "local/Old")
        self.t.out("folder", "delete", "local/Y2024/Q1")
        self.assertEqual(self.folders("local"), ["INBOX", "Y2024"])
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM message").fetchone()[0], 0)
        # POP3 folders live in the store only, like local ones.
        self.t.out("folder", "create", "home/Lists/tern")
        self.t.out("folder", "rename", "home/Lists", "Groups")
        self.assertEqual(self.folders("home"),
                         ["INBOX", "Groups", "Groups/tern"])
        self.t.out("folder", "delete", "home/Groups/tern")
        self.assertEqual(self.folders("home"), ["INBOX", "Groups"])
        self.assertEqual(self.t.run("folder", "create").returncode, 2)
        self.assertEqual(self.t.run("folder", "frob", "local/X").returncode,
                         2)
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM pending").fetchone()[0], 0)

    def test_imap_folder_changes_are_queued(self):
        self.t.out("folder", "create", "work/Lists")
        self.t.out("folder", "rename", "work/Lists", "Lists2")
        self.t.out("folder", "delete", "work/Lists2")
        self.assertEqual(self.db.execute(
            "SELECT op, folder, arg FROM pending ORDER BY id").fetchall(),
            [("create", "Lists", None), ("rename", "Lists", "Lists2"),
             ("delete", "Lists2", None)])

    # -- moves between accounts -----------------------------------------

    def test_copy_within_an_account(self):
        # POP3 and local keep the exact bytes; the source stays, the copy
        # gets a number of its own and keeps the flags.
        msgs = self.messages(2)
        self.t.out("import", "home/INBOX", self.write_mbox("c.mbox", msgs))
        uids = [r[0] for r in self.ls("home/INBOX")]
        self.t.out("flag", "home/INBOX", uids[0], "+F")
        self.t.out("cp", "home/INBOX", uids[0], uids[1], "Saved")
        self.assertEqual([r[0] for r in self.ls("home/INBOX")], uids)
        saved = self.ls("home/Saved")
        self.assertEqual(len(saved), 2)
        self.assertFalse(set(r[0] for r in saved) & set(uids))
        self.assertEqual(saved[0][1], "F")
        self.assertEqual(self.raws("home", "Saved"), msgs)
        self.assertEqual(self.raws("home", "INBOX"), msgs)
        # A copy is a message of its own: deleting it leaves the source.
        self.t.out("flag", "home/Saved", saved[0][0], "+T")
        self.t.out("purge", "home/Saved")
        self.assertEqual(self.raws("home", "INBOX"), msgs)
        # Local folders too, and "ACCOUNT/FOLDER" naming the same account.
        self.t.out("import", "local/A", self.write_mbox("d.mbox", msgs[:1]))
        a = self.ls("local/A")[0][0]
        self.t.out("cp", "local/A", a, "local/B")
        self.assertEqual(self.raws("local", "B"), msgs[:1])
        self.assertEqual(self.raws("local", "A"), msgs[:1])
        # Into the folder it is in, or of a UID that is not there: refused,
        # nothing copied.
        for args in (("cp", "local/A", a, "A"),
                     ("cp", "local/A", a, "999", "C")):
            r = self.t.run(*args)
            self.assertEqual(r.returncode, 2, args)
        self.assertNotIn("C", self.folders("local"))
        self.assertEqual(len(self.ls("local/A")), 1)

    def test_pop3_to_local_and_back(self):
        msgs = self.messages(3)
        self.t.out("import", "home/INBOX", self.write_mbox("p.mbox", msgs))
        uids = [r[0] for r in self.ls("home/INBOX")]
        self.db.execute("UPDATE message SET pop3_uidl = 'UIDL-' || uid")
        self.db.execute("INSERT INTO pop3_uidl (account_id, uidl,"
                        " message_id, first_seen) SELECT f.account_id,"
                        " m.pop3_uidl, m.id, 1700000000 FROM message m"
                        " JOIN folder f ON f.id = m.folder_id")
        self.db.commit()
        self.t.out("mv", "home/INBOX", uids[0], uids[1], "local/Kept")
        self.assertEqual([r[0] for r in self.ls("local/Kept")], uids[:2])
        self.assertEqual([r[0] for r in self.ls("home/INBOX")], uids[2:])
        self.assertEqual(self.raws("local", "Kept"), msgs[:2])
        # The UIDL goes with it: never downloaded again.
        self.assertEqual(sorted(r[0] for r in self.db.execute(
            "SELECT pop3_uidl FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'Kept'")),
            ["UIDL-" + uids[0], "UIDL-" + uids[1]])
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM pop3_uidl u JOIN message m ON"
            " m.id = u.message_id WHERE m.uid = u.message_id").fetchone()[0],
            3)
        # Back into a POP3 folder, and a copy that leaves the source.
        self.t.out("mv", "local/Kept", uids[0], "home/Saved")
        self.assertEqual([r[0] for r in self.ls("home/Saved")], [uids[0]])
        self.t.out("cp", "local/Kept", uids[1], "home/Saved")
        self.assertEqual(len(self.ls("home/Saved")), 2)
        self.assertEqual(len(self.ls("local/Kept")), 1)
        self.assertEqual(self.raws("home", "Saved"), msgs[:2])
        # A UID that is not there changes nothing.
        r = self.t.run("mv", "home/INBOX", uids[2], "999", "local/Kept")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no message 999", r.stderr)
        self.assertEqual(len(self.ls("home/INBOX")), 1)

    def imap_row(self, uid, raw=None, subject="imap"):
        fid = self.db.execute(
            "SELECT f.id FROM folder f JOIN account a ON a.id ="
            " f.account_id WHERE a.name = 'work' AND f.name = 'INBOX'"
            ).fetchone()[0]
        c = self.db.execute(
            "INSERT INTO message (folder_id, uid, uidvalidity, flags, date,"
            " size, from_, subject, message_id, has_body) VALUES"
            " (?, ?, 77, 16, 1700000000, ?, 'Bob <bob@example.org>', ?,"
            " ?, ?)", (fid, uid, len(raw or b"x"), subject,
                       "<imap%d@example.org>" % uid, raw is not None))
        if raw is not None:
            self.db.execute("INSERT INTO body (message_id, raw) VALUES"
                            " (?, ?)", (c.lastrowid, raw))
        self.db.commit()

    def test_imap_moves_offline_are_queued(self):
        self.t.out("ls", "work")
        body = ternlib.make_message(9)
        self.imap_row(41, raw=body)
        self.imap_row(42)  # index only: the body was never opened
        # The stored body is committed locally, the server copy is only
        # flagged and expunged (that UID alone) at the next sync.
        self.t.out("mv", "work/INBOX", "41", "local/Saved")
        self.assertEqual(self.raws("local", "Saved"), [body])
        self.assertEqual(self.ls("local/Saved")[0][1], "S")
        # Without the body, the move waits for the network.
        r = self.t.run("mv", "work/INBOX", "42", "local/Saved", check=True)
        # Queued, not done: exit 0 and a note on stderr.
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"1 message queued for local/Saved at the next sync",
                      r.stderr)
        self.assertEqual([r[0] for r in self.ls("work/INBOX")], ["42"])
        self.t.out("cp", "work/INBOX", "42", "local/Copies")
        self.assertEqual(self.db.execute(
            "SELECT op, folder, uidvalidity, uid, arg FROM pending"
            " ORDER BY id").fetchall(),
            [("flags", "INBOX", 77, 41, "+T"),
             ("expunge", "INBOX", 77, 41, None),
             ("tolocal", "INBOX", 77, 42, "local/Saved"),
             ("tolocal-copy", "INBOX", 77, 42, "local/Copies")])
        # Local to IMAP: APPEND queued; the local copy stays until the
        # server accepted it.
        self.db.execute("DELETE FROM pending")
        self.db.commit()
        uid = self.ls("local/Saved")[0][0]
        r = self.t.run("mv", "local/Saved", uid, "work/INBOX", check=True)
        self.assertIn(b"queued", r.stderr)
        self.assertEqual(len(self.ls("local/Saved")), 1)
        mid = self.db.execute("SELECT id FROM message WHERE uid = ? AND"
                              " has_body = 1", (int(uid),)).fetchone()[0]
        r = self.t.run("mv", "local/Saved", uid, "work/Other")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"already queued", r.stderr)
        self.t.out("cp", "local/Saved", uid, "work/Archive")
        self.assertEqual(self.db.execute(
            "SELECT op, folder, uid, arg FROM pending ORDER BY id"
            ).fetchall(),
            [("append-move", "INBOX", 0, str(mid)),
             ("create", "Archive", 0, None),
             ("append", "Archive", 0, str(mid))])

    # -- export and import ----------------------------------------------

    def test_mbox_round_trip_bytes_and_flags(self):
        msgs = self.messages(3) + self.messages(2, start=10, crlf=True)
        # Bodies with lines that an mbox must quote.
        msgs.append(lf(ternlib.make_message(
            20, body="From the desk of Bob\n>From quoted\n>>From deeper\n"
            "\nFrom here\n")))
        msgs.append(ternlib.make_message(
            21, body="From a CRLF body\r\n>From quoted\r\n"))
        d = self.path("md0")
        os.makedirs(os.path.join(d, "cur"))
        os.makedirs(os.path.join(d, "new"))
        letters = ["", "S", "FS", "RS", "DT", "P", "DFPRST"]
        for i, raw in enumerate(msgs):
            sub = "cur" if letters[i] else "new"
            name = "17000%05d.M%dP1.host" % (i, i)
            if letters[i]:
                name += ":2," + letters[i]
            with open(os.path.join(d, sub, name), "wb") as f:
                f.write(raw)
        out = self.t.out("import", "local/Src", d)
        self.assertIn("7 messages imported", out)
        rows = self.ls("local/Src")
        self.assertEqual(sorted(r[1] for r in rows),
                         sorted(x or "-" for x in letters))
        mbox = self.path("backup.mbox")
        self.assertIn("7 messages exported",
                      self.t.out("export", "local/Src", "--mbox", mbox))
        self.t.out("import", "local/Dst", mbox)
        self.assertEqual(sorted(self.raws("local", "Dst")), sorted(msgs))
        self.assertEqual(sorted((r[1], r[4]) for r in self.ls("local/Dst")),
                         sorted((r[1], r[4]) for r in rows))
        # Export again: the same file.
        mbox2 = self.path("again.mbox")
        self.t.out("export", "local/Dst", "--mbox", mbox2)
        with open(mbox, "rb") as a, open(mbox2, "rb") as b:
            self.assertEqual(a.read(), b.read())
        # Python reads it as an mbox with the same messages and flags.
        got = {}
        mb = mailbox.mbox(mbox)
        for m in mb:
            got[m["Message-ID"]] = m.get_flags()
        mb.close()
        self.assertEqual(len(got), 7)
        self.assertEqual(got["<msg20.%d@example.org>" % os.getpid()], "OP")
        self.assertEqual(got["<msg21.%d@example.org>" % os.getpid()],
                         "ROAFTDP")
        # No temporary file is left beside it.
        self.assertEqual(sorted(x for x in os.listdir(self.tmp)
                                if "tmp" in x), [])

    def test_maildir_round_trip(self):
        msgs = self.messages(4)
        self.t.out("import", "local/Src",
                   self.write_mbox("m.mbox", msgs, flags=["", "RF", "RA", ""]))
        flags = [r[1] for r in self.ls("local/Src")]
        self.assertEqual(flags, ["-", "FS", "RS", "-"])
        d = self.path("md")
        self.t.out("export", "local/Src", "--maildir", d)
        files = sorted(os.listdir(os.path.join(d, "cur")))
        self.assertEqual(len(files), 4)
        self.assertEqual(sorted(f.split(":2,")[1] for f in files),
                         ["", "", "FS", "RS"])
        on_disk = []
        for f in files:
            with open(os.path.join(d, "cur", f), "rb") as fh:
                on_disk.append(fh.read())
        # Python wrote mutt's Status: lines into the messages: kept.
        stored = self.raws("local", "Src")
        self.assertIn(b"\nStatus: R\nX-Status: F\n", stored[1])
        self.assertEqual(sorted(on_disk), sorted(stored))
        self.t.out("import", "local/Back", d)
        self.assertEqual(self.raws("local", "Back"), stored)
        self.assertEqual([r[1] for r in self.ls("local/Back")], flags)
        # Exporting onto a directory that holds something fails cleanly.
        r = self.t.run("export", "local/Src", "--maildir", d)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"already exists", r.stderr)
        self.assertEqual(sorted(x for x in os.listdir(self.tmp)
                                if ".tmp-" in x), [])

    def test_python_mbox_with_from_lines_in_bodies(self):
        msgs = [lf(ternlib.make_message(
            i, body="Hello,\n\nFrom what I hear, it works.\nFrom: not a "
            "header\n\nFrom me\n")) for i in range(1, 4)]
        p = self.write_mbox("py.mbox", msgs)
        with open(p, "rb") as f:
            text = f.read()
        self.assertIn(b"\n>From what I hear", text)
        self.assertIn("3 messages imported",
                      self.t.out("import", "local/Py", p))
        self.assertEqual(self.raws("local", "Py"), msgs)
        self.assertEqual([r[4] for r in self.ls("local/Py")],
                         ["Message 1", "Message 2", "Message 3"])

    def test_import_twice_skips_duplicates(self):
        msgs = self.messages(3)
        p = self.write_mbox("d.mbox", msgs)
        self.t.out("import", "local/D", p)
        out = self.t.out("import", "local/D", p)
        self.assertIn("0 messages imported into local/D, 3 already there",
                      out)
        # Same Message-ID, other bytes: a different message.
        changed = [msgs[0].replace(b"Line one", b"Line two")]
        self.t.out("import", "local/D", self.write_mbox("e.mbox", changed))
        self.assertEqual(len(self.ls("local/D")), 4)

    def test_truncated_and_garbage_files(self):
        p = self.write_mbox("t.mbox", self.messages(5))
        with open(p, "rb") as f:
            data = f.read()
        cut = self.path("cut.mbox")
        with open(cut, "wb") as f:
            f.write(data[:len(data) * 3 // 4])
        r = self.t.run("import", "local/T", cut)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"truncated", r.stderr)
        self.assertIn(cut.encode(), r.stderr)
        # Nothing imported, not even the folder.
        self.assertEqual(self.folders("local"), ["INBOX"])
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM message").fetchone()[0], 0)
        junk = self.path("junk")
        with open(junk, "wb") as f:
            f.write(b"\x00\x01garbage\n" * 100)
        r = self.t.run("import", "local/INBOX", junk)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not an mbox", r.stderr)
        os.mkdir(self.path("notmaildir"))
        r = self.t.run("import", "local/INBOX", self.path("notmaildir"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not a Maildir", r.stderr)
        r = self.t.run("import", "local/INBOX", self.path("missing"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.t.run("import", "local/INBOX").returncode, 2)
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM message").fetchone()[0], 0)

    def test_export_account(self):
        self.t.out("import", "local/INBOX",
                   self.write_mbox("a.mbox", self.messages(2)))
        self.t.out("import", "local/Archive/2024",
                   self.write_mbox("b.mbox", self.messages(3, start=5)))
        d = self.path("all-mbox")
        self.assertIn("5 messages exported",
                      self.t.out("export", "local", "--mbox", d))
        # The parent folder made for Archive/2024 is there, empty.
        self.assertEqual(sorted(os.listdir(d)),
                         ["Archive", "Archive.2024", "INBOX"])
        self.assertEqual(os.path.getsize(os.path.join(d, "Archive")), 0)
        mb = mailbox.mbox(os.path.join(d, "Archive.2024"))
        self.assertEqual(len(mb), 3)
        mb.close()
        m = self.path("all-maildir")
        self.t.out("export", "local", "--maildir", m)
        self.assertEqual(len(os.listdir(os.path.join(m, "cur"))), 2)
        self.assertEqual(len(os.listdir(
            os.path.join(m, ".Archive.2024", "cur"))), 3)
        md = mailbox.Maildir(m, create=False)
        self.assertEqual(len(md), 2)
        self.assertEqual(len(md.get_folder("Archive.2024")), 3)

    def test_account_round_trip_through_a_maildir_tree(self):
        # Another tern (a new machine) takes the whole tree in.
        self.t.out("import", "local/INBOX",
                   self.write_mbox("a.mbox", self.messages(2), ["S", "F"]))
        self.t.out("import", "local/Archive/2024",
                   self.write_mbox("b.mbox", self.messages(3, start=5),
                                   ["RS", "", "D"]))
        self.t.out("import", "home/INBOX",
                   self.write_mbox("c.mbox", self.messages(1, start=9)))
        m = self.path("tree")
        self.t.out("export", "local", "--maildir", m)
        other = ternlib.Tern()
        try:
            other.write_rc(RC)
            out = other.out("import", "local", m)
            self.assertIn("5 messages imported into local (3 folders), "
                          "0 already there", out)
            db = ternlib.store_db(other.data)
            try:
                for folder in ("INBOX", "Archive/2024"):
                    self.assertEqual(sorted(bytes(r[0]) for r in db.execute(
                        "SELECT " + ternlib.BODY + " FROM message m"
                        " JOIN body b ON"
                        " b.message_id = m.id JOIN folder f ON"
                        " f.id = m.folder_id JOIN account a ON"
                        " a.id = f.account_id WHERE a.name = 'local'"
                        " AND f.name = ?", (folder,))),
                        sorted(self.raws("local", folder)))
            finally:
                db.close()

            def flags(t, spec):
                return sorted(line.split("\t")[1] for line in
                              t.out("ls", spec).splitlines())
            for spec in ("local/INBOX", "local/Archive/2024"):
                self.assertEqual(flags(other, spec), flags(self.t, spec))
            self.assertIn("Archive", [line.split("\t")[0] for line in
                                      other.out("ls", "local")
                                      .splitlines()])
            # Again: everything is there already.
            self.assertIn("0 messages imported into local (3 folders), "
                          "5 already there", other.out("import", "local", m))
            # Into a POP3 account's local folders as well.
            self.assertIn("5 messages imported into home (3 folders)",
                          other.out("import", "home", m))
        finally:
            other.cleanup()

    def test_a_bad_tree_imports_nothing(self):
        m = self.path("bad")
        for sub in ("cur", "new", "tmp", ".Later/cur", ".Later/new"):
            os.makedirs(os.path.join(m, sub))
        with open(os.path.join(m, "cur", "1.host:2,S"), "wb") as f:
            f.write(ternlib.make_message(1))
        # The folder sorted after INBOX holds an empty file.
        open(os.path.join(m, ".Later", "cur", "2.host:2,"), "wb").close()
        r = self.t.run("import", "local", m)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"is empty", r.stderr)
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM message").fetchone()[0], 0)
        self.assertNotIn("Later", self.folders("local"))
        # A directory name that is no folder name says which it is.
        os.rename(os.path.join(m, ".Later"), os.path.join(m, ".a..b"))
        r = self.t.run("import", "local", m)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"/.a..b: 'a//b': each part of a folder name",
                      r.stderr)
        self.assertEqual(self.db.execute(
            "SELECT count(*) FROM message").fetchone()[0], 0)
        # Not a tree at all, and a file without a folder.
        os.makedirs(self.path("plain"))
        r = self.t.run("import", "local", self.path("plain"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"is not a Maildir++ tree", r.stderr)
        p = self.write_mbox("f.mbox", self.messages(1))
        r = self.t.run("import", "local", p)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"name a folder as ACCOUNT/FOLDER", r.stderr)

    def test_import_into_imap_queues_appends(self):
        self.t.out("ls", "work")
        msgs = self.messages(3)
        p = self.write_mbox("i.mbox", msgs, flags=["RF", "", ""])
        self.imap_row(7)  # the server already has <imap7@example.org>
        msgs.append(lf(ternlib.make_message(
            4, msgid="<imap7@example.org>")))
        p2 = self.write_mbox("j.mbox", msgs[3:])
        out = self.t.out("import", "work/INBOX", p)
        self.assertIn("3 messages queued for work/INBOX", out)
        out = self.t.out("import", "work/INBOX", p)
        self.assertIn("0 messages queued for work/INBOX", out)
        self.assertIn("3 already there", out)
        self.assertIn("1 already there", self.t.out("import", "work/INBOX",
                                                     p2))
        rows = self.db.execute(
            "SELECT p.op, p.folder, p.arg, r.raw, r.flags FROM pending p"
            " JOIN pending_raw r ON r.pending_id = p.id ORDER BY p.id"
            ).fetchall()
        self.assertEqual([r[:3] for r in rows], [("append", "INBOX", None)] * 3)
        self.assertEqual([bytes(r[3]) for r in rows[1:]], msgs[1:3])
        self.assertIn(b"\nStatus: R\n", bytes(rows[0][3]))
        self.assertEqual(rows[0][4], 0x12)  # flagged, seen
        # The store's index is the server's: nothing appears before sync.
        self.assertEqual([r[0] for r in self.ls("work/INBOX")], ["7"])

    def test_export_imap_offline_needs_cached_only(self):
        self.t.out("ls", "work")
        body = ternlib.make_message(3)
        self.imap_row(1, raw=body)
        self.imap_row(2)
        self.imap_row(3)
        p = self.path("w.mbox")
        r = self.t.run("export", "work/INBOX", "--mbox", p)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"2 messages of work/INBOX are not downloaded",
                      r.stderr)
        self.assertIn(b"--cached-only", r.stderr)
        self.assertFalse(os.path.exists(p))
        out = self.t.out("export", "work/INBOX", "--mbox", p,
                         "--cached-only")
        self.assertIn("1 message exported", out)
        self.assertIn("2 not downloaded", out)
        mb = mailbox.mbox(p)
        self.assertEqual(len(mb), 1)
        mb.close()


if __name__ == "__main__":
    ternlib.main()
