/* Small pieces for building JSON with json-glib, shared by every module
 * that hands rows to PostgreSQL as JSON or writes JSON for people. */
#ifndef CW_JSON_BUILD_H
#define CW_JSON_BUILD_H

#include <json-glib/json-glib.h>

/* "name": value, or null when value is NULL. */
void cw_json_member_string(JsonBuilder *b, const char *name, const char *value);
void cw_json_member_int(JsonBuilder *b, const char *name, gint64 value);
/* "name": "2026-11-29T06:37:00.123456Z" (cw_time_format). */
void cw_json_member_time(JsonBuilder *b, const char *name, gint64 us);
/* The builder's JSON as compact text (a new string); unrefs the builder. */
char *cw_json_builder_finish(JsonBuilder *b);

#endif
