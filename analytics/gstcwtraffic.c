/* SECTION:element-cwtraffic
 *
 * Traffic analytics on raw video (issue 6): counting lines, congestion and
 * no-stopping zones, wrong-way lanes and picture health, configured by a
 * camera's analytics configuration (JSON, analytics/config.h). Buffers pass
 * through untouched and undelayed; what the analyzer reports is posted as
 * "cw-event" element messages (analytics/README.md has their fields).
 *
 * ## Example launch line
 * |[
 * GST_PLUGIN_PATH=build/analytics gst-launch-1.0 -m filesrc location=cam.mp4 ! decodebin !
 *   videoconvert ! cwtraffic config-file=cam.json ! fakesink
 * ]|
 */
#include "gstcwtraffic.h"

GST_DEBUG_CATEGORY_STATIC(cw_traffic_debug);
#define GST_CAT_DEFAULT cw_traffic_debug

#define DEFAULT_WORK_WIDTH 320
#define DEFAULT_ANALYSIS_FPS -1.0
#define DEFAULT_CAMERA_ID 0

enum {
  PROP_0,
  PROP_CONFIG,
  PROP_CONFIG_FILE,
  PROP_WORK_WIDTH,
  PROP_ANALYSIS_FPS,
  PROP_CAMERA_ID,
  PROP_FRAMES_SEEN,
  PROP_FRAMES_ANALYSED,
};

#define CW_TRAFFIC_CAPS GST_VIDEO_CAPS_MAKE("{ I420, GRAY8 }")

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(CW_TRAFFIC_CAPS));
static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(CW_TRAFFIC_CAPS));

#define cw_traffic_parent_class parent_class
G_DEFINE_TYPE(CwTraffic, cw_traffic, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(cwtraffic, "cwtraffic", GST_RANK_NONE, CW_TYPE_TRAFFIC);

static guint64
ts_ns(gint64 us)
{
  return us > 0 ? (guint64)us * GST_USECOND : 0;
}

/* The analyzer's emit: on the streaming thread, inside transform or the
 * EOS flush. Messages are posted synchronously, so the application sees
 * them in the order the analyzer made them and before EOS. */
static void
post_event(void *opaque, const cw_analytics_event_t *ev)
{
  CwTraffic *self = opaque;
  gint64 camera_id;

  GST_OBJECT_LOCK(self);
  camera_id = self->camera_id;
  GST_OBJECT_UNLOCK(self);

  GstStructure *s = gst_structure_new(
      "cw-event", "kind", G_TYPE_STRING, ev->kind, "phase", G_TYPE_STRING, cw_phase_name(ev->phase),
      "incident", G_TYPE_UINT, ev->incident, "camera-id", G_TYPE_INT64, camera_id, "timestamp",
      G_TYPE_UINT64, ts_ns(ev->ts_us), "start", G_TYPE_UINT64, ts_ns(ev->start_us), "attributes",
      G_TYPE_STRING, ev->attributes != NULL ? ev->attributes : "{}", NULL);
  GST_LOG_OBJECT(self, "%" GST_PTR_FORMAT, s);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* The configuration from config or config-file; FALSE with an element
 * error (the parser's words, which name the member) when it is bad. */
static gboolean
load_config(CwTraffic *self)
{
  gchar *json = NULL, *file = NULL, *text = NULL;
  GError *gerr = NULL;
  cw_error_t err = {0};
  gboolean ok = FALSE;

  GST_OBJECT_LOCK(self);
  json = g_strdup(self->config);
  file = g_strdup(self->config_file);
  GST_OBJECT_UNLOCK(self);

  if (file != NULL && *file != '\0') {
    if (json != NULL && *json != '\0') {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("config and config-file are both set; use one of them"), (NULL));
      goto out;
    }
    if (!g_file_get_contents(file, &text, NULL, &gerr)) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("%s", gerr->message), ("config-file %s", file));
      goto out;
    }
  }
  if (cw_analytics_config_parse(text != NULL ? text : json, text != NULL ? file : "config",
                                &self->cfg, &err) < 0) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", err.msg), (NULL));
    goto out;
  }
  ok = TRUE;
out:
  g_clear_error(&gerr);
  g_free(text);
  g_free(file);
  g_free(json);
  return ok;
}

static gboolean
cw_traffic_start(GstBaseTransform *trans)
{
  CwTraffic *self = CW_TRAFFIC(trans);
  gdouble fps;
  gint work_width;

  if (!load_config(self))
    return FALSE;

  GST_OBJECT_LOCK(self);
  fps = self->analysis_fps;
  work_width = self->work_width;
  self->frames_seen = self->frames_analysed = 0;
  GST_OBJECT_UNLOCK(self);
  if (fps < 0)
    fps = self->cfg->t.analysis_fps;
  self->last_slot = -1;
  self->last_ts = GST_CLOCK_TIME_NONE;
  self->analyzer = cw_analyzer_new(self->cfg, work_width, post_event, self);
  GST_INFO_OBJECT(self, "analysing %s, working width %d", fps > 0 ? "by timestamp" : "every frame",
                  work_width);
  return TRUE;
}

