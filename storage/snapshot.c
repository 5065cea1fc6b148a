/* Event snapshots (see snapshot.h): one keyframe decoded, scaled and encoded
 * as JPEG on the snapshotter's own thread. Ingest threads only look their
 * camera up in the table of waiting requests; the lock guards that table,
 * the job queue and the counters, never a decode or a write. */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "log.h"

#define MOD "snapshot"
/* Keyframes taken for requests and not yet decoded. A push onto a full
 * queue is dropped and counted; its requests stay waiting for the camera's
 * next keyframe, so a burst costs latency, not snapshots. */
#define JOBS_MAX 16
#define RELPATH_MAX 1024

/* ---- one keyframe to JPEG ---------------------------------------------- */

static int
decode(const cw_access_unit_t *au, AVFrame **out, cw_error_t *err)
{
  enum AVCodecID id = au->codec == CW_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  const AVCodec *codec = avcodec_find_decoder(id);
  AVCodecContext *cc = codec ? avcodec_alloc_context3(codec) : NULL;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *frame = av_frame_alloc();
  int rc, averr;
  if (!cc || !pkt || !frame) {
    rc = cw_error_set(err, -ENOMEM, "snapshot: no %s decoder", avcodec_get_name(id));
    goto out;
  }
  /* One picture: threads would only add latency. Explode makes a slice
   * that breaks off an error instead of a concealed (half grey) picture. */
  cc->thread_count = 1;
  cc->err_recognition |= AV_EF_EXPLODE;
  if ((averr = avcodec_open2(cc, codec, NULL)) < 0 ||
      (averr = av_new_packet(pkt, (int)au->size)) < 0) {
    rc = cw_error_set(err, -ENOMEM, "snapshot: %s decoder: %s", codec->name, av_err2str(averr));
    goto out;
  }
  memcpy(pkt->data, au->data, au->size);
  pkt->flags |= AV_PKT_FLAG_KEY;
  if ((averr = avcodec_send_packet(cc, pkt)) < 0) {
    rc = cw_error_set(err, -EINVAL, "snapshot: %s: the keyframe does not decode: %s", codec->name,
                      av_err2str(averr));
    goto out;
  }
  /* The decoder may hold the picture back for reordering: drain it. */
  avcodec_send_packet(cc, NULL);
  averr = avcodec_receive_frame(cc, frame);
  if (averr < 0 || frame->width <= 0 || frame->height <= 0) {
    rc = cw_error_set(err, -EINVAL, "snapshot: %s: the keyframe gave no picture (%s)", codec->name,
                      averr < 0 ? av_err2str(averr) : "empty frame");
    goto out;
  }
  if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT)) {
    rc = cw_error_set(err, -EINVAL, "snapshot: %s: the keyframe decodes with errors", codec->name);
    goto out;
  }
  *out = frame;
  frame = NULL;
  rc = 0;
out:
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&cc);
  return rc;
}

/* Scaled into full-range BT.601 4:2:0 (what JFIF means) at most max_width
 * wide, both sides even, the height the nearest even one to the aspect. */
