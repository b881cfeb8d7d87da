"""The full-screen client driven through tmux: the real binary in a real
terminal, keys sent with send-keys, the screen read with capture-pane."""

import email
import email.policy
import fcntl
import os
import re
import json
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402
from smtpd import Smtpd  # noqa: E402
from fakeserver import FakePOP3  # noqa: E402

TMUX = ternlib.find_binary("tmux")



def read(path):
    """A file's text, the file closed again."""
    with open(path) as f:
        return f.read()

class Screen:
    """tern running in its own tmux server."""

    _n = 0

    def __init__(self, tern, args=(), width=100, height=30, env=None,
                 shell=False):
        Screen._n += 1
        self.sock = "tern-ui-%d-%d" % (os.getpid(), Screen._n)
        self.tern = tern
        self.log = os.path.join(tern.dir, "ui.log")
        e = tern.env(env)
        e.pop("TMUX", None)
        e.setdefault("TERM", "screen-256color")
        if env and "TERM" in env:
            e["TERM"] = env["TERM"]
        cmd = " ".join([ternlib.TERN, "--log", self.log] + list(args))
        # The shell keeps the pane after tern exits, so its exit shows.
        # An interactive shell (job control, for ^Z) gets the command
        # typed in instead.
        run = "bash --norc --noprofile -i" if shell else \
            "%s; echo EXIT=$?; sleep 60" % cmd
        subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null",
                        "new-session", "-d", "-x", str(width), "-y",
                        str(height), run], env=e, check=True)
        if shell:
            end = time.time() + 10
            while not self.text().strip() and time.time() < end:
                time.sleep(0.05)  # the prompt
            self.literal(cmd + "; echo EXIT=$?")
            self.keys("Enter")

    def text(self):
        r = subprocess.run([TMUX, "-L", self.sock, "capture-pane", "-p"],
                           stdout=subprocess.PIPE)
        return r.stdout.decode(errors="replace")

    def attributes(self):
        """The SGR parameters the screen uses now (capture-pane -e)."""
        r = subprocess.run([TMUX, "-L", self.sock, "capture-pane", "-p",
                            "-e"], stdout=subprocess.PIPE)
        seen = set()
        for params in re.findall(rb"\x1b\[([0-9;:]*)m", r.stdout):
            p = params.decode().replace(":", ";").split(";")
            i = 0
            while i < len(p):
                # 38;5;N and 38;2;R;G;B (and 48, 58) are one parameter.
                if p[i] in ("38", "48", "58") and i + 1 < len(p):
                    n = 3 if p[i + 1] == "5" else 5
                    seen.add(";".join(p[i:i + n]))
                    i += n
                    continue
                seen.add(p[i] or "0")
                i += 1
        return seen

    def colours(self):
        """The colour parameters among them (39 and 49, the terminal's
        default colours, are not colours)."""
        out = set()
        for a in self.attributes():
            n = a.split(";")[0]
            if n in ("38", "48", "58") or \
                    (n.isdigit() and (30 <= int(n) <= 37 or
                                      40 <= int(n) <= 47 or
                                      90 <= int(n) <= 97 or
                                      100 <= int(n) <= 107)):
                out.add(a)
        return out

    def keys(self, *keys):
        subprocess.run([TMUX, "-L", self.sock, "send-keys"] + list(keys),
                       check=True)

    def literal(self, s):
        subprocess.run([TMUX, "-L", self.sock, "send-keys", "-l", s],
                       check=True)

    def wait(self, what, timeout=10, absent=False):
        """Wait until what is on screen (or gone); return the screen."""
        end = time.time() + timeout
        while True:
            t = self.text()
            if (what in t) != absent:
                return t
            if time.time() > end:
                raise AssertionError("waited %ss for %r %s; screen:\n%s" %
                                     (timeout, what,
                                      "to go" if absent else "", t))
            time.sleep(0.05)

    def wait_re(self, pattern, timeout=10):
        """Wait until the regular expression matches the screen (a line
        read whole, not off a capture taken while it was drawn)."""
        end = time.time() + timeout
        while True:
            t = self.text()
            if re.search(pattern, t, re.M):
                return t
            if time.time() > end:
                raise AssertionError("waited %ss for /%s/; screen:\n%s" %
                                     (timeout, pattern, t))
            time.sleep(0.05)

    def settled(self, quiet=0.3, timeout=10):
        """The screen once it has stayed the same for quiet seconds."""
        end = time.time() + timeout
        t = self.text()
        while True:
            time.sleep(quiet)
            u = self.text()
            if u == t or time.time() > end:
                return u
            t = u

    def cursor_line(self):
        lines = [x for x in self.text().splitlines() if "│>" in x]
        return lines[0] if lines else ""

    def wait_cursor(self, what, timeout=10):
        """Wait until the index cursor's line shows what."""
        end = time.time() + timeout
        while what not in self.cursor_line():
            if time.time() > end:
                raise AssertionError("cursor not on %r; screen:\n%s" %
                                     (what, self.text()))
            time.sleep(0.05)

    def resize(self, width, height):
        subprocess.run([TMUX, "-L", self.sock, "resize-window", "-x",
                        str(width), "-y", str(height)], check=True)

    def kill(self):
        subprocess.run([TMUX, "-L", self.sock, "kill-server"],
                       stderr=subprocess.DEVNULL)


class UiCase(unittest.TestCase):
    def setUp(self):
        self.t = ternlib.Tern()
        self.screens = []

    def tearDown(self):
        for s in self.screens:
            s.kill()
        self.t.cleanup()

    def start(self, *args, **kw):
        s = Screen(self.t, args, **kw)
        self.screens.append(s)
        return s

    def log_events(self):
        with open(os.path.join(self.t.dir, "ui.log")) as f:
            return f.read()

    def wait_log(self, what, timeout=10):
        """Wait until the client's log holds what (a note on the message
        line may be replaced by the next before the screen is read);
        returns the log."""
        end = time.time() + timeout
        while True:
            try:
                ev = self.log_events()
            except FileNotFoundError:
                ev = ""  # the client has not started yet
            if what in ev:
                return ev
            if time.time() > end:
                raise AssertionError("waited %ss for %r in the log:\n%s" %
                                     (timeout, what, ev))
            time.sleep(0.05)

    def rows(self, table):
        """How many rows a table of the store holds."""
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        finally:
            db.close()

    def queued(self):
        """How many changes wait in the store's queue."""
        return self.rows("pending")


