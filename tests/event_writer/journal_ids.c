/* journal_ids DIR: prints every event an event journal holds, one a line
 * ("id kind camera_id"), in journal order. For tests that kill a producer: what the journal
 * held at the kill counts as accepted and must reach the table once the
 * producer is back. Opens the journal as the writer would (a torn tail is
 * cut), so only run it while no writer owns DIR. */
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "journal.h"

static void
print_event(JsonNode *node)
{
  JsonObject *e = JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
  if (!e)
    return;
  printf("%s %s %" G_GINT64_FORMAT "\n", json_object_get_string_member_with_default(e, "id", "?"),
         json_object_get_string_member_with_default(e, "kind", "?"),
         json_object_get_int_member_with_default(e, "camera_id", 0));
}

/* A record holds one event (an object) or several (an array of them). */
static int
print_ids(const cw_journal_record_t *r)
{
  JsonParser *p = json_parser_new();
  int rc = 0;
  JsonNode *root = json_parser_load_from_data(p, (const char *)r->data, (gssize)r->len, NULL)
                       ? json_parser_get_root(p)
                       : NULL;
  if (root && JSON_NODE_HOLDS_OBJECT(root)) {
    print_event(root);
  } else if (root && JSON_NODE_HOLDS_ARRAY(root)) {
    JsonArray *a = json_node_get_array(root);
    for (guint i = 0; i < json_array_get_length(a); i++)
      print_event(json_array_get_element(a, i));
  } else {
    fprintf(stderr, "journal_ids: record %" G_GUINT64_FORMAT " is not JSON events\n", r->seq);
    rc = -1;
  }
  g_object_unref(p);
  return rc;
}

int
main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: journal_ids DIR\n");
    return 2;
  }
  cw_journal_options_t o = {.dir = argv[1]};
  cw_journal_t *j;
  cw_error_t err;
  if (cw_journal_open(&o, &j, &err) < 0) {
    fprintf(stderr, "journal_ids: %s\n", err.msg);
    return 1;
  }
  cw_journal_stats_t st;
  cw_journal_stats(j, &st);
  int rc = 0;
  for (guint64 from = st.first_seq; rc == 0 && from < st.next_seq;) {
    GPtrArray *recs = NULL;
    if (cw_journal_read(j, from, 1000, &recs, &err) < 0) {
      fprintf(stderr, "journal_ids: %s\n", err.msg);
      rc = -1;
      break;
    }
    if (recs->len == 0) {
      g_ptr_array_unref(recs);
      break;
    }
    for (guint i = 0; rc == 0 && i < recs->len; i++)
      rc = print_ids(g_ptr_array_index(recs, i));
    from = ((cw_journal_record_t *)g_ptr_array_index(recs, recs->len - 1))->seq + 1;
    g_ptr_array_unref(recs);
  }
  cw_journal_close(j);
  return rc == 0 ? 0 : 1;
}
