/*
 * store index queries of the full-screen client: ids in each sort order,
 * keyset paging from the end, matching, the threader's strings,
 * folder counts, and the demo store's contents.
 */
#include <stdint.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/store.h"
#include "tern/ui.h"
#include "tern/util.h"

static char dir[] = "/tmp/tern-index-XXXXXX";

static int64_t
add(struct store *s, int64_t folder, const char *from, const char *subject,
    int64_t date, int64_t size, unsigned flags, const char *msgid,
    const char *irt, const char *body)
{
	struct store_msg m;
	char *cause = NULL;

	memset(&m, 0, sizeof m);
	m.folder_id = folder;
	m.from = (char *)from;
	m.subject = (char *)subject;
	m.date = date;
	m.flags = flags;
	m.message_id = (char *)msgid;
	m.in_reply_to = (char *)irt;
	if (store_msg_insert(s, &m, body, body ? strlen(body) : 0, &cause) !=
	    0) {
		printf("# %s\n", cause);
		free(cause);
		return -1;
	}
	(void)size;
	return m.id;
}

static void
test_index(void)
{
	struct store *s = NULL;
	struct store_index_row r;
	struct store_folder *fv = NULL;
	int64_t acct, f, a, b, c, d, *ids = NULL, kids[4], keys[4];
	int64_t total, unseen;
	size_t n = 0, got = 0;
	char *cause = NULL;

	CHECK(store_open(dir, &s, &cause) == 0);
	if (s == NULL)
		return;
	acct = store_account(s, "local", "local", &cause);
	f = store_folder(s, acct, "INBOX", 1, &cause);
	CHECK(store_folder(s, acct, "Archive", 1, &cause) > 0);
	a = add(s, f, "Zed <z@x>", "banana", 300, 0, STORE_F_SEEN, "<a@x>",
	    NULL, "Subject: banana\r\n\r\nthe kiwi is here\r\n");
	b = add(s, f, "amy <a@x>", "Apple", 100, 0, 0, "<b@x>", "<a@x>", NULL);
	c = add(s, f, "Bob <b@x>", "cherry 100%", 200, 0, 0, "<c@x>", "<b@x>",
	    NULL);
	d = add(s, f, "Bob <b@x>", "date", 200, 0, STORE_F_SEEN, "<d@x>",
	    "<nowhere@x>", NULL);

	CHECK(store_index_ids(s, f, STORE_SORT_DATE, NULL, &ids, &n, &cause) ==
	    0);
	CHECK(
	    n == 4 && ids[0] == b && ids[1] == c && ids[2] == d && ids[3] == a);
	free(ids);
	CHECK(store_index_ids(s, f, STORE_SORT_FROM, NULL, &ids, &n, &cause) ==
	    0);
	CHECK(
	    n == 4 && ids[0] == b && ids[1] == c && ids[2] == d && ids[3] == a);
	free(ids);
	CHECK(store_index_ids(
	          s, f, STORE_SORT_SUBJECT, NULL, &ids, &n, &cause) == 0);
	CHECK(
	    n == 4 && ids[0] == b && ids[1] == a && ids[2] == c && ids[3] == d);
	free(ids);
	/* Matching: headers, stored bodies, LIKE's wildcards taken as is. */
	CHECK(store_index_ids(
	          s, f, STORE_SORT_DATE, "KIWI", &ids, &n, &cause) == 0);
	CHECK(n == 1 && ids[0] == a);
	free(ids);
	CHECK(store_index_ids(
	          s, f, STORE_SORT_DATE, "100%", &ids, &n, &cause) == 0);
	CHECK(n == 1 && ids[0] == c);
	free(ids);
	CHECK(
	    store_index_ids(s, f, STORE_SORT_DATE, "_", &ids, &n, &cause) == 0);
	CHECK(n == 0);
	free(ids);

	/* Keyset paging from the end, nearest first. */
	CHECK(store_index_ids_before(s, f, STORE_SORT_DATE, INT64_MAX,
	          INT64_MAX, 2, kids, keys, &got, &cause) == 0);
	CHECK(got == 2 && kids[0] == a && kids[1] == d && keys[1] == 200);
	CHECK(store_index_ids_before(s, f, STORE_SORT_DATE, keys[1], kids[1], 4,
	          kids, keys, &got, &cause) == 0);
	CHECK(got == 2 && kids[0] == c && kids[1] == b);
	CHECK(store_index_count(s, f, &cause) == 4);
	/* What came after a: the three newer rows, none of another folder. */
	CHECK(store_index_newest(s, &cause) == d);
	CHECK(store_index_count_new(s, f, a, d, &cause) == 3);
	CHECK(store_index_count_new(s, f, b, c, &cause) == 1);
	CHECK(store_index_count_new(s, f + 1, a, d, &cause) == 0);

	CHECK(store_index_row(s, c, &r, &cause) == 1);
	CHECK_STR(r.subject, "cherry 100%");
	CHECK(r.date == 200 && r.uid == (uint32_t)c);
	store_index_row_clear(&r);
	CHECK(store_index_row(s, 999999, &r, &cause) == 0);

	/* The threader's strings, date order, NULL where there is none. */
	{
		struct store_thread_row *tr = NULL;
		char *pool = NULL;

		CHECK(
		    store_index_thread_rows(s, f, &tr, &pool, &n, &cause) == 0);
		CHECK(n == 4 && tr[0].id == b && tr[3].id == a);
		CHECK(n == 4 && strcmp(tr[0].message_id, "<b@x>") == 0 &&
		    strcmp(tr[0].in_reply_to, "<a@x>") == 0 &&
		    strcmp(tr[0].subject, "Apple") == 0 && tr[0].refs == NULL &&
		    tr[3].in_reply_to == NULL &&
		    strcmp(tr[3].message_id, "<a@x>") == 0 &&
		    tr[1].date == 200);
		free(tr);
		free(pool);
	}

	CHECK(store_index_folder_names(s, acct, &fv, &n, &cause) == 0);
	CHECK(n == 2 && strcmp(fv[0].name, "INBOX") == 0 && fv[0].total == -1);
	store_folder_list_free(fv, n);
	CHECK(store_index_folder_counts(s, f, &total, &unseen, &cause) == 0);
	CHECK(total == 4 && unseen == 2);
	CHECK(store_data_version(s) >= 0);
	store_close(&s);
}

static void
test_demo(void)
{
	char *demo = xasprintf("%s/demo", dir), *cause = NULL;
	struct store *s = NULL;
	struct store_folder *fv = NULL;
	int64_t acct;
	size_t n = 0;

	CHECK(ui_demo_create(demo, &cause) == 0);
	/* Rebuilt, not added to, when made again. */
	CHECK(ui_demo_create(demo, &cause) == 0);
	CHECK(store_open(demo, &s, &cause) == 0);
	acct = store_account_find(s, "local", &cause);
	CHECK(acct > 0);
	CHECK(store_folder_list(s, acct, &fv, &n, &cause) == 0);
	CHECK(n == 4);
	if (n == 4) {
		CHECK_STR(fv[0].name, "INBOX");
		CHECK(fv[0].total == 241 && fv[0].unseen == 15);
	}
	store_folder_list_free(fv, n);
	store_close(&s);
	free(demo);
}

int
main(void)
{
	char *cmd;

	if (mkdtemp(dir) == NULL)
		return 1;
	test_index();
	test_demo();
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	free(cmd);
	return test_done();
}
