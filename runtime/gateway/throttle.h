/*
 * throttle: holds on logins after repeated failures, per user id and per client address.
 *
 * Each key (a uid, or an address) counts its failed password checks. From the `failures`-th
 * failure in a row on, every failure puts the key on hold for `first` seconds, then twice that,
 * four times, ... up to `hold`
 * seconds; while a key is held its logins are refused without looking at the password. A
 * success of a uid clears that uid and the address it came from; a key with no failure for
 * `hold` seconds after its last hold is forgotten. The table has a fixed size: when it is full
 * the stalest key nearby gives way. Thread-safe (one mutex), the clock passed in.
 */
#ifndef GW_THROTTLE_H
#define GW_THROTTLE_H

typedef struct gw_throttle gw_throttle;

/* NULL when out of memory or the kernel gives no random bytes (the table's hash key). */
gw_throttle *gw_throttle_new(int failures, double first, double hold);
void gw_throttle_free(gw_throttle *t);
/* Seconds left before uid or addr (either may be NULL) may try again; 0 when neither is held. */
double gw_throttle_held(gw_throttle *t, const char *uid, const char *addr, double now);
void gw_throttle_failed(gw_throttle *t, const char *uid, const char *addr, double now);
void gw_throttle_succeeded(gw_throttle *t, const char *uid, const char *addr, double now);

#endif
