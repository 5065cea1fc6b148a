/* Evidence export (see export.h): the footage index says which segment
 * files cover the range; libavformat copies their packets, without
 * decoding, into one ordinary MP4 whose timestamps follow the wall clock;
 * a manifest with SHA-256 digests goes beside it; footage_exports and
 * audit_log record the export. */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>

#include "db.h"
#include "export_priv.h"
#include "json_build.h"
#include "footage.h"
#include "timeutil.h"

#define EXPORT_FORMAT_VERSION 1

static const AVRational us_q = {1, G_USEC_PER_SEC};

char *
cw_export_manifest_path(const char *clip_path)
{
  return g_strconcat(clip_path, ".manifest.json", NULL);
}

/* ---- the remux --------------------------------------------------------- */

/* A packet held back while looking for the keyframe at or before `from`. */
typedef struct {
  AVPacket *pkt;
  gint64 pts, dts, dur; /* wall clock, µs */
  guint seg;
} held_t;

static void
held_free(gpointer p)
{
  held_t *h = p;
  av_packet_free(&h->pkt);
  g_free(h);
}

typedef struct {
  const cw_export_request_t *req;
  cw_footage_t *footage;
  gboolean from_in_gap; /* start at the first keyframe after from, not before */
  AVRational clip_tb;   /* the clip's time base */
  AVFormatContext *out;
  AVStream *ost;
  char *clip_tmp;
  enum AVCodecID codec_id;
  int width, height;
  const char *first_path; /* the segment whose parameters the clip has */
  GPtrArray *held;        /* held_t*, the GOP that may hold `from` */
  gboolean started, done;
  gint64 base_us;            /* wall clock of the first frame: clip time 0 */
  gint64 last_dts, last_pts; /* wall clock of the last packet written */
  gint64 last_dur;
  gint64 frames;
  gint64 *seg_frames; /* per segment of footage->segments */
} remux_t;

