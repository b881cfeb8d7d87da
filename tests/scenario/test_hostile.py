"""Hostile input to what exists now: mail in the store whose headers carry
terminal escapes, C1 and bidi controls; rc files with NUL bytes, huge lines
and huge sizes; a store that cannot be written (not writable, locked by
another process, a full disk). Each ends in a clear message and the
documented exit status, never a crash, a hang or raw control bytes on the
terminal, and nothing in the store is lost."""

import os
import pwd
import random
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import fakeserver  # noqa: E402
import ternlib  # noqa: E402

RC = "account home\n protocol pop3\n host 127.0.0.1\n user u\n passcmd true\n"

# Everything a hostile header can carry to attack a terminal: CSI colour
# and OSC title/hyperlink sequences, a C1 CSI (U+009B), NEL, bidi
# overrides and isolates (Trojan Source), a BEL, a backspace, a carriage
# return that would overwrite the line, a newline that would forge a row,
# and a tab that would forge a column.
HOSTILE = ("\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b]8;;http://evil/\x1b\\"
           "link \u009b2J \u0085 \u202eevil\u202c \u2066iso\u2069 \u200f"
           " bell\x07 back\x08 cr\r nl\nfake\tcol")
RAW_BAD = [b"\x1b", b"\x07", b"\x08", b"\r", b"\xc2\x9b", b"\xc2\x85",
           b"\xe2\x80\xae", b"\xe2\x80\xac", b"\xe2\x81\xa6", b"\xe2\x81\xa9",
           b"\xe2\x80\x8f"]


def no_raw_controls(test, out):
    """No control byte but tab and newline, nor a C1 or bidi control,
    reaches stdout."""
    for b in RAW_BAD:
        test.assertNotIn(b, out)
    for c in out:
        test.assertTrue(c >= 0x20 or c in (0x09, 0x0a), "byte %#x" % c)
    test.assertNotIn(0x7f, out)


def other_user():
    """(uid, gid) of a user other than root, nobody preferably; or None."""
    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        pass
    for pw in pwd.getpwall():
        if pw.pw_uid != 0:
            return pw.pw_uid, pw.pw_gid
    return None


class HostileMail(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.t.write_rc(RC)
        self.t.out("ls", "home")
        self.dbpath = os.path.join(self.t.data, "tern", "tern.db")
        self.db = sqlite3.connect(self.dbpath)

    def tearDown(self):
        self.db.close()
        self.t.cleanup()

    def folder_id(self, name="INBOX"):
        return self.db.execute(
            "SELECT f.id FROM folder f JOIN account a ON a.id = f.account_id"
            " WHERE a.name = 'home' AND f.name = ?", (name,)).fetchone()[0]

    def insert(self, subject, sender, folder="INBOX"):
        c = self.db.cursor()
        c.execute("INSERT INTO message (folder_id, uid, uidvalidity, flags,"
                  " date, from_, subject) VALUES (?, -1, 1, 0, 1700000000,"
                  " ?, ?)", (self.folder_id(folder), sender, subject))
        c.execute("UPDATE message SET uid = id WHERE id = ?", (c.lastrowid,))
        self.db.commit()

    def test_controls_in_subject_and_from_are_visible(self):
        self.insert(HOSTILE, "Eve \x1b[2J\u202e <eve@example.org>")
        self.insert("plain", "Bob <bob@example.org>")
        out = self.t.run("ls", "home/INBOX", check=True).stdout
        no_raw_controls(self, out)
        rows = out.decode().splitlines()
        # Still one row per message and five columns: no forged row or
        # column from the newline and tab in the subject.
        self.assertEqual(len(rows), 2)
        self.assertEqual([len(r.split("\t")) for r in rows], [5, 5])
        text = out.decode()
        for shown in ("^[[31mred", "^[]0;owned^G", "<U+009B>", "<U+202E>evil",
                      "<U+2066>", "^G", "^H", "^M", "^J", "<U+0085>"):
            self.assertIn(shown, text)
        self.assertEqual(rows[1].split("\t")[4], "plain")

    def test_invalid_utf8_is_replaced(self):
        # Bytes that are not UTF-8, among them a raw C1 CSI (0x9b) that some
        # terminals take as ESC [.
        c = self.db.cursor()
        c.execute("INSERT INTO message (folder_id, uid, uidvalidity, flags,"
                  " date, from_, subject) VALUES (?, 1, 1, 0, 1700000000,"
                  " CAST(? AS TEXT), CAST(? AS TEXT))",
                  (self.folder_id(), b"\x9b31m\xff\xfe<x@y>",
                   b"caf\xe9 \xc0\xaf \xed\xa0\x80 \x9b2J"))
        self.db.commit()
        out = self.t.run("ls", "home/INBOX", check=True).stdout
        no_raw_controls(self, out)
        out.decode("utf-8")  # valid UTF-8 only
        self.assertIn("\ufffd", out.decode())

    def test_hostile_folder_names_listed_visibly(self):
        for name in ("\x1b]0;owned\x07", "a\nb", "../../etc", "\u202etxt.exe"):
            self.db.execute("INSERT INTO folder (account_id, name) SELECT "
                            "id, ? FROM account WHERE name = 'home'", (name,))
        self.db.commit()
        out = self.t.run("ls", "home", check=True).stdout
        no_raw_controls(self, out)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 5, lines)  # INBOX and the four
        self.assertIn("../../etc\t0\t0", lines)

    def test_huge_header_values(self):
        # A 10 MB subject and a run of 100,000 controls: listed, bounded
        # in time, still visible.
        self.insert("x" * (10 << 20), "\x1b" * 100000)
        r = self.t.run("ls", "home/INBOX", check=True, timeout=60)
        no_raw_controls(self, r.stdout)
        self.assertGreater(len(r.stdout), 10 << 20)


