/* http: serve the XML API over HTTP with libmicrohttpd, one thread per connection. */
#include "http.h"
#include "request.h"
#include "txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct gw_http {
  gw_gateway *gw;
  struct MHD_Daemon *daemon;
  int fd;
  int quiesced;
};

typedef struct conn_ctx {
  gw_buf body;
  int too_big;
  double started;
} conn_ctx;

static int gw_path(const char *url)
{
  size_t n = strlen(url);
  return (n >= 3 && strcmp(url + n - 3, "/gw") == 0) ||
         (n >= 5 && strcmp(url + n - 5, "/gw.k") == 0);
}

/* A request value fit for a log line: control characters and blanks cannot forge lines. */
static const char *loggable(const char *v, char *out, size_t len)
{
  if (!v) return "-";
  size_t i = 0;
  for (; v[i] && i + 1 < len; i++)
    out[i] = ((unsigned char)v[i] <= ' ' || v[i] == 0x7f) ? '?' : v[i];
  out[i] = '\0';
  return out;
}

static void log_request(struct MHD_Connection *c, const char *method, const char *url,
                        const gw_request *rq, int rc, size_t bytes, double ms)
{
  char peer[64] = "-";
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
  }
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
  if (rc == 45)
    gw_reply_set(rp, rc, "Login throttled, try again later");
  else if (rc == 41)
    gw_reply_set(rp, rc, "1010data unavailable");
  else
    gw_reply_set(rp, rc, "Injected answer (rc %d, config 'inject')", rc);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
  gw_http *h = cls;
  gw_gateway *gw = h->gw;
  conn_ctx *ctx = *con_cls;
  if (!ctx) {
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) return MHD_NO;
    ctx->started = gw_now();
    *con_cls = ctx;
    return MHD_YES;
  }
  if (*upload_data_size) {
    if (!ctx->too_big) {
      if (ctx->body.len + *upload_data_size > (size_t)gw->cfg.max_body) {
        ctx->too_big = 1; /* keep reading, keep nothing: the reply says why */
        gw_buf_free(&ctx->body);
      } else {
        gw_buf_add(&ctx->body, upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }

  gw_request rq = {0};
  gw_reply rp = {0};
  unsigned status = MHD_HTTP_OK;
  rq.api = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api");
  rq.uid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "uid");
  rq.pswd = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pswd");
  rq.sid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sid");
  rq.kill = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kill");
  rq.gid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "gid");
  const char *apiversion = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "apiversion");
  char err[512];
  gw_txn_fn fn = NULL;
  int injected = 0;

  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    gw_reply_set(&rp, 1, "Method %s not allowed: use POST (or GET)", method);
  } else if (!gw_path(url)) {
    status = MHD_HTTP_NOT_FOUND;
    gw_reply_set(&rp, 1, "No gateway at %s: the path must end in /gw or /gw.k", url);
  } else if (ctx->too_big) {
    gw_reply_set(&rp, 2, "XML error: the request body is larger than %ld bytes", gw->cfg.max_body);
  } else if (!rq.api || !*rq.api) {
    gw_reply_set(&rp, 6, "Missing transaction type (api)");
  } else if (!(fn = gw_txn_find(rq.api))) {
    gw_reply_set(&rp, 7, "Invalid transaction type '%.64s'", rq.api);
  } else if ((injected = gw_config_injected(&gw->cfg, rq.api)) != 0) {
    set_injected(&rp, injected);
  } else if (apiversion && *apiversion && strcmp(apiversion, "3") != 0) {
    gw_reply_set(&rp, 9, "Unsupported apiversion '%.16s': this gateway speaks version 3",
                 apiversion);
  } else if (gw_req_parse_body(&rq, ctx->body.data ? ctx->body.data : "", ctx->body.len, err,
                               sizeof err)) {
    gw_reply_set(&rp, 2, "%s", err);
  } else {
    fn(gw, &rq, &rp);
    gw_sess_reap(gw); /* sessions a transaction let go of under the lock */
  }

  size_t len;
  char *xml = gw_reply_render(&rp, &len);
  if (gw->cfg.log_requests)
    log_request(c, method, url, &rq, rp.rc, len, (gw_now() - ctx->started) * 1000.0);
  gw_req_free(&rq);
  gw_reply_free(&rp);
  return send_xml(c, status, xml, len);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
  conn_ctx *ctx = *con_cls;
  if (!ctx) return;
  gw_buf_free(&ctx->body);
  free(ctx);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  /* This libmicrohttpd prints this even when the logger is the first option: not news. */
  if (strncmp(fmt, "MHD_OPTION_EXTERNAL_LOGGER is not the first", 43) == 0) return;
  fputs("tt-gateway: http: ", stderr);
  vfprintf(stderr, fmt, ap);
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

int gw_http_start(gw_gateway *gw, const char *listen, gw_http **out, char *url, size_t urllen,
                  char *err, size_t errlen)
{
  gw_http *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  h->gw = gw;
  h->fd = bind_listen(listen, url, urllen, err, errlen);
  if (h->fd < 0) {
    free(h);
    return -1;
  }
  /* A thread per connection: a long query on one session must not stall the others, and
   * resetpool has to be able to interrupt it from another thread. */
  h->daemon =
      MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
                           MHD_USE_ERROR_LOG | MHD_USE_ITC,
                       0, NULL, NULL, handle, h, MHD_OPTION_LISTEN_SOCKET, h->fd,
                       MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_EXTERNAL_LOGGER,
                       mhd_log, h, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errlen, "cannot start the HTTP server");
    close(h->fd);
    free(h);
    return -1;
  }
  *out = h;
  return 0;
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
  if (h->daemon) MHD_stop_daemon(h->daemon);
  close(h->fd);
  free(h);
}
