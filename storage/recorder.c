/* The recorder (see recorder.h): per writer thread, one bounded queue and the
 * muxers of the cameras it owns. A camera always lands on the same writer,
 * so its units are handled in order on one thread and its muxer is never
 * shared; the writer's lock guards only the queue, the camera table and the
 * status counters. */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "keyframe.h"
#include "log.h"

#define MOD "recorder"
#define JUMP_MAX_S 5
/* Holds a whole moof while movenc patches its box sizes in place (it seeks
 * back inside this buffer; the output itself cannot seek). */
#define AVIO_BUF_SIZE 32768
/* A sleeping writer is woken by the queue only past this many bytes;
 * otherwise it wakes by itself every WAKE_US and takes what came. One futex
 * call per unit (25 a second per camera) cost more than the muxing. */
#define WAKE_BYTES (256 * 1024)
#define WAKE_US (20 * 1000)
#define WRITERS_MAX 64
#define RING_MIN 64
/* A rollover start taken from the previous segment's end as long as that
 * stays this close to the arrival clock. */
#define CONTIGUOUS_SLACK_US G_USEC_PER_SEC

typedef struct cam cam_t;

typedef struct {
  cw_access_unit_t *au;
  cam_t *cam;
  gint64 arrival_us;
  guint dropped_before; /* units of this camera dropped (queue full) just before this one */
} item_t;

/* Counted against queue_bytes besides the unit's bytes, so a flood of tiny
 * units is bounded too. */
#define ITEM_COST ((gsize)(sizeof(item_t) + sizeof(cw_access_unit_t)))

typedef struct {
  AVFormatContext *fmt;
  int fd;
  char *relpath;   /* final name under root */
  char *part_path; /* absolute, while written */
  gint64 start_us;
  gint64 first_pts;
  gint64 end_pts; /* relative: last written pts + its duration */
  AVRational tb;
  gint64 bytes;      /* handed to write(2) so far */
  gint64 bytes_seen; /* of those, already in the stats */
  gint64 header_bytes;
  int werr; /* errno of the first failed write; 0 none */
  cw_codec_t codec;
  int width, height;
  GByteArray *ps; /* the first keyframe's parameter sets, Annex B */
} segment_t;

struct cam {
  gint64 camera_id; /* first: the hash key points here */
  /* Under the writer's lock. */
  guint dropped_pending;
  gint64 last_push_mono;
  cw_recorder_camera_status_t st;
  /* Writer thread only. */
  gboolean listed, idle_due;
  segment_t *seg;
  cw_access_unit_t *held; /* last unit fed; written once the next one gives its duration */
  gboolean have_last;
  gint64 last_pts;
  guint32 last_ssrc, last_clock;
  cw_codec_t last_codec;
  gint64 last_delta;  /* pts between the segment's last two units */
  gint64 prev_end_us; /* end of the segment that a rollover just closed; 0 none */
  gboolean in_error, warned_no_ps;
  gint64 retry_mono;
};

typedef struct {
  cw_recorder_t *r;
  guint index;
  GThread *thread;
  GMutex lock;
  GCond cond;
  /* Under lock. */
  item_t *ring;
  guint cap, head, count;
  gsize queued, queued_max;
  gboolean sleeping, stop;
  GHashTable *cams; /* &camera_id -> cam_t, owned */
  gint64 units_in, dropped_full, segments_closed, bytes_written, write_errors;
  /* Writer thread only. */
  GPtrArray *list; /* the cameras this thread has handled */
  AVPacket *pkt;
  GByteArray *scratch; /* parameter sets of the keyframe at hand */
  gint64 next_sweep;
} writer_t;

struct cw_recorder {
  cw_recorder_options_t o;
  char *root;
  writer_t *writers;
  guint n;
};

/* ---- files ------------------------------------------------------------- */

static void
fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0)
    cw_log_warn(MOD, "syncing folder %s: %s", dir, g_strerror(errno));
  if (fd >= 0)
    close(fd);
}

