/*
 * tern export ACCOUNT[/FOLDER] (--mbox FILE | --maildir DIR) [--cached-only]
 * tern import [--mboxo | --mboxrd] ACCOUNT/FOLDER (FILE | DIR)
 * tern import ACCOUNT DIR	(a Maildir++ tree: every folder)
 *
 * Backups of exact bytes and migration from other mail programs. Progress
 * goes to stderr when it is a terminal.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/archive.h"
#include "tern/cli.h"
#include "tern/util.h"

static void
show_progress(void *arg, const struct archive_progress *p)
{
	char *folder = text_visible_dup(p->folder ? p->folder : "");

	(void)arg;
	if (p->total)
		fprintf(stderr, "\r%s %s: %llu/%llu\033[K", p->what, folder,
		    (unsigned long long)p->done, (unsigned long long)p->total);
	else
		fprintf(stderr, "\r%s %s: %llu\033[K", p->what, folder,
		    (unsigned long long)p->done);
	free(folder);
}

static int
is_dir(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void
end_progress(struct tern *t)
{
	if (t->progress)
		fputs("\r\033[K", stderr);
}

int
cmd_export(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mbox", required_argument, NULL, 'm' },
		{ "maildir", required_argument, NULL, 'd' },
		{ "cached-only", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct archive_opts o;
	struct archive_stats st;
	struct folder_ref r;
	const char *path = NULL;
	char *cause = NULL;
	int ch, status, nout = 0;

	memset(&o, 0, sizeof o);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
		case 'd':
			o.maildir = ch == 'd';
			path = optarg;
			nout++;
			break;
		case 'c':
			o.cached_only = 1;
			break;
		default:
			return cli_usage(cli_find("export"));
		}
	}
	if (optind != argc - 1 || nout != 1 || *path == '\0')
		return cli_usage(cli_find("export"));
	if ((status = folder_ref_parse(t, argv[optind], &r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r.folder != NULL && r.folder_id == 0) {
		/* A refusal: the command must name another folder. */
		tern_warnx(
		    "no folder '%s' in account %s", r.folder, r.account_name);
		folder_ref_clear(&r);
		return TERN_EXIT_USAGE;
	}
	if (t->progress)
		o.progress = show_progress;
	if (archive_export(t, &r, path, &o, &st, &cause) != 0) {
		end_progress(t);
		status = cli_fail(TERN_EXIT_FAIL, cause);
	} else {
		end_progress(t);
		printf("%llu message%s exported to %s",
		    (unsigned long long)st.messages,
		    st.messages == 1 ? "" : "s", path);
		if (st.missing)
			printf(" (%llu not downloaded, left out)",
			    (unsigned long long)st.missing);
		putchar('\n');
		if (st.kw_lost)
			tern_warnx("%llu keyword%s of messages left out: a "
			           "Maildir names 26 keywords at most; export "
			           "--mbox keeps them all",
			    (unsigned long long)st.kw_lost,
			    st.kw_lost == 1 ? "" : "s");
	}
	folder_ref_clear(&r);
	return status;
}

int
cmd_import(struct tern *t, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mboxo", no_argument, NULL, 'o' },
		{ "mboxrd", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct archive_opts o;
	struct archive_stats st;
	struct folder_ref r;
	char *cause = NULL;
	int ch, status;

	memset(&o, 0, sizeof o);
	o.kind = ARCHIVE_MBOXRD;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			o.kind = ARCHIVE_MBOXO;
			break;
		case 'r':
			o.kind = ARCHIVE_MBOXRD;
			break;
		default:
			return cli_usage(cli_find("import"));
		}
	}
	if (optind != argc - 2)
		return cli_usage(cli_find("import"));
	if ((status = folder_ref_parse(t, argv[optind], &r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r.folder == NULL && !is_dir(argv[optind + 1])) {
		folder_ref_clear(&r);
		tern_warnx("'%s': name a folder as ACCOUNT/FOLDER (only a "
		           "Maildir++ directory goes into a whole account)",
		    argv[optind]);
		return TERN_EXIT_USAGE;
	}
	if (t->progress)
		o.progress = show_progress;
	if (archive_import(t, &r, argv[optind + 1], &o, &st, &cause) != 0) {
		end_progress(t);
		status = cli_fail(TERN_EXIT_FAIL, cause);
	} else {
		int imap = core_account_remote(r.account);
		uint64_t n = imap ? st.queued : st.messages;
		char *where = r.folder != NULL
		    ? xasprintf("%s/%s", r.account_name, r.folder)
		    : xasprintf("%s (%llu folder%s)", r.account_name,
		          (unsigned long long)st.folders,
		          st.folders == 1 ? "" : "s");

		end_progress(t);
		printf("%llu message%s %s %s%s, %llu already there\n",
		    (unsigned long long)n, n == 1 ? "" : "s",
		    imap ? "queued for" : "imported into", where,
		    imap ? " (appended at the next sync)" : "",
		    (unsigned long long)st.skipped);
		free(where);
	}
	folder_ref_clear(&r);
	return status;
}
