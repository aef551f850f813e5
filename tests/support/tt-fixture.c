/* tt-fixture: a test tool that answers the XML API from files (reply mode) or stands in front
 * of a real tt-gateway (proxy mode), and injects faults per transaction.
 *
 *   tt-fixture --listen 127.0.0.1:0 --upstream http://127.0.0.1:PORT [--rule RULE]... [--log FILE]
 *   tt-fixture --listen 127.0.0.1:0 --reply API=FILE[,FILE...]... [--rule RULE]... [--log FILE]
 *
 * Reply mode: a request whose query string has api=API gets the next FILE of its list (the last
 * one repeats) as HTTP 200 text/xml; an api with no --reply gets rc 7. Proxy mode forwards each
 * request on a fresh upstream connection and relays the reply (the client's side keeps alive).
 * Prints "listening on http://HOST:PORT/" and serves until SIGTERM or SIGINT. --log appends per
 * request a line "api=API method=M path=PATH?QUERY bytes=N", the N body bytes, then "\n--\n".
 * Standard error gets a line per accepted connection.
 *
 * A RULE is comma-separated key=value fields; `do` says what happens, the rest when:
 *   api=NAME     the transaction it applies to (api= of the query string); `*` or absent: all
 *   nth=N        only the Nth request that matches api (counted per rule, from 1)
 *   every=N      the Nth, 2Nth, 3Nth ... matching request
 *   from=N       every matching request from the Nth on
 *   p=P,seed=S   each matching request with probability P, from a generator seeded with S (1)
 *   do=ACTION    one of:
 *     delay:MS          wait MS milliseconds, then serve the request normally
 *     status:CODE       answer HTTP CODE with a short text body; not forwarded
 *     reset-before      reset the client connection at once; not forwarded
 *     reset-after       forward, read the whole reply, then reset the client connection
 *     cut:N             forward, send the first N bytes of the reply (headers count), close
 *     truncate:N        forward, send the headers (Content-Length unchanged) and N body bytes,
 *                       close: the client sees a short read
 *     body:TEXT         answer 200 with TEXT as the body; not forwarded. TEXT is the rest of
 *                       the rule, commas included, so `do=body:` comes last
 *     body-after:TEXT   forward, then replace the reply's body with TEXT
 *     stall             read the request and never answer (the connection stays open)
 *     stall-body:N      forward, send the headers and N body bytes, then never send more
 * Selectors combine with "and"; without one every matching request is hit. Rules are checked in
 * order; every rule whose api matches counts the request; the first whose selector fires acts.
 * Examples: api=getuid,nth=2,do=reset-before   api=getdata,p=0.05,seed=7,do=status:503
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (64u << 20)

typedef struct {
  char *p;
  size_t len, cap;
} buf;

enum act {
  A_NONE,
  A_DELAY,
  A_STATUS,
  A_RESET_BEFORE,
  A_RESET_AFTER,
  A_CUT,
  A_TRUNCATE,
  A_BODY,
  A_BODY_AFTER,
  A_STALL,
  A_STALL_BODY
};

typedef struct {
  char api[64];
  long nth, every, from, seen;
  double p;
  uint64_t rng;
  enum act act;
  long n;
  char *text;
} rule;

typedef struct {
  char api[64];
  char **files;
  size_t nfiles, next;
} reply_list;

/* What to do once the reply is written. */
enum after { AF_KEEP, AF_CLOSE, AF_RESET, AF_HOLD };

enum state { S_READ, S_DELAY, S_UP_CONNECT, S_UP_SEND, S_UP_RECV, S_WRITE, S_HOLD, S_DEAD };

typedef struct {
  int fd, up;
  enum state st;
  buf in;         /* bytes from the client, the current request first */
  size_t req_len; /* length of the current request in `in` */
  int keep;       /* the client wants the connection kept */
  int continued;  /* "100 Continue" sent for the current request */
  const rule *r;  /* the rule that fired for the current request, or NULL */
  char api[64];
  buf fwd; /* the request as sent upstream */
  size_t fwd_off;
  buf upin; /* the reply from upstream */
  buf out;  /* what goes to the client */
  size_t out_off;
  enum after after;
  int64_t deadline;
} conn;

