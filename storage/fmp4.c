/* Fragmented MP4 files after the fact: the top-level box walk that cuts an
 * unfinished segment back to its complete fragments (crash recovery, and the
 * recorder after a write error), and reading a segment back for the index.
 *
 * A file the recorder writes is ftyp, moov (no samples), then moof+mdat
 * pairs, then an mfra when it was closed properly. Only box headers are
 * read (pread of 16 bytes per box), never the media. */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "log.h"

#define MOD "recorder"

typedef struct {
  guint32 type;
  gint64 start, end; /* end > file size: the box is cut short */
} box_t;

#define FOURCC(a, b, c, d) (((guint32)(a) << 24) | ((guint32)(b) << 16) | ((guint32)(c) << 8) | (d))

/* The box header at off. FALSE when there is no whole, sane header there
 * (end of file, a header cut short, a size that cannot be). */
static gboolean
box_at(int fd, gint64 off, gint64 file_size, box_t *b)
{
  guint8 h[16];
  if (file_size - off < 8 || pread(fd, h, 8, off) != 8)
    return FALSE;
  guint64 size = ((guint64)h[0] << 24) | ((guint64)h[1] << 16) | ((guint64)h[2] << 8) | h[3];
  gint64 header = 8;
  b->type = FOURCC(h[4], h[5], h[6], h[7]);
  if (size == 1) {
    if (file_size - off < 16 || pread(fd, h + 8, 8, off + 8) != 8)
      return FALSE;
    size = 0;
    for (int i = 8; i < 16; i++)
      size = (size << 8) | h[i];
    header = 16;
  }
  /* Size 0 ("to the end of the file") is never written by the recorder; in
   * a crashed file it is what a zero-filled tail looks like. */
  if (size < (guint64)header || size > (guint64)G_MAXINT64 - (guint64)off)
    return FALSE;
  b->start = off;
  b->end = off + (gint64)size;
  return TRUE;
}

typedef struct {
  gint64 keep;      /* bytes worth keeping: header and complete fragments */
  guint fragments;  /* complete moof+mdat pairs */
  gboolean not_mp4; /* the first box is not ftyp */
} walk_t;

static void
walk(int fd, gint64 size, walk_t *out)
{
  box_t b;
  gint64 off = 0;
  gboolean moov = FALSE;
  memset(out, 0, sizeof *out);
  if (!box_at(fd, 0, size, &b)) {
    out->not_mp4 = size >= 8;
    return;
  }
  if (b.type != FOURCC('f', 't', 'y', 'p')) {
    out->not_mp4 = TRUE;
    return;
  }
  while (box_at(fd, off, size, &b) && b.end <= size) {
    if (b.type == FOURCC('m', 'o', 'o', 'v'))
      moov = TRUE;
    if (b.type == FOURCC('m', 'd', 'a', 't'))
      break; /* an mdat with no moof before it is not ours */
    if (b.type == FOURCC('m', 'o', 'o', 'f')) {
      box_t m;
      if (!moov || !box_at(fd, b.end, size, &m) || m.type != FOURCC('m', 'd', 'a', 't') ||
          m.end > size)
        break;
      out->fragments++;
      b.end = m.end;
    }
    off = b.end;
    if (moov)
      out->keep = off;
  }
}

