/*
 * rc parser: the format of DESIGN.md, and every error names FILE:LINE.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/rc.h"
#include "tern/util.h"

static struct rc *
parse_ok(const char *text)
{
	struct rc *rc = NULL;
	char *cause = NULL;

	if (rc_parse("rc", text, strlen(text), &rc, &cause) != 0) {
		printf("# unexpected error: %s\n", cause);
		free(cause);
		return NULL;
	}
	return rc;
}

/* Parse text that must fail; returns the cause (malloc'd). */
static char *
parse_err(const char *text)
{
	struct rc *rc = NULL;
	char *cause = NULL;

	if (rc_parse("rc", text, strlen(text), &rc, &cause) == 0) {
		rc_free(&rc);
		return xstrdup("(parsed without error)");
	}
	return cause;
}

static void
test_design_example(void)
{
	static const char text[] =
	    "set theme = default            # a file in share/themes/\n"
	    "\n"
	    "account home                   # a block\n"
	    "    protocol  pop3\n"
	    "    host      pop.example.net\n"
	    "    port      995\n"
	    "    tls       on\n"
	    "    cafile    /path/ca.pem\n"
	    "    user      alice\n"
	    "    passcmd   \"pass show mail/home\"\n"
	    "    keep      yes\n"
	    "    keep_days 14\n"
	    "    delete_remote yes\n"
	    "\n"
	    "account work\n"
	    "    protocol  imap\n"
	    "    host      imap.example.com\n"
	    "    user      alice@example.com\n"
	    "    passcmd   \"secret-tool lookup mail work\"\n"
	    "    smtp      smtps://smtp.example.com:465\n"
	    "    from      \"Alice Example <alice@example.com>\"\n"
	    "    tls starttls\n";
	struct rc *rc = parse_ok(text);
	struct rc_account *a;

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	CHECK_STR(rc->theme, "default");
	CHECK(rc->naccounts == 2);
	a = rc_find_account(rc, "home");
	CHECK(a != NULL && a->protocol == RC_PROTO_POP3);
	CHECK(
	    a != NULL && a->port == 995 && a->keep == 1 && a->keep_days == 14);
	CHECK(a != NULL && a->delete_remote == 1 && a->tls == RC_TLS_ON);
	CHECK_STR(a->passcmd, "pass show mail/home");
	CHECK_STR(a->cafile, "/path/ca.pem");
	a = rc_find_account(rc, "work");
	CHECK(a != NULL && a->protocol == RC_PROTO_IMAP);
	CHECK(a != NULL && a->tls == RC_TLS_STARTTLS &&
	    rc_account_port(a) == 143);
	CHECK_STR(a->from, "Alice Example <alice@example.com>");
	CHECK_STR(a->smtp, "smtps://smtp.example.com:465");
	CHECK(rc_find_account(rc, "nope") == NULL);
	rc_free(&rc);
	CHECK(rc == NULL);
}

static void
test_quoting(void)
{
	struct rc *rc =
	    parse_ok("account a\nprotocol imap\nhost h\n"
	             "user 'it''s'\npassword \"a \\\"b\\\" # c\"\n");

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	CHECK_STR(rc->accounts[0].user, "its");
	CHECK_STR(rc->accounts[0].password, "a \"b\" # c");
	CHECK(rc_account_port(&rc->accounts[0]) == 993);
	rc_free(&rc);
}