/* "path: doing: libav's words" (doing may be NULL). */
static int
av_fail(cw_error_t *err, int averr, const char *path, const char *doing)
{
  char msg[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(averr, msg, sizeof msg);
  return cw_error_set(err, averr == AVERROR(ENOENT) ? -ENOENT : -EIO, "%s: %s%s%s", path,
                      doing ? doing : "", doing ? ": " : "", msg);
}

static const char *
codec_label(enum AVCodecID id)
{
  return id == AV_CODEC_ID_H264 ? "h264" : id == AV_CODEC_ID_HEVC ? "h265" : avcodec_get_name(id);
}

/* Sets up the clip's one stream from the first segment, or checks that a
 * later segment has the same codec and picture size: parameter sets are
 * copied from the first, so a change would make the rest undecodable. */
static int
stream_setup(remux_t *x, const AVStream *ist, const char *path, cw_error_t *err)
{
  const AVCodecParameters *par = ist->codecpar;
  if (x->ost) {
    if (par->codec_id == x->codec_id && par->width == x->width && par->height == x->height)
      return 0;
    return cw_error_set(err, -EMEDIUMTYPE,
                        "%s: %s %dx%d, but the clip so far (from %s) is %s %dx%d; a clip cannot "
                        "change codec or picture size: export the ranges before and after the "
                        "change separately",
                        path, codec_label(par->codec_id), par->width, par->height, x->first_path,
                        codec_label(x->codec_id), x->width, x->height);
  }
  if (par->codec_id != AV_CODEC_ID_H264 && par->codec_id != AV_CODEC_ID_HEVC)
    return cw_error_set(err, -EMEDIUMTYPE, "%s: codec %s is not H.264 or H.265", path,
                        codec_label(par->codec_id));
  x->ost = avformat_new_stream(x->out, NULL);
  if (!x->ost)
    return cw_error_set(err, -ENOMEM, "%s: out of memory", x->clip_tmp);
  int ret = avcodec_parameters_copy(x->ost->codecpar, par);
  if (ret < 0)
    return av_fail(err, ret, path, "copying codec parameters");
  /* Keep the segment's sample entry (avc1/avc3, hvc1/hev1): it says where
   * the parameter sets are; a tag MP4 does not know is left to the muxer. */
  if (av_codec_get_id(x->out->oformat->codec_tag, par->codec_tag) != par->codec_id)
    x->ost->codecpar->codec_tag = 0;
  x->ost->time_base = x->clip_tb;
  x->codec_id = par->codec_id;
  x->width = par->width;
  x->height = par->height;
  x->first_path = path;
  return 0;
}

/* The header goes out with the first packet, when the clip's start time
 * (its creation_time) is known. */
static int
write_header(remux_t *x, gint64 first_us, cw_error_t *err)
{
  char *iso = cw_time_format(first_us);
  av_dict_set(&x->out->metadata, "creation_time", iso, 0);
  g_free(iso);
  AVDictionary *opts = NULL;
  /* An ordinary MP4 with the index first, so players start at once. */
  av_dict_set(&opts, "movflags", "+faststart", 0);
  int ret = avformat_write_header(x->out, &opts);
  av_dict_free(&opts);
  if (ret < 0)
    return av_fail(err, ret, x->clip_tmp, "writing the MP4 header");
  return 0;
}

static int
write_packet(remux_t *x, AVPacket *pkt, gint64 pts, gint64 dts, gint64 dur, guint seg,
             cw_error_t *err)
{
  int rc;
  if (!x->started) {
    if ((rc = write_header(x, pts, err)) < 0)
      return rc;
    x->started = TRUE;
    x->base_us = pts;
    x->last_dts = G_MININT64;
  }
  /* Segments of one camera should not overlap; if their clocks disagree a
   * little, push the later one just past the earlier, since the muxer
   * needs rising decode times. */
  if (dts <= x->last_dts) {
    gint64 shift = x->last_dts + MAX(x->last_dur, 12) - dts;
    pts += shift;
    dts += shift;
  }
  /* The demuxer leaves durations that fragments take from their defaults
   * at 0. The muxer times every frame but the last by the next one's
   * decode time; the last needs its own: the interval before it. */
  if (dur <= 0 && x->frames > 0) {
    gint64 step = dts - x->last_dts;
    dur = step > 0 && step <= G_USEC_PER_SEC ? step : x->last_dur;
  }
  AVRational tb = x->ost->time_base;
  pkt->pts = av_rescale_q(pts - x->base_us, us_q, tb);
  pkt->dts = av_rescale_q(dts - x->base_us, us_q, tb);
  pkt->duration = dur > 0 ? av_rescale_q(dur, us_q, tb) : 0;
  pkt->stream_index = x->ost->index;
  pkt->pos = -1;
  int ret = av_write_frame(x->out, pkt);
  av_packet_unref(pkt);
  if (ret < 0)
    return av_fail(err, ret, x->clip_tmp, "writing");
  x->last_dts = dts;
  x->last_pts = MAX(x->last_pts, pts);
  x->last_dur = dur;
  x->frames++;
  x->seg_frames[seg]++;
  return 0;
}

static int
flush_held(remux_t *x, cw_error_t *err)
{
  int rc = 0;
  for (guint i = 0; i < x->held->len && rc == 0; i++) {
    held_t *h = x->held->pdata[i];
    rc = write_packet(x, h->pkt, h->pts, h->dts, h->dur, h->seg, err);
  }
  g_ptr_array_set_size(x->held, 0);
  return rc;
}

/* One packet of segment seg at wall-clock times pts/dts. Before the clip
 * starts, the GOP that may hold `from` is held back; the clip starts with
 * that GOP's keyframe as soon as a packet after `from` shows it was the
 * right one. The clip ends before the first packet (in decode order) at or
 * after `to`, so every frame kept can be decoded from frames kept. */
static int
take_packet(remux_t *x, AVPacket *pkt, gint64 pts, gint64 dts, gint64 dur, guint seg,
            cw_error_t *err)
{
  gboolean key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (pts >= x->req->to_us) {
    x->done = TRUE;
    return 0;
  }
  if (!x->started) {
    if (pts <= x->req->from_us && !x->from_in_gap) {
      if (key)
        g_ptr_array_set_size(x->held, 0);
      if (key || x->held->len > 0) {
        held_t *h = g_new(held_t, 1);
        *h = (held_t){av_packet_clone(pkt), pts, dts, dur, seg};
        g_ptr_array_add(x->held, h);
      }
      return 0;
    }
    if (x->held->len == 0 && !key)
      return 0; /* nothing decodable yet */
    int rc = flush_held(x, err);
    if (rc < 0)
      return rc;
  }
  return write_packet(x, pkt, pts, dts, dur, seg, err);
}

static int
open_segment(const char *path, AVFormatContext **in, int *vidx, cw_error_t *err)
{
  struct stat st;
  if (stat(path, &st) < 0) {
    int e = errno;
    return cw_error_set(err, -e, "%s: %s", path, g_strerror(e));
  }
  char *url = g_strconcat("file:", path, NULL);
  int ret = avformat_open_input(in, url, NULL, NULL);
  g_free(url);
  if (ret < 0)
    return av_fail(err, ret, path, "cannot open as MP4");
  *vidx = av_find_best_stream(*in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (*vidx >= 0 && (*in)->streams[*vidx]->codecpar->width == 0)
    avformat_find_stream_info(*in, NULL);
  if (*vidx < 0)
    return cw_error_set(err, -EMEDIUMTYPE, "%s: no video stream", path);
  return 0;
}

static int
remux_segment(remux_t *x, guint seg, const char *path, cw_error_t *err)
{
  const cw_segment_row_t *row = x->footage->segments->pdata[seg];
  AVFormatContext *in = NULL;
  AVPacket *pkt = av_packet_alloc();
  int vidx = -1, rc;
  if ((rc = open_segment(path, &in, &vidx, err)) < 0) {
    /* Which node recorded it says where the file should be. */
    if (err && row->node) {
      char *more = g_strdup_printf(" (a segment of node %s)", row->node);
      g_strlcat(err->msg, more, sizeof err->msg);
      g_free(more);
    }
    goto out;
  }
  const AVStream *ist = in->streams[vidx];
  if ((rc = stream_setup(x, ist, path, err)) < 0)
    goto out;
  gint64 anchor = AV_NOPTS_VALUE;
  int ret = AVERROR_EOF;
  while (!x->done && (ret = av_read_frame(in, pkt)) >= 0) {
    if (pkt->stream_index != vidx || (pkt->pts == AV_NOPTS_VALUE && pkt->dts == AV_NOPTS_VALUE)) {
      av_packet_unref(pkt);
      continue;
    }
    if (pkt->pts == AV_NOPTS_VALUE)
      pkt->pts = pkt->dts;
    if (pkt->dts == AV_NOPTS_VALUE)
      pkt->dts = pkt->pts;
    /* The segment's start time is the wall clock of its first frame. */
    if (anchor == AV_NOPTS_VALUE)
      anchor = pkt->pts;
    gint64 pts = row->info.start_us + av_rescale_q(pkt->pts - anchor, ist->time_base, us_q);
    gint64 dts = row->info.start_us + av_rescale_q(pkt->dts - anchor, ist->time_base, us_q);
    gint64 dur = av_rescale_q(pkt->duration, ist->time_base, us_q);
    rc = take_packet(x, pkt, pts, dts, dur, seg, err);
    av_packet_unref(pkt);
    if (rc < 0)
      goto out;
  }
  if (!x->done && ret != AVERROR_EOF)
    rc = av_fail(err, ret, path, "reading");
out:
  av_packet_free(&pkt);
  avformat_close_input(&in);
  return rc;
}

/* MP4 keeps each frame's duration in 31 bits as the muxer writes it: at
 * 90 kHz the frame before a hole over 6.6 hours would overflow, so such a
 * range is timed at 15 kHz (still exact for 10, 12.5, 15, 20, 24, 25, 30,
 * 50 and 60 fps), which reaches 39 hours; past that the clip is refused. */
#define MAX_GAP_90K_US ((gint64)6 * 3600 * G_USEC_PER_SEC)
#define MAX_GAP_15K_US ((gint64)36 * 3600 * G_USEC_PER_SEC)

static int
clip_time_base(const cw_footage_t *f, AVRational *tb, cw_error_t *err)
{
  *tb = (AVRational){1, 90000};
  for (guint i = 0; i < f->gaps->len; i++) {
    const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, i);
    if (g->to_us - g->from_us > MAX_GAP_15K_US) {
      char *a = cw_time_format(g->from_us), *b = cw_time_format(g->to_us);
      int rc = cw_error_set(err, -EFBIG,
                            "the range holds no footage from %s to %s, longer than one MP4 "
                            "clip can span (36 hours): export the parts before and after it "
                            "separately",
                            a, b);
      g_free(a);
      g_free(b);
      return rc;
    }
    if (g->to_us - g->from_us > MAX_GAP_90K_US)
      *tb = (AVRational){1, 15000};
  }
  return 0;
}

static gboolean
in_gap(const cw_footage_t *f, gint64 t)
{
  for (guint i = 0; i < f->gaps->len; i++) {
    const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, i);
    if (g->from_us <= t && t < g->to_us)
      return TRUE;
  }
  return FALSE;
}

