/* cw-analyze: runs a video file through cwtraffic as fast as it decodes
 * and prints each event, one JSON object a line on stdout:
 *
 *   {"kind": "traffic.count", "phase": "instant", "incident": 0,
 *    "t": 60.0, "start": 0.0, "attributes": {...}}
 *
 * t and start are stream time in seconds. At the end a summary goes to
 * stderr (frames seen and analysed, seconds of video, wall time, frames
 * analysed per CPU second). Errors (a file that is missing or not video,
 * a bad configuration) go to stderr naming the file; exit status 1.
 *
 *   cw-analyze FILE [--config JSON-FILE] [--analysis-fps N] [--work-width W]
 *              [--threads N] [--keyframes-only] [--decode-only]
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include "gstcwtraffic.h"

typedef struct {
  int threads;
  gboolean keyframes_only;
  guint64 frames;
  GstClockTime end; /* stream time just after the last frame */
} run_t;

static double
cpu_seconds(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* A JSON string literal for text (quotes and escapes by json-glib). */
static char *
json_quote(const char *text)
{
  JsonNode *n = json_node_init_string(json_node_alloc(), text != NULL ? text : "");
  char *q = json_to_string(n, FALSE);
  json_node_unref(n);
  return q;
}

/* One event as one line; times in seconds to the microsecond. */
static void
print_event(const GstStructure *s)
{
  const char *attributes = gst_structure_get_string(s, "attributes");
  guint incident = 0;
  guint64 ts = 0, start = 0;
  char t_text[G_ASCII_DTOSTR_BUF_SIZE], start_text[G_ASCII_DTOSTR_BUF_SIZE];

  gst_structure_get_uint(s, "incident", &incident);
  gst_structure_get_uint64(s, "timestamp", &ts);
  gst_structure_get_uint64(s, "start", &start);
  g_ascii_formatd(t_text, sizeof t_text, "%.6f", (double)ts / GST_SECOND);
  g_ascii_formatd(start_text, sizeof start_text, "%.6f", (double)start / GST_SECOND);

  /* The attributes are the analyzer's JSON object, passed on as written
   * (its numbers as the analyzer rounded them) once it parses as one line;
   * anything else goes out as a string, so a line is always valid JSON. */
  JsonNode *attr = attributes != NULL ? json_from_string(attributes, NULL) : NULL;
  char *attr_text;
  if (attr != NULL && JSON_NODE_HOLDS_OBJECT(attr) && strpbrk(attributes, "\r\n") == NULL)
    attr_text = g_strdup(attributes);
  else if (attr != NULL && JSON_NODE_HOLDS_OBJECT(attr))
    attr_text = json_to_string(attr, FALSE);
  else
    attr_text = json_quote(attributes);
  char *kind = json_quote(gst_structure_get_string(s, "kind"));
  char *phase = json_quote(gst_structure_get_string(s, "phase"));

  printf("{\"kind\":%s,\"phase\":%s,\"incident\":%u,\"t\":%s,\"start\":%s,\"attributes\":%s}\n",
         kind, phase, incident, t_text, start_text, attr_text);
  g_free(phase);
  g_free(kind);
  g_free(attr_text);
  if (attr != NULL)
    json_node_unref(attr);
}

/* Keyframes only: the decoder never sees a frame that others depend on,
 * so it decodes only the pictures that need nothing else. Works with any
 * decoder, unlike avdec's skip-frame. */
static GstPadProbeReturn
drop_delta(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  return GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT) ? GST_PAD_PROBE_DROP
                                                                 : GST_PAD_PROBE_OK;
}

/* decodebin's decoder as it is plugged: the thread and keyframe options. */
static void
on_element_added(GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer data)
{
  run_t *run = data;
  GstElementFactory *f = gst_element_get_factory(element);
  const char *klass =
      f != NULL ? gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS) : NULL;

  if (klass == NULL || strstr(klass, "Decoder") == NULL || strstr(klass, "Video") == NULL)
    return;
  if (run->threads > 0 &&
      g_object_class_find_property(G_OBJECT_GET_CLASS(element), "max-threads") != NULL)
    g_object_set(element, "max-threads", run->threads, NULL);
  if (run->keyframes_only) {
    GstPad *sink = gst_element_get_static_pad(element, "sink");
    if (sink != NULL) {
      gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, drop_delta, NULL, NULL);
      gst_object_unref(sink);
    }
  }
}

/* Frames reaching the sink, and where the video ends. */
static GstPadProbeReturn
count_frame(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  run_t *run = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  run->frames++;
  if (GST_BUFFER_PTS_IS_VALID(buf)) {
    GstClockTime end = GST_BUFFER_PTS(buf);
    if (GST_BUFFER_DURATION_IS_VALID(buf))
      end += GST_BUFFER_DURATION(buf);
    run->end = MAX(run->end, end);
  }
  return GST_PAD_PROBE_OK;
}