static void
test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "account a\nprotocol smtp\n",
		    "rc:2: protocol must be pop3 or imap" },
		{ "account a\nprotocol imap\nuser u\n", "rc:1: no host" },
		{ "account a\nprotocol imap\nhost h\n", "rc:1: no user" },
		{ "account a\nhost h\nuser u\n", "rc:1: no protocol" },
		{ "account a\nprotocol imap\nhost h\nuser u\ncolour red\n",
		    "rc:5: unknown key 'colour'" },
		{ "set colour = red\n", "rc:1: unknown setting" },
		{ "set theme red\n", "rc:1: expected: set KEY = VALUE" },
		{ "frobnicate\n", "rc:1: unknown command 'frobnicate'" },
		{ "account a\nprotocol imap\nhost h\nuser u\nport 99999\n",
		    "rc:5: port must be" },
		{ "account a\nprotocol imap\nhost h\nuser \"u\n",
		    "rc:4: unterminated quote" },
		{ "account a\nprotocol imap\nhost h\nuser u\nkeep yes\n",
		    "rc:1: keep, keep_days and delete_remote are for pop3" },
		{ "account a\nprotocol pop3\nhost h\nuser u\nkeep_days 3\n",
		    "rc:1: keep_days and delete_remote need keep yes" },
		{ "account local\n", "rc:1: 'local' is the built-in account" },
		{ "account a/b\n", "rc:1: account names use" },
		{ "account a\nprotocol imap\nhost h\nuser u\naccount a\n",
		    "rc:5: an account of that name" },
		{ "account a\nprotocol imap\nhost h\nuser u\ntls maybe\n",
		    "rc:5: tls must be" },
		{ "set theme = ../../etc/passwd\n", "rc:1: theme must be" },
		{ "account a\nprotocol imap\nhost h\nuser u\noffline some\n",
		    "rc:5: offline must be none, all or a number of days" },
		{ "account a\nprotocol imap\nhost h\nuser u\noffline 0\n",
		    "rc:5: offline must be" },
		{ "account a\nprotocol imap\nhost h\nuser u\noffline -3\n",
		    "rc:5: offline must be" },
		{ "account a\nprotocol imap\nhost h\nuser u\noffline 36501\n",
		    "rc:5: offline must be" },
		{ "account a\nprotocol imap\nhost h\nuser u\noffline all x\n",
		    "rc:5: too many values" },
		{ "account a\nprotocol pop3\nhost h\nuser u\noffline all\n",
		    "rc:1: offline is for imap accounts" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "offline_max_size 0\n",
		    "rc:5: offline_max_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "offline_max_size 10X\n",
		    "rc:5: offline_max_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "offline_max_size M\n",
		    "rc:5: offline_max_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "offline_max_size 99999999999999999999G\n",
		    "rc:5: offline_max_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "offline_max_size 10MBs\n",
		    "rc:5: offline_max_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "max_message_size 1T\n",
		    "rc:5: max_message_size must be a size" },
		{ "account a\nprotocol imap\nhost h\nuser u\npgp_sign maybe\n",
		    "rc:5: pgp_sign must be yes or no" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "pgp_encrypt sometimes\n",
		    "rc:5: pgp_encrypt must be yes, no or auto" },
		{ "account a\nprotocol imap\nhost h\nuser u\nsmime x\n",
		    "rc:5: smime must be yes or no" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n",
		    "rc:1: auth oauth2 needs a token" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth token\n",
		    "rc:5: auth must be password or oauth2" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_provider yahoo\n",
		    "rc:6: oauth_provider must be" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_provider google\n",
		    "rc:1: oauth_provider needs oauth_client_id" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_provider custom\noauth_client_id c\n",
		    "rc:1: oauth_provider custom needs oauth_token_url" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_token_cmd t\noauth_provider google\n"
		  "oauth_client_id c\n",
		    "rc:1: both oauth_token_cmd and oauth_provider" },
		{ "account a\nprotocol imap\nhost h\nuser u\n"
		  "oauth_token_cmd t\n",
		    "rc:1: oauth_token_cmd and oauth_provider need auth oauth2" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_provider microsoft\noauth_client_id c\n"
		  "oauth_store_cmd s\n",
		    "rc:1: oauth_store_cmd needs oauth_load_cmd" },
		{ "account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
		  "oauth_token_url ftp://x/\n",
		    "rc:6: an oauth URL must be" },
	};
	size_t i;

	for (i = 0; i < TERN_NELEM(cases); i++) {
		char *cause = parse_err(cases[i].text);
		int ok =
		    strncmp(cause, cases[i].want, strlen(cases[i].want)) == 0;

		if (!ok)
			printf("# case %zu: got '%s'\n", i, cause);
		CHECK(ok);
		free(cause);
	}
}

/* offline none|all|DAYS and the sizes, with and without a unit. */
static void
test_crypto_keys(void)
{
	struct rc *rc = parse_ok("account a\nprotocol imap\nhost h\nuser u\n"
	                         "account b\nprotocol imap\nhost h\nuser u\n"
	                         "pgp_key 0x1234ABCD\npgp_sign yes\n"
	                         "pgp_encrypt auto\nsmime yes\n"
	                         "account c\nprotocol imap\nhost h\nuser u\n"
	                         "pgp_encrypt yes\n");

	CHECK(rc != NULL && rc->naccounts == 3);
	if (rc == NULL || rc->naccounts != 3)
		return;
	CHECK(rc->accounts[0].pgp_key == NULL && !rc->accounts[0].pgp_sign &&
	    rc->accounts[0].pgp_encrypt == RC_ENCRYPT_NO &&
	    !rc->accounts[0].smime);
	CHECK_STR(rc->accounts[1].pgp_key, "0x1234ABCD");
	CHECK(rc->accounts[1].pgp_sign &&
	    rc->accounts[1].pgp_encrypt == RC_ENCRYPT_AUTO &&
	    rc->accounts[1].smime);
	CHECK(rc->accounts[2].pgp_encrypt == RC_ENCRYPT_YES);
	rc_free(&rc);
}

