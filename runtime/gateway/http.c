/*
 * http: serve the XML API over HTTP with libmicrohttpd.
 *
 * One thread, the front thread, does all the socket work. It accepts the connections and
 * reads each request's head before libmicrohttpd does: it peeks at the bytes (MSG_PEEK, so
 * they stay in the socket) until the head is complete, checks it (head.c), and answers a head
 * it refuses with an <out> reply of its own; libmicrohttpd, which would answer such a head
 * with its HTML page, only ever sees heads it can read. An accepted head's connection goes to
 * libmicrohttpd (MHD_add_connection the first time); once its reply is sent, a kept-alive
 * connection is suspended ("parked") and comes back to the front thread for the next head,
 * and resumed when that head passes. libmicrohttpd runs on the same thread (epoll, driven by
 * MHD_run), so parking and resuming wake no other thread.
 *
 * When a request is complete its connection is suspended and the request goes to a worker
 * thread, which runs the transaction and renders the reply; the connection is then resumed
 * (the worker wakes the front thread) and the reply sent.
 * Workers are taken from a pool that grows while every worker is busy, so a long query holds
 * up nobody else and resetpool can interrupt it from another worker. With --latency the resume
 * waits on a timer thread's queue, so a held reply costs no thread and no lock.
 */
#include "head.h"
#include "http.h"
#include "rc.h"
#include "request.h"
#include "txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Who has a connection: the front thread (waiting for a head, or closing after a refusal),
 * or libmicrohttpd (reading a checked request, or answering it). */
enum { FRONT_NEW, IN_MHD, FRONT_PARKED, FRONT_CLOSING };

/* After a refusal the connection is read and dropped this long (or until the client closes),
 * so that closing it with unread bytes does not reset the reply away from the client. */
#define LINGER_SECONDS 2.0

/* One open connection: its owner, the request deadline (gw_http_tick; MHD's own timeout
 * restarts with every byte, so a client sending a byte a second would never meet it), and
 * what the front thread learnt from the heads it checked. */
