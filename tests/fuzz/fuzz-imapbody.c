/*
 * libFuzzer target for BODYSTRUCTURE and the view built from it
 * (src/imap/body.c): the input is a FETCH response's item list, parsed
 * as the server would send it, read into a view, and, when a structure was
 * taken, its items listed, the sections it asks for filled with the
 * input's own bytes, and the skeleton message built and parsed again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/imap/imap-private.h"
#include "tern/mime.h"
#include "tern/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Give every section the view asks for some of the input as its bytes. */
static void
fill(struct imap_view *v, const uint8_t *data, size_t size)
{
	struct buf items;
	char *p, *sec, *end;

	buf_init(&items, 0);
	imap_view_items(v, &items);
	for (p = items.data; p != NULL && (sec = strchr(p, '[')) != NULL;
	     p = end + 1) {
		if ((end = strchr(++sec, ']')) == NULL)
			break;
		*end = '\0';
		imap_view_add(
		    v, sec, (const char *)data, size < 512 ? size : 512);
	}
	buf_free(&items);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_limits lim = { 65536, 65536, 200, 20000 };
	struct imap_parser *p = imap_parser_new(&lim);
	struct imap_view *v = imap_view_new();
	struct buf line, skel;
	char *cause = NULL;
	size_t used;

	buf_init(&line, 0);
	buf_init(&skel, 0);
	(void)buf_adds(&line, "* 1 FETCH (UID 5 BODYSTRUCTURE ");
	(void)buf_add(&line, (const char *)data, size);
	(void)buf_adds(&line, ")\r\n");
	if (imap_parser_feed(p, line.data, line.len, &used, &cause) == 1) {
		const struct imap_resp *r = imap_parser_response(p);

		if (imap_view_on_fetch(v, r, 3, &cause) == 0 &&
		    imap_view_ready(v)) {
			fill(v, data, size);
			if (imap_view_skeleton(v, &skel, &cause) == 0) {
				struct mime_msg *m = mime_parse_view(
				    skel.data ? skel.data : "", skel.len);

				mime_free(&m);
			}
		}
	}
	free(cause);
	buf_free(&line);
	buf_free(&skel);
	imap_view_free(&v);
	imap_parser_free(&p);
	return 0;
}