static int
encode(const AVFrame *in, guint max_width, guint quality, GBytes **jpeg, cw_error_t *err)
{
  int w = in->width & ~1, h = in->height & ~1, rc, averr;
  if (max_width && (guint)in->width > max_width) {
    w = (int)max_width & ~1;
    h = (int)(((gint64)in->height * w + in->width) / (2 * (gint64)in->width)) * 2;
  }
  w = MAX(w, 2);
  h = MAX(h, 2);
  /* The YUVJ formats are deprecated (swscale warns at every context): the
   * same layout with the range given apart. Plain yuv420p marked full range
   * is also what the encoder takes for yuvj420p. */
  enum AVPixelFormat src_fmt = in->format;
  int src_full = in->color_range == AVCOL_RANGE_JPEG;
  if (src_fmt == AV_PIX_FMT_YUVJ420P || src_fmt == AV_PIX_FMT_YUVJ422P ||
      src_fmt == AV_PIX_FMT_YUVJ444P) {
    src_full = 1;
    src_fmt = src_fmt == AV_PIX_FMT_YUVJ420P   ? AV_PIX_FMT_YUV420P
              : src_fmt == AV_PIX_FMT_YUVJ422P ? AV_PIX_FMT_YUV422P
                                               : AV_PIX_FMT_YUV444P;
  }
  struct SwsContext *sws = sws_getContext(in->width, in->height, src_fmt, w, h, AV_PIX_FMT_YUV420P,
                                          SWS_BICUBIC, NULL, NULL, NULL);
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  AVCodecContext *cc = codec ? avcodec_alloc_context3(codec) : NULL;
  AVFrame *f = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  if (!sws || !cc || !f || !pkt) {
    rc = cw_error_set(err, -EINVAL, "snapshot: cannot scale %dx%d %s to %dx%d JPEG", in->width,
                      in->height, av_get_pix_fmt_name(in->format), w, h);
    goto out;
  }
  sws_setColorspaceDetails(sws, sws_getCoefficients(in->colorspace), src_full,
                           sws_getCoefficients(SWS_CS_ITU601), 1, 0, 1 << 16, 1 << 16);
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  /* quality 100 is qscale 2 (the encoder's finest by default), 1 is 31
   * (its coarsest); the default 80 gives 8, about libjpeg's 75. */
  cc->global_quality = FF_QP2LAMBDA * (2 + (int)((100 - CLAMP(quality, 1, 100)) * 29 + 49) / 99);
  f->quality = cc->global_quality;
  cc->flags |= AV_CODEC_FLAG_QSCALE;
  cc->width = w;
  cc->height = h;
  cc->pix_fmt = AV_PIX_FMT_YUV420P;
  cc->color_range = AVCOL_RANGE_JPEG;
  cc->time_base = (AVRational){1, 25};
  cc->thread_count = 1;
  if ((averr = av_frame_get_buffer(f, 0)) < 0 ||
      (averr = sws_scale(sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height,
                         f->data, f->linesize)) < 0 ||
      (averr = avcodec_open2(cc, codec, NULL)) < 0 || (averr = avcodec_send_frame(cc, f)) < 0 ||
      (averr = avcodec_send_frame(cc, NULL)) < 0 || (averr = avcodec_receive_packet(cc, pkt)) < 0) {
    rc = cw_error_set(err, -EIO, "snapshot: %dx%d JPEG: %s", w, h, av_err2str(averr));
    goto out;
  }
  *jpeg = g_bytes_new(pkt->data, (gsize)pkt->size);
  rc = 0;
out:
  av_packet_free(&pkt);
  av_frame_free(&f);
  avcodec_free_context(&cc);
  sws_freeContext(sws);
  return rc;
}

int
cw_snapshot_jpeg(const cw_access_unit_t *keyframe, guint max_width, guint quality, GBytes **jpeg,
                 cw_error_t *err)
{
  *jpeg = NULL;
  if (!keyframe || !keyframe->data || keyframe->size == 0)
    return cw_error_set(err, -EINVAL, "snapshot: empty access unit");
  if (keyframe->codec != CW_CODEC_H264 && keyframe->codec != CW_CODEC_H265)
    return cw_error_set(err, -EINVAL, "snapshot: codec %d is neither H.264 nor H.265",
                        (int)keyframe->codec);
  if (!keyframe->keyframe || keyframe->damaged)
    return cw_error_set(err, -EINVAL, "snapshot: %s",
                        keyframe->damaged ? "damaged access unit" : "not a keyframe");
  if (keyframe->size > (size_t)(G_MAXINT - AV_INPUT_BUFFER_PADDING_SIZE))
    return cw_error_set(err, -EINVAL, "snapshot: access unit of %zu bytes", keyframe->size);
  AVFrame *picture = NULL;
  int rc = decode(keyframe, &picture, err);
  if (rc == 0)
    rc = encode(picture, max_width, quality, jpeg, err);
  av_frame_free(&picture);
  return rc;
}

/* ---- names and folders ------------------------------------------------- */

