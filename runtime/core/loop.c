/* loop: curl_multi_perform, then curl_multi_info_read into an intrusive FIFO of exchanges. */
#include "loop.h"

#include "err.h"
#include "http_impl.h"
#include "sig.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

struct tt_loop {
  CURLM *multi;
  tt_http *running;     /* doubly linked, in no order */
  tt_http *head, *tail; /* finished, oldest first */
  size_t nrunning, nqueued;
};

double tt_loop_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tt_loop_asyncdns(void)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  return v && (v->features & CURL_VERSION_ASYNCHDNS) != 0;
}

int tt_loop_new(tt_loop **out)
{
  *out = NULL;
  if (curl_global_init(CURL_GLOBAL_DEFAULT)) return TT_E_NOMEM;
  tt_loop *l = calloc(1, sizeof *l);
  if (l) l->multi = curl_multi_init();
  if (!l || !l->multi) {
    free(l);
    curl_global_cleanup();
    return TT_E_NOMEM;
  }
  *out = l;
  return 0;
}

/* ---- lists --------------------------------------------------------------------------------- */

static void unlink_running(tt_loop *l, tt_http *h)
{
  if (h->prev)
    h->prev->next = h->next;
  else
    l->running = h->next;
  if (h->next) h->next->prev = h->prev;
  h->prev = h->next = NULL;
  l->nrunning--;
}

static void unlink_queued(tt_loop *l, tt_http *h)
{
  if (h->prev)
    h->prev->next = h->next;
  else
    l->head = h->next;
  if (h->next)
    h->next->prev = h->prev;
  else
    l->tail = h->prev;
  h->prev = h->next = NULL;
  l->nqueued--;
}

static void enqueue(tt_loop *l, tt_http *h)
{
  h->state = TT_HTTP_QUEUED;
  h->next = NULL;
  h->prev = l->tail;
  if (l->tail)
    l->tail->next = h;
  else
    l->head = h;
  l->tail = h;
  l->nqueued++;
}

/* ---- exchanges ----------------------------------------------------------------------------- */

int tt_loop_add(tt_loop *l, tt_http *h)
{
  if (!l || !h || h->state != TT_HTTP_NEW || h->loop || !h->easy) return TT_E_INVAL;
  CURLMcode mc = curl_multi_add_handle(l->multi, h->easy);
  if (mc) return mc == CURLM_OUT_OF_MEMORY ? TT_E_NOMEM : TT_E_INVAL;
  h->loop = l;
  h->state = TT_HTTP_RUNNING;
  h->prev = NULL;
  h->next = l->running;
  if (l->running) l->running->prev = h;
  l->running = h;
  l->nrunning++;
  /* Send it now, not at the next step: a caller that starts the next page before handling
   * the one it holds (Query:rows, q:write) may not step again until that is done. What
   * finishes meanwhile is taken from libcurl by the next step, as ever. */
  int running;
  curl_multi_perform(l->multi, &running);
  return 0;
}

/* Take a running exchange out of libcurl's hands. */
static void stop(tt_loop *l, tt_http *h, const char *why)
{
  curl_multi_remove_handle(l->multi, h->easy);
  unlink_running(l, h);
  tt_http_abandon(h, TT_E_CANCELLED, why);
}

void tt_loop_cancel(tt_http *h)
{
  if (!h || !h->loop || h->state != TT_HTTP_RUNNING) return;
  stop(h->loop, h, "cancelled");
  enqueue(h->loop, h);
}

void tt_loop_forget(tt_http *h)
{
  if (!h || !h->loop) return;
  if (h->state == TT_HTTP_RUNNING)
    stop(h->loop, h, "cancelled");
  else if (h->state == TT_HTTP_QUEUED)
    unlink_queued(h->loop, h);
  h->loop = NULL;
  h->state = TT_HTTP_DONE;
}

void tt_loop_free(tt_loop **lp)
{
  if (!lp || !*lp) return;
  tt_loop *l = *lp;
  *lp = NULL;
  while (l->running) {
    tt_http *h = l->running;
    stop(l, h, "the loop was closed");
    h->loop = NULL;
    h->state = TT_HTTP_DONE;
  }
  while (l->head) tt_loop_forget(l->head);
  curl_multi_cleanup(l->multi);
  free(l);
  curl_global_cleanup();
}

/* ---- driving ------------------------------------------------------------------------------- */

static void drain(tt_loop *l)
{
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(l->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    /* m does not survive curl_multi_remove_handle: copy what we need first. */
    CURL *e = m->easy_handle;
    CURLcode code = m->data.result;
    char *p = NULL;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
    tt_http *h = (tt_http *)p;
    curl_multi_remove_handle(l->multi, e);
    unlink_running(l, h);
    tt_http_complete(h, code);
    enqueue(l, h);
  }
}

static int multi_error(CURLMcode mc)
{
  return mc == CURLM_OUT_OF_MEMORY ? TT_E_NOMEM : TT_E_INVAL;
}

int tt_loop_step(tt_loop *l, double timeout)
{
  double deadline = tt_loop_now() + (timeout > 0 ? timeout : 0);
  long sig0 = tt_sig_count();
  for (;;) {
    int running;
    CURLMcode mc = curl_multi_perform(l->multi, &running);
    if (mc) return multi_error(mc);
    drain(l);
    if (l->head) return l->nqueued > INT_MAX ? INT_MAX : (int)l->nqueued;
    if (tt_sig_count() != sig0) return 0;
    double left = deadline - tt_loop_now();
    if (left <= 0) return 0;
    int ms = left * 1000 >= INT_MAX - 1 ? INT_MAX - 1 : (int)(left * 1000) + 1;
    /* The read end of the signal self-pipe wakes the poll: a signal handler may not call
     * curl_multi_wakeup. */
    struct curl_waitfd w = {.fd = tt_sig_fd(), .events = CURL_WAIT_POLLIN, .revents = 0};
    mc = curl_multi_poll(l->multi, w.fd >= 0 ? &w : NULL, w.fd >= 0 ? 1 : 0, ms, NULL);
    if (mc) return multi_error(mc);
    if (w.revents) tt_sig_drain();
  }
}

tt_http *tt_loop_pop(tt_loop *l)
{
  tt_http *h = l->head;
  if (!h) return NULL;
  unlink_queued(l, h);
  h->loop = NULL;
  h->state = TT_HTTP_DONE;
  return h;
}

size_t tt_loop_pending(const tt_loop *l)
{
  return l->nrunning + l->nqueued;
}