static rule *rules;
static size_t nrules;
static reply_list *replies;
static size_t nreplies;
static FILE *logfile;
static struct sockaddr_storage up_addr;
static socklen_t up_addrlen;
static int have_upstream;
static int sigpipe_fds[2];

static conn **conns;
static size_t nconns;

static void die(const char *fmt, const char *arg)
{
  fprintf(stderr, "tt-fixture: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  exit(2);
}

static void *xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if (!p) die("%s", "out of memory");
  return p;
}

static void buf_add(buf *b, const void *p, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void buf_str(buf *b, const char *s)
{
  buf_add(b, s, strlen(s));
}

static void buf_fmt(buf *b, const char *fmt, long v)
{
  char tmp[128];
  int n = snprintf(tmp, sizeof tmp, fmt, v);
  buf_add(b, tmp, (size_t)n);
}

static void buf_clear(buf *b)
{
  b->len = 0;
  if (b->p) b->p[0] = 0;
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: a fixed seed gives the same faults on every run. */
static double rng_next(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static long num(const char *s, const char *what)
{
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 0) die("bad number in rule: %s", what);
  return v;
}

static void parse_rule(const char *spec)
{
  rule r;
  memset(&r, 0, sizeof r);
  strcpy(r.api, "*");
  uint64_t seed = 1;
  int has_do = 0;
  const char *s = spec;
  while (*s) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    char field[256];
    if (len >= sizeof field) die("rule field too long: %s", spec);
    memcpy(field, s, len);
    field[len] = 0;
    char *eq = strchr(field, '=');
    if (!eq) die("rule field without '=': %s", spec);
    *eq = 0;
    const char *v = eq + 1;
    if (strcmp(field, "do") == 0 &&
        (strncmp(v, "body:", 5) == 0 || strncmp(v, "body-after:", 11) == 0)) {
      /* the text runs to the end of the rule, commas included */
      const char *colon = strchr(s, ':');
      r.act = strncmp(v, "body:", 5) == 0 ? A_BODY : A_BODY_AFTER;
      r.text = strdup(colon + 1);
      has_do = 1;
      break;
    }
    if (strcmp(field, "api") == 0) {
      if (strlen(v) >= sizeof r.api) die("api name too long: %s", spec);
      strcpy(r.api, v);
    } else if (strcmp(field, "nth") == 0) {
      r.nth = num(v, spec);
    } else if (strcmp(field, "every") == 0) {
      r.every = num(v, spec);
    } else if (strcmp(field, "from") == 0) {
      r.from = num(v, spec);
    } else if (strcmp(field, "p") == 0) {
      r.p = atof(v);
      if (r.p <= 0 || r.p > 1) die("p must be in (0, 1]: %s", spec);
    } else if (strcmp(field, "seed") == 0) {
      seed = (uint64_t)num(v, spec);
    } else if (strcmp(field, "do") == 0) {
      static const struct {
        const char *name;
        enum act act;
        int arg;
      } acts[] = {{"delay", A_DELAY, 1},
                  {"status", A_STATUS, 1},
                  {"reset-before", A_RESET_BEFORE, 0},
                  {"reset-after", A_RESET_AFTER, 0},
                  {"cut", A_CUT, 1},
                  {"truncate", A_TRUNCATE, 1},
                  {"stall", A_STALL, 0},
                  {"stall-body", A_STALL_BODY, 1}};
      char *colon = strchr(v, ':');
      size_t nlen = colon ? (size_t)(colon - v) : strlen(v);
      size_t i;
      for (i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strlen(acts[i].name) == nlen && strncmp(acts[i].name, v, nlen) == 0) break;
      if (i == sizeof acts / sizeof acts[0]) die("unknown action in rule: %s", spec);
      if (acts[i].arg != (colon != NULL)) die("action takes %s", acts[i].arg ? "N" : "no N");
      r.act = acts[i].act;
      if (colon) r.n = num(colon + 1, spec);
      has_do = 1;
    } else {
      die("unknown rule field: %s", field);
    }
    s += len + (comma ? 1 : 0);
  }
  if (!has_do) die("rule without do=: %s", spec);
  /* xorshift must not start at zero; mix the seed so small seeds differ at once */
  r.rng = (seed + 1) * 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 8; i++) rng_next(&r.rng);
  rules = xrealloc(rules, (nrules + 1) * sizeof *rules);
  rules[nrules++] = r;
}

