/* Recording on a node: see recording.h. The keeper is one thread with its
 * own blocking libpq connection, so neither the ingest workers nor the
 * daemon's control loop ever wait on the index or on unlink(2). */
#include "recording.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "db.h"
#include "footage.h"
#include "log.h"
#include "timeutil.h"

#define MOD "recording"
/* Closed segments held while the database is away: at one a minute per
 * camera, a 1,000-camera node fills this in well over an hour; beyond it
 * the folder is rescanned when the database returns. */
#define PENDING_MAX 100000
#define BATCH_MAX 256
#define DELETE_BATCH 500
#define STOP_GRACE_US (5 * G_USEC_PER_SEC)
#define BACKOFF_MIN_US (500 * 1000)
#define BACKOFF_MAX_US (30 * G_USEC_PER_SEC)

struct cw_recording {
  char *node, *conninfo, *root;
  int default_days;
  gint64 quota_bytes_cfg;
  double quota_percent;
  gint64 retention_us;
  cw_recorder_t *recorder;
  GThread *keeper;

  GMutex mu; /* guards everything below up to the keeper-only part */
  GCond cond;
  GQueue pending; /* cw_segment_info_t*, oldest first */
  gboolean stop;
  gint64 stop_deadline_us;
  gint64 rescan_from_us; /* G_MAXINT64: no rescan owed */
  cw_recording_stats_t stats;

  /* Keeper thread only. */
  PGconn *conn;
  gint64 backoff_us, next_db_try_us;
  gboolean db_down_logged;
  gboolean need_reconcile;
  gboolean bytes_known;
  gint64 next_retention_us;
  gint64 quota_log_us;
};

/* ---- hand-offs from the recorder's writer threads -------------------- */

static void
on_closed(void *opaque, const cw_segment_info_t *info)
{
  cw_recording_t *rec = opaque;
  g_mutex_lock(&rec->mu);
  if (g_queue_get_length(&rec->pending) >= PENDING_MAX) {
    rec->stats.index_dropped++;
    rec->rescan_from_us = MIN(rec->rescan_from_us, info->start_us);
  } else {
    g_queue_push_tail(&rec->pending, cw_segment_info_copy(info));
  }
  rec->stats.pending = g_queue_get_length(&rec->pending);
  g_cond_signal(&rec->cond);
  g_mutex_unlock(&rec->mu);
}

static void
on_error(void *opaque, gint64 camera_id, const char *message)
{
  if (message)
    cw_log_error(MOD, "camera %" G_GINT64_FORMAT ": recording stopped: %s", camera_id, message);
  else
    cw_log_info(MOD, "camera %" G_GINT64_FORMAT ": recording again", camera_id);
}

/* ---- database --------------------------------------------------------- */

static void
db_lost(cw_recording_t *rec, const char *what, const cw_error_t *err)
{
  if (!rec->db_down_logged)
    cw_log_warn(MOD,
                "%s: %s; recording carries on, the index catches up when the database "
                "returns",
                what, err->msg);
  rec->db_down_logged = TRUE;
  if (rec->conn)
    PQfinish(rec->conn);
  rec->conn = NULL;
  rec->backoff_us = rec->backoff_us ? MIN(rec->backoff_us * 2, BACKOFF_MAX_US) : BACKOFF_MIN_US;
  rec->next_db_try_us = g_get_monotonic_time() + rec->backoff_us;
}

static gboolean
db_ready(cw_recording_t *rec)
{
  if (rec->conn && PQstatus(rec->conn) == CONNECTION_OK)
    return TRUE;
  if (g_get_monotonic_time() < rec->next_db_try_us)
    return FALSE;
  if (rec->conn)
    PQfinish(rec->conn);
  cw_error_t err;
  rec->conn = cw_db_connect(rec->conninfo, "citywatchd-recording", &err);
  if (!rec->conn) {
    db_lost(rec, "footage index", &err);
    return FALSE;
  }
  if (rec->db_down_logged)
    cw_log_info(MOD, "footage index: database back");
  rec->db_down_logged = FALSE;
  rec->backoff_us = 0;
  return TRUE;
}

