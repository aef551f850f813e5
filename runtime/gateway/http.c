/*
 * http: serve the XML API over HTTP with libmicrohttpd.
 *
 * One libmicrohttpd thread does all the socket work (epoll). When a request is complete its
 * connection is suspended and the request goes to a worker thread, which runs the transaction
 * and renders the reply; the connection is then resumed and the reply sent. Workers are taken
 * from a pool that grows while every worker is busy, so a long query holds up nobody else and
 * resetpool can interrupt it from another worker. With --latency the resume waits on a timer
 * thread's queue, so a held reply costs no thread and no lock.
 */
#include "http.h"
#include "rc.h"
#include "request.h"
#include "txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One open connection, for the request deadline (gw_http_tick). MHD's own timeout restarts
 * with every byte, so a client sending a byte a second would never meet it. */
typedef struct conn_slot {
  struct conn_slot *prev, *next;
  int fd;
  double since; /* when the connection began to wait for the current request */
  int reading;  /* between requests or receiving one; 0 while it is answered */
  int in_body;  /* the headers are in: the handler has seen the request */
  int cut;      /* shut down by the deadline */
  int served;   /* requests answered on it */
  char peer[64];
} conn_slot;

/* A request's state: its body arriving, with a worker, or its reply ready to send. */
enum { COLLECTING, RUNNING, READY };

typedef struct conn_ctx {
  gw_buf body;
  int too_big;
  long limit; /* max_body, or max_login_body for the transactions that take no body */
  double started;
  int state;
  /* Read on the libmicrohttpd thread before the hand-over: the strings are the connection's
   * and stay valid until the request completes; the worker never calls into libmicrohttpd. */
  struct MHD_Connection *conn;
  const char *method, *url, *apiversion;
  gw_request rq;
  int has_nul;
  char peer[64];
  /* The reply, from the worker. */
  unsigned status;
  char *xml;
  size_t len;
  double due;            /* --latency: when it may be sent */
  struct conn_ctx *next; /* in the work queue or the held queue */
} conn_ctx;

struct gw_http {
  gw_gateway *gw;
  struct MHD_Daemon *daemon;
  int fd;
  int quiesced;
  pthread_mutex_t lock; /* guards conns and every slot's fields */
  conn_slot *conns;
  double latency; /* seconds every reply is held back */
  /* Under jobs: the work queue, the held replies (in due order, as every hold is the same
   * length), the workers, and the requests whose connections are suspended. */
  pthread_mutex_t jobs;
  pthread_cond_t work_cv, held_cv, done_cv;
  conn_ctx *work, *work_tail, *held, *held_tail;
  int workers, idle, suspended, stopping;
  int unsent; /* requests handed to a worker whose connection has not completed them yet */
  int has_timer;
  pthread_t timer;
};

/* Transactions whose requests never carry a body worth more than a few KB: their cap is
 * max_login_body, since each of them is open to anyone who can reach the port. */
static int takes_no_body(const char *api)
{
  static const char *const names[] = {"login",     "logout",    "getuid",   "reluid",
                                      "flushpool", "resetpool", "warmpool", "samstatus"};
  for (size_t i = 0; api && i < sizeof names / sizeof *names; i++)
    if (strcmp(api, names[i]) == 0) return 1;
  return 0;
}

static int gw_path(const char *url)
{
  size_t n = strlen(url);
  return (n >= 3 && strcmp(url + n - 3, "/gw") == 0) ||
         (n >= 5 && strcmp(url + n - 5, "/gw.k") == 0);
}

/* A request value fit for a log line: control characters and blanks cannot forge lines, and
 * only printable ASCII gets through, so the log stays valid UTF-8 whatever a client sends. */
static const char *loggable(const char *v, char *out, size_t len)
{
  if (!v) return "-";
  size_t i = 0;
  for (; v[i] && i + 1 < len; i++)
    out[i] = ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f) ? '?' : v[i];
  out[i] = '\0';
  return out;
}

/* libmicrohttpd hands values over NUL-terminated: a decoded %00 would cut one short, and
 * "pswd=secret%00junk" would be read as "secret". Its sizes tell. */
static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key,
                                size_t key_size, const char *value, size_t value_size)
{
  (void)kind;
  if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
    *(int *)cls = 1;
    return MHD_NO;
  }
  return MHD_YES;
}