static gboolean
cw_traffic_stop(GstBaseTransform *trans)
{
  CwTraffic *self = CW_TRAFFIC(trans);

  g_clear_pointer(&self->analyzer, cw_analyzer_free);
  g_clear_pointer(&self->cfg, cw_analytics_config_free);
  return TRUE;
}

static gboolean
cw_traffic_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  CwTraffic *self = CW_TRAFFIC(trans);

  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_EOS:
    /* Partial counts and the ends of open incidents go out before EOS. */
    if (self->analyzer != NULL)
      cw_analyzer_flush(self->analyzer);
    break;
  case GST_EVENT_FLUSH_STOP:
    /* A seek: time starts again wherever the new segment says. */
    self->last_slot = -1;
    break;
  default:
    break;
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

/* Stream time of the buffer; a buffer without a timestamp is placed one
 * frame after the last (or at 0). */
static GstClockTime
frame_time(CwTraffic *self, GstBuffer *buf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  GstClockTime t = GST_CLOCK_TIME_NONE;

  if (GST_BUFFER_PTS_IS_VALID(buf))
    t = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  if (!GST_CLOCK_TIME_IS_VALID(t)) {
    GstVideoInfo *info = &GST_VIDEO_FILTER(self)->in_info;
    GstClockTime step = GST_SECOND / 25;
    if (GST_BUFFER_DURATION_IS_VALID(buf))
      step = GST_BUFFER_DURATION(buf);
    else if (info->fps_n > 0 && info->fps_d > 0)
      step = gst_util_uint64_scale_int(GST_SECOND, info->fps_d, info->fps_n);
    t = GST_CLOCK_TIME_IS_VALID(self->last_ts) ? self->last_ts + step : 0;
  }
  return t;
}

static GstFlowReturn
cw_traffic_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame)
{
  CwTraffic *self = CW_TRAFFIC(filter);
  GstClockTime t = frame_time(self, frame->buffer);
  gboolean analyse = TRUE;
  gdouble fps;

  /* Read each frame: the analytics pool lowers and raises the rate of a
   * running element to stay within its CPU budget. */
  GST_OBJECT_LOCK(self);
  fps = self->analysis_fps;
  GST_OBJECT_UNLOCK(self);
  if (fps < 0)
    fps = self->cfg->t.analysis_fps;
  self->interval = fps > 0 ? (GstClockTime)(GST_SECOND / fps) : 0;

  self->last_ts = t;
  if (self->interval > 0) {
    /* One frame per slot of 1/analysis-fps of stream time: the rate holds
     * whatever the input's rate, and a gap costs no burst afterwards. */
    gint64 slot = (gint64)(t / self->interval);
    analyse = slot != self->last_slot;
    if (analyse)
      self->last_slot = slot;
  }

  if (analyse) {
    gboolean grey = GST_VIDEO_FRAME_FORMAT(frame) == GST_VIDEO_FORMAT_GRAY8;
    cw_frame_t f = {
        .y = GST_VIDEO_FRAME_COMP_DATA(frame, 0),
        .u = grey ? NULL : GST_VIDEO_FRAME_COMP_DATA(frame, 1),
        .v = grey ? NULL : GST_VIDEO_FRAME_COMP_DATA(frame, 2),
        .width = GST_VIDEO_FRAME_WIDTH(frame),
        .height = GST_VIDEO_FRAME_HEIGHT(frame),
        .y_stride = GST_VIDEO_FRAME_COMP_STRIDE(frame, 0),
        .uv_stride = grey ? 0 : GST_VIDEO_FRAME_COMP_STRIDE(frame, 1),
        .ts_us = (gint64)(t / GST_USECOND),
    };
    cw_analyzer_push(self->analyzer, &f);
  }

  GST_OBJECT_LOCK(self);
  self->frames_seen++;
  if (analyse)
    self->frames_analysed++;
  GST_OBJECT_UNLOCK(self);
  return GST_FLOW_OK;
}