static void
test_lists_and_signature(void)
{
	struct rc *rc = parse_ok("lists announce@example.org\n"
	                         "account a\nprotocol imap\nhost h\nuser u\n"
	                         "signature ~/.signature\n"
	                         "subscribe dev@lists.example.org"
	                         " Users@Example.org\n"
	                         "set lists = \"other@example.org\"\n");
	char *cause;

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	/* A lists line inside an account block is still global. */
	CHECK(rc->naccounts == 1);
	CHECK_STR(rc->accounts[0].signature, "~/.signature");
	CHECK(rc_is_list(rc, "announce@example.org", 0));
	CHECK(!rc_is_list(rc, "announce@example.org", 1));
	CHECK(rc_is_list(rc, "dev@lists.example.org", 0));
	CHECK(rc_is_list(rc, "dev@lists.example.org", 1));
	CHECK(rc_is_list(rc, "users@example.org", 1));
	CHECK(rc_is_list(rc, "other@example.org", 0));
	CHECK(!rc_is_list(rc, "bob@example.org", 0));
	CHECK(rc->nlists == 4 && rc->nsubscribed == 2);
	rc_free(&rc);
	cause = parse_err("subscribe\n");
	CHECK(strstr(cause, "rc:1: expected: lists ADDRESS") != NULL);
	free(cause);
}

static void
test_offline(void)
{
	static const char base[] = "account a\nprotocol imap\nhost h\nuser u\n";
	static const struct {
		const char *keys;
		int offline;
		unsigned days;
		uint64_t max, msgmax;
	} cases[] = {
		{ "", 0, 0, 10ULL << 20, 256ULL << 20 },
		{ "offline none\n", 0, 0, 10ULL << 20, 256ULL << 20 },
		{ "offline all\n", 1, 0, 10ULL << 20, 256ULL << 20 },
		{ "offline 30\noffline_max_size 2048\n", 1, 30, 2048,
		    256ULL << 20 },
		{ "offline all\noffline none\n", 0, 0, 10ULL << 20,
		    256ULL << 20 },
		{ "offline_max_size 512K\nmax_message_size 1g\n", 0, 0,
		    512ULL << 10, 1ULL << 30 },
		{ "offline_max_size 20MiB\nmax_message_size 3MB\n", 0, 0,
		    20ULL << 20, 3ULL << 20 },
	};
	size_t i;

	for (i = 0; i < TERN_NELEM(cases); i++) {
		char *text = xasprintf("%s%s", base, cases[i].keys);
		struct rc *rc = parse_ok(text);
		const struct rc_account *a = rc ? &rc->accounts[0] : NULL;
		int ok = a != NULL && a->offline == cases[i].offline &&
		    a->offline_days == cases[i].days &&
		    a->offline_max_size == cases[i].max &&
		    a->max_message_size == cases[i].msgmax;

		if (!ok)
			printf("# case %zu (%s) parsed otherwise\n", i,
			    cases[i].keys);
		CHECK(ok);
		rc_free(&rc);
		free(text);
	}
}

/* auth oauth2: the keys, and smtp_auth following auth unless set. */
static void
test_oauth(void)
{
	struct rc *rc =
	    parse_ok("account a\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
	             "oauth_provider microsoft\noauth_client_id cid\n"
	             "account b\nprotocol imap\nhost h\nuser u\nauth oauth2\n"
	             "oauth_token_cmd \"pizauth show b\"\nsmtp_auth password\n"
	             "account c\nprotocol pop3\nhost h\nuser u\n");
	const struct rc_account *a, *b, *c;

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	a = rc_find_account(rc, "a");
	b = rc_find_account(rc, "b");
	c = rc_find_account(rc, "c");
	CHECK(a->auth == RC_AUTH_OAUTH2 && a->smtp_auth == RC_AUTH_OAUTH2);
	CHECK(a->oauth_provider == RC_OAUTH_MICROSOFT &&
	    strcmp(a->oauth_client_id, "cid") == 0);
	CHECK(b->auth == RC_AUTH_OAUTH2 && b->smtp_auth == RC_AUTH_PASSWORD);
	CHECK(strcmp(b->oauth_token_cmd, "pizauth show b") == 0);
	CHECK(c->auth == RC_AUTH_PASSWORD && c->smtp_auth == RC_AUTH_PASSWORD);
	rc_free(&rc);
}

