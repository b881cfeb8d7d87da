/*
 * cli: the command-line front end. Each command lives in its own
 * src/cli/cmd-NAME.c and is listed in the table in cli.c.
 */
#ifndef TERN_CLI_H
#define TERN_CLI_H

#include "tern/core.h"

struct cli_cmd {
	const char *name;
	const char *usage; /* arguments, for --help and usage errors */
	const char *summary;
	/* Returns an exit status (TERN_EXIT_*). argv[0] is the command. */
	int (*exec)(struct tern *t, int argc, char **argv);
};

/* Entry point: parses global options and runs a command. */
int cli_main(int argc, char **argv);

/* Print "usage: tern NAME USAGE" to stderr and return TERN_EXIT_USAGE. */
int cli_usage(const struct cli_cmd *cmd);
const struct cli_cmd *cli_find(const char *name);

/* Print "tern: cause" to stderr, free it, return status. */
int cli_fail(int status, char *cause);

/*
 * One message as tern ls lists it: "UID<TAB>FLAGS<TAB>DATE<TAB>FROM<TAB>
 * SUBJECT" (cmd-ls.c).
 */
void cli_ls_line(const struct store_msg *m);

/*
 * Index what the store's search index lacks (a store made before it),
 * with progress on a terminal; a no-op once it is whole (cmd-search.c).
 */
int cli_index_fill(struct tern *t, char **cause);

/* Commands. */
int cmd_ls(struct tern *t, int argc, char **argv);
int cmd_sync(struct tern *t, int argc, char **argv);
int cmd_flag(struct tern *t, int argc, char **argv);
int cmd_mv(struct tern *t, int argc, char **argv);
int cmd_purge(struct tern *t, int argc, char **argv);
int cmd_cat(struct tern *t, int argc, char **argv);
int cmd_send(struct tern *t, int argc, char **argv);
int cmd_compose(struct tern *t, int argc, char **argv);
int cmd_reply(struct tern *t, int argc, char **argv);
int cmd_forward(struct tern *t, int argc, char **argv);
int cmd_cp(struct tern *t, int argc, char **argv);
int cmd_folder(struct tern *t, int argc, char **argv);
int cmd_export(struct tern *t, int argc, char **argv);
int cmd_import(struct tern *t, int argc, char **argv);
int cmd_search(struct tern *t, int argc, char **argv);
int cmd_login(struct tern *t, int argc, char **argv);

#endif