char *
cw_snapshot_relpath(gint64 camera_id, gint64 time_us, const char *tag)
{
  /* Floor, so that a time before 1970 still names its own second. */
  gint64 secs = time_us / G_USEC_PER_SEC - (time_us % G_USEC_PER_SEC < 0);
  int ms = (int)((time_us - secs * G_USEC_PER_SEC) / 1000);
  GDateTime *t = g_date_time_new_from_unix_utc(secs);
  if (!t) /* past year 9999: a clock that is wrong anyway */
    t = g_date_time_new_from_unix_utc(0);
  char *day = g_date_time_format(t, "%Y-%m-%d");
  char *stamp = g_date_time_format(t, "%Y%m%dT%H%M%S");
  g_date_time_unref(t);
  /* The tag is the caller's text inside a file name: anything but a
   * letter, digit, '-' or '_' (a '/', a "..") becomes '_'. */
  char *safe = g_strdup(tag ? tag : "");
  for (char *c = safe; *c; c++)
    if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
      *c = '_';
  char *out = g_strdup_printf("%" G_GINT64_FORMAT "/%s/%" G_GINT64_FORMAT "-%s.%03dZ%s%s.jpg",
                              camera_id, day, camera_id, stamp, ms, *safe ? "-" : "", safe);
  g_free(safe);
  g_free(stamp);
  g_free(day);
  return out;
}

/* Relative, no empty, "." or ".." component. Any ".." at all is refused, as
 * the event store refuses it in the reference, so that a snapshot written
 * here is always one an event may name. */
static gboolean
relpath_safe(const char *relpath)
{
  if (!relpath || !*relpath || strlen(relpath) > RELPATH_MAX || strstr(relpath, ".."))
    return FALSE;
  for (const char *p = relpath; *p;) {
    const char *end = strchrnul(p, '/');
    if (end == p || (end - p == 1 && *p == '.'))
      return FALSE;
    p = *end ? end + 1 : end;
    if (*end && !*p) /* a trailing '/' */
      return FALSE;
  }
  return TRUE;
}

static gboolean
camera_dir_name(const char *name)
{
  if (name[0] < '1' || name[0] > '9' || strlen(name) > 18)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!g_ascii_isdigit(*c))
      return FALSE;
  return TRUE;
}

/* The end of the day a "YYYY-MM-DD" folder holds; FALSE for any other name. */
static gboolean
day_dir_end(const char *name, gint64 *end_us)
{
  if (strlen(name) != 10 || name[4] != '-' || name[7] != '-')
    return FALSE;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !g_ascii_isdigit(name[i]))
      return FALSE;
  GDateTime *t = g_date_time_new_utc(atoi(name), atoi(name + 5), atoi(name + 8), 0, 0, 0);
  if (!t) /* 2024-02-30 */
    return FALSE;
  *end_us = (g_date_time_to_unix(t) + 24 * 3600) * G_USEC_PER_SEC;
  g_date_time_unref(t);
  return TRUE;
}

