/*
 * The store's outbox (the states that make sending exactly once) and
 * address completion from stored senders.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/test.h"
#include "tern/store.h"
#include "tern/util.h"

static char dir[] = "/tmp/tern-outbox-XXXXXX";

static void
test_outbox(struct store *s, int64_t acct)
{
	struct store_outbox *v = NULL, o;
	char *cause = NULL;
	size_t n = 0;
	int64_t a, b;

	a = store_outbox_add(s, acct, "To: x@y\r\n\r\nA\r\n", 14, &cause);
	b = store_outbox_add(s, acct, "To: x@y\r\n\r\nB\r\n", 14, &cause);
	CHECK(a > 0 && b > a);
	CHECK(store_outbox_list(s, acct, 0, &v, &n, &cause) == 0);
	CHECK(n == 2 && v[0].id == a && v[0].raw == NULL && v[0].len == 14);
	CHECK(v[0].state == STORE_OUTBOX_QUEUED);
	store_outbox_list_free(v, n);

	/* Only one claimant gets a message. */
	CHECK(store_outbox_claim(s, a, &cause) == 1);
	CHECK(store_outbox_claim(s, a, &cause) == 0);
	CHECK(store_outbox_get(s, a, &o, &cause) == 1);
	CHECK(o.state == STORE_OUTBOX_SENDING && o.attempts == 1);
	CHECK(o.raw != NULL && memcmp(o.raw, "To: x@y", 7) == 0);
	store_outbox_clear(&o);

	/* Sent: never queued again, even when asked. */
	CHECK(
	    store_outbox_set_state(s, a, STORE_OUTBOX_SENT, NULL, &cause) == 0);
	CHECK(store_outbox_get(s, a, &o, &cause) == 1);
	CHECK(o.sent_at > 0);
	store_outbox_clear(&o);
	CHECK(store_outbox_requeue(s, a, &cause) == -1);
	free(cause);
	cause = NULL;
	CHECK(store_outbox_claim(s, a, &cause) == 0);

	/* Refused, then retried on request. */
	CHECK(store_outbox_claim(s, b, &cause) == 1);
	CHECK(store_outbox_set_state(
	          s, b, STORE_OUTBOX_FAILED, "550 no such user", &cause) == 0);
	CHECK(store_outbox_claim(s, b, &cause) == 0);
	CHECK(store_outbox_get(s, b, &o, &cause) == 1);
	CHECK_STR(o.last_error, "550 no such user");
	store_outbox_clear(&o);
	CHECK(store_outbox_requeue(s, b, &cause) == 0);
	CHECK(store_outbox_claim(s, b, &cause) == 1);
	CHECK(store_outbox_get(s, b, &o, &cause) == 1);
	CHECK(o.attempts == 2);
	store_outbox_clear(&o);

	CHECK(store_outbox_delete(s, a, &cause) == 0);
	CHECK(store_outbox_get(s, a, &o, &cause) == 0);
	CHECK_STR(store_outbox_state_name(STORE_OUTBOX_UNKNOWN), "unknown");

	/* The newest one sent and removed: its id is not given again, so an
	 * id read off an older list never names another message. */
	CHECK(store_outbox_delete(s, b, &cause) == 0);
	CHECK(
	    store_outbox_add(s, acct, "To: x@y\r\n\r\nC\r\n", 14, &cause) > b);
}

static void
test_senders(struct store *s, int64_t acct)
{
	static const char *froms[] = { "Bob <bob@example.org>",
		"Bob <bob@example.org>", "Bobby 100% <bobby@example.org>",
		"Carol <carol@example.org>" };
	struct store_msg m;
	char **v = NULL, *cause = NULL;
	size_t n = 0, i;
	int64_t f = store_folder(s, acct, "INBOX", 1, &cause);
	int64_t *ids = NULL;

	for (i = 0; i < TERN_NELEM(froms); i++) {
		memset(&m, 0, sizeof m);
		m.folder_id = f;
		m.from = (char *)froms[i];
		m.message_id = (char *)"<id@x>";
		CHECK(store_msg_insert(s, &m, "x", 1, &cause) == 0);
	}
	CHECK(store_senders(s, "bob", 0, &v, &n, &cause) == 0);
	CHECK(n == 2);
	CHECK_STR(v[0], "Bob <bob@example.org>");
	CHECK_STR(v[1], "Bobby 100% <bobby@example.org>");
	CHECK(v[2] == NULL);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	/* LIKE's wildcards in what was typed are plain characters. */
	CHECK(store_senders(s, "0%", 0, &v, &n, &cause) == 0);
	CHECK(n == 1);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	CHECK(store_senders(s, "_", 0, &v, &n, &cause) == 0);
	CHECK(n == 0);
	free(v);

	CHECK(store_msg_find_msgid(s, acct, "<id@x>", &ids, &n, &cause) == 0);
	CHECK(n == TERN_NELEM(froms));
	free(ids);
}

int
main(void)
{
	struct store *s = NULL;
	char *cause = NULL, *cmd;
	int64_t acct;

	if (mkdtemp(dir) == NULL)
		return 1;
	CHECK(store_open(dir, &s, &cause) == 0);
	if (s != NULL) {
		acct = store_account(s, "home", "pop3", &cause);
		CHECK(acct > 0);
		test_outbox(s, acct);
		test_senders(s, acct);
		store_close(&s);
	}
	cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK(0);
	free(cmd);
	return test_done();
}