/* Writes the clip to x->clip_tmp. */
static int
remux(remux_t *x, GPtrArray *paths, cw_error_t *err)
{
  int ret = avformat_alloc_output_context2(&x->out, NULL, "mp4", NULL);
  if (ret < 0)
    return av_fail(err, ret, x->clip_tmp, NULL);
  char *url = g_strconcat("file:", x->clip_tmp, NULL);
  /* The faststart pass reopens the file by this name. */
  x->out->url = av_strdup(url);
  ret = avio_open(&x->out->pb, url, AVIO_FLAG_WRITE);
  g_free(url);
  if (ret < 0)
    return av_fail(err, ret, x->clip_tmp, NULL);
  x->from_in_gap = in_gap(x->footage, x->req->from_us);
  int rc = clip_time_base(x->footage, &x->clip_tb, err);
  for (guint i = 0; i < paths->len && !x->done && rc == 0; i++)
    rc = remux_segment(x, i, paths->pdata[i], err);
  /* `from` lay in the last GOP of the footage and nothing came after it. */
  if (rc == 0 && !x->started && x->held->len > 0)
    rc = flush_held(x, err);
  if (rc == 0 && !x->started)
    return cw_error_set(err, -ENOENT,
                        "no frame to export: no keyframe of camera %" G_GINT64_FORMAT
                        " lies before the end of the range",
                        x->req->camera_id);
  if (rc == 0 && (ret = av_write_trailer(x->out)) < 0)
    rc = av_fail(err, ret, x->clip_tmp, "finishing the MP4");
  return rc;
}