static gboolean
ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Reads path back with libavformat (packets only, no decoding). */
static int
probe_path(const char *path, cw_segment_info_t *info, gint64 *duration_us, cw_error_t *err)
{
  AVFormatContext *ic = avformat_alloc_context();
  AVPacket *pkt = NULL;
  if (!ic)
    return cw_error_set(err, -ENOMEM, "%s: out of memory", path);
  /* Packets as stored: a parser (libavformat puts one on H.265 from MP4)
   * would drop the durations the file records. */
  ic->flags |= AVFMT_FLAG_NOPARSE | AVFMT_FLAG_NOFILLIN;
  int rc = avformat_open_input(&ic, path, NULL, NULL);
  if (rc < 0)
    return cw_error_set(err, -EINVAL, "%s: cannot be read: %s", path, av_err2str(rc));
  int idx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (idx < 0) {
    rc = cw_error_set(err, -EINVAL, "%s: no video stream", path);
    goto out;
  }
  AVStream *st = ic->streams[idx];
  enum AVCodecID id = st->codecpar->codec_id;
  if (id != AV_CODEC_ID_H264 && id != AV_CODEC_ID_HEVC) {
    rc = cw_error_set(err, -EINVAL, "%s: codec %s is not H.264 or H.265", path,
                      avcodec_get_name(id));
    goto out;
  }
  info->codec = id == AV_CODEC_ID_HEVC ? CW_CODEC_H265 : CW_CODEC_H264;
  info->width = st->codecpar->width;
  info->height = st->codecpar->height;
  pkt = av_packet_alloc();
  gint64 lo = G_MAXINT64, hi = G_MININT64, frames = 0;
  while ((rc = av_read_frame(ic, pkt)) >= 0) {
    gint64 t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (pkt->stream_index == idx && t != AV_NOPTS_VALUE) {
      lo = MIN(lo, t);
      hi = MAX(hi, t + MAX(pkt->duration, 0));
      frames++;
    }
    av_packet_unref(pkt);
  }
  if (rc != AVERROR_EOF) {
    rc = cw_error_set(err, -EIO, "%s: reading frame %" G_GINT64_FORMAT ": %s", path, frames + 1,
                      av_err2str(rc));
    goto out;
  }
  if (frames == 0) {
    rc = cw_error_set(err, -ENODATA, "%s: no frames", path);
    goto out;
  }
  /* The MP4 demuxer leaves packet durations of fragmented files at 0; the
   * stream's duration is where the track's last sample ends (its samples
   * start at 0 in the files the recorder writes). */
  if (st->duration != AV_NOPTS_VALUE) {
    gint64 first = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    hi = MAX(hi, first + st->duration);
  }
  *duration_us = av_rescale_q(hi - lo, st->time_base, AV_TIME_BASE_Q);
  rc = 0;
out:
  av_packet_free(&pkt);
  avformat_close_input(&ic);
  return rc;
}

int
cw_segment_probe(const char *root, const char *relpath, cw_segment_info_t *info, cw_error_t *err)
{
  gint64 camera_id, start_us, duration_us = 0;
  struct stat sb;
  memset(info, 0, sizeof *info);
  if (cw_segment_relpath_parse(relpath, &camera_id, &start_us) < 0 || ends_with(relpath, ".part"))
    return cw_error_set(err, -EINVAL, "%s: not a segment file name", relpath);
  char *path = g_build_filename(root, relpath, NULL);
  int rc = stat(path, &sb) < 0 ? cw_error_set(err, -errno, "%s: %s", path, g_strerror(errno))
                               : probe_path(path, info, &duration_us, err);
  g_free(path);
  if (rc < 0)
    return rc;
  info->camera_id = camera_id;
  info->path = g_strdup(relpath);
  info->start_us = start_us;
  info->end_us = start_us + duration_us;
  info->bytes = sb.st_size;
  return 0;
}

/* Truncates the open file to keep bytes and makes that durable. */
static int
cut(int fd, const char *path, gint64 keep, gint64 size, cw_error_t *err)
{
  if (keep < size && ftruncate(fd, keep) < 0)
    return cw_error_set(err, -errno, "%s: truncating to %" G_GINT64_FORMAT " bytes: %s", path, keep,
                        g_strerror(errno));
  if (fdatasync(fd) < 0)
    return cw_error_set(err, -errno, "%s: syncing: %s", path, g_strerror(errno));
  return 0;
}

static void
sync_dir_of(const char *path)
{
  char *dir = g_path_get_dirname(path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0)
    cw_log_warn(MOD, "syncing folder %s: %s", dir, g_strerror(errno));
  if (fd >= 0)
    close(fd);
  g_free(dir);
}

