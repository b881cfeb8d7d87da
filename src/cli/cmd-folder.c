/*
 * tern folder create ACCOUNT/FOLDER
 * tern folder rename ACCOUNT/FOLDER NEWNAME
 * tern folder delete [--force] ACCOUNT/FOLDER
 *
 * Local and POP3 folders live in the store only; IMAP folder changes are
 * applied to the store and replayed on the server at the next sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/util.h"

int
cmd_folder(struct tern *t, int argc, char **argv)
{
	struct folder_ref r;
	const char *verb, *spec = NULL, *newname = NULL;
	char *cause = NULL;
	int i, force = 0, status, rc;

	if (argc < 3)
		return cli_usage(cli_find("folder"));
	verb = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0 ||
		    strcmp(argv[i], "-f") == 0)
			force = 1;
		else if (spec == NULL)
			spec = argv[i];
		else if (newname == NULL)
			newname = argv[i];
		else
			return cli_usage(cli_find("folder"));
	}
	if (spec == NULL ||
	    (strcmp(verb, "rename") == 0) != (newname != NULL) ||
	    (force && strcmp(verb, "delete") != 0))
		return cli_usage(cli_find("folder"));
	if (strcmp(verb, "create") != 0 && strcmp(verb, "rename") != 0 &&
	    strcmp(verb, "delete") != 0) {
		tern_warnx("'%s': folder takes create, rename or delete", verb);
		return TERN_EXIT_USAGE;
	}
	if ((status = folder_ref_parse(t, spec, &r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r.folder == NULL) {
		folder_ref_clear(&r);
		tern_warnx("'%s': name a folder as ACCOUNT/FOLDER", spec);
		return TERN_EXIT_USAGE;
	}
	/* NEWNAME may repeat the account: "local/New" or "New". */
	if (newname != NULL) {
		size_t n = strlen(r.account_name);

		if (strncmp(newname, r.account_name, n) == 0 &&
		    newname[n] == '/')
			newname += n + 1;
	}
	if (strcmp(verb, "create") == 0)
		rc = core_folder_create(t, &r, &cause);
	else if (strcmp(verb, "rename") == 0)
		rc = core_folder_rename(t, &r, newname, &cause);
	else
		rc = core_folder_delete(t, &r, force, &cause);
	status = rc == 0 ? TERN_EXIT_OK : cli_fail(core_exit_status(rc), cause);
	folder_ref_clear(&r);
	return status;
}