/* ---- indexing --------------------------------------------------------- */

static void
requeue_front(cw_recording_t *rec, GPtrArray *batch)
{
  g_mutex_lock(&rec->mu);
  for (guint i = batch->len; i-- > 0;)
    g_queue_push_head(&rec->pending, batch->pdata[i]);
  rec->stats.pending = g_queue_get_length(&rec->pending);
  g_mutex_unlock(&rec->mu);
  g_ptr_array_set_free_func(batch, NULL);
}

static void
count_indexed(cw_recording_t *rec, GPtrArray *batch, guint added)
{
  gint64 bytes = 0;
  for (guint i = 0; i < batch->len; i++)
    bytes += ((cw_segment_info_t *)batch->pdata[i])->bytes;
  g_mutex_lock(&rec->mu);
  rec->stats.indexed += added;
  /* Some were there already (a retry, a rescan): the running total cannot
   * tell which, so the next retention pass counts again. */
  if (added == batch->len)
    rec->stats.footage_bytes += bytes;
  else
    rec->bytes_known = FALSE;
  g_mutex_unlock(&rec->mu);
}

/* A batch the server refused while the connection is fine holds a row it
 * will never take: index the rows one by one and let that one go, loudly,
 * rather than block the camera's index for good. */
static void
index_one_by_one(cw_recording_t *rec, GPtrArray *batch)
{
  for (guint i = 0; i < batch->len; i++) {
    const cw_segment_info_t *s = batch->pdata[i];
    guint added = 0;
    cw_error_t err;
    if (cw_footage_add(rec->conn, rec->node, &s, 1, &added, &err) < 0) {
      if (PQstatus(rec->conn) != CONNECTION_OK) {
        GPtrArray *rest = g_ptr_array_new_with_free_func(cw_segment_info_free);
        for (guint j = i; j < batch->len; j++)
          g_ptr_array_add(rest, cw_segment_info_copy(batch->pdata[j]));
        requeue_front(rec, rest);
        g_ptr_array_free(rest, TRUE);
        db_lost(rec, "footage index", &err);
        return;
      }
      cw_log_error(MOD, "segment %s not indexed: %s", s->path, err.msg);
      continue;
    }
    g_mutex_lock(&rec->mu);
    rec->stats.indexed += added;
    rec->bytes_known = FALSE;
    g_mutex_unlock(&rec->mu);
  }
}

static void
index_batch(cw_recording_t *rec, GPtrArray *batch)
{
  guint added = 0;
  cw_error_t err;
  if (cw_footage_add(rec->conn, rec->node, (const cw_segment_info_t *const *)batch->pdata,
                     batch->len, &added, &err) == 0) {
    count_indexed(rec, batch, added);
    return;
  }
  if (PQstatus(rec->conn) == CONNECTION_OK) {
    index_one_by_one(rec, batch);
    return;
  }
  requeue_front(rec, batch);
  db_lost(rec, "footage index", &err);
}

/* ---- reconciling the folder with the index ---------------------------- */

static gboolean
all_digits(const char *s)
{
  if (!*s)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit(*s))
      return FALSE;
  return TRUE;
}

static gint
by_start(gconstpointer a, gconstpointer b)
{
  const cw_segment_info_t *x = *(cw_segment_info_t *const *)a, *y = *(cw_segment_info_t *const *)b;
  return x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
}

/* Files of one camera that start after `after`, probed. Folders are named
 * by day and hour, so whole days and hours before it are skipped unread. */