int
cw_segment_repair(const char *root, const char *relpath, cw_segment_info_t *info, cw_error_t *err)
{
  gint64 camera_id, start_us, duration_us = 0;
  struct stat sb;
  walk_t wk;
  int rc = 0, fd = -1;
  memset(info, 0, sizeof *info);
  if (cw_segment_relpath_parse(relpath, &camera_id, &start_us) < 0 || ends_with(relpath, ".part"))
    return cw_error_set(err, -EINVAL, "%s: not a segment file name", relpath);
  char *final = g_build_filename(root, relpath, NULL);
  char *part = g_strconcat(final, ".part", NULL);
  fd = open(part, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || fstat(fd, &sb) < 0) {
    rc = cw_error_set(err, -errno, "%s: %s", part, g_strerror(errno));
    goto out;
  }
  if (!S_ISREG(sb.st_mode)) {
    rc = cw_error_set(err, -EINVAL, "%s: not a regular file", part);
    goto out;
  }
  walk(fd, sb.st_size, &wk);
  if (wk.not_mp4) {
    rc = cw_error_set(err, -EINVAL, "%s: not an MP4 file (no ftyp box at the start); left alone",
                      part);
    goto out;
  }
  if (wk.fragments == 0) {
    rc = unlink(part) < 0 ? cw_error_set(err, -errno, "%s: %s", part, g_strerror(errno))
                          : cw_error_set(err, -ENODATA, "%s: no complete fragment; removed", part);
    goto out;
  }
  if ((rc = cut(fd, part, wk.keep, sb.st_size, err)) < 0)
    goto out;
  /* Never index what will not play: read it back before it gets its name. */
  if ((rc = probe_path(part, info, &duration_us, err)) < 0)
    goto out;
  if (g_file_test(final, G_FILE_TEST_EXISTS)) {
    rc = cw_error_set(err, -EEXIST, "%s: %s already exists; left alone", part, final);
    goto out;
  }
  if (rename(part, final) < 0) {
    rc = cw_error_set(err, -errno, "%s: renaming to %s: %s", part, final, g_strerror(errno));
    goto out;
  }
  sync_dir_of(final);
  info->camera_id = camera_id;
  info->path = g_strdup(relpath);
  info->start_us = start_us;
  info->end_us = start_us + duration_us;
  info->bytes = wk.keep;
  info->repaired = TRUE;
  cw_log_info(MOD,
              "%s: kept %u complete fragments (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " bytes)",
              final, wk.fragments, (gint64)wk.keep, (gint64)sb.st_size);
out:
  if (fd >= 0)
    close(fd);
  if (rc < 0 && rc != -ENODATA)
    cw_segment_info_clear(info);
  g_free(part);
  g_free(final);
  return rc;
}

/* Visits every "*.part" under dir (relative path rel) whose name is a
 * segment's; symbolic links are not followed. */
static void
recover_dir(const char *root, const char *rel, GPtrArray *closed, guint *removed, guint *failed)
{
  char *dir = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    cw_log_warn(MOD, "crash recovery: %s", gerr->message);
    g_error_free(gerr);
    g_free(dir);
    (*failed)++;
    return;
  }
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    char *sub = rel ? g_build_filename(rel, name, NULL) : g_strdup(name);
    char *path = g_build_filename(root, sub, NULL);
    struct stat sb;
    gint64 cam, start;
    gboolean known = lstat(path, &sb) == 0;
    if (known && S_ISDIR(sb.st_mode)) {
      recover_dir(root, sub, closed, removed, failed);
    } else if (known && S_ISREG(sb.st_mode) && ends_with(name, ".part") &&
               cw_segment_relpath_parse(sub, &cam, &start) == 0) {
      char *final_rel = g_strndup(sub, strlen(sub) - strlen(".part"));
      cw_segment_info_t info;
      cw_error_t err = {0};
      int rc = cw_segment_repair(root, final_rel, &info, &err);
      if (rc == 0) {
        g_ptr_array_add(closed, cw_segment_info_copy(&info));
        cw_segment_info_clear(&info);
      } else if (rc == -ENODATA) {
        cw_log_info(MOD, "crash recovery: %s", err.msg);
        (*removed)++;
      } else {
        cw_log_warn(MOD, "crash recovery: %s", err.msg);
        (*failed)++;
      }
      g_free(final_rel);
    }
    g_free(path);
    g_free(sub);
  }
  g_dir_close(d);
  g_free(dir);
}

int
cw_recorder_recover(const char *root, GPtrArray **closed, cw_error_t *err)
{
  guint removed = 0, failed = 0;
  *closed = g_ptr_array_new_with_free_func(cw_segment_info_free);
  if (!g_file_test(root, G_FILE_TEST_IS_DIR))
    return 0;
  if (access(root, R_OK | X_OK) < 0) {
    int e = errno;
    g_ptr_array_free(*closed, TRUE);
    *closed = NULL;
    return cw_error_set(err, -e, "crash recovery: %s: %s", root, g_strerror(e));
  }
  recover_dir(root, NULL, *closed, &removed, &failed);
  if ((*closed)->len || removed || failed)
    cw_log_info(MOD, "crash recovery under %s: %u kept, %u removed, %u left alone", root,
                (*closed)->len, removed, failed);
  return 0;
}
