/* Bulk camera onboarding: CSV text in, validated camera specs out.
 *
 * A pure function over a buffer (no I/O), so tests and fuzzers call it
 * directly. The header names the columns, in any order: name, url,
 * username, password, lat, lon, road, direction, tags are required;
 * substream_url, enabled and transport are optional. Every problem is reported, one
 * per line, as "SOURCE:LINE: field: reason", with the physical line where
 * the row starts. Passwords never appear in a problem. */
#ifndef CW_CAMERA_IMPORT_H
#define CW_CAMERA_IMPORT_H

#include <glib.h>

#define CW_IMPORT_MAX_ROWS 100000
#define CW_IMPORT_MAX_PROBLEMS 1000

/* Appends a cw_camera_spec_t* per good row to specs (which should free
 * them with cw_camera_spec_free) and its line to lines (guint), problems to
 * problems. Returns the number of problems; the caller must import nothing
 * unless it is 0. */
guint cw_camera_import_parse(const char *source, const char *buf, gsize len, GPtrArray *specs,
                             GArray *lines, GString *problems);

/* GDestroyNotify for the specs array. */
void cw_camera_spec_free(gpointer spec);

#endif
