/*
 * fuzz_head: libFuzzer target for the request-head check (head.c). One input is the bytes a
 * client sent first on a connection. A finding is a sanitizer report, a crash, a verdict
 * outside the documented set, an accepted head whose length or Content-Length is impossible,
 * a prefix of an accepted head that is refused (a head arriving in pieces must wait, never
 * be refused early), or a refusal whose reply is not a well-formed <out> document.
 */
#include "fuzz_xml.h"
#include "head.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const long long MAX_BODY = 4194304;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *buf = (const char *)data;
  gw_head h;
  gw_head_check(buf, size, MAX_BODY, &h);
  switch (h.status) {
  case GW_HEAD_MORE:
    return 0;
  case GW_HEAD_OK:
    if (h.len > size || h.len < 4 || memcmp(buf + h.len - 4, "\r\n\r\n", 4) != 0 ||
        h.len > GW_HEAD_MAX_BYTES || h.content_length < 0 || h.content_length > MAX_BODY)
      abort();
    /* Every shorter prefix must still be waiting for more. */
    for (size_t k = h.len - 1; k > 0; k = k > 64 ? k / 2 : k - 1) {
      gw_head p;
      gw_head_check(buf, k, MAX_BODY, &p);
      if (p.status != GW_HEAD_MORE) abort();
    }
    return 0;
  case 400:
  case 411:
  case 413:
  case 414:
  case 431:
  case 505:
    break;
  default:
    abort();
  }
  if (!h.msg[0]) abort();
  size_t len = 0;
  char *reply = gw_head_reply(&h, &len);
  if (!reply) return 0; /* out of memory */
  const char *body = strstr(reply, "\r\n\r\n");
  if (!body) abort();
  body += 4;
  fuzz_xml_check_out("fuzz_head", body, (size_t)(reply + len - body));
  free(reply);
  return 0;
}
