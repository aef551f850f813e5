/*
 * gateway: the state one tt-gateway process shares between its request threads.
 *
 * Locking: `lock` guards the session slots, every session's refs, and the SAM pools. It is
 * never held while SQL runs. A session's own `lock` serializes the requests on that session
 * (the platform runs one transaction per session at a time) and guards its current result.
 * Order: a thread holding a session lock may take the gateway lock, never the reverse.
 */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "config.h"
#include "sam.h"
#include "session.h"
#include "stats.h"
#include "store.h"
#include "throttle.h"

typedef struct gw_macro gw_macro;

struct gw_gateway {
  gw_config cfg;
  pthread_mutex_t lock;
  gw_session **sessions; /* one slot per user: an ID has at most one platform session */
  gw_sam_group *pools;   /* one per configured group, same order */
  sqlite3 *db;           /* catalog connection for housekeeping, under lock */
  gw_macro *macro;
  gw_throttle *throttle; /* failed-login holds per uid and per client address */
  int gc_wanted;         /* a session ended since the last store gc */
  int gc_running;        /* a gc is dropping versions: no session may take its generation now */
  pthread_cond_t gc_done;
  gw_session *graveyard; /* sessions with no reference left, freed by gw_sess_reap */
  gw_stats stats;        /* exchanges answered, per transaction (atomic, no lock) */
};

double gw_now(void); /* monotonic seconds */
double gw_wallclock(void);

int gw_gateway_init(gw_gateway *gw, char *err, size_t errlen); /* after cfg is loaded */
void gw_gateway_free(gw_gateway *gw);
/* Idle timeouts, reserved holds, and dropping table versions no session needs. */
void gw_gateway_tick(gw_gateway *gw);

/* Pool of the user if it is a member, with its member index. */
gw_sam_group *gw_member_pool(gw_gateway *gw, size_t user, size_t *member);

#endif
