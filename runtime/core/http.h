/* http: one XML API exchange over libcurl: an easy handle set up for a POST of text/xml whose
 * reply bytes go straight into a reply parser. The loop (loop.c) runs it. */
#ifndef TT_HTTP_H
#define TT_HTTP_H

#include "reply.h"

#include <curl/curl.h>

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

enum {
  TT_HTTP_NEW,     /* not started */
  TT_HTTP_RUNNING, /* in the loop's multi handle */
  TT_HTTP_QUEUED,  /* finished, waiting in the loop's completion queue */
  TT_HTTP_DONE     /* finished and handed out (or never to be) */
};

struct tt_loop;

typedef struct tt_http {
  CURL *easy;
  struct curl_slist *headers;
  char *body;
  tt_reply *reply;
  char *raw; /* the reply bytes when keep_raw */
  size_t rawlen, rawcap;
  int keep_raw;
  size_t fed; /* reply bytes received */
  int abort;  /* why the write callback stopped the transfer */
  int finished;
  int result; /* 0 or TT_E_* once finished */
  char msg[CURL_ERROR_SIZE + 64];
  char curlerr[CURL_ERROR_SIZE];
  void *user; /* the owner's pointer (the binding's request) */
  /* Owned by loop.c. */
  int state;
  struct tt_loop *loop;
  struct tt_http *prev, *next;
} tt_http;

int tt_http_new(const tt_http_opts *o, tt_http **out);
/* Detaches from the loop first when still in one. Safe on NULL and twice. */
void tt_http_free(tt_http **hp);

/* Called by the loop when libcurl is done with the transfer (already removed from the multi
 * handle): settle the result and release the easy handle. */
void tt_http_complete(tt_http *h, CURLcode code);
/* End without a transfer result (cancelled, loop closed). */
void tt_http_abandon(tt_http *h, int code, const char *msg);

/* 0 or TT_E_* once finished (TT_E_INVAL before); *msg (may be NULL) gets one line saying
 * what happened. */
int tt_http_result(const tt_http *h, const char **msg);
/* Hand the reply to the caller (only after a result of 0; NULL otherwise or once taken). */
tt_reply *tt_http_take_reply(tt_http *h);
const char *tt_http_raw(const tt_http *h, size_t *len);

#endif