static void
remux_clear(remux_t *x)
{
  if (x->out) {
    if (x->out->pb)
      avio_closep(&x->out->pb);
    avformat_free_context(x->out);
  }
  if (x->held)
    g_ptr_array_free(x->held, TRUE);
  g_free(x->seg_frames);
}

/* ---- files ------------------------------------------------------------- */

static int
fsync_path(const char *path, gboolean dir, cw_error_t *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
  if (fd < 0 || fsync(fd) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    return cw_error_set(err, -e, "%s: fsync: %s", path, g_strerror(e));
  }
  close(fd);
  return 0;
}

/* A temporary name in the folder of path, created empty (0644). */
static int
make_temp(const char *path, char **tmp, cw_error_t *err)
{
  char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
  char *name = g_strdup_printf(".%s.XXXXXX.tmp", base);
  *tmp = g_build_filename(dir, name, NULL);
  g_free(name);
  g_free(base);
  g_free(dir);
  int fd = g_mkstemp_full(*tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    g_clear_pointer(tmp, g_free);
    return cw_error_set(err, -e, "%s: cannot create a file beside it: %s", path, g_strerror(e));
  }
  close(fd);
  return 0;
}

/* Moves tmp to path, never replacing an existing path. RENAME_NOREPLACE
 * where the filesystem has it, else a hard link; a filesystem with neither
 * (FAT on a USB stick for handing evidence over) gets a check, then a
 * rename. */
static int
place(const char *tmp, const char *path, cw_error_t *err)
{
  int rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
  if (rc < 0 && (errno == EINVAL || errno == ENOSYS)) {
    rc = link(tmp, path);
    if (rc == 0)
      unlink(tmp);
    else if (errno == EPERM || errno == EOPNOTSUPP)
      rc = g_file_test(path, G_FILE_TEST_EXISTS) ? (errno = EEXIST, -1) : rename(tmp, path);
  }
  if (rc < 0) {
    int e = errno;
    if (e == EEXIST)
      return cw_error_set(err, -EEXIST, "%s: already exists; not overwritten", path);
    return cw_error_set(err, -e, "%s: %s", path, g_strerror(e));
  }
  return 0;
}