static gboolean
is_dir(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The files of a day folder, then the folder. Anything else in it (a
 * folder) is not the layout: it stays, and so does the day folder. */
static int
remove_day(const char *path, int *files, cw_error_t *err)
{
  DIR *d = opendir(path);
  struct dirent *e;
  int rc = 0;
  while (d && (e = readdir(d))) {
    char *child = g_build_filename(path, e->d_name, NULL);
    if (!is_dir(child)) {
      if (unlink(child) == 0)
        (*files)++;
      else if (rc == 0)
        rc = cw_error_set(err, -errno, "snapshot prune: removing %s: %s", child, g_strerror(errno));
    }
    g_free(child);
  }
  if (!d)
    rc = cw_error_set(err, -errno, "snapshot prune: opening %s: %s", path, g_strerror(errno));
  else
    closedir(d);
  if (rc == 0 && rmdir(path) < 0 && errno != ENOTEMPTY)
    rc = cw_error_set(err, -errno, "snapshot prune: removing %s: %s", path, g_strerror(errno));
  return rc;
}

int
cw_snapshot_prune(const char *root, gint64 before_us, cw_error_t *err)
{
  DIR *top = opendir(root);
  if (!top) {
    if (errno == ENOENT)
      return 0;
    return cw_error_set(err, -errno, "snapshot prune: opening %s: %s", root, g_strerror(errno));
  }
  int files = 0, rc = 0;
  struct dirent *e;
  while ((e = readdir(top))) {
    char *cam = camera_dir_name(e->d_name) ? g_build_filename(root, e->d_name, NULL) : NULL;
    DIR *cd = cam && is_dir(cam) ? opendir(cam) : NULL;
    struct dirent *de;
    gint64 end_us;
    int r;
    while (cd && (de = readdir(cd))) {
      if (!day_dir_end(de->d_name, &end_us) || end_us > before_us)
        continue;
      char *day = g_build_filename(cam, de->d_name, NULL);
      /* The first failure is the one reported; the others are tried. */
      if (is_dir(day) && (r = remove_day(day, &files, rc ? NULL : err)) < 0 && rc == 0)
        rc = r;
      g_free(day);
    }
    if (cd)
      closedir(cd);
    g_free(cam);
  }
  closedir(top);
  if (files)
    cw_log_info(MOD, "pruned %d snapshots from days before %" G_GINT64_FORMAT, files, before_us);
  return rc ? rc : files;
}

/* ---- the snapshotter --------------------------------------------------- */

typedef struct {
  gint64 camera_id;
  char *relpath;
  gint64 deadline; /* monotonic µs */
} req_t;

typedef struct {
  cw_access_unit_t *au;
  GPtrArray *reqs; /* req_t: those the keyframe met */
} job_t;

struct cw_snapshotter {
  cw_snapshotter_options_t o;
  char *root;
  GThread *thread;
  GMutex lock;
  GCond cond;
  /* Under lock. */
  GHashTable *waiting; /* camera id -> GPtrArray of req_t, oldest (first to expire) first */
  GQueue jobs;         /* job_t, at most JOBS_MAX */
  guint pending;       /* requests not ended yet, waiting or in a job */
  gboolean stop;
  cw_snapshotter_stats_t st;
  guint64 dropped; /* keyframes not queued: JOBS_MAX reached */
};

static void
req_free(gpointer data)
{
  req_t *r = data;
  g_free(r->relpath);
  g_free(r);
}

/* Counts the end, then tells the owner: never under the lock, as done may
 * call back into the snapshotter. */
static void
end_request(cw_snapshotter_t *s, const req_t *r, guint64 *counter, const char *error)
{
  g_mutex_lock(&s->lock);
  (*counter)++;
  s->pending--;
  g_mutex_unlock(&s->lock);
  if (s->o.done)
    s->o.done(s->o.done_opaque, r->camera_id, r->relpath, error);
}

/* CONSISTENT: GLib writes a temporary name in the same folder, fsyncs it,
 * renames it and fsyncs the folder (2.74 does both syncs). The rename alone
 * keeps readers from half a JPEG while the node runs; the syncs keep a power
 * cut from leaving the name over an empty file, a snapshot that looks
 * corrupt rather than missing. Two syncs per event, on this thread, cost
 * little next to the decode and are never on the ingest path. */
static gboolean
write_file(const char *root, const req_t *r, GBytes *jpeg, GError **error)
{
  char *path = g_build_filename(root, r->relpath, NULL);
  char *dir = g_path_get_dirname(path);
  gsize size;
  const char *data = g_bytes_get_data(jpeg, &size);
  gboolean ok = TRUE;
  if (g_mkdir_with_parents(dir, 0750) < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "creating %s: %s", dir,
                g_strerror(errno));
    ok = FALSE;
  }
  ok = ok && g_file_set_contents_full(path, data, (gssize)size, G_FILE_SET_CONTENTS_CONSISTENT,
                                      0640, error);
  g_free(dir);
  g_free(path);
  return ok;
}

