/*
 * demo: writes the demo tables the gateway ships with (pub.demo.weather.stations,
 * pub.demo.weather.hourly90, pub.demo.retail.item) as new versions. Everything comes from a
 * fixed-seed generator, so the same scale always gives the same rows.
 */
#include "demo.h"
#include "store.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- randomness ----------------------------------------------------------------------------- */

/* splitmix64: tiny, fast and good enough for made-up data, and it takes any seed, so each
 * station can have its own stream (its rows then do not depend on how many stations exist). */
typedef struct rng {
  uint64_t s;
} rng;

static uint64_t next64(rng *r)
{
  uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double unif(rng *r)
{
  return (double)(next64(r) >> 11) * 0x1.0p-53;
}

/* Uniform in 0..n-1; the modulo bias is far below anything visible in demo data. */
static int below(rng *r, int n)
{
  return (int)(next64(r) % (uint64_t)n);
}

/* Roughly standard normal: a sum of four uniforms, rescaled. Only + and *, so it gives the
 * same bits everywhere, unlike Box-Muller's log and cos. */
static double gauss(rng *r)
{
  double s = unif(r) + unif(r) + unif(r) + unif(r);
  return (s - 2.0) * 1.7320508075688772;
}

/* ---- dates ------------------------------------------------------------------------------- */

static int leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* YYYYMMDD of the day `d` days after January 1 of year y. */
static int ymd_after(int y, int d)
{
  while (d >= (leap(y) ? 366 : 365)) d -= leap(y++) ? 366 : 365;
  int m = 1;
  while (d >= month_days(y, m)) d -= month_days(y, m++);
  return y * 10000 + m * 100 + d + 1;
}

static long rows_for(double scale, double base, long least)
{
  long n = lround(base * scale);
  return n < least ? least : n;
}

/* ---- weather stations ------------------------------------------------------------------ */

typedef struct region {
  const char *code;
  double lat, lon;    /* centre of the area stations are scattered over */
  double elev, delev; /* metres: typical, spread */
  double dry;         /* extra dew point depression, C: the arid West is dry */
} region;

/* The first four come first so even the smallest demo has stations in them. */
static const region regions[] = {
    {"NY", 42.9, -75.5, 300, 250, 0},   {"NJ", 40.2, -74.6, 60, 60, 0},
    {"CA", 36.8, -119.8, 400, 600, 4},  {"TX", 31.2, -99.0, 350, 300, 3},
    {"FL", 28.2, -82.0, 15, 15, 0},     {"IL", 40.0, -89.2, 200, 60, 0},
    {"WA", 47.4, -120.5, 450, 400, 2},  {"CO", 39.0, -105.5, 1900, 500, 6},
    {"AZ", 34.2, -111.7, 1000, 600, 9}, {"MA", 42.3, -71.8, 100, 80, 0},
    {"PA", 40.9, -77.8, 350, 200, 0},   {"OH", 40.3, -82.8, 270, 60, 0},
    {"GA", 32.7, -83.4, 200, 150, 0},   {"MN", 46.3, -94.3, 350, 100, 1},
    {"NC", 35.5, -79.4, 250, 250, 0},   {"MI", 44.3, -85.4, 250, 80, 0},
};
#define NREGIONS (sizeof regions / sizeof regions[0])

static const char *const syl_first[] = {"Ash", "Bel", "Cal", "Dun", "El",   "Fair", "Glen", "Har",
                                        "Ing", "Ken", "Lin", "Mar", "New",  "Oak",  "Pen",  "Quin",
                                        "Ros", "Sal", "Tam", "Ver", "West", "Yar"};
static const char *const syl_mid[] = {"", "", "", "a", "er", "en", "i", "o", "ing", "ley"};
static const char *const syl_last[] = {"ton",   "ville", "field", "burg", "port",  "dale",  "ford",
                                       "ridge", "wood",  "haven", "mont", "brook", "crest", "view"};
static const char *const place_kind[] = {" Airport", " Municipal Airport", " Regional", " Center"};
#define PICK(r, a) (a[below(r, (int)(sizeof a / sizeof a[0]))])

typedef struct station {
  char id[16];
  char name[64];
  const char *state;
  double lat, lon;
  int elev, elev_na;
  /* climate, used for hourly90 */
  double mean, amp, range, dry, pwet;
} station;

static void make_station(station *st, int k)
{
  rng r = {0x5747a710u + (uint64_t)k * 7919u};
  const region *g = k < (int)NREGIONS ? &regions[k] : &regions[below(&r, (int)NREGIONS)];
  snprintf(st->id, sizeof st->id, "ST%04d", k + 1);
  const char *kind = unif(&r) < 0.35 ? PICK(&r, place_kind) : "";
  snprintf(st->name, sizeof st->name, "%s%s%s%s", PICK(&r, syl_first), PICK(&r, syl_mid),
           PICK(&r, syl_last), kind);
  st->state = g->code;
  /* Rounded through integers so the stored doubles are the same on every machine. */
  st->lat = (double)llround((g->lat + (unif(&r) - 0.5) * 3.0) * 10000) / 10000;
  st->lon = (double)llround((g->lon + (unif(&r) - 0.5) * 5.0) * 10000) / 10000;
  double e = g->elev + g->delev * gauss(&r);
  st->elev = e < 2 ? 2 : (int)llround(e);
  st->elev_na = unif(&r) < 0.05;
  /* A plausible climate: warmer south and low, bigger seasons north. */
  st->mean = 27.0 - 0.75 * (st->lat - 25.0) - 0.0065 * st->elev;
  st->amp = 4.0 + 0.5 * (st->lat - 25.0);
  st->range = 6.0 + 6.0 * unif(&r) + g->dry * 0.6;
  st->dry = 2.0 + 3.0 * unif(&r) + g->dry;
  st->pwet = (0.12 + 0.15 * unif(&r)) * (1.0 - g->dry / 12.0);
}

static gw_column station_cols[] = {
    {"id", 'a', NULL, "Station ID", 0},
    {"name", 'a', NULL, "Station Name", 0},
    {"state", 'a', NULL, "State", 0},
    {"lat", 'f', "type:num;dec:4", "Latitude", 0},
    {"lon", 'f', "type:num;dec:4", "Longitude", 0},
    {"elev", 'i', "type:nocommas", "Elevation (m)", 0},
};

static int write_stations(sqlite3 *db, const station *sts, long n, char *err, size_t errlen)
{
  gw_store_writer *w;
  int rc = gw_store_begin(db, "pub.demo.weather.stations", "Weather Stations", station_cols,
                          sizeof station_cols / sizeof station_cols[0], &w, err, errlen);
  if (rc) return rc;
  sqlite3_stmt *ins = gw_store_row(w);
  for (long k = 0; k < n && !rc; k++) {
    const station *st = &sts[k];
    sqlite3_bind_text(ins, 1, st->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, st->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, st->state, -1, SQLITE_STATIC);
    sqlite3_bind_double(ins, 4, st->lat);
    sqlite3_bind_double(ins, 5, st->lon);
    if (!st->elev_na) sqlite3_bind_int(ins, 6, st->elev);
    rc = gw_store_next(w, err, errlen);
  }
  if (rc) {
    gw_store_abort(w);
    return rc;
  }
  return gw_store_commit(w, err, errlen);
}

/* ---- hourly weather, 1990 ---------------------------------------------------------------- */

static gw_column hourly_cols[] = {
    {"id", 'a', NULL, "Station ID", 0},
    {"date", 'i', "type:date", "Date", 0},
    {"hour", 'i', NULL, "Hour", 0},
    {"temp", 'f', "type:num;dec:1", "Dry Bulb Temp (Celsius)", 0},
    {"dewpt", 'f', "type:num;dec:1", "Dew Point Temp (Celsius)", 0},
    {"rain", 'f', "type:num;dec:1", "Precipitation (mm)", 0},
};

static int write_hourly(sqlite3 *db, const station *sts, long n, char *err, size_t errlen)
{
  /* cos() is looked up once per day and hour rather than per row; coldest around Jan 18,
   * warmest hour 15:00. Values are rounded to tenths, which hides libm's last-bit choices. */
  const double pi = 3.14159265358979323846;
  double season[365], diurnal[24];
  int dates[365];
  for (int d = 0; d < 365; d++) {
    season[d] = cos(2 * pi * (d - 17) / 365.0);
    dates[d] = ymd_after(1990, d);
  }
  for (int h = 0; h < 24; h++) diurnal[h] = cos(2 * pi * (h - 15) / 24.0);

  gw_store_writer *w;
  int rc = gw_store_begin(db, "pub.demo.weather.hourly90", "Hourly U.S. Weather (1990)",
                          hourly_cols, sizeof hourly_cols / sizeof hourly_cols[0], &w, err, errlen);
  if (rc) return rc;
  sqlite3_stmt *ins = gw_store_row(w);
  for (long k = 0; k < n && !rc; k++) {
    const station *st = &sts[k];
    rng r = {0x1990u * 1000003u + (uint64_t)k};
    double anom = 0, noise = 0;
    int wet = 0;
    for (int d = 0; d < 365 && !rc; d++) {
      /* Weather systems: a daily anomaly that persists, and wet spells. */
      anom = 0.7 * anom + 2.2 * gauss(&r);
      wet = unif(&r) < (wet ? 0.55 : st->pwet);
      double dep_day = st->dry + 1.5 * gauss(&r);
      if (dep_day < 0.5) dep_day = 0.5;
      if (wet) dep_day *= 0.3;
      double base = st->mean - st->amp * season[d] + anom;
      double half = 0.5 * st->range * (wet ? 0.5 : 1.0);
      for (int h = 0; h < 24 && !rc; h++) {
        noise = 0.8 * noise + 0.45 * gauss(&r);
        double diur = half * diurnal[h];
        long long t10 = llround((base + diur + noise) * 10);
        /* Drier air in the afternoon; dew point never above the temperature. */
        double dep = dep_day + 0.4 * (diur + half) + 0.3 * fabs(gauss(&r));
        long long d10 = t10 - llround(dep * 10);
        double u = unif(&r), amount = unif(&r);
        sqlite3_bind_text(ins, 1, st->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 2, dates[d]);
        sqlite3_bind_int(ins, 3, h);
        sqlite3_bind_double(ins, 4, (double)t10 / 10);
        sqlite3_bind_double(ins, 5, (double)d10 / 10);
        /* ~1% of readings are missing (left unbound: N/A); rain falls in some wet hours. */
        if (u >= 0.01) {
          long long r10 = wet && u < 0.3 ? llround((0.1 + 6.0 * amount * amount * amount) * 10) : 0;
          sqlite3_bind_double(ins, 6, (double)r10 / 10);
        }
        rc = gw_store_next(w, err, errlen);
      }
    }
  }
  if (rc) {
    gw_store_abort(w);
    return rc;
  }
  return gw_store_commit(w, err, errlen);
}

/* ---- retail sales items --------------------------------------------------------------- */

static gw_column item_cols[] = {
    {"date", 'i', "type:date", "Date", 0},
    {"transid", 'i', "type:nocommas", "Transaction ID", 0},
    {"sku", 'i', "type:nocommas", "SKU", 0},
    {"store", 'i', NULL, "Store", 0},
    {"account", 'i', "type:nocommas", "Customer Account", 0},
    {"sales", 'f', "type:num;dec:2", "Sales", 0},
    {"cost", 'f', "type:num;dec:2", "Cost", 0},
};

#define NSKU        2000
#define RETAIL_DAYS 1461 /* 2011-01-01 .. 2014-12-31 */

static int write_items(sqlite3 *db, long n, char *err, size_t errlen)
{
  /* Each SKU has a fixed shelf price (x.99) and margin, so repeated sales of it agree. */
  int price[NSKU], margin[NSKU];
  rng pr = {0x5c0ffeeu};
  for (int i = 0; i < NSKU; i++) {
    price[i] = (1 + below(&pr, 50)) * 100 - 1;
    margin[i] = 45 + below(&pr, 30);
  }
  long ncust = n / 8 < 100 ? 100 : n / 8;

  gw_store_writer *w;
  int rc = gw_store_begin(db, "pub.demo.retail.item", "Sales Item Detail", item_cols,
                          sizeof item_cols / sizeof item_cols[0], &w, err, errlen);
  if (rc) return rc;
  sqlite3_stmt *ins = gw_store_row(w);
  rng r = {0x2011u};
  int transid = 0, left = 0, date = 0, store = 0, account = 0;
  for (long row = 0; row < n && !rc; row++) {
    if (left == 0) {
      /* A new basket; days advance evenly with the row number, so dates are in order. */
      transid++;
      left = 1 + below(&r, 6);
      date = ymd_after(2011, (int)(row * RETAIL_DAYS / n));
      double s = unif(&r);
      store = s < 0.45 ? 1 : s < 0.8 ? 2 : 3;
      account = 1000001 + (int)(ncust * unif(&r));
    }
    left--;
    double p = unif(&r);
    int sku = (int)(NSKU * p * p); /* low SKUs sell most */
    int qty = unif(&r) < 0.2 ? 2 + below(&r, 3) : 1;
    long long cents = (long long)price[sku] * qty;
    if (unif(&r) < 0.15) cents = cents * 4 / 5; /* on sale */
    long long cost = llround((double)cents * margin[sku] / 100);
    int cost_na = unif(&r) < 0.02;
    sqlite3_bind_int(ins, 1, date);
    sqlite3_bind_int(ins, 2, 100000 + transid);
    sqlite3_bind_int(ins, 3, 100001 + sku);
    sqlite3_bind_int(ins, 4, store);
    sqlite3_bind_int(ins, 5, account);
    sqlite3_bind_double(ins, 6, (double)cents / 100);
    if (!cost_na) sqlite3_bind_double(ins, 7, (double)cost / 100);
    rc = gw_store_next(w, err, errlen);
  }
  if (rc) {
    gw_store_abort(w);
    return rc;
  }
  return gw_store_commit(w, err, errlen);
}

/* ---- all of it ---------------------------------------------------------------------------- */

int gw_demo_write(sqlite3 *db, double scale, char *err, size_t errlen)
{
  if (!(scale >= 0 && scale <= 1000)) {
    snprintf(err, errlen, "bad demo scale %g (want 0 to 1000)", scale);
    return GW_STORE_ERR_INPUT;
  }
  long nst = rows_for(scale, 120, 3);
  station *sts = calloc((size_t)nst, sizeof *sts);
  if (!sts) {
    snprintf(err, errlen, "out of memory");
    return GW_STORE_ERR_DB;
  }
  for (long k = 0; k < nst; k++) make_station(&sts[k], (int)k);
  int rc = write_stations(db, sts, nst, err, errlen);
  if (!rc) rc = write_hourly(db, sts, nst, err, errlen);
  if (!rc) rc = write_items(db, rows_for(scale, 50000, 10), err, errlen);
  free(sts);
  return rc;
}