#if LIBAVFORMAT_VERSION_MAJOR >= 61
static int
write_cb(void *opaque, const uint8_t *buf, int size)
#else
static int
write_cb(void *opaque, uint8_t *buf, int size)
#endif
{
  segment_t *s = opaque;
  int left = size;
  while (left > 0) {
    ssize_t n = write(s->fd, buf + (size - left), (size_t)left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (!s->werr)
        s->werr = n < 0 ? errno : EIO;
      return AVERROR(s->werr);
    }
    s->bytes += n;
    left -= (int)n;
  }
  return size;
}

static void
segment_free(segment_t *s)
{
  if (!s)
    return;
  if (s->fmt) {
    if (s->fmt->pb) {
      av_freep(&s->fmt->pb->buffer);
      avio_context_free(&s->fmt->pb);
    }
    avformat_free_context(s->fmt);
  }
  if (s->fd >= 0)
    close(s->fd);
  if (s->ps)
    g_byte_array_unref(s->ps);
  g_free(s->relpath);
  g_free(s->part_path);
  g_free(s);
}

/* Creates <root>/<relpath>.part; a name already taken (a clock that went
 * back) moves the start on by a millisecond rather than overwrite footage. */
static int
create_part(cw_recorder_t *r, gint64 camera_id, segment_t *s, char *msg, size_t msg_size)
{
  for (int tries = 0; tries < 16; tries++, s->start_us += 1000) {
    g_free(s->relpath);
    g_free(s->part_path);
    s->relpath = cw_segment_relpath(camera_id, s->start_us);
    char *final = g_build_filename(r->root, s->relpath, NULL);
    s->part_path = g_strconcat(final, ".part", NULL);
    gboolean taken = g_file_test(final, G_FILE_TEST_EXISTS);
    char *dir = g_path_get_dirname(final);
    g_free(final);
    if (taken) {
      g_free(dir);
      continue;
    }
    if (g_mkdir_with_parents(dir, 0750) < 0) {
      snprintf(msg, msg_size, "recording to %s: %s", dir, g_strerror(errno));
      g_free(dir);
      return -1;
    }
    g_free(dir);
    s->fd = open(s->part_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (s->fd >= 0)
      return 0;
    if (errno != EEXIST) {
      snprintf(msg, msg_size, "recording to %s: %s", s->part_path, g_strerror(errno));
      return -1;
    }
  }
  snprintf(msg, msg_size, "recording to %s: 16 segments already start at that millisecond",
           s->part_path);
  return -1;
}

/* ---- status ------------------------------------------------------------ */

static void
set_state(writer_t *w, cam_t *c, cw_recording_state_t state)
{
  g_mutex_lock(&w->lock);
  if (c->st.state != CW_RECORDING_ERROR || !c->in_error)
    c->st.state = state;
  g_mutex_unlock(&w->lock);
}

static void
count_drop(writer_t *w, cam_t *c)
{
  g_mutex_lock(&w->lock);
  c->st.units_dropped++;
  g_mutex_unlock(&w->lock);
}

/* Adds the bytes written since the last call to the counters. */
static void
account(writer_t *w, cam_t *c, segment_t *s)
{
  gint64 d = s->bytes - s->bytes_seen;
  if (d == 0)
    return;
  s->bytes_seen = s->bytes;
  g_mutex_lock(&w->lock);
  c->st.bytes_written += d;
  w->bytes_written += d;
  g_mutex_unlock(&w->lock);
}

static void
enter_error(writer_t *w, cam_t *c, const char *msg)
{
  cw_recorder_t *r = w->r;
  g_mutex_lock(&w->lock);
  w->write_errors++;
  c->st.state = CW_RECORDING_ERROR;
  g_strlcpy(c->st.error, msg, sizeof c->st.error);
  g_mutex_unlock(&w->lock);
  c->retry_mono = g_get_monotonic_time() + (gint64)r->o.retry_ms * 1000;
  if (c->in_error) {
    cw_log_debug(MOD, "camera %" G_GINT64_FORMAT ": still failing: %s", c->camera_id, msg);
    return;
  }
  c->in_error = TRUE;
  cw_log_error(MOD, "camera %" G_GINT64_FORMAT ": %s; retrying at a keyframe every %u ms",
               c->camera_id, msg, r->o.retry_ms);
  if (r->o.on_error)
    r->o.on_error(r->o.opaque, c->camera_id, msg);
}

static void
leave_error(writer_t *w, cam_t *c, cw_recording_state_t state)
{
  cw_recorder_t *r = w->r;
  c->in_error = FALSE;
  g_mutex_lock(&w->lock);
  c->st.state = state;
  c->st.error[0] = '\0';
  g_mutex_unlock(&w->lock);
  cw_log_info(MOD, "camera %" G_GINT64_FORMAT ": recording again", c->camera_id);
  if (r->o.on_error)
    r->o.on_error(r->o.opaque, c->camera_id, NULL);
}

static void
report_closed(writer_t *w, cam_t *c, const cw_segment_info_t *info)
{
  cw_recorder_t *r = w->r;
  g_mutex_lock(&w->lock);
  c->st.segments_closed++;
  w->segments_closed++;
  g_mutex_unlock(&w->lock);
  if (r->o.on_closed)
    r->o.on_closed(r->o.opaque, info);
}

/* ---- segments ---------------------------------------------------------- */

/* After a failed write or muxer call: the file is cut back to its complete
 * fragments (kept and reported, or removed), and the camera goes into the
 * error state until a retry succeeds. */
static void
fail_segment(writer_t *w, cam_t *c, int averr)
{
  cw_recorder_t *r = w->r;
  segment_t *s = c->seg;
  char msg[256];
  c->seg = NULL;
  if (c->held)
    cw_access_unit_unref(c->held);
  c->held = NULL;
  if (s->werr)
    snprintf(msg, sizeof msg, "recording to %s: %s", s->part_path, g_strerror(s->werr));
  else
    snprintf(msg, sizeof msg, "recording to %s: libavformat: %s", s->part_path, av_err2str(averr));
  account(w, c, s);
  /* The muxer goes without its trailer: its state is unknown, and the
   * fragments already on disk are all that can be trusted. */
  char *relpath = g_strdup(s->relpath);
  segment_free(s);
  cw_segment_info_t info = {0};
  cw_error_t err = {0};
  int rc = cw_segment_repair(r->root, relpath, &info, &err);
  if (rc == 0) {
    cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": kept %s up to its last complete fragment",
                c->camera_id, relpath);
    report_closed(w, c, &info);
  } else if (rc != -ENODATA) {
    cw_log_error(MOD, "camera %" G_GINT64_FORMAT ": %s", c->camera_id, err.msg);
  }
  cw_segment_info_clear(&info);
  g_free(relpath);
  enter_error(w, c, msg);
}