/* One decode for every request the keyframe met. */
static void
run_job(cw_snapshotter_t *s, job_t *j)
{
  cw_error_t err = {0};
  GBytes *jpeg = NULL;
  if (cw_snapshot_jpeg(j->au, s->o.max_width, s->o.quality, &jpeg, &err) < 0)
    cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": %s", j->au->camera_id, err.msg);
  for (guint i = 0; i < j->reqs->len; i++) {
    req_t *r = j->reqs->pdata[i];
    GError *error = NULL;
    if (!jpeg) {
      end_request(s, r, &s->st.failed, err.msg);
    } else if (!write_file(s->root, r, jpeg, &error)) {
      cw_log_warn(MOD, "camera %" G_GINT64_FORMAT ": snapshot: %s", r->camera_id, error->message);
      end_request(s, r, &s->st.failed, error->message);
      g_error_free(error);
    } else {
      end_request(s, r, &s->st.written, NULL);
    }
  }
  if (jpeg)
    g_bytes_unref(jpeg);
  cw_access_unit_unref(j->au);
  g_ptr_array_unref(j->reqs);
  g_free(j);
}

/* Moves the requests due by now out of the table into due; the soonest
 * deadline left (G_MAXINT64: none). */
static gint64
take_due(cw_snapshotter_t *s, gint64 now, GPtrArray *due)
{
  gint64 next = G_MAXINT64;
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init(&iter, s->waiting);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    GPtrArray *reqs = value;
    while (reqs->len && ((req_t *)reqs->pdata[0])->deadline <= now)
      g_ptr_array_add(due, g_ptr_array_steal_index(reqs, 0));
    if (reqs->len)
      next = MIN(next, ((req_t *)reqs->pdata[0])->deadline);
    else
      g_hash_table_iter_remove(&iter);
  }
  return next;
}

static gpointer
snapshot_main(gpointer data)
{
  cw_snapshotter_t *s = data;
  char *expired = g_strdup_printf("no keyframe within %g s", s->o.wait_ms / 1000.0);
  g_mutex_lock(&s->lock);
  for (;;) {
    /* Keyframes already taken are served even at stop: their events name
     * the files. */
    job_t *j = g_queue_pop_head(&s->jobs);
    if (j) {
      g_mutex_unlock(&s->lock);
      run_job(s, j);
      g_mutex_lock(&s->lock);
      continue;
    }
    gboolean stop = s->stop;
    GPtrArray *due = g_ptr_array_new_with_free_func(req_free);
    gint64 next = take_due(s, stop ? G_MAXINT64 : g_get_monotonic_time(), due);
    if (due->len) {
      g_mutex_unlock(&s->lock);
      for (guint i = 0; i < due->len; i++)
        end_request(s, due->pdata[i], stop ? &s->st.failed : &s->st.expired,
                    stop ? "snapshotter stopped before a keyframe came" : expired);
      g_mutex_lock(&s->lock);
    }
    gboolean ended = due->len > 0;
    g_ptr_array_unref(due);
    if (stop && !ended)
      break;
    if (ended)
      continue;
    if (next == G_MAXINT64)
      g_cond_wait(&s->cond, &s->lock);
    else
      g_cond_wait_until(&s->cond, &s->lock, next);
  }
  g_mutex_unlock(&s->lock);
  g_free(expired);
  return NULL;
}

/* ---- public ------------------------------------------------------------ */

cw_snapshotter_t *
cw_snapshotter_new(const cw_snapshotter_options_t *options, cw_error_t *err)
{
  if (!options->root || !*options->root) {
    cw_error_set(err, -EINVAL, "snapshotter: root: empty");
    return NULL;
  }
  if (g_mkdir_with_parents(options->root, 0750) < 0) {
    cw_error_set(err, -errno, "snapshotter: root: cannot create %s: %s", options->root,
                 g_strerror(errno));
    return NULL;
  }
  cw_snapshotter_t *s = g_new0(cw_snapshotter_t, 1);
  s->o = *options;
  s->root = g_strdup(options->root);
  s->o.root = s->root;
  s->o.max_width = s->o.max_width ? s->o.max_width : 640;
  s->o.quality = s->o.quality ? MIN(s->o.quality, 100) : 80;
  s->o.max_pending = s->o.max_pending ? s->o.max_pending : 256;
  s->o.wait_ms = s->o.wait_ms ? s->o.wait_ms : 10000;
  g_mutex_init(&s->lock);
  g_cond_init(&s->cond);
  s->waiting =
      g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  g_queue_init(&s->jobs);
  s->thread = g_thread_new("cw-snapshot", snapshot_main, s);
  cw_log_info(MOD, "snapshots under %s: at most %u px wide, quality %u, %u ms wait", s->root,
              s->o.max_width, s->o.quality, s->o.wait_ms);
  return s;
}