class HostileRc(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()

    def tearDown(self):
        self.t.cleanup()

    def write(self, data, mode=0o600):
        with open(self.t.rc, "wb") as f:
            f.write(data)
        os.chmod(self.t.rc, mode)

    def refused(self, what):
        r = self.t.run("ls", timeout=30)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 2, err)
        self.assertTrue(err.startswith("tern: "), err)
        self.assertIn(what, err)
        self.assertEqual(len(err.splitlines()), 1, err)
        no_raw_controls(self, r.stderr)
        return err

    def test_nul_byte(self):
        self.write(RC.encode() + b" from a\0b\n")
        self.assertIn(":6: NUL byte", self.refused("NUL"))

    def test_long_line_under_the_limit(self):
        self.write(b"# " + b"x" * 1000000 + b"\n" + RC.encode())
        self.assertIn("home\tpop3", self.t.out("ls"))

    def test_long_value(self):
        self.write(RC.encode() + b" from \"" + b"y" * 900000 + b"\"\n")
        self.assertIn("home\tpop3", self.t.out("ls"))

    def test_file_over_the_limit(self):
        self.write(RC.encode() + b"#" * (2 << 20) + b"\n")
        self.refused("too large")

    def test_huge_sparse_file(self):
        # 4 GB that take no disk: refused after reading at most the limit.
        with open(self.t.rc, "wb") as f:
            f.write(RC.encode())
            f.truncate(4 << 30)
        os.chmod(self.t.rc, 0o600)
        self.refused("too large")

    def test_endless_device(self):
        r = self.t.run("-F", "/dev/zero", "ls", timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"too large", r.stderr)

    def test_directory(self):
        os.remove(self.t.rc) if os.path.exists(self.t.rc) else None
        os.mkdir(self.t.rc)
        self.refused("rc")

    def test_escapes_in_rc_do_not_reach_the_terminal(self):
        self.write(b"account \x1b[2Jx\n protocol pop3\n")
        self.refused("rc:1: control character")
        # Words quoted in messages are shown visibly.
        self.write(b"account a\n \xc2\x9b2Jkey v\n")
        self.refused("rc:2: unknown key '<U+009B>2Jkey'")
        self.write(b"\xe2\x80\xaeboom v\n")
        self.refused("unknown command '<U+202E>boom'")

    def test_many_words_and_accounts(self):
        self.write(b"account a\n folders" + b" f" * 100 + b"\n")
        self.refused("rc:2")
        text = "".join("account a%d\n protocol pop3\n host h\n user u\n"
                       " passcmd true\n" % i for i in range(5000))
        self.write(text.encode())
        self.assertEqual(len(self.t.out("ls").splitlines()), 5001)

    def test_password_in_a_readable_rc(self):
        rc = RC + "account b\n protocol imap\n host h\n user u\n" \
            " password hunter2\n"
        for mode in (0o644, 0o640):
            with self.subTest(mode=oct(mode)):
                self.write(rc.encode(), mode)
                err = self.refused("readable or writable by others")
                self.assertIn("rc:6: account b", err)
                self.assertNotIn("hunter2", err)
        # Writable by others: refused whatever it holds.
        for mode in (0o620, 0o602):
            with self.subTest(mode=oct(mode)):
                self.write(rc.encode(), mode)
                err = self.refused("writable by others")
                self.assertIn("chmod go-w %s" % self.t.rc, err)
                self.assertNotIn("hunter2", err)
        self.write(rc.encode(), 0o600)
        self.t.out("ls")
        self.write(RC.encode(), 0o644)  # passcmd only: fine
        self.t.out("ls")