static void parse_reply(const char *spec)
{
  const char *eq = strchr(spec, '=');
  if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof replies->api || !eq[1])
    die("--reply wants API=FILE[,FILE...]: %s", spec);
  replies = xrealloc(replies, (nreplies + 1) * sizeof *replies);
  reply_list *l = &replies[nreplies++];
  memset(l, 0, sizeof *l);
  memcpy(l->api, spec, (size_t)(eq - spec));
  char *files = strdup(eq + 1);
  for (char *save = NULL, *f = strtok_r(files, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    l->files = xrealloc(l->files, (l->nfiles + 1) * sizeof *l->files);
    l->files[l->nfiles++] = strdup(f);
  }
  free(files);
}

/* The rule that fires for this request, if any. Every rule whose api matches counts it. */
static const rule *pick_rule(const char *api)
{
  const rule *fired = NULL;
  for (size_t i = 0; i < nrules; i++) {
    rule *r = &rules[i];
    if (strcmp(r->api, "*") != 0 && strcmp(r->api, api) != 0) continue;
    long k = ++r->seen;
    int on = 1;
    if (r->nth && k != r->nth) on = 0;
    if (r->every && k % r->every != 0) on = 0;
    if (r->from && k < r->from) on = 0;
    if (r->p > 0 && !(rng_next(&r->rng) < r->p)) on = 0;
    if (on && !fired) fired = r;
  }
  return fired;
}

/* ---- HTTP parsing ---------------------------------------------------------------------- */