/* Writes the held unit with duration dur. 0, or -1 when the segment failed
 * (and is gone). */
static int
write_held(writer_t *w, cam_t *c, gint64 dur)
{
  segment_t *s = c->seg;
  cw_access_unit_t *h = c->held;
  AVPacket *p = w->pkt;
  AVStream *st = s->fmt->streams[0];
  gint64 before = s->bytes;
  p->data = h->data;
  p->size = (int)h->size;
  p->pts = p->dts = h->pts - s->first_pts;
  p->duration = dur;
  p->flags = h->keyframe ? AV_PKT_FLAG_KEY : 0;
  p->stream_index = 0;
  s->end_pts = p->pts + dur;
  av_packet_rescale_ts(p, s->tb, st->time_base);
  int rc = av_write_frame(s->fmt, p);
  /* A fragment the muxer completed goes to write(2) now, not when the
   * buffer happens to fill: a crash loses only the fragment being built. */
  if (rc >= 0)
    avio_flush(s->fmt->pb);
  p->data = NULL;
  p->size = 0;
  cw_access_unit_unref(h);
  c->held = NULL;
  c->last_delta = dur;
  account(w, c, s);
  if (rc >= 0 && !s->werr && s->bytes != before && w->r->o.fsync == CW_RECORDER_FSYNC_FRAGMENT &&
      fdatasync(s->fd) < 0)
    s->werr = errno;
  if (rc < 0 || s->werr) {
    fail_segment(w, c, rc);
    return -1;
  }
  if (c->in_error && s->bytes > s->header_bytes)
    leave_error(w, c, CW_RECORDING_ACTIVE);
  return 0;
}

