/*
 * fuzz_xml: what the targets that read XML share. libFuzzer's initializer (a target including
 * this gets it from here): libxml2 set up with its messages silenced, since a finding is an
 * abort, not a line on stderr; and the check every gateway reply must pass whatever the input
 * held: a well-formed document whose root is <out>.
 */
#ifndef TT_FUZZ_XML_H
#define TT_FUZZ_XML_H

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_xml_quiet(void *ctx, const char *msg, ...)
{
  (void)ctx;
  (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  xmlInitParser();
  xmlSetGenericErrorFunc(NULL, fuzz_xml_quiet);
  return 0;
}

/* Abort, showing the reply, unless xml[0..len) is a well-formed <out> document. */
static void fuzz_xml_check_out(const char *target, const char *xml, size_t len)
{
  xmlDocPtr doc = xmlReadMemory(xml, (int)len, "out.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
  if (!root || strcmp((const char *)root->name, "out") != 0) {
    fprintf(stderr, "%s: the reply is not a well-formed <out> document:\n%.*s\n", target, (int)len,
            xml);
    abort();
  }
  xmlFreeDoc(doc);
}

#endif