static const char *find_crlf2(const char *p, size_t n)
{
  for (size_t i = 0; i + 3 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') return p + i;
  return NULL;
}

/* The value of header `name` in the header block [p, end), copied to out; 1 if found. */
static int header(const char *p, const char *end, const char *name, char *out, size_t outlen)
{
  size_t nlen = strlen(name);
  const char *line = memchr(p, '\n', (size_t)(end - p));
  while (line && line < end) {
    line++;
    const char *eol = memchr(line, '\r', (size_t)(end - line));
    if (!eol) eol = end;
    if ((size_t)(eol - line) > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
      const char *v = line + nlen + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      size_t vlen = (size_t)(eol - v);
      if (vlen >= outlen) vlen = outlen - 1;
      memcpy(out, v, vlen);
      out[vlen] = 0;
      return 1;
    }
    line = memchr(line, '\n', (size_t)(end - line));
  }
  return 0;
}

static int hexval(int c)
{
  return isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
}

/* api= from the request target, URL-decoded; "" when absent. */
static void target_api(const char *target, size_t tlen, char *api, size_t apilen)
{
  api[0] = 0;
  const char *q = memchr(target, '?', tlen);
  if (!q) return;
  const char *end = target + tlen;
  for (const char *p = q + 1; p < end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    if (!amp) amp = end;
    if (amp - p > 4 && strncmp(p, "api=", 4) == 0) {
      size_t o = 0;
      for (const char *v = p + 4; v < amp && o + 1 < apilen; v++) {
        if (*v == '%' && amp - v > 2 && isxdigit((unsigned char)v[1]) &&
            isxdigit((unsigned char)v[2])) {
          api[o++] = (char)(hexval((unsigned char)v[1]) * 16 + hexval((unsigned char)v[2]));
          v += 2;
        } else {
          api[o++] = *v == '+' ? ' ' : *v;
        }
      }
      api[o] = 0;
      return;
    }
    p = amp + 1;
  }
}

/* ---- connections ----------------------------------------------------------------------- */

static void nonblock(int fd)
{
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_up(conn *c)
{
  if (c->up >= 0) close(c->up);
  c->up = -1;
}

static void kill_conn(conn *c, int reset)
{
  if (c->fd >= 0) {
    if (reset) {
      /* linger 0: close sends RST instead of FIN */
      struct linger lg = {1, 0};
      setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
  }
  c->fd = -1;
  close_up(c);
  c->st = S_DEAD;
}

static void free_conn(conn *c)
{
  free(c->in.p);
  free(c->fwd.p);
  free(c->upin.p);
  free(c->out.p);
  free(c);
}

static const char *reason(long code)
{
  switch (code) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "Fault";
  }
}

/* Queue a whole reply for the client; the action decides how much of it goes out. */
static void respond(conn *c, const char *status_line, const char *headers, const char *body,
                    size_t blen)
{
  enum act a = c->r ? c->r->act : A_NONE;
  if (a == A_BODY_AFTER) {
    body = c->r->text;
    blen = strlen(body);
  }
  if (a == A_RESET_AFTER) {
    kill_conn(c, 1);
    return;
  }
  buf_clear(&c->out);
  c->out_off = 0;
  buf_str(&c->out, status_line);
  buf_str(&c->out, "\r\n");
  buf_str(&c->out, headers);
  buf_fmt(&c->out, "Content-Length: %ld\r\n", (long)blen);
  buf_str(&c->out, c->keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  size_t head = c->out.len;
  buf_add(&c->out, body, blen);
  c->after = c->keep ? AF_KEEP : AF_CLOSE;
  switch (a) {
  case A_CUT:
    if ((size_t)c->r->n < c->out.len) c->out.len = (size_t)c->r->n;
    c->after = AF_CLOSE;
    break;
  case A_TRUNCATE:
    if ((size_t)c->r->n < blen) c->out.len = head + (size_t)c->r->n;
    c->after = AF_CLOSE;
    break;
  case A_STALL_BODY:
    if ((size_t)c->r->n < blen) c->out.len = head + (size_t)c->r->n;
    c->after = AF_HOLD;
    break;
  default:
    break;
  }
  c->st = S_WRITE;
}

static void respond_simple(conn *c, long code, const char *ctype, const char *body)
{
  char line[64], headers[128];
  snprintf(line, sizeof line, "HTTP/1.1 %ld %s", code, reason(code));
  snprintf(headers, sizeof headers, "Content-Type: %s\r\n", ctype);
  respond(c, line, headers, body, strlen(body));
}

static void xml_escape(buf *b, const char *s)
{
  for (; *s; s++) {
    if (*s == '<')
      buf_str(b, "&lt;");
    else if (*s == '>')
      buf_str(b, "&gt;");
    else if (*s == '&')
      buf_str(b, "&amp;");
    else
      buf_add(b, s, 1);
  }
}

/* Reply mode: the next file for this api. */
static void serve_local(conn *c)
{
  reply_list *l = NULL;
  for (size_t i = 0; i < nreplies; i++)
    if (strcmp(replies[i].api, c->api) == 0) l = &replies[i];
  buf body = {0};
  if (!l) {
    buf_str(&body, "<out><rc>7</rc><msg>no fixture for api=");
    xml_escape(&body, c->api);
    buf_str(&body, "</msg></out>");
    respond_simple(c, 200, "text/xml", body.p);
    free(body.p);
    return;
  }
  const char *path = l->files[l->next < l->nfiles ? l->next : l->nfiles - 1];
  if (l->next < l->nfiles) l->next++;
  FILE *f = fopen(path, "rb");
  if (!f) {
    buf_str(&body, "tt-fixture: cannot open ");
    buf_str(&body, path);
    respond_simple(c, 500, "text/plain", body.p);
    free(body.p);
    return;
  }
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(&body, chunk, n);
  fclose(f);
  respond(c, "HTTP/1.1 200 OK", "Content-Type: text/xml\r\n", body.p ? body.p : "", body.len);
  free(body.p);
}

/* Proxy mode: rebuild the request for a fresh upstream connection that closes after it. */
static void start_upstream(conn *c)
{
  const char *p = c->in.p;
  const char *hend = find_crlf2(p, c->req_len) + 2;
  const char *eol = memchr(p, '\r', (size_t)(hend - p));
  buf_clear(&c->fwd);
  c->fwd_off = 0;
  buf_add(&c->fwd, p, (size_t)(eol - p) + 2);
  for (const char *line = eol + 2; line < hend;) {
    const char *e = memchr(line, '\r', (size_t)(hend - line));
    size_t n = (size_t)(e - line);
    static const char *const hop[] = {"connection:", "keep-alive:", "expect:", "proxy-connection:"};
    int skip = 0;
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
      if (n >= strlen(hop[i]) && strncasecmp(line, hop[i], strlen(hop[i])) == 0) skip = 1;
    if (!skip) buf_add(&c->fwd, line, n + 2);
    line = e + 2;
  }
  buf_str(&c->fwd, "Connection: close\r\n\r\n");
  const char *body = hend + 2;
  buf_add(&c->fwd, body, c->req_len - (size_t)(body - p));
  buf_clear(&c->upin);

  c->up = socket(up_addr.ss_family, SOCK_STREAM, 0);
  if (c->up < 0) {
    respond_simple(c, 502, "text/plain", "tt-fixture: socket failed\n");
    return;
  }
  nonblock(c->up);
  if (connect(c->up, (struct sockaddr *)&up_addr, up_addrlen) < 0 && errno != EINPROGRESS) {
    close_up(c);
    respond_simple(c, 502, "text/plain", "tt-fixture: upstream refused the connection\n");
    return;
  }
  c->st = S_UP_CONNECT;
}

/* The upstream reply is complete (or the upstream closed): relay it. */
static void upstream_done(conn *c)
{
  close_up(c);
  const char *p = c->upin.p;
  const char *hend = p ? find_crlf2(p, c->upin.len) : NULL;
  if (!hend) {
    respond_simple(c, 502, "text/plain", "tt-fixture: upstream closed without a reply\n");
    return;
  }
  const char *eol = memchr(p, '\r', (size_t)(hend + 2 - p));
  char status[256];
  size_t slen = (size_t)(eol - p) < sizeof status - 1 ? (size_t)(eol - p) : sizeof status - 1;
  memcpy(status, p, slen);
  status[slen] = 0;
  buf headers = {0};
  buf_str(&headers, "");
  for (const char *line = eol + 2; line < hend + 2;) {
    const char *e = memchr(line, '\r', (size_t)(hend + 2 - line));
    size_t n = (size_t)(e - line);
    static const char *const drop[] = {
        "connection:", "keep-alive:", "content-length:", "transfer-encoding:"};
    int skip = 0;
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
      if (n >= strlen(drop[i]) && strncasecmp(line, drop[i], strlen(drop[i])) == 0) skip = 1;
    if (!skip) buf_add(&headers, line, n + 2);
    line = e + 2;
  }
  const char *body = hend + 4;
  size_t blen = c->upin.len - (size_t)(body - p);
  char cl[32];
  if (header(p, hend + 2, "Content-Length", cl, sizeof cl) && (size_t)atol(cl) < blen)
    blen = (size_t)atol(cl);
  respond(c, status, headers.p, body, blen);
  free(headers.p);
}

/* 1 when the upstream reply in upin is complete by its Content-Length. */
static int upstream_complete(conn *c)
{
  const char *hend = c->upin.p ? find_crlf2(c->upin.p, c->upin.len) : NULL;
  if (!hend) return 0;
  char cl[32];
  if (!header(c->upin.p, hend + 2, "Content-Length", cl, sizeof cl)) return 0;
  return c->upin.len >= (size_t)(hend + 4 - c->upin.p) + (size_t)atol(cl);
}

static void log_request(conn *c, const char *method, size_t mlen, const char *target, size_t tlen,
                        const char *body, size_t blen)
{
  if (!logfile) return;
  fprintf(logfile, "api=%s method=%.*s path=%.*s bytes=%zu\n", c->api, (int)mlen, method, (int)tlen,
          target, blen);
  fwrite(body, 1, blen, logfile);
  fputs("\n--\n", logfile);
  fflush(logfile);
}

/* The action once the delay (if any) is over. */
static void dispatch(conn *c)
{
  enum act a = c->r ? c->r->act : A_NONE;
  switch (a) {
  case A_STATUS: {
    char body[64];
    snprintf(body, sizeof body, "tt-fixture: injected HTTP %ld\n", c->r->n);
    respond_simple(c, c->r->n, "text/plain", body);
    return;
  }
  case A_RESET_BEFORE:
    kill_conn(c, 1);
    return;
  case A_BODY:
    respond(c, "HTTP/1.1 200 OK", "Content-Type: text/xml\r\n", c->r->text, strlen(c->r->text));
    return;
  case A_STALL:
    c->st = S_HOLD;
    return;
  default:
    break;
  }
  if (have_upstream)
    start_upstream(c);
  else
    serve_local(c);
}

/* A whole request may be in c->in: parse it and start serving it. 0 if not yet complete. */
static int take_request(conn *c)
{
  const char *p = c->in.p;
  if (!p) return 0;
  const char *hend = find_crlf2(p, c->in.len);
  if (!hend) {
    if (c->in.len > 65536) {
      c->keep = 0;
      c->r = NULL;
      respond_simple(c, 400, "text/plain", "tt-fixture: header too long\n");
      return 1;
    }
    return 0;
  }
  const char *hdr_end = hend + 2;
  const char *sp1 = memchr(p, ' ', (size_t)(hend - p));
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(hend - sp1 - 1)) : NULL;
  c->r = NULL;
  if (!sp1 || !sp2) {
    c->keep = 0;
    respond_simple(c, 400, "text/plain", "tt-fixture: bad request line\n");
    return 1;
  }
  char v[64];
  long clen = 0;
  if (header(p, hdr_end, "Content-Length", v, sizeof v)) clen = atol(v);
  if (header(p, hdr_end, "Transfer-Encoding", v, sizeof v) || clen < 0 ||
      (size_t)clen > MAX_REQUEST) {
    c->keep = 0;
    respond_simple(c, 400, "text/plain", "tt-fixture: wants a Content-Length body\n");
    return 1;
  }
  size_t need = (size_t)(hend + 4 - p) + (size_t)clen;
  if (c->in.len < need) {
    if (!c->continued && header(p, hdr_end, "Expect", v, sizeof v) &&
        strncasecmp(v, "100-continue", 12) == 0) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      /* small enough for any socket buffer */
      if (send(c->fd, cont, sizeof cont - 1, MSG_NOSIGNAL) < 0) kill_conn(c, 0);
      c->continued = 1;
    }
    return 0;
  }
  c->req_len = need;
  c->continued = 0;
  int http10 = strncmp(sp2 + 1, "HTTP/1.0", 8) == 0;
  c->keep = !http10;
  if (header(p, hdr_end, "Connection", v, sizeof v))
    c->keep = strncasecmp(v, "close", 5) != 0 && (!http10 || strncasecmp(v, "keep-alive", 10) == 0);
  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  target_api(target, tlen, c->api, sizeof c->api);
  log_request(c, p, (size_t)(sp1 - p), target, tlen, hend + 4, (size_t)clen);
  c->r = pick_rule(c->api);
  if (c->r && c->r->act == A_DELAY) {
    c->deadline = now_ms() + c->r->n;
    c->st = S_DELAY;
    return 1;
  }
  dispatch(c);
  return 1;
}

/* The reply is out: drop the request and go on as the action says. */
static void reply_sent(conn *c)
{
  switch (c->after) {
  case AF_CLOSE:
    kill_conn(c, 0);
    return;
  case AF_RESET:
    kill_conn(c, 1);
    return;
  case AF_HOLD:
    c->st = S_HOLD;
    return;
  case AF_KEEP:
    break;
  }
  memmove(c->in.p, c->in.p + c->req_len, c->in.len - c->req_len);
  c->in.len -= c->req_len;
  c->req_len = 0;
  c->st = S_READ;
  take_request(c);
}

static void on_client_read(conn *c)
{
  char chunk[65536];
  ssize_t n = recv(c->fd, chunk, sizeof chunk, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    kill_conn(c, 0);
    return;
  }
  if (c->st == S_HOLD) return; /* a stalled connection swallows what comes */
  buf_add(&c->in, chunk, (size_t)n);
  if (c->st == S_READ) take_request(c);
}

static void on_client_write(conn *c)
{
  while (c->out_off < c->out.len) {
    ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {
      kill_conn(c, 0);
      return;
    }
    c->out_off += (size_t)n;
  }
  reply_sent(c);
}

static void on_upstream(conn *c, short revents)
{
  if (c->st == S_UP_CONNECT) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->up, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      close_up(c);
      respond_simple(c, 502, "text/plain", "tt-fixture: cannot connect upstream\n");
      return;
    }
    c->st = S_UP_SEND;
  }
  if (c->st == S_UP_SEND) {
    while (c->fwd_off < c->fwd.len) {
      ssize_t n = send(c->up, c->fwd.p + c->fwd_off, c->fwd.len - c->fwd_off, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) {
        close_up(c);
        respond_simple(c, 502, "text/plain", "tt-fixture: upstream write failed\n");
        return;
      }
      c->fwd_off += (size_t)n;
    }
    c->st = S_UP_RECV;
    return;
  }
  if (c->st == S_UP_RECV && (revents & (POLLIN | POLLHUP | POLLERR))) {
    char chunk[65536];
    ssize_t n = recv(c->up, chunk, sizeof chunk, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) buf_add(&c->upin, chunk, (size_t)n);
    if (n <= 0 || upstream_complete(c)) upstream_done(c);
  }
}