static void
scan_camera(cw_recording_t *rec, const char *cam_name, gint64 after, GPtrArray *found)
{
  char *first = after == G_MININT64 ? g_strdup("") : cw_segment_relpath(1, after);
  /* first looks like "1/YYYY-MM-DD/HH/..." */
  char **fp = g_strsplit(first, "/", 4);
  const char *first_day = fp[0] && fp[1] ? fp[1] : "",
             *first_hour = fp[0] && fp[1] && fp[2] ? fp[2] : "";
  char *cam_dir = g_build_filename(rec->root, cam_name, NULL);
  GDir *days = g_dir_open(cam_dir, 0, NULL);
  for (const char *day; days && (day = g_dir_read_name(days));) {
    if (strcmp(day, first_day) < 0)
      continue;
    char *day_dir = g_build_filename(cam_dir, day, NULL);
    GDir *hours = g_dir_open(day_dir, 0, NULL);
    for (const char *hour; hours && (hour = g_dir_read_name(hours));) {
      if (strcmp(day, first_day) == 0 && strcmp(hour, first_hour) < 0)
        continue;
      char *hour_dir = g_build_filename(day_dir, hour, NULL);
      GDir *files = g_dir_open(hour_dir, 0, NULL);
      for (const char *f; files && (f = g_dir_read_name(files));) {
        if (!g_str_has_suffix(f, ".mp4"))
          continue;
        char *rel = g_strdup_printf("%s/%s/%s/%s", cam_name, day, hour, f);
        gint64 cam, start;
        cw_segment_info_t info = {0};
        cw_error_t err;
        if (cw_segment_relpath_parse(rel, &cam, &start) == 0 && start > after) {
          if (cw_segment_probe(rec->root, rel, &info, &err) == 0)
            g_ptr_array_add(found, cw_segment_info_copy(&info));
          else
            cw_log_error(MOD, "footage file %s is not indexed: %s", rel, err.msg);
          cw_segment_info_clear(&info);
        }
        g_free(rel);
      }
      if (files)
        g_dir_close(files);
      g_free(hour_dir);
    }
    if (hours)
      g_dir_close(hours);
    g_free(day_dir);
  }
  if (days)
    g_dir_close(days);
  g_free(cam_dir);
  g_strfreev(fp);
  g_free(first);
}

static gboolean
reconcile(cw_recording_t *rec)
{
  GHashTable *last = NULL;
  cw_error_t err;
  if (cw_footage_last_starts(rec->conn, rec->node, &last, &err) < 0) {
    db_lost(rec, "reading the footage index", &err);
    return FALSE;
  }
  g_mutex_lock(&rec->mu);
  gint64 rescan_from = rec->rescan_from_us;
  rec->rescan_from_us = G_MAXINT64;
  g_mutex_unlock(&rec->mu);

  GPtrArray *found = g_ptr_array_new_with_free_func(cw_segment_info_free);
  GDir *cams = g_dir_open(rec->root, 0, NULL);
  for (const char *name; cams && (name = g_dir_read_name(cams));) {
    if (!all_digits(name))
      continue;
    gint64 id = g_ascii_strtoll(name, NULL, 10);
    const gint64 *l = g_hash_table_lookup(last, &id);
    gint64 after = l ? *l : G_MININT64;
    if (rescan_from != G_MAXINT64)
      after = MIN(after, rescan_from - 1);
    scan_camera(rec, name, after, found);
  }
  if (cams)
    g_dir_close(cams);
  g_hash_table_destroy(last);
  /* Older than anything the recorder has closed since: they go first, so
   * the index of each camera only ever grows at its newest end. */
  g_ptr_array_sort(found, by_start);
  if (found->len)
    cw_log_info(MOD, "indexing %u footage files found unindexed in %s", found->len, rec->root);
  requeue_front(rec, found);
  g_ptr_array_free(found, TRUE);
  return TRUE;
}

/* ---- retention and quota ---------------------------------------------- */

static void
remove_files(cw_recording_t *rec, GPtrArray *removed, gint64 *counter, const char *why)
{
  gint64 bytes = 0;
  for (guint i = 0; i < removed->len; i++) {
    const cw_segment_row_t *row = removed->pdata[i];
    char *path = g_build_filename(rec->root, row->info.path, NULL);
    if (g_unlink(path) < 0 && errno != ENOENT)
      cw_log_warn(MOD, "removing %s: %s", path, g_strerror(errno));
    /* Empty hour and day folders go with their last file. */
    char *hour = g_path_get_dirname(path), *day = g_path_get_dirname(hour);
    (void)g_rmdir(hour);
    (void)g_rmdir(day);
    g_free(day);
    g_free(hour);
    g_free(path);
    bytes += row->info.bytes;
  }
  g_mutex_lock(&rec->mu);
  *counter += removed->len;
  rec->stats.footage_bytes -= bytes;
  g_mutex_unlock(&rec->mu);
  if (removed->len) {
    const cw_segment_row_t *first = removed->pdata[0];
    char *oldest = cw_time_format(first->info.start_us);
    cw_log_info(MOD, "%s: deleted %u segments (%.1f MB), oldest from %s", why, removed->len,
                (double)bytes / 1e6, oldest);
    g_free(oldest);
  }
}

