/* stats: count the exchanges the gateway answers, per transaction. Benchmarks read them to
 * tell how many round trips a client needed, which the client cannot be trusted to say. */
#include "stats.h"

#include <string.h>

static const char *const names[GW_STATS_N] = {
    "login",  "logout", "query",     "getdata",   "querydata", "tabinfo",   "dir",
    "getuid", "reluid", "flushpool", "resetpool", "warmpool",  "samstatus", "other"};

void gw_stats_count(gw_stats *st, const char *api)
{
  size_t i = 0;
  while (i < GW_STATS_N - 1 && !(api && strcmp(api, names[i]) == 0)) i++;
  atomic_fetch_add_explicit(&st->n[i], 1, memory_order_relaxed);
}

/* A snapshot and its total; concurrent requests may land between two loads, which is fine
 * for counters read by people and benchmarks. */
static unsigned long snapshot(gw_stats *st, unsigned long *v)
{
  unsigned long total = 0;
  for (size_t i = 0; i < GW_STATS_N; i++)
    total += v[i] = atomic_load_explicit(&st->n[i], memory_order_relaxed);
  return total;
}

void gw_stats_xml(gw_stats *st, gw_buf *b)
{
  unsigned long v[GW_STATS_N];
  gw_buf_printf(b, "<exchanges total=\"%lu\"", snapshot(st, v));
  for (size_t i = 0; i < GW_STATS_N; i++) gw_buf_printf(b, " %s=\"%lu\"", names[i], v[i]);
  gw_buf_puts(b, "/>");
}

void gw_stats_line(gw_stats *st, FILE *f)
{
  unsigned long v[GW_STATS_N];
  char line[512];
  int n = snprintf(line, sizeof line, "tt-gateway: exchanges: total=%lu", snapshot(st, v));
  for (size_t i = 0; i < GW_STATS_N && n > 0 && (size_t)n < sizeof line; i++)
    n += snprintf(line + n, sizeof line - (size_t)n, " %s=%lu", names[i], v[i]);
  fprintf(f, "%s\n", line);
}
