/*
 * libFuzzer target for the readers of what an OAuth 2.0 provider answers
 * (token and device endpoints) and of the kept sign-in. The first byte
 * chooses the reader; the rest is the body. Whatever the body, the
 * result is a token, an error answer or a cause, and nothing leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tern/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_token(const char *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e)
			abort(); /* a token that could break a SASL string */
	}
	if (i == 0 || i > OAUTH_MAX_TOKEN)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;
	char *error = NULL, *cause = NULL;
	int r;

	if (size < 1)
		return 0;
	size--;
	switch (data[0] % 3) {
	case 0: {
		struct oauth_token tok;

		r = oauth_token_parse(body, size, &tok, &error, &cause);
		if (r == 0) {
			if (tok.access_token == NULL)
				abort();
			check_token(tok.access_token);
			check_token(tok.refresh_token);
		}
		oauth_token_clear(&tok);
		break;
	}
	case 1: {
		struct oauth_device dev;

		r = oauth_device_parse(body, size, &dev, &error, &cause);
		if (r == 0) {
			if (dev.device_code == NULL || dev.user_code == NULL ||
			    dev.verification_uri == NULL)
				abort();
			check_token(dev.user_code);
			check_token(dev.verification_uri);
		}
		oauth_device_clear(&dev);
		break;
	}
	default: {
		struct oauth_state st;

		r = oauth_state_parse(body, size, &st, &cause);
		if (r == 0) {
			check_token(st.access_token);
			check_token(st.refresh_token);
		}
		oauth_state_clear(&st);
		break;
	}
	}
	if ((r == 1) != (error != NULL) || (r < 0) != (cause != NULL))
		abort();
	free(error);
	free(cause);
	return 0;
}