static gint64
quota_limit(cw_recording_t *rec)
{
  if (rec->quota_bytes_cfg)
    return rec->quota_bytes_cfg;
  if (rec->quota_percent <= 0)
    return 0;
  struct statvfs fs;
  if (statvfs(rec->root, &fs) < 0)
    return 0;
  return (gint64)((double)fs.f_blocks * (double)fs.f_frsize * rec->quota_percent / 100.0);
}

static gboolean
retention_pass(cw_recording_t *rec)
{
  cw_error_t err;
  if (!rec->bytes_known) {
    gint64 bytes;
    if (cw_footage_node_bytes(rec->conn, rec->node, &bytes, &err) < 0) {
      db_lost(rec, "footage retention", &err);
      return FALSE;
    }
    g_mutex_lock(&rec->mu);
    rec->stats.footage_bytes = bytes;
    g_mutex_unlock(&rec->mu);
    rec->bytes_known = TRUE;
  }
  for (;;) {
    GPtrArray *removed = NULL;
    if (cw_footage_expire(rec->conn, rec->node, g_get_real_time(), rec->default_days, DELETE_BATCH,
                          &removed, &err) < 0) {
      db_lost(rec, "footage retention", &err);
      return FALSE;
    }
    remove_files(rec, removed, &rec->stats.removed_retention, "retention");
    guint n = removed->len;
    g_ptr_array_free(removed, TRUE);
    if (n < DELETE_BATCH)
      break;
  }
  gint64 limit = quota_limit(rec);
  g_mutex_lock(&rec->mu);
  rec->stats.quota_bytes = limit;
  gint64 used = rec->stats.footage_bytes;
  g_mutex_unlock(&rec->mu);
  if (limit <= 0 || used <= limit)
    return TRUE;
  /* Down to 95% of the quota, so the next pass does not start over at once. */
  gint64 want = used - limit + limit / 20;
  while (want > 0) {
    GPtrArray *removed = NULL;
    if (cw_footage_evict(rec->conn, rec->node, want, DELETE_BATCH, &removed, &err) < 0) {
      db_lost(rec, "footage quota", &err);
      return FALSE;
    }
    for (guint i = 0; i < removed->len; i++)
      want -= ((cw_segment_row_t *)removed->pdata[i])->info.bytes;
    guint n = removed->len;
    remove_files(rec, removed, &rec->stats.removed_quota, "quota");
    g_ptr_array_free(removed, TRUE);
    if (n == 0)
      break;
  }
  if (want > 0 && g_get_monotonic_time() >= rec->quota_log_us) {
    cw_log_error(MOD,
                 "footage is %" G_GINT64_FORMAT " bytes over its quota of %" G_GINT64_FORMAT
                 " and the rest is under legal hold or still open",
                 want, limit);
    rec->quota_log_us = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
  }
  return TRUE;
}

/* ---- the keeper thread ------------------------------------------------ */