typedef struct conn_slot {
  struct conn_slot *prev, *next;
  struct conn_slot *closing_next; /* in the front thread's list of lingering connections */
  int fd;
  int state;
  struct MHD_Connection *conn; /* once libmicrohttpd has started it */
  double since;                /* when the connection began to wait for the current request */
  double linger;               /* FRONT_CLOSING: when to give up waiting for the client to close */
  int reading;                 /* between requests or receiving one; 0 while it is answered */
  int in_body;                 /* the headers are in: the handler has seen the request */
  int partial; /* some bytes of the next head have arrived (for the timeout's log line) */
  int cut;     /* shut down by the deadline */
  int served;  /* requests answered on it */
  int keep;    /* the request being answered lets the connection stay open */
  int park;    /* its reply keeps the connection open: park it once sent */
  int refused; /* answered by the front thread: libmicrohttpd must run nothing on it */
  unsigned long long expected; /* bytes of the heads and bodies handed to libmicrohttpd */
  struct sockaddr_storage addr;
  socklen_t addrlen;
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
  /* Read on the front thread before the hand-over: the strings are the connection's
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
  int fd;         /* the listening socket */
  int ep, wake;   /* the front thread's epoll set and its wake-up eventfd */
  int accepting;  /* under lock: 0 once quiesced */
  int front_stop; /* under lock: the front thread ends; nothing is parked any more */
  int has_front;
  double accept_pause; /* out of file descriptors: accept again after this time */
  pthread_t front;
  conn_slot *closing;           /* front thread only: the connections lingering after a refusal */
  char peek[GW_HEAD_MAX_BYTES]; /* front thread only: the head being checked */
  pthread_mutex_t lock;         /* guards conns and every slot's fields */
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

static enum MHD_Result send_xml(struct MHD_Connection *c, unsigned status, char *xml, size_t len,
                                int close)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(len, xml, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(xml);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/xml; charset=utf-8");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, "Allow", "GET, POST");
  if (close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
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

/* One suspended connection less; the last one wakes gw_http_stop. libmicrohttpd runs on the
 * front thread, which learns of the resume only from its wake-up descriptor. */
static void resumed(gw_http *h, struct MHD_Connection *c)
{
  MHD_resume_connection(c);
  uint64_t one = 1;
  if (write(h->wake, &one, sizeof one) < 0) { /* already awake: the counter is not full */
  }
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

/* Hand a complete request to a worker (on the front thread). 0, or -1 when the
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

/* ---- the front thread: accepting, checking heads, parking kept-alive connections ---- */

static void unlink_slot(gw_http *h, conn_slot *k)
{
  if (k->prev)
    k->prev->next = k->next;
  else
    h->conns = k->next;
  if (k->next) k->next->prev = k->prev;
}

/* A connection the front thread owns goes away: out of the list first (under the lock, so
 * the tick never shuts down a reused descriptor), then closed. */
static void drop_slot(gw_http *h, conn_slot *k)
{
  epoll_ctl(h->ep, EPOLL_CTL_DEL, k->fd, NULL);
  pthread_mutex_lock(&h->lock);
  unlink_slot(h, k);
  pthread_mutex_unlock(&h->lock);
  close(k->fd);
  free(k);
}

/* Give a parked connection back to libmicrohttpd, which reads on from the socket. */
static void unpark(gw_http *h, conn_slot *k)
{
  epoll_ctl(h->ep, EPOLL_CTL_DEL, k->fd, NULL);
  pthread_mutex_lock(&h->lock);
  k->state = IN_MHD;
  pthread_mutex_unlock(&h->lock);
  MHD_resume_connection(k->conn);
}

/* The client went away (or the deadline cut it) before sending a whole head: nothing to
 * answer. A parked connection is libmicrohttpd's to close: it reads the end itself. */
static void gone(gw_http *h, conn_slot *k)
{
  if (k->state == FRONT_PARKED)
    unpark(h, k);
  else
    drop_slot(h, k);
}

/* The end of a refused connection's linger. */
static void finish_close(gw_http *h, conn_slot *k)
{
  for (conn_slot **p = &h->closing; *p; p = &(*p)->closing_next)
    if (*p == k) {
      *p = k->closing_next;
      break;
    }
  if (!k->conn) {
    drop_slot(h, k);
    return;
  }
  /* Parked in libmicrohttpd: with both directions shut, it reads the end and closes the
   * connection without a word; the slot's refused flag stops any request that still got in. */
  shutdown(k->fd, SHUT_RDWR);
  unpark(h, k);
}

/* A refused head: the <out> reply, written here, then the connection closes. */
static void refuse_head(gw_http *h, conn_slot *k, const gw_head *hd, size_t seen)
{
  /* The head read so far is dropped; what follows is read and dropped while lingering. */
  if (recv(k->fd, h->peek, seen, MSG_DONTWAIT) < 0) { /* nothing to drop: the reply still goes */
  }
  size_t len = 0;
  char *reply = gw_head_reply(hd, &len);
  if (reply && send(k->fd, reply, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    /* the client is gone or not reading: the close below is all there is to do */
  }
  free(reply);
  shutdown(k->fd, SHUT_WR);
  gw_stats_count(&h->gw->stats, NULL);
  fprintf(stderr,
          "tt-gateway: http: answered HTTP %d to %s (%s, %zu bytes of request head) and closed "
          "the connection: %s\n",
          hd->status, k->peer, *hd->method ? hd->method : "-", seen, hd->msg);
  pthread_mutex_lock(&h->lock);
  k->refused = 1;
  k->state = FRONT_CLOSING;
  pthread_mutex_unlock(&h->lock);
  k->linger = gw_now() + LINGER_SECONDS;
  k->closing_next = h->closing;
  h->closing = k;
}

/* Read and drop what a refused client still sends, until it closes. */
static void linger_read(gw_http *h, conn_slot *k)
{
  for (int i = 0; i < 16; i++) {
    ssize_t n = recv(k->fd, h->peek, sizeof h->peek, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    finish_close(h, k);
    return;
  }
}

/* A checked head: libmicrohttpd reads the request from the socket as it is. */
static void hand_over(gw_http *h, conn_slot *k, const gw_head *hd)
{
  epoll_ctl(h->ep, EPOLL_CTL_DEL, k->fd, NULL);
  pthread_mutex_lock(&h->lock);
  int parked = k->state == FRONT_PARKED;
  k->state = IN_MHD;
  k->keep = hd->keep_alive;
  k->partial = 0;
  k->expected += hd->len + (unsigned long long)hd->content_length;
  pthread_mutex_unlock(&h->lock);
  if (parked) {
    MHD_resume_connection(k->conn);
    return;
  }
  if (MHD_add_connection(h->daemon, k->fd, (const struct sockaddr *)&k->addr, k->addrlen) ==
      MHD_YES)
    return;
  /* libmicrohttpd closed the socket already. */
  fprintf(stderr, "tt-gateway: http: libmicrohttpd took no new connection from %s: %s\n", k->peer,
          strerror(errno));
  pthread_mutex_lock(&h->lock);
  unlink_slot(h, k);
  pthread_mutex_unlock(&h->lock);
  free(k);
}

/* Bytes arrived (or the end) on a connection waiting for a head. */
static void on_head(gw_http *h, conn_slot *k, uint32_t events)
{
  ssize_t n = recv(k->fd, h->peek, sizeof h->peek, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR)))
    return;
  if (n <= 0) {
    gone(h, k);
    return;
  }
  gw_head hd;
  gw_head_check(h->peek, (size_t)n, h->gw->cfg.max_body, &hd);
  if (hd.status == GW_HEAD_OK) {
    hand_over(h, k, &hd);
  } else if (hd.status != GW_HEAD_MORE) {
    refuse_head(h, k, &hd, (size_t)n);
  } else if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    gone(h, k); /* the client stopped sending before the head was whole */
  } else {
    pthread_mutex_lock(&h->lock);
    k->partial = 1;
    pthread_mutex_unlock(&h->lock);
  }
}

static void peer_of(const struct sockaddr_storage *ss, char *peer, size_t len)
{
  snprintf(peer, len, "-");
  if (ss->ss_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, peer, (socklen_t)len);
  else if (ss->ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, peer, (socklen_t)len);
}

/* The connections waiting on the listening socket; each is counted against its address's
 * per_ip_connections, then waits in the front thread for its first head. */
static void accept_all(gw_http *h)
{
  for (int i = 0; i < 64; i++) {
    conn_slot *k = calloc(1, sizeof *k);
    if (!k) return;
    k->addrlen = sizeof k->addr;
    k->fd = accept4(h->fd, (struct sockaddr *)&k->addr, &k->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (k->fd < 0) {
      int e = errno;
      free(k);
      if (e == EINTR || e == ECONNABORTED) continue;
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* Out of descriptors: the listening socket stays ready, so pause rather than spin. */
        fprintf(stderr, "tt-gateway: http: cannot accept a connection: %s\n", strerror(e));
        epoll_ctl(h->ep, EPOLL_CTL_DEL, h->fd, NULL);
        h->accept_pause = gw_now() + 0.5;
      }
      return;
    }
    peer_of(&k->addr, k->peer, sizeof k->peer);
    k->state = FRONT_NEW;
    k->since = gw_now();
    k->reading = 1;
    long limit = h->gw->cfg.per_ip_conns, same = 0;
    pthread_mutex_lock(&h->lock);
    for (conn_slot *o = h->conns; limit > 0 && o && same < limit; o = o->next)
      same += strcmp(o->peer, k->peer) == 0;
    int ok = limit <= 0 || same < limit;
    if (ok) {
      k->next = h->conns;
      if (h->conns) h->conns->prev = k;
      h->conns = k;
    }
    pthread_mutex_unlock(&h->lock);
    if (!ok) {
      fprintf(stderr,
              "tt-gateway: http: refused a connection: a client address may have at most %ld "
              "open connections (per_ip_connections)\n",
              limit);
      close(k->fd);
      free(k);
      continue;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = k};
    if (epoll_ctl(h->ep, EPOLL_CTL_ADD, k->fd, &ev)) drop_slot(h, k);
  }
}

static void *front(void *arg)
{
  gw_http *h = arg;
  struct epoll_event evs[64];
  for (;;) {
    /* libmicrohttpd runs on this thread too (MHD_run below), so its timeouts bound the wait. */
    int wait = 200;
    MHD_UNSIGNED_LONG_LONG due;
    if (MHD_get_timeout(h->daemon, &due) == MHD_YES && due < (MHD_UNSIGNED_LONG_LONG)wait)
      wait = (int)due;
    int n = epoll_wait(h->ep, evs, 64, wait);
    pthread_mutex_lock(&h->lock);
    int stop = h->front_stop, accepting = h->accepting;
    pthread_mutex_unlock(&h->lock);
    if (stop) break;
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &h->fd) {
        if (accepting) accept_all(h);
      } else if (p == &h->wake) {
        uint64_t v;
        if (read(h->wake, &v, sizeof v) < 0) { /* a wake-up only */
        }
      } else if (p == &h->daemon) {
        /* libmicrohttpd's own epoll set is ready: MHD_run below serves it */
      } else {
        conn_slot *k = p;
        if (k->state == FRONT_CLOSING)
          linger_read(h, k);
        else
          on_head(h, k, evs[i].events);
      }
    }
    MHD_run(h->daemon);
    double now = gw_now();
    for (conn_slot *k = h->closing, *next; k; k = next) {
      next = k->closing_next;
      if (now >= k->linger) finish_close(h, k);
    }
    if (h->accept_pause && now >= h->accept_pause && accepting) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &h->fd};
      epoll_ctl(h->ep, EPOLL_CTL_ADD, h->fd, &ev);
      h->accept_pause = 0;
    }
  }
  return NULL;
}

