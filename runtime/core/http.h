/* http: one XML API exchange over libcurl: an easy handle set up for a POST of text/xml whose
 * reply bytes go straight into a reply parser. The loop (loop.h) runs it; this header does not
 * know the loop. */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include "reply.h"

#include <stddef.h>

typedef struct tt_http_opts {
  const char *url;  /* complete URL */
  const char *body; /* NULL: an empty POST */
  size_t body_len;
  double connect_timeout; /* seconds; 0 = libcurl's default */
  double timeout;         /* whole exchange, seconds; 0 = none */
  const char *cafile;     /* NULL: the system's CA bundle */
  int insecure;           /* nonzero: no TLS peer or host verification */
  const char *proxy;      /* NULL: libcurl's default (environment) */
  int reuse;              /* zero: a fresh connection, closed afterwards */
  /* Nonzero: a new connection, never a reused one. libcurl silently re-sends a request whose
   * reused connection dies before the first reply byte; a transaction that must not run twice
   * sets this. */
  int no_replay;
  double stall;          /* seconds without a byte either way: TT_E_TIMEOUT; 0 = no limit */
  int keep_raw;          /* keep the reply bytes */
  const char *sep, *eol; /* CSV separators; NULL: what the body's <format> asks for */
} tt_http_opts;

/* One exchange. Opaque: http.c and loop.c share its layout (http_impl.h). */
typedef struct tt_http tt_http;

/* Copies o->body and sets the other strings of o on libcurl, which copies them: o and its
 * strings may be freed as soon as this returns. */
int tt_http_new(const tt_http_opts *o, tt_http **out);
/* Detaches from the loop first when still in one. Safe on NULL and twice. */
void tt_http_free(tt_http **hp);

/* Nonzero once the exchange has ended (completed, failed, cancelled or abandoned). */
int tt_http_finished(const tt_http *h);
/* 0 or TT_E_* once finished (TT_E_INVAL before); *msg (may be NULL) gets one line saying
 * what happened. */
int tt_http_result(const tt_http *h, const char **msg);
/* The reply bytes received so far and, in *expected (may be NULL), the Content-Length the reply
 * announced (0 when it announced none, or before its first byte). Both are kept by the write
 * callback anyway, so polling them (the progress display) costs the row path nothing. */
size_t tt_http_received(const tt_http *h, size_t *expected);
/* Hand the reply to the caller (only after a result of 0; NULL otherwise or once taken). */
tt_reply *tt_http_take_reply(tt_http *h);
/* The reply bytes (keep_raw), valid until tt_http_free; NULL when not kept. */
const char *tt_http_raw(const tt_http *h, size_t *len);

/* The owner's pointer (the binding's request), handed back with the exchange by tt_loop_pop. */
void tt_http_set_user(tt_http *h, void *user);
void *tt_http_user(const tt_http *h);

#endif