static GPtrArray *
take_batch(cw_recording_t *rec, gboolean *stopping)
{
  g_mutex_lock(&rec->mu);
  for (;;) {
    gint64 now = g_get_monotonic_time();
    if (rec->stop || g_queue_get_length(&rec->pending) > 0 || now >= rec->next_retention_us ||
        (rec->need_reconcile && now >= rec->next_db_try_us))
      break;
    gint64 until = rec->next_retention_us;
    if (rec->need_reconcile)
      until = MIN(until, rec->next_db_try_us);
    g_cond_wait_until(&rec->cond, &rec->mu, until);
  }
  *stopping = rec->stop;
  GPtrArray *batch = g_ptr_array_new_with_free_func(cw_segment_info_free);
  while (batch->len < BATCH_MAX && g_queue_get_length(&rec->pending) > 0)
    g_ptr_array_add(batch, g_queue_pop_head(&rec->pending));
  rec->stats.pending = g_queue_get_length(&rec->pending);
  if (rec->rescan_from_us != G_MAXINT64)
    rec->need_reconcile = TRUE;
  g_mutex_unlock(&rec->mu);
  return batch;
}

static gpointer
keeper_main(gpointer data)
{
  cw_recording_t *rec = data;
  for (;;) {
    gboolean stopping;
    GPtrArray *batch = take_batch(rec, &stopping);
    if (db_ready(rec)) {
      if (rec->need_reconcile && reconcile(rec))
        rec->need_reconcile = FALSE;
      if (batch->len && rec->conn)
        index_batch(rec, batch);
      if (rec->conn && !stopping && g_get_monotonic_time() >= rec->next_retention_us) {
        if (retention_pass(rec))
          rec->next_retention_us = g_get_monotonic_time() + rec->retention_us;
      }
    } else if (batch->len) {
      requeue_front(rec, batch);
      /* Nothing to do until the next try: wait for it rather than spin. */
      g_mutex_lock(&rec->mu);
      if (!rec->stop)
        g_cond_wait_until(&rec->cond, &rec->mu, rec->next_db_try_us);
      g_mutex_unlock(&rec->mu);
    }
    g_ptr_array_free(batch, TRUE);
    if (!rec->conn && rec->next_retention_us <= g_get_monotonic_time())
      rec->next_retention_us = rec->next_db_try_us;
    if (stopping) {
      g_mutex_lock(&rec->mu);
      gboolean done =
          g_queue_get_length(&rec->pending) == 0 || g_get_monotonic_time() >= rec->stop_deadline_us;
      guint left = g_queue_get_length(&rec->pending);
      g_mutex_unlock(&rec->mu);
      if (done) {
        if (left)
          cw_log_warn(MOD, "%u closed segments not indexed yet; the next start indexes them", left);
        break;
      }
    }
  }
  return NULL;
}

/* ---- start and stop --------------------------------------------------- */

/* What is left once the keeper has stopped (or never started). */
static void
recording_free(cw_recording_t *rec)
{
  if (rec->conn)
    PQfinish(rec->conn);
  g_queue_clear_full(&rec->pending, cw_segment_info_free);
  g_mutex_clear(&rec->mu);
  g_cond_clear(&rec->cond);
  g_free(rec->node);
  g_free(rec->conninfo);
  g_free(rec->root);
  g_free(rec);
}

static int
check_root(const char *root, cw_error_t *err)
{
  if (!*root)
    return cw_error_set(err, -EINVAL, "[recording] root: empty");
  if (g_mkdir_with_parents(root, 0750) < 0)
    return cw_error_set(err, -errno, "[recording] root: cannot create %s: %s", root,
                        g_strerror(errno));
  if (access(root, W_OK | X_OK) < 0)
    return cw_error_set(err, -errno, "[recording] root: %s is not writable: %s", root,
                        g_strerror(errno));
  return 0;
}

