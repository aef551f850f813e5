/* http: set up one exchange and turn libcurl's outcome into a TT_E_* code and a message. */
#include "http_impl.h"

#include "csv.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TT_VERSION
#error "TT_VERSION must be defined (CMake passes the project's version)"
#endif

static void set_result(tt_http *h, int code, const char *what, const char *detail)
{
  h->finished = 1;
  h->result = code;
  if (detail && *detail)
    snprintf(h->msg, sizeof h->msg, "%s: %s", what, detail);
  else
    snprintf(h->msg, sizeof h->msg, "%s", what);
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
  tt_http *h = ud;
  size_t len = size * nmemb;
  if (h->keep_raw) {
    if (len > h->rawcap - h->rawlen) {
      size_t cap = h->rawcap ? h->rawcap : 4096;
      while (cap - h->rawlen < len) cap *= 2;
      char *q = realloc(h->raw, cap);
      if (!q) {
        h->abort = TT_E_NOMEM;
        return 0;
      }
      h->raw = q;
      h->rawcap = cap;
    }
    memcpy(h->raw + h->rawlen, p, len);
    h->rawlen += len;
  }
  if (!h->fed) {
    curl_off_t cl = -1;
    curl_easy_getinfo(h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (cl > 0) {
      tt_reply_expect(h->reply, (size_t)cl);
      h->expected = (size_t)cl;
    }
  }
  h->fed += len;
  if (!h->abort) {
    int rc = tt_reply_feed(h->reply, p, len);
    if (rc) {
      h->abort = rc;
      /* A bad reply is not worth reading to its end, unless its bytes are wanted for a log. */
      if (!h->keep_raw || rc == TT_E_NOMEM) return 0;
    }
  }
  return len;
}

static long to_ms(double s)
{
  if (!(s > 0)) return 0;
  if (s > 2e6) return 2000000000L;
  long ms = (long)(s * 1000 + 0.5);
  return ms ? ms : 1;
}

int tt_http_new(const tt_http_opts *o, tt_http **out)
{
  *out = NULL;
  if (!o || !o->url || (o->body_len && !o->body)) return TT_E_INVAL;
  tt_http *h = calloc(1, sizeof *h);
  if (!h) return TT_E_NOMEM;
  h->keep_raw = o->keep_raw;
  h->body = malloc(o->body_len + 1);
  if (h->body) {
    if (o->body_len) memcpy(h->body, o->body, o->body_len);
    h->body[o->body_len] = '\0';
  }

  char sep[TT_CSV_DELIM_MAX + 1], eol[TT_CSV_DELIM_MAX + 1];
  if (!o->sep || !o->eol) tt_reply_csv_delims(o->body, o->body_len, sep, eol, sizeof sep);
  int rc =
      h->body ? tt_reply_new(&h->reply, o->sep ? o->sep : sep, o->eol ? o->eol : eol) : TT_E_NOMEM;

  h->easy = rc ? NULL : curl_easy_init();
  struct curl_slist *l = h->easy ? curl_slist_append(NULL, "Content-Type: text/xml") : NULL;
  /* No "Expect: 100-continue" round trip before large bodies. */
  h->headers = l ? curl_slist_append(l, "Expect:") : NULL;
  if (l && !h->headers) curl_slist_free_all(l);
  if (!rc && !h->headers) rc = TT_E_NOMEM;

  CURLcode c = rc ? CURLE_FAILED_INIT : CURLE_OK;
  CURL *e = h->easy;
#define SET(opt, val)                                                                              \
  if (!c) c = curl_easy_setopt(e, opt, val)
  SET(CURLOPT_URL, o->url);
  SET(CURLOPT_POST, 1L);
  SET(CURLOPT_POSTFIELDS, h->body);
  SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
  SET(CURLOPT_HTTPHEADER, h->headers);
  SET(CURLOPT_CONNECTTIMEOUT_MS, to_ms(o->connect_timeout));
  SET(CURLOPT_TIMEOUT_MS, to_ms(o->timeout));
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_ACCEPT_ENCODING, (char *)NULL); /* rows are parsed as they come; no gzip */
  SET(CURLOPT_WRITEFUNCTION, on_data);
  SET(CURLOPT_WRITEDATA, h);
  SET(CURLOPT_PRIVATE, h);
  SET(CURLOPT_ERRORBUFFER, h->curlerr);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_USERAGENT, "tenten-lua/" TT_VERSION);
  /* libcurl's default 16 KB receive buffer cuts a page of a megabyte into some 60 write
   * callbacks, each a push into the XML (or CSV) reader with its own setup; 512 KB cuts the
   * client's CPU per row by 5-10% (tests/bench/bench_rows.sh). The buffer is per exchange and
   * only the part a read fills is touched. */
  SET(CURLOPT_BUFFERSIZE, 512L * 1024);
  if (o->cafile) SET(CURLOPT_CAINFO, o->cafile);
  if (o->insecure) {
    SET(CURLOPT_SSL_VERIFYPEER, 0L);
    SET(CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (o->proxy) SET(CURLOPT_PROXY, o->proxy);
  if (!o->reuse) {
    SET(CURLOPT_FRESH_CONNECT, 1L);
    SET(CURLOPT_FORBID_REUSE, 1L);
  }
  /* libcurl re-sends a request whose reused connection dies before the first reply byte, and
   * has no switch for it before 8.16. A new connection is never retried; it stays in the
   * cache afterwards for the requests that may be replayed. */
  if (o->no_replay) SET(CURLOPT_FRESH_CONNECT, 1L);
  if (o->stall > 0) {
    /* below 1 byte/s for `stall` whole seconds: the transfer times out */
    double s = o->stall < 1 ? 1 : o->stall > 2e9 ? 2e9 : o->stall;
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, (long)(s + 0.999));
  }
#undef SET
  if (!rc && c) rc = c == CURLE_OUT_OF_MEMORY ? TT_E_NOMEM : TT_E_INVAL;
  if (rc) {
    tt_http_free(&h);
    return rc;
  }
  h->state = TT_HTTP_NEW;
  *out = h;
  return 0;
}