gboolean
cw_snapshotter_request(cw_snapshotter_t *s, gint64 camera_id, const char *relpath)
{
  gboolean safe = relpath_safe(relpath);
  g_mutex_lock(&s->lock);
  if (!safe || s->stop || s->pending >= s->o.max_pending) {
    s->st.refused++;
    g_mutex_unlock(&s->lock);
    cw_log_debug(MOD, "camera %" G_GINT64_FORMAT ": snapshot refused: %s", camera_id,
                 safe ? "too many pending" : "not a safe relative path");
    return FALSE;
  }
  GPtrArray *reqs = g_hash_table_lookup(s->waiting, &camera_id);
  if (!reqs) {
    reqs = g_ptr_array_new_with_free_func(req_free);
    g_hash_table_insert(s->waiting, g_memdup2(&camera_id, sizeof camera_id), reqs);
  }
  req_t *r = g_new0(req_t, 1);
  r->camera_id = camera_id;
  r->relpath = g_strdup(relpath);
  r->deadline = g_get_monotonic_time() + (gint64)s->o.wait_ms * 1000;
  g_ptr_array_add(reqs, r);
  s->pending++;
  s->st.requested++;
  /* The thread may be waiting with no deadline at all. */
  g_cond_signal(&s->cond);
  g_mutex_unlock(&s->lock);
  return TRUE;
}

void
cw_snapshotter_push(void *snapshotter, cw_access_unit_t *au)
{
  cw_snapshotter_t *s = snapshotter;
  /* Nearly every unit ends here, without the lock. */
  if (!au->keyframe || au->damaged)
    return;
  g_mutex_lock(&s->lock);
  GPtrArray *reqs = g_hash_table_lookup(s->waiting, &au->camera_id);
  if (reqs && !s->stop && s->jobs.length < JOBS_MAX) {
    job_t *j = g_new0(job_t, 1);
    j->au = cw_access_unit_ref(au);
    j->reqs = g_ptr_array_ref(reqs);
    g_hash_table_remove(s->waiting, &au->camera_id);
    g_queue_push_tail(&s->jobs, j);
    g_cond_signal(&s->cond);
  } else if (reqs && !s->stop && s->dropped++ % 100 == 0) {
    cw_log_warn(MOD, "keyframe queue full: %" G_GUINT64_FORMAT " keyframes dropped so far",
                s->dropped);
  }
  g_mutex_unlock(&s->lock);
}

void
cw_snapshotter_stats(cw_snapshotter_t *s, cw_snapshotter_stats_t *out)
{
  g_mutex_lock(&s->lock);
  *out = s->st;
  g_mutex_unlock(&s->lock);
}

void
cw_snapshotter_free(cw_snapshotter_t *s)
{
  if (!s)
    return;
  g_mutex_lock(&s->lock);
  s->stop = TRUE;
  g_cond_signal(&s->cond);
  g_mutex_unlock(&s->lock);
  /* The thread ends every request before it returns. */
  g_thread_join(s->thread);
  if (s->dropped)
    cw_log_info(MOD, "%" G_GUINT64_FORMAT " keyframes were dropped (queue full)", s->dropped);
  g_hash_table_destroy(s->waiting);
  g_mutex_clear(&s->lock);
  g_cond_clear(&s->cond);
  g_free(s->root);
  g_free(s);
}
