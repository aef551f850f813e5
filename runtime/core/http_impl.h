/* http_impl: what http.c and loop.c share and nothing else sees: the layout of an exchange
 * and the calls each makes into the other. Outside runtime/core, tt_http is opaque (http.h). */
#ifndef TT_HTTP_IMPL_H
#define TT_HTTP_IMPL_H

#include "http.h"

#include <curl/curl.h>

struct tt_loop;

enum {
  TT_HTTP_NEW,     /* not started */
  TT_HTTP_RUNNING, /* in the loop's multi handle */
  TT_HTTP_QUEUED,  /* finished, waiting in the loop's completion queue */
  TT_HTTP_DONE     /* finished and handed out (or never to be) */
};

struct tt_http {
  CURL *easy;
  struct curl_slist *headers;
  char *body;
  tt_reply *reply;
  char *raw; /* the reply bytes when keep_raw */
  size_t rawlen, rawcap;
  int keep_raw;
  size_t fed;      /* reply bytes received */
  size_t expected; /* the Content-Length announced, 0 when none (read with the first bytes) */
  int abort;       /* why the write callback stopped the transfer */
  int finished;
  int result; /* 0 or TT_E_* once finished */
  char msg[CURL_ERROR_SIZE + 64];
  char curlerr[CURL_ERROR_SIZE];
  void *user; /* the owner's pointer (the binding's request) */
  /* Owned by loop.c. */
  int state;
  struct tt_loop *loop;
  struct tt_http *prev, *next;
};

/* ---- http.c, for the loop ---- */

/* Called by the loop when libcurl is done with the transfer (already removed from the multi
 * handle): settle the result and release the easy handle. */
void tt_http_complete(tt_http *h, CURLcode code);
/* End without a transfer result (cancelled, loop closed). */
void tt_http_abandon(tt_http *h, int code, const char *msg);

/* ---- loop.c, for http.c ---- */

/* Detach an exchange from its loop, whatever its state; it will not be handed out.
 * tt_http_free calls it. */
void tt_loop_forget(tt_http *h);

#endif