/* Whether the reply on c may leave the connection open (on the front thread, as the
 * reply is queued), and so whether to park it once the reply is sent. Only a connection whose
 * every head the front thread checked stays open, and only if libmicrohttpd holds no bytes
 * beyond the requests checked so far: a client that pipelines (sends the next request before
 * the reply) could have its next head read by libmicrohttpd unchecked, so its connection
 * closes after this reply and the client sends that request again on a new one. */
static int keep_open(gw_http *h, struct MHD_Connection *c)
{
  conn_slot *k = slot_of(c);
  if (!k) return 0;
  pthread_mutex_lock(&h->lock);
  int keep = k->keep && !k->refused && !h->front_stop;
  unsigned long long expected = k->expected;
  pthread_mutex_unlock(&h->lock);
  if (keep) {
    /* Bytes libmicrohttpd has read = bytes received - bytes still queued. The queue is read
     * first, so a byte arriving in between can only make the count look larger (and close). */
    int queued = 0;
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    if (ioctl(k->fd, FIONREAD, &queued) || getsockopt(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) ||
        tl < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received ||
        ti.tcpi_bytes_received - (unsigned long long)queued > expected)
      keep = 0;
  }
  pthread_mutex_lock(&h->lock);
  k->park = keep;
  pthread_mutex_unlock(&h->lock);
  return keep;
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
    conn_slot *k = slot_of(c);
    int refused = 0;
    if (k) {
      pthread_mutex_lock(&h->lock);
      refused = k->refused;
      k->in_body = 1;
      pthread_mutex_unlock(&h->lock);
    }
    if (refused) return MHD_NO; /* already answered by the front thread: run nothing */
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) return MHD_NO;
    ctx->started = gw_now();
    ctx->limit = gw->cfg.max_body;
    if (takes_no_body(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api")) &&
        gw->cfg.max_login_body < ctx->limit)
      ctx->limit = gw->cfg.max_login_body;
    *con_cls = ctx;
    return MHD_YES;
  }
  if (ctx->state == READY) { /* resumed: the worker's reply goes out */
    char *xml = ctx->xml;
    ctx->xml = NULL;
    return send_xml(c, ctx->status, xml, ctx->len, !keep_open(h, c));
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

/* A reply went out and the connection stays open: suspend it in libmicrohttpd and let the
 * front thread wait for the next head. Called from libmicrohttpd's completion callback, after
 * the reply's last byte and before it reads on. Its manual allows suspending only from the
 * access handler; in 0.9.75 (read in its source) the completion callback runs inside the same
 * connection loop, just before the connection is reset for the next request, and that loop
 * stops at once for a suspended connection, as after the handler. The keep-alive specs would
 * catch a version where this differs. keep_open decided: libmicrohttpd keeps it open too. */
static void park(gw_http *h, struct MHD_Connection *c, conn_slot *k)
{
  /* The client closed (libmicrohttpd then closes too): nothing to park. */
  char b;
  ssize_t n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return;
  MHD_suspend_connection(c);
  /* Parked, unless the gateway is stopping: gw_http_stop resumes every parked connection
   * after it has stopped the front thread, and looks for them under this lock. */
  pthread_mutex_lock(&h->lock);
  int stopping = h->front_stop;
  if (!stopping) {
    k->state = FRONT_PARKED;
    k->conn = c;
  }
  pthread_mutex_unlock(&h->lock);
  if (stopping) {
    MHD_resume_connection(c);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = k};
  if (epoll_ctl(h->ep, EPOLL_CTL_ADD, k->fd, &ev)) {
    pthread_mutex_lock(&h->lock);
    int mine = k->state == FRONT_PARKED; /* else gw_http_stop resumed it already */
    k->state = IN_MHD;
    pthread_mutex_unlock(&h->lock);
    if (mine) MHD_resume_connection(c);
  }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
  gw_http *h = cls;
  conn_slot *k = slot_of(c);
  int parking = 0;
  if (k) {
    pthread_mutex_lock(&h->lock); /* waiting for the next request from now */
    k->reading = 1;
    k->in_body = 0;
    k->served++;
    k->since = gw_now();
    parking = k->park && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !h->front_stop;
    k->park = 0;
    k->keep = 0; /* until the front thread has checked the next head */
    pthread_mutex_unlock(&h->lock);
  }
  conn_ctx *ctx = *con_cls;
  if (ctx) {
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
  if (parking) park(h, c, k);
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
  gw_http *h = cls;
  conn_slot *k = *socket_context;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    /* The slot the front thread made when it accepted the connection: the newest one with
     * this descriptor that libmicrohttpd has not started yet. */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int fd = ci ? ci->connect_fd : -1;
    pthread_mutex_lock(&h->lock);
    for (k = h->conns; k && !(k->state == IN_MHD && !k->conn && k->fd == fd); k = k->next) {
    }
    if (k) k->conn = c;
    pthread_mutex_unlock(&h->lock);
    *socket_context = k; /* none: no deadline for it, MHD's timeout remains */
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
  unlink_slot(h, k);
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
    /* An idle kept-alive connection left with libmicrohttpd (not parked) is its to close at
     * `limit`; give it that chance, so only one that is sending a request too slowly gets
     * here. Lingering ones have their own end; one libmicrohttpd has not started is not ours. */
    double grace = k->state == IN_MHD && k->served && !k->in_body ? 2 : 0;
    if (!k->reading || k->cut || k->state == FRONT_CLOSING || (k->state == IN_MHD && !k->conn) ||
        now - k->since < limit + grace)
      continue;
    /* An idle kept-alive connection just closes; one that was sending a request is logged. */
    if (!(k->state == FRONT_PARKED && !k->partial))
      fprintf(stderr,
              "tt-gateway: http: closed the connection from %s: no complete request %s within "
              "%g s (connection_timeout)\n",
              k->peer, k->in_body ? "body" : "header", limit);
    /* shutdown, not close: the socket stays its owner's, who sees the end and cleans up. */
    shutdown(k->fd, SHUT_RDWR);
    k->cut = 1;
  }
  pthread_mutex_unlock(&h->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  /* This libmicrohttpd prints this even when the logger is the first option: not news. */
  if (strncmp(fmt, "MHD_OPTION_EXTERNAL_LOGGER is not the first", 43) == 0) return;
  /* Its own error answers carry its HTML page. The front thread checks every head first, so
   * this means the check let through a head libmicrohttpd could not read: say so. */
  if (strncmp(fmt, "Error processing request (HTTP response code is %u", 50) == 0) {
    fprintf(stderr,
            "tt-gateway: http: libmicrohttpd answered HTTP %u with its own page: a request head "
            "the gateway's check accepted (a bug in the check)\n",
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
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
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

/* Stop the front thread, then hand back or close what it held: libmicrohttpd must not be
 * stopped with a connection suspended, and parked connections are suspended. */
static void front_stop(gw_http *h)
{
  pthread_mutex_lock(&h->lock);
  h->front_stop = 1;
  pthread_mutex_unlock(&h->lock);
  if (h->has_front) {
    uint64_t one = 1;
    if (write(h->wake, &one, sizeof one) < 0) { /* the 200 ms poll ends the thread anyway */
    }
    pthread_join(h->front, NULL);
    h->has_front = 0;
  }
  for (;;) {
    pthread_mutex_lock(&h->lock);
    conn_slot *k = h->conns;
    while (k && k->state == IN_MHD) k = k->next;
    if (k && k->conn) { /* parked, or lingering after a refusal while parked */
      if (k->state == FRONT_CLOSING) shutdown(k->fd, SHUT_RDWR);
      k->state = IN_MHD;
      pthread_mutex_unlock(&h->lock);
      MHD_resume_connection(k->conn);
      continue;
    }
    if (k) unlink_slot(h, k);
    pthread_mutex_unlock(&h->lock);
    if (!k) break;
    close(k->fd);
    free(k);
  }
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
  h->accepting = 1;
  h->wake = -1;
  h->fd = bind_listen(listen, url, urllen, err, errlen);
  if (h->fd < 0) {
    jobs_destroy(h);
    free(h);
    return -1;
  }
  pthread_mutex_init(&h->lock, NULL);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = &h->fd};
  struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &h->wake};
  h->ep = epoll_create1(EPOLL_CLOEXEC);
  if (h->ep >= 0) h->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (h->ep < 0 || h->wake < 0 || epoll_ctl(h->ep, EPOLL_CTL_ADD, h->fd, &lev) ||
      epoll_ctl(h->ep, EPOLL_CTL_ADD, h->wake, &wev)) {
    snprintf(err, errlen, "cannot set up the connection poll: %s", strerror(errno));
    goto fail;
  }
  if (h->latency > 0) {
    if (pthread_create(&h->timer, NULL, timer, h)) {
      snprintf(err, errlen, "cannot start the --latency timer thread");
      goto fail;
    }
    h->has_timer = 1;
  }
  /* libmicrohttpd runs on the front thread, which owns the sockets; the transactions run on
   * workers (see the top). It listens on nothing: the front thread accepts and hands
   * connections over, and parks and resumes them without waking another thread. */
  h->daemon = MHD_start_daemon(
      MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET, 0,
      NULL, NULL, handle, h, MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_EXTERNAL_LOGGER,
      mhd_log, h, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, h, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)gw->cfg.conn_timeout, MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot start the HTTP server");
    goto fail;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
  struct epoll_event mev = {.events = EPOLLIN, .data.ptr = &h->daemon};
  if (!di || epoll_ctl(h->ep, EPOLL_CTL_ADD, di->epoll_fd, &mev)) {
    snprintf(err, errlen, "cannot poll the HTTP server: %s", strerror(errno));
    goto fail;
  }
  if (pthread_create(&h->front, NULL, front, h)) {
    snprintf(err, errlen, "cannot start the connection thread");
    goto fail;
  }
  h->has_front = 1;
  *out = h;
  return 0;
fail:
  if (h->daemon) MHD_stop_daemon(h->daemon);
  if (h->has_timer) {
    pthread_mutex_lock(&h->jobs);
    h->stopping = 1;
    pthread_cond_broadcast(&h->held_cv);
    pthread_mutex_unlock(&h->jobs);
    pthread_join(h->timer, NULL);
  }
  if (h->ep >= 0) close(h->ep);
  if (h->wake >= 0) close(h->wake);
  close(h->fd);
  pthread_mutex_destroy(&h->lock);
  jobs_destroy(h);
  free(h);
  return -1;
}

void gw_http_quiesce(gw_http *h)
{
  if (!h) return;
  pthread_mutex_lock(&h->lock);
  int was = h->accepting;
  h->accepting = 0;
  pthread_mutex_unlock(&h->lock);
  if (was) epoll_ctl(h->ep, EPOLL_CTL_DEL, h->fd, NULL);
}

void gw_http_stop(gw_http *h)
{
  if (!h) return;
  gw_http_quiesce(h);
  /* Take no new work, send held replies now, and wait for the running requests: libmicrohttpd
   * must not be stopped with a connection suspended. The front thread runs libmicrohttpd
   * meanwhile, so the replies go out; then it stops, and the parked connections are resumed. */
  pthread_mutex_lock(&h->jobs);
  h->stopping = 1;
  pthread_cond_broadcast(&h->work_cv);
  pthread_cond_broadcast(&h->held_cv);
  while (h->suspended > 0 || h->workers > 0) pthread_cond_wait(&h->done_cv, &h->jobs);
  /* The resumed replies go out on the front thread; stopping it now would cut them. A
   * client that does not read gets a few seconds, not a say in when the gateway stops. */
  struct timespec until = deadline(5);
  while (h->unsent > 0 && pthread_cond_timedwait(&h->done_cv, &h->jobs, &until) != ETIMEDOUT) {
  }
  pthread_mutex_unlock(&h->jobs);
  if (h->has_timer) pthread_join(h->timer, NULL);
  front_stop(h);
  if (h->daemon) MHD_stop_daemon(h->daemon);
  close(h->ep);
  close(h->wake);
  close(h->fd);
  pthread_mutex_destroy(&h->lock);
  jobs_destroy(h);
  free(h);
}