/* Everything a finished exchange no longer needs. */
static void release(tt_http *h)
{
  if (h->easy) curl_easy_cleanup(h->easy);
  h->easy = NULL;
  curl_slist_free_all(h->headers);
  h->headers = NULL;
  free(h->body);
  h->body = NULL;
  if (h->result) tt_reply_free(&h->reply);
}

void tt_http_free(tt_http **hp)
{
  if (!hp || !*hp) return;
  tt_http *h = *hp;
  *hp = NULL;
  if (h->loop) tt_loop_forget(h);
  if (!h->finished) set_result(h, TT_E_CANCELLED, "cancelled", NULL);
  release(h);
  tt_reply_free(&h->reply);
  free(h->raw);
  free(h);
}

static int tls_error(CURLcode c)
{
  switch (c) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return 1;
  default:
    return 0;
  }
}

void tt_http_complete(tt_http *h, CURLcode code)
{
  long status = 0;
  if (h->easy) curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
  const char *detail = h->curlerr[0] ? h->curlerr : curl_easy_strerror(code);

  if (h->abort == TT_E_NOMEM || code == CURLE_OUT_OF_MEMORY) {
    set_result(h, TT_E_NOMEM, "out of memory", NULL);
  } else if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && h->abort)) {
    if (status < 200 || status > 299) {
      /* The body may still say why (the gateway sends <out> with its 404). */
      char what[64];
      snprintf(what, sizeof what, "HTTP %ld", status);
      int bad = h->abort || tt_reply_finish(h->reply);
      set_result(h, TT_E_HTTP, what, bad ? NULL : tt_reply_msg(h->reply));
    } else if (h->abort) {
      set_result(h, h->abort, tt_reply_error(h->reply), NULL);
    } else {
      int rc = tt_reply_finish(h->reply);
      if (rc)
        set_result(h, rc, tt_reply_error(h->reply), NULL);
      else
        set_result(h, 0, "ok", NULL);
    }
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    /* the low-speed limit (stall) and the timeouts share one code; libcurl's text tells */
    set_result(h, TT_E_TIMEOUT, strstr(detail, "too slow") ? "stalled" : "timed out", detail);
  } else if (tls_error(code)) {
    set_result(h, TT_E_TLS, "TLS failure", detail);
  } else {
    set_result(h, TT_E_CONNECT, "connection failed", detail);
  }
  release(h);
}

void tt_http_abandon(tt_http *h, int code, const char *msg)
{
  set_result(h, code, msg, NULL);
  release(h);
}

int tt_http_result(const tt_http *h, const char **msg)
{
  if (msg) *msg = h->finished ? h->msg : "not finished";
  return h->finished ? h->result : TT_E_INVAL;
}

tt_reply *tt_http_take_reply(tt_http *h)
{
  tt_reply *r = h->finished && !h->result ? h->reply : NULL;
  if (r) h->reply = NULL;
  return r;
}

const char *tt_http_raw(const tt_http *h, size_t *len)
{
  *len = h->rawlen;
  return h->keep_raw ? (h->raw ? h->raw : "") : NULL;
}

size_t tt_http_received(const tt_http *h, size_t *expected)
{
  if (expected) *expected = h->expected;
  return h->fed;
}

int tt_http_finished(const tt_http *h)
{
  return h->finished;
}

void tt_http_set_user(tt_http *h, void *user)
{
  h->user = user;
}

void *tt_http_user(const tt_http *h)
{
  return h->user;
}
