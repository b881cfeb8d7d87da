"""Scenario-test harness: a real Dovecot on loopback, and the tern binary.

Dovecot runs from a config file in a temporary directory (no system
service), with IMAP, IMAPS, POP3 and POP3S on free ports of 127.0.0.1 and a
self-signed certificate made at test time. It works as root (login and mail
processes run as dovenull/nobody) and as an ordinary user (everything runs
as that user). A test that needs the server fails when it cannot start.
"""

import email.utils
import fcntl
import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

SRCDIR = os.environ.get("TERN_SRCDIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(
                            os.path.abspath(__file__)))))
TERN = os.environ.get("TERN", os.path.join(SRCDIR, "build", "tern"))


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1."""
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def find_binary(name):
    for d in ("/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    p = shutil.which(name)
    if p is None:
        raise RuntimeError("%s not found: install dovecot-imapd and "
                           "dovecot-pop3d" % name)
    return p


def make_cert(directory):
    """A self-signed certificate for localhost and 127.0.0.1."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)
    return cert, key


class Dovecot:
    """A Dovecot instance in its own directory.

    users: {name: password}. imap_capability: a string to replace the
    advertised IMAP capabilities (hides extensions), or None. quota: a
    storage limit such as "1G", or None.
    """

    def __init__(self, users=None, imap_capability=None, quota=None,
                 pop3_uidl_format="%08Xu%08Xv", extra_conf=""):
        self.users = users or {"alice": "secret"}
        self.dir = tempfile.mkdtemp(prefix="tern-dovecot-")
        os.chmod(self.dir, 0o755)
        (self.imap_port, self.imaps_port, self.pop3_port,
         self.pop3s_port) = free_ports(4)
        self.cafile, key = make_cert(self.dir)
        self.root = os.getuid() == 0
        if self.root:
            self.mail_user, self.mail_group = "nobody", "nogroup"
            login_user, internal_user = "dovenull", "dovecot"
            internal_group = "dovecot"
        else:
            self.mail_user = pwd.getpwuid(os.getuid()).pw_name
            self.mail_group = grp.getgrgid(os.getgid()).gr_name
            login_user = internal_user = self.mail_user
            internal_group = self.mail_group
        self.uid = pwd.getpwnam(self.mail_user).pw_uid
        self.gid = grp.getgrnam(self.mail_group).gr_gid
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u, p in self.users.items():
                f.write("%s:{PLAIN}%s\n" % (u, p))
        os.chmod(os.path.join(self.dir, "passwd"), 0o644)
        os.mkdir(os.path.join(self.dir, "home"))
        for u in self.users:
            self._mkmaildir(u, "")
        plugins = ""
        imap_plugins = ""
        quota_conf = ""
        if quota:
            plugins = "mail_plugins = $mail_plugins quota"
            imap_plugins = "mail_plugins = $mail_plugins imap_quota"
            quota_conf = ("plugin {\n  quota = maildir:User quota\n"
                          "  quota_rule = *:storage=%s\n}\n" % quota)
        cap = ""
        if imap_capability is not None:
            cap = "imap_capability = %s" % imap_capability
        d = self.dir
        conf = f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.cafile}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={self.mail_user} gid={self.mail_group} home={d}/home/%u
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
{plugins}
pop3_uidl_format = {pop3_uidl_format}
{cap}
protocol imap {{
  {imap_plugins}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{quota_conf}
{extra_conf}
"""
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.started = False

    def _mkmaildir(self, user, folder):
        home = os.path.join(self.dir, "home", user)
        base = os.path.join(home, "Maildir")
        if folder and folder != "INBOX":
            base = os.path.join(base, "." + folder)
        for sub in ("", "cur", "new", "tmp"):
            p = os.path.join(base, sub)
            os.makedirs(p, exist_ok=True)
        for root, dirs, files in os.walk(home):
            for x in [root] + [os.path.join(root, y) for y in dirs + files]:
                os.chown(x, self.uid, self.gid) if self.root else None
        return base

    def start(self):
        binary = find_binary("dovecot")
        # The daemon keeps its inherited descriptors: give it a file, not
        # a pipe whose end we would wait for.
        out_path = os.path.join(self.dir, "start.out")
        with open(out_path, "wb") as out:
            r = subprocess.run([binary, "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=out, stderr=out, timeout=30)
        if r.returncode != 0:
            with open(out_path, errors="replace") as f:
                raise RuntimeError("dovecot did not start: %s\n%s" %
                                   (f.read(), self.log()))
        self.started = True
        deadline = time.time() + 20
        for port in (self.imap_port, self.imaps_port, self.pop3_port,
                     self.pop3s_port):
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("dovecot is not listening on %d:"
                                           "\n%s" % (port, self.log()))
                    time.sleep(0.05)
        return self

    def stop(self):
        if self.started:
            subprocess.run([find_binary("doveadm"), "-c", self.conf, "stop"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            pidfile = os.path.join(self.dir, "run", "master.pid")
            deadline = time.time() + 10
            while os.path.exists(pidfile) and time.time() < deadline:
                time.sleep(0.05)
            self.started = False

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no log)"

    def maildir(self, user="alice", folder="INBOX"):
        return self._mkmaildir(user, folder)

    def deliver(self, raw, user="alice", folder="INBOX", flags="", name=None):
        """Drop a message into a Maildir; it appears to IMAP and POP3."""
        if isinstance(raw, str):
            raw = raw.encode()
        base = self.maildir(user, folder)
        name = name or "%d.M%dP%d.tern-test" % (time.time(),
                                                  next(_delivery_counter),
                                                  os.getpid())
        if flags:
            path = os.path.join(base, "cur", name + ":2," + flags)
        else:
            path = os.path.join(base, "new", name)
        tmp = os.path.join(base, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        if self.root:
            os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, path)
        return path

    def count(self, user="alice", folder="INBOX"):
        base = self.maildir(user, folder)
        return sum(len(os.listdir(os.path.join(base, s)))
                   for s in ("cur", "new"))

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.cleanup()


_delivery_counter = itertools.count(1)


def store_db(data):
    """The store of a tern whose XDG_DATA_HOME is data, opened with the
    SQL function tern_body(raw, pack_id, pack_off, pack_len), the bytes of
    a body whether in the database or in a pack file."""
    path = os.path.join(data, "tern", "tern.db")
    c = sqlite3.connect(path)

    def body(raw, pack, off, length):
        if pack is None:
            return raw
        # A missing or short pack gives a wrong body, for the test to see.
        try:
            with open(os.path.join(data, "tern", "packs", str(pack)),
                      "rb") as f:
                f.seek(off)
                return f.read(length)
        except FileNotFoundError:
            return None

    c.create_function("tern_body", 4, body)
    return c


BODY = "tern_body(b.raw, b.pack_id, b.pack_off, b.pack_len)"


def make_message(n=1, subject=None, sender="Bob <bob@example.org>",
                 to="alice@example.net", body=None, date=None,
                 msgid=None, extra_headers=""):
    """A small RFC 5322 message with CRLF line ends."""
    subject = subject if subject is not None else "Message %d" % n
    date = date or email.utils.formatdate(1700000000 + n * 60)
    msgid = msgid or "<msg%d.%d@example.org>" % (n, os.getpid())
    body = body if body is not None else "This is message %d.\n" % n
    text = ("From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: %s\n%s"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s"
            % (sender, to, subject, date, msgid, extra_headers, body))
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer",
                   b"runtime error:", b"ERROR: UndefinedBehaviorSanitizer")


def check_sanitizers(what, stderr):
    """Fail on any ASan/LSan/UBSan report in a program's stderr (the suite
    also runs with -Db_sanitize=address,undefined)."""
    if isinstance(stderr, str):
        stderr = stderr.encode()
    for mark in SANITIZER_MARKS:
        if mark in stderr:
            raise AssertionError("%s: sanitizer report:\n%s"
                                 % (what, stderr.decode(errors="replace")))


class Tern:
    """The tern binary with its own XDG directories and rc file."""

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="tern-home-")
        self.config = os.path.join(self.dir, "config")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(self.config, "tern"), exist_ok=True)
        self.rc = os.path.join(self.config, "tern", "rc")

    def env(self, extra=None):
        e = dict(os.environ)
        e["XDG_CONFIG_HOME"] = self.config
        e["XDG_DATA_HOME"] = self.data
        e["HOME"] = self.dir
        e["TZ"] = "UTC"
        e.pop("TERN_CURL_VERBOSE", None)
        if extra:
            e.update(extra)
        return e

    def write_rc(self, text, mode=0o600):
        with open(self.rc, "w") as f:
            f.write(text)
        os.chmod(self.rc, mode)

    def account(self, dovecot, name="acct", protocol="imap", tls="on",
                user="alice", password=None, extra=""):
        """rc text for an account on the test server."""
        if protocol == "imap":
            port = dovecot.imaps_port if tls == "on" else dovecot.imap_port
        else:
            port = dovecot.pop3s_port if tls == "on" else dovecot.pop3_port
        password = password or dovecot.users[user]
        return (f"account {name}\n"
                f"    protocol {protocol}\n"
                f"    host 127.0.0.1\n"
                f"    port {port}\n"
                f"    tls {tls}\n"
                f"    cafile {dovecot.cafile}\n"
                f"    user {user}\n"
                f"    password \"{password}\"\n"
                f"{extra}")

    def run(self, *args, input=None, timeout=120, env=None, check=False):
        r = subprocess.run([TERN] + list(args), input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(env), timeout=timeout)
        check_sanitizers("tern " + " ".join(args), r.stderr)
        if check and r.returncode != 0:
            raise AssertionError("tern %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), r.returncode,
                                    r.stdout.decode(errors="replace"),
                                    r.stderr.decode(errors="replace")))
        return r

    def out(self, *args, **kw):
        """Run, require exit 0, return stdout as text."""
        kw["check"] = True
        return self.run(*args, **kw).stdout.decode()

    def sync_lock_held(self):
        """Does a tern hold the sync lock of an account of this store?"""
        d = os.path.join(self.data, "tern")
        for name in os.listdir(d) if os.path.isdir(d) else []:
            if not (name.startswith("sync-") and name.endswith(".lock")):
                continue
            with open(os.path.join(d, name), "a") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
        return False

    def syncs_at_once(self, account, n=3, timeout=120):
        """n tern sync ACCOUNT at once: the first has the account's sync
        lock when the others start. Returns (status, stdout, stderr) of
        each, in the order they started."""
        env = self.env()
        first = subprocess.Popen([TERN, "sync", account], env=env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        procs = [first]
        end = time.time() + timeout
        while not self.sync_lock_held() and first.poll() is None:
            if time.time() > end:
                first.kill()
                raise AssertionError("the first sync never took its lock")
            time.sleep(0.01)
        for _ in range(n - 1):
            procs.append(subprocess.Popen([TERN, "sync", account], env=env,
                                          stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE))
        out = []
        for p in procs:
            o, e = p.communicate(timeout=timeout)
            check_sanitizers("tern sync", e)
            out.append((p.returncode, o.decode(errors="replace"),
                        e.decode(errors="replace")))
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    """Run the unittest cases of the calling module; non-zero on failure."""
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    r = prog.result
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    if r.skipped:
        # Honest tests do not skip.
        print("skipped tests are failures here: %s" % r.skipped)
        failed += len(r.skipped)
    if r.testsRun == 0:
        print("no tests ran")
        failed += 1
    sys.exit(1 if failed else 0)