static void
test_password_permissions(void)
{
	char dir[] = "/tmp/tern-rc-XXXXXX", path[64];
	static const char text[] =
	    "account a\nprotocol imap\nhost h\nuser u\npassword secret\n";
	struct rc *rc = NULL;
	char *cause = NULL;
	int fd;

	/* A directory of our own: /tmp is writable by all. */
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/rc", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
	close(fd);
	chmod(path, 0644);
	CHECK(rc_load(path, 0, &rc, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "readable") != NULL &&
	    strstr(cause, ":1:") != NULL);
	free(cause);
	cause = NULL;
	chmod(path, 0600);
	CHECK(rc_load(path, 0, &rc, &cause) == 0);
	if (rc != NULL) {
		char *pw = rc_account_password(&rc->accounts[0], &cause);

		CHECK_STR(pw, "secret");
		free(pw);
	}
	rc_free(&rc);
	unlink(path);
	CHECK(rc_load(path, 0, &rc, &cause) == -1);
	free(cause);
	CHECK(rc_load(path, 1, &rc, &cause) == 0 && rc->naccounts == 0);
	rc_free(&rc);
	rmdir(dir);
}

/* rc_load's answer for path: 0, or -1 with cause containing all of want
 * (NULL-terminated). */
static int
load_refused(const char *path, const char *const *want)
{
	struct rc *rc = NULL;
	char *cause = NULL;
	int ok;

	if (rc_load(path, 0, &rc, &cause) == 0) {
		rc_free(&rc);
		printf("# %s: loaded\n", path);
		return 0;
	}
	ok = cause != NULL;
	for (; ok && *want != NULL; want++)
		ok = strstr(cause, *want) != NULL;
	if (!ok)
		printf("# %s: %s\n", path, cause ? cause : "(no cause)");
	free(cause);
	return ok;
}

