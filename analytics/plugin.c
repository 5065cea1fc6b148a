/* The cwanalytics plugin (issue 6): registers every cw* element. Loaded by
 * gst-launch-1.0 and friends with GST_PLUGIN_PATH=<build>/analytics;
 * cw-analyze registers cwtraffic statically instead. */
#include <gst/gst.h>

#include "gstcwtraffic.h"

#ifndef CW_VERSION
#define CW_VERSION "0.0.0"
#endif
#define PACKAGE "citywatch"

static gboolean
plugin_init(GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER(cwtraffic, plugin);
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, cwanalytics, "citywatch traffic analytics",
                  plugin_init, CW_VERSION, "Proprietary", "citywatch", "https://citywatch.invalid/")
