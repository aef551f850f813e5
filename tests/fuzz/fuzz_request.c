/*
 * fuzz_request: libFuzzer target for the request parser. One input is one request body:
 * parsed as the HTTP layer would (gw_req_parse_body), its <ops> serialized and its child
 * text read as the transactions do, and the reply carrying the parser's message rendered and
 * read back, since every reply must be well-formed XML whatever the body held.
 */
#include "fuzz_xml.h"
#include "request.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  gw_request rq = {0};
  gw_reply rp = {0};
  char err[512] = "";
  if (gw_req_parse_body(&rq, (const char *)data, size, err, sizeof err) == 0) {
    if (rq.in) {
      char *ops = NULL;
      int rc = gw_req_ops(rq.in, &ops, err, sizeof err);
      free(ops);
      char *name = gw_req_child_text(rq.in, "name");
      char *sep = gw_req_child_raw(gw_req_child(rq.in, "format"), "sep");
      gw_reply_set(&rp, rc, "%s", rc ? err : (name ? name : ""));
      free(name);
      free(sep);
    }
  } else {
    gw_reply_set(&rp, 2, "%s", err);
  }
  gw_req_free(&rq);
  size_t len;
  char *xml = gw_reply_render(&rp, &len);
  gw_reply_free(&rp);
  if (xml) {
    fuzz_xml_check_out("fuzz_request", xml, len);
    free(xml);
  }
  return 0;
}