static void
test_rc_permissions(void)
{
	char dir[] = "/tmp/tern-rc-XXXXXX", path[64], link[64], sub[64];
	char other[64];
	static const char text[] = "account a\nprotocol imap\nhost h\n"
	                           "user u\npasscmd \"pass show a\"\n";
	struct rc *rc = NULL;
	char *cause = NULL;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/rc", dir);
	snprintf(sub, sizeof sub, "%s/shared", dir);
	snprintf(other, sizeof other, "%s/shared/rc", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
	close(fd);
	CHECK(rc_load(path, 0, &rc, &cause) == 0);
	rc_free(&rc);
	/* Readable by all is fine without a password; writable is not,
	 * whatever the file holds. */
	chmod(path, 0644);
	CHECK(rc_load(path, 0, &rc, &cause) == 0);
	rc_free(&rc);
	{
		const char *const want[] = { path, "writable by others",
			"chmod go-w ", NULL };

		chmod(path, 0620);
		CHECK(load_refused(path, want));
		chmod(path, 0602);
		CHECK(load_refused(path, want));
		chmod(path, 0666);
		CHECK(load_refused(path, want));
	}
	chmod(path, 0600);
	/* The directory: group- or world-writable, sticky or not. */
	{
		char fix[96];
		const char *const want[] = { dir, "writable by others", fix,
			NULL };

		snprintf(fix, sizeof fix, "chmod go-w %s", dir);
		chmod(dir, 0770);
		CHECK(load_refused(path, want));
		chmod(dir, 01777);
		CHECK(load_refused(path, want));
		chmod(dir, 0755);
		CHECK(rc_load(path, 0, &rc, &cause) == 0);
		rc_free(&rc);
		chmod(dir, 0700);
	}
	/* A link from a safe place to an rc in an unsafe one. */
	{
		const char *const want[] = { sub, "writable by others", NULL };

		CHECK(mkdir(sub, 0700) == 0);
		CHECK(rename(path, other) == 0);
		CHECK(symlink(other, link) == 0);
		CHECK(rc_load(link, 0, &rc, &cause) == 0);
		rc_free(&rc);
		chmod(sub, 0777);
		CHECK(load_refused(link, want));
		chmod(sub, 0700);
		unlink(link);
		CHECK(rename(other, path) == 0);
		rmdir(sub);
	}
	/* Another user's rc (as root, where files can be given away). */
	if (geteuid() == 0) {
		const char *const want[] = { path, "another user", NULL };

		CHECK(chown(path, 65534, 65534) == 0);
		CHECK(load_refused(path, want));
		CHECK(chown(path, 0, 0) == 0);
		CHECK(chown(dir, 65534, 65534) == 0);
		{
			const char *const want_dir[] = { dir, "another user",
				NULL };

			CHECK(load_refused(path, want_dir));
		}
		CHECK(chown(dir, 0, 0) == 0);
	} else
		printf("# not root: the owner checks run in the root suite\n");
	CHECK(rc_load(path, 0, &rc, &cause) == 0);
	rc_free(&rc);
	unlink(path);
	rmdir(dir);
}

static void
test_passcmd(void)
{
	struct rc *rc = parse_ok("account a\nprotocol imap\nhost h\nuser u\n"
	                         "passcmd \"printf 'pw1\\nsecond\\n'\"\n"
	                         "account b\nprotocol imap\nhost h\nuser u\n"
	                         "passcmd false\n");
	char *cause = NULL, *pw;

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	pw = rc_account_password(&rc->accounts[0], &cause);
	CHECK_STR(pw, "pw1");
	free(pw);
	pw = rc_account_password(&rc->accounts[1], &cause);
	CHECK(pw == NULL && cause != NULL && strstr(cause, "passcmd failed"));
	free(cause);
	rc_free(&rc);
}

/*
 * A command with input: it reads it on stdin; one that exits without
 * reading does not kill us with SIGPIPE; the oauth commands are named
 * by their key, never by their text.
 */
static void
test_run_cmd_input(void)
{
	struct rc *rc = parse_ok("account a\nprotocol imap\nhost h\nuser u\n");
	char *out = NULL, *cause = NULL, big[16384];
	size_t len = 0;
	int i, ok = 1;

	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	CHECK(rc_run_cmd(&rc->accounts[0], "oauth_store_cmd", "tr a-z A-Z",
	          "token\n", 6, &out, &len, &cause) == 0);
	CHECK_STR(out, "TOKEN\n");
	free(out);
	memset(big, 'x', sizeof big);
	for (i = 0; i < 20; i++) {
		out = NULL;
		if (rc_run_cmd(&rc->accounts[0], "oauth_store_cmd",
		        "exec 0<&-; exit 0", big, sizeof big, &out, &len,
		        &cause) != 0)
			ok = 0;
		free(out);
	}
	CHECK(ok);
	CHECK(
	    rc_run_cmd(&rc->accounts[0], "oauth_load_cmd",
	        "echo secret-word; exit 3", NULL, 0, &out, &len, &cause) == -1);
	CHECK(cause != NULL && strstr(cause, "oauth_load_cmd failed") &&
	    strstr(cause, "secret-word") == NULL);
	free(cause);
	rc_free(&rc);
}

/* Whether process pid is gone (or a zombie nobody waits for). */
static int
gone(pid_t pid)
{
	char path[64], state = 0;
	FILE *f;
	int i;

	/* A killed grandchild is reaped by init a moment later. */
	for (i = 0; i < 200; i++) {
		if (kill(pid, 0) != 0)
			return 1;
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%*d %*s %c", &state) != 1)
				state = 0;
			fclose(f);
			if (state == 'Z')
				return 1;
		}
		usleep(10000);
	}
	return 0;
}

