/*
 * sam_cycles: load generator for the SAM pool transactions of tt-gateway. C simulated clients
 * each loop getuid -> login (kill=possess) -> reluid for D seconds, the way a batch of scripts
 * sharing a pool would. One thread drives every client through one libcurl multi handle; each
 * client keeps its own easy handle, so its connection stays alive between requests.
 *
 * A getuid answered rc 38 (every ID busy) is retried at once and counted as a busy retry; the
 * cycle's latency runs from its first getuid to its reluid, retries included. Replies are read
 * with strstr: this is a benchmark, not a client library.
 *
 * Prints "label: value" lines (bench_sam.sh reads them). Exit status 0 unless the run could not
 * start; errors during the run are counted and reported, not fatal.
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum step { STEP_GETUID, STEP_LOGIN, STEP_RELUID, STEP_RELEASE_CLEAR, STEP_DONE };

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

typedef struct {
  CURL *easy;
  enum step step;
  buffer reply;
  double cycle_start;
  char uid[64];  /* member handed out by getuid */
  char sid[64];  /* member's session id from login */
  char pswd[96]; /* member's encrypted password from login */
} client;

typedef struct {
  const char *url, *owner, *password, *gid;
  int clients;
  double seconds;
} options;

typedef struct {
  double *lat; /* cycle latencies in seconds */
  size_t n, cap;
  unsigned long retries, errors, requests;
  long connects;
  int errors_shown;
} stats;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *xrealloc(void *p, size_t n)
{
  p = realloc(p, n);
  if (!p) {
    fprintf(stderr, "sam_cycles: out of memory\n");
    exit(2);
  }
  return p;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
  buffer *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->data = xrealloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* Text between <tag> and </tag> in reply, copied into out; 0 if found and it fits. */
static int element(const char *reply, const char *tag, char *out, size_t outlen)
{
  char open[32], close[32];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = strstr(reply, open);
  if (!a) return -1;
  a += strlen(open);
  const char *b = strstr(a, close);
  if (!b || (size_t)(b - a) >= outlen) return -1;
  memcpy(out, a, (size_t)(b - a));
  out[b - a] = '\0';
  return 0;
}

/* The reply's <rc>, or -1 when there is none. */
static int reply_rc(const char *reply)
{
  char rc[16];
  if (element(reply, "rc", rc, sizeof rc)) return -1;
  return atoi(rc);
}

/* Point the client's easy handle at the request for its current step. */
static void prepare(client *c, const options *o)
{
  /* Every value goes through curl_easy_escape: ENC passwords and uids are plain today, but a
   * config could hold anything. */
  char *owner = curl_easy_escape(c->easy, o->owner, 0);
  char *pw = curl_easy_escape(c->easy, o->password, 0);
  char *gid = curl_easy_escape(c->easy, o->gid, 0);
  char *uid = curl_easy_escape(c->easy, c->uid, 0);
  char *sid = curl_easy_escape(c->easy, c->sid, 0);
  char *enc = curl_easy_escape(c->easy, c->pswd, 0);
  char url[1024];
  const char *u = o->url;
  switch (c->step) {
  case STEP_GETUID:
    snprintf(url, sizeof url, "%s?api=getuid&apiversion=3&uid=%s&pswd=%s&gid=%s", u, owner, pw,
             gid);
    break;
  case STEP_LOGIN:
    snprintf(url, sizeof url, "%s?api=login&apiversion=3&uid=%s&pswd=%s&kill=possess", u, uid, pw);
    break;
  case STEP_RELUID:
    snprintf(url, sizeof url, "%s?api=reluid&apiversion=3&uid=%s&sid=%s&pswd=%s&gid=%s", u, uid,
             sid, enc, gid);
    break;
  case STEP_RELEASE_CLEAR:
    /* After a failed login there is no session: the member's clear password releases it. */
    snprintf(url, sizeof url, "%s?api=reluid&apiversion=3&uid=%s&pswd=%s&gid=%s", u, uid, pw, gid);
    break;
  case STEP_DONE:
    url[0] = '\0';
    break;
  }
  curl_free(owner);
  curl_free(pw);
  curl_free(gid);
  curl_free(uid);
  curl_free(sid);
  curl_free(enc);
  curl_easy_setopt(c->easy, CURLOPT_URL, url);
  c->reply.len = 0;
  if (c->reply.data) c->reply.data[0] = '\0';
}

static void count_error(stats *st, const char *what, const char *detail)
{
  st->errors++;
  /* A handful of examples say what went wrong; thousands would bury the result. */
  if (st->errors_shown < 5) {
    st->errors_shown++;
    fprintf(stderr, "sam_cycles: %s failed: %.200s\n", what, detail ? detail : "");
  }
}

/* Record the finished cycle, then begin the next one unless time is up. */
static void next_cycle(client *c, stats *st, double t, double deadline, int completed)
{
  if (completed) {
    if (st->n == st->cap) {
      st->cap = st->cap ? st->cap * 2 : 4096;
      st->lat = xrealloc(st->lat, st->cap * sizeof *st->lat);
    }
    st->lat[st->n++] = t - c->cycle_start;
  }
  c->uid[0] = c->sid[0] = c->pswd[0] = '\0';
  c->step = t < deadline ? STEP_GETUID : STEP_DONE;
  c->cycle_start = t;
}

/* Move the client on after a finished request. */
static void advance(client *c, stats *st, CURLcode res, double deadline)
{
  double t = now();
  long http = 0, connects = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http);
  curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects);
  st->connects += connects;
  st->requests++;
  int rc = res == CURLE_OK && http == 200 && c->reply.data ? reply_rc(c->reply.data) : -1;
  if (res != CURLE_OK) count_error(st, "transfer", curl_easy_strerror(res));

  switch (c->step) {
  case STEP_GETUID:
    if (rc == 38) {
      st->retries++;
      if (t >= deadline) c->step = STEP_DONE; /* holds nothing: free to stop */
    } else if (rc != 0 || element(c->reply.data, "uid", c->uid, sizeof c->uid)) {
      if (res == CURLE_OK) count_error(st, "getuid", c->reply.data);
      next_cycle(c, st, t, deadline, 0);
    } else {
      c->step = STEP_LOGIN;
    }
    break;
  case STEP_LOGIN:
    if (rc != 0 || element(c->reply.data, "sid", c->sid, sizeof c->sid) ||
        element(c->reply.data, "pswd", c->pswd, sizeof c->pswd)) {
      if (res == CURLE_OK) count_error(st, "login", c->reply.data);
      c->step = STEP_RELEASE_CLEAR; /* give the member back, or the pool shrinks */
    } else {
      c->step = STEP_RELUID;
    }
    break;
  case STEP_RELUID:
    if (rc != 0 && res == CURLE_OK) count_error(st, "reluid", c->reply.data);
    next_cycle(c, st, t, deadline, rc == 0);
    break;
  case STEP_RELEASE_CLEAR:
    if (rc != 0 && res == CURLE_OK) count_error(st, "reluid (clear password)", c->reply.data);
    next_cycle(c, st, t, deadline, 0);
    break;
  case STEP_DONE:
    break;
  }
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, in milliseconds. */
static double percentile_ms(const double *v, size_t n, double p)
{
  if (!n) return 0;
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return v[rank - 1] * 1000.0;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: sam_cycles --url URL [--clients N] [--seconds S] [--owner UID]\n"
             "                  [--password PW] [--gid GID]\n"
             "  --url       gateway endpoint, e.g. http://127.0.0.1:PORT/cgi-bin/gw; a URL\n"
             "              ending in '/' gets cgi-bin/gw appended\n"
             "  --clients   concurrent clients (default 4)\n"
             "  --seconds   how long to start new cycles (default 5)\n"
             "  --owner     pool owner (default owner1)\n"
             "  --password  owner's password, also the members' (default secret1)\n"
             "  --gid       pool (default pool1)\n");
}

