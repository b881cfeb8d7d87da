"""The huge-folder run of tests/bench/run (--huge): one IMAP INBOX of
1,000, 10,000, 100,000 and 1,000,000 messages, and what tern does with it.

The messages are corpus.small_message(): every header tern's index asks
for, a Received chain and a DKIM signature, and a body of a few hundred
bytes, written straight into the Maildirs' cur/ (a smaller folder's files
are hard links to the first ones of the biggest). Dovecot indexes each
folder once, untimed, by the first read of the ceiling.

At each size, over R rounds (the first read warmed Dovecot's cache):
  ceiling         imap-ceiling.c: one UID FETCH 1:* of the index items,
                  read to its end unparsed
  tern cold       tern sync into an empty store: wall time, peak RSS,
                  and its ratio to the ceiling of the same round
  tern resync     again, nothing changed
and once, on the store of the last cold sync (its account made
unreachable, so the client reads the store only): the full-screen
client's first screen (in process and from spawn), `g` and `G` (first and
last message), a search (`/` and a word found in a few messages), each
from the key (the answer, for the search) to the screen, as the client's
--log says, and the client's peak RSS.
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
import corpus  # noqa: E402
from benchlib import BenchError  # noqa: E402

SIZES = [1000, 10000, 100000, 1000000]
# The word searched for: in the subject of one message in a thousand
# ("invoice 7" matches invoice 7, 70-79 and 700-799, of one subject
# in ten), and in no address.
SEARCH = "invoice 777"
GOALS = {
    "ratio": 1.3,        # tern cold / ceiling
    "sync_mib": 64,
    "client_mib": 64,
    "first_s": 0.1,
    "resync_s": 0.5,
    "key_s": 0.1,
}


def log(msg):
    print(msg, flush=True)


def fill(dc, sizes):
    """The biggest folder written, the others linked; (secs, bytes)."""
    big = max(sizes)
    cur = os.path.join(dc.maildir("huge%d" % big), "cur")
    t0 = time.monotonic()
    nbytes = corpus.write_small_maildir(cur, big)
    names = sorted(os.listdir(cur))
    for n in sizes:
        if n == big:
            continue
        dst = os.path.join(dc.maildir("huge%d" % n), "cur")
        for x in names[:n]:
            os.link(os.path.join(cur, x), os.path.join(dst, x))
    if dc.root:
        subprocess.run(["chown", "-R", "%d:%d" % (dc.uid, dc.gid),
                        os.path.join(dc.dir, "home")], check=True)
    return time.monotonic() - t0, nbytes


def closed_port():
    """A port nothing listens on: the client's account is offline."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    """The full-screen client in tmux with --log, on a store."""

    def __init__(self, tern, env, home):
        self.tern, self.env, self.home = tern, env, home
        self.log = os.path.join(home, "ui.log")
        self.sock = "tern-huge-%d" % os.getpid()

    def lines(self):
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def wait(self, pred, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            ls = self.lines()
            if pred(ls):
                return ls
            time.sleep(0.002)
        pane = subprocess.run(["tmux", "-L", self.sock, "capture-pane",
                               "-p"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode(
                                  errors="replace")
        raise BenchError("the client timed out; screen:\n%s\nlog:\n%s"
                         % (pane, "\n".join(self.lines()[-30:])))

    def keys(self, *keys):
        subprocess.run(["tmux", "-L", self.sock, "send-keys"] + list(keys),
                       check=True)

    def handled(self, ls, what=" handled "):
        return [x for x in ls if what in x]

    def press(self, *keys, what=" handled "):
        """Send keys; the ms of the next line containing what."""
        n = len(self.handled(self.lines(), what))
        self.keys(*keys)
        ls = self.wait(lambda ls: len(self.handled(ls, what)) > n)
        return float(self.handled(ls, what)[n].split()[-2])

    def run(self):
        e = dict(self.env, TERM="screen-256color")
        e.pop("TMUX", None)
        t0 = time.monotonic()
        subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null",
                        "new-session", "-d", "-x", "120", "-y", "40",
                        "%s --log %s; sleep 5" % (self.tern, self.log)],
                       env=e, check=True)
        try:
            ls = self.wait(lambda ls: any("first-draw" in x for x in ls))
            out = {"first_wall": time.monotonic() - t0,
                   "first_in": [float(x.split()[0]) for x in ls
                                if "first-draw" in x][0]}
            m = [x for x in ls if "first-draw" in x][0]
            out["rows"] = int(re.search(r"rows=(\d+)", m).group(1))
            # A person's pause before the first key.
            time.sleep(0.3)
            out["g"] = self.press("g") / 1000
            time.sleep(0.15)
            out["G"] = self.press("G") / 1000
            time.sleep(0.15)
            self.keys("/")
            time.sleep(0.1)
            self.keys("-l", SEARCH)
            time.sleep(0.1)
            out["search"] = self.press("Enter", what="answer handled") / 1000
            ls = self.lines()
            out["search_note"] = [x for x in ls if " note " in x or
                                  " error " in x][-1:]
            time.sleep(0.15)
            self.keys("q")
            ls = self.wait(lambda ls: any("peak-rss-kib" in x for x in ls))
            out["rss"] = int([x for x in ls if "peak-rss-kib" in x][0]
                             .split("=")[-1]) / 1024
            return out
        finally:
            subprocess.run(["tmux", "-L", self.sock, "kill-server"],
                           stderr=subprocess.DEVNULL)


def one_size(a, dc, user, n, ceiling_exe, res):
    rounds = []
    for r in range(a.runs):
        row = {}
        s, got, nbytes = benchlib.imap_ceiling(ceiling_exe, dc, user)
        if got != n:
            raise BenchError("the server has %d messages, not %d" % (got, n))
        row["ceiling"] = s.secs
        row["bytes"] = nbytes
        h = benchlib.TernHome(dc, user, "imap", a.tls, a.tern)
        try:
            s, text = h.sync()
            if "%d new" % n not in text:
                raise BenchError("tern cold sync said %r" % text)
            row["cold"], row["cold_mib"] = s.secs, s.rss
            res["cold_cmd"] = s.argv
            s, text = h.sync()
            row["resync"], row["resync_mib"] = s.secs, s.rss
            row["resync_said"] = text
            if r == a.runs - 1:
                # The envelopes' search index is filled after a sync (by
                # the client in the background, or the first search): once
                # here, timed apart, before the client is measured.
                s, _ = benchlib.timed([a.tern, "search", "bench/INBOX",
                                       SEARCH], env=h.env, check=False)
                row["fill"] = s.secs
                log("    search index of %d envelopes filled in %.2f s"
                    % (n, s.secs))
                rc = h.rc()
                h.t.write_rc(re.sub(r"port \d+", "port %d" % closed_port(),
                                    rc))
                row["ui"] = Client(a.tern, h.env, h.t.dir).run()
        finally:
            h.cleanup()
        log("    round %d: ceiling %.3f s, tern cold %.3f s (%.2fx, %.1f MiB)"
            ", resync %.3f s (%s)" % (
                r + 1, row["ceiling"], row["cold"],
                row["cold"] / row["ceiling"], row["cold_mib"] or 0,
                row["resync"], row["resync_said"]))
        if "ui" in row:
            u = row["ui"]
            log("    client: first screen %.3f s in process, %.3f s from "
                "spawn (%d rows); g %.4f s, G %.4f s, search %.4f s; "
                "%.1f MiB" % (u["first_in"], u["first_wall"], u["rows"],
                              u["g"], u["G"], u["search"], u["rss"]))
        rounds.append(row)
    return rounds


def fmt(x, unit="s"):
    if x is None:
        return "-"
    return "%.3f" % x if x < 10 else "%.2f" % x


def report(a, sizes, results, info, started, argv, load_end):
    med = statistics.median
    lines = ["## Run with %s" % " ".join(argv), "",
             "Written by `tests/bench/run %s` on %s (%.0f minutes)." % (
                 " ".join(argv), started.strftime("%Y-%m-%d %H:%M UTC"),
                 (time.time() - started.timestamp()) / 60), "",
             "One IMAP INBOX at each size, of corpus.small_message() mail "
             "(every index header, a few hundred bytes of body, Message-"
             "IDs in no order). %d rounds a size after Dovecot's first "
             "read; medians and bests of those rounds. The ratio is of "
             "tern's cold sync to the ceiling of the same round. The "
             "client ran once a size, offline on the store of the last "
             "cold sync; its times run from the key (for the search: "
             "from Enter) to the screen, as its --log says. Plain TCP on "
             "127.0.0.1." % a.runs, "", "### Machine", ""]
    for k, v in info:
        lines.append("- %s: %s" % (k, v))
    lines.append("- load average (1 min) from other work on the machine: "
                 "%s at the start, %.2f at the end" % (a.load_start,
                                                       load_end))
    lines += ["", "### Figures", "",
              "| size | ceiling s (best) | tern cold s (best) | ratio "
              "median (best) | sync peak MiB | resync s | first screen s "
              "(from spawn) | g s | G s | search s | client peak MiB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for n in sizes:
        rs = results[n]
        ratios = [r["cold"] / r["ceiling"] for r in rs]
        u = rs[-1]["ui"]
        lines.append(
            "| %s | %s (%s) | %s (%s) | %.2f (%.2f) | %.1f | %s | %s (%s) "
            "| %.4f | %.4f | %.4f | %.1f |" % (
                format(n, ","), fmt(med(r["ceiling"] for r in rs)),
                fmt(min(r["ceiling"] for r in rs)),
                fmt(med(r["cold"] for r in rs)),
                fmt(min(r["cold"] for r in rs)), med(ratios), min(ratios),
                max(r["cold_mib"] or 0 for r in rs),
                fmt(med(r["resync"] for r in rs)), fmt(u["first_in"]),
                fmt(u["first_wall"]), u["g"], u["G"], u["search"],
                u["rss"]))
        if n == max(sizes):
            v = []
            checks = [
                ("cold sync, best ratio to the ceiling", min(ratios),
                 GOALS["ratio"], "%.2fx"),
                ("tern sync peak memory", max(r["cold_mib"] or 0
                                              for r in rs),
                 GOALS["sync_mib"], "%.1f MiB"),
                ("no-change resync", med(r["resync"] for r in rs),
                 GOALS["resync_s"], "%.3f s"),
                ("first screen", u["first_in"], GOALS["first_s"], "%.3f s"),
                ("g", u["g"], GOALS["key_s"], "%.4f s"),
                ("G", u["G"], GOALS["key_s"], "%.4f s"),
                ("search", u["search"], GOALS["key_s"], "%.4f s"),
                ("client peak memory", u["rss"], GOALS["client_mib"],
                 "%.1f MiB")]
            for what, val, goal, f in checks:
                v.append("- %s at %s messages: %s (goal %s): %s" % (
                    what, format(n, ","), f % val, f % goal,
                    "met" if val <= goal else "MISSED"))
            verdicts = v
    lines += ["", "Goals:", ""] + verdicts
    lines += ["", "### Scaling", "",
              "Median seconds at each size, and per message in "
              "microseconds.", "",
              "| | %s |" % " | ".join("%s msgs: s (us/msg)" % format(n, ",")
                                     for n in sizes),
              "|---|" + "---:|" * len(sizes)]
    for label, key in (("ceiling (one UID FETCH 1:*)", "ceiling"),
                       ("tern cold", "cold"),
                       ("tern resync, nothing changed", "resync")):
        cells = []
        for n in sizes:
            x = med(r[key] for r in results[n])
            cells.append("%s (%.1f)" % (fmt(x), x / n * 1e6))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    for label, key in (("client: first screen (in process)", "first_in"),
                       ("client: g", "g"), ("client: G", "G"),
                       ("client: search", "search")):
        cells = []
        for n in sizes:
            x = results[n][-1]["ui"][key]
            cells.append("%.4f (%.3f)" % (x, x / n * 1e6))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines += ["", "Peak memory (MiB) at each size: tern sync %s; the client "
              "%s." % (", ".join("%.1f" % max(r["cold_mib"] or 0
                                              for r in results[n])
                                 for n in sizes),
                       ", ".join("%.1f" % results[n][-1]["ui"]["rss"]
                                 for n in sizes)), "",
              "### How it was measured", "",
              "- tern cold, %s messages: `%s`" % (
                  format(max(sizes), ","),
                  " ".join(results["cold_cmd"])),
              "- the ceiling: `imap-ceiling PORT USER PASS` "
              "(tests/bench/imap-ceiling.c, `cc -O2`)",
              "- the client: `tern --log FILE` in tmux (120x40) on the "
              "store of the last cold sync, its account's port made one "
              "nothing listens on; keys `g`, `G`, then `/`, `%s`, Enter"
              % SEARCH, ""]
    return "\n".join(lines)


def main(a, argv, started, ternlib, describe, write_results, results_path):
    sizes = a.huge_sizes or SIZES
    benchlib.need_packages()
    work = tempfile.mkdtemp(prefix="tern-huge-")
    os.chmod(work, 0o755)
    dc = None
    try:
        ceiling = benchlib.build_ceiling(work, "imap-ceiling")
        # Dovecot's imap process indexing a million messages needs more
        # than its default 256 MB of address space: it drops the client.
        dc = ternlib.Dovecot(users={"huge%d" % n: "bench" for n in sizes},
                             extra_conf="mail_max_userip_connections = 50\n"
                             "default_vsz_limit = 4G\n"
                             ).start()
        secs, nbytes = fill(dc, sizes)
        log("wrote %d messages (%.0f MB) in %.1f s" % (max(sizes),
                                                       nbytes / 1e6, secs))
        info = describe()
        results = {}
        for n in sizes:
            user = "huge%d" % n
            t0 = time.monotonic()
            benchlib.imap_ceiling(ceiling, dc, user)
            log("IMAP, %s messages (Dovecot indexed them in %.1f s)"
                % (format(n, ","), time.monotonic() - t0))
            results[n] = one_size(a, dc, user, n, ceiling, results)
        text = report(a, sizes, results, info, started, argv,
                      os.getloadavg()[0])
        print()
        print(text)
        if not a.no_write:
            write_results(results_path, "huge", text)
            print("written to %s (the huge run's section)" % results_path)
    finally:
        if dc:
            dc.cleanup()
        shutil.rmtree(work, ignore_errors=True)