/* Closes the camera's open segment: the held unit gets its duration from
 * next (the unit that starts the next segment) or the previous delta, the
 * trailer is written, the file synced, renamed and reported. */
static void
end_segment(writer_t *w, cam_t *c, const cw_access_unit_t *next)
{
  cw_recorder_t *r = w->r;
  segment_t *s = c->seg;
  if (!s)
    return;
  if (c->held) {
    gint64 d = next && next->pts > c->held->pts ? next->pts - c->held->pts : c->last_delta;
    if (write_held(w, c, d) < 0)
      return;
  }
  int rc = av_write_trailer(s->fmt);
  if (rc >= 0)
    avio_flush(s->fmt->pb);
  account(w, c, s);
  if (rc >= 0 && !s->werr && r->o.fsync != CW_RECORDER_FSYNC_NONE && fdatasync(s->fd) < 0)
    s->werr = errno;
  if (rc >= 0 && !s->werr) {
    /* close() releases the descriptor even when it reports an error. */
    int fd = s->fd;
    s->fd = -1;
    if (close(fd) < 0)
      s->werr = errno;
  }
  if (rc < 0 || s->werr) {
    fail_segment(w, c, rc);
    return;
  }
  char *final = g_build_filename(r->root, s->relpath, NULL);
  if (rename(s->part_path, final) < 0) {
    s->werr = errno;
    g_free(final);
    fail_segment(w, c, 0);
    return;
  }
  if (r->o.fsync != CW_RECORDER_FSYNC_NONE) {
    char *dir = g_path_get_dirname(final);
    fsync_dir(dir);
    g_free(dir);
  }
  g_free(final);
  cw_segment_info_t info = {
      .camera_id = c->camera_id,
      .path = s->relpath,
      .start_us = s->start_us,
      .end_us = s->start_us + av_rescale_q(s->end_pts, s->tb, AV_TIME_BASE_Q),
      .bytes = s->bytes,
      .codec = s->codec,
      .width = s->width,
      .height = s->height,
  };
  c->prev_end_us = next ? info.end_us : 0;
  c->seg = NULL;
  /* A retry whose segment closed before a fragment was due: it worked. */
  if (c->in_error)
    leave_error(w, c, CW_RECORDING_WAITING_KEY);
  cw_log_debug(MOD, "camera %" G_GINT64_FORMAT ": closed %s (%" G_GINT64_FORMAT " bytes)",
               c->camera_id, s->relpath, s->bytes);
  report_closed(w, c, &info);
  segment_free(s);
}

static int
open_muxer(writer_t *w, segment_t *s, const cw_access_unit_t *au)
{
  cw_recorder_t *r = w->r;
  int rc = avformat_alloc_output_context2(&s->fmt, NULL, "mp4", NULL);
  if (rc < 0)
    return rc;
  guint8 *buf = av_malloc(AVIO_BUF_SIZE);
  if (!buf)
    return AVERROR(ENOMEM);
  s->fmt->pb = avio_alloc_context(buf, AVIO_BUF_SIZE, 1, s, NULL, write_cb, NULL);
  if (!s->fmt->pb) {
    av_free(buf);
    return AVERROR(ENOMEM);
  }
  AVStream *st = avformat_new_stream(s->fmt, NULL);
  if (!st)
    return AVERROR(ENOMEM);
  AVCodecParameters *par = st->codecpar;
  par->codec_type = AVMEDIA_TYPE_VIDEO;
  par->codec_id = s->codec == CW_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  par->width = s->width;
  par->height = s->height;
  /* Annex B extradata and packets: movenc writes avcC/hvcC and length
   * prefixes itself, so the bytes are copied once, into the fragment. */
  par->extradata = av_mallocz(s->ps->len + AV_INPUT_BUFFER_PADDING_SIZE);
  if (!par->extradata)
    return AVERROR(ENOMEM);
  memcpy(par->extradata, s->ps->data, s->ps->len);
  par->extradata_size = (int)s->ps->len;
  st->time_base = s->tb;
  AVDictionary *opts = NULL;
  av_dict_set(&opts, "movflags", "empty_moov+default_base_moof", 0);
  av_dict_set_int(&opts, "frag_duration", (int64_t)r->o.fragment_ms * 1000, 0);
  rc = avformat_write_header(s->fmt, &opts);
  av_dict_free(&opts);
  if (rc < 0)
    return rc;
  avio_flush(s->fmt->pb);
  s->header_bytes = s->bytes;
  return s->werr ? AVERROR(s->werr) : 0;
}

