/*
 * netprobe: connect and log in through the net layer, send one command
 * (CAPABILITY for IMAP, CAPA for POP3) and print the reply. The scenario
 * tests use it to prove the connection layer against the real server.
 *
 * usage: netprobe [-k] [-K] imap|pop3 HOST PORT on|starttls|off CAFILE|- USER
 * PASS
 * -k: do not verify the certificate (what "tls_verify no" does).
 * -K: first print the connection's keepalive settings, as the kernel has
 * them: "keepalive 1 idle 60 intvl 15 cnt 4".
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

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
	int status = 1, verify = 1, keep = 0;

	while (argc > 1 &&
	    (strcmp(argv[1], "-k") == 0 || strcmp(argv[1], "-K") == 0)) {
		if (argv[1][1] == 'k')
			verify = 0;
		else
			keep = 1;
		argc--;
		argv++;
	}
	if (argc != 8) {
		fprintf(stderr,
		    "usage: netprobe [-k] [-K] imap|pop3 HOST PORT TLS CAFILE "
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
	if (keep) {
		int v[4] = { 0, 0, 0, 0 };
		socklen_t l;

		l = sizeof v[0];
		getsockopt(net_fd(c), SOL_SOCKET, SO_KEEPALIVE, &v[0], &l);
		l = sizeof v[1];
		getsockopt(net_fd(c), IPPROTO_TCP, TCP_KEEPIDLE, &v[1], &l);
		l = sizeof v[2];
		getsockopt(net_fd(c), IPPROTO_TCP, TCP_KEEPINTVL, &v[2], &l);
		l = sizeof v[3];
		getsockopt(net_fd(c), IPPROTO_TCP, TCP_KEEPCNT, &v[3], &l);
		printf("keepalive %d idle %d intvl %d cnt %d\n", v[0] != 0,
		    v[1], v[2], v[3]);
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
