/*
 * tern: a terminal mail client for POP3 and IMAP.
 */
#include "tern/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