/* Opens a segment starting with keyframe it->au. 0, or -1 (the unit is not
 * recorded; the camera waits for the next keyframe). */
static int
open_segment(writer_t *w, cam_t *c, const item_t *it, gboolean rollover)
{
  cw_recorder_t *r = w->r;
  const cw_access_unit_t *au = it->au;
  char msg[256];
  cw_keyframe_parameter_sets(au, w->scratch);
  if (!cw_keyframe_has_sps(w->scratch, au->codec)) {
    if (!c->warned_no_ps)
      cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": keyframe without parameter sets; waiting",
                  c->camera_id);
    c->warned_no_ps = TRUE;
    return -1;
  }
  segment_t *s = g_new0(segment_t, 1);
  s->fd = -1;
  s->codec = au->codec;
  s->first_pts = au->pts;
  s->tb = (AVRational){1, (int)au->clock_rate};
  s->ps = g_byte_array_sized_new(w->scratch->len);
  g_byte_array_append(s->ps, w->scratch->data, w->scratch->len);
  cw_keyframe_picture_size(au, &s->width, &s->height);
  /* Without a sender-report clock, a rollover continues where the previous
   * segment ended, so arrival jitter does not make gaps or overlaps. */
  if (au->wallclock_us)
    s->start_us = au->wallclock_us;
  else if (rollover && c->prev_end_us && ABS(c->prev_end_us - it->arrival_us) < CONTIGUOUS_SLACK_US)
    s->start_us = c->prev_end_us;
  else
    s->start_us = it->arrival_us;
  /* Whole milliseconds, as the file name carries it: the index and a later
   * read of the file (cw_segment_probe, crash recovery) then agree. */
  s->start_us -= s->start_us % 1000;
  if (create_part(r, c->camera_id, s, msg, sizeof msg) < 0) {
    segment_free(s);
    enter_error(w, c, msg);
    return -1;
  }
  c->seg = s;
  if (c->last_delta <= 0)
    c->last_delta = au->clock_rate / 25;
  int rc = open_muxer(w, s, au);
  account(w, c, s);
  if (rc < 0 || s->werr) {
    fail_segment(w, c, rc);
    return -1;
  }
  if (!c->in_error)
    set_state(w, c, CW_RECORDING_ACTIVE);
  cw_log_debug(MOD, "camera %" G_GINT64_FORMAT ": recording %s (%s %dx%d)", c->camera_id,
               s->relpath, cw_codec_name(s->codec), s->width, s->height);
  return 0;
}

/* ---- the writer thread ------------------------------------------------- */

/* Why au cannot follow the camera's previous unit in the same segment, or NULL. */
static const char *
stream_break(const cam_t *c, const cw_access_unit_t *au, char *buf, size_t size)
{
  if (!c->have_last)
    return NULL;
  if (au->ssrc != c->last_ssrc)
    return "SSRC changed";
  if (au->codec != c->last_codec)
    return "codec changed";
  if (au->clock_rate != c->last_clock)
    return "clock rate changed";
  if (au->pts <= c->last_pts)
    return "timestamps went back";
  if (au->pts - c->last_pts > (gint64)JUMP_MAX_S * au->clock_rate) {
    snprintf(buf, size, "timestamps jumped by %.1f s",
             (double)(au->pts - c->last_pts) / au->clock_rate);
    return buf;
  }
  return NULL;
}

/* Ends the segment (if any) at its last good unit; the camera then waits for
 * a keyframe. */
