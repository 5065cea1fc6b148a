/* cwtraffic: traffic analytics on raw video (issue 6). A passthrough
 * GstVideoFilter: buffers go through untouched and undelayed; frames picked
 * at analysis-fps by their timestamps run through cw_analyzer, and each
 * event it reports is posted as a "cw-event" element message (README.md
 * documents its fields). */
#ifndef GST_CW_TRAFFIC_H
#define GST_CW_TRAFFIC_H

#include <gst/gst.h>
#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

#include "analyzer.h"
#include "analytics_config.h"

G_BEGIN_DECLS

#define CW_TYPE_TRAFFIC (cw_traffic_get_type())
G_DECLARE_FINAL_TYPE(CwTraffic, cw_traffic, CW, TRAFFIC, GstVideoFilter)

struct _CwTraffic {
  GstVideoFilter videofilter;

  /* Properties (the object lock guards them; read at start). */
  gchar *config;
  gchar *config_file;
  gint work_width;
  gdouble analysis_fps; /* < 0: the configuration's thresholds.analysis_fps */
  gint64 camera_id;

  /* Streaming state, from start to stop. */
  cw_analytics_config_t *cfg;
  cw_analyzer_t *analyzer;
  GstClockTime interval; /* 0: every frame */
  gint64 last_slot;      /* interval slot of the last analysed frame; -1 none */
  GstClockTime last_ts;  /* stream time of the last frame seen */
  guint64 frames_seen;   /* atomic: read by the application on any thread */
  guint64 frames_analysed;
};

GST_ELEMENT_REGISTER_DECLARE(cwtraffic);

G_END_DECLS

#endif