static void peer_name(struct MHD_Connection *c, char *peer, size_t len)
{
  snprintf(peer, len, "-");
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, (socklen_t)len);
  }
}

static conn_slot *slot_of(struct MHD_Connection *c)
{
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void log_request(const char *peer, const char *method, const char *url, const gw_request *rq,
                        int rc, size_t bytes, double ms)
{
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  /* Never the password: pswd is left out whatever it holds. */
  char api[64], uid[96], gid[96], path[256];
  fprintf(stderr, "%s %s %s %s api=%s uid=%s%s%s rc=%d bytes=%zu ms=%.1f\n", when, peer, method,
          loggable(url, path, sizeof path), loggable(rq->api, api, sizeof api),
          loggable(rq->uid, uid, sizeof uid), rq->gid ? " gid=" : "",
          rq->gid ? loggable(rq->gid, gid, sizeof gid) : "", rc, bytes, ms);
}

static enum MHD_Result send_xml(struct MHD_Connection *c, unsigned status, char *xml, size_t len)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(len, xml, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(xml);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, POST");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* The message of an injected rc: the platform's own wording where it is known. */
static void set_injected(gw_reply *rp, int rc)
{
  if (rc == GW_RC_THROTTLED)
    gw_reply_set(rp, rc, "Login throttled, try again later");
  else if (rc == GW_RC_UNAVAILABLE)
    gw_reply_set(rp, rc, "1010data unavailable");
  else
    gw_reply_set(rp, rc, "Injected answer (rc %d, config 'inject')", rc);
}

/* The reply to a complete request (on a worker): the checks common to every call, then the
 * transaction. Sets ctx->status, ctx->xml and ctx->len. */
static void answer(gw_http *h, conn_ctx *ctx)
{
  gw_gateway *gw = h->gw;
  gw_request *rq = &ctx->rq;
  gw_reply rp = {0};
  unsigned status = MHD_HTTP_OK;
  const char *method = ctx->method, *url = ctx->url, *apiversion = ctx->apiversion;
  char err[512];
  gw_txn_fn fn = NULL;
  int injected = 0;
  gw_stats_count(&gw->stats, gw_path(url) ? rq->api : NULL);

  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    gw_reply_set(&rp, GW_RC_FAILED, "Method %s not allowed: use POST (or GET)", method);
  } else if (!gw_path(url)) {
    status = MHD_HTTP_NOT_FOUND;
    gw_reply_set(&rp, GW_RC_FAILED, "No gateway at %s: the path must end in /gw or /gw.k", url);
  } else if (ctx->too_big && ctx->limit < gw->cfg.max_body) {
    gw_reply_set(&rp, GW_RC_XML,
                 "XML error: the request body is larger than %ld bytes, the most a %.16s "
                 "request may carry (it needs no body)",
                 ctx->limit, rq->api);
  } else if (ctx->too_big) {
    gw_reply_set(&rp, GW_RC_XML, "XML error: the request body is larger than %ld bytes",
                 ctx->limit);
  } else if (ctx->has_nul) {
    gw_reply_set(&rp, GW_RC_BAD_VALUE, "Invalid query string: a parameter holds a NUL byte (%%00)");
  } else if (!rq->api || !*rq->api) {
    gw_reply_set(&rp, GW_RC_NO_API, "Missing transaction type (api)");
  } else if (!(fn = gw_txn_find(rq->api))) {
    gw_reply_set(&rp, GW_RC_BAD_API, "Invalid transaction type '%.64s'", rq->api);
  } else if ((injected = gw_config_injected(&gw->cfg, rq->api)) != 0) {
    set_injected(&rp, injected);
  } else if (apiversion && *apiversion && strcmp(apiversion, "3") != 0) {
    gw_reply_set(&rp, GW_RC_BAD_VALUE,
                 "Unsupported apiversion '%.16s': this gateway speaks version 3", apiversion);
  } else if (gw_req_parse_body(rq, ctx->body.data ? ctx->body.data : "", ctx->body.len, err,
                               sizeof err)) {
    gw_reply_set(&rp, GW_RC_XML, "%s", err);
  } else {
    fn(gw, rq, &rp);
    gw_sess_reap(gw); /* sessions a transaction let go of under the lock */
  }

  ctx->xml = gw_reply_render(&rp, &ctx->len);
  ctx->status = status;
  if (gw->cfg.log_requests)
    log_request(ctx->peer, method, url, rq, rp.rc, ctx->len, (gw_now() - ctx->started) * 1000.0);
  gw_req_free(rq);
  gw_reply_free(&rp);
  gw_buf_free(&ctx->body);
}

/* One suspended connection less; the last one wakes gw_http_stop. */
static void resumed(gw_http *h, struct MHD_Connection *c)
{
  MHD_resume_connection(c);
  pthread_mutex_lock(&h->jobs);
  if (--h->suspended == 0) pthread_cond_broadcast(&h->done_cv);
  pthread_mutex_unlock(&h->jobs);
}

/* The reply is ready: send it now, or after the latency (the timer thread resumes it). */
static void reply_ready(gw_http *h, conn_ctx *ctx)
{
  struct MHD_Connection *c = ctx->conn; /* ctx may be freed once the connection resumes */
  pthread_mutex_lock(&h->jobs);
  ctx->state = READY;
  if (h->latency > 0 && !h->stopping) {
    ctx->due = gw_now() + h->latency;
    ctx->next = NULL;
    if (h->held_tail)
      h->held_tail->next = ctx;
    else
      h->held = ctx;
    h->held_tail = ctx;
    pthread_cond_signal(&h->held_cv);
    pthread_mutex_unlock(&h->jobs);
    return;
  }
  pthread_mutex_unlock(&h->jobs);
  resumed(h, c);
}

/* An absolute CLOCK_MONOTONIC time `seconds` from now, for the condition waits. */
static struct timespec deadline(double seconds)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  double t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + seconds;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
  return ts;
}