static int
write_file_synced(const char *path, const char *text, cw_error_t *err)
{
  GError *gerr = NULL;
  if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, &gerr)) {
    int rc = cw_error_set(err, -EIO, "%s", gerr->message);
    g_error_free(gerr);
    return rc;
  }
  return fsync_path(path, FALSE, err);
}

/* ---- manifest ---------------------------------------------------------- */

typedef struct {
  char *export_id, *camera_name, *exported_at;
  char *clip_sha;
  gint64 clip_bytes;
} export_facts_t;

static void
add_range(JsonBuilder *b, const char *key, gint64 from, gint64 to)
{
  if (key)
    json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  cw_json_member_time(b, "from", from);
  cw_json_member_time(b, "to", to);
  json_builder_end_object(b);
}

/* Gaps of the index that fall inside what the clip shows. */
static void
add_gaps(JsonBuilder *b, const cw_footage_t *f, gint64 from, gint64 to)
{
  json_builder_set_member_name(b, "gaps");
  json_builder_begin_array(b);
  for (guint i = 0; i < f->gaps->len; i++) {
    const cw_time_range_t *g = &g_array_index(f->gaps, cw_time_range_t, i);
    gint64 a = MAX(g->from_us, from), z = MIN(g->to_us, to);
    if (a < z)
      add_range(b, NULL, a, z);
  }
  json_builder_end_array(b);
}

static void
add_segments(JsonBuilder *b, const remux_t *x, const hasher_t *h)
{
  json_builder_set_member_name(b, "segments");
  json_builder_begin_array(b);
  for (guint i = 0; i < x->footage->segments->len; i++) {
    if (x->seg_frames[i] == 0)
      continue; /* read, but nothing of it is in the clip */
    const cw_segment_row_t *r = x->footage->segments->pdata[i];
    json_builder_begin_object(b);
    cw_json_member_string(b, "path", r->info.path);
    cw_json_member_string(b, "node", r->node);
    cw_json_member_time(b, "start", r->info.start_us);
    cw_json_member_time(b, "end", r->info.end_us);
    cw_json_member_int(b, "bytes", h->bytes[i]);
    cw_json_member_string(b, "sha256", h->sha[i]);
    cw_json_member_int(b, "frames", x->seg_frames[i]);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

static char *
manifest_text(const remux_t *x, const hasher_t *h, const export_facts_t *facts)
{
  const cw_export_request_t *req = x->req;
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  cw_json_member_int(b, "format_version", EXPORT_FORMAT_VERSION);
  json_builder_set_member_name(b, "camera");
  json_builder_begin_object(b);
  cw_json_member_int(b, "id", req->camera_id);
  cw_json_member_string(b, "name", facts->camera_name);
  json_builder_end_object(b);
  add_range(b, "requested", req->from_us, req->to_us);
  add_range(b, "actual", x->base_us, x->last_pts);
  add_gaps(b, x->footage, x->base_us, x->last_pts);
  add_segments(b, x, h);
  json_builder_set_member_name(b, "clip");
  json_builder_begin_object(b);
  char *file = g_path_get_basename(req->out_path);
  cw_json_member_string(b, "file", file);
  g_free(file);
  cw_json_member_int(b, "bytes", facts->clip_bytes);
  cw_json_member_string(b, "sha256", facts->clip_sha);
  cw_json_member_string(b, "codec", codec_label(x->codec_id));
  cw_json_member_int(b, "width", x->width);
  cw_json_member_int(b, "height", x->height);
  cw_json_member_int(b, "frames", x->frames);
  json_builder_end_object(b);
  cw_json_member_string(b, "exported_by", req->user);
  cw_json_member_string(b, "exported_at", facts->exported_at);
  cw_json_member_string(b, "case", req->case_id);
  cw_json_member_string(b, "reason", req->reason);
  cw_json_member_string(b, "export_id", facts->export_id);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  JsonGenerator *gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  char *text = json_generator_to_data(gen, NULL);
  char *with_nl = g_strconcat(text, "\n", NULL);
  g_free(text);
  g_object_unref(gen);
  json_node_unref(root);
  g_object_unref(b);
  return with_nl;
}

/* ---- database ---------------------------------------------------------- */

static int
camera_name(PGconn *conn, gint64 camera_id, char **name, cw_error_t *err)
{
  char id[24];
  g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, camera_id);
  const char *params[] = {id};
  PGresult *res =
      PQexecParams(conn, "SELECT name FROM cameras WHERE id = $1", 1, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_TUPLES_OK, err);
  if (rc == 0 && PQntuples(res) == 1)
    *name = g_strdup(PQgetvalue(res, 0, 0));
  PQclear(res);
  return rc;
}

/* The export row and its audit row, in one statement. */
static int
record_export(PGconn *conn, const remux_t *x, const export_facts_t *facts, const char *manifest,
              cw_error_t *err)
{
  const cw_export_request_t *req = x->req;
  char id[24];
  g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, req->camera_id);
  char *rf = cw_time_format(req->from_us), *rt = cw_time_format(req->to_us);
  char *af = cw_time_format(x->base_us), *at = cw_time_format(x->last_pts);
  /* From and to twice: typed as timestamptz for the row, as written for
   * the audit details. */
  const char *params[] = {id,
                          rf,
                          rt,
                          af,
                          at,
                          req->case_id,
                          req->reason,
                          req->user,
                          facts->clip_sha,
                          manifest,
                          facts->export_id,
                          rf,
                          rt};
  PGresult *res = PQexecParams(
      conn,
      "WITH e AS (INSERT INTO footage_exports (camera_id, requested_from, requested_to,"
      " actual_from, actual_to, case_id, reason, user_name, clip_sha256, manifest)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) RETURNING id)"
      " INSERT INTO audit_log (actor, action, object, details)"
      " SELECT $8, 'footage.export', 'camera:' || $1::bigint,"
      " jsonb_build_object('case', $6::text, 'reason', $7::text, 'from', $12::text,"
      " 'to', $13::text, 'clip_sha256', $9::text, 'export_id', $11::text, 'export_row', e.id)"
      " FROM e",
      13, NULL, params, NULL, NULL, 0);
  int rc = cw_db_check(conn, res, PGRES_COMMAND_OK, err);
  if (rc < 0)
    cw_error_prefix(err, "recording the export");
  PQclear(res);
  g_free(rf);
  g_free(rt);
  g_free(af);
  g_free(at);
  return rc;
}

