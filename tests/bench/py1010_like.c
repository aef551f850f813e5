/*
 * py1010_like: a thread-per-pull client, the way a Python script drives py1010 (one thread and
 * one Session per pull; the Session asks the pool for an ID). Each of PULLS threads, all
 * started at once, does in turn on its own libcurl easy handle (so its connection is reused):
 *
 *   getuid as the group's owner, again every WAIT seconds while the answer is rc 38 (busy);
 *   login of the member with kill=possess; query (one sel on the row key, as client_pulls.lua);
 *   getdata over windows of PAGE_ROWS rows (<rows mode="2">) until ROWS rows are in; reluid.
 *
 * py1010's own wait between busy getuids is 10 s (Session(..., wait=10)); the benchmark passes
 * its own. Replies are read with strstr and rows counted by their <tr>: a load generator, not a
 * client library.
 *
 * usage: py1010_like URL OWNER PASSWORD GROUP TABLE PULLS ROWS PAGE_ROWS WAIT
 * Prints "key value" lines: seconds, pulls, rows, busy (rc 38 answers), errors. Exit status 1
 * if any pull failed.
 */
#include <curl/curl.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const char *url, *owner, *password, *group, *table;
  long rows, page_rows;
  double wait;
} options;

typedef struct {
  const options *o;
  long k; /* the pull's number, from 0: rows k*ROWS+1 .. (k+1)*ROWS */
  long rows, busy;
  int failed;
  char err[256];
} pull;

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
  buffer *b = ud;
  size_t add = size * n;
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + add + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return 0; /* libcurl fails the transfer */
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

/* One exchange: POST body (may be "") to URL?apiversion=3&QUERY. The reply is in *b. 0, or -1
 * with p->err set. */
static int call(pull *p, CURL *e, buffer *b, const char *query, const char *body)
{
  char url[1024];
  snprintf(url, sizeof url, "%s?apiversion=3&%s", p->o->url, query);
  b->len = 0;
  if (b->data) b->data[0] = '\0';
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  CURLcode rc = curl_easy_perform(e);
  if (rc != CURLE_OK) {
    snprintf(p->err, sizeof p->err, "%s", curl_easy_strerror(rc));
    return -1;
  }
  if (!b->data) {
    snprintf(p->err, sizeof p->err, "empty reply");
    return -1;
  }
  return 0;
}