/* A worker: runs requests from the queue; leaves after 30 idle seconds, or at the stop once
 * the queue is empty. */
static void *worker(void *arg)
{
  gw_http *h = arg;
  pthread_mutex_lock(&h->jobs);
  for (;;) {
    int timed_out = 0;
    while (!h->work && !h->stopping && !timed_out) {
      struct timespec until = deadline(30);
      h->idle++;
      timed_out = pthread_cond_timedwait(&h->work_cv, &h->jobs, &until) == ETIMEDOUT;
      h->idle--;
    }
    conn_ctx *ctx = h->work;
    if (!ctx) break;
    if (!(h->work = ctx->next)) h->work_tail = NULL;
    pthread_mutex_unlock(&h->jobs);
    answer(h, ctx);
    reply_ready(h, ctx);
    pthread_mutex_lock(&h->jobs);
  }
  if (--h->workers == 0) pthread_cond_broadcast(&h->done_cv);
  pthread_mutex_unlock(&h->jobs);
  return NULL;
}

/* The timer thread of --latency: resumes each held connection when its time comes; all of
 * them at once when the gateway stops. */
static void *timer(void *arg)
{
  gw_http *h = arg;
  pthread_mutex_lock(&h->jobs);
  for (;;) {
    conn_ctx *ctx = h->held;
    if (ctx && (h->stopping || ctx->due <= gw_now())) {
      if (!(h->held = ctx->next)) h->held_tail = NULL;
      struct MHD_Connection *c = ctx->conn;
      pthread_mutex_unlock(&h->jobs);
      resumed(h, c);
      pthread_mutex_lock(&h->jobs);
    } else if (ctx) {
      struct timespec until = deadline(ctx->due - gw_now());
      pthread_cond_timedwait(&h->held_cv, &h->jobs, &until);
    } else if (h->stopping) {
      break; /* nothing held, and nothing will be: reply_ready sends at once from now */
    } else {
      pthread_cond_wait(&h->held_cv, &h->jobs);
    }
  }
  pthread_mutex_unlock(&h->jobs);
  return NULL;
}

/* Hand a complete request to a worker (on the libmicrohttpd thread). 0, or -1 when the
 * gateway is stopping and takes no new work. */
