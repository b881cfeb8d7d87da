/*
 * netprobe: connect and log in through the net layer, send one command
 * (CAPABILITY for IMAP, CAPA for POP3) and print the reply. The scenario
 * tests use it to prove the connection layer against the real server.
 *
 * usage: netprobe [-k] imap|pop3 HOST PORT on|starttls|off CAFILE|- USER PASS
 * -k: do not verify the certificate (what "tls_verify no" does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/net.h"
#include "tern/util.h"

int
main(int argc, char **argv)
{
	struct net_params p;
	struct net_conn *c = NULL;
	char *cause = NULL, buf[4096];
	const char *cmd;
	struct buf reply;
	int status = 1, verify = 1;

	if (argc > 1 && strcmp(argv[1], "-k") == 0) {
		verify = 0;
		argc--;
		argv++;
	}
	if (argc != 8) {
		fprintf(stderr,
		    "usage: netprobe [-k] imap|pop3 HOST PORT TLS CAFILE "
		    "USER PASS\n");
		return 2;
	}
	memset(&p, 0, sizeof p);
	p.scheme = argv[1];
	p.host = argv[2];
	p.port = (unsigned)atoi(argv[3]);
	p.tls = strcmp(argv[4], "on") == 0     ? RC_TLS_ON
	    : strcmp(argv[4], "starttls") == 0 ? RC_TLS_STARTTLS
	                                       : RC_TLS_OFF;
	p.verify = verify;
	p.cafile = strcmp(argv[5], "-") == 0 ? NULL : argv[5];
	p.user = argv[6];
	p.password = argv[7];
	p.connect_timeout_ms = 10000;
	p.io_timeout_ms = 10000;
	net_global_init();
	if (net_connect(&p, &c, &cause) != 0) {
		fprintf(stderr, "netprobe: %s\n", cause);
		free(cause);
		goto out;
	}
	cmd = strcmp(p.scheme, "imap") == 0 ? "T1 CAPABILITY\r\n" : "CAPA\r\n";
	if (net_send(c, cmd, strlen(cmd), &cause) != 0) {
		fprintf(stderr, "netprobe: %s\n", cause);
		free(cause);
		goto out;
	}
	buf_init(&reply, 1 << 20);
	/* Read until the end of the reply: a tagged line or a lone dot. */
	while (strstr(reply.data ? reply.data : "", "T1 OK") == NULL &&
	    strstr(reply.data ? reply.data : "", "\r\n.\r\n") == NULL) {
		ssize_t n = net_read(c, buf, sizeof buf, &cause);

		if (n < 0) {
			fprintf(stderr, "netprobe: %s\n", cause);
			free(cause);
			buf_free(&reply);
			goto out;
		}
		if (buf_add(&reply, buf, (size_t)n) != 0)
			break;
	}
	fwrite(reply.data, 1, reply.len, stdout);
	buf_free(&reply);
	status = 0;
out:
	net_close(&c);
	net_global_cleanup();
	return status;
}
