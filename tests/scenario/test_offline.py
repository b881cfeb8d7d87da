"""Folders kept offline against a real Dovecot (offline all|DAYS,
offline_max_size): each body is served once however often tern syncs,
everything reads with the server stopped, only recent mail with a number
of days, big messages keep their text and fetch attachments on demand, an
expunged message takes its body along, no flag changes anywhere, tern ls
says how much is kept, and the client opens a message at once while the
download runs. Dovecot's rawlog (every IMAP connection written to a file)
says what the server served and what tern asked."""

import base64
import email.utils
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import ternlib  # noqa: E402
import test_bodies  # noqa: E402
import test_ui  # noqa: E402
import wire  # noqa: E402

USERS = {"u%d" % i: "pw%d" % i for i in range(12)}
DAY = 86400

ATTACHMENT = random.Random(7).randbytes(300 * 1024)


def b64(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def with_attachment(n):
    """Message n with a text part and a 300 KiB attachment."""
    return ternlib.make_message(
        n, subject="Report %d" % n,
        extra_headers="", body="").replace(
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n",
        ("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
         "--b\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n"
         "--b\r\nContent-Type: application/octet-stream\r\n"
         "Content-Disposition: attachment; filename=\"report.bin\"\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n"
         % b64(ATTACHMENT)).encode())


class OfflineCase(unittest.TestCase):
    """A user of its own on a shared Dovecot for each test."""

    next_user = 0

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS, rawlog=True)
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        self.user = "u%d" % OfflineCase.next_user
        OfflineCase.next_user += 1
        self.t = ternlib.Tern()
        self.msgids = {}

    def tearDown(self):
        if not self.dovecot.started:
            self.dovecot.start()
        self.t.cleanup()

    def rc(self, keys, **kw):
        self.t.write_rc(self.t.account(self.dovecot, name="work",
                                       user=self.user, extra=keys, **kw))

    def deliver(self, n, folder="INBOX", age=0, raw=None, flags="",
                body=None):
        """Message n, arrived age seconds ago (its INTERNALDATE, the
        Maildir file's time, and its Date: header)."""
        when = int(time.time()) - age
        raw = raw or ternlib.make_message(
            n, date=email.utils.formatdate(when), body=body)
        path = self.dovecot.deliver(raw, user=self.user, folder=folder,
                                    flags=flags)
        os.utime(path, (when, when))
        mid = re.search(rb"Message-ID: (\S+)", raw).group(1).decode()
        self.msgids[n] = mid
        return mid

    def sync(self):
        return self.t.out("sync", "work")

    def served(self):
        return self.dovecot.served_bodies(self.user)

    def commands(self):
        return self.dovecot.client_commands(self.user)

    def uids(self, folder="INBOX"):
        """{subject: uid} from the store."""
        return {f[4]: f[0] for f in
                (x.split("\t") for x in
                 self.t.out("ls", "work/" + folder).splitlines())}

    def db(self):
        return ternlib.store_db(self.t.data)

    def kept(self, folder="INBOX"):
        """[(uid, has_body, view stored)] of a folder, by UID."""
        with self.db() as c:
            return c.execute(
                "SELECT m.uid, m.has_body, EXISTS (SELECT 1 FROM part p"
                " WHERE p.message_id = m.id AND p.section = 'VIEW')"
                " FROM message m JOIN folder f ON f.id = m.folder_id"
                " WHERE f.name = ? ORDER BY m.uid", (folder,)).fetchall()

    def server_flags(self, folder="INBOX"):
        return {mid: flags for _, mid, flags in
                self.dovecot.messages(self.user, folder)}


