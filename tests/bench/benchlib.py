"""Pieces shared by the benchmarks: corpora in a Maildir, the ceilings,
and each contender (tern, NeoMutt, mpop) run once under /usr/bin/time.

Every measurement is one process: its wall time is taken around the whole
process (start-up, login and exit included, for every contender alike)
and its peak resident memory is /usr/bin/time's %M. Each function returns
a Sample and records the exact command it ran, so the report can print
commands anyone can repeat.
"""

import errno
import fcntl
import imaplib
import os
import platform
import pty
import select
import shlex
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import ternlib  # noqa: E402

TIME = "/usr/bin/time"

class BenchError(RuntimeError):
    pass


class Sample:
    def __init__(self, secs, rss_mib, argv, note=""):
        self.secs = secs
        self.rss = rss_mib
        self.argv = argv
        self.note = note


def need_packages():
    """Install what the benchmark needs from Debian when it is missing."""
    want = []
    if not os.access(TIME, os.X_OK):
        want.append("time")
    for exe, pkg in (("neomutt", "neomutt"), ("mpop", "mpop")):
        if shutil.which(exe) is None:
            want.append(pkg)
    if not os.path.exists("/usr/sbin/dovecot"):
        want += ["dovecot-imapd", "dovecot-pop3d"]
    if not os.path.exists("/usr/lib/dovecot/pop3"):
        want.append("dovecot-pop3d")
    if not os.path.exists("/usr/lib/dovecot/imap"):
        want.append("dovecot-imapd")
    if shutil.which("tmux") is None:
        want.append("tmux")  # ui-bench drives the full-screen client in it
    if shutil.which("cc") is None:
        want.append("gcc")
    want = sorted(set(want))
    if not want:
        return
    sudo = [] if os.getuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("installing: %s" % " ".join(want), flush=True)
    r = subprocess.run(sudo + ["apt-get", "install", "-y", "-q"] + want,
                       env=env)
    if r.returncode != 0:
        subprocess.run(sudo + ["apt-get", "update", "-q"], env=env)
        subprocess.run(sudo + ["apt-get", "install", "-y", "-q"] + want,
                       env=env, check=True)


def timed(argv, env=None, cwd=None, check=True, stdout=None):
    """Run argv to its end under /usr/bin/time; (Sample, stdout text)."""
    fd, memfile = _memfile()
    full = [TIME, "-f", "%M", "-o", memfile] + argv
    t0 = time.monotonic()
    r = subprocess.run(full, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    secs = time.monotonic() - t0
    rss = _read_mem(memfile)
    os.close(fd)
    os.unlink(memfile)
    if check and r.returncode != 0:
        raise BenchError("%s: exit %d\n%s" % (shlex.join(argv), r.returncode,
                                              r.stderr.decode(
                                                  errors="replace")[-3000:]))
    return Sample(secs, rss, argv), r.stdout.decode(errors="replace")


def _memfile():
    import tempfile
    return tempfile.mkstemp(prefix="tern-bench-mem-")


def _read_mem(path):
    with open(path) as f:
        lines = [x for x in f.read().split() if x.isdigit()]
    if not lines:
        return None
    return int(lines[-1]) / 1024.0


# ---------------------------------------------------------------- corpora

def generate(directory, count, seed=1):
    """The corpus of count messages in directory (made once, then reused)."""
    t0 = time.monotonic()
    names, total = corpus.write(
        directory, count, seed,
        progress=lambda n: print("  generated %d messages" % n, flush=True))
    return names, total, time.monotonic() - t0


def _link(src, dst, dc):
    try:
        os.link(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        shutil.copyfile(src, dst)
    if dc.root:
        os.chown(dst, dc.uid, dc.gid)


def empty_maildir(dc, user):
    base = dc.maildir(user)
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(base, sub)
        for x in os.listdir(d):
            os.unlink(os.path.join(d, x))


def deliver_new(dc, user, directory, names, tag=0):
    """The corpus into the user's INBOX new/ (unseen, as a delivery).

    tag makes the file names new, as every real delivery's are.
    """
    new = os.path.join(dc.maildir(user), "new")
    for n in names:
        _link(os.path.join(directory, n),
              os.path.join(new, n.replace(".bench,", ".bench%d," % tag)), dc)


def fill_imap(dc, user, directory, names, seed=1):
    """The corpus into the user's INBOX cur/ with realistic flags."""
    cur = os.path.join(dc.maildir(user), "cur")
    for i, n in enumerate(names):
        _link(os.path.join(directory, n),
              os.path.join(cur, n + ":2," + corpus.flags_of(i, seed)), dc)


# ---------------------------------------------------------------- ceilings

def build_ceiling(directory, name):
    """Compile tests/bench/NAME.c (pop3-ceiling, imap-ceiling)."""
    exe = os.path.join(directory, name)
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, name + ".c")],
                   check=True)
    return exe


def pop3_ceiling(exe, dc, user, dele=False):
    """All RETRs pipelined, bytes discarded: (Sample, messages, bytes).

    With dele, each RETR is followed by a DELE and the QUIT applies them.
    """
    s, out = timed([exe, str(dc.pop3_port), user, dc.users[user]] +
                   (["dele"] if dele else []))
    n, nbytes = out.split()[:2]
    return s, int(n), int(nbytes)