class HostileStore(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.t.write_rc(RC)
        self.t.out("ls", "home")
        self.dbpath = os.path.join(self.t.data, "tern", "tern.db")
        db = sqlite3.connect(self.dbpath)
        fid = db.execute("SELECT f.id FROM folder f JOIN account a ON "
                         "a.id = f.account_id WHERE a.name = 'home'"
                         ).fetchone()[0]
        for i in range(3):
            db.execute("INSERT INTO message (folder_id, uid, uidvalidity, "
                       "flags, date, from_, subject) VALUES (?, ?, 1, 0, "
                       "1700000000, 'Bob <b@example.org>', ?)",
                       (fid, -1 - i, "m%d" % i))
        db.execute("UPDATE message SET uid = id")
        db.commit()
        db.close()
        self.before = self.t.out("ls", "home/INBOX")

    def tearDown(self):
        self.t.cleanup()

    def failed(self, r, what):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 1, err)
        self.assertTrue(err.startswith("tern: "), err)
        self.assertIn(what, err)

    def assert_intact(self):
        self.assertEqual(self.t.out("ls", "home/INBOX"), self.before)
        db = sqlite3.connect(self.dbpath)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0],
                         "ok")
        db.close()

    def test_locked_by_another_process(self):
        # Another process holds the write lock for longer than tern waits.
        locker = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
             "db.execute('BEGIN EXCLUSIVE')\n"
             "db.execute('UPDATE message SET subject = subject')\n"
             "print('locked', flush=True)\n"
             "time.sleep(60)\n", self.dbpath],
            stdout=subprocess.PIPE)
        try:
            self.assertEqual(locker.stdout.readline(), b"locked\n")
            uid = self.before.split("\t")[0]
            r = self.t.run("flag", "home/INBOX", uid, "+S", timeout=60)
            self.failed(r, "locked")
            # Reading still works while the other process writes (WAL).
            self.assertEqual(self.t.out("ls", "home/INBOX"), self.before)
        finally:
            locker.kill()
            locker.wait()
            locker.stdout.close()
        self.assert_intact()

    def test_store_not_writable(self):
        # As root permissions do not bind: run tern as another user then,
        # from a copy of the binary that user can execute wherever the
        # checkout lives (a clone under a 0700 /root is common).
        tdir = os.path.join(self.t.data, "tern")
        tern = ternlib.TERN
        kw = {}
        if os.getuid() == 0:
            other = other_user()
            if other is None:
                print("test_store_not_writable: no user but root exists, "
                      "and root is not bound by permissions: nothing to "
                      "test here")
                return
            uid, gid = other
            kw = {"user": uid, "group": gid}
            bindir = os.path.join(self.t.dir, "bin")
            os.mkdir(bindir)
            tern = os.path.join(bindir, "tern")
            shutil.copy2(ternlib.TERN, tern)
            os.chmod(bindir, 0o755)
            os.chmod(tern, 0o755)
            os.chown(self.t.rc, uid, gid)
            for d in (self.t.dir, self.t.config,
                      os.path.join(self.t.config, "tern"), self.t.data):
                os.chmod(d, 0o755)
        os.chmod(tdir, 0o555)
        for f in os.listdir(tdir):
            os.chmod(os.path.join(tdir, f), 0o444)
        try:
            uid = self.before.split("\t")[0]
            r = subprocess.run(
                [tern, "flag", "home/INBOX", uid, "+S"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=self.t.env(), timeout=60, **kw)
            ternlib.check_sanitizers("tern flag", r.stderr)
            self.failed(r, "store")
        finally:
            os.chmod(tdir, 0o700)
            for f in os.listdir(tdir):
                os.chmod(os.path.join(tdir, f), 0o600)
            if kw:
                # Back to us: tern refuses an rc of another user.
                os.chown(self.t.rc, os.getuid(), os.getgid())
        self.assert_intact()

    def test_store_path_is_a_file(self):
        tern_home = os.path.join(self.t.dir, "data2")
        with open(tern_home, "w") as f:
            f.write("not a directory")
        r = self.t.run("ls", "home/INBOX",
                       env={"XDG_DATA_HOME": tern_home})
        self.failed(r, tern_home)

    def test_store_is_not_a_database(self):
        other = os.path.join(self.t.dir, "other")
        os.makedirs(os.path.join(other, "tern"))
        with open(os.path.join(other, "tern", "tern.db"), "wb") as f:
            f.write(b"\x1b[2J this is not SQLite" * 100)
        r = self.t.run("ls", "home/INBOX", env={"XDG_DATA_HOME": other})
        self.failed(r, "not a tern store")
        no_raw_controls(self, r.stderr)

    def test_kill_9_during_commits(self):
        # A move of 2000 messages killed at random moments: after each kill
        # the store is intact and the move happened wholly or not at all.
        db = sqlite3.connect(self.dbpath)
        fid = db.execute("SELECT folder_id FROM message").fetchone()[0]
        db.executemany("INSERT INTO message (folder_id, uid, uidvalidity, "
                       "flags, date, from_, subject) VALUES (?, ?, 1, 0, "
                       "1700000000, 'Bob <b@example.org>', 'bulk')",
                       [(fid, 1000 + i) for i in range(2000)])
        db.commit()
        db.close()
        uids = [line.split("\t")[0] for line in
                self.t.out("ls", "home/INBOX").splitlines()]
        total = len(uids)
        rnd = random.Random(9)
        here, there = "home/INBOX", "Archive"
        kills = 0
        # A move takes a few tens of ms since the message indexes went:
        # kills within 30 ms land inside most of them.
        for _ in range(16):
            p = subprocess.Popen([ternlib.TERN, "mv", here] + uids + [there],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=self.t.env())
            time.sleep(rnd.uniform(0.002, 0.03))
            p.kill()
            err = p.communicate()[1]
            ternlib.check_sanitizers("tern mv", err)
            kills += p.returncode == -signal.SIGKILL
            db = sqlite3.connect(self.dbpath)
            self.assertEqual(
                db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            counts = dict(db.execute(
                "SELECT f.name, count(m.id) FROM folder f LEFT JOIN "
                "message m ON m.folder_id = f.id GROUP BY f.id"))
            db.close()
            self.assertEqual(sum(counts.values()), total)
            # All or nothing: every message on one side.
            self.assertIn(counts.get("INBOX", 0), (0, total), counts)
            if counts.get("INBOX", 0) == 0:
                here, there = "home/Archive", "INBOX"
        self.assertGreater(kills, 3)

    def test_disk_full_during_commit(self):
        # RLIMIT_FSIZE binds root too: every write past 32 KiB fails with
        # EFBIG (SIGXFSZ ignored), as on a full disk. Opening the store fits
        # (the WAL index is 32 KiB); moving 300 messages with long subjects
        # does not, so the commit fails halfway through its log.
        db = sqlite3.connect(self.dbpath)
        fid = db.execute("SELECT folder_id FROM message").fetchone()[0]
        for i in range(300):
            db.execute("INSERT INTO message (folder_id, uid, uidvalidity, "
                       "flags, date, from_, subject) VALUES (?, ?, 1, 0, "
                       "1700000000, 'Bob <b@example.org>', ?)",
                       (fid, 1000 + i, "%d %s" % (i, "s" * 1000)))
        db.commit()
        db.close()  # the last connection: checkpointed, the log removed
        self.before = self.t.out("ls", "home/INBOX")
        uids = [line.split("\t")[0] for line in self.before.splitlines()]

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (32768, 32768))

        r = subprocess.run(
            [ternlib.TERN, "mv", "home/INBOX"] + uids + ["Archive"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.t.env(), timeout=60, preexec_fn=limit)
        ternlib.check_sanitizers("tern mv", r.stderr)
        self.failed(r, "cannot write the store")
        self.assertNotIn(b"opening", r.stderr)
        self.assert_intact()
        self.assertNotIn("Archive", self.t.out("ls", "home"))

class HostileFolderNames(unittest.TestCase):
    """An IMAP server lists folders named to escape a directory, to run a
    shell, or to drive the terminal: they stay names in the store, are
    shown visibly, and nothing is created or run outside the store."""

    def test_names_are_never_paths_or_shell_words(self):
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        marker = os.path.join(t.dir, "pwned")
        certs = fakeserver.Certs(t.dir)
        names = ["INBOX", "../../escape", "/abs", "a/b", "..",
                 "`touch %s`" % marker, "$(touch %s)" % marker,
                 "a;touch %s" % marker, "\x1b]0;owned\x07\x1b[2J"]
        listing = "".join('* LIST () "/" "%s"\r\n' % n for n in names)

        def select(c, tag, line):
            c.send("* 0 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\n"
                   "* OK [UIDNEXT 1] x\r\n%s OK [READ-WRITE] done\r\n"
                   % tag)

        srv = fakeserver.FakeServer(
            "imap", certs.good, implicit_tls=True, user="alice",
            password="pw", script={"LIST": listing + "{tag} OK done\r\n",
                                   "SELECT": select, "EXAMINE": select})
        with srv:
            t.write_rc("account acct\n protocol imap\n host 127.0.0.1\n"
                       " port %d\n tls on\n cafile %s\n user alice\n"
                       " password pw\n" % (srv.port, certs.good[0]))
            r = t.run("sync", "acct", timeout=60)
        self.assertEqual(srv.errors, [])
        self.assertEqual(r.returncode, 0, r.stderr)
        no_raw_controls(self, r.stdout + r.stderr)
        out = t.run("ls", "acct", check=True).stdout
        no_raw_controls(self, out)
        shown = [line.split("\t")[0] for line in out.decode().splitlines()]
        for n in names[:-1]:
            self.assertIn(n, shown)
        self.assertIn("^[]0;owned^G^[[2J", shown)
        # Nothing ran, nothing was made beside the rc and the store.
        self.assertFalse(os.path.exists(marker))
        made = sorted(os.path.relpath(os.path.join(d, f), t.dir)
                      for d, _, fs in os.walk(t.dir) for f in fs
                      if not f.endswith(".pem") and not f.endswith(".key"))
        self.assertEqual([m for m in made if not m.startswith(
            os.path.join("data", "tern", "tern.db")) and not re.fullmatch(
            r"data/tern/sync-\d+\.(lock|wait)", m)], ["config/tern/rc"])
        for parent in (os.path.dirname(t.dir), "/"):
            self.assertFalse(os.path.exists(os.path.join(parent, "escape")))


RSS_OF_CHILD = ("import resource, subprocess, sys\n"
                "r = subprocess.run(sys.argv[1:])\n"
                "print('maxrss_kb=%d' % resource.getrusage("
                "resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
                "sys.exit(r.returncode)\n")


def pop3_mailbox(msgs):
    """A fakeserver script for a POP3 mailbox of msgs (raw bytes): UIDL,
    LIST, RETR and DELE as a server does them."""
    deleted = set()

    def uidl(c, tag, line):
        c.send("+OK\r\n" + "".join("%d u%d\r\n" % (i, i)
                                    for i in range(1, len(msgs) + 1)
                                    if i not in deleted) + ".\r\n")

    def lst(c, tag, line):
        c.send("+OK\r\n" + "".join("%d %d\r\n" % (i, len(m))
                                    for i, m in enumerate(msgs, 1)
                                    if i not in deleted) + ".\r\n")

    def retr(c, tag, line):
        m = msgs[int(line.split()[1]) - 1]
        c.send(b"+OK\r\n" + m.replace(b"\r\n.", b"\r\n..") + b".\r\n")

    def dele(c, tag, line):
        deleted.add(int(line.split()[1]))
        c.send("+OK\r\n")

    def rset(c, tag, line):
        deleted.clear()
        c.send("+OK\r\n")

    return {"UIDL": uidl, "LIST": lst, "RETR": retr, "DELE": dele,
            "RSET": rset,
            "STAT": "+OK %d %d\r\n" % (len(msgs), sum(map(len, msgs)))}


class HostileStorePop3(unittest.TestCase):
    def test_disk_full_during_download_sends_no_dele(self):
        # The store cannot grow past 64 KiB; 40 messages of 3 KB do not
        # fit. The commit fails, so no DELE may go out; the next sync,
        # with room, gets every message exactly once and only then deletes.
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        certs = fakeserver.Certs(t.dir)
        msgs = [ternlib.make_message(i, body="x" * 3000 + "\n")
                for i in range(1, 41)]
        srv = fakeserver.FakeServer("pop3", certs.good, implicit_tls=True,
                                    user="alice", password="pw",
                                    script=pop3_mailbox(msgs))

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

        with srv:
            t.write_rc("account acct\n protocol pop3\n host 127.0.0.1\n"
                       " port %d\n tls on\n cafile %s\n user alice\n"
                       " password pw\n" % (srv.port, certs.good[0]))
            t.out("ls", "acct")
            r = subprocess.run([ternlib.TERN, "sync", "acct"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=t.env(), timeout=60, preexec_fn=limit)
            ternlib.check_sanitizers("tern sync", r.stderr)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(b"cannot write the store", r.stderr)
            self.assertGreater(sum(c.startswith("RETR")
                                   for c in srv.commands), 0)
            self.assertFalse([c for c in srv.commands
                              if c.startswith("DELE")], srv.commands)
            first = len(srv.commands)
            out = t.out("sync", "acct")
            self.assertIn("40 new", out)
            dele = [c for c in srv.commands[first:] if c.startswith("DELE")]
            self.assertEqual(len(dele), 40)
        self.assertEqual(srv.errors, [])
        rows = t.out("ls", "acct/INBOX").splitlines()
        self.assertEqual(len(rows), 40)
        subjects = sorted(r.split("\t")[4] for r in rows)
        self.assertEqual(subjects, sorted("Message %d" % i
                                          for i in range(1, 41)))

    def test_millions_of_uidl_lines(self):
        # Two million UIDL lines: refused quickly and in bounded memory,
        # nothing downloaded, nothing deleted.
        t = ternlib.Tern()
        self.addCleanup(t.cleanup)
        certs = fakeserver.Certs(t.dir)
        n = 2000000
        uidl = ("+OK\r\n" + "".join("%d u%d\r\n" % (i, i)
                                     for i in range(1, n + 1)) + ".\r\n")
        uidl = uidl.encode()
        srv = fakeserver.FakeServer(
            "pop3", certs.good, implicit_tls=True, user="alice",
            password="pw", script={"UIDL": lambda c, tag, line: c.send(uidl),
                                   "STAT": "+OK %d %d\r\n" % (n, n * 100)})
        with srv:
            t.write_rc("account acct\n protocol pop3\n host 127.0.0.1\n"
                       " port %d\n tls on\n cafile %s\n user alice\n"
                       " password pw\n" % (srv.port, certs.good[0]))
            t0 = time.time()
            # A small parent whose only child is tern reports its peak.
            r = subprocess.run(
                [sys.executable, "-c", RSS_OF_CHILD, ternlib.TERN, "sync",
                 "acct"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=t.env(), timeout=120)
            took = time.time() - t0
        ternlib.check_sanitizers("tern sync", r.stderr)
        rss_mb = int(r.stderr.splitlines()[-1].split(b"=")[1]) / 1024
        print("2,000,000 UIDL lines: exit %d in %.1f s, peak RSS %.0f MB"
              % (r.returncode, took, rss_mb), file=sys.stderr)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertLess(took, 60)
        self.assertLess(rss_mb, 600)
        self.assertFalse([c for c in srv.commands
                          if c.startswith(("RETR", "DELE"))])
        self.assertEqual(t.out("ls", "acct/INBOX"), "")


if __name__ == "__main__":
    ternlib.main()
