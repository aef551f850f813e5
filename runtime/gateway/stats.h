/* stats: exchanges answered, per transaction, for samstatus and the stop line. */
#ifndef GW_STATS_H
#define GW_STATS_H

#include <stdatomic.h>
#include <stdio.h>

#include "buf.h"

/* The transactions by name, then "other" (no api, an unknown one, a wrong path or method). */
#define GW_STATS_N 14

/* Atomic counters: every request thread adds to them without a lock. Zeroed memory is a valid
 * start (the gateway struct is memset). */
typedef struct gw_stats {
  atomic_ulong n[GW_STATS_N];
} gw_stats;

/* One exchange answered for this api value (NULL or unknown counts as "other"). */
void gw_stats_count(gw_stats *st, const char *api);
/* <exchanges total="N" login="N" ... other="N"/> */
void gw_stats_xml(gw_stats *st, gw_buf *b);
/* "tt-gateway: exchanges: total=N login=N ... other=N\n" in one write. */
void gw_stats_line(gw_stats *st, FILE *f);

#endif