class Offline(OfflineCase):
    def test_each_body_served_once(self):
        """(a) Three syncs, mail arriving between them: Dovecot serves
        each body exactly once, and the summary counts what was stored.
        (h) No flag changes: no STORE, no \\Seen, here or there."""
        for i in range(1, 13):
            self.deliver(i, flags="F" if i == 4 else "")
        for i in range(20, 25):
            self.deliver(i, folder="Archive")
        self.deliver(30, folder="Hidden")
        self.rc("    offline all\n    folders INBOX Archive\n")
        before = self.server_flags()
        self.assertIn("17 new, 0 flag updates, 0 removed, 17 bodies stored",
                      self.sync())
        self.deliver(13)
        self.deliver(25, folder="Archive")
        self.assertIn("2 new, 0 flag updates, 0 removed, 2 bodies stored",
                      self.sync())
        self.assertIn("0 new, 0 flag updates, 0 removed, 0 bodies stored",
                      self.sync())
        served = self.served()
        want = {self.msgids[n] for n in self.msgids if n != 30}
        self.assertEqual(set(served), want)
        self.assertEqual({m: c for m, c in served.items() if c != 1}, {})
        # The folders key limits what is kept as it limits the index.
        self.assertNotIn(self.msgids[30], served)
        # Every flag as it was; the new mail unseen too.
        after = self.server_flags()
        for mid, flags in before.items():
            self.assertEqual(after[mid], flags)
        self.assertEqual(after[self.msgids[4]], {"\\Flagged"})
        self.assertFalse([f for f in after.values() if "\\Seen" in f])
        self.assertFalse([c for c in self.commands() if " STORE " in
                          c.upper()])
        for line in self.t.out("ls", "work/INBOX").splitlines():
            self.assertNotIn("S", line.split("\t")[1])
        # tern ls: a fourth column for an account kept offline.
        ls = self.t.out("ls", "work").splitlines()
        self.assertRegex(ls[0], r"^INBOX\t13\t13\toffline 13/13 "
                                r"\(\d+(\.\d)? KiB\)$")
        self.assertRegex(ls[1], r"^Archive\t6\t6\toffline 6/6 \(")

    def test_ls_without_offline_keeps_three_columns(self):
        """(g) An account without the key lists what it always did, and
        a body opened shows in the count once the key is set."""
        for i in range(1, 4):
            self.deliver(i)
        self.rc("")
        self.assertIn("3 new, 0 flag updates, 0 removed\n", self.sync())
        self.assertEqual(self.t.out("ls", "work"), "INBOX\t3\t3\n")
        self.t.out("cat", "work/INBOX", self.uids()["Message 2"])
        self.rc("    offline none\n")
        self.assertEqual(self.t.out("ls", "work"), "INBOX\t3\t2\n")
        self.rc("    offline 7\n")
        self.assertRegex(self.t.out("ls", "work"),
                         r"^INBOX\t3\t2\toffline 1/3 \(\d+ B\)\n$")
        self.assertEqual(sum(self.served().values()), 1)

    def test_days(self):
        """(c) offline 30: only mail that arrived in the last 30 days."""
        for i in range(1, 4):
            self.deliver(i, age=60 * DAY)
        for i in range(4, 7):
            self.deliver(i, age=2 * DAY)
        self.deliver(7, age=31 * DAY)
        self.rc("    offline 30\n")
        self.assertIn("3 bodies stored", self.sync())
        self.assertEqual(set(self.served()),
                         {self.msgids[n] for n in (4, 5, 6)})
        self.assertEqual([k[1] for k in self.kept()],
                         [0, 0, 0, 1, 1, 1, 0])
        self.assertRegex(self.t.out("ls", "work"),
                         r"^INBOX\t7\t7\toffline 3/7 ")
        # All of them once the key says so, those kept not again.
        self.rc("    offline all\n")
        self.assertIn("4 bodies stored", self.sync())
        served = self.served()
        self.assertEqual(len(served), 7)
        self.assertEqual(set(served.values()), {1})

    def test_big_message_keeps_its_text(self):
        """(d) Past offline_max_size a message keeps its text parts; the
        attachment comes on demand once the server is back, and no flag
        changes meanwhile."""
        self.deliver(1)
        self.deliver(2, raw=with_attachment(2))
        self.deliver(3)
        self.rc("    offline all\n    offline_max_size 100K\n")
        self.assertIn("3 bodies stored", self.sync())
        self.assertIn("0 bodies stored", self.sync())
        self.assertEqual(set(self.served()), {self.msgids[1],
                                              self.msgids[3]})
        self.assertEqual(self.kept(), [(1, 1, 0), (2, 0, 1), (3, 1, 0)])
        uid = self.uids()["Report 2"]
        # Nothing fetched the attachment, nothing marked it seen.
        self.assertFalse([c for c in self.commands()
                          if re.search(r"BODY\.PEEK\[2\]", c)])
        self.assertEqual(self.server_flags()[self.msgids[2]], set())
        self.dovecot.stop()
        out = self.t.out("cat", "work/INBOX", uid)
        self.assertIn("The report is attached.", out)
        self.assertIn("Attachment 2: report.bin", out)
        self.assertIn("not downloaded", out)
        d = tempfile.mkdtemp(dir=self.t.dir)
        r = subprocess.run([ternlib.TERN, "cat", "--save", "2",
                            "work/INBOX", uid], cwd=d, env=self.t.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(os.listdir(d), [])
        self.dovecot.start()
        r = subprocess.run([ternlib.TERN, "cat", "--save", "2",
                            "work/INBOX", uid], cwd=d, env=self.t.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(d, "report.bin"), "rb") as f:
            self.assertEqual(f.read(), ATTACHMENT)

    def test_structure_beyond_the_parser_comes_whole(self):
        """A big message whose BODYSTRUCTURE is nested deeper than the
        parser reads: the sync goes on on a new connection and keeps it
        whole, once."""
        self.deliver(1)
        deep = test_bodies.deep_message(70)
        self.deliver(2, raw=deep)
        self.deliver(3)
        self.rc("    offline all\n    offline_max_size 50K\n")
        r = self.t.run("sync", "work")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"3 bodies stored", r.stdout)
        self.assertIn(b"reconnected after", r.stderr)
        self.assertIn("0 bodies stored", self.sync())
        self.assertEqual(self.kept(), [(1, 1, 0), (2, 1, 0), (3, 1, 0)])
        served = self.served()
        self.assertEqual(len(served), 3)
        self.assertEqual(set(served.values()), {1})
        self.dovecot.stop()
        r = self.t.run("cat", "--raw", "work/INBOX", self.uids()["Deep one"])
        self.assertEqual(r.stdout, deep)

    def test_a_refused_body_does_not_stop_the_others(self):
        """The server answers NO for one body: a note, the sync goes on
        and succeeds, and the next one gets what is left."""
        for i in range(1, 5):
            self.deliver(i)
        proxy = wire.Proxy(self.dovecot.imap_port)
        rule = wire.rewrite_reply(
            r"BODY\.PEEK\[\]",
            lambda tag, line: tag + b" NO [SERVERBUG] cannot read it\r\n",
            times=None)
        armed = [True]

        def asks_for_3(line):
            """A body fetch whose UID set holds 3, during the first sync:
            the server answers the others and then NO."""
            m = re.search(rb"UID FETCH (\S+) \(.*BODY\.PEEK\[\]", line)
            if not armed[0] or not m:
                return False
            for r in m.group(1).split(b","):
                a, _, b = r.partition(b":")
                lo, hi = sorted((int(a), int(b) if b else int(a)))
                if lo <= 3 <= hi:
                    return True
            return False
        rule.matches = asks_for_3
        proxy.add(rule)
        try:
            self.rc("    offline all\n", tls="off", port=proxy.port)
            r = self.t.run("sync", "work")
            armed[0] = False
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"INBOX: a body not kept offline", r.stderr)
            self.assertIn(b"cannot read it", r.stderr)
            # What came before the NO is kept (Dovecot sent even 3's),
            # and the others were asked for after it.
            first = [k[0] for k in self.kept() if k[1]]
            self.assertIn(4, first)
            self.assertIn(1, first)
            out = self.sync()
            self.assertIn("%d bodies stored" % (4 - len(first)), out)
            self.assertEqual([k[1] for k in self.kept()], [1, 1, 1, 1])
        finally:
            proxy.stop()

    def test_expunged_message_loses_its_body(self):
        """(e) Expunged on the server: its row, body and bytes go at the
        next sync."""
        for i in range(1, 5):
            self.deliver(i, body="Body %d. " % i + "x" * 20000 + "\n")
        self.rc("    offline all\n")
        self.assertIn("4 bodies stored", self.sync())
        c = self.dovecot.imap(self.user)
        try:
            c.select("INBOX")
            c.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
            c.expunge()
        finally:
            c.logout()
        self.assertIn("1 removed, 0 bodies stored", self.sync())
        self.assertEqual([k[0] for k in self.kept()], [1, 3, 4])
        with self.db() as db:
            bodies = [r[0] for r in db.execute(
                "SELECT " + ternlib.BODY + " FROM body b")]
            self.assertEqual(db.execute(
                "SELECT count(*) FROM pack_free").fetchone()[0], 0)
        self.assertEqual(len(bodies), 3)
        self.assertFalse([b for b in bodies if b"Body 2." in b])
        self.assertRegex(self.t.out("ls", "work"),
                         r"^INBOX\t3\t3\toffline 3/3 \(")

    def test_everything_reads_with_the_server_stopped(self):
        """(b) offline all, then the server stops: every message of the
        folder opens, in tern cat and in the client."""
        for i in range(1, 9):
            self.deliver(i, body="Text of message %d.\n" % i)
        self.deliver(9, raw=with_attachment(9))
        self.rc("    offline all\n    offline_max_size 1M\n")
        self.assertIn("9 bodies stored", self.sync())
        self.dovecot.stop()
        for subject, uid in self.uids().items():
            r = self.t.run("cat", "work/INBOX", uid)
            self.assertEqual(r.returncode, 0, (subject, r.stderr))
            self.assertIn("Subject: %s\n" % subject, r.stdout.decode())
        r = self.t.run("cat", "--raw", "work/INBOX", self.uids()["Report 9"])
        self.assertEqual(r.stdout, with_attachment(9))
        s = test_ui.Screen(self.t)
        try:
            s.wait("Report 9", timeout=20)
            # The first line: Report 9, by its Date: header the oldest.
            s.keys("g", "Enter")
            t = s.wait("The report is attached.", timeout=20)
            self.assertIn("report.bin (application/octet-stream, 300 KiB)",
                          t)
            s.keys("q", "G", "Enter")
            s.wait("Text of message ", timeout=20)
        finally:
            s.kill()

    def test_rc_errors(self):
        """(f) Wrong values are configuration errors naming the line."""
        for keys, line, want in (
                ("    offline yes\n", 9, "offline must be none, all or a"
                                         " number of days"),
                ("    offline 0\n", 9, "offline must be"),
                ("    offline\n", 9, "missing value"),
                ("    offline all\n    offline_max_size big\n", 10,
                 "offline_max_size must be a size"),
                ("    offline_max_size -1\n", 9,
                 "offline_max_size must be a size")):
            self.rc(keys)
            r = self.t.run("sync", "work")
            self.assertEqual(r.returncode, 2, keys)
            self.assertIn("rc:%d: %s" % (line, want), r.stderr.decode())
        self.t.write_rc(self.t.account(self.dovecot, name="home",
                                       protocol="pop3", user=self.user,
                                       extra="    offline all\n"))
        r = self.t.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn("rc:1: offline is for imap accounts",
                      r.stderr.decode())
        self.assertEqual(self.commands(), [])