static void
break_segment(writer_t *w, cam_t *c, const char *why)
{
  if (c->seg)
    cw_log_info(MOD, "camera %" G_GINT64_FORMAT ": %s; segment %s ends", c->camera_id, why,
                c->seg->relpath);
  if (!c->in_error)
    set_state(w, c, CW_RECORDING_WAITING_KEY);
  end_segment(w, c, NULL);
}

/* A keyframe that arrives while a segment is open: a new segment starts here
 * when the parameter sets changed or the segment is long enough. */
static gboolean
rollover_due(writer_t *w, cam_t *c, const cw_access_unit_t *au)
{
  segment_t *s = c->seg;
  cw_keyframe_parameter_sets(au, w->scratch);
  if (w->scratch->len &&
      (w->scratch->len != s->ps->len || memcmp(w->scratch->data, s->ps->data, s->ps->len) != 0)) {
    cw_log_info(MOD, "camera %" G_GINT64_FORMAT ": parameter sets changed; new segment",
                c->camera_id);
    return TRUE;
  }
  return au->pts - s->first_pts >= (gint64)w->r->o.segment_ms * au->clock_rate / 1000;
}

static void
handle_unit(writer_t *w, item_t *it)
{
  cam_t *c = it->cam;
  cw_access_unit_t *au = it->au;
  char buf[64];
  gboolean rollover = FALSE;
  if (!c->listed) {
    g_ptr_array_add(w->list, c);
    c->listed = TRUE;
  }
  if (it->dropped_before) {
    snprintf(buf, sizeof buf, "queue full, %u units dropped", it->dropped_before);
    break_segment(w, c, buf);
  }
  const char *why = stream_break(c, au, buf, sizeof buf);
  if (why)
    break_segment(w, c, why);
  c->have_last = TRUE;
  c->last_pts = au->pts;
  c->last_ssrc = au->ssrc;
  c->last_clock = au->clock_rate;
  c->last_codec = au->codec;
  if (au->damaged || au->clock_rate == 0 || au->clock_rate > G_MAXINT ||
      (au->codec != CW_CODEC_H264 && au->codec != CW_CODEC_H265)) {
    break_segment(w, c, "damaged unit");
    count_drop(w, c);
    return;
  }
  if (c->seg && au->keyframe && rollover_due(w, c, au)) {
    end_segment(w, c, au);
    rollover = TRUE;
  }
  if (!c->seg) {
    gboolean waiting = c->in_error && g_get_monotonic_time() < c->retry_mono;
    if (!au->keyframe || waiting || open_segment(w, c, it, rollover) < 0) {
      count_drop(w, c);
      if (!c->in_error)
        set_state(w, c, CW_RECORDING_WAITING_KEY);
      return;
    }
  }
  if (c->held && write_held(w, c, au->pts - c->held->pts) < 0) {
    count_drop(w, c);
    return;
  }
  c->held = it->au;
  it->au = NULL;
}

/* Closes the segments of cameras that sent nothing for idle_ms, and works
 * out when to look again. */
static void
sweep(writer_t *w)
{
  gint64 now = g_get_monotonic_time();
  gint64 idle = (gint64)w->r->o.idle_ms * 1000;
  gint64 next = now + idle;
  g_mutex_lock(&w->lock);
  for (guint i = 0; i < w->list->len; i++) {
    cam_t *c = w->list->pdata[i];
    if (!c->seg && c->st.state != CW_RECORDING_WAITING_KEY)
      continue;
    gint64 due = c->last_push_mono + idle;
    if (due <= now)
      c->idle_due = TRUE;
    else
      next = MIN(next, due);
  }
  g_mutex_unlock(&w->lock);
  for (guint i = 0; i < w->list->len; i++) {
    cam_t *c = w->list->pdata[i];
    if (!c->idle_due)
      continue;
    c->idle_due = FALSE;
    if (c->seg)
      cw_log_info(MOD, "camera %" G_GINT64_FORMAT ": nothing for %u ms; segment %s ends",
                  c->camera_id, w->r->o.idle_ms, c->seg->relpath);
    /* The state first: whoever hears of the closed segment sees it. */
    set_state(w, c, CW_RECORDING_IDLE);
    end_segment(w, c, NULL);
  }
  w->next_sweep = next;
}

