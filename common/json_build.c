#include "json_build.h"

#include "timeutil.h"

void
cw_json_member_string(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  if (value)
    json_builder_add_string_value(b, value);
  else
    json_builder_add_null_value(b);
}

void
cw_json_member_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

void
cw_json_member_time(JsonBuilder *b, const char *name, gint64 us)
{
  char *text = cw_time_format(us);
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, text);
  g_free(text);
}

char *
cw_json_builder_finish(JsonBuilder *b)
{
  JsonNode *root = json_builder_get_root(b);
  char *text = json_to_string(root, FALSE);
  json_node_unref(root);
  g_object_unref(b);
  return text;
}
