/*
 * Global options, the command table and dispatch.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "tern/cli.h"
#include "tern/net.h"
#include "tern/ui.h"
#include "tern/util.h"

static const struct cli_cmd commands[] = {
	{ "sync", "[--watch] [ACCOUNT...]",
	    "download new mail, push queued changes", cmd_sync },
	{ "login", "ACCOUNT [--print-token]",
	    "sign in with OAuth 2.0, or print a fresh access token",
	    cmd_login },
	{ "ls", "[ACCOUNT[/FOLDER]]",
	    "list accounts, an account's folders, or a folder's messages",
	    cmd_ls },
	{ "search", "[ACCOUNT[/FOLDER]] PATTERN...",
	    "list the messages that match a pattern (a word, or mutt's ~f ~s "
	    "~b ~d ... with ! | ( )), in the store and on the server",
	    cmd_search },
	{ "cat", "[--raw] [--headers] [--save N] ACCOUNT/FOLDER UID",
	    "show a message as the pager does, its exact bytes, or save its "
	    "Nth attachment",
	    cmd_cat },
	{ "flag", "ACCOUNT/FOLDER UID... +FLAGS -FLAGS +kw:WORD -kw:WORD",
	    "change flags (letters of DFPRST) and keywords", cmd_flag },
	{ "mv", "ACCOUNT/FOLDER UID... [ACCOUNT/]FOLDER",
	    "move messages to another folder", cmd_mv },
	{ "cp", "ACCOUNT/FOLDER UID... [ACCOUNT/]FOLDER",
	    "copy messages to another folder", cmd_cp },
	{ "folder", "create|rename|delete [--force] ACCOUNT/FOLDER [NEWNAME]",
	    "make, rename or remove a folder", cmd_folder },
	{ "export",
	    "ACCOUNT[/FOLDER] (--mbox FILE | --maildir DIR) [--cached-only]",
	    "write a backup of exact bytes", cmd_export },
	{ "import",
	    "[--mboxo|--mboxrd] ACCOUNT/FOLDER (FILE | DIR) | ACCOUNT DIR",
	    "read an mbox or a Maildir into a folder", cmd_import },
	{ "purge", "ACCOUNT/FOLDER", "remove the messages flagged deleted (T)",
	    cmd_purge },
	{ "send", "[-a ACCOUNT] [--[no-]sign] [--[no-]encrypt] [FILE]",
	    "queue a message and send it (--list, --retry ID, --drop ID)",
	    cmd_send },
	{ "compose", "[-a ACCOUNT] [--postpone] [ADDRESS...]",
	    "write a new message in the editor and send it", cmd_compose },
	{ "reply", "[-a|--all] [--postpone] ACCOUNT/FOLDER UID",
	    "reply (to all) in the editor and send", cmd_reply },
	{ "forward", "[--attach] [--postpone] ACCOUNT/FOLDER UID ADDRESS...",
	    "forward inline (or as an attachment) and send", cmd_forward },
};

const struct cli_cmd *
cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < TERN_NELEM(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

int
cli_usage(const struct cli_cmd *cmd)
{
	fprintf(stderr, "usage: tern %s %s\n", cmd->name, cmd->usage);
	return TERN_EXIT_USAGE;
}

int
cli_fail(int status, char *cause)
{
	tern_warnx("%s", cause ? cause : "failed");
	free(cause);
	return status;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: tern [-v] [-F rcfile] [--demo] [COMMAND [ARGS]]\n"
	    "\n"
	    "With no command, tern opens the full-screen client.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < TERN_NELEM(commands); i++)
		fprintf(f, "  %-8s %-36s %s\n", commands[i].name,
		    commands[i].usage, commands[i].summary);
	fprintf(f,
	    "\n"
	    "Options:\n"
	    "  -F FILE      read FILE instead of $XDG_CONFIG_HOME/tern/rc\n"
	    "  -v           more detail on stderr\n"
	    "  --demo       open the client on a store of generated demo mail\n"
	    "  --log FILE   append timestamped client events to FILE\n"
	    "  --version    print the version and exit\n"
	    "  --help       print this help and exit\n"
	    "\n"
	    "The store is kept in $XDG_DATA_HOME/tern. See tern(1), tern-rc(5).\n");
}

int
cli_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "demo", no_argument, NULL, 'D' },
		{ "log", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct tern t;
	struct ui_opts uo;
	const struct cli_cmd *cmd;
	char *cause = NULL;
	int ch, status, missing_ok;

	setlocale(LC_ALL, "");
	memset(&t, 0, sizeof t);
	memset(&uo, 0, sizeof uo);
	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+F:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			free(t.rc_path);
			t.rc_path = xstrdup(optarg);
			break;
		case 'v':
			t.verbose++;
			break;
		case 'D':
			uo.demo = 1;
			break;
		case 'L':
			uo.log = optarg;
			break;
		case 'h':
			usage(stdout);
			free(t.rc_path);
			return TERN_EXIT_OK;
		case 'V':
			printf("tern %s\n", TERN_VERSION);
			free(t.rc_path);
			return TERN_EXIT_OK;
		default:
			usage(stderr);
			free(t.rc_path);
			return TERN_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	cmd = NULL;
	if (argc > 0 && (cmd = cli_find(argv[0])) == NULL) {
		tern_warnx(
		    "unknown command '%s' (tern --help lists them)", argv[0]);
		free(t.rc_path);
		return TERN_EXIT_USAGE;
	}

	/* A missing default rc is fine (no accounts); a missing -F is not. */
	missing_ok = t.rc_path == NULL;
	if (t.rc_path == NULL)
		t.rc_path = rc_default_path();
	if (rc_load(t.rc_path, missing_ok, &t.rc, &cause) != 0) {
		status = cli_fail(TERN_EXIT_USAGE, cause);
		tern_free(&t);
		return status;
	}
	t.datadir = rc_data_dir();
	t.progress = isatty(STDERR_FILENO);
	net_global_init();
	/* 0 makes glibc's getopt start afresh for the command's options. */
	optind = 0;
	if (cmd == NULL)
		status = ui_main(&t, &uo);
	else
		status = cmd->exec(&t, argc, argv);
	tern_free(&t);
	net_global_cleanup();
	return status;
}