static int dispatch(gw_http *h, struct MHD_Connection *c, conn_ctx *ctx)
{
  pthread_mutex_lock(&h->jobs);
  if (h->stopping) {
    pthread_mutex_unlock(&h->jobs);
    return -1;
  }
  h->suspended++;
  h->unsent++;
  pthread_mutex_unlock(&h->jobs);
  /* Suspended before any worker can see it, so a quick worker never resumes it too early. */
  MHD_suspend_connection(c);
  pthread_mutex_lock(&h->jobs);
  ctx->state = RUNNING;
  ctx->next = NULL;
  if (h->work_tail)
    h->work_tail->next = ctx;
  else
    h->work = ctx;
  h->work_tail = ctx;
  int spawn = h->idle == 0, alone = h->workers == 0;
  if (!spawn) pthread_cond_signal(&h->work_cv);
  pthread_attr_t attr;
  pthread_t t;
  if (spawn && pthread_attr_init(&attr) == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, h) == 0) {
      h->workers++;
      alone = 0;
    }
    pthread_attr_destroy(&attr);
  }
  pthread_mutex_unlock(&h->jobs);
  if (spawn && alone) {
    /* No worker could be started and none exists: answer here rather than never. */
    pthread_mutex_lock(&h->jobs);
    conn_ctx *x = h->work;
    if (x && !(h->work = x->next)) h->work_tail = NULL;
    pthread_mutex_unlock(&h->jobs);
    if (x) {
      answer(h, x);
      reply_ready(h, x);
    }
  }
  return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
  (void)version;
  gw_http *h = cls;
  gw_gateway *gw = h->gw;
  conn_ctx *ctx = *con_cls;
  if (!ctx) {
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) return MHD_NO;
    ctx->started = gw_now();
    ctx->limit = gw->cfg.max_body;
    if (takes_no_body(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api")) &&
        gw->cfg.max_login_body < ctx->limit)
      ctx->limit = gw->cfg.max_login_body;
    conn_slot *k = slot_of(c);
    if (k) {
      pthread_mutex_lock(&h->lock);
      k->in_body = 1;
      pthread_mutex_unlock(&h->lock);
    }
    *con_cls = ctx;
    return MHD_YES;
  }
  if (ctx->state == READY) { /* resumed: the worker's reply goes out */
    char *xml = ctx->xml;
    ctx->xml = NULL;
    return send_xml(c, ctx->status, xml, ctx->len);
  }
  if (ctx->state == RUNNING) return MHD_YES; /* not expected while suspended */
  if (*upload_data_size) {
    if (!ctx->too_big) {
      if (ctx->body.len + *upload_data_size > (size_t)ctx->limit) {
        ctx->too_big = 1; /* keep reading, keep nothing: the reply says why */
        gw_buf_free(&ctx->body);
      } else {
        gw_buf_add(&ctx->body, upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  conn_slot *slot = slot_of(c);
  if (slot) {
    pthread_mutex_lock(&h->lock); /* the request is in: the deadline stops while it runs */
    slot->reading = 0;
    pthread_mutex_unlock(&h->lock);
  }

  ctx->conn = c;
  ctx->method = method;
  ctx->url = url;
  ctx->rq.api = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api");
  ctx->rq.uid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "uid");
  ctx->rq.pswd = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pswd");
  ctx->rq.sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sid");
  ctx->rq.kill = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kill");
  ctx->rq.gid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "gid");
  ctx->apiversion = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "apiversion");
  peer_name(c, ctx->peer, sizeof ctx->peer);
  ctx->rq.peer = ctx->peer;
  MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, find_nul, &ctx->has_nul);
  /* Stopping: no new work; the client sees the connection closed, as for a request that was
   * running when the stop began. */
  return dispatch(h, c, ctx) ? MHD_NO : MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
  gw_http *h = cls;
  conn_slot *k = slot_of(c);
  if (k) {
    pthread_mutex_lock(&h->lock); /* waiting for the next request from now */
    k->reading = 1;
    k->in_body = 0;
    k->served++;
    k->since = gw_now();
    pthread_mutex_unlock(&h->lock);
  }
  conn_ctx *ctx = *con_cls;
  if (!ctx) return;
  if (ctx->state != COLLECTING) { /* it was handed to a worker: sent, or given up */
    pthread_mutex_lock(&h->jobs);
    if (--h->unsent == 0) pthread_cond_broadcast(&h->done_cv);
    pthread_mutex_unlock(&h->jobs);
  }
  gw_buf_free(&ctx->body);
  free(ctx->xml); /* a reply never sent: the client went away first */
  free(ctx);
  *con_cls = NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
  gw_http *h = cls;
  conn_slot *k = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    if (!(k = calloc(1, sizeof *k))) return; /* no deadline for it: MHD's timeout remains */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k->fd = ci ? ci->connect_fd : -1;
    k->since = gw_now();
    k->reading = 1;
    peer_name(c, k->peer, sizeof k->peer);
    pthread_mutex_lock(&h->lock);
    k->next = h->conns;
    if (h->conns) h->conns->prev = k;
    h->conns = k;
    pthread_mutex_unlock(&h->lock);
    *socket_context = k;
    return;
  }
  if (!k) return;
  /* MHD closes the socket after this returns, so the tick never shuts down a reused fd. */
  pthread_mutex_lock(&h->lock);
  double limit = h->gw->cfg.conn_timeout;
  if (!k->cut && k->reading && !k->served && gw_now() - k->since >= limit - 0.5)
    fprintf(stderr,
            "tt-gateway: http: closed the connection from %s: no complete request %s within "
            "%g s (connection_timeout)\n",
            k->peer, k->in_body ? "body" : "header", limit);
  if (k->prev)
    k->prev->next = k->next;
  else
    h->conns = k->next;
  if (k->next) k->next->prev = k->prev;
  pthread_mutex_unlock(&h->lock);
  free(k);
  *socket_context = NULL;
}

