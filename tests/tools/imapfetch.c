/*
 * imapfetch: run the IMAP driver's fetch for one stored message, as
 * `tern cat` does when a body is not stored yet, and print the stored raw
 * bytes. Lets the scenario tests prove bodies on demand on their own.
 *
 * usage: imapfetch RCFILE ACCOUNT/FOLDER UID   (XDG_DATA_HOME as for tern)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/core.h"
#include "tern/imap.h"
#include "tern/net.h"
#include "tern/util.h"

int
main(int argc, char **argv)
{
	struct tern t;
	struct folder_ref r;
	struct store_msg m;
	struct buf raw;
	char *cause = NULL;
	int status = 1, found;

	if (argc != 4) {
		fprintf(stderr, "usage: imapfetch RCFILE ACCOUNT/FOLDER UID\n");
		return 2;
	}
	memset(&t, 0, sizeof t);
	memset(&r, 0, sizeof r);
	memset(&m, 0, sizeof m);
	buf_init(&raw, 0);
	net_global_init();
	t.rc_path = xstrdup(argv[1]);
	t.datadir = rc_data_dir();
	if (rc_load(t.rc_path, 0, &t.rc, &cause) != 0 ||
	    folder_ref_parse(&t, argv[2], &r, &cause) != 0)
		goto out;
	found = store_msg_get(
	    t.store, r.folder_id, (uint32_t)atoi(argv[3]), &m, &cause);
	if (found <= 0) {
		if (found == 0)
			cause = xstrdup("no such message");
		goto out;
	}
	if (!m.has_body &&
	    imap_driver.fetch(&t, r.account, m.id, 1, &cause) != 0)
		goto out;
	if (store_msg_raw(t.store, m.id, &raw, &cause) != 1)
		goto out;
	fwrite(raw.data, 1, raw.len, stdout);
	status = 0;
out:
	if (cause != NULL)
		fprintf(stderr, "imapfetch: %s\n", cause);
	free(cause);
	buf_free(&raw);
	store_msg_clear(&m);
	folder_ref_clear(&r);
	tern_free(&t);
	net_global_cleanup();
	return status;
}