def imap_ceiling(exe, dc, user, bodies=False):
    """One pipelined UID FETCH 1:* read to its end: (Sample, msgs, bytes).

    bodies: of every whole message (BODY.PEEK[]), not the index items."""
    s, out = timed([exe, str(dc.imap_port), user, dc.users[user]] +
                   (["bodies"] if bodies else []))
    n, nbytes = out.split()[:2]
    return s, int(n), int(nbytes)


def imap_store_flags(dc, user, count, add):
    """Another client sets (or clears) \\Flagged on UIDs 1..count."""
    c = imaplib.IMAP4("127.0.0.1", dc.imap_port)
    c.login(user, dc.users[user])
    c.select("INBOX")
    typ, _ = c.uid("STORE", "1:%d" % count,
                   "+FLAGS.SILENT" if add else "-FLAGS.SILENT", "(\\Flagged)")
    if typ != "OK":
        raise BenchError("UID STORE failed")
    c.logout()


# ---------------------------------------------------------------- tern

class TernHome:
    """A tern with its own XDG dirs and one account on the bench server."""

    def __init__(self, dc, user, protocol, tls, exe, extra=""):
        self.t = ternlib.Tern()
        self.exe = exe
        self.t.write_rc(self.t.account(dc, "bench", protocol, tls=tls,
                                       user=user, extra=extra))
        self.env = self.t.env()
        self.db = os.path.join(self.t.data, "tern", "tern.db")

    def sync(self):
        s, out = timed([self.exe, "sync", "bench"], env=self.env)
        s.argv = ["XDG_CONFIG_HOME=%s" % self.t.config,
                  "XDG_DATA_HOME=%s" % self.t.data] + s.argv
        return s, out.strip()

    def export(self, folder, path):
        """tern export ACCOUNT/FOLDER --mbox path: (Sample, stdout)."""
        s, out = timed([self.exe, "export", "bench/" + folder, "--mbox",
                        path], env=self.env)
        s.argv = ["XDG_CONFIG_HOME=%s" % self.t.config,
                  "XDG_DATA_HOME=%s" % self.t.data] + s.argv
        return s, out.strip()

    def rc(self):
        with open(self.t.rc) as f:
            return f.read()

    def cleanup(self):
        self.t.cleanup()


def tern_pop3(dc, user, count, exe, tls):
    """tern sync of a keep-no account; checks every message arrived once."""
    h = TernHome(dc, user, "pop3", tls, exe)
    try:
        s, out = h.sync()
        want = "bench: %d new, %d removed from server" % (count, count)
        if out != want:
            raise BenchError("tern sync said %r, not %r" % (out, want))
        c = sqlite3.connect(h.db)
        n, distinct = c.execute(
            "SELECT count(*), count(DISTINCT pop3_uidl) FROM message"
        ).fetchone()
        c.close()
        left = dc.count(user)
        if n != count or distinct != count or left != 0:
            raise BenchError("tern: %d stored (%d distinct), %d left on the "
                             "server" % (n, distinct, left))
        s.note = h.rc()
        return s
    finally:
        h.cleanup()


# ---------------------------------------------------------------- mpop

