/*
 * storeput: put messages into a tern store the way a sync would, for
 * scenario tests that need mail without a server.
 *
 *	storeput DATADIR ACCOUNT PROTOCOL FOLDER [--no-body] [--pack]
 *	    [--uid N] FILE...
 *
 * Each FILE is indexed with the envelope parser and inserted (with its raw
 * bytes unless --no-body); the UID of each is printed, one per line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tern/mime.h"
#include "tern/store.h"
#include "tern/util.h"

int
main(int argc, char **argv)
{
	struct store *s = NULL;
	char *cause = NULL;
	int64_t acct, folder;
	int i, nobody = 0, pack = 0, rc = 1;
	uint64_t uid = 0;

	if (argc < 6) {
		fprintf(stderr,
		    "usage: storeput DATADIR ACCOUNT PROTOCOL FOLDER "
		    "[--no-body] [--pack] [--uid N] FILE...\n");
		return 2;
	}
	if (store_open(argv[1], &s, &cause) != 0)
		goto fail;
	if ((acct = store_account(s, argv[2], argv[3], &cause)) < 0)
		goto fail;
	if ((folder = store_folder(s, acct, argv[4], 1, &cause)) < 0)
		goto fail;
	for (i = 5; i < argc; i++) {
		struct buf raw;
		struct mime_envelope e;
		struct store_msg m;

		if (strcmp(argv[i], "--no-body") == 0) {
			nobody = 1;
			continue;
		}
		/* The body in a pack file, as a POP3 sync stores it. */
		if (strcmp(argv[i], "--pack") == 0) {
			pack = 1;
			continue;
		}
		if (strcmp(argv[i], "--uid") == 0 && i + 1 < argc) {
			if (parse_uint64(argv[i + 1], strlen(argv[i + 1]),
			        UINT32_MAX, &uid) != 0)
				uid = 0;
			i++;
			continue;
		}
		buf_init(&raw, 0);
		if (read_file(argv[i], 0, &raw, &cause) != 0)
			goto fail;
		mime_envelope_parse(raw.data, raw.len, &e);
		memset(&m, 0, sizeof m);
		m.folder_id = folder;
		m.uid = (uint32_t)uid;
		m.uidvalidity = uid ? 1 : 0;
		m.date = e.date;
		m.internaldate = e.date ? e.date : (int64_t)time(NULL);
		m.size = (int64_t)raw.len;
		m.from = e.from;
		m.to = e.to;
		m.cc = e.cc;
		m.subject = e.subject;
		m.message_id = e.message_id;
		m.in_reply_to = e.in_reply_to;
		m.refs = e.refs;
		m.content_type = e.content_type;
		m.has_attach = e.has_attach;
		m.has_body = !nobody;
		m.fetched_at = (int64_t)time(NULL);
		if (pack && !nobody
		        ? store_begin(s, &cause) != 0 ||
		            store_msg_insert_packed(
		                s, acct, &m, raw.data, raw.len, &cause) != 0 ||
		            store_commit(s, &cause) != 0
		        : store_msg_insert(s, &m, nobody ? NULL : raw.data,
		              nobody ? 0 : raw.len, &cause) != 0) {
			mime_envelope_clear(&e);
			buf_free(&raw);
			goto fail;
		}
		printf("%u\n", m.uid);
		mime_envelope_clear(&e);
		buf_free(&raw);
		uid = 0;
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "storeput: %s\n", cause ? cause : "failed");
	free(cause);
out:
	store_close(&s);
	return rc;
}