static void
cw_traffic_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CwTraffic *self = CW_TRAFFIC(object);

  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_CONFIG:
    g_free(self->config);
    self->config = g_value_dup_string(value);
    break;
  case PROP_CONFIG_FILE:
    g_free(self->config_file);
    self->config_file = g_value_dup_string(value);
    break;
  case PROP_WORK_WIDTH:
    self->work_width = g_value_get_int(value);
    break;
  case PROP_ANALYSIS_FPS:
    self->analysis_fps = g_value_get_double(value);
    break;
  case PROP_CAMERA_ID:
    self->camera_id = g_value_get_int64(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void
cw_traffic_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CwTraffic *self = CW_TRAFFIC(object);

  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_CONFIG:
    g_value_set_string(value, self->config);
    break;
  case PROP_CONFIG_FILE:
    g_value_set_string(value, self->config_file);
    break;
  case PROP_WORK_WIDTH:
    g_value_set_int(value, self->work_width);
    break;
  case PROP_ANALYSIS_FPS:
    g_value_set_double(value, self->analysis_fps);
    break;
  case PROP_CAMERA_ID:
    g_value_set_int64(value, self->camera_id);
    break;
  case PROP_FRAMES_SEEN:
    g_value_set_uint64(value, self->frames_seen);
    break;
  case PROP_FRAMES_ANALYSED:
    g_value_set_uint64(value, self->frames_analysed);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void
cw_traffic_finalize(GObject *object)
{
  CwTraffic *self = CW_TRAFFIC(object);

  g_clear_pointer(&self->analyzer, cw_analyzer_free);
  g_clear_pointer(&self->cfg, cw_analytics_config_free);
  g_free(self->config);
  g_free(self->config_file);
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void
cw_traffic_class_init(CwTrafficClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(cw_traffic_debug, "cwtraffic", 0, "citywatch traffic analytics");

  gobject_class->set_property = cw_traffic_set_property;
  gobject_class->get_property = cw_traffic_get_property;
  gobject_class->finalize = cw_traffic_finalize;

  /**
   * CwTraffic:config:
   *
   * The camera's analytics configuration as JSON text (analytics/config.h).
   * Unset or empty (and no config-file): no rules, picture health only. Read
   * when the element starts; a bad one stops it with an element error
   * naming the member.
   */
  g_object_class_install_property(
      gobject_class, PROP_CONFIG,
      g_param_spec_string("config", "Configuration",
                          "Analytics configuration, JSON (use this or config-file)", NULL,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * CwTraffic:config-file:
   *
   * A file holding the analytics configuration; errors name the file.
   */
  g_object_class_install_property(
      gobject_class, PROP_CONFIG_FILE,
      g_param_spec_string("config-file", "Configuration file",
                          "File holding the analytics configuration (use this or config)", NULL,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * CwTraffic:work-width:
   *
   * Width in pixels of the picture the analysis works on (the aspect is
   * kept; never wider than the input). Costs grow with its square.
   */
  g_object_class_install_property(
      gobject_class, PROP_WORK_WIDTH,
      g_param_spec_int("work-width", "Working width", "Width the analysis scales frames to", 16,
                       4096, DEFAULT_WORK_WIDTH,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * CwTraffic:analysis-fps:
   *
   * Frames analysed per second of stream time, picked by timestamp so the
   * rate holds whatever the input rate. 0: every frame. Negative (the
   * default): the configuration's thresholds.analysis_fps (itself 5 unless
   * set). May change while playing: it applies from the next frame.
   */
  g_object_class_install_property(
      gobject_class, PROP_ANALYSIS_FPS,
      g_param_spec_double("analysis-fps", "Analysis rate",
                          "Frames analysed a second (0 = every frame, -1 = the configuration's "
                          "thresholds.analysis_fps)",
                          -1.0, 1000.0, DEFAULT_ANALYSIS_FPS,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * CwTraffic:camera-id:
   *
   * Copied into every cw-event message's camera-id field.
   */
  g_object_class_install_property(
      gobject_class, PROP_CAMERA_ID,
      g_param_spec_int64("camera-id", "Camera id", "Camera id copied into each cw-event message",
                         G_MININT64, G_MAXINT64, DEFAULT_CAMERA_ID,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * CwTraffic:frames-seen:
   *
   * Frames that passed through since the element started.
   */
  g_object_class_install_property(
      gobject_class, PROP_FRAMES_SEEN,
      g_param_spec_uint64("frames-seen", "Frames seen", "Frames passed through since start", 0,
                          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * CwTraffic:frames-analysed:
   *
   * Frames the analysis ran on since the element started.
   */
  g_object_class_install_property(
      gobject_class, PROP_FRAMES_ANALYSED,
      g_param_spec_uint64("frames-analysed", "Frames analysed", "Frames analysed since start", 0,
                          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata(
      element_class, "Traffic analytics", "Filter/Analyzer/Video",
      "Counts vehicles, detects congestion, stopped vehicles, wrong-way traffic and camera "
      "tampering; posts cw-event element messages",
      "citywatch");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->start = GST_DEBUG_FUNCPTR(cw_traffic_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(cw_traffic_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(cw_traffic_sink_event);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(cw_traffic_transform_frame_ip);
}

static void
cw_traffic_init(CwTraffic *self)
{
  self->work_width = DEFAULT_WORK_WIDTH;
  self->analysis_fps = DEFAULT_ANALYSIS_FPS;
  self->camera_id = DEFAULT_CAMERA_ID;
  self->last_slot = -1;
  self->last_ts = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}