void gw_http_tick(gw_http *h)
{
  if (!h) return;
  double now = gw_now(), limit = h->gw->cfg.conn_timeout;
  pthread_mutex_lock(&h->lock);
  for (conn_slot *k = h->conns; k; k = k->next) {
    /* An idle keep-alive connection is MHD's to close at `limit`; give it that chance, so
     * only one that is sending a request too slowly gets here. */
    double grace = k->served && !k->in_body ? 2 : 0;
    if (!k->reading || k->cut || k->fd < 0 || now - k->since < limit + grace) continue;
    fprintf(stderr,
            "tt-gateway: http: closed the connection from %s: no complete request %s within "
            "%g s (connection_timeout)\n",
            k->peer, k->in_body ? "body" : "header", limit);
    /* shutdown, not close: the socket stays MHD's, whose thread sees the end and cleans up. */
    shutdown(k->fd, SHUT_RDWR);
    k->cut = 1;
  }
  pthread_mutex_unlock(&h->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  gw_http *h = cls;
  /* This libmicrohttpd prints this even when the logger is the first option: not news. */
  if (strncmp(fmt, "MHD_OPTION_EXTERNAL_LOGGER is not the first", 43) == 0) return;
  /* MHD names neither the limit nor the client here; say which limit turned a client away. */
  if (strstr(fmt, "connection limit")) {
    fprintf(stderr,
            "tt-gateway: http: refused a connection: a client address may have at most %ld "
            "open connections (per_ip_connections)\n",
            h->gw->cfg.per_ip_conns);
    return;
  }
  /* Its own error answers (400, 413, 414, 431) carry its HTML page, which this version
   * cannot replace with an <out> reply (docs/protocol.md 1.6): log the status, not the page. */
  if (strncmp(fmt, "Error processing request (HTTP response code is %u", 50) == 0) {
    fprintf(stderr,
            "tt-gateway: http: answered HTTP %u with libmicrohttpd's own page (the request "
            "line or headers were malformed or too large) and closed the connection\n",
            va_arg(ap, unsigned));
    return;
  }
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && line[n - 1] == '\n') line[--n] = '\0';
  fprintf(stderr, "tt-gateway: http: %s\n", line); /* one call: lines never interleave */
}

/* Bind the listening socket ourselves so port 0 works and the real port can be printed. */
static int bind_listen(const char *where, char *url, size_t urllen, char *err, size_t errlen)
{
  char host[256];
  const char *port;
  if (where[0] == '[') {
    const char *close = strchr(where, ']');
    if (!close || close[1] != ':') goto bad;
    snprintf(host, sizeof host, "%.*s", (int)(close - where - 1), where + 1);
    port = close + 2;
  } else {
    const char *colon = strrchr(where, ':');
    if (!colon) goto bad;
    snprintf(host, sizeof host, "%.*s", (int)(colon - where), where);
    port = colon + 1;
  }
  if (!*port || strspn(port, "0123456789") != strlen(port)) goto bad;

  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int e = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
  if (e) {
    snprintf(err, errlen, "cannot resolve listen address %s: %s", where, gai_strerror(e));
    return -1;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 128)) {
    snprintf(err, errlen, "cannot listen on %s: %s", where, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  char addr[INET6_ADDRSTRLEN] = "";
  int real_port = 0;
  if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
    real_port = ntohs(s6->sin6_port);
    snprintf(url, urllen, "http://[%s]:%d/", addr, real_port);
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
    real_port = ntohs(s4->sin_port);
    snprintf(url, urllen, "http://%s:%d/", addr, real_port);
  }
  return fd;
bad:
  snprintf(err, errlen, "bad listen address '%s': expected HOST:PORT", where);
  return -1;
}

