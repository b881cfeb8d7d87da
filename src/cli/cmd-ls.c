/*
 * tern ls [ACCOUNT[/FOLDER]]: accounts, folders, or messages, from the
 * store only (never the network).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/cli.h"
#include "tern/util.h"

static void
print_field(const char *s)
{
	struct buf b;

	if (s == NULL || *s == '\0') {
		fputs("", stdout);
		return;
	}
	buf_init(&b, 0);
	/* Tabs separate the columns: show one inside a field as a space. */
	text_visible(&b, s, strlen(s), 0);
	for (size_t i = 0; i < b.len; i++) {
		if (b.data[i] == '\t')
			b.data[i] = ' ';
	}
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

void
cli_ls_line(const struct store_msg *m)
{
	char flags[8], date[32];

	store_flags_str(m->flags & STORE_F_ALL, flags);
	core_format_date(
	    m->date ? m->date : m->internaldate, date, sizeof date);
	printf("%u\t%s\t%s\t", m->uid, flags, date);
	print_field(m->from);
	putchar('\t');
	print_field(m->subject);
	putchar('\n');
}

static int
ls_message(void *arg, const struct store_msg *m)
{
	(void)arg;
	cli_ls_line(m);
	return 0;
}

static int
ls_folders(struct tern *t, struct folder_ref *r)
{
	struct store_folder *v;
	size_t n, i;
	int64_t used, limit;
	char *cause = NULL;
	int offline = r->account != NULL && r->account->offline;

	if (store_folder_list(t->store, r->account_id, &v, &n, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	for (i = 0; i < n; i++) {
		struct store_offline_stats st;
		char size[32];

		print_field(v[i].name);
		printf("\t%lld\t%lld", (long long)v[i].total,
		    (long long)v[i].unseen);
		/*
		 * An account kept offline: how much of each folder is, in a
		 * fourth column only then, so the three of the others stay
		 * as scripts read them.
		 */
		if (offline) {
			if (store_offline_stats(
			        t->store, v[i].id, &st, &cause) != 0) {
				putchar('\n');
				store_folder_list_free(v, n);
				return cli_fail(TERN_EXIT_FAIL, cause);
			}
			format_size(st.bytes, 0, size, sizeof size);
			printf("\toffline %lld/%lld (%s)", (long long)st.kept,
			    (long long)st.total, size);
		}
		putchar('\n');
	}
	store_folder_list_free(v, n);
	if (store_account_get_quota(
	        t->store, r->account_id, &used, &limit, &cause) != 0)
		return cli_fail(TERN_EXIT_FAIL, cause);
	if (limit > 0) {
		char u[32], l[32];

		format_size(used, 0, u, sizeof u);
		format_size(limit, 0, l, sizeof l);
		printf("quota: %s of %s\n", u, l);
	}
	return TERN_EXIT_OK;
}

int
cmd_ls(struct tern *t, int argc, char **argv)
{
	struct folder_ref r;
	char *cause = NULL;
	size_t i;
	int status;

	if (argc > 2)
		return cli_usage(cli_find("ls"));
	if (argc == 1) {
		for (i = 0; i < t->rc->naccounts; i++) {
			printf("%s\t%s\n", t->rc->accounts[i].name,
			    rc_protocol_name(t->rc->accounts[i].protocol));
		}
		printf("%s\t%s\n", TERN_LOCAL_ACCOUNT, "local");
		return TERN_EXIT_OK;
	}
	if ((status = folder_ref_parse(t, argv[1], &r, &cause)) != 0)
		return cli_fail(status, cause);
	if (r.folder == NULL)
		status = ls_folders(t, &r);
	else if (r.folder_id == 0) {
		set_cause(&cause, "no folder '%s' in account %s", r.folder,
		    r.account_name);
		status = cli_fail(TERN_EXIT_USAGE, cause);
	} else if (store_msg_foreach(
	               t->store, r.folder_id, ls_message, NULL, &cause) != 0)
		status = cli_fail(TERN_EXIT_FAIL, cause);
	folder_ref_clear(&r);
	return status;
}
