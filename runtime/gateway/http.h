/* http: the gateway's HTTP front (libmicrohttpd): routing, bodies, logging. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>

#include "gateway.h"

typedef struct gw_http gw_http;

/* Listen on "HOST:PORT" ("[::1]:PORT" for IPv6; port 0 picks a free one) and serve, holding
 * every reply back latency_ms milliseconds (0: none; a benchmarking aid). On success *url holds
 * "http://HOST:PORT/" with the real port. */
int gw_http_start(gw_gateway *gw, const char *listen, double latency_ms, gw_http **out, char *url,
                  size_t urllen, char *err, size_t errlen);
/* Once a second from the main thread: shut down the connections that have taken longer than
 * connection_timeout to send a request, whatever their pace, with a log line for each. */
void gw_http_tick(gw_http *h);
/* Stop accepting connections; requests in progress go on. */
void gw_http_quiesce(gw_http *h);
void gw_http_stop(gw_http *h);

#endif