class Demo(UiCase):
    def test_demo_screens(self):
        s = self.start("--demo")
        t = s.wait("local/INBOX  [241 msgs")
        # Folder list with unread counts, and non-ASCII senders aligned.
        self.assertIn("Lists/tern-devel", t)
        self.assertIn("Archive", t)
        # Counts arrive in idle turns after the first screen: wait.
        end = time.time() + 10
        while not re.search(r"INBOX\s+15", t) and time.time() < end:
            time.sleep(0.05)
            t = s.text()
        self.assertRegex(t, r"INBOX\s+15")
        # The cursor starts on the newest message, at the bottom.
        self.assertIn(">N", t)
        # Open it: the pager shows decoded headers and the body.
        s.keys("Enter")
        t = s.wait("Subject: ")
        self.assertIn("From: ", t)
        self.assertIn("Subject: Welcome to tern", t)
        s.wait("Welcome to the tern demo.")
        # Reading it marks it read: 14 new now.
        s.keys("q")
        s.wait("241 msgs, 14 new")
        # Help lists the live bindings.
        s.keys("?")
        s.wait("index keys")
        # Waited for, not read off the first capture: tmux may show the
        # screen half drawn.
        s.wait("delete-message")
        s.keys("q")
        s.wait("241 msgs")
        s.keys("q")
        s.wait("EXIT=0")
        self.assertIn("first-draw", self.log_events())

    def test_change_folder_and_threads(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("c", "j", "j", "Enter")
        t = s.wait("local/Lists/tern-devel  [160 msgs, 30 new]")
        s.keys("g")
        s.keys("v")
        t = s.wait("Threaded view")
        self.assertIn("└─>", t)
        s.keys("v")
        s.wait("Flat view")
        s.keys("]")
        s.wait("local/Sent  [25")

    def test_delete_purge_flag_move(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        # Flag the newest message, then delete it and purge.
        s.keys("F")
        s.wait(">N!")
        s.keys("d")
        s.wait(">D!")
        s.keys("u")
        s.wait(">N!")
        s.keys("d")
        s.keys("$")
        s.wait("local/INBOX  [240 msgs")
        s.wait("Deleted messages purged")
        # Move the (new) last message to Archive.
        s.keys("G", "s")
        s.wait("Move to folder")
        s.literal("Arch")
        s.keys("Tab", "Enter")
        s.wait("Moved to Archive")
        s.wait("local/INBOX  [239 msgs")
        s.keys("c", "g", "j", "Enter")
        s.wait("local/Archive  [101 msgs")
        s.keys("q")
        s.wait("EXIT=0")

    def test_search_every_folder(self):
        """From the folder list, / searches every folder of the account:
        each shows how many of its messages match, and Enter opens one
        limited to them."""
        import sqlite3 as sq
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        db = sq.connect(os.path.join(self.t.data, "tern-demo", "tern.db"))
        want = {name: n for name, n in db.execute(
            "SELECT f.name, count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE m.subject LIKE '%invoice%'"
            " GROUP BY f.name")}
        db.close()
        self.assertIn("INBOX", want)
        # A malformed pattern says where.
        s.keys("c", "/")
        s.wait("Search every folder of local:")
        s.literal("~s (")
        s.keys("Enter")
        s.wait("Bad pattern")
        s.keys("/")
        s.wait("Search every folder of local:")
        s.literal("~s invoice")
        s.keys("Enter")
        log = self.wait_log("folders-search local")
        total = sum(want.values())
        self.assertIn("matches=%d folders=%d" % (total, len(want)), log)
        t = s.wait("match in %d folder" % len(want))
        self.assertRegex(t, r"INBOX\s+=%d│" % want["INBOX"])
        self.assertRegex(t, r"Archive\s+=%d│" % want.get("Archive", 0))
        s.keys("Enter")
        s.wait("%d shown, limit: ~s invoice" % want["INBOX"])

    def test_search_and_limit(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("/")
        s.wait("Search:")
        s.literal("Invoice")
        s.keys("Enter")
        s.wait_cursor("Invoice #4711")
        # n goes on to the next match, wrapping around the folder.
        first = s.cursor_line()
        s.keys("n")
        end = time.time() + 10
        while s.cursor_line() == first and time.time() < end:
            time.sleep(0.05)
        self.assertIn("Invoice", s.cursor_line())
        self.assertNotEqual(first, s.cursor_line())
        s.keys("l")
        s.literal("Kofi")
        s.keys("Enter")
        t = s.wait("shown, limit: Kofi")
        rows = [x for x in t.splitlines() if "│" in x and "Oct" in x]
        self.assertTrue(rows)
        for r in rows:
            self.assertIn("Kofi", r)
        # The pager shows the limit's word highlighted (attributes of
        # its own around it, whatever case it is in), and nothing else.
        s.keys("Enter")
        s.wait("From:")
        end = time.time() + 10
        while True:
            raw = subprocess.run([TMUX, "-L", s.sock, "capture-pane", "-p",
                                  "-e"], stdout=subprocess.PIPE).stdout
            # The field's name has a colour of its own.
            hl = re.search(rb"From:(\x1b\[[0-9;]*m)* (\x1b\[[0-9;]*m)+Kofi"
                           rb"(\x1b\[[0-9;]*m)+"
                           rb" Mensah <(\x1b\[[0-9;]*m)+kofi"
                           rb"(\x1b\[[0-9;]*m)+@", raw)
            if hl or time.time() > end:
                break
            time.sleep(0.05)
        self.assertTrue(hl, raw)
        self.assertRegex(
            raw, rb"\n(\x1b\[[0-9;]*m)*Subject:(\x1b\[[0-9;]*m)* [^\x1b]*\n")
        # Search within the pager.
        s.keys("/")
        s.literal("demo")
        s.keys("Enter")
        s.wait("Sent from the tern demo")

    def test_resize_and_small_terminal(self):
        s = self.start("--demo", width=80, height=24)
        s.wait("local/INBOX  [241")
        s.resize(200, 50)
        self.wait_log("resize 200x50")
        # The frame uses the whole width (the title was cut at 80) and
        # the index the new height, once the redraw after the resize is in
        # (the folder name is on screen at both sizes: wait for the rows).
        end = time.time() + 10
        while True:
            t = s.text()
            rows = len([x for x in t.splitlines() if "│" in x])
            if rows >= 40 or time.time() > end:
                break
            time.sleep(0.05)
        self.assertIn("Lists/tern-devel", t)
        self.assertIn("$:Sync  ?:Help", t)
        self.assertGreaterEqual(rows, 40)
        s.resize(40, 10)
        s.wait("INBOX")
        t = s.text()
        self.assertNotIn("EXIT", t)

    def test_suspend_and_resume(self):
        s = self.start("--demo", shell=True)
        s.wait("local/INBOX  [241")
        s.keys("C-z")
        t = s.wait("Stopped")
        self.assertNotIn("local/INBOX  [241", t)
        s.literal("fg")
        s.keys("Enter")
        s.wait("local/INBOX  [241")
        s.keys("j")
        s.keys("q")
        # The shell is back (its "; echo" ran when tern stopped).
        s.wait("local/INBOX  [241", absent=True)
        self.wait_log("peak-rss")

    def test_attachment_save_and_open(self):
        out = os.path.join(self.t.dir, "saved")
        os.makedirs(out)
        opened = os.path.join(self.t.dir, "opened")
        opener = os.path.join(self.t.dir, "opener")
        with open(opener, "w") as f:
            f.write("#!/bin/sh\ncp \"$1\" '%s'\n" % opened)
        os.chmod(opener, 0o755)
        s = self.start("--demo", env={"TERN_OPENER": opener})
        s.wait("local/INBOX  [241")
        s.keys("Enter")
        s.wait("Welcome to the tern demo.")
        s.keys("G")
        s.wait("keys.txt")
        s.keys("S")
        s.wait("Save into directory:")
        s.keys("C-u")
        s.literal(out)
        s.keys("Enter")
        s.wait("Saved to")
        with open(os.path.join(out, "keys.txt")) as f:
            self.assertEqual(f.read(), "The keys of tern are listed by ?\n")
        s.keys("o")
        s.wait("Opened")
        with open(opened) as f:
            self.assertEqual(f.read(), "The keys of tern are listed by ?\n")


def demo_db(t):
    import sqlite3 as sq
    return sq.connect(os.path.join(t.data, "tern-demo", "tern.db"))


def demo_count(t, sql, *args):
    db = demo_db(t)
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


DELETED = 0x20  # STORE_F_DELETED


class Tags(UiCase):
    """t tags, T tags by pattern, ';' applies the next action to every
    tagged message."""

    def test_tag_three_then_delete(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("g")
        s.wait_cursor("")
        # t tags and moves down, as in mutt; t again untags.
        s.keys("t", "t", "t", "t")
        s.wait("4 tagged")
        s.keys("k", "t")
        s.wait("3 tagged")
        t = s.text()
        rows = [x for x in t.splitlines() if "│" in x and "*" in x[:40]]
        self.assertEqual(len(rows), 3, t)
        s.keys("\\;")  # (a bare ; ends a tmux command)
        s.wait("Apply to 3 tagged")
        s.keys("d")
        s.wait("Deleted 3 tagged messages")
        self.assertEqual(demo_count(
            self.t, "SELECT count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'INBOX' AND"
            " m.flags & ? != 0", DELETED), 3)
        t = s.text()
        rows = [x for x in t.splitlines() if re.search(r"[ >]D\*", x)]
        self.assertEqual(len(rows), 3, t)
        # ';u' takes it back; the tags stay.
        s.literal(";u")
        s.wait("Undeleted 3 tagged messages")
        s.wait("3 tagged")
        self.assertEqual(demo_count(
            self.t, "SELECT count(*) FROM message WHERE flags & ? != 0",
            DELETED), 0)
        # Another folder: the tags are of the view they were made in.
        s.keys("]")
        s.wait("local/Archive  [100")
        s.wait("tagged", absent=True)

    def test_tag_pattern_then_move(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        want = demo_count(
            self.t, "SELECT count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'INBOX' AND"
            " m.subject LIKE '%invoice%'")
        self.assertGreater(want, 1)
        archived = demo_count(
            self.t, "SELECT count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'Archive'")
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~s invoice")
        s.keys("Enter")
        s.wait("%d tagged]" % want)
        self.wait_log("tag-pattern tag matches=%d tagged=%d" % (want, want))
        s.literal(";s")
        s.wait("Move %d tagged messages to folder" % want)
        s.literal("Archive")
        s.keys("Enter")
        s.wait("Moved %d messages to Archive" % want)
        s.wait("local/INBOX  [%d msgs" % (241 - want))
        s.wait("tagged", absent=True)
        self.assertEqual(demo_count(
            self.t, "SELECT count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'INBOX' AND"
            " m.subject LIKE '%invoice%'"), 0)
        s.keys("c", "g", "j", "Enter")
        s.wait("local/Archive  [%d msgs" % (archived + want))

    def test_tags_a_limit_hides_are_left_alone(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        q = ("SELECT count(*) FROM message m JOIN folder f ON f.id ="
             " m.folder_id WHERE f.name = 'INBOX' AND m.subject LIKE"
             " '%invoice%'")
        want = demo_count(self.t, q)
        originals = demo_count(self.t, q + " AND m.subject NOT LIKE 'Re:%'")
        self.assertTrue(0 < originals < want)
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~s invoice")
        s.keys("Enter")
        s.wait("%d tagged]" % want)
        s.keys("l")
        s.wait("Limit to")
        s.literal("!~s re")
        s.keys("Enter")
        s.wait("limit: !~s re")
        s.literal(";d")
        s.wait("Deleted %d tagged message" % originals)
        self.assertEqual(demo_count(
            self.t, q + " AND m.flags & %d != 0" % DELETED), originals)
        # The hidden ones keep their tags for later.
        s.wait("%d tagged]" % want)

    def test_tag_pattern_malformed_says_where(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~s invoice (~F")
        s.keys("Enter")
        s.wait("Bad pattern: column 12: ( is not closed")
        self.assertNotIn("tagged", s.text())
        # Untagging by pattern: ^T.
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~F")
        s.keys("Enter")
        t = s.wait(" tagged]")
        n = int(re.search(r"(\d+) tagged\]", t).group(1))
        self.assertEqual(n, demo_count(
            self.t, "SELECT count(*) FROM message m JOIN folder f ON"
            " f.id = m.folder_id WHERE f.name = 'INBOX' AND"
            " m.flags & 2 != 0"))
        s.keys("C-t")
        s.wait("Untag messages matching:")
        s.literal("~A")
        s.keys("Enter")
        s.wait("0 tagged")
        s.wait("tagged]", absent=True)


class TagsHeld(UiCase):
    def test_tagged_change_waits_for_a_held_store(self):
        """Ten thousand messages tag by pattern in one store search; their
        change, finding the store held by another writer, waits, then goes
        in whole."""
        self.t.write_rc("")
        self.t.out("ls", "local")
        path = os.path.join(self.t.data, "tern", "tern.db")
        db = sqlite3.connect(path)
        aid = db.execute("SELECT id FROM account WHERE name = 'local'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        db.executemany(
            "INSERT INTO message (folder_id, uid, flags, date, from_,"
            " subject) VALUES (?, ?, 16, ?, 'Bob <b@x>', ?)",
            [(fid, i + 1, 1700000000 + i, "Item %d" % i)
             for i in range(10000)])
        db.commit()
        s = self.start()
        s.wait("local/INBOX  [10000 msgs")
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~A")
        s.keys("Enter")
        s.wait("10000 tagged")
        # How fast is the benchmark's to say (tests/bench/ui-bench).
        self.wait_log("tag-pattern tag matches=10000 tagged=10000")
        db.execute("BEGIN IMMEDIATE")
        s.literal(";d")
        self.wait_log("The change of 10000 messages waits for the store")
        time.sleep(0.5)
        db.rollback()
        self.wait_log("index-load")
        end = time.time() + 10
        n = 0
        while time.time() < end:
            n = db.execute("SELECT count(*) FROM message WHERE flags & ?"
                           " != 0", (DELETED,)).fetchone()[0]
            if n == 10000:
                break
            time.sleep(0.1)
        db.close()
        self.assertEqual(n, 10000)
        s.wait(">D*")

class Threads(UiCase):
    """The threaded view: mime_thread's trees, threads as units under a
    sort and a limit, collapsed threads, actions on a whole thread."""

    def open_devel(self, s):
        s.wait("local/INBOX  [241")
        s.keys("c", "j", "j", "Enter")
        s.wait("local/Lists/tern-devel  [160 msgs")
        s.keys("v")
        s.wait("Threaded view")
        s.wait("sort:date threads")

    def thread_row(self, s, key="k"):
        """Move the cursor up (key k) or down (j) to a reply: a row of a
        thread of more than one."""
        for _ in range(40):
            line = s.cursor_line()
            if "└─>" in line:
                return
            s.keys(key)
            end = time.time() + 5
            while s.cursor_line() == line and time.time() < end:
                time.sleep(0.02)
        self.fail("no reply on the way:\n" + s.text())

    def test_tree_under_a_limit(self):
        s = self.start("--demo")
        self.open_devel(s)
        s.keys("l")
        s.wait("Limit to")
        s.literal("~s backup")
        s.keys("Enter")
        t = s.wait("shown, limit: ~s backup")
        self.assertIn("└─>", t)
        self.assertIn("threads", t)
        rows = [x for x in t.splitlines() if "│" in x and
                re.search(r"\d{2}:\d{2}|\w{3} \d{2}", x)]
        self.assertTrue(rows)
        for r in rows:
            self.assertIn("Backup", r)
        # Sorted by sender, the trees stay whole.
        s.keys("o")
        t = s.wait("sort:from threads")
        self.assertIn("└─>", t)

    def test_threads_sorted_by_newest_message(self):
        """A thread whose root is the oldest but whose reply is the newest
        comes last (by date), and its tree is whole; mime_thread joins a
        reply by References even when In-Reply-To is missing."""
        self.t.write_rc("")
        self.t.out("ls", "local")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        aid = db.execute("SELECT id FROM account WHERE name = 'local'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        rows = [  # date, subject, message-id, in-reply-to, references
            (100, "Alpha start", "<a1@x>", None, None),
            (200, "Beta start", "<b1@x>", None, None),
            (300, "Re: Beta start", "<b2@x>", "<b1@x>", "<b1@x>"),
            (400, "Re: Alpha start", "<a2@x>", None, "<a1@x>"),
            (500, "Re: Re: Alpha start", "<a3@x>", "<a2@x>",
             "<a1@x> <a2@x>"),
        ]
        db.executemany(
            "INSERT INTO message (folder_id, uid, flags, date, from_,"
            " subject, message_id, in_reply_to, refs) VALUES"
            " (?, ?, 16, ?, 'Bob <b@x>', ?, ?, ?, ?)",
            [(fid, i + 1, 1700000000 + r[0]) + r[1:]
             for i, r in enumerate(rows)])
        db.commit()
        db.close()
        s = self.start()
        s.wait("local/INBOX  [5 msgs")
        s.keys("v")
        s.wait("sort:date threads")
        t = s.wait("└─>Re: Re: Alpha")
        order = [re.sub(r".*Bob +\d+ ", "", x).strip()
                 for x in t.splitlines() if "Bob" in x]
        self.assertEqual(order, [
            "Beta start", "└─>Re: Beta start", "Alpha start",
            "└─>Re: Alpha start", "└─>Re: Re: Alpha start"])
        # Reversed: the same trees, the threads the other way round.
        s.keys("O")
        s.wait("sort:date-rev threads")
        t = s.text()
        order = [re.sub(r".*Bob +\d+ ", "", x).strip()
                 for x in t.splitlines() if "Bob" in x]
        self.assertEqual(order, [
            "Alpha start", "└─>Re: Alpha start", "└─>Re: Re: Alpha start",
            "Beta start", "└─>Re: Beta start"])

    def test_collapse_shows_hidden_count(self):
        s = self.start("--demo")
        self.open_devel(s)
        # From the top down: the thread is not the last, so t moves on.
        s.keys("g")
        s.wait_cursor("Sep")
        self.thread_row(s, "j")
        s.keys("-")
        t = s.wait("(+")
        m = re.search(r"\(\+(\d+)\)", s.cursor_line())
        self.assertTrue(m, t)
        hidden = int(m.group(1))
        self.assertGreaterEqual(hidden, 1)
        # t on a collapsed thread tags it whole.
        s.keys("t")
        s.wait("%d tagged" % (hidden + 1))
        end = time.time() + 5
        while "(+" in s.cursor_line() and time.time() < end:
            time.sleep(0.02)  # t moves down
        s.keys("k")
        s.wait_cursor("(+")
        s.keys("t")
        s.wait("tagged]", absent=True)
        # Expanded again (t moved down: back up to it first).
        s.keys("k")
        s.wait_cursor("(+")
        s.keys("-")
        s.wait("(+", absent=True)
        # All threads at once, and back.
        s.keys("_")
        s.wait("(+")
        # The screen may be caught half drawn: wait for the whole of it.
        s.wait("└─>", absent=True)
        s.keys("_")
        s.wait("(+", absent=True)
        s.wait("└─>")

    def test_delete_thread(self):
        s = self.start("--demo")
        self.open_devel(s)
        self.thread_row(s)
        s.keys("D")
        t = s.wait("Deleted the thread's")
        n = int(re.search(r"thread's (\d+) message", t).group(1))
        self.assertGreaterEqual(n, 2)
        self.assertEqual(demo_count(
            self.t, "SELECT count(*) FROM message WHERE flags & ? != 0",
            DELETED), n)
        # Every one of them is in the same thread: one root's subject.
        db = demo_db(self.t)
        subjects = {re.sub(r"^(Re: )+", "", x[0]) for x in db.execute(
            "SELECT subject FROM message WHERE flags & ? != 0", (DELETED,))}
        db.close()
        self.assertEqual(len(subjects), 1, subjects)
        s.keys("U")
        s.wait("Undeleted the thread's %d message" % n)
        self.assertEqual(demo_count(
            self.t, "SELECT count(*) FROM message WHERE flags & ? != 0",
            DELETED), 0)


class Attachments(UiCase):
    def test_the_number_shown_is_the_number_to_type(self):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_cat import three_attachments
        raw, files = three_attachments()
        self.t.write_rc("")
        mbox = os.path.join(self.t.dir, "three.mbox")
        with open(mbox, "wb") as f:
            f.write(b"From bob@example.org Mon Mar  3 12:00:00 2025\n" +
                    raw + b"\n")
        self.t.out("import", "local/INBOX", mbox)
        out = os.path.join(self.t.dir, "saved")
        os.makedirs(out)
        opened = os.path.join(self.t.dir, "opened")
        opener = os.path.join(self.t.dir, "opener")
        with open(opener, "w") as f:
            f.write("#!/bin/sh\ncp \"$1\" '%s'\n" % opened)
        os.chmod(opener, 0o755)
        s = self.start(env={"TERN_OPENER": opener})
        s.wait("local/INBOX  [1 msgs")
        s.keys("Enter")
        s.wait("See the three files.")
        s.wait("Attachment 3: b.txt")
        s.keys("S")
        s.wait("Attachment (2, 3, 4):")
        s.literal("3")
        s.keys("Enter")
        s.wait("Save into directory:")
        s.keys("C-u")
        s.literal(out)
        s.keys("Enter")
        s.wait("Saved to")
        self.assertEqual(os.listdir(out), ["b.txt"])
        with open(os.path.join(out, "b.txt"), "rb") as f:
            self.assertEqual(f.read(), files[1][1])
        s.keys("o")
        s.wait("Attachment (2, 3, 4):")
        s.literal("4")
        s.keys("Enter")
        s.wait("Opened")
        with open(opened, "rb") as f:
            self.assertEqual(f.read(), files[2][1])
        # The text is part 1: not an attachment to save.
        s.keys("S")
        s.wait("Attachment (2, 3, 4):")
        s.literal("1")
        s.keys("Enter")
        s.wait("No attachment 1 in this message")
        self.assertEqual(os.listdir(out), ["b.txt"])


class FirstRun(UiCase):
    def test_first_run_then_demo(self):
        s = self.start()
        t = s.wait("No account is configured yet")
        self.assertIn("protocol  imap", t)
        self.assertIn(self.t.rc, t)
        s.keys("d")
        s.wait("local/INBOX  [241")
        s.keys("q")
        s.wait("EXIT=0")

    def test_first_download_says_what_happens(self):
        # A fresh store: a POP3 account downloads its mail, an IMAP one
        # lists its folders; the message line names each. (No server
        # listens: what counts is the note before the error.)
        port = ternlib.free_ports(1)[0]
        self.t.write_rc("account home\n protocol pop3\n host 127.0.0.1\n"
                        " port %d\n tls off\n user u\n password x\n"
                        "account work\n protocol imap\n host 127.0.0.1\n"
                        " port %d\n tls off\n user u\n password x\n"
                        % (port, port))
        s = self.start()
        ev = self.wait_log("note No folders yet")
        self.assertIn("note No folders yet: downloading new mail from "
                      "home; fetching the folder list of work\u2026", ev)
        self.assertNotIn("fetching the folder list\u2026", ev)
        s.keys("q")
        s.wait("EXIT=0")

    def test_passcmd_that_never_answers(self):
        # The account's worker waits for its passcmd no longer than the
        # limit, says why, and the client keeps working meanwhile.
        port = ternlib.free_ports(1)[0]
        self.t.write_rc("account home\n protocol pop3\n host 127.0.0.1\n"
                        " port %d\n tls off\n user u\n"
                        " passcmd \"sleep 600\"\n" % port)
        s = self.start(env={"TERN_CMD_TIMEOUT": "2"})
        s.wait("No folders yet")
        s.keys("?")
        s.wait("forward-message")
        s.keys("q")
        ev = self.wait_log('passcmd "sleep 600" gave no password within 2 s',
                           timeout=30)
        self.assertIn("error ", ev)
        s.keys("q")
        s.wait("EXIT=0")

    def test_first_run_quit(self):
        s = self.start()
        s.wait("No account is configured yet")
        s.keys("q")
        s.wait("EXIT=0")


class Bindings(UiCase):
    def test_rc_bind_and_theme(self):
        self.t.write_rc("set theme = dark\n"
                        "bind index x delete-message\n"
                        "bind pager <Space> next-message\n")
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("x")
        s.wait(">D")
        s.keys("?")
        s.wait("index keys")
        s.wait_re(r"x d\s+delete-message")

    def test_bind_tag_and_thread_functions(self):
        self.t.write_rc("bind index x tag-entry\n"
                        "bind index , tag-prefix\n"
                        "bind index <F2> toggle-threads\n")
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        s.keys("g", "x", "x")
        s.wait("2 tagged")
        s.keys(",", "F")
        self.wait_log("Flag changed on 2 tagged messages")
        s.keys("F2")
        s.wait("sort:date threads")

    def test_help_lists_the_mutt_keys(self):
        s = self.start("--demo", height=60)
        s.wait("local/INBOX  [241")
        s.keys("?")
        s.wait("index keys")
        # L replies to the list as in mutt; sign-in moved to Y.
        found = {}
        for _ in range(20):
            t = s.settled()
            for name, key in (("list-reply", "L"), ("pipe-message", "|"),
                              ("recall-message", "P"),
                              ("oauth-login", "Y")):
                m = re.search(r"^\s+(\S+)\s+%s\s" % name, t, re.M)
                if m and name not in found:
                    found[name] = m.group(1)
            if len(found) == 4:
                break
            s.keys("PageDown")
            s.wait(t, absent=True)
        self.assertEqual(found, {"list-reply": "L", "pipe-message": "|",
                                 "recall-message": "P",
                                 "oauth-login": "Y"})

    def test_source_keymaps(self):
        """source share/keymaps/mutt gives mutt's keys: = goes to the
        first message, and j in the pager to the next message. Every
        shipped keymap binds only keys and functions tern knows."""
        keymaps = os.path.join(ternlib.SRCDIR, "share", "keymaps")
        for name in ("aerc", "mutt"):
            # A copy beside the rc, sourced by a relative path: a checkout
            # others can write to would be refused, as it should be.
            with open(os.path.join(keymaps, name)) as f:
                text = f.read()
            with open(os.path.join(os.path.dirname(self.t.rc), name),
                      "w") as f:
                f.write(text)
            self.t.write_rc("source %s\n" % name)
            s = self.start("--demo")
            s.wait("local/INBOX  [241")
            s.keys("q")
            s.wait("EXIT=0")
            self.assertNotIn("unknown", self.log_events())
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        last = s.cursor_line()
        s.keys("=")
        end = time.time() + 10
        while True:
            rows = [x for x in s.text().splitlines() if "│" in x]
            if "│>" in rows[0] or time.time() > end:
                break
            time.sleep(0.05)
        self.assertIn("│>", rows[0], s.text())
        self.assertNotEqual(last, s.cursor_line())
        s.keys("Enter")
        self.wait_log("pager-open id=")
        first = self.log_events().count("pager-open")
        s.keys("j")
        end = time.time() + 10
        while self.log_events().count("pager-open") == first:
            self.assertLess(time.time(), end, "j did not open the next")
            time.sleep(0.05)
        s.keys("q")
        s.wait_cursor("")
        rows = [x for x in s.text().splitlines() if "│" in x]
        self.assertIn("│>", rows[1], s.text())

    def test_bind_in_a_sourced_file_says_where(self):
        """A bind the client cannot use names the file and line it is
        on, in a sourced file too."""
        keys = os.path.join(os.path.dirname(self.t.rc), "keys")
        with open(keys, "w") as f:
            f.write("bind index x exit\nbind index y no-such-function\n")
        self.t.write_rc("source keys\n")
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        self.wait_log("%s:2: bind index y no-such-function: unknown "
                      "function" % keys)

    def test_unknown_theme_is_reported(self):
        self.t.write_rc("set theme = nosuchtheme\n")
        s = self.start("--demo")
        s.wait("theme 'nosuchtheme' not found")

    def test_no_color(self):
        # The control: the demo's theme paints in colour.
        s = self.start("--demo")
        s.wait("local/INBOX  [241")
        self.assertTrue(s.colours(), "the control shows no colour")
        s.keys("q")
        s.wait("EXIT=0")
        # NO_COLOR: bold and reverse only, on every screen.
        s = self.start("--demo", env={"NO_COLOR": "1"})
        s.wait("local/INBOX  [241")
        self.assertEqual(s.colours(), set())
        self.assertIn("7", s.attributes())  # the cursor: reverse video
        s.keys("Enter")
        s.wait("Welcome to the tern demo.")
        self.assertEqual(s.colours(), set())
        s.keys("q", "c")
        s.wait("local/INBOX  [241")
        self.assertEqual(s.colours(), set())
        s.keys("q", "q")
        s.wait("EXIT=0")

    def test_terminals_with_fewer_colours(self):
        self.t.write_rc("set theme = dark\n")  # 256-colour numbers
        for term in ("xterm", "vt100"):
            s = self.start("--demo", env={"TERM": term})
            s.wait("local/INBOX  [241")
            s.keys("Enter")
            s.wait("Welcome to the tern demo.")
            s.keys("q", "q")
            s.wait("EXIT=0")


class Store(UiCase):
    """A store filled directly, as a sync would leave it."""

    def fill(self, n):
        self.t.write_rc("")
        self.t.out("ls", "local")  # creates the store and the account
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        c = db.cursor()
        aid = c.execute("SELECT id FROM account WHERE name = 'local'"
                        ).fetchone()[0]
        c.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                  " VALUES (?, ?)", (aid, "INBOX"))
        fid = c.execute("SELECT id FROM folder WHERE account_id = ? AND"
                        " name = 'INBOX'", (aid,)).fetchone()[0]
        for i in range(n):
            raw = ternlib.make_message(i, subject="Hello \x1b[31m%d" % i)
            c.execute("INSERT INTO message (folder_id, uid, flags, date,"
                      " size, from_, subject, has_body) VALUES"
                      " (?, ?, 0, ?, ?, ?, ?, 1)",
                      (fid, i + 1, 1700000000 + i * 60, len(raw),
                       "Bob <bob@example.org>", "Hello \x1b[31m%d" % i))
            c.execute("INSERT INTO body (message_id, raw) VALUES (?, ?)",
                      (c.lastrowid, raw))
        db.commit()
        return db, fid

    def test_search_reads_from_the_cursor_on(self):
        """A store written by another program is indexed for search in
        the background; then a match a few thousand rows away, before or
        after the cursor, in a header or only in a stored body, is found
        from the cursor on, and wrapping is said."""
        db, fid = self.fill(3000)
        ids = [x[0] for x in db.execute(
            "SELECT id FROM message WHERE folder_id = ? ORDER BY date, id",
            (fid,))]
        db.execute("UPDATE message SET subject = 'needle one' WHERE id = ?",
                   (ids[100],))
        db.execute("UPDATE message SET subject = 'needle two' WHERE id = ?",
                   (ids[2500],))
        db.execute("UPDATE body SET raw = CAST(? AS BLOB) WHERE"
                   " message_id = ?",
                   (ternlib.make_message(1500, subject="Hello 1500").replace(
                       b"\r\n\r\n", b"\r\n\r\nhaystackword\r\n", 1),
                    ids[1500]))
        db.commit()
        db.close()
        s = self.start()
        s.wait("local/INBOX  [3000 msgs")
        s.wait_cursor("Hello ^[[31m2999")
        self.wait_log("search-indexed n=3000")
        s.keys("/")
        s.wait("Search:")
        s.literal("needle")
        s.keys("Enter")
        s.wait_cursor("needle one")
        s.wait("Search wrapped")
        s.keys("n")
        s.wait_cursor("needle two")
        s.keys("p")
        s.wait_cursor("needle one")
        s.keys("/")
        s.wait("Search:")
        s.literal("HAYSTACKWORD")
        s.keys("Enter")
        s.wait_cursor("Hello ^[[31m1500")
        s.keys("/")
        s.wait("Search:")
        s.literal("nowhere to be found")
        s.keys("Enter")
        s.wait("Not found: nowhere to be found")
        s.wait_cursor("Hello ^[[31m1500")

    def test_window_of_a_big_folder(self):
        """25,000 messages open with the newest few hundred loaded; the
        first message, the last and a match far from both are a window's
        load away, and moving past a window's edge loads what is there."""
        self.t.write_rc("")
        self.t.out("ls", "local")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        aid = db.execute("SELECT id FROM account WHERE name = 'local'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        # Inserted newest first, as an IMAP sync stores them: ids and
        # dates go opposite ways.
        db.executemany(
            "INSERT INTO message (folder_id, uid, flags, date, from_,"
            " subject) VALUES (?, ?, 16, ?, 'S <s@x>', ?)",
            [(fid, i + 1, 1700000000 + i, "Subject %05d" % i)
             for i in reversed(range(25000))])
        db.commit()
        db.close()
        # Nothing is loaded between keys: the folder stays in windows as
        # a million-message one does while keys come faster than it loads.
        env = {"TERN_UI_NO_PRELOAD": "1"}
        s = self.start(env=env)
        s.wait("local/INBOX  [25000 msgs")
        s.wait_cursor("Subject 24999")
        self.wait_log("search-indexed n=25000")
        s.keys("g")
        s.wait_cursor("Subject 00000")
        s.keys(*["j"] * 600)
        s.wait_cursor("Subject 00600")
        s.keys("G")
        s.wait_cursor("Subject 24999")
        s.keys("g")
        s.wait_cursor("Subject 00000")
        s.keys("G", "/")
        s.wait("Search:")
        s.literal("Subject 12000")
        s.keys("Enter")
        s.wait_cursor("Subject 12000")
        s.keys(*["k"] * 300)
        s.wait_cursor("Subject 11700")
        s.keys(*["j"] * 900)
        s.wait_cursor("Subject 12600")
        s.keys("/")
        s.wait("Search:")
        s.literal("Subject 00007")
        s.keys("Enter")
        s.wait_cursor("Subject 00007")
        s.keys("/")
        s.wait("Search:")
        s.literal("Subject 24990")
        s.keys("Enter")
        s.wait_cursor("Subject 24990")
        log = self.log_events()
        self.assertEqual(log.count("index-window rows=512 first"), 2, log)
        # Around 12000 (256 before it), around 7 (7 before it), and 24990
        # is in the window of 7 no more: around it (10 after it).
        self.assertEqual(log.count("index-window rows=768\n"), 1, log)
        self.assertEqual(log.count("index-window rows=519\n"), 1, log)
        self.assertEqual(log.count("index-window rows=266\n"), 1, log)
        self.assertEqual(log.count("note Search wrapped"), 2, log)
        self.assertNotIn("index-complete", log)

    def test_search_finds_nothing_in_a_big_folder(self):
        """A search that finds nothing in a big folder says so, and the
        next one finds its match."""
        self.t.write_rc("")
        self.t.out("ls", "local")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        aid = db.execute("SELECT id FROM account WHERE name = 'local'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        db.executemany(
            "INSERT INTO message (folder_id, uid, flags, date, from_,"
            " subject) VALUES (?, ?, 16, ?, 'S <s@x>', ?)",
            [(fid, i + 1, 1700000000 + i, "Subject %05d" % i)
             for i in range(70000)])
        db.commit()
        db.close()
        s = self.start()
        s.wait("local/INBOX  [70000 msgs")
        self.wait_log("index-complete rows=70000")
        self.wait_log("search-indexed n=70000")
        s.keys("/")
        s.wait("Search:")
        s.literal("nowhere to be found")
        s.keys("Enter")
        s.wait("Not found: nowhere to be found")
        s.keys("/")
        s.wait("Search:")
        s.literal("Subject 35000")
        s.keys("Enter")
        s.wait_cursor("Subject 35000")

    def test_big_folder_order_in_background(self):
        """25,000 messages: sorting and threading run in the loader;
        the index stays usable and the cursor keeps its message."""
        self.t.write_rc("")
        self.t.out("ls", "local")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        aid = db.execute("SELECT id FROM account WHERE name = 'local'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        db.executemany(
            "INSERT INTO message (folder_id, uid, flags, date, from_,"
            " subject, message_id, in_reply_to) VALUES"
            " (?, ?, 16, ?, ?, ?, ?, ?)",
            [(fid, i + 1, 1700000000 + i, "Sender %05d <s@x>" % (i % 500),
              "Topic %d" % (i // 2), "<m%d@x>" % i,
              "<m%d@x>" % (i - 1) if i % 2 else None)
             for i in range(25000)])
        db.commit()
        db.close()
        s = self.start()
        s.wait("local/INBOX  [25000 msgs")
        s.wait_cursor("Topic 12499")
        s.keys("k")
        s.wait_cursor("Sender 00498")
        s.keys("v")
        s.wait("sort:date threads")
        self.wait_log("index-load async")
        t = s.wait("└─>")
        # Still on its message (the reply to 24997).
        s.wait_cursor("Sender 00498")
        s.keys("v", "o")
        self.wait_log("index-load queued")
        s.wait("sort:from")
        s.wait_cursor("Sender 00498")
        s.keys("q")
        s.wait("EXIT=0")

    def test_control_characters_and_new_mail(self):
        db, fid = self.fill(50)
        s = self.start()
        t = s.wait("local/INBOX  [50 msgs, 50 new]")
        # ESC from a subject is shown, never sent to the terminal.
        self.assertIn("Hello ^[[31m49", t)
        s.keys("k", "k")
        s.wait_cursor("Hello ^[[31m47")
        # Mail arriving (another connection commits) keeps the cursor
        # on its message.
        before = [x for x in s.text().splitlines() if "│>" in x][0]
        def arrive(uid, date, sender, subject):
            db.execute("INSERT INTO message (folder_id, uid, flags, date,"
                       " from_, subject) VALUES (?, ?, 0, ?, ?, ?)",
                       (fid, uid, date, sender, subject))

        arrive(1000, 1800000000, "New <new@example.org>", "Fresh")
        db.commit()
        t = s.wait("51 msgs")
        self.assertIn("1 new message in INBOX", t)
        after = [x for x in t.splitlines() if "│>" in x][0]
        self.assertEqual(before.split("│")[1], after.split("│")[1])
        s.keys("G")
        self.assertIn("Fresh", s.wait(">N    2027-01-15 New"))
        # New mail and a purge in one commit: the count stays, the new
        # message is still announced.
        self.assertNotIn("new message", s.text())
        db.execute("DELETE FROM message WHERE folder_id = ? AND uid = 1",
                   (fid,))
        arrive(1001, 1800000600, "Later <later@example.org>", "Second")
        db.commit()
        t = s.wait("1 new message in INBOX")
        self.assertIn("51 msgs", t)
        s.keys("G")
        s.wait_cursor("Second")
        db.close()

    def test_index_format(self):
        """set index_format and date_format: mutt's codes and widths
        make the index line; a bad format is an rc error naming its
        line."""
        db, fid = self.fill(3)
        db.close()
        self.t.write_rc('set date_format = "%Y/%m"\n'
                        'set index_format = "%Z|%-6.6F|%4c|%D|%N|%s"\n')
        s = self.start()
        s.wait("local/INBOX  [3 msgs")
        s.wait_cursor("Hello ^[[31m2")
        self.assertRegex(s.cursor_line(),
                         r">N   \|Bob   \|[ 0-9]{3}[0-9K]\|2023/11\|\|"
                         r"Hello \^\[\[31m2")
        s.keys("q")
        s.wait("EXIT=0")
        self.t.write_rc('\nset index_format = "%Z %-20q"\n')
        r = self.t.run("ls")
        self.assertEqual(r.returncode, 2)
        self.assertIn("rc:2: index_format", r.stderr.decode())

    def line_attributes(self, s, text):
        """The SGR parameters in force on the screen line that shows text
        (capture-pane -e writes changes only, so they are followed from
        the top of the screen)."""
        r = subprocess.run([TMUX, "-L", s.sock, "capture-pane", "-p",
                            "-e"], stdout=subprocess.PIPE)
        state = set()
        for raw in r.stdout.decode(errors="replace").splitlines():
            seen = set(state)
            for params in re.findall(r"\x1b\[([0-9;:]*)m", raw):
                p = params.replace(":", ";").split(";")
                i = 0
                while i < len(p):
                    a = p[i] or "0"
                    if a in ("38", "48") and i + 1 < len(p):
                        n = 3 if p[i + 1] == "5" else 5
                        a = ";".join(p[i:i + n])
                        i += n
                    else:
                        i += 1
                    if a == "0":
                        state = set()
                        continue
                    if a.startswith("38;") or a == "39" or \
                            (len(a) == 2 and a[0] == "3"):
                        state = {x for x in state
                                 if not (x.startswith("38;") or
                                         (len(x) == 2 and x[0] == "3"))}
                    if a.startswith("48;") or a == "49" or \
                            (len(a) == 2 and a[0] == "4"):
                        state = {x for x in state
                                 if not (x.startswith("48;") or
                                         (len(x) == 2 and x[0] == "4"))}
                    if a == "22":
                        state -= {"1", "2"}
                    state.add(a)
                    seen.add(a)
            if text in re.sub(r"\x1b\[[0-9;:]*m", "", raw):
                return seen
        raise AssertionError("no line shows %r:\n%s" % (text, s.text()))

    def test_pager_quotes_signature_headers_markers(self):
        """Quote levels alternate colours (the fourth takes the first's
        again), the signature is dimmed, set headers weeds and orders the
        header fields and colours their names, and a wrapped line's
        continuation starts with a '+' marker."""
        db, fid = self.fill(1)
        body = ("Intro line\n"
                "> level one\n"
                "> > level two\n"
                ">> > level three\n"
                ">>>> level four\n"
                "> " + "quoted words " * 12 + "end of quote\n"
                "plain again\n"
                "-- \n"
                "Sig Name\n")
        raw = ternlib.make_message(
            1, subject="Colours", body=body,
            extra_headers="X-Mailer: Testmailer 1.0\n")
        db.execute("UPDATE body SET raw = ? WHERE message_id ="
                   " (SELECT id FROM message WHERE folder_id = ?)",
                   (raw, fid))
        db.execute("UPDATE message SET subject = 'Colours'")
        db.commit()
        db.close()
        themes = os.path.join(self.t.config, "tern", "themes")
        os.makedirs(themes)
        with open(os.path.join(themes, "probe.theme"), "w") as f:
            f.write("header 250 default\n"
                    "header_name 226 default\n"
                    "quote 94 default\n"
                    "quoted1 196 default\n"
                    "quoted2 46 default\n"
                    "quoted3 21 default\n"
                    "signature 201 default dim\n"
                    "marker 51 default\n")
        self.t.write_rc("set theme = probe\n"
                        "set headers = \"Subject From X-Mailer\"\n")
        s = self.start(width=80)
        s.wait_cursor("Colours")
        s.keys("Enter")
        t = s.wait("Sig Name")
        log = self.wait_log("pager-lines")
        # Weeded and in the rc's order: no Date, no To.
        self.assertNotIn("Date:", t)
        self.assertNotIn("To:", t)
        lines = t.splitlines()
        order = [i for i, x in enumerate(lines)
                 if x.startswith(("Subject:", "From:", "X-Mailer:"))]
        self.assertEqual([lines[i].split(":")[0] for i in order],
                         ["Subject", "From", "X-Mailer"])
        self.assertIn("38;5;226", self.line_attributes(s, "X-Mailer:"))
        self.assertIn("38;5;250", self.line_attributes(s, "Testmailer"))
        self.assertIn("38;5;196", self.line_attributes(s, "level one"))
        self.assertIn("38;5;46", self.line_attributes(s, "level two"))
        self.assertIn("38;5;21", self.line_attributes(s, "level three"))
        self.assertIn("38;5;196", self.line_attributes(s, "level four"))
        self.assertNotIn("38;5;196", self.line_attributes(s, "Intro"))
        sig = self.line_attributes(s, "Sig Name")
        self.assertIn("38;5;201", sig)
        self.assertIn("2", sig)  # dim
        self.assertNotIn("38;5;201", self.line_attributes(s, "plain again"))
        # The long quote wraps: its continued line has the marker and
        # keeps the quote's colour.
        cont = [x for x in lines if x.startswith("+")]
        self.assertTrue(cont, t)
        self.assertIn("end of quote", cont[-1])
        a = self.line_attributes(s, "end of quote")
        self.assertIn("38;5;51", a)
        self.assertIn("38;5;196", a)
        m = re.search(r"pager-lines body=\d+ header=3 attachment=\d+ "
                      r"signature=2 quoted1=5 quoted2=1 quoted3=1 "
                      r"continued=2", log)
        self.assertTrue(m, log)

    def test_new_mail_command(self):
        """set new_mail_command runs with the account, the folder and
        the count as arguments and in the environment, once per arrival,
        and the client goes on (the command is still running)."""
        db, fid = self.fill(3)
        out = os.path.join(self.t.dir, "new-mail.txt")
        gate = os.path.join(self.t.dir, "gate")
        # The command waits for the gate, so the client must not.
        self.t.write_rc(
            "set new_mail_command = 'printf \"%%s|%%s|%%s|%%s|%%s\\\\n\" "
            "\"$1\" \"$2\" \"$3\" \"$TERN_FOLDER\" \"$TERN_COUNT\" >> %s; "
            "while [ ! -e %s ]; do sleep 0.05; done; echo done >> %s'\n"
            % (out, gate, out))
        s = self.start()
        s.wait("local/INBOX  [3 msgs")
        for uid in (100, 101):
            db.execute("INSERT INTO message (folder_id, uid, flags, date,"
                       " from_, subject) VALUES (?, ?, 0, ?, ?, ?)",
                       (fid, uid, 1800000000 + uid, "N <n@x>",
                        "Arrived %d" % uid))
        db.commit()
        s.wait("5 msgs")
        self.wait_log("new-mail-command account=local folder=INBOX "
                      "count=2")
        end = time.time() + 10
        while not (os.path.exists(out) and read(out)):
            self.assertLess(time.time(), end, "the command never ran")
            time.sleep(0.05)
        self.assertEqual(read(out), "local|INBOX|2|INBOX|2\n")
        # The client answers keys while the command waits.
        s.keys("G")
        s.wait_cursor("Arrived 101")
        s.keys("k")
        s.wait_cursor("Arrived 100")
        open(gate, "w").close()
        end = time.time() + 10
        while "done" not in read(out):
            self.assertLess(time.time(), end, "the command never ended")
            time.sleep(0.05)
        db.execute("INSERT INTO message (folder_id, uid, flags, date,"
                   " from_, subject) VALUES (?, 102, 0, 1800000500,"
                   " 'N <n@x>', 'Third')", (fid,))
        db.commit()
        s.wait("6 msgs")
        end = time.time() + 10
        while read(out).count("local|INBOX") < 2:
            self.assertLess(time.time(), end, "no second run")
            time.sleep(0.05)
        self.assertIn("local|INBOX|1|INBOX|1\n", read(out))
        self.assertNotIn("printf", self.log_events())
        db.close()
        s.keys("q")
        s.wait("EXIT=0")


class Offline(UiCase):
    """An IMAP account whose server is not there: the store is usable,
    the status line says offline, changes wait in the queue and quitting
    asks about them."""

    def test_offline_changes_pending(self):
        port = ternlib.free_ports(1)[0]
        self.t.write_rc("account work\n protocol imap\n host 127.0.0.1\n"
                        " port %d\n tls off\n user u\n password x\n"
                        % port)
        os.chmod(self.t.rc, 0o600)
        self.t.out("ls", "work")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        aid = db.execute("SELECT id FROM account WHERE name = 'work'"
                         ).fetchone()[0]
        db.execute("INSERT OR IGNORE INTO folder (account_id, name)"
                   " VALUES (?, 'INBOX')", (aid,))
        db.execute("UPDATE folder SET uidvalidity = 7 WHERE account_id = ?",
                   (aid,))
        fid = db.execute("SELECT id FROM folder WHERE account_id = ?",
                         (aid,)).fetchone()[0]
        for i in range(3):
            db.execute("INSERT INTO message (folder_id, uid, uidvalidity,"
                       " flags, date, from_, subject) VALUES"
                       " (?, ?, 7, 0, ?, 'Carol <c@example.org>', ?)",
                       (fid, 10 + i, 1700000000 + i, "Stored %d" % i))
        db.commit()
        db.close()
        s = self.start()
        t = s.wait("work/INBOX  [3 msgs")
        s.wait("offline")
        self.assertIn("Stored 2", t)
        # A body never downloaded says so instead of hanging.
        s.keys("Enter")
        t = s.wait("Subject: Stored 2")
        self.assertTrue("loading" in t or "not downloaded yet" in t or
                        "could not be downloaded" in t, t)
        s.keys("q", "F")
        s.wait(">N!")
        # Every tagged message's change is queued for the server, each
        # as its own; none is lost.
        s.keys("T")
        s.wait("Tag messages matching:")
        s.literal("~A")
        s.keys("Enter")
        s.wait("3 tagged")
        s.literal(";N")
        self.wait_log("Read/unread changed on 3 tagged messages")
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            ops = db.execute("SELECT uid, arg FROM pending WHERE op ="
                             " 'flags' ORDER BY id").fetchall()
        finally:
            db.close()
        self.assertEqual(sorted(u for u, _ in ops[1:]), [10, 11, 12])
        s.keys("q")
        s.wait("not on the server yet")
        s.keys("n")
        s.wait("[3 msgs")
        s.keys("q")
        s.wait("not on the server yet")
        s.keys("y")
        s.wait("EXIT=0")


USERS = {"u%d" % i: "pw%d" % i for i in range(20)}


def store_locked(t):
    """Is the store held by a writer right now?"""
    c = sqlite3.connect(os.path.join(t.data, "tern", "tern.db"), timeout=0)
    try:
        c.execute("BEGIN IMMEDIATE")
        c.rollback()
        return False
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        return True
    finally:
        c.close()


class Pop3Worker(UiCase):
    """The client while its own worker holds the store (a POP3 sync
    writing a batch, paused in the middle of a download)."""

    def setUp(self):
        super().setUp()
        self.fake = FakePOP3([("u1", ternlib.make_message(
            1, subject="Purge me"))])
        self.addCleanup(self.fake.close)
        self.t.write_rc(self.fake.rc("fake"))

    def test_purge_while_the_worker_holds_the_store(self):
        f = self.fake
        self.t.out("sync", "fake")
        self.t.out("flag", "fake/INBOX", "1", "+T")
        f.messages = [("u%d" % i, ternlib.make_message(
            i, subject="Later %d" % i)) for i in range(2, 7)]
        f.hold_in_retr = 5
        s = self.start()
        self.assertTrue(f.holding.wait(20), "the download never began")
        # The worker has stored messages 2 to 4 in a transaction it keeps
        # open while message 5 arrives.
        end = time.time() + 20
        while not store_locked(self.t):
            self.assertLess(time.time(), end, "the worker never wrote")
            time.sleep(0.05)
        s.keys("$", "?")
        s.wait("index keys")  # the key after $ was acted on
        self.assertTrue(store_locked(self.t))
        ev = self.wait_log("The purge waits for the sync of fake")
        self.assertNotIn("another tern", ev)
        self.assertNotIn("error", ev)
        s.keys("q")
        # The worker lets go of the store: the purge goes through.
        f.release()
        ev = self.wait_log("Deleted messages purged", timeout=20)
        self.assertNotIn("another tern", ev)
        s.wait("Later 6", timeout=20)
        s.keys("q")
        s.wait("EXIT=0")
        subjects = [l.split("\t")[4] for l in
                    self.t.out("ls", "fake/INBOX").splitlines()]
        self.assertEqual(subjects, ["Later %d" % i for i in range(2, 7)])


class Retry(UiCase):
    """The worker after a failure, and while another tern syncs."""

    def test_busy_account_then_sync_now(self):
        f = FakePOP3([("u1", ternlib.make_message(1, subject="First"))])
        self.addCleanup(f.close)
        self.t.write_rc(f.rc("fake"))
        self.t.out("sync", "fake")
        with ternlib.store_db(self.t.data) as c:
            (aid,) = c.execute("SELECT id FROM account WHERE name = 'fake'"
                               ).fetchone()
        path = os.path.join(self.t.data, "tern", "sync-%d.lock" % aid)
        f.messages = [("u2", ternlib.make_message(2, subject="Second"))]
        with open(path, "a") as lock:
            # Another tern syncs the account: the client neither waits
            # nor syncs, and says why.
            fcntl.flock(lock, fcntl.LOCK_EX)
            s = self.start()
            s.wait("fake is being synced by another tern; trying again "
                   "shortly", timeout=20)
            s.keys("j")
            s.wait("First")
            self.assertEqual(f.commands.count("UIDL"), 1)
        # Once it has finished, $ syncs at once.
        s.keys("$")
        s.wait("Second", timeout=20)
        self.assertEqual(self.log_events().count("being synced by"), 1)
        s.keys("q")
        s.wait("EXIT=0")

    def test_retry_on_sync_now_and_when_another_connects(self):
        # Two accounts whose servers are down; the first delay after the
        # failure is long (a test hook), so only a wake-up retries.
        a = FakePOP3([("a1", ternlib.make_message(1, subject="Alpha 1"))])
        b = FakePOP3([("b1", ternlib.make_message(2, subject="Beta 1"))])
        for f in (a, b):
            self.addCleanup(f.close)
        self.t.write_rc(a.rc("a", "    keep yes\n") +
                        b.rc("b", "    keep yes\n"))
        self.t.out("sync")
        a.messages.append(("a2", ternlib.make_message(3, subject="Alpha 2")))
        b.messages.append(("b2", ternlib.make_message(4, subject="Beta 2")))
        a.down = b.down = True
        s = self.start(env={"TERN_BACKOFF_MS": "600000"})
        self.wait_log("error a:", timeout=20)
        self.wait_log("error b:", timeout=20)
        refused = (a.refused, b.refused)
        # The servers come back; nothing tries them by itself for ten
        # minutes.
        a.down = b.down = False
        s.wait("a/INBOX")
        # $ in account a: a retries now; once it is connected, b does.
        s.keys("$")
        ev = self.wait_log("synced a", timeout=20)
        ev = self.wait_log("synced b", timeout=20)
        self.assertIn("retry b: a connected", ev)
        self.assertEqual((a.refused, b.refused), refused)
        s.wait("Alpha 2")
        s.keys("q")
        s.wait("EXIT=0")
        self.assertIn("Beta 2", self.t.out("ls", "b/INBOX"))


class Imap(UiCase):
    """The client on an IMAP account of a real Dovecot: the worker syncs
    while the index is open, bodies come when a message is opened, flags,
    deletes and moves reach the server, IDLE pushes new mail."""

    @classmethod
    def setUpClass(cls):
        cls.dovecot = ternlib.Dovecot(users=USERS, quota="1G")
        cls.dovecot.start()
        cls.next_user = 0

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.cleanup()

    def setUp(self):
        super().setUp()
        cls = type(self)
        self.user = "u%d" % cls.next_user
        cls.next_user += 1
        self.t.write_rc(self.t.account(self.dovecot, name="acct",
                                       user=self.user))

    def deliver(self, n, folder="INBOX", **kw):
        return self.dovecot.deliver(ternlib.make_message(n, **kw),
                                    user=self.user, folder=folder)

    def imap(self):
        return self.dovecot.imap(self.user, tls=True)

    def server_flags(self, folder="INBOX"):
        c = self.imap()
        try:
            c.select(folder)
            typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS"
                                " (SUBJECT)])")
            out = {}
            for item in data:
                if isinstance(item, tuple):
                    subj = item[1].decode().strip().split(": ", 1)[1]
                    out[subj] = item[0].decode()
            return out
        finally:
            c.logout()

    def until(self, pred, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        self.fail("condition not met in %ss" % timeout)

    def quit_when_sent(self, s):
        """q once the queue is empty: a change the server has made may
        still be on its way off the queue, and then q asks first."""
        self.until(lambda: self.queued() == 0)
        s.keys("q")
        s.wait("EXIT=0")

    def until_equal(self, fn, want, timeout=20):
        """Wait until fn() returns want; say what it returned last."""
        end = time.time() + timeout
        while True:
            got = fn()
            if got == want or time.time() > end:
                break
            time.sleep(0.1)
        self.assertEqual(got, want, "still not so after %ss" % timeout)

    def test_read_flag_delete_move_idle(self):
        for i in range(1, 4):
            self.deliver(i, body="Body of message %d.\n" % i)
        self.deliver(10, folder="Archive")
        s = self.start()
        # The worker syncs while the client is up; the index appears.
        t = s.wait("acct/INBOX  [3 msgs", timeout=20)
        s.wait("Message 3")
        s.wait("online")
        self.assertIn("Archive", s.text())
        # The quota the server reported, in the status line.
        self.assertRegex(s.wait("quota "), r"quota \S+/1G")
        # Reading fetches the body from the server.
        s.keys("Enter")
        s.wait("Body of message 3.", timeout=20)
        s.keys("q")
        self.until(lambda: "\\Seen" in self.server_flags()["Message 3"])
        # The folder list counts it read.
        end = time.time() + 10
        while not re.search(r"INBOX +2│", s.text()) and time.time() < end:
            time.sleep(0.05)
        self.assertRegex(s.text(), r"INBOX +2│")
        # Flag: applied at once, then on the server.
        s.keys("F")
        s.wait("> !   ")
        self.until(lambda: "\\Flagged" in
                   self.server_flags()["Message 3"])
        # Move the first message to Archive.
        s.keys("g", "s")
        s.wait("Move to folder")
        s.literal("Archive")
        s.keys("Enter")
        s.wait("Message 1", absent=True)
        self.until(lambda: "Message 1" in self.server_flags("Archive"))
        s.wait(" Archive")
        # Delete and purge: gone from the server.
        s.keys("G", "d", "$")
        s.wait("acct/INBOX  [1 msgs")
        self.until(lambda: "Message 3" not in self.server_flags())
        # New mail while the index is open arrives by IDLE.
        self.deliver(7, subject="Pushed by IDLE")
        t = s.wait("Pushed by IDLE", timeout=30)
        # Marked new in the index. (The "N new messages" notice is not
        # checked: when the push lands in the same turn as the purge's
        # resync, the folder's count does not grow and no notice shows.)
        self.assertRegex(t, r"\bN +\S+ +Bob +\d+ Pushed by IDLE")
        s.keys("q")
        s.wait("EXIT=0")

    def test_new_mail_in_another_folder_is_announced(self):
        """Mail that arrives in a folder other than the open one (NOTIFY
        on Dovecot) is counted in the folder list and announced."""
        self.deliver(1)
        self.deliver(2, folder="Lists")
        s = self.start()
        s.wait("acct/INBOX  [1 msgs", timeout=20)
        s.wait("online")
        self.until(lambda: re.search(r"Lists +1│", s.text()))
        c = self.imap()
        try:
            c.append("Lists", None, None, ternlib.make_message(
                3, subject="Arrived elsewhere"))
        finally:
            c.logout()
        self.wait_log("new-mail-elsewhere 1", timeout=30)
        self.until(lambda: re.search(r"Lists +2│", s.text()))
        s.keys("q")
        s.wait("EXIT=0")

    def test_new_mail_command_on_arrival(self):
        """set new_mail_command runs for mail IDLE and NOTIFY bring in,
        with the account, the folder and the count as its arguments."""
        out = os.path.join(self.t.dir, "arrivals.txt")
        with open(self.t.rc, "a") as f:
            f.write("set new_mail_command = 'echo \"$1|$2|$3\" >> %s'\n"
                    % out)
        self.deliver(1)
        self.deliver(4, folder="Lists")
        s = self.start()
        s.wait("acct/INBOX  [1 msgs", timeout=20)
        s.wait("online")
        self.until(lambda: re.search(r"Lists +1│", s.text()))

        def arrivals():
            try:
                with open(out) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []
        # What the first sync stored may count as arrivals too: only
        # the lines after these are the new mail's.
        seen = len(arrivals())
        self.deliver(2, subject="Pushed here")
        s.wait("Pushed here", timeout=30)
        self.until(lambda: "acct|INBOX|1" in arrivals()[seen:])
        seen = len(arrivals())
        c = self.imap()
        try:
            c.append("Lists", None, None, ternlib.make_message(
                3, subject="Arrived elsewhere"))
        finally:
            c.logout()
        self.until(lambda: "acct|Lists|1" in arrivals()[seen:])
        s.keys("q")
        s.wait("EXIT=0")

    def test_reply_is_sent_by_the_worker(self):
        smtpd = Smtpd(user=self.user, password=USERS[self.user],
                      tls="starttls", cert=self.dovecot.cafile,
                      key=os.path.join(self.dovecot.dir, "key.pem"))
        smtpd.start()
        self.addCleanup(smtpd.cleanup)
        self.t.write_rc(self.t.account(
            self.dovecot, name="acct", user=self.user,
            extra="    smtp smtp://127.0.0.1:%d\n"
                  "    from \"Alice <alice@example.net>\"\n" % smtpd.port))
        editor = os.path.join(self.t.dir, "editor")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nprintf 'My answer.\\n' >> \"$1\"\n")
        os.chmod(editor, 0o755)
        self.deliver(1, body="Question?\n")
        s = self.start(env={"EDITOR": editor, "VISUAL": editor})
        s.wait("Message 1", timeout=20)
        # The body is not here yet: r has it downloaded first.
        s.keys("r")
        self.until(self.body_stored)
        s.keys("r")
        # The send screen shows the reply; y sends it.
        s.wait("y:Send")
        s.wait("Re: Message 1")
        s.keys("y")
        try:
            msgs = self.until(lambda: smtpd.messages())
        except AssertionError:
            raise AssertionError("nothing sent; screen:\n%s\nlog:\n%s\n"
                                 "server:\n%s" % (s.text(), self.log_events(),
                                                  smtpd.log()))
        env, raw = msgs[0]
        self.assertIn(b"Subject: Re: Message 1", raw)
        self.assertIn(b"My answer.", raw)
        self.assertIn(b"> Question?", raw)
        self.assertIn("bob@example.org", json.dumps(env))
        s.wait("acct: sent")
        # Marked replied.
        s.wait_cursor("  r  2023")

    def send_setup(self, draft):
        """An account that sends to a local SMTP server, and an editor
        that writes draft; returns the server."""
        smtpd = Smtpd(user=self.user, password=USERS[self.user],
                      tls="starttls", cert=self.dovecot.cafile,
                      key=os.path.join(self.dovecot.dir, "key.pem"))
        smtpd.start()
        self.addCleanup(smtpd.cleanup)
        self.t.write_rc(self.t.account(
            self.dovecot, name="acct", user=self.user,
            extra="    smtp smtp://127.0.0.1:%d\n"
                  "    from \"Alice <alice@example.net>\"\n" % smtpd.port))
        self.editor = os.path.join(self.t.dir, "editor")
        src = os.path.join(self.t.dir, "draft.txt")
        with open(src, "w", encoding="utf-8") as f:
            f.write(draft)
        with open(self.editor, "w") as f:
            f.write("#!/bin/sh\ncat '%s' > \"$1\"\n" % src)
        os.chmod(self.editor, 0o755)
        return smtpd

    def send_start(self):
        self.deliver(1)
        s = self.start(env={"EDITOR": self.editor, "VISUAL": self.editor})
        s.wait("Message 1", timeout=20)
        s.keys("m")
        s.wait("y:Send")
        return s

    def attach(self, s, name, content):
        path = os.path.join(self.t.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        s.keys("a")
        s.wait("Attach file:")
        s.literal(path)
        s.keys("Enter")
        s.wait("Attached ")
        return path

    def sent(self, s, smtpd):
        try:
            return self.until(lambda: smtpd.messages())
        except AssertionError:
            raise AssertionError("nothing sent; screen:\n%s\nlog:\n%s\n"
                                 "server:\n%s" % (s.text(), self.log_events(),
                                                  smtpd.log()))

    def test_send_screen_changes_what_is_sent(self):
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: dave@example.com\n"
                                "Subject: First \x1b[31mtry\n\nHello.\n")
        s = self.send_start()
        screen = s.wait("dave@example.com")
        # The escape in the subject is shown made visible, not run.
        self.assertIn("First ^[[31mtry", screen)
        s.keys("s")
        s.wait("Subject: First")
        s.keys("C-u")
        s.literal("Changed subject")
        s.keys("Enter")
        s.wait("Changed subject")
        # Cc: Tab completes from the senders in the store.
        s.keys("c")
        s.wait("Cc (Tab completes):")
        s.literal("bo")
        s.keys("Tab")
        s.wait("Cc (Tab completes): Bob <bob@example.org>")
        s.keys("Enter")
        s.wait("Cc:       Bob <bob@example.org>")
        # A missing file is refused with a message.
        s.keys("a")
        s.wait("Attach file:")
        s.literal(os.path.join(self.t.dir, "no-such-file"))
        s.keys("Enter")
        s.wait("Cannot attach")
        self.attach(s, "r\u00e9sum\u00e9 \u00fc.txt", "Attached text.\n")
        s.wait("sum\u00e9 \u00fc.txt")
        s.keys("y")
        env, raw = self.sent(s, smtpd)[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(str(msg["Subject"]), "Changed subject")
        self.assertIn("bob@example.org", str(msg["Cc"]))
        self.assertIn("bob@example.org", json.dumps(env))
        self.assertIn("dave@example.com", json.dumps(env))
        self.assertIn(b"filename*", raw)
        names = [p.get_filename() for p in msg.iter_attachments()]
        self.assertEqual(names, ["r\u00e9sum\u00e9 \u00fc.txt"])
        self.assertIn("Hello.", msg.get_body(("plain",)).get_content())
        s.wait("acct: sent")
        s.keys("q")
        s.wait("EXIT=0")

    def test_forward_as_attachment(self):
        # A forwards the message as a message/rfc822 attachment holding
        # the original's exact bytes.
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: erin@example.com\n"
                                "Subject: Fwd: Message 1\n\nSee below.\n")
        self.deliver(1, body="The original text.\n")
        s = self.start(env={"EDITOR": self.editor, "VISUAL": self.editor})
        s.wait("Message 1", timeout=20)
        # The body is downloaded first, as for a reply.
        s.keys("A")
        self.until(self.body_stored)
        s.keys("A")
        s.wait("y:Send")
        s.wait("the forwarded message")
        s.keys("y")
        env, raw = self.sent(s, smtpd)[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertIn("erin@example.com", json.dumps(env))
        parts = [p for p in msg.walk()
                 if p.get_content_type() == "message/rfc822"]
        self.assertEqual(len(parts), 1)
        inner = parts[0].get_payload()[0]
        self.assertEqual(str(inner["Subject"]), "Message 1")
        self.assertIn(b"The original text.", raw)
        s.keys("q")
        s.wait("EXIT=0")

    def test_forward_tagged_as_attachments(self):
        # ;A forwards every tagged message, each attached whole, in one
        # message; bodies not downloaded yet are fetched first.
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: erin@example.com\n"
                                "Subject: Fwd: three\n\nSee them.\n")
        for i in range(1, 5):
            self.deliver(i, body="Original text %d.\n" % i)
        s = self.start(env={"EDITOR": self.editor, "VISUAL": self.editor})
        s.wait("acct/INBOX  [4 msgs", timeout=20)
        s.wait("online")
        s.keys("g", "j", "t", "t", "t")
        s.wait("3 tagged")
        s.literal(";A")
        s.wait("Downloading 3 of the messages")
        self.until(lambda: self.body_stored() >= 3)
        s.literal(";A")
        s.wait("y:Send")
        s.wait("the 3 forwarded messages")
        s.keys("y")
        env, raw = self.sent(s, smtpd)[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        inner = [p.get_payload()[0] for p in msg.walk()
                 if p.get_content_type() == "message/rfc822"]
        self.assertEqual(sorted(str(m["Subject"]) for m in inner),
                         ["Message 2", "Message 3", "Message 4"])
        for i in (2, 3, 4):
            self.assertIn(b"Original text %d." % i, raw)
        s.keys("q")
        s.wait("EXIT=0")

    def test_send_screen_cancel_sends_nothing(self):
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: dave@example.com\nSubject: Never\n\n"
                                "Not to be sent.\n")
        s = self.send_start()
        s.keys("q")
        s.wait("Cancel this message? (y/n)")
        s.keys("n")
        s.wait("Cancel this message?", absent=True)
        s.wait("y:Send")
        s.keys("q")
        s.wait("Cancel this message? (y/n)")
        s.keys("y")
        s.wait("Cancelled; nothing was sent")
        # Nothing is queued, and a sync sends nothing.
        db = sqlite3.connect(os.path.join(self.t.data, "tern", "tern.db"))
        try:
            self.assertEqual(
                db.execute("SELECT count(*) FROM outbox").fetchone()[0], 0)
        finally:
            db.close()
        n = self.log_events().count("synced acct")
        s.keys("$")
        self.until(lambda: self.log_events().count("synced acct") > n)
        self.assertEqual(smtpd.messages(), [])
        s.keys("q")
        s.wait("EXIT=0")

    def test_send_screen_postpone(self):
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: dave@example.com\nSubject: For later"
                                "\n\nUnfinished.\n")
        s = self.send_start()
        s.keys("b")
        s.wait("Bcc (Tab completes):")
        s.literal("erin@example.com")
        s.keys("Enter")
        s.keys("P")
        s.wait("y:Send", absent=True)
        # Kept in the store at once, then uploaded by the worker.
        s.wait("draft uploaded to acct/Drafts", timeout=20)
        flags = self.until(lambda: self.server_flags("Drafts"))
        self.assertIn("\\Draft", flags["For later"])
        self.assertEqual(smtpd.messages(), [])

    def test_send_screen_detach(self):
        smtpd = self.send_setup("From: Alice <alice@example.net>\n"
                                "To: dave@example.com\nSubject: Two files"
                                "\n\nSee the file.\n")
        s = self.send_start()
        # The help screen lists the send screen's keys; q comes back.
        s.keys("?")
        s.wait("compose keys")
        s.wait("send-message")
        s.keys("q")
        s.wait("y:Send")
        self.attach(s, "first.txt", "One.\n")
        self.attach(s, "second.txt", "Two.\n")
        s.wait("second.txt")
        s.keys("D")
        s.wait("first.txt", absent=True)
        s.wait("second.txt")
        s.keys("D")
        s.wait("No attachments")
        s.keys("D")
        s.wait("No attachment to remove")
        self.attach(s, "third.txt", "Three.\n")
        s.keys("y")
        env, raw = self.sent(s, smtpd)[0]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        names = [p.get_filename() for p in msg.iter_attachments()]
        self.assertEqual(names, ["third.txt"])

    def body_stored(self):
        return self.rows("body")

    def test_save_to_local_folder(self):
        # s with ACCOUNT/FOLDER moves to another account: an IMAP message
        # to a local folder is downloaded, committed, then expunged.
        for i in range(1, 3):
            self.deliver(i, body="Keep me %d.\n" % i)
        s = self.start()
        s.wait("acct/INBOX  [2 msgs", timeout=20)
        s.wait("online")
        s.keys("G", "s")
        s.wait("Move to folder")
        s.literal("local/Kept")
        s.keys("Enter")
        s.wait("acct/INBOX  [1 msgs")
        self.until(lambda: "Message 2" not in self.server_flags())
        self.assertIn("Message 2", self.t.out("ls", "local/Kept"))
        raw = self.t.out("cat", "--raw", "local/Kept",
                         self.t.out("ls", "local/Kept").split("\t")[0])
        self.assertIn("Keep me 2.", raw)
        self.quit_when_sent(s)

    def test_limit_finds_server_only_body_match(self):
        # The limit shows the store's matches at once; a message whose
        # body was never downloaded joins them when the server answers.
        self.deliver(1, subject="Lunch", body="meet at the quokka cafe\n")
        self.deliver(2, subject="Weather", body="sunny all week\n")
        self.deliver(3, subject="quokka photos", body="attached soon\n")
        s = self.start()
        s.wait("acct/INBOX  [3 msgs", timeout=20)
        s.wait("online")
        self.assertEqual(self.body_stored(), 0)
        s.keys("l")
        s.wait("Limit to")
        s.literal("quokka")
        s.keys("Enter")
        t = s.wait("(server: 2)", timeout=20)
        t = s.wait("2 shown, limit: quokka")
        rows = [x for x in t.splitlines() if "│" in x]
        self.assertTrue(any("Lunch" in r for r in rows), t)
        self.assertTrue(any("quokka photos" in r for r in rows), t)
        self.assertFalse(any("Weather" in r for r in rows), t)
        self.assertEqual(self.body_stored(), 0)
        # A new limit starts over: only the server knows this body word.
        s.keys("l")
        s.wait("Limit to")
        s.keys(*["BSpace"] * len("quokka"))
        s.literal("sunny")
        s.keys("Enter")
        t = s.wait("1 shown, limit: sunny", timeout=20)
        self.assertIn("Weather", t)
        self.assertNotIn("Lunch", t)
        # A pattern; under '!' the server, not the envelope, answers for
        # the bodies the store never saw.
        s.keys("l")
        s.wait("Limit to")
        s.keys(*["BSpace"] * len("sunny"))
        s.literal("!~b quokka")
        s.keys("Enter")
        s.wait("(server: 2)", timeout=20)
        t = s.wait("2 shown, limit: !~b quokka")
        self.assertIn("Weather", t)
        self.assertIn("quokka photos", t)
        self.assertNotIn("Lunch", t)
        # A malformed one says where, and the limit stays.
        s.keys("l")
        s.wait("Limit to")
        s.keys(*["BSpace"] * len("!~b quokka"))
        s.literal("~F (~U")
        s.keys("Enter")
        s.wait("Bad pattern: column 4: ( is not closed")
        s.wait("2 shown, limit: !~b quokka")
        s.keys("q")
        s.wait("EXIT=0")

    def test_tagged_delete_reaches_the_server(self):
        # ;d marks every tagged message \Deleted on the server, $ expunges
        # them; the untagged stay.
        for i in range(1, 5):
            self.deliver(i)
        s = self.start()
        s.wait("acct/INBOX  [4 msgs", timeout=20)
        s.wait("online")
        s.keys("g", "t", "j", "t")
        s.wait("2 tagged")
        s.literal(";d")
        s.wait("Deleted 2 tagged messages")
        self.until(lambda: all(
            "\\Deleted" in f for subj, f in self.server_flags().items()
            if subj in ("Message 1", "Message 3")))
        flags = self.server_flags()
        self.assertNotIn("\\Deleted", flags["Message 2"])
        self.assertNotIn("\\Deleted", flags["Message 4"])
        s.keys("$")
        s.wait("acct/INBOX  [2 msgs")
        self.until(lambda: sorted(self.server_flags()) ==
                   ["Message 2", "Message 4"])
        self.quit_when_sent(s)

    def test_copy_within_the_account_reaches_the_server(self):
        # C copies the message under the cursor and ;C the tagged ones to
        # another folder of the same account: shown there at once, made
        # by the server's COPY, the originals left where they were.
        for i in range(1, 4):
            self.deliver(i)
        self.deliver(10, folder="Archive")
        s = self.start()
        s.wait("acct/INBOX  [3 msgs", timeout=20)
        s.wait("online")
        s.keys("g", "C")
        s.wait("Copy to folder")
        s.literal("Archive")
        s.keys("Enter")
        s.wait("Copied to Archive")
        s.keys("j", "t", "j", "t")
        s.wait("2 tagged")
        s.literal(";C")
        s.wait("Copy 2 tagged messages to folder")
        s.literal("Archive")
        s.keys("Enter")
        s.wait("Copied 2 messages to Archive")
        self.until(lambda: len(self.server_flags("Archive")) == 4)
        self.assertEqual(sorted(self.server_flags("Archive")),
                         ["Message 1", "Message 10", "Message 2",
                          "Message 3"])
        self.assertEqual(sorted(self.server_flags()),
                         ["Message 1", "Message 2", "Message 3"])
        s.wait("acct/INBOX  [3 msgs")
        # The store holds each copy once, under the server's UID.
        self.until_equal(lambda: sorted(
            line.split("\t")[4] for line in
            self.t.out("ls", "acct/Archive").splitlines()),
            ["Message 1", "Message 10", "Message 2", "Message 3"])
        self.quit_when_sent(s)

    def test_pop3_download_read_delete(self):
        self.t.write_rc(self.t.account(self.dovecot, name="home",
                                       protocol="pop3", user=self.user))
        for i in range(1, 3):
            self.deliver(i, body="POP3 body %d.\n" % i)
        s = self.start()
        s.wait("home/INBOX  [2 msgs", timeout=20)
        # Downloaded and deleted on the server (keep no, the default).
        self.until(lambda: self.dovecot.count(self.user) == 0)
        s.keys("Enter")
        s.wait("POP3 body 2.")
        s.keys("q", "d", "$")
        s.wait("home/INBOX  [1 msgs")
        s.keys("q")
        s.wait("EXIT=0")
        self.assertNotIn("Message 2", self.t.out("ls", "home/INBOX"))

    def test_tern_sync_while_the_client_watches(self):
        # The client's worker holds the account's sync lock while it
        # watches INBOX with IDLE; a tern sync of the account waits for
        # it, and the worker lets go instead of keeping it for ever.
        self.deliver(1)
        s = self.start()
        s.wait("Message 1", timeout=20)
        self.assertTrue(self.t.sync_lock_held())
        self.deliver(2)
        r = self.t.run("sync", "acct", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"tern: acct: waiting for another sync "
                                   b"of this account to finish\n")
        ev = self.wait_log("yield acct: a tern sync waits for it")
        self.assertIn("acct is being synced by another tern", ev)
        # And the worker takes it back afterwards: IDLE goes on.
        self.deliver(3)
        s.wait("Message 3", timeout=30)
        s.keys("q")
        s.wait("EXIT=0")

    def test_pop3_note_on_message_line_and_in_log(self):
        self.t.write_rc(self.t.account(self.dovecot, name="home",
                                       protocol="pop3", user=self.user,
                                       extra="    max_message_size 5000\n"))
        self.deliver(1, body="Small.\n")
        self.deliver(2, body="z" * 6000 + "\n")
        s = self.start(width=60)
        # The warning the sync gave: on the message line (cut to the
        # width of the terminal)...
        t = s.wait("home: message 2 (", timeout=20)
        self.assertIn("is larger than", t.splitlines()[-1])
        self.assertNotIn("left on the server", t)
        # ... and whole in the log view.
        s.keys("M")
        t = s.wait("Notes and errors")
        lines = t.splitlines()[1:-2]
        text = ""
        for l in lines:
            text += l[9:] if l.startswith(" " * 9) else "\n" + l
        self.assertRegex(text, r"\n\d\d:\d\d:\d\d home: message 2 \(\d+ "
                               r"bytes\) is larger than max_message_size; "
                               r"left on the server")
        s.keys("q")
        s.wait("Notes and errors", absent=True)
        s.wait("home/INBOX  [1 msgs")
        s.keys("q")
        s.wait("EXIT=0")

    def test_offline_start(self):
        dovecot = ternlib.Dovecot(users={"off": "pw"})
        dovecot.start()
        try:
            dovecot.deliver(ternlib.make_message(
                1, subject="Kept for offline", body="Readable offline.\n"),
                user="off")
            self.t.write_rc(self.t.account(dovecot, name="acct",
                                           user="off"))
            # Online once: the index, and the body of the message read.
            s = self.start()
            s.wait("Kept for offline", timeout=20)
            s.keys("Enter")
            s.wait("Readable offline.", timeout=20)
            s.keys("q", "q")
            s.wait("EXIT=0")
        finally:
            dovecot.cleanup()
        s = self.start()
        t = s.wait("acct/INBOX  [1 msgs")
        self.assertIn("Kept for offline", t)
        t = s.wait("offline", timeout=20)
        s.keys("Enter")
        s.wait("Readable offline.")
        # Why it is offline is in the log view.
        self.wait_log("error acct: ")


class Truth(UiCase):
    """What the screen shows is what the mail and the accounts are."""

    def local(self, msgs):
        """Import raw messages into local/INBOX, in this order."""
        self.t.write_rc("")
        path = os.path.join(self.t.dir, "in.mbox")
        with open(path, "wb") as f:
            for raw in msgs:
                f.write(b"From x@example.org Thu Nov 14 22:13:20 2023\n")
                f.write(raw.replace(b"\r\n", b"\n") + b"\n")
        self.t.out("import", "local/INBOX", path)

    def test_pager_tabs_and_wrapped_lines(self):
        body = ("a\tb\tc\n" + "word " * 30 + "\n" +
                "x" * 37 + "  " + "y" * 10 + "\n")
        self.local([ternlib.make_message(1, subject="Tabs", body=body)])
        s = self.start(width=40, height=30)
        s.wait("Tabs")
        s.keys("Enter")
        t = s.wait("word")
        lines = t.splitlines()
        # A tab reaches the next multiple of 8 columns, as it is
        # counted when lines are cut.
        self.assertIn("a       b       c", t)
        # A wrapped line starts with its word, never with a space (after
        # the "+" that marks a continued line).
        words = [x for x in lines if "word" in x]
        self.assertGreater(len(words), 1)
        self.assertTrue(words[0].startswith("word"), repr(words[0]))
        for x in words[1:]:
            self.assertTrue(x.startswith("+word"), repr(x))
        ys = [x for x in lines if "yyy" in x]
        self.assertEqual(ys, ["+" + "y" * 10], t)
        s.keys("q", "q")
        s.wait("EXIT=0")

    def test_broken_encoded_word_is_shown_as_written(self):
        self.local([ternlib.make_message(
            1, subject="=?utf-8?b?Zm9v!!YmFy?= report")])
        s = self.start()
        t = s.wait("report")
        self.assertIn("=?utf-8?b?Zm9v!!YmFy?= report", t)
        s.keys("q")
        s.wait("EXIT=0")

    def status(self, s):
        lines = s.text().splitlines()
        return lines[-2] if len(lines) >= 2 else ""

    def wait_status(self, s, what, timeout=20):
        """Wait until the status line holds what; return it."""
        end = time.time() + timeout
        while what not in self.status(s):
            if time.time() > end:
                raise AssertionError("status not %r; screen:\n%s" %
                                     (what, s.text()))
            time.sleep(0.05)
        return self.status(s)

    def test_status_follows_the_server(self):
        dovecot = ternlib.Dovecot(users={"st": "pw"})
        dovecot.start()
        self.addCleanup(dovecot.cleanup)
        for i in range(1, 4):
            dovecot.deliver(ternlib.make_message(i), user="st")
        self.t.write_rc(self.t.account(dovecot, name="acct", user="st"))
        s = self.start()
        s.wait("Message 3", timeout=20)
        # Synced and watching: idle, not the last progress.
        st = self.wait_status(s, "online, idle")
        self.assertNotIn("/3", st)
        # The server stops: the status says so by itself, no key
        # pressed.
        dovecot.stop()
        st = self.wait_status(s, "offline since ")
        self.assertRegex(st, r"offline since \d\d:\d\d, retrying in \d+s")
        self.assertNotIn("online", st)
        # The error is in the log view, not on the message line.
        self.wait_log("error acct: ")
        self.assertNotIn("acct:", s.text().splitlines()[-1])
        # Offline, what the user did is confirmed, and the next failed
        # attempt (which $ starts) leaves that on the message line.
        s.keys("d", "$")
        s.wait("Deleted messages purged")
        ev = self.wait_log("state acct connecting")
        end = time.time() + 20
        while ev.count("state acct offline") < 2 and time.time() < end:
            time.sleep(0.05)
            ev = self.log_events()
        self.assertGreaterEqual(ev.count("state acct offline"), 2)
        # Never online meanwhile, not even for a moment.
        self.assertNotIn("state acct idle",
                         ev[ev.index("state acct offline"):])
        self.assertIn("Deleted messages purged", s.text().splitlines()[-1])
        self.assertRegex(self.status(s), r"offline since \d\d:\d\d")
        s.keys("M")
        s.wait("error: acct: ")
        s.keys("q")
        # It comes back: online again, the old error gone.
        dovecot.start()
        st = self.wait_status(s, "online, idle", timeout=90)
        self.assertNotIn("error", st)
        self.assertNotIn("offline", st)
        s.keys("q")
        s.wait("EXIT=0")

    def test_wrong_password_says_error_once(self):
        dovecot = ternlib.Dovecot(users={"wp": "pw"})
        dovecot.start()
        self.addCleanup(dovecot.cleanup)
        for protocol in ("imap", "pop3"):
            self.t.write_rc(self.t.account(dovecot, name="acct", user="wp",
                                           protocol=protocol,
                                           password="wrong"))
            s = self.start(env={"TERN_BACKOFF_MS": "600000"})
            st = self.wait_status(s, "error: login refused")
            self.assertNotIn("connecting", st)
            self.assertRegex(st, r"retrying in \d+s")
            self.wait_log("error acct: ")
            s.keys("q")
            s.wait("EXIT=0")
            s.kill()

    def test_narrow_and_wide_lines_are_cut_between_words(self):
        self.t.write_rc("")
        self.t.out("folder", "create",
                   "local/Correspondence about the release of tern")
        path = os.path.join(self.t.dir, "in.mbox")
        with open(path, "wb") as f:
            f.write(b"From x@example.org Thu Nov 14 22:13:20 2023\n")
            f.write(ternlib.make_message(
                1, sender="Mallory Smith <mallory@example.org>",
                subject="Re: patch").replace(b"\r\n", b"\n") + b"\n")
        self.t.out("import",
                   "local/Correspondence about the release of tern", path)
        full = {}
        for width in (200, 120, 80, 60, 50):
            s = self.start(width=width)
            s.wait("local/INBOX")
            # The folder list (below 60 columns, not drawn): the second.
            s.keys("c", "j", "Enter")
            t = s.wait("Re: patch")
            lines = t.splitlines()
            row = [x for x in lines if "Re: patch" in x][0]
            # The sender never runs into the subject.
            self.assertNotRegex(row, r"[^ ]Re: patch", (width, row))
            self.assertRegex(row, r"Mallory Smith |Mall[^ ]*( [^ ]+)?… ")
            title, status = lines[0].rstrip(), lines[-2].rstrip()
            if width == 200:
                full = {"title": title, "status": status}
                self.assertFalse(title.endswith("…"))
                self.assertFalse(status.endswith("…"))
            else:
                for name, line in (("title", title), ("status", status)):
                    if not line.endswith("…"):
                        self.assertEqual(line, full[name])
                        continue
                    # Cut after a whole word of the full line.
                    kept = line[:-1]
                    self.assertTrue(full[name].startswith(kept),
                                    (width, line, full[name]))
                    self.assertEqual(full[name][len(kept)], " ",
                                     (width, line))
            s.kill()

    def test_N_toggles_new_in_the_pager_as_in_the_index(self):
        s = self.start("--demo")
        s.wait("local/INBOX  [241 msgs")
        s.keys("Enter")
        s.wait("Welcome to the tern demo.")
        s.keys("q")
        s.wait("241 msgs, 14 new")
        # In the pager as in the index: N marks it new again.
        s.keys("Enter")
        s.wait("Welcome to the tern demo.")
        s.keys("N", "q")
        s.wait("241 msgs, 15 new")
        s.keys("N")
        s.wait("241 msgs, 14 new")
        # The pager's previous match is p, as in the index.
        s.keys("Enter")
        s.wait("Welcome to the tern demo.")
        s.keys("/")
        s.literal("tern")
        s.keys("Enter", "n", "p")
        self.assertNotIn("Not found", s.text())
        s.keys("?")
        s.wait("search-opposite")
        s.wait_re(r"\bp +search-opposite +previous match \(N toggles new")
        s.keys("q", "q", "q")
        s.wait("EXIT=0")

    def test_tab_completes_the_common_part_then_cycles(self):
        self.local([ternlib.make_message(1, subject="To be moved")])
        for name in ("Project-a", "Project-b", "Projects-old"):
            self.t.out("folder", "create", "local/" + name)
        s = self.start()
        s.wait("To be moved")
        s.keys("s")
        s.wait("Move to folder")
        s.literal("Pro")
        # The first Tab: what they have in common, and the list.
        s.keys("Tab")
        t = s.wait("3 matches")
        self.assertIn("Project-a  Project-b  Projects-old", t)
        self.assertTrue(t.splitlines()[-1].rstrip().endswith(": Project"),
                        t)
        # Then each Tab the next, round and round.
        for want in ("Project-a", "Project-b", "Projects-old",
                     "Project-a"):
            s.keys("Tab")
            end = time.time() + 10
            while not s.text().splitlines()[-1].rstrip().endswith(
                    ": " + want) and time.time() < end:
                time.sleep(0.05)
            self.assertTrue(s.text().splitlines()[-1].rstrip().endswith(
                ": " + want), s.text())
        s.keys("Enter")
        s.wait("Moved to Project-a")
        s.keys("q")
        s.wait("EXIT=0")

    def test_demo_sends_to_its_own_sent_folder(self):
        editor = os.path.join(self.t.dir, "editor")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nprintf 'Thanks for the tour.\\n' >> \"$1\"\n")
        os.chmod(editor, 0o755)
        files = os.path.join(self.t.dir, "files")
        os.makedirs(files)
        for name in ("report-2026.txt", "photo-a.jpg", "photo-b.jpg"):
            with open(os.path.join(files, name), "w") as f:
                f.write("content of %s\n" % name)
        s = self.start("--demo", env={"EDITOR": editor, "VISUAL": editor})
        s.wait("local/INBOX  [241 msgs")
        s.wait_cursor("Welcome to tern")
        s.keys("r")
        s.wait("y:Send")
        s.wait("Re: Welcome to tern")
        # The attach prompt completes paths: one match whole, several
        # to what they share, then one after the other.
        s.keys("a")
        s.wait("Attach file:")
        s.literal(files + "/rep")
        s.keys("Tab")
        s.wait("Attach file: " + files + "/report-2026.txt")
        s.keys("Enter")
        s.wait("Attached ")
        s.keys("a")
        s.wait("Attach file:")
        s.literal(files + "/ph")
        s.keys("Tab")
        s.wait("2 matches")
        s.wait("Attach file: " + files + "/photo-")
        s.keys("Tab")
        s.wait("Attach file: " + files + "/photo-a.jpg")
        s.keys("Tab")
        s.wait("Attach file: " + files + "/photo-b.jpg")
        s.keys("Enter")
        s.wait("photo-b.jpg")
        s.keys("y")
        s.wait("Sent (demo): nothing left this machine")
        # It is in the demo's Sent folder, answered in the INBOX.
        s.wait_cursor("Welcome to tern")
        self.assertRegex(s.cursor_line(), r">..r")
        s.keys("c", "G", "Enter")
        s.wait("local/Sent  [26 msgs")
        s.wait("Re: Welcome to tern")
        s.keys("q")
        s.wait("EXIT=0")

    def test_same_date_in_arrival_order_as_tern_ls(self):
        dovecot = ternlib.Dovecot(users={"tie": "pw"})
        dovecot.start()
        self.addCleanup(dovecot.cleanup)
        date = "Tue, 14 Nov 2023 22:13:20 +0000"
        for i in range(1, 5):
            dovecot.deliver(ternlib.make_message(
                i, subject="Same date %d" % i, date=date), user="tie")
        self.t.write_rc(self.t.account(dovecot, name="acct", user="tie"))
        s = self.start()
        s.wait("Same date 4", timeout=20)
        self.wait_status(s, "online, idle")
        t = s.text()
        shown = [int(m) for m in re.findall(r"Same date (\d)", t)]
        listed = [int(m) for m in re.findall(
            r"Same date (\d)", self.t.out("ls", "acct/INBOX"))]
        # Oldest first in both, the same date in the order they came.
        self.assertEqual(shown, [1, 2, 3, 4], t)
        self.assertEqual(listed, [1, 2, 3, 4])
        s.keys("q")
        s.wait("EXIT=0")

    def test_queued_offline_keeps_its_confirmation(self):
        dovecot = ternlib.Dovecot(users={"ob": "pw"})
        dovecot.start()
        self.addCleanup(dovecot.cleanup)
        dovecot.deliver(ternlib.make_message(1), user="ob")
        # The mail server cannot be reached (nothing listens on port 1).
        self.t.write_rc(self.t.account(
            dovecot, name="acct", user="ob",
            extra="    smtp smtp://127.0.0.1:1\n"
                  "    from \"Alice <alice@example.net>\"\n"))
        editor = os.path.join(self.t.dir, "editor")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nprintf 'Hello.\\n' >> \"$1\"\n")
        os.chmod(editor, 0o755)
        s = self.start(env={"EDITOR": editor, "VISUAL": editor})
        s.wait("Message 1", timeout=20)
        self.wait_status(s, "online, idle")
        s.keys("m")
        s.wait("y:Send")
        s.keys("t")
        s.wait("To")
        s.literal("bob@example.org")
        s.keys("Enter")
        s.keys("s")
        s.wait("Subject")
        s.literal("Kept")
        s.keys("Enter")
        s.keys("y")
        s.wait("Queued; sending from acct")
        # The attempt fails: said in the log view, while the message
        # line keeps the confirmation.
        self.wait_log("error acct: not sent yet")
        self.assertIn("Queued; sending from acct",
                      s.text().splitlines()[-1])
        s.keys("M")
        s.wait("not sent yet (kept in the outbox)")
        s.keys("q", "q")
        s.wait("EXIT=0")

    def test_status_names_another_account_that_is_offline(self):
        dovecot = ternlib.Dovecot(users={"two": "pw"})
        dovecot.start()
        self.addCleanup(dovecot.cleanup)
        dovecot.deliver(ternlib.make_message(1), user="two")
        self.t.write_rc(
            self.t.account(dovecot, name="acct", user="two") +
            self.t.account(dovecot, name="down", user="two", port=1))
        # acct/INBOX is stored, so the client opens it.
        self.t.out("sync", "acct")
        # Wide enough for both accounts' states whatever acct is doing.
        s = self.start(env={"TERN_BACKOFF_MS": "600000"}, width=160)
        s.wait("Message 1", timeout=20)
        self.wait_status(s, "online, idle")
        st = self.wait_status(s, "retrying in")
        self.assertIn("acct/INBOX", st)
        self.assertRegex(st, r"\[down: offline since \d\d:\d\d, "
                         r"retrying in \d+s\]")
        s.keys("q")
        s.wait("EXIT=0")


if __name__ == "__main__":
    ternlib.main()