def mpop(dc, user, count, workdir, tls):
    """mpop download-and-delete into a fresh Maildir; checks the count."""
    d = os.path.join(workdir, "mpop")
    shutil.rmtree(d, ignore_errors=True)
    md = os.path.join(d, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    rc = os.path.join(d, "mpoprc")
    port = dc.pop3s_port if tls == "on" else dc.pop3_port
    text = ("defaults\n"
            "account bench\n"
            "host 127.0.0.1\n"
            "port %d\n" % port +
            ("tls on\ntls_starttls off\ntls_trust_file %s\n" % dc.cafile
             if tls == "on" else "tls off\n") +
            "auth user\n"
            "user %s\n"
            "password %s\n"
            "delivery maildir %s\n"
            "keep off\n"
            "uidls_file %s\n" % (user, dc.users[user], md,
                                 os.path.join(d, "uidls")))
    with open(rc, "w") as f:
        f.write(text)
    os.chmod(rc, 0o600)
    s, _ = timed(["mpop", "-q", "-C", rc, "bench"], env=dict(
        os.environ, HOME=d))
    got = sum(len(os.listdir(os.path.join(md, x))) for x in ("cur", "new"))
    left = dc.count(user)
    if got != count or left != 0:
        raise BenchError("mpop: %d in the Maildir, %d left on the server"
                         % (got, left))
    s.note = text
    shutil.rmtree(md, ignore_errors=True)
    return s


# ---------------------------------------------------------------- neomutt

class NeoMutt:
    """NeoMutt opening the bench INBOX in a pseudo-terminal, then quitting.

    The status line is set to a marker with the message count; when the
    pty shows it with the full count the index is on screen, and 'q'
    quits. Wall time runs from spawn to exit.
    """

    ROWS, COLS = 40, 120

    def __init__(self, dc, user, workdir, name, hcache, tls):
        self.dir = os.path.join(workdir, "neomutt-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.rc = os.path.join(self.dir, "muttrc")
        if tls == "on":
            url = "imaps://%s@127.0.0.1:%d/INBOX" % (user, dc.imaps_port)
        else:
            url = "imap://%s@127.0.0.1:%d/INBOX" % (user, dc.imap_port)
        hc = os.path.join(self.dir, "hcache") + "/"
        if hcache:
            os.makedirs(hc, exist_ok=True)
        lines = [
            "set imap_user = %s" % user,
            "set imap_pass = %s" % dc.users[user],
            "set folder = \"%s\"" % url.rsplit("/", 1)[0],
            "set spoolfile = \"%s\"" % url,
            "set ssl_ca_certificates_file = \"%s\"" % dc.cafile,
            "set ssl_starttls = no",
            "set ssl_force_tls = %s" % ("yes" if tls == "on" else "no"),
            "set imap_check_subscribed = no",
            "set imap_passive = yes",
            "set mail_check_stats = no",
            "set sort = date",
            "set quit = yes",
            "set mark_old = no",
            "set move = no",
            "set ts_enabled = no",
            "set timeout = 0",
            "set status_format = \"TERNBENCH %m MSGS\"",
        ]
        if hcache:
            lines += ["set header_cache = \"%s\"" % hc,
                      "set imap_condstore = yes",
                      "set imap_qresync = yes"]
        else:
            lines += ["unset header_cache"]
        self.text = "\n".join(lines) + "\n"
        with open(self.rc, "w") as f:
            f.write(self.text)
        self.argv = ["neomutt", "-n", "-F", self.rc]

    def run(self, count, timeout=1800):
        fd, memfile = _memfile()
        os.close(fd)
        argv = [TIME, "-f", "%M", "-o", memfile] + self.argv
        env = dict(os.environ, HOME=self.dir, TERM="xterm", LANG="C.UTF-8",
                   LC_ALL="C.UTF-8")
        marker = b"TERNBENCH %d MSGS" % count
        t0 = time.monotonic()
        pid, master = pty.fork()
        if pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", self.ROWS, self.COLS, 0, 0))
        os.kill(pid, signal.SIGWINCH)
        seen, sent_q, status = b"", False, None
        deadline = t0 + timeout
        try:
            while True:
                if time.monotonic() > deadline:
                    raise BenchError("neomutt: no index after %d s; screen "
                                     "tail: %r" % (timeout, seen[-600:]))
                r, _, _ = select.select([master], [], [], 0.5)
                if r:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    seen = (seen + data)[-8192:]
                    if not sent_q and marker in seen:
                        os.write(master, b"q")
                        sent_q = True
                w, st = os.waitpid(pid, os.WNOHANG)
                if w:
                    status = st
                    break
            if status is None:
                _, status = os.waitpid(pid, 0)
        finally:
            os.close(master)
        secs = time.monotonic() - t0
        rss = _read_mem(memfile)
        os.unlink(memfile)
        if not sent_q or not os.WIFEXITED(status) or \
                os.WEXITSTATUS(status) != 0:
            raise BenchError("neomutt ended without showing %d messages "
                             "(status %r); screen tail: %r"
                             % (count, status, seen[-600:]))
        return Sample(secs, rss, ["HOME=" + self.dir] + self.argv, self.text)


# ---------------------------------------------------------------- machine

def describe_machine():
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    def version(argv, pat=None):
        try:
            out = subprocess.run(argv, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT).stdout.decode()
        except OSError:
            return "not found"
        line = out.strip().splitlines()[0] if out.strip() else "?"
        return line

    mem = first("/proc/meminfo", "MemTotal")
    if mem.endswith(" kB"):
        mem = "%.1f GiB" % (int(mem.split()[0]) / 1048576)
    try:
        with open("/etc/debian_version") as f:
            deb = "Debian " + f.read().strip()
    except OSError:
        deb = platform.platform()
    try:
        rev = subprocess.run(["git", "-C", HERE, "describe", "--always"],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().strip()
        # Changed files other than the results themselves.
        st = subprocess.run(["git", "-C", HERE, "status", "--porcelain",
                             "--untracked-files=no", "--", ":/",
                             ":(top,exclude)tests/bench/RESULTS.md"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL).stdout.decode()
        if st.strip():
            rev += " with local changes"
    except OSError:
        rev = "?"
    return [
        ("cpu", "%s, %d cores" % (first("/proc/cpuinfo", "model name"),
                                  os.cpu_count())),
        ("memory", mem),
        ("system", "%s, Linux %s" % (deb, platform.release())),
        ("storage", "the Maildirs and stores in %s" % os.environ.get(
            "TMPDIR", "/tmp")),
        ("dovecot", version(["/usr/sbin/dovecot", "--version"])),
        ("neomutt", version(["neomutt", "-v"])),
        ("mpop", version(["mpop", "--version"])),
        ("tern", "git %s" % (rev or "?")),
        ("python", platform.python_version()),
    ]