/* The text of <tag>...</tag> in s into out, or -1. */
static int element(const char *s, const char *tag, char *out, size_t len)
{
  char open[32], close[32];
  snprintf(open, sizeof open, "<%s>", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *a = strstr(s, open), *z;
  if (!a || !(z = strstr(a += strlen(open), close)) || (size_t)(z - a) >= len) return -1;
  memcpy(out, a, (size_t)(z - a));
  out[z - a] = '\0';
  return 0;
}

static int ok(const buffer *b)
{
  return b->data && strstr(b->data, "<rc>0</rc>") != NULL;
}

static int fail(pull *p, const char *step, const buffer *b)
{
  if (!p->err[0])
    snprintf(p->err, sizeof p->err, "%s: %.200s", step, b->data ? b->data : "(no reply)");
  p->failed = 1;
  return -1;
}

static int run_pull(pull *p, CURL *e, buffer *b)
{
  const options *o = p->o;
  char q[1024], body[1024], uid[128], sid[128], pswd[128];
  /* getuid until an ID is free, waiting o->wait between tries */
  snprintf(q, sizeof q, "api=getuid&uid=%s&pswd=%s&gid=%s", o->owner, o->password, o->group);
  for (;;) {
    if (call(p, e, b, q, "")) return fail(p, "getuid", b);
    if (ok(b) && element(b->data, "uid", uid, sizeof uid) == 0) break;
    if (!strstr(b->data, "<rc>38</rc>")) return fail(p, "getuid", b);
    p->busy++;
    struct timespec ts = {(time_t)o->wait, (long)((o->wait - (double)(time_t)o->wait) * 1e9)};
    nanosleep(&ts, NULL);
  }
  snprintf(q, sizeof q, "api=login&uid=%s&pswd=%s&kill=possess", uid, o->password);
  if (call(p, e, b, q, "") || !ok(b) || element(b->data, "sid", sid, sizeof sid) ||
      element(b->data, "pswd", pswd, sizeof pswd))
    return fail(p, "login", b);
  char auth[512];
  snprintf(auth, sizeof auth, "uid=%s&sid=%s&pswd=%s", uid, sid, pswd);
  snprintf(q, sizeof q, "api=query&%s", auth);
  snprintf(body, sizeof body,
           "<in><name>%s</name><ops><sel value=\"i_>%ld &amp; i_<=%ld\"/></ops></in>", o->table,
           p->k * o->rows, (p->k + 1) * o->rows);
  if (call(p, e, b, q, body) || !ok(b)) return fail(p, "query", b);
  snprintf(q, sizeof q, "api=getdata&%s", auth);
  for (long at = 0; at < o->rows;) {
    long end = at + o->page_rows < o->rows ? at + o->page_rows : o->rows;
    snprintf(body, sizeof body, "<in><rows mode=\"2\"><start>%ld</start><end>%ld</end></rows></in>",
             at, end);
    if (call(p, e, b, q, body) || !ok(b)) return fail(p, "getdata", b);
    long n = 0;
    for (const char *s = b->data; (s = strstr(s, "<tr>")); s += 4) n++;
    if (n != end - at) {
      snprintf(p->err, sizeof p->err, "getdata: %ld rows, not %ld", n, end - at);
      return fail(p, "getdata", b);
    }
    p->rows += n;
    at = end;
  }
  snprintf(q, sizeof q, "api=reluid&%s&gid=%s", auth, o->group);
  if (call(p, e, b, q, "") || !ok(b)) return fail(p, "reluid", b);
  return 0;
}

static void *thread_main(void *arg)
{
  pull *p = arg;
  CURL *e = curl_easy_init();
  buffer b = {0};
  if (!e) {
    snprintf(p->err, sizeof p->err, "curl_easy_init failed");
    p->failed = 1;
    return NULL;
  }
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/xml");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 600L);
  run_pull(p, e, &b);
  free(b.data);
  curl_slist_free_all(h);
  curl_easy_cleanup(e);
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc != 10) {
    fprintf(stderr,
            "usage: py1010_like URL OWNER PASSWORD GROUP TABLE PULLS ROWS PAGE_ROWS WAIT\n");
    return 2;
  }
  options o = {argv[1], argv[2],       argv[3],       argv[4],
               argv[5], atol(argv[7]), atol(argv[8]), atof(argv[9])};
  long npulls = atol(argv[6]);
  if (npulls <= 0 || o.rows <= 0 || o.page_rows <= 0 || o.wait < 0) {
    fprintf(stderr, "py1010_like: PULLS, ROWS and PAGE_ROWS must be above 0, WAIT not below\n");
    return 2;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT)) return 1;
  pull *pulls = calloc((size_t)npulls, sizeof *pulls);
  pthread_t *threads = calloc((size_t)npulls, sizeof *threads);
  if (!pulls || !threads) return 1;
  double t0 = now();
  long started = 0;
  for (long k = 0; k < npulls; k++) {
    pulls[k].o = &o;
    pulls[k].k = k;
    if (pthread_create(&threads[k], NULL, thread_main, &pulls[k])) {
      snprintf(pulls[k].err, sizeof pulls[k].err, "pthread_create failed");
      pulls[k].failed = 1;
      break;
    }
    started++;
  }
  for (long k = 0; k < started; k++) pthread_join(threads[k], NULL);
  double seconds = now() - t0;
  long rows = 0, busy = 0, errors = 0;
  for (long k = 0; k < npulls; k++) {
    rows += pulls[k].rows;
    busy += pulls[k].busy;
    if (pulls[k].failed || k >= started) {
      if (errors++ < 3) fprintf(stderr, "py1010_like: pull %ld: %s\n", k, pulls[k].err);
    }
  }
  printf("seconds %.6f\npulls %ld\nrows %ld\nbusy %ld\nerrors %ld\n", seconds, npulls, rows, busy,
         errors);
  free(pulls);
  free(threads);
  curl_global_cleanup();
  return errors ? 1 : 0;
}
