/*
 * head: the check of a request's head (request line and header lines) before libmicrohttpd
 * reads it.
 *
 * libmicrohttpd answers a head it cannot read with its own HTML page. The HTTP front peeks at
 * each head first and hands libmicrohttpd only heads this check accepts, which libmicrohttpd
 * then always reads; anything else is answered here with an <out> reply. So the check is
 * stricter than libmicrohttpd on every point, and its limits lie well inside libmicrohttpd's
 * buffer. It is pure: bytes in, a verdict out; linear in the bytes, and it stops at the caps.
 */
#ifndef GW_HEAD_H
#define GW_HEAD_H

#include <stddef.h>

/* The caps, fixed: no client of the XML API comes near them (the parameters are short, the
 * ops travel in the body), and they leave libmicrohttpd's 32 KB buffer room for its own
 * records of every header, query parameter and cookie (checked against 0.9.75: a head at
 * every cap at once still fits). */
#define GW_HEAD_MAX_BYTES        16384 /* the whole head, blank line included (else 431) */
#define GW_HEAD_MAX_TARGET       8192  /* the request target (else 414) */
#define GW_HEAD_MAX_HEADERS      64    /* header lines (else 431) */
#define GW_HEAD_MAX_PARAMS       64    /* query-string parameters (else 414) */
#define GW_HEAD_MAX_COOKIES      32    /* cookies, over all Cookie headers (else 431) */
#define GW_HEAD_MAX_COOKIE_BYTES 2048  /* bytes of Cookie header values (else 431) */

enum {
  GW_HEAD_MORE = 0, /* no verdict yet: the head is incomplete and nothing is wrong so far */
  GW_HEAD_OK = 200, /* complete and acceptable: len, content_length, keep_alive are set */
  /* anything else: refused, with this HTTP status (400, 411, 413, 414, 431, 505) */
};

typedef struct gw_head {
  int status;               /* GW_HEAD_MORE, GW_HEAD_OK or the status of the refusal */
  int rc;                   /* the <rc> of the refusal's reply */
  char msg[200];            /* the <msg> of the refusal: our words, never the request's bytes */
  size_t len;               /* OK: bytes of the head, leading blank lines and final CRLF included */
  long long content_length; /* OK: the declared body length, 0 when absent */
  int keep_alive;           /* OK: the request lets the connection stay open after the reply */
  char method[16];          /* the method when the request line got that far, else "" (for logs) */
} gw_head;

/* Check the first n bytes received on a connection for a request (the head may be incomplete).
 * max_body is the largest Content-Length accepted (413 past it). */
void gw_head_check(const char *buf, size_t n, long long max_body, gw_head *out);

/* The whole HTTP response for a refusal: status line, Content-Type, Content-Length, Date,
 * Connection: close, and the <out> reply. malloc'd (caller frees), *len its size; NULL when
 * out of memory. */
char *gw_head_reply(const gw_head *h, size_t *len);

/* The reason phrase of a status the gateway sends. */
const char *gw_head_reason(int status);

#endif
