/* demo: the deterministic demo tables (pub.demo.retail.item, pub.demo.weather.*). */
#ifndef GW_DEMO_H
#define GW_DEMO_H

#include <sqlite3.h>
#include <stddef.h>

/* Write all demo tables as new versions. scale 1.0 gives about one million rows of
 * pub.demo.weather.hourly90; 0.01 about ten thousand. Same scale, same bytes. */
int gw_demo_write(sqlite3 *db, double scale, char *err, size_t errlen);

#endif