/* ---- cw_export_run ----------------------------------------------------- */

typedef struct {
  char *manifest_path, *manifest_tmp, *clip_tmp;
  gboolean clip_placed, manifest_placed;
} export_files_t;

/* Removes what a failed export left: temporaries always, the placed files
 * too when the export did not complete. */
static void
files_cleanup(const cw_export_request_t *req, export_files_t *fl)
{
  if (fl->clip_tmp)
    unlink(fl->clip_tmp);
  if (fl->manifest_tmp)
    unlink(fl->manifest_tmp);
  if (fl->clip_placed)
    unlink(req->out_path);
  if (fl->manifest_placed)
    unlink(fl->manifest_path);
}

static int
refuse_existing(const char *path, cw_error_t *err)
{
  if (g_file_test(path, G_FILE_TEST_EXISTS))
    return cw_error_set(err, -EEXIST, "%s: already exists; not overwritten", path);
  return 0;
}

static GPtrArray *
source_paths(const cw_export_request_t *req, const cw_footage_t *f)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < f->segments->len; i++) {
    const cw_segment_row_t *r = f->segments->pdata[i];
    g_ptr_array_add(paths, g_build_filename(req->root, r->info.path, NULL));
  }
  return paths;
}

/* The index's byte count is what the recorder wrote; a file that differs
 * was changed or truncated since, and is no evidence. */
static int
check_sizes(const remux_t *x, const hasher_t *h, GPtrArray *paths, cw_error_t *err)
{
  for (guint i = 0; i < paths->len; i++) {
    const cw_segment_row_t *r = x->footage->segments->pdata[i];
    if (x->seg_frames[i] > 0 && h->bytes[i] != r->info.bytes)
      return cw_error_set(err, -EBADMSG,
                          "%s: %" G_GINT64_FORMAT
                          " bytes, but the footage index recorded %" G_GINT64_FORMAT
                          " when the segment was closed; the file changed since",
                          (const char *)paths->pdata[i], h->bytes[i], r->info.bytes);
  }
  return 0;
}