static void on_signal(int sig)
{
  char b = (char)sig;
  ssize_t r = write(sigpipe_fds[1], &b, 1);
  (void)r;
}

static int listen_on(const char *spec, char *url, size_t urllen)
{
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (!colon || (size_t)(colon - spec) >= sizeof host) die("--listen wants HOST:PORT: %s", spec);
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = 0;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("--listen wants an IPv4 address: %s", spec);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0)
    die("cannot listen on %s", spec);
  socklen_t len = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &len);
  snprintf(url, urllen, "http://%s:%u/", host, (unsigned)ntohs(sa.sin_port));
  nonblock(fd);
  return fd;
}

static void set_upstream(const char *url)
{
  if (strncmp(url, "http://", 7) != 0) die("--upstream wants http://HOST:PORT: %s", url);
  char host[256], port[16];
  const char *h = url + 7;
  const char *colon = strchr(h, ':');
  if (!colon || (size_t)(colon - h) >= sizeof host)
    die("--upstream wants http://HOST:PORT: %s", url);
  memcpy(host, h, (size_t)(colon - h));
  host[colon - h] = 0;
  size_t plen = strcspn(colon + 1, "/");
  if (!plen || plen >= sizeof port) die("--upstream wants http://HOST:PORT: %s", url);
  memcpy(port, colon + 1, plen);
  port[plen] = 0;
  struct addrinfo hints, *ai;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (getaddrinfo(host, port, &hints, &ai) != 0) die("--upstream wants a numeric address: %s", url);
  memcpy(&up_addr, ai->ai_addr, ai->ai_addrlen);
  up_addrlen = ai->ai_addrlen;
  freeaddrinfo(ai);
  have_upstream = 1;
}