/* The job queue's locks and condition variables; the waits use the monotonic clock. */
static int jobs_init(gw_http *h)
{
  pthread_condattr_t ca;
  if (pthread_condattr_init(&ca)) return -1;
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int e = pthread_mutex_init(&h->jobs, NULL) || pthread_cond_init(&h->work_cv, &ca) ||
          pthread_cond_init(&h->held_cv, &ca) || pthread_cond_init(&h->done_cv, &ca);
  pthread_condattr_destroy(&ca);
  return e ? -1 : 0;
}

static void jobs_destroy(gw_http *h)
{
  pthread_cond_destroy(&h->work_cv);
  pthread_cond_destroy(&h->held_cv);
  pthread_cond_destroy(&h->done_cv);
  pthread_mutex_destroy(&h->jobs);
}

int gw_http_start(gw_gateway *gw, const char *listen, double latency_ms, gw_http **out, char *url,
                  size_t urllen, char *err, size_t errlen)
{
  gw_http *h = calloc(1, sizeof *h);
  if (!h || jobs_init(h)) {
    snprintf(err, errlen, "out of memory");
    free(h);
    return -1;
  }
  h->gw = gw;
  h->latency = latency_ms / 1000.0;
  h->fd = bind_listen(listen, url, urllen, err, errlen);
  if (h->fd < 0) {
    jobs_destroy(h);
    free(h);
    return -1;
  }
  pthread_mutex_init(&h->lock, NULL);
  if (h->latency > 0) {
    if (pthread_create(&h->timer, NULL, timer, h)) {
      snprintf(err, errlen, "cannot start the --latency timer thread");
      goto fail;
    }
    h->has_timer = 1;
  }
  /* One event thread for the sockets; the transactions run on workers (see the top). */
  h->daemon = MHD_start_daemon(
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
      handle, h, MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, h,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)gw->cfg.conn_timeout,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)gw->cfg.per_ip_conns, MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot start the HTTP server");
    goto fail;
  }
  *out = h;
  return 0;
fail:
  if (h->has_timer) {
    pthread_mutex_lock(&h->jobs);
    h->stopping = 1;
    pthread_cond_broadcast(&h->held_cv);
    pthread_mutex_unlock(&h->jobs);
    pthread_join(h->timer, NULL);
  }
  close(h->fd);
  pthread_mutex_destroy(&h->lock);
  jobs_destroy(h);
  free(h);
  return -1;
}

void gw_http_quiesce(gw_http *h)
{
  if (h && h->daemon && !h->quiesced) {
    MHD_quiesce_daemon(h->daemon);
    h->quiesced = 1;
  }
}

void gw_http_stop(gw_http *h)
{
  if (!h) return;
  /* Quiesce first: MHD then leaves the listening socket to us, so it is closed exactly once. */
  gw_http_quiesce(h);
  /* Take no new work, send held replies now, and wait for the running requests: libmicrohttpd
   * must not be stopped with a connection suspended. */
  pthread_mutex_lock(&h->jobs);
  h->stopping = 1;
  pthread_cond_broadcast(&h->work_cv);
  pthread_cond_broadcast(&h->held_cv);
  while (h->suspended > 0 || h->workers > 0) pthread_cond_wait(&h->done_cv, &h->jobs);
  /* The resumed replies go out on libmicrohttpd's thread; stopping it now would cut them. A
   * client that does not read gets a few seconds, not a say in when the gateway stops. */
  struct timespec until = deadline(5);
  while (h->unsent > 0 && pthread_cond_timedwait(&h->done_cv, &h->jobs, &until) != ETIMEDOUT) {
  }
  pthread_mutex_unlock(&h->jobs);
  if (h->has_timer) pthread_join(h->timer, NULL);
  if (h->daemon) MHD_stop_daemon(h->daemon);
  close(h->fd);
  pthread_mutex_destroy(&h->lock);
  jobs_destroy(h);
  free(h);
}