static int
find_footage(PGconn *conn, const cw_export_request_t *req, cw_footage_t **f, cw_error_t *err)
{
  int rc = cw_footage_find(conn, req->camera_id, req->from_us, req->to_us, f, err);
  if (rc == 0 && (*f)->segments->len == 0) {
    char *a = cw_time_format(req->from_us), *b = cw_time_format(req->to_us);
    rc = cw_error_set(err, -ENOENT, "no footage of camera %" G_GINT64_FORMAT " between %s and %s",
                      req->camera_id, a, b);
    g_free(a);
    g_free(b);
  }
  return rc;
}

/* Clip and manifest into temporaries, synced, then into place. */
static int
write_outputs(remux_t *x, hasher_t *h, GPtrArray *paths, export_facts_t *facts, export_files_t *fl,
              char **manifest, cw_error_t *err)
{
  const cw_export_request_t *req = x->req;
  int rc;
  if ((rc = remux(x, paths, err)) < 0)
    return rc;
  avio_closep(&x->out->pb);
  if ((rc = fsync_path(fl->clip_tmp, FALSE, err)) < 0 ||
      (rc = cw_export_file_sha256(fl->clip_tmp, NULL, &facts->clip_sha, &facts->clip_bytes, err)) <
          0 ||
      (rc = cw_export_hasher_join(h, FALSE, err)) < 0 || (rc = check_sizes(x, h, paths, err)) < 0)
    return rc;
  *manifest = manifest_text(x, h, facts);
  if ((rc = write_file_synced(fl->manifest_tmp, *manifest, err)) < 0)
    return rc;
  if ((rc = place(fl->clip_tmp, req->out_path, err)) < 0)
    return rc;
  fl->clip_placed = TRUE;
  if ((rc = place(fl->manifest_tmp, fl->manifest_path, err)) < 0)
    return rc;
  fl->manifest_placed = TRUE;
  char *dir = g_path_get_dirname(req->out_path);
  rc = fsync_path(dir, TRUE, err);
  g_free(dir);
  return rc;
}

int
cw_export_run(PGconn *conn, const cw_export_request_t *req, char **manifest_json, cw_error_t *err)
{
  export_files_t fl = {.manifest_path = cw_export_manifest_path(req->out_path)};
  export_facts_t facts = {0};
  remux_t x = {.req = req};
  hasher_t h = {0};
  GPtrArray *paths = NULL;
  char *manifest = NULL;
  int rc;
  if (!req->root || !*req->root || !req->out_path || !req->user) {
    rc = cw_error_set(err, -EINVAL, "export: footage root, output path and user are required");
    goto out;
  }
  if ((rc = refuse_existing(req->out_path, err)) < 0 ||
      (rc = refuse_existing(fl.manifest_path, err)) < 0 ||
      (rc = find_footage(conn, req, &x.footage, err)) < 0 ||
      (rc = camera_name(conn, req->camera_id, &facts.camera_name, err)) < 0 ||
      (rc = make_temp(req->out_path, &fl.clip_tmp, err)) < 0 ||
      (rc = make_temp(fl.manifest_path, &fl.manifest_tmp, err)) < 0)
    goto out;
  x.clip_tmp = fl.clip_tmp;
  x.held = g_ptr_array_new_with_free_func(held_free);
  x.seg_frames = g_new0(gint64, x.footage->segments->len);
  paths = source_paths(req, x.footage);
  cw_export_hasher_start(&h, paths);
  facts.export_id = g_uuid_string_random();
  facts.exported_at = cw_time_format(g_get_real_time());
  if ((rc = write_outputs(&x, &h, paths, &facts, &fl, &manifest, err)) < 0)
    goto out;
  rc = record_export(conn, &x, &facts, manifest, err);
out:
  cw_export_hasher_join(&h, TRUE, NULL);
  if (rc < 0)
    files_cleanup(req, &fl);
  if (rc == 0 && manifest_json)
    *manifest_json = g_steal_pointer(&manifest);
  remux_clear(&x);
  cw_export_hasher_clear(&h);
  if (paths)
    g_ptr_array_free(paths, TRUE);
  if (x.footage)
    cw_footage_free(x.footage);
  g_free(manifest);
  g_free(facts.export_id);
  g_free(facts.camera_name);
  g_free(facts.exported_at);
  g_free(facts.clip_sha);
  g_free(fl.manifest_path);
  g_free(fl.manifest_tmp);
  g_free(fl.clip_tmp);
  return rc;
}