int main(int argc, char **argv)
{
  const char *listen_spec = NULL, *upstream = NULL, *logpath = NULL;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) die("missing value for %s", argv[i]);
    if (strcmp(argv[i], "--listen") == 0)
      listen_spec = argv[i + 1];
    else if (strcmp(argv[i], "--upstream") == 0)
      upstream = argv[i + 1];
    else if (strcmp(argv[i], "--reply") == 0)
      parse_reply(argv[i + 1]);
    else if (strcmp(argv[i], "--rule") == 0)
      parse_rule(argv[i + 1]);
    else if (strcmp(argv[i], "--log") == 0)
      logpath = argv[i + 1];
    else
      die("unknown option %s (see the comment at the top of tt-fixture.c)", argv[i]);
  }
  if (!listen_spec) die("%s", "--listen is required");
  if (upstream && nreplies) die("%s", "--upstream and --reply exclude each other");
  if (upstream) set_upstream(upstream);
  if (logpath && !(logfile = fopen(logpath, "ab"))) die("cannot open the log %s", logpath);

  if (pipe(sigpipe_fds) < 0) die("%s", "pipe failed");
  nonblock(sigpipe_fds[1]);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  char url[300];
  int lfd = listen_on(listen_spec, url, sizeof url);
  printf("listening on %s\n", url);
  fflush(stdout);

  struct pollfd *pfds = NULL;
  size_t *owner = NULL; /* pfds[i] belongs to conns[owner[i]] (i >= 2) */
  for (;;) {
    size_t cap = 2 + 2 * nconns;
    pfds = xrealloc(pfds, cap * sizeof *pfds);
    owner = xrealloc(owner, cap * sizeof *owner);
    pfds[0] = (struct pollfd){lfd, POLLIN, 0};
    pfds[1] = (struct pollfd){sigpipe_fds[0], POLLIN, 0};
    size_t np = 2;
    int64_t now = now_ms(), wait = -1;
    for (size_t i = 0; i < nconns; i++) {
      conn *c = conns[i];
      short ev = POLLIN;
      if (c->st == S_WRITE) ev |= POLLOUT;
      owner[np] = i;
      pfds[np++] = (struct pollfd){c->fd, ev, 0};
      if (c->up >= 0) {
        owner[np] = i;
        pfds[np++] = (struct pollfd){c->up, c->st == S_UP_RECV ? POLLIN : POLLOUT, 0};
      }
      if (c->st == S_DELAY) {
        int64_t left = c->deadline > now ? c->deadline - now : 0;
        if (wait < 0 || left < wait) wait = left;
      }
    }
    if (poll(pfds, np, (int)wait) < 0 && errno != EINTR) die("%s", "poll failed");
    if (pfds[1].revents) break;
    for (size_t i = 2; i < np; i++) {
      conn *c = conns[owner[i]];
      short re = pfds[i].revents;
      if (!re || c->st == S_DEAD) continue;
      if (pfds[i].fd == c->up) {
        on_upstream(c, re);
      } else if (pfds[i].fd == c->fd) {
        if (re & POLLOUT && c->st == S_WRITE) on_client_write(c);
        if (c->st != S_DEAD && re & (POLLIN | POLLHUP | POLLERR)) on_client_read(c);
      }
    }
    now = now_ms();
    for (size_t i = 0; i < nconns; i++)
      if (conns[i]->st == S_DELAY && conns[i]->deadline <= now) dispatch(conns[i]);
    /* drop the dead */
    size_t k = 0;
    for (size_t i = 0; i < nconns; i++) {
      conn *c = conns[i];
      if (c->st == S_DEAD)
        free_conn(c);
      else {
        conns[k++] = c;
      }
    }
    nconns = k;
    if (pfds[0].revents & POLLIN) {
      int fd;
      while ((fd = accept(lfd, NULL, NULL)) >= 0) {
        nonblock(fd);
        conn *c = calloc(1, sizeof *c);
        if (!c) die("%s", "out of memory");
        c->fd = fd;
        c->up = -1;
        c->st = S_READ;
        conns = xrealloc(conns, (nconns + 1) * sizeof *conns);
        conns[nconns++] = c;
        /* a spec counts these to see whether the client reused its connections */
        fprintf(stderr, "tt-fixture: accepted a connection\n");
      }
    }
  }
  /* everything freed, so that a sanitizer build reports only real leaks */
  for (size_t i = 0; i < nconns; i++) {
    kill_conn(conns[i], 0);
    free_conn(conns[i]);
  }
  free(conns);
  free(pfds);
  free(owner);
  for (size_t i = 0; i < nrules; i++) free(rules[i].text);
  free(rules);
  for (size_t i = 0; i < nreplies; i++) {
    for (size_t j = 0; j < replies[i].nfiles; j++) free(replies[i].files[j]);
    free(replies[i].files);
  }
  free(replies);
  close(lfd);
  close(sigpipe_fds[0]);
  close(sigpipe_fds[1]);
  if (logfile) fclose(logfile);
  return 0;
}