static item_t
ring_take(writer_t *w)
{
  item_t it = w->ring[w->head];
  w->head = (w->head + 1) % w->cap;
  w->count--;
  w->queued -= it.au->size + ITEM_COST;
  return it;
}

static gpointer
writer_main(gpointer data)
{
  writer_t *w = data;
  w->next_sweep = g_get_monotonic_time() + (gint64)w->r->o.idle_ms * 1000;
  g_mutex_lock(&w->lock);
  for (;;) {
    if (w->count == 0) {
      if (w->stop)
        break;
      w->sleeping = TRUE;
      g_cond_wait_until(&w->cond, &w->lock, MIN(w->next_sweep, g_get_monotonic_time() + WAKE_US));
      w->sleeping = FALSE;
      if (w->count == 0 && g_get_monotonic_time() >= w->next_sweep) {
        g_mutex_unlock(&w->lock);
        sweep(w);
        g_mutex_lock(&w->lock);
      }
      continue;
    }
    item_t it = ring_take(w);
    g_mutex_unlock(&w->lock);
    handle_unit(w, &it);
    if (it.au)
      cw_access_unit_unref(it.au);
    if (g_get_monotonic_time() >= w->next_sweep)
      sweep(w);
    g_mutex_lock(&w->lock);
  }
  g_mutex_unlock(&w->lock);
  for (guint i = 0; i < w->list->len; i++) {
    cam_t *c = w->list->pdata[i];
    set_state(w, c, CW_RECORDING_IDLE);
    end_segment(w, c, NULL);
  }
  return NULL;
}

/* ---- public ------------------------------------------------------------ */

static cam_t *
cam_lookup(writer_t *w, gint64 camera_id)
{
  cam_t *c = g_hash_table_lookup(w->cams, &camera_id);
  if (!c) {
    c = g_new0(cam_t, 1);
    c->camera_id = camera_id;
    c->st.camera_id = camera_id;
    c->st.state = CW_RECORDING_WAITING_KEY;
    g_hash_table_insert(w->cams, &c->camera_id, c);
  }
  return c;
}

static void
ring_put(writer_t *w, item_t it)
{
  if (w->count == w->cap) {
    guint cap = w->cap ? w->cap * 2 : RING_MIN;
    item_t *ring = g_new(item_t, cap);
    for (guint i = 0; i < w->count; i++)
      ring[i] = w->ring[(w->head + i) % w->cap];
    g_free(w->ring);
    w->ring = ring;
    w->cap = cap;
    w->head = 0;
  }
  w->ring[(w->head + w->count) % w->cap] = it;
  w->count++;
}

void
cw_recorder_push(void *recorder, cw_access_unit_t *au)
{
  cw_recorder_t *r = recorder;
  writer_t *w = &r->writers[(guint64)au->camera_id % r->n];
  gsize cost = au->size + ITEM_COST;
  gint64 now = g_get_real_time(), mono = g_get_monotonic_time();
  g_mutex_lock(&w->lock);
  cam_t *c = cam_lookup(w, au->camera_id);
  c->last_push_mono = mono;
  w->units_in++;
  /* Overflow policy: drop the newest unit and remember it for the camera,
   * whose segment then ends at its last queued unit. A unit bigger than the
   * whole bound still goes onto an empty queue, or it could never be kept. */
  if (w->stop || (w->queued > 0 && w->queued + cost > r->o.queue_bytes)) {
    w->dropped_full++;
    c->st.units_dropped++;
    c->dropped_pending++;
    g_mutex_unlock(&w->lock);
    return;
  }
  ring_put(w, (item_t){cw_access_unit_ref(au), c, now, c->dropped_pending});
  c->dropped_pending = 0;
  w->queued += cost;
  w->queued_max = MAX(w->queued_max, w->queued);
  /* Signalling costs a futex call; only a sleeping writer needs it. */
  if (w->sleeping && w->queued >= MIN(WAKE_BYTES, r->o.queue_bytes / 2))
    g_cond_signal(&w->cond);
  g_mutex_unlock(&w->lock);
}