static pid_t
read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;

	if (f != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

static void
test_passcmd_timeout(void)
{
	char dir[] = "/tmp/tern-rc-XXXXXX", text[512], shpid[96], bgpid[96];
	struct rc *rc;
	char *cause = NULL, *pw;
	pid_t sh, bg;

	/* As a sync from cron or the client's worker: no terminal. */
	(void)setsid();
	CHECK(mkdtemp(dir) != NULL);
	snprintf(shpid, sizeof shpid, "%s/sh.pid", dir);
	snprintf(bgpid, sizeof bgpid, "%s/bg.pid", dir);
	/* A pinentry that never answers, and a helper it started. */
	snprintf(text, sizeof text,
	    "account a\nprotocol imap\nhost h\nuser u\n"
	    "passcmd \"echo $$ >%s; sleep 300 & echo $! >%s; wait\"\n"
	    "account b\nprotocol imap\nhost h\nuser u\n"
	    "passcmd \"sleep 0.1; echo pw\"\n",
	    shpid, bgpid);
	rc = parse_ok(text);
	CHECK(rc != NULL);
	if (rc == NULL)
		return;
	setenv("TERN_CMD_TIMEOUT", "0.5", 1);
	pw = rc_account_password(&rc->accounts[0], &cause);
	CHECK(pw == NULL);
	CHECK(cause != NULL && strstr(cause, "account a: passcmd \"echo $$") &&
	    strstr(cause, "within 0.5 s and was stopped") &&
	    strstr(cause, "TERN_CMD_TIMEOUT"));
	printf("# %s\n", cause ? cause : "");
	free(cause);
	cause = NULL;
	sh = read_pid(shpid);
	bg = read_pid(bgpid);
	CHECK(sh > 0 && gone(sh));
	CHECK(bg > 0 && gone(bg));
	/* One that answers in time is not disturbed by the limit. */
	pw = rc_account_password(&rc->accounts[1], &cause);
	CHECK_STR(pw, "pw");
	free(pw);
	unsetenv("TERN_CMD_TIMEOUT");
	rc_free(&rc);
	unlink(shpid);
	unlink(bgpid);
	rmdir(dir);
}

static void
test_hostile(void)
{
	char *cause;
	struct rc *rc = NULL;
	static const char nul[] = "set theme = a\0b\n";

	CHECK(rc_parse("rc", nul, sizeof nul - 1, &rc, &cause) == -1);
	free(cause);
	cause =
	    parse_err("account a\nprotocol imap\nhost h\nuser u\n"
	              "folders a b c d e f g h i j k l m n o p q r s t u v w "
	              "x y z a b c d e f g h i j k l m n o p q r s t u v w x "
	              "y z a b c d e f g h i j k l\n");
	CHECK(strstr(cause, "too many words") != NULL);
	free(cause);
}

/* Write text to dir/name with mode; 0 on success. */
static int
write_at(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[320];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	close(fd);
	return chmod(path, mode);
}

/* rc_load of dir/rc must fail with a cause holding all of want. */
static int
load_fails(const char *dir, const char *const *want)
{
	char path[320];

	snprintf(path, sizeof path, "%s/rc", dir);
	return load_refused(path, want);
}

static void
test_source(void)
{
	char dir[] = "/tmp/tern-rc-XXXXXX", path[320], sub[64];
	struct rc *rc = NULL;
	char *cause = NULL;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/rc", dir);
	snprintf(sub, sizeof sub, "%s/keys", dir);
	CHECK(mkdir(sub, 0700) == 0);
	/* Nested, relative to the file that names it, read in place. */
	CHECK(write_at(dir, "rc",
	          "bind index a limit\nsource keys/one\n"
	          "bind index c mail\n",
	          0600) == 0);
	CHECK(write_at(sub, "one", "bind index b reply\nsource two\n", 0644) ==
	    0);
	CHECK(write_at(sub, "two", "set threads = yes\nbind pager d exit\n",
	          0600) == 0);
	CHECK(rc_load(path, 0, &rc, &cause) == 0);
	if (rc != NULL) {
		CHECK(rc->nbinds == 4);
		CHECK(rc->nbinds == 4 && strcmp(rc->binds[0].key, "a") == 0 &&
		    strcmp(rc->binds[1].key, "b") == 0 &&
		    strcmp(rc->binds[2].key, "d") == 0 &&
		    strcmp(rc->binds[3].key, "c") == 0);
		CHECK(rc->sort_threads == 1);
		/* A bind says where it is, for the client's messages. */
		CHECK(rc->nbinds == 4 &&
		    strstr(rc->binds[2].file, "keys/two") != NULL &&
		    rc->binds[2].line == 2 &&
		    strcmp(rc->binds[3].file, path) == 0 &&
		    rc->binds[3].line == 3);
	}
	rc_free(&rc);
	free(cause);
	cause = NULL;
	/* A missing file names the line that sources it. */
	CHECK(write_at(dir, "rc", "\nsource nothere\n", 0600) == 0);
	{
		const char *const want[] = { "/rc:2: source: cannot open",
			"nothere", NULL };

		CHECK(load_fails(dir, want));
	}
	/* A loop, through two files, names the line that closes it. */
	CHECK(write_at(dir, "rc", "source keys/one\n", 0600) == 0);
	CHECK(write_at(sub, "one", "bind index b reply\nsource two\n", 0600) ==
	    0);
	CHECK(write_at(sub, "two", "\n\nsource ../rc\n", 0600) == 0);
	{
		const char *const want[] = { "keys/two:3: source:", "loop",
			NULL };

		CHECK(load_fails(dir, want));
	}
	/* A file sourcing itself. */
	CHECK(write_at(dir, "rc", "source rc\n", 0600) == 0);
	{
		const char *const want[] = { "/rc:1: source:", "loop", NULL };

		CHECK(load_fails(dir, want));
	}
	/* An error inside a sourced file names that file and line. */
	CHECK(write_at(dir, "rc", "source keys/two\n", 0600) == 0);
	CHECK(
	    write_at(sub, "two", "bind index x exit\nfrobnicate\n", 0600) == 0);
	{
		const char *const want[] = { "keys/two:2: unknown command",
			NULL };

		CHECK(load_fails(dir, want));
	}
	/* The rc's own checks: a file others can write is refused. */
	CHECK(write_at(sub, "two", "bind index x exit\n", 0666) == 0);
	{
		const char *const want[] = {
			"/rc:1: source:", "writable by others", NULL
		};

		CHECK(load_fails(dir, want));
	}
	/* ...and a password in one others can read. */
	CHECK(write_at(sub, "two",
	          "account a\nprotocol imap\nhost h\nuser u\n"
	          "password secret\n",
	          0644) == 0);
	{
		const char *const want[] = { "keys/two:5:", "password", NULL };

		CHECK(load_fails(dir, want));
	}
	CHECK(write_at(dir, "rc", "source\n", 0600) == 0);
	{
		const char *const want[] = { "/rc:1: expected: source FILE",
			NULL };

		CHECK(load_fails(dir, want));
	}
	snprintf(path, sizeof path, "%s/one", sub);
	unlink(path);
	snprintf(path, sizeof path, "%s/two", sub);
	unlink(path);
	rmdir(sub);
	snprintf(path, sizeof path, "%s/rc", dir);
	unlink(path);
	rmdir(dir);
}

static void
test_display_settings(void)
{
	struct rc *rc;
	char *cause;

	rc = parse_ok("set index_format = \"%Z %-20.20F %4c %s\"\n"
	              "set date_format = \"%Y-%m-%d\"\n"
	              "set headers = \"From Subject, X-Mailer\"\n"
	              "set new_mail_command = 'echo \"$1\"'\n");
	CHECK(rc != NULL);
	if (rc != NULL) {
		CHECK_STR(rc->index_format, "%Z %-20.20F %4c %s");
		CHECK_STR(rc->date_format, "%Y-%m-%d");
		CHECK(rc->nheaders == 3);
		if (rc->nheaders == 3) {
			CHECK_STR(rc->headers[0], "From");
			CHECK_STR(rc->headers[2], "X-Mailer");
		}
		CHECK_STR(rc->new_mail_command, "echo \"$1\"");
	}
	rc_free(&rc);
	rc = parse_ok("set headers = Date From\n");
	CHECK(rc != NULL && rc->nheaders == 2 && rc->index_format == NULL);
	rc_free(&rc);
	cause = parse_err("\n\nset index_format = \"%Z %q\"\n");
	CHECK(strstr(cause, "rc:3:") != NULL &&
	    strstr(cause, "unknown % code") != NULL);
	free(cause);
	cause = parse_err("set index_format = \"%-20.\"\n");
	CHECK(strstr(cause, "rc:1:") != NULL);
	free(cause);
	cause = parse_err("set index_format = \"abc %\"\n");
	CHECK(strstr(cause, "rc:1:") != NULL);
	free(cause);
	cause = parse_err("set headers = \"From: To\"\n");
	CHECK(strstr(cause, "rc:1: headers") != NULL);
	free(cause);
}

int
main(void)
{
	test_design_example();
	test_quoting();
	test_errors();
	test_offline();
	test_crypto_keys();
	test_lists_and_signature();
	test_oauth();
	test_password_permissions();
	test_rc_permissions();
	test_passcmd();
	test_run_cmd_input();
	test_passcmd_timeout();
	test_hostile();
	test_source();
	test_display_settings();
	return test_done();
}
