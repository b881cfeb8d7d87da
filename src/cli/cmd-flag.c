/*
 * tern flag ACCOUNT/FOLDER UID... +S -F +kw:WORD -kw:WORD ...
 * tern mv ACCOUNT/FOLDER UID... [ACCOUNT/]FOLDER
 * tern cp ACCOUNT/FOLDER UID... [ACCOUNT/]FOLDER
 * tern purge ACCOUNT/FOLDER
 *
 * Applied to the store at once; for IMAP accounts replayed on the server
 * at the next sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/util.h"

/* Parse a UID argument; 0 on error (no message has UID 0). */
static uint32_t
parse_uid(const char *s)
{
	uint64_t v;

	if (parse_uint64(s, strlen(s), UINT32_MAX, &v) != 0)
		return 0;
	return (uint32_t)v;
}

static int
open_folder(struct tern *t, const char *spec, struct folder_ref *r)
{
	char *cause = NULL;
	int status = folder_ref_parse(t, spec, r, &cause);

	if (status != 0)
		return cli_fail(status, cause);
	if (r->folder == NULL) {
		folder_ref_clear(r);
		tern_warnx("'%s': name a folder as ACCOUNT/FOLDER", spec);
		return TERN_EXIT_USAGE;
	}
	if (r->folder_id == 0) {
		tern_warnx(
		    "no folder '%s' in account %s", r->folder, r->account_name);
		folder_ref_clear(r);
		return TERN_EXIT_USAGE;
	}
	return 0;
}

/* One "+S", "-FT" or "+kw:WORD" argument into c; 0 or -1 (said). */
static int
flag_arg(const char *arg, struct core_flag_change *c)
{
	size_t plen = strlen(CORE_KW_PREFIX);
	char *cause = NULL;

	if (strncmp(arg + 1, CORE_KW_PREFIX, plen) == 0) {
		if (core_flag_change_keyword(
		        c, arg[0] == '+', arg + 1 + plen, &cause) != 0) {
			char *v = text_visible_dup(arg);

			tern_warnx("'%s': %s", v, cause);
			free(v);
			free(cause);
			return -1;
		}
		return 0;
	}
	if (store_flags_parse(arg, &c->add, &c->del) != 0) {
		char *v = text_visible_dup(arg);

		tern_warnx("'%s': flags are letters of DFPRST after + or -, "
		           "keywords +" CORE_KW_PREFIX
		           "WORD or -" CORE_KW_PREFIX "WORD",
		    v);
		free(v);
		return -1;
	}
	return 0;
}

int
cmd_flag(struct tern *t, int argc, char **argv)
{
	struct core_flag_change c;
	struct folder_ref r;
	uint32_t *uids;
	size_t n = 0;
	char *cause = NULL;
	int i, status = TERN_EXIT_USAGE;

	if (argc < 4)
		return cli_usage(cli_find("flag"));
	memset(&c, 0, sizeof c);
	uids = xcalloc((size_t)argc, sizeof *uids);
	for (i = 2; i < argc; i++) {
		if (argv[i][0] == '+' || argv[i][0] == '-') {
			if (flag_arg(argv[i], &c) != 0)
				goto out;
		} else if ((uids[n++] = parse_uid(argv[i])) == 0) {
			tern_warnx("'%s' is not a UID", argv[i]);
			goto out;
		}
	}
	if (n == 0 || ((c.add | c.del) == 0 && c.nkw_add + c.nkw_del == 0)) {
		status = cli_usage(cli_find("flag"));
		goto out;
	}
	if ((status = open_folder(t, argv[1], &r)) != 0)
		goto out;
	status = core_exit_status(core_flag_change(t, &r, uids, n, &c, &cause));
	if (status != TERN_EXIT_OK)
		status = cli_fail(status, cause);
	folder_ref_clear(&r);
out:
	core_flag_change_clear(&c);
	free(uids);
	return status;
}

/* Bodies a copy downloads first, on a terminal. */
static void
show_fetch(void *arg, const struct sync_progress *p)
{
	char *folder = text_visible_dup(p->folder ? p->folder : "");

	(void)arg;
	fprintf(stderr, "\r%s/%s: %s %llu/%llu\033[K", p->account, folder,
	    p->what, (unsigned long long)p->done, (unsigned long long)p->total);
	free(folder);
}

/*
 * mv and cp: the target is "FOLDER" (same account) or "ACCOUNT/FOLDER"
 * when the first part names an account.
 */
static int
move_or_copy(struct tern *t, int argc, char **argv, int keep)
{
	const char *name = keep ? "cp" : "mv";
	struct sync_opts so;
	struct folder_ref r;
	const char *target;
	uint32_t *uids;
	size_t n = 0;
	char *cause = NULL, *note = NULL;
	int i, status;

	if (argc < 4)
		return cli_usage(cli_find(name));
	target = argv[argc - 1];
	uids = xcalloc((size_t)argc, sizeof *uids);
	for (i = 2; i < argc - 1; i++) {
		if ((uids[n++] = parse_uid(argv[i])) == 0) {
			tern_warnx("'%s' is not a UID", argv[i]);
			free(uids);
			return TERN_EXIT_USAGE;
		}
	}
	if ((status = open_folder(t, argv[1], &r)) != 0) {
		free(uids);
		return status;
	}
	memset(&so, 0, sizeof so);
	so.progress = show_fetch;
	so.wakefd = -1;
	if (t->progress)
		t->fetch_opts = &so;
	status = core_move_to(t, &r, uids, n, target, keep, &note, &cause);
	if (t->fetch_opts != NULL)
		fputs("\r\033[K", stderr);
	t->fetch_opts = NULL;
	if (status != 0)
		status = cli_fail(status, cause);
	else if (note != NULL)
		tern_warnx("%s", note); /* queued, not done: a note */
	free(note);
	folder_ref_clear(&r);
	free(uids);
	return status;
}

int
cmd_mv(struct tern *t, int argc, char **argv)
{
	return move_or_copy(t, argc, argv, 0);
}

int
cmd_cp(struct tern *t, int argc, char **argv)
{
	return move_or_copy(t, argc, argv, 1);
}

int
cmd_purge(struct tern *t, int argc, char **argv)
{
	struct folder_ref r;
	char *cause = NULL;
	int status;

	if (argc != 2)
		return cli_usage(cli_find("purge"));
	if ((status = open_folder(t, argv[1], &r)) != 0)
		return status;
	status = core_exit_status(core_purge(t, &r, &cause));
	if (status != TERN_EXIT_OK)
		status = cli_fail(status, cause);
	folder_ref_clear(&r);
	return status;
}