cw_recorder_t *
cw_recorder_new(const cw_recorder_options_t *options, cw_error_t *err)
{
  if (!options->root || !*options->root) {
    cw_error_set(err, -EINVAL, "recorder: root: empty");
    return NULL;
  }
  if (g_mkdir_with_parents(options->root, 0750) < 0) {
    cw_error_set(err, -errno, "recorder: root: cannot create %s: %s", options->root,
                 g_strerror(errno));
    return NULL;
  }
  cw_recorder_t *r = g_new0(cw_recorder_t, 1);
  r->o = *options;
  r->root = g_strdup(options->root);
  r->o.root = r->root;
  r->o.segment_ms = r->o.segment_ms ? r->o.segment_ms : 60000;
  r->o.fragment_ms = r->o.fragment_ms ? MIN(r->o.fragment_ms, r->o.segment_ms) : 1000;
  r->o.idle_ms = r->o.idle_ms ? r->o.idle_ms : 5000;
  r->o.retry_ms = r->o.retry_ms ? r->o.retry_ms : 5000;
  r->o.queue_bytes = r->o.queue_bytes ? r->o.queue_bytes : (gsize)64 << 20;
  r->n = CLAMP(r->o.writers ? r->o.writers : 2, 1, WRITERS_MAX);
  r->o.writers = r->n;
  r->writers = g_new0(writer_t, r->n);
  for (guint i = 0; i < r->n; i++) {
    writer_t *w = &r->writers[i];
    w->r = r;
    w->index = i;
    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    w->cams = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    w->list = g_ptr_array_new();
    w->pkt = av_packet_alloc();
    w->scratch = g_byte_array_new();
    char name[24];
    snprintf(name, sizeof name, "cw-rec-%u", i);
    w->thread = g_thread_new(name, writer_main, w);
  }
  cw_log_info(MOD, "recording under %s: %u writers, %u ms segments, %u ms fragments", r->root, r->n,
              r->o.segment_ms, r->o.fragment_ms);
  return r;
}

GArray *
cw_recorder_status(cw_recorder_t *r)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(cw_recorder_camera_status_t));
  for (guint i = 0; i < r->n; i++) {
    writer_t *w = &r->writers[i];
    g_mutex_lock(&w->lock);
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, w->cams);
    while (g_hash_table_iter_next(&iter, NULL, &value))
      g_array_append_val(out, ((cam_t *)value)->st);
    g_mutex_unlock(&w->lock);
  }
  return out;
}

void
cw_recorder_stats(cw_recorder_t *r, cw_recorder_stats_t *out)
{
  memset(out, 0, sizeof *out);
  for (guint i = 0; i < r->n; i++) {
    writer_t *w = &r->writers[i];
    g_mutex_lock(&w->lock);
    out->units_in += w->units_in;
    out->units_dropped_queue_full += w->dropped_full;
    out->queued_bytes += (gint64)w->queued;
    out->queued_bytes_max += (gint64)w->queued_max;
    out->segments_closed += w->segments_closed;
    out->bytes_written += w->bytes_written;
    out->write_errors += w->write_errors;
    g_mutex_unlock(&w->lock);
  }
}

void
cw_recorder_free(cw_recorder_t *r)
{
  if (!r)
    return;
  for (guint i = 0; i < r->n; i++) {
    writer_t *w = &r->writers[i];
    g_mutex_lock(&w->lock);
    w->stop = TRUE;
    g_cond_signal(&w->cond);
    g_mutex_unlock(&w->lock);
  }
  for (guint i = 0; i < r->n; i++) {
    writer_t *w = &r->writers[i];
    g_thread_join(w->thread);
    for (guint k = 0; k < w->list->len; k++) {
      cam_t *c = w->list->pdata[k];
      if (c->held)
        cw_access_unit_unref(c->held);
    }
    g_ptr_array_free(w->list, TRUE);
    g_hash_table_destroy(w->cams);
    av_packet_free(&w->pkt);
    g_byte_array_unref(w->scratch);
    g_free(w->ring);
    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
  }
  g_free(r->writers);
  g_free(r->root);
  g_free(r);
}