int
main(int argc, char **argv)
{
  char *config = NULL;
  double analysis_fps = -1;
  int work_width = 320;
  gboolean decode_only = FALSE;
  run_t run = {0};
  GError *gerr = NULL;
  GstElement *pipeline = NULL;
  int status = 1;
  GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "Analytics configuration (JSON)",
       "JSON-FILE"},
      {"analysis-fps", 0, 0, G_OPTION_ARG_DOUBLE, &analysis_fps,
       "Frames analysed a second (0: every frame; default: the configuration's, 5)", "N"},
      {"work-width", 0, 0, G_OPTION_ARG_INT, &work_width, "Working width (default 320)", "W"},
      {"threads", 0, 0, G_OPTION_ARG_INT, &run.threads,
       "Decoder threads (decoders with max-threads; default: the decoder's)", "N"},
      {"keyframes-only", 0, 0, G_OPTION_ARG_NONE, &run.keyframes_only,
       "Decode and analyse keyframes only", NULL},
      {"decode-only", 0, 0, G_OPTION_ARG_NONE, &decode_only,
       "Decode and convert, no analytics (a baseline for benchmarks)", NULL},
      G_OPTION_ENTRY_NULL,
  };
  GOptionContext *ctx = g_option_context_new("FILE - traffic analytics on a video file");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
    fprintf(stderr, "cw-analyze: %s\n", gerr->message);
    goto out;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: cw-analyze FILE [--config JSON-FILE] [--analysis-fps N] "
                    "[--work-width W] [--threads N] [--keyframes-only] [--decode-only]\n");
    goto out;
  }
  const char *file = argv[1];
  if (!g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
    fprintf(stderr, "cw-analyze: %s: %s\n", file,
            g_file_test(file, G_FILE_TEST_EXISTS) ? "not a regular file" : "no such file");
    goto out;
  }
  if (analysis_fps < -1 || analysis_fps > 1000 || work_width < 16 || work_width > 4096) {
    fprintf(stderr, "cw-analyze: --analysis-fps must be 0..1000 and --work-width 16..4096\n");
    goto out;
  }
  if (!GST_ELEMENT_REGISTER(cwtraffic, NULL)) {
    fprintf(stderr, "cw-analyze: cannot register cwtraffic\n");
    goto out;
  }

  pipeline = gst_parse_launch(
      decode_only ? "filesrc name=src ! decodebin name=dec ! videoconvert ! "
                    "video/x-raw,format=I420 ! fakesink name=sink sync=false"
                  : "filesrc name=src ! decodebin name=dec ! videoconvert ! "
                    "video/x-raw,format=I420 ! cwtraffic name=cw ! fakesink name=sink sync=false",
      &gerr);
  if (pipeline == NULL) {
    fprintf(stderr, "cw-analyze: %s\n", gerr->message);
    goto out;
  }
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "location", file, NULL);
  gst_object_unref(src);
  GstElement *cw = gst_bin_get_by_name(GST_BIN(pipeline), "cw");
  if (cw != NULL) {
    g_object_set(cw, "work-width", work_width, "analysis-fps", analysis_fps, NULL);
    if (config != NULL)
      g_object_set(cw, "config-file", config, NULL);
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  GstPad *sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(sinkpad, GST_PAD_PROBE_TYPE_BUFFER, count_frame, &run, NULL);
  gst_object_unref(sinkpad);
  gst_object_unref(sink);
  g_signal_connect(pipeline, "deep-element-added", G_CALLBACK(on_element_added), &run);

  double cpu0 = cpu_seconds();
  gint64 wall0 = g_get_monotonic_time();
  GstBus *bus = gst_element_get_bus(pipeline);
  gboolean done = FALSE;
  /* A failed start leaves its reason on the bus: read what is there. */
  gboolean failed = gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE;
  while (!done) {
    GstMessage *m =
        gst_bus_timed_pop_filtered(bus, failed ? 0 : GST_CLOCK_TIME_NONE,
                                   GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (m == NULL) {
      fprintf(stderr, "cw-analyze: %s: the pipeline did not start\n", file);
      status = 1;
      break;
    }
    switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure(m);
      if (s != NULL && gst_structure_has_name(s, "cw-event"))
        print_event(s);
      break;
    }
    case GST_MESSAGE_ERROR: {
      GError *e = NULL;
      char *dbg = NULL;
      gst_message_parse_error(m, &e, &dbg);
      /* A configuration error already names its file and member; anything
       * else is about the video. */
      if (cw != NULL && GST_MESSAGE_SRC(m) == GST_OBJECT(cw))
        fprintf(stderr, "cw-analyze: %s\n", e->message);
      else
        fprintf(stderr, "cw-analyze: %s: %s\n", file, e->message);
      if (dbg != NULL)
        g_debug("%s", dbg);
      g_clear_error(&e);
      g_free(dbg);
      status = 1;
      done = TRUE;
      break;
    }
    case GST_MESSAGE_EOS:
      status = 0;
      done = TRUE;
      break;
    default:
      break;
    }
    gst_message_unref(m);
  }
  fflush(stdout);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);

  if (status == 0) {
    guint64 seen = run.frames, analysed = 0;
    if (cw != NULL)
      g_object_get(cw, "frames-seen", &seen, "frames-analysed", &analysed, NULL);
    double cpu = cpu_seconds() - cpu0;
    double wall = (double)(g_get_monotonic_time() - wall0) / 1e6;
    fprintf(stderr,
            "cw-analyze: %s: %" G_GUINT64_FORMAT " frames seen, %" G_GUINT64_FORMAT
            " analysed, %.2f s of video, %.2f s wall, %.2f s CPU, %.1f frames analysed per "
            "CPU second\n",
            file, seen, analysed, (double)run.end / GST_SECOND, wall, cpu,
            cpu > 0 ? (double)analysed / cpu : 0.0);
  }
  if (cw != NULL)
    gst_object_unref(cw);

out:
  g_clear_error(&gerr);
  if (pipeline != NULL)
    gst_object_unref(pipeline);
  g_option_context_free(ctx);
  g_free(config);
  return status;
}
