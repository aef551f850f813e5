/* loop: the event loop of one Lua state: a libcurl multi handle driven with curl_multi_poll,
 * and a queue of finished exchanges that the caller drains after each step. Nothing outside
 * libcurl runs inside libcurl's callbacks: completions only enter the queue. */
#ifndef TT_LOOP_H
#define TT_LOOP_H

#include "http.h"

#include <stddef.h>

typedef struct tt_loop tt_loop;

int tt_loop_new(tt_loop **out);
/* Exchanges still running end as TT_E_CANCELLED and are detached (their owners free them). */
void tt_loop_free(tt_loop **lp);

/* Start an exchange (state NEW): the request goes out at once, as far as libcurl can take it
 * without waiting; it still finishes only in a tt_loop_step. After a failure the exchange is
 * untouched and will never complete. */
int tt_loop_add(tt_loop *l, tt_http *h);
/* Stop a running exchange: it ends as TT_E_CANCELLED and joins the completion queue. No-op
 * for an exchange that has already finished. */
void tt_loop_cancel(tt_http *h);

/* Drive the transfers for at most `timeout` seconds (0: only what is ready now), returning as
 * soon as the completion queue is not empty, or early when a signal counted by tt_sig_* came
 * in. Returns the queue length (>= 0) or a TT_E_* code. Not re-entered from callbacks, so it
 * may be called again as soon as it returns, from anywhere. */
int tt_loop_step(tt_loop *l, double timeout);
/* The oldest finished exchange (now DONE), or NULL. */
tt_http *tt_loop_pop(tt_loop *l);
/* Exchanges started and not yet popped or forgotten. */
size_t tt_loop_pending(const tt_loop *l);

/* Monotonic seconds. */
double tt_loop_now(void);
/* Whether libcurl resolves host names without blocking. */
int tt_loop_asyncdns(void);

#endif