class Client(OfflineCase, test_ui.UiCase):
    """The client's worker runs the download; a message opened meanwhile
    comes at once, not after it."""

    def setUp(self):
        OfflineCase.setUp(self)
        self.screens = []

    def tearDown(self):
        for s in self.screens:
            s.kill()
        OfflineCase.tearDown(self)

    def test_open_while_the_download_runs(self):
        n = 60
        for i in range(1, n + 1):
            # A second apart: Message 1 the oldest, last in the index.
            self.deliver(i, age=n - i, body="Text of message %d.\n" % i)

        # Every body the server is asked for costs 0.25 s, however many
        # a command asks for: the download of all takes 15 s or more.
        def slow(conn, command):
            m = re.search(r"UID FETCH (\S+) ", command)
            count = 0
            for r in m.group(1).split(",") if m else ():
                a, _, b = r.partition(":")
                count += int(b) - int(a) + 1 if b and b != "*" else 1
            time.sleep(0.25 * count)

        proxy = wire.Proxy(self.dovecot.imap_port)
        proxy.add(wire.call(slow, match=r"BODY\.PEEK\[\]", times=None))
        try:
            self.rc("    offline all\n", tls="off", port=proxy.port)
            s = self.start()
            s.wait("[%d msgs" % n, timeout=30)
            s.wait("bodies INBOX", timeout=30)
            # The oldest: the last the download would get to, on the
            # first line.
            s.keys("g")
            wire.wait_for(lambda: re.search(r"Message 1\s*$",
                                            s.cursor_line()),
                          10, "the cursor on Message 1\n" + s.text())
            start = time.time()
            s.keys("Enter")
            s.wait("Text of message 1.", timeout=30)
            took = time.time() - start
            kept = sum(k[1] for k in self.kept())
            self.assertLess(kept, n, "the download ended first (%.1f s)"
                            % took)
            self.assertLess(took, 8.0)
            s.keys("q")
            # Then the download goes on to the end, by itself.
            wire.wait_for(lambda: sum(k[1] for k in self.kept()) == n,
                          60, "every body")
            self.assertEqual(set(self.served().values()), {1}, self.served())
            self.assertEqual(len(self.served()), n)
            s.keys("q")
            s.wait("EXIT=0")
        finally:
            proxy.stop()
        # The progress and its notes did not flood the client: at most
        # ten progress updates a second reach it, and no note per body.
        notes = [x for x in self.log_events().splitlines()
                 if x.split(" ")[1:2] == ["note"]]
        self.assertLess(len(notes), 10, notes)


if __name__ == "__main__":
    ternlib.main()