cw_recording_t *
cw_recording_start(const cw_config_t *cfg, const char *node, const char *conninfo, cw_error_t *err)
{
  const char *root = cw_config_get_string(cfg, "recording", "root");
  gint64 qbytes;
  double qpct;
  if (cw_quota_parse(cw_config_get_string(cfg, "recording", "quota"), &qbytes, &qpct, err) < 0 ||
      check_root(root, err) < 0)
    return NULL;
  GPtrArray *recovered = NULL;
  if (cw_recorder_recover(root, &recovered, err) < 0)
    return NULL;

  cw_recording_t *rec = g_new0(cw_recording_t, 1);
  rec->node = g_strdup(node);
  rec->conninfo = g_strdup(conninfo ? conninfo : "");
  rec->root = g_strdup(root);
  rec->default_days = (int)cw_config_get_int(cfg, "recording", "retention_days");
  rec->quota_bytes_cfg = qbytes;
  rec->quota_percent = qpct;
  rec->retention_us =
      (gint64)(cw_config_get_double(cfg, "recording", "retention_interval") * G_USEC_PER_SEC);
  rec->rescan_from_us = G_MAXINT64;
  rec->need_reconcile = TRUE;
  rec->next_retention_us = g_get_monotonic_time();
  g_mutex_init(&rec->mu);
  g_cond_init(&rec->cond);
  g_queue_init(&rec->pending);
  if (recovered->len)
    cw_log_warn(MOD, "recovered %u segments left open by an unclean stop", recovered->len);
  for (guint i = 0; i < recovered->len; i++)
    g_queue_push_tail(&rec->pending, cw_segment_info_copy(recovered->pdata[i]));
  g_ptr_array_free(recovered, TRUE);

  const char *fsync_name = cw_config_get_string(cfg, "recording", "fsync");
  cw_recorder_options_t o = {
      .root = root,
      .segment_ms = (guint)cw_config_get_int(cfg, "recording", "segment_seconds") * 1000,
      .fragment_ms = (guint)cw_config_get_int(cfg, "recording", "fragment_ms"),
      .writers = (guint)cw_config_get_int(cfg, "recording", "writers"),
      .queue_bytes = (gsize)cw_config_get_int(cfg, "recording", "queue_mb") << 20,
      .fsync = g_ascii_strcasecmp(fsync_name, "none") == 0       ? CW_RECORDER_FSYNC_NONE
               : g_ascii_strcasecmp(fsync_name, "fragment") == 0 ? CW_RECORDER_FSYNC_FRAGMENT
                                                                 : CW_RECORDER_FSYNC_SEGMENT,
      .on_closed = on_closed,
      .on_error = on_error,
      .opaque = rec,
  };
  rec->recorder = cw_recorder_new(&o, err);
  if (!rec->recorder) {
    recording_free(rec);
    return NULL;
  }
  rec->keeper = g_thread_new("cw-footage", keeper_main, rec);
  cw_log_info(MOD, "recording under %s: %u s segments, quota %s", root, o.segment_ms / 1000,
              cw_config_get_string(cfg, "recording", "quota"));
  return rec;
}

cw_recorder_t *
cw_recording_recorder(cw_recording_t *rec)
{
  return rec ? rec->recorder : NULL;
}

void
cw_recording_stats(cw_recording_t *rec, cw_recording_stats_t *out)
{
  g_mutex_lock(&rec->mu);
  *out = rec->stats;
  g_mutex_unlock(&rec->mu);
}

void
cw_recording_stop(cw_recording_t *rec)
{
  if (!rec)
    return;
  cw_recorder_stats_t rs;
  cw_recorder_stats(rec->recorder, &rs);
  /* The recorder closes its segments first: they reach the keeper through
   * on_closed before it is told to stop. */
  cw_recorder_free(rec->recorder);
  g_mutex_lock(&rec->mu);
  rec->stop = TRUE;
  rec->stop_deadline_us = g_get_monotonic_time() + STOP_GRACE_US;
  g_cond_signal(&rec->cond);
  g_mutex_unlock(&rec->mu);
  g_thread_join(rec->keeper);
  cw_log_info(MOD,
              "stopped: %" G_GINT64_FORMAT " segments closed, %" G_GINT64_FORMAT
              " units dropped on a full queue, %" G_GINT64_FORMAT " write errors; %" G_GINT64_FORMAT
              " segments indexed, %" G_GINT64_FORMAT
              " left to the next start; deleted %" G_GINT64_FORMAT
              " by retention, %" G_GINT64_FORMAT " by quota",
              rs.segments_closed, rs.units_dropped_queue_full, rs.write_errors, rec->stats.indexed,
              (gint64)g_queue_get_length(&rec->pending), rec->stats.removed_retention,
              rec->stats.removed_quota);
  recording_free(rec);
}