static int parse_args(int argc, char **argv, options *o)
{
  *o = (options){NULL, "owner1", "secret1", "pool1", 4, 5.0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "sam_cycles: %s needs a value\n", a);
      return -1;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--url") == 0)
      o->url = v;
    else if (strcmp(a, "--clients") == 0)
      o->clients = atoi(v);
    else if (strcmp(a, "--seconds") == 0)
      o->seconds = atof(v);
    else if (strcmp(a, "--owner") == 0)
      o->owner = v;
    else if (strcmp(a, "--password") == 0)
      o->password = v;
    else if (strcmp(a, "--gid") == 0)
      o->gid = v;
    else {
      fprintf(stderr, "sam_cycles: unknown option %s\n", a);
      return -1;
    }
  }
  if (!o->url || o->clients < 1 || o->clients > 10000 || !(o->seconds > 0)) {
    usage(stderr);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv)
{
  options o;
  if (parse_args(argc, argv, &o)) return 2;
  char url[512];
  size_t ul = strlen(o.url);
  snprintf(url, sizeof url, "%s%s", o.url, ul && o.url[ul - 1] == '/' ? "cgi-bin/gw" : "");
  o.url = url;

  if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
    fprintf(stderr, "sam_cycles: curl_global_init failed\n");
    return 2;
  }
  CURLM *multi = curl_multi_init();
  /* Room in the connection cache for every client, so none is closed between requests. */
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)o.clients + 4);

  client *cl = calloc((size_t)o.clients, sizeof *cl);
  stats st = {0};
  if (!multi || !cl) {
    fprintf(stderr, "sam_cycles: out of memory\n");
    return 2;
  }
  double start = now(), deadline = start + o.seconds;
  for (int i = 0; i < o.clients; i++) {
    client *c = &cl[i];
    if (!(c->easy = curl_easy_init())) {
      fprintf(stderr, "sam_cycles: curl_easy_init failed\n");
      return 2;
    }
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &c->reply);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    /* A proxy from the environment must not see these requests: loopback only. */
    curl_easy_setopt(c->easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT, 60L);
    c->step = STEP_GETUID;
    c->cycle_start = now();
    prepare(c, &o);
    curl_multi_add_handle(multi, c->easy);
  }

  int running = o.clients;
  while (running > 0) {
    int still, readded = 0;
    CURLMcode mc = curl_multi_perform(multi, &still);
    if (mc != CURLM_OK) {
      fprintf(stderr, "sam_cycles: %s\n", curl_multi_strerror(mc));
      return 2;
    }
    /* Finished transfers are collected right after perform: polling first would sit out the
     * poll timeout with replies already in hand. */
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left))) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL *e = m->easy_handle;
      CURLcode res = m->data.result;
      char *priv = NULL;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
      client *c = (client *)priv;
      /* Removing and re-adding the handle leaves its connection in the multi's cache. */
      curl_multi_remove_handle(multi, e);
      advance(c, &st, res, deadline);
      if (c->step == STEP_DONE) {
        running--;
      } else {
        prepare(c, &o);
        curl_multi_add_handle(multi, e);
        readded = 1;
      }
    }
    /* Re-added handles need a perform to send their requests, not a wait. */
    if (!readded && running > 0 && (mc = curl_multi_poll(multi, NULL, 0, 100, NULL)) != CURLM_OK) {
      fprintf(stderr, "sam_cycles: %s\n", curl_multi_strerror(mc));
      return 2;
    }
  }
  double elapsed = now() - start;

  qsort(st.lat, st.n, sizeof *st.lat, cmp_double);
  printf("url: %s\n", o.url);
  printf("clients: %d\n", o.clients);
  printf("seconds: %.2f\n", elapsed);
  printf("cycles: %zu\n", st.n);
  printf("cycles/s: %.1f\n", (double)st.n / elapsed);
  printf("p50 ms: %.2f\n", percentile_ms(st.lat, st.n, 50));
  printf("p99 ms: %.2f\n", percentile_ms(st.lat, st.n, 99));
  printf("busy retries: %lu\n", st.retries);
  printf("errors: %lu\n", st.errors);
  printf("requests: %lu\n", st.requests);
  printf("connections opened: %ld\n", st.connects);

  for (int i = 0; i < o.clients; i++) {
    curl_easy_cleanup(cl[i].easy);
    free(cl[i].reply.data);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  free(cl);
  free(st.lat);
  return 0;
}
